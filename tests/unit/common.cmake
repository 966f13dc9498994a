pdm_unit_test(test_common ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_common.c pdm_common)
