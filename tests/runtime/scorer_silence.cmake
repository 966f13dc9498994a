pdm_runtime_test(scorer_silence scorer_silence.sh 300)
