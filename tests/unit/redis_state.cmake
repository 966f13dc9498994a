pdm_unit_test(test_redis_state ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_redis_state.c pdm_redis_state pdm::hiredis)
target_include_directories(test_redis_state PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
pdm_unit_test(test_state_cache ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_state_cache.c pdm_redis_state pdm::hiredis)
target_include_directories(test_state_cache PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit)
