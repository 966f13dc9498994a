#!/usr/bin/env bash
# scorer_readiness: liveness never depends on Redis, readiness answers
# within a bound whatever Redis does, and /readyz and pdm_ready say the same.
#  1. Redis hangs (SIGSTOP) while the stream is idle: with 16 readiness
#     probes kept pending on the scorer's 2 HTTP threads, /healthz answers
#     every time within 0.3 s; each /readyz within 1 s, 503 naming redis
#     within 5 s of the stop; pdm_ready turns 0 within 5 s too (it used to
#     stay 1 while the idle loop had not touched Redis); GET /v1/machines/1
#     answers 503 within 3 s. After SIGCONT both say ready again.
#  2. Redis answers PING but refuses the scorer's writes (an ACL user
#     without HINCRBY): the loop retries its batch, and both /readyz (503,
#     missing scoring_loop) and pdm_ready (0) say not ready (/readyz used
#     to say 200). Once HINCRBY is granted the batch goes through and both
#     say ready.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
command -v curl >/dev/null || { echo "no curl: skip"; exit 77; }

pdm_start_redis
redis_pid=$PDM_REDIS_PID
pdm_start_broker 2 --topic pdm.idle,pdm.acl
sl_sim "$T/data" 3 300 5
sl_train "$T/data" "$T/train.log" --out "$T/pkg" --rounds 3
sl_replay "$T/data" pdm.idle
rcli() { redis-cli -h 127.0.0.1 -p "$PDM_REDIS_PORT" "$@"; }

# get PORT PATH: "STATUS SECONDS" of a GET (status 000: no answer in 10 s);
# the body in $T/body.PORT.
get() {
  curl -s -m 10 -o "$T/body.$1" -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$1$2" || true
}
status_of() { get "$1" "$2" | cut -d' ' -f1; }
ready_metric() {
  curl -s -m 10 "http://127.0.0.1:$1/metrics" | awk '$1 == "pdm_ready" {print $2}'
}
_both_ready() { [ "$(status_of "$1" /readyz)" = 200 ] && [ "$(ready_metric "$1")" = 1 ]; }
_readyz_503() { [ "$(status_of "$1" /readyz)" = 503 ]; }
_metric_0() { [ "$(ready_metric "$1")" = 0 ]; }
port_of() { sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$1" | head -1; }
# within LIMIT "STATUS SECONDS": the answer came in under LIMIT seconds.
within() { awk -v lim="$1" -v st="$2" -v s="$3" 'BEGIN { exit !(st != "000" && s + 0 < lim) }'; }

# 1. Redis hangs while the stream is idle.
sl_scorer "$T/idle.log" --redis "$PDM_REDIS_URL/0" --model "$T/pkg" --group idle --topics pdm.idle \
  --batch-size 200 --http-threads 2 --dump-features "$T/idle.csv"
idle=$SL_PID
sl_wait_log "$T/idle.log" "http listening on port" 1 20
p=$(port_of "$T/idle.log")
pdm_wait_until 30 _both_ready "$p" || pdm_fail "never ready: $(get "$p" /readyz) $(cat "$T/body.$p")"
sl_wait_rows "$T/idle.csv" "$(($(wc -l <"$T/data/PdM_telemetry.csv") - 1))" 30
before=$(get "$p" /healthz)
echo "before the stop: /healthz $before"

kill -STOP "$redis_pid"
# 16 readiness probes in flight all along (one process, threads: a storm of
# curl processes would slow the test more than the scorer), /healthz timed
# every 0.2 s, for 6 s from the stop.
$SL_PY - "$p" >"$T/stopped.out" <<'PY' || pdm_fail "with Redis stopped: $(cat "$T/stopped.out")"
import http.client, sys, threading, time
port, t0, stop_at = int(sys.argv[1]), time.monotonic(), time.monotonic() + 6
def get(path):
    start = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", path)
        status = c.getresponse().status
        c.close()
    except OSError:
        status = 0
    return status, time.monotonic() - start, start - t0
probes, lock = [], threading.Lock()
def probe_loop():
    while time.monotonic() < stop_at:
        r = get("/readyz")
        time.sleep(0.02)
        with lock:
            probes.append(r)
threads = [threading.Thread(target=probe_loop) for _ in range(16)]
for t in threads:
    t.start()
health = []
while time.monotonic() < stop_at:
    health.append(get("/healthz"))
    time.sleep(0.2)
for t in threads:
    t.join()
bad = [h for h in health if h[0] != 200 or h[1] >= 0.3]
first_503 = min((p[2] + p[1] for p in probes if p[0] == 503), default=None)
slowest = max(p[1] for p in probes)
print(f"{len(probes)} /readyz probes (slowest {slowest:.3f} s), first 503 after "
      f"{first_503 if first_503 is None else round(first_503, 2)} s; /healthz {len(health)} times, "
      f"slowest {max(h[1] for h in health):.3f} s")
if bad:
    sys.exit(f"/healthz not 200 within 0.3 s: {bad[:3]}")
if first_503 is None or first_503 > 5:
    sys.exit("/readyz did not say 503 within 5 s")
if slowest >= 1 or any(p[0] not in (200, 503) for p in probes):
    sys.exit(f"a /readyz answer took {slowest:.2f} s or failed")
PY
echo "Redis stopped: $(cat "$T/stopped.out")"
get "$p" /readyz >/dev/null
grep -q '"redis"' "$T/body.$p" || pdm_fail "/readyz does not name redis: $(cat "$T/body.$p")"
pdm_wait_until 5 _metric_0 "$p" || pdm_fail "pdm_ready still $(ready_metric "$p") with Redis stopped"
m=$(get "$p" /v1/machines/1)
read -r ms mt <<<"$m"
[ "$ms" = 503 ] && within 3 "$ms" "$mt" || pdm_fail "/v1/machines/1 with Redis stopped: $m (want 503 within 3 s)"
echo "Redis stopped: pdm_ready 0, /v1/machines/1 $m"
# The fleet's open incidents and the scrape read the same Redis connection:
# 6 of each at once must not queue behind it (each waiting on a Redis that
# does not answer took its 1 s timeout in turn: the last after about 6 s).
curls=()
for i in 1 2 3 4 5 6; do
  curl -s -m 10 -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$p/v1/alerts" >"$T/alerts.$i" &
  curls+=($!)
  curl -s -m 10 -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$p/metrics" >"$T/metrics.$i" &
  curls+=($!)
done
wait "${curls[@]}"
for i in 1 2 3 4 5 6; do
  read -r as at <"$T/alerts.$i"
  [ "$as" = 503 ] && within 2 "$as" "$at" || pdm_fail "/v1/alerts with Redis stopped: $as $at (want 503 within 2 s)"
  read -r as at <"$T/metrics.$i"
  [ "$as" = 200 ] && within 2 "$as" "$at" || pdm_fail "/metrics with Redis stopped: $as $at (want 200 within 2 s)"
done
kill -CONT "$redis_pid"
pdm_wait_until 15 _both_ready "$p" || pdm_fail "not ready again after SIGCONT: $(get "$p" /readyz)"
pdm_stop_check "$idle" "pdm-scorer (idle)" "$T/idle.log"

# 2. PING answers, the scorer's writes are refused.
rcli ACL SETUSER scorer on '>s3cret' '~*' '&*' '+@all' '-hincrby' >/dev/null
sl_scorer "$T/acl.log" --redis "redis://scorer:s3cret@127.0.0.1:$PDM_REDIS_PORT/3" --model "$T/pkg" \
  --group acl --topics pdm.acl --batch-size 200 --http-threads 2
acl=$SL_PID
sl_wait_log "$T/acl.log" "http listening on port" 1 20
p=$(port_of "$T/acl.log")
pdm_wait_until 30 _both_ready "$p" || pdm_fail "never ready before the stream: $(get "$p" /readyz)"
sl_replay "$T/data" pdm.acl
sl_wait_log "$T/acl.log" "redis unavailable, retrying" 1 30
[ "$(rcli ping)" = PONG ] || pdm_fail "redis does not answer PING"
pdm_wait_until 5 _readyz_503 "$p" || pdm_fail "/readyz with the loop stuck: $(get "$p" /readyz) $(cat "$T/body.$p")"
grep -q '"scoring_loop"' "$T/body.$p" || pdm_fail "/readyz does not name the stuck loop: $(cat "$T/body.$p")"
pdm_wait_until 5 _metric_0 "$p" || pdm_fail "pdm_ready with the loop stuck: $(ready_metric "$p")"
echo "writes refused: /readyz $(cat "$T/body.$p"), pdm_ready $(ready_metric "$p")"
rcli ACL SETUSER scorer '+hincrby' >/dev/null
pdm_wait_until 20 _both_ready "$p" || pdm_fail "not ready once HINCRBY is granted: $(get "$p" /readyz) $(cat "$T/body.$p")"
pdm_stop_check "$acl" "pdm-scorer (acl)" "$T/acl.log"
echo "scorer_readiness: ok"
