# The http module: a real server on 127.0.0.1 with an ephemeral port and a
# raw-socket client: routing, auth, body limit, JSON checks; then timeouts,
# connection limits, memory and stop (shared fixtures in test_http_util.h).
pdm_unit_test(test_http ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_http.c pdm_http pdm::cjson Threads::Threads)
pdm_unit_test(test_http_limits ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_http_limits.c pdm_http pdm::cjson Threads::Threads)
# The http module against hostile clients: request deadline on dribbled heads
# and bodies, per-address limit, ambiguous framing, scoped tokens.
pdm_unit_test(test_http_hardening ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_http_hardening.c pdm_http pdm::cjson Threads::Threads)
# The gate's request stream (http/stream.c, internal to pdm_http): what goes
# on to libmicrohttpd, chunked bodies decoded, refusals. Pure, no sockets.
pdm_unit_test(test_http_stream ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_http_stream.c pdm_http pdm::cjson)
target_include_directories(test_http_stream PRIVATE ${PROJECT_SOURCE_DIR}/http)
