#!/usr/bin/env bash
# scorer_batch_bounds: the output does not depend on where batches end. The
# PdM data log a maintenance record with every failure, of the same
# component at the same time, and stream order puts the maintenance first:
# the incident it resolves was met by the failure (`failed`), not repaired
# (pdm_alert_repair_of). A batch that ends between the two would resolve it
# `repaired`. A simulated fleet with such pairs is scored to its end (the
# default --emit incidents) with thresholds that open incidents, with batches
# of 2,000 messages (the reference), 24 and 40 in one topic of 4 partitions,
# and 2,000 and 24 in one topic per event type (the event-time merge): every
# run's incident events (machine, time, risk, level, incident id, status,
# resolution) equal the reference's, and incidents resolved `failed` at a
# maintenance record's time are among them. The guarantee holds for batches
# with room for a time's maintenance, error and failure records (up to 7 at
# one time here): a partition's in half a batch on one topic, a task's in a
# batch with the merge (with batches of 9, when the readings of a time still
# counted, the merge split machine 1's failure at 2015-03-12 06:00 once in CI).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP

pdm_start_redis
pdm_start_broker 4 --topic pdm.events,pdm.telemetry,pdm.errors,pdm.maintenance,pdm.failures,pdm.machines

sl_sim "$T/data" 12 2500 11
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 10 --dump-features "$T/offline.csv"
sl_replay "$T/data" pdm.events
"$PDM_BIN/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" 2>>"$T/producer.log" \
  || pdm_fail "replay per type failed: $(tail -5 "$T/producer.log")"
"$PDM_BIN/pdm-predict" --model "$T/model" --features "$T/offline.csv" >"$T/offline_risk.csv" \
  || pdm_fail "pdm-predict failed"
read -r warn critical < <($SL_PY - "$T/offline_risk.csv" <<'PY'
import csv, sys
r = sorted(float(x["risk"]) for x in csv.DictReader(open(sys.argv[1])))
print(r[int(0.90 * len(r))], r[int(0.96 * len(r))])
PY
)
echo "thresholds: warn $warn, critical $critical"

db=1
# run NAME BATCH TOPIC-ARGS...: one scorer to the end of its input.
run() {
  local name=$1 batch=$2
  shift 2
  sl_scorer "$T/$name.log" --redis "$PDM_REDIS_URL/$db" --model "$T/model" --group "g-$name" \
    --risk-topic "risk.$name" --warn "$warn" --critical "$critical" \
    --batch-size "$batch" --exit-at-end "$@"
  sl_wait_exit "$SL_PID" "$T/$name.log"
  sl_tail "risk.$name" "$T/$name.jsonl"
  db=$((db + 1))
}
one=(--topics pdm.events --machines-topic "")
run one2000 2000 "${one[@]}"
run one24 24 "${one[@]}"
run one40 40 "${one[@]}"
run typed2000 2000
run typed24 24

$SL_PY - "$T" "$T/data" <<'PY' || pdm_fail "the output depends on batch boundaries"
import csv, json, sys
from datetime import datetime, timezone
t, data = sys.argv[1:3]

def events(name):
    out = []
    for line in open(f"{t}/{name}.jsonl"):
        e = json.loads(line).get("event")
        if e and e.get("type") == "risk":
            out.append((e["machine_id"], e["ts"], e["risk"], e["level"], e["incident_id"],
                        e["status"], e["resolution"]))
    return sorted(out)

ref = events("one2000")
failed = [e for e in ref if e[6] == "failed"]
maint = {(int(r["machineID"]), r["datetime"]) for r in csv.DictReader(open(f"{data}/PdM_maint.csv"))}
at_maint = [e for e in failed if (e[0], e[1][:19].replace("T", " ")) in maint]
print(f"reference: {len(ref)} incident events, {len(failed)} resolved failed, {len(at_maint)} at a maintenance record's time")
if not at_maint:
    raise SystemExit("FAIL: no incident resolved failed at a maintenance record's time")
bad = 0
for name in ("one24", "one40", "typed2000", "typed24"):
    got = events(name)
    if got != ref:
        diff = sorted(set(got) ^ set(ref))
        print(f"FAIL: {name}: {len(got)} incident events, {len(diff)} differ from the reference, e.g. {diff[:4]}")
        bad += 1
    else:
        print(f"{name}: the same {len(got)} incident events")
sys.exit(1 if bad else 0)
PY
echo "scorer_batch_bounds: ok"
