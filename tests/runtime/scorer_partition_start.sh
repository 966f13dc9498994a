#!/usr/bin/env bash
# scorer_partition_start: the scorer never pauses or resumes a partition
# that librdkafka has not started yet. In librdkafka 2.0.2 each pause or
# resume takes a new version of the partition; one taken by the scorer's
# thread while the client's main thread starts the partition can make the
# start outdated, and the partition is then never fetched (a scorer stuck
# short of its end: see resume_revoked in consumer/scorer_kafka.c). The
# race itself needs an unlucky preemption inside librdkafka, so this test
# checks the discipline that rules it out, from librdkafka's own debug log
# (-X debug=topic): scorer A takes all 8 partitions of a topic, reads its
# backlog, then scorer B joins the group, so A gives every partition up
# (resuming those it started, while they are still assigned) and gets half
# back. In both scorers' logs, every "Pause"/"Resume" of a partition by the
# scorer's own thread ([thrd:app]) comes while that partition is started:
# after librdkafka's "Start consuming" of it and before its "Stop
# consuming". The build before the fix resumed every partition at its
# assignment, about 10 ms before librdkafka started it, and fails here.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP

pdm_start_redis
pdm_start_broker 8 --topic pdm.events
sl_sim "$T/data" 16 300 5
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 4
"$PDM_BIN/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" --topic pdm.events \
  2>"$T/replay.log" || pdm_fail "replay failed: $(tail -5 "$T/replay.log")"

# scorer NAME: a member of group g with librdkafka's topic debug log.
scorer() {
  sl_scorer "$T/$1.log" --redis "$PDM_REDIS_URL" --model "$T/model" --group g --topics pdm.events \
    --machines-topic "" --log-level debug -X debug=topic
  pid[$1]=$SL_PID
}
declare -A pid
scorer a
sl_wait_log "$T/a.log" "assigned 8 partitions" 1 30
# A has started every partition once it has read all of them to their end.
sl_wait_log "$T/a.log" "at its end" 8 30
scorer b
sl_wait_log "$T/b.log" "assigned [0-9]* partitions" 1 60
sl_wait_log "$T/a.log" "assigned [0-9]* partitions" 2 60
pdm_stop_check "${pid[b]}" pdm-scorer "$T/b.log"
pdm_stop_check "${pid[a]}" pdm-scorer "$T/a.log"

$SL_PY - "$T/a.log" "$T/b.log" <<'PY' || pdm_fail "a partition was paused or resumed before librdkafka started it"
import re, sys
start = re.compile(r"\[thrd:[^\]]*\]: (Start|Stop) consuming (\S+) \[(\d+)\]")
app_op = re.compile(r"\[thrd:app\]: (Pause|Resume) (\S+) \[(\d+)\] \(v\d+\)")
bad = 0
for path in sys.argv[1:]:
    started, starts, ops = {}, 0, 0
    for n, line in enumerate(open(path, errors="replace"), 1):
        m = start.search(line)
        if m:
            started[(m.group(2), int(m.group(3)))] = m.group(1) == "Start"
            starts += m.group(1) == "Start"
            continue
        m = app_op.search(line)
        if m:
            ops += 1
            tp = (m.group(2), int(m.group(3)))
            if not started.get(tp):
                bad += 1
                print(f"{path}:{n}: {m.group(1)} of {tp[0]} [{tp[1]}] by the scorer's thread "
                      "before librdkafka started it", file=sys.stderr)
    print(f"{path}: {starts} partition starts, {ops} pauses and resumes by the scorer's thread")
    if starts == 0:
        sys.exit(f"{path}: no 'Start consuming' line: is -X debug=topic logged?")
# A resumed what it had started when it gave its partitions up: the check
# above had something to look at.
a_ops = sum(1 for line in open(sys.argv[1], errors="replace") if app_op.search(line))
if a_ops < 8:
    sys.exit(f"scorer a resumed {a_ops} partitions by its own thread, want the 8 it gave up")
sys.exit(1 if bad else 0)
PY
echo "scorer_partition_start: ok"
