# The alert state machine (alerts/): every transition, ids, the state's text
# form and the replay's counts.
pdm_unit_test(test_alerts ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_alerts.c pdm_alerts)
# How often one incident notifies (no second escalation after a quiet drop),
# the notified level in the text form, and the repair-of-a-failure rule.
pdm_unit_test(test_alerts_notify ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_alerts_notify.c pdm_alerts)
