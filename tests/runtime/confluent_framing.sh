#!/usr/bin/env bash
# confluent_framing: Schema Registry framing (0x00, a 4-byte big-endian id,
# the Avro body) is decoded when ids are configured, as the README says:
#  - pdm-producer --format confluent --schema-ids LIST frames every message
#    with its type's id (first byte 0x00, then the id);
#  - pdm-scorer --schema-ids LIST scores the stream exactly as the same
#    stream in single-object encoding (same feature rows), with no dead
#    letter;
#  - without --schema-ids (or with other ids) every message goes to the DLQ
#    as unknown_schema and nothing is scored;
#  - pdm-tail --schema-ids LIST decodes them.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
command -v kcat >/dev/null || { echo "no kcat: skip"; exit 77; }
ids="telemetry=7,error=8,maintenance=9,failure=10,machine=11"

pdm_start_redis
pdm_start_broker 2 --topic pdm.cf,pdm.so,risk.cf,dlq.cf,dlq.none,dlq.so
sl_sim "$T/data" 3 300 5
sl_train "$T/data" "$T/train.log" --out "$T/pkg" --rounds 3
sl_replay "$T/data" pdm.cf --format confluent --schema-ids "$ids" --create-topics=false
sl_replay "$T/data" pdm.so --create-topics=false
messages=$(kcat -C -b "$PDM_BROKERS" -t pdm.cf -e -q -f 'x\n' | wc -l)
telemetry=$(($(wc -l <"$T/data/PdM_telemetry.csv") - 1))

# The framing on the wire: 0x00 and a configured id.
kcat -C -b "$PDM_BROKERS" -t pdm.cf -e -q -f '%s' -c 1 | head -c 5 | od -An -tx1 >"$T/head"
read -r b0 b1 b2 b3 b4 <"$T/head"
[ "$b0" = 00 ] && [ "$b1$b2$b3" = 000000 ] && [ $((16#$b4)) -ge 7 ] && [ $((16#$b4)) -le 11 ] \
  || pdm_fail "first message starts $(cat "$T/head"), want 00 and an id of $ids"

# scorer RUN DB DLQ [ARGS...]: one pass over a topic with --exit-at-end.
scorer() {
  local run=$1 db=$2 dlq=$3
  shift 3
  sl_scorer "$T/$run.log" --redis "$PDM_REDIS_URL/$db" --model "$T/pkg" --group "$run" \
    --risk-topic risk.cf --dlq-topic "$dlq" --exit-at-end --dump-features "$T/$run.csv" "$@"
  sl_wait_exit "$SL_PID" "$T/$run.log"
}
scorer framed 0 dlq.cf --topics pdm.cf --schema-ids "$ids"
scorer single 1 dlq.so --topics pdm.so
scorer none 2 dlq.none --topics pdm.cf

[ "$(sl_rows "$T/framed.csv")" = "$telemetry" ] \
  || pdm_fail "framed stream: $(sl_rows "$T/framed.csv") rows scored, want $telemetry"
[ "$(kcat -C -b "$PDM_BROKERS" -t dlq.cf -e -q -f 'x\n' | wc -l)" = 0 ] \
  || pdm_fail "framed stream with its ids: dead letters $(kcat -C -b "$PDM_BROKERS" -t dlq.cf -e -q -f '%h\n' | head -2)"
cmp -s <(sort "$T/framed.csv") <(sort "$T/single.csv") \
  || pdm_fail "the framed stream's features differ from the single-object stream's"

[ "$(sl_rows "$T/none.csv")" = 0 ] || pdm_fail "without ids: $(sl_rows "$T/none.csv") rows scored"
kcat -C -b "$PDM_BROKERS" -t dlq.none -e -q -f '%h\n' >"$T/dlq.none"
[ "$(wc -l <"$T/dlq.none")" = "$messages" ] \
  || pdm_fail "without ids: $(wc -l <"$T/dlq.none") dead letters for $messages messages"
[ "$(grep -c 'pdm.reason=unknown_schema' "$T/dlq.none")" = "$messages" ] \
  || pdm_fail "without ids, dead letters not all unknown_schema: $(grep -v unknown_schema "$T/dlq.none" | head -2)"

"$PDM_BIN/pdm-tail" --brokers "$PDM_BROKERS" --topic pdm.cf --exit-at-end --schema-ids "$ids" \
  >"$T/tail.jsonl" 2>"$T/tail.log" || pdm_fail "pdm-tail --schema-ids failed: $(cat "$T/tail.log")"
[ "$(grep -c '"type":"telemetry"' "$T/tail.jsonl")" = "$telemetry" ] \
  || pdm_fail "pdm-tail --schema-ids decoded $(grep -c '"type":"telemetry"' "$T/tail.jsonl") telemetry events, want $telemetry: $(head -2 "$T/tail.jsonl")"
echo "framed: $telemetry rows scored, 0 dead letters, features equal to single-object;" \
  "without ids: $messages dead letters (unknown_schema); pdm-tail decodes them"
echo "confluent_framing: ok"
