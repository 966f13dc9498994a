pdm_runtime_test(faults_broker faults_broker.sh 180)
