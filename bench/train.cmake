# bench-train: the whole pdm-train run on a simulated fleet (100 machines x
# 8760 h), phase by phase, against XGBoost's own training on the same rows
# with the same parameters; and pdm-train's peak RSS.
if(TARGET pdm-train)
  add_executable(bench-train ${CMAKE_CURRENT_SOURCE_DIR}/bench_train.c)
  target_link_libraries(bench-train PRIVATE pdm_dataset pdm_features pdm_model pdm::xgboost)
  add_dependencies(bench-train pdm-train)
endif()
