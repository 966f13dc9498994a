#!/usr/bin/env bash
# archive_crash: pdm-archive keeps the input topics as the trainer's files,
# SIGKILLed mid-stream and restarted, with no row lost and none twice.
#
# A simulated fleet is replayed into the per-type topics at a steady rate
# (the live case: the archive keeps up, so its batches are small and every
# kill lands mid-stream) while pdm-archive runs with small batches; it is
# SIGKILLed at three points of its progress and restarted each time, then a
# last run archives the rest and exits at the end. Then:
# - every day file holds rows of its own day only, one header, and each
#   machine's rows in time order (stream order: a machine is one partition);
# - the export of the whole archive equals the source CSVs row for row
#   (as multisets: none missing, none twice);
# - pdm-train on the export and on the source CSVs gives byte-identical
#   model.ubj and feature dumps.
# With ../shared/data/pdm-sample present, the real sample (15-digit
# readings) goes the same way through topics of its own, without kills.
#
# session.timeout.ms 3500 as in crash_many: a restart costs about twice it
# on the embedded broker. PDM_ARCHIVE_SEED=N reproduces the kill points.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
B=$PDM_BIN
t_start=$SECONDS
seed=${PDM_ARCHIVE_SEED:-$(( $(date +%s%N) % 1000000 ))}
echo "archive_crash: seed $seed (PDM_ARCHIVE_SEED=$seed reproduces the kill points)"
RANDOM=$seed

sample_topics=sample.telemetry,sample.errors,sample.maintenance,sample.failures,sample.machines
pdm_start_broker 4 --topic "$sample_topics,archive.junk"
archive_args=(--brokers "$PDM_BROKERS" -X session.timeout.ms=3500 -X heartbeat.interval.ms=500
  -X fetch.wait.max.ms=10)

# tel_rows DIR: telemetry rows in the archive so far (headers excluded).
tel_rows() {
  local n=0 f
  for f in "$1"/????-??-??/PdM_telemetry.csv; do
    [ -f "$f" ] && n=$((n + $(wc -l <"$f") - 1))
  done
  echo "$n"
}

# check_archive SRC ARCHIVE EXPORT LABEL: the checks above, on one archive.
check_archive() {
  local src=$1 arc=$2 exp=$3 label=$4
  "$B/pdm-archive" export --dir "$arc" --out "$exp" 2>"$exp.log" \
    || pdm_fail "$label: export failed: $(cat "$exp.log")"
  $SL_PY - "$src" "$arc" "$exp" "$label" <<'PY' || pdm_fail "$label: the archive differs from the source"
import collections, glob, os, sys
src, arc, exp, label = sys.argv[1:5]
bad = []
# Day files: their own day's rows, one header, each machine in time order.
for path in sorted(glob.glob(os.path.join(arc, "????-??-??", "PdM_*.csv"))):
    day = os.path.basename(os.path.dirname(path))
    lines = open(path).read().splitlines()
    if not lines or not lines[0].startswith("datetime,machineID,"):
        bad.append(("no header", path))
        continue
    last = {}
    for row in lines[1:]:
        if row.startswith("datetime"):
            bad.append(("second header", path))
        if row[:10] != day:
            bad.append(("row of another day", path, row))
        m = row.split(",")[1]
        if m in last and row[:19] < last[m]:
            bad.append(("out of stream order", path, row))
        last[m] = row[:19]
for name in sorted(os.listdir(src)):
    want = collections.Counter(open(os.path.join(src, name)).read().splitlines()[1:])
    got = collections.Counter(open(os.path.join(exp, name)).read().splitlines()[1:])
    missing = want - got
    extra = got - want
    dups = sum(c - 1 for c in got.values() if c > 1)
    print(f"{label}: {name}: {sum(got.values())} rows archived, {sum(want.values())} in the "
          f"source, {sum(missing.values())} missing, {sum(extra.values())} extra, {dups} twice")
    if missing or extra:
        bad.append((name, "missing", list(missing)[:3], "extra", list(extra)[:3]))
for b in bad[:10]:
    print("wrong:", b)
sys.exit(1 if bad else 0)
PY
  sl_train "$src" "$exp.train-src.log" --out "$exp.model-src" --rounds 3 \
    --dump-features "$exp.features-src.csv"
  sl_train "$exp" "$exp.train-arc.log" --out "$exp.model-arc" --rounds 3 \
    --dump-features "$exp.features-arc.csv"
  cmp "$exp.model-src/model.ubj" "$exp.model-arc/model.ubj" \
    || pdm_fail "$label: the model trained on the archive differs from the source's"
  cmp "$exp.features-src.csv" "$exp.features-arc.csv" \
    || pdm_fail "$label: the features of the archive differ from the source's"
  echo "$label: model.ubj and $(sl_rows "$exp.features-arc.csv") feature rows identical to the source's"
}

# 1. The fleet, replayed at 250 events/s (about 36 s) while pdm-archive is killed 3 times.
sl_sim "$T/data" 6 1500 "$seed"
rows=$(($(wc -l <"$T/data/PdM_telemetry.csv") - 1))
"$B/pdm-producer" replay --data "$T/data" --brokers "$PDM_BROKERS" --rate 250 \
  2>"$T/producer.log" &
producer=$!
pdm_track_checked "$producer" pdm-producer
# Each run is killed once it has archived 200 to 1,000 telemetry rows more
# than it found. A restart first catches up the backlog produced while the
# group rebalanced (about 7 s at 250 events/s), so a kill lands in that
# burst of commits; run 1 commits every message (--batch-size 1), so there
# a kill most likely falls between a batch's write and its commit.
batch_sizes=(200 1 20)
for i in 0 1 2; do
  start_rows=$(tel_rows "$T/arc")
  target=$((start_rows + 200 + RANDOM % 800))
  "$B/pdm-archive" "${archive_args[@]}" --dir "$T/arc" --batch-size "${batch_sizes[$i]}" \
    --max-wait 100ms >"$T/run$i.log" 2>&1 &
  pid=$!
  pdm_track_checked "$pid" "pdm-archive run $i"
  # shellcheck disable=SC2317
  reached() { [ "$(tel_rows "$T/arc")" -ge "$target" ]; }
  pdm_wait_until 60 reached || pdm_fail "run $i: $(tel_rows "$T/arc") rows after 60 s, want $target: $(tail -3 "$T/run$i.log")"
  _pdm_alive "$pid" || pdm_fail "run $i ended before it was killed: $(tail -3 "$T/run$i.log")"
  kill -KILL "$pid"
  pdm_stop "$pid" 2>/dev/null || true
  echo "kill $((i + 1)) at $(tel_rows "$T/arc") telemetry rows of $rows (this run: from $start_rows, batches of ${batch_sizes[$i]}; $((SECONDS - t_start)) s)"
  _pdm_alive "$producer" || echo "note: the replay had ended: kill $((i + 1)) was not mid-stream (a slow machine)"
done
sl_wait_exit "$producer" "$T/producer.log"
"$B/pdm-archive" "${archive_args[@]}" --dir "$T/arc" --batch-size 200 --exit-at-end \
  >"$T/run3.log" 2>&1 &
pid=$!
pdm_track_checked "$pid" "pdm-archive last run"
sl_wait_exit "$pid" "$T/run3.log"
grep -h "recovered" "$T"/run*.log || echo "(no kill fell between a batch's write and its commit)"
grep -q "skipped 0;" "$T/run3.log" || pdm_fail "events were skipped: $(grep stopped "$T/run3.log")"
echo "archived in $((SECONDS - t_start)) s"
check_archive "$T/data" "$T/arc" "$T/export" fleet

# 1b. The same topics into a second archive that keeps 3 days, with a topic of
# bad input beside them (not Avro; a reading at a fraction of a second; a NaN
# reading): skipped, counted and named, the rest archived; the days older than
# the 3 newest removed. A second writer on that directory is refused.
printf 'not avro' >"$T/junk1.bin"
echo '{"type":"telemetry","machine_id":7,"ts":"2015-01-10T06:00:00.500Z","volt":170,"rotate":450,"pressure":100,"vibration":40}' \
  | "$B/pdm-avro" encode --out "$T/junk2.bin" || pdm_fail "pdm-avro encode"
echo '{"type":"telemetry","machine_id":7,"ts":"2015-01-10T07:00:00.000Z","volt":null,"rotate":450,"pressure":100,"vibration":40}' \
  | "$B/pdm-avro" encode --out "$T/junk3.bin" || pdm_fail "pdm-avro encode"
kcat -P -b "$PDM_BROKERS" -t archive.junk -k 7 "$T/junk1.bin" "$T/junk2.bin" "$T/junk3.bin" \
  || pdm_fail "kcat -P archive.junk"
"$B/pdm-archive" "${archive_args[@]}" --dir "$T/keep3" --group keep3 --keep-days 3 --exit-at-end \
  --topics pdm.telemetry,pdm.errors,pdm.maintenance,pdm.failures,pdm.machines,archive.junk \
  >"$T/keep3.log" 2>&1 &
pid=$!
pdm_track_checked "$pid" "pdm-archive --keep-days 3"
pdm_wait_until 10 test -f "$T/keep3/archive.state" || pdm_fail "no archive.state: $(cat "$T/keep3.log")"
status=0
"$B/pdm-archive" "${archive_args[@]}" --dir "$T/keep3" --group keep3b >"$T/second.log" 2>&1 || status=$?
[ "$status" = 1 ] && grep -q "in use by another pdm-archive" "$T/second.log" \
  || pdm_fail "a second writer on the same directory: exit $status: $(cat "$T/second.log")"
sl_wait_exit "$pid" "$T/keep3.log"
# Each bad message counted once by its reason, and its first one named. In
# a backfill, a partition whose events run ahead moves the stream's time, so
# the other partitions' events of days it expired are skipped as "expired"
# (never one of the 3 days kept at the end: the window only moves forward).
for why in undecodable subsecond invalid; do
  grep -q "stopped: .*skipped [0-9]* (.*$why 1[,)]" "$T/keep3.log" \
    || pdm_fail "not one $why message counted: $(grep stopped "$T/keep3.log")"
  grep -q "WARN pdm-archive: skipped archive.junk .*: $why" "$T/keep3.log" \
    || pdm_fail "no warning for the $why message: $(grep WARN "$T/keep3.log")"
done
grep -q "stopped: .*days expired [1-9]" "$T/keep3.log" \
  || pdm_fail "no day expired: $(grep stopped "$T/keep3.log")"
"$B/pdm-archive" export --dir "$T/keep3" --out "$T/keep3-export" 2>"$T/keep3-export.log" \
  || pdm_fail "export of keep3 failed: $(cat "$T/keep3-export.log")"
$SL_PY - "$T/data" "$T/keep3" "$T/keep3-export" <<'PY' || pdm_fail "--keep-days 3 kept the wrong days"
import os, sys
src, arc, exp = sys.argv[1:4]
rows = {n: open(os.path.join(src, n)).read().splitlines()[1:] for n in os.listdir(src)}
days = sorted({r[:10] for n, rs in rows.items() if n != "PdM_machines.csv" for r in rs})
want = days[-3:]
got = sorted(d for d in os.listdir(arc) if len(d) == 10 and d[4] == "-")
tel = open(os.path.join(exp, "PdM_telemetry.csv")).read().splitlines()[1:]
want_tel = sorted(r for r in rows["PdM_telemetry.csv"] if r[:10] in want)
machines = open(os.path.join(exp, "PdM_machines.csv")).read().splitlines()[1:]
print(f"keep3: days {got} (want {want}); {len(tel)} telemetry rows exported, "
      f"{len(want_tel)} in the source on those days; {len(machines)} machines")
sys.exit(0 if got == want and sorted(tel) == want_tel and
         sorted(machines) == sorted(rows["PdM_machines.csv"]) else 1)
PY

# 2. The real sample, when present.
sample="$PDM_SOURCE_DIR/../shared/data/pdm-sample"
if [ -d "$sample" ]; then
  "$B/pdm-producer" replay --data "$sample" --brokers "$PDM_BROKERS" --topic-prefix sample \
    2>>"$T/producer.log" || pdm_fail "sample replay failed: $(tail -3 "$T/producer.log")"
  "$B/pdm-archive" "${archive_args[@]}" --dir "$T/sample-arc" --group sample-archive \
    --topics "$sample_topics" --exit-at-end >"$T/sample.log" 2>&1 &
  pid=$!
  pdm_track_checked "$pid" "pdm-archive (sample)"
  sl_wait_exit "$pid" "$T/sample.log"
  check_archive "$sample" "$T/sample-arc" "$T/sample-export" sample
else
  echo "no $sample: the real sample's part skipped"
fi
echo "archive_crash: ok in $((SECONDS - t_start)) s"
