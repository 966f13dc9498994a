# bench-shap: exact TreeSHAP from the tables of model/shap.c against
# XGBoost's pred_contribs (1 and 2 threads) on 5-class models of 20 and 100
# rounds x depth 6 (rows/s, medians), with the largest difference.
if(TARGET pdm_dataset AND TARGET pdm_features)
  add_executable(bench-shap ${CMAKE_CURRENT_SOURCE_DIR}/bench_shap.c)
  target_link_libraries(bench-shap PRIVATE pdm_dataset pdm_features pdm_model pdm_common
                        pdm::xgboost pdm::cjson)
  # times pdm_shap on the model's booster: model_internal.h and shap.h are internal to pdm_model
  target_include_directories(bench-shap PRIVATE ${PROJECT_SOURCE_DIR}/model)
endif()
