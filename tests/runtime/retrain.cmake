# pdm-retrain on a real archive: dry run, schedule promotion, drift read from
# a running pdm-scorer, rollback (tests/runtime/retrain.sh).
pdm_runtime_test(retrain retrain.sh 300)
