/* pdm_schemas.h: the product's events and their Avro wire codec.
 *
 * Every event has a schema in schemas/ (one .avsc file per type) (namespace io.pdm), embedded in
 * the library at build time. On the wire a message is, by default, Avro
 * single-object encoding: 0xC3 0x01, the 8-byte little-endian CRC-64-AVRO
 * fingerprint of the schema's Parsing Canonical Form, then the binary body.
 * So every message names its schema and one topic may carry several types.
 * Optionally the Confluent Schema Registry framing (0x00, 4-byte big-endian
 * schema id, body) with ids set in configuration.
 *
 * Names in the data ("error3", "comp2", "model4") are kept as their numbers
 * in the structs (3, 2, 4) and written back as the names on the wire.
 *
 * The codec checks the wire, not the meaning: NaN and infinite doubles pass
 * through unchanged (range checks belong to the scorer), while names outside
 * error1..5, comp1..4, modelN (N >= 1) and unknown enum symbols are refused.
 *
 * Schemas evolve by appending fields with defaults (RiskEvent version 2
 * added the incident fields): a message names its version by its
 * fingerprint, and the codec decodes every version it keeps.
 *
 * A pdm_codec is not thread-safe: use one per thread.
 */
#ifndef PDM_SCHEMAS_H
#define PDM_SCHEMAS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    PDM_EV_TELEMETRY = 0, /* io.pdm.TelemetryEvent */
    PDM_EV_ERROR,         /* io.pdm.ErrorEvent */
    PDM_EV_MAINTENANCE,   /* io.pdm.MaintenanceEvent */
    PDM_EV_FAILURE,       /* io.pdm.FailureEvent (ground truth, never a feature) */
    PDM_EV_MACHINE,       /* io.pdm.MachineInfo */
    PDM_EV_RISK,          /* io.pdm.RiskEvent (output) */
    PDM_EV_SILENCE,       /* io.pdm.MachineSilence (output) */
    PDM_EV_COUNT
} pdm_event_type;

#define PDM_N_ERRORS 5     /* error1..error5 */
#define PDM_N_COMPONENTS 4 /* comp1..comp4 */
#define PDM_N_REASONS 3    /* top reasons carried by WARN/CRITICAL risk events */

typedef enum { PDM_LEVEL_OK = 0, PDM_LEVEL_WARN, PDM_LEVEL_CRITICAL } pdm_level;

typedef struct {
    char feature[48];
    double value;        /* NaN when the feature was missing */
    double contribution; /* SHAP value towards the risk */
} pdm_reason;

/* The alert incident a RiskEvent belongs to (RiskEvent version 2; the
 * alert state machine in alerts/ decides them). The zero values are the
 * schema's defaults except opened_at: see pdm_risk_no_incident. */
typedef enum { PDM_INCIDENT_FIRING = 0, PDM_INCIDENT_RESOLVED } pdm_incident_status;

typedef enum {
    PDM_RESOLUTION_NONE = 0, /* still firing */
    PDM_RESOLUTION_CLEARED,  /* the scores fell below the clear threshold */
    PDM_RESOLUTION_REPAIRED, /* maintenance of the incident's component */
    PDM_RESOLUTION_FAILED,   /* the incident's component failed */
    PDM_RESOLUTION_SILENT,   /* the machine stopped reporting */
} pdm_alert_resolution;
#define PDM_ALERT_N_RESOLUTIONS 5

#define PDM_INCIDENT_ID_SIZE 40 /* "<machine>-<opened_at ms>" and its NUL */

typedef struct {
    char event_id[72]; /* deterministic from machine_id, ts, model_version */
    int64_t scored_at; /* processing time, ms UTC */
    char model_version[48];
    double risk;                             /* P(any component fails within the horizon) */
    double component_prob[PDM_N_COMPONENTS]; /* comp1..comp4 */
    pdm_level level;
    int n_reasons; /* 0..PDM_N_REASONS */
    pdm_reason reasons[PDM_N_REASONS];
    /* The incident (version 2 fields; a version 1 message decodes with the
     * defaults pdm_risk_no_incident sets). */
    char incident_id[PDM_INCIDENT_ID_SIZE]; /* "" when the event concerns no incident */
    pdm_incident_status status;             /* firing when none */
    int64_t opened_at;                      /* ms UTC; INT64_MIN when none (null on the wire) */
    double peak_risk;                       /* 0 when none */
    int component;                          /* K of "compK", 1..PDM_N_COMPONENTS; 0 none ("") */
    pdm_alert_resolution resolution;        /* none while firing */
} pdm_risk;

/* Sets r's incident fields to the schema's defaults: no incident. Every
 * producer of RiskEvents that is not told of an incident calls it. Inline
 * so that modules holding events without the codec (model/) can. */
static inline void pdm_risk_no_incident(pdm_risk *r)
{
    r->incident_id[0] = '\0';
    r->status = PDM_INCIDENT_FIRING;
    r->opened_at = INT64_MIN;
    r->peak_risk = 0;
    r->component = 0;
    r->resolution = PDM_RESOLUTION_NONE;
}

typedef struct {
    pdm_event_type type;
    int32_t machine_id;
    int64_t ts; /* event time, ms since the epoch, UTC (timestamp-millis) */
    union {
        struct {
            double volt, rotate, pressure, vibration;
        } telemetry;
        struct {
            int error_id; /* K of "errorK", 1..PDM_N_ERRORS */
        } error;
        struct {
            int component; /* K of "compK", 1..PDM_N_COMPONENTS */
        } maintenance, failure;
        struct {
            int model; /* N of "modelN", >= 1 */
            int age;   /* years */
        } machine;
        struct {
            int64_t last_seen; /* the machine's newest telemetry, ms UTC */
            int silent;        /* 1 went silent, 0 came back */
        } silence;
        /* Kept out of line so that input events stay small (48 bytes): a
         * dataset holds millions of them. For encoding the caller points it
         * at its own pdm_risk; pdm_codec_decode points it at a pdm_risk owned
         * by the codec, valid until the next decode call on that codec. */
        pdm_risk *risk;
    } u;
} pdm_event;

/* Schema facts, fixed at build time. */
const char *pdm_event_type_name(pdm_event_type t);   /* "telemetry", "error", ... */
const char *pdm_event_schema_name(pdm_event_type t); /* "io.pdm.TelemetryEvent" */
const char *pdm_event_schema_json(pdm_event_type t); /* the .avsc text */
const char *pdm_level_name(pdm_level level);         /* "OK", "WARN", "CRITICAL" */
/* The RiskEvent enum symbols: "firing", "resolved"; "none", "cleared", ... */
const char *pdm_incident_status_symbol(pdm_incident_status s);
const char *pdm_resolution_symbol(pdm_alert_resolution r);
/* Parses "telemetry"/"error"/... or the schema's full or short name. */
int pdm_event_type_parse(const char *name, pdm_event_type *out);

/* Schema evolution: a type's current schema is its newest version; the
 * earlier versions kept in schemas/history/ (each later one appends fields
 * with defaults) are still decoded, the fields a message lacks taking their
 * defaults. Encoding always writes the current version. */
int pdm_event_schema_version(pdm_event_type t); /* the current version, >= 1; 0 if no type */
/* The .avsc text of a version (1..current), or NULL if it is not kept. */
const char *pdm_event_schema_json_version(pdm_event_type t, int version);

/* Avro specification helpers (exposed for tests and tools). */
uint64_t pdm_avro_crc64(const void *data, size_t len); /* CRC-64-AVRO, 0xc15d213aa4d7a795 on "" */
/* Writes the Parsing Canonical Form of a schema (JSON text) into a malloc'ed
 * string. Returns 0 or -1 with errstr. */
int pdm_avro_canonical_form(const char *schema_json, char **out, char *errstr, size_t errlen);

/* ---- codec -------------------------------------------------------------- */

typedef enum { PDM_WIRE_SINGLE_OBJECT = 0, PDM_WIRE_CONFLUENT } pdm_wire_format;

/* Why a message did not decode; the names are metric labels and DLQ reasons. */
typedef enum {
    PDM_DECODE_OK = 0,
    PDM_DECODE_EMPTY = -1,          /* "empty" */
    PDM_DECODE_BAD_MAGIC = -2,      /* "bad_magic": neither framing */
    PDM_DECODE_UNKNOWN_SCHEMA = -3, /* "unknown_schema": fingerprint or id not known */
    PDM_DECODE_TRUNCATED = -4,      /* "truncated": body ends early */
    PDM_DECODE_MALFORMED = -5,      /* "malformed": body does not parse (or trailing bytes) */
    PDM_DECODE_INVALID_VALUE = -6,  /* "invalid_value": parses, but a name/enum is unknown */
} pdm_decode_status;

const char *pdm_decode_status_name(pdm_decode_status st);

/* Largest encoded event (a RiskEvent with three reasons), with framing. */
#define PDM_MAX_ENCODED 1024

typedef struct pdm_codec pdm_codec;

pdm_codec *pdm_codec_new(char *errstr, size_t errlen);
void pdm_codec_destroy(pdm_codec *codec);

/* The 64-bit fingerprint of a type's schema (CRC-64-AVRO of its canonical form). */
uint64_t pdm_codec_fingerprint(const pdm_codec *codec, pdm_event_type t);
/* The same for a version the codec decodes (see pdm_event_schema_version);
 * 0 if it does not. Single-object messages framed with an earlier version's
 * fingerprint decode with that version's layout. */
uint64_t pdm_codec_fingerprint_version(const pdm_codec *codec, pdm_event_type t, int version);
/* Sets the Confluent Schema Registry id of a type (needed to encode or decode
 * it with PDM_WIRE_CONFLUENT). Returns 0 or -1. */
int pdm_codec_set_schema_id(pdm_codec *codec, pdm_event_type t, int32_t id);
/* Parses a --schema-ids list, "telemetry=7,error=8,...": event type names
 * (pdm_event_type_parse), each at most once, with positive ids, no id for
 * two types. ids[t] is the id of type t, 0 for a type the list does not
 * name. An empty list (or NULL) names none. Returns 0, or -1 with errstr
 * naming the entry at fault. */
int pdm_schema_ids_parse(const char *list, int32_t ids[PDM_EV_COUNT], char *errstr,
                         size_t errlen);
/* Sets the ids of such a list on the codec: a message framed with one of
 * them (0x00, 4-byte big-endian id) then decodes as that type, and any other
 * id stays unknown (PDM_DECODE_UNKNOWN_SCHEMA). Returns 0 or -1 with errstr. */
int pdm_codec_set_schema_ids(pdm_codec *codec, const char *list, char *errstr, size_t errlen);

/* Encodes ev into buf (cap bytes; PDM_MAX_ENCODED is always enough).
 * Returns the encoded length, or -1 with errstr. */
int pdm_codec_encode(pdm_codec *codec, const pdm_event *ev, pdm_wire_format fmt, void *buf,
                     size_t cap, char *errstr, size_t errlen);
/* Decodes one message of either framing (told apart by its first byte).
 * Returns PDM_DECODE_OK or a negative pdm_decode_status, with errstr. */
int pdm_codec_decode(pdm_codec *codec, const void *data, size_t len, pdm_event *out, char *errstr,
                     size_t errlen);

/* What a message says of itself before it is decoded: its type, machine and
 * event time (every input schema begins with machine_id and ts), read from
 * the framing and the first two fields only. For ordering messages by event
 * time before the full decode, which still decides whether one is valid.
 * Returns 0, or -1 if the message does not get that far (or is of an output
 * type: RiskEvent, MachineSilence). */
typedef struct {
    pdm_event_type type;
    int32_t machine_id;
    int64_t ts;
} pdm_event_peek;
int pdm_codec_peek(const pdm_codec *codec, const void *data, size_t len, pdm_event_peek *out);

/* ---- JSON (tools, HTTP, logs) --------------------------------------------- */

/* One-line JSON of an event, with the Avro field names and ts as
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" plus "type". malloc'ed; NULL on out of memory. */
char *pdm_event_to_json(const pdm_event *ev);
/* Parses the JSON form above ("type" required; "ts" as that text or as
 * integer milliseconds; null for a NaN double). Risk events are refused here
 * (their pdm_risk needs a home): see below. Returns 0 or -1 with errstr. */
int pdm_event_from_json(const char *json, pdm_event *out, char *errstr, size_t errlen);
/* The same for every type: a risk event's fields go to *risk and
 * out->u.risk points at it (risk may be NULL to refuse risk events). */
int pdm_event_from_json_with_risk(const char *json, pdm_event *out, pdm_risk *risk, char *errstr,
                                  size_t errlen);

#endif
