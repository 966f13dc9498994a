pdm_runtime_test(ops_prometheus ops_prometheus.sh 60)
