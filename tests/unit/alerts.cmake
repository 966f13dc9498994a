# The alert state machine (alerts/): every transition, ids, the state's text
# form and the replay's counts.
pdm_unit_test(test_alerts ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_alerts.c pdm_alerts)
