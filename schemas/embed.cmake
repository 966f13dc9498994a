# Generates schemas_embedded.c: each .avsc as a C string, so programs need no
# schema files at run time. Run with -DSRC=<schemas dir> -DOUT=<file.c>.
set(types TelemetryEvent ErrorEvent MaintenanceEvent FailureEvent MachineInfo RiskEvent MachineSilence)
set(body "/* Generated from the .avsc files by schemas/embed.cmake: do not edit. */\n#include \"schemas_embedded.h\"\n\nconst char *const pdm_embedded_schemas[] = {\n")
foreach(t ${types})
  file(READ ${SRC}/${t}.avsc hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
  string(APPEND body "    /* ${t} */ \"${escaped}\",\n")
endforeach()
string(APPEND body "};\n")
file(WRITE ${OUT}.tmp "${body}")
file(RENAME ${OUT}.tmp ${OUT})
