# kafka/: the static group member id (pdm_kafka_instance_id_resolve).
pdm_unit_test(test_kafka ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_kafka.c pdm_kafka)
# -X properties routed to the client they are for.
pdm_unit_test(test_kafka_conf ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_kafka_conf.c pdm_kafka)
