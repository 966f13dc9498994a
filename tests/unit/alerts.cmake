# The alert state machine (alerts/): the policy and every transition; its
# clock, ids and text form; the replay's counts (shared fixtures in
# test_alerts_util.h).
pdm_unit_test(test_alerts ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_alerts.c pdm_alerts)
pdm_unit_test(test_alerts_text ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_alerts_text.c pdm_alerts)
pdm_unit_test(test_alerts_replay ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_alerts_replay.c pdm_alerts)
# How often one incident notifies (no second escalation after a quiet drop),
# the notified level in the text form, and the repair-of-a-failure rule.
pdm_unit_test(test_alerts_notify ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_alerts_notify.c pdm_alerts)
