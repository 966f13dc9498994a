# The codec: CRC-64-AVRO, canonical form and bytes against python3-avro;
# schema evolution and round trips; rejection of bad messages (shared
# fixtures in test_schemas_util.h).
pdm_unit_test(test_schemas ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_schemas.c pdm_schemas)
pdm_unit_test(test_schemas_evolution ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_schemas_evolution.c pdm_schemas)
pdm_unit_test(test_schemas_reject ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_schemas_reject.c pdm_schemas)
# Runs the built pdm-avro program.
pdm_unit_test(test_schemas_tool ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_schemas_tool.c pdm_schemas)
add_dependencies(test_schemas_tool pdm-avro)
# --schema-ids: Confluent Schema Registry ids per type.
pdm_unit_test(test_schema_ids ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_schema_ids.c pdm_schemas)
# The direct encoder against avro-c's generic writer, byte for byte.
pdm_unit_test(test_encode_direct ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_encode_direct.c pdm_schemas)
target_include_directories(test_encode_direct PRIVATE ${PROJECT_SOURCE_DIR}/schemas)
# The direct decoder against avro-c's generic reader: same status, message, event.
pdm_unit_test(test_decode_direct ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_decode_direct.c pdm_schemas)
target_include_directories(test_decode_direct PRIVATE ${PROJECT_SOURCE_DIR}/schemas)
