#!/usr/bin/env bash
# demo_model: the model scripts/demo.sh trains, with the demo's own commands
# (scripts/demo_fleet.sh) and default settings (20 machines x 4,380 h of the
# realistic fleet, seed 42), reaches on its held-out period macro F1 >= 0.80
# and PR AUC >= 0.65, and prints them; so does another seed (1), so the
# margin is not one lucky seed's. (Seeds 1..8 measured when this was written:
# macro F1 0.74-0.96, PR AUC 0.84-0.98; seed 4 has 0.74 because its one
# comp1 failure in the test period is missed, a whole class's F1.) With
# --difficulty hard the demo's old figures come back (macro F1 0.315, PR AUC
# 0.230: the fleet of earlier versions, byte for byte). Then the summary's
# rules (scripts/demo_summary.py) on a stream whose answer is known.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
py=/usr/bin/python3
# shellcheck source=../../scripts/demo_fleet.sh
source "$PDM_SOURCE_DIR/scripts/demo_fleet.sh"
export PDM_TRAIN_NTHREAD=1 # two cores shared with the other tests

# metric WORK KEY: the held-out metric of the promoted model.
metric() {
  $py -c 'import json, os, sys; w = sys.argv[1]
print(json.load(open(os.path.join(w, "models", os.readlink(w + "/models/current"), "metrics.json")))["test"][sys.argv[2]])' "$1" "$2"
}

# check_quality NAME SEED DIFFICULTY MIN_F1 MAX_F1 MIN_PR MAX_PR
check_quality() {
  local work=$T/$1
  mkdir -p "$work"
  demo_fleet_model "$PDM_BIN" "$work" "$DEMO_MACHINES" "$DEMO_HOURS" "$3" "$2" >"$work/out.txt" \
    2>"$work/err.txt" || pdm_fail "$1: the demo's simulate and train failed: $(tail -5 "$work/err.txt")"
  local f1 pr
  f1=$(metric "$work" macro_f1)
  pr=$(metric "$work" pr_auc)
  echo "$1 (seed $2, $3): macro F1 $f1, PR AUC $pr"
  # the demo prints them
  grep -q "held out: macro F1 $(printf %.3f "$f1")   PR AUC $(printf %.3f "$pr")" "$work/out.txt" \
    || pdm_fail "$1: the demo does not print the metrics: $(cat "$work/out.txt")"
  $py -c 'import sys; f1, pr, a, b, c, d = map(float, sys.argv[1:]); sys.exit(not (a <= f1 <= b and c <= pr <= d))' \
    "$f1" "$pr" "$4" "$5" "$6" "$7" || pdm_fail "$1: macro F1 $f1 not in [$4, $5] or PR AUC $pr not in [$6, $7]"
}

check_quality demo "$DEMO_SEED" "$DEMO_DIFFICULTY" 0.80 1 0.65 1
check_quality other-seed 1 "$DEMO_DIFFICULTY" 0.80 1 0.65 1
check_quality hard "$DEMO_SEED" hard 0.295 0.335 0.21 0.25

# ---- the summary's counting on a stream whose answer is known -----------
# Machine 1: hourly telemetry over 200 h from 2015-01-01 00:00; failures at
# 50 h and 150 h; the scorer said WARN at 30 h, OK at 51 h (an alert that a
# failure followed; the failure caught 20 h ahead), WARN at 90 h, OK at 95 h
# (an alert no failure followed); nothing before 150 h: missed. Machine 2: no
# failure, no alert. The model's held-out period starts at 100 h.
S=$T/summary
mkdir -p "$S/data" "$S/models/v1"
$py - "$S" <<'PY'
import datetime as dt, json, os, sys
s = sys.argv[1]
t0 = dt.datetime(2015, 1, 1)
def at(h): return (t0 + dt.timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S")
with open(f"{s}/data/PdM_telemetry.csv", "w") as f:
    f.write("datetime,machineID,volt,rotate,pressure,vibration\n")
    for m in (1, 2):
        for h in range(200):
            f.write(f"{at(h)},{m},170,450,100,40\n")
with open(f"{s}/data/PdM_failures.csv", "w") as f:
    f.write("datetime,machineID,failure\n" + f"{at(50)},1,comp1\n{at(150)},1,comp2\n")
with open(f"{s}/risk.jsonl", "w") as f:
    for h, level in ((30, "WARN"), (51, "OK"), (90, "WARN"), (95, "OK")):
        e = {"type": "risk", "machine_id": 1, "ts": at(h).replace(" ", "T") + ".000Z", "level": level}
        f.write(json.dumps({"event": e}) + "\n")
json.dump({"version": "v1", "horizon_hours": 24, "test": {"from": at(100)}}, open(f"{s}/models/v1/model.json", "w"))
json.dump({"test": {"macro_f1": 0.9, "pr_auc": 0.8}}, open(f"{s}/models/v1/metrics.json", "w"))
os.symlink("v1", f"{s}/models/current")
PY
$py "$PDM_SOURCE_DIR/scripts/demo_summary.py" --data "$S/data" --risk "$S/risk.jsonl" \
  --models "$S/models" --scored 400 --messages 402 --elapsed 2 >"$S/out.txt" \
  || pdm_fail "demo_summary.py failed"
cat "$S/out.txt"
for want in "scored:    400 telemetry events (402 messages) in 2.0 s, 200 events/s" \
  "all:       2 alerts raised on 1 machines, 1 followed by a failure within 24 h (precision 0.50); failures caught 1 of 2, missed 1; median lead time 20 h; 2 WARN/CRITICAL notifications" \
  "held out:  from 2015-01-05 04:00 (never seen in training): 0 alerts raised on 0 machines, 0 followed by a failure within 24 h (precision n/a); failures caught 0 of 1, missed 1; median lead time n/a"; do
  grep -qF "$want" "$S/out.txt" || pdm_fail "summary lacks: $want"
done
# Stopped at 60 h (Ctrl-C): the second failure and alert are not there yet.
$py "$PDM_SOURCE_DIR/scripts/demo_summary.py" --data "$S/data" --risk "$S/risk.jsonl" \
  --models "$S/models" --until "2015-01-03 12:00:00" >"$S/out2.txt" || pdm_fail "demo_summary.py --until failed"
grep -qF "1 alerts raised on 1 machines, 1 followed by a failure within 24 h (precision 1.00); failures caught 1 of 1, missed 0; median lead time 20 h" \
  "$S/out2.txt" || pdm_fail "summary until 60 h: $(cat "$S/out2.txt")"
grep -q "held out" "$S/out2.txt" && pdm_fail "a held-out line before the held-out period: $(cat "$S/out2.txt")"
# A scorer that stopped after 120 rows (of the replay, in time order: two
# machines an hour) had reached hour 59 (2015-01-03 11:00).
$py "$PDM_SOURCE_DIR/scripts/demo_summary.py" --data "$S/data" --risk "$S/risk.jsonl" \
  --models "$S/models" --scored 120 >"$S/out3.txt" || pdm_fail "demo_summary.py --scored failed"
grep -qF "the stream from 2015-01-01 00:00 to 2015-01-03 11:00" "$S/out3.txt" \
  && grep -qF "failures caught 1 of 1, missed 0" "$S/out3.txt" \
  || pdm_fail "summary of 120 scored rows: $(cat "$S/out3.txt")"
# The same story as incidents (the scorer's default): machine 1's first
# incident opens at 30 h, is renotified at 36 h and resolves as failed at
# 50 h; the second opens at 90 h and resolves (cleared) at 95 h; a replayed
# duplicate of the opening counts once.
$py - "$S" <<'PY'
import datetime as dt, json, sys
s = sys.argv[1]
t0 = dt.datetime(2015, 1, 1)
def at(h): return (t0 + dt.timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
rows = ((30, 30, "firing"), (30, 30, "firing"), (36, 30, "firing"), (50, 30, "resolved"),
        (90, 90, "firing"), (95, 90, "resolved"))
with open(f"{s}/incidents.jsonl", "w") as f:
    for h, o, status in rows:
        e = {"type": "risk", "machine_id": 1, "ts": at(h), "level": "WARN", "incident_id": f"1-{o}",
             "status": status, "opened_at": at(o)}
        f.write(json.dumps({"event": e}) + "\n")
PY
$py "$PDM_SOURCE_DIR/scripts/demo_summary.py" --data "$S/data" --risk "$S/incidents.jsonl" \
  --models "$S/models" >"$S/out4.txt" || pdm_fail "demo_summary.py on incidents failed"
grep -qF "all:       2 incidents raised on 1 machines, 1 followed by a failure within 24 h (precision 0.50); failures caught 1 of 2, missed 1; median lead time 20 h; 3 incident notifications" \
  "$S/out4.txt" || pdm_fail "summary of incidents: $(cat "$S/out4.txt")"
echo "demo_model: ok"
