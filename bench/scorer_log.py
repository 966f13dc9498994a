"""scorer_log.py: what a pdm-scorer log says about a run to the end of its
topic, the benchmarks' one reader of it (bench/stream.sh, bench/ab.sh).

    python3 bench/scorer_log.py LOG
prints "SPAN MESSAGES SCORED RISK_EVENTS DEAD_LETTERS": the seconds from the
first "assigned ... partitions" line to the "every assigned partition is at
its end" line (start-up and the group join excluded), then the counts of the
"stopped:" line. As a module: read(path) returns them in a dict, with
"stages": {stage: (wall s, cpu s)} from the scorer's "stages" line (the
loop thread's time by stage; empty if the log has none).
"""
import re
import sys
from datetime import datetime


def _ts(line):
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").timestamp()


def read(path):
    assigned = end = None
    counts = None
    stages = {}
    for line in open(path):
        if "stages (wall/cpu s" in line:
            body = line.split("):", 1)[1].split("total")[0].split()
            stages = {body[i]: tuple(float(x) for x in body[i + 1].split("/"))
                      for i in range(0, len(body) - 1, 2)}
        # the rebalance's own line, "assigned N partitions (M in all)": other
        # lines may name assigned partitions too
        if assigned is None and re.search(r"\bassigned \d+ partitions", line):
            assigned = _ts(line)
        if "every assigned partition is at its end" in line:
            end = _ts(line)
        m = re.search(r"stopped: (\d+) messages, (\d+) scored, (\d+) risk events, (\d+) dead", line)
        if m:
            counts = [int(x) for x in m.groups()]
    if assigned is None or end is None or counts is None:
        raise SystemExit(f"{path}: no assignment, end or summary line")
    return {"span": end - assigned, "messages": counts[0], "scored": counts[1],
            "risk_events": counts[2], "dead_letters": counts[3], "stages": stages}


if __name__ == "__main__":
    r = read(sys.argv[1])
    print(f"{r['span']:.3f} {r['messages']} {r['scored']} {r['risk_events']} {r['dead_letters']}")
