#!/usr/bin/env bash
# scorer_incidents: pdm-scorer --emit incidents end to end, and its
# crash/restart identity. The simulator's fleet is replayed once and scored
# to the end (the clean run), with thresholds from the offline risk so that
# there are incidents to see; every RiskEvent must belong to an incident,
# with an id stable for the incident's life ("<machine>-<opened_at ms>"),
# the incident's first event firing at its opening and at most one
# resolution, last. Then the same stream is scored again with the scorer
# SIGKILLed twice mid-stream and restarted (stream_parity's crash schedule):
# the set of (incident_id, status, ts) must equal the clean run's
# (duplicates allowed, nothing missing, no new ids).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
source "$PDM_SOURCE_DIR/tests/runtime/faults_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP

pdm_start_redis
pdm_start_broker 4 --topic pdm.events,pdm.crash,risk.clean,risk.crash

sl_sim "$T/data" 6 2000 11
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 10 --dump-features "$T/offline.csv"
sl_replay "$T/data" pdm.events

# WARN and CRITICAL for a few percent of the rows (as scorer_emit): the
# overrides also exercise the policy's clear thresholds moving with them.
"$PDM_BIN/pdm-predict" --model "$T/model" --features "$T/offline.csv" >"$T/offline_risk.csv" \
  || pdm_fail "pdm-predict failed"
read -r warn critical < <($SL_PY - "$T/offline_risk.csv" <<'PY'
import csv, sys
r = sorted(float(x["risk"]) for x in csv.DictReader(open(sys.argv[1])))
print(r[int(0.93 * len(r))], r[int(0.97 * len(r))])
PY
)
echo "thresholds: warn $warn, critical $critical"
# --silence-after 0: silence follows the scorer's in-memory tracker and is
# not replay-safe (README, "Emission"); while the crash runs read a stream
# being produced, one partition can run 6 h of event time ahead of another
# (3 machines of 6 at 3,000 events/s, seen in about one run in three) and
# resolve an incident `silent` that the clean run keeps. scorer_alerts
# tests silence.
common=(--model "$T/model" --emit incidents --warn "$warn" --critical "$critical"
  --silence-after 0)

# 1. The clean run.
sl_scorer "$T/clean.log" --redis "$PDM_REDIS_URL/0" --group clean --topics pdm.events \
  --risk-topic risk.clean --exit-at-end "${common[@]}"
sl_wait_exit "$SL_PID" "$T/clean.log"

# 2. The crash runs (fresh state in db 1) on pdm.crash, which gets the
# stream in three parts at 3,000 events/s, killed after a third and after
# two thirds of the rows were dumped (see stream_parity.sh).
rows=$(($(wc -l <"$T/offline.csv") - 1))
mapfile -t cuts < <(awk -F, 'NR > 1 {print $2}' "$T/offline.csv" | sort -u \
  | awk '{t[NR] = $0} END {print t[int(NR / 2)]; print t[int(5 * NR / 6)]}')
fl_split "$T/data" "$T/crash" "${cuts[@]}"
scored_rows() { cat "$T/crash.csv.all" "$T/crash.part.csv" 2>/dev/null | grep -vc '^machineID' || true; }
# shellcheck disable=SC2317
reached() { [ "$(scored_rows)" -ge "$kill_at" ]; }
crash_args=(--redis "$PDM_REDIS_URL/1" --group crash --topics pdm.crash --risk-topic risk.crash
  --batch-size 200 --dump-features "$T/crash.part.csv" "${common[@]}")
: >"$T/crash.csv.all"
part=1
for kill_at in $((rows / 3)) $((2 * rows / 3)); do
  log=$T/crash$part.log
  sl_scorer "$log" "${crash_args[@]}"
  pid=$SL_PID
  sl_wait_log "$log" "assigned [0-9]* partitions" 1 30
  sl_replay_bg "$T/crash/part$part" pdm.crash --rate 3000
  producer=$SL_PID
  part=$((part + 1))
  pdm_wait_until 60 reached || pdm_fail "$(scored_rows) rows scored after 60 s, want $kill_at: $(tail -3 "$log")"
  _pdm_alive "$pid" || pdm_fail "the scorer ended before it was killed at $kill_at rows: $(tail -3 "$log")"
  kill -KILL "$pid"
  pdm_stop "$pid" 2>/dev/null || true
  tail -n +2 "$T/crash.part.csv" 2>/dev/null | awk -F, 'NF == 30' >>"$T/crash.csv.all" || true
  rm -f "$T/crash.part.csv"
  sl_wait_exit "$producer" "$T/producer.log"
  done_rows=$(sort -u -t, -k1,2 "$T/crash.csv.all" | wc -l)
  [ "$done_rows" -lt "$rows" ] || pdm_fail "the scorer was killed after every row was scored: not mid-stream"
  echo "killed the scorer after $(scored_rows) rows dumped, $done_rows of $rows distinct" >&2
done
sl_replay "$T/crash/part3" pdm.crash
sl_scorer "$T/final.log" "${crash_args[@]}" --exit-at-end
sl_wait_exit "$SL_PID" "$T/final.log"

sl_tail risk.clean "$T/clean.jsonl"
sl_tail risk.crash "$T/crash.jsonl"

$SL_PY - "$T/clean.jsonl" "$T/crash.jsonl" "$T/model/model.json" <<'PY' || pdm_fail "incidents are wrong"
import json, sys
from collections import defaultdict
from datetime import datetime, timezone

problems = []
def check(cond, what):
    if not cond:
        problems.append(what)

def ms(ts):
    return int(datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp() * 1000)

def events(path):
    out = []
    for line in open(path):
        e = json.loads(line).get("event")
        if e and e.get("type") == "risk":
            out.append(e)
    return out

clean, crash = events(sys.argv[1]), events(sys.argv[2])
renotify_ms = json.load(open(sys.argv[3]))["alert_policy"]["renotify_ms"]

# Every RiskEvent concerns an incident whose id is stable for its life.
by_id = defaultdict(list)
for e in clean:
    check(e["incident_id"] != "", f"an event without incident: {e['event_id']}")
    by_id[e["incident_id"]].append(e)
opened = resolved = 0
reasons = defaultdict(int)
for iid, evs in by_id.items():
    evs.sort(key=lambda e: (ms(e["ts"]), e["status"] == "resolved"))
    first = evs[0]
    o = ms(first["opened_at"])
    check(iid == f"{first['machine_id']}-{o}", f"{iid}: id is not machine-opened_at")
    check(all(e["machine_id"] == first["machine_id"] and e["opened_at"] == first["opened_at"]
              for e in evs), f"{iid}: machine or opened_at changes")
    check(first["status"] == "firing" and ms(first["ts"]) == o, f"{iid}: does not start firing at its opening")
    check(len(evs) == len({(e["ts"], e["status"]) for e in evs}), f"{iid}: an event twice in a clean run")
    st = [e["status"] for e in evs]
    check(st.count("resolved") <= 1 and "resolved" not in st[:-1], f"{iid}: statuses {st}")
    for e in evs:
        if e["status"] == "firing":
            # (its level is the row's: a renotification may come from a row
            # below warn while the incident stays CRITICAL above critical_clear)
            check(e["resolution"] == "none" and len(e["top_reasons"]) >= 1,
                  f"{iid}: firing event {e['event_id']} resolution '{e['resolution']}', reasons {len(e['top_reasons'])}")
        else:
            check(e["resolution"] in ("cleared", "repaired", "failed"), f"{iid}: resolution '{e['resolution']}'")
            check(e["top_reasons"] == [], f"{iid}: a resolution with reasons")
            if e["resolution"] != "cleared": # by the world: not a score
                check(e["level"] == "OK" and e["risk"] == 0, f"{iid}: a world resolution with a score")
            reasons[e["resolution"]] += 1
    # One escalation at most: once an incident was notified CRITICAL (opened
    # at it, or escalated), every later notification is a renotification, at
    # least the renotify interval after the one before (a return to CRITICAL
    # after a quiet drop is not paged again within it).
    firing = [e for e in evs if e["status"] == "firing"]
    told = next((i for i, e in enumerate(firing) if e["level"] == "CRITICAL"), len(firing))
    for prev, e in zip(firing[told:], firing[told + 1:]):
        check(renotify_ms > 0 and ms(e["ts"]) - ms(prev["ts"]) >= renotify_ms,
              f"{iid}: notified at {prev['ts']} and again at {e['ts']}, within the renotify interval")
    opened += 1
    resolved += st[-1] == "resolved"
check(len({e["event_id"] for e in clean}) == len(clean), "event_ids repeat (a resolution's and a row's?)")
print(f"clean: {len(clean)} events, {opened} incidents, {resolved} resolved {dict(reasons)}")
check(opened >= 3, f"too few incidents to test: {opened}")
check(resolved >= 1, "no incident resolved")

# The crash runs: the same (incident_id, status, ts), duplicates allowed.
key = lambda e: (e["incident_id"], e["status"], e["ts"])
a, b = {key(e) for e in clean}, {key(e) for e in crash}
print(f"crash: {len(crash)} events, {len(b)} distinct; {len(a - b)} missing, {len(b - a)} new")
check(a == b, f"crash runs differ: missing {sorted(a - b)[:5]}, new {sorted(b - a)[:5]}")
for p in problems[:20]:
    print("PROBLEM:", p)
sys.exit(1 if problems else 0)
PY
echo "scorer_incidents: ok"
