#!/usr/bin/env bash
# cli_checks: the command lines of issue 16's item 12 are refused at once,
# with a message that names the one option at fault, and what --help says
# is true:
#  - pdm-scorer --warn 2 --critical -1 (thresholds are risks in [0, 1],
#    warn <= critical); --http-token with --http-token-file; --group '';
#    one bad duration or range among the defaults names only itself;
#  - pdm-scorer --help on where reasons (SHAP) come from;
#  - pdm-train --rounds 0 or a bad --out, refused before any data is read
#    (with --data naming nothing, the message is about the option);
#  - a dangling `current` link named as such by pdm-scorer and pdm-predict;
#  - the README's -X fetch.wait.max.ms (and the tests' session.timeout.ms)
#    logs no CONFWARN: consumer properties go to the consumer only.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP

sl_sim "$T/data" 3 300 5
sl_train "$T/data" "$T/train.log" --out "$T/pkg" --rounds 3

# refused PROGRAM WANT NOT ARGS...: PROGRAM ARGS exits 2 within 10 s with a
# message holding WANT and (unless NOT is "") not NOT.
refused() {
  local prog=$1 want=$2 not=$3 status=0
  shift 3
  timeout 10 "$PDM_BIN/$prog" "$@" >"$T/out" 2>"$T/err" </dev/null || status=$?
  [ "$status" = 2 ] || pdm_fail "$prog $*: exit $status, want 2: $(tail -3 "$T/err")"
  grep -qF -- "$want" "$T/err" || pdm_fail "$prog $*: message does not say '$want': $(cat "$T/err")"
  if [ -n "$not" ] && grep -qF -- "$not" "$T/err"; then
    pdm_fail "$prog $*: message names '$not' too: $(cat "$T/err")"
  fi
  echo "$prog $*: $(head -1 "$T/err")"
}
scorer=(--brokers 127.0.0.1:1 --redis redis://127.0.0.1:1 --model "$T/pkg" --http off)

refused pdm-scorer "--warn" "" "${scorer[@]}" --warn 2 --critical -1
refused pdm-scorer "--critical must be a risk from 0 to 1" "--warn" "${scorer[@]}" --critical 1.5
refused pdm-scorer "--warn 0.8 is above --critical 0.4" "" "${scorer[@]}" --warn 0.8 --critical 0.4
echo secret-from-file >"$T/token"
refused pdm-scorer "--http-token and --http-token-file" "inline" "${scorer[@]}" --http-token inline-secret \
  --http-token-file "$T/token"
refused pdm-scorer "--group" "" "${scorer[@]}" --group ''
refused pdm-scorer "--http-threads must be 1..64, not 0" "--drift-rows" "${scorer[@]}" --http-threads 0
refused pdm-scorer "--state-cache must be 0..1048576, not -1" "--http" "${scorer[@]}" --state-cache -1
refused pdm-scorer "--lateness takes a duration" "--renotify" "${scorer[@]}" --lateness 5x
refused pdm-scorer "--max-idle takes a duration" "--lateness" "${scorer[@]}" --max-idle soon

# --help on reasons: the native TreeSHAP is used once it matches XGBoost
# (GET /v1/model reports it as "native TreeSHAP"), with either predictor.
"$PDM_BIN/pdm-scorer" --help >"$T/help"
grep -q "always come from XGBoost" "$T/help" && pdm_fail "--help still says reasons always come from XGBoost"
grep -q "native TreeSHAP" "$T/help" || pdm_fail "--help does not name the native TreeSHAP"

# pdm-train: refused before reading --data (which names nothing here).
refused pdm-train "--rounds must be 1..100000, not 0" "" --data "$T/none" --out "$T/p2" --rounds 0
refused pdm-train "--out /dev/null/pkg" "" --data "$T/none" --out /dev/null/pkg
touch "$T/a-file"
refused pdm-train "exists and is not a directory" "" --data "$T/none" --out "$T/a-file"

# A dangling `current` link.
mkdir "$T/models"
ln -s v-gone "$T/models/current"
status=0
timeout 10 "$PDM_BIN/pdm-scorer" --brokers 127.0.0.1:1 --redis redis://127.0.0.1:1 --model "$T/models" \
  --http off >"$T/dangling.log" 2>&1 || status=$?
[ "$status" != 0 ] || pdm_fail "pdm-scorer on a dangling current link exited 0"
grep -q "dangling" "$T/dangling.log" && grep -q "v-gone" "$T/dangling.log" \
  || pdm_fail "pdm-scorer on a dangling current link: $(tail -2 "$T/dangling.log")"
grep -q "model.json" "$T/dangling.log" && pdm_fail "pdm-scorer blames model.json: $(tail -2 "$T/dangling.log")"
status=0
"$PDM_BIN/pdm-predict" --model "$T/models" --features /dev/null >/dev/null 2>"$T/dangling.err" || status=$?
[ "$status" != 0 ] || pdm_fail "pdm-predict on a dangling current link exited 0"
grep -q "dangling" "$T/dangling.err" || pdm_fail "pdm-predict on a dangling current link: $(cat "$T/dangling.err")"
echo "dangling link: $(grep -h dangling "$T/dangling.log" | tail -1)"

# -X consumer properties and CONFWARN.
pdm_start_redis
pdm_start_broker 2 --topic pdm.cli
sl_scorer "$T/x.log" --redis "$PDM_REDIS_URL/0" --model "$T/pkg" --group cli --topics pdm.cli \
  -X fetch.wait.max.ms=10 -X linger.ms=3
x=$SL_PID
sl_wait_log "$T/x.log" "assigned 2 partitions" 1 30
grep -q "fetch.wait.max.ms=10" "$T/x.log" || pdm_fail "the consumer did not get fetch.wait.max.ms: $(grep 'kafka clients' "$T/x.log")"
grep -q "linger.ms=3" "$T/x.log" || pdm_fail "the producer did not get linger.ms: $(grep 'kafka clients' "$T/x.log")"
pdm_stop_check "$x" "pdm-scorer (-X)" "$T/x.log"
if grep -q CONFWARN "$T/x.log"; then
  pdm_fail "CONFWARN logged: $(grep CONFWARN "$T/x.log" | head -3)"
fi
echo "cli_checks: ok"
