#!/usr/bin/env python3
"""scorer_http_errors: malformed requests get one JSON answer, everywhere.

Usage: scorer_http_errors.py PORT TOKEN [--tls CA_FILE [--cert CERT --key KEY]]

Over plain HTTP or real TLS (Python's ssl, i.e. OpenSSL, trusting only the
test's CA; --cert/--key present a client certificate), each malformed
request is sent three ways: as the first request of a connection, as the
second request of a kept-alive connection (after a good one was answered),
and pipelined behind a good one in the same write. The answer to the bad
request must be exactly one status line with the status wanted, a
Content-Type of application/json, a Content-Length that is the body's, a
JSON body {"error": "..."}, and the connection closed after it; the good
request before it is answered 200 first. Then good requests must keep
working: three on one kept-alive connection, three pipelined in one write,
and POST /v1/predict with a Content-Length body and with a chunked one
(the same risk both ways).
"""
import json
import re
import socket
import ssl
import sys
import time

args = sys.argv[1:]
PORT, TOKEN = int(args[0]), args[1]
opts = dict(zip(args[2::2], args[3::2]))
MODE = "TLS" if "--tls" in opts else "plain"


def fail(msg):
    print(f"scorer_http_errors ({MODE}): {msg}", file=sys.stderr)
    sys.exit(1)


def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    if MODE == "plain":
        return s
    ctx = ssl.create_default_context(cafile=opts["--tls"])
    if "--cert" in opts:
        ctx.load_cert_chain(opts["--cert"], opts["--key"])
    return ctx.wrap_socket(s, server_hostname="127.0.0.1")


def send(sock, data):
    """Sends what the server takes: one that answers early may close first."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass


def read_response(sock, buf):
    """One response from buf and the socket: (status, headers, body, raw, rest)."""
    deadline = time.monotonic() + 10
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            fail(f"no whole response head within 10 s: {buf[:200]!r}")
        chunk = sock.recv(65536)
        if not chunk:
            fail(f"closed before a whole response head: {buf[:200]!r}")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0] + " ")
    if not m:
        fail(f"not a status line: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            fail(f"closed {len(rest)} bytes into a {n}-byte body")
        rest += chunk
    return int(m.group(1)), headers, rest[:n], head + b"\r\n\r\n" + rest[:n], rest[n:]


def read_to_close(sock, buf):
    """Everything until the server closes (at most 10 s)."""
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return buf, True
            buf += chunk
    except (socket.timeout, ConnectionResetError, ssl.SSLError) as e:
        return buf, isinstance(e, (ConnectionResetError, ssl.SSLError))
    return buf, False


def check_error(raw, closed, want, label):
    statuses = re.findall(rb"(?m)^HTTP/1\.[01] \d{3}", raw)
    if len(statuses) != 1:
        fail(f"{label}: {len(statuses)} status lines in {raw[:400]!r}")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    if status != want:
        fail(f"{label}: status {status}, want {want}: {raw[:400]!r}")
    if headers.get("content-type") != "application/json":
        fail(f"{label}: Content-Type {headers.get('content-type')!r}: {raw[:400]!r}")
    if headers.get("content-length") != str(len(body)):
        fail(f"{label}: Content-Length {headers.get('content-length')!r}, body {len(body)} bytes")
    try:
        doc = json.loads(body)
    except ValueError:
        fail(f"{label}: body is not JSON: {body[:200]!r}")
    if not isinstance(doc, dict) or not isinstance(doc.get("error"), str) or not doc["error"]:
        fail(f"{label}: body is not {{\"error\": \"...\"}}: {body[:200]!r}")
    if not closed:
        fail(f"{label}: the connection stayed open after the refusal")
    return doc["error"]


GOOD = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
BIG = 100 * 1024
BAD = [
    (b"GET /" + b"a" * BIG + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414, "100 KB URL"),
    (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * BIG + b"\r\n\r\n", 431,
     "100 KB header"),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2 preface"),
    (b"POST /v1/predict HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400,
     "Content-Length -1"),
    (b"POST /v1/predict HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
     400, "two Content-Lengths"),
    (b"POST /v1/predict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
     400, "malformed chunk"),
    (b"POST /v1/predict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
     "unknown transfer coding"),
]

for raw, want, label in BAD:
    # The first request of a connection.
    s = connect()
    send(s, raw)
    got, closed = read_to_close(s, b"")
    why = check_error(got, closed, want, f"{label} (first request)")
    s.close()
    # The second request of a kept-alive connection.
    s = connect()
    s.sendall(GOOD)
    status, headers, _, _, rest = read_response(s, b"")
    if status != 200 or headers.get("connection", "").lower() == "close":
        fail(f"{label}: the good first request got {status}, Connection {headers.get('connection')}")
    send(s, raw)
    got, closed = read_to_close(s, rest)
    check_error(got, closed, want, f"{label} (second request, kept alive)")
    s.close()
    # Pipelined behind a good one.
    s = connect()
    send(s, GOOD + raw)
    status, _, _, _, rest = read_response(s, b"")
    if status != 200:
        fail(f"{label}: the good request pipelined before it got {status}")
    got, closed = read_to_close(s, rest)
    check_error(got, closed, want, f"{label} (pipelined after a good one)")
    s.close()
    print(f"{MODE} {label}: {want} {why}")

# Good requests keep working: kept alive, pipelined, bodies both ways.
s = connect()
for i in range(3):
    s.sendall(GOOD)
    status, _, body, _, rest = read_response(s, b"")
    if status != 200 or rest:
        fail(f"kept-alive request {i + 1}: {status} {body[:100]!r}")
s.sendall(GOOD * 3)
rest = b""
for i in range(3):
    status, _, body, _, rest = read_response(s, rest)
    if status != 200:
        fail(f"pipelined request {i + 1}: {status} {body[:100]!r}")
doc = json.dumps({"features": {"volt_mean_24h": 170.5, "error1_count_24h": 1}}).encode()
auth = b"Authorization: Bearer " + TOKEN.encode() + b"\r\n" if TOKEN else b""
s.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: t\r\n" + auth + b"Content-Type: application/json\r\n"
          b"Content-Length: " + str(len(doc)).encode() + b"\r\n\r\n" + doc)
status, _, body, _, rest = read_response(s, b"")
if status != 200:
    fail(f"POST /v1/predict with Content-Length: {status} {body[:200]!r}")
risk = json.loads(body)["risk"]
half = len(doc) // 2
chunked = (b"%x\r\n" % half) + doc[:half] + b"\r\n" + (b"%x;ext=1\r\n" % (len(doc) - half)) + \
    doc[half:] + b"\r\n0\r\nX-Trailer: t\r\n\r\n"
s.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: t\r\n" + auth + b"Content-Type: application/json\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
status, _, body, _, rest = read_response(s, rest)
if status != 200 or json.loads(body)["risk"] != risk:
    fail(f"POST /v1/predict chunked: {status} {body[:200]!r} (Content-Length form: risk {risk})")
s.close()
print(f"{MODE}: good requests kept alive, pipelined, and POST bodies (length and chunked) served")
