# bench-features: the featurizer over 100 machines x 8760 hourly rows (the
# trainer's path), rows/s as the median of runs, and peak RSS.
add_executable(bench-features ${CMAKE_CURRENT_SOURCE_DIR}/bench_features.c)
target_link_libraries(bench-features PRIVATE pdm_features pdm_common)
