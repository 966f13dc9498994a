# The archive module: its rules, state file, writer (commit, recovery,
# retention) and export on real directories. archive_internal.h is internal
# to archive/, so the test opts in to that folder.
pdm_unit_test(test_archive ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_archive.c pdm_archive pdm_dataset
              ${PDM_LIBM})
target_include_directories(test_archive PRIVATE ${PROJECT_SOURCE_DIR}/archive)
