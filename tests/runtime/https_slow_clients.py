#!/usr/bin/env python3
"""Slow clients against a pdm-scorer serving HTTPS (tests/runtime/scorer_https.sh).

Opens N TLS connections (more than the server's 64 slots), completes their
handshakes, then sends the bytes of one request head a byte every GAP
seconds, never finishing it, while a probe asks /healthz on a fresh
connection. Passes (exit 0) when every slow connection is closed by the
server within BOUND seconds of the moment it got a slot and the probe is
answered within BOUND seconds (the slow ones give their slots back by
then). Prints what it measured.

usage: https_slow_clients.py PORT CAFILE N GAP BOUND
"""
import socket
import ssl
import sys
import threading
import time

port, cafile, n, gap, bound = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
ctx = ssl.create_default_context(cafile=cafile)
HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200


def tls_connect(timeout):
    raw = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


probe = {}


def probe_health():
    t0 = time.monotonic()
    try:
        s = tls_connect(2 * bound + 10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = s.recv(4096)
        probe["status"] = data.split(b"\r\n", 1)[0].decode(errors="replace")
    except OSError as e:
        probe["status"] = "error: %s" % e
    probe["latency"] = time.monotonic() - t0


# Connections beyond the server's slots wait in its listen backlog: their
# handshake (and so their deadline) starts when a slot frees.
slow = []
errors = []


def open_one():
    try:
        s = tls_connect(30)
        s.setblocking(False)
        slow.append([s, time.monotonic(), None])  # socket, slot time, closed time
    except OSError as e:
        errors.append(str(e))


openers = [threading.Thread(target=open_one) for _ in range(n)]
for t in openers:
    t.start()
time.sleep(0.5)
prober = threading.Thread(target=probe_health)
prober.start()
t_start = time.monotonic()
i = 0
while time.monotonic() - t_start < 4 * bound + 10:
    live = [c for c in slow if c[2] is None]
    if not live and not any(t.is_alive() for t in openers):
        break
    for c in live:
        try:
            c[0].send(HEAD[i % len(HEAD):i % len(HEAD) + 1])
            try:
                if c[0].recv(1) == b"":
                    c[2] = time.monotonic()
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
        except (OSError, ssl.SSLError):
            c[2] = time.monotonic()
    i += 1
    time.sleep(gap)
prober.join()
for t in openers:
    t.join()

held = [c[2] - c[1] for c in slow if c[2] is not None]
still = sum(1 for c in slow if c[2] is None)
print("slow connections: %d opened (%d failed to open), %d closed by the server, %d still open; "
      "longest held %.2f s; /healthz: %s after %.2f s"
      % (len(slow), len(errors), len(held), still, max(held) if held else -1,
         probe.get("status"), probe.get("latency", -1)))
ok = (still == 0 and len(slow) + len(errors) == n and held and max(held) <= bound
      and probe.get("status", "").startswith("HTTP/1.1 200") and probe["latency"] <= bound)
sys.exit(0 if ok else 1)
