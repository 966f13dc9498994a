#!/usr/bin/env bash
# harness_selftest: tests/harness.sh leaves nothing behind. An inner test
# starts redis, a broker, a tracked child that ignores SIGTERM and an
# untracked background job, then fails midway (and, in a second run, is
# killed with SIGTERM); afterwards none of its pids runs and its temporary
# directory is gone. Also checks what the starters export, and that a
# program under test stopped with a non-zero status, or never stopped,
# fails the test.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
pdm_tmpdir >/dev/null

cat >"$PDM_TMP/inner.sh" <<'INNER'
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
report=$1 mode=$2
pdm_tmpdir >/dev/null
echo "tmp $PDM_TMP" >>"$report"
pdm_start_redis
[ "$(redis-cli -p "$PDM_REDIS_PORT" ping)" = PONG ] || pdm_fail "redis does not answer"
[ "$PDM_REDIS_URL" = "redis://127.0.0.1:$PDM_REDIS_PORT" ] || pdm_fail "PDM_REDIS_URL=$PDM_REDIS_URL"
[ "$(redis-cli -p "$PDM_REDIS_PORT" config get save | tail -n 1)" = "" ] || pdm_fail "redis persists"
echo "pid $PDM_REDIS_PID redis" >>"$report"
pdm_start_broker 2
kcat -L -b "$PDM_BROKERS" -t pdm.risk -m 10 | grep -q "topic \"pdm.risk\" with 2 partitions" \
  || pdm_fail "broker at '$PDM_BROKERS' has no pdm.risk with 2 partitions"
echo "pid $PDM_BROKER_PID broker" >>"$report"
# A child that ignores TERM: cleanup must escalate to KILL.
bash -c 'trap "" TERM; : >"$1"; exec sleep 300' stubborn "$PDM_TMP/stubborn.ready" &
pdm_track $!
pdm_wait_until 10 test -e "$PDM_TMP/stubborn.ready" || pdm_fail "stubborn child not ready"
echo "pid $! stubborn" >>"$report"
# A background job nobody tracked: cleanup stops the shell's jobs too.
sleep 300 &
echo "pid $! untracked" >>"$report"
echo ready >>"$report"
if [ "$mode" = fail ]; then
  pdm_fail "failing on purpose"
fi
sleep 300 & wait $!
INNER

pids_of() { awk '$1 == "pid" {print $2}' "$1"; }
tmp_of() { awk '$1 == "tmp" {print $2}' "$1"; }
check_gone() {
  local report=$1 pid
  [ "$(pids_of "$report" | wc -l)" = 4 ] || pdm_fail "inner test did not start everything: $(cat "$report")"
  for pid in $(pids_of "$report"); do
    ! _pdm_alive "$pid" || pdm_fail "pid $pid ($(grep "pid $pid " "$report")) still runs"
  done
  [ ! -e "$(tmp_of "$report")" ] || pdm_fail "temporary directory $(tmp_of "$report") left"
}

# 1. The inner test fails midway: exit status 1, nothing left.
status=0
PDM_STOP_GRACE=1 bash "$PDM_TMP/inner.sh" "$PDM_TMP/report1" fail 2>"$PDM_TMP/inner1.err" || status=$?
[ "$status" = 1 ] || pdm_fail "failing inner test exited $status: $(cat "$PDM_TMP/inner1.err")"
grep -q "FAIL (inner.sh:[0-9]*): failing on purpose" "$PDM_TMP/inner1.err" || pdm_fail "pdm_fail message: $(cat "$PDM_TMP/inner1.err")"
grep -q "ignored TERM" "$PDM_TMP/inner1.err" || pdm_fail "stubborn child was not escalated to KILL"
check_gone "$PDM_TMP/report1"

# 2. The inner test is terminated from outside while it waits.
PDM_STOP_GRACE=1 bash "$PDM_TMP/inner.sh" "$PDM_TMP/report2" wait 2>"$PDM_TMP/inner2.err" &
inner=$!
pdm_track "$inner"
pdm_wait_until 20 grep -q ready "$PDM_TMP/report2" || pdm_fail "inner test not ready: $(cat "$PDM_TMP/inner2.err")"
status=0
pdm_stop "$inner" || status=$?
[ "$status" = 143 ] || pdm_fail "terminated inner test exited $status, want 143"
check_gone "$PDM_TMP/report2"

# 3. pdm_stop_check asserts a program's exit status on TERM, and a program
# under test that the test never stopped fails a test that would pass.
# checked.sh MODE: a child that exits STATUS on TERM, stopped or left.
cat >"$PDM_TMP/checked.sh" <<'INNER'
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
pdm_tmpdir >/dev/null
mode=$1 ready=$PDM_TMP/ready
bash -c 'trap "exit $1" TERM; : >"$2"; while :; do sleep 0.05; done' child "${mode#*-}" "$ready" &
pdm_track_checked $! "child-$mode"
pdm_wait_until 10 test -e "$ready" || pdm_fail "child not ready"
case $mode in stop-*) pdm_stop_check $! "child-$mode" ;; esac
echo "inner: passed"
INNER
# checked MODE WANT-STATUS [WANT-TEXT]: runs checked.sh MODE.
checked() {
  local status=0
  bash "$PDM_TMP/checked.sh" "$1" >"$PDM_TMP/checked.out" 2>&1 || status=$?
  [ "$status" = "$2" ] || pdm_fail "checked.sh $1 exited $status, want $2: $(cat "$PDM_TMP/checked.out")"
  [ -z "${3:-}" ] || grep -q -- "$3" "$PDM_TMP/checked.out" ||
    pdm_fail "checked.sh $1: no '$3' in: $(cat "$PDM_TMP/checked.out")"
}
checked stop-0 0 "inner: passed"
checked stop-3 1 "FAIL (checked.sh:[0-9]*): child-stop-3 (pid [0-9]*) exited 3 when stopped"
checked stop-134 1 "exited 134 when stopped"
checked left-0 1 "FAIL: child-left-0 (pid [0-9]*) still ran when the test ended"

# 4. pdm_free_port gives a port nobody listens on.
port=$(pdm_free_port)
{ [[ $port =~ ^[0-9]+$ ]] && [ "$port" -gt 0 ]; } || pdm_fail "pdm_free_port: '$port'"
! redis-cli -p "$port" ping >/dev/null 2>&1 || pdm_fail "something listens on $port"
echo "harness_selftest: ok"
