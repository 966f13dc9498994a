#!/usr/bin/env bash
# The whole test suite, as the README and CI run it:
#   1. installs missing Debian packages (scripts/install-deps.sh),
#   2. builds with warnings as errors and runs every test with ctest
#      (unit tests with cmocka; runtime tests that start their own
#      redis-server and embedded Kafka-protocol broker on loopback),
#   3. builds again with AddressSanitizer + UndefinedBehaviorSanitizer and
#      runs the unit tests and the scorer's runtime tests there.
# Exits non-zero on any failure.
#   scripts/test.sh [--no-sanitize] [ctest args...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sanitize=1
if [ "${1:-}" = "--no-sanitize" ]; then
  sanitize=0
  shift
fi
jobs=$(nproc 2>/dev/null || echo 2)

"$root/scripts/install-deps.sh"

build=${PDM_BUILD:-$root/build}
echo "== build ($build, warnings are errors)"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPDM_WERROR=ON >/dev/null
cmake --build "$build" -j"$jobs"
echo "== tests"
# One test more than cores: most runtime tests spend their time waiting on
# servers, timeouts and other processes (the whole run used about half of
# two cores at -j2). fuzz_libfuzzer and valgrind_unit run two processes each
# and say so (PROCESSORS 2), so ctest counts them as two.
ctest --test-dir "$build" --output-on-failure -j"$((jobs + 1))" "$@"

if [ $sanitize -eq 1 ]; then
  asan=${PDM_BUILD_ASAN:-$root/build-asan}
  echo "== sanitizer build ($asan: -fsanitize=address,undefined)"
  cmake -S "$root" -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DPDM_WERROR=ON -DPDM_SANITIZE=ON >/dev/null
  cmake --build "$asan" -j"$jobs"
  # The unit tests, and the runtime tests that drive the scorer, the broker
  # and the HTTP API hardest (the other runtime tests exercise the same
  # programs; fuzzing has its own sanitizer build). Each is named, and a
  # name that no longer exists stops the run: a renamed test must not
  # silently leave the sanitizer pass.
  sanitized=(stream_parity scorer_bad_input scorer_emit scorer_http scorer_lifecycle
    scorer_prometheus scorer_redis_outage security_secrets faults_broker_control
    redis_cluster_failover scorer_batch_bounds)
  for t in "${sanitized[@]}"; do
    ctest --test-dir "$asan" -N -R "^$t\$" | grep -q '^Total Tests: 1$' ||
      { echo "test.sh: the sanitizer pass names $t, which is not a test" >&2; exit 1; }
  done
  echo "== unit tests and the scorer's runtime tests under ASan/UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$asan" --output-on-failure --no-tests=error -j"$jobs" -L unit "$@"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$asan" --output-on-failure --no-tests=error -j"$jobs" \
    -R "^($(IFS='|'; echo "${sanitized[*]}"))\$" "$@"
fi
