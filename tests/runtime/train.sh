#!/usr/bin/env bash
# train: pdm-train end to end on a small simulated fleet (20 machines x 4,000
# hours). Checks the package (files, metadata keys, version = directory name
# under --promote), metrics above chance, the feature dump (27 features +
# label, one row per telemetry row), the MLflow run and the report, the
# promotion rule (a weaker candidate is not promoted and `current` keeps
# pointing at the right version; an equal one is), and that bad input fails
# with a clear message and leaves no package, not even half of one.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
B=$PDM_BIN
py=/usr/bin/python3

"$B/pdm-sim" --machines 20 --hours 4000 --seed 3 --out "$T/data" 2>"$T/sim.log" \
  || pdm_fail "pdm-sim failed: $(cat "$T/sim.log")"

# ---- a first model, promoted into an empty models directory --------------
"$B/pdm-train" --data "$T/data" --out "$T/pkg" --rounds 40 --nthread 2 \
  --dump-features "$T/features.csv" --mlruns "$T/mlruns" --experiment pdm-test \
  --promote "$T/models" >"$T/train1.log" 2>&1 \
  || pdm_fail "pdm-train failed: $(tail -20 "$T/train1.log")"
for f in model.ubj model.json metrics.json promotion.json report.html; do
  [ -s "$T/pkg/$f" ] || pdm_fail "package lacks $f"
done
grep -q "timings (s): load .* features .* train .* evaluate .* write " "$T/train1.log" \
  || pdm_fail "no phase timings printed"
grep -q "PROMOTED: no current model" "$T/train1.log" || pdm_fail "first model not promoted"

$py - "$T" <<'PY' || pdm_fail "package or metrics check failed"
import json, os, sys
t = sys.argv[1]
meta = json.load(open(f"{t}/pkg/model.json"))
for key in ["version", "format", "feature_set", "features", "classes", "horizon_hours",
            "params", "thresholds", "predictor", "reference_histograms", "label_rule",
            "split", "train", "fit", "calibration", "test", "thresholds_source", "metrics"]:
    assert key in meta, f"model.json lacks {key}"
assert meta["feature_set"] == "v1"
assert len(meta["features"]) == 27
assert meta["classes"] == ["none", "comp1", "comp2", "comp3", "comp4"]
assert meta["horizon_hours"] == 24
assert len(meta["version"]) == 12
th = meta["thresholds"]
assert 0 <= th["warn"] <= th["critical"] <= 1, th
ref = meta["reference_histograms"]
assert set(ref["features"]) == set(meta["features"])
for h in list(ref["features"].values()) + [ref["risk"]]:
    assert len(h["edges"]) == 11 and len(h["shares"]) == 10
    assert abs(sum(h["shares"]) + h["missing"] - 1) < 1e-9, h
# the train/test split is by time: every training row precedes every test row
assert meta["train"]["to"] < meta["split"]["cutoff"] <= meta["test"]["from"]
assert meta["train"]["rows"] == meta["fit"]["rows"] + meta["calibration"]["rows"]

m = json.load(open(f"{t}/pkg/metrics.json"))["test"]
support = [m["classes"][c]["support"] for c in meta["classes"]]
n = sum(support)
assert n == meta["test"]["rows"] == m["rows"]
present = [s for s in support if s > 0]
# chance: predicting at random with the class shares (F1_k = share_k), or
# always "none"
prior = 1 / len(present)
majority = (2 * support[0] / n / (1 + support[0] / n)) / len(present)
chance = max(prior, majority)
assert m["macro_f1"] > chance + 0.05, (m["macro_f1"], chance)
rate = m["any_failure"]["positive_rate"]
assert m["pr_auc"] > 2 * rate, (m["pr_auc"], rate)
assert m["roc_auc"] > 0.6, m["roc_auc"]
conf = m["confusion"]
assert [sum(r) for r in conf] == support

# --dump-features: header + one row per telemetry row, 27 features + label
tel = sum(1 for _ in open(f"{t}/data/PdM_telemetry.csv")) - 1
with open(f"{t}/features.csv") as f:
    header = f.readline().rstrip("\n").split(",")
    rows = sum(1 for _ in f)
assert rows == tel, (rows, tel)
assert header[2:-1] == meta["features"] and header[-1] == "label", header

# the promoted package is MODELS_DIR/<version>, the same content as --out
v = meta["version"]
assert os.readlink(f"{t}/models/current") == v
assert json.load(open(f"{t}/models/{v}/model.json"))["version"] == v
p = json.load(open(f"{t}/pkg/promotion.json"))
assert p["promoted"] is True and p["current"] is None and p["candidate"] == v

# MLflow run with params, metrics and the package as artifacts
exps = [e for e in os.listdir(f"{t}/mlruns") if os.path.isfile(f"{t}/mlruns/{e}/meta.yaml")]
runs = [f"{t}/mlruns/{e}/{r}" for e in exps for r in os.listdir(f"{t}/mlruns/{e}")
        if os.path.isdir(f"{t}/mlruns/{e}/{r}/metrics")]
assert len(runs) == 1, runs
run = runs[0]
assert open(f"{run}/params/rounds").read() == "40"
assert float(open(f"{run}/metrics/macro_f1").read().split()[1]) == m["macro_f1"] or \
    abs(float(open(f"{run}/metrics/macro_f1").read().split()[1]) - m["macro_f1"]) < 1e-12
assert os.path.isfile(f"{run}/artifacts/model/model.json")
assert open(f"{run}/tags/pdm.model_version").read() == v
PY
first=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$T/pkg/model.json")

# ---- a weaker candidate (3 rounds) is evaluated on the same test rows and
#      not promoted; `current` still names the first version -----------------
"$B/pdm-train" --data "$T/data" --rounds 3 --nthread 2 --promote "$T/models" \
  >"$T/train2.log" 2>&1 || pdm_fail "second pdm-train failed: $(tail -20 "$T/train2.log")"
grep -q "NOT PROMOTED" "$T/train2.log" || pdm_fail "the 3-round model was promoted: $(grep promotion "$T/train2.log")"
[ "$(readlink "$T/models/current")" = "$first" ] || pdm_fail "current moved to $(readlink "$T/models/current")"
second=$(ls "$T/models" | grep -v -e current -e "^$first\$")
[ "$(echo "$second" | wc -w)" = 1 ] || pdm_fail "expected one more version dir, got: $second"
$py - "$T/models/$second/promotion.json" "$first" <<'PY' || pdm_fail "promotion.json of the weaker model is wrong"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["promoted"] is False and p["current"] == sys.argv[2], p
c, cur = p["candidate_metrics"], p["current_metrics"]
assert c["macro_f1"] < cur["macro_f1"] or c["pr_auc"] < cur["pr_auc"], p
PY

# ---- the same training again is not worse: promoted, same version ---------
"$B/pdm-train" --data "$T/data" --rounds 40 --nthread 2 --promote "$T/models" \
  >"$T/train3.log" 2>&1 || pdm_fail "third pdm-train failed: $(tail -20 "$T/train3.log")"
grep -q "PROMOTED: macro F1" "$T/train3.log" || pdm_fail "an equal model was not promoted: $(grep promotion "$T/train3.log")"
[ "$(readlink "$T/models/current")" = "$first" ] || pdm_fail "retraining changed the version"

# ---- bad input fails clearly and writes nothing ------------------------------
if "$B/pdm-train" --data "$T/no-such-dir" --out "$T/bad1" >"$T/bad1.log" 2>&1; then
  pdm_fail "pdm-train accepted a missing --data directory"
fi
grep -q "no-such-dir" "$T/bad1.log" || pdm_fail "unclear message: $(cat "$T/bad1.log")"

mkdir "$T/broken"
cp "$T/data"/*.csv "$T/broken/"
echo "2015-03-01 10:00:00,3,abc,1,2,3" >>"$T/broken/PdM_telemetry.csv"
if "$B/pdm-train" --data "$T/broken" --out "$T/bad2" --promote "$T/models" >"$T/bad2.log" 2>&1; then
  pdm_fail "pdm-train accepted a malformed telemetry row"
fi
grep -q "PdM_telemetry.csv:[0-9]*:" "$T/bad2.log" || pdm_fail "no file:line in: $(cat "$T/bad2.log")"
[ ! -e "$T/bad1" ] && [ ! -e "$T/bad2" ] || pdm_fail "a failed run left a package"
[ -z "$(ls -A "$T" | grep '^\.')" ] || pdm_fail "temporary directories left in $T: $(ls -A "$T")"
[ -z "$(ls -A "$T/models" | grep '^\.')" ] || pdm_fail "temporary entries left in models: $(ls -A "$T/models")"
[ "$(readlink "$T/models/current")" = "$first" ] || pdm_fail "a failed run moved current"

# the same data with --skip-bad-rows trains
"$B/pdm-train" --data "$T/broken" --out "$T/skipped" --rounds 5 --skip-bad-rows \
  >"$T/skip.log" 2>&1 || pdm_fail "--skip-bad-rows failed: $(tail -5 "$T/skip.log")"
[ -s "$T/skipped/model.json" ] || pdm_fail "no package with --skip-bad-rows"

# usage errors exit 2
set +e
"$B/pdm-train" --data "$T/data" >/dev/null 2>&1
[ $? -eq 2 ] || pdm_fail "missing --out/--promote is not a usage error"
"$B/pdm-train" --data "$T/data" --out "$T/x" --rounds many >/dev/null 2>&1
[ $? -eq 2 ] || pdm_fail "a bad --rounds is not a usage error"
set -e
echo "train: ok"
