#!/usr/bin/env bash
# security_redis_acl: the least Redis grant SECURITY.md documents is enough
# (issue 16, item 7). The ACL SETUSER line is read from SECURITY.md (the
# line after its "redis-acl-grant" marker), so the document and this test
# cannot drift; a real redis-server gets exactly that user and pdm-scorer
# authenticates as it (redis://pdm:@host, the password from a 0600 file).
#  1. Every command named in the scorer's Redis code (the literals of
#     consumer/redis_*.c that redis-server knows as commands) is granted
#     (AUTH needs no grant): a command added to the code without the
#     document fails here even if this replay never reaches it.
#  2. A replay long enough to trim windows and superseded maintenance, with
#     the state cache (version reads) and --state-ttl (PEXPIREAT), in small
#     batches: every row is scored (as many as the trainer's dump), no
#     Redis error is counted or logged, the server's ACL LOG holds no
#     denial, and each granted command was really used (INFO commandstats),
#     so the grant is tested command by command, not only as a whole.
#  3. The HTTP API's Redis reads work with it: /readyz is 200,
#     /v1/machines/1 answers the machine's state and /v1/alerts the open
#     incidents.
# With the grant SECURITY.md documented before (no HINCRBY, HGET, GET,
# WATCH, MULTI ...) the scorer retried its first write for ever: part 2
# fails.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
umask 077

grant=$(awk '/<!-- redis-acl-grant/ {f = 1; next} f && /^ACL SETUSER / {print; exit}' \
  "$PDM_SOURCE_DIR/SECURITY.md")
[ -n "$grant" ] || pdm_fail "SECURITY.md has no ACL SETUSER line after its redis-acl-grant marker"
read -r -a words <<<"$grant"
[ "${words[0]} ${words[1]} ${words[2]}" = "ACL SETUSER pdm" ] || pdm_fail "the grant is not for user pdm: $grant"
granted=" "
for w in "${words[@]}"; do
  case $w in +@*) pdm_fail "the grant uses a category ($w): list commands" ;; +*) granted="$granted${w#+} " ;; esac
done

sl_sim "$T/data" 4 1500 17
sl_train "$T/data" "$T/train.log" --rounds 4 --out "$T/model" --dump-features "$T/offline.csv"
rows=$(sl_rows "$T/offline.csv")
pdm_start_broker 2 --topic pdm.acl
sl_replay "$T/data" pdm.acl

pdm_start_redis
# 1. The code's commands: its upper-case string literals that Redis knows
# as commands (COMMAND INFO; so "MOVED" or "NX" are not taken for one).
for cmd in $(grep -oh '"[A-Z][A-Z]\{2,\}"' "$PDM_SOURCE_DIR"/consumer/redis_*.c | tr -d '"' | sort -u); do
  cmd=$(tr 'A-Z' 'a-z' <<<"$cmd")
  [ "$cmd" = auth ] && continue
  [ -n "$(redis-cli -p "$PDM_REDIS_PORT" COMMAND INFO "$cmd" | head -1)" ] || continue
  case $granted in *" $cmd "*) ;; *) pdm_fail "the code sends $cmd, which SECURITY.md's grant lacks: $grant" ;; esac
  checked=$((${checked:-0} + 1))
done
[ "${checked:-0}" -ge 15 ] || pdm_fail "only ${checked:-0} commands found in consumer/redis_*.c: the check is broken"

pw="aclpw-$RANDOM$RANDOM$RANDOM"
printf '%s\n' "$pw" >"$T/pw"
args=()
for w in "${words[@]:2}"; do
  [ "$w" = ">PASSWORD" ] && w=">$pw"
  args+=("$w")
done
redis-cli -p "$PDM_REDIS_PORT" ACL SETUSER "${args[@]}" >"$T/acl.out" 2>&1
[ "$(cat "$T/acl.out")" = OK ] || pdm_fail "ACL SETUSER refused the documented grant: $(cat "$T/acl.out")"
redis-cli -p "$PDM_REDIS_PORT" CONFIG RESETSTAT >/dev/null

# 2. The replay.
sl_scorer "$T/scorer.log" --redis "redis://pdm:@127.0.0.1:$PDM_REDIS_PORT/1" --redis-password-file "$T/pw" \
  --model "$T/model" --group acl --topics pdm.acl --machines-topic "" --batch-size 100 \
  --dump-features "$T/out.csv"
scorer=$SL_PID
if ! pdm_wait_until 90 _sl_rows_at_least "$T/out.csv" "$rows"; then
  pdm_fail "$(sl_rows "$T/out.csv") of $rows rows scored with the documented grant: $(grep -m3 -i "redis" "$T/scorer.log")"
fi
sl_wait_log "$T/scorer.log" "http listening on port" 1 5
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/scorer.log" | head -1)
# http PATH: "STATUS BODY" of a GET on the scorer.
http() {
  $SL_PY - "http://127.0.0.1:$port$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
sleep 1 # the last batch's writes
errors=$(http /metrics | awk '$1 == "pdm_redis_errors_total" {print $2}')
[ "${errors:-missing}" = 0 ] || pdm_fail "pdm_redis_errors_total is '$errors' with the documented grant"
! grep -qi "redis unavailable\|NOPERM" "$T/scorer.log" || pdm_fail "Redis refused the scorer: $(grep -m3 -i "unavailable\|NOPERM" "$T/scorer.log")"

# 3. The HTTP API.
case $(http /readyz) in "200 "*) ;; *) pdm_fail "/readyz with the documented grant: $(http /readyz)" ;; esac
case $(http /v1/machines/1) in "200 "*'"machine_id":1'*) ;; *) pdm_fail "/v1/machines/1: $(http /v1/machines/1 | head -c 300)" ;; esac
case $(http /v1/alerts) in "200 "*) ;; *) pdm_fail "/v1/alerts: $(http /v1/alerts | head -c 300)" ;; esac
pdm_stop_check "$scorer" pdm-scorer "$T/scorer.log"
redis-cli -p "$PDM_REDIS_PORT" INFO commandstats >"$T/stats"
unused=""
for cmd in $granted; do
  grep -q "^cmdstat_$cmd:calls=[1-9]" "$T/stats" || unused="$unused $cmd"
done
[ -z "$unused" ] || pdm_fail "granted but never used (the test does not test them):$unused"
denials=$(redis-cli -p "$PDM_REDIS_PORT" ACL LOG | grep -c . || true)
[ "$denials" = 0 ] || pdm_fail "ACL LOG holds denials: $(redis-cli -p "$PDM_REDIS_PORT" ACL LOG | head -20 | tr '\n' ' ')"
echo "security_redis_acl: $rows rows scored as ACL user pdm"
echo "security_redis_acl: ok"
