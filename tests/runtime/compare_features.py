#!/usr/bin/python3
"""Compares two feature dumps (machineID,datetime,<27 features>,label).

  compare_features.py REFERENCE.csv DUMP.csv [--rel 1e-9] [--last-per-machine]
                      [--expect-same-keys]

Every (machineID, datetime) row of DUMP must exist in REFERENCE with every
feature equal to 1e-9 relative (missing == missing). A key DUMP holds more
than once (an at-least-once scorer consumes a batch again after a crash or
a rebalance) has every copy compared, and the extra copies are counted; a
key REFERENCE holds more than once must have equal copies. With
--expect-same-keys the two sets of (machine, datetime) keys must be equal.
With --last-per-machine only each machine's latest key is compared.
Prints a summary; exits 1 on any difference, 2 on a malformed dump (a row
whose field count is not the header's, a bad number).
"""
import csv
import math
import sys


class Malformed(Exception):
    pass


def load(path):
    """The header and {key: [features of each copy, in file order]}."""
    rows = {}
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r, [])
        if len(header) < 29:
            raise Malformed(f"{path}: {len(header)} columns, not machineID, datetime and 27 features")
        for n, line in enumerate(r, start=2):
            if not line:
                continue
            if len(line) != len(header):
                raise Malformed(f"{path}:{n}: {len(line)} fields, the header has {len(header)}")
            try:
                key = (int(line[0]), line[1])
                vals = [float(v) if v != "" else math.nan for v in line[2:29]]
            except ValueError as e:
                raise Malformed(f"{path}:{n}: {e}") from None
            rows.setdefault(key, []).append(vals)
    return header, rows


def close(a, b, rel):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300) or a == b


def differences(ref, got, rel):
    """The indexes of the features where got differs from ref."""
    return [j for j, (a, b) in enumerate(zip(ref, got)) if not close(a, b, rel)]


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
    try:
        h1, off = load(files[0])
        h2, on = load(files[1])
    except Malformed as e:
        print("malformed dump:", e)
        return 2
    if h1[:29] != h2[:29]:
        print("headers differ:\n ", h1[:29], "\n ", h2[:29])
        return 1
    bad = 0
    # The reference's own copies of a key must agree: which one to compare with?
    for k, copies in off.items():
        for c in copies[1:]:
            for j in differences(copies[0], c, rel):
                bad += 1
                if bad <= 10:
                    print("reference copies differ:", k, h1[2 + j], repr(copies[0][j]), repr(c[j]))
    keys = list(on)
    if last:
        latest = {}
        for m, t in keys:
            if m not in latest or t > latest[m]:
                latest[m] = t
        keys = [(m, t) for m, t in latest.items()]
    missing = 0
    for k in keys:
        if k not in off:
            missing += 1
            if missing <= 5:
                print("not in the reference:", k)
            continue
        for n, got in enumerate(on[k], start=1):
            for j in differences(off[k][0], got, rel):
                bad += 1
                if bad <= 10:
                    print(f"differs: {k} (copy {n} of {len(on[k])})", h1[2 + j],
                          "reference", repr(off[k][0][j]), "dump", repr(got[j]))
    extra = 0
    if same:
        extra = len(set(off) - set(on))
        if extra:
            print(extra, "reference rows never in the dump, e.g.", sorted(set(off) - set(on))[:3])
    dup = sum(len(c) - 1 for c in on.values())
    ref_dup = sum(len(c) - 1 for c in off.values())
    print(f"compared {len(keys)} keys ({len(on)} in the dump, {dup} duplicate rows; "
          f"{len(off)} in the reference, {ref_dup} duplicate rows): {bad} differences, "
          f"{missing} missing, {extra} unscored")
    return 1 if bad or missing or extra else 0


if __name__ == "__main__":
    sys.exit(main())
