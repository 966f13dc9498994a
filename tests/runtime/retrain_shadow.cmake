# pdm-retrain --shadow-hours against a real pdm-scorer --shadow-model (tests/runtime/retrain_shadow.sh).
pdm_runtime_test(retrain_shadow retrain_shadow.sh 240)
