pdm_runtime_test(train train.sh 120)
# Exit 77 means "skipped": ../shared/data/pdm-sample is not part of a clone.
pdm_runtime_test(train_sample train_sample.sh 60)
set_tests_properties(train_sample PROPERTIES SKIP_RETURN_CODE 77)
