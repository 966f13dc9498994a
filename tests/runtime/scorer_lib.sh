# shellcheck shell=bash
# tests/runtime/scorer_lib.sh: steps shared by the scorer_* runtime tests
# (source it after tests/harness.sh; bash only). They drive the real
# programs: pdm-sim data, pdm-train models, pdm-producer replays, pdm-scorer
# in the background (tracked by the harness as programs under test: stopped
# on any failure, and the test must stop them itself with pdm_stop_check or
# sl_wait_exit so that their exit status is checked) and pdm-tail / kcat to
# read what came out.

SL_PY=/usr/bin/python3

# sl_sim DIR MACHINES HOURS SEED: simulated PdM CSVs in DIR. The hard fleet
# (pdm-sim --difficulty hard, byte for byte the data these tests were written
# against): its noisy precursors give a small model many WARN/CRITICAL
# changes, incidents and resolutions to exercise.
sl_sim() {
  "$PDM_BIN/pdm-sim" --out "$1" --machines "$2" --hours "$3" --seed "$4" --difficulty hard 2>"$1.log" \
    || pdm_fail "pdm-sim failed: $(cat "$1.log")"
}

# sl_train DATA LOG PDM-TRAIN-ARGS...: a small, quick model.
sl_train() {
  local data=$1 log=$2
  shift 2
  "$PDM_BIN/pdm-train" --data "$data" --nthread 1 "$@" >"$log" 2>&1 \
    || pdm_fail "pdm-train failed: $(tail -20 "$log")"
}

# sl_version PACKAGE: the model version a package declares.
sl_version() {
  $SL_PY -c 'import json, sys; print(json.load(open(sys.argv[1] + "/model.json"))["version"])' "$1"
}

# sl_replay DATA TOPIC [PDM-PRODUCER-ARGS...]: every CSV row into one topic.
sl_replay() {
  local data=$1 topic=$2
  shift 2
  "$PDM_BIN/pdm-producer" replay --data "$data" --brokers "$PDM_BROKERS" --topic "$topic" "$@" \
    2>>"$PDM_TMP/producer.log" || pdm_fail "replay of $data failed: $(tail -5 "$PDM_TMP/producer.log")"
}

# sl_replay_bg DATA TOPIC [PDM-PRODUCER-ARGS...]: the same in the background
# (the program itself, not a subshell, so that $SL_PID is its pid; a
# subshell would run the harness's traps); wait with sl_wait_exit.
sl_replay_bg() {
  local data=$1 topic=$2
  shift 2
  "$PDM_BIN/pdm-producer" replay --data "$data" --brokers "$PDM_BROKERS" --topic "$topic" "$@" \
    2>>"$PDM_TMP/producer.log" &
  SL_PID=$!
  pdm_track_checked "$SL_PID" pdm-producer
}

# sl_scorer LOG PDM-SCORER-ARGS...: starts pdm-scorer in the background on
# the test's broker with a short session timeout; sets SL_PID.
sl_scorer() {
  local log=$1
  shift
  "$PDM_BIN/pdm-scorer" --brokers "$PDM_BROKERS" -X session.timeout.ms=6000 \
    -X heartbeat.interval.ms=500 "$@" >"$log" 2>&1 &
  SL_PID=$!
  pdm_track_checked "$SL_PID" "pdm-scorer ($log)"
}

# sl_wait_exit PID LOG: waits for a program that ends by itself (a scorer
# with --exit-at-end, a replay) and fails the test unless it exits 0 within
# 60 s.
sl_wait_exit() {
  local pid=$1 log=$2 status=0
  pdm_wait_until 60 _sl_dead "$pid" || pdm_fail "pid $pid ($log) still runs after 60 s: $(tail -5 "$log")"
  pdm_stop "$pid" || status=$?
  [ "$status" = 0 ] || pdm_fail "pid $pid ($log) exited $status: $(tail -20 "$log")"
}

_sl_dead() { ! _pdm_alive "$1"; }

# sl_rows CSV: complete data rows in a feature dump (0 if absent).
sl_rows() {
  [ -f "$1" ] || { echo 0; return; }
  tail -n +2 "$1" | awk -F, 'NF == 30' | wc -l
}

_sl_rows_at_least() { [ "$(sl_rows "$1")" -ge "$2" ]; }
_sl_log_count_at_least() { [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ]; }

# sl_wait_rows CSV N SECONDS: until the dump has N complete rows.
sl_wait_rows() {
  pdm_wait_until "$3" _sl_rows_at_least "$1" "$2" \
    || pdm_fail "$1 has $(sl_rows "$1") rows after $3 s, want $2"
}

# sl_wait_log LOG TEXT N SECONDS: until TEXT occurs N times in LOG.
sl_wait_log() {
  pdm_wait_until "$4" _sl_log_count_at_least "$1" "$2" "$3" \
    || pdm_fail "'$2' not logged $3 times in $4 s: $(tail -5 "$1")"
}

# sl_split DATA SPLIT A B: the PdM CSVs of DATA cut at the UTC time SPLIT
# ("YYYY-MM-DD HH:MM:SS"): rows before it into A, the others into B; both
# get the machines file.
sl_split() {
  $SL_PY - "$@" <<'PY' || pdm_fail "split of $1 failed"
import os, sys
src, split, a, b = sys.argv[1:5]
for d in (a, b):
    os.makedirs(d, exist_ok=True)
for name in os.listdir(src):
    lines = open(os.path.join(src, name)).read().splitlines(keepends=True)
    if name == "PdM_machines.csv":
        for d in (a, b):
            open(os.path.join(d, name), "w").writelines(lines)
        continue
    head, rows = lines[0], lines[1:]
    open(os.path.join(a, name), "w").writelines([head] + [r for r in rows if r[:19] < split])
    open(os.path.join(b, name), "w").writelines([head] + [r for r in rows if r[:19] >= split])
PY
}

# sl_tail TOPIC OUT: every message of TOPIC as pdm-tail JSON lines.
sl_tail() {
  "$PDM_BIN/pdm-tail" --brokers "$PDM_BROKERS" --topic "$1" --exit-at-end >"$2" 2>"$2.log" \
    || pdm_fail "pdm-tail $1 failed: $(cat "$2.log")"
}
