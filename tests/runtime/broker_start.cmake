pdm_runtime_test(broker_start broker_start.sh 60)
