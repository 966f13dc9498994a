#!/usr/bin/env bash
# event_time: the defaults (one topic per event type, the machines table)
# give the trainer's features exactly (issue 14).
#   1. A backlog of 50 simulated machines x 2,000 h replayed by pdm-producer
#      with its defaults into 8 partitions per stream topic (pdm.machines
#      with 3: a table need not be co-partitioned), scored by pdm-scorer
#      with its defaults: 0 dead letters, every feature row equal to
#      pdm-train --dump-features to 1e-9, model and age included.
#   2. The same backlog in a new group and an empty Redis database, the
#      scorer SIGKILLed mid-stream (alive, rows left) and restarted: again 0
#      dead letters and every row (duplicates included) equal.
#   3. The machines table is read while the scorer runs: a machine that
#      appears later (its MachineInfo, then its telemetry) is scored with
#      its model and age.
#   4. Input topics with different partition counts are refused with an
#      error that names them and their counts.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
B=$PDM_BIN
compare="/usr/bin/python3 $PDM_SOURCE_DIR/tests/runtime/compare_features.py"

pdm_start_redis
pdm_start_broker 8 --topic-partitions pdm.machines=3,pdm.odd=5 --topic pdm.even,pdm.odd

"$B/pdm-sim" --machines 50 --hours 2000 --seed 14 --out "$T/data" 2>"$T/sim.log" \
  || pdm_fail "pdm-sim failed: $(cat "$T/sim.log")"
"$B/pdm-train" --data "$T/data" --out "$T/models/candidate" --rounds 10 --nthread 1 \
  --dump-features "$T/offline.csv" --promote "$T/models" >"$T/train.log" 2>&1 \
  || pdm_fail "pdm-train failed: $(tail -20 "$T/train.log")"
"$B/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" 2>"$T/producer.log" \
  || pdm_fail "replay failed: $(cat "$T/producer.log")"
rows=$(($(wc -l <"$T/offline.csv") - 1))

# scorer LOG DB GROUP DUMP [args]: pdm-scorer with its default topics.
scorer() {
  local log=$1 db=$2 group=$3 dump=$4
  shift 4
  sl_scorer "$log" --redis "$PDM_REDIS_URL/$db" --model "$T/models" --group "$group" \
    --emit all --dump-features "$dump" "$@"
}
# dead_letters: the messages on pdm.dlq so far.
dead_letters() {
  kcat -C -b "$PDM_BROKERS" -t pdm.dlq -e -q -f '%o\n' | wc -l
}

# 1. The backlog, clean.
scorer "$T/clean.log" 0 clean "$T/online.csv" --exit-at-end
sl_wait_exit "$SL_PID" "$T/clean.log"
grep -q "merging 4 input topics in event time" "$T/clean.log" || pdm_fail "no merge: $(head -5 "$T/clean.log")"
grep -q "machines table pdm.machines: 50 machines from 3 partitions" "$T/clean.log" \
  || pdm_fail "machines table not read first: $(grep -m3 'machines' "$T/clean.log")"
grep -q "stopped: .*, 0 dead letters" "$T/clean.log" || pdm_fail "dead letters: $(grep stopped: "$T/clean.log")"
$compare "$T/offline.csv" "$T/online.csv" --expect-same-keys || pdm_fail "online features differ from offline"
[ "$(dead_letters)" = 0 ] || pdm_fail "$(dead_letters) messages on pdm.dlq"

# 2. SIGKILLed once a third of the rows are dumped, then restarted to the
# end. Small batches keep the killed run mid-stream long enough to be seen.
scorer "$T/crash1.log" 1 crash "$T/crash1.csv" --batch-size 100
pid=$SL_PID
sl_wait_rows "$T/crash1.csv" $((rows / 3)) 120
_pdm_alive "$pid" || pdm_fail "the scorer ended before it was killed: $(tail -3 "$T/crash1.log")"
kill -KILL "$pid"
pdm_stop "$pid" 2>/dev/null || true
killed_at=$(sl_rows "$T/crash1.csv")
[ "$killed_at" -lt "$rows" ] || pdm_fail "every row was scored before the kill: not mid-stream"
echo "killed the scorer after $killed_at of $rows rows" >&2
scorer "$T/crash2.log" 1 crash "$T/crash2.csv" --exit-at-end
sl_wait_exit "$SL_PID" "$T/crash2.log"
{
  head -1 "$T/online.csv"
  tail -n +2 "$T/crash1.csv" | awk -F, 'NF == 30'
  tail -n +2 "$T/crash2.csv"
} >"$T/crash.csv"
$compare "$T/offline.csv" "$T/crash.csv" --expect-same-keys || pdm_fail "features after the kill differ from offline"
[ "$(dead_letters)" = 0 ] || pdm_fail "$(dead_letters) messages on pdm.dlq after the kill"

# 3. A machine that appears while the scorer runs (group clean: the backlog
# is consumed; only the new events come).
scorer "$T/live.log" 0 clean "$T/live.csv"
pid=$SL_PID
sl_wait_log "$T/live.log" "assigned [0-9]* partitions" 1 60
printf '{"type":"machine","machine_id":777,"ts":"2015-06-01T00:00:00.000Z","model":"model3","age":17}\n' \
  | "$B/pdm-avro" encode --out "$T/info.bin" || pdm_fail "pdm-avro encode"
kcat -P -b "$PDM_BROKERS" -t pdm.machines -k 777 "$T/info.bin" || pdm_fail "kcat -P pdm.machines"
sleep 0.5 # the table is read between batches: the reading comes after
printf '{"type":"telemetry","machine_id":777,"ts":"2015-06-01T06:00:00.000Z","volt":170,"rotate":450,"pressure":100,"vibration":40}\n' \
  | "$B/pdm-avro" encode --out "$T/tel.bin" || pdm_fail "pdm-avro encode"
kcat -P -b "$PDM_BROKERS" -t pdm.telemetry -k 777 "$T/tel.bin" || pdm_fail "kcat -P pdm.telemetry"
sl_wait_rows "$T/live.csv" 1 30
pdm_stop "$pid" || pdm_fail "the scorer did not stop cleanly: $(tail -5 "$T/live.log")"
/usr/bin/python3 - "$T/live.csv" <<'PY' || pdm_fail "the new machine was scored without its info"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["machineID"] == "777"]
print(rows and {k: rows[0][k] for k in ("machineID", "datetime", "model_id", "age")})
sys.exit(0 if len(rows) == 1 and float(rows[0]["model_id"]) == 3 and float(rows[0]["age"]) == 17 else 1)
PY

# 4. Not co-partitioned: refused, naming the topics and their counts.
status=0
"$B/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL/2" --model "$T/models" \
  --group odd --topics pdm.even,pdm.odd --exit-at-end >"$T/odd.log" 2>&1 || status=$?
[ "$status" = 1 ] || pdm_fail "a scorer on topics of 8 and 5 partitions exited $status: $(tail -3 "$T/odd.log")"
grep -q "input topics are not co-partitioned (pdm.even: 8, pdm.odd: 5 partitions)" "$T/odd.log" \
  || pdm_fail "no clear error: $(tail -3 "$T/odd.log")"
echo "event_time: ok ($rows rows; killed at $killed_at)"
