pdm_runtime_test(redis_cluster_parity redis_cluster_parity.sh 300)
set_tests_properties(redis_cluster_parity PROPERTIES COST 200) # long: start it first
