#!/usr/bin/env bash
# kcat_interop: messages written by a client that is not ours (kcat) reach
# pdm-tail through the embedded broker. A telemetry event encoded by pdm-avro
# decodes to the same values; garbage, a truncated event and a NULL value
# are reported with the codec's reason and reading goes on; --exit-at-end,
# --timeout, --from-beginning=false and the default topics behave as
# documented.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
pdm_tmpdir >/dev/null
pdm_start_broker 2
tail_bin=$PDM_BIN/pdm-tail
T=$PDM_TMP

"$PDM_BIN/pdm-avro" encode --out "$T/ev7.bin" --json \
  '{"type":"telemetry","machine_id":7,"ts":"2015-01-01T06:00:00.000Z","volt":170.1,"rotate":440,"pressure":100,"vibration":40}' \
  || pdm_fail "pdm-avro encode failed"
[ -s "$T/ev7.bin" ] || pdm_fail "pdm-avro wrote nothing"

# One message: the file as a whole, keyed by the machine id.
kcat -P -b "$PDM_BROKERS" -t pdm.telemetry -p 0 -k 7 "$T/ev7.bin" || pdm_fail "kcat -P failed"
"$tail_bin" --topic pdm.telemetry --count 1 --timeout 15 >"$T/one.jsonl" || pdm_fail "pdm-tail --count 1 failed"
[ "$(wc -l <"$T/one.jsonl")" = 1 ] || pdm_fail "want 1 line, got: $(cat "$T/one.jsonl")"

# Then garbage, a truncated event, a NULL value and a good one, in this order
# (all on partition 0, so the order is the offsets').
printf 'definitely not avro' >"$T/garbage.bin"
head -c 12 "$T/ev7.bin" >"$T/truncated.bin"
"$PDM_BIN/pdm-avro" encode --out "$T/ev9.bin" --json \
  '{"type":"telemetry","machine_id":9,"ts":"2015-01-01T07:00:00.000Z","volt":160.5,"rotate":430.25,"pressure":101,"vibration":39.5}'
kcat -P -b "$PDM_BROKERS" -t pdm.telemetry -p 0 -k 8 "$T/garbage.bin"
kcat -P -b "$PDM_BROKERS" -t pdm.telemetry -p 0 -k 8 "$T/truncated.bin"
printf '8:\n' | kcat -P -b "$PDM_BROKERS" -t pdm.telemetry -p 0 -K : -Z
kcat -P -b "$PDM_BROKERS" -t pdm.telemetry -p 0 -k 9 "$T/ev9.bin"

"$tail_bin" --topic pdm.telemetry --count 5 --timeout 15 >"$T/five.jsonl" || pdm_fail "pdm-tail --count 5 failed"
# Positional topic and --exit-at-end: all five, then exit 0 by itself.
"$tail_bin" -e pdm.telemetry >"$T/end.jsonl" || pdm_fail "pdm-tail -e failed"
# Default topics (all input topics) see the same five.
PDM_TAIL_EXIT_AT_END=1 "$tail_bin" >"$T/default.jsonl" || pdm_fail "pdm-tail with default topics failed"

/usr/bin/python3 - "$T" <<'PY' || pdm_fail "pdm-tail output is wrong"
import json, sys
t = sys.argv[1]
def lines(name):
    return [json.loads(l) for l in open(f"{t}/{name}")]
ok = True
def check(cond, what):
    global ok
    if not cond:
        print("wrong:", what); ok = False

one = lines("one.jsonl")[0]
ev = one.get("event", {})
check(one["topic"] == "pdm.telemetry" and one["partition"] == 0 and one["offset"] == 0, one)
check(one["key"] == "7", one)
check(ev.get("type") == "telemetry" and ev.get("machine_id") == 7, ev)
check(ev.get("ts") == "2015-01-01T06:00:00.000Z", ev)
for f, v in (("volt", 170.1), ("rotate", 440), ("pressure", 100), ("vibration", 40)):
    check(abs(ev.get(f, -1) - v) < 1e-9, (f, ev))

five = lines("five.jsonl")
check([m["offset"] for m in five] == [0, 1, 2, 3, 4], five)
check("event" in five[0] and five[0]["event"] == ev, five[0])
check(five[1].get("error") == "bad_magic" and five[1]["key"] == "8" and five[1].get("detail"), five[1])
check(five[2].get("error") == "truncated", five[2])
check(five[3].get("error") == "empty" and five[3]["key"] == "8", five[3])
last = five[4].get("event", {})
check(last.get("machine_id") == 9 and abs(last.get("rotate", 0) - 430.25) < 1e-9, five[4])
check(lines("end.jsonl") == five, "--exit-at-end read differs from --count 5")
check(lines("default.jsonl") == five, "default topics read differs")
sys.exit(0 if ok else 1)
PY

# --timeout before --count is reached: status 3, what arrived still printed.
status=0
"$tail_bin" --topic pdm.telemetry --count 6 --timeout 2 >"$T/short.jsonl" 2>"$T/short.err" || status=$?
[ "$status" = 3 ] || pdm_fail "timeout status $status, want 3"
[ "$(wc -l <"$T/short.jsonl")" = 5 ] || pdm_fail "timeout run printed $(wc -l <"$T/short.jsonl") lines, want 5"
# --from-beginning=false starts at the end: nothing old, then a new message.
"$tail_bin" --topic pdm.telemetry --from-beginning=false --count 1 --timeout 15 \
  --log-level debug >"$T/new.jsonl" 2>"$T/new.err" &
newer=$!
pdm_track "$newer"
# Produce only once it is at the end of every partition.
pdm_wait_until 10 grep -q "all 2 partition(s) at end" "$T/new.err" || pdm_fail "pdm-tail never at end: $(cat "$T/new.err")"
kcat -P -b "$PDM_BROKERS" -t pdm.telemetry -p 0 -k 9 "$T/ev9.bin"
status=0
wait "$newer" || status=$?
[ "$status" = 0 ] || pdm_fail "--from-beginning=false run exited $status"
grep -q '"offset":5,' "$T/new.jsonl" || pdm_fail "--from-beginning=false read: $(cat "$T/new.jsonl")"
# A topic that does not exist: status 1, named in the error.
status=0
"$tail_bin" --topic no.such.topic --count 1 --timeout 5 2>"$T/missing.err" || status=$?
{ [ "$status" = 1 ] && grep -q "no.such.topic" "$T/missing.err"; } || pdm_fail "missing topic: status $status, $(cat "$T/missing.err")"
echo "kcat_interop: ok"
