#!/usr/bin/env bash
# scorer_instance_id: pdm-scorer --instance-id (Kafka static group
# membership, group.instance.id).
#  1. bad input is refused before anything starts, with a clear error and
#     exit 2: an id a broker would refuse (a blank, "..", 250 characters),
#     env:NAME of an unset or empty variable, and --instance-id together
#     with -X group.instance.id;
#  2. the id reaches the consumer's configuration (the scorer logs the
#     consumer's own group.instance.id and session.timeout.ms): given
#     directly, read from the variable env:NAME names (as a pod's name), from
#     PDM_INSTANCE_ID, and through -X group.instance.id; without any, the
#     scorer says it is a dynamic member. Each scorer joins its group and
#     gets the partitions;
#  3. a static member fenced by the broker (FENCED_INSTANCE_ID, what a real
#     broker answers the older of two processes with the same id; injected
#     here through the embedded broker's control socket) stops at once with
#     exit 1 and the reason, instead of running on without partitions.
# What static membership changes on a real broker (a restart within the
# session timeout keeps the partitions) cannot be tested here: the embedded
# broker (librdkafka 2.0.2's mock cluster) does not implement it (two members
# with the same id both get partitions; README "Static membership" has the
# measured figures).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP

# refused WANT ARGS...: pdm-scorer ARGS exits 2 with WANT in its error.
refused() {
  local want=$1 status=0
  shift
  env -u PDM_INSTANCE_ID "$PDM_BIN/pdm-scorer" --model "$T/none" "$@" >"$T/refused.log" 2>&1 || status=$?
  [ "$status" = 2 ] || pdm_fail "pdm-scorer $*: exit $status, want 2: $(cat "$T/refused.log")"
  grep -qF -- "$want" "$T/refused.log" || pdm_fail "pdm-scorer $*: no '$want' in: $(cat "$T/refused.log")"
}
refused "instance id 'pod 0' is not 1..249 of [A-Za-z0-9._-]" --instance-id "pod 0"
refused "instance id '..' is not" --instance-id ..
refused "instance id '$(printf 'a%.0s' {1..64})' is not" --instance-id "$(printf 'a%.0s' {1..250})"
refused "environment variable PDM_TEST_UNSET is not set" --instance-id env:PDM_TEST_UNSET
PDM_TEST_EMPTY='' refused "environment variable PDM_TEST_EMPTY is empty" --instance-id env:PDM_TEST_EMPTY
refused "give --instance-id or -X group.instance.id, not both" --instance-id a -X group.instance.id=b
echo "1. bad ids refused"

sl_sim "$T/data" 4 100 3
sl_train "$T/data" "$T/train.log" --rounds 3 --out "$T/model"
pdm_start_redis
pdm_start_broker_control 4 --topic pdm.events

# member NAME WANT [ENV=VALUE...] -- ARGS...: a scorer in group NAME logs
# WANT, gets partitions, and stops cleanly on SIGTERM.
member() {
  local name=$1 want=$2 envs=()
  shift 2
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env -u PDM_INSTANCE_ID "${envs[@]}" "$PDM_BIN/pdm-scorer" --brokers "$PDM_BROKERS" \
    --redis "$PDM_REDIS_URL" --model "$T/model" --topics pdm.events --machines-topic "" \
    --http off --group "$name" "$@" >"$T/$name.log" 2>&1 &
  local pid=$!
  pdm_track_checked "$pid" "pdm-scorer $name"
  sl_wait_log "$T/$name.log" "assigned 4 partitions" 1 30
  grep -qF -- "$want" "$T/$name.log" || pdm_fail "$name: no '$want' in: $(grep -i membership "$T/$name.log")"
  pdm_stop_check "$pid" "pdm-scorer $name (SIGTERM)" "$T/$name.log"
  echo "2. $name: $(grep -o '[a-z]* group membership: [^(]*' "$T/$name.log")"
}
member given "static group membership: group.instance.id=pod-a session.timeout.ms=45000" -- --instance-id pod-a
member from-env "static group membership: group.instance.id=pdm-scorer-3 session.timeout.ms=7000" \
  POD_NAME=pdm-scorer-3 -- --instance-id env:POD_NAME -X session.timeout.ms=7000
member pdm-env "static group membership: group.instance.id=pdm-scorer-4 session.timeout.ms=45000" \
  PDM_INSTANCE_ID=pdm-scorer-4 --
member by-x "static group membership: group.instance.id=by-x session.timeout.ms=45000" -- -X group.instance.id=by-x
member dynamic "dynamic group membership: session.timeout.ms=45000" --

"$PDM_BIN/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL" --model "$T/model" \
  --topics pdm.events --machines-topic "" --http off --group fenced --instance-id pod-f \
  -X heartbeat.interval.ms=500 >"$T/fenced.log" 2>&1 &
fenced=$!
pdm_track "$fenced"
sl_wait_log "$T/fenced.log" "assigned 4 partitions" 1 30
pdm_broker_ctl errors Heartbeat 1 FENCED_INSTANCE_ID >/dev/null || pdm_fail "could not inject FENCED_INSTANCE_ID"
pdm_wait_until 15 _sl_dead "$fenced" || pdm_fail "a fenced scorer still runs 15 s later: $(tail -3 "$T/fenced.log")"
status=0
pdm_stop "$fenced" || status=$?
[ "$status" = 1 ] || pdm_fail "a fenced scorer exited $status, want 1: $(tail -5 "$T/fenced.log")"
grep -q "ERROR pdm-scorer: kafka consumer: .*fenced by other consumer with same group.instance.id" "$T/fenced.log" \
  || pdm_fail "a fenced scorer does not say why it stopped: $(tail -5 "$T/fenced.log")"
echo "3. fenced: exit 1, $(grep -o 'ERROR pdm-scorer: kafka consumer: .*' "$T/fenced.log" | cut -c1-120)"
echo "scorer_instance_id: ok"
