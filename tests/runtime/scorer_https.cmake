pdm_runtime_test(scorer_https scorer_https.sh 180)
