#!/usr/bin/env bash
# scorer_shadow: pdm-scorer --shadow-model on one replay, three scorers side
# by side (own consumer group, own Redis database):
#   base    --model A                      -> risk.base
#   trial   --model A --shadow-model B     -> risk.main, shadow -> risk.shadow
#   bonly   --model B                      -> risk.bonly
# Asserted, per --emit mode (incidents, the default, and changes):
#   - risk.main carries exactly risk.base's RiskEvents (the shadow changes
#     nothing of the main output) and nothing of model B;
#   - risk.shadow carries exactly risk.bonly's RiskEvents (its own emission
#     state decides as B would as the main model on a fresh Redis), each
#     with model_version B; with --shadow-reasons (incidents) their
#     top_reasons too, without it (changes) none;
#   - GET /v1/models names A current and B shadow, with event hours and rows
#     as replayed, alerts equal to the rows each model scores WARN or above
#     (pdm-predict on the trial's feature dump), the fleet's failures, and
#     figures agreeing with the pdm_trial_* metrics labelled by version; the
#     shadow's event counts agree with risk.shadow;
#   - POST /v1/admin/reload with B's `current` link moved to A makes the
#     shadow A (its figures restart); a scorer without --shadow-model
#     answers /v1/models with "shadow": null and has no pdm_trial_ metric.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
PY=/usr/bin/python3

pdm_start_redis
topics=pdm.events
for m in incidents changes; do
  topics="$topics,$m.base,$m.main,$m.shadow,$m.bonly"
done
pdm_start_broker 4 --topic "$topics"

sl_sim "$T/data" 6 2000 11
sl_train "$T/data" "$T/trainA.log" --out "$T/A" --rounds 10
sl_train "$T/data" "$T/trainB.log" --out "$T/models/B1" --rounds 25 --max-depth 3
ln -s B1 "$T/models/current"
VA=$(sl_version "$T/A")
VB=$(sl_version "$T/models/B1")
[ "$VA" != "$VB" ] || pdm_fail "the two models have one version"
sl_replay "$T/data" pdm.events
telemetry=$(($(wc -l <"$T/data/PdM_telemetry.csv") - 1))

# get URL-PATH PORT: prints the body (fails on a status other than 200).
get() {
  $PY - "http://127.0.0.1:$2$1" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], method="POST" if sys.argv[1].endswith("/reload") else "GET")
with urllib.request.urlopen(req, timeout=30) as r:
    assert r.status == 200, r.status
    print(r.read().decode())
PY
}

db=0
for mode in incidents changes; do
  common=(--topics pdm.events --emit "$mode" --silence-after 0)
  reasons=()
  [ "$mode" = incidents ] && reasons=(--shadow-reasons)
  sl_scorer "$T/$mode.base.log" --redis "$PDM_REDIS_URL/$db" --model "$T/A" --group "$mode-base" \
    --risk-topic "$mode.base" --exit-at-end --http 127.0.0.1:0 "${common[@]}"
  pid_base=$SL_PID
  sl_scorer "$T/$mode.bonly.log" --redis "$PDM_REDIS_URL/$((db + 1))" --model "$T/models/B1" \
    --group "$mode-bonly" --risk-topic "$mode.bonly" --exit-at-end "${common[@]}"
  pid_bonly=$SL_PID
  sl_scorer "$T/$mode.trial.log" --redis "$PDM_REDIS_URL/$((db + 2))" --model "$T/A" \
    --shadow-model "$T/models" --shadow-topic "$mode.shadow" --group "$mode-trial" \
    --risk-topic "$mode.main" --http 127.0.0.1:0 --dump-features "$T/$mode.dump.csv" "${common[@]}" \
    "${reasons[@]}"
  pid_trial=$SL_PID
  db=$((db + 3))

  # Without --shadow-model: "shadow": null, no trial metrics (asked while it runs).
  sl_wait_log "$T/$mode.base.log" "http listening on port" 1 20
  port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/$mode.base.log" | head -1)
  base_models=$(get /v1/models "$port" 2>/dev/null || true)
  base_metrics=$(get /metrics "$port" 2>/dev/null || true)
  sl_wait_exit "$pid_base" "$T/$mode.base.log"
  sl_wait_exit "$pid_bonly" "$T/$mode.bonly.log"
  if [ -n "$base_models" ]; then # the base run may end before it is asked
    $PY -c 'import json,sys; o=json.loads(sys.argv[1]); assert o["shadow"] is None and o["current"]["version"] == sys.argv[2], o' \
      "$base_models" "$VA" || pdm_fail "$mode: /v1/models without a shadow is wrong: $base_models"
    ! grep -q '^pdm_trial_' <<<"$base_metrics" || pdm_fail "$mode: trial metrics without a shadow"
  fi

  sl_wait_rows "$T/$mode.dump.csv" "$telemetry" 120
  port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/$mode.trial.log" | head -1)
  # the last batch's output is produced once its rows are dumped: let it go
  sleep 1
  get /v1/models "$port" >"$T/$mode.models.json" || pdm_fail "$mode: GET /v1/models failed"
  get /metrics "$port" >"$T/$mode.metrics.txt" || pdm_fail "$mode: GET /metrics failed"
  for t in base main shadow bonly; do
    sl_tail "$mode.$t" "$T/$mode.$t.jsonl"
  done
  "$PDM_BIN/pdm-predict" --model "$T/A" --features "$T/$mode.dump.csv" >"$T/$mode.predA.csv" \
    || pdm_fail "pdm-predict A failed"
  "$PDM_BIN/pdm-predict" --model "$T/models/B1" --features "$T/$mode.dump.csv" >"$T/$mode.predB.csv" \
    || pdm_fail "pdm-predict B failed"

  $PY - "$T" "$mode" "$VA" "$VB" "$telemetry" "${#reasons[@]}" <<'PY' || pdm_fail "$mode: shadow scoring is wrong"
import calendar, csv, json, re, sys, time
t, mode, va, vb, telemetry = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
with_reasons = sys.argv[6] == "1"

def events(name):
    out = []
    for line in open(f"{t}/{mode}.{name}.jsonl"):
        e = json.loads(line)["event"]
        e.pop("scored_at", None)
        out.append(e)
    return out

def key(e):
    return (e["event_id"], e.get("machine_id"), e.get("ts"))

base, main, shadow, bonly = (events(n) for n in ("base", "main", "shadow", "bonly"))
assert base, "no RiskEvent at all: the test data exercise nothing"
assert shadow, "the shadow produced nothing"
assert sorted(main, key=key) == sorted(base, key=key), \
    f"main topic differs from the run without shadow ({len(main)} vs {len(base)} events)"
assert all(e["model_version"] == va for e in main), "a non-current event on the main topic"
assert all(e["model_version"] == vb for e in shadow), "a shadow event without the shadow's version"
if not with_reasons:
    assert not any(e["top_reasons"] for e in shadow), "shadow reasons without --shadow-reasons"
    assert any(e["top_reasons"] for e in bonly), "the B run has no reasons: nothing compared"
    for e in bonly:
        e["top_reasons"] = []
assert sorted(shadow, key=key) == sorted(bonly, key=key), \
    f"shadow topic differs from B as the main model ({len(shadow)} vs {len(bonly)} events): " \
    f"{[e for e in shadow if e not in bonly][:2]} / {[e for e in bonly if e not in shadow][:2]}"

o = json.load(open(f"{t}/{mode}.models.json"))
cur, sh = o["current"], o["shadow"]
assert cur["version"] == va and sh["version"] == vb, o
assert sh["topic"] == f"{mode}.shadow", sh
assert sh["rows"] == telemetry, (sh["rows"], telemetry)
rows = list(csv.DictReader(open(f"{t}/{mode}.dump.csv")))
first, last = rows[0]["datetime"], rows[-1]["datetime"]
hours = sh["hours"]
assert hours is not None and 1900 < hours <= 2000, hours
assert sh["since_wall_time"] and sh["since_event_time"], sh
for name, model, pred in (("current", cur, "predA"), ("shadow", sh, "predB")):
    levels = [r["level"] for r in csv.DictReader(open(f"{t}/{mode}.{pred}.csv"))]
    alerts = sum(1 for l in levels if l != "OK")
    p = model["performance"]
    assert p["alerts"] == alerts, (name, p["alerts"], alerts)
    failures = sum(1 for _ in open(f"{t}/data/PdM_failures.csv")) - 1
    assert p["failures"] == failures, (name, p["failures"], failures)
    a = p["all"]
    assert a["tp"] + a["fp"] + p["pending"] == alerts, (name, a, p["pending"], alerts)
    assert a["caught"] + a["missed"] <= failures, (name, a)
    # lead times, offline: each failure caught by an alert in the horizon
    # before it, from the earliest such alert (pdm_perf's rule)
    H = p["horizon_hours"] * 3600
    ts = lambda x: calendar.timegm(time.strptime(x[:19], "%Y-%m-%d %H:%M:%S"))
    alert_times = {}
    for r in csv.DictReader(open(f"{t}/{mode}.{pred}.csv")):
        if r["level"] != "OK":
            alert_times.setdefault(int(r["machineID"]), []).append(ts(r["datetime"]))
    fails = {(int(r["machineID"]), ts(r["datetime"])) for r in csv.DictReader(open(f"{t}/data/PdM_failures.csv"))}
    leads = sorted((f - min(x for x in alert_times.get(m, []) if f - H <= x < f)) / 3600
                   for m, f in fails if any(f - H <= x < f for x in alert_times.get(m, [])))
    lt = p["lead_time_hours"]
    assert lt["caught"] == len(leads) == a["caught"], (name, lt, len(leads), a)
    if leads:
        assert abs(lt["mean"] - sum(leads) / len(leads)) < 1e-6, (name, lt, leads)
        assert lt["median"] == int(leads[(len(leads) - 1) // 2]), (name, lt, leads)
levels = {"ok": 0, "warn": 0, "critical": 0}
for e in shadow:
    levels[e["level"].lower()] += 1
assert sh["risk_events"] == levels, (sh["risk_events"], levels)

metrics = {}
for line in open(f"{t}/{mode}.metrics.txt"):
    m = re.match(r'^(pdm_trial_\w+|pdm_shadow_risk_events)\{(.*)\} (\S+)$', line)
    if m:
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        metrics[(m.group(1), labels.get("role"), labels.get("version"), labels.get("level"))] = float(m.group(3))
for role, model in (("current", cur), ("shadow", sh)):
    v = model["version"]
    p = model["performance"]
    assert metrics[("pdm_trial_alerts", role, v, None)] == p["alerts"], (role, metrics)
    assert metrics[("pdm_trial_failures_caught", role, v, None)] == p["all"]["caught"], role
    prec = metrics[("pdm_trial_precision", role, v, None)]
    assert (p["all"]["precision"] is None and prec != prec) or abs(prec - p["all"]["precision"]) < 1e-9, role
    lead = metrics[("pdm_trial_lead_time_hours", role, v, None)]
    med = p["lead_time_hours"]["median"]
    assert (med is None and lead != lead) or lead == med, (role, lead, med)
for lvl, n in levels.items():
    assert metrics[("pdm_shadow_risk_events", None, vb, lvl)] == n, (lvl, metrics)
print(f"{mode}: {len(main)} main events (= without shadow), {len(shadow)} shadow events (= B alone); "
      f"current {va} precision {cur['performance']['all']['precision']} recall {cur['performance']['all']['recall']} "
      f"median lead time {cur['performance']['lead_time_hours']['median']} h, "
      f"shadow {vb} precision {sh['performance']['all']['precision']} recall {sh['performance']['all']['recall']} "
      f"median lead time {sh['performance']['lead_time_hours']['median']} h")
PY

  if [ "$mode" = changes ]; then
    # Hot reload of the shadow: its link moves to A; an admin reload installs
    # it as the shadow and its figures restart.
    ln -s "$T/A" "$T/models/A"
    ln -sfn A "$T/models/current.new" && mv -T "$T/models/current.new" "$T/models/current"
    get /v1/admin/reload "$port" >/dev/null || pdm_fail "reload failed"
    sl_wait_log "$T/$mode.trial.log" "model $VA loaded from" 2 20
    $PY - "$(get /v1/models "$port")" "$VA" <<'PY' || pdm_fail "the shadow did not reload"
import json, sys
o = json.loads(sys.argv[1])
assert o["shadow"]["version"] == sys.argv[2], o["shadow"]
assert o["shadow"]["rows"] == 0 and o["shadow"]["performance"]["alerts"] == 0, o["shadow"]
PY
  fi
  pdm_stop_check "$pid_trial" "pdm-scorer (trial)" "$T/$mode.trial.log"
done
echo "scorer_shadow: ok"
