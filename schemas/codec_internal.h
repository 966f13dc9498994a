/* codec_internal.h (internal to schemas/): what the codec's files share.
 *
 *   codec.c           the codec object: every schema version's avro-c value,
 *                     validator and fingerprint; schema ids
 *   codec_validate.c  the body validator compiled from a schema
 *   codec_encode.c    events into avro-c values and messages
 *   codec_decode.c    message framing, validation, avro-c values into events
 *   encode_direct.c   the direct encoder of the current schemas
 *   decode_direct.c   the direct decoder of the current schemas */
#ifndef PDM_CODEC_INTERNAL_H
#define PDM_CODEC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>
#include <cjson/cJSON.h>

#include "pdm_schemas.h"

/* ---- validator (codec_validate.c) ---------------------------------------------- */

typedef enum {
    V_NULL,
    V_BOOL,
    V_INT,
    V_LONG,
    V_FLOAT,
    V_DOUBLE,
    V_STRING,
    V_RECORD,
    V_ENUM,
    V_ARRAY,
    V_UNION
} vkind;

typedef struct vnode {
    vkind kind;
    size_t n;             /* record fields, enum symbols or union branches */
    struct vnode **child; /* record fields; union branches; array items (child[0]) */
} vnode;

typedef struct {
    const unsigned char *p, *end;
    int status;   /* PDM_DECODE_OK, _TRUNCATED or _MALFORMED */
    int bad_enum; /* an enum index past the symbols: invalid_value if all else parses */
} vcursor;

void vnode_free(vnode *v);
/* The validator of a schema in canonical form; NULL if out of memory or the
 * schema uses a type pdm's schemas do not. */
vnode *vnode_compile(const cJSON *s);
/* A zigzag varint at c->p; 0 with c->status set if there is none. */
int64_t read_varint(vcursor *c);
/* Walks one value of v at c->p, setting c->status (or c->bad_enum). */
void validate(const vnode *v, vcursor *c, int depth);

/* ---- checks of decoded fields (codec_decode.c), shared by both decoders --------- */

/* Writes errstr (printf-style) and returns status. */
int decode_err(int status, char *errstr, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* s[0..len) as prefix + a number in 1..max ("error3" -> 3) into *out; else
 * PDM_DECODE_INVALID_VALUE with errstr. */
int decode_named(const char *s, size_t len, const char *prefix, int max, int *out, char *errstr,
                 size_t errlen);
/* s[0..len) into dst (cap bytes, NUL-terminated); PDM_DECODE_INVALID_VALUE
 * with errstr naming `what` when it does not fit. */
int decode_string(char *dst, size_t cap, const char *s, size_t len, const char *what, char *errstr,
                  size_t errlen);

/* ---- the codec (codec.c) --------------------------------------------------------- */

typedef struct {
    pdm_event_type type;
    int version; /* 1..pdm_event_schema_version(type) */
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    int has_value;
    vnode *validator;
    uint64_t fingerprint;
    unsigned char fp_le[8];
    int32_t schema_id;
    int direct; /* encoded by encode_direct.c */
} codec_type;

struct pdm_codec {
    /* types[t] is type t's current schema; the earlier versions follow. */
    codec_type *types;
    size_t n_types;
    avro_reader_t reader;
    avro_writer_t writer;
    pdm_risk risk; /* decoded RiskEvents point here */
};

/* RiskEvent version 2 appended the incident fields after top_reasons. */
enum {
    RISK_INCIDENT_ID = 9,
    RISK_STATUS,
    RISK_OPENED_AT,
    RISK_PEAK_RISK,
    RISK_COMPONENT,
    RISK_RESOLUTION
};

#endif
