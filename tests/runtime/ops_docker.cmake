pdm_runtime_test(ops_docker ops_docker.sh 60)
