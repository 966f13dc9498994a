#!/usr/bin/env bash
# The main job end to end on the embedded default (no Kafka cluster, no Docker):
# installs what is missing, builds, starts a local stack (redis-server and the
# embedded Kafka-protocol broker on loopback), simulates a fleet, trains a
# model, streams the events through the scorer, prints incidents as they
# happen and the URL of the HTTP endpoint, and keeps the stack running until
# Ctrl-C (or exits after the replay with --once). At the end, and on Ctrl-C,
# it prints a summary: events scored and their rate, alerts raised, failures
# caught and missed within the model's horizon, the median lead time, the
# alerts' precision (over the whole stream and over the held-out period the
# model never saw), where the HTML report and the MLflow run are.
#
#   scripts/demo.sh [--once] [--machines N] [--hours H] [--speed X]
#                   [--difficulty realistic|hard] [--seed S]
#
# Everything it starts lives under .pdm/demo/ and is stopped by pid on exit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# shellcheck source=scripts/demo_fleet.sh
source "$root/scripts/demo_fleet.sh"
once=0
machines=${PDM_DEMO_MACHINES:-$DEMO_MACHINES}
hours=${PDM_DEMO_HOURS:-$DEMO_HOURS}
difficulty=${PDM_DEMO_DIFFICULTY:-$DEMO_DIFFICULTY}
seed=${PDM_DEMO_SEED:-$DEMO_SEED}
speed=${PDM_DEMO_SPEED:-}
http_port=${PDM_DEMO_HTTP_PORT:-8000}
while [ $# -gt 0 ]; do
  case "$1" in
    --once) once=1 ;;
    --machines) machines=$2; shift ;;
    --hours) hours=$2; shift ;;
    --speed) speed=$2; shift ;;
    --difficulty) difficulty=$2; shift ;;
    --seed) seed=$2; shift ;;
    --http-port) http_port=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

"$root/scripts/install-deps.sh"
build=${PDM_BUILD:-$root/build}
echo "== build ($build)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
bin=$build/bin

work=$root/.pdm/demo
rm -rf "$work"
mkdir -p "$work"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# summary: the closing summary (scripts/demo_summary.py) of what has been
# scored so far: from the running scorer's /metrics and stream time, or from
# the log line of a scorer that has stopped.
scoring_since=""
# http_get PATH: the scorer's answer on its HTTP port (python3: no curl needed).
http_get() {
  /usr/bin/python3 -c 'import sys, urllib.request as u; sys.stdout.write(u.urlopen(sys.argv[1], timeout=2).read().decode())' \
    "http://127.0.0.1:$http_port$1" 2>/dev/null
}
summary() {
  [ -n "$scoring_since" ] && [ -d "$work/models" ] || return 0
  local args=(--data "$work/data" --risk "$work/risk.jsonl" --models "$work/models"
    --mlruns "$work/mlruns")
  args+=(--elapsed "$(/usr/bin/python3 -c 'import sys, time; print(time.time() - float(sys.argv[1]))' "$scoring_since")")
  local stopped="" metrics="" until
  # Ctrl-C reaches the scorer too: it answers a little longer, or it has
  # logged (or is about to log) its last line.
  for _ in $(seq 30); do
    stopped=$(grep -o 'stopped: [0-9]* messages, [0-9]* scored' "$work/scorer.log" 2>/dev/null | head -1 || true)
    [ -n "$stopped" ] && break
    metrics=$(http_get /metrics) && break
    sleep 0.1
  done
  if [ -n "$stopped" ]; then
    read -r _ messages _ scored _ <<<"$stopped"
    args+=(--messages "$messages" --scored "$scored")
  elif [ -n "$metrics" ]; then
    args+=(--messages "$(awk '$1 == "pdm_messages_consumed_total" {print int($2)}' <<<"$metrics")"
      --scored "$(awk '$1 == "pdm_rows_scored_total" {print int($2)}' <<<"$metrics")")
    until=$(http_get /v1/drift \
      | /usr/bin/python3 -c 'import json, sys; t = json.load(sys.stdin)["performance"]["event_time"]; print(t or "")' \
      2>/dev/null || true)
    [ -n "$until" ] && args+=(--until "$until")
  fi
  /usr/bin/python3 "$root/scripts/demo_summary.py" "${args[@]}" || true
}
trap 'echo; echo "demo: stopping"; summary; exit 0' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

echo "== local stack"
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save '' --appendonly no \
  --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "redis:  redis://127.0.0.1:$redis_port"

"$bin/pdm-broker" --partitions 8 --topic pdm.events --bootstrap-file "$work/bootstrap" >"$work/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
brokers=$(cat "$work/bootstrap")
echo "kafka:  $brokers (embedded Kafka-protocol broker)"

step() { echo "== $*"; }

if [ -x "$bin/pdm-sim" ] && [ -x "$bin/pdm-train" ]; then
  demo_fleet_model "$bin" "$work" "$machines" "$hours" "$difficulty" "$seed"
fi
if [ ! -x "$bin/pdm-scorer" ] || [ ! -x "$bin/pdm-producer" ]; then
  echo "demo: the streaming scorer is not built yet; the stack is up."
  [ $once -eq 1 ] && exit 0
  echo "demo: Ctrl-C to stop"
  wait
  exit 0
fi

step "score the stream"
# All event types on one topic: one machine's events then stay in one
# partition in stream order (see README, "Topics and ordering").
topic=pdm.events
# The risk topic as people read it: incidents opened, escalated, renotified
# and resolved (with how long they stood and the lead time before a failure).
"$bin/pdm-tail" --brokers "$brokers" --topic pdm.risk --from-beginning=false --format text \
  2>"$work/tail.log" &
pids+=($!)
# The same topic as JSON lines for the closing summary.
"$bin/pdm-tail" --brokers "$brokers" --topic pdm.risk --from-beginning=false >"$work/risk.jsonl" \
  2>"$work/tail-json.log" &
pids+=($!)
# The HTTP API on loopback, port 8000 unless it is taken (or --http-port).
if ! python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' \
  "$http_port" 2>/dev/null; then
  http_port=$(free_port)
fi
scorer_args=(--brokers "$brokers" --redis "redis://127.0.0.1:$redis_port" --model "$work/models"
  --topics "$topic" --http "127.0.0.1:$http_port")
# show_http: once the scorer listens, where to look.
show_http() {
  for _ in $(seq 100); do grep -q "http listening" "$work/scorer.log" 2>/dev/null && break; sleep 0.1; done
  echo "http:   http://127.0.0.1:$http_port (/readyz, /v1/alerts, /v1/machines/1, /v1/drift, /metrics)"
}
producer_args=(replay --data "$work/data" --brokers "$brokers" --topic "$topic")
# run_producer: the replay in the background, waited for: a foreground
# producer would catch Ctrl-C, stop early and exit 0, and bash then drops the
# signal (its trap, the summary, would not run); `wait` returns on it at once.
run_producer() {
  "$bin/pdm-producer" "${producer_args[@]}" &
  local producer=$!
  pids+=($producer)
  wait "$producer"
}

if [ $once -eq 1 ]; then
  # The whole replay first, then the scorer consumes it to the end and exits.
  [ -n "$speed" ] && producer_args+=(--speed "$speed")
  run_producer
  scoring_since=$(/usr/bin/python3 -c 'import time; print(time.time())')
  "$bin/pdm-scorer" "${scorer_args[@]}" --exit-at-end 2>"$work/scorer.log" &
  scorer=$!
  pids+=($scorer)
  show_http
  wait "$scorer"
  sleep 1.5 # let the last risk events reach pdm-tail and the screen
  echo "demo: $(grep -o 'stopped: .*' "$work/scorer.log" | head -1); logs in $work"
  summary
  exit 0
fi

scoring_since=$(/usr/bin/python3 -c 'import time; print(time.time())')
"$bin/pdm-scorer" "${scorer_args[@]}" 2>"$work/scorer.log" &
scorer=$!
pids+=($scorer)
echo "scorer: pid $scorer, log $work/scorer.log"
show_http
producer_args+=(--speed "${speed:-36000}")
run_producer
# The summary once the scorer has scored every telemetry row (at most a minute).
rows=$(($(wc -l <"$work/data/PdM_telemetry.csv") - 1))
for _ in $(seq 600); do
  done_rows=$(http_get /metrics \
    | awk '$1 == "pdm_rows_scored_total" {print int($2)}' || true)
  [ "${done_rows:-0}" -ge "$rows" ] && break
  sleep 0.1
done
sleep 1.5 # let the last risk events reach pdm-tail and the screen
summary
echo "demo: replay sent and scored; the stack keeps running (Ctrl-C to stop, summary again); logs in $work"
wait "$scorer"
