# The dataset module: the PdM CSV loader (fixtures in tests/data/) and the
# fleet simulator.
pdm_unit_test(test_dataset ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_dataset.c pdm_dataset)
pdm_unit_test(test_dataset_sim ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_dataset_sim.c pdm_dataset)
