pdm_runtime_test(stream_parity stream_parity.sh 400)
set_tests_properties(stream_parity PROPERTIES COST 150) # long: start it first
