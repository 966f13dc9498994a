# The scorer's network-free parts (the batch object, the assignment) without
# Kafka or Redis; its headers are internal to consumer/.
pdm_unit_test(test_scorer_batch ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_scorer_batch.c pdm_scorer)
target_include_directories(test_scorer_batch PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
