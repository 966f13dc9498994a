#!/usr/bin/env bash
# bench/failover.sh: how long a scorer's partitions wait when a group member
# goes (not a test; the figures of README "Static membership and session
# timeouts").
#
#   bench/failover.sh [--build DIR] [--session-ms MS] [--static] kill|stop|restart
#
# Two pdm-scorer processes, A then B, in one group over a 4-partition topic
# of the embedded broker, each holding 2 partitions; then B is
#   kill     SIGKILLed: time until A holds all 4;
#   stop     SIGTERMed (a clean stop: it leaves the group unless static):
#            time until A holds all 4;
#   restart  SIGKILLed and started again at once (same --instance-id with
#            --static): time until the new B holds partitions again.
# --session-ms sets -X session.timeout.ms (default: librdkafka's 45,000);
# --static gives each scorer --instance-id (pod-A, pod-B). Starts its own
# redis-server and pdm-broker through tests/harness.sh; programs come from
# DIR/bin (default build). Prints one line. On the embedded broker (the
# mock cluster of librdkafka 2.0.2) static membership changes nothing but
# the clean stop: the mock does not implement it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$root/build
session=default
static=0
while [ $# -gt 1 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --session-ms) session=$2; shift 2 ;;
    --static) static=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--session-ms MS] [--static] kill|stop|restart" >&2; exit 2 ;;
  esac
done
mode=${1:-}
case $mode in kill | stop | restart) ;; *) echo "usage: $0 [--build DIR] [--session-ms MS] [--static] kill|stop|restart" >&2; exit 2 ;; esac
export PDM_SOURCE_DIR=$root PDM_BIN=$build/bin
source "$root/tests/harness.sh"
source "$root/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
pdm_start_redis
pdm_start_broker 4 --topic pdm.events
sl_sim "$T/data" 4 200 7
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 3
extra=()
[ "$session" != default ] && extra=(-X "session.timeout.ms=$session")
declare -A pid
start() { # NAME
  local id=()
  [ "$static" = 1 ] && id=(--instance-id "pod-$1")
  "$PDM_BIN/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL" --model "$T/model" \
    --group failover --topics pdm.events --machines-topic "" --http off "${id[@]}" "${extra[@]}" \
    >>"$T/$1.log" 2>&1 &
  pid[$1]=$!
  pdm_track "${pid[$1]}"
}
# held NAME: the partitions NAME holds, from its last assignment line.
held() {
  grep -E "(assigned|revoked) [0-9]+ partitions" "$T/$1.log" 2>/dev/null | tail -1 \
    | sed -E 's/.*\(([0-9]+) (in all|left)\).*/\1/' | grep -E '^[0-9]+$' || echo 0
}
both() { [ "$(held A)" -ge 1 ] && [ "$(held B)" -ge 1 ]; }
start A
sleep 4
start B
pdm_wait_until 120 both || pdm_fail "the partitions were not shared: A $(held A), B $(held B)"
sleep 3
case $mode in
  kill) kill -KILL "${pid[B]}" ;;
  stop) kill -TERM "${pid[B]}" ;;
  restart) kill -KILL "${pid[B]}"; : >"$T/B.log"; start B ;;
esac
t0=$EPOCHREALTIME
if [ "$mode" = restart ]; then
  back() { [ "$(held B)" -ge 1 ]; }
else
  back() { [ "$(held A)" = 4 ]; }
fi
pdm_wait_until 300 back || pdm_fail "no move within 300 s"
t1=$EPOCHREALTIME
membership=dynamic
[ "$static" = 1 ] && membership=static
awk -v a="$t0" -v b="$t1" -v m="$mode" -v s="$session" -v k="$membership" \
  'BEGIN { printf "failover: %s, session.timeout.ms %s, %s membership: %.1f s\n", m, s, k, b - a }'
