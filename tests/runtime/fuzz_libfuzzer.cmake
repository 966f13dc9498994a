# libFuzzer targets of tests/fuzz/, built with clang and run for a bounded
# time (PDM_FUZZ_SECONDS per target, default 15, two at a time).
pdm_runtime_test(fuzz_libfuzzer fuzz_libfuzzer.sh 300)
set_tests_properties(fuzz_libfuzzer PROPERTIES PROCESSORS 2)
set_tests_properties(fuzz_libfuzzer PROPERTIES COST 900) # long: start it first
