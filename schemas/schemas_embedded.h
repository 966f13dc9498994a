/* schemas_embedded.h (internal): the .avsc texts, generated into the build. */
#ifndef PDM_SCHEMAS_EMBEDDED_H
#define PDM_SCHEMAS_EMBEDDED_H

/* Indexed by pdm_event_type: the current schemas. */
extern const char *const pdm_embedded_schemas[];

/* Earlier versions still decoded (schemas/history/), oldest first per type. */
typedef struct {
    int type; /* pdm_event_type */
    int version;
    const char *json;
} pdm_embedded_schema;
extern const pdm_embedded_schema pdm_embedded_history[];
extern const int pdm_embedded_history_count;

#endif
