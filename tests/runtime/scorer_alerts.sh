#!/usr/bin/env bash
# scorer_alerts: where people look at incidents (issue 15, item 4), with the
# default --emit (incidents). A simulated fleet is scored to its end by
# scorer A, which stays up; scorer B is another instance of the deployment
# (another group, a topic with nothing on it, the same Redis): both answer
# GET /v1/alerts and pdm_incidents_open for the whole fleet from Redis.
# scorer_alerts_check.py api checks /v1/alerts (the open incidents of the
# risk topic and of Redis, CRITICAL first then by machine; level and
# component filters; pages of 1 and 2 walked by next_cursor; 400s), the
# incident of /v1/machines/{id}, pdm_incidents_total, the lead-time
# histogram, pdm_incidents_open, the live performance counting incidents,
# and pdm-tail --format text. Then silence: the fleet again without one
# machine's events after it opened an incident, scored with big batches (the
# silent machine's state in the batch) and with batches of 16 messages (its
# state read from Redis): its incident resolves as silent, once, at its last
# reading + --silence-after, and every other incident event is the full run's.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
CHECK=$PDM_SOURCE_DIR/tests/runtime/scorer_alerts_check.py

pdm_start_redis
pdm_start_broker 4 --topic pdm.events,pdm.empty,risk.a,risk.b

sl_sim "$T/data" 10 1500 11
sl_train "$T/data" "$T/train.log" --out "$T/model" --rounds 10 --dump-features "$T/offline.csv"
sl_replay "$T/data" pdm.events
"$PDM_BIN/pdm-predict" --model "$T/model" --features "$T/offline.csv" >"$T/offline_risk.csv" \
  || pdm_fail "pdm-predict failed"
# WARN for a fifth of the rows, CRITICAL for a twentieth: incidents of both
# levels still open at the end of the stream.
read -r warn critical < <($SL_PY - "$T/offline_risk.csv" <<'PY'
import csv, sys
r = sorted(float(x["risk"]) for x in csv.DictReader(open(sys.argv[1])))
print(r[int(0.80 * len(r))], r[int(0.95 * len(r))])
PY
)
common=(--model "$T/model" --warn "$warn" --critical "$critical")
messages=$(cat "$T"/data/PdM_*.csv | wc -l)
messages=$((messages - 5)) # the five headers

# port LOG: the HTTP port a scorer logged.
port() {
  sl_wait_log "$1" "http listening on port" 1 20
  sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$1" | head -1
}
consumed() {
  curl -s "http://127.0.0.1:$1/metrics" | awk -v want="$2" \
    '$1 == "pdm_messages_consumed_total" && $2 >= want { ok = 1 } END { exit !ok }'
}

# 1. Scorer A consumes the fleet; B holds none of it.
sl_scorer "$T/a.log" --redis "$PDM_REDIS_URL/0" --group a --topics pdm.events --risk-topic risk.a \
  "${common[@]}"
a=$SL_PID
port_a=$(port "$T/a.log")
pdm_wait_until 60 consumed "$port_a" "$messages" || pdm_fail "scorer A did not consume $messages messages"
sl_scorer "$T/b.log" --redis "$PDM_REDIS_URL/0" --group b --topics pdm.empty --risk-topic risk.b \
  "${common[@]}"
b=$SL_PID
port_b=$(port "$T/b.log")
# Everything A produced is on its topic once the topic holds as many
# RiskEvents as A counted (pdm_risk_events_total).
delivered() {
  sl_tail risk.a "$T/a.jsonl"
  local produced
  produced=$(curl -s "http://127.0.0.1:$port_a/metrics" |
    awk '$1 ~ /^pdm_risk_events_total/ { n += $2 } END { print n + 0 }')
  [ "$produced" -gt 0 ] && [ "$(grep -c '"type":"risk"' "$T/a.jsonl")" = "$produced" ]
}
pdm_wait_until 30 delivered || pdm_fail "risk.a does not hold what scorer A produced"
"$PDM_BIN/pdm-tail" --brokers "$PDM_BROKERS" --topic risk.a --exit-at-end --format text >"$T/a.txt" \
  2>"$T/a.txt.log" || pdm_fail "pdm-tail --format text: $(cat "$T/a.txt.log")"
# A has produced everything it decided once the topic holds as many events
# as it counted.
$SL_PY "$CHECK" api "$port_a" "$port_b" "$PDM_REDIS_PORT" 0 "$T/a.jsonl" "$T/a.txt" "$T/data" \
  || pdm_fail "the incidents API is wrong"
pdm_stop_check "$a" "pdm-scorer A" "$T/a.log"
pdm_stop_check "$b" "pdm-scorer B" "$T/b.log"

# 2. Silence resolves the incident of a machine that stops reporting.
read -r machine opened < <($SL_PY "$CHECK" cut "$T/a.jsonl" "$T/data" "$T/cut") \
  || pdm_fail "no incident to cut at"
echo "machine $machine stops reporting after its incident opens at $opened"
# One partition: a batch of 16 messages spans under 2 h of the fleet's
# stream, so the batch that finds the machine silent (6 h on) cannot hold
# its last reading, whatever the fetches.
pdm_start_broker 1 --topic pdm.cut,risk.big,risk.small
sl_replay "$T/cut" pdm.cut
db=1
for way in big:2000 small:16; do
  name=${way%%:*}
  sl_scorer "$T/$name.log" --redis "$PDM_REDIS_URL/$db" --group "cut-$name" --topics pdm.cut \
    --risk-topic "risk.$name" --batch-size "${way#*:}" --silence-after 6h --exit-at-end \
    --log-level debug "${common[@]}"
  sl_wait_exit "$SL_PID" "$T/$name.log"
  # Small batches reach the silence in a batch without the machine.
  if [ "$name" = small ]; then
    grep -q "machine $machine went silent outside the batch" "$T/$name.log" \
      || pdm_fail "batches of 16 did not read machine $machine's alert state from Redis"
  fi
  sl_tail "risk.$name" "$T/$name.jsonl"
  $SL_PY "$CHECK" silent "$T/a.jsonl" "$T/$name.jsonl" "$machine" "$opened" 6 \
    || pdm_fail "silence with batches of ${way#*:}"
  state=$(redis-cli -p "$PDM_REDIS_PORT" -n "$db" hget "pdm:{$machine}:meta" alert)
  [ "$(echo "$state" | cut -d' ' -f5)" = 0 ] || pdm_fail "machine $machine's alert state: $state"
  [ -z "$(redis-cli -p "$PDM_REDIS_PORT" -n "$db" zscore pdm:incidents "$machine")" ] \
    || pdm_fail "machine $machine is still in pdm:incidents"
  db=$((db + 1))
done
echo "scorer_alerts: ok"
