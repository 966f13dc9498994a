# The features module: hand cases, labels and the dump format; random
# streams against a naive reference (shared fixtures in
# test_features_util.h); and (when the dataset module is built) the shared
# sample and the simulator against the same reference.
pdm_unit_test(test_features ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_features.c pdm_features)
target_sources(test_features PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_features_ref.c)
pdm_unit_test(test_features_random ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_features_random.c pdm_features)
target_sources(test_features_random PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_features_ref.c)
if(TARGET pdm_dataset)
  pdm_unit_test(test_features_data ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_features_data.c
                pdm_features pdm_dataset)
  target_sources(test_features_data PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_features_ref.c)
  # Exit 77: ../shared/data/pdm-sample (not part of a clone) is absent; the
  # simulator case ran and passed.
  set_tests_properties(test_features_data PROPERTIES SKIP_RETURN_CODE 77)
endif()
# The stream rules (features/rules.c) the store and the scorer share.
pdm_unit_test(test_rules ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rules.c pdm_features)
