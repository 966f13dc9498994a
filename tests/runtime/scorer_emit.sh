#!/usr/bin/env bash
# scorer_emit: pdm-scorer's --emit modes on one replay, each run in its own
# consumer group and Redis database (run side by side):
#   all     one RiskEvent per telemetry row (twice: the model's thresholds,
#           then --warn/--critical overrides; event_ids and risks must agree,
#           so event_id is deterministic across runs);
#   alerts  exactly the WARN/CRITICAL rows of the 'all' run (same event_ids);
#   changes exactly when a machine's level differs from its previous row's,
#           plus every --renotify of event time while CRITICAL, as recomputed
#           here from the 'all' run's levels.
# WARN/CRITICAL events carry 1..3 top_reasons (v1 feature names, positive
# contributions, largest first); OK events none.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP

pdm_start_redis
pdm_start_broker 4 --topic pdm.events,risk.model,risk.all,risk.alerts,risk.changes

sl_sim "$T/data" 6 2000 11
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 10 --dump-features "$T/offline.csv"
sl_replay "$T/data" pdm.events

# Thresholds that make a few percent of the rows WARN and fewer CRITICAL,
# from the offline risk of the same model (the model's own thresholds are
# used by the first run).
"$PDM_BIN/pdm-predict" --model "$T/model" --features "$T/offline.csv" >"$T/offline_risk.csv" \
  || pdm_fail "pdm-predict failed"
read -r warn critical < <($SL_PY - "$T/offline_risk.csv" <<'PY'
import csv, sys
r = sorted(float(x["risk"]) for x in csv.DictReader(open(sys.argv[1])))
print(r[int(0.93 * len(r))], r[int(0.97 * len(r))])
PY
)
echo "thresholds: warn $warn, critical $critical"
renotify_h=3

run() { # run NAME DB TOPIC ARGS...
  local name=$1 db=$2 topic=$3
  shift 3
  sl_scorer "$T/$name.log" --redis "$PDM_REDIS_URL/$db" --model "$T/model" --group "emit-$name" \
    --topics pdm.events --risk-topic "$topic" --exit-at-end "$@"
  eval "pid_$name=$SL_PID"
}
run model 0 risk.model --emit all
run all 1 risk.all --emit all --warn "$warn" --critical "$critical" --dump-features "$T/all.csv"
run alerts 2 risk.alerts --emit alerts --warn "$warn" --critical "$critical"
run changes 3 risk.changes --emit changes --renotify ${renotify_h}h --warn "$warn" --critical "$critical"
for name in model all alerts changes; do
  pid_var=pid_$name
  sl_wait_exit "${!pid_var}" "$T/$name.log"
  sl_tail "risk.$name" "$T/$name.jsonl"
done

$SL_PY - "$T" "$warn" "$critical" "$renotify_h" <<'PY' || pdm_fail "emitted RiskEvents are wrong"
import csv, json, sys
from collections import Counter, defaultdict
from datetime import datetime, timezone

t, warn, critical, renotify_h = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
problems = []
def check(cond, what):
    if not cond:
        problems.append(what)

def events(name):
    out = []
    for line in open(f"{t}/{name}.jsonl"):
        m = json.loads(line)
        check("event" in m and m["event"]["type"] == "risk", f"{name}: not a RiskEvent: {line[:200]}")
        out.append(m["event"])
    return out

def ms(ts):
    return int(datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp() * 1000)

header = next(csv.reader(open(f"{t}/offline.csv")))
v1 = set(header[2:29])
check(len(v1) == 27, f"v1 feature names from the dump header: {len(v1)}")
rows = {(int(r[0]), r[1]) for r in csv.reader(open(f"{t}/offline.csv")) if r[0] != "machineID"}
def key(e):
    return (e["machine_id"], e["ts"][:19].replace("T", " "))

runs = {n: events(n) for n in ("model", "all", "alerts", "changes")}
version = json.load(open(f"{t}/model/model.json"))["version"]

# Every event: event_id is machine-ts-version, reasons as documented.
n_reasons = Counter()
for name, evs in runs.items():
    for e in evs:
        check(e["model_version"] == version, f"{name}: model_version {e['model_version']}")
        check(e["event_id"] == f"{e['machine_id']}-{ms(e['ts'])}-{version}", f"{name}: event_id {e['event_id']}")
        r = e["top_reasons"]
        if e["level"] == "OK":
            check(r == [], f"{name}: OK event with reasons: {e['event_id']}")
            continue
        n_reasons[len(r)] += 1
        check(1 <= len(r) <= 3, f"{name}: {len(r)} reasons in {e['event_id']}")
        check(all(x["feature"] in v1 for x in r), f"{name}: unknown feature in {r}")
        check(all(x["contribution"] > 0 for x in r), f"{name}: non-positive contribution in {r}")
        check(len({x["feature"] for x in r}) == len(r), f"{name}: repeated feature in {r}")
        c = [x["contribution"] for x in r]
        check(c == sorted(c, reverse=True), f"{name}: reasons not largest first: {c}")
print("reasons per alert:", dict(n_reasons))

# all: exactly one event per telemetry row, levels by the thresholds given.
for name in ("model", "all"):
    keys = Counter(key(e) for e in runs[name])
    check(set(keys) == rows, f"{name}: {len(set(keys) ^ rows)} rows scored differently from the offline rows")
    check(max(keys.values()) == 1, f"{name}: a row scored twice")
all_ = {key(e): e for e in runs["all"]}
for e in runs["all"]:
    want = "CRITICAL" if e["risk"] >= critical else "WARN" if e["risk"] >= warn else "OK"
    check(e["level"] == want, f"all: level {e['level']} for risk {e['risk']}, want {want}")
levels = Counter(e["level"] for e in runs["all"])
print("all:", len(runs["all"]), "events", dict(levels))
check(levels["WARN"] >= 20 and levels["CRITICAL"] >= 20, f"too few alerts to test: {dict(levels)}")

# Deterministic: another group, another database, other thresholds: same
# event_ids and risks for the same rows.
model_ids = {key(e): (e["event_id"], e["risk"]) for e in runs["model"]}
check(model_ids == {k: (e["event_id"], e["risk"]) for k, e in all_.items()},
      "event_id or risk differs between two runs")

# alerts: exactly the WARN/CRITICAL rows of 'all', with the same content.
alerts = {e["event_id"]: e for e in runs["alerts"]}
check(len(alerts) == len(runs["alerts"]), "alerts: duplicate event_id")
want = {e["event_id"] for e in runs["all"] if e["level"] != "OK"}
check(set(alerts) == want, f"alerts: {len(set(alerts) - want)} extra, {len(want - set(alerts))} missing")
for e in runs["all"]:
    if e["event_id"] in alerts:
        a = alerts[e["event_id"]]
        for f in ("level", "risk", "components", "top_reasons"):
            check(a[f] == e[f], f"alerts: {f} differs from 'all' for {e['event_id']}")

# changes: recomputed from the levels of 'all' in each machine's row order.
by_machine = defaultdict(list)
for e in runs["all"]:
    by_machine[e["machine_id"]].append(e)
expect, renotified = {}, 0
for m, evs in by_machine.items():
    evs.sort(key=lambda e: e["ts"])
    prev, notified = None, None
    for e in evs:
        emit = False
        if e["level"] != prev:
            emit = prev is not None or e["level"] != "OK"
        elif e["level"] == "CRITICAL" and ms(e["ts"]) - notified >= renotify_h * 3600000:
            emit = True
            renotified += 1
        if emit:
            notified = ms(e["ts"])
            expect[e["event_id"]] = e["level"]
        prev = e["level"]
got = {e["event_id"]: e["level"] for e in runs["changes"]}
check(len(got) == len(runs["changes"]), "changes: duplicate event_id")
check(got == expect, f"changes: {len(set(got) - set(expect))} extra, {len(set(expect) - set(got))} missing "
      f"(e.g. extra {sorted(set(got) - set(expect))[:3]}, missing {sorted(set(expect) - set(got))[:3]})")
check(renotified > 0, "no CRITICAL spell lasts long enough to test --renotify")
print(f"changes: {len(got)} events ({renotified} renotifications); alerts: {len(alerts)}")

for p in problems[:20]:
    print("wrong:", p)
sys.exit(1 if problems else 0)
PY
echo "scorer_emit: ok"
