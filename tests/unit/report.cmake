# report/ may not be in the top-level module list: bring it in here then.
if(NOT TARGET pdm_report)
  add_subdirectory(${PROJECT_SOURCE_DIR}/report ${PROJECT_BINARY_DIR}/report)
endif()
pdm_unit_test(test_report ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_report.c pdm_report)
# the tick and escaping tests use the module's internal header
target_include_directories(test_report PRIVATE ${PROJECT_SOURCE_DIR}/report)
target_link_libraries(test_report PRIVATE ${PDM_LIBM})
