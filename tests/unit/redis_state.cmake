# The scorer's Redis state layer against a real redis-server (redis_server.h
# starts one). redis_state.h and state_cache.h are internal to consumer/.
pdm_unit_test(test_redis_state ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_redis_state.c pdm_redis_state pdm::hiredis)
target_include_directories(test_redis_state PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit
                           ${PROJECT_SOURCE_DIR}/consumer)
pdm_unit_test(test_state_cache ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_state_cache.c pdm_redis_state pdm::hiredis)
target_include_directories(test_state_cache PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit
                           ${PROJECT_SOURCE_DIR}/consumer)
# The Redis Cluster rules alone (hash slots, redirects): pure, no server.
pdm_unit_test(test_redis_slot ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_redis_slot.c pdm_redis_state)
target_include_directories(test_redis_slot PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
# The scorer's own RESP formatting against hiredis's (pure, no server).
pdm_unit_test(test_redis_resp ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_redis_resp.c pdm_redis_state pdm::hiredis)
target_include_directories(test_redis_resp PRIVATE ${PROJECT_SOURCE_DIR}/consumer)
