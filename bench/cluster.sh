#!/usr/bin/env bash
# bench/cluster.sh: catch-up of one pdm-scorer on one redis-server against the
# same scorer on a Redis Cluster (3 masters, 3 replicas on loopback), in the
# same run (not a test; issue 18's "cluster not slower than 80% of one node").
#
#   bench/cluster.sh [--build DIR] [--runs N] [--machines M] [--hours H]
#                    [--partitions P] [--quick]
#
# Starts its own redis-server, Redis Cluster (tests/redis_cluster.sh) and
# pdm-broker (by pid, in a temporary directory, through tests/harness.sh),
# simulates M machines x H hours, trains a small model (20 rounds), replays
# the backlog once, then runs, N times alternately, one node then the
# cluster: FLUSHALL (every master), a new group, pdm-scorer --emit all
# --exit-at-end; the rate is telemetry events / the seconds from the
# assignment to the end of the topic (bench/scorer_log.py). Prints every run,
# with the Redis commands per telemetry event (INFO commandstats of every
# server written to), the medians and "result cluster_vs_one=RATIO" (the
# cluster's median over one node's). Defaults: 200 machines x 2,000 h
# (400,000 telemetry events), 16 partitions, 3 runs; --quick: 100 x 1,000 h,
# 1 run (about a minute).
# Programs come from DIR/bin (default build-bench; a Release build).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
source "$here/lib.sh"
build=$root/build-bench
runs=3
machines=200
hours=2000
partitions=16
while [ $# -gt 0 ]; do
  case $1 in
  --build) build=$2; shift 2 ;;
  --runs) runs=$2; shift 2 ;;
  --machines) machines=$2; shift 2 ;;
  --hours) hours=$2; shift 2 ;;
  --partitions) partitions=$2; shift 2 ;;
  --quick) runs=1 machines=100 hours=1000; shift ;;
  -h | --help) bench_help "$0"; exit 0 ;;
  *) bench_bad_arg "$0" "$1" ;;
  esac
done
export PDM_BIN=$build/bin
B=$PDM_BIN
bench_require "$0" "$build" pdm-broker pdm-sim pdm-train pdm-producer pdm-scorer -- redis-server redis-cli

source "$root/tests/harness.sh"
source "$root/tests/redis_cluster.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
pdm_start_redis
pdm_start_redis_cluster
pdm_start_broker "$partitions" --topic pdm.events
echo "machine: $(nproc) cores, $(uname -r); redis $PDM_REDIS_URL; cluster $PDM_CLUSTER_URL"

"$B/pdm-sim" --out "$T/data" --machines "$machines" --hours "$hours" --seed 1 2>"$T/sim.log"
"$B/pdm-train" --data "$T/data" --out "$T/model" --rounds 20 --nthread 2 >"$T/train.log" 2>&1 \
  || { tail "$T/train.log"; exit 1; }
telemetry=$(($(wc -l <"$T/data/PdM_telemetry.csv") - 1))
"$B/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" --topic pdm.events 2>"$T/producer.log"
echo "backlog: $telemetry telemetry events, $machines machines, $partitions partitions"

# nodes LABEL: the ports of the Redis servers a run writes to.
nodes() { if [ "$1" = one ]; then echo "$PDM_REDIS_PORT"; else pdm_cluster_masters; fi; }
# calls LABEL: the commands those servers ran (INFO commandstats, summed).
calls() {
  local p
  for p in $(nodes "$1"); do redis-cli -p "$p" info commandstats; done \
    | sed -n 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\).*/\1 \2/p' \
    | awk '$1 != "info" && $1 != "config" && $1 != "flushall" {s += $2} END {print s + 0}'
}

# catchup LABEL URL RUN: one run to the end of the backlog; prints its rate
# and the Redis commands per telemetry event (all nodes).
catchup() {
  local label=$1 url=$2 run=$3 log=$T/$1-$3.log p
  for p in $(nodes "$label"); do
    redis-cli -p "$p" flushall >/dev/null
    redis-cli -p "$p" config resetstat >/dev/null
  done
  "$B/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$url" --model "$T/model" \
    --group "bench-$label-$run" --topics pdm.events --machines-topic "" --emit all --exit-at-end \
    -X fetch.wait.max.ms=10 --log-level info 2>"$log" \
    || { tail -20 "$log" >&2; pdm_fail "pdm-scorer failed ($label, run $run)"; }
  /usr/bin/python3 - "$log" "$here" "$telemetry" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import scorer_log
r = scorer_log.read(sys.argv[1])
if r["scored"] != int(sys.argv[3]):
    sys.exit(f"{r['scored']} scored of {sys.argv[3]}")
print(f"{r['scored'] / r['span']:.0f}")
PY
  echo "scale=2; $(calls "$label") / $telemetry" | bc >"$T/cmds-$label-$run"
}

one=() cluster=()
for run in $(seq "$runs"); do
  one+=("$(catchup one "$PDM_REDIS_URL" "$run")")
  cluster+=("$(catchup cluster "$PDM_CLUSTER_URL" "$run")")
  echo "run $run: one node ${one[-1]} events/s ($(cat "$T/cmds-one-$run") Redis commands an event)," \
    "cluster ${cluster[-1]} events/s ($(cat "$T/cmds-cluster-$run") an event, all masters)"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
m1=$(median "${one[@]}")
mc=$(median "${cluster[@]}")
echo "catch-up (--emit all, small model, $telemetry telemetry events): one node median $m1 events/s" \
  "(runs ${one[*]}), cluster median $mc events/s (runs ${cluster[*]})"
echo "result one=$m1 cluster=$mc cluster_vs_one=$(echo "scale=2; $mc / $m1" | bc)"
