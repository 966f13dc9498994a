#!/usr/bin/env bash
# ops_scripts: the scripts the image ships work. pdm-healthcheck (the
# HEALTHCHECK, bash /dev/tcp) exits 0 only on an HTTP 200 from the port
# PDM_HTTP names (a wildcard address checked on loopback), 1 on 503, on a
# closed port, on a server that does not answer in time and on a bad
# PDM_HTTP; pdm-bootstrap-model (compose's trainer) trains and promotes a
# model into an empty models directory with the real pdm-sim and pdm-train,
# and leaves an existing `current` alone; pdm-model-rollback lists packages
# marking the current one, repoints `current` (a relative link) at an earlier
# package and refuses names that are not packages of that directory. The
# health check also runs against a real scorer (own redis-server and broker),
# whose /metrics must name only metrics of the contract list (ops_lib.sh).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/ops_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
HC=$OPS_DIR/healthcheck.sh
export PATH="$PDM_BIN:$PATH"

# ---- pdm-healthcheck against a stand-in HTTP server ------------------------
"$OPS_PY" - "$T/http.port" <<'PY' >"$T/http.log" 2>&1 &
import http.server, socketserver, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(5)
        code = {"/healthz": 200, "/readyz": 503}.get(self.path, 404)
        body = b'{"ready":false}' if code == 503 else b"ok"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
pdm_track $!
pdm_wait_until 10 test -s "$T/http.port" || pdm_fail "stand-in server did not start: $(cat "$T/http.log")"
port=$(cat "$T/http.port")

hc() { # hc WANT_STATUS PDM_HTTP [PATH]
  local want=$1 http=$2 status=0
  shift 2
  PDM_HTTP=$http PDM_HEALTHCHECK_TIMEOUT=1 bash "$HC" "$@" 2>"$T/hc.err" || status=$?
  [ "$status" = "$want" ] || pdm_fail "PDM_HTTP=$http pdm-healthcheck $*: status $status, want $want ($(cat "$T/hc.err"))"
}
hc 0 "0.0.0.0:$port"
hc 0 "127.0.0.1:$port" /healthz
hc 0 ":$port"
hc 1 "0.0.0.0:$port" /readyz
grep -q "503" "$T/hc.err" || pdm_fail "no status in the failure message: $(cat "$T/hc.err")"
hc 1 "0.0.0.0:$port" /nope
start=${EPOCHREALTIME/./}
hc 1 "0.0.0.0:$port" /slow
elapsed=$(((${EPOCHREALTIME/./} - start) / 1000))
[ "$elapsed" -lt 4000 ] || pdm_fail "a silent server held the health check for $elapsed ms"
closed=$(pdm_free_port)
hc 1 "0.0.0.0:$closed"
grep -q "cannot connect" "$T/hc.err" || pdm_fail "closed port: $(cat "$T/hc.err")"
hc 1 "0.0.0.0:http"
# With HTTPS (bash cannot speak TLS) only the connect is checked: a server
# answering 503 on /readyz passes, a closed port does not.
export PDM_HTTP_TLS_CERT=/run/secrets/cert
hc 0 "0.0.0.0:$port" /readyz
hc 1 "0.0.0.0:$closed"
unset PDM_HTTP_TLS_CERT

# ---- pdm-bootstrap-model ---------------------------------------------------
M=$T/models
PDM_MODELS_DIR=$M PDM_BOOTSTRAP_MACHINES=12 PDM_BOOTSTRAP_HOURS=1500 PDM_BOOTSTRAP_ROUNDS=15 \
  TMPDIR=$T bash "$OPS_DIR/bootstrap-model.sh" >"$T/boot1.log" 2>&1 \
  || pdm_fail "bootstrap failed: $(tail -5 "$T/boot1.log")"
[ -L "$M/current" ] || pdm_fail "no current link after bootstrap"
first=$(readlink "$M/current")
[ -f "$M/$first/model.ubj" ] && [ -f "$M/$first/model.json" ] || pdm_fail "current ($first) is not a package"
[ -z "$(find "$T" -maxdepth 1 -name 'pdm-bootstrap.*')" ] || pdm_fail "bootstrap left its work directory"
PDM_MODELS_DIR=$M TMPDIR=$T bash "$OPS_DIR/bootstrap-model.sh" >"$T/boot2.log" 2>&1 \
  || pdm_fail "second bootstrap failed: $(cat "$T/boot2.log")"
grep -q "nothing to do" "$T/boot2.log" || pdm_fail "second bootstrap did something: $(cat "$T/boot2.log")"
[ "$(readlink "$M/current")" = "$first" ] || pdm_fail "second bootstrap moved current"

# ---- pdm-model-rollback ----------------------------------------------------
# A second package: a different fleet, promoted or not, lands next to the first.
pdm-sim --machines 12 --hours 1500 --seed 9 --out "$T/data2" 2>"$T/sim2.log" || pdm_fail "pdm-sim: $(cat "$T/sim2.log")"
pdm-train --data "$T/data2" --rounds 15 --seed 9 --promote "$M" >"$T/train2.log" 2>&1 \
  || pdm_fail "pdm-train: $(tail -5 "$T/train2.log")"
mapfile -t versions < <(find "$M" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
[ ${#versions[@]} = 2 ] || pdm_fail "want two packages, got: ${versions[*]}"
cur=$(readlink "$M/current")
other=${versions[0]}
[ "$other" != "$cur" ] || other=${versions[1]}

RB=$OPS_DIR/rollback-model.sh
bash "$RB" "$M" >"$T/list.txt" || pdm_fail "listing failed"
[ "$(wc -l <"$T/list.txt")" = 2 ] || pdm_fail "listing: $(cat "$T/list.txt")"
grep -q "^\* $cur " "$T/list.txt" || pdm_fail "current $cur not marked: $(cat "$T/list.txt")"
grep -q "^  $other " "$T/list.txt" || pdm_fail "$other not listed: $(cat "$T/list.txt")"
bash "$RB" "$M" "$other" >"$T/rb.log" || pdm_fail "rollback failed: $(cat "$T/rb.log")"
[ "$(readlink "$M/current")" = "$other" ] || pdm_fail "current is $(readlink "$M/current"), want $other (relative)"
grep -q "$cur -> $other" "$T/rb.log" || pdm_fail "rollback message: $(cat "$T/rb.log")"
[ -z "$(find "$M" -maxdepth 1 -name '.current.*')" ] || pdm_fail "rollback left a temporary link"
bash "$RB" "$M" >"$T/list2.txt"
grep -q "^\* $other " "$T/list2.txt" || pdm_fail "listing does not mark $other after the rollback: $(cat "$T/list2.txt")"
for bad in ../x current . "" nope; do
  status=0
  bash "$RB" "$M" "$bad" 2>/dev/null || status=$?
  [ "$status" != 0 ] || pdm_fail "rollback to '$bad' succeeded"
  [ "$(readlink "$M/current")" = "$other" ] || pdm_fail "a refused rollback to '$bad' moved current"
done
mkdir "$M/empty"
status=0
bash "$RB" "$M" empty 2>"$T/rb.err" || status=$?
[ "$status" = 1 ] && grep -q "not a model package" "$T/rb.err" || pdm_fail "rollback to a non-package: $status $(cat "$T/rb.err")"

# ---- against a real scorer ---------------------------------------------------
rmdir "$M/empty"
pdm_start_redis
pdm_start_broker 2
hport=$(pdm_free_port)
PDM_HTTP=127.0.0.1:$hport pdm-scorer --brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL" --model "$M" \
  --group ops-scripts >"$T/scorer.log" 2>&1 &
scorer=$!
pdm_track_checked "$scorer" pdm-scorer
PDM_HTTP=127.0.0.1:$hport pdm_wait_until 20 bash "$HC" /healthz \
  || pdm_fail "the scorer's /healthz never answered 200: $(tail -5 "$T/scorer.log")"
PDM_HTTP=127.0.0.1:$hport pdm_wait_until 30 bash "$HC" /readyz \
  || pdm_fail "the scorer never became ready: $(tail -5 "$T/scorer.log")"
"$OPS_PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
  "http://127.0.0.1:$hport/metrics" >"$T/metrics.txt" || pdm_fail "GET /metrics failed"
ops_metrics_check "$T/metrics.txt"
pdm_stop_check "$scorer" pdm-scorer "$T/scorer.log"
echo "ops_scripts: checked against a real pdm-scorer"
echo "ops_scripts: ok"
