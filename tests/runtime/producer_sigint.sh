#!/usr/bin/env bash
# producer_sigint: `pdm-producer replay` with no broker stops on the first
# SIGINT (Ctrl-C) within 3 s, says how many messages were not delivered and
# exits nonzero:
#  1. its events all queued, waiting in the final flush (which used to wait
#     60 s);
#  2. its queue full (-X queue.buffering.max.messages=50), waiting for room
#     (which used to wait until message.timeout.ms expired the queue);
#  3. with --create-topics (the default), still asking a broker that is not
#     there: SIGINT's default action ends it at once.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
sl_sim "$T/data" 3 300 5
port=$(pdm_free_port) # nothing listens there

# run_and_interrupt NAME WAIT_S ARGS...: starts a replay to the dead broker
# with SIGINT at its default action (as in a terminal; a background job of
# a script would ignore it), sends SIGINT after WAIT_S seconds and waits up
# to 3 s for the exit; sets STATUS and prints the time taken.
run_and_interrupt() {
  local name=$1 wait_s=$2
  shift 2
  env --default-signal=INT "$PDM_BIN/pdm-producer" replay --data "$T/data" \
    --brokers "127.0.0.1:$port" --topic pdm.none "$@" >"$T/$name.out" 2>"$T/$name.log" &
  local pid=$!
  pdm_track "$pid"
  sleep "$wait_s"
  _pdm_alive "$pid" || pdm_fail "$name: the replay ended before SIGINT: $(tail -3 "$T/$name.log")"
  local t0=${EPOCHREALTIME/./}
  kill -INT "$pid"
  pdm_wait_until 3 _sl_dead "$pid" \
    || pdm_fail "$name: still running 3 s after SIGINT: $(tail -3 "$T/$name.log")"
  STATUS=0
  pdm_stop "$pid" || STATUS=$?
  echo "$name: exit $STATUS $(((${EPOCHREALTIME/./} - t0) / 1000)) ms after SIGINT: $(tail -1 "$T/$name.log")"
}
env --default-signal=INT true 2>/dev/null || { echo "env has no --default-signal: skip"; exit 77; }

# 1. In the final flush.
run_and_interrupt flush 2 --create-topics=false
[ "$STATUS" != 0 ] || pdm_fail "flush: exit 0 with nothing delivered"
grep -q "not delivered" "$T/flush.log" || pdm_fail "flush: no word of the undelivered messages: $(tail -3 "$T/flush.log")"

# 2. Waiting for room in a full queue.
run_and_interrupt queue_full 2 --create-topics=false -X queue.buffering.max.messages=50
[ "$STATUS" != 0 ] || pdm_fail "queue_full: exit 0 with nothing delivered"
grep -q "not delivered" "$T/queue_full.log" \
  || pdm_fail "queue_full: no word of the undelivered messages: $(tail -3 "$T/queue_full.log")"

# 3. Creating topics.
run_and_interrupt create 1
[ "$STATUS" != 0 ] || pdm_fail "create: exit 0"
echo "producer_sigint: ok"
