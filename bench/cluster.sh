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
# the medians and "result cluster_vs_one=RATIO" (the cluster's median over
# one node's). Defaults: 200 machines x 2,000 h (400,000 telemetry events),
# 16 partitions, 3 runs; --quick: 100 x 1,000 h, 1 run (about a minute).
# Programs come from DIR/bin (default build-bench; a Release build).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
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
  -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "cluster.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
export PDM_BIN=$build/bin
B=$PDM_BIN
for p in pdm-broker pdm-sim pdm-train pdm-producer pdm-scorer; do
  [ -x "$B/$p" ] || { echo "cluster.sh: no $B/$p; build with: cmake -S $root -B $build" \
    "-DCMAKE_BUILD_TYPE=Release && cmake --build $build -j2" >&2; exit 2; }
done
for p in redis-server redis-cli; do
  command -v "$p" >/dev/null || { echo "cluster.sh: $p is not installed" >&2; exit 2; }
done

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

# catchup LABEL URL RUN: one run to the end of the backlog; prints its rate.
catchup() {
  local label=$1 url=$2 run=$3 log=$T/$1-$3.log
  if [ "$label" = one ]; then
    redis-cli -p "$PDM_REDIS_PORT" flushall >/dev/null
  else
    pdm_cluster_flushall
  fi
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
}

one=() cluster=()
for run in $(seq "$runs"); do
  one+=("$(catchup one "$PDM_REDIS_URL" "$run")")
  cluster+=("$(catchup cluster "$PDM_CLUSTER_URL" "$run")")
  echo "run $run: one node ${one[-1]} events/s, cluster ${cluster[-1]} events/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
m1=$(median "${one[@]}")
mc=$(median "${cluster[@]}")
echo "catch-up (--emit all, small model, $telemetry telemetry events): one node median $m1 events/s" \
  "(runs ${one[*]}), cluster median $mc events/s (runs ${cluster[*]})"
echo "result one=$m1 cluster=$mc cluster_vs_one=$(echo "scale=2; $mc / $m1" | bc)"
