#!/usr/bin/env bash
# scorer_bad_input: messages a producer that is not ours (kcat) puts on an
# input topic, good events interleaved with every kind of bad one: garbage,
# an empty and a NULL value, truncated Avro, a wrong magic byte, an unknown
# schema fingerprint, trailing bytes, a ~1 MiB message, a RiskEvent (output
# type), NaN / negative / absurd readings, an absurd age, machine_id <= 0,
# timestamps before 2000 and two days ahead, events later than --lateness,
# a duplicate telemetry event, and a machine without MachineInfo.
# Each bad message must reach pdm.dlq with its key and payload (the ~1 MiB
# one truncated to fit, with pdm.truncated = its size) and headers
# pdm.reason (the documented name), pdm.detail and pdm.source.topic /
# partition / offset; the scorer goes on and scores every good telemetry
# event; the duplicate is scored again with the same features and changes
# nothing: every feature row equals a run over the good events alone; the
# machine without MachineInfo has model_id and age missing. /metrics counts
# each reason (pdm_bad_messages_total{reason}) as the DLQ holds it.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
mkdir -p "$T/msg"

pdm_start_redis
pdm_start_broker 1 --topic pdm.bad,pdm.clean,risk.bad,risk.clean

# 1. The messages, in order: msg/NNNN.json (to encode) and a manifest line
# per message: its number, how to make it, the DLQ reason expected ("-" for
# a good one), for good telemetry its row key, and 1 if it belongs to the
# clean stream (the good events without the duplicate).
$SL_PY - "$T/msg" <<'PY' || pdm_fail "generating the messages failed"
import json, sys
from datetime import datetime, timedelta, timezone
out = sys.argv[1]
t0 = datetime(2015, 1, 1, 6, tzinfo=timezone.utc)
def ts(h):
    return (t0 + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
def tel(m, h, v=(170.0, 450.0, 100.0, 40.0), when=None):
    return {"type": "telemetry", "machine_id": m, "ts": when or ts(h), "volt": v[0] + m + h % 7,
            "rotate": v[1] - 3 * (h % 5), "pressure": v[2] + (h * m) % 11, "vibration": v[3] + h % 3}
msgs = []  # (how, reason, event)
def good(ev):
    msgs.append(("json", "-", ev))
def bad(how, reason, ev=None):
    msgs.append((how, reason, ev))
good({"type": "machine", "machine_id": 1, "ts": ts(0), "model": "model3", "age": 7})
good({"type": "machine", "machine_id": 2, "ts": ts(0), "model": "model1", "age": 12})
far_future = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
risk = {"type": "risk", "event_id": "1-1420092000000-x", "machine_id": 1, "ts": ts(0),
        "scored_at": ts(0), "model_version": "x", "risk": 0.5,
        "components": [{"component": f"comp{c}", "probability": 0.1} for c in range(1, 5)],
        "level": "WARN", "top_reasons": [{"feature": "age", "value": 7, "contribution": 0.2}]}
# Bad messages, spread over the stream: hour -> list.
inject = {
    1: [("garbage", "bad_magic"), ("empty", "empty"), ("null", "empty")],
    3: [("truncated", "truncated"), ("wrong_magic", "bad_magic"), ("unknown_fp", "unknown_schema")],
    5: [("trailing", "malformed"), ("json", "unexpected_type", risk)],
    6: [("json", "invalid_value", tel(1, 6, (float("nan"), 450.0, 100.0, 40.0)))],
    7: [("json", "invalid_value", tel(2, 7, (170.0, -5.0, 100.0, 40.0))),
        ("json", "invalid_value", tel(3, 7, (170.0, 450.0, 1e9, 40.0))),
        ("json", "invalid_value", {"type": "machine", "machine_id": 3, "ts": ts(7), "model": "model2", "age": 500})],
    9: [("json", "invalid_machine", tel(0, 9)), ("json", "invalid_machine", tel(-3, 9)),
        ("json", "invalid_machine", {"type": "error", "machine_id": 0, "ts": ts(9), "error_id": "error1"})],
    11: [("json", "invalid_timestamp", tel(1, 0, when="1999-12-31T23:00:00.000Z")),
         ("json", "invalid_timestamp", tel(2, 0, when=far_future))],
    13: [("big", "malformed")],
    # lateness is 6 h: hour 20 is the newest, so hour 13 is late, hour 14 is not.
    20: [("json", "late", tel(1, 13)), ("json", "late", {"type": "error", "machine_id": 2, "ts": ts(13), "error_id": "error2"})],
}
for h in range(30):
    for m in (1, 2, 3):
        good(tel(m, h))
        if (m, h) == (1, 8):
            good(tel(1, 8))  # a duplicate, right after its original
    if h == 4:
        good({"type": "error", "machine_id": 1, "ts": ts(4), "error_id": "error3"})
        good({"type": "maintenance", "machine_id": 2, "ts": ts(4), "component": "comp2"})
    if h == 20:
        good(tel(3, 14, when=ts(14.5)))  # 5.5 h behind the newest: within the lateness
    for item in inject.get(h, []):
        bad(*item)
with open(f"{out}/manifest", "w") as f:
    for i, (how, reason, ev) in enumerate(msgs):
        k, clean = "-", int(reason == "-")
        if ev is not None:
            open(f"{out}/{i:04d}.json", "w").write(json.dumps(ev).replace("NaN", "null") + "\n")
            if ev["type"] == "telemetry" and reason == "-":
                k = f"{ev['machine_id']}|{ev['ts'][:19]}"
                if msgs[i - 1][2] == ev:
                    clean = 0  # the duplicate stays out of the clean stream
        f.write(f"{i} {how} {reason} {k} {clean}\n")
PY

# 2. Encode the JSON ones; build the byte-level ones from a valid event.
while read -r i how _; do
  f=$(printf '%s/msg/%04d' "$T" "$i")
  [ "$how" = json ] || continue
  "$PDM_BIN/pdm-avro" encode --out "$f.bin" <"$f.json" || pdm_fail "pdm-avro encode $f.json"
done <"$T/msg/manifest"
$SL_PY - "$T/msg" <<'PY' || pdm_fail "building the corrupt messages failed"
import sys
out = sys.argv[1]
manifest = [l.split() for l in open(f"{out}/manifest")]
first = next(int(m[0]) for m in manifest if m[3] != "-")  # a good telemetry event
valid = open(f"{out}/{first:04d}.bin", "rb").read()
make = {
    "garbage": b"definitely not avro \x00\xff\x01",
    "truncated": valid[:12],
    "wrong_magic": b"\xc3\x02" + valid[2:],
    "unknown_fp": valid[:2] + bytes(b ^ 0x5A for b in valid[2:10]) + valid[10:],
    "trailing": valid + b"\x00\x01",
    "big": valid + bytes(range(256)) * 4096,  # about 1 MiB
}
for i, how, reason, k, clean in manifest:
    if how in make:
        open(f"{out}/{int(i):04d}.bin", "wb").write(make[how])
PY

# 3. Produce them in order onto partition 0 (so offset = message number):
# runs of files in one kcat call, the empty and NULL values from stdin.
produce_files() { # TOPIC FILES...
  local topic=$1
  shift
  [ $# -gt 0 ] || return 0
  kcat -P -b "$PDM_BROKERS" -t "$topic" -p 0 -k src-key -X message.max.bytes=2000000 "$@" \
    || pdm_fail "kcat -P to $topic failed"
}
files=()
while read -r i how _; do
  f=$(printf '%s/msg/%04d.bin' "$T" "$i")
  case $how in
    empty | null)
      produce_files pdm.bad "${files[@]}"
      files=()
      z=()
      [ "$how" = null ] && z=(-Z)
      printf 'src-key:\n' | kcat -P -b "$PDM_BROKERS" -t pdm.bad -p 0 -K : "${z[@]}" || pdm_fail "kcat -P $how"
      ;;
    *) files+=("$f") ;;
  esac
done <"$T/msg/manifest"
produce_files pdm.bad "${files[@]}"
# The clean stream: the good events alone, without the duplicate.
mapfile -t files < <(awk '$5 == 1 {printf "%s/msg/%04d.bin\n", dir, $1}' dir="$T" "$T/msg/manifest")
produce_files pdm.clean "${files[@]}"

# 4. Score both streams (any model will do).
sl_sim "$T/data" 6 2000 11
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 5
sl_scorer "$T/bad.log" --redis "$PDM_REDIS_URL/0" --model "$T/model" --group bad --topics pdm.bad \
  --risk-topic risk.bad --emit all --lateness 6h --batch-size 16 --dump-features "$T/bad.csv" \
  --http 127.0.0.1:0
bad_pid=$SL_PID
sl_scorer "$T/clean.log" --redis "$PDM_REDIS_URL/1" --model "$T/model" --group clean --topics pdm.clean \
  --risk-topic risk.clean --emit all --lateness 6h --dump-features "$T/clean.csv" --exit-at-end
clean_pid=$SL_PID
# The bad stream's scorer stays up until its metrics count every dead letter.
n_bad=$(awk '$3 != "-"' "$T/msg/manifest" | wc -l)
sl_wait_log "$T/bad.log" "http listening on port" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/bad.log" | head -1)
metrics() { $SL_PY -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://127.0.0.1:$port/metrics"; }
_all_dead() { [ "$(metrics | awk '$1 == "pdm_dlq_messages_total" {print $2}')" = "$n_bad" ]; }
pdm_wait_until 60 _all_dead || pdm_fail "pdm_dlq_messages_total never reached $n_bad: $(metrics | grep dlq)"
metrics >"$T/metrics.txt"
awk '$3 != "-" {print $3}' "$T/msg/manifest" | sort | uniq -c | awk '{print $2, $1}' >"$T/want_reasons.txt"
sed -n 's/^pdm_bad_messages_total{reason="\([a-z_]*\)"} \([0-9]*\)$/\1 \2/p' "$T/metrics.txt" | sort >"$T/got_reasons.txt"
diff "$T/want_reasons.txt" "$T/got_reasons.txt" >"$T/reasons.diff" \
  || pdm_fail "pdm_bad_messages_total by reason differs from the dead letters sent: $(cat "$T/reasons.diff")"
pdm_stop_check "$bad_pid" "the bad stream's pdm-scorer" "$T/bad.log"
sl_wait_exit "$clean_pid" "$T/clean.log"
sl_tail risk.bad "$T/risk.jsonl"
kcat -C -b "$PDM_BROKERS" -t pdm.dlq -e -q -f '%o\t%K\t%k\t%S\t%h\n' >"$T/dlq.txt" || pdm_fail "kcat -C pdm.dlq"
kcat -C -b "$PDM_BROKERS" -t pdm.dlq -e -q -f '%R%s' >"$T/dlq.bin" || pdm_fail "kcat -C pdm.dlq payloads"

# 5. Check.
/usr/bin/python3 "$PDM_SOURCE_DIR/tests/runtime/compare_features.py" "$T/clean.csv" "$T/bad.csv" \
  --expect-same-keys || pdm_fail "features with bad input differ from the good events alone"
$SL_PY - "$T" <<'PY' || pdm_fail "dead letters or scores are wrong"
import csv, json, re, struct, sys
from collections import Counter
t = sys.argv[1]
problems = []
def check(cond, what):
    if not cond:
        problems.append(what)
manifest = [l.split()[:4] for l in open(f"{t}/msg/manifest")]
def payload(i, how):
    if how == "empty":
        return b""
    if how == "null":
        return None
    return open(f"{t}/msg/{int(i):04d}.bin", "rb").read()

# Dead letters: one per bad message, in order, with headers and payload.
want = [(int(i), how, reason) for i, how, reason, k in manifest if reason != "-"]
meta = [l.rstrip("\n").split("\t") for l in open(f"{t}/dlq.txt")]
raw, payloads, p = open(f"{t}/dlq.bin", "rb").read(), [], 0
while p < len(raw):
    (n,) = struct.unpack(">i", raw[p : p + 4])
    p += 4
    payloads.append(None if n < 0 else raw[p : p + n])
    p += max(n, 0)
check(len(meta) == len(want) == len(payloads), f"{len(meta)} dead letters ({len(payloads)} payloads), want {len(want)}")
hdr = re.compile(r"^pdm\.reason=([a-z_]+),pdm\.detail=(.+),pdm\.source\.topic=([\w.]+),"
                 r"pdm\.source\.partition=(\d+),pdm\.source\.offset=(\d+)(,pdm\.truncated=(\d+))?$")
for (i, how, reason), m, body in zip(want, meta, payloads):
    off, klen, key, size, headers = m
    h = hdr.match(headers)
    check(h is not None, f"message {i} ({how}): headers {headers[:300]}")
    if not h:
        continue
    check(h.group(1) == reason, f"message {i} ({how}): reason {h.group(1)}, want {reason}")
    check(h.group(3) == "pdm.bad" and h.group(4) == "0" and int(h.group(5)) == i,
          f"message {i} ({how}): source {h.group(3)} [{h.group(4)}] @{h.group(5)}")
    check(key == "src-key", f"message {i} ({how}): key {key!r}")
    orig = payload(i, how)
    if how == "big":
        check(h.group(7) == str(len(orig)), f"big message: pdm.truncated {h.group(7)}, size {len(orig)}")
        check(body is not None and 0 < len(body) < len(orig) and orig.startswith(body),
              f"big message: dead letter is not a prefix ({None if body is None else len(body)} bytes)")
        print(f"~1 MiB message ({len(orig)} bytes): dead letter keeps its first {len(body)} bytes")
    else:
        check(h.group(7) is None, f"message {i}: truncated")
        check(body == orig, f"message {i} ({how}): payload {body!r:.60} differs from {orig!r:.60}")
print("dead letters:", dict(Counter(r for _, _, r in want)))

# Every good telemetry event scored (the duplicate twice), nothing else.
good = Counter(k for i, how, reason, k in manifest if reason == "-" and k != "-")
got = Counter()
for line in open(f"{t}/risk.jsonl"):
    e = json.loads(line)["event"]
    got[f"{e['machine_id']}|{e['ts'][:19]}"] += 1
check(got == good, f"scored rows differ: extra {list((got - good).items())[:5]}, missing {list((good - got).items())[:5]}")
check(max(good.values()) == 2, "the stream has no duplicate")

# The duplicate's two rows are the same; machine 3 has no model_id/age.
rows = [r for r in csv.DictReader(open(f"{t}/bad.csv"))]
by_key = {}
for r in rows:
    by_key.setdefault((r["machineID"], r["datetime"]), []).append(r)
dups = [v for v in by_key.values() if len(v) > 1]
check(len(dups) == 1 and dups[0][0] == dups[0][1], f"duplicate rows: {dups}")
m3 = [r for r in rows if r["machineID"] == "3"]
check(m3 and all(r["model_id"] == "" and r["age"] == "" for r in m3), "machine 3 has a model_id or age")
m1 = [r for r in rows if r["machineID"] == "1"]
check(m1 and all(r["model_id"] == "3" and r["age"] == "7" for r in m1), "machine 1 lacks its MachineInfo")
for p_ in problems[:20]:
    print("wrong:", p_)
sys.exit(1 if problems else 0)
PY
grep -q "stopped: .* $n_bad dead letters" "$T/bad.log" || pdm_fail "scorer stats: $(grep stopped "$T/bad.log")"
echo "scorer_bad_input: ok"
