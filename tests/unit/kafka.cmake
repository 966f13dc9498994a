# -X properties routed to the client they are for.
pdm_unit_test(test_kafka_conf ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_kafka_conf.c pdm_kafka)
