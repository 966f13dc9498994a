#!/usr/bin/env bash
# ops_grafana: the Grafana kit in ops/grafana/ is consistent. The dashboard
# JSON parses; every panel has queries on the provisioned datasource (same
# uid), in a 24-column grid with unique ids; every query names only metrics
# the scorer exports, with their own labels (tests/runtime/ops_lib.sh), and
# promtool parses it; the panels the design asks for are there (throughput,
# latency p50/p99, lag per partition, risk by machine, PSI with 0.1/0.25
# thresholds, precision/recall, DLQ and bad messages by reason, Redis p99,
# model version); provisioning points at the folder docker-compose.yml
# mounts, and the datasource at the compose Prometheus.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/ops_lib.sh"
pdm_tmpdir >/dev/null
ops_require promtool
T=$PDM_TMP

"$OPS_PY" - "$PDM_SOURCE_DIR" "$T/queries.json" <<'PY' || pdm_fail "dashboard or provisioning check failed"
import json, re, sys, yaml
root, out = sys.argv[1], sys.argv[2]
g = f"{root}/ops/grafana"
dash = json.load(open(f"{g}/dashboards/pdm.json"))
ds = yaml.safe_load(open(f"{g}/provisioning/datasources/prometheus.yml"))
prov = yaml.safe_load(open(f"{g}/provisioning/dashboards/dashboards.yml"))
compose = yaml.safe_load(open(f"{root}/docker-compose.yml"))
errs = []

sources = ds["datasources"]
assert len(sources) == 1, sources
uid = sources[0]["uid"]
if sources[0]["type"] != "prometheus":
    errs.append(f"datasource type {sources[0]['type']}")
m = re.fullmatch(r"http://([a-z0-9\-]+):(\d+)", sources[0]["url"])
if not m or m.group(1) not in compose["services"] or "prometheus" not in compose["services"][m.group(1)]["image"]:
    errs.append(f"datasource url {sources[0]['url']} is not the compose Prometheus service")

# Provisioning reads the folder compose mounts the JSON into, and the
# provisioning folder is mounted where Grafana looks for it.
mounts = {}
for v in compose["services"]["grafana"]["volumes"]:
    parts = v.split(":")
    if parts[0].startswith("./"):
        mounts[parts[1]] = parts[0]
path = prov["providers"][0]["options"]["path"]
if mounts.get(path) != "./ops/grafana/dashboards":
    errs.append(f"dashboards provider path {path} is not where compose mounts ops/grafana/dashboards ({mounts})")
if mounts.get("/etc/grafana/provisioning") != "./ops/grafana/provisioning":
    errs.append(f"ops/grafana/provisioning is not mounted at /etc/grafana/provisioning ({mounts})")
home = compose["services"]["grafana"]["environment"].get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
if home != f"{path}/pdm.json":
    errs.append(f"home dashboard {home} is not {path}/pdm.json")

panels = []
def walk(ps):
    for p in ps:
        panels.append(p)
        walk(p.get("panels", []))
walk(dash["panels"])
ids = [p["id"] for p in panels]
if len(ids) != len(set(ids)):
    errs.append(f"duplicate panel ids {ids}")
queries = []
for p in panels:
    gp = p["gridPos"]
    if gp["x"] < 0 or gp["w"] < 1 or gp["x"] + gp["w"] > 24 or gp["h"] < 1:
        errs.append(f"panel {p['title']!r}: gridPos {gp} outside the 24-column grid")
    if p["type"] == "row":
        continue
    if p.get("datasource", {}).get("uid") != uid:
        errs.append(f"panel {p['title']!r}: datasource {p.get('datasource')} is not uid {uid}")
    targets = p.get("targets", [])
    if not targets:
        errs.append(f"panel {p['title']!r} has no query")
    refs = [t["refId"] for t in targets]
    if len(refs) != len(set(refs)):
        errs.append(f"panel {p['title']!r}: duplicate refIds {refs}")
    for t in targets:
        if t.get("datasource", {}).get("uid", uid) != uid:
            errs.append(f"panel {p['title']!r} query {t['refId']}: datasource {t['datasource']}")
        if not t.get("expr"):
            errs.append(f"panel {p['title']!r} query {t['refId']} has no expr")
            continue
        queries.append({"where": f"panel {p['title']!r} {t['refId']}", "expr": t["expr"],
                        "legend": t.get("legendFormat", "")})
for v in dash.get("templating", {}).get("list", []):
    q = v.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    m = re.fullmatch(r"label_values\((.*),\s*([A-Za-z_]+)\)", q or "")
    if not m:
        errs.append(f"variable {v['name']}: query {q!r} is not label_values(metric, label)")
    else:
        queries.append({"where": f"variable {v['name']}", "expr": m.group(1), "legend": "{{%s}}" % m.group(2)})

# What the dashboard must show: (description, metric, extra pattern).
exprs = [q["expr"] for q in queries]
def shows(pattern):
    return any(re.search(pattern, e) for e in exprs)
need = {
    "consumed events by type": r"sum by \(type\) \(rate\(pdm_events_consumed_total",
    "rows scored": r"rate\(pdm_rows_scored_total",
    "latency p50": r"histogram_quantile\(0\.5, .*pdm_processing_latency_seconds_bucket",
    "latency p99": r"histogram_quantile\(0\.99, .*pdm_processing_latency_seconds_bucket",
    "lag per partition": r"by \((topic, partition|partition, topic)\) \(pdm_consumer_lag_messages",
    "risk by machine": r"by \(machine_id\) \(pdm_machine_risk",
    "PSI per feature": r"by \(feature\) \(pdm_feature_psi",
    "alert precision": r"pdm_alert_precision",
    "alert recall": r"pdm_alert_recall",
    "DLQ": r"pdm_dlq_messages_total",
    "bad messages by reason": r"by \(reason\) \(rate\(pdm_bad_messages_total",
    "Redis round trip p99": r"histogram_quantile\(0\.99, .*pdm_redis_roundtrip_seconds_bucket",
    "model version": r"pdm_model_info",
}
for what, pattern in need.items():
    if not shows(pattern):
        errs.append(f"no panel shows {what} ({pattern})")
psi = [p for p in panels if any("pdm_feature_psi" in t.get("expr", "") for t in p.get("targets", []))]
for p in psi:
    steps = p["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
    values = sorted(s["value"] for s in steps if s.get("value") is not None)
    if values != [0.1, 0.25]:
        errs.append(f"PSI panel {p['title']!r}: thresholds {values}, want [0.1, 0.25]")
    mode = p["fieldConfig"]["defaults"].get("custom", {}).get("thresholdsStyle", {}).get("mode", "off")
    if mode == "off":
        errs.append(f"PSI panel {p['title']!r}: thresholds are not drawn")
version = [t for p in panels for t in p.get("targets", []) if "pdm_model_info" in t.get("expr", "")]
if not any("{{version}}" in t.get("legendFormat", "") for t in version):
    errs.append("the model version panel does not show the version label")

json.dump(queries, open(out, "w"))
for e in errs:
    print(e)
print(f"{len(panels)} panels, {len(queries)} queries, {len(errs)} problems")
sys.exit(1 if errs else 0)
PY
ops_promql_check "$T/queries.json"
echo "ops_grafana: ok"
