#!/usr/bin/env bash
# scorer_machines_bound: the scorer's memory does not grow with every
# machine id ever seen (issue 16, item 4). A fleet of 20,000 machines with
# two readings each (and their MachineInfo on the machines table) is scored
# by a scorer with --max-machines 1000 and a 1 MiB state cache:
#  - every reading is scored (eviction loses no row);
#  - pdm_machines_held{structure} never exceeds the bound for the silence
#    tracker, the live-performance tracker and the machines table (sampled
#    while the replay runs, and at the end), and /v1/drift counts at most
#    1,000 machines in the performance tracker;
#  - pdm_machines_evicted_total{structure} counts the evictions: at least
#    the 19,000 machines beyond the bound for those three, and some for the
#    state cache (1 MiB holds fewer than 20,000 machines).
# The same run with the default bound (1,000,000) evicts nothing and holds
# all 20,000: the bound, not the data, is what keeps the counts low.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
machines=20000
bound=1000

pdm_start_redis
pdm_start_broker 2
sl_sim "$T/train" 6 300 11
sl_train "$T/train" "$T/train.log" --out "$T/model" --rounds 4
sl_sim "$T/fleet" "$machines" 2 3
rows=$(($(wc -l <"$T/fleet/PdM_telemetry.csv") - 1))
[ "$rows" = $((2 * machines)) ] || pdm_fail "the fleet has $rows readings, want $((2 * machines))"
# One topic per type and the machines table (pdm.machines): the defaults.
"$PDM_BIN/pdm-producer" replay --data "$T/fleet" --brokers "$PDM_BROKERS" 2>"$T/producer.log" \
  || pdm_fail "replay failed: $(tail -5 "$T/producer.log")"

# run NAME DB MAX: a scorer over the whole replay; leaves its port in $port.
# Thresholds below every risk: each reading alerts, so the live-performance
# tracker (which keeps only machines with an alert window open or a recent
# failure) would hold every machine without its bound, whatever the model.
run() {
  sl_scorer "$T/$1.log" --redis "$PDM_REDIS_URL/$2" --model "$T/model" --group "$1" \
    --max-machines "$3" --state-cache 1 --dump-features "$T/$1.csv" \
    --warn 1e-9 --critical 2e-9
  scorer=$SL_PID
  sl_wait_log "$T/$1.log" "http listening on port" 1 30
  port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/$1.log" | head -1)
}
# metrics: the scorer's /metrics into $T/metrics.
metrics() {
  $SL_PY - "http://127.0.0.1:$port/metrics" >"$T/metrics" <<'PY'
import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
PY
}
# value NAME STRUCTURE: a structure's series from $T/metrics (0 if absent).
value() {
  awk -v k="$1{structure=\"$2\"}" '$1 == k {v = $2} END {print v + 0}' "$T/metrics"
}
# check_held: every bounded structure holds at most the bound.
check_held() {
  local s held
  for s in silence perf table; do
    held=$(value pdm_machines_held "$s")
    [ "$held" -le "$bound" ] || pdm_fail "pdm_machines_held{structure=\"$s\"} is $held, over the bound $bound"
  done
}

run bounded 0 "$bound"
samples=0 deadline=$((SECONDS + 180))
until [ "$(sl_rows "$T/bounded.csv")" -ge "$rows" ]; do
  metrics
  check_held
  samples=$((samples + 1))
  [ "$SECONDS" -lt "$deadline" ] || pdm_fail "$(sl_rows "$T/bounded.csv") of $rows rows scored after 180 s"
  sleep 0.1
done
echo "bounds held in $samples samples while the replay was scored"
sleep 0.5
metrics
check_held
for s in silence perf table; do
  evicted=$(value pdm_machines_evicted_total "$s")
  [ "$evicted" -ge $((machines - bound)) ] \
    || pdm_fail "pdm_machines_evicted_total{structure=\"$s\"} is $evicted, want at least $((machines - bound))"
  echo "$s: $(value pdm_machines_held "$s") held, $evicted evicted"
done
cache_evicted=$(value pdm_machines_evicted_total state_cache)
[ "$cache_evicted" -gt 0 ] || pdm_fail "the 1 MiB state cache evicted nothing for $machines machines"
echo "state_cache: $(value pdm_machines_held state_cache) held, $cache_evicted evicted"
drift=$($SL_PY -c 'import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
print(d["performance"]["machines"], d["performance"]["machines_evicted"])' "http://127.0.0.1:$port/v1/drift")
read -r perf_machines perf_evicted <<<"$drift"
[ "$perf_machines" -le "$bound" ] || pdm_fail "/v1/drift counts $perf_machines machines, over the bound"
[ "$perf_evicted" -ge $((machines - bound)) ] || pdm_fail "/v1/drift says $perf_evicted evicted"
rss_bounded=$(awk '/^VmRSS/ {print $2}' "/proc/$scorer/status")
pdm_stop_check "$scorer" pdm-scorer "$T/bounded.log"
[ "$(sl_rows "$T/bounded.csv")" = "$rows" ] || pdm_fail "$(sl_rows "$T/bounded.csv") rows scored, want $rows"

# The default bound: nothing evicted, everything held.
run unbounded 1 1000000
sl_wait_rows "$T/unbounded.csv" "$rows" 180
sleep 0.5
metrics
for s in silence perf table; do
  [ "$(value pdm_machines_held "$s")" = "$machines" ] \
    || pdm_fail "default bound: $s holds $(value pdm_machines_held "$s"), want $machines"
  [ "$(value pdm_machines_evicted_total "$s")" = 0 ] || pdm_fail "default bound: $s evicted some"
done
rss_unbounded=$(awk '/^VmRSS/ {print $2}' "/proc/$scorer/status")
pdm_stop_check "$scorer" pdm-scorer "$T/unbounded.log"
echo "RSS after $machines machines: $rss_bounded kB with --max-machines $bound, $rss_unbounded kB with the default"
echo "scorer_machines_bound: ok"
