#!/bin/bash
# pdm-model-rollback MODELS_DIR [VERSION]: points MODELS_DIR/current at the
# model package MODELS_DIR/VERSION, the way pdm-train --promote does (a
# relative link made under a temporary name, then renamed over `current`, so
# a scorer never sees a missing or half-made link). Without VERSION it lists
# the packages, newest first, and marks the current one. A running scorer
# follows the link by itself; SIGHUP or POST /v1/admin/reload make it reload
# at once (ops/RUNBOOK.md, "Rolling a model back").
set -euo pipefail
usage() { echo "usage: pdm-model-rollback MODELS_DIR [VERSION]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
models=${1%/}
[ -d "$models" ] || { echo "pdm-model-rollback: $models is not a directory" >&2; exit 1; }
current=
if [ -L "$models/current" ]; then
  current=$(readlink "$models/current")
  current=${current%/}
  current=${current##*/}
fi

if [ $# -eq 1 ]; then
  found=0
  while IFS= read -r dir; do
    v=${dir##*/}
    [ ! -L "$dir" ] && [ -f "$dir/model.json" ] || continue
    found=1
    mark=" "
    [ "$v" = "$current" ] && mark="*"
    printf '%s %s  %s\n' "$mark" "$v" "$(date -u -r "$dir/model.json" '+%Y-%m-%d %H:%M:%SZ')"
  done < <(ls -1dt "$models"/*/ 2>/dev/null | sed 's#/$##')
  [ $found -eq 1 ] || echo "pdm-model-rollback: no model packages in $models" >&2
  exit 0
fi

version=${2%/}
case $version in
  '' | */* | . | .. | current | .*) echo "pdm-model-rollback: '$version' is not a version directory name" >&2; exit 2 ;;
esac
for f in model.ubj model.json; do
  [ -f "$models/$version/$f" ] || { echo "pdm-model-rollback: $models/$version has no $f: not a model package" >&2; exit 1; }
done
if [ "$version" = "$current" ]; then
  echo "pdm-model-rollback: current is already $version"
  exit 0
fi
tmp="$models/.current.rollback.$$"
ln -sfn "$version" "$tmp"
mv -Tf "$tmp" "$models/current"
echo "pdm-model-rollback: current: ${current:-(none)} -> $version"
