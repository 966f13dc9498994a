# The monitor module: registry exposition (checked by promtool, which
# scripts/install-deps.sh installs), drift on hand-made histograms, live precision/recall rules;
# and drift on simulated fleets (needs the dataset module).
pdm_unit_test(test_monitor ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_monitor.c pdm_monitor Threads::Threads)
if(TARGET pdm_dataset)
  pdm_unit_test(test_monitor_drift ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_monitor_drift.c
                pdm_monitor pdm_dataset pdm_features pdm_model)
endif()
