/* schemas_embedded.h (internal): the .avsc texts, generated into the build. */
#ifndef PDM_SCHEMAS_EMBEDDED_H
#define PDM_SCHEMAS_EMBEDDED_H

/* Indexed by pdm_event_type. */
extern const char *const pdm_embedded_schemas[];

#endif
