# Every unit test under valgrind memcheck (no errors, no definite or indirect
# leaks). Skipped (77) in a PDM_SANITIZE build. XGBoost under valgrind is
# slow: see tests/fuzz/README.md for the measured time.
pdm_runtime_test(valgrind_unit valgrind_unit.sh 1800)
set_tests_properties(valgrind_unit PROPERTIES SKIP_RETURN_CODE 77)
set_tests_properties(valgrind_unit PROPERTIES PROCESSORS 2)
set_tests_properties(valgrind_unit PROPERTIES COST 1000) # long: start it first
