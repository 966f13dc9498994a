#!/usr/bin/env bash
# faults_broker: pdm-scorer (--emit all) on a live stream while the broker
# misbehaves, through pdm-broker's fault injection (--control):
#  A. a broker (the group coordinator, leader of half the input) down 4 s;
#  B. every broker down 3 s (what "down" means with a single broker);
#  C. Produce errors on the output's leader: retriable ones (retried
#     through) and permanent ones (the batch's output is not delivered: the
#     scorer must consume the batch again, not commit past it);
#  D. OffsetCommit errors on the coordinator, retriable and permanent;
#  E. slow consumer downstream: the leader of the output topic down while
#     input keeps coming: no batch completes (the dump stops growing), the
#     scorer is SIGKILLed during the outage with RiskEvents undelivered, the
#     broker comes back, a new scorer resumes from the committed offsets.
# Then nothing is lost (faults_lib.sh: every telemetry event scored with its
# clean features and emitted as a RiskEvent; duplicates counted), which
# after E also proves that no offset was committed past undelivered output;
# and the rest of the stream, scored from the state left in Redis, is
# scored once with the clean features. The scorer logs failed deliveries
# per batch, not per RiskEvent.
# Layout (3 brokers): input partitions 0-1 led by broker 1, 2-3 by broker
# 2, the output topics by broker 3, the group's coordinator is broker 1.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
source "$PDM_SOURCE_DIR/tests/runtime/faults_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
t_start=$SECONDS

pdm_start_redis
pdm_start_broker_control 4 --brokers 3 --topic pdm.events
for p in 0 1 2 3; do
  pdm_broker_ctl leader pdm.events "$p" $((p < 2 ? 1 : 2)) >/dev/null || pdm_fail "leader pdm.events $p"
  pdm_broker_ctl leader pdm.risk "$p" 3 >/dev/null || pdm_fail "leader pdm.risk $p"
  pdm_broker_ctl leader pdm.dlq "$p" 3 >/dev/null || pdm_fail "leader pdm.dlq $p"
done
pdm_broker_ctl coordinator group faults 1 >/dev/null || pdm_fail "coordinator"

# 8 machines x 3,000 hours, in 6 parts of 500 hours (4,000 telemetry events each).
sl_sim "$T/data" 8 3000 5
cuts=()
for h in 500 1000 1500 2000 2500; do
  cuts+=("$(date -u -d "2015-01-01 06:00:00 UTC + $h hours" '+%Y-%m-%d %H:%M:%S')")
done
fl_split "$T/data" "$T" "${cuts[@]}"
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 5 --dump-features "$T/ref.csv"
fl_ref_between "$T/ref.csv" "${cuts[4]}" "" "$T/ref6.csv"

scorer_args=(--redis "$PDM_REDIS_URL/0" --model "$T/model" --group faults --topics pdm.events
  --emit all --batch-size 200)
# scored: distinct (machine, ts) in every dump so far.
scored() { cat "$T"/run*.csv 2>/dev/null | awk -F, 'NF == 30 && $1 != "machineID" {print $1 "," $2}' | sort -u | wc -l; }
_scored_at_least() { [ "$(scored)" -ge "$1" ]; }
# wait_scored N SECONDS WHAT
wait_scored() {
  pdm_wait_until "$2" _scored_at_least "$1" || pdm_fail "$3: $(scored) of $1 events scored after $2 s: $(tail -3 "$log")"
}
# expect_part N: the parts 1..N in ref.csv.
expect_part() {
  local to=${cuts[$1 - 1]:-}
  awk -F, -v b="$to" 'NR > 1 && (b == "" || $2 < b)' "$T/ref.csv" | wc -l
}
alive() { _pdm_alive "$scorer" || pdm_fail "the scorer exited during $1: $(tail -5 "$log")"; }
log_has() { grep -c -- "$1" "$log" || true; }

log=$T/run1.log
sl_scorer "$log" "${scorer_args[@]}" --dump-features "$T/run1.csv"
scorer=$SL_PID
sl_wait_log "$log" "assigned 4 partitions" 1 20

# A. Broker 1 (coordinator, input leader) down for 4 s mid-part.
sl_replay_bg "$T/part1" pdm.events --rate 1500
producer=$SL_PID
wait_scored 500 20 "A (before the fault)"
pdm_broker_ctl down 1 >/dev/null || pdm_fail "down 1"
sleep 4
n=$(scored)
pdm_broker_ctl up 1 >/dev/null || pdm_fail "up 1"
alive "A"
sl_wait_exit "$producer" "$T/producer.log"
wait_scored "$(expect_part 1)" 40 "A (broker 1 down 4 s)"
echo "A: broker 1 down 4 s at $n scored: resumed ($((SECONDS - t_start)) s)"

# B. Every broker down for 3 s.
sl_replay_bg "$T/part2" pdm.events --rate 1500
producer=$SL_PID
wait_scored $(($(expect_part 1) + 500)) 20 "B (before the fault)"
pdm_broker_ctl down all >/dev/null || pdm_fail "down all"
sleep 3
pdm_broker_ctl up all >/dev/null || pdm_fail "up all"
alive "B"
sl_wait_exit "$producer" "$T/producer.log"
wait_scored "$(expect_part 2)" 40 "B (every broker down 3 s)"
echo "B: every broker down 3 s: resumed ($((SECONDS - t_start)) s)"

# C. Produce errors on broker 3 (the output's leader): 10 retriable, then 3
# permanent ones.
failed_before=$(log_has "output not delivered")
pdm_broker_ctl errors Produce 10 NOT_LEADER_FOR_PARTITION 3 >/dev/null || pdm_fail "errors Produce"
pdm_broker_ctl errors Produce 3 INVALID_RECORD 3 >/dev/null || pdm_fail "errors Produce"
sl_replay "$T/part3" pdm.events
pdm_wait_until 30 eval '[ "$(pdm_broker_ctl pending 3 Produce)" = "ok 0" ]' \
  || pdm_fail "C: produce errors left after 30 s: $(pdm_broker_ctl pending 3 Produce)"
wait_scored "$(expect_part 3)" 40 "C (produce errors)"
alive "C"
redelivered=$(($(log_has "output not delivered") - failed_before))
[ "$redelivered" -ge 1 ] || pdm_fail "C: permanent produce errors but no batch was consumed again: $(grep -i deliver "$log" | tail -3)"
echo "C: 13 produce errors consumed; $redelivered batch(es) consumed again after undelivered output ($((SECONDS - t_start)) s)"

# D. OffsetCommit errors on the coordinator: 2 retriable, then 3 permanent.
commit_failed_before=$(log_has "commit failed")
pdm_broker_ctl errors OffsetCommit 2 COORDINATOR_LOAD_IN_PROGRESS 1 >/dev/null || pdm_fail "errors OffsetCommit"
pdm_broker_ctl errors OffsetCommit 3 OFFSET_METADATA_TOO_LARGE 1 >/dev/null || pdm_fail "errors OffsetCommit"
sl_replay "$T/part4" pdm.events
pdm_wait_until 30 eval '[ "$(pdm_broker_ctl pending 1 OffsetCommit)" = "ok 0" ]' \
  || pdm_fail "D: commit errors left after 30 s: $(pdm_broker_ctl pending 1 OffsetCommit)"
wait_scored "$(expect_part 4)" 40 "D (commit errors)"
alive "D"
commit_failed=$(($(log_has "commit failed") - commit_failed_before))
[ "$commit_failed" -ge 1 ] || pdm_fail "D: 5 commit errors injected, none reported by the scorer"
echo "D: 5 commit errors consumed; $commit_failed commit(s) reported failed ($((SECONDS - t_start)) s)"

# E. The output's leader down while input keeps coming.
pdm_broker_ctl down 3 >/dev/null || pdm_fail "down 3"
before=$(scored)
sl_replay "$T/part5" pdm.events
# The first batch is scored and dumped, then waits for its delivery.
wait_scored $((before + 1)) 20 "E (first batch of the outage)"
sleep 1
n1=$(fl_rows_all "$T/run1.csv")
sleep 3
n2=$(fl_rows_all "$T/run1.csv")
[ "$n1" = "$n2" ] || pdm_fail "E: batches completed while the output was unavailable ($n1, then $n2 rows)"
kill -KILL "$scorer"
pdm_stop "$scorer" 2>/dev/null || true
pdm_broker_ctl up 3 >/dev/null || pdm_fail "up 3"
sl_tail pdm.risk "$T/risk_at_kill.jsonl"
undelivered=$($SL_PY - "$T/run1.csv" "$T/risk_at_kill.jsonl" <<'PY'
import json, sys
emitted = set()
for line in open(sys.argv[2]):
    e = json.loads(line).get("event") or {}
    emitted.add((str(e.get("machine_id")), str(e.get("ts", ""))[:19].replace("T", " ")))
dumped = set()
for line in open(sys.argv[1]):
    f = line.split(",")
    if len(f) == 30 and f[0] != "machineID":
        dumped.add((f[0], f[1]))
print(len(dumped - emitted))
PY
)
[ "$undelivered" -gt 0 ] || pdm_fail "E: every scored event reached pdm.risk: the outage blocked nothing"
echo "E: output blocked for 4 s: $n2 rows dumped, no batch completed; killed with $undelivered events scored but undelivered ($((SECONDS - t_start)) s)"

# The rest, by a new scorer from the committed offsets and the stored state.
sl_replay "$T/part6" pdm.events
log=$T/run2.log
sl_scorer "$log" "${scorer_args[@]}" --dump-features "$T/run2.csv" --exit-at-end
sl_wait_exit "$SL_PID" "$log"
echo "restarted scorer done ($((SECONDS - t_start)) s)"

sl_tail pdm.risk "$T/risk.jsonl"
fl_check "faults A-E" "$T/ref.csv" "$T/risk.jsonl" "$T"/run*.csv
FL_ONLY_REF=1 FL_NO_DUPLICATES=1 fl_check "after the faults, from the stored state" "$T/ref6.csv" "$T/risk.jsonl" "$T/run2.csv"

# Logging: once per state change or batch, not once per event. Phase C's 3
# failed produce requests carry a few hundred RiskEvents between them: the
# scorer logs one "output not delivered (N messages; first: ...)" line per
# batch, and no other line names the produce error.
$SL_PY - "$T/run1.log" <<'PY' || pdm_fail "undelivered RiskEvents are not logged once per batch"
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
batches = [int(m.group(1)) for m in map(re.compile(r"output not delivered \((\d+) messages").search, lines) if m]
naming = [l for l in lines if "invalid record" in l.lower() or "failed to validate record" in l.lower()]
print(f"{len(batches)} batch(es) logged undelivered, {sum(batches)} RiskEvents in them; "
      f"{len(naming)} log line(s) name the produce error")
# A line per undelivered RiskEvent would give at least as many lines naming
# the error as RiskEvents failed; a line per batch gives fewer as soon as
# two or more failed (how many the 3 failed produce requests carry varies
# from run to run: 5 to a few hundred).
ok = True
if not batches or sum(batches) < 2:
    print("  the permanent produce errors failed too few RiskEvents to tell a line per batch from one per event")
    ok = False
elif len(naming) >= sum(batches):
    print("  a line per undelivered RiskEvent, e.g.", naming[-1][:200])
    ok = False
sys.exit(0 if ok else 1)
PY
echo "faults_broker: ok in $((SECONDS - t_start)) s"
