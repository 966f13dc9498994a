pdm_runtime_test(scorer_alerts scorer_alerts.sh 300)
