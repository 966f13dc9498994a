/* schemas.c: names of event types, levels, RiskEvent symbols and decode
 * outcomes; the embedded schema texts and their versions. */
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

int pdm_event_schema_version(pdm_event_type t)
{
    if ((unsigned)t >= PDM_EV_COUNT)
        return 0;
    int newest_kept = 0;
    for (int i = 0; i < pdm_embedded_history_count; i++)
        if (pdm_embedded_history[i].type == (int)t && pdm_embedded_history[i].version > newest_kept)
            newest_kept = pdm_embedded_history[i].version;
    return newest_kept + 1;
}

const char *pdm_event_schema_json_version(pdm_event_type t, int version)
{
    if (version == pdm_event_schema_version(t))
        return pdm_event_schema_json(t);
    for (int i = 0; i < pdm_embedded_history_count; i++)
        if (pdm_embedded_history[i].type == (int)t && pdm_embedded_history[i].version == version)
            return pdm_embedded_history[i].json;
    return NULL;
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

const char *pdm_incident_status_symbol(pdm_incident_status s)
{
    static const char *const names[] = {"firing", "resolved"};
    return (unsigned)s <= PDM_INCIDENT_RESOLVED ? names[s] : "unknown";
}

const char *pdm_resolution_symbol(pdm_alert_resolution r)
{
    static const char *const names[PDM_ALERT_N_RESOLUTIONS] = {"none", "cleared", "repaired",
                                                               "failed", "silent"};
    return (unsigned)r < PDM_ALERT_N_RESOLUTIONS ? names[r] : "unknown";
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
