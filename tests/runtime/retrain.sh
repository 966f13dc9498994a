#!/usr/bin/env bash
# retrain: pdm-retrain on a real archive, with a real scorer for the drift
# trigger.
#
# A simulated fleet (60 days) is replayed into the broker and archived by
# pdm-archive; a weak model (3 rounds, depth 2) trained on 25 early days is
# current. Then:
# 1. --dry-run with a due schedule prints the plan and changes nothing (the
#    models directory, the state file and the MLflow store stay as they were);
# 2. --once with the schedule due trains on the archive's last 45 days,
#    compares on the last 10 and promotes: `current` moves to the candidate,
#    the state names the model it replaced, and the MLflow store holds the
#    decision run (trigger schedule, decision promoted, both models' PR AUC)
#    and the candidate's training run (pdm.promoted true);
# 3. --once again: the schedule is not due (the run just made): nothing done,
#    in the loop mode too; a damaged state file is refused; a run that cannot
#    train (an empty archive) exits 1 and is recorded as failed;
# 4. drift from a running pdm-scorer's GET /v1/drift: pdm-retrain counts the
#    same features above the PSI level as the scorer's answer says, records a
#    window once however often it polls, is not due with one window of the
#    two required, and after shifted telemetry (the last 11 days again, 11
#    days later, volt x1.25, vibration x1.5) has closed new windows it fires
#    the drift trigger, trains, and (with a margin no candidate meets) keeps
#    the current model, recorded as such; the live recall as the scorer
#    reports it fires the recall trigger (dry run), an unreachable scorer
#    leaves the triggers not due, and a required shadow period holds a
#    candidate every margin lets through (the scorer has no shadow model);
# 5. rollback returns `current` to the model the promotion replaced, and the
#    running scorer reloads it (its /v1/drift names that version).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
B=$PDM_BIN
M=$T/models
R=(--models "$M" --archive "$T/arc" --mlruns "$T/mlruns" --work "$T" --nthread 1 --metrics-textfile "$T/retrain.prom")

link() { readlink "$M/current"; }
# metric NAME[{LABELS}]: its value in --metrics-textfile (empty if absent).
metric() { awk -v n="$1" '$1 == n { print $2 }' "$T/retrain.prom"; }
# replay DIR: every CSV row into the product's per-type topics.
replay() {
  "$B/pdm-producer" replay --data "$1" --brokers "$PDM_BROKERS" 2>>"$T/producer.log" \
    || pdm_fail "replay of $1 failed: $(tail -5 "$T/producer.log")"
}
# decisions MLRUNS: "trigger decision" of each pdm-retrain run, oldest first.
decisions() {
  $SL_PY - "$1" <<'PY'
import glob, os, sys
runs = []
for meta in glob.glob(os.path.join(sys.argv[1], "*", "meta.yaml")):
    if "name: pdm-retrain\n" not in open(meta).read():
        continue
    for run in glob.glob(os.path.join(os.path.dirname(meta), "*", "meta.yaml")):
        d = os.path.dirname(run)
        start = [l for l in open(run) if l.startswith("start_time:")][0].split()[1]
        tag = lambda k: open(os.path.join(d, "tags", k)).read() if os.path.exists(os.path.join(d, "tags", k)) else "-"
        runs.append((int(start), tag("pdm.retrain.trigger"), tag("pdm.retrain.decision"), d))
for r in sorted(runs):
    print(r[1], r[2], r[3])
PY
}

# ---- the archive and the current model ---------------------------------------
pdm_start_broker 4
sl_sim "$T/data" 30 1440 3
replay "$T/data"
"$B/pdm-archive" --brokers "$PDM_BROKERS" --dir "$T/arc" --exit-at-end -X fetch.wait.max.ms=10 \
  >"$T/archive.log" 2>&1 || pdm_fail "pdm-archive failed: $(tail -5 "$T/archive.log")"
"$B/pdm-archive" export --dir "$T/arc" --from 2015-01-01 --to 2015-01-25 --out "$T/early" \
  2>"$T/export.log" || pdm_fail "export failed: $(cat "$T/export.log")"
sl_train "$T/early" "$T/train0.log" --rounds 3 --max-depth 2 --promote "$M"
V0=$(link)
# trained two days ago, as far as the schedule can tell
touch -d '2 days ago' "$M/$V0/model.json"

# ---- 1. dry run -----------------------------------------------------------------
snapshot() { (cd "$M" && find . -printf '%p %s %T@ %l\n' | sort); }
snapshot >"$T/before.txt"
"$B/pdm-retrain" "${R[@]}" --every 1d --days 45 --holdout-days 10 --dry-run >"$T/dry.log" 2>&1 \
  || pdm_fail "dry run failed: $(cat "$T/dry.log")"
grep -q '^trigger: schedule$' "$T/dry.log" || pdm_fail "dry run: no schedule trigger: $(cat "$T/dry.log")"
grep -q '^dry run: would export 2015-01-17\.\.2015-03-02 .*(held out: 2015-02-21).*Nothing was changed' \
  "$T/dry.log" || pdm_fail "dry run: not the plan expected: $(cat "$T/dry.log")"
snapshot >"$T/after.txt"
cmp -s "$T/before.txt" "$T/after.txt" || pdm_fail "dry run changed the models directory: $(diff "$T/before.txt" "$T/after.txt")"
[ ! -e "$T/mlruns" ] || pdm_fail "dry run wrote an MLflow store"
ls "$T"/pdm-retrain-* >/dev/null 2>&1 && pdm_fail "dry run left an export behind"
echo "1. dry run: the plan printed, nothing changed"

# ---- 2. schedule: train, compare, promote -------------------------------------------
"$B/pdm-retrain" "${R[@]}" --every 1d --days 45 --holdout-days 10 --rounds 40 \
  --min-gain 0.05 --max-precision-loss 0.5 --once >"$T/once.log" 2>&1 \
  || pdm_fail "--once failed: $(tail -20 "$T/once.log")"
grep -q '^decision: promoted: ' "$T/once.log" || pdm_fail "not promoted: $(grep -v '^ ' "$T/once.log" | tail -5)"
V1=$(link)
[ "$V1" != "$V0" ] && [ -f "$M/$V1/model.json" ] || pdm_fail "current did not move to a new package ($V0 -> $V1)"
grep -q "^decision: promoted: candidate $V1, current $V0 -> $V1: PR AUC " "$T/once.log" \
  || pdm_fail "the decision line does not name $V0 -> $V1: $(grep '^decision' "$T/once.log")"
grep -q "\"previous_version\":[[:space:]]*\"$V0\"" "$M/.retrain-state.json" \
  || pdm_fail "the state does not name $V0 as replaced: $(cat "$M/.retrain-state.json")"
ls "$T"/pdm-retrain-* >/dev/null 2>&1 && pdm_fail "the export was not removed"
decisions "$T/mlruns" >"$T/runs.txt"
[ "$(wc -l <"$T/runs.txt")" = 1 ] && grep -q '^schedule promoted ' "$T/runs.txt" \
  || pdm_fail "MLflow: not one 'schedule promoted' run: $(cat "$T/runs.txt")"
run=$(awk '{print $3}' "$T/runs.txt")
for m in candidate_pr_auc current_pr_auc; do
  [ -s "$run/metrics/$m" ] || pdm_fail "MLflow: the decision run lacks $m"
done
cand=$(awk '{print $2}' "$run/metrics/candidate_pr_auc")
cur=$(awk '{print $2}' "$run/metrics/current_pr_auc")
$SL_PY -c "import sys; sys.exit(0 if float('$cand') >= float('$cur') + 0.05 else 1)" \
  || pdm_fail "promoted with PR AUC $cand vs $cur"
[ "$(cat "$run/tags/pdm.model_version")" = "$V1" ] || pdm_fail "MLflow: the decision run names another model"
# the decision run names the candidate's training run (pdm-train's record)
tr=$(cat "$run/tags/pdm.retrain.training_run_id")
td=$(ls -d "$T"/mlruns/*/"$tr")
[ "$(cat "$td/tags/pdm.model_version")" = "$V1" ] && [ "$(cat "$td/tags/pdm.promoted")" = true ] \
  && [ -f "$td/artifacts/model/model.json" ] \
  || pdm_fail "MLflow: the training run $tr is not $V1's, promoted, with its package"
# the metrics file says the same (and Prometheus' own checker accepts it)
[ "$(metric 'pdm_retrain_last_decision{decision="promoted"}')" = 1 ] \
  && [ "$(metric 'pdm_retrain_last_decision{decision="kept"}')" = 0 ] \
  && [ "$(metric pdm_retrain_consecutive_failures)" = 0 ] \
  && [ "$(metric "pdm_retrain_model_info{version=\"$V1\"}")" = 1 ] \
  || pdm_fail "metrics after the promotion: $(cat "$T/retrain.prom")"
$SL_PY -c 'import sys; a, b = map(float, sys.argv[1:]); assert abs(a - b) < 1e-9, (a, b)' \
  "$(metric pdm_retrain_candidate_pr_auc)" "$cand" || pdm_fail "metrics: candidate PR AUC is not MLflow's $cand"
if command -v promtool >/dev/null; then
  promtool check metrics <"$T/retrain.prom" >"$T/promtool.log" 2>&1 \
    || pdm_fail "promtool check metrics: $(cat "$T/promtool.log")"
fi
echo "2. schedule: $V0 -> $V1 promoted (PR AUC $cand vs $cur on the held-out days), recorded"

# ---- 3. not due again ------------------------------------------------------------------
"$B/pdm-retrain" "${R[@]}" --every 1d --once >"$T/again.log" 2>&1 \
  || pdm_fail "second --once failed: $(cat "$T/again.log")"
grep -q '^trigger: none: nothing to do$' "$T/again.log" && grep -q 'the last run at .*: not due$' "$T/again.log" \
  || pdm_fail "second run: not 'nothing to do': $(cat "$T/again.log")"
[ "$(link)" = "$V1" ] || pdm_fail "second run moved current"
[ "$(decisions "$T/mlruns" | wc -l)" = 1 ] || pdm_fail "a run with nothing due was recorded"
# the loop mode evaluates every --interval until SIGTERM, then exits 0
"$B/pdm-retrain" "${R[@]}" --every 1d --interval 1s >"$T/loop.log" 2>&1 &
loop=$!
pdm_track_checked "$loop" "pdm-retrain loop"
sl_wait_log "$T/loop.log" '^trigger: none: nothing to do$' 2 20
pdm_stop_check "$loop" "pdm-retrain loop" "$T/loop.log"
# a damaged state file: a clear error, nothing done
cp "$M/.retrain-state.json" "$T/state.good"
echo '{"drift": 3' >"$M/.retrain-state.json"
"$B/pdm-retrain" "${R[@]}" --every 1s --once >"$T/damaged.log" 2>&1 && pdm_fail "a damaged state was accepted"
grep -q 'not a pdm-retrain state' "$T/damaged.log" || pdm_fail "damaged state: $(cat "$T/damaged.log")"
cp "$T/state.good" "$M/.retrain-state.json"
[ "$(link)" = "$V1" ] && [ "$(decisions "$T/mlruns" | wc -l)" = 1 ] || pdm_fail "a failed run changed something"
# one pdm-retrain at a time on a models directory
$SL_PY -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(60)' "$M/.retrain-state.json.lock" "$T/locked" &
holder=$!
pdm_track "$holder"
pdm_wait_until 10 test -e "$T/locked" || pdm_fail "the lock holder did not start"
"$B/pdm-retrain" "${R[@]}" --force --once >"$T/locked.log" 2>&1 && pdm_fail "a second pdm-retrain ran"
grep -q 'another pdm-retrain is running' "$T/locked.log" || pdm_fail "locked: $(cat "$T/locked.log")"
kill "$holder"
pdm_stop "$holder" 2>/dev/null || true
# a run that cannot train (an empty archive): exit 1, recorded as failed, nothing moved
mkdir "$T/empty"
"$B/pdm-retrain" "${R[@]}" --archive "$T/empty" --force --once >"$T/failed.log" 2>&1 \
  && pdm_fail "a run on an empty archive succeeded"
grep -q "^decision: failed: --archive $T/empty holds no day yet" "$T/failed.log" \
  || pdm_fail "empty archive: $(cat "$T/failed.log")"
decisions "$T/mlruns" | tail -1 | grep -q '^forced failed ' || pdm_fail "MLflow: the failed run is not recorded"
[ "$(link)" = "$V1" ] || pdm_fail "a failed run moved current"
[ "$(metric pdm_retrain_consecutive_failures)" = 1 ] \
  && [ "$(metric 'pdm_retrain_last_decision{decision="failed"}')" = 1 ] \
  && [ "$(metric "pdm_retrain_model_info{version=\"$V1\"}")" = 1 ] \
  || pdm_fail "metrics after a failed run: $(cat "$T/retrain.prom")"
echo "3. schedule not due right after a run: nothing done (--once and the loop); a damaged state refused; a failed run recorded"

# ---- 4. drift from the scorer ----------------------------------------------------------------
pdm_start_redis
telemetry=$(($(wc -l <"$T/data/PdM_telemetry.csv") - 1))
sl_scorer "$T/scorer.log" --redis "$PDM_REDIS_URL" --model "$M" --group retrain-test \
  --http 127.0.0.1:0 --drift-rows 500 --dump-features "$T/dump.csv"
scorer=$SL_PID
sl_wait_log "$T/scorer.log" "http listening on port" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/scorer.log" | head -1)
sl_wait_rows "$T/dump.csv" "$telemetry" 90
# drift_view: "MODEL_VERSION WINDOWS FEATURES_ABOVE_0.25" from the scorer itself.
drift_view() {
  $SL_PY - "http://127.0.0.1:$port/v1/drift" <<'PY'
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1], timeout=10))
dr = d["drift"] or {"windows": 0, "features": []}
print(d.get("model_version", "-"), dr["windows"], sum(1 for f in dr["features"] if f["psi"] is not None and f["psi"] > 0.25))
PY
}
# (pdm_wait_until runs a command again and again: these read the scorer each time)
windows_above() { [ "$(drift_view | awk '{print $2}')" -gt "$1" ]; }
serves() { [ "$(drift_view | awk '{print $1}')" = "$1" ]; }
# the stream is consumed: the last window stays as it is (no rows pending)
pdm_wait_until 20 windows_above 0 || pdm_fail "the scorer closed no drift window"
read -r sv w1 above1 < <(drift_view)
[ "$sv" = "$V1" ] || pdm_fail "the scorer runs $sv, not $V1"
[ "$above1" -ge 1 ] || pdm_fail "no feature above PSI 0.25 in window $w1: cannot test the trigger"
D=(--scorer "http://127.0.0.1:$port" --drift-psi 0.25 --drift-features 1 --drift-windows 2 --days 45
  --holdout-days 10 --rounds 20 --min-gain 0.99)
for i in 1 2; do
  "$B/pdm-retrain" "${R[@]}" "${D[@]}" --once >"$T/drift$i.log" 2>&1 \
    || pdm_fail "drift run $i failed: $(cat "$T/drift$i.log")"
  grep -q "^drift: 1 window(s) seen of model $V1, the last 1 in a row .*(need 2): not due (window $w1: $above1 feature(s) above 0.250" \
    "$T/drift$i.log" || pdm_fail "drift run $i: not the scorer's window $w1 with $above1 features: $(cat "$T/drift$i.log")"
  grep -q '^trigger: none' "$T/drift$i.log" || pdm_fail "drift run $i fired with one window"
done
# recall: the scorer's rolling live recall, read as the scorer reports it
read -r live_recall resolved < <($SL_PY - "http://127.0.0.1:$port/v1/drift" <<'PY'
import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1], timeout=10))["performance"]["rolling"]
print("%.4f" % r["recall"] if r["recall"] is not None else "nan", r["caught"] + r["missed"])
PY
)
[ "$resolved" -ge 1 ] || pdm_fail "the scorer resolved no failure"
"$B/pdm-retrain" "${R[@]}" --scorer "http://127.0.0.1:$port" --min-recall 0.99 --min-failures 1 \
  --dry-run >"$T/recall.log" 2>&1 || pdm_fail "recall dry run failed: $(cat "$T/recall.log")"
grep -q "^recall: live $live_recall over $resolved failure(s) vs level 0.9900: due" "$T/recall.log" \
  && grep -q '^trigger: recall$' "$T/recall.log" \
  || pdm_fail "recall: not the scorer's $live_recall over $resolved: $(cat "$T/recall.log")"
"$B/pdm-retrain" "${R[@]}" --scorer "http://127.0.0.1:$port" --min-recall 0.99 \
  --min-failures $((resolved + 1)) --dry-run >"$T/recall2.log" 2>&1 || pdm_fail "recall dry run 2 failed"
grep -q "^recall: $resolved failure(s) resolved .*need $((resolved + 1)) to judge" "$T/recall2.log" \
  && grep -q '^trigger: none' "$T/recall2.log" || pdm_fail "recall judged on too few failures: $(cat "$T/recall2.log")"
echo "4a. recall: live $live_recall over $resolved failures read from the scorer; due below 0.99"
# a scorer that does not answer: the drift trigger is not due, the run goes on
"$B/pdm-retrain" "${R[@]}" --scorer "http://127.0.0.1:$(pdm_free_port)" --drift-features 1 --once \
  >"$T/noscorer.log" 2>&1 || pdm_fail "a run without a scorer failed: $(cat "$T/noscorer.log")"
grep -q '^drift: scorer not read: GET http://127.0.0.1:[0-9]*/v1/drift: cannot connect' "$T/noscorer.log" \
  || pdm_fail "no scorer: $(cat "$T/noscorer.log")"
$SL_PY - "$T/data" "$T/shifted" <<'PY'
import datetime, os, sys
src, dst = sys.argv[1:3]
os.makedirs(dst)
for name in os.listdir(src):
    lines = open(os.path.join(src, name)).read().splitlines()
    if name != "PdM_telemetry.csv":
        keep = [lines[0]] + [l for l in lines[1:] if name == "PdM_machines.csv"]
        open(os.path.join(dst, name), "w").write("\n".join(keep) + "\n")
        continue
    out = [lines[0]]
    for l in lines[1:]:
        f = l.split(",")
        if f[0] < "2015-02-20":  # the last 11 days again, 11 days later, shifted
            continue
        t = datetime.datetime.strptime(f[0], "%Y-%m-%d %H:%M:%S") + datetime.timedelta(days=11)
        f[0] = t.strftime("%Y-%m-%d %H:%M:%S")
        f[2] = "%.6f" % (float(f[2]) * 1.25)
        f[5] = "%.6f" % (float(f[5]) * 1.5)
        out.append(",".join(f))
    open(os.path.join(dst, name), "w").write("\n".join(out) + "\n")
PY
replay "$T/shifted"
pdm_wait_until 90 windows_above "$w1" || pdm_fail "no drift window after the shift (window $w1; $(drift_view)): $(tail -5 "$T/scorer.log")"
read -r _ w2 above2 < <(drift_view)
[ "$above2" -ge 1 ] || pdm_fail "no feature above PSI 0.25 after the shift (window $w2)"
"$B/pdm-retrain" "${R[@]}" "${D[@]}" --once >"$T/drift3.log" 2>&1 \
  || pdm_fail "drift run 3 failed: $(tail -20 "$T/drift3.log")"
grep -q '^trigger: drift$' "$T/drift3.log" && grep -q 'the last 2 in a row .*: due' "$T/drift3.log" \
  || pdm_fail "drift run 3 did not fire: $(grep -v '^ ' "$T/drift3.log" | head -8)"
grep -q "^decision: kept: .*current $V1 -> $V1: .*need +0.9900: not enough" "$T/drift3.log" \
  || pdm_fail "drift run 3: not kept by the margin: $(grep '^decision' "$T/drift3.log")"
[ "$(link)" = "$V1" ] || pdm_fail "a kept candidate moved current"
grep '^drift:' "$T/drift3.log"
decisions "$T/mlruns" | tail -1 | grep -q '^drift kept ' || pdm_fail "MLflow: no 'drift kept' run: $(decisions "$T/mlruns")"
echo "4. drift: windows $w1 ($above1 features above 0.25) and $w2 ($above2) read from the scorer; fired, trained, kept, recorded"

# a shadow period required: this scorer has no shadow model, so even a
# candidate every margin lets through is held and goes on trial
"$B/pdm-retrain" "${R[@]}" --scorer "http://127.0.0.1:$port" --force --days 45 --holdout-days 10 \
  --rounds 20 --min-gain -1 --max-precision-loss 1 --shadow-hours 24 --once >"$T/shadow.log" 2>&1 \
  || pdm_fail "shadow run failed: $(tail -20 "$T/shadow.log")"
grep -q "^decision: on_trial: .*current $V1 -> $V1: .*: promote; but shadow: 24.0 h required but the scorer reports no shadow model" \
  "$T/shadow.log" || pdm_fail "shadow: not held: $(grep '^decision' "$T/shadow.log")"
[ "$(link)" = "$V1" ] || pdm_fail "a held candidate moved current"
cand=$(sed -n 's/^decision: on_trial: candidate \([^,]*\),.*/\1/p' "$T/shadow.log")
[ -n "$cand" ] && [ "$(readlink "$M/shadow")" = "$cand" ] \
  || pdm_fail "the held candidate is not on trial as $M/shadow: $(readlink "$M/shadow")"
grep -q "\"shadow_candidate\":[[:space:]]*\"$cand\"" "$M/.retrain-state.json" || pdm_fail "the state forgot the trial"
# while it is on trial, no other candidate is trained (this scorer shadows nothing: hold)
"$B/pdm-retrain" "${R[@]}" --scorer "http://127.0.0.1:$port" --force --shadow-hours 24 --once \
  >"$T/shadow2.log" 2>&1 || pdm_fail "shadow run 2 failed: $(tail -20 "$T/shadow2.log")"
grep -q "^trial of $cand: shadow: 24.0 h required but the scorer reports no shadow model" "$T/shadow2.log" \
  && grep -q "^trigger: none: a candidate is on trial" "$T/shadow2.log" && ! grep -q "^exported" "$T/shadow2.log" \
  || pdm_fail "a trial in progress did not hold: $(cat "$T/shadow2.log")"
echo "4b. shadow period required: the candidate held and on trial as MODELS/shadow (tests/runtime/retrain_shadow.sh runs the trial)"

# ---- 5. rollback ---------------------------------------------------------------------------------
"$B/pdm-retrain" rollback --models "$M" --mlruns "$T/mlruns" >"$T/rollback.log" 2>&1 \
  || pdm_fail "rollback failed: $(cat "$T/rollback.log")"
grep -qx "rollback: current $V1 -> $V0" "$T/rollback.log" || pdm_fail "rollback: $(cat "$T/rollback.log")"
[ "$(link)" = "$V0" ] || pdm_fail "rollback did not restore $V0 (current: $(link))"
decisions "$T/mlruns" | tail -1 | grep -q ' rolled_back ' || pdm_fail "MLflow: the rollback is not recorded"
pdm_wait_until 30 serves "$V0" \
  || pdm_fail "the scorer did not reload $V0: $(tail -5 "$T/scorer.log")"
"$B/pdm-retrain" rollback --models "$M" nosuch >"$T/bad.log" 2>&1 && pdm_fail "rollback to a missing version succeeded"
grep -q 'not a model package' "$T/bad.log" || pdm_fail "rollback to a missing version: $(cat "$T/bad.log")"
[ "$(link)" = "$V0" ] || pdm_fail "a failed rollback moved current"
pdm_stop_check "$scorer" pdm-scorer "$T/scorer.log"
echo "5. rollback: $V1 -> $V0, the scorer reloaded it"
echo "retrain: ok"
