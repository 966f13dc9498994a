# The retraining loop end to end: a regime change hurts the model, drift
# rises, pdm-retrain retrains on the archive and promotes, the scorer reloads,
# alerting recovers (tests/runtime/retrain_loop.sh).
pdm_runtime_test(retrain_loop retrain_loop.sh 240)
set_tests_properties(retrain_loop PROPERTIES COST 150) # long: start it first
