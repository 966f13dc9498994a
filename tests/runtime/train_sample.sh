#!/usr/bin/env bash
# train_sample: pdm-train accepts the public data set's own files unchanged
# (../shared/data/pdm-sample: machines 1 and 2, three months, four
# failures). It is far too small for a useful model; the decision is that
# pdm-train still trains when the training rows hold a failure and the test
# rows exist (metrics the test rows cannot define are null), so it must
# succeed and write a loadable package. Skipped (77) without the sample.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
sample="$PDM_SOURCE_DIR/../shared/data/pdm-sample"
if [ ! -f "$sample/PdM_telemetry.csv" ]; then
  echo "skipped: $sample not present"
  exit 77
fi
pdm_tmpdir >/dev/null
T=$PDM_TMP
"$PDM_BIN/pdm-train" --data "$sample" --out "$T/pkg" --rounds 20 --nthread 1 \
  --dump-features "$T/features.csv" >"$T/train.log" 2>&1 \
  || pdm_fail "pdm-train on the sample failed: $(tail -20 "$T/train.log")"
/usr/bin/python3 - "$T" "$sample" <<'PY' || pdm_fail "sample package check failed"
import json, sys
t, sample = sys.argv[1], sys.argv[2]
meta = json.load(open(f"{t}/pkg/model.json"))
assert meta["train"]["positives"] > 0 and meta["test"]["rows"] > 0
assert meta["train"]["rows"] + meta["test"]["rows"] == 4320
rows = sum(1 for _ in open(f"{t}/features.csv")) - 1
assert rows == sum(1 for _ in open(f"{sample}/PdM_telemetry.csv")) - 1
PY
echo "train_sample: ok"
