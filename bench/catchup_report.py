"""catchup_report.py: the figures of one catch-up run (bench/lib.sh's
bench_catchup): rate, CPU, peak RSS, Redis commands, and the loop thread's
time by stage from the scorer's own clock (pdm_loop_seconds_total's stages).

    python3 bench/catchup_report.py SCORER-LOG TIME-FILE CMDSTATS WANT

TIME-FILE: "%e %M %U %S" of /usr/bin/time; CMDSTATS: redis INFO
commandstats after the run; WANT: the messages the backlog holds.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scorer_log  # noqa: E402


def main():
    log, timef, cmdf, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    r = scorer_log.read(log)
    wall, rss_kb, user, sys_ = (float(x) for x in open(timef).read().split())
    calls = usec = 0
    for line in open(cmdf):
        m = re.match(r"cmdstat_(\w+):calls=(\d+),usec=(\d+)", line)
        if m and m.group(1) not in ("info", "config", "flushall"):
            calls += int(m.group(2))
            usec += int(m.group(3))
    span, scored = r["span"], r["scored"]
    rate = scored / span
    cpu = user + sys_
    print(f"{r['messages']} messages ({'all' if r['messages'] == want else 'NOT all'} of {want}), "
          f"{scored} scored, {r['risk_events']} RiskEvents, {r['dead_letters']} dead letters; "
          f"{span:.2f} s from assignment to end ({wall:.1f} s with start-up and group join): "
          f"{rate:.0f} telemetry events/s")
    print(f"  scorer CPU {cpu:.1f} s ({100 * cpu / span:.0f}% of the span), "
          f"peak RSS {rss_kb / 1024:.1f} MiB; redis: {calls} commands "
          f"({calls / max(scored, 1):.2f} per event), {usec / 1e6:.2f} s busy "
          f"({100 * usec / 1e6 / span:.0f}% of the span)")
    st = r["stages"]
    if st:
        loop_wall = sum(w for w, _ in st.values())
        loop_cpu = sum(c for _, c in st.values())
        parts = [f"{k} {w:.2f}/{c:.2f}" for k, (w, c) in st.items() if w >= 0.005]
        print(f"  loop thread by stage (wall/cpu s, its whole life {loop_wall:.2f}/{loop_cpu:.2f}; "
              f"the other threads' CPU {cpu - loop_cpu:.2f} s): {', '.join(parts)}")
        per_ev = " ".join(f"{k}_us={1e6 * w / max(scored, 1):.2f}" for k, (w, _) in st.items())
        per_ev_cpu = " ".join(f"{k}_cpu_us={1e6 * c / max(scored, 1):.2f}" for k, (_, c) in st.items())
        print(f"stages {per_ev} {per_ev_cpu} other_threads_cpu_us={1e6 * (cpu - loop_cpu) / max(scored, 1):.2f}")
    print(f"result rate={rate:.0f} rss_mib={rss_kb / 1024:.1f} cpu_share={cpu / span:.2f} "
          f"redis_share={usec / 1e6 / span:.2f} complete={int(r['messages'] == want)}")


if __name__ == "__main__":
    main()
