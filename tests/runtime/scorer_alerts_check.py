"""scorer_alerts_check.py: the checks of tests/runtime/scorer_alerts.sh.

    scorer_alerts_check.py api PORT_A PORT_B REDIS_PORT DB RISK.jsonl RISK.txt DATA
        GET /v1/alerts (filters, pagination, errors), the incident of
        /v1/machines/{id}, the incident metrics and the live performance of
        scorer A (which consumed DATA to its end) against its risk topic and
        Redis; scorer B (another instance, no partitions of that stream, the
        same Redis) answers the same; pdm-tail --format text's lines.
    scorer_alerts_check.py cut RISK.jsonl DATA OUT
        picks an incident opened well before the end, writes DATA without its
        machine's events after the opening into OUT, prints "MACHINE OPENED_MS".
    scorer_alerts_check.py silent RISK.jsonl CUT.jsonl MACHINE OPENED_MS SILENCE_H
        the cut stream resolved that incident by silence, once, at the last
        reading + SILENCE_H, and every other incident event is the full run's.

The first failure exits non-zero with what was wrong.
"""
import csv, json, os, subprocess, sys, urllib.error, urllib.request
from collections import Counter, defaultdict
from datetime import datetime, timezone

H = 3600 * 1000


def fail(msg):
    raise SystemExit(f"FAIL: {msg}")


def ms(ts):
    ts = ts.replace("T", " ").rstrip("Z").split(".")[0]
    return int(datetime.strptime(ts, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp() * 1000)


def risk_events(path, types=("risk",)):
    out = []
    for line in open(path):
        e = json.loads(line).get("event")
        if e and e.get("type") in types:
            out.append(e)
    return out


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=20) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    return status, text


def get_json(port, path, want=200):
    status, text = get(port, path)
    if status != want:
        fail(f"GET {path}: {status}, want {want}: {text[:300]!r}")
    return json.loads(text)


def metrics(port):
    out = {}
    for line in get(port, "/metrics")[1].decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def redis(port, db, *args):
    return subprocess.run(["redis-cli", "-p", port, "-n", db, *args], check=True,
                          capture_output=True, text=True).stdout.split("\n")[:-1]


def open_incidents(events):
    """incident_id -> its last event, for those whose last event is firing."""
    last = {}
    for e in sorted(events, key=lambda e: (ms(e["ts"]), e["status"] == "resolved")):
        if e["incident_id"]:
            last[e["incident_id"]] = e
    return {i: e for i, e in last.items() if e["status"] == "firing"}


def walk(port, query, limit):
    """Every page of /v1/alerts?query&limit=..., following next_cursor."""
    seen, cursor, pages = [], None, 0
    while True:
        q = f"/v1/alerts?limit={limit}" + (f"&{query}" if query else "") + (f"&cursor={cursor}" if cursor else "")
        page = get_json(port, q)
        pages += 1
        if len(page["alerts"]) > limit or page["count"] != len(page["alerts"]):
            fail(f"{q}: {page['count']} / {len(page['alerts'])} alerts, limit {limit}")
        seen += [a["incident_id"] for a in page["alerts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages
        if pages > 100:
            fail(f"{q}: no end after 100 pages")


def check_api(port_a, port_b, redis_port, db, risk_jsonl, risk_txt, data):
    events = risk_events(risk_jsonl)
    if not events or any(not e["incident_id"] for e in events):
        fail(f"{len(events)} RiskEvents, or some without an incident")
    open_ = open_incidents(events)
    # Redis: every machine's alert state; the index names exactly the open ones.
    levels = {}
    for key in redis(redis_port, db, "--scan", "--pattern", "pdm:{*}:meta"):
        m = int(key.split("{")[1].split("}")[0])
        text = redis(redis_port, db, "hget", key, "alert")[0]
        f = text.split(" ")
        if f[0] != "a2" or len(f) != 10 or (f[4] != "0") != (f[9] != "0") or f[9] < f[4]:
            fail(f"machine {m}: alert state '{text}' (a2, notified level >= level)")
        if f[4] != "0":
            levels[m] = (int(f[4]), int(f[5]))  # level, component
    if sorted(levels) != sorted(e["machine_id"] for e in open_.values()):
        fail(f"machines with an open incident: Redis {sorted(levels)}, topic {sorted(e['machine_id'] for e in open_.values())}")
    if len(open_) < 3 or {l for l, _ in levels.values()} != {1, 2}:
        fail(f"the fleet ends with {len(open_)} open incidents at levels {sorted(levels.values())}: too few to test")
    index = redis(redis_port, db, "zrange", "pdm:incidents", "0", "-1", "withscores")
    index = {int(index[i]): int(index[i + 1]) for i in range(0, len(index), 2)}
    want_index = {m: (0 if l == 2 else 2**31) + m for m, (l, _) in levels.items()}
    if index != want_index:
        fail(f"pdm:incidents {index}, want {want_index}")
    by_machine = {e["machine_id"]: i for i, e in open_.items()}
    order = sorted(levels, key=lambda m: (-levels[m][0], m))
    want_all = [by_machine[m] for m in order]

    # GET /v1/alerts, from both instances.
    for port in (port_a, port_b):
        page = get_json(port, "/v1/alerts")
        got = [a["incident_id"] for a in page["alerts"]]
        if got != want_all or page["next_cursor"] is not None:
            fail(f":{port} /v1/alerts {got} (next {page['next_cursor']}), want {want_all}")
        for a in page["alerts"]:
            m = a["machine_id"]
            e = open_[a["incident_id"]]
            want = {"status": "firing", "level": ["", "WARN", "CRITICAL"][levels[m][0]],
                    "component": f"comp{levels[m][1]}", "opened_at": e["opened_at"]}
            if any(a[k] != v for k, v in want.items()) or not a["peak_risk"] >= e["peak_risk"] - 1e-12:
                fail(f"alert {a}, want {want} and peak >= {e['peak_risk']}")
    # Filters.
    for query, keep in (("level=CRITICAL", lambda m: levels[m][0] == 2),
                        ("level=warn", lambda m: levels[m][0] == 1)):
        got = [a["incident_id"] for a in get_json(port_a, f"/v1/alerts?{query}")["alerts"]]
        want = [by_machine[m] for m in order if keep(m)]
        if got != want:
            fail(f"/v1/alerts?{query}: {got}, want {want}")
    union = []
    for k in range(1, 5):
        got = [a["incident_id"] for a in get_json(port_a, f"/v1/alerts?component=comp{k}")["alerts"]]
        want = [by_machine[m] for m in order if levels[m][1] == k]
        if got != want:
            fail(f"/v1/alerts?component=comp{k}: {got}, want {want}")
        union += got
        both = get_json(port_a, f"/v1/alerts?component={k}&level=CRITICAL")["alerts"]
        if [a["incident_id"] for a in both] != [by_machine[m] for m in order if levels[m] == (2, k)]:
            fail(f"component {k} and CRITICAL: {both}")
    if sorted(union) != sorted(want_all):
        fail(f"the components' pages {union} are not the whole list {want_all}")
    # Pagination: every page at most limit, the walk is the whole list once.
    for limit in (1, 2):
        got, pages = walk(port_a, "", limit)
        if got != want_all or pages < len(want_all) // limit:
            fail(f"limit {limit}: walked {got} in {pages} pages, want {want_all}")
    got, _ = walk(port_b, "level=WARN", 1)
    if got != [by_machine[m] for m in order if levels[m][0] == 1]:
        fail(f"WARN pages from B: {got}")
    for bad in ("level=BAD", "limit=0", "limit=1001", "limit=x", "cursor=abc", "cursor=-5",
                "component=comp9", "component=5"):
        status, text = get(port_a, f"/v1/alerts?{bad}")
        if status != 400 or b"error" not in text:
            fail(f"/v1/alerts?{bad}: {status} {text[:200]!r}, want 400")

    # /v1/machines/{id}: the same incident, or null.
    alerts = {a["machine_id"]: a for a in get_json(port_a, "/v1/alerts")["alerts"]}
    for m in range(1, 11):
        inc = get_json(port_a, f"/v1/machines/{m}").get("incident", "missing")
        if inc != alerts.get(m):
            fail(f"/v1/machines/{m} incident {inc}, want {alerts.get(m)}")

    # Metrics: counted as produced, open from Redis on any instance.
    opened = [e for e in events if e["status"] == "firing" and e["opened_at"] == e["ts"]]
    repeats = [e for e in events if e["status"] == "firing" and e["opened_at"] != e["ts"]]
    resolved = Counter(e["resolution"] for e in events if e["status"] == "resolved")
    failed = [ms(e["ts"]) - ms(e["opened_at"]) for e in events if e["resolution"] == "failed"]
    mt = metrics(port_a)
    def total(outcome):
        return mt.get(f'pdm_incidents_total{{outcome="{outcome}"}}', 0)
    if total("opened") != len(opened) or total("escalated") + total("renotified") != len(repeats):
        fail(f"pdm_incidents_total opened {total('opened')} (want {len(opened)}), escalated + renotified "
             f"{total('escalated') + total('renotified')} (want {len(repeats)})")
    for r in ("cleared", "repaired", "failed", "silent"):
        if total(r) != resolved.get(r, 0):
            fail(f"pdm_incidents_total{{outcome={r}}} {total(r)}, want {resolved.get(r, 0)}")
    if not resolved.get("failed"):
        fail("no incident resolved by a failure: the lead-time histogram is untested")
    if (mt.get("pdm_incident_lead_time_seconds_count") != len(failed)
            or abs(mt.get("pdm_incident_lead_time_seconds_sum", -1) - sum(failed) / 1000) > 1e-6):
        fail(f"lead time count/sum {mt.get('pdm_incident_lead_time_seconds_count')} "
             f"{mt.get('pdm_incident_lead_time_seconds_sum')}, want {len(failed)} {sum(failed) / 1000}")
    n_level = Counter(l for l, _ in levels.values())
    for port in (port_a, port_b):
        mp = metrics(port)
        got = (mp.get('pdm_incidents_open{level="warn"}'), mp.get('pdm_incidents_open{level="critical"}'))
        if got != (n_level[1], n_level[2]):
            fail(f":{port} pdm_incidents_open {got}, want {(n_level[1], n_level[2])}")

    # The live performance counts incidents, not alerting rows.
    perf = get_json(port_a, "/v1/drift")["performance"]
    with open(os.path.join(data, "PdM_failures.csv")) as f:
        n_failures = len({(r["machineID"], r["datetime"]) for r in csv.DictReader(f)})
    a = perf["all"]
    if (perf["alerts"] != len(opened) or perf["failures"] != n_failures
            or a["tp"] + a["fp"] + perf["pending"] != len(opened)
            or a["caught"] + a["missed"] != n_failures or a["caught"] == 0):
        fail(f"performance {perf}: want {len(opened)} incidents, {n_failures} failures")

    # pdm-tail --format text: one line per RiskEvent, saying what it is.
    lines = open(risk_txt).read().splitlines()
    kinds = Counter(l.split()[4] for l in lines if len(l.split()) > 4)
    if (kinds["OPENED"] != len(opened) or kinds["ESCALATED"] + kinds["RENOTIFIED"] != len(repeats)
            or kinds["RESOLVED"] != sum(resolved.values()) or kinds["FIRING"]):
        fail(f"text kinds {dict(kinds)}: want {len(opened)} opened, {len(repeats)} repeats, {dict(resolved)}")
    for e in events:
        if e["status"] != "resolved":
            continue
        d = ms(e["ts"]) - ms(e["opened_at"])
        took = f"{d // 60000} min" if d < H else f"{d / H:.3g} h"
        want = f"RESOLVED    {e['resolution']} after {took}"
        if e["resolution"] == "failed":
            want += f" (lead time {took})"
        line = [l for l in lines if e["incident_id"] in l and "RESOLVED" in l]
        if len(line) != 1 or want not in line[0]:
            fail(f"text line of {e['incident_id']}'s resolution: {line}, want '{want}'")
    print(f"api: {len(events)} events, {len(open_)} open {dict(n_level)}, {dict(resolved)}, perf {a}")


def cut(risk_jsonl, data, out):
    events = risk_events(risk_jsonl)
    end = max(ms(e["ts"]) for e in events)
    firsts = sorted((ms(e["opened_at"]), e["machine_id"]) for e in events if e["status"] == "firing"
                    and e["opened_at"] == e["ts"] and ms(e["ts"]) < end - 100 * H)
    if not firsts:
        fail("no incident opened 100 h before the end")
    opened, machine = firsts[len(firsts) // 2]
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(data):
        if not name.endswith(".csv"):
            continue
        with open(os.path.join(data, name)) as f:
            rows = list(csv.reader(f))
        keep = [rows[0]]
        col_m, col_t = rows[0].index("machineID"), rows[0].index("datetime") if "datetime" in rows[0] else -1
        for r in rows[1:]:
            if col_t >= 0 and int(r[col_m]) == machine and ms(r[col_t]) > opened:
                continue
            keep.append(r)
        with open(os.path.join(out, name), "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(keep)
    print(machine, opened)


def silent(risk_jsonl, cut_jsonl, machine, opened, silence_h):
    machine, opened = int(machine), int(opened)
    full, cutr = risk_events(risk_jsonl), risk_events(cut_jsonl, ("risk", "silence"))
    sil = [e for e in cutr if e["type"] == "risk" and e["resolution"] == "silent"]
    want_id, want_ts = f"{machine}-{opened}", opened + int(silence_h) * H
    if (len(sil) != 1 or sil[0]["incident_id"] != want_id or ms(sil[0]["ts"]) != want_ts
            or sil[0]["status"] != "resolved" or sil[0]["level"] != "OK"):
        fail(f"silent resolutions {sil}, want one of {want_id} at {want_ts}")
    if not any(e["type"] == "silence" and e["machine_id"] == machine and e["silent"] for e in cutr):
        fail(f"no MachineSilence event for machine {machine}")
    key = lambda e: (e["incident_id"], e["status"], e["ts"], e["resolution"])
    others = lambda evs: sorted(key(e) for e in evs if e["type"] == "risk" and (
        e["machine_id"] != machine or ms(e["ts"]) <= opened))
    if others(full) != others(cutr):
        fail(f"the other incident events differ: {sorted(set(others(full)) ^ set(others(cutr)))[:5]}")
    print(f"silent: {want_id} resolved at {sil[0]['ts']}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"api": check_api, "cut": cut, "silent": silent}[cmd](*args)
