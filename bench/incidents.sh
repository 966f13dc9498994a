#!/usr/bin/env bash
# bench/incidents.sh: issue 15's "done when": the same stream and model through
# pdm-scorer with --emit changes and with the default (--emit incidents),
# counted the same way (not a test).
#
#   bench/incidents.sh [--build DIR] [--data DIR] [--machines N] [--hours H] [--seed S]
#
# Data: the demo's fleet by default (pdm-sim --machines 20 --hours 4380
# --start 2015-01-01 --seed 42, as scripts/demo.sh), or --data DIR, a folder of
# the five PdM CSVs (e.g. ../shared/data/pdm-sample). The model is trained on
# it with pdm-train's defaults (as the demo does; -j1), every row is replayed
# into one topic (pdm-producer replay --topic pdm.events), and two scorers read
# it to its end (--exit-at-end), each into its own risk topic and Redis
# database. Counted per way (bench/incidents_eval.py):
#   - alerting notifications: --emit changes: RiskEvents at WARN or CRITICAL
#     (changes to them and CRITICAL renotifications; changes to OK are not
#     counted); incidents: opened, escalated and renotified (firing);
#     resolutions are not counted;
#   - failures caught: a failure (a machine's failures at one time count
#     once) is caught when an alert or an incident was open at some time
#     within the model's horizon before it: a level WARN/CRITICAL from a
#     change until the next change to OK, an incident from its opening to its
#     resolution;
#   - notifications per caught failure, and the ratio of the two ways.
# Starts its own redis-server and pdm-broker on loopback (tests/harness.sh).
# About a minute on the demo fleet (most of it training).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$root/build
data=
machines=20
hours=4380
seed=42
args=("$@")
while [ $# -gt 0 ]; do
  case $1 in
  --build) build=$2; shift 2 ;;
  --data) data=$2; shift 2 ;;
  --machines) machines=$2; shift 2 ;;
  --hours) hours=$2; shift 2 ;;
  --seed) seed=$2; shift 2 ;;
  -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "incidents.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

export PDM_BIN=$build/bin
B=$PDM_BIN
for p in pdm-broker pdm-sim pdm-train pdm-producer pdm-scorer pdm-tail; do
  [ -x "$B/$p" ] || { echo "incidents.sh: no $B/$p; build with: cmake -S $root -B $build" \
    "&& cmake --build $build -j2" >&2; exit 2; }
done
# shellcheck source=../tests/harness.sh
source "$root/tests/harness.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP

if [ -z "$data" ]; then
  data=$T/data
  "$B/pdm-sim" --machines "$machines" --hours "$hours" --start 2015-01-01 --seed "$seed" \
    --out "$data" 2>/dev/null
  what="the demo's fleet (pdm-sim --machines $machines --hours $hours --seed $seed)"
else
  [ -f "$data/PdM_telemetry.csv" ] || { echo "incidents.sh: no PdM CSVs in $data" >&2; exit 2; }
  what=$data
fi
echo "== train (pdm-train defaults) on $what"
"$B/pdm-train" --data "$data" --out "$T/model" -j1 >"$T/train.log" 2>&1 \
  || { tail -20 "$T/train.log"; exit 1; }

pdm_start_redis
pdm_start_broker 8 --topic pdm.events,risk.changes,risk.incidents,pdm.dlq
"$B/pdm-producer" replay --data "$data" --brokers "$PDM_BROKERS" --topic pdm.events \
  2>"$T/producer.log" || { tail -5 "$T/producer.log"; exit 1; }

# score WAY DB EMIT-ARGS...: one scorer over the whole topic, to its end.
score() {
  local way=$1 db=$2
  shift 2
  echo "== score with ${*:---emit incidents (the default)}"
  "$B/pdm-scorer" --brokers "$PDM_BROKERS" --redis "$PDM_REDIS_URL/$db" --model "$T/model" \
    --group "bench-$way" --topics pdm.events --risk-topic "risk.$way" --http off \
    --exit-at-end -X fetch.wait.max.ms=10 "$@" 2>"$T/$way.log" \
    || { tail -20 "$T/$way.log"; exit 1; }
  "$B/pdm-tail" --brokers "$PDM_BROKERS" --topic "risk.$way" --exit-at-end >"$T/$way.jsonl" \
    2>/dev/null
}
score changes 0 --emit changes
score incidents 1

echo "== result on $what"
python3 "$here/incidents_eval.py" --failures "$data/PdM_failures.csv" --model "$T/model/model.json" \
  --changes "$T/changes.jsonl" --incidents "$T/incidents.jsonl"
echo "reproduce: bench/incidents.sh${args[*]:+ ${args[*]}}"
