# pdm-retrain's decision rules (retrain/rules.c): triggers, promotion, the
# shadow gate, the day range.
pdm_unit_test(test_retrain ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_retrain.c pdm_retrain_rules
              ${PDM_LIBM})
