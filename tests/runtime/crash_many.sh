#!/usr/bin/env bash
# crash_many: pdm-scorer SIGKILLed at 10 random points while it consumes a
# replay of 200,000 telemetry events (plus errors, maintenance, failures and
# machines), restarted each time; then nothing is lost (faults_lib.sh's
# check against the trainer's clean computation: every event scored and
# emitted as a RiskEvent, every dumped row, duplicates included, with the
# clean features). Then the rest of the stream (another 10,000 telemetry
# events) is produced and scored by the last run, a fresh scorer on the
# state the crashes left in Redis: those rows too must equal the clean ones,
# each scored once: the stored state is what a clean run would have stored.
#
# The kill points are drawn from a seeded RNG: the seed is printed, and
# PDM_CRASH_SEED=N reproduces a run. The topic has 16 partitions so that no
# partition outgrows the mock broker's ~5 MB retention (checked).
# session.timeout.ms is 3500 (not the 6000 other tests use): after a
# SIGKILL the mock broker waits for the dead member's session to expire and
# then for a rebalance delay of session.timeout.ms - 1 s, so a restart costs
# about 2 x session.timeout.ms; 3500 is the lowest safe value, because the
# mock delays a group's first join by 3 s and a member whose session is
# shorter times out before it joins.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
source "$PDM_SOURCE_DIR/tests/runtime/faults_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
t_start=$SECONDS

seed=${PDM_CRASH_SEED:-$(( $(date +%s%N) % 1000000 ))}
echo "crash_many: seed $seed (PDM_CRASH_SEED=$seed reproduces the kill points)"
RANDOM=$seed

pdm_start_redis
pdm_start_broker 16 --topic pdm.events

# 25 machines x 8,400 hours; the first 8,000 hours (200,000 telemetry
# events) are the crash phase, the last 400 the fresh run on stored state.
sl_sim "$T/data" 25 8400 "$seed"
cut=$(date -u -d "2015-01-01 06:00:00 UTC + 8000 hours" '+%Y-%m-%d %H:%M:%S')
fl_split "$T/data" "$T" "$cut"
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 2 --nthread 2 --dump-features "$T/ref.csv"
fl_ref_between "$T/ref.csv" "$cut" "" "$T/ref2.csv"
rows=$(($(sl_rows "$T/ref.csv") - $(sl_rows "$T/ref2.csv")))
[ "$rows" -ge 200000 ] || pdm_fail "only $rows telemetry events in the crash phase"
events=$(($(cat "$T"/part1/PdM_{telemetry,errors,maint,failures,machines}.csv | wc -l) - 5))
sl_replay "$T/part1" pdm.events
kcat -C -b "$PDM_BROKERS" -t pdm.events -e -q -f '%o\n' 2>/dev/null | wc -l >"$T/in_topic"
[ "$(cat "$T/in_topic")" = "$events" ] \
  || pdm_fail "pdm.events holds $(cat "$T/in_topic") of $events messages: the mock's retention dropped some"
echo "replayed $events events ($rows telemetry) in $((SECONDS - t_start)) s"

# 10 kill points, in cumulative dumped rows (duplicates count: progress is
# what the scorer did, not what is new), between 3 % and 97 % of the stream.
mapfile -t points < <(for _ in $(seq 10); do
  echo $((rows * 3 / 100 + (RANDOM * 32768 + RANDOM) % (rows * 94 / 100)))
done | sort -n)
echo "kill points: ${points[*]}"

scorer_args=(--redis "$PDM_REDIS_URL/0" --model "$T/model" --group crash --topics pdm.events
  --emit all --exit-at-end -X session.timeout.ms=3500 -X heartbeat.interval.ms=500)
done_rows=0 # complete rows of the runs that were killed
for i in $(seq 0 10); do
  # The rest of the stream, for the last run.
  [ "$i" = 10 ] && sl_replay "$T/part2" pdm.events
  sl_scorer "$T/run$i.log" "${scorer_args[@]}" --dump-features "$T/run$i.csv"
  pid=$SL_PID
  [ "$i" = 10 ] && break
  # A point the previous run overshot: kill this one after its first batch.
  target=${points[$i]}
  [ "$target" -gt "$done_rows" ] || target=$((done_rows + 1))
  # shellcheck disable=SC2317
  reached() { [ $((done_rows + $(wc -l <"$T/run$i.csv" 2>/dev/null || echo 0))) -ge "$target" ]; }
  pdm_wait_until 60 reached || pdm_fail "run $i: $done_rows + $(sl_rows "$T/run$i.csv") rows after 60 s, want $target: $(tail -3 "$T/run$i.log")"
  _pdm_alive "$pid" || pdm_fail "run $i ended before it was killed: $(tail -3 "$T/run$i.log")"
  kill -KILL "$pid"
  pdm_stop "$pid" 2>/dev/null || true # (no "Killed" job notice)
  n=$(sl_rows "$T/run$i.csv")
  done_rows=$((done_rows + n))
  echo "kill $((i + 1)) at $done_rows rows ($n in this run, $((SECONDS - t_start)) s)"
done
sl_wait_exit "$pid" "$T/run10.log"
echo "the last run finished at $((SECONDS - t_start)) s"

sl_tail pdm.risk "$T/risk.jsonl"
echo "read pdm.risk at $((SECONDS - t_start)) s"
fl_check "the whole stream, 10 kills" "$T/ref.csv" "$T/risk.jsonl" "$T"/run*.csv
FL_ONLY_REF=1 FL_NO_DUPLICATES=1 fl_check "after the crashes, from the stored state" "$T/ref2.csv" "$T/risk.jsonl" "$T/run10.csv"
echo "crash_many: ok in $((SECONDS - t_start)) s"
