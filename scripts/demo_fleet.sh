# shellcheck shell=bash
# scripts/demo_fleet.sh: the demo's fleet and model, sourced by
# scripts/demo.sh and by the runtime test that checks the model's quality
# (tests/runtime/demo_model.sh), so that both run exactly the same commands.
#
#   demo_fleet_model BIN WORK MACHINES HOURS DIFFICULTY [SEED]
#
# simulates the fleet into WORK/data, trains and promotes a model into
# WORK/models (MLflow run in WORK/mlruns, pdm-train's output in
# WORK/train.log) and prints what the model reaches on its held-out period.

DEMO_MACHINES=20
DEMO_HOURS=4380
DEMO_SEED=42
DEMO_START=2015-01-01
DEMO_DIFFICULTY=realistic

demo_fleet_model() {
  local bin=$1 work=$2 machines=$3 hours=$4 difficulty=$5 seed=${6:-$DEMO_SEED}
  echo "== simulate a fleet: $machines machines x $hours hours ($difficulty, seed $seed)"
  "$bin/pdm-sim" --machines "$machines" --hours "$hours" --start "$DEMO_START" --seed "$seed" \
    --difficulty "$difficulty" --out "$work/data" || return 1
  echo "== train a model"
  "$bin/pdm-train" --data "$work/data" --mlruns "$work/mlruns" --promote "$work/models" \
    >"$work/train.log" 2>&1 || { tail -20 "$work/train.log" >&2; return 1; }
  demo_model_line "$work"
}

# demo_model_line WORK: the current model's held-out metrics, its report and
# its MLflow run, from the package's files.
demo_model_line() {
  /usr/bin/python3 - "$1" <<'PY'
import json, os, sys
work = sys.argv[1]
pkg = os.path.join(work, "models", os.readlink(os.path.join(work, "models", "current")))
meta = json.load(open(os.path.join(pkg, "model.json")))
m = json.load(open(os.path.join(pkg, "metrics.json")))["test"]
th = meta["thresholds"]
print(f"model {meta['version']}: trained on data before {meta['split']['cutoff'][:10]}, "
      f"tested on the held-out {meta['test']['from'][:10]} .. {meta['test']['to'][:10]}")
print(f"  held out: macro F1 {m['macro_f1']:.3f}   PR AUC {m['pr_auc']:.3f}   "
      f"ROC AUC {m['roc_auc']:.3f}   thresholds WARN {th['warn']:.3g}, CRITICAL {th['critical']:.3g}")
print(f"  per component F1: " + ", ".join(
    f"{c} {m['classes'][c]['f1']:.2f}" for c in meta["classes"][1:]))
print(f"  report: {os.path.join(pkg, 'report.html')}")
PY
}
