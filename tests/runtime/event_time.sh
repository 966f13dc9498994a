#!/usr/bin/env bash
# event_time: the defaults (one topic per event type, the machines table)
# give the trainer's features exactly (issue 14).
#   1. A backlog of 50 simulated machines x 2,000 h replayed by pdm-producer
#      with its defaults into 8 partitions per stream topic (pdm.machines
#      with 3: a table need not be co-partitioned), with one reading of
#      machine 7 stamped "now" in the middle (a device clock set wrong),
#      scored by pdm-scorer with its defaults: that reading is the one dead
#      letter (invalid_timestamp), and every feature row equals pdm-train
#      --dump-features to 1e-9, model and age included; no machine is
#      reported silent.
#   2. The same backlog in a new group and an empty Redis database, the
#      scorer SIGKILLed mid-stream (alive, rows left) and restarted: again 0
#      dead letters and every row (duplicates included) equal.
#   3. The machines table is read while the scorer runs: a machine that
#      appears later (its MachineInfo, then its telemetry) is scored with
#      its model and age.
#   4. Input topics with different partition counts are refused with an
#      error that names them and their counts.
#   5. The same backlog and poisoned reading on one topic: the same.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
B=$PDM_BIN
compare="/usr/bin/python3 $PDM_SOURCE_DIR/tests/runtime/compare_features.py"

pdm_start_redis
pdm_start_broker 8 --topic-partitions pdm.machines=3,pdm.odd=5 --topic pdm.even,pdm.odd,pdm.events

"$B/pdm-sim" --machines 50 --hours 2000 --seed 14 --out "$T/data" 2>"$T/sim.log" \
  || pdm_fail "pdm-sim failed: $(cat "$T/sim.log")"
"$B/pdm-train" --data "$T/data" --out "$T/models/candidate" --rounds 10 --nthread 1 \
  --dump-features "$T/offline.csv" --promote "$T/models" >"$T/train.log" 2>&1 \
  || pdm_fail "pdm-train failed: $(tail -20 "$T/train.log")"
rows=$(($(wc -l <"$T/offline.csv") - 1))
# The backlog in two halves with the poisoned reading between them.
half=$(awk -F, 'NR > 1 {print $2}' "$T/offline.csv" | sort -u | awk '{t[NR] = $0} END {print t[int(NR / 2)]}')
sl_split "$T/data" "$half" "$T/first" "$T/second"
printf '{"type":"telemetry","machine_id":7,"ts":"%s","volt":170,"rotate":450,"pressure":100,"vibration":40}\n' \
  "$(date -u +%Y-%m-%dT%H:00:00.000Z)" | "$B/pdm-avro" encode --out "$T/poison.bin" || pdm_fail "pdm-avro encode"
# replay_poisoned [PDM-PRODUCER-ARGS]: first half, the reading, second half.
replay_poisoned() {
  local topic=${2:-pdm.telemetry}
  "$B/pdm-producer" replay --data "$T/first" --brokers "$PDM_BROKERS" "$@" 2>>"$T/producer.log" \
    || pdm_fail "replay failed: $(cat "$T/producer.log")"
  kcat -P -b "$PDM_BROKERS" -t "$topic" -k 7 "$T/poison.bin" || pdm_fail "kcat -P $topic"
  "$B/pdm-producer" replay --data "$T/second" --brokers "$PDM_BROKERS" "$@" 2>>"$T/producer.log" \
    || pdm_fail "replay failed: $(cat "$T/producer.log")"
}
replay_poisoned

# scorer LOG DB GROUP DUMP [args]: pdm-scorer with its default topics.
scorer() {
  local log=$1 db=$2 group=$3 dump=$4
  shift 4
  sl_scorer "$log" --redis "$PDM_REDIS_URL/$db" --model "$T/models" --group "$group" \
    --emit all --dump-features "$dump" "$@"
}
# dead_letters: the messages on pdm.dlq so far that are not the poisoned
# reading (machine 7's invalid_timestamp).
dead_letters() {
  kcat -C -b "$PDM_BROKERS" -t pdm.dlq -e -q -f '%k %h\n' \
    | grep -vc '^7 pdm.reason=invalid_timestamp,' || true
}
# poisoned: how many times the poisoned reading went to pdm.dlq so far.
poisoned() {
  kcat -C -b "$PDM_BROKERS" -t pdm.dlq -e -q -f '%k %h\n' \
    | grep -c '^7 pdm.reason=invalid_timestamp,.*far ahead of the messages before and after' || true
}

# 1. The backlog, clean.
scorer "$T/clean.log" 0 clean "$T/online.csv" --exit-at-end
sl_wait_exit "$SL_PID" "$T/clean.log"
grep -q "merging 4 input topics in event time" "$T/clean.log" || pdm_fail "no merge: $(head -5 "$T/clean.log")"
grep -q "kafka clients: consumer queued.min.messages=20000 .*max.partition.fetch.bytes=262144" "$T/clean.log" \
  || pdm_fail "merge's fetch bound not set: $(grep -m1 'kafka clients' "$T/clean.log")"
grep -q "machines table pdm.machines: 50 machines from 3 partitions" "$T/clean.log" \
  || pdm_fail "machines table not read first: $(grep -m3 'machines' "$T/clean.log")"
grep -q "stopped: .*, 1 dead letters" "$T/clean.log" || pdm_fail "dead letters: $(grep stopped: "$T/clean.log")"
$compare "$T/offline.csv" "$T/online.csv" --expect-same-keys || pdm_fail "online features differ from offline"
[ "$(dead_letters)" = 0 ] || pdm_fail "$(dead_letters) messages on pdm.dlq besides the poisoned reading"
[ "$(poisoned)" = 1 ] || pdm_fail "the poisoned reading went to pdm.dlq $(poisoned) times"
# Every machine reports every hour: catching up 8 partitions fetched
# unevenly must not make any look silent (the stream's time is the input's
# watermark, not the newest reading of the partition fetched furthest).
sl_tail pdm.risk "$T/risk1.jsonl"
silences=$(grep -c '"type":"silence"' "$T/risk1.jsonl" || true)
[ "$silences" = 0 ] || pdm_fail "$silences MachineSilence events in a catch-up where no machine stopped: $(grep -m2 '"type":"silence"' "$T/risk1.jsonl")"

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

# 5. One topic, same backlog, same poisoned reading.
replay_poisoned --topic pdm.events
before=$(poisoned)
scorer "$T/one.log" 5 one "$T/one.csv" --topics pdm.events --machines-topic "" --exit-at-end
sl_wait_exit "$SL_PID" "$T/one.log"
grep -q "stopped: .*, 1 dead letters" "$T/one.log" || pdm_fail "one topic: $(grep stopped: "$T/one.log")"
$compare "$T/offline.csv" "$T/one.csv" --expect-same-keys || pdm_fail "one topic: features differ from offline"
[ "$(poisoned)" = $((before + 1)) ] || pdm_fail "one topic: the poisoned reading is not the dead letter"
[ "$(dead_letters)" = 0 ] || pdm_fail "one topic: $(dead_letters) other dead letters"
echo "event_time: ok ($rows rows; killed at $killed_at)"
