#!/usr/bin/env bash
# fuzz_libfuzzer: builds every libFuzzer target of tests/fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined; the normal build uses gcc, so the
# project sources are compiled again here, into $PDM_BUILD_DIR/fuzz), replays
# every input of tests/fuzz/regressions/<target>/, then fuzzes each target
# for a bounded time from its seed corpus (tests/fuzz/corpus/<target>/, kept
# in the repository). Any crash, sanitizer report, leak, timeout, broken
# property (FUZZ_CHECK), single allocation over PDM_FUZZ_MALLOC_MB (a
# forged length or count must not reach malloc) or RSS over PDM_FUZZ_RSS_MB
# fails the test, printing the input and the stack; the input is kept in
# $PDM_BUILD_DIR/fuzz/artifacts/. So does a target that ran fewer than
# PDM_FUZZ_MIN_EXECS inputs per second: a harness that hangs, sleeps or
# exits early must not pass as "clean".
#
# Knobs: PDM_FUZZ_SECONDS (per target, default 10), PDM_FUZZ_JOBS (targets
# fuzzed at once, default 2), PDM_FUZZ_TARGETS (space-separated subset),
# PDM_FUZZ_MALLOC_MB (default 64), PDM_FUZZ_RSS_MB (default 1024),
# PDM_FUZZ_MIN_EXECS (per second of fuzzing, default 100), PDM_CLANG
# (default clang), PDM_FUZZ_MERGE=1 (afterwards, merge the inputs that add
# coverage into tests/fuzz/corpus/: scripts/fuzz-longer.sh sets it).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
pdm_tmpdir >/dev/null

SRC=$PDM_SOURCE_DIR
FUZZ=$SRC/tests/fuzz
WORK=$PDM_BUILD_DIR/fuzz
SECONDS_PER_TARGET=${PDM_FUZZ_SECONDS:-10}
JOBS=${PDM_FUZZ_JOBS:-2}
CLANG=${PDM_CLANG:-clang}
MALLOC_MB=${PDM_FUZZ_MALLOC_MB:-64}
RSS_MB=${PDM_FUZZ_RSS_MB:-1024}
MIN_EXECS=${PDM_FUZZ_MIN_EXECS:-100}
MERGE=${PDM_FUZZ_MERGE:-0}
# Limits for every run, regressions included: libFuzzer's default allows one
# malloc of up to 2 GB, which lets a count read from the input allocate
# gigabytes unnoticed.
LIMITS=(-timeout=10 -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$MALLOC_MB")

command -v "$CLANG" >/dev/null ||
  pdm_fail "$CLANG not found: install the Debian packages clang and libclang-rt-14-dev (scripts/install-deps.sh)"
command -v pkg-config >/dev/null || pdm_fail "pkg-config not found"

mkdir -p "$WORK/obj" "$WORK/bin" "$WORK/corpus" "$WORK/artifacts" "$WORK/logs"

# shellcheck disable=SC2054 # commas belong to -fsanitize=
CFLAGS=(-std=c11 -g -O1 -fno-omit-frame-pointer -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  -Wall -Wno-unused-parameter -Werror=implicit-function-declaration)
# shellcheck disable=SC2054
LDFLAGS=(-fsanitize=fuzzer,address,undefined)

# clang must be able to link libFuzzer (libclang-rt-14-dev has the runtime).
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' \
  >"$PDM_TMP/probe.c"
"$CLANG" "${LDFLAGS[@]}" "$PDM_TMP/probe.c" -o "$PDM_TMP/probe" 2>"$PDM_TMP/probe.log" ||
  { cat "$PDM_TMP/probe.log" >&2; pdm_fail "$CLANG cannot link libFuzzer: install libclang-rt-14-dev"; }

# The schemas the codec embeds, generated as the CMake build does.
cmake -DSRC="$SRC/schemas" -DOUT="$WORK/schemas_embedded.c" -P "$SRC/schemas/embed.cmake"

# ---- read tests/fuzz/targets.txt -----------------------------------------
declare -A T_SOURCES T_PKGS T_INTERNAL
TARGETS=()
while IFS= read -r line; do
  line=${line%%#*}
  [[ "$line" =~ ^[[:space:]]*$ ]] && continue
  name=${line%%:*}
  name=${name//[[:space:]]/}
  rest=${line#*:}
  srcs=${rest%%|*}
  pkgs=""
  [[ "$rest" == *"|"* ]] && pkgs=${rest#*|}
  [ -f "$FUZZ/fuzz_$name.c" ] || pdm_fail "targets.txt names $name but tests/fuzz/fuzz_$name.c is missing"
  if [ -n "${PDM_FUZZ_TARGETS:-}" ] && [[ " $PDM_FUZZ_TARGETS " != *" $name "* ]]; then
    continue
  fi
  TARGETS+=("$name")
  T_SOURCES[$name]=""
  T_INTERNAL[$name]=""
  for s in $srcs; do
    case $s in
    @internal:*) T_INTERNAL[$name]+=" $SRC/${s#@internal:}" ;;
    *) T_SOURCES[$name]+=" $s" ;;
    esac
  done
  T_PKGS[$name]=$pkgs
done <"$FUZZ/targets.txt"
[ ${#TARGETS[@]} -gt 0 ] || pdm_fail "no fuzz targets selected"

# ---- compile every project source once, then link each target -------------
declare -A OBJ_OF
all_pkgs=""
for name in "${TARGETS[@]}"; do all_pkgs+=" ${T_PKGS[$name]}"; done
INCLUDES=(-I"$FUZZ")
if [ -n "${all_pkgs// /}" ]; then
  # shellcheck disable=SC2207,SC2086
  INCLUDES+=($(pkg-config --cflags $all_pkgs)) || pdm_fail "pkg-config --cflags$all_pkgs"
fi
# Include paths as CMake's targets give them: every module's public headers
# (<module>/include/, or the folder itself for a module without one) for
# every file; a project source also gets its own module folder (its target's
# private headers); fuzz_NAME.c gets a module folder only if targets.txt opts
# in with @internal:MODULE.
for d in "$SRC"/*/; do
  case $(basename "$d") in build*) continue ;; esac
  [ -f "$d/CMakeLists.txt" ] || continue
  if [ -d "$d/include" ]; then
    INCLUDES+=(-I"${d}include")
  elif compgen -G "$d*.h" >/dev/null; then
    INCLUDES+=(-I"${d%/}")
  fi
done
compile_list=()
for name in "${TARGETS[@]}"; do
  for s in ${T_SOURCES[$name]} "tests/fuzz/fuzz_$name.c"; do
    case $s in
    @embedded) path=$WORK/schemas_embedded.c private=$SRC/schemas ;;
    tests/fuzz/*) path=$SRC/$s private=${T_INTERNAL[$name]} ;;
    *) path=$SRC/$s private=$SRC/${s%%/*} ;;
    esac
    [ -f "$path" ] || pdm_fail "fuzz target $name: source $s not found"
    for dir in $private; do [ -d "$dir" ] || pdm_fail "fuzz target $name: no folder $dir"; done
    private=${private# }
    private=${private// /:}
    obj=$WORK/obj/$(echo "${s#@}" | tr / _).o
    OBJ_OF[$s]=$obj
    compile_list+=("$path"$'\t'"$obj"$'\t'"${private:--}")
  done
done
printf '%s\n' "${compile_list[@]}" | sort -u >"$PDM_TMP/compile.list"
export CLANG
export CFLAGS_STR="${CFLAGS[*]} ${INCLUDES[*]}"
# Rebuild an object when its source or any header it read (-MMD) changed.
# $3: the source's private include folders, ':'-separated ('-' for none).
compile_one() {
  local src=$1 obj=$2 dep=${2%.o}.d private=() dirs dir
  IFS=: read -ra dirs <<<"${3#-}"
  for dir in "${dirs[@]}"; do private+=(-I"$dir"); done
  if [ -f "$obj" ] && [ -f "$dep" ]; then
    local newer
    newer=$(sed -e 's/\\$//' -e 's/^[^:]*://' "$dep" | tr -s ' \n' '\n\n' | grep -v '^$' |
      while read -r f; do [ "$f" -nt "$obj" ] || [ ! -e "$f" ] && echo "$f"; done | head -1)
    [ -z "$newer" ] && return 0
  fi
  # shellcheck disable=SC2086
  "$CLANG" $CFLAGS_STR "${private[@]}" -MMD -MF "$dep" -c "$src" -o "$obj"
}
export -f compile_one
start=$(date +%s)
tr '\t' ' ' <"$PDM_TMP/compile.list" | xargs -P "$JOBS" -n 3 bash -c 'compile_one "$0" "$1" "$2"' ||
  pdm_fail "compiling the fuzz targets failed"
for name in "${TARGETS[@]}"; do
  objs=()
  for s in ${T_SOURCES[$name]} "tests/fuzz/fuzz_$name.c"; do objs+=("${OBJ_OF[$s]}"); done
  libs=()
  if [ -n "${T_PKGS[$name]// /}" ]; then
    # shellcheck disable=SC2207
    libs=($(pkg-config --libs ${T_PKGS[$name]})) || pdm_fail "pkg-config ${T_PKGS[$name]}"
  fi
  "$CLANG" "${LDFLAGS[@]}" "${objs[@]}" "${libs[@]}" -lpthread -lm -o "$WORK/bin/fuzz_$name" ||
    pdm_fail "linking fuzz_$name failed"
done
echo "fuzz: built ${#TARGETS[@]} targets in $(($(date +%s) - start)) s: ${TARGETS[*]}"

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TMPDIR=$PDM_TMP

# report_crash NAME LOG: prints the sanitizer report and the input.
report_crash() {
  local name=$1 log=$2 art
  echo "---- fuzz_$name failed; its log (tail):" >&2
  tail -n 60 "$log" >&2
  for art in $(grep -o "Test unit written to [^ ]*" "$log" | awk '{print $5}'); do
    echo "---- input $art ($(stat -c %s "$art") bytes), base64:" >&2
    base64 -w 76 "$art" | head -c 4000 >&2
    echo >&2
    echo "To keep it as a regression: cp '$art' '$FUZZ/regressions/$name/'" >&2
  done
}

# ---- replay the regressions ----------------------------------------------------
# A target whose regressions fail again is reported and not fuzzed (it would
# only find the same bug); the others still run.
failed=()
to_fuzz=()
for name in "${TARGETS[@]}"; do
  reg=$FUZZ/regressions/$name
  inputs=()
  [ -d "$reg" ] && mapfile -t inputs < <(find "$reg" -type f ! -name 'README*' | sort)
  if [ ${#inputs[@]} -gt 0 ]; then
    log=$WORK/logs/$name.regressions.log
    if ! "$WORK/bin/fuzz_$name" "${LIMITS[@]}" "${inputs[@]}" >"$log" 2>&1; then
      echo "---- fuzz_$name: a regression input fails again (log: $log):" >&2
      grep -E '^Running: |ERROR|runtime error|FUZZ_CHECK|SUMMARY|out-of-memory|^    #[0-9] ' "$log" | head -n 40 >&2
      failed+=("$name (regression)")
      continue
    fi
    echo "fuzz: $name: ${#inputs[@]} regression inputs pass"
  fi
  to_fuzz+=("$name")
done

# ---- fuzz, JOBS targets at a time -----------------------------------------
run_target() {
  local name=$1 corpus=$WORK/corpus/$1 seeds=$FUZZ/corpus/$1 log=$WORK/logs/$1.log
  mkdir -p "$corpus" "$WORK/artifacts/$name"
  local dirs=("$corpus")
  [ -d "$seeds" ] && dirs+=("$seeds")
  "$WORK/bin/fuzz_$name" -max_total_time="$SECONDS_PER_TARGET" "${LIMITS[@]}" \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$name/" \
    "${dirs[@]}" >"$log" 2>&1
}
# Background runs are jobs of this shell: the harness's exit trap stops
# them if the test is interrupted.
declare -A NAME_OF
pending=("${to_fuzz[@]}")
running=()
while [ ${#pending[@]} -gt 0 ] || [ ${#running[@]} -gt 0 ]; do
  while [ ${#pending[@]} -gt 0 ] && [ ${#running[@]} -lt "$JOBS" ]; do
    name=${pending[0]}
    pending=("${pending[@]:1}")
    run_target "$name" &
    NAME_OF[$!]=$name
    running+=("$!")
  done
  status=0
  done_pid=
  wait -n -p done_pid "${running[@]}" || status=$?
  [ -n "$done_pid" ] || pdm_fail "wait -n returned without a job ($status)"
  still=()
  for pid in "${running[@]}"; do [ "$pid" = "$done_pid" ] || still+=("$pid"); done
  running=("${still[@]}")
  name=${NAME_OF[$done_pid]}
  log=$WORK/logs/$name.log
  if [ "$status" -ne 0 ]; then
    report_crash "$name" "$log"
    failed+=("$name (new crash)")
  else
    # -print_final_stats=1 ends the log with the number of inputs run.
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\)$/\1/p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    rss=$(sed -n 's/^stat::peak_rss_mb: *\([0-9][0-9]*\)$/\1/p' "$log" | tail -1)
    echo "fuzz: $name: ${execs:-?} runs in ${SECONDS_PER_TARGET} s, ${cov:-cov: ?}, peak RSS ${rss:-?} MB, corpus $(find "$WORK/corpus/$name" -type f | wc -l) files"
    want=$((MIN_EXECS * SECONDS_PER_TARGET))
    if [ -z "$execs" ]; then
      echo "---- fuzz_$name: no stat::number_of_executed_units in $log (tail):" >&2
      tail -n 20 "$log" >&2
      failed+=("$name (no final stats)")
    elif [ "$execs" -lt "$want" ]; then
      echo "---- fuzz_$name: only $execs inputs in ${SECONDS_PER_TARGET} s, want at least $want ($MIN_EXECS/s); $log (tail):" >&2
      tail -n 20 "$log" >&2
      failed+=("$name ($execs runs < $want)")
    fi
  fi
done
[ ${#failed[@]} -eq 0 ] || pdm_fail "fuzz targets failed: ${failed[*]} (artifacts in $WORK/artifacts)"
echo "fuzz: all ${#TARGETS[@]} targets clean"

# ---- merge new coverage into the repository's corpus (PDM_FUZZ_MERGE=1) ----
# -merge=1 adds to the first directory only the inputs of the others that
# cover something it does not, so tests/fuzz/corpus/ grows by what a long
# run found and no more. Files are named by their SHA-1, as libFuzzer does.
[ "$MERGE" = 1 ] || exit 0
for name in "${to_fuzz[@]}"; do
  seeds=$FUZZ/corpus/$name log=$WORK/logs/$name.merge.log
  mkdir -p "$seeds"
  before=$(find "$seeds" -type f | wc -l)
  "$WORK/bin/fuzz_$name" -merge=1 "${LIMITS[@]}" -max_len=8192 \
    -artifact_prefix="$WORK/artifacts/$name/" "$seeds" "$WORK/corpus/$name" >"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; pdm_fail "merging fuzz_$name's corpus failed (log: $log)"; }
  echo "fuzz: $name: merged $(($(find "$seeds" -type f | wc -l) - before)) new inputs into tests/fuzz/corpus/$name"
done
