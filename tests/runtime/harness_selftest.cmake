pdm_runtime_test(harness_selftest harness_selftest.sh 60)
