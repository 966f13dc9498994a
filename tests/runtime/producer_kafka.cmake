pdm_runtime_test(producer_kafka producer_kafka.sh 120)
