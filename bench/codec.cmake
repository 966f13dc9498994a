# bench-codec: encode/decode rates of the Avro codec (not a test).
add_executable(bench-codec ${CMAKE_CURRENT_SOURCE_DIR}/bench_codec.c)
target_link_libraries(bench-codec PRIVATE pdm_schemas pdm_common)
