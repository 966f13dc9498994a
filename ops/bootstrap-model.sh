#!/bin/bash
# pdm-bootstrap-model: makes sure the models directory has a `current` model,
# so a fresh deployment (docker-compose's one-shot `trainer` service) can
# start the scorer without a hand-made model. If MODELS_DIR/current exists it
# does nothing (restarts keep the operator's model); otherwise it simulates a
# fleet with pdm-sim and trains on it with pdm-train --promote. A real
# deployment trains on its own history instead:
#   pdm-train --data /path/to/pdm-csvs --promote /var/lib/pdm/models
# Knobs (environment): PDM_MODELS_DIR (default /var/lib/pdm/models),
# PDM_BOOTSTRAP_MACHINES (100), PDM_BOOTSTRAP_HOURS (4380), PDM_BOOTSTRAP_SEED (1),
# PDM_BOOTSTRAP_ROUNDS (100).
set -euo pipefail
models=${PDM_MODELS_DIR:-/var/lib/pdm/models}
if [ -e "$models/current" ]; then
  echo "pdm-bootstrap-model: $models/current exists ($(readlink "$models/current" || echo '?')): nothing to do"
  exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/pdm-bootstrap.XXXXXX")
trap 'rm -rf "$work"' EXIT
pdm-sim --machines "${PDM_BOOTSTRAP_MACHINES:-100}" --hours "${PDM_BOOTSTRAP_HOURS:-4380}" \
  --seed "${PDM_BOOTSTRAP_SEED:-1}" --out "$work/data"
pdm-train --data "$work/data" --rounds "${PDM_BOOTSTRAP_ROUNDS:-100}" --promote "$models"
[ -e "$models/current" ] || { echo "pdm-bootstrap-model: training did not promote a model into $models" >&2; exit 1; }
echo "pdm-bootstrap-model: $models/current -> $(readlink "$models/current")"
