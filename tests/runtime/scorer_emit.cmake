pdm_runtime_test(scorer_emit scorer_emit.sh 120)
