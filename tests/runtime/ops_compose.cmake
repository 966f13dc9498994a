pdm_runtime_test(ops_compose ops_compose.sh 60)
