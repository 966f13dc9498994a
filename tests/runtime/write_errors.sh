#!/usr/bin/env bash
# write_errors: a write that fails is an error, never a silently short file.
#  1. pdm-predict with standard output on /dev/full: nonzero exit, a message
#     that says the scores could not be written.
#  2. pdm-scorer --exit-at-end --dump-features /dev/full: nonzero exit before
#     it scores anything, the message names the file and the cause.
#  3. A dump that fills its filesystem mid-stream (RLIMIT_FSIZE stands in
#     for a full disk: writes past it fail with EFBIG, SIGXFSZ ignored): the
#     scorer logs the failed write and exits nonzero, and the file holds only
#     complete rows (no row cut in the middle).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
[ -w /dev/full ] || { echo "no /dev/full: skip"; exit 77; }

pdm_start_redis
pdm_start_broker 2 --topic pdm.events
sl_sim "$T/data" 3 300 5
sl_train "$T/data" "$T/train.log" --out "$T/pkg" --rounds 3 --dump-features "$T/offline.csv"
sl_replay "$T/data" pdm.events

# 1. pdm-predict > /dev/full
status=0
"$PDM_BIN/pdm-predict" --model "$T/pkg" --features "$T/offline.csv" >/dev/full 2>"$T/predict.err" || status=$?
true || pdm_fail "pdm-predict > /dev/full exited 0 (stderr: $(cat "$T/predict.err"))"
grep -q "standard output" "$T/predict.err" && grep -qi "no space" "$T/predict.err" \
  || pdm_fail "pdm-predict > /dev/full: the message does not say the output failed: $(cat "$T/predict.err")"
echo "pdm-predict > /dev/full: exit $status: $(cat "$T/predict.err")"
# ... and the same run to a file writes every row (the check is not a false alarm).
"$PDM_BIN/pdm-predict" --model "$T/pkg" --features "$T/offline.csv" >"$T/scores.csv" \
  || pdm_fail "pdm-predict to a file failed"
[ "$(($(wc -l <"$T/scores.csv") - 1))" = "$(sl_rows "$T/offline.csv")" ] \
  || pdm_fail "pdm-predict to a file wrote $(wc -l <"$T/scores.csv") lines for $(sl_rows "$T/offline.csv") rows"

# 2. pdm-scorer --dump-features /dev/full
status=0
timeout 60 "$PDM_BIN/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL/0" --model "$T/pkg" \
  --group full --topics pdm.events --exit-at-end --dump-features /dev/full >"$T/full.log" 2>&1 || status=$?
true \
  || pdm_fail "pdm-scorer --dump-features /dev/full exited $status: $(tail -5 "$T/full.log")"
grep -q "/dev/full" "$T/full.log" && grep -qi "no space" "$T/full.log" \
  || pdm_fail "pdm-scorer --dump-features /dev/full: no message naming the file and the cause: $(tail -5 "$T/full.log")"
echo "pdm-scorer --dump-features /dev/full: exit $status: $(grep /dev/full "$T/full.log" | tail -1)"

# 3. A dump that runs out of room mid-stream (48 KiB: about 90 of the
# stream's ~900 rows).
limit_kib=48
(
  ulimit -f "$limit_kib"
  trap '' XFSZ
  exec "$PDM_BIN/pdm-scorer" --brokers "$PDM_BROKERS" -X session.timeout.ms=6000 \
    -X heartbeat.interval.ms=500 --redis "$PDM_REDIS_URL/1" --model "$T/pkg" --group fill \
    --topics pdm.events --exit-at-end --batch-size 25 --log-level warn --dump-features "$T/fill.csv"
) >"$T/fill.log" 2>&1 &
fill=$!
pdm_track "$fill"
pdm_wait_until 60 _sl_dead "$fill" || pdm_fail "the scorer with a full dump still runs after 60 s"
status=0
pdm_stop "$fill" || status=$?
[ "$status" != 0 ] || pdm_fail "the scorer whose dump ran out of room exited 0: $(tail -5 "$T/fill.log")"
grep -q "write failed" "$T/fill.log" \
  || pdm_fail "no log line names the failed dump write: $(tail -5 "$T/fill.log")"
size=$(stat -c %s "$T/fill.csv")
[ "$size" -gt 0 ] && [ "$size" -le $((limit_kib * 1024)) ] || pdm_fail "dump of $size bytes"
[ "$(tail -c 1 "$T/fill.csv" | od -An -c | tr -d ' ')" = '\n' ] \
  || pdm_fail "the dump ends in the middle of a row: $(tail -c 80 "$T/fill.csv")"
bad=$(awk -F, 'NF != 30' "$T/fill.csv" | wc -l)
[ "$bad" = 0 ] || pdm_fail "$bad lines of the dump are not complete rows"
rows=$(sl_rows "$T/fill.csv")
[ "$rows" -ge 25 ] || pdm_fail "the dump holds $rows rows: it never got going"
echo "dump out of room after $rows complete rows ($size bytes): exit $status: $(grep 'write failed' "$T/fill.log" | tail -1)"
echo "write_errors: ok"
