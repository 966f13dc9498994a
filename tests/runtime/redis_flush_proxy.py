#!/usr/bin/env python3
"""redis_flush_proxy: a TCP relay in front of a real redis-server that runs
FLUSHALL at one exact moment of a client's conversation, to reproduce the
race of a FLUSHALL landing between a batch's state load and its writes
(scorer_flush_fence.sh) deterministically instead of by luck.

Usage: redis_flush_proxy.py REDIS_PORT PORT_FILE TRIGGER_FILE DONE_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE once listening) and
relays every connection to 127.0.0.1:REDIS_PORT. While TRIGGER_FILE exists,
the first piece of client data that carries a state write (MULTI, EVAL: a
cluster's fenced write, ZADD, HSET, HINCRBY, ZREMRANGEBYSCORE, ZREM,
PEXPIREAT: what a batch's write pipeline starts with; never the epoch's
SET) is held: the proxy runs
FLUSHALL on its own connection, removes TRIGGER_FILE, writes DONE_FILE (the
machine ids the held data names, one per line) and only then forwards the
data. Redis runs a command only once all of it has arrived, so no command
of that write can run before the flush. Everything else passes unchanged.
"""
import os
import re
import socket
import sys
import threading

WRITES = [b"MULTI", b"EVAL", b"ZADD", b"HSET", b"HINCRBY", b"ZREMRANGEBYSCORE", b"ZREM", b"PEXPIREAT"]
PATTERNS = [b"$%d\r\n%s\r\n" % (len(w), w) for w in WRITES]
KEEP = max(len(p) for p in PATTERNS)

redis_port = int(sys.argv[1])
port_file, trigger_file, done_file = sys.argv[2:5]
lock = threading.Lock()


def flush(held):
    with socket.create_connection(("127.0.0.1", redis_port)) as s:
        s.sendall(b"*1\r\n$8\r\nFLUSHALL\r\n")
        reply = s.recv(64)
    if not reply.startswith(b"+OK"):
        sys.exit("FLUSHALL: %r" % reply)
    ids = sorted({int(m) for m in re.findall(rb"pdm:\{(\d+)\}:", held)})
    tmp = done_file + ".tmp"
    with open(tmp, "w") as f:
        f.writelines("%d\n" % i for i in ids)
    os.rename(tmp, done_file)
    os.unlink(trigger_file)


def client_to_server(src, dst):
    tail = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            seen = tail + data
            tail = seen[-KEEP:]
            with lock:
                if os.path.exists(trigger_file) and any(p in seen for p in PATTERNS):
                    flush(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def server_to_client(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % listener.getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, _ = listener.accept()
        try:
            server = socket.create_connection(("127.0.0.1", redis_port))
        except OSError:
            client.close()
            continue
        threading.Thread(target=client_to_server, args=(client, server), daemon=True).start()
        threading.Thread(target=server_to_client, args=(server, client), daemon=True).start()


main()
