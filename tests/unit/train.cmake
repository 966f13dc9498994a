# The trainer's alert evaluation (train/alert_eval.c): sums over machines,
# percentiles, the clear-threshold choice.
pdm_unit_test(test_train_alert_eval ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_train_alert_eval.c
              pdm_train_alerting)
