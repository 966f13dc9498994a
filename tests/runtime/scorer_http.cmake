pdm_runtime_test(scorer_http scorer_http.sh 120)
