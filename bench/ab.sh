#!/usr/bin/env bash
# bench/ab.sh: two builds of pdm-scorer on the same data, alternately, so
# that a change's cost shows through a noisy shared machine (not a test).
#
#   bench/ab.sh --old DIR --new DIR [--pairs N] [--what catchup,memory,idle]
#               [--new-arg ARG]...   (pdm-scorer arguments for the new build only)
#               [--new-shadow]       (the new side scores with --shadow-model too)
#               [--emit MODE]        (the catch-up's --emit, default all)
#
# --new-shadow trains a second model with pdm-train's defaults but
# --max-depth 5 (another version, as heavy as the default one) and gives the
# new side --shadow-model on it: with --old and --new the same build, the
# pairs measure what shadow scoring costs (issue 19: at most 25% of the
# catch-up rate with the default model).
# DIR is a build directory (its bin/ is used; configure it with
# -DCMAKE_BUILD_TYPE=Release). One redis-server and one pdm-broker on
# loopback (tests/harness.sh, stopped on exit), one simulated fleet and the
# old build's models, then per pair the old scorer, then the new:
#   catchup  the backlog of 100 machines x 8,760 h (64 partitions), --emit
#            all (or --emit MODE), default and small models: telemetry events/s from
#            "assigned" to "at its end", CPU seconds (user + sys) and peak
#            RSS of the process (a fresh Redis and a new group per run);
#   memory   100,000 machines x 6 h (pdm-producer simulate), --emit changes,
#            small model: peak RSS (VmHWM polled every 0.2 s);
#   idle     the scorer started on an empty topic, its RSS after 6 s.
# Every run is printed; medians per side at the end.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
old="" new="" pairs=5 what=catchup,memory,idle new_args=() new_shadow=0 emit=all
while [ $# -gt 0 ]; do
  case $1 in
  --old) old=$2; shift 2 ;;
  --new) new=$2; shift 2 ;;
  --pairs) pairs=$2; shift 2 ;;
  --what) what=$2; shift 2 ;;
  --new-arg) new_args+=("$2"); shift 2 ;;
  --new-shadow) new_shadow=1; shift ;;
  --emit) emit=$2; shift 2 ;;
  -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "ab.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$old/bin/pdm-scorer" ] && [ -x "$new/bin/pdm-scorer" ] ||
  { echo "ab.sh: give --old and --new build directories with bin/pdm-scorer" >&2; exit 2; }

export PDM_BIN=$new/bin
source "$root/tests/harness.sh"
source "$root/bench/lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
O=$old/bin
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); nproc $(nproc); old $old; new $new; pairs $pairs"
"$O/pdm-sim" --out "$T/data" --log-level warn
"$O/pdm-train" --data "$T/data" --out "$T/small" --rounds 20 --log-level warn >/dev/null 2>&1
"$O/pdm-train" --data "$T/data" --out "$T/default" --log-level warn >/dev/null 2>&1
if [ "$new_shadow" = 1 ]; then
  "$O/pdm-train" --data "$T/data" --out "$T/shadow" --max-depth 5 --log-level warn >/dev/null 2>&1
  new_args+=(--shadow-model "$T/shadow" --shadow-topic pdm.risk.shadow)
fi
pdm_start_redis

# scorer BIN GROUP ARGS...: runs pdm-scorer to the end of its topic under
# /usr/bin/time; prints "events/s cpu_s rss_mib" from its log.
scorer() {
  local bin=$1 group=$2
  shift 2
  redis-cli -p "$PDM_REDIS_PORT" flushall >/dev/null
  /usr/bin/time -o "$T/time" -f '%e %M %U %S' "$bin/pdm-scorer" --brokers "$PDM_BROKERS" \
    --redis "$PDM_REDIS_URL" --group "$group" --topics pdm.events --exit-at-end --http off \
    -X fetch.wait.max.ms=10 --log-level info "$@" 2>"$T/log" || { tail "$T/log"; exit 1; }
  # events/s, CPU seconds (user + sys), peak RSS in MiB
  read -r span _ scored _ < <(python3 "$root/bench/scorer_log.py" "$T/log")
  awk -v span="$span" -v scored="$scored" \
    '{printf "%.0f %.2f %.1f\n", scored / span, $3 + $4, $2 / 1024}' "$T/time"
}

# peak BIN GROUP ARGS...: VmHWM (MiB) of a pdm-scorer run to the end of its topic.
peak() {
  local bin=$1 group=$2 hwm
  shift 2
  redis-cli -p "$PDM_REDIS_PORT" flushall >/dev/null
  "$bin/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL" --group "$group" \
    --topics pdm.events --exit-at-end -X fetch.wait.max.ms=10 "$@" 2>"$T/log" &
  local pid=$!
  pdm_track "$pid"
  hwm=$(bench_peak_rss "$pid")
  pdm_stop "$pid" || { tail "$T/log"; exit 1; }
  echo "$hwm" | awk '{printf "%.1f\n", $1 / 1024}'
}

# idle BIN GROUP: RSS (MiB) of a scorer 6 s after its start on an empty topic.
idle() {
  "$1/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL" --model "$T/small" \
    --group "$2" --topics pdm.empty --http off 2>"$T/log" &
  local pid=$!
  pdm_track "$pid"
  sleep 6
  sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" | awk '{printf "%.1f\n", $1 / 1024}'
  pdm_stop "$pid" || true
}

# med FILE COLUMN: the median of a column.
med() { awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# pair LABEL FUNCTION ARGS...: runs FUNCTION on the old and the new build,
# pairs times, alternately, and prints each run and the medians.
pair() {
  local label=$1 fn=$2
  shift 2
  : >"$T/$label.old"
  : >"$T/$label.new"
  for i in $(seq "$pairs"); do
    for side in old new; do
      local dir=$old
      [ "$side" = new ] && dir=$new
      local r
      local extra=()
      [ "$side" = new ] && extra=("${new_args[@]}")
      r=$("$fn" "$dir/bin" "ab-$label-$side-$i-$RANDOM" "$@" "${extra[@]}")
      echo "$r" >>"$T/$label.$side"
      echo "$label $side $i: $r"
    done
  done
  for side in old new; do
    local cols
    cols=$(awk '{print NF; exit}' "$T/$label.$side")
    local out="" c
    for c in $(seq "$cols"); do out+=" $(med "$T/$label.$side" "$c")"; done
    echo "=> $label $side median:$out"
  done
}

if [[ ,$what, == *,catchup,* ]]; then
  echo "== catch-up (events/s, CPU s, peak RSS MiB)"
  pdm_start_broker 64 --topic pdm.events,pdm.risk,pdm.risk.shadow,pdm.dlq -X socket.nagle.disable=true
  "$O/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" --topic pdm.events 2>/dev/null
  pair catchup-default scorer --model "$T/default" --emit "$emit"
  pair catchup-small scorer --model "$T/small" --emit "$emit"
  pdm_stop "$PDM_BROKER_PID" || true
fi
if [[ ,$what, == *,memory,* ]]; then
  echo "== peak RSS, 100,000 machines x 6 h, --emit changes (MiB)"
  pdm_start_broker 64 --topic pdm.events,pdm.risk,pdm.dlq -X socket.nagle.disable=true
  "$O/pdm-producer" simulate --machines 100000 --hours 6 --brokers "$PDM_BROKERS" \
    --topic pdm.events 2>/dev/null
  pair memory peak --model "$T/small" --emit changes
  pdm_stop "$PDM_BROKER_PID" || true
fi
if [[ ,$what, == *,idle,* ]]; then
  echo "== RSS of an idle scorer (MiB)"
  pdm_start_broker 4 --topic pdm.empty,pdm.risk,pdm.dlq
  pair idle idle
  pdm_stop "$PDM_BROKER_PID" || true
fi
