# The streaming benchmarks (issue 4), driven by bench/stream.sh:
# bench-stream-raw: the Kafka ceilings (a minimal batch consumer of the
#   backlog topic with its watermarks; the scorer's produce-and-flush pattern);
# bench-stream-model: the model's batch, per-row and TreeSHAP rates on the
#   rows of the same data set;
# bench-stream-latency: produce-to-RiskEvent latency of a running pdm-scorer
#   at a steady rate.
add_executable(bench-stream-raw ${CMAKE_CURRENT_SOURCE_DIR}/stream_raw.c)
target_link_libraries(bench-stream-raw PRIVATE pdm_kafka pdm_schemas pdm_common)
add_executable(bench-stream-latency ${CMAKE_CURRENT_SOURCE_DIR}/stream_latency.c)
target_link_libraries(bench-stream-latency PRIVATE pdm_dataset pdm_kafka pdm_schemas pdm_common
                      Threads::Threads)
add_executable(bench-stream-model ${CMAKE_CURRENT_SOURCE_DIR}/stream_model.c)
target_link_libraries(bench-stream-model PRIVATE pdm_dataset pdm_features pdm_model pdm_common
                      pdm::xgboost)
