# tests/harness.sh: shared functions for runtime tests (source it; bash only).
#
# A runtime test starts every server it needs itself, on 127.0.0.1 with a
# free port and inside its own temporary directory, and stops them by pid
# when it ends, whether it passes, fails midway or is interrupted. Sourcing
# this file installs that cleanup as the EXIT/INT/TERM trap.
#
#   source "$PDM_SOURCE_DIR/tests/harness.sh"
#   pdm_tmpdir >/dev/null         # $PDM_TMP: the test's directory (removed at exit)
#   pdm_start_redis               # exports PDM_REDIS_PORT, PDM_REDIS_URL, PDM_REDIS_PID
#   pdm_start_broker 4            # exports PDM_BROKERS, PDM_BROKER_PID (log in PDM_BROKER_DIR)
#   some-program & pdm_track $!   # anything else started in the background
#   pdm_stop "$pid" || status=$?  # stop one early and get its exit status
#   pdm-scorer ... & pdm_track_checked $! pdm-scorer   # a program under test:
#   pdm_stop_check "$pid" pdm-scorer "$log"            # stop it, assert exit 0
#   [ "$x" = 1 ] || pdm_fail "x is $x"
#
# The programs a test is about are tracked with pdm_track_checked and
# stopped by the test itself with pdm_stop_check (or, if they end by
# themselves, reaped with pdm_stop and their status checked): an ASan or
# LeakSanitizer report at shutdown, an abort or a hang on SIGTERM shows only
# in that exit status, which cleanup discards. A test that would pass with
# such a program still running fails instead. Servers the test merely uses
# (redis-server, the broker) and processes killed on purpose are stopped
# with pdm_stop and their status ignored.
#
# Call these functions in the test's own shell, not inside $(...): they set
# variables and remember pids there. Do not replace the EXIT/INT/TERM traps;
# track pids instead. Environment knobs: PDM_BIN (programs;
# default $PDM_BUILD_DIR/bin), PDM_STOP_GRACE (whole seconds between TERM
# and KILL, default 5), PDM_KEEP_TMP=1 (keep the directory for a post-mortem).
# PDM_HTTP is set to 127.0.0.1:0 unless the test's caller set it: every
# pdm-scorer a test starts serves HTTP on a free loopback port (logged as
# "http listening on port N"), never on the default 0.0.0.0:8000.

export PDM_HTTP=${PDM_HTTP:-127.0.0.1:0}
PDM_PIDS=()
declare -gA PDM_CHECKED=() # pid -> name of a program under test not yet stopped
PDM_TMP= # never inherited: a nested test gets its own directory
PDM_BIN=${PDM_BIN:-${PDM_BUILD_DIR:+$PDM_BUILD_DIR/bin}}
_pdm_tmp_owner=

# pdm_fail MSG...: reports where and why the test failed, then exits 1
# (the EXIT trap stops everything).
pdm_fail() {
  echo "FAIL (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}): $*" >&2
  exit 1
}

# pdm_tmpdir: creates the test's temporary directory once, sets PDM_TMP and
# prints it.
pdm_tmpdir() {
  if [ -z "$PDM_TMP" ]; then
    if [ "$BASH_SUBSHELL" -gt 0 ]; then
      echo "pdm_tmpdir: call it once in the test's shell before using it in \$(...)" >&2
      return 1
    fi
    PDM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pdm-test.XXXXXX") || return 1
    _pdm_tmp_owner=$$
  fi
  echo "$PDM_TMP"
}

# pdm_free_port: prints a TCP port that is free on 127.0.0.1 right now (the
# kernel's choice of an ephemeral port). Another process could take it
# before it is used, so starters retry with a new port.
pdm_free_port() {
  /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# pdm_track PID...: stops PID at exit with the servers.
pdm_track() {
  PDM_PIDS+=("$@")
}

# pdm_track_checked PID NAME: pdm_track for a program under test: the test
# must stop it with pdm_stop_check (or reap it with pdm_stop and check the
# status) before it ends; one left to cleanup fails a passing test.
pdm_track_checked() {
  pdm_track "$1"
  PDM_CHECKED[$1]=$2
}

# pdm_stop_check PID NAME [LOG]: stops PID (pdm_stop: TERM, KILL after
# PDM_STOP_GRACE s) and fails the test unless it exited 0. A sanitizer
# report, an abort (134) or a hang on TERM (137 after the KILL) all show
# here; LOG's last lines go into the failure message.
pdm_stop_check() {
  local pid=$1 name=$2 log=${3:-} status=0
  pdm_stop "$pid" || status=$?
  [ "$status" = 0 ] && return 0
  echo "FAIL (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}): $name (pid $pid) exited $status when stopped" >&2
  [ -n "$log" ] && [ -f "$log" ] && tail -n 30 "$log" >&2
  exit 1
}

# _pdm_alive PID: true while PID runs (a zombie, not yet reaped, is dead).
_pdm_alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# pdm_wait_until SECONDS COMMAND...: runs COMMAND every 0.05 s until it
# succeeds (returns 0) or SECONDS (an integer) pass (returns 1).
pdm_wait_until() {
  local limit=$1
  shift
  local deadline=$((${EPOCHREALTIME//[!0-9]/} + limit * 1000000))
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "${EPOCHREALTIME//[!0-9]/}" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

# pdm_stop PID...: TERM, then KILL whatever still runs after
# PDM_STOP_GRACE seconds; reaps them and forgets them. Returns the exit
# status of the last PID (so a test can check how a server ended; 127 if it
# is not a child of this shell).
pdm_stop() {
  local pid status=0 grace=${PDM_STOP_GRACE:-5}
  [ $# -gt 0 ] || return 0
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  local deadline=$((${EPOCHREALTIME//[!0-9]/} + grace * 1000000)) alive=1
  while [ "$alive" = 1 ] && [ "${EPOCHREALTIME//[!0-9]/}" -lt "$deadline" ]; do
    alive=0
    for pid in "$@"; do _pdm_alive "$pid" && alive=1; done
    [ "$alive" = 1 ] && sleep 0.05
  done
  for pid in "$@"; do
    if _pdm_alive "$pid"; then
      echo "harness: pid $pid ignored TERM for ${grace}s: KILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for pid in "$@"; do
    status=0
    wait "$pid" 2>/dev/null || status=$?
  done
  # Forget them, so cleanup does not signal a pid that may be reused.
  local kept=() p stopped
  for p in "${PDM_PIDS[@]}"; do
    stopped=0
    for pid in "$@"; do [ "$p" = "$pid" ] && stopped=1; done
    [ "$stopped" = 1 ] || kept+=("$p")
  done
  PDM_PIDS=("${kept[@]}")
  for pid in "$@"; do unset 'PDM_CHECKED[$pid]'; done
  return "$status"
}

# pdm_cleanup [STATUS]: the EXIT/INT/TERM trap: stops every tracked pid and
# every background job of this shell, removes the temporary directory and
# exits with STATUS (the signal traps pass 130/143) or the test's own. On a
# normal exit with status 0, a program under test still running
# (pdm_track_checked, never stopped by the test) makes the status 1.
pdm_cleanup() {
  local status=$? pid
  trap - EXIT INT TERM
  set +e
  if [ $# -gt 0 ]; then
    status=$1
  elif [ "$status" = 0 ]; then
    for pid in "${!PDM_CHECKED[@]}"; do
      echo "FAIL: ${PDM_CHECKED[$pid]} (pid $pid) still ran when the test ended: stop it with pdm_stop_check, so that its exit status is checked" >&2
      status=1
    done
  fi
  local pids=("${PDM_PIDS[@]}") job
  for job in $(jobs -p); do pids+=("$job"); done
  pdm_stop "${pids[@]}" || true
  if [ -n "$PDM_TMP" ] && [ "$_pdm_tmp_owner" = "$$" ]; then
    if [ "${PDM_KEEP_TMP:-0}" = 1 ]; then
      echo "harness: kept $PDM_TMP" >&2
    else
      rm -rf "$PDM_TMP"
    fi
  fi
  # exit, not return: only an exit inside the EXIT trap sets the status.
  exit "$status"
}
trap 'pdm_cleanup' EXIT
trap 'pdm_cleanup 130' INT
trap 'pdm_cleanup 143' TERM

# pdm_start_redis [--persist] [REDIS-ARGS...]: a redis-server on 127.0.0.1
# and a free port, its files in $PDM_TMP/redis-PORT, without persistence
# unless --persist (RDB and AOF as configured by REDIS-ARGS). Waits until
# PING answers; exports PDM_REDIS_PORT, PDM_REDIS_URL and PDM_REDIS_PID.
pdm_start_redis() {
  local persist=0
  if [ "${1:-}" = --persist ]; then persist=1; shift; fi
  pdm_tmpdir >/dev/null || return 1
  local port dir pid
  local no_persist=(--save '' --appendonly no)
  [ "$persist" = 1 ] && no_persist=()
  for _ in 1 2 3 4 5; do
    port=$(pdm_free_port) || pdm_fail "no free port"
    dir=$PDM_TMP/redis-$port
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize no \
      --protected-mode yes "${no_persist[@]}" "$@" >"$dir/redis.log" 2>&1 &
    pid=$!
    pdm_track "$pid"
    if pdm_wait_until 10 _pdm_redis_ready "$pid" "$port"; then
      export PDM_REDIS_PORT=$port PDM_REDIS_URL=redis://127.0.0.1:$port PDM_REDIS_PID=$pid
      return 0
    fi
    pdm_stop "$pid" || true
    # A port taken meanwhile makes redis exit at once: try another one.
    grep -q "Address already in use" "$dir/redis.log" 2>/dev/null && continue
    break
  done
  tail -n 20 "$dir/redis.log" >&2
  pdm_fail "redis-server did not start on port $port"
}

_pdm_redis_ready() {
  _pdm_alive "$1" && [ "$(redis-cli -h 127.0.0.1 -p "$2" ping 2>/dev/null)" = PONG ]
}

# pdm_start_broker [PARTITIONS] [PDM-BROKER-ARGS...]: the embedded Kafka
# broker ($PDM_BIN/pdm-broker, default 4 partitions per topic) on loopback.
# Waits for its bootstrap file; exports PDM_BROKERS and PDM_BROKER_PID.
# Its stdout and broker.log are in $PDM_BROKER_DIR.
pdm_start_broker() {
  local partitions=${1:-4}
  [ $# -gt 0 ] && shift
  pdm_tmpdir >/dev/null || return 1
  [ -x "$PDM_BIN/pdm-broker" ] || pdm_fail "no $PDM_BIN/pdm-broker (set PDM_BIN or PDM_BUILD_DIR)"
  local dir
  dir=$(mktemp -d "$PDM_TMP/broker.XXXXXX") || pdm_fail "mktemp"
  "$PDM_BIN/pdm-broker" --partitions "$partitions" --bootstrap-file "$dir/bootstrap" "$@" \
    >"$dir/stdout" 2>"$dir/broker.log" &
  local pid=$!
  pdm_track "$pid"
  if ! pdm_wait_until 10 _pdm_broker_ready "$pid" "$dir/bootstrap"; then
    tail -n 20 "$dir/broker.log" >&2
    pdm_fail "pdm-broker did not start"
  fi
  PDM_BROKERS=$(head -n 1 "$dir/bootstrap")
  export PDM_BROKERS PDM_BROKER_PID=$pid PDM_BROKER_DIR=$dir
}

_pdm_broker_ready() {
  _pdm_alive "$1" && [ -s "$2" ]
}

# pdm_start_broker_control [PARTITIONS] [PDM-BROKER-ARGS...]: pdm_start_broker
# with the fault-injection socket (pdm-broker --control) in the test's
# directory; also exports PDM_BROKER_CONTROL, the socket's path, which
# pdm_broker_ctl uses.
pdm_start_broker_control() {
  local partitions=${1:-4}
  [ $# -gt 0 ] && shift
  pdm_tmpdir >/dev/null || return 1
  local sock
  sock=$(mktemp -u "$PDM_TMP/ctl.XXXXXX") || pdm_fail "mktemp"
  pdm_start_broker "$partitions" --control "$sock" "$@"
  [ -S "$sock" ] || pdm_fail "pdm-broker has no control socket at $sock"
  export PDM_BROKER_CONTROL=$sock
}

# pdm_broker_ctl COMMAND...: sends one fault-injection command (pdm-broker
# --help lists them: "down 1", "up all", "errors Produce 5
# NOT_LEADER_FOR_PARTITION", "rtt 1 200", ...) to $PDM_BROKER_CONTROL and
# prints the reply. Returns 0 when the reply is "ok...", 1 otherwise (an
# error reply, no broker, no answer within 10 s).
pdm_broker_ctl() {
  [ -n "${PDM_BROKER_CONTROL:-}" ] || { echo "pdm_broker_ctl: no PDM_BROKER_CONTROL" >&2; return 1; }
  /usr/bin/python3 - "$PDM_BROKER_CONTROL" "$*" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
    s.sendall(sys.argv[2].encode() + b"\n")
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
except OSError as e:
    print(f"error: control socket {sys.argv[1]}: {e}")
    sys.exit(1)
reply = reply.decode(errors="replace").strip()
print(reply)
sys.exit(0 if reply == "ok" or reply.startswith("ok ") else 1)
PY
}
