# bench/lib.sh: shell helpers the benchmark drivers share: their --help,
# argument errors and prerequisite checks (source it first), and the peak
# RSS poll (needs tests/harness.sh).

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
