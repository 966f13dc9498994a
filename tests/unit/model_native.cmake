# The native tree evaluator against XGBoost (parity, safety check, reader).
pdm_unit_test(test_native ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_native.c pdm_model pdm::xgboost
              Threads::Threads)
# tests the evaluator's reader and layout: model/native.h is internal to pdm_model
target_include_directories(test_native PRIVATE ${PROJECT_SOURCE_DIR}/model)
