#!/usr/bin/python3
"""Compares two feature dumps (machineID,datetime,<27 features>,label).

  compare_features.py OFFLINE.csv ONLINE.csv [--rel 1e-9] [--last-per-machine]
                      [--expect-same-keys]

Every (machineID, datetime) row of ONLINE must exist in OFFLINE with every
feature equal to 1e-9 relative (missing == missing). With
--expect-same-keys the two sets of (machine, datetime) keys must be equal.
With --last-per-machine only each machine's latest row is compared.
Prints a summary; exits 1 on any difference.
"""
import csv
import math
import sys


def load(path):
    rows = {}
    dup = 0
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        for line in r:
            if not line:
                continue
            key = (int(line[0]), line[1])
            vals = [float(v) if v != "" else math.nan for v in line[2:29]]
            if key in rows:
                dup += 1
            rows[key] = vals
    return header, rows, dup


def close(a, b, rel):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300) or a == b


def main():
    args = sys.argv[1:]
    rel = 1e-9
    if "--rel" in args:
        i = args.index("--rel")
        rel = float(args[i + 1])
        del args[i : i + 2]
    last = "--last-per-machine" in args
    same = "--expect-same-keys" in args
    files = [a for a in args if not a.startswith("--")]
    h1, off, _ = load(files[0])
    h2, on, dup = load(files[1])
    if h1[:29] != h2[:29]:
        print("headers differ:\n ", h1[:29], "\n ", h2[:29])
        return 1
    keys = list(on)
    if last:
        latest = {}
        for m, t in keys:
            if m not in latest or t > latest[m]:
                latest[m] = t
        keys = [(m, t) for m, t in latest.items()]
    bad = 0
    missing = 0
    for k in keys:
        if k not in off:
            missing += 1
            if missing <= 5:
                print("not in offline dump:", k)
            continue
        for j, (a, b) in enumerate(zip(off[k], on[k])):
            if not close(a, b, rel):
                bad += 1
                if bad <= 10:
                    print("differs:", k, h1[2 + j], "offline", repr(a), "online", repr(b))
    extra = 0
    if same:
        extra = len(set(off) - set(on))
        if extra:
            print(len(set(off) - set(on)), "offline rows never scored online, e.g.",
                  sorted(set(off) - set(on))[:3])
    print(f"compared {len(keys)} rows ({len(on)} online keys, {dup} duplicate rows, "
          f"{len(off)} offline): {bad} differences, {missing} missing, {extra} unscored")
    return 1 if bad or missing or extra else 0


if __name__ == "__main__":
    sys.exit(main())
