#!/usr/bin/env bash
# producer_kafka: what pdm-producer leaves in Kafka besides the payloads.
# Every message's Kafka timestamp is the event's time (CreateTime), in replay
# (one topic per type) and in simulate (one topic): read back with pdm-tail
# (its "timestamp" field against the decoded event's ts) and, independently,
# with kcat's %T. Topic creation: the embedded broker (librdkafka's mock
# cluster) has no admin API, so the producer says so, leaves a missing topic
# to the broker's auto-creation at once (no wait) and delivers everything;
# topics that exist are used as they are, without a warning.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
B=$PDM_BIN
input_topics=pdm.telemetry,pdm.errors,pdm.maintenance,pdm.failures,pdm.machines

pdm_start_broker 3 --topic pdm.sim

"$B/pdm-sim" --machines 4 --hours 300 --seed 3 --out "$T/data" 2>"$T/sim.log" \
  || pdm_fail "pdm-sim failed: $(cat "$T/sim.log")"
"$B/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" 2>"$T/replay.log" \
  || pdm_fail "replay failed: $(cat "$T/replay.log")"
# simulate with a regime change (pdm-sim's --shift): machine 2's volt reads
# 500 more from 2015-01-02 06:00 on, the last 16 of its 40 hours.
"$B/pdm-producer" simulate --brokers "$PDM_BROKERS" --machines 3 --hours 40 --topic pdm.sim \
  --shift "2015-01-02 06:00:00:volt:+500@2" \
  2>"$T/simulate.log" || pdm_fail "simulate failed: $(cat "$T/simulate.log")"

# The per-type topics exist (pdm-broker creates them): no warning.
grep -q "topics exist; their settings not checked: .*no admin API" "$T/replay.log" \
  || pdm_fail "replay did not report the unchecked topics: $(cat "$T/replay.log")"
! grep -q WARN "$T/replay.log" || pdm_fail "replay warned: $(cat "$T/replay.log")"
# A topic that does not exist: a warning naming it, auto-created, all delivered.
start=$(date +%s%3N)
"$B/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" --topic pdm.new --partitions 2 \
  2>"$T/new.log" || pdm_fail "replay to a new topic failed: $(cat "$T/new.log")"
took=$(($(date +%s%3N) - start))
grep -q "WARN .*topics not created, left to the broker's auto-creation: pdm.new: no admin API" \
  "$T/new.log" || pdm_fail "no warning for pdm.new: $(cat "$T/new.log")"
grep -q "events sent, \([0-9]*\) delivered, 0 failed" "$T/new.log" || pdm_fail "$(cat "$T/new.log")"
[ "$took" -lt 900 ] || pdm_fail "replay to a new topic took $took ms (a metadata refresh wait?)"
kcat -L -b "$PDM_BROKERS" -t pdm.new | grep -q 'topic "pdm.new" with' || pdm_fail "no topic pdm.new"

"$B/pdm-tail" --brokers "$PDM_BROKERS" --exit-at-end --topic "$input_topics,pdm.sim,pdm.new" \
  >"$T/all.jsonl" 2>"$T/tail.log" || pdm_fail "pdm-tail failed: $(cat "$T/tail.log")"
for t in ${input_topics//,/ } pdm.sim pdm.new; do
  kcat -C -b "$PDM_BROKERS" -t "$t" -e -q -f '%t %p %o %T\n' >>"$T/kcat.txt" \
    || pdm_fail "kcat -C $t failed"
done

/usr/bin/python3 - "$T" <<'PY' || pdm_fail "Kafka timestamps are not the events' times"
import collections, datetime, json, sys
t = sys.argv[1]
def ms(iso):
    d = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return round(d.timestamp() * 1000)
msgs = [json.loads(l) for l in open(f"{t}/all.jsonl")]
kcat = {}
for line in open(f"{t}/kcat.txt"):
    topic, p, o, ts = line.split()
    kcat[(topic, int(p), int(o))] = int(ts)
bad = []
per_topic = collections.Counter()
for m in msgs:
    per_topic[m["topic"]] += 1
    if "event" not in m:
        bad.append(("undecodable", m)); continue
    want = ms(m["event"]["ts"])
    if m["timestamp"] != want or m["timestamp_type"] != "create":
        bad.append(("pdm-tail", want, m))
    k = kcat.get((m["topic"], m["partition"], m["offset"]))
    if k != want:
        bad.append(("kcat", want, k, m["topic"], m["partition"], m["offset"]))
for topic in ("pdm.telemetry", "pdm.errors", "pdm.maintenance", "pdm.machines", "pdm.sim",
              "pdm.new"):
    if per_topic[topic] == 0:
        bad.append(("no messages in", topic))
if len(kcat) != len(msgs):
    bad.append(("kcat read", len(kcat), "pdm-tail read", len(msgs)))
shifted = [m["event"] for m in msgs if m["topic"] == "pdm.sim" and "event" in m
           and m["event"].get("type") == "telemetry"]
high = sorted((e["machine_id"], e["ts"]) for e in shifted if e["volt"] > 500)
if high != sorted((2, e["ts"]) for e in shifted if e["machine_id"] == 2 and e["ts"] >= "2015-01-02T06"):
    bad.append(("simulate --shift: volt above 500 at", high[:5], len(high)))
if len(high) != 16:
    bad.append(("simulate --shift: shifted readings", len(high), "not 16"))
for b in bad[:10]:
    print("wrong:", b)
print(f"{len(msgs)} messages, {len(bad)} wrong; per topic {dict(per_topic)}")
sys.exit(1 if bad else 0)
PY
echo "producer_kafka: ok"
