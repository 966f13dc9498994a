#!/usr/bin/env bash
# ops_prometheus: the Prometheus kit in ops/prometheus/ is valid and does what
# the runbook says. promtool accepts the scrape config (as docker-compose
# mounts it: prometheus.yml and rules.yml in one directory) and the rules;
# the rule unit tests pass (rules_test.yml), and fail when a rule is changed
# (PSI's `for: 30m` made 29m), so they test something; every alert has a
# severity, summary, description and a runbook_url whose anchor is a section
# of ops/RUNBOOK.md, and a unit test; every metric and label the rules use is
# one the scorer exports (tests/runtime/ops_lib.sh).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/ops_lib.sh"
pdm_tmpdir >/dev/null
ops_require promtool
T=$PDM_TMP

mkdir "$T/prom"
cp "$OPS_DIR/prometheus/prometheus.yml" "$OPS_DIR/prometheus/rules.yml" "$OPS_DIR/prometheus/rules_test.yml" "$T/prom/"
(cd "$T/prom" && promtool check config prometheus.yml) >"$T/config.log" 2>&1 \
  || pdm_fail "promtool check config: $(cat "$T/config.log")"
grep -q "1 rule files found" "$T/config.log" || pdm_fail "prometheus.yml does not load rules.yml: $(cat "$T/config.log")"
promtool check rules "$T/prom/rules.yml" >"$T/rules.log" 2>&1 \
  || pdm_fail "promtool check rules: $(cat "$T/rules.log")"
(cd "$T/prom" && promtool test rules rules_test.yml) >"$T/test.log" 2>&1 \
  || pdm_fail "promtool test rules: $(cat "$T/test.log")"
grep -q SUCCESS "$T/test.log" || pdm_fail "promtool test rules did not succeed: $(cat "$T/test.log")"

# The tests have teeth: PdmFeatureDrift firing after 29 minutes must fail them.
mkdir "$T/mutant"
cp "$T/prom/rules_test.yml" "$T/mutant/"
"$OPS_PY" - "$T/prom/rules.yml" "$T/mutant/rules.yml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
n = 0
for g in doc["groups"]:
    for r in g["rules"]:
        if r.get("alert") == "PdmFeatureDrift":
            assert r["for"] == "30m", r["for"]
            r["for"] = "29m"
            n += 1
assert n == 1
yaml.safe_dump(doc, open(sys.argv[2], "w"), sort_keys=False)
PY
status=0
(cd "$T/mutant" && promtool test rules rules_test.yml) >"$T/mutant.log" 2>&1 || status=$?
[ "$status" != 0 ] || pdm_fail "rules_test.yml passes with PdmFeatureDrift at for: 29m"
grep -q "alertname: PdmFeatureDrift, time: 29m" "$T/mutant.log" \
  || pdm_fail "the mutant failed for another reason: $(head -20 "$T/mutant.log")"

# Alert metadata, runbook anchors, test coverage; the queries for the
# metric-name check.
"$OPS_PY" - "$OPS_DIR" "$T/queries.json" <<'PY' || pdm_fail "alert rules metadata check failed"
import json, re, sys, yaml
ops, out = sys.argv[1], sys.argv[2]
rules = yaml.safe_load(open(f"{ops}/prometheus/rules.yml"))
tests = yaml.safe_load(open(f"{ops}/prometheus/rules_test.yml"))
config = yaml.safe_load(open(f"{ops}/prometheus/prometheus.yml"))
runbook = open(f"{ops}/RUNBOOK.md").read()

def slug(heading):  # GitHub's anchor for a Markdown heading
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")
anchors = {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", runbook, re.M)}
errs = []
for link in re.findall(r"\]\(#([^)]+)\)", runbook):
    if link not in anchors:
        errs.append(f"RUNBOOK.md links to #{link}, which is no heading")

alerts, queries = {}, []
for g in rules["groups"]:
    for r in g["rules"]:
        name = r.get("alert") or r.get("record")
        queries.append({"where": f"rules.yml {name}", "expr": r["expr"]})
        if "alert" not in r:
            continue
        alerts[name] = r
        labels, ann = r.get("labels", {}), r.get("annotations", {})
        if labels.get("severity") not in ("critical", "warning", "info"):
            errs.append(f"{name}: severity {labels.get('severity')!r}")
        if labels.get("audience") not in ("ops", "maintenance"):
            errs.append(f"{name}: audience {labels.get('audience')!r}")
        for a in ("summary", "description", "runbook_url"):
            if not ann.get(a):
                errs.append(f"{name}: no {a} annotation")
        url = ann.get("runbook_url", "")
        m = re.fullmatch(r"ops/RUNBOOK\.md#([a-z0-9\-_]+)", url)
        if not m:
            errs.append(f"{name}: runbook_url {url!r} is not ops/RUNBOOK.md#anchor")
        elif m.group(1) not in anchors:
            errs.append(f"{name}: runbook anchor #{m.group(1)} is no heading of RUNBOOK.md")
        elif m.group(1) != name.lower():
            errs.append(f"{name}: runbook anchor #{m.group(1)} is not the alert's own section")

required = ["PdmScorerDown", "PdmScorerNotReady", "PdmConsumerLagGrowing", "PdmDeadLettersHigh",
            "PdmFeatureDrift", "PdmAlertPrecisionLow", "PdmMachineCritical", "PdmCriticalIncidents", "PdmStateLost",
            "PdmRedisErrors"]
for a in required:
    if a not in alerts:
        errs.append(f"alert {a} is missing")
if "pdm_ready" not in alerts.get("PdmScorerNotReady", {}).get("expr", "") or \
        alerts.get("PdmScorerNotReady", {}).get("for") != "2m":
    errs.append("PdmScorerNotReady is not pdm_ready == 0 for 2m")
psi = alerts.get("PdmFeatureDrift", {})
if "pdm_feature_psi" not in psi.get("expr", "") or "0.2" not in psi.get("expr", "") or psi.get("for") != "30m":
    errs.append("PdmFeatureDrift is not PSI > 0.2 for 30m")

tested = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", [])}
for a in alerts:
    if a not in tested:
        errs.append(f"alert {a} has no unit test in rules_test.yml")
firing = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
for a in alerts:
    if a not in firing:
        errs.append(f"alert {a}: no test expects it to fire")

jobs = {j["job_name"]: j for j in config["scrape_configs"]}
if "pdm-scorer" not in jobs:
    errs.append("prometheus.yml has no pdm-scorer job")
if config.get("rule_files") != ["rules.yml"]:
    errs.append(f"prometheus.yml rule_files {config.get('rule_files')}")

json.dump(queries, open(out, "w"))
for e in errs:
    print(e)
print(f"{len(alerts)} alerts, {len(errs)} problems")
sys.exit(1 if errs else 0)
PY
ops_promql_check "$T/queries.json"
echo "ops_prometheus: ok"
