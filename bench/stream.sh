#!/usr/bin/env bash
# bench/stream.sh: the streaming benchmarks of issue 4 (not a test).
#
#   bench/stream.sh [--build DIR] [--runs N] [--partitions P] [--quick] [--latency-only]
#
# Starts its own redis-server and pdm-broker processes on loopback (by pid,
# in a temporary directory, through tests/harness.sh), then measures on one
# simulated fleet (100 machines x 8,760 h, 876,000 telemetry events plus
# errors, maintenance and machine info):
#   1. the ceilings: the mock cluster's raw consume rate of the backlog
#      topic (bench-stream-raw consume), the scorer's produce-and-flush
#      pattern (bench-stream-raw produce), redis-benchmark -P 64 on the
#      scorer's commands, and the model's own rates (bench-stream-model:
#      batches of 1,000 rows, one row per call, TreeSHAP for alerts);
#   2. catch-up: pdm-scorer --emit all --exit-at-end over the whole backlog,
#      with a small model (20 rounds) and the default one (pdm-train
#      defaults), --runs times each; medians;
#   3. latency at a steady 20,000 events/s (bench-stream-latency), of the
#      scorer and of the same Kafka path without it (bench-stream-raw echo:
#      the floor), --runs times each; medians;
#   4. the scorer's peak RSS (VmHWM) over a fleet of 100,000 machines.
# Programs come from DIR/bin (default: the build-bench directory next to
# this file's parent; configure it with -DCMAKE_BUILD_TYPE=Release).
# Everything is printed; "result" lines of the tools are summarised at the
# end against the issue's targets. About 11 minutes on 2 cores;
# --latency-only runs the data, the models and section 3 alone (about 4).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
source "$here/lib.sh"
build=$root/build-bench
runs=3
partitions=64
quick=0
latency_only=0
while [ $# -gt 0 ]; do
  case $1 in
  --build) build=$2; shift 2 ;;
  --runs) runs=$2; shift 2 ;;
  --partitions) partitions=$2; shift 2 ;;
  --quick) quick=1; shift ;;
  --latency-only) latency_only=1; shift ;;
  -h | --help) bench_help "$0"; exit 0 ;;
  *) bench_bad_arg "$0" "$1" ;;
  esac
done
lat_duration=20
lat_warmup=5
mem_hours=6
if [ "$quick" = 1 ]; then
  runs=1 lat_duration=10 mem_hours=2
fi

export PDM_BIN=$build/bin
B=$PDM_BIN
bench_require "$0" "$build" pdm-broker pdm-sim pdm-train pdm-producer pdm-scorer bench-stream-raw \
  bench-stream-latency bench-stream-model -- redis-server redis-cli redis-benchmark /usr/bin/time

source "$root/tests/harness.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
py=/usr/bin/python3

declare -A R # results: name -> value

# collect FILE: adds the "result NAME=VALUE ..." lines of FILE to R.
collect() {
  local line kv
  while read -r line; do
    for kv in ${line#result }; do R[${kv%%=*}]=${kv#*=}; done
  done < <(grep '^result ' "$1" || true)
}

section() { printf '\n=== %s\n' "$*"; }

# median V...: the median of numbers.
median() { printf '%s\n' "$@" | $py -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.stdin))'; }

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
section "machine"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "command: $0 $*  (build $build, CMAKE_BUILD_TYPE=${build_type:-?})"
echo "nproc: $(nproc); CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
  "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "kernel: $(uname -r); $(redis-server --version | cut -d' ' -f1-3);" \
  "librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || echo ?);" \
  "xgboost $(dpkg-query -W -f '${Version}' libxgboost-dev 2>/dev/null || echo ?)"
[ "$build_type" = Release ] || echo "WARNING: not a Release build; figures will be low"
echo "runs per figure: $runs; backlog partitions: $partitions"

# ---- data and models ---------------------------------------------------------
section "data and models"
# the hard fleet: the data bench/README.md's figures were measured on
"$B/pdm-sim" --out "$T/data" --difficulty hard --log-level warn
t0=$EPOCHREALTIME
"$B/pdm-train" --data "$T/data" --out "$T/small" --rounds 20 --log-level warn >"$T/train-small.log" 2>&1 \
  || { tail "$T/train-small.log"; pdm_fail "pdm-train --rounds 20 failed"; }
t1=$EPOCHREALTIME
"$B/pdm-train" --data "$T/data" --out "$T/default" --log-level warn >"$T/train-default.log" 2>&1 \
  || { tail "$T/train-default.log"; pdm_fail "pdm-train failed"; }
t2=$EPOCHREALTIME
echo "pdm-sim --machines 100 --hours 8760: $(wc -l <"$T/data/PdM_telemetry.csv") telemetry lines"
echo "pdm-train --rounds 20 (small): $(echo "$t1 - $t0" | bc | xargs printf '%.1f') s;" \
  "pdm-train defaults (100 rounds): $(echo "$t2 - $t1" | bc | xargs printf '%.1f') s"

pdm_start_redis
if [ "$latency_only" = 0 ]; then
# ---- the backlog ------------------------------------------------------------------
section "backlog: pdm-broker --partitions $partitions -X socket.nagle.disable=true"
# The mock cluster's sockets use Nagle's algorithm by default: two responses
# in a row on one connection wait ~40 ms for the client's delayed ACK, which
# makes every multi-partition flush cost 40 ms (measured below).
# The output topics exist before the scorer starts, as in a deployment (the
# mock cluster auto-creates a missing topic on first produce, which holds
# that first batch ~850 ms).
pdm_start_broker "$partitions" --topic pdm.events,pdm.bench,pdm.risk,pdm.dlq -X socket.nagle.disable=true
backlog=$PDM_BROKERS
"$B/pdm-producer" replay --data "$T/data" --brokers "$backlog" --topic pdm.events 2>"$T/replay.log" \
  || { cat "$T/replay.log"; pdm_fail "replay failed"; }
grep -o 'replay: .*' "$T/replay.log"
delivered=$(sed -n 's/.* \([0-9]*\) delivered.*/\1/p' "$T/replay.log" | tail -1)
# The same backlog in the default layout (one topic per type, the machines
# table), for the per-type catch-up: the scorer's messages are the stream
# topics' (the table's are read before the loop).
"$B/pdm-producer" replay --data "$T/data" --brokers "$backlog" 2>"$T/replay-pertype.log" \
  || { cat "$T/replay-pertype.log"; pdm_fail "per-type replay failed"; }
delivered_pertype=$((delivered - $(tail -n +2 "$T/data/PdM_machines.csv" | wc -l)))

# ---- ceilings -----------------------------------------------------------------------
section "ceiling: raw consume of the backlog (bench-stream-raw consume, batches of 1,000)"
"$B/bench-stream-raw" consume --brokers "$backlog" --topic pdm.events --runs "$runs" | tee "$T/raw.txt"
collect "$T/raw.txt"
[ "${R[raw_deleted]}" = 0 ] || echo "WARNING: retention deleted ${R[raw_deleted]} messages: use more --partitions"
[ "${R[raw_messages]}" = "$delivered" ] || echo "WARNING: $delivered delivered but ${R[raw_messages]} held"
echo "largest partition: ${R[raw_max_partition]} messages, about" \
  "$(echo "${R[raw_max_partition]} * ${R[raw_mb]} / ${R[raw_messages]}" | bc -l | xargs printf '%.1f') MB" \
  "(the mock keeps 5 MiB per partition)"

section "ceiling: the scorer's output pattern (produce 2,000 RiskEvents, flush; 100 keys)"
"$B/bench-stream-raw" produce --brokers "$backlog" --topic pdm.bench --batch 2000 --batches 50 \
  --runs "$runs" | tee "$T/produce.txt"
collect "$T/produce.txt"
echo "-- the same against a pdm-broker with Nagle on (-X socket.nagle.disable=false; pdm-broker turns it off by default):"
pdm_start_broker "$partitions" --topic pdm.bench -X socket.nagle.disable=false
"$B/bench-stream-raw" produce --brokers "$PDM_BROKERS" --topic pdm.bench --batch 2000 --batches 10 \
  --runs 1 | tee "$T/produce-nagle.txt"
R[nagle_flush_ms]=$(sed -n 's/^result .*produce_flush_ms=\([0-9.]*\).*/\1/p' "$T/produce-nagle.txt")
pdm_stop "$PDM_BROKER_PID" || true

section "retention check: the same backlog into 8 partitions"
pdm_start_broker 8 --topic pdm.events -X socket.nagle.disable=true
"$B/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" --topic pdm.events 2>/dev/null
"$B/bench-stream-raw" consume --brokers "$PDM_BROKERS" --topic pdm.events --runs 1 | head -1
pdm_stop "$PDM_BROKER_PID" || true

section "ceiling: redis-benchmark -P 64 on loopback, commands as the scorer sends them"
R[redis_event_rate]=$(bench_redis_ceiling "$PDM_REDIS_PORT" "$T/redis-bench.csv")
echo "=> telemetry writes (ZREMRANGEBYSCORE + ZADD each): ${R[redis_event_rate]} events/s"

section "ceiling: the models' own rates (bench-stream-model, 1 thread as pdm-scorer's default)"
"$B/bench-stream-model" --model "$T/small" --data "$T/data" --label small --runs "$runs" | tee "$T/model-small.txt"
"$B/bench-stream-model" --model "$T/default" --data "$T/data" --label default --runs "$runs" \
  --explain-rows 600 | tee "$T/model-default.txt"
collect "$T/model-small.txt"
collect "$T/model-default.txt"

# ---- catch-up ------------------------------------------------------------------------------
# catchup LABEL RUN [SCORER-ARGS...]: one pdm-scorer run over the whole
# backlog with the LABEL model, a fresh Redis and a new group; prints two
# lines and sets R[catchup_LABEL_NAME_RUN] for each result NAME.
catchup() {
  local label=$1 run=$2 topics=(--topics pdm.events --machines-topic "")
  local want=$delivered
  shift 2
  if [ "${1:-}" = --per-type ]; then # the default layout: the scorer's default topics
    topics=() want=$delivered_pertype
    shift
  fi
  bench_catchup "$label-$run" "$want" --brokers "$backlog" --model "$T/$label" \
    --group "catchup-$label-$run" "${topics[@]}" "$@"
  local kv
  for kv in $(sed -n 's/^result //p' "$T/catchup-$label-$run.txt"); do
    R[catchup_${label}_${kv%%=*}_$run]=${kv#*=}
  done
}

for label in small default; do
  section "catch-up: pdm-scorer --emit all, $label model, whole backlog, $runs run(s)"
  rates=() rss=()
  for run in $(seq "$runs"); do
    catchup "$label" "$run"
    rates+=("${R[catchup_${label}_rate_$run]}")
    rss+=("${R[catchup_${label}_rss_mib_$run]}")
    [ "${R[catchup_${label}_complete_$run]}" = 1 ] || echo "WARNING: not every message was consumed"
  done
  R[catchup_${label}]=$(median "${rates[@]}" | xargs printf '%.0f')
  R[catchup_${label}_rss]=$(median "${rss[@]}")
  echo "=> median ${R[catchup_${label}]} telemetry events/s (runs: ${rates[*]})"
done

section "catch-up, one topic per event type (the defaults, merged in event time), small model, $runs run(s)"
rates=()
for run in $(seq "$runs"); do
  catchup small "pt$run" --per-type
  rates+=("${R[catchup_small_rate_pt$run]}")
  [ "${R[catchup_small_complete_pt$run]}" = 1 ] || echo "WARNING: not every message was consumed"
done
R[catchup_small_pertype]=$(median "${rates[@]}" | xargs printf '%.0f')
echo "=> median ${R[catchup_small_pertype]} telemetry events/s (runs: ${rates[*]}); one topic: ${R[catchup_small]}"

section "diagnostic: the same catch-up without reasons (--warn 1 --critical 1: no alerts short of a risk of exactly 1, no TreeSHAP; thresholds are refused outside 0..1), 1 run each"
for label in small default; do
  echo "-- $label model:"
  catchup "$label" noshap --warn 1 --critical 1
  R[noshap_${label}]=${R[catchup_${label}_rate_noshap]}
done

section "catch-up with XGBoost's predictor (--predictor xgboost), default model, $runs run(s)"
rates=()
for run in $(seq "$runs"); do
  catchup default "xgb$run" --predictor xgboost
  rates+=("${R[catchup_default_rate_xgb$run]}")
done
R[catchup_default_xgb]=$(median "${rates[@]}" | xargs printf '%.0f')
echo "=> median ${R[catchup_default_xgb]} telemetry events/s (runs: ${rates[*]})"

fi # latency_only

# ---- latency -------------------------------------------------------------------------------
section "latency: 20,000 events/s, 1,000 machines, small model, --emit all (pdm-broker --partitions 4)"
# The product's default partition count. Each run is a fresh broker, the
# forwarder under test and bench-stream-latency: first the floor, the same
# Kafka path without a scorer (bench-stream-raw echo forwards each event
# unchanged to pdm.risk with the scorer's loop shape and client settings),
# then the scorer; --runs times each, interleaved, medians.
# The load producer's linger.ms is 5, pdm-producer's own (and librdkafka's
# default): the mock cluster answers a fetch with at most one message set per
# partition, so a producer sending a message set per partition every 1 or 2
# ms outruns a consumer whose fetch round trip is slower than that on a busy
# 2-core machine; the backlog then makes runs bimodal (the floor alone: p99
# 9 ms in one run, 49-65 ms in others, with linger.ms 2). A real broker
# returns every batch it holds up to fetch.max.bytes.
# Both consumers (the forwarder's and the latency consumer's) fetch with
# fetch.wait.max.ms=0: the mock holds an empty fetch for that long even when
# data arrives meanwhile, a real broker answers as soon as data is there
# (with 1 ms, the setting of earlier runs, the floor's p99 was 11-14 ms).
# Answering at once costs the mock busy fetch loops on the same 2 cores.
# latency_run LABEL FORWARDER-COMMAND...: one run; results as LABEL_*.
latency_run() {
  local label=$1 layout=(--topic pdm.live)
  shift
  if [ "$label" = pt ]; then layout=(--per-type); fi
  pdm_start_broker 4 --topic pdm.live,pdm.risk,pdm.dlq -X socket.nagle.disable=true
  redis-cli -p "$PDM_REDIS_PORT" flushall >/dev/null
  "$@" --brokers "$PDM_BROKERS" -X fetch.wait.max.ms=0 2>"$T/latency-$label.log" &
  local pid=$!
  pdm_track "$pid"
  pdm_wait_until 30 grep -qE 'assigned|echoing' "$T/latency-$label.log" \
    || pdm_fail "$label: did not start: $(tail -3 "$T/latency-$label.log")"
  [ "$label" = echo ] && sleep 4 # the group join (the scorer logs its assignment)
  "$B/bench-stream-latency" --brokers "$PDM_BROKERS" "${layout[@]}" --risk-topic pdm.risk \
    --rate 20000 --machines 1000 --warmup "$lat_warmup" --duration "$lat_duration" --linger 5 \
    -X fetch.wait.max.ms=0 --label "$label" | tee "$T/latency-$label.txt" || echo "(some events did not come back in time)"
  collect "$T/latency-$label.txt"
  pdm_stop "$pid" || true
  pdm_stop "$PDM_BROKER_PID" || true
}
declare -A lat
for run in $(seq "$runs"); do
  echo "-- run $run: floor (bench-stream-raw echo)"
  latency_run echo "$B/bench-stream-raw" echo --topic pdm.live --out pdm.risk
  echo "-- run $run: pdm-scorer"
  latency_run lat "$B/pdm-scorer" --redis "$PDM_REDIS_URL" --model "$T/small" --group latency \
    --topics pdm.live --machines-topic "" --emit all
  echo "-- run $run: pdm-scorer, one topic per event type (its defaults)"
  latency_run pt "$B/pdm-scorer" --redis "$PDM_REDIS_URL" --model "$T/small" --group latency-pt \
    --emit all
  for k in echo_p50 echo_p99 lat_p50 lat_p99 lat_max pt_p50 pt_p99 pt_max; do lat[$k]+="${R[$k]:-nan} "; done
done
for k in echo_p50 echo_p99 lat_p50 lat_p99 lat_max pt_p50 pt_p99 pt_max; do
  # shellcheck disable=SC2086
  R[$k]=$(median ${lat[$k]} | xargs printf '%.2f')
done
echo "=> scorer p50 ${R[lat_p50]} ms, p99 ${R[lat_p99]} ms (runs: ${lat[lat_p99]});" \
  "per-type topics p50 ${R[pt_p50]} ms, p99 ${R[pt_p99]} ms (runs: ${lat[pt_p99]});" \
  "floor p50 ${R[echo_p50]} ms, p99 ${R[echo_p99]} ms (runs: ${lat[echo_p99]})"

if [ "$latency_only" = 0 ]; then
# ---- memory --------------------------------------------------------------------------------
# memory LABEL SCORER-ARGS...: pdm-scorer over the 100,000-machine backlog;
# polls its VmHWM until it exits.
memory() {
  local label=$1
  shift
  redis-cli -p "$PDM_REDIS_PORT" flushall >/dev/null
  "$B/pdm-scorer" --brokers "$fleet" --redis "$PDM_REDIS_URL" --model "$T/small" --group "memory-$label" \
    --topics pdm.events --machines-topic "" --exit-at-end -X fetch.wait.max.ms=10 "$@" 2>"$T/memory-$label.log" &
  local pid=$! hwm
  pdm_track "$pid"
  hwm=$(bench_peak_rss "$pid")
  pdm_stop "$pid" || pdm_fail "pdm-scorer failed (memory $label): $(tail -5 "$T/memory-$label.log")"
  R[mem_$label]=$(echo "$hwm / 1024" | bc -l | xargs printf '%.1f')
  local span
  span=$($py "$here/scorer_log.py" "$T/memory-$label.log" | awk '{printf "%.1f", $1}')
  echo "$label ($*): $(grep -o 'stopped: .*' "$T/memory-$label.log") in $span s; peak RSS (VmHWM) ${R[mem_$label]} MiB;" \
    "redis used_memory $(redis-cli -p "$PDM_REDIS_PORT" info memory | sed -n 's/^used_memory_human:\(.*\)\r$/\1/p')," \
    "$(redis-cli -p "$PDM_REDIS_PORT" dbsize) keys"
}

section "memory: 100,000 machines x $mem_hours h (pdm-producer simulate), pdm-scorer --emit changes"
pdm_start_broker "$partitions" --topic pdm.events,pdm.risk,pdm.dlq -X socket.nagle.disable=true
fleet=$PDM_BROKERS
"$B/pdm-producer" simulate --machines 100000 --hours "$mem_hours" --brokers "$fleet" --topic pdm.events \
  --difficulty hard \
  2>"$T/simulate.log" || { cat "$T/simulate.log"; pdm_fail "simulate failed"; }
grep -o 'simulate: .*' "$T/simulate.log"
"$B/bench-stream-raw" consume --brokers "$fleet" --topic pdm.events --runs 1 | head -1
memory default
# The scorer bounds librdkafka's prefetch to 20,000 messages (about 400
# bytes each) and wakes the fetcher when the queue runs low; librdkafka's own
# default bound is 100,000.
memory prefetch -X queued.min.messages=100000
# Without the state cache (at 100,000 machines it holds a few thousand of
# them and is rarely hit).
memory lean --state-cache 0
pdm_stop "$PDM_BROKER_PID" || true

fi # latency_only

# ---- summary -------------------------------------------------------------------------------
section "summary (medians of $runs run(s); ceilings measured in this run)"
pct() { echo "100 * $1 / $2" | bc -l | xargs printf '%.0f%%'; }
verdict() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo "met"; else echo "NOT met"; fi; }
latency_line() {
  echo "latency at 20,000 events/s: p50 ${R[lat_p50]:-?} ms, p99 ${R[lat_p99]:-?} ms (max ${R[lat_max]:-?});" \
    "floor (the same Kafka path, no scorer): p50 ${R[echo_p50]:-?} ms, p99 ${R[echo_p99]:-?} ms;" \
    "target p99 < 10 ms: $(verdict "${R[lat_p99]:-999999} < 10")"
  echo "latency at 20,000 events/s, one topic per event type: p50 ${R[pt_p50]:-?} ms, p99" \
    "${R[pt_p99]:-?} ms (max ${R[pt_max]:-?})"
}
if [ "$latency_only" = 1 ]; then
  latency_line
  exit 0
fi
printf '%-58s %s\n' \
  "raw consume, mock cluster (ceiling)" "${R[raw_consume_rate]} msgs/s" \
  "produce 2,000 + flush (ceiling; Nagle on: flush ${R[nagle_flush_ms]} ms)" "${R[produce_rate]} msgs/s, flush ${R[produce_flush_ms]} ms" \
  "redis telemetry writes (ceiling)" "${R[redis_event_rate]} events/s" \
  "small model: batch 1,000 / one row per call" "${R[small_batch_rate]} / ${R[small_single_rate]} rows/s" \
  "small model: with TreeSHAP for ${R[small_alert_share]} alerts" "${R[small_with_reasons_rate]} events/s" \
  "default model: batch 1,000 / one row per call" "${R[default_batch_rate]} / ${R[default_single_rate]} rows/s" \
  "default model, native evaluator: batch 1,000" "${R[default_native_batch_rate]} rows/s" \
  "default model: with TreeSHAP for ${R[default_alert_share]} alerts" "${R[default_with_reasons_rate]} events/s"
echo
small=${R[catchup_small]} default=${R[catchup_default]}
echo "catch-up, small model: $small events/s ($(pct "$small" "${R[raw_consume_rate]}") of raw consume," \
  "$(pct "$small" "${R[small_batch_rate]}") of its batch rate); target >= 150000:" \
  "$(verdict "$small >= 150000")"
echo "catch-up, small model, one topic per event type: ${R[catchup_small_pertype]} events/s ="\
  "$(pct "${R[catchup_small_pertype]}" "$small") of one topic; target >= 85%:"\
  "$(verdict "${R[catchup_small_pertype]} >= 0.85 * $small")"
echo "catch-up, default model: $default events/s = $(pct "$default" "${R[default_batch_rate]}") of its" \
  "batch rate ${R[default_batch_rate]}; target >= 70%: $(verdict "$default >= 0.7 * ${R[default_batch_rate]}")"
echo "catch-up, default model, --predictor xgboost: ${R[catchup_default_xgb]} events/s ="\
  "$(pct "${R[catchup_default_xgb]}" "${R[default_batch_rate]}") of XGBoost's batch rate; the native"\
  "default: $(pct "$default" "${R[default_native_batch_rate]}") of the native batch rate"
echo "(without TreeSHAP reasons: small ${R[noshap_small]}, default ${R[noshap_default]} events/s =" \
  "$(pct "${R[noshap_default]}" "${R[default_batch_rate]}") of its batch rate)"
latency_line
echo "scorer peak RSS, 100,000 machines: ${R[mem_default]} MiB (with librdkafka's prefetch bound," \
  "-X queued.min.messages=100000: ${R[mem_prefetch]} MiB; --state-cache 0: ${R[mem_lean]} MiB); target < 64 MiB:" \
  "$(verdict "${R[mem_default]} < 64")"
