#!/usr/bin/python3
"""Counts alerting notifications and caught failures of two pdm-scorer runs
over the same stream (bench/incidents.sh): --emit changes and --emit
incidents, read as pdm-tail JSON lines. Rules in bench/incidents.sh.

  incidents_eval.py --failures PdM_failures.csv --model model.json \
                    --changes changes.jsonl --incidents incidents.jsonl
"""
import argparse
import csv
import datetime
import json
import sys

HOUR_MS = 3600 * 1000
FOREVER = 2**62


def ms(text):
    """ISO or "YYYY-MM-DD HH:MM:SS" (UTC) to epoch milliseconds."""
    text = text.replace("T", " ").rstrip("Z")
    if "." in text:
        text = text.split(".")[0]
    t = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp() * 1000)


def risk_events(path):
    for line in open(path):
        e = json.loads(line).get("event") or {}
        if e.get("type") == "risk":
            yield e


def changes_way(path):
    """Notifications, and per machine the [start, end) spans at WARN/CRITICAL."""
    notes, spans, since = 0, {}, {}
    for e in sorted(risk_events(path), key=lambda e: (e["machine_id"], ms(e["ts"]))):
        m, t, alerting = e["machine_id"], ms(e["ts"]), e["level"] != "OK"
        if alerting:
            notes += 1
            since.setdefault(m, t)
        elif m in since:
            spans.setdefault(m, []).append((since.pop(m), t))
    for m, t in since.items():
        spans.setdefault(m, []).append((t, FOREVER))
    return notes, spans


def incidents_way(path):
    """Notifications (firing events), and per machine each incident's span."""
    notes, spans, opened = 0, {}, {}
    for e in sorted(risk_events(path), key=lambda e: (e["machine_id"], ms(e["ts"]))):
        if not e.get("incident_id"):
            continue
        m, t = e["machine_id"], ms(e["ts"])
        if e["status"] == "firing":
            notes += 1
            opened.setdefault(m, {})[e["incident_id"]] = ms(e["opened_at"])
        else:
            o = opened.get(m, {}).pop(e["incident_id"], ms(e["opened_at"]))
            spans.setdefault(m, []).append((o, t))
    for m, open_ones in opened.items():
        for o in open_ones.values():
            spans.setdefault(m, []).append((o, FOREVER))
    return notes, spans


def caught(failures, spans, horizon_ms):
    """Failures with a span open at some time in [f - horizon, f)."""
    return sum(
        1
        for m, f in failures
        if any(s < f and e > f - horizon_ms for s, e in spans.get(m, ()))
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--failures", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--changes", required=True)
    ap.add_argument("--incidents", required=True)
    a = ap.parse_args()
    horizon_ms = json.load(open(a.model))["horizon_hours"] * HOUR_MS
    with open(a.failures) as f:
        failures = sorted({(int(r["machineID"]), ms(r["datetime"])) for r in csv.DictReader(f)})
    rows = []
    for way, (notes, spans) in (
        ("changes", changes_way(a.changes)),
        ("incidents", incidents_way(a.incidents)),
    ):
        c = caught(failures, spans, horizon_ms)
        rows.append((way, notes, c))
    n = len(failures)
    print("%-10s %14s %22s %20s" % ("way", "notifications", "failures caught", "per caught failure"))
    per = []
    for way, notes, c in rows:
        p = notes / c if c else float("inf")
        per.append(p)
        print("%-10s %14d %11d of %d (%5.1f%%) %20.2f" % (way, notes, c, n, 100.0 * c / n if n else 0, p))
    share = [100.0 * c / n if n else 0 for _, _, c in rows]
    ratio = per[0] / per[1] if per[1] not in (0, float("inf")) else float("nan")
    print(
        "incidents: %.2fx fewer notifications per caught failure, caught %+.1f points "
        "(issue 15's target: >= 3x, no more than 2 points lower: %s)"
        % (ratio, share[1] - share[0], "met" if ratio >= 3 and share[1] >= share[0] - 2 else "not met")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
