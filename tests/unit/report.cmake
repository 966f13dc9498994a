pdm_unit_test(test_report ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_report.c pdm_report)
# the tick and escaping tests use the module's internal header
target_include_directories(test_report PRIVATE ${PROJECT_SOURCE_DIR}/report)
target_link_libraries(test_report PRIVATE ${PDM_LIBM})
# gcc 12 at -O2 warns that count()'s cursor may dangle into `html` across
# cmocka's setjmp-based asserts (a false positive: html lives until free).
target_compile_options(test_report PRIVATE $<$<C_COMPILER_ID:GNU>:-Wno-dangling-pointer>)
