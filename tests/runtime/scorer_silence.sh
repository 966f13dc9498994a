#!/usr/bin/env bash
# scorer_silence: silent machines end to end (README "Silent machines"). A
# simulated fleet of 6 machines x 300 h is cut in two: part A is every row
# before hour 200 except machine 3's from hour 100 on (it stops reporting),
# part B every row from hour 200 on (machine 3 reports again). One scorer,
# small batches so that event time moves in steps, consumes A: exactly one
# MachineSilence event, for machine 3, with last_seen its last reading and
# ts (the stream's time when noticed) a little over --silence-after later;
# none for the others; GET /v1/machines/3 says silent with its hours behind
# the stream, machine 1 not silent; pdm_machines_silent is 1. Then B: one
# "back" event for machine 3 with the same last_seen, nothing else, and the
# gauge at 0. Also: a MachineSilence written to the input topic is a dead
# letter (unexpected_type), as a RiskEvent would be.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
PY=$SL_PY

sl_sim "$T/data" 6 300 5
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 5

# Parts A and B; prints machine 3's last telemetry time in A (ms) and its
# first in B.
read -r last_seen first_back < <($PY - "$T/data" "$T/a" "$T/b" <<'PY'
import os, sys
from datetime import datetime, timedelta, timezone
src, a, b = sys.argv[1:4]
fmt = "%Y-%m-%d %H:%M:%S"
tel = open(os.path.join(src, "PdM_telemetry.csv")).read().splitlines()[1:]
t0 = min(datetime.strptime(r[:19], fmt) for r in tel)
cut, end_a = (t0 + timedelta(hours=h) for h in (100, 200))
cut, end_a = cut.strftime(fmt), end_a.strftime(fmt)
for d in (a, b):
    os.makedirs(d, exist_ok=True)
ms = lambda s: int(datetime.strptime(s, fmt).replace(tzinfo=timezone.utc).timestamp() * 1000)
last, first = None, None
for name in os.listdir(src):
    lines = open(os.path.join(src, name)).read().splitlines(keepends=True)
    if name == "PdM_machines.csv":
        for d in (a, b):
            open(os.path.join(d, name), "w").writelines(lines)
        continue
    head, rows = lines[0], lines[1:]
    in_a = [r for r in rows if r[:19] < end_a and not (r.split(",")[1] == "3" and r[:19] >= cut)]
    in_b = [r for r in rows if r[:19] >= end_a]
    open(os.path.join(a, name), "w").writelines([head] + in_a)
    open(os.path.join(b, name), "w").writelines([head] + in_b)
    if name == "PdM_telemetry.csv":
        last = max(ms(r[:19]) for r in in_a if r.split(",")[1] == "3")
        first = min(ms(r[:19]) for r in in_b if r.split(",")[1] == "3")
print(last, first)
PY
)
[ -n "$last_seen" ] && [ -n "$first_back" ] || pdm_fail "could not cut the data"
echo "machine 3: last reading in A at $last_seen, first in B at $first_back"

# One partition: the stream's time is the newest reading applied across the
# scorer's partitions, and a backlog on several partitions is not consumed
# in event time across them (README "Silent machines").
pdm_start_redis
pdm_start_broker 1 --topic pdm.events,pdm.risk,pdm.dlq
sl_replay "$T/a" pdm.events

sl_scorer "$T/scorer.log" --redis "$PDM_REDIS_URL" --model "$T/model" --topics pdm.events \
  --machines-topic "" --group silence-test --batch-size 20 --http 127.0.0.1:0 --log-level debug
scorer=$SL_PID
sl_wait_log "$T/scorer.log" "http listening on port" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/scorer.log" | head -1)
rows_a=$(($(wc -l <"$T/a/PdM_telemetry.csv") - 1))
_scored_a() { get_metrics && [ "$(metric pdm_rows_scored_total)" = "$rows_a" ]; }

get() { # get PATH: prints "STATUS BODY"
  $PY - "http://127.0.0.1:$port$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=30) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
get_metrics() { get /metrics | sed '1s/^200 //' >"$T/metrics.txt"; }
metric() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics.txt"; }

pdm_wait_until 60 _scored_a || pdm_fail "part A not scored in 60 s: $(tail -5 "$T/scorer.log")"
[ "$(metric pdm_machines_silent)" = 1 ] || pdm_fail "pdm_machines_silent $(metric pdm_machines_silent), want 1"
[ "$(metric 'pdm_machine_silence_events_total{event="silent"}')" = 1 ] \
  || pdm_fail "silent events counted: $(grep silence_events "$T/metrics.txt")"

# The machine endpoint while the scorer runs.
$PY - "$(get /v1/machines/3)" "$(get /v1/machines/1)" "$last_seen" <<'PY' || pdm_fail "GET /v1/machines/{id} silence fields are wrong"
import json, sys
from datetime import datetime
def body(s):
    status, _, text = s.partition(" ")
    assert status == "200", s
    return json.loads(text)
m3, m1, last = body(sys.argv[1]), body(sys.argv[2]), int(sys.argv[3])
ms = lambda s: int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)
assert m3["silent"] is True, m3
assert ms(m3["latest_telemetry"]) == last, m3
behind = (ms(m3["stream_time"]) - last) / 3600000
assert abs(m3["hours_behind_stream"] - behind) < 1e-9 and behind > 90, m3
assert m1["silent"] is False and m1["hours_behind_stream"] < 6, m1
print("machine 3:", m3["silent"], m3["hours_behind_stream"], "h; machine 1:", m1["silent"])
PY

# Part B: machine 3 reports again.
rows_b=$(($(wc -l <"$T/b/PdM_telemetry.csv") - 1))
sl_replay "$T/b" pdm.events
_scored_b() { get_metrics && [ "$(metric pdm_rows_scored_total)" = "$((rows_a + rows_b))" ]; }
pdm_wait_until 60 _scored_b || pdm_fail "part B not scored in 60 s: $(tail -5 "$T/scorer.log")"
[ "$(metric pdm_machines_silent)" = 0 ] || pdm_fail "pdm_machines_silent $(metric pdm_machines_silent) after B, want 0"
out=$(get /v1/machines/3)
case $out in "200 "*'"silent":false'*) ;; *) pdm_fail "machine 3 after B: $out" ;; esac

# An output type on the input topic is a dead letter.
"$PDM_BIN/pdm-avro" encode --out "$T/silence.bin" \
  --json '{"type":"silence","machine_id":3,"ts":"2015-06-01T00:00:00.000Z","last_seen":"2015-05-01T00:00:00.000Z","silent":true}' \
  || pdm_fail "pdm-avro encode of a MachineSilence failed"
kcat -P -b "$PDM_BROKERS" -t pdm.events -p 0 -k 3 "$T/silence.bin" || pdm_fail "kcat -P failed"
_dead() { get_metrics && [ "$(metric 'pdm_bad_messages_total{reason="unexpected_type"}')" = 1 ]; }
pdm_wait_until 30 _dead || pdm_fail "the MachineSilence on the input topic was not dead-lettered: $(grep bad_messages "$T/metrics.txt")"
pdm_stop "$scorer" || pdm_fail "the scorer did not stop cleanly: $(tail -5 "$T/scorer.log")"

sl_tail pdm.risk "$T/risk.jsonl"
$PY - "$T/risk.jsonl" "$last_seen" "$first_back" <<'PY' || pdm_fail "the MachineSilence events are wrong"
import json, sys
from datetime import datetime
path, last, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ms = lambda s: int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)
events = [json.loads(l) for l in open(path)]
silence = [e for e in events if e.get("event", {}).get("type") == "silence"]
assert all(e["key"] == str(e["event"]["machine_id"]) for e in silence), silence
got = [(e["event"]["machine_id"], e["event"]["silent"], ms(e["event"]["last_seen"]), ms(e["event"]["ts"]))
       for e in silence]
print("silence events:", got)
assert len(got) == 2, got
(m, s, seen, ts), (m2, s2, seen2, ts2) = got
assert (m, s, seen) == (3, True, last), got[0]
# Noticed a little over 6 h later: batches of 20 messages move event time by
# about 3-4 h at a time.
assert 6 * 3600000 < ts - seen <= 12 * 3600000, (ts - seen) / 3600000
assert (m2, s2, seen2) == (3, False, last), got[1]
assert first <= ts2 < first + 6 * 3600000, got[1]
print("ok: one silent and one back event for machine 3, none for the others")
PY
