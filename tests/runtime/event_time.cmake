pdm_runtime_test(event_time event_time.sh 300)
