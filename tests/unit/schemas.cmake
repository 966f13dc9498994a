pdm_unit_test(test_schemas ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_schemas.c pdm_schemas)
