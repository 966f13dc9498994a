#!/usr/bin/python3
"""The demo's closing summary (scripts/demo.sh prints it at the end and on
Ctrl-C): what the scorer did with the stream, and how its alerts compare with
the failures that really came.

  demo_summary.py --data DIR --risk FILE --models DIR [--mlruns DIR]
                  [--scored N] [--messages N] [--elapsed S] [--until TIME]

--risk is pdm-tail's JSON lines of the risk topic. With `--emit incidents`
(the scorer's default) an alert is an incident: it is raised at its opening
and lasts until the RiskEvent that resolves it; its notifications are its
firing events (opened, escalated, renotified). With `--emit changes` a
machine's level holds from one RiskEvent to its next: an alert is raised
when a machine goes from OK to WARN or CRITICAL and lasts until it is OK
again; each WARN/CRITICAL event is a notification. Up to --until (the stream
time reached; default: that of the --scored-th telemetry row in time order,
the replay's order, or the data's end), with the model's horizon H:
  - an alert is followed by a failure when the machine fails at f with
    start < f <= end + H;
  - a failure at f is caught when the machine was WARN or CRITICAL at some
    telemetry hour t with f - H <= t < f (the trainer's label rule), its lead
    time f - t of the earliest such hour; else it is missed.
The same is said for the held-out period (from the model's split on), which
the model never saw in training.
"""
import argparse
import bisect
import csv
import datetime as dt
import glob
import json
import os
import statistics
import sys

FMT = "%Y-%m-%d %H:%M:%S"


def hours(text):
    t = dt.datetime.strptime(text[:19].replace("T", " "), FMT)
    return int(t.replace(tzinfo=dt.timezone.utc).timestamp()) // 3600


def stamp(h):
    return dt.datetime.fromtimestamp(h * 3600, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def load_risk(path):
    """(changes, incidents) from pdm-tail's lines of the risk topic:
    {machine: [(hour, level), ...]} for RiskEvents without an incident and
    {machine: [(opened hour, resolved hour or None, [firing hours]), ...]}
    for incidents, both in time order."""
    changes, by_id = {}, {}
    if os.path.exists(path):
        for line in open(path):
            try:
                e = json.loads(line).get("event") or {}
            except ValueError:
                continue
            if e.get("type") != "risk":
                continue
            m = e["machine_id"]
            if not e.get("incident_id"):
                changes.setdefault(m, []).append((hours(e["ts"]), e["level"]))
                continue
            inc = by_id.setdefault((m, e["incident_id"]), [hours(e["opened_at"]), None, set()])
            if e.get("status") == "resolved":
                inc[1] = hours(e["ts"])
            else:
                inc[2].add(hours(e["ts"]))  # a replayed duplicate counts once
    for v in changes.values():
        v.sort(key=lambda x: x[0])
    incidents = {}
    for (m, _), (o, r, firing) in by_id.items():
        incidents.setdefault(m, []).append((o, r, sorted(firing)))
    for v in incidents.values():
        v.sort(key=lambda x: x[0])
    return changes, incidents


def incident_episodes(incidents, until):
    """{machine: [(start, end), ...]}: each incident from its opening to its
    resolution (end exclusive); one still open at until lasts to until + 1."""
    return {m: [(o, min(r, until + 1) if r is not None else until + 1)
                for o, r, _ in incs if o <= until]
            for m, incs in incidents.items()}


def alert_episodes(changes, until):
    """{machine: [(start, end), ...]}: WARN/CRITICAL spells (end exclusive)."""
    out = {}
    for m, ch in changes.items():
        spells, start = [], None
        for h, level in ch:
            if h > until:
                break
            if level != "OK" and start is None:
                start = h
            elif level == "OK" and start is not None:
                spells.append((start, h))
                start = None
        if start is not None:
            spells.append((start, until + 1))
        out[m] = spells
    return out


def evaluate(episodes, failures, telemetry, horizon, since, until):
    """Alerts raised / followed, failures caught / missed and lead times,
    counting alerts that start and failures that happen in [since, until]."""
    raised = followed = 0
    machines = set()
    for m, spells in episodes.items():
        fails = failures.get(m, [])
        for s, e in spells:
            if not since <= s <= until:
                continue
            raised += 1
            machines.add(m)
            followed += any(s < f <= e + horizon for f in fails)
    caught, missed, leads = 0, 0, []
    for m, fails in failures.items():
        spells = episodes.get(m, [])
        rows = telemetry.get(m, [])
        for f in fails:
            if not since <= f <= until:
                continue
            # the earliest telemetry hour in [f - H, f) inside an alert spell
            first = None
            for s, e in spells:
                lo, hi = max(s, f - horizon), min(e, f)
                if lo >= hi:
                    continue
                i = bisect.bisect_left(rows, lo)
                if i < len(rows) and rows[i] < hi and (first is None or rows[i] < first):
                    first = rows[i]
            if first is None:
                missed += 1
            else:
                caught += 1
                leads.append(f - first)
    return raised, followed, len(machines), caught, missed, leads


def describe(raised, followed, machines, caught, missed, leads, horizon, noun="alerts"):
    precision = f"{followed / raised:.2f}" if raised else "n/a"
    lead = f"{statistics.median(leads):.0f} h" if leads else "n/a"
    return (f"{raised} {noun} raised on {machines} machines, {followed} followed by a failure "
            f"within {horizon} h (precision {precision}); failures caught {caught} of "
            f"{caught + missed}, missed {missed}; median lead time {lead}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--risk", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--mlruns")
    ap.add_argument("--scored", type=int)
    ap.add_argument("--messages", type=int)
    ap.add_argument("--elapsed", type=float)
    ap.add_argument("--until", help="stream time reached, 'YYYY-MM-DD HH:MM:SS' (default: the end)")
    a = ap.parse_args()

    pkg = os.path.realpath(os.path.join(a.models, "current"))
    meta = json.load(open(os.path.join(pkg, "model.json")))
    metrics = json.load(open(os.path.join(pkg, "metrics.json")))["test"]
    horizon = int(round(meta["horizon_hours"]))
    held_out = hours(meta["test"]["from"])

    telemetry = {}
    with open(os.path.join(a.data, "PdM_telemetry.csv")) as f:
        for r in csv.DictReader(f):
            telemetry.setdefault(int(r["machineID"]), []).append(hours(r["datetime"]))
    for v in telemetry.values():
        v.sort()
    first = min(v[0] for v in telemetry.values())
    until = max(v[-1] for v in telemetry.values())
    if a.until:
        until = hours(a.until)
    elif a.scored is not None:
        # a scorer that stopped before the end: the replay is in time order,
        # so its stream time is that of the scored-th telemetry row
        times = sorted(h for v in telemetry.values() for h in v)
        if 0 < a.scored < len(times):
            until = times[a.scored - 1]
    failures = {}
    with open(os.path.join(a.data, "PdM_failures.csv")) as f:
        for r in csv.DictReader(f):
            failures.setdefault(int(r["machineID"]), set()).add(hours(r["datetime"]))
    failures = {m: sorted(v) for m, v in failures.items()}

    changes, incidents = load_risk(a.risk)
    if incidents:
        episodes = incident_episodes(incidents, until)
        notifications = sum(1 for incs in incidents.values() for _, _, fh in incs
                            for h in fh if h <= until)
        kind, noun = "incident notifications (opened, escalated, renotified)", "incidents"
    else:
        episodes = alert_episodes(changes, until)
        notifications = sum(1 for ch in changes.values() for h, lv in ch if lv != "OK" and h <= until)
        kind, noun = "WARN/CRITICAL notifications", "alerts"

    print(f"== summary: the stream from {stamp(first)} to {stamp(until)}")
    if a.scored is not None:
        rate = f", {a.scored / a.elapsed:,.0f} events/s" if a.elapsed else ""
        msgs = f" ({a.messages:,} messages)" if a.messages is not None else ""
        took = f" in {a.elapsed:.1f} s" if a.elapsed else ""
        print(f"scored:    {a.scored:,} telemetry events{msgs}{took}{rate}")
    all_period = evaluate(episodes, failures, telemetry, horizon, first, until)
    print(f"all:       {describe(*all_period, horizon, noun)}; {notifications} {kind}")
    if held_out <= until:
        print(f"held out:  from {stamp(held_out)} (never seen in training): "
              f"{describe(*evaluate(episodes, failures, telemetry, horizon, held_out, until), horizon, noun)}")
    print(f"model:     {meta['version']}: macro F1 {metrics['macro_f1']:.3f}, PR AUC "
          f"{metrics['pr_auc']:.3f} on its held-out period; report {os.path.join(pkg, 'report.html')}")
    if a.mlruns:
        runs = sorted(glob.glob(os.path.join(a.mlruns, "*", "*", "meta.yaml")), key=os.path.getmtime)
        if runs:
            print(f"MLflow:    run {os.path.dirname(runs[-1])} (file store; "
                  f"mlflow ui --backend-store-uri {a.mlruns})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
