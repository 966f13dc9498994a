pdm_runtime_test(write_errors write_errors.sh 180)
