"""sizing.py: the arithmetic of bench/sizing.sh (not a test).

    python3 bench/sizing.py measure LABEL BEFORE AFTER TIME LOG EVENTS MACHINES ENTRIES
        one run's figures from two `redis-cli info all` snapshots (BEFORE,
        AFTER), /usr/bin/time's "%e %M %U %S" (TIME), the scorer's log and the
        run's telemetry events, machines and mean telemetry entries a machine
        keeps in Redis; prints one "result k=v ..." line.
    python3 bench/sizing.py minutes SRC DST
        copies the PdM CSVs of SRC (pdm-sim's, one reading an hour) to DST
        with every telemetry reading repeated at each minute of its hour: the
        same fleet at one reading a minute.
    python3 bench/sizing.py table RESULTS [--catchup N] [--utilization U]
                            [--master-gib G] [--scorer-gib G] [--lateness-h L]
        the sizing table (markdown) from the result lines in RESULTS.

Per event means per telemetry event (every message of these streams but a
few error and maintenance rows is one). The scorer's CPU per event is the
slope between the two hourly fleets (start-up, the model's load and the
group join cancel out); its RSS per machine is the slope of peak RSS. Which
run's figures the table uses, and why, is in table()'s comments and in
what it prints.
"""
import math
import re
import sys


def info(path):
    """The numeric INFO fields, summed over every server's INFO in the file,
    and the summed calls of every command but the measuring ones."""
    fields, calls = {}, 0
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        m = re.match(r"cmdstat_([\w|]+):calls=(\d+)", line)
        if m:
            if m.group(1) not in ("info", "config", "flushall", "zcard", "scan"):
                calls += int(m.group(2))
        elif ":" in line:
            k, v = line.split(":", 1)
            try:
                fields[k] = fields.get(k, 0.0) + float(v)
            except ValueError:
                pass
    fields["calls"] = calls
    return fields


def measure(label, before, after, timef, log, events, machines, entries):
    b, a = info(before), info(after)
    wall, rss_kb, user, sys_ = (float(x) for x in open(timef).read().split())
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    import scorer_log
    r = scorer_log.read(log)
    ev, n = int(events), int(machines)
    if r["scored"] != ev:
        sys.exit(f"{log}: {r['scored']} scored of {ev}")
    d = lambda k: float(a[k]) - float(b[k])
    out = {
        "label": label,
        "events": ev,
        "machines": n,
        "entries": float(entries),
        "cmds_per_event": (a["calls"] - b["calls"]) / ev,
        "in_bytes_per_event": d("total_net_input_bytes") / ev,
        "out_bytes_per_event": d("total_net_output_bytes") / ev,
        "redis_cpu_us_per_event": 1e6 * (d("used_cpu_user") + d("used_cpu_sys")) / ev,
        "redis_bytes_per_machine": d("used_memory") / n,
        "scorer_cpu_s": user + sys_,
        "scorer_rss_kib": rss_kb,
        "rate": r["scored"] / r["span"],
    }
    print("result " + " ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in out.items()))


def minutes(src, dst):
    import os
    import shutil
    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(src):
        if name.endswith(".csv") and name != "PdM_telemetry.csv":
            shutil.copy(os.path.join(src, name), os.path.join(dst, name))
    with open(os.path.join(src, "PdM_telemetry.csv")) as f, \
            open(os.path.join(dst, "PdM_telemetry.csv"), "w") as out:
        out.write(f.readline())
        hour, rows = None, []

        def flush():
            for minute in range(60):
                for r in rows:  # "YYYY-MM-DD HH:00:00,..."
                    out.write(f"{r[:14]}{minute:02d}{r[16:]}")

        for line in f:
            if line[:13] != hour:
                flush()
                hour, rows = line[:13], []
            rows.append(line)
        flush()


def read_results(path):
    runs = {}
    for line in open(path):
        if line.startswith("result "):
            kv = dict(x.split("=", 1) for x in line.split()[1:])
            label = kv.pop("label")
            runs[label] = {k: float(v) for k, v in kv.items()}
    return runs


# The state cache's bookkeeping per machine (state_cache.c's entry around a
# pdm_rs_machine: two 128-byte alert texts, 8 sources, counters: about 620
# bytes, with its arrays' allocations about 650) and the per-machine
# structures beside it (silence, live performance, machines table: about
# 200 bytes, pdm-scorer --help on --max-machines).
CACHE_ENTRY = 650
OTHER_PER_MACHINE = 200


def fmt(x):
    return f"{x:,.0f}" if x >= 10 else f"{x:.2g}"


def table(path, catchup, util, master_gib, scorer_gib, lateness_h):
    runs = read_results(path)
    small, large, minute = runs["hourly-small"], runs["hourly-large"], runs["minute"]
    cache4 = runs.get("hourly-large-cache4")
    # Slopes between the two hourly fleets: what one more event / machine
    # costs (start-up, the model's load and the group join cancel out).
    cpu_per_event = (large["scorer_cpu_s"] - small["scorer_cpu_s"]) / (large["events"] - small["events"])
    startup_cpu = small["scorer_cpu_s"] - cpu_per_event * small["events"]
    rss_per_machine = 1024 * (large["scorer_rss_kib"] - small["scorer_rss_kib"]) / (
        large["machines"] - small["machines"])
    rss_base = 1024 * small["scorer_rss_kib"] - rss_per_machine * small["machines"]
    minute_cpu = (minute["scorer_cpu_s"] - startup_cpu) / minute["events"]
    # Per-event costs: the large hourly fleet's for every cadence. Its
    # batches hold one reading of each machine, as a live scorer's do at any
    # cadence (its batches are small and each machine reads at most once a
    # batch); the minute run's batches hold about sixteen readings of each of
    # its few machines a partition, which shares the per-machine work of a
    # batch (the version check, the meta hash) and would understate it. With
    # the state cache the writes and loads of an event do not grow with the
    # window (a load is a version check).
    # Memory: Redis per machine and per telemetry entry measured (the minute
    # fleet against the hourly one: longer sorted sets leave Redis's compact
    # listpack encoding). The scorer's per machine is arithmetic from the
    # code: its state cache keeps 27 h (the 24 h window and 3 h of slack,
    # scorer_state.c) of 40-byte readings (pdm_rs_telemetry) and an entry,
    # the other per-machine structures about 200 bytes (--max-machines's
    # help). The slope of peak RSS is printed as the check: it moves with
    # the prefetch queue by a few MiB from run to run (559 to 3,001 bytes a
    # machine over 4,500 machines in three runs).
    # With a cluster run, Redis's per-event CPU and traffic are the
    # cluster's (summed over its masters: WAIT, replication and the fence's
    # scripts), as every row with more than one master is a cluster.
    redis_run = runs.get("hourly-large-cluster", large)
    redis_per_entry = (minute["redis_bytes_per_machine"] - large["redis_bytes_per_machine"]) / (
        minute["entries"] - large["entries"])
    window_h = 24 + lateness_h

    def scorer_pm(per_hour):  # the state cache's entry plus the other structures
        return 27 * 40 * per_hour + CACHE_ENTRY + OTHER_PER_MACHINE

    def redis_pm(per_hour):  # the hourly fleet's entries kept, per_hour times as many
        return large["redis_bytes_per_machine"] + redis_per_entry * (per_hour - 1) * large["entries"]

    # cadence: (readings a second, Redis bytes a machine, scorer bytes a machine)
    cadences = {
        "hour": (1 / 3600, redis_pm(1), scorer_pm(1)),
        "minute": (1 / 60, redis_pm(60), scorer_pm(60)),
        "second": (1.0, redis_pm(3600), scorer_pm(3600)),
    }
    cols = [("hourly, small fleet", small), ("hourly, large fleet", large),
            ("one reading a minute", minute)]
    if cache4:
        cols.append(("hourly, large fleet, 4 MiB state cache", cache4))
    if "hourly-large-cluster" in runs:
        cols.append(("hourly, large fleet, Redis Cluster (3 masters)", runs["hourly-large-cluster"]))
    print("## measured inputs\n")
    print("| figure | " + " | ".join(c[0] for c in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    rows = [
        ("machines x telemetry events", lambda r: f"{r['machines']:,.0f} x {r['events']:,.0f}"),
        ("telemetry entries kept a machine (mean ZCARD)", lambda r: f"{r['entries']:,.0f}"),
        ("Redis commands per event", lambda r: f"{r['cmds_per_event']:.2f}"),
        ("bytes to Redis per event", lambda r: f"{r['in_bytes_per_event']:,.0f}"),
        ("bytes from Redis per event", lambda r: f"{r['out_bytes_per_event']:,.0f}"),
        ("Redis CPU per event (us)", lambda r: f"{r['redis_cpu_us_per_event']:.2f}"),
        ("Redis used_memory per machine (bytes)", lambda r: f"{r['redis_bytes_per_machine']:,.0f}"),
        ("scorer CPU (s, whole run)", lambda r: f"{r['scorer_cpu_s']:.2f}"),
        ("scorer peak RSS (MiB)", lambda r: f"{r['scorer_rss_kib'] / 1024:.1f}"),
        ("catch-up here (events/s; noisy)", lambda r: f"{r['rate']:,.0f}"),
    ]
    for name, f in rows:
        print(f"| {name} | " + " | ".join(f(c[1]) for c in cols) + " |")
    print()
    print(f"- scorer CPU per event (slope of the hourly fleets): {1e6 * cpu_per_event:.2f} us = "
          f"{1 / cpu_per_event:,.0f} events/s per core (start-up {startup_cpu:.2f} s)")
    print(f"- scorer memory per machine (arithmetic: 27 h of 40-byte readings in the state "
          f"cache, its entry, {OTHER_PER_MACHINE} bytes of other structures): "
          f"{scorer_pm(1):,.0f} bytes at a reading an hour, {scorer_pm(60):,.0f} a minute, "
          f"{scorer_pm(3600):,.0f} a second; measured check, the slope of peak RSS between "
          f"the hourly fleets (state cached): {rss_per_machine:,.0f} bytes (over "
          f"{rss_base / 2**20:.1f} MiB; within a few MiB of noise)")
    print(f"- Redis memory per telemetry entry kept: {redis_per_entry:.1f} bytes (the minute fleet "
          f"against the hourly one); per machine at a minute's cadence {redis_pm(60):,.0f} "
          f"(measured: {minute['redis_bytes_per_machine']:,.0f}), at a second's {redis_pm(3600):,.0f}")
    print(f"- Redis CPU and traffic per event: the "
          f"{'Redis Cluster run' if redis_run is not large else 'large hourly fleet'}'s "
          f"({redis_run['redis_cpu_us_per_event']:.1f} us, "
          f"{redis_run['in_bytes_per_event'] + redis_run['out_bytes_per_event']:,.0f} bytes)")
    print(f"- per-event costs at every cadence: the large hourly fleet's (one reading of each "
          f"machine a batch, as live); the minute run's batches share a batch's per-machine "
          f"work among many readings of few machines ({minute['cmds_per_event']:.2f} commands, "
          f"{1e6 * minute_cpu:.2f} us of scorer CPU an event) and are shown for the memory")
    print(f"- one scorer's catch-up (given): {catchup:,.0f} events/s; this run's rates are "
          f"above (noisy on a shared machine)")
    print(f"- sizing rules: at most {util:.0%} of a scorer's catch-up rate and of a Redis "
          f"master's core busy at the live rate (the rest catches up after an outage); a "
          f"scorer keeps its machines' state cached in {scorer_gib:g} GiB; a master holds "
          f"{master_gib:g} GiB of data (one replica each, not counted); partitions: the next "
          f"power of two >= 2 x scorers (room to double them), at least 4; window kept "
          f"{window_h:g} h (24 h + --lateness {lateness_h:g}h)\n")
    print("## sizing\n")
    print("| machines | one reading a | events/s | scorers (CPU / memory) | partitions | Redis "
          "masters (memory / CPU) | Redis data | Redis traffic | the limit, how full |")
    print("|---|---|---|---|---|---|---|---|---|")
    for machines in (10_000, 100_000, 1_000_000, 10_000_000):
        for label, (per_s, redis_machine, scorer_machine) in cadences.items():
            rate = machines * per_s
            scorer_cap = catchup
            by_scorer_cpu = rate / (scorer_cap * util)
            by_scorer_mem = machines * scorer_machine / (scorer_gib * 2**30)
            scorers = max(1, math.ceil(by_scorer_cpu), math.ceil(by_scorer_mem))
            partitions = max(4, 1 << math.ceil(math.log2(2 * scorers)))
            data = machines * redis_machine
            by_mem = data / (master_gib * 2**30)
            by_cpu = rate * redis_run["redis_cpu_us_per_event"] / 1e6 / util
            masters = max(1, math.ceil(by_mem), math.ceil(by_cpu))
            traffic = rate * (redis_run["in_bytes_per_event"] + redis_run["out_bytes_per_event"])
            scorer_limit = "CPU" if by_scorer_cpu >= by_scorer_mem else "memory"
            master_limit = "CPU" if by_cpu >= by_mem else "memory"
            print(f"| {machines:,} | {label} | {fmt(rate)} | {scorers:,} ({math.ceil(by_scorer_cpu):,}"
                  f" / {math.ceil(by_scorer_mem):,}) | {partitions:,} | {masters:,} "
                  f"({math.ceil(by_mem):,} / {math.ceil(by_cpu):,}) | {data / 2**30:,.1f} GiB | "
                  f"{traffic / 2**20:,.1f} MiB/s | scorer {scorer_limit} "
                  f"{max(by_scorer_cpu, by_scorer_mem) / scorers:.0%}, Redis {master_limit} "
                  f"{max(by_mem, by_cpu) / masters:.0%} |")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "measure" and len(sys.argv) == 10:
        measure(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "minutes":
        minutes(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 2 and sys.argv[1] == "table":
        opts = {"--catchup": 132400.0, "--utilization": 0.5, "--master-gib": 16.0,
                "--scorer-gib": 4.0, "--lateness-h": 48.0}
        args = sys.argv[3:]
        for i in range(0, len(args), 2):
            if args[i] not in opts or i + 1 >= len(args):
                sys.exit(f"sizing.py: bad option {args[i]}")
            opts[args[i]] = float(args[i + 1])
        table(sys.argv[2], opts["--catchup"], opts["--utilization"], opts["--master-gib"],
              opts["--scorer-gib"], opts["--lateness-h"])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
