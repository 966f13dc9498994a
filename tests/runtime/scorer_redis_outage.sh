#!/usr/bin/env bash
# scorer_redis_outage: pdm-scorer when Redis goes away and when it loses
# its data, on a live stream (a replay paced at 2,000 events/s).
#  1. redis-server (AOF, appendfsync everysec) is stopped mid-stream and
#     started again 3 s later on the same port with the same files. The
#     scorer's /readyz turns 503 naming redis, then 200 again; it logs once
#     that Redis is unavailable and once that it is back (not per event or
#     batch), counts the failed round trips (pdm_redis_errors_total),
#     completes no batch meanwhile (its output, hence its commit, waits), and
#     resumes by itself: every row is scored once, with the features of a
#     clean computation (the trainer's dump: stream_parity shows a clean
#     streaming run equals it), all rows and each machine's last.
#  2. FLUSHALL while the scorer idles: it logs "state was lost" within 10 s
#     and goes on. The state is rebuilt from the events that arrive
#     afterwards: the rows after the flush equal those of a scorer started
#     on an empty Redis with only those events (and some differ from a run
#     that kept its state: windows and maintenance history start again).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
compare="$SL_PY $PDM_SOURCE_DIR/tests/runtime/compare_features.py"
split="2015-03-01 00:00:00"

pdm_start_redis --persist --appendonly yes --appendfsync everysec
redis_port=$PDM_REDIS_PORT
redis_dir=$PDM_TMP/redis-$redis_port
pdm_start_broker 4 --topic pdm.live,pdm.after,risk.out,risk.after

sl_sim "$T/data" 6 2000 11
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 10 --dump-features "$T/offline.csv"
sl_split "$T/data" "$split" "$T/before" "$T/after"
awk -F, -v s="$split" 'NR == 1 || $2 < s' "$T/offline.csv" >"$T/offline_before.csv"
awk -F, -v s="$split" 'NR == 1 || $2 >= s' "$T/offline.csv" >"$T/offline_after.csv"
rows_before=$(sl_rows "$T/offline_before.csv")
rows=$(sl_rows "$T/offline.csv")

sl_scorer "$T/out.log" --redis "$PDM_REDIS_URL/0" --model "$T/model" --group out --topics pdm.live \
  --risk-topic risk.out --emit all --batch-size 200 --dump-features "$T/out.csv"
scorer=$SL_PID
sl_wait_log "$T/out.log" "assigned 4 partitions" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/out.log" | head -1)
# http PATH: "STATUS BODY" of a GET on the scorer.
http() {
  $SL_PY - "http://127.0.0.1:$port$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
_ready() { case $(http /readyz) in "200 "*) return 0 ;; *) return 1 ;; esac; }
pdm_wait_until 10 _ready || pdm_fail "the scorer never became ready: $(http /readyz)"
sl_replay_bg "$T/before" pdm.live --rate 2000
producer=$SL_PID

# 1. The outage.
sl_wait_rows "$T/out.csv" 1500 30
pdm_stop "$PDM_REDIS_PID" || pdm_fail "redis-server did not stop cleanly"
sl_wait_log "$T/out.log" "redis unavailable" 1 10
n_down=$(sl_rows "$T/out.csv")
# Readiness reads a probe that PINGs every 0.5 s: it may lag the loop's log.
_readyz_names_redis() { case $(http /readyz) in "503 "*'"missing":["redis"'*) return 0 ;; *) return 1 ;; esac; }
pdm_wait_until 3 _readyz_names_redis || pdm_fail "/readyz with Redis down: $(http /readyz)"
sleep 3
n_later=$(sl_rows "$T/out.csv")
[ "$n_later" = "$n_down" ] || pdm_fail "batches completed without Redis: $n_down rows, then $n_later"
[ "$n_down" -lt "$rows_before" ] || pdm_fail "the stream ended before the outage: not mid-stream"
redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$redis_dir" --daemonize no --protected-mode yes \
  --appendonly yes --appendfsync everysec >>"$redis_dir/redis.log" 2>&1 &
PDM_REDIS_PID=$!
pdm_track $PDM_REDIS_PID
pdm_wait_until 10 _pdm_redis_ready "$PDM_REDIS_PID" "$redis_port" || pdm_fail "redis-server did not restart"
sl_wait_log "$T/out.log" "redis .* is back" 1 15
pdm_wait_until 10 _ready || pdm_fail "/readyz after Redis came back: $(http /readyz)"
errors=$(http /metrics | awk '$1 == "pdm_redis_errors_total" {print $2}')
[ "${errors:-0}" -ge 1 ] || pdm_fail "pdm_redis_errors_total is '$errors' after an outage"
sl_wait_exit "$producer" "$PDM_TMP/producer.log"
sl_wait_rows "$T/out.csv" "$rows_before" 30
echo "outage after $n_down of $rows_before rows"
[ "$(grep -c "redis unavailable" "$T/out.log")" = 1 ] \
  || pdm_fail "'redis unavailable' logged $(grep -c "redis unavailable" "$T/out.log") times, want once"
[ "$(grep -c "redis .* is back" "$T/out.log")" = 1 ] || pdm_fail "'is back' logged more than once"
! grep -q "state was lost" "$T/out.log" || pdm_fail "state reported lost after a restart with its data"
cp "$T/out.csv" "$T/out_before.csv"
$compare "$T/offline_before.csv" "$T/out_before.csv" --expect-same-keys \
  || pdm_fail "features across the outage differ from a clean run"
$compare "$T/offline_before.csv" "$T/out_before.csv" --last-per-machine \
  || pdm_fail "final features after the outage differ from a clean run"

# 2. FLUSHALL while idle, then the rest of the stream.
sleep 0.5
[ "$(sl_rows "$T/out.csv")" = "$rows_before" ] || pdm_fail "more rows scored than produced"
redis-cli -p "$redis_port" FLUSHALL >/dev/null || pdm_fail "FLUSHALL failed"
flushed_at=${EPOCHREALTIME/./}
sl_replay "$T/after" pdm.live
sl_replay "$T/after" pdm.after
sl_wait_log "$T/out.log" "state was lost" 1 10
[ "$(http /metrics | awk '$1 == "pdm_state_lost_total" {print $2}')" = 1 ] \
  || pdm_fail "pdm_state_lost_total after FLUSHALL: $(http /metrics | grep state_lost)"
noticed_ms=$(((${EPOCHREALTIME/./} - flushed_at) / 1000))
echo "FLUSHALL noticed after $noticed_ms ms"
sl_wait_rows "$T/out.csv" "$rows" 30
sleep 0.5
_pdm_alive "$scorer" || pdm_fail "the scorer stopped after FLUSHALL: $(tail -5 "$T/out.log")"
pdm_stop_check "$scorer" pdm-scorer "$T/out.log"
[ "$(grep -c "state was lost" "$T/out.log")" = 1 ] || pdm_fail "state loss not logged exactly once"

# A scorer started on an empty database with only the events after the flush.
sl_scorer "$T/fresh.log" --redis "$PDM_REDIS_URL/1" --model "$T/model" --group fresh --topics pdm.after \
  --risk-topic risk.after --emit all --dump-features "$T/fresh.csv" --exit-at-end
sl_wait_exit "$SL_PID" "$T/fresh.log"
{ head -1 "$T/out.csv"; tail -n +$((rows_before + 2)) "$T/out.csv"; } >"$T/out_after.csv"
$compare "$T/fresh.csv" "$T/out_after.csv" --expect-same-keys \
  || pdm_fail "features after FLUSHALL differ from a scorer started on the new events alone"
# (1: features differ; 0 would be no change, 2 a malformed dump)
status=0
$compare "$T/offline_after.csv" "$T/out_after.csv" >"$T/vs_kept.txt" || status=$?
[ "$status" != 0 ] || pdm_fail "FLUSHALL changed no feature: the test does not test it"
[ "$status" = 1 ] || pdm_fail "comparing with a run that kept its state: $(cat "$T/vs_kept.txt")"
echo "after FLUSHALL, against a run that kept its state: $(grep "^compared" "$T/vs_kept.txt")"
echo "scorer_redis_outage: ok"
