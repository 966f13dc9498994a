#!/usr/bin/env bash
# native_predictor: the native tree evaluator end to end. pdm-train checks it
# against XGBoost and records the check in model.json; pdm-predict scores a
# feature dump with each predictor and the outputs are the same bytes (risk
# printed with 17 digits); a package trained with --predictor xgboost
# records that; a bad --predictor value is a usage error.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
B=$PDM_BIN
py=/usr/bin/python3

"$B/pdm-sim" --machines 10 --hours 3000 --seed 5 --out "$T/data" 2>"$T/sim.log" \
  || pdm_fail "pdm-sim failed: $(cat "$T/sim.log")"
"$B/pdm-train" --data "$T/data" --out "$T/native" --rounds 30 --nthread 1 \
  --dump-features "$T/features.csv" >"$T/train.log" 2>&1 \
  || pdm_fail "pdm-train failed: $(tail -20 "$T/train.log")"
grep -q "^predictor: native (checked against xgboost on [0-9]* rows: max |diff| 0," "$T/train.log" \
  || pdm_fail "no native predictor line: $(grep -i predictor "$T/train.log")"

"$B/pdm-train" --data "$T/data" --out "$T/xgb" --rounds 30 --nthread 1 --predictor xgboost \
  >"$T/train2.log" 2>&1 || pdm_fail "pdm-train --predictor xgboost failed"
grep -q "^predictor: xgboost$" "$T/train2.log" || pdm_fail "no xgboost predictor line"

$py - "$T" <<'PY' || pdm_fail "model.json predictor records are wrong"
import json, sys
t = sys.argv[1]
p = json.load(open(f"{t}/native/model.json"))["predictor"]
assert p["evaluated_with"] == "native", p
c = p["native_check"]
assert c["passed"] is True and c["rows"] > 1000 and c["max_abs_diff"] == 0, c
assert c["identical"] == c["values"] == 5 * c["rows"], c
q = json.load(open(f"{t}/xgb/model.json"))["predictor"]
assert q["evaluated_with"] == "xgboost" and "native_check" not in q, q
# the same training gives the same test metrics with either predictor
a = json.load(open(f"{t}/native/metrics.json"))["test"]
b = json.load(open(f"{t}/xgb/metrics.json"))["test"]
assert a == b, "test metrics differ between predictors"
PY

"$B/pdm-predict" --model "$T/native" --features "$T/features.csv" >"$T/native.csv" \
  2>"$T/predict.err" || pdm_fail "pdm-predict failed: $(cat "$T/predict.err")"
[ ! -s "$T/predict.err" ] || pdm_fail "pdm-predict warned: $(cat "$T/predict.err")"
"$B/pdm-predict" --model "$T/native" --features "$T/features.csv" --predictor xgboost \
  >"$T/xgb.csv" || pdm_fail "pdm-predict --predictor xgboost failed"
rows=$(($(wc -l <"$T/features.csv") - 1))
[ "$(($(wc -l <"$T/native.csv") - 1))" -eq "$rows" ] || pdm_fail "pdm-predict lost rows"
cmp -s "$T/native.csv" "$T/xgb.csv" || pdm_fail "native and xgboost scores differ: \
$(diff "$T/native.csv" "$T/xgb.csv" | head -5)"

# Per-component probabilities next to the risk: comp1..comp4 are the
# probabilities of each component failing first, so they add up to the risk
# (1 - P(none)); the level follows the package's thresholds.
/usr/bin/python3 - "$T/native.csv" "$T/native/model.json" <<'PY' || pdm_fail "pdm-predict's component columns are wrong"
import csv, json, sys
th = json.load(open(sys.argv[2]))["thresholds"]
rows = list(csv.DictReader(open(sys.argv[1])))
assert list(rows[0].keys()) == ["machineID", "datetime", "risk", "comp1", "comp2", "comp3", "comp4",
                                "level"], list(rows[0].keys())
top = set()
for r in rows:
    risk, comps = float(r["risk"]), [float(r[f"comp{k}"]) for k in range(1, 5)]
    assert all(0 <= c <= 1 for c in comps), r
    assert abs(sum(comps) - risk) < 1e-6, r  # sums of float32 probabilities
    want = "CRITICAL" if risk >= th["critical"] else "WARN" if risk >= th["warn"] else "OK"
    assert r["level"] == want, (r, th)
    if risk >= th["warn"]:
        top.add(max(range(4), key=lambda k: comps[k]))
assert len(top) >= 2, f"the alerting rows name only components {top}"
PY

set +e
"$B/pdm-predict" --model "$T/native" --features "$T/features.csv" --predictor fast \
  >/dev/null 2>"$T/bad.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || pdm_fail "bad --predictor exited $rc, not 2"
grep -q "not native or xgboost" "$T/bad.err" || pdm_fail "bad --predictor message: $(cat "$T/bad.err")"
echo "native_predictor: $rows rows scored identically by both predictors"
