#!/usr/bin/python3
"""Follows a file of pdm-tail JSON lines and prints each RiskEvent as one
readable line (used by scripts/demo.sh). Stops on SIGTERM/SIGINT.

  format_risk.py FILE
"""
import json
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def show(e):
    comps = sorted(e["components"], key=lambda c: -c["probability"])
    why = ", ".join(
        "%s=%.4g" % (r["feature"], r["value"] if r["value"] is not None else float("nan"))
        for r in e["top_reasons"]
    )
    print(
        "%s  machine %4d  %-8s risk %.3g  (most likely %s %.3g)%s"
        % (e["ts"][:16].replace("T", " "), e["machine_id"], e["level"], e["risk"],
           comps[0]["component"], comps[0]["probability"], ("  because " + why) if why else ""),
        flush=True,
    )


def main():
    path = sys.argv[1]
    while True:
        try:
            f = open(path)
            break
        except FileNotFoundError:
            time.sleep(0.1)
    buf = ""
    try:
        while True:
            chunk = f.readline()
            if not chunk:
                time.sleep(0.1)
                continue
            buf += chunk
            if not buf.endswith("\n"):
                continue
            line, buf = buf, ""
            try:
                e = json.loads(line).get("event") or {}
            except ValueError:
                continue
            if e.get("type") == "risk":
                show(e)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
