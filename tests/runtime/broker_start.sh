#!/usr/bin/env bash
# broker_start: pdm-broker prints its bootstrap address as the first line of
# stdout and writes the same to --bootstrap-file; the cluster has the
# requested brokers, the product's topics plus --topic ones with the requested
# partitions (seen by kcat, a client that is not ours); SIGTERM and SIGINT
# stop it with status 0 and remove the file; bad options fail without
# echoing a secret's value.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
pdm_tmpdir >/dev/null

"$PDM_BIN/pdm-broker" --brokers 2 --partitions 3 --topic extra.one,extra-two \
  --bootstrap-file "$PDM_TMP/bootstrap" >"$PDM_TMP/stdout" 2>"$PDM_TMP/stderr" &
pid=$!
pdm_track "$pid"
pdm_wait_until 10 test -s "$PDM_TMP/stdout" || pdm_fail "no address on stdout: $(cat "$PDM_TMP/stderr")"
[ -s "$PDM_TMP/bootstrap" ] || pdm_fail "stdout printed before the bootstrap file was written"

addr=$(head -n 1 "$PDM_TMP/stdout")
[ "$(cat "$PDM_TMP/bootstrap")" = "$addr" ] || pdm_fail "file '$(cat "$PDM_TMP/bootstrap")' != stdout '$addr'"
[ "$(wc -l <"$PDM_TMP/bootstrap")" = 1 ] || pdm_fail "bootstrap file is not one line"
[[ $addr =~ ^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]] || pdm_fail "address '$addr' is not two loopback brokers"

kcat -L -J -b "$addr" -m 10 >"$PDM_TMP/metadata.json" || pdm_fail "kcat -L failed"
/usr/bin/python3 - "$PDM_TMP/metadata.json" <<'PY' || pdm_fail "metadata does not match"
import json, sys
md = json.load(open(sys.argv[1]))
want = ["pdm.telemetry", "pdm.errors", "pdm.maintenance", "pdm.failures", "pdm.machines",
        "pdm.risk", "pdm.dlq", "extra.one", "extra-two"]
got = {t["topic"]: len(t["partitions"]) for t in md["topics"]}
ok = True
if len(md["brokers"]) != 2:
    print("brokers:", md["brokers"]); ok = False
for t in want:
    if got.get(t) != 3:
        print(f"topic {t}: {got.get(t)} partitions, want 3"); ok = False
sys.exit(0 if ok else 1)
PY

status=0
pdm_stop "$pid" || status=$?
[ "$status" = 0 ] || pdm_fail "exit status $status after SIGTERM"
[ ! -e "$PDM_TMP/bootstrap" ] || pdm_fail "bootstrap file left behind"
grep -q "stopping on SIGTERM" "$PDM_TMP/stderr" || pdm_fail "no stop log line"

# SIGINT too (bash starts background jobs with SIGINT ignored: the broker
# must still take it).
"$PDM_BIN/pdm-broker" >"$PDM_TMP/stdout2" 2>"$PDM_TMP/stderr2" &
pid=$!
pdm_track "$pid"
pdm_wait_until 10 test -s "$PDM_TMP/stdout2" || pdm_fail "second broker did not start"
kcat -L -J -b "$(head -n 1 "$PDM_TMP/stdout2")" -t pdm.telemetry -m 10 >"$PDM_TMP/md2.json"
grep -q '"topic":"pdm.telemetry"' "$PDM_TMP/md2.json" || pdm_fail "no pdm.telemetry: $(cat "$PDM_TMP/md2.json")"
parts=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["topics"][0]["partitions"]))' "$PDM_TMP/md2.json")
[ "$parts" = 4 ] || pdm_fail "default partitions: $parts, want 4"
kill -INT "$pid"
pdm_wait_until 10 eval '! _pdm_alive '"$pid" || pdm_fail "SIGINT did not stop the broker"
status=0
pdm_stop "$pid" || status=$?
[ "$status" = 0 ] || pdm_fail "exit status $status after SIGINT"

# Usage errors exit 2; a bad -X exits 1 naming the property, never the
# value of a secret one.
status=0; "$PDM_BIN/pdm-broker" --partitions 0 2>/dev/null || status=$?
[ "$status" = 2 ] || pdm_fail "--partitions 0: status $status, want 2"
status=0; "$PDM_BIN/pdm-broker" --topic 'bad name' 2>/dev/null || status=$?
[ "$status" = 2 ] || pdm_fail "--topic 'bad name': status $status, want 2"
status=0
"$PDM_BIN/pdm-broker" -X enable.sasl.oauthbearer.unsecure.jwt=hunter2-s3cret 2>"$PDM_TMP/err3" || status=$?
[ "$status" = 1 ] || pdm_fail "bad -X: status $status, want 1"
grep -q "enable.sasl.oauthbearer.unsecure.jwt" "$PDM_TMP/err3" || pdm_fail "error does not name the property: $(cat "$PDM_TMP/err3")"
! grep -q "hunter2-s3cret" "$PDM_TMP/err3" || pdm_fail "secret value echoed: $(cat "$PDM_TMP/err3")"
echo "broker_start: ok"
