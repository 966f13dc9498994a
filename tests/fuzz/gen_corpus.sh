#!/usr/bin/env bash
# gen_corpus.sh BIN_DIR: regenerates the seed corpora in tests/fuzz/corpus/
# (small valid inputs plus the interesting invalid ones) from the project's
# own tools and test data, so seeds follow the schemas when they change.
#   tests/fuzz/gen_corpus.sh build/bin     (needs pdm-avro built there)
# The files are committed; the fuzz test only reads them.
set -euo pipefail
BIN=${1:?usage: gen_corpus.sh BIN_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
C=$HERE/corpus
AVRO=$BIN/pdm-avro
[ -x "$AVRO" ] || { echo "gen_corpus: $AVRO not built" >&2; exit 1; }
rm -rf "$C"
mkdir -p "$C"/{codec,event_json,dataset,csv_fields,http_request,http_server,predict_request,input_validate}

# ---- events (JSON): one per type, with edge values ---------------------------
events=(
  'telemetry|{"type":"telemetry","machine_id":42,"ts":"2015-01-01T06:00:00.000Z","volt":170.123456789,"rotate":446.5,"pressure":-1e-300,"vibration":40.4}'
  'telemetry_null|{"type":"telemetry","machine_id":1,"ts":1420092000123,"volt":null,"rotate":0,"pressure":1e308,"vibration":-0.0}'
  'error|{"type":"error","machine_id":7,"ts":"2015-01-01T07:00:00.000Z","error_id":"error5"}'
  'maintenance|{"type":"maintenance","machine_id":7,"ts":"2014-12-01T06:00:00.000Z","component":"comp2"}'
  'failure|{"type":"failure","machine_id":2147483647,"ts":"2015-01-01T08:00:00.000Z","component":"comp4"}'
  'machine|{"type":"machine","machine_id":3,"ts":"2015-01-01T06:00:00.000Z","model":"model3","age":18}'
  'risk|{"type":"risk","event_id":"42-1420092000123-abcdef012345","machine_id":42,"ts":1420092000123,"scored_at":1764400000000,"model_version":"abcdef012345","risk":0.875,"components":[{"component":"comp1","probability":0.1},{"component":"comp2","probability":0.2},{"component":"comp3","probability":0.3},{"component":"comp4","probability":0.4}],"level":"CRITICAL","top_reasons":[{"feature":"vibration_mean_3h","value":40.0,"contribution":1.5},{"feature":"error3_count_24h","value":null,"contribution":0.5}]}'
  'risk_ok|{"type":"risk","event_id":"1-0-x","machine_id":1,"ts":0,"scored_at":0,"model_version":"","risk":0,"components":[{"component":"comp4","probability":0},{"component":"comp3","probability":0},{"component":"comp2","probability":0},{"component":"comp1","probability":0}],"level":"OK","top_reasons":[]}'
)
ids=(--id telemetry=1 --id error=2 --id maintenance=3 --id failure=4 --id machine=5 --id risk=6)
for e in "${events[@]}"; do
  name=${e%%|*}
  json=${e#*|}
  printf '%s' "$json" >"$C/event_json/$name.json"
  "$AVRO" encode --json "$json" --out "$C/codec/$name.single"
  "$AVRO" encode --format confluent "${ids[@]}" --json "$json" --out "$C/codec/$name.confluent"
done
# Invalid messages: each decode status.
printf '' >"$C/codec/empty"
printf 'garbage bytes' >"$C/codec/bad_magic"
printf '\xc3\x02\x00' >"$C/codec/bad_marker"
head -c 6 "$C/codec/telemetry.single" >"$C/codec/truncated_header"
t=$(stat -c %s "$C/codec/telemetry.single")
head -c $((t - 3)) "$C/codec/telemetry.single" >"$C/codec/truncated_body"
{ cat "$C/codec/error.single"; printf '\x00'; } >"$C/codec/trailing_byte"
printf '\xc3\x01\x01\x02\x03\x04\x05\x06\x07\x08\x02\x02' >"$C/codec/unknown_fingerprint"
printf '\x00\x00\x00\x00\x63\x02' >"$C/codec/unknown_schema_id"
# error_id is a string "errorN" on the wire: a name outside error1..5.
"$AVRO" encode --json '{"type":"error","machine_id":7,"ts":0,"error_id":"error1"}' --out "$PWD/.err1.tmp"
sed 's/error1/error9/' "$PWD/.err1.tmp" >"$C/codec/invalid_name"
rm -f "$PWD/.err1.tmp"

printf '{"type":"telemetry"}' >"$C/event_json/missing_fields.json"
printf '{"type":"risk","machine_id":1}' >"$C/event_json/risk_missing.json"
printf '{"type":"error","machine_id":-1,"ts":"2015-13-40T25:61:61.000Z","error_id":"error0"}' \
  >"$C/event_json/bad_values.json"
printf '[[[[[[[[[[{"type":1}]]]]]]]]]]' >"$C/event_json/nested.json"

# ---- CSV files: byte 0 chooses the file (0 telemetry .. 4 machines) and the
# options (8 skip_bad_rows, 16 require_machines, 32 delete machines) -----------
i=0
for f in PdM_telemetry PdM_errors PdM_maint PdM_failures PdM_machines; do
  for set in pdm-mini pdm-bad pdm-dups pdm-unsorted; do
    src=$ROOT/tests/data/$set/$f.csv
    [ -f "$src" ] || continue
    { printf "\\x$(printf %02x $i)"; head -c 3000 "$src"; } >"$C/dataset/$set-$f"
    { printf "\\x$(printf %02x $((i | 8)))"; head -c 3000 "$src"; } >"$C/dataset/$set-$f-skip"
  done
  i=$((i + 1))
done
printf '\x00datetime,machineID,volt,rotate,pressure,vibration\r\n"2015-01-01 06:00:00","1",1,2,3,4\r\n\r\n' \
  >"$C/dataset/crlf_quoted"
printf '\x00\xef\xbb\xbfdatetime,machineID,volt,rotate,pressure,vibration\n2015-01-01 06:00:00,1,nan,inf,1e999,-0' \
  >"$C/dataset/bom_nonfinite_no_newline"
printf '\x14' >"$C/dataset/machines_empty_required"
printf '\x34' >"$C/dataset/machines_deleted_required"
printf '\x01' >"$C/dataset/errors_empty"

# ---- CSV fields: byte 0 even: a number, odd: a timestamp -----------------------
for n in 0 -0 176.217853015625 +5 1e5 1.5e-300 123456789012345678 .5 5. - . nan inf 1e999 0x10 ' 1' \
  0.0000000000000000000001 99999999999999999999999; do
  printf '\x00%s' "$n" >"$C/csv_fields/num_$(printf %s "$n" | md5sum | head -c 8)"
done
for t in '2015-01-01 06:00:00' '2016-02-29T23:59:59Z' '2015-02-29 00:00:00' '2015-01-01' \
  '0000-01-01 00:00:00' '9999-12-31 23:59:59' '2015-01-01 24:00:00' '2015-1-01 06:00:00'; do
  printf '\x01%s' "$t" >"$C/csv_fields/time_$(printf %s "$t" | md5sum | head -c 8)"
done

# ---- HTTP: byte 0 % 3: 0 JSON body, 1 UTF-8, 2 numeric id ----------------------
printf '\x00{"machine_id": 42, "telemetry": [{"ts": "2015-01-01T06:00:00Z", "volt": 170.5}]}' \
  >"$C/http_request/json_ok"
printf '\x00' >"$C/http_request/json_empty"
printf '\x00{"a": "\xc3\x28"}' >"$C/http_request/json_bad_utf8"
printf '\x00%s' "$(printf '[%.0s' $(seq 70))" >"$C/http_request/json_deep"
printf '\x00{"a":1}\x00{"b":2}' >"$C/http_request/json_nul"
printf '\x00{"a": [1, 2, {"b": null}], "s": "\\u00e9\\ud83d\\ude00"}' >"$C/http_request/json_unicode"
printf '\x01h\xc3\xa9llo \xf0\x9f\x98\x80' >"$C/http_request/utf8_ok"
printf '\x01\xed\xa0\x80' >"$C/http_request/utf8_surrogate"
printf '\x01\xc0\xaf' >"$C/http_request/utf8_overlong"
printf '\x01\xf4\x90\x80\x80' >"$C/http_request/utf8_too_big"
for id in 42 0 2147483647 2147483648 -1 00000000042 12a 99999999999999999999; do
  printf '\x02%s' "$id" >"$C/http_request/id_$id"
done
# ---- raw HTTP requests for the in-process server (token "fuzz-token") ----------
H=$C/http_server
AUTH='Authorization: Bearer fuzz-token\r\n'
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >"$H/healthz"
printf "GET /v1/machines/42?fields=risk HTTP/1.1\r\nHost: x\r\n${AUTH}User-Agent: fuzz\r\n\r\n" >"$H/machine_ok"
printf "GET /v1/machines/abc HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n" >"$H/machine_bad_id"
printf "GET /v1/machines/%%34%%32 HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n" >"$H/machine_percent"
printf 'GET /v1/machines/42 HTTP/1.1\r\nHost: x\r\n\r\n' >"$H/machine_no_token"
printf 'GET /v1/machines/42 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n' >"$H/machine_wrong_token"
printf "POST /v1/echo HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":[1,2,3]}" >"$H/echo_ok"
printf "POST /v1/echo HTTP/1.1\r\nHost: x\r\n${AUTH}Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n" >"$H/echo_chunked"
printf "POST /v1/echo HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 99999\r\n\r\n{}" >"$H/echo_too_large"
printf "DELETE /v1/echo HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n" >"$H/echo_wrong_method"
printf "POST /v1/fail HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 0\r\n\r\n" >"$H/fail"
printf 'GET /nowhere HTTP/1.0\r\n\r\n' >"$H/not_found"
printf 'GARBAGE\r\n\r\n' >"$H/garbage"
# The token anywhere but the Authorization header must get a 401.
printf 'GET /v1/machines/42?token=fuzz-token HTTP/1.1\r\nHost: x\r\n\r\n' >"$H/token_in_query"
printf 'GET /v1/machines/42 HTTP/1.1\r\nHost: x\r\nX-Token: Bearer fuzz-token\r\n\r\n' >"$H/token_in_other_header"
printf 'POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 36\r\n\r\nAuthorization: Bearer fuzz-token\r\n\r\n' >"$H/token_in_body"
printf "GET /v1/machines/42 HTTP/1.1\r\nHost: x\r\nauthorization:\r\n  bearer   fuzz-token \r\n\r\n" >"$H/token_folded"
printf "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/machines/42 HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n" >"$H/pipelined"

# ---- POST /v1/predict bodies ----------------------------------------------------
P=$C/predict_request
printf '{"features": {"volt_mean_3h": 170.2, "vibration_std_24h": 4.5, "error3_count_24h": 2, "model_id": 3, "age": 18, "comp2_hours_since_maint": null}, "machine_id": 7}' >"$P/features"
printf '{"features": {}}' >"$P/features_empty"
printf '{"features": {"volt_mean_3h": "high"}}' >"$P/features_wrong_type"
printf '{"features": {"no_such_feature": 1}}' >"$P/features_unknown"
printf '{"machine_id": 7, "events": [%s, %s, %s, %s], "ts": "2015-01-01T08:00:00Z"}' \
  '{"type":"machine","machine_id":7,"ts":"2015-01-01T06:00:00Z","model":"model3","age":18}' \
  '{"type":"telemetry","machine_id":7,"ts":"2015-01-01T06:00:00Z","volt":170.5,"rotate":450,"pressure":100,"vibration":40}' \
  '{"type":"error","machine_id":7,"ts":"2015-01-01T07:00:00Z","error_id":"error2"}' \
  '{"type":"telemetry","machine_id":7,"ts":"2015-01-01T08:00:00Z","volt":171.5,"rotate":451,"pressure":101,"vibration":41}' \
  >"$P/history"
printf '{"machine_id": 7, "events": [{"type":"telemetry","machine_id":8,"ts":1420092000000,"volt":1,"rotate":1,"pressure":1,"vibration":1}]}' >"$P/history_other_machine"
printf '{"machine_id": 7, "events": []}' >"$P/history_empty"
printf '{"instances": [{"features": {"age": 1}}, {"features": {"age": 2}, "machine_id": 2147483647}]}' >"$P/instances"
printf '{"instances": []}' >"$P/instances_empty"
printf '{"machine_id": 1e300, "features": {}}' >"$P/id_overflow"
printf '{"machine_id": -1, "features": {}}' >"$P/id_negative"
printf '[1, 2, 3]' >"$P/not_object"
printf '{"features": {"age": 1}, "features": {"age": 2}}' >"$P/duplicate_key"

# ---- the scorer's input checks: the codec's seeds, plus out-of-bounds events ----
cp "$C"/codec/* "$C/input_validate/"
bad=(
  'negative_reading|{"type":"telemetry","machine_id":1,"ts":"2015-01-01T06:00:00.000Z","volt":-1,"rotate":1,"pressure":1,"vibration":1}'
  'absurd_reading|{"type":"telemetry","machine_id":1,"ts":"2015-01-01T06:00:00.000Z","volt":1e300,"rotate":1,"pressure":1,"vibration":1}'
  'machine_zero|{"type":"error","machine_id":0,"ts":"2015-01-01T06:00:00.000Z","error_id":"error1"}'
  'ts_1999|{"type":"error","machine_id":1,"ts":"1999-12-31T23:59:59.000Z","error_id":"error1"}'
  'ts_future|{"type":"error","machine_id":1,"ts":"2030-01-01T00:00:00.000Z","error_id":"error1"}'
  'age_absurd|{"type":"machine","machine_id":1,"ts":"2015-01-01T06:00:00.000Z","model":"model1","age":500}'
)
# On each bound (accepted) and just past it (refused), for the fuzzer's fixed
# now of 2026-01-01T00:00:00Z: a loosened bound is then caught by the seeds.
tel='"type":"telemetry","machine_id":1,"ts":1420092000000'
edges=(
  "readings_at_max|{$tel,\"volt\":1000,\"rotate\":10000,\"pressure\":1000,\"vibration\":1000}"
  "volt_past_max|{$tel,\"volt\":1000.0000000000001,\"rotate\":1,\"pressure\":1,\"vibration\":1}"
  "rotate_past_max|{$tel,\"volt\":1,\"rotate\":10000.000000000002,\"pressure\":1,\"vibration\":1}"
  "pressure_past_max|{$tel,\"volt\":1,\"rotate\":1,\"pressure\":1000.0000000000001,\"vibration\":1}"
  "vibration_past_max|{$tel,\"volt\":1,\"rotate\":1,\"pressure\":1,\"vibration\":1000.0000000000001}"
  'age_200|{"type":"machine","machine_id":1,"ts":1420092000000,"model":"model1","age":200}'
  'age_201|{"type":"machine","machine_id":1,"ts":1420092000000,"model":"model1","age":201}'
  'age_minus_1|{"type":"machine","machine_id":1,"ts":1420092000000,"model":"model1","age":-1}'
  'ts_2000|{"type":"error","machine_id":1,"ts":946684800000,"error_id":"error1"}'
  'ts_2000_minus_1ms|{"type":"error","machine_id":1,"ts":946684799999,"error_id":"error1"}'
  'ts_day_ahead|{"type":"error","machine_id":1,"ts":1767312000000,"error_id":"error1"}'
  'ts_day_ahead_plus_1ms|{"type":"error","machine_id":1,"ts":1767312000001,"error_id":"error1"}'
)
for e in "${bad[@]}" "${edges[@]}"; do
  "$AVRO" encode --json "${e#*|}" --out "$C/input_validate/${e%%|*}"
done
echo "gen_corpus: $(find "$C" -type f | wc -l) seeds in $C"
