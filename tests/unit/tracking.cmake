# tracking/ may not be in the top-level module list: bring it in here then.
if(NOT TARGET pdm_tracking)
  add_subdirectory(${PROJECT_SOURCE_DIR}/tracking ${PROJECT_BINARY_DIR}/tracking)
endif()
pdm_unit_test(test_tracking ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tracking.c pdm_tracking)
# the YAML scalar tests use the module's internal header
target_include_directories(test_tracking PRIVATE ${PROJECT_SOURCE_DIR}/tracking)
target_link_libraries(test_tracking PRIVATE ${PDM_LIBM})
