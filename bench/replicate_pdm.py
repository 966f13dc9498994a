"""replicate_pdm.py: a PdM data set (the public format) replicated to more
machines with new ids, for benchmarks on real-shaped data (bench/realdata.sh).

    python3 bench/replicate_pdm.py --data DIR --copies N --out OUT

Copy k (0..N-1) of machine m gets the id k * M + m, M the largest id of the
set; times and values are the source's. Every file keeps the source's row
order within a copy, and copies follow each other, so each file stays in
time order per machine (the producer and the trainer sort by time anyway).
"""
import argparse
import csv
import os
import sys

FILES = ["PdM_telemetry.csv", "PdM_errors.csv", "PdM_maint.csv", "PdM_failures.csv",
         "PdM_machines.csv"]


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise SystemExit(f"replicate_pdm: {path} is empty")
    return rows[0], rows[1:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="the source data set's directory")
    ap.add_argument("--copies", type=int, required=True, help="copies of each machine (>= 1)")
    ap.add_argument("--out", required=True, help="the directory to write (created)")
    a = ap.parse_args()
    if a.copies < 1:
        raise SystemExit("replicate_pdm: --copies must be >= 1")
    tables = {}
    for name in FILES:
        path = os.path.join(a.data, name)
        if not os.path.exists(path):
            raise SystemExit(f"replicate_pdm: {path} is missing")
        header, rows = read(path)
        if "machineID" not in header:
            raise SystemExit(f"replicate_pdm: {path} has no machineID column")
        tables[name] = (header, rows)
    col = {n: h.index("machineID") for n, (h, _) in tables.items()}
    top = max(int(r[col[n]]) for n, (_, rows) in tables.items() for r in rows)
    if a.copies * top > 2**31 - 1:
        raise SystemExit("replicate_pdm: the new ids would not fit in an int32")
    os.makedirs(a.out, exist_ok=True)
    for name, (header, rows) in tables.items():
        c = col[name]
        with open(os.path.join(a.out, name), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            for k in range(a.copies):
                for r in rows:
                    r2 = list(r)
                    r2[c] = str(k * top + int(r[c]))
                    w.writerow(r2)
    n_tel = len(tables["PdM_telemetry.csv"][1]) * a.copies
    n_mach = len(tables["PdM_machines.csv"][1]) * a.copies
    print(f"replicate_pdm: {n_mach} machines, {n_tel} telemetry rows in {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
