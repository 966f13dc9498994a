# shellcheck shell=bash
# tests/runtime/ops_lib.sh: what the ops_* runtime tests share (source it
# after tests/harness.sh and pdm_tmpdir). Not a test itself.
#
#   ops_promql_check FILE.json   checks a JSON list of {"where", "expr",
#                                "legend"?} queries: every metric a query
#                                names is one the scorer exports (the fixed
#                                list below, histograms with _bucket/_sum/
#                                _count), every label it groups by or shows
#                                in its legend is one of those metrics'
#                                labels, and promtool parses it.
#   ops_metrics_check FILE       checks a /metrics page: every pdm_* and
#                                process_* sample is in that list.
# The metric list is the scorer's contract with the rules and dashboards:
# change it only together with the scorer's /metrics.

# shellcheck disable=SC2034 # used by the tests that source this file
OPS_DIR="$PDM_SOURCE_DIR/ops"
OPS_PY=/usr/bin/python3

ops_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || pdm_fail "$tool is not installed (scripts/install-deps.sh installs it)"
  done
}

# Writes $PDM_TMP/promql_names.py: the metric list and the query checker.
_ops_write_checker() {
  [ -s "$PDM_TMP/promql_names.py" ] && return 0
  cat >"$PDM_TMP/promql_names.py" <<'PY'
import json, re, sys

# metric -> its own labels (job and instance come from the scrape).
COUNTERS = {
    "pdm_messages_consumed_total": set(),
    "pdm_events_consumed_total": {"type"}, "pdm_bad_messages_total": {"reason"},
    "pdm_dlq_messages_total": set(), "pdm_rows_scored_total": set(),
    "pdm_risk_events_total": {"level"}, "pdm_redis_errors_total": set(),
    "pdm_offset_commits_total": set(), "pdm_delivery_failures_total": set(),
    "pdm_loop_seconds_total": {"stage"}, "pdm_loop_cpu_seconds_total": {"stage"},
    "pdm_model_reloads_total": set(), "pdm_state_lost_total": set(),
    "pdm_state_cache_lookups_total": {"result"},
    "pdm_alerts_true_positive_total": set(), "pdm_alerts_false_positive_total": set(),
    "pdm_failures_caught_total": set(), "pdm_failures_missed_total": set(),
    "pdm_machine_silence_events_total": {"event"},
    "pdm_incidents_total": {"outcome"}, "pdm_machines_evicted_total": {"structure"},
}
HISTOGRAMS = ["pdm_scoring_batch_size", "pdm_processing_latency_seconds", "pdm_redis_roundtrip_seconds",
              "pdm_incident_lead_time_seconds"]
GAUGES = {
    "pdm_ready": set(), "pdm_event_time_lag_seconds": set(), "pdm_state_cache_machines": set(),
    "pdm_consumer_lag_messages": {"topic", "partition"}, "pdm_model_info": {"version"},
    "pdm_consumer_partitions_not_fetching": set(),
    "pdm_feature_psi": {"feature"}, "pdm_risk_psi": set(), "pdm_feature_missing_ratio": {"feature"},
    "pdm_alert_precision": set(), "pdm_alert_recall": set(),
    "pdm_machine_risk": {"machine_id"}, "pdm_machine_level": {"machine_id"},
    "pdm_machines_silent": set(), "pdm_incidents_open": {"level"},
    "pdm_machines_held": {"structure"},
}
# pdm-retrain --metrics-textfile (node_exporter's textfile collector), not the
# scorer's /metrics: change it only together with retrain/metrics.c.
RETRAIN = {
    "pdm_retrain_last_evaluation_timestamp_seconds": set(), "pdm_retrain_last_run_timestamp_seconds": set(),
    "pdm_retrain_last_success_timestamp_seconds": set(), "pdm_retrain_consecutive_failures": set(),
    "pdm_retrain_model_trained_timestamp_seconds": set(), "pdm_retrain_model_info": {"version"},
    "pdm_retrain_last_decision": {"decision"}, "pdm_retrain_candidate_pr_auc": set(),
    "pdm_retrain_current_pr_auc": set(), "pdm_retrain_candidate_warn_precision": set(),
    "pdm_retrain_current_warn_precision": set(),
}
PROCESS = ["process_resident_memory_bytes", "process_virtual_memory_bytes", "process_cpu_seconds_total", "process_open_fds", "process_max_fds",
           "process_start_time_seconds"]
ALLOWED = dict(COUNTERS)
ALLOWED.update(GAUGES)
ALLOWED.update(RETRAIN)
for h in HISTOGRAMS:
    ALLOWED[h + "_bucket"] = {"le"}
    ALLOWED[h + "_sum"] = set()
    ALLOWED[h + "_count"] = set()
for p in PROCESS:
    ALLOWED[p] = set()
ALLOWED["up"] = set()  # Prometheus' own, per scrape target
SCRAPE_LABELS = {"job", "instance"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "Inf", "NaN"}

def metric_names(expr):
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"'(?:[^'\\]|\\.)*'", "''", s)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = []
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        if m.start() > 0 and (s[m.start() - 1].isdigit() or s[m.start() - 1] == "."):
            continue  # the exponent or unit of a number (1e3, 5m)
        if s[m.end():].lstrip().startswith("("):
            continue  # a function or an aggregation
        if m.group(0) in KEYWORDS:
            continue
        names.append(m.group(0))
    return names

def grouping_labels(expr):
    out = set()
    for m in re.finditer(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", expr):
        out.update(x.strip() for x in m.group(1).split(",") if x.strip())
    return out

def problems(q):
    where, expr = q["where"], q["expr"]
    errs = []
    names = metric_names(expr)
    if not names:
        errs.append(f"{where}: names no metric: {expr}")
    labels = set(SCRAPE_LABELS)
    for n in names:
        if n not in ALLOWED:
            errs.append(f"{where}: unknown metric '{n}' in: {expr}")
        else:
            labels |= ALLOWED[n]
    for l in sorted(grouping_labels(expr) - labels):
        errs.append(f"{where}: label '{l}' is not a label of {sorted(set(names))}: {expr}")
    for l in re.findall(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", q.get("legend") or ""):
        if l not in labels:
            errs.append(f"{where}: legend label '{l}' is not a label of {sorted(set(names))}")
    return errs

# The checker must catch what it is for (else every query would pass).
for bad in ['rate(pdm_event_consumed_total[5m])', 'sum by (machine) (pdm_machine_risk)',
            'histogram_quantile(0.99, sum by (le) (rate(pdm_redis_roundtrip_second_bucket[5m])))']:
    assert problems({"where": "self-test", "expr": bad}), f"checker accepts {bad}"
for good in ['sum by (type) (rate(pdm_events_consumed_total{job="pdm-scorer"}[$__rate_interval]))',
             'time() - process_start_time_seconds', 'count(pdm_machine_level == 2) or vector(0)']:
    assert not problems({"where": "self-test", "expr": good}), f"checker rejects {good}: {problems({'where': '', 'expr': good})}"

def check_queries(path, rules_out):
    queries = json.load(open(path))
    errs = [e for q in queries for e in problems(q)]
    # Each query also as a recording rule, for promtool to parse (Grafana's
    # variables replaced by what they expand to).
    subst = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "$instance": ".*"}
    with open(rules_out, "w") as f:
        f.write("groups:\n  - name: ops_promql_check\n    rules:\n")
        for i, q in enumerate(queries):
            e = q["expr"]
            for k, v in subst.items():
                e = e.replace(k, v)
            f.write(f"      - record: ops_check:q{i}\n        expr: {json.dumps(e)}\n")
    for e in errs:
        print(e)
    print(f"{len(queries)} queries, {len(errs)} problems")
    return not errs

def check_metrics_page(path):
    """Every pdm_*/process_* sample of a /metrics page is in the list."""
    errs, seen = [], set()
    for line in open(path):
        if not line.strip() or line.startswith("#"):
            continue
        name = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0)
        seen.add(name)
        if name.startswith(("pdm_", "process_")) and name not in ALLOWED:
            errs.append(f"/metrics exports {name}, which is not in the metric list")
    for name in ["pdm_ready", "pdm_model_info"]:
        if name not in seen:
            errs.append(f"/metrics lacks {name}")
    for e in errs:
        print(e)
    return not errs

if __name__ == "__main__":
    if sys.argv[1] == "queries":
        sys.exit(0 if check_queries(sys.argv[2], sys.argv[3]) else 1)
    sys.exit(0 if check_metrics_page(sys.argv[2]) else 1)
PY
}

ops_promql_check() {
  local queries=$1
  _ops_write_checker
  "$OPS_PY" "$PDM_TMP/promql_names.py" queries "$queries" "$PDM_TMP/promql_rules.yml" \
    || pdm_fail "queries in $queries name metrics or labels the scorer does not export"
  promtool check rules "$PDM_TMP/promql_rules.yml" >"$PDM_TMP/promql_check.log" 2>&1 \
    || pdm_fail "promtool cannot parse a query: $(cat "$PDM_TMP/promql_check.log")"
}

ops_metrics_check() {
  _ops_write_checker
  "$OPS_PY" "$PDM_TMP/promql_names.py" metrics "$1" \
    || pdm_fail "/metrics does not match the metric list"
}
