pdm_runtime_test(event_time event_time.sh 300)
set_tests_properties(event_time PROPERTIES COST 300) # long: start it first
