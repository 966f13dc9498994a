#!/usr/bin/env bash
# scorer_prometheus: a real Prometheus server (Debian's prometheus) scrapes a
# running pdm-scorer, with the project's alert rules loaded (ops/prometheus/
# rules.yml). Once the scorer has consumed a replay, Prometheus' HTTP API must
# show the scorer's series with the values the scorer's own counts give:
# target up, rows scored = telemetry replayed, ready 1, the model version,
# consumer lag 0, a PSI per feature, a finite processing-latency quantile,
# process metrics; and every alert rule evaluates without error on them.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
source "$PDM_SOURCE_DIR/tests/runtime/ops_lib.sh"
pdm_tmpdir >/dev/null
ops_require prometheus
T=$PDM_TMP
PY=/usr/bin/python3

sl_sim "$T/data" 5 300 5
sl_train "$T/data" "$T/train.log" --rounds 8 --out "$T/models/a" --promote "$T/models"
version=$(sl_version "$T/models/a")
pdm_start_redis
pdm_start_broker 2 --topic pdm.events
sl_replay "$T/data" pdm.events
telemetry=$(($(wc -l <"$T/data/PdM_telemetry.csv") - 1))
sl_scorer "$T/scorer.log" --redis "$PDM_REDIS_URL" --model "$T/models" --topics pdm.events \
  --emit changes --http 127.0.0.1:0 --drift-rows 300 --group prom-test
scorer=$SL_PID
sl_wait_log "$T/scorer.log" "http listening on port" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/scorer.log" | head -1)

mkdir "$T/prom"
cp "$OPS_DIR/prometheus/rules.yml" "$T/prom/"
cat >"$T/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - rules.yml
scrape_configs:
  - job_name: pdm-scorer
    static_configs:
      - targets: ["127.0.0.1:$port"]
YML
pport=$(pdm_free_port)
prometheus --config.file="$T/prom/prometheus.yml" --storage.tsdb.path="$T/prom/data" \
  --web.listen-address="127.0.0.1:$pport" >"$T/prom/prometheus.log" 2>&1 &
pdm_track $!

# q EXPR: the query's result as "labels value" lines (sorted).
q() {
  $PY - "http://127.0.0.1:$pport/api/v1/query" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "?" + urllib.parse.urlencode({"query": sys.argv[2]})
r = json.load(urllib.request.urlopen(url, timeout=5))
if r["status"] != "success":
    sys.exit("query failed: " + json.dumps(r))
for s in sorted(r["data"]["result"], key=lambda s: json.dumps(s["metric"], sort_keys=True)):
    labels = ",".join(f'{k}={v}' for k, v in sorted(s["metric"].items()) if k not in ("__name__", "job", "instance"))
    print(labels, s["value"][1])
PY
}
_scraped() { [ "$(q "pdm_rows_scored_total{job=\"pdm-scorer\"}" 2>/dev/null)" = " $telemetry" ]; }
pdm_wait_until 60 _scraped || pdm_fail "Prometheus never saw pdm_rows_scored_total = $telemetry: up: $(q 'up' 2>&1); got: $(q 'pdm_rows_scored_total' 2>&1); $(tail -3 "$T/prom/prometheus.log")"

[ "$(q 'up{job="pdm-scorer"}')" = " 1" ] || pdm_fail "up: $(q up)"
[ "$(q 'pdm_ready')" = " 1" ] || pdm_fail "pdm_ready: $(q pdm_ready)"
[ "$(q "pdm_model_info{version=\"$version\"}")" = "version=$version 1" ] || pdm_fail "model info: $(q pdm_model_info)"
[ "$(q 'sum(pdm_events_consumed_total{type="telemetry"})')" = " $telemetry" ] || pdm_fail "telemetry consumed: $(q 'pdm_events_consumed_total')"
_lag() { [ "$(q 'count(pdm_consumer_lag_messages == 0)')" = " 2" ]; }
pdm_wait_until 15 _lag || pdm_fail "consumer lag of the 2 partitions: $(q pdm_consumer_lag_messages)"
[ "$(q 'count(pdm_feature_psi >= 0)')" = " 27" ] || pdm_fail "PSI series: $(q 'count(pdm_feature_psi)')"
p99=$(q 'histogram_quantile(0.99, sum by (le) (pdm_processing_latency_seconds_bucket))' | awk '{print $NF}')
$PY -c 'import math, sys; v = float(sys.argv[1]); sys.exit(0 if math.isfinite(v) and v > 0 else 1)' "$p99" \
  || pdm_fail "processing latency p99 from Prometheus: '$p99'"
rss=$(q 'process_resident_memory_bytes' | awk '{print $NF}')
$PY -c 'import sys; sys.exit(0 if 1e6 < float(sys.argv[1]) < 2e9 else 1)' "$rss" || pdm_fail "RSS $rss"
[ "$(q 'count(pdm_machine_level)')" = " 5" ] || pdm_fail "machine levels: $(q pdm_machine_level)"

# Every rule of ops/prometheus/rules.yml evaluates on the real series.
sleep 2
$PY - "http://127.0.0.1:$pport/api/v1/rules" <<'PY' || pdm_fail "alert rules do not evaluate cleanly"
import json, sys, urllib.request
r = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
rules = [rule for g in r["data"]["groups"] for rule in g["rules"]]
bad = [(x["name"], x.get("lastError")) for x in rules if x.get("health") != "ok"]
if not rules or bad:
    sys.exit(f"{len(rules)} rules; unhealthy: {bad}")
print(f"scorer_prometheus: {len(rules)} rules evaluate", file=sys.stderr)
PY
pdm_stop_check "$scorer" pdm-scorer "$T/scorer.log"
echo "scorer_prometheus: ok (p99 latency ${p99}s, RSS $rss)"
