pdm_runtime_test(ops_grafana ops_grafana.sh 60)
