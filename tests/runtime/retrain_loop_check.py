#!/usr/bin/python3
"""The alerting quality of a scorer's risk stream over periods of event time,
for tests/runtime/retrain_loop.sh:

  retrain_loop_check.py --data DIR --risk FILE --horizon H NAME=FROM..TO ...

--risk is pdm-tail's JSON lines of the risk topic (incidents, the scorer's
default emission, or changes). Each period counts the alerts raised and the
failures that happened in [FROM, TO) ("YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DD")
by the demo summary's rules (scripts/demo_summary.py: an alert is followed by
a failure within H hours of its end; a failure is caught when its machine was
alerting at a telemetry hour in the H hours before it). Prints one line per
period: NAME recall precision caught failures followed raised versions, where
versions are the model versions of the period's RiskEvents; recall or
precision "nan" when the period has no failure or no alert.
"""
import argparse
import csv
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts"))
import demo_summary as ds  # noqa: E402


def day_or_time(text):
    return text + " 00:00:00" if len(text) == 10 else text


def versions_by_period(path, periods):
    seen = {name: set() for name, _, _ in periods}
    for line in open(path):
        try:
            e = json.loads(line).get("event") or {}
        except ValueError:
            continue
        if e.get("type") != "risk" or not e.get("model_version"):
            continue
        h = ds.hours(e["ts"])
        for name, lo, hi in periods:
            if lo <= h < hi:
                seen[name].add(e["model_version"])
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--risk", required=True)
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("periods", nargs="+", help="NAME=FROM..TO")
    a = ap.parse_args()

    periods = []
    for p in a.periods:
        name, span = p.split("=", 1)
        lo, hi = span.split("..")
        periods.append((name, ds.hours(day_or_time(lo)), ds.hours(day_or_time(hi))))
    telemetry, failures = {}, {}
    with open(os.path.join(a.data, "PdM_telemetry.csv")) as f:
        for r in csv.DictReader(f):
            telemetry.setdefault(int(r["machineID"]), []).append(ds.hours(r["datetime"]))
    for v in telemetry.values():
        v.sort()
    with open(os.path.join(a.data, "PdM_failures.csv")) as f:
        for r in csv.DictReader(f):
            failures.setdefault(int(r["machineID"]), set()).add(ds.hours(r["datetime"]))
    failures = {m: sorted(v) for m, v in failures.items()}
    until = max(v[-1] for v in telemetry.values())

    changes, incidents = ds.load_risk(a.risk)
    episodes = (ds.incident_episodes(incidents, until) if incidents
                else ds.alert_episodes(changes, until))
    versions = versions_by_period(a.risk, periods)
    for name, lo, hi in periods:
        # evaluate() counts [since, until] inclusive: the period is [lo, hi)
        raised, followed, _, caught, missed, _ = ds.evaluate(
            episodes, failures, telemetry, a.horizon, lo, hi - 1)
        recall = caught / (caught + missed) if caught + missed else float("nan")
        precision = followed / raised if raised else float("nan")
        print(f"{name} {recall:.3f} {precision:.3f} {caught} {caught + missed} {followed} {raised} "
              f"{','.join(sorted(versions[name])) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
