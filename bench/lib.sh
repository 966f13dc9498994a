# bench/lib.sh: shell helpers the benchmark drivers share: their --help,
# argument errors and prerequisite checks (source it first), and the
# measuring ones (the peak RSS poll, the Redis ceiling, a catch-up run: they
# need tests/harness.sh).

# bench_peak_rss PID: polls the process's VmHWM every 0.2 s until it exits;
# prints the peak in kB (0 if it was never read). The caller stops the
# process by pid afterwards (pdm_stop) to collect its exit status.
bench_peak_rss() {
  local pid=$1 hwm=0 v
  while _pdm_alive "$pid"; do
    v=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
    sleep 0.2
  done
  echo "$hwm"
}

# ---- what every driver does with its command line --------------------------
# (source this file before parsing; these need nothing from harness.sh)

# bench_help SCRIPT: prints SCRIPT's header comment (from its second line up
# to `set -euo pipefail`) without the comment marks: its --help.
bench_help() {
  sed -n '2,/^set -euo pipefail/p' "$1" | sed '$d' | sed 's/^# \{0,1\}//'
}

# bench_bad_arg SCRIPT ARG: the unknown-argument error; exits 2.
bench_bad_arg() {
  echo "$(basename "$1"): unknown argument $2 (see --help)" >&2
  exit 2
}

# bench_require SCRIPT BUILD PROGRAM... [-- COMMAND...]: exits 2, saying
# how to build them, unless every PROGRAM is in BUILD/bin and every COMMAND
# is installed.
bench_require() {
  local name build p
  name=$(basename "$1") build=$2
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    [ -x "$build/bin/$1" ] || { echo "$name: no $build/bin/$1; build with: cmake -S" \
      "$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")") -B $build" \
      "-DCMAKE_BUILD_TYPE=Release && cmake --build $build -j2" >&2; exit 2; }
    shift
  done
  [ $# -gt 0 ] && shift
  for p in "$@"; do
    command -v "$p" >/dev/null || { echo "$name: $p is not installed" >&2; exit 2; }
  done
}

# ---- measuring (these need tests/harness.sh) --------------------------------

# bench_redis_ceiling PORT OUT: redis-benchmark -P 64 on the scorer's
# commands as it sends them (CSV lines into OUT, shown); prints the
# telemetry write rate (each event is a ZREMRANGEBYSCORE and a ZADD).
bench_redis_ceiling() {
  local port=$1 out=$2 member='__rand_int__AAAAAAAABBBBBBBBCCCCCCCCDDDDDDDD' # 8-byte ts + 4 doubles
  rb() { redis-benchmark -h 127.0.0.1 -p "$port" -P 64 -n 300000 -r 100000 --csv "$@" | tail -n +2 | cut -d, -f1,2; }
  {
    rb -t hset,zadd
    rb ZADD 'pdm:{__rand_int__}:tel' __rand_int__ "$member"
    rb ZREMRANGEBYSCORE 'pdm:{__rand_int__}:tel' __rand_int__ __rand_int__
    rb ZRANGEBYSCORE 'pdm:{__rand_int__}:tel' __rand_int__ +inf
    rb HSET 'pdm:{__rand_int__}:meta' newest 1 base 2 src_p 3 src_o 4 level 5 base_level 6 notified 7 base_notified 8
  } >"$out"
  sed 's/^/  /' "$out" >&2
  local zadd zrem
  zadd=$(grep '^"ZADD pdm' "$out" | cut -d'"' -f4)
  zrem=$(grep '^"ZREMRANGEBYSCORE' "$out" | cut -d'"' -f4)
  redis-cli -p "$port" flushall >/dev/null
  echo "1 / (1 / $zadd + 1 / $zrem)" | bc -l | xargs printf '%.0f\n'
}

# bench_catchup NAME WANT SCORER-ARGS...: one `pdm-scorer --emit all
# --exit-at-end` run over a backlog with a fresh Redis (FLUSHALL, stats
# reset); SCORER-ARGS give at least --brokers, --model, --group and the
# topics. Uses $B (programs), $T (files), $PDM_REDIS_URL/_PORT and $here
# (bench/). WANT: the messages the backlog holds. Prints the run's figures,
# the loop thread's time by stage and a "result" line (rate, rss_mib,
# cpu_share, redis_share, complete) into $T/catchup-NAME.txt and stdout.
bench_catchup() {
  local name=$1 want=$2 log=$T/catchup-$1.log
  shift 2
  redis-cli -p "$PDM_REDIS_PORT" flushall >/dev/null
  redis-cli -p "$PDM_REDIS_PORT" config resetstat >/dev/null
  # fetch.wait.max.ms: the mock cluster holds an empty fetch response that
  # long (a real broker answers when data arrives); only the end of the run
  # sees one, so 10 ms keeps the measured span honest.
  /usr/bin/time -o "$T/time-$name" -f '%e %M %U %S' \
    "$B/pdm-scorer" --redis "$PDM_REDIS_URL" --emit all --exit-at-end \
    -X fetch.wait.max.ms=10 --log-level info "$@" 2>"$log" \
    || { tail -20 "$log"; pdm_fail "pdm-scorer failed (catch-up $name)"; }
  redis-cli -p "$PDM_REDIS_PORT" info commandstats >"$T/cmdstats-$name"
  python3 "$here/catchup_report.py" "$log" "$T/time-$name" "$T/cmdstats-$name" "$want" \
    | tee "$T/catchup-$name.txt"
}
