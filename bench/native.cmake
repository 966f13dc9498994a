# bench-native: the native tree evaluator against XGBoost's predictor on
# 5-class models of 50 and 200 rounds x depth 6 (rows/s, one thread, batches
# of 1,000 and one row per call, medians), with a bit-for-bit comparison.
if(TARGET pdm_dataset AND TARGET pdm_features)
  add_executable(bench-native ${CMAKE_CURRENT_SOURCE_DIR}/bench_native.c)
  target_link_libraries(bench-native PRIVATE pdm_dataset pdm_features pdm_model pdm_common
                        pdm::xgboost)
  # times pdm_native directly: model/native.h is internal to pdm_model
  target_include_directories(bench-native PRIVATE ${PROJECT_SOURCE_DIR}/model)
endif()
