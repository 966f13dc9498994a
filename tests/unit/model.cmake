pdm_unit_test(test_model ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_model.c pdm_model)
pdm_unit_test(test_model_package ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_model_package.c pdm_model)
# TreeSHAP tables against XGBoost's pred_contribs (model/shap.c).
pdm_unit_test(test_shap ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_shap.c pdm_model pdm::xgboost
              pdm::cjson Threads::Threads)
# builds pdm_shap tables directly: model/shap.h is internal to pdm_model
target_include_directories(test_shap PRIVATE ${PROJECT_SOURCE_DIR}/model)
# The model's helper threads (model/pool.h, internal).
pdm_unit_test(test_model_pool ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_model_pool.c pdm_model
              Threads::Threads)
target_include_directories(test_model_pool PRIVATE ${PROJECT_SOURCE_DIR}/model)
