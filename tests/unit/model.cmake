pdm_unit_test(test_model ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_model.c pdm_model)
pdm_unit_test(test_model_package ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_model_package.c pdm_model)
