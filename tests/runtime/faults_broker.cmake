pdm_runtime_test(faults_broker faults_broker.sh 180)
set_tests_properties(faults_broker PROPERTIES COST 150) # long: start it first
