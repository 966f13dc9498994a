# shellcheck shell=bash
# tests/runtime/faults_lib.sh: the "nothing lost" check shared by the fault
# tests (faults_broker, crash_many, scaleout); source it after
# tests/harness.sh and scorer_lib.sh. Bash only.
#
# "Nothing lost", as issue 6 defines it: the scorers run with --emit all and
# --dump-features; against a clean computation of the same data (the
# trainer's dump, which stream_parity shows a clean streaming run equals to
# 1e-9), every telemetry event was scored (its (machine, ts) is in a dump)
# and has a RiskEvent on the output topic, and every dumped row, duplicates
# included, has the clean features (1e-9 relative): an event applied twice
# to a window, or a window that lost its history, would change them.
# Duplicated rows and RiskEvents are allowed and counted.

# fl_split DATA OUT CUT1 [CUT2...]: the PdM CSVs of DATA cut at the UTC
# times CUT1 < CUT2 < ... ("YYYY-MM-DD HH:MM:SS") into OUT/part1 (before
# CUT1), OUT/part2, ...; every part gets the machines file.
fl_split() {
  $SL_PY - "$@" <<'PY' || pdm_fail "split of $1 failed"
import os, sys
src, out, cuts = sys.argv[1], sys.argv[2], sys.argv[3:]
parts = [os.path.join(out, f"part{i + 1}") for i in range(len(cuts) + 1)]
for d in parts:
    os.makedirs(d, exist_ok=True)
for name in os.listdir(src):
    lines = open(os.path.join(src, name)).read().splitlines(keepends=True)
    if name == "PdM_machines.csv":
        for d in parts:
            open(os.path.join(d, name), "w").writelines(lines)
        continue
    outs = [[lines[0]] for _ in parts]
    for r in lines[1:]:
        i = sum(1 for c in cuts if r[:19] >= c)
        outs[i].append(r)
    for d, rows in zip(parts, outs):
        open(os.path.join(d, name), "w").writelines(rows)
PY
}

# fl_ref_between REF FROM TO OUT: the rows of a feature dump with FROM <=
# datetime < TO (either may be empty for no bound), with the header.
fl_ref_between() {
  awk -F, -v a="$2" -v b="$3" 'NR == 1 || ((a == "" || $2 >= a) && (b == "" || $2 < b))' "$1" >"$4"
}

# fl_check NAME REF.csv RISK.jsonl|- DUMP.csv...: the nothing-lost check of
# the dumps (and, unless RISK is -, of the RiskEvents that pdm-tail printed)
# against the reference dump REF. Prints one summary line; fails the test
# with the reasons if anything is lost, extra or different, or (with
# FL_NO_DUPLICATES=1 in the environment) duplicated. With FL_ONLY_REF=1,
# dumped rows of events that REF does not hold are ignored (REF is a part).
fl_check() {
  local name=$1
  shift
  $SL_PY - "$@" <<'PY' || pdm_fail "$name: something was lost or changed (see above)"
import csv, json, math, os, sys
ref_path, risk_path, dumps = sys.argv[1], sys.argv[2], sys.argv[3:]

def rows(path):
    """(key, the 27 features as text) of every complete row."""
    with open(path) as f:
        next(f, None)
        for line in f:
            parts = line.rstrip("\n").split(",", 2)
            if len(parts) == 3 and line.endswith("\n") and parts[2].count(",") == 27:
                yield (int(parts[0]), parts[1]), parts[2].rsplit(",", 1)[0]

def floats(text):
    return [float(v) if v != "" else math.nan for v in text.split(",")]

def close(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))

ref = dict(rows(ref_path))
only_ref = os.environ.get("FL_ONLY_REF") == "1"
seen, n_rows, differ, extra = {}, 0, 0, 0
for d in dumps:
    try:
        for k, v in rows(d):
            r = ref.get(k)
            if r is None and only_ref:
                continue
            n_rows += 1
            seen[k] = seen.get(k, 0) + 1
            if r is None:
                extra += 1
                if extra <= 3:
                    print(f"  scored but not in the reference: {k} ({d})")
            elif r != v:  # the same text is the same value; else compare numbers
                a, b = floats(r), floats(v)
                bad_j = [j for j, (x, y) in enumerate(zip(a, b)) if not close(x, y)]
                if bad_j or len(a) != len(b):
                    differ += 1
                    if differ <= 5:
                        j = bad_j[0] if bad_j else 0
                        print(f"  differs: {k} feature {j}: clean {a[j]!r}, here {b[j]!r} ({d})")
    except FileNotFoundError:
        pass
missing = [k for k in ref if k not in seen]
for k in sorted(missing)[:5]:
    print(f"  never scored: {k}")
dups = n_rows - len(seen)
msg = (f"{len(ref)} events: {n_rows} rows dumped ({dups} duplicates), {len(missing)} lost, "
       f"{differ} differ, {extra} unexpected")
bad = missing or differ or extra
if os.environ.get("FL_NO_DUPLICATES") == "1" and dups:
    print(f"  {dups} duplicate rows where none were expected")
    bad = True
if risk_path != "-":
    risk = {}
    for line in open(risk_path):
        e = json.loads(line).get("event")
        if e and e.get("type") == "risk":
            k = (e["machine_id"], e["ts"][:19].replace("T", " "))
            if k in ref:
                risk[k] = risk.get(k, 0) + 1
    rmissing = [k for k in ref if k not in risk]
    for k in sorted(rmissing)[:5]:
        print(f"  no RiskEvent: {k}")
    msg += (f"; RiskEvents: {sum(risk.values())} for them ({sum(risk.values()) - len(risk)} "
            f"duplicates), {len(rmissing)} lost")
    bad = bad or rmissing
    if os.environ.get("FL_NO_DUPLICATES") == "1" and sum(risk.values()) > len(risk):
        print("  duplicate RiskEvents where none were expected")
        bad = True
print(msg)
sys.exit(1 if bad else 0)
PY
  echo "$name: nothing lost"
}

# fl_rows_all CSV...: complete rows in all the dumps together.
fl_rows_all() {
  cat "$@" 2>/dev/null | awk -F, 'NF == 30 && $1 != "machineID"' | wc -l
}
