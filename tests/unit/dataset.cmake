# The dataset module: the PdM CSV loader (fixtures in tests/data/) and the
# fleet simulator.
pdm_unit_test(test_dataset ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_dataset.c pdm_dataset)
# Exit 77: ../shared/data/pdm-sample (not part of a clone) is absent; the
# other cases ran and passed.
set_tests_properties(test_dataset PROPERTIES SKIP_RETURN_CODE 77)
pdm_unit_test(test_dataset_sim ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_dataset_sim.c pdm_dataset)
# The realistic fleet's calibration against the public data's statistics
# (issue 17): one simulated year of 100 machines.
pdm_unit_test(test_dataset_calib ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_dataset_calib.c pdm_dataset)
# Regime changes of the simulated fleet: --shift and --churn (issue 17).
pdm_unit_test(test_dataset_regime ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_dataset_regime.c pdm_dataset)
