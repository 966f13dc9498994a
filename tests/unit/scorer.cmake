# The scorer's network-free parts (the batch object, the assignment) without
# Kafka or Redis; its headers are internal to consumer/.
pdm_unit_test(test_scorer_batch ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_scorer_batch.c pdm_scorer)
target_include_directories(test_scorer_batch PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
pdm_unit_test(test_scorer_merge ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_scorer_merge.c pdm_scorer)
target_include_directories(test_scorer_merge PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
# pdm_input_validate on every documented edge; predict_request.h is internal
# to consumer/, so the test opts in to that folder.
pdm_unit_test(test_input_validate ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_input_validate.c
              pdm_predict_request ${PDM_LIBM})
target_include_directories(test_input_validate PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
# The silent-machine tracker alone.
pdm_unit_test(test_scorer_silence ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_scorer_silence.c pdm_scorer)
target_include_directories(test_scorer_silence PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
# pdm-tail's text lines (tail_format.c), and the pure parts of GET
# /v1/alerts (its query, an incident's JSON).
pdm_unit_test(test_tail_format ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tail_format.c pdm_tail_format)
target_include_directories(test_tail_format PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
pdm_unit_test(test_scorer_alerts_api ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_scorer_alerts_api.c
              pdm_scorer)
target_include_directories(test_scorer_alerts_api PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
# POST /v1/predict's body: non-finite numbers, escaped NULs, output events.
pdm_unit_test(test_predict_request ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_predict_request.c
              pdm_predict_request ${PDM_LIBM})
target_include_directories(test_predict_request PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
# The readiness rule that /readyz and pdm_ready share.
pdm_unit_test(test_scorer_ready ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_scorer_ready.c pdm_scorer ${PDM_LIBM})
target_include_directories(test_scorer_ready PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
# The loop's per-stage clock.
pdm_unit_test(test_scorer_stages ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_scorer_stages.c pdm_scorer ${PDM_LIBM})
target_include_directories(test_scorer_stages PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
# What the scorer reads from librdkafka's statistics.
pdm_unit_test(test_scorer_kafka_stats ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_scorer_kafka_stats.c pdm_scorer ${PDM_LIBM})
target_include_directories(test_scorer_kafka_stats PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
