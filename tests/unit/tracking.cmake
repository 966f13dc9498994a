pdm_unit_test(test_tracking ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tracking.c pdm_tracking)
# the YAML scalar tests use the module's internal header
target_include_directories(test_tracking PRIVATE ${PROJECT_SOURCE_DIR}/tracking)
target_link_libraries(test_tracking PRIVATE ${PDM_LIBM})
