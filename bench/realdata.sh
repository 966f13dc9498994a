#!/usr/bin/env bash
# bench/realdata.sh: catch-up on real-shaped data, with the scorer's own
# account of where its time goes (issue 21; not a test).
#
#   bench/realdata.sh [--build DIR]... [--data DIR] [--copies N] [--rounds "100 200"]
#                     [--runs N] [--partitions P] [--quick]
#
# The data: a PdM data set in the public format (default: the public set's
# slice in ../shared/data/pdm-sample beside the project, machines 1-2 over
# 2,160 h) replicated to --copies x its machines with new ids
# (bench/replicate_pdm.py; default 200 copies: 400 machines, 864,000
# telemetry events), one topic of --partitions partitions (default 64).
# Models: pdm-train --rounds R on that data for each R of --rounds.
# Starts its own redis-server and pdm-broker on loopback (tests/harness.sh,
# stopped by pid on exit). Measures, in this order:
#   1. the ceilings: raw consume of the topic (bench-stream-raw consume),
#      Redis telemetry writes (redis-benchmark -P 64 on the scorer's
#      commands), each model's rates (bench-stream-model: XGBoost batch,
#      the native evaluator, TreeSHAP on the alert rows);
#      thresholds: --warn/--critical where 5 % / 1 % of the rows' risks lie
#      (the trainer's own, on copies of two machines, are degenerate);
#   2. catch-up: pdm-scorer --emit all --exit-at-end for each model, with
#      the native predictor and --predictor xgboost, --runs times; with
#      several --build directories the builds alternate within each run
#      (before/after in one run: the first is the baseline). Each run prints
#      the loop thread's wall and CPU time by stage (the scorer's "stages"
#      log line, also pdm_loop_seconds_total{stage}) and the CPU of the
#      process's other threads (librdkafka, HTTP).
# Medians at the end, with each figure as a share of the ceilings.
# About 6 minutes with the defaults on 2 cores (--quick: one run, 200
# rounds only: about 2).
set -euo pipefail

args="$*"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
builds=()
data=$root/../shared/data/pdm-sample
copies=200
rounds_list="100 200"
runs=3
partitions=64
# Where real thresholds put a fleet's rows: a model trained on copies of two
# machines picks degenerate ones (every row a WARN), so the scorer gets
# --warn/--critical at these shares of the model's risks on the data.
warn_share=0.05
critical_share=0.01
while [ $# -gt 0 ]; do
  case $1 in
  --build) builds+=("$(cd "$2" && pwd)"); shift 2 ;;
  --data) data=$2; shift 2 ;;
  --copies) copies=$2; shift 2 ;;
  --rounds) rounds_list=$2; shift 2 ;;
  --runs) runs=$2; shift 2 ;;
  --partitions) partitions=$2; shift 2 ;;
  --quick) runs=1 rounds_list=200; shift ;;
  -h | --help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "realdata.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#builds[@]} -gt 0 ] || builds=("$root/build-bench")
for b in "${builds[@]}"; do
  [ -x "$b/bin/pdm-scorer" ] || { echo "realdata.sh: no $b/bin/pdm-scorer; build with: cmake -S" \
    "$root -B $b -DCMAKE_BUILD_TYPE=Release && cmake --build $b -j2" >&2; exit 2; }
done
[ -f "$data/PdM_telemetry.csv" ] || { echo "realdata.sh: no PdM data set in $data (--data DIR)" >&2; exit 2; }
for p in redis-server redis-cli redis-benchmark /usr/bin/time bc; do
  command -v "$p" >/dev/null || { echo "realdata.sh: $p is not installed" >&2; exit 2; }
done

export PDM_BIN=${builds[-1]}/bin
B=$PDM_BIN # tools and models come from the last build (the one under test)
source "$root/tests/harness.sh"
source "$here/lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
declare -A R
collect() {
  local line kv
  while read -r line; do
    for kv in ${line#result }; do R[${kv%%=*}]=${kv#*=}; done
  done < <(grep '^result ' "$1" || true)
}
median() { printf '%s\n' "$@" | python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.stdin))'; }
section() { printf '\n=== %s\n' "$*"; }

section "machine"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "command: $0 $args"
for b in "${builds[@]}"; do
  echo "build $b: CMAKE_BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$b/CMakeCache.txt"), commit" \
    "$(git -C "$root" log -1 --format=%h 2>/dev/null || echo ?) of the tree (the build's own may differ)"
done
echo "nproc: $(nproc); CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
  "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

section "data and models"
python3 "$here/replicate_pdm.py" --data "$data" --copies "$copies" --out "$T/data"
for r in $rounds_list; do
  t0=$EPOCHREALTIME
  "$B/pdm-train" --data "$T/data" --out "$T/m$r" --rounds "$r" --log-level warn >"$T/train-$r.log" 2>&1 \
    || { tail "$T/train-$r.log"; pdm_fail "pdm-train --rounds $r failed"; }
  echo "pdm-train --rounds $r: $(echo "$EPOCHREALTIME - $t0" | bc | xargs printf '%.1f') s;" \
    "the trainer's thresholds: $(python3 -c 'import json, sys; t = json.load(open(sys.argv[1]))["thresholds"]; print(t["warn"], t["critical"])' "$T/m$r/model.json")"
done

pdm_start_redis
pdm_start_broker "$partitions" --topic pdm.events,pdm.risk,pdm.dlq -X socket.nagle.disable=true
"$B/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" --topic pdm.events 2>"$T/replay.log" \
  || { cat "$T/replay.log"; pdm_fail "replay failed"; }
grep -o 'replay: .*' "$T/replay.log"
delivered=$(sed -n 's/.* \([0-9]*\) delivered.*/\1/p' "$T/replay.log" | tail -1)

section "ceilings"
"$B/bench-stream-raw" consume --brokers "$PDM_BROKERS" --topic pdm.events --runs "$runs" | tee "$T/raw.txt"
collect "$T/raw.txt"
echo "-- redis-benchmark -P 64, the scorer's commands:"
R[redis_event_rate]=$(bench_redis_ceiling "$PDM_REDIS_PORT" "$T/redis-bench.csv")
echo "=> telemetry writes: ${R[redis_event_rate]} events/s"
for r in $rounds_list; do
  echo "-- model of $r rounds (bench-stream-model):"
  "$B/bench-stream-model" --model "$T/m$r" --data "$T/data" --label "m$r" --runs "$runs" \
    --explain-rows 2000 --warn-share "$warn_share" --critical-share "$critical_share" | tee "$T/model-$r.txt"
  collect "$T/model-$r.txt"
done

section "catch-up: pdm-scorer --emit all --exit-at-end, one topic of $partitions partitions, $runs run(s)"
declare -A rates
for r in $rounds_list; do
  for pred in native xgboost; do
    for run in $(seq "$runs"); do
      for i in "${!builds[@]}"; do
        name=m$r-$pred-b$i-$run
        echo "-- $r rounds, --predictor $pred, --warn ${R[m${r}_warn]} --critical ${R[m${r}_critical]}, build $i (${builds[$i]}), run $run:"
        # Builds before the machines table (issue 14) know no --machines-topic.
        # (captured, then searched: grep -q closing a pipe fails it under pipefail)
        table=() help=$("${builds[$i]}/bin/pdm-scorer" --help 2>&1)
        if grep -q -- --machines-topic <<<"$help"; then
          table=(--machines-topic "")
        fi
        B=${builds[$i]}/bin bench_catchup "$name" "$delivered" --brokers "$PDM_BROKERS" \
          --model "$T/m$r" --group "c-$name" --topics pdm.events "${table[@]}" \
          --predictor "$pred" --warn "${R[m${r}_warn]}" --critical "${R[m${r}_critical]}" | sed 's/^/  /'
        collect "$T/catchup-$name.txt"
        [ "${R[complete]}" = 1 ] || echo "  WARNING: not every message was consumed"
        rates[m$r-$pred-b$i]+="${R[rate]} "
      done
    done
  done
done

section "summary (medians of $runs run(s); ceilings from this run)"
echo "raw consume ${R[raw_consume_rate]} msgs/s; redis telemetry writes ${R[redis_event_rate]} events/s"
for r in $rounds_list; do
  echo "model of $r rounds: XGBoost batch ${R[m${r}_batch_rate]:-?} rows/s, native batch" \
    "${R[m${r}_native_batch_rate]:-?} rows/s, with TreeSHAP for ${R[m${r}_alert_share]:-?} alerts" \
    "${R[m${r}_with_reasons_rate]:-?} events/s"
done
for key in $(printf '%s\n' "${!rates[@]}" | sort); do
  # shellcheck disable=SC2086
  m=$(median ${rates[$key]} | xargs printf '%.0f')
  echo "catch-up $key: $m events/s (runs: ${rates[$key]}) = $(echo "100 * $m / ${R[raw_consume_rate]}" | bc) % of raw consume"
done
echo "(build i is the i-th --build; the loop's stage account of each run is above)"
