pdm_runtime_test(scorer_shadow scorer_shadow.sh 240)
