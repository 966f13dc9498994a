# The monitor module: registry exposition (checked by promtool, which
# scripts/install-deps.sh installs); drift on hand-made histograms (test_monitor_psi),
# live precision/recall rules (test_monitor_perf) and the same against a plain
# reference model on random streams (test_monitor_perf_diff);
# and drift on simulated fleets (needs the dataset module).
pdm_unit_test(test_monitor ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_monitor.c pdm_monitor Threads::Threads)
pdm_unit_test(test_monitor_psi ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_monitor_psi.c pdm_monitor)
pdm_unit_test(test_monitor_perf ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_monitor_perf.c pdm_monitor)
pdm_unit_test(test_monitor_perf_diff ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_monitor_perf_diff.c
              pdm_monitor)
if(TARGET pdm_dataset)
  pdm_unit_test(test_monitor_drift ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_monitor_drift.c
                pdm_monitor pdm_dataset pdm_features pdm_model)
endif()
