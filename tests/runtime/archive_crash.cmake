pdm_runtime_test(archive_crash archive_crash.sh 240)
set_tests_properties(archive_crash PROPERTIES COST 150) # long: start it first
