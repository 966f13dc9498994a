#!/usr/bin/env bash
# redis_cluster_flush_fence: scorer_flush_fence's race against a Redis
# Cluster (issue 18): a FLUSHALL of one master that lands between a batch's
# state load and its writes must not resurrect the batch's machines on that
# master, and must not cost the machines of the other masters their writes.
# One master is reached through redis_flush_proxy.py: it announces the
# proxy's port as its own (CONFIG SET cluster-announce-port), so CLUSTER
# SLOTS and redirects send the scorer through the proxy, which runs FLUSHALL
# on that master right before the first write of a batch reaches it.
#  1. Events of March are scored (the newer part of a simulated fleet).
#  2. The last hour of March comes as one batch; the flush of the proxied
#     master lands between its load and its writes. Afterwards none of that
#     master's machines may have state (their batch was loaded under the old
#     epoch: before the cluster fence their writes ran and the meta hash
#     survived with no telemetry under it); every other machine keeps its
#     state, newest = the last hour.
#  3. The scorer notices the loss once (logged, pdm_state_lost_total 1).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/redis_cluster.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP

pdm_start_redis_cluster
pdm_start_broker 1 --topic pdm.live,risk.out
read -ra masters <<<"$(pdm_cluster_masters | tr '\n' ' ')"
[ "${#masters[@]}" = 3 ] || pdm_fail "want 3 masters, have ${masters[*]}"

# The proxied master: the one that holds machine 1 (so at least one machine).
owner() { # the master port holding machine $1's keys (the others answer MOVED)
  local m
  for m in "${masters[@]}"; do
    case $(pdm_cluster_cli "$m" exists "pdm:{$1}:meta" 2>&1) in 0 | 1) echo "$m"; return ;; esac
  done
}
flushed=$(owner 1)
[ -n "$flushed" ] || pdm_fail "no master owns machine 1's slot"
$SL_PY "$PDM_SOURCE_DIR/tests/runtime/redis_flush_proxy.py" "$flushed" "$T/proxy.port" \
  "$T/flush.trigger" "$T/flush.done" 2>"$T/proxy.log" &
proxy=$!
pdm_track "$proxy"
pdm_wait_until 10 test -s "$T/proxy.port" || pdm_fail "the proxy did not start: $(cat "$T/proxy.log")"
proxy_port=$(cat "$T/proxy.port")
pdm_cluster_cli "$flushed" config set cluster-announce-port "$proxy_port" >/dev/null
announced() { # every master's CLUSTER SLOTS names the proxy
  local m
  for m in "${masters[@]}"; do
    pdm_cluster_cli "$m" cluster slots | grep -qx "$proxy_port" || return 1
  done
}
pdm_wait_until 20 announced || pdm_fail "the cluster does not announce the proxy's port $proxy_port"

sl_sim "$T/data" 6 2000 11
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 5
sl_split "$T/data" "2015-03-01 00:00:00" "$T/old" "$T/new"
last=$(tail -n 1 "$T/new/PdM_telemetry.csv" | cut -c1-19)
sl_split "$T/new" "$last" "$T/march" "$T/last_hour"
count() { tail -n +2 "$1" | wc -l; }
march_rows=$(count "$T/march/PdM_telemetry.csv")
last_rows=$(count "$T/last_hour/PdM_telemetry.csv")
[ "$last_rows" = 6 ] || pdm_fail "the last hour holds $last_rows readings, want one per machine"

# --max-wait 2s: the last hour's messages, produced together, make one batch.
sl_scorer "$T/scorer.log" --redis "$PDM_CLUSTER_URL" --model "$T/model" --group fence \
  --topics pdm.live --machines-topic "" --risk-topic risk.out --emit all --max-wait 2s \
  --dump-features "$T/out.csv"
scorer=$SL_PID
sl_wait_log "$T/scorer.log" "http listening on port" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/scorer.log" | head -1)
metric() {
  $SL_PY - "http://127.0.0.1:$port/metrics" "$1" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
vals = [l.split()[-1] for l in body.splitlines() if l.split(" ")[0] == sys.argv[2]]
print(vals[0] if vals else 0)
PY
}
# newest MACHINE: its meta hash's newest telemetry time on its master ("" if none).
newest() { pdm_cluster_cli "$(owner "$1")" hget "pdm:{$1}:meta" newest; }

# 1. March.
sl_replay "$T/march" pdm.live
sl_wait_rows "$T/out.csv" "$march_rows" 60
for m in 1 2 3 4 5 6; do
  [ -n "$(newest "$m")" ] || pdm_fail "after March, machine $m has no state"
done
march_newest=$(newest 1)

# 2. The last hour, FLUSHALL of one master between its load and its writes.
batches_before=$(metric pdm_scoring_batch_size_count)
touch "$T/flush.trigger"
sl_replay "$T/last_hour" pdm.live
pdm_wait_until 30 test -e "$T/flush.done" || pdm_fail "no write reached the proxy: $(tail -5 "$T/scorer.log")"
sl_wait_rows "$T/out.csv" $((march_rows + last_rows)) 30
batches=$(($(metric pdm_scoring_batch_size_count) - batches_before))
[ "$batches" = 1 ] || pdm_fail "the last hour came in $batches batches, want 1: the flush did not hit them all in flight"
sleep 1 # the batch's writes settle (or are fenced)
survivors="" lost=""
for m in 1 2 3 4 5 6; do
  n=$(newest "$m")
  if [ "$(owner "$m")" = "$flushed" ]; then
    [ -z "$n" ] || survivors="$survivors machine $m (newest=$n, tel=$(pdm_cluster_cli "$flushed" zcard "pdm:{$m}:tel"))"
  elif [ -z "$n" ] || [ "$n" = "$march_newest" ]; then
    lost="$lost machine $m (newest=${n:-none})"
  fi
done
grep -qx 1 "$T/flush.done" || pdm_fail "the held write does not name machine 1: $(tr '\n' ' ' <"$T/flush.done")"
[ -z "$survivors" ] || pdm_fail "state loaded before the FLUSHALL of its master was written after it:$survivors"
[ -z "$lost" ] || pdm_fail "machines of the other masters lost the last hour's writes:$lost"

# 3. The loss is noticed once.
sl_wait_log "$T/scorer.log" "state was lost" 1 15
[ "$(metric pdm_state_lost_total)" = 1 ] || pdm_fail "pdm_state_lost_total is $(metric pdm_state_lost_total), want 1"
pdm_stop_check "$scorer" pdm-scorer "$T/scorer.log"
echo "redis_cluster_flush_fence: ok"
