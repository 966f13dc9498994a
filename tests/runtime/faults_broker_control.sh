#!/usr/bin/env bash
# faults_broker_control: pdm-broker --control, the fault-injection socket,
# seen from kcat (a client that is not ours): a produce fails while the
# broker is down and succeeds once it is up; injected produce errors fail a
# produce (non-retriable) or are retried through (retriable, counted down by
# "pending"); an added RTT slows a metadata request and removing it makes
# it fast again; a leader move shows in the metadata; bad commands get an
# "error: ..." reply and change nothing. The socket is mode 0600, a stale
# one left by a killed broker is replaced, and SIGTERM removes it.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP

pdm_start_broker_control 2 --brokers 3
B=$PDM_BROKERS
[ "$(stat -c %a "$PDM_BROKER_CONTROL")" = 600 ] || pdm_fail "socket mode $(stat -c %a "$PDM_BROKER_CONTROL"), want 600"
[ "$(pdm_broker_ctl ping)" = "ok pong" ] || pdm_fail "ping: $(pdm_broker_ctl ping)"
[ "$(pdm_broker_ctl brokers)" = "ok 3" ] || pdm_fail "brokers: $(pdm_broker_ctl brokers)"

# produce TOPIC PARTITION TEXT [KCAT-ARGS]: one message, 3 s to deliver it.
produce() {
  local topic=$1 part=$2 text=$3
  shift 3
  printf '%s\n' "$text" | kcat -P -b "$B" -t "$topic" -p "$part" -X message.timeout.ms=3000 "$@" \
    2>>"$T/kcat.log"
}
# leader TOPIC PARTITION: its leader's id, from kcat's metadata.
leader() {
  kcat -L -J -b "$B" -t "$1" -m 5 | /usr/bin/python3 -c '
import json, sys
md = json.load(sys.stdin)
print([p["leader"] for p in md["topics"][0]["partitions"] if p["partition"] == int(sys.argv[1])][0])' "$2"
}
# count TOPIC: messages in TOPIC.
count() {
  kcat -C -b "$B" -t "$1" -e -q -f '%o\n' 2>/dev/null | wc -l
}

# 1. Every broker down: a produce fails; up again: it succeeds.
produce pdm.risk 0 before || pdm_fail "produce on a healthy cluster failed: $(tail -3 "$T/kcat.log")"
pdm_broker_ctl down all >/dev/null || pdm_fail "down all refused"
if produce pdm.risk 0 while-down; then pdm_fail "a produce succeeded with every broker down"; fi
pdm_broker_ctl up all >/dev/null || pdm_fail "up all refused"
pdm_wait_until 10 produce pdm.risk 0 after || pdm_fail "produce still fails after up: $(tail -3 "$T/kcat.log")"
[ "$(count pdm.risk)" -ge 2 ] || pdm_fail "pdm.risk holds $(count pdm.risk) messages, want >= 2"

# 2. One broker down: the partitions it leads are unavailable, the others not.
pdm_broker_ctl leader pdm.risk 0 1 >/dev/null || pdm_fail "leader pdm.risk 0 1 refused"
pdm_broker_ctl leader pdm.risk 1 2 >/dev/null || pdm_fail "leader pdm.risk 1 2 refused"
pdm_wait_until 10 eval '[ "$(leader pdm.risk 0)" = 1 ] && [ "$(leader pdm.risk 1)" = 2 ]' \
  || pdm_fail "leaders are $(leader pdm.risk 0) and $(leader pdm.risk 1), want 1 and 2"
pdm_broker_ctl down 2 >/dev/null || pdm_fail "down 2 refused"
produce pdm.risk 0 on-1 || pdm_fail "broker 1's partition unavailable while broker 2 is down"
if produce pdm.risk 1 on-2; then pdm_fail "broker 2's partition took a message while it was down"; fi
pdm_broker_ctl up 2 >/dev/null
pdm_wait_until 10 produce pdm.risk 1 on-2-again || pdm_fail "broker 2 did not come back"

# 3. Request errors: a non-retriable one fails the produce, once.
pdm_broker_ctl errors Produce 1 TOPIC_AUTHORIZATION_FAILED >/dev/null || pdm_fail "errors refused"
if produce pdm.risk 0 denied; then pdm_fail "a produce succeeded despite TOPIC_AUTHORIZATION_FAILED"; fi
produce pdm.risk 0 allowed || pdm_fail "the injected error outlived its count"
# Numbers work for both the request type and the error (0 = Produce, 29 = TOPIC_AUTHORIZATION_FAILED).
pdm_broker_ctl errors 0 1 29 >/dev/null || pdm_fail "numeric errors refused"
if produce pdm.risk 0 denied-again; then pdm_fail "numeric error not injected"; fi
# Cleared errors are gone.
pdm_broker_ctl errors Produce 2 TOPIC_AUTHORIZATION_FAILED >/dev/null
pdm_broker_ctl clear Produce >/dev/null || pdm_fail "clear refused"
produce pdm.risk 0 cleared || pdm_fail "errors survived clear"

# Retriable ones on one broker: retried through, and counted down. (Last:
# once a broker has its own error stack for an API, the mock no longer
# gives it the cluster-wide errors for that API.)
leader0=$(leader pdm.risk 0)
pdm_broker_ctl errors Produce 3 NOT_LEADER_FOR_PARTITION "$leader0" >/dev/null || pdm_fail "broker errors refused"
[ "$(pdm_broker_ctl pending "$leader0" Produce)" = "ok 3" ] || pdm_fail "pending: $(pdm_broker_ctl pending "$leader0" Produce)"
produce pdm.risk 0 retried -X retry.backoff.ms=50 || pdm_fail "retriable errors were not retried through"
[ "$(pdm_broker_ctl pending "$leader0" Produce)" = "ok 0" ] \
  || pdm_fail "errors left after the produce: $(pdm_broker_ctl pending "$leader0" Produce)"
# 4. RTT: a metadata request takes at least the added delay, then not.
pdm_broker_ctl rtt all 800 >/dev/null || pdm_fail "rtt refused"
t0=${EPOCHREALTIME/./}
kcat -L -b "$B" -t pdm.risk >/dev/null 2>&1 || pdm_fail "metadata failed with rtt"
slow_ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
pdm_broker_ctl rtt all 0 >/dev/null
t0=${EPOCHREALTIME/./}
kcat -L -b "$B" -t pdm.risk >/dev/null 2>&1 || pdm_fail "metadata failed"
fast_ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
echo "metadata: ${slow_ms} ms with rtt 800, ${fast_ms} ms without"
[ "$slow_ms" -ge 800 ] || pdm_fail "rtt 800 ms but metadata took $slow_ms ms"
[ "$fast_ms" -lt 800 ] || pdm_fail "rtt 0 but metadata took $fast_ms ms"

# 5. Bad commands: an error reply, a failing status, and nothing changed.
for bad in "frobnicate" "down" "down 4" "down x" "up 0" "rtt 1 -5" "errors Bogus 1 NOT_LEADER_FOR_PARTITION" \
  "errors Produce 0 NOT_LEADER_FOR_PARTITION" "errors Produce 1 NO_SUCH_ERROR" "errors Produce 1 29 9" \
  "pending all Produce" "leader nope 0 1" "leader pdm.risk 2 1" "leader pdm.risk 0 4" \
  "coordinator shop pdm 1" ""; do
  status=0
  reply=$(pdm_broker_ctl "$bad") || status=$?
  [ "$status" = 1 ] || pdm_fail "'$bad': status $status, want 1 (reply '$reply')"
  [[ $reply == "error: "* ]] || pdm_fail "'$bad': reply '$reply', want 'error: ...'"
done
produce pdm.risk 0 still-fine || pdm_fail "the cluster broke after bad commands"
# Several commands on one connection, one reply line each, in order.
replies=$(/usr/bin/python3 - "$PDM_BROKER_CONTROL" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(b"ping\nbrokers\nnope\n")
buf = b""
while buf.count(b"\n") < 3:
    buf += s.recv(4096)
print(buf.decode().replace("\n", "|"))
PY
)
[[ $replies == "ok pong|ok 3|error: "*"|" ]] || pdm_fail "pipelined replies: '$replies'"

# 6. A killed broker leaves its socket; the next one replaces it. SIGTERM removes it.
sock=$PDM_BROKER_CONTROL
kill -KILL "$PDM_BROKER_PID"
pdm_stop "$PDM_BROKER_PID" 2>/dev/null || true
[ -S "$sock" ] || pdm_fail "expected a stale socket after SIGKILL"
pdm_start_broker 1 --control "$sock"
[ "$(pdm_broker_ctl brokers)" = "ok 1" ] || pdm_fail "new broker does not answer on the old path"
status=0
pdm_stop "$PDM_BROKER_PID" || status=$?
[ "$status" = 0 ] || pdm_fail "exit status $status after SIGTERM"
[ ! -e "$sock" ] || pdm_fail "socket left behind after SIGTERM"
# A path that is not a socket is not removed: the broker refuses to start.
echo keep >"$T/not-a-socket"
status=0
"$PDM_BIN/pdm-broker" --control "$T/not-a-socket" >/dev/null 2>"$T/refuse.log" || status=$?
[ "$status" = 1 ] || pdm_fail "--control on a regular file: status $status, want 1"
[ "$(cat "$T/not-a-socket")" = keep ] || pdm_fail "the regular file was touched"
echo "faults_broker_control: ok"
