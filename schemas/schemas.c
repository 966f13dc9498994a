/* schemas.c: names of event types, levels and decode outcomes; the embedded
 * schema texts. */
#include <string.h>

#include "pdm_schemas.h"
#include "schemas_embedded.h"

static const char *const type_names[PDM_EV_COUNT] = {"telemetry", "error", "maintenance", "failure",
                                                     "machine",   "risk",  "silence"};
static const char *const schema_names[PDM_EV_COUNT] = {
    "io.pdm.TelemetryEvent", "io.pdm.ErrorEvent", "io.pdm.MaintenanceEvent", "io.pdm.FailureEvent",
    "io.pdm.MachineInfo",    "io.pdm.RiskEvent",  "io.pdm.MachineSilence"};

const char *pdm_event_type_name(pdm_event_type t)
{
    return (unsigned)t < PDM_EV_COUNT ? type_names[t] : "unknown";
}

const char *pdm_event_schema_name(pdm_event_type t)
{
    return (unsigned)t < PDM_EV_COUNT ? schema_names[t] : "unknown";
}

const char *pdm_event_schema_json(pdm_event_type t)
{
    return (unsigned)t < PDM_EV_COUNT ? pdm_embedded_schemas[t] : NULL;
}

int pdm_event_type_parse(const char *name, pdm_event_type *out)
{
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        const char *shortname = schema_names[t] + strlen("io.pdm.");
        if (!strcmp(name, type_names[t]) || !strcmp(name, schema_names[t]) ||
            !strcmp(name, shortname)) {
            *out = (pdm_event_type)t;
            return 0;
        }
    }
    return -1;
}

const char *pdm_level_name(pdm_level level)
{
    static const char *const names[] = {"OK", "WARN", "CRITICAL"};
    return (unsigned)level <= PDM_LEVEL_CRITICAL ? names[level] : "UNKNOWN";
}

const char *pdm_decode_status_name(pdm_decode_status st)
{
    switch (st) {
    case PDM_DECODE_OK:
        return "ok";
    case PDM_DECODE_EMPTY:
        return "empty";
    case PDM_DECODE_BAD_MAGIC:
        return "bad_magic";
    case PDM_DECODE_UNKNOWN_SCHEMA:
        return "unknown_schema";
    case PDM_DECODE_TRUNCATED:
        return "truncated";
    case PDM_DECODE_MALFORMED:
        return "malformed";
    case PDM_DECODE_INVALID_VALUE:
        return "invalid_value";
    }
    return "unknown";
}
