# The features module: hand cases, random streams against a naive reference,
# labels and the dump format; and (when the dataset module is built) the
# shared sample and the simulator against the same reference.
pdm_unit_test(test_features ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_features.c pdm_features)
target_sources(test_features PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_features_ref.c)
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
