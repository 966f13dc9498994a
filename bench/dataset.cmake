# bench-sim: pdm-sim's CSV writing (100 machines x 8760 h), loading it back
# with the PdM loader, and streaming it with pdm_sim_next; medians of runs.
add_executable(bench-sim ${CMAKE_CURRENT_SOURCE_DIR}/bench_sim.c)
target_link_libraries(bench-sim PRIVATE pdm_dataset)
