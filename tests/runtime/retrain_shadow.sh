#!/usr/bin/env bash
# retrain_shadow: the shadow period of pdm-retrain --shadow-hours against a
# real pdm-scorer --shadow-model MODELS/shadow. Two models of one fleet: G
# (30 rounds) and W (1 round of depth 1: it alerts on nearly every failure
# but with many more false alarms, so its precision is well below G's). A candidate on
# trial is what pdm-retrain leaves after a held training (tests/runtime/
# retrain.sh checks that part): MODELS/shadow names it and the state file
# remembers it.
# 1. W current, served with --warn/--critical overrides so high that it
#    hardly alerts (the overrides are the main model's only), G on trial;
#    the scorer replays the fleet: with more hours
#    required than the scorer has shadowed, pdm-retrain holds (current and
#    trial unchanged); with fewer, G's live figures are not below W's:
#    promoted (current -> G), recorded, and the scorer reloads G as its
#    main model by itself.
# 2. G current, W on trial, a second scorer from the start: W's figures are
#    below G's after the period: rejected, current stays G, the trial ends.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
M=$T/models
PY=/usr/bin/python3

pdm_start_redis
pdm_start_broker 4 --topic pdm.events,risk.1,shadow.1,risk.2,shadow.2

"$PDM_BIN/pdm-sim" --machines 10 --hours 3000 --seed 5 --out "$T/data" 2>"$T/sim.log" \
  || pdm_fail "pdm-sim failed: $(cat "$T/sim.log")"
mkdir -p "$M" "$T/arc"
sl_train "$T/data" "$T/trainG.log" --out "$T/G" --rounds 30
sl_train "$T/data" "$T/trainW.log" --out "$T/W" --rounds 1 --max-depth 1
VG=$(sl_version "$T/G")
VW=$(sl_version "$T/W")
mv "$T/G" "$M/$VG"
mv "$T/W" "$M/$VW"
sl_replay "$T/data" pdm.events
telemetry=$(($(wc -l <"$T/data/PdM_telemetry.csv") - 1))

# trial CURRENT CANDIDATE: the models directory and state as a held training leaves them.
trial() {
  ln -sfn "$1" "$M/current"
  ln -sfn "$2" "$M/shadow"
  printf '{"last_decision": "on_trial", "previous_version": "", "shadow_candidate": "%s"}\n' "$2" \
    >"$M/.retrain-state.json"
}
get() {
  $PY -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode())' \
    "http://127.0.0.1:$port$1"
}
retrain() { # retrain LOG HOURS
  "$PDM_BIN/pdm-retrain" --models "$M" --archive "$T/arc" --mlruns "$T/mlruns" --work "$T" \
    --scorer "http://127.0.0.1:$port" --shadow-hours "$2" --once >"$1" 2>&1 \
    || pdm_fail "pdm-retrain failed: $(tail -20 "$1")"
}
scorer() { # scorer N [ARGS...]: on the models directory, shadowing MODELS/shadow
  local n=$1
  shift
  sl_scorer "$T/scorer$n.log" "$@" --redis "$PDM_REDIS_URL/$n" --model "$M" --shadow-model "$M/shadow" \
    --shadow-topic "shadow.$n" --risk-topic "risk.$n" --group "trial-$n" --topics pdm.events \
    --emit changes --http 127.0.0.1:0 --dump-features "$T/dump$n.csv"
  sl_wait_log "$T/scorer$n.log" "http listening on port" 1 20
  port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/scorer$n.log" | head -1)
  sl_wait_rows "$T/dump$n.csv" "$telemetry" 120
  sleep 1 # the last batch's figures
}
figures() { # figures JSON: "hours shadow_recall current_recall shadow_precision current_precision"
  $PY -c 'import json,sys; o=json.loads(sys.argv[1]); s=o["shadow"]; c=o["current"]
f=lambda m,k: m["performance"]["all"][k]
print(int(s["hours"]), f(s,"recall"), f(c,"recall"), f(s,"precision"), f(c,"precision"))' "$1"
}

# ---- 1. G on trial against W: hold, then promote --------------------------------------------------
trial "$VW" "$VG"
scorer 1 --warn 0.999 --critical 0.9999
pid1=$SL_PID
read -r hours srec crec sprec cprec < <(figures "$(get /v1/models)")
echo "trial 1: $hours h; shadow $VG recall $srec precision $sprec; current $VW (thresholds 0.999) recall $crec precision $cprec"
$PY -c 'import sys; s, c = float(sys.argv[1]), float(sys.argv[2]); assert s > 0.5 and s > c, (s, c)' "$srec" "$crec" \
  || pdm_fail "the shadow does not beat the current on recall"
[ "$hours" -gt 1000 ] || pdm_fail "only $hours h shadowed"
retrain "$T/hold.log" 100000
grep -q "^trial of $VG: shadow: $hours\.[0-9] h of 100000.0 h required: hold" "$T/hold.log" \
  || pdm_fail "not held: $(cat "$T/hold.log")"
[ "$(readlink "$M/current")" = "$VW" ] || pdm_fail "a held trial moved current"
grep -q "\"shadow_candidate\":[[:space:]]*\"$VG\"" "$M/.retrain-state.json" || pdm_fail "the trial was forgotten"
retrain "$T/promote.log" 1000
grep -q "^decision: promoted after its shadow period: candidate $VG, current $VW -> $VG" "$T/promote.log" \
  || pdm_fail "not promoted: $(cat "$T/promote.log")"
[ "$(readlink "$M/current")" = "$VG" ] || pdm_fail "current is not $VG"
grep -q "\"shadow_candidate\":[[:space:]]*\"\"" "$M/.retrain-state.json" || pdm_fail "the trial did not end"
grep -q "\"previous_version\":[[:space:]]*\"$VW\"" "$M/.retrain-state.json" || pdm_fail "no rollback target"
grep -rqx "promoted" "$T/mlruns"/*/*/tags/pdm.retrain.decision || pdm_fail "promotion not recorded"
_main_is_g() { get /v1/model | grep -q "\"version\":[[:space:]]*\"$VG\""; }
pdm_wait_until 20 _main_is_g || pdm_fail "the scorer did not reload $VG"
pdm_stop_check "$pid1" "pdm-scorer 1" "$T/scorer1.log"
echo "1. $VG on trial: held while short, promoted after the period, reloaded by the scorer"

# ---- 2. W on trial against G: rejected ----------------------------------------------------------
trial "$VG" "$VW"
scorer 2
pid2=$SL_PID
read -r hours srec crec sprec cprec < <(figures "$(get /v1/models)")
echo "trial 2: $hours h; shadow $VW recall $srec precision $sprec; current $VG recall $crec precision $cprec"
$PY -c 'import sys; s, c = float(sys.argv[1]), float(sys.argv[2]); assert s < c, (s, c)' "$sprec" "$cprec" \
  || pdm_fail "the shadow is not below the current on precision"
retrain "$T/reject.log" 1000
grep -q "^decision: rejected after its shadow period: candidate $VW, current $VG -> $VG" "$T/reject.log" \
  || pdm_fail "not rejected: $(cat "$T/reject.log")"
[ "$(readlink "$M/current")" = "$VG" ] || pdm_fail "a rejected candidate moved current"
grep -q "\"shadow_candidate\":[[:space:]]*\"\"" "$M/.retrain-state.json" || pdm_fail "the rejected trial did not end"
pdm_stop_check "$pid2" "pdm-scorer 2" "$T/scorer2.log"
echo "2. $VW on trial: worse over the period, rejected"
echo "retrain_shadow: ok"
