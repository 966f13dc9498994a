#!/usr/bin/env bash
# scorer_state_ttl: --state-ttl end to end. A real pdm-scorer scores a small
# replay into a real redis-server: every key of every machine carries a
# deadline about --state-ttl after the run (one deadline for a machine's
# keys); with --state-ttl 0 no key has one. The state layer's rules
# (refresh, expiry, the cache) are unit-tested in test_redis_state and
# test_state_cache.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP

pdm_start_redis
pdm_start_broker 2 --topic pdm.events
sl_sim "$T/data" 4 400 21
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 5
sl_replay "$T/data" pdm.events

# run DB TTL: a scorer run to the end of the topic.
run() {
  "$PDM_BIN/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL/$1" --model "$T/model" \
    --group "ttl-$1" --topics pdm.events --exit-at-end --state-ttl "$2" >"$T/scorer-$1.log" 2>&1 \
    || pdm_fail "scorer failed: $(tail -20 "$T/scorer-$1.log")"
}

t0=$(($(date +%s%3N) + 3600 * 1000))
run 0 1h
t1=$(($(date +%s%3N) + 3600 * 1000))
run 1 0

# check DB LOW HIGH: every machine key's PEXPIRETIME is in [LOW, HIGH]
# (-1: none), the four keys of a machine alike.
check() {
  local db=$1 low=$2 high=$3 keys=0 key exp
  declare -A per_machine=()
  while read -r key; do
    exp=$(redis-cli -p "$PDM_REDIS_PORT" -n "$db" pexpiretime "$key")
    [ "$exp" -ge "$low" ] && [ "$exp" -le "$high" ] || pdm_fail "db $db: $key expires at $exp, want $low..$high"
    m=${key%%\}*}
    [ -z "${per_machine[$m]:-}" ] || [ "${per_machine[$m]}" = "$exp" ] \
      || pdm_fail "db $db: keys of machine ${m#pdm:\{} expire at ${per_machine[$m]} and $exp"
    per_machine[$m]=$exp
    keys=$((keys + 1))
  done < <(redis-cli -p "$PDM_REDIS_PORT" -n "$db" --scan --pattern 'pdm:{*}:*')
  [ "${#per_machine[@]}" = 4 ] || pdm_fail "db $db: ${#per_machine[@]} machines in Redis, want 4"
  [ "$keys" -ge 12 ] || pdm_fail "db $db: only $keys keys"
}
check 0 "$t0" "$t1"
check 1 -1 -1
echo "scorer_state_ttl: ok"
