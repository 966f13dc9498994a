#!/usr/bin/env bash
# stream_parity: online/offline parity of the streaming scorer.
# The simulator's data (and ../shared/data/pdm-sample when present) is
# replayed through the embedded broker into pdm-scorer with a real
# redis-server. For every telemetry event the scorer's features must equal
# pdm-train --dump-features on the same CSVs to 1e-9 relative, and its risk
# must equal the offline prediction of the same model exactly (both print the
# shortest text of the same double). The same again in the default layout
# (one topic per event type, merged in event time). Then the same stream is scored again
# with the scorer SIGKILLed and restarted twice in the middle (alive when
# killed, rows left to score): every telemetry event is still scored with
# the offline features, duplicates included, and each machine's final
# features are unchanged.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
source "$PDM_SOURCE_DIR/tests/runtime/faults_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
B=$PDM_BIN
compare="/usr/bin/python3 $PDM_SOURCE_DIR/tests/runtime/compare_features.py"

pdm_start_redis
pdm_start_broker 4 --topic pdm.events,pdm.sample,pdm.crash,sample.telemetry,sample.errors,sample.maintenance,sample.failures,sample.machines,parity.telemetry,parity.errors,parity.maintenance,parity.failures,parity.machines

"$B/pdm-sim" --machines 6 --hours 2000 --seed 11 --out "$T/data" 2>"$T/sim.log" \
  || pdm_fail "pdm-sim failed: $(cat "$T/sim.log")"
"$B/pdm-train" --data "$T/data" --out "$T/models/candidate" --rounds 20 --nthread 1 \
  --dump-features "$T/offline.csv" --promote "$T/models" >"$T/train.log" 2>&1 \
  || pdm_fail "pdm-train failed: $(tail -20 "$T/train.log")"
[ -L "$T/models/current" ] || pdm_fail "no models/current after --promote"

"$B/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" --topic pdm.events 2>"$T/producer.log" \
  || pdm_fail "replay failed: $(cat "$T/producer.log")"

# scorer_args DB GROUP DUMP [extra args]: sets $args for a pdm-scorer run.
scorer_args() {
  local db=$1 group=$2 dump=$3
  shift 3
  args=(--brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL/$db" --model "$T/models"
    --group "$group" --topics pdm.events --emit all --dump-features "$dump"
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 "$@")
}
# scorer DB GROUP DUMP [extra args]: a pdm-scorer run to the end of the topics.
scorer() {
  scorer_args "$@" --exit-at-end
  "$B/pdm-scorer" "${args[@]}"
}

# 1. A clean run: features and risk against the offline computation.
scorer 0 clean "$T/online.csv" >"$T/clean.log" 2>&1 || pdm_fail "scorer failed: $(tail -20 "$T/clean.log")"
# The client settings the scorer chooses (and logs) unless -X says otherwise.
settings=$(grep -m1 'kafka clients:' "$T/clean.log" || true)
# (with 1 MB fetch responses)
for want in "consumer queued.min.messages=20000 fetch.wait.max.ms=500" "fetch.max.bytes=1048576" \
  "producer linger.ms=2" "socket.nagle.disable=true" "compression.codec=lz4"; do
  [[ "$settings" == *"$want"* ]] || pdm_fail "client settings: no '$want' in '$settings'"
done
$compare "$T/offline.csv" "$T/online.csv" --expect-same-keys || pdm_fail "online features differ from offline"

"$B/pdm-tail" --brokers "$PDM_BROKERS" --topic pdm.risk --exit-at-end >"$T/risk.jsonl" 2>"$T/tail.log" \
  || pdm_fail "pdm-tail failed: $(cat "$T/tail.log")"
"$B/pdm-predict" --model "$T/models" --features "$T/offline.csv" >"$T/offline_risk.csv" \
  || pdm_fail "pdm-predict failed"
/usr/bin/python3 - "$T/risk.jsonl" "$T/offline_risk.csv" <<'PY' || pdm_fail "online risk differs from offline"
import csv, json, sys
online = {}
for line in open(sys.argv[1]):
    e = json.loads(line).get("event")
    if e and e.get("type") == "risk":
        comps = {c["component"]: c["probability"] for c in e["components"]}
        online[(e["machine_id"], e["ts"][:19].replace("T", " "))] = \
            (e["risk"],) + tuple(comps[f"comp{k}"] for k in range(1, 5))
# pdm-predict's risk and per-component probabilities, the scorer's exactly
offline = {(int(r["machineID"]), r["datetime"]):
           (float(r["risk"]),) + tuple(float(r[f"comp{k}"]) for k in range(1, 5))
           for r in csv.DictReader(open(sys.argv[2]))}
missing = [k for k in offline if k not in online]
bad = [(k, offline[k], online[k]) for k in offline if k in online and offline[k] != online[k]]
print(f"risk: {len(online)} online, {len(offline)} offline, {len(missing)} unscored, {len(bad)} differ")
for b in bad[:5]:
    print("  differs:", b)
sys.exit(1 if missing or bad else 0)
PY

# 1b. The same data in the default layout (one topic per event type, the
# machines table): the event-time merge gives the same features exactly.
"$B/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" --topic-prefix parity \
  2>>"$T/producer.log" || pdm_fail "per-type replay failed: $(cat "$T/producer.log")"
"$B/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL/3" --model "$T/models" \
  --topics parity.telemetry,parity.errors,parity.maintenance,parity.failures \
  --machines-topic parity.machines \
  --group pertype --emit all --dump-features "$T/pertype.csv" --exit-at-end \
  -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 >"$T/pertype.log" 2>&1 \
  || pdm_fail "per-type scorer failed: $(tail -20 "$T/pertype.log")"
grep -q "stopped: .*, 0 dead letters" "$T/pertype.log" || pdm_fail "per-type: $(grep stopped: "$T/pertype.log")"
$compare "$T/offline.csv" "$T/pertype.csv" --expect-same-keys || pdm_fail "per-type layout: online features differ from offline"

# 2. The same stream with the scorer killed twice midway (fresh state in db 1),
# on pdm.crash, which gets the stream in three parts (cut at a half and at
# five sixths of its hours), each replayed at 3,000 events/s once the run
# has its partitions, so that a run is killed while it consumes: the run
# killed after a third of the rows, and the one killed after two thirds,
# always have rows left to score, however fast or slow they are, and they
# do not stop by themselves (no --exit-at-end).
rows=$(($(wc -l <"$T/offline.csv") - 1))
mapfile -t cuts < <(awk -F, 'NR > 1 {print $2}' "$T/offline.csv" | sort -u \
  | awk '{t[NR] = $0} END {print t[int(NR / 2)]; print t[int(5 * NR / 6)]}')
fl_split "$T/data" "$T/crash" "${cuts[@]}"
# scored_rows: the rows dumped by the crash runs so far, duplicates included.
scored_rows() { cat "$T/crash.csv.all" "$T/crash.part.csv" 2>/dev/null | grep -vc '^machineID' || true; }
# shellcheck disable=SC2317
reached() { [ "$(scored_rows)" -ge "$kill_at" ]; }
: >"$T/crash.csv.all"
part=1
for kill_at in $((rows / 3)) $((2 * rows / 3)); do
  scorer_args 1 crash "$T/crash.part.csv" --topics pdm.crash --batch-size 200
  log=$T/crash$part.log
  "$B/pdm-scorer" "${args[@]}" >"$log" 2>&1 &
  pid=$!
  pdm_track $pid
  sl_wait_log "$log" "assigned [0-9]* partitions" 1 30
  sl_replay_bg "$T/crash/part$part" pdm.crash --rate 3000
  producer=$SL_PID
  part=$((part + 1))
  # Wait until this run has scored enough rows, then kill it without warning.
  pdm_wait_until 60 reached || pdm_fail "$(scored_rows) rows scored after 60 s, want $kill_at: $(tail -3 "$log")"
  _pdm_alive $pid || pdm_fail "the scorer ended before it was killed at $kill_at rows: $(tail -3 "$log")"
  kill -KILL $pid
  pdm_stop $pid 2>/dev/null || true # (no "Killed" job notice)
  # A SIGKILL can cut the dump's last line: keep whole lines only.
  # (and gone, so that the next run's rows are not counted with these twice)
  tail -n +2 "$T/crash.part.csv" 2>/dev/null | awk -F, 'NF == 30' >>"$T/crash.csv.all" || true
  rm -f "$T/crash.part.csv"
  sl_wait_exit "$producer" "$T/producer.log"
  done_rows=$(sort -u -t, -k1,2 "$T/crash.csv.all" | wc -l)
  [ "$done_rows" -lt "$rows" ] || pdm_fail "the scorer was killed after every row was scored: not mid-stream"
  echo "killed the scorer after $(scored_rows) rows dumped, $done_rows of $rows distinct" >&2
done
sl_replay "$T/crash/part3" pdm.crash
# The last run with a tiny prefetch bound, so that the scorer's fetcher
# wake-up (scorer_kafka_wake_fetcher in consumer/scorer_kafka.c) runs many times on the way.
: >"$T/final.log"
scorer 1 crash "$T/crash.part.csv" --topics pdm.crash --batch-size 200 -X queued.min.messages=300 --log-level debug \
  -X linger.ms=7 -X socket.nagle.disable=false >"$T/final.log" 2>&1 \
  || pdm_fail "restarted scorer failed: $(tail -20 "$T/final.log")"
settings=$(grep -m1 'kafka clients:' "$T/final.log" || true)
for want in "consumer queued.min.messages=300" "producer linger.ms=7 socket.nagle.disable=false"; do
  [[ "$settings" == *"$want"* ]] || pdm_fail "-X did not win: no '$want' in '$settings'"
done
wakes=$(grep -c 'woke the fetcher' "$T/final.log" || true)
[ "$wakes" -gt 0 ] || pdm_fail "the scorer never woke the fetcher with queued.min.messages=300"
echo "final run: the fetcher was woken $wakes times" >&2
tail -n +2 "$T/crash.part.csv" >>"$T/crash.csv.all"
{ head -1 "$T/online.csv"; cat "$T/crash.csv.all"; } >"$T/crash.csv"
$compare "$T/offline.csv" "$T/crash.csv" --expect-same-keys || pdm_fail "features after crashes differ from offline"
$compare "$T/online.csv" "$T/crash.csv" --last-per-machine || pdm_fail "final features after crashes differ"
echo "stream_parity: ok ($rows telemetry rows)"

# 3. The real PdM sample, when this checkout has ../shared beside it.
sample="$PDM_SOURCE_DIR/../shared/data/pdm-sample"
if [ -d "$sample" ]; then
  "$B/pdm-train" --data "$sample" --out "$T/sample-model" --rounds 5 --nthread 1 \
    --dump-features "$T/sample-offline.csv" >"$T/sample-train.log" 2>&1 \
    || pdm_fail "pdm-train on the sample failed: $(tail -5 "$T/sample-train.log")"
  "$B/pdm-producer" replay --data "$sample" --brokers "$PDM_BROKERS" --topic pdm.sample 2>>"$T/producer.log" \
    || pdm_fail "sample replay failed"
  scorer 2 sample "$T/sample-online.csv" --topics pdm.sample --model "$T/sample-model" \
    >"$T/sample.log" 2>&1 || pdm_fail "scorer on the sample failed: $(tail -20 "$T/sample.log")"
  $compare "$T/sample-offline.csv" "$T/sample-online.csv" --expect-same-keys \
    || pdm_fail "sample: online features differ from offline"
  # And in the default layout, on topics of their own (pdm-producer --topic
  # takes one topic; the per-type layout here is five: sample.telemetry, ...).
  "$B/pdm-producer" replay --data "$sample" --brokers "$PDM_BROKERS" --topic-prefix sample \
    2>>"$T/producer.log" || pdm_fail "per-type sample replay failed"
  scorer 4 sample-pertype "$T/sample-pertype.csv" --model "$T/sample-model" \
    --topics sample.telemetry,sample.errors,sample.maintenance,sample.failures \
    --machines-topic sample.machines >"$T/sample-pertype.log" 2>&1 \
    || pdm_fail "per-type scorer on the sample failed: $(tail -20 "$T/sample-pertype.log")"
  grep -q "stopped: .*, 0 dead letters" "$T/sample-pertype.log" \
    || pdm_fail "sample per-type: $(grep stopped: "$T/sample-pertype.log")"
  $compare "$T/sample-offline.csv" "$T/sample-pertype.csv" --expect-same-keys \
    || pdm_fail "sample, per-type layout: online features differ from offline"
  echo "stream_parity: sample ok"
else
  echo "stream_parity: ../shared/data/pdm-sample absent; sample part skipped"
fi
