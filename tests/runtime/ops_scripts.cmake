pdm_runtime_test(ops_scripts ops_scripts.sh 60)
