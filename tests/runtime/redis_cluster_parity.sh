#!/usr/bin/env bash
# redis_cluster_parity: the streaming scorer with its state in a real Redis
# Cluster (3 masters, 3 replicas on loopback, tests/redis_cluster.sh) through
# a redis+cluster:// URL. 1. The simulator's stream replayed through the
# embedded broker: every telemetry event's features equal pdm-train
# --dump-features to 1e-9, and every master holds machines' keys and its
# slots' epoch keys. 2. The HTTP API on the cluster: /readyz 200, and every
# machine's /v1/machines/{id} equal to the scorer's own dump
# (scorer_http_check.py); WAIT on every master; with every replica stopped
# the writes go on, reported unconfirmed, until the replicas are back.
# 3. A FLUSHALL of one master is noticed (the state
# lost, logged and counted), and /readyz turns 503 while a master is down.
# 4. An ACL user authenticated on every node (AUTH per node; a wrong
# password is named, never logged).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/redis_cluster.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
B=$PDM_BIN
compare="/usr/bin/python3 $PDM_SOURCE_DIR/tests/runtime/compare_features.py"

pdm_start_redis_cluster
pdm_start_broker 4 --topic pdm.events,pdm.http,pdm.auth

sl_sim "$T/data" 12 1000 7
sl_train "$T/data" "$T/train.log" --out "$T/models/candidate" --rounds 10 \
  --dump-features "$T/offline.csv" --promote "$T/models"
sl_replay "$T/data" pdm.events

# 1. A clean run over the cluster.
"$B/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$PDM_CLUSTER_URL" --model "$T/models" \
  --group clean --topics pdm.events --emit all --dump-features "$T/online.csv" --exit-at-end \
  -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 >"$T/clean.log" 2>&1 \
  || pdm_fail "scorer on the cluster failed: $(tail -20 "$T/clean.log")"
$compare "$T/offline.csv" "$T/online.csv" --expect-same-keys \
  || pdm_fail "features over the cluster differ from offline"
grep -q "stopped: .*, 0 dead letters" "$T/clean.log" || pdm_fail "clean run: $(grep stopped: "$T/clean.log")"
# The state is spread: each master holds machines and the epoch keys of its slots.
total=0
for p in $(pdm_cluster_masters); do
  metas=$(pdm_cluster_cli "$p" --scan --pattern 'pdm:{*}:meta' | wc -l)
  epochs=$(pdm_cluster_cli "$p" --scan --pattern 'pdm:epoch:*' | wc -l)
  echo "master $p: $metas machines, $epochs epoch keys" >&2
  [ "$metas" -gt 0 ] || pdm_fail "master $p holds no machine: the keys are not spread"
  [ "$epochs" -gt 5000 ] || pdm_fail "master $p: $epochs epoch keys for about 5,461 slots"
  total=$((total + epochs))
done
[ "$total" = 16384 ] || pdm_fail "$total epoch keys, want one per slot (16384)"

# 2. The HTTP API on the cluster.
# (the data scorer_http_check.py is sized for: 6 machines, 300 hours)
sl_sim "$T/data-http" 6 300 11
sl_replay "$T/data-http" pdm.http
telemetry=$(($(wc -l <"$T/data-http/PdM_telemetry.csv") - 1))
token=tok-$RANDOM$RANDOM
printf '%s\n' "$token" >"$T/token"
VA=$(sl_version "$T/models/candidate")
pdm_cluster_flushall
sl_scorer "$T/http.log" --redis "$PDM_CLUSTER_URL" --model "$T/models" --topics pdm.http \
  --emit all --dump-features "$T/http.csv" --http 127.0.0.1:0 --http-token-file "$T/token" \
  --http-max-body 65536 --drift-rows 500 \
  --group http
scorer=$SL_PID
sl_wait_log "$T/http.log" "http listening on port" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/http.log" | head -1)
sl_wait_rows "$T/http.csv" "$telemetry" 60
/usr/bin/python3 "$PDM_SOURCE_DIR/tests/runtime/scorer_http_check.py" "$port" "$token" "$T/data-http" \
  "$T/http.csv" "$VA" || pdm_fail "HTTP API checks on the cluster failed: $(tail -5 "$T/http.log")"
status() { # PATH [TOKEN]: prints "STATUS BODY"
  /usr/bin/python3 - "http://127.0.0.1:$port$1" "${2:-}" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if sys.argv[2]:
    req.add_header("Authorization", "Bearer " + sys.argv[2])
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
out=$(status /readyz)
case $out in "200 "*) ;; *) pdm_fail "/readyz on the cluster: $out" ;; esac
# The open-incident index (one key, pdm:incidents) is read through the cluster too.
out=$(status /v1/alerts "$token")
case $out in "200 {"*) ;; *) pdm_fail "/v1/alerts on the cluster: ${out:0:200}" ;; esac
# Outputs are read whole, then searched: under pipefail, `status /metrics |
# grep -q` failed whenever grep, done at its first match, closed the pipe
# before python wrote the scrape's last byte (BrokenPipeError, exit 1).
out=$(status /metrics 2>&1)
case $out in "200 "*) ;; *) pdm_fail "/metrics on the cluster: ${out:0:300}" ;; esac
for level in warn critical; do
  grep -q "^pdm_incidents_open{level=\"$level\"} [0-9]" <<<"$out" \
    || pdm_fail "no pdm_incidents_open{level=\"$level\"} on the cluster: $(grep incidents_open <<<"$out")"
done
# Every write round asked its masters' replicas to confirm (WAIT).
for p in $(pdm_cluster_masters); do
  stats=$(pdm_cluster_cli "$p" info commandstats)
  grep -q '^cmdstat_wait:calls=[1-9]' <<<"$stats" \
    || pdm_fail "master $p got no WAIT: writes not confirmed on a replica"
done

# 2b. Every replica stopped (SIGSTOP): no replica confirms the writes of
# newer data: the scorer says so and goes on scoring; once they are back
# (SIGCONT, and the map read again with the next epoch check) it says that.
replicas=()
for p in $(_pdm_cluster_live); do
  pdm_cluster_cli "$p" role | sed -n 1p | grep -qx slave && replicas+=("$(pdm_cluster_pid "$p")")
done
kill -STOP "${replicas[@]}"
"$B/pdm-sim" --out "$T/data-more" --machines 6 --hours 50 --seed 12 --start 2015-02-01 2>"$T/sim-more.log"
sl_replay "$T/data-more" pdm.http
sl_wait_rows "$T/http.csv" $((telemetry + 300)) 60
sl_wait_log "$T/http.log" "no replica confirmed the writes within 100 ms" 1 20
kill -CONT "${replicas[@]}"
pdm_cluster_wait_ok 30 || pdm_fail "the replicas did not come back"
sleep 6 # the next epoch check reads the map again
"$B/pdm-sim" --out "$T/data-more2" --machines 6 --hours 50 --seed 13 --start 2015-03-01 2>>"$T/sim-more.log"
sl_replay "$T/data-more2" pdm.http
sl_wait_rows "$T/http.csv" $((telemetry + 600)) 60
sl_wait_log "$T/http.log" "a replica confirms the writes again" 1 30

# 3. One master flushed: the next epoch check (every 5 s) notices.
victim=$(pdm_cluster_masters | tail -1)
pdm_cluster_cli "$victim" flushall >/dev/null
sl_wait_log "$T/http.log" "redis state was lost" 1 20
# A master down (its replica not promoted yet: the node timeout is 2 s,
# and the promotion takes a few seconds more): /readyz says redis.
pdm_stop "$(pdm_cluster_pid "$victim")" || true
# (the API's probe PINGs every 0.5 s: the next probe finds the master gone)
_unready() { case $(status /readyz) in "503 "*redis*) return 0 ;; *) return 1 ;; esac; }
pdm_wait_until 10 _unready || pdm_fail "/readyz with a master down: $(status /readyz)"
_ready() { case $(status /readyz) in "200 "*) return 0 ;; *) return 1 ;; esac; }
pdm_wait_until 30 _ready || pdm_fail "/readyz not 200 after the failover: $(status /readyz)"
pdm_stop_check "$scorer" pdm-scorer "$T/http.log"

# 4. AUTH on every node: the ACL user SECURITY.md documents (its least
# grant and its cluster line) on each live node, and
# the default user barred from every key, so that a node the scorer did not
# authenticate on refuses its commands (NOPERM). The seed list still names
# the killed master: the other seed serves.
password=pw-$RANDOM$RANDOM
pdm_cluster_flushall # (the same stream again: a fresh state)
# The grant SECURITY.md documents: its least grant, then its cluster line.
grant=$(awk '/<!-- redis-acl-grant:/ {f = 1; next} f && /^ACL SETUSER / {print; exit}' \
  "$PDM_SOURCE_DIR/SECURITY.md")
cluster_grant=$(awk '/<!-- redis-acl-grant-cluster/ {f = 1; next} f && /^ACL SETUSER / {print; exit}' \
  "$PDM_SOURCE_DIR/SECURITY.md")
if [ -z "$grant" ] || [ -z "$cluster_grant" ]; then pdm_fail "SECURITY.md lacks a redis-acl-grant line"; fi
read -r -a g1 <<<"${grant/>PASSWORD/>$password}"
read -r -a g2 <<<"$cluster_grant"
granted=" "
for w in "${g1[@]}" "${g2[@]}"; do case $w in +*) granted="$granted${w#+} " ;; esac; done
# Every command of the cluster client's code is granted (CLUSTER as cluster|slots).
for cmd in $(grep -oh '"[A-Z][A-Z]\{2,\}"' "$PDM_SOURCE_DIR"/consumer/redis_cluster*.c | tr -d '"' | sort -u); do
  cmd=$(tr 'A-Z' 'a-z' <<<"$cmd")
  case $cmd in auth) continue ;; cluster) cmd="cluster|slots" ;; esac
  [ -n "$(pdm_cluster_cli "$(_pdm_cluster_live | sed -n 1p)" COMMAND INFO "${cmd%%|*}" | sed -n 1p)" ] || continue
  case $granted in *" $cmd "*) ;; *) pdm_fail "the cluster client sends $cmd, which SECURITY.md's grants lack" ;; esac
done
for p in $(_pdm_cluster_live); do
  pdm_cluster_cli "$p" "${g1[@]}" >/dev/null
  pdm_cluster_cli "$p" "${g2[@]}" >/dev/null
  pdm_cluster_cli "$p" acl setuser default resetkeys >/dev/null
done
for p in $(pdm_cluster_masters); do
  case $(pdm_cluster_cli "$p" exists 'pdm:epoch:{0}' 2>&1) in *NOPERM*) ;; *) pdm_fail "the default user still reads keys on $p" ;; esac
done
sl_replay "$T/data-http" pdm.auth
auth_url=${PDM_CLUSTER_URL/redis+cluster:\/\//redis+cluster://pdm:@}
PDM_REDIS_PASSWORD=$password "$B/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$auth_url" \
  --model "$T/models" --group auth --topics pdm.auth --emit all --dump-features "$T/auth.csv" \
  --exit-at-end -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 >"$T/auth.log" 2>&1 \
  || pdm_fail "scorer with an ACL user failed: $(tail -20 "$T/auth.log")"
[ "$(sl_rows "$T/auth.csv")" = "$telemetry" ] || pdm_fail "ACL user: $(sl_rows "$T/auth.csv") rows, want $telemetry"
# A wrong password: AUTH fails, named, the password never logged.
PDM_REDIS_PASSWORD=wrong-$password sl_scorer "$T/badauth.log" --redis "$auth_url" \
  --model "$T/models" --group badauth --topics pdm.auth
sl_wait_log "$T/badauth.log" "AUTH failed" 1 20
pdm_stop_check "$SL_PID" pdm-scorer "$T/badauth.log"
if grep -q -- "$password" "$T/badauth.log" "$T/auth.log"; then pdm_fail "the password is in a log"; fi
echo "redis_cluster_parity: ok ($telemetry telemetry rows)"
