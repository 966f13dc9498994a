#!/usr/bin/env bash
# scorer_http: pdm-scorer's HTTP API over real sockets. A small simulated
# fleet is replayed through the embedded broker into a scorer with a real
# redis-server, a bearer token read from a file and a 64 KiB body limit;
# then scorer_http_check.py checks health, readiness, the token (401/403),
# /v1/model, every machine's /v1/machines/{id} against the scorer's own
# feature dump, the three /v1/predict forms against each other and the
# stored state, every error case, /v1/drift; /metrics passes promtool and
# carries the counts of what was consumed; scorer_http_errors.py sends
# malformed requests first, as the second of a kept-alive connection and
# pipelined (one JSON answer each, then the close) and good ones kept alive,
# pipelined and with Content-Length and chunked bodies. Then: a model promoted by
# switching the `current` link and POST /v1/admin/reload (a broken package is
# refused with 409 and the running model kept), and readiness following a
# Redis outage (503 naming redis while it is down, 200 once it is back).
# The token never reaches the scorer's log.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
source "$PDM_SOURCE_DIR/tests/runtime/ops_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
PY=/usr/bin/python3

sl_sim "$T/data" 6 300 11
sl_train "$T/data" "$T/train-a.log" --rounds 8 --out "$T/models/a" --promote "$T/models"
VA=$(sl_version "$T/models/a")
sl_train "$T/data" "$T/train-b.log" --rounds 12 --out "$T/models/b"
VB=$(sl_version "$T/models/b")
[ "$VA" != "$VB" ] || pdm_fail "the two models have the same version"

pdm_start_redis
pdm_start_broker 4 --topic pdm.events
sl_replay "$T/data" pdm.events
telemetry=$(($(wc -l <"$T/data/PdM_telemetry.csv") - 1))

token=tok-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$token" >"$T/token"
sl_scorer "$T/scorer.log" --redis "$PDM_REDIS_URL" --model "$T/models" --topics pdm.events \
  --emit all --dump-features "$T/dump.csv" --http 127.0.0.1:0 --http-token-file "$T/token" \
  --http-max-body 65536 --drift-rows 500 --group http-test --log-level debug
scorer=$SL_PID
sl_wait_log "$T/scorer.log" "http listening on port" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/scorer.log" | head -1)
sl_wait_rows "$T/dump.csv" "$telemetry" 60

# get PATH [TOKEN]: prints "STATUS BODY".
get() {
  $PY - "http://127.0.0.1:$port$1" "${2:-}" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], method="POST" if sys.argv[1].endswith("/reload") else "GET")
if sys.argv[2]:
    req.add_header("Authorization", "Bearer " + sys.argv[2])
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}

$PY "$PDM_SOURCE_DIR/tests/runtime/scorer_http_check.py" "$port" "$token" "$T/data" "$T/dump.csv" "$VA" \
  || pdm_fail "HTTP API checks failed (scorer log: $(tail -5 "$T/scorer.log"))"

# /metrics: promtool's lint, the contract's names, and the counts.
$PY "$PDM_SOURCE_DIR/tests/runtime/scorer_http_errors.py" "$port" "$token" >"$T/errors.log" 2>&1 \
  || pdm_fail "malformed requests: $(tail -3 "$T/errors.log")"

get /metrics | sed '1s/^200 //' >"$T/metrics.txt"
promtool check metrics <"$T/metrics.txt" >"$T/promtool.log" 2>&1 \
  || pdm_fail "promtool check metrics: $(cat "$T/promtool.log")"
ops_metrics_check "$T/metrics.txt"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics.txt"; }
[ "$(metric pdm_rows_scored_total)" = "$telemetry" ] || pdm_fail "pdm_rows_scored_total $(metric pdm_rows_scored_total), want $telemetry"
[ "$(metric 'pdm_events_consumed_total{type="telemetry"}')" = "$telemetry" ] || pdm_fail "telemetry consumed: $(metric 'pdm_events_consumed_total{type="telemetry"}')"
[ "$(metric "pdm_model_info{version=\"$VA\"}")" = 1 ] || pdm_fail "pdm_model_info for $VA: $(grep model_info "$T/metrics.txt")"
[ "$(metric pdm_ready)" = 1 ] || pdm_fail "pdm_ready $(metric pdm_ready)"
[ "$(metric 'pdm_machine_level{machine_id="1"}')" != "" ] || pdm_fail "no pdm_machine_level for machine 1"
_lag_known() { get /metrics | grep -q '^pdm_consumer_lag_messages{topic="pdm.events",partition="0"} 0$'; }
pdm_wait_until 15 _lag_known || pdm_fail "no consumer lag 0 for pdm.events [0] (statistics every 5 s)"

# ---- reload ----------------------------------------------------------------------
ln -sfn b "$T/models/current.new" && mv -T "$T/models/current.new" "$T/models/current"
out=$(get /v1/admin/reload "$token")
case $out in "200 "*"\"version\":\"$VB\""*"\"installed\":true"*) ;; *) pdm_fail "reload to $VB: $out" ;; esac
out=$(get /v1/model "$token")
case $out in "200 {\"version\":\"$VB\""*) ;; *) pdm_fail "after the reload /v1/model says: ${out:0:120}" ;; esac
get /metrics | sed '1s/^200 //' >"$T/metrics.txt"
[ "$(metric "pdm_model_info{version=\"$VB\"}")" = 1 ] && [ "$(metric "pdm_model_info{version=\"$VA\"}")" = 0 ] \
  || pdm_fail "model info after the reload: $(grep '^pdm_model_info' "$T/metrics.txt")"
[ "$(metric pdm_model_reloads_total)" -ge 1 ] || pdm_fail "pdm_model_reloads_total $(metric pdm_model_reloads_total)"
mkdir "$T/models/broken"
echo '{}' >"$T/models/broken/model.json"
ln -sfn broken "$T/models/current.new" && mv -T "$T/models/current.new" "$T/models/current"
out=$(get /v1/admin/reload "$token")
case $out in "409 {\"error\":\"reload failed"*) ;; *) pdm_fail "reload of a broken package: $out" ;; esac
out=$(get /v1/model "$token")
case $out in "200 {\"version\":\"$VB\""*) ;; *) pdm_fail "a failed reload changed the model: ${out:0:120}" ;; esac
out=$(get /v1/admin/reload)
case $out in "401 "*) ;; *) pdm_fail "reload without a token: $out" ;; esac

# ---- readiness follows Redis -------------------------------------------------------------
redis_dir=$(dirname "$(ls "$T"/redis-*/redis.log)")
pdm_stop "$PDM_REDIS_PID" || true
# Readiness follows the probe (a PING every 0.5 s, README "HTTP API"):
# /readyz says Redis is missing within a few seconds, not at once.
_redis_missing() { case $(get /readyz) in "503 "*"\"missing\":[\"redis\"]"*) return 0 ;; *) return 1 ;; esac; }
pdm_wait_until 5 _redis_missing || pdm_fail "/readyz with Redis down: $(get /readyz)"
out=$(get /v1/machines/1 "$token")
case $out in "503 "*redis*) ;; *) pdm_fail "/v1/machines/1 with Redis down: $out" ;; esac
case $(get /healthz) in "200 "*) ;; *) pdm_fail "/healthz with Redis down" ;; esac
redis-server --bind 127.0.0.1 --port "$PDM_REDIS_PORT" --dir "$redis_dir" --save '' --appendonly no \
  >"$redis_dir/redis2.log" 2>&1 &
pdm_track $!
_ready() { case $(get /readyz) in "200 "*) return 0 ;; *) return 1 ;; esac; }
pdm_wait_until 15 _ready || pdm_fail "/readyz not 200 after Redis came back: $(get /readyz)"

pdm_stop_check "$scorer" pdm-scorer "$T/scorer.log"
# After every request that carried it (the access log, at debug level,
# records each one).
grep -q "http GET /v1/model 200" "$T/scorer.log" || pdm_fail "no access log line in the scorer's log"
! grep -q "$token" "$T/scorer.log" || pdm_fail "the token is in the scorer's log"
echo "scorer_http: ok"
