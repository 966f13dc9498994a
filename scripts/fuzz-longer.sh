#!/usr/bin/env bash
# A longer fuzzing run than ctest's (15 s per target), whose finds stay:
# every libFuzzer target of tests/fuzz/ runs for --seconds (default 600)
# from tests/fuzz/corpus/<target>/, with the same limits and checks as the
# fuzz_libfuzzer test, and the inputs that reach new coverage are then
# merged into tests/fuzz/corpus/<target>/ (libFuzzer -merge=1). Commit what
# it adds: ctest's short run starts from there next time.
#   scripts/fuzz-longer.sh [--seconds N] [--jobs N] [TARGET...]
# Uses the build directory $PDM_BUILD (default build/; its fuzz/ subfolder
# holds the clang objects, the working corpus and any crash input).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=600
jobs=2
targets=()
while [ $# -gt 0 ]; do
  case $1 in
  --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
  --jobs) jobs=${2:?--jobs needs a value}; shift 2 ;;
  -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "fuzz-longer: unknown option $1" >&2; exit 2 ;;
  *) targets+=("$1"); shift ;;
  esac
done
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz-longer: --seconds must be a positive integer" >&2; exit 2; }
build=${PDM_BUILD:-$root/build}
mkdir -p "$build"
PDM_SOURCE_DIR=$root PDM_BUILD_DIR=$build PDM_FUZZ_SECONDS=$seconds PDM_FUZZ_JOBS=$jobs \
  PDM_FUZZ_TARGETS="${targets[*]}" PDM_FUZZ_MERGE=1 \
  bash "$root/tests/runtime/fuzz_libfuzzer.sh"
new=$(git -C "$root" status --porcelain --untracked-files=all -- tests/fuzz/corpus | grep -c '^??' || true)
echo "fuzz-longer: $new new files under tests/fuzz/corpus/ (git add tests/fuzz/corpus to keep them)"
