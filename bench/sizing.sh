#!/usr/bin/env bash
# bench/sizing.sh: the inputs of the README's sizing model, measured, and the
# table they give (issue 18; not a test).
#
#   bench/sizing.sh [--build DIR] [--fleets N1,N2] [--hours H]
#                   [--minute-machines M] [--catchup RATE] [--utilization U]
#                   [--batch-size N] [--cluster] [--master-gib G] [--scorer-gib G]
#
# Starts its own redis-server and pdm-broker (by pid, in a temporary
# directory, through tests/harness.sh), trains the default model (pdm-train's
# defaults, native evaluator) on a small fleet, then runs pdm-scorer (its
# defaults: --emit incidents, --lateness 48h; --state-cache 1024, so that
# every machine's state stays cached, as a deployment sizes it; --batch-size
# 100, so that a batch holds about one reading of each machine, as a live
# scorer's small batches do) to the end of each stream, on a fresh Redis
# each time:
#   hourly-small, hourly-large: pdm-sim fleets of N1 and N2 machines x H
#     hours, one reading an hour (the data set's cadence);
#   minute: M machines x H hours, the same readings repeated every minute;
#   hourly-large-cache4: hourly-large again with the default 4 MiB state
#     cache, too small for N2 machines (what an undersized cache costs);
#   hourly-large-cluster (with --cluster): hourly-large on a Redis Cluster of
#     3 masters and 3 replicas (tests/redis_cluster.sh), the figures summed
#     over the masters (WAIT and the per-slot FLUSHALL fence included).
# H (default 76) covers the 72 h a machine's telemetry is kept (24 h window
# + 48 h lateness), so Redis holds each machine's steady state at the end.
# For each run: Redis commands (INFO commandstats), bytes in and out
# (total_net_input_bytes / total_net_output_bytes) and CPU (used_cpu_*)
# deltas per telemetry event, used_memory per machine, the mean telemetry
# entries a machine keeps (ZCARD), the scorer's CPU (user + sys) and peak
# RSS (/usr/bin/time). These are counts, not timings, so a busy machine does
# not move them (batch boundaries do a little). The scorer's CPU and RSS per
# event / machine are slopes between the two hourly fleets. Its catch-up
# rate is noisy here: the table takes one scorer's rate from --catchup
# (default 132,400 events/s, bench/README.md's latest bench/stream.sh median
# with the default model) and prints this run's rates beside it.
# Then bench/sizing.py prints the inputs and the sizing for 10 k .. 10 M
# machines at one reading a minute and a second (see its rules).
# Defaults: N 500,5000, H 76, M 100 (about 4 minutes on 2 cores).
# Programs come from DIR/bin (default build-bench; a Release build).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
source "$here/lib.sh"
build=$root/build-bench
fleets=500,5000
hours=76
minute_machines=100
batch_size=100
cluster=0
table_args=()
args="$*" # as given, for the report
while [ $# -gt 0 ]; do
  case $1 in
  --build) build=$2; shift 2 ;;
  --fleets) fleets=$2; shift 2 ;;
  --hours) hours=$2; shift 2 ;;
  --minute-machines) minute_machines=$2; shift 2 ;;
  --batch-size) batch_size=$2; shift 2 ;;
  --cluster) cluster=1; shift ;;
  --catchup | --utilization | --master-gib | --scorer-gib) table_args+=("$1" "$2"); shift 2 ;;
  -h | --help) bench_help "$0"; exit 0 ;;
  *) bench_bad_arg "$0" "$1" ;;
  esac
done
small=${fleets%,*} large=${fleets#*,}
export PDM_BIN=$build/bin
B=$PDM_BIN
bench_require "$0" "$build" pdm-broker pdm-sim pdm-train pdm-producer pdm-scorer -- redis-server redis-cli /usr/bin/time

source "$root/tests/harness.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
py=/usr/bin/python3
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo ?)"
echo "command: $0 $args  (build $build, CMAKE_BUILD_TYPE=${build_type:-?})"
echo "nproc: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | cut -d' ' -f1-3)"

pdm_start_redis
if [ "$cluster" = 1 ]; then
  source "$root/tests/redis_cluster.sh"
  pdm_start_redis_cluster
fi
pdm_start_broker 16 --topic hourly-small,hourly-large,minute,pdm.risk,pdm.dlq -X socket.nagle.disable=true
# The servers a run writes to: one node, or the cluster's masters (ports).
url=$PDM_REDIS_URL ports=$PDM_REDIS_PORT
# info FILE: INFO of every server into FILE (sizing.py sums the numbers).
info() { local p; for p in $ports; do redis-cli -p "$p" info all; done >"$1"; }

"$B/pdm-sim" --out "$T/train" --machines 50 --hours 2000 --seed 7 --log-level warn
"$B/pdm-train" --data "$T/train" --out "$T/model" --log-level warn >"$T/train.log" 2>&1 \
  || { tail "$T/train.log"; pdm_fail "pdm-train failed"; }

# stream LABEL DATA: replays DATA's CSVs into topic LABEL.
stream() {
  "$B/pdm-producer" replay --data "$2" --brokers "$PDM_BROKERS" --topic "$1" 2>"$T/replay-$1.log" \
    || { tail -3 "$T/replay-$1.log"; pdm_fail "replay $1 failed"; }
}
"$B/pdm-sim" --out "$T/small" --machines "$small" --hours "$hours" --seed 1 --log-level warn
"$B/pdm-sim" --out "$T/large" --machines "$large" --hours "$hours" --seed 1 --log-level warn
"$B/pdm-sim" --out "$T/hour" --machines "$minute_machines" --hours "$hours" --seed 1 --log-level warn
$py "$here/sizing.py" minutes "$T/hour" "$T/minute"
stream hourly-small "$T/small"
stream hourly-large "$T/large"
stream minute "$T/minute"

# measure LABEL TOPIC DATA [SCORER-ARGS...]: pdm-scorer over TOPIC (DATA's
# replay) to its end on a fresh Redis; appends its result line to
# $T/results.
measure() {
  local label=$1 topic=$2 data=$3 log=$T/scorer-$1.log events machines
  shift 3
  events=$(($(wc -l <"$data/PdM_telemetry.csv") - 1))
  machines=$(($(wc -l <"$data/PdM_machines.csv") - 1))
  local p
  for p in $ports; do redis-cli -p "$p" flushall >/dev/null; done
  info "$T/before-$label"
  /usr/bin/time -o "$T/time-$label" -f '%e %M %U %S' \
    "$B/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$url" --model "$T/model" \
    --group "sizing-$label" --topics "$topic" --machines-topic "" --exit-at-end \
    --batch-size "$batch_size" -X fetch.wait.max.ms=10 --log-level info "$@" 2>"$log" \
    || { tail -20 "$log" >&2; pdm_fail "pdm-scorer failed ($label)"; }
  info "$T/after-$label"
  # The mean telemetry entries a machine keeps: ZCARD of every machine's
  # sorted set, on the server that holds it.
  local entries
  entries=$(for p in $ports; do
    redis-cli -p "$p" --scan --pattern 'pdm:{*}:tel' | sed 's/^/ZCARD /' | redis-cli -p "$p"
  done | awk '{s += $1} END {printf "%.2f", s / '"$machines"'}')
  $py "$here/sizing.py" measure "$label" "$T/before-$label" "$T/after-$label" "$T/time-$label" \
    "$log" "$events" "$machines" "$entries" | tee -a "$T/results"
}
measure hourly-small hourly-small "$T/small" --state-cache 1024
measure hourly-large hourly-large "$T/large" --state-cache 1024
measure minute minute "$T/minute" --state-cache 1024
measure hourly-large-cache4 hourly-large "$T/large"
if [ "$cluster" = 1 ]; then
  url=$PDM_CLUSTER_URL ports=$(pdm_cluster_masters | tr '\n' ' ')
  measure hourly-large-cluster hourly-large "$T/large" --state-cache 1024
fi

echo
$py "$here/sizing.py" table "$T/results" "${table_args[@]}"
echo
echo "reproduce: bench/sizing.sh $args"
