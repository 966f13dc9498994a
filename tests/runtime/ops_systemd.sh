#!/usr/bin/env bash
# ops_systemd: ops/systemd/pdm-scorer.service keeps the hardening the issue
# asks for (DynamicUser, NoNewPrivileges, ProtectSystem=strict,
# Restart=on-failure, EnvironmentFile=/etc/pdm/scorer.env, LoadCredential for
# the token) and sets no secret in its environment; every variable of
# scorer.env.example and of the unit is a pdm-scorer option; the unit is
# valid for this systemd (`systemd-analyze verify`, with ExecStart pointed at
# the built scorer, must print nothing: an unknown or misspelt directive is
# only a warning there) and scores "OK" (exposure <= 2.0) in
# `systemd-analyze security --offline`. The plain-text checks come first;
# systemd-analyze (Debian package systemd, which scripts/install-deps.sh
# installs) is required for the rest.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/ops_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
U=$OPS_DIR/systemd/pdm-scorer.service
[ -x "$PDM_BIN/pdm-scorer" ] || pdm_fail "pdm-scorer is not built in $PDM_BIN"

# ---- plain text: the unit's hardening and settings --------------------------
grep -q '^ExecStart=/usr/local/bin/pdm-scorer$' "$U" || pdm_fail "ExecStart is not /usr/local/bin/pdm-scorer"
for line in DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict Restart=on-failure \
  EnvironmentFile=/etc/pdm/scorer.env LoadCredential=http_token:/etc/pdm/http_token \
  'Environment=PDM_HTTP_TOKEN_FILE=%d/http_token' 'ExecReload=/bin/kill -HUP $MAINPID'; do
  grep -qxF -- "$line" "$U" || pdm_fail "the unit lacks $line"
done
! grep -q '^Environment=.*\(TOKEN\|PASSWORD\)=' "$U" || pdm_fail "a secret is set in the unit's environment"

# ---- variables: every KEY= of the example and every Environment= of the unit
"$PDM_BIN/pdm-scorer" --help >"$T/help.txt"
{
  grep -o '^PDM_[A-Z_]*=' "$OPS_DIR/systemd/scorer.env.example" | tr -d =
  grep -o '^Environment=PDM_[A-Z_]*=' "$U" | sed 's/^Environment=//; s/=$//'
} | sort -u >"$T/vars.txt"
[ -s "$T/vars.txt" ] || pdm_fail "no PDM_ variables found"
grep -qx PDM_MODEL "$T/vars.txt" && grep -qx PDM_BROKERS "$T/vars.txt" && grep -qx PDM_REDIS_URL "$T/vars.txt" \
  || pdm_fail "scorer.env.example lacks PDM_MODEL, PDM_BROKERS or PDM_REDIS_URL"
while read -r var; do
  base=${var%_FILE}
  grep -q "env $base\$\|env $base;" "$T/help.txt" || pdm_fail "$var is no pdm-scorer option"
  if [ "$var" != "$base" ]; then
    grep -q "$var" "$T/help.txt" || pdm_fail "$base has no _FILE form (not a secret option)"
  fi
done <"$T/vars.txt"

# ---- systemd-analyze: valid for this systemd, exposure "OK" -------------------
ops_require systemd-analyze
sed "s#^ExecStart=/usr/local/bin/pdm-scorer#ExecStart=$PDM_BIN/pdm-scorer#" "$U" >"$T/pdm-scorer.service"
(cd "$T" && systemd-analyze verify ./pdm-scorer.service) >"$T/verify.log" 2>&1 \
  || pdm_fail "systemd-analyze verify: $(cat "$T/verify.log")"
[ ! -s "$T/verify.log" ] || pdm_fail "systemd-analyze verify warns: $(cat "$T/verify.log")"
(cd "$T" && systemd-analyze security --offline=true --threshold=20 ./pdm-scorer.service) >"$T/security.log" 2>&1 \
  || pdm_fail "exposure above 2.0: $(tail -3 "$T/security.log")"
exposure=$(grep -o 'Overall exposure level for pdm-scorer.service: [0-9.]*' "$T/security.log" | awk '{print $NF}')
[ -n "$exposure" ] || pdm_fail "no exposure level: $(tail -3 "$T/security.log")"

# ---- pdm-archive.service, pdm-retrain.service and .timer (issue 19) ---------------
# Every variable of the env example and the unit is an option of the program;
# ExecStart names the program bare (its settings come from the environment);
# valid for systemd, exposure "OK"; the timer starts the retrain service.
for prog in archive retrain; do
  unit=$OPS_DIR/systemd/pdm-$prog.service
  [ -x "$PDM_BIN/pdm-$prog" ] || pdm_fail "pdm-$prog is not built in $PDM_BIN"
  grep -q "^ExecStart=/usr/local/bin/pdm-$prog\$" "$unit" || pdm_fail "pdm-$prog.service: ExecStart is not /usr/local/bin/pdm-$prog"
  grep -qxF "EnvironmentFile=/etc/pdm/$prog.env" "$unit" || pdm_fail "pdm-$prog.service lacks EnvironmentFile=/etc/pdm/$prog.env"
  ! grep -q '^Environment=.*\(TOKEN\|PASSWORD\)=' "$unit" || pdm_fail "pdm-$prog.service sets a secret in its environment"
  "$PDM_BIN/pdm-$prog" --help >"$T/$prog-help.txt"
  {
    grep -o '^PDM_[A-Z_]*=' "$OPS_DIR/systemd/$prog.env.example" | tr -d =
    grep -o '^Environment=PDM_[A-Z_]*=' "$unit" | sed 's/^Environment=//; s/=$//' || true
  } | sort -u >"$T/$prog-vars.txt"
  [ -s "$T/$prog-vars.txt" ] || pdm_fail "no PDM_ variables for pdm-$prog"
  while read -r var; do
    base=${var%_FILE}
    grep -q "env $base\$\|env $base;" "$T/$prog-help.txt" || pdm_fail "$var is no pdm-$prog option"
    [ "$var" = "$base" ] || grep -q "$var" "$T/$prog-help.txt" || pdm_fail "$base has no _FILE form"
  done <"$T/$prog-vars.txt"
  sed "s#^ExecStart=/usr/local/bin/pdm-$prog#ExecStart=$PDM_BIN/pdm-$prog#" "$unit" >"$T/pdm-$prog.service"
done
grep -qxF 'Environment=PDM_RETRAIN_ONCE=true' "$OPS_DIR/systemd/pdm-retrain.service" \
  && grep -qxF 'Type=oneshot' "$OPS_DIR/systemd/pdm-retrain.service" \
  || pdm_fail "pdm-retrain.service is not a oneshot --once run"
grep -q '^OnCalendar=' "$OPS_DIR/systemd/pdm-retrain.timer" || pdm_fail "pdm-retrain.timer has no OnCalendar="
cp "$OPS_DIR/systemd/pdm-retrain.timer" "$T/"
(cd "$T" && systemd-analyze verify ./pdm-archive.service ./pdm-retrain.service ./pdm-retrain.timer) \
  >"$T/verify2.log" 2>&1 || pdm_fail "systemd-analyze verify (archive, retrain): $(cat "$T/verify2.log")"
[ ! -s "$T/verify2.log" ] || pdm_fail "systemd-analyze verify warns: $(cat "$T/verify2.log")"
for u in pdm-archive pdm-retrain; do
  (cd "$T" && systemd-analyze security --offline=true --threshold=20 "./$u.service") >"$T/$u-security.log" 2>&1 \
    || pdm_fail "$u.service: exposure above 2.0: $(tail -3 "$T/$u-security.log")"
done
echo "ops_systemd: ok (exposure $exposure; pdm-archive, pdm-retrain and its timer valid)"
