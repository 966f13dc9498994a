pdm_runtime_test(producer_sigint producer_sigint.sh 120)
