#!/usr/bin/env bash
# bench/scaleout.sh: catch-up throughput of 1, 2, 3 (or --scorers LIST)
# pdm-scorer processes in one consumer group on the same backlog (not a
# test; issue 6's scale-out figures).
#
#   bench/scaleout.sh [--build DIR] [--scorers "1 2 3"] [--runs N]
#                     [--machines M] [--hours H] [--partitions P]
#                     [--scorer-args "ARGS"]
#
# Starts its own redis-server and pdm-broker (by pid, in a temporary
# directory, through tests/harness.sh), simulates M machines x H hours,
# trains a small model (20 rounds, the catch-up target's), replays the
# backlog once into a P-partition topic (checked against the mock's ~5 MB
# per partition retention), then for each scorer count and run: FLUSHALL,
# a new group id (so every run reads the whole backlog), N scorers with
# --emit all started together; the rate is telemetry events / the time
# from the first RiskEvent to the last (pdm.risk's end offsets, polled
# every 0.1 s: group joins are not counted). Prints one line per run (with
# the CPU time, user + system, of the scorers, the broker and redis-server,
# from /proc) and the medians. Defaults: 60 machines x 5,000 h (300,000 telemetry events),
# 6 partitions, 3 runs. ARGS are added to every pdm-scorer command line
# (e.g. "--batch-size 500"). Programs come from DIR/bin (default build-bench).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$root/build-bench
counts="1 2 3"
runs=3
machines=60
hours=5000
partitions=6
scorer_args=
while [ $# -gt 0 ]; do
  case $1 in
  --build) build=$2; shift 2 ;;
  --scorers) counts=$2; shift 2 ;;
  --runs) runs=$2; shift 2 ;;
  --machines) machines=$2; shift 2 ;;
  --hours) hours=$2; shift 2 ;;
  --partitions) partitions=$2; shift 2 ;;
  --scorer-args) scorer_args=$2; shift 2 ;;
  -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "scaleout.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
export PDM_BIN=$build/bin
B=$PDM_BIN
for p in pdm-broker pdm-sim pdm-train pdm-producer pdm-scorer; do
  [ -x "$B/$p" ] || { echo "scaleout.sh: no $B/$p; build with: cmake -S $root -B $build" \
    "-DCMAKE_BUILD_TYPE=Release && cmake --build $build -j2" >&2; exit 2; }
done

source "$root/tests/harness.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
pdm_start_redis
pdm_start_broker "$partitions" --topic pdm.events
echo "machine: $(nproc) cores, $(uname -r); broker $PDM_BROKERS, redis $PDM_REDIS_URL"

# the hard fleet: the data bench/README.md's figures were measured on
"$B/pdm-sim" --out "$T/data" --machines "$machines" --hours "$hours" --seed 1 --difficulty hard 2>"$T/sim.log"
"$B/pdm-train" --data "$T/data" --out "$T/model" --rounds 20 --nthread 2 >"$T/train.log" 2>&1 \
  || { tail "$T/train.log"; exit 1; }
telemetry=$(($(wc -l <"$T/data/PdM_telemetry.csv") - 1))
events=$(($(cat "$T"/data/PdM_{telemetry,errors,maint,failures,machines}.csv | wc -l) - 5))
"$B/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" --topic pdm.events 2>"$T/producer.log"
in_topic=$(kcat -C -b "$PDM_BROKERS" -t pdm.events -e -q -f '\n' 2>/dev/null | wc -l)
if [ "$in_topic" != "$events" ]; then
  echo "scaleout.sh: the topic keeps $in_topic of $events events (retention): use more --partitions" >&2
  exit 1
fi
echo "backlog: $events events ($telemetry telemetry) in $partitions partitions"

# risk_end: the sum of pdm.risk's end offsets.
risk_end() {
  local args=() p
  for ((p = 0; p < partitions; p++)); do args+=(-t "pdm.risk:$p:-1"); done
  kcat -Q -b "$PDM_BROKERS" "${args[@]}" 2>/dev/null | awk '{s += $4} END {print s + 0}'
}

# cpu_of PID...: user + system CPU time of each PID, in clock ticks (1/100 s).
cpu_of() {
  local p
  for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat"; done | paste -sd' '
}

results=()
for n in $counts; do
  rates=()
  for run in $(seq "$runs"); do
    redis-cli -p "$PDM_REDIS_PORT" FLUSHALL >/dev/null
    base=$(risk_end)
    server_cpu0=$(cpu_of "$PDM_BROKER_PID" "$PDM_REDIS_PID")
    pids=()
    for i in $(seq "$n"); do
      "$B/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL/0" --model "$T/model" \
        --group "bench-$n-$run" --topics pdm.events --emit all \
        -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 $scorer_args >"$T/s$n-$run-$i.log" 2>&1 &
      pids+=($!)
      pdm_track $!
    done
    t0='' t1=''
    deadline=$((SECONDS + 600))
    while [ "$SECONDS" -lt "$deadline" ]; do
      done_n=$(($(risk_end) - base))
      now=${EPOCHREALTIME/./}
      [ -z "$t0" ] && [ "$done_n" -gt 0 ] && t0=$now
      if [ "$done_n" -ge "$telemetry" ]; then t1=$now; break; fi
      sleep 0.1
    done
    cpu=$(cpu_of "${pids[@]}")
    broker_cpu=$(($(cpu_of "$PDM_BROKER_PID") - ${server_cpu0% *}))
    redis_cpu=$(($(cpu_of "$PDM_REDIS_PID") - ${server_cpu0#* }))
    pdm_stop "${pids[@]}" || true
    [ -n "$t1" ] || { echo "scaleout.sh: $n scorer(s), run $run: not done in 600 s" >&2; exit 1; }
    rate=$((telemetry * 1000000 / (t1 - t0)))
    rates+=("$rate")
    echo "$n scorer(s), run $run: $telemetry events in $(((t1 - t0) / 1000)) ms = $rate events/s" \
      "(CPU: scorers $((($(echo "$cpu" | tr ' ' '+')) * 10)) ms, broker $((broker_cpu * 10)) ms," \
      "redis $((redis_cpu * 10)) ms)"
  done
  median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  results+=("$n scorer(s): median $median events/s (runs ${rates[*]})")
done
echo "result (--emit all, small model, $telemetry telemetry events, $partitions partitions, one redis-server):"
printf '  %s\n' "${results[@]}"
