pdm_runtime_test(crash_many crash_many.sh 240)
