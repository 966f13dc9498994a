#!/usr/bin/env bash
# scorer_https: pdm-scorer's HTTP API over real TLS, with certificates this
# test makes with openssl (a CA, two server certificates with different
# serials, a client CA with one client certificate, and a stranger's client
# certificate), checked with curl and openssl s_client:
# - HTTPS with the CA succeeds, without it curl refuses the server, plain
#   HTTP on the port gets no answer;
# - scoped tokens over HTTPS: the read token (from a file) reads but is
#   refused on /v1/admin/reload; the admin token (env *_FILE form) reaches
#   both;
# - SIGHUP after the certificate files are replaced serves the new
#   certificate (its serial, seen by s_client) without a restart, and a
#   SIGHUP with a key that does not match keeps the running certificate;
# - malformed requests over TLS (100 KB URL and header, HTTP/2 preface,
#   Content-Length -1, two lengths, a bad chunk, an unknown coding), as a
#   connection's first request, as the second of a kept-alive one and
#   pipelined, each get one JSON answer with its status, then the close;
#   good requests kept alive, pipelined and with bodies are served
#   (scorer_http_errors.py; s_client for one case);
# - more slow TLS clients than slots (a header byte every 0.25 s) are each
#   closed within --http-request-timeout and /healthz answers meanwhile,
#   and so are stalled handshakes (half a ClientHello);
# - a second scorer requiring client certificates (--http-tls-client-ca):
#   served with the client's certificate (the malformed requests above
#   too), refused without one and with the stranger's; its --http-per-ip-limit closes a fifth connection from one
#   address at once.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
for tool in openssl curl python3; do
  command -v "$tool" >/dev/null || { echo "scorer_https: no $tool (scripts/install-deps.sh)"; exit 77; }
done

# ---- certificates ----------------------------------------------------------------
C=$T/certs
mkdir -p "$C"
ossl() { openssl "$@" >>"$C/openssl.log" 2>&1 || pdm_fail "openssl $1 failed: $(tail -5 "$C/openssl.log")"; }
ca() { # NAME SUBJECT
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$C/$1.key" -out "$C/$1.crt" -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # NAME CA SERIAL EXT
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/$1.key" \
    -out "$C/$1.csr" -subj "/CN=$1"
  printf '%s\n' "$4" >"$C/$1.ext"
  ossl x509 -req -in "$C/$1.csr" -CA "$C/$2.crt" -CAkey "$C/$2.key" -set_serial "$3" -days 2 \
    -extfile "$C/$1.ext" -out "$C/$1.crt"
}
SERVER_EXT='subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth'
CLIENT_EXT='extendedKeyUsage=clientAuth'
ca ca "pdm test CA"
leaf server1 ca 4097 "$SERVER_EXT"
leaf server2 ca 8194 "$SERVER_EXT"
ca clientca "pdm test client CA"
leaf client clientca 77 "$CLIENT_EXT"
ca stranger "someone else's CA"
leaf intruder stranger 99 "$CLIENT_EXT"
cp "$C/server1.crt" "$C/live.crt"
cp "$C/server1.key" "$C/live.key"
chmod 600 "$C"/*.key

# ---- a model, redis, the broker --------------------------------------------------
sl_sim "$T/data" 6 300 11
sl_train "$T/data" "$T/train.log" --rounds 3 --out "$T/models/a" --promote "$T/models"
pdm_start_redis
pdm_start_broker 1 --topic pdm.events

read_token=read-$RANDOM$RANDOM
admin_token=admin-$RANDOM$RANDOM
printf '%s\n' "$read_token" >"$T/read.token"
printf '%s\n' "$admin_token" >"$T/admin.token"
PDM_HTTP_ADMIN_TOKEN_FILE=$T/admin.token sl_scorer "$T/scorer.log" --redis "$PDM_REDIS_URL" \
  --model "$T/models" --topics pdm.events --group https-a --http 127.0.0.1:0 \
  --http-tls-cert "$C/live.crt" --http-tls-key "$C/live.key" --http-token-file "$T/read.token" \
  --http-request-timeout 2s
scorer=$SL_PID
sl_wait_log "$T/scorer.log" "http listening on port" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/scorer.log" | head -1)
grep -q "HTTPS" "$T/scorer.log" || pdm_fail "the log does not say HTTPS: $(grep listening "$T/scorer.log")"
URL=https://127.0.0.1:$port

# code METHOD PATH [CURL-ARGS...]: prints the HTTP status curl got (000: none).
code() {
  local m=$1 p=$2
  shift 2
  curl -s -o "$T/body" -w '%{http_code}' -X "$m" --max-time 20 "$@" "$URL$p" || true
}

[ "$(code GET /healthz --cacert "$C/ca.crt")" = 200 ] || pdm_fail "HTTPS /healthz with the CA: $(code GET /healthz --cacert "$C/ca.crt" -v 2>&1 | tail -5)"
rc=0
curl -s -o /dev/null --max-time 10 "$URL/healthz" || rc=$?
[ "$rc" = 60 ] || pdm_fail "curl without the CA: exit $rc, want 60 (certificate not trusted)"
rc=0
out=$(curl -s --max-time 5 "http://127.0.0.1:$port/healthz") || rc=$?
[ "$rc" != 0 ] && [ -z "$out" ] || pdm_fail "plain HTTP on the HTTPS port answered: $out"

# Scoped tokens, over HTTPS.
R=(--cacert "$C/ca.crt" -H "Authorization: Bearer $read_token")
A=(--cacert "$C/ca.crt" -H "Authorization: Bearer $admin_token")
[ "$(code GET /v1/model "${R[@]}")" = 200 ] || pdm_fail "/v1/model with the read token"
[ "$(code GET /v1/model "${A[@]}")" = 200 ] || pdm_fail "/v1/model with the admin token"
[ "$(code GET /v1/model --cacert "$C/ca.crt")" = 401 ] || pdm_fail "/v1/model without a token"
[ "$(code POST /v1/admin/reload "${R[@]}")" = 403 ] || pdm_fail "reload with the read token: $(cat "$T/body")"
grep -q '"error":"this token does not reach /v1/admin/' "$T/body" || pdm_fail "403 body: $(cat "$T/body")"
[ "$(code POST /v1/admin/reload "${A[@]}")" = 200 ] || pdm_fail "reload with the admin token: $(cat "$T/body")"

# Malformed requests over TLS (first, kept-alive second, pipelined): one JSON
# answer each; good requests (kept alive, pipelined, POST bodies) served.
python3 "$PDM_SOURCE_DIR/tests/runtime/scorer_http_errors.py" "$port" "$read_token" \
  --tls "$C/ca.crt" >"$T/errors.log" 2>&1 || pdm_fail "over TLS: $(tail -3 "$T/errors.log")"
cat "$T/errors.log"
# The same, by openssl s_client: the HTTP/2 preface as the second request.
printf 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' \
  | timeout 10 openssl s_client -quiet -ign_eof -connect "127.0.0.1:$port" -CAfile "$C/ca.crt" \
    -verify_return_error >"$T/sclient.out" 2>/dev/null || true
[ "$(grep -o 'HTTP/1\.[01] [0-9][0-9][0-9] ' "$T/sclient.out" | tr '\n' ,)" = "HTTP/1.1 200 ,HTTP/1.1 505 ," ] \
  && grep -qx 'Content-Type: application/json.\?' "$T/sclient.out" \
  && grep -q '{"error":"only HTTP/1.0 and HTTP/1.1 are served"}$' "$T/sclient.out" \
  || pdm_fail "s_client, HTTP/2 preface after a good request: $(cat "$T/sclient.out")"

# serial: the serving certificate's serial as s_client sees it.
serial() {
  openssl s_client -connect "127.0.0.1:$port" -CAfile "$C/ca.crt" -verify_return_error \
    </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'
}
[ "$(serial)" = 1001 ] || pdm_fail "serving serial $(serial), want 1001 (4097)"
cp "$C/server2.crt" "$C/live.crt"
cp "$C/server2.key" "$C/live.key"
kill -HUP "$scorer"
_rotated() { [ "$(serial)" = 2002 ]; }
pdm_wait_until 10 _rotated || pdm_fail "after SIGHUP the serial is $(serial), want 2002 (8194)"
grep -q "TLS certificate reloaded" "$T/scorer.log" || pdm_fail "no reload line in the log"
[ "$(code GET /healthz --cacert "$C/ca.crt")" = 200 ] || pdm_fail "/healthz after the rotation"
cp "$C/server1.crt" "$C/live.crt" # the key still is server2's: refused, 2002 stays
kill -HUP "$scorer"
sl_wait_log "$T/scorer.log" "TLS reload failed" 1 10
[ "$(serial)" = 2002 ] || pdm_fail "a mismatched pair replaced the certificate: serial $(serial)"
grep "TLS reload failed" "$T/scorer.log" | grep -q "does not belong" \
  || pdm_fail "reload failure not explained: $(grep 'TLS reload failed' "$T/scorer.log")"

# Slow clients: 72 TLS connections (the server has 64 slots) dribbling a head.
python3 "$PDM_SOURCE_DIR/tests/runtime/https_slow_clients.py" "$port" "$C/ca.crt" 72 0.25 3.5 \
  >"$T/slow.log" 2>&1 || pdm_fail "slow clients: $(cat "$T/slow.log")"
cat "$T/slow.log"
# Stalled handshakes (half a ClientHello, never the rest) do not hold up the
# server: /healthz is answered meanwhile, and each is closed at the request
# timeout (2 s) like any slow client.
python3 - "$port" "$C/ca.crt" <<'PY' || pdm_fail "stalled TLS handshakes"
import socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
stalled = []
for _ in range(10):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    stalled.append(s)
t0 = time.monotonic()
c = ssl.create_default_context(cafile=ca).wrap_socket(
    socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="127.0.0.1")
c.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
answer = c.recv(4096)
took = time.monotonic() - t0
if not answer.startswith(b"HTTP/1.1 200 ") or took > 1.5:
    sys.exit(f"/healthz beside stalled handshakes: {answer[:40]!r} after {took:.2f} s")
for s in stalled:
    s.settimeout(max(0.1, t0 + 4.0 - time.monotonic()))
    try:
        if s.recv(100) != b"":
            sys.exit("a stalled handshake got bytes")
    except ConnectionResetError:
        pass
    except socket.timeout:
        sys.exit("a stalled handshake was still open 4 s later")
closed = time.monotonic() - t0
if closed < 1.5:
    sys.exit(f"stalled handshakes closed after {closed:.2f} s, before the 2 s request timeout")
print(f"stalled handshakes: /healthz answered in {took * 1000:.0f} ms, all closed after {closed:.1f} s")
PY
pdm_stop_check "$scorer" pdm-scorer "$T/scorer.log"
! grep -q "$read_token\|$admin_token" "$T/scorer.log" || pdm_fail "a token is in the scorer's log"

# ---- client certificates ---------------------------------------------------------
sl_scorer "$T/scorer-m.log" --redis "$PDM_REDIS_URL" --model "$T/models" --topics pdm.events \
  --group https-m --http 127.0.0.1:0 --http-tls-cert "$C/server1.crt" \
  --http-tls-key "$C/server1.key" --http-tls-client-ca "$C/clientca.crt" --http-per-ip-limit 4
mscorer=$SL_PID
sl_wait_log "$T/scorer-m.log" "http listening on port" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/scorer-m.log" | head -1)
URL=https://127.0.0.1:$port
grep -q "with client certificates" "$T/scorer-m.log" || pdm_fail "log: $(grep listening "$T/scorer-m.log")"
[ "$(code GET /healthz --cacert "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key")" = 200 ] \
  || pdm_fail "with the client certificate: $(cat "$T/body")"
[ "$(code GET /healthz --cacert "$C/ca.crt")" = 000 ] || pdm_fail "served without a client certificate"
[ "$(code GET /healthz --cacert "$C/ca.crt" --cert "$C/intruder.crt" --key "$C/intruder.key")" = 000 ] \
  || pdm_fail "served with a certificate of another CA"
python3 "$PDM_SOURCE_DIR/tests/runtime/scorer_http_errors.py" "$port" "" --tls "$C/ca.crt" \
  --cert "$C/client.crt" --key "$C/client.key" >"$T/errors-m.log" 2>&1 \
  || pdm_fail "with client certificates: $(tail -3 "$T/errors-m.log")"
python3 - "$port" <<'PY' || pdm_fail "--http-per-ip-limit 4 did not close the fifth connection"
import socket, sys, time
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(5)]
time.sleep(0.5)
closed = 0
for c in conns:
    c.setblocking(False)
    try:
        closed += c.recv(1) == b""
    except BlockingIOError:
        pass
    except ConnectionResetError:
        closed += 1
sys.exit(0 if closed == 1 else 1)
PY
pdm_stop_check "$mscorer" pdm-scorer "$T/scorer-m.log"
echo "scorer_https: ok"
