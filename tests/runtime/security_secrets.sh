#!/usr/bin/env bash
# security_secrets: pdm-scorer against a redis-server that requires AUTH,
# and where its secrets end up. One redis-server gets a Redis 7 ACL user
# (ACL SETUSER) and a requirepass password, both passed to redis-cli from
# 0600 files on stdin. Three scorers, each on its own database, authenticate
# (1) as the default user with --redis-password-file, (2) as the ACL user
# named in the URL (redis://pdm:@...) with PDM_REDIS_PASSWORD, (3) with the
# whole redis://pdm:PASSWORD@host:port URL; each turns ready (/readyz 200)
# and scores the whole replay. A fourth, with a wrong password file, logs
# the server's refusal (WRONGPASS) and stays alive and not ready (/readyz
# 503 naming redis). Scorer 1 also gets an HTTP token file and Kafka
# properties by -X @FILE, with a sasl.password that plaintext leaves unused,
# and logs at debug level. No secret (the two passwords, the token, the
# sasl.password, the wrong password) may appear in any scorer's log (stdout
# and stderr, also scorer 3's, which has a password in its URL), in
# scorer 1's /v1/model, /metrics or /v1/drift, or in --help. Last, a bad
# -X @FILE (malformed line, missing file, a property librdkafka refuses)
# stops the scorer with an error that names the file and line, never a
# value, and a Redis URL with a password that fails to parse stops it with
# the URL shown as redis://***@host..., as does one whose password holds a '/'.
# (/proc/PID/cmdline and environ are not searched: with every secret from a
# file they hold only paths, a check that could not fail; SECURITY.md says
# which ways of passing a secret show there.)
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
PY=/usr/bin/python3
umask 077

sl_sim "$T/data" 3 200 5
sl_train "$T/data" "$T/train.log" --rounds 4 --out "$T/model"
pdm_start_broker 2 --topic pdm.sec
sl_replay "$T/data" pdm.sec
telemetry=$(($(wc -l <"$T/data/PdM_telemetry.csv") - 1))

# Secrets, each in a 0600 file; the wrong one is a secret too.
secret() { printf '%s-%s%s%s' "$1" "$RANDOM" "$RANDOM" "$RANDOM"; }
redis_pw=$(secret redispw) acl_pw=$(secret aclpw) token=$(secret token)
sasl_pw=$(secret saslpw) wrong_pw=$(secret wrongpw)
printf '%s\n' "$redis_pw" >"$T/redis_pw"
printf '%s\n' "$acl_pw" >"$T/acl_pw"
printf '%s\n' "$token" >"$T/token"
printf '%s\n' "$wrong_pw" >"$T/wrong_pw"
cat >"$T/kafka.properties" <<PROPS
# Kafka client properties, as kcat -F reads them
security.protocol = plaintext
sasl.mechanisms=SCRAM-SHA-512
sasl.username=pdm-scorer
sasl.password=$sasl_pw
PROPS
[ "$(stat -c %a "$T/redis_pw")" = 600 ] || pdm_fail "the password file is not mode 0600"

pdm_start_redis
rport=$PDM_REDIS_PORT
# The ACL user first (the server is still open), then requirepass.
printf '>%s' "$acl_pw" | redis-cli -p "$rport" -x ACL SETUSER pdm on '~*' '&*' '+@all' >"$T/acl.out" \
  && grep -q OK "$T/acl.out" || pdm_fail "ACL SETUSER failed: $(cat "$T/acl.out")"
tr -d '\n' <"$T/redis_pw" | redis-cli -p "$rport" -x CONFIG SET requirepass >"$T/pass.out" \
  && grep -q OK "$T/pass.out" || pdm_fail "CONFIG SET requirepass failed: $(cat "$T/pass.out")"
case $(redis-cli -p "$rport" SET probe 1 2>&1) in *NOAUTH*) ;; *) pdm_fail "Redis accepts commands without AUTH" ;; esac

# scorer NAME REDIS-URL [ARGS...]: a scorer on its own group, sets SL_PID.
scorer() {
  local name=$1 url=$2
  shift 2
  sl_scorer "$T/$name.log" --redis "$url" --model "$T/model" --topics pdm.sec --group "$name" \
    --emit all --dump-features "$T/$name.csv" --drift-rows 100 "$@"
}
port_of() { sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/$1.log" | head -1; }
# get PORT PATH [TOKEN]: "STATUS BODY".
get() {
  $PY - "http://127.0.0.1:$1$2" "${3:-}" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if sys.argv[2]:
    req.add_header("Authorization", "Bearer " + sys.argv[2])
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
_ready() { case $(get "$1" /readyz) in "200 "*) return 0 ;; *) return 1 ;; esac; }

scorer s1 "$PDM_REDIS_URL/1" --redis-password-file "$T/redis_pw" --http-token-file "$T/token" \
  -X "@$T/kafka.properties" --log-level debug
s1=$SL_PID
PDM_REDIS_PASSWORD=$acl_pw scorer s2 "redis://pdm:@127.0.0.1:$rport/2"
s2=$SL_PID
scorer s3 "redis://pdm:$acl_pw@127.0.0.1:$rport/3"
s3=$SL_PID
scorer s4 "$PDM_REDIS_URL/4" --redis-password-file "$T/wrong_pw"
s4=$SL_PID

for s in s1 s2 s3; do
  sl_wait_log "$T/$s.log" "http listening on port" 1 20
  pdm_wait_until 20 _ready "$(port_of $s)" || pdm_fail "$s never became ready: $(get "$(port_of $s)" /readyz)"
done
for s in s1 s2 s3; do
  sl_wait_rows "$T/$s.csv" "$telemetry" 30
done
# Each scorer's state is in its own database, written as its user.
for db in 1 2 3; do
  keys=$(REDISCLI_AUTH=$redis_pw redis-cli -p "$rport" -n $db DBSIZE 2>/dev/null)
  [ "${keys:-0}" -gt 0 ] || pdm_fail "database $db is empty after scoring"
done
[ "$(REDISCLI_AUTH=$acl_pw redis-cli -p "$rport" --user pdm -n 2 DBSIZE 2>/dev/null)" -gt 0 ] \
  || pdm_fail "the ACL user cannot read what it wrote"

# The wrong password: a clear error, alive, not ready.
sl_wait_log "$T/s4.log" "http listening on port" 1 20
sl_wait_log "$T/s4.log" "AUTH failed" 1 15
grep "AUTH failed" "$T/s4.log" | head -1 | grep -Eq "WRONGPASS|invalid (username-)?password" \
  || pdm_fail "the AUTH error does not say why: $(grep 'AUTH failed' "$T/s4.log" | head -1)"
sleep 2
_pdm_alive "$s4" || pdm_fail "the scorer with a wrong password stopped: $(tail -5 "$T/s4.log")"
r4=$(get "$(port_of s4)" /readyz)
case $r4 in "503 "*'"missing":['*'"redis"'*) ;; *) pdm_fail "/readyz with a wrong password: $r4" ;; esac
[ "$(sl_rows "$T/s4.csv")" = 0 ] || pdm_fail "rows scored without Redis"

# Where the secrets must not be.
p1=$(port_of s1)
get "$p1" /v1/model "$token" >"$T/model.out"
get "$p1" /metrics >"$T/metrics.out"
get "$p1" /v1/drift "$token" >"$T/drift.out"
grep -q '^200 ' "$T/model.out" || pdm_fail "/v1/model: $(head -c 300 "$T/model.out")"
grep -q '^200 ' "$T/drift.out" || pdm_fail "/v1/drift: $(head -c 300 "$T/drift.out")"
grep -q '^pdm_' "$T/metrics.out" || pdm_fail "/metrics: $(head -c 300 "$T/metrics.out")"
PDM_REDIS_PASSWORD=$redis_pw "$PDM_BIN/pdm-scorer" --redis-password-file "$T/redis_pw" \
  --http-token-file "$T/token" -X "@$T/kafka.properties" --help >"$T/help.out" 2>&1 \
  || pdm_fail "pdm-scorer --help failed: $(tail -5 "$T/help.out")"
grep -q -- "@FILE" "$T/help.out" || pdm_fail "--help does not mention -X @FILE"
grep -q "DEBUG\|debug" "$T/s1.log" || pdm_fail "scorer 1 logged nothing at debug level"
# no_secret FILE...: fails if any secret appears in one of the files.
no_secret() {
  local f v
  for f in "$@"; do
    [ -s "$T/$f" ] || pdm_fail "$f is empty: nothing searched"
    for v in "$redis_pw" "$acl_pw" "$token" "$sasl_pw" "$wrong_pw"; do
      if grep -q -- "$v" "$T/$f"; then
        pdm_fail "a secret (${v%%-*}) appears in $f"
      fi
    done
  done
}
no_secret model.out metrics.out drift.out help.out

for s in s1 s2 s3 s4; do
  pdm_stop_check "${!s}" "pdm-scorer $s" "$T/$s.log"
done
# The whole logs, shutdown included.
no_secret s1.log s2.log s3.log s4.log

# A bad properties file stops the scorer at start, naming the file and line;
# so does a Redis URL that does not parse, shown without its password.
# bad_start NAME REDIS-URL [ARGS...]: runs a scorer that must fail; its
# output in NAME.out.
bad_start() {
  local name=$1 url=$2 status=0
  shift 2
  timeout 20 "$PDM_BIN/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$url" --model "$T/model" \
    --topics pdm.sec "$@" >"$T/$name.out" 2>&1 || status=$?
  [ "$status" != 0 ] && [ "$status" != 124 ] || pdm_fail "scorer $name: status $status"
  no_secret "$name.out"
}
# bad_properties NAME: a scorer with -X @NAME.properties that must fail.
bad_properties() { bad_start "$1" "$PDM_REDIS_URL" --redis-password-file "$T/redis_pw" -X "@$T/$1.properties"; }
printf 'security.protocol=plaintext\nsasl.password=%s\n%s\n' "$sasl_pw" "$sasl_pw" >"$T/malformed.properties"
bad_properties malformed
grep -q "malformed.properties:3:" "$T/malformed.out" || pdm_fail "no file:line in: $(cat "$T/malformed.out")"
bad_properties missing
grep -q "missing.properties: No such file" "$T/missing.out" || pdm_fail "missing file: $(cat "$T/missing.out")"
printf 'sasl.password=%s\nsecurity.protocol=bogus\n' "$sasl_pw" >"$T/refused.properties"
bad_properties refused
grep -q "security.protocol" "$T/refused.out" || pdm_fail "refused property: $(cat "$T/refused.out")"
bad_start bad_db "redis://pdm:$acl_pw@127.0.0.1:$rport/x"
grep -q "'redis://\*\*\*@127.0.0.1:$rport/x'" "$T/bad_db.out" || pdm_fail "unparsable URL: $(cat "$T/bad_db.out")"
# A '/' in the password (unencoded) cuts the URL there: still hidden.
slash_a=$(secret slashpw) slash_b=$(secret pwtail)
bad_start slash_pw "redis://pdm:$slash_a/$slash_b@127.0.0.1:$rport/3"
grep -q "'redis://\*\*\*@127.0.0.1:$rport/3'" "$T/slash_pw.out" || pdm_fail "URL with a '/' in the password: $(cat "$T/slash_pw.out")"
! grep -q -e "$slash_a" -e "$slash_b" "$T/slash_pw.out" || pdm_fail "the password with a '/' is in: $(cat "$T/slash_pw.out")"
echo "security_secrets: ok"
