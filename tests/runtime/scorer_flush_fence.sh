#!/usr/bin/env bash
# scorer_flush_fence: a FLUSHALL that lands between a batch's state load and
# its writes must not resurrect the batch's machines (issue 16, item 1).
# The race is made deterministic by redis_flush_proxy.py, a relay between
# the scorer and a real redis-server that runs FLUSHALL right before the
# first write command of the batch reaches Redis (the load already done).
#  1. Events of March are scored (the newer part of a simulated fleet).
#  2. The last hour of March comes as one batch; the flush lands between
#     its load and its writes. Afterwards no machine's state may be in
#     Redis: the batch was loaded under the old epoch, so its writes (meta
#     hash with a newest telemetry time of March, source offsets) must not
#     run. Before the fence they did, and the meta hash survived with no
#     telemetry under it.
#  3. The January and February events then come (older than March by more
#     than the allowed lateness): Redis was flushed, so the scorer starts
#     them afresh and scores every one; none is a dead letter as `late`
#     (they all were before the fence).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP

pdm_start_redis
pdm_start_broker 1 --topic pdm.live,risk.out
$SL_PY "$PDM_SOURCE_DIR/tests/runtime/redis_flush_proxy.py" "$PDM_REDIS_PORT" "$T/proxy.port" \
  "$T/flush.trigger" "$T/flush.done" 2>"$T/proxy.log" &
proxy=$!
pdm_track "$proxy"
pdm_wait_until 10 test -s "$T/proxy.port" || pdm_fail "the proxy did not start: $(cat "$T/proxy.log")"
proxy_port=$(cat "$T/proxy.port")

sl_sim "$T/data" 6 2000 11
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 5
sl_split "$T/data" "2015-03-01 00:00:00" "$T/old" "$T/new"
last=$(tail -n 1 "$T/new/PdM_telemetry.csv" | cut -c1-19)
sl_split "$T/new" "$last" "$T/march" "$T/last_hour"
count() { tail -n +2 "$1" | wc -l; }
march_rows=$(count "$T/march/PdM_telemetry.csv")
last_rows=$(count "$T/last_hour/PdM_telemetry.csv")
old_rows=$(count "$T/old/PdM_telemetry.csv")
[ "$last_rows" = 6 ] || pdm_fail "the last hour holds $last_rows readings, want one per machine"
last_messages=$(($(cat "$T"/last_hour/PdM_*.csv | wc -l) - 5 - 6)) # headers, machines file

# --max-wait 2s: the last hour's messages, produced together, make one batch.
sl_scorer "$T/scorer.log" --redis "redis://127.0.0.1:$proxy_port/0" --model "$T/model" --group fence \
  --topics pdm.live --machines-topic "" --risk-topic risk.out --emit all --max-wait 2s \
  --dump-features "$T/out.csv"
scorer=$SL_PID
sl_wait_log "$T/scorer.log" "http listening on port" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/scorer.log" | head -1)
# metric NAME: its value on /metrics (0 if absent).
metric() {
  $SL_PY - "http://127.0.0.1:$port/metrics" "$1" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
vals = [l.split()[-1] for l in body.splitlines() if l.split(" ")[0] == sys.argv[2]]
print(vals[0] if vals else 0)
PY
}
meta_keys() { redis-cli -p "$PDM_REDIS_PORT" --scan --pattern 'pdm:{*}:meta' | sort; }

# 1. March.
sl_replay "$T/march" pdm.live
sl_wait_rows "$T/out.csv" "$march_rows" 60
[ "$(meta_keys | wc -l)" = 6 ] || pdm_fail "after March, Redis holds $(meta_keys | wc -l) machines, want 6"

# 2. The last hour, FLUSHALL between its load and its writes.
batches_before=$(metric pdm_scoring_batch_size_count)
touch "$T/flush.trigger"
sl_replay "$T/last_hour" pdm.live
pdm_wait_until 30 test -e "$T/flush.done" || pdm_fail "no write reached the proxy: $(tail -5 "$T/scorer.log")"
sl_wait_rows "$T/out.csv" $((march_rows + last_rows)) 30
batches=$(($(metric pdm_scoring_batch_size_count) - batches_before))
[ "$batches" = 1 ] || pdm_fail "the last hour ($last_messages messages) came in $batches batches, want 1: the flush did not hit them all in flight"
[ "$(wc -l <"$T/flush.done")" = 6 ] || pdm_fail "the held write names machines $(tr '\n' ' ' <"$T/flush.done"), want all 6"
sleep 1 # the batch's writes settle (or are fenced)
survivors=""
for key in $(meta_keys); do
  survivors="$survivors $key(newest=$(redis-cli -p "$PDM_REDIS_PORT" hget "$key" newest),tel=$(redis-cli -p "$PDM_REDIS_PORT" zcard "${key%meta}tel"))"
done
[ -z "$survivors" ] || pdm_fail "state loaded before the FLUSHALL was written after it:$survivors"

# 3. January and February: scored from scratch, none late.
sl_replay "$T/old" pdm.live
sl_wait_log "$T/scorer.log" "state was lost" 1 15
total=$((march_rows + last_rows + old_rows))
if ! pdm_wait_until 60 _sl_rows_at_least "$T/out.csv" "$total"; then
  pdm_fail "$(sl_rows "$T/out.csv") of $total rows scored; late dead letters: $(metric 'pdm_bad_messages_total{reason="late"}')"
fi
late=$(metric 'pdm_bad_messages_total{reason="late"}')
[ "$late" = 0 ] || pdm_fail "$late events went to the DLQ as late after the FLUSHALL"
[ "$(meta_keys | wc -l)" = 6 ] || pdm_fail "after January and February, Redis holds $(meta_keys | wc -l) machines, want 6"
[ "$(metric pdm_state_lost_total)" = 1 ] || pdm_fail "pdm_state_lost_total is $(metric pdm_state_lost_total), want 1"
pdm_stop_check "$scorer" pdm-scorer "$T/scorer.log"
[ "$(grep -c "state was lost" "$T/scorer.log")" = 1 ] || pdm_fail "state loss logged $(grep -c "state was lost" "$T/scorer.log") times, want once"
echo "scorer_flush_fence: ok"
