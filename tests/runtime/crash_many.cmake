pdm_runtime_test(crash_many crash_many.sh 240)
set_tests_properties(crash_many PROPERTIES COST 300) # long: start it first
