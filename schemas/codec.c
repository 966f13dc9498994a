/* codec.c: events to and from Avro messages, with avro-c doing the binary
 * encoding.
 *
 * avro-c trusts lengths it reads (a string length of 2^62 becomes a malloc of
 * that size), so every body is first walked by a small validator compiled
 * from the schema's canonical form: it checks that every length, index and
 * count fits in the bytes that are there, and tells a truncated body from a
 * malformed one. Only a body that passes is handed to avro_value_read
 * (avro-c's memory reader does stop at the end of its buffer; the lengths
 * and counts it would allocate for are what it does not check). An enum index
 * past the symbols is an invalid value rather than a malformed body.
 * Values, readers and writers are created once per codec and reused; decoding
 * a string still allocates inside avro-c.
 *
 * Schema evolution: besides each type's current schema the codec keeps the
 * earlier versions in schemas/history/, each with its own value, validator
 * and fingerprint. A message is decoded with the version its fingerprint
 * names, so a version 1 RiskEvent is read with the version 1 layout and the
 * fields it lacks take their defaults; encoding always writes the current
 * version. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <cjson/cJSON.h>

#include "encode_direct.h"
#include "pdm_common.h"
#include "pdm_schemas.h"
#include "schemas_embedded.h"

/* ---- validator ------------------------------------------------------------ */

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

static void vnode_free(vnode *v)
{
    if (!v)
        return;
    if (v->child)
        for (size_t i = 0; i < (v->kind == V_ARRAY ? 1 : v->n); i++)
            vnode_free(v->child[i]);
    free(v->child);
    free(v);
}

static vnode *vnode_compile(const cJSON *s)
{
    vnode *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    if (cJSON_IsArray(s)) { /* a union: its branches */
        const cJSON *b;
        size_t i = 0;
        v->kind = V_UNION;
        v->n = (size_t)cJSON_GetArraySize(s);
        v->child = calloc(v->n ? v->n : 1, sizeof *v->child);
        if (!v->child)
            goto fail;
        cJSON_ArrayForEach(b, s)
        {
            if (!(v->child[i++] = vnode_compile(b)))
                goto fail;
        }
        return v;
    }
    const char *t = cJSON_IsString(s)
                        ? s->valuestring
                        : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "type"));
    if (!t)
        goto fail;
    if (!strcmp(t, "null"))
        v->kind = V_NULL;
    else if (!strcmp(t, "boolean"))
        v->kind = V_BOOL;
    else if (!strcmp(t, "int"))
        v->kind = V_INT;
    else if (!strcmp(t, "long"))
        v->kind = V_LONG;
    else if (!strcmp(t, "float"))
        v->kind = V_FLOAT;
    else if (!strcmp(t, "double"))
        v->kind = V_DOUBLE;
    else if (!strcmp(t, "string") || !strcmp(t, "bytes"))
        v->kind = V_STRING;
    else if (!strcmp(t, "enum")) {
        v->kind = V_ENUM;
        v->n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s, "symbols"));
    } else if (!strcmp(t, "array")) {
        v->kind = V_ARRAY;
        v->child = calloc(1, sizeof *v->child);
        if (!v->child ||
            !(v->child[0] = vnode_compile(cJSON_GetObjectItemCaseSensitive(s, "items"))))
            goto fail;
    } else if (!strcmp(t, "record")) {
        const cJSON *fields = cJSON_GetObjectItemCaseSensitive(s, "fields");
        v->kind = V_RECORD;
        v->n = (size_t)cJSON_GetArraySize(fields);
        v->child = calloc(v->n ? v->n : 1, sizeof *v->child);
        if (!v->child)
            goto fail;
        size_t i = 0;
        const cJSON *f;
        cJSON_ArrayForEach(f, fields)
        {
            if (!(v->child[i++] = vnode_compile(cJSON_GetObjectItemCaseSensitive(f, "type"))))
                goto fail;
        }
    } else {
        goto fail; /* not used by pdm's schemas */
    }
    return v;
fail:
    vnode_free(v);
    return NULL;
}

typedef struct {
    const unsigned char *p, *end;
    int status;   /* PDM_DECODE_OK, _TRUNCATED or _MALFORMED */
    int bad_enum; /* an enum index past the symbols: invalid_value if all else parses */
} vcursor;

static int64_t read_varint(vcursor *c)
{
    uint64_t u = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (c->p >= c->end) {
            c->status = PDM_DECODE_TRUNCATED;
            return 0;
        }
        unsigned char b = *c->p++;
        if (shift == 63 && (b & 0x7e)) {
            c->status = PDM_DECODE_MALFORMED;
            return 0;
        }
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return (int64_t)((u >> 1) ^ (0 - (u & 1)));
    }
    c->status = PDM_DECODE_MALFORMED;
    return 0;
}

static void skip(vcursor *c, uint64_t n)
{
    if ((uint64_t)(c->end - c->p) < n) {
        c->status = PDM_DECODE_TRUNCATED;
        c->p = c->end;
    } else {
        c->p += n;
    }
}

static void validate(const vnode *v, vcursor *c, int depth)
{
    if (c->status || depth > 32)
        return;
    switch (v->kind) {
    case V_NULL:
        return;
    case V_BOOL:
        if (c->p >= c->end)
            c->status = PDM_DECODE_TRUNCATED;
        else if (*c->p++ > 1)
            c->status = PDM_DECODE_MALFORMED;
        return;
    case V_INT: {
        int64_t x = read_varint(c);
        if (!c->status && (x < INT32_MIN || x > INT32_MAX))
            c->status = PDM_DECODE_MALFORMED;
        return;
    }
    case V_LONG:
        read_varint(c);
        return;
    case V_FLOAT:
        skip(c, 4);
        return;
    case V_DOUBLE:
        skip(c, 8);
        return;
    case V_STRING: {
        int64_t len = read_varint(c);
        if (c->status)
            return;
        if (len < 0)
            c->status = PDM_DECODE_MALFORMED;
        else
            skip(c, (uint64_t)len);
        return;
    }
    case V_ENUM: {
        int64_t i = read_varint(c);
        if (!c->status && (i < 0 || (uint64_t)i >= v->n))
            c->bad_enum = 1; /* avro-c would refuse it; keep walking to see the rest */
        return;
    }
    case V_RECORD:
        for (size_t i = 0; i < v->n && !c->status; i++)
            validate(v->child[i], c, depth + 1);
        return;
    case V_ARRAY:
        for (;;) {
            int64_t count = read_varint(c);
            if (c->status || count == 0)
                return;
            if (count < 0) { /* a negative count is followed by the block's size */
                if (count == INT64_MIN) {
                    c->status = PDM_DECODE_MALFORMED;
                    return;
                }
                count = -count;
                int64_t size = read_varint(c);
                if (!c->status && size < 0)
                    c->status = PDM_DECODE_MALFORMED;
                if (c->status)
                    return;
            }
            /* Every item of pdm's arrays takes at least one byte. */
            if ((uint64_t)count > (uint64_t)(c->end - c->p)) {
                c->status = PDM_DECODE_TRUNCATED;
                return;
            }
            for (int64_t i = 0; i < count && !c->status; i++)
                validate(v->child[0], c, depth + 1);
            if (c->status)
                return;
        }
    case V_UNION: {
        int64_t i = read_varint(c);
        if (c->status)
            return;
        if (i < 0 || (uint64_t)i >= v->n)
            c->status = PDM_DECODE_MALFORMED; /* no branch to read the rest by */
        else
            validate(v->child[i], c, depth + 1);
        return;
    }
    }
}

/* ---- codec ------------------------------------------------------------------ */

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

void pdm_codec_destroy(pdm_codec *c)
{
    if (!c)
        return;
    for (size_t t = 0; c->types && t < c->n_types; t++) {
        codec_type *ct = &c->types[t];
        if (ct->has_value)
            avro_value_decref(&ct->value);
        if (ct->iface)
            avro_value_iface_decref(ct->iface);
        if (ct->schema)
            avro_schema_decref(ct->schema);
        vnode_free(ct->validator);
    }
    if (c->reader)
        avro_reader_free(c->reader);
    if (c->writer)
        avro_writer_free(c->writer);
    free(c->types);
    free(c);
}

/* Parses one schema version into *ct: avro-c value, validator, fingerprint. */
static int codec_type_init(codec_type *ct, pdm_event_type t, int version, const char *json,
                           char *errstr, size_t errlen)
{
    char *canonical = NULL, msg[PDM_ERRSTR_SIZE];
    ct->type = t;
    ct->version = version;
    if (avro_schema_from_json_length(json, strlen(json), &ct->schema))
        return pdm_err(errstr, errlen, "schema %s v%d: %s", pdm_event_schema_name(t), version,
                       avro_strerror());
    ct->iface = avro_generic_class_from_schema(ct->schema);
    if (!ct->iface || avro_generic_value_new(ct->iface, &ct->value))
        return pdm_err(errstr, errlen, "schema %s v%d: %s", pdm_event_schema_name(t), version,
                       avro_strerror());
    ct->has_value = 1;
    if (pdm_avro_canonical_form(json, &canonical, msg, sizeof msg))
        return pdm_err(errstr, errlen, "schema %s v%d: %s", pdm_event_schema_name(t), version, msg);
    ct->fingerprint = pdm_avro_crc64(canonical, strlen(canonical));
    for (int i = 0; i < 8; i++)
        ct->fp_le[i] = (unsigned char)(ct->fingerprint >> (8 * i));
    cJSON *doc = cJSON_Parse(canonical);
    free(canonical);
    ct->validator = doc ? vnode_compile(doc) : NULL;
    cJSON_Delete(doc);
    if (!ct->validator)
        return pdm_err(errstr, errlen, "schema %s v%d: cannot compile validator",
                       pdm_event_schema_name(t), version);
    return 0;
}

int pdm_codec_direct(const pdm_codec *c, pdm_event_type t)
{
    return (unsigned)t < PDM_EV_COUNT && c->types[t].direct;
}

void pdm_codec_use_direct(pdm_codec *c, int on)
{
    for (int t = 0; t < PDM_EV_COUNT; t++)
        c->types[t].direct =
            on && c->types[t].fingerprint == pdm_direct_fingerprint((pdm_event_type)t);
}

pdm_codec *pdm_codec_new(char *errstr, size_t errlen)
{
    static const char empty[1];
    pdm_codec *c = calloc(1, sizeof *c);
    if (!c) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (int t = 0; t < PDM_EV_COUNT; t++)
        n += (size_t)pdm_event_schema_version((pdm_event_type)t);
    c->types = calloc(n, sizeof *c->types);
    if (!c->types) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    c->n_types = n; /* zeroed entries are safe to destroy */
    /* The current versions first (indexed by type), then the earlier ones. */
    size_t i = PDM_EV_COUNT;
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        int current = pdm_event_schema_version((pdm_event_type)t);
        if (codec_type_init(&c->types[t], (pdm_event_type)t, current,
                            pdm_event_schema_json((pdm_event_type)t), errstr, errlen))
            goto fail;
        for (int v = 1; v < current; v++) {
            const char *json = pdm_event_schema_json_version((pdm_event_type)t, v);
            if (!json) {
                pdm_err(errstr, errlen, "schema %s v%d is not kept", pdm_event_schema_name(t), v);
                goto fail;
            }
            if (codec_type_init(&c->types[i++], (pdm_event_type)t, v, json, errstr, errlen))
                goto fail;
        }
    }
    pdm_codec_use_direct(c, 1);
    c->reader = avro_reader_memory(empty, 0);
    c->writer = avro_writer_memory(empty, 0);
    if (!c->reader || !c->writer) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    return c;
fail:
    pdm_codec_destroy(c);
    return NULL;
}

uint64_t pdm_codec_fingerprint(const pdm_codec *c, pdm_event_type t)
{
    return (unsigned)t < PDM_EV_COUNT ? c->types[t].fingerprint : 0;
}

uint64_t pdm_codec_fingerprint_version(const pdm_codec *c, pdm_event_type t, int version)
{
    for (size_t i = 0; i < c->n_types; i++)
        if (c->types[i].type == t && c->types[i].version == version)
            return c->types[i].fingerprint;
    return 0;
}

int pdm_codec_set_schema_id(pdm_codec *c, pdm_event_type t, int32_t id)
{
    if ((unsigned)t >= PDM_EV_COUNT || id <= 0)
        return -1;
    for (int i = 0; i < PDM_EV_COUNT; i++)
        if (i != (int)t && c->types[i].schema_id == id)
            return -1; /* ids must tell types apart */
    c->types[t].schema_id = id;
    return 0;
}

int pdm_schema_ids_parse(const char *list, int32_t ids[PDM_EV_COUNT], char *errstr,
                         size_t errlen)
{
    memset(ids, 0, PDM_EV_COUNT * sizeof *ids);
    for (const char *p = list ? list : ""; *p;) {
        size_t n = strcspn(p, ",");
        char entry[64], *eq, *end;
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        if (n == 0 || n >= sizeof entry)
            return pdm_err(errstr, errlen, "--schema-ids: expected TYPE=ID[,TYPE=ID...], got '%s'",
                           list);
        memcpy(entry, p, n);
        entry[n] = '\0';
        p += n + (p[n] == ',');
        while (n && (entry[n - 1] == ' ' || entry[n - 1] == '\t'))
            entry[--n] = '\0';
        pdm_event_type t;
        if (!(eq = strchr(entry, '=')))
            return pdm_err(errstr, errlen, "--schema-ids: '%s' is not TYPE=ID", entry);
        *eq = '\0';
        if (pdm_event_type_parse(entry, &t))
            return pdm_err(errstr, errlen,
                           "--schema-ids: unknown type '%s' (telemetry, error, maintenance, "
                           "failure, machine, risk, silence)",
                           entry);
        long long id = strtoll(eq + 1, &end, 10);
        if (end == eq + 1 || *end || id <= 0 || id > INT32_MAX)
            return pdm_err(errstr, errlen, "--schema-ids: %s=%s: the id must be 1..%d", entry,
                           eq + 1, INT32_MAX);
        if (ids[t])
            return pdm_err(errstr, errlen, "--schema-ids: %s is given twice", entry);
        for (int u = 0; u < PDM_EV_COUNT; u++)
            if (ids[u] == id)
                return pdm_err(errstr, errlen, "--schema-ids: id %lld is given to %s and to %s",
                               id, pdm_event_type_name((pdm_event_type)u), entry);
        ids[t] = (int32_t)id;
    }
    return 0;
}

int pdm_codec_set_schema_ids(pdm_codec *c, const char *list, char *errstr, size_t errlen)
{
    int32_t ids[PDM_EV_COUNT];
    if (pdm_schema_ids_parse(list, ids, errstr, errlen))
        return -1;
    for (int t = 0; t < PDM_EV_COUNT; t++)
        if (ids[t] && pdm_codec_set_schema_id(c, (pdm_event_type)t, ids[t]))
            return pdm_err(errstr, errlen, "--schema-ids: id %d cannot be set for %s", (int)ids[t],
                           pdm_event_type_name((pdm_event_type)t));
    return 0;
}

/* ---- field helpers ------------------------------------------------------------ */

static int set_named(avro_value_t *rec, size_t idx, const char *prefix, int n)
{
    avro_value_t f;
    char s[32];
    int len = snprintf(s, sizeof s, "%s%d", prefix, n);
    return avro_value_get_by_index(rec, idx, &f, NULL) ||
           avro_value_set_string_len(&f, s, (size_t)len + 1);
}

/* s is a fixed-size field of the structs: it need not be NUL-terminated. */
static int set_str(avro_value_t *rec, size_t idx, const char *s, size_t cap)
{
    avro_value_t f;
    char tmp[128];
    size_t len = strnlen(s, cap);
    if (len >= sizeof tmp)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return avro_value_get_by_index(rec, idx, &f, NULL) ||
           avro_value_set_string_len(&f, tmp, len + 1);
}

static int set_int(avro_value_t *rec, size_t idx, int32_t v)
{
    avro_value_t f;
    return avro_value_get_by_index(rec, idx, &f, NULL) || avro_value_set_int(&f, v);
}

static int set_long(avro_value_t *rec, size_t idx, int64_t v)
{
    avro_value_t f;
    return avro_value_get_by_index(rec, idx, &f, NULL) || avro_value_set_long(&f, v);
}

static int set_bool(avro_value_t *rec, size_t idx, int v)
{
    avro_value_t f;
    return avro_value_get_by_index(rec, idx, &f, NULL) || avro_value_set_boolean(&f, v != 0);
}

static int set_double(avro_value_t *rec, size_t idx, double v)
{
    avro_value_t f;
    return avro_value_get_by_index(rec, idx, &f, NULL) || avro_value_set_double(&f, v);
}

/* RiskEvent version 2 appended the incident fields after top_reasons. */
enum {
    RISK_INCIDENT_ID = 9,
    RISK_STATUS,
    RISK_OPENED_AT,
    RISK_PEAK_RISK,
    RISK_COMPONENT,
    RISK_RESOLUTION
};

static int set_enum(avro_value_t *rec, size_t idx, int v)
{
    avro_value_t f;
    return avro_value_get_by_index(rec, idx, &f, NULL) || avro_value_set_enum(&f, v);
}

static int fill_incident(avro_value_t *v, const pdm_risk *r)
{
    avro_value_t f, branch;
    if (set_str(v, RISK_INCIDENT_ID, r->incident_id, sizeof r->incident_id) ||
        set_enum(v, RISK_STATUS, (int)r->status) ||
        avro_value_get_by_index(v, RISK_OPENED_AT, &f, NULL))
        return -1;
    /* ["null", long]: null stands for INT64_MIN, no incident. */
    if (r->opened_at == INT64_MIN) {
        if (avro_value_set_branch(&f, 0, &branch) || avro_value_set_null(&branch))
            return -1;
    } else if (avro_value_set_branch(&f, 1, &branch) ||
               avro_value_set_long(&branch, r->opened_at)) {
        return -1;
    }
    if (set_double(v, RISK_PEAK_RISK, r->peak_risk))
        return -1;
    if (r->component ? set_named(v, RISK_COMPONENT, "comp", r->component)
                     : set_str(v, RISK_COMPONENT, "", 1))
        return -1;
    return set_enum(v, RISK_RESOLUTION, (int)r->resolution);
}

static int fill_value(avro_value_t *v, const pdm_event *ev)
{
    if (avro_value_reset(v) || (ev->type != PDM_EV_RISK && set_int(v, 0, ev->machine_id)))
        return -1;
    switch (ev->type) {
    case PDM_EV_TELEMETRY:
        return set_long(v, 1, ev->ts) || set_double(v, 2, ev->u.telemetry.volt) ||
               set_double(v, 3, ev->u.telemetry.rotate) ||
               set_double(v, 4, ev->u.telemetry.pressure) ||
               set_double(v, 5, ev->u.telemetry.vibration);
    case PDM_EV_ERROR:
        return set_long(v, 1, ev->ts) || set_named(v, 2, "error", ev->u.error.error_id);
    case PDM_EV_MAINTENANCE:
        return set_long(v, 1, ev->ts) || set_named(v, 2, "comp", ev->u.maintenance.component);
    case PDM_EV_FAILURE:
        return set_long(v, 1, ev->ts) || set_named(v, 2, "comp", ev->u.failure.component);
    case PDM_EV_MACHINE:
        return set_long(v, 1, ev->ts) || set_named(v, 2, "model", ev->u.machine.model) ||
               set_int(v, 3, ev->u.machine.age);
    case PDM_EV_SILENCE:
        return set_long(v, 1, ev->ts) || set_long(v, 2, ev->u.silence.last_seen) ||
               set_bool(v, 3, ev->u.silence.silent);
    case PDM_EV_RISK: {
        const pdm_risk *r = ev->u.risk;
        avro_value_t arr, item;
        /* RiskEvent: event_id, machine_id, ts, scored_at, model_version, risk,
         * components, level, top_reasons */
        if (set_str(v, 0, r->event_id, sizeof r->event_id) || set_int(v, 1, ev->machine_id) ||
            set_long(v, 2, ev->ts) || set_long(v, 3, r->scored_at) ||
            set_str(v, 4, r->model_version, sizeof r->model_version) || set_double(v, 5, r->risk))
            return -1;
        if (avro_value_get_by_index(v, 6, &arr, NULL))
            return -1;
        for (int k = 0; k < PDM_N_COMPONENTS; k++) {
            if (avro_value_append(&arr, &item, NULL) || set_named(&item, 0, "comp", k + 1) ||
                set_double(&item, 1, r->component_prob[k]))
                return -1;
        }
        avro_value_t level;
        if (avro_value_get_by_index(v, 7, &level, NULL) ||
            avro_value_set_enum(&level, (int)r->level))
            return -1;
        if (avro_value_get_by_index(v, 8, &arr, NULL))
            return -1;
        for (int k = 0; k < r->n_reasons && k < PDM_N_REASONS; k++) {
            if (avro_value_append(&arr, &item, NULL) ||
                set_str(&item, 0, r->reasons[k].feature, sizeof r->reasons[k].feature) ||
                set_double(&item, 1, r->reasons[k].value) ||
                set_double(&item, 2, r->reasons[k].contribution))
                return -1;
        }
        return fill_incident(v, r);
    }
    default:
        return -1;
    }
}

static int valid_names(const pdm_event *ev, char *errstr, size_t errlen)
{
    switch (ev->type) {
    case PDM_EV_ERROR:
        if (ev->u.error.error_id < 1 || ev->u.error.error_id > PDM_N_ERRORS)
            return pdm_err(errstr, errlen, "error id %d is not 1..%d", ev->u.error.error_id,
                           PDM_N_ERRORS);
        return 0;
    case PDM_EV_MAINTENANCE:
    case PDM_EV_FAILURE:
        if (ev->u.maintenance.component < 1 || ev->u.maintenance.component > PDM_N_COMPONENTS)
            return pdm_err(errstr, errlen, "component %d is not 1..%d", ev->u.maintenance.component,
                           PDM_N_COMPONENTS);
        return 0;
    case PDM_EV_MACHINE:
        if (ev->u.machine.model < 1)
            return pdm_err(errstr, errlen, "model %d is not >= 1", ev->u.machine.model);
        return 0;
    case PDM_EV_RISK:
        if (!ev->u.risk)
            return pdm_err(errstr, errlen, "risk event without its pdm_risk");
        if ((unsigned)ev->u.risk->level > PDM_LEVEL_CRITICAL)
            return pdm_err(errstr, errlen, "level %d is not a pdm_level", (int)ev->u.risk->level);
        if (ev->u.risk->n_reasons < 0 || ev->u.risk->n_reasons > PDM_N_REASONS)
            return pdm_err(errstr, errlen, "n_reasons %d is not 0..%d", ev->u.risk->n_reasons,
                           PDM_N_REASONS);
        if ((unsigned)ev->u.risk->status > PDM_INCIDENT_RESOLVED)
            return pdm_err(errstr, errlen, "status %d is not a pdm_incident_status",
                           (int)ev->u.risk->status);
        if ((unsigned)ev->u.risk->resolution >= PDM_ALERT_N_RESOLUTIONS)
            return pdm_err(errstr, errlen, "resolution %d is not a pdm_alert_resolution",
                           (int)ev->u.risk->resolution);
        if (ev->u.risk->component < 0 || ev->u.risk->component > PDM_N_COMPONENTS)
            return pdm_err(errstr, errlen, "incident component %d is not 0..%d",
                           ev->u.risk->component, PDM_N_COMPONENTS);
        return 0;
    default:
        return 0;
    }
}

int pdm_codec_encode(pdm_codec *c, const pdm_event *ev, pdm_wire_format fmt, void *buf, size_t cap,
                     char *errstr, size_t errlen)
{
    if ((unsigned)ev->type >= PDM_EV_COUNT)
        return pdm_err(errstr, errlen, "unknown event type %d", (int)ev->type);
    if (valid_names(ev, errstr, errlen))
        return -1;
    codec_type *ct = &c->types[ev->type];
    unsigned char *out = buf;
    size_t header;
    if (fmt == PDM_WIRE_CONFLUENT) {
        if (ct->schema_id <= 0)
            return pdm_err(errstr, errlen, "no schema id set for %s",
                           pdm_event_schema_name(ev->type));
        if (cap < 5)
            return pdm_err(errstr, errlen, "buffer too small");
        out[0] = 0;
        for (int i = 0; i < 4; i++)
            out[1 + i] = (unsigned char)((uint32_t)ct->schema_id >> (24 - 8 * i));
        header = 5;
    } else {
        if (cap < 10)
            return pdm_err(errstr, errlen, "buffer too small");
        out[0] = 0xC3;
        out[1] = 0x01;
        memcpy(out + 2, ct->fp_le, 8);
        header = 10;
    }
    if (ct->direct) {
        int n = pdm_direct_encode(ev, out + header, cap - header);
        if (n < 0)
            return pdm_err(errstr, errlen, "encode %s: a string is too long or the buffer too small",
                           pdm_event_schema_name(ev->type));
        return (int)header + n;
    }
    if (fill_value(&ct->value, ev))
        return pdm_err(errstr, errlen, "encode %s: %s", pdm_event_schema_name(ev->type),
                       avro_strerror());
    avro_writer_memory_set_dest(c->writer, (const char *)out + header, (int64_t)(cap - header));
    if (avro_value_write(c->writer, &ct->value))
        return pdm_err(errstr, errlen, "encode %s: %s", pdm_event_schema_name(ev->type),
                       avro_strerror());
    return (int)(header + (size_t)avro_writer_tell(c->writer));
}

/* ---- decode ------------------------------------------------------------------ */

/* Writes errstr and returns status, for decode paths. */
static int decode_err(int status, char *errstr, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int decode_err(int status, char *errstr, size_t errlen, const char *fmt, ...)
{
    char msg[PDM_ERRSTR_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pdm_err(errstr, errlen, "%s", msg);
    return status;
}

#define MISMATCH(errstr, errlen)                                                                   \
    decode_err(PDM_DECODE_MALFORMED, errstr, errlen, "body does not match the schema")

static int get_int(avro_value_t *rec, size_t idx, int32_t *out)
{
    avro_value_t f;
    return avro_value_get_by_index(rec, idx, &f, NULL) || avro_value_get_int(&f, out);
}

static int get_long(avro_value_t *rec, size_t idx, int64_t *out)
{
    avro_value_t f;
    return avro_value_get_by_index(rec, idx, &f, NULL) || avro_value_get_long(&f, out);
}

static int get_bool(avro_value_t *rec, size_t idx, int *out)
{
    avro_value_t f;
    return avro_value_get_by_index(rec, idx, &f, NULL) || avro_value_get_boolean(&f, out);
}

static int get_double(avro_value_t *rec, size_t idx, double *out)
{
    avro_value_t f;
    return avro_value_get_by_index(rec, idx, &f, NULL) || avro_value_get_double(&f, out);
}

static int get_str(avro_value_t *rec, size_t idx, const char **s, size_t *len)
{
    avro_value_t f;
    size_t size;
    if (avro_value_get_by_index(rec, idx, &f, NULL) || avro_value_get_string(&f, s, &size))
        return -1;
    *len = size ? size - 1 : 0; /* avro-c counts the NUL */
    return 0;
}

/* "error3" with prefix "error" -> 3; -1 if not prefix + a number in 1..max. */
static int parse_named(const char *s, size_t len, const char *prefix, int max)
{
    size_t pl = strlen(prefix);
    if (len <= pl || len > pl + 6 || memcmp(s, prefix, pl) != 0)
        return -1;
    int v = 0;
    for (size_t i = pl; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= max ? v : -1;
}

static int copy_str(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        return -1;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static int read_named(avro_value_t *v, size_t idx, const char *prefix, int max, int *out,
                      char *errstr, size_t errlen)
{
    const char *s;
    size_t len;
    if (get_str(v, idx, &s, &len))
        return MISMATCH(errstr, errlen);
    *out = parse_named(s, len, prefix, max);
    if (*out < 0) {
        pdm_err(errstr, errlen, "'%.*s' is not a known %s name", (int)(len > 40 ? 40 : len), s,
                prefix);
        return PDM_DECODE_INVALID_VALUE;
    }
    return 0;
}

static int get_enum(avro_value_t *rec, size_t idx, int *out)
{
    avro_value_t f;
    return avro_value_get_by_index(rec, idx, &f, NULL) || avro_value_get_enum(&f, out);
}

/* The incident fields of a version 2 RiskEvent into r. */
static int extract_incident(avro_value_t *v, pdm_risk *r, char *errstr, size_t errlen)
{
    const char *s;
    size_t len;
    int status, resolution, branch;
    avro_value_t f, value;
    if (get_str(v, RISK_INCIDENT_ID, &s, &len) || get_enum(v, RISK_STATUS, &status) ||
        get_double(v, RISK_PEAK_RISK, &r->peak_risk) || get_enum(v, RISK_RESOLUTION, &resolution) ||
        avro_value_get_by_index(v, RISK_OPENED_AT, &f, NULL) ||
        avro_value_get_discriminant(&f, &branch) || avro_value_get_current_branch(&f, &value))
        return MISMATCH(errstr, errlen);
    if (copy_str(r->incident_id, sizeof r->incident_id, s, len))
        return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen,
                          "incident_id of %zu bytes, at most %zu", len, sizeof r->incident_id - 1);
    /* The validator has refused enum indexes past the symbols. */
    r->status = (pdm_incident_status)status;
    r->resolution = (pdm_alert_resolution)resolution;
    r->opened_at = INT64_MIN;
    if (branch == 1) {
        if (avro_value_get_long(&value, &r->opened_at))
            return MISMATCH(errstr, errlen);
        if (r->opened_at == INT64_MIN) /* our "none": it would come back as null */
            return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen,
                              "opened_at %lld is out of range", (long long)INT64_MIN);
    }
    if (get_str(v, RISK_COMPONENT, &s, &len))
        return MISMATCH(errstr, errlen);
    r->component = 0;
    return len ? read_named(v, RISK_COMPONENT, "comp", PDM_N_COMPONENTS, &r->component, errstr,
                            errlen)
               : 0;
}

static int extract(pdm_codec *c, const codec_type *ct, avro_value_t *v, pdm_event *out,
                   char *errstr, size_t errlen)
{
    pdm_event_type t = ct->type;
    memset(out, 0, sizeof *out);
    out->type = t;
    if (get_int(v, t == PDM_EV_RISK ? 1 : 0, &out->machine_id) ||
        get_long(v, t == PDM_EV_RISK ? 2 : 1, &out->ts))
        return MISMATCH(errstr, errlen);
    int rc = 0;
    switch (t) {
    case PDM_EV_TELEMETRY:
        if (get_double(v, 2, &out->u.telemetry.volt) ||
            get_double(v, 3, &out->u.telemetry.rotate) ||
            get_double(v, 4, &out->u.telemetry.pressure) ||
            get_double(v, 5, &out->u.telemetry.vibration))
            rc = PDM_DECODE_MALFORMED;
        break;
    case PDM_EV_ERROR:
        rc = read_named(v, 2, "error", PDM_N_ERRORS, &out->u.error.error_id, errstr, errlen);
        break;
    case PDM_EV_MAINTENANCE:
        rc = read_named(v, 2, "comp", PDM_N_COMPONENTS, &out->u.maintenance.component, errstr,
                        errlen);
        break;
    case PDM_EV_FAILURE:
        rc = read_named(v, 2, "comp", PDM_N_COMPONENTS, &out->u.failure.component, errstr, errlen);
        break;
    case PDM_EV_MACHINE: {
        int32_t age = 0;
        rc = read_named(v, 2, "model", 999999, &out->u.machine.model, errstr, errlen);
        if (!rc && get_int(v, 3, &age))
            rc = PDM_DECODE_MALFORMED;
        out->u.machine.age = age;
        break;
    }
    case PDM_EV_SILENCE:
        if (get_long(v, 2, &out->u.silence.last_seen) || get_bool(v, 3, &out->u.silence.silent))
            rc = PDM_DECODE_MALFORMED;
        break;
    case PDM_EV_RISK: {
        pdm_risk *r = &c->risk;
        memset(r, 0, sizeof *r);
        out->u.risk = r;
        const char *s;
        size_t len;
        int32_t level;
        avro_value_t arr, item, lv;
        size_t n;
        if (get_str(v, 0, &s, &len) || get_long(v, 3, &r->scored_at) || get_double(v, 5, &r->risk))
            return MISMATCH(errstr, errlen);
        if (copy_str(r->event_id, sizeof r->event_id, s, len))
            return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen,
                              "event_id of %zu bytes, at most %zu", len, sizeof r->event_id - 1);
        if (get_str(v, 4, &s, &len))
            return MISMATCH(errstr, errlen);
        if (copy_str(r->model_version, sizeof r->model_version, s, len))
            return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen,
                              "model_version of %zu bytes, at most %zu", len,
                              sizeof r->model_version - 1);
        if (avro_value_get_by_index(v, 6, &arr, NULL) || avro_value_get_size(&arr, &n))
            return MISMATCH(errstr, errlen);
        /* One probability per component, each component once. */
        if (n != PDM_N_COMPONENTS)
            return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen,
                              "%zu component probabilities, expected %d", n, PDM_N_COMPONENTS);
        unsigned seen = 0;
        for (size_t i = 0; i < n; i++) {
            double p;
            int k;
            if (avro_value_get_by_index(&arr, i, &item, NULL) || get_double(&item, 1, &p))
                return MISMATCH(errstr, errlen);
            rc = read_named(&item, 0, "comp", PDM_N_COMPONENTS, &k, errstr, errlen);
            if (rc)
                return rc;
            if (seen & (1u << k))
                return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen, "comp%d listed twice",
                                  k);
            seen |= 1u << k;
            r->component_prob[k - 1] = p;
        }
        if (avro_value_get_by_index(v, 7, &lv, NULL) || avro_value_get_enum(&lv, &level))
            return MISMATCH(errstr, errlen);
        if (level < 0 || level > PDM_LEVEL_CRITICAL)
            return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen, "level %d unknown",
                              (int)level);
        r->level = (pdm_level)level;
        if (avro_value_get_by_index(v, 8, &arr, NULL) || avro_value_get_size(&arr, &n))
            return MISMATCH(errstr, errlen);
        if (n > PDM_N_REASONS)
            return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen, "%zu reasons, at most %d",
                              n, PDM_N_REASONS);
        for (size_t i = 0; i < n; i++) {
            pdm_reason *re = &r->reasons[i];
            if (avro_value_get_by_index(&arr, i, &item, NULL) || get_str(&item, 0, &s, &len) ||
                get_double(&item, 1, &re->value) || get_double(&item, 2, &re->contribution))
                return MISMATCH(errstr, errlen);
            if (copy_str(re->feature, sizeof re->feature, s, len))
                return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen,
                                  "reason feature of %zu bytes, at most %zu", len,
                                  sizeof re->feature - 1);
        }
        r->n_reasons = (int)n;
        /* Version 1 has no incident fields: they take the schema's defaults. */
        pdm_risk_no_incident(r);
        if (ct->version >= 2)
            rc = extract_incident(v, r, errstr, errlen);
        break;
    }
    default:
        rc = PDM_DECODE_UNKNOWN_SCHEMA;
    }
    if (rc == PDM_DECODE_MALFORMED)
        pdm_err(errstr, errlen, "body does not match the schema");
    return rc;
}

/* The framing of a message: the schema version it names (*t, an index into
 * c->types) and where its body starts (*header). PDM_DECODE_OK or a
 * negative pdm_decode_status, with errstr. */
static int read_header(const pdm_codec *c, const unsigned char *p, size_t len, int *t,
                       size_t *header, char *errstr, size_t errlen)
{
    *t = -1;
    if (!p || len == 0) {
        pdm_err(errstr, errlen, "empty message");
        return PDM_DECODE_EMPTY;
    }
    if (p[0] == 0xC3) {
        if (len < 2 || p[1] != 0x01) {
            pdm_err(errstr, errlen,
                    len < 2 ? "message ends inside its header"
                            : "bad single-object marker 0xC3 0x%02X",
                    len < 2 ? 0 : p[1]);
            return len < 2 ? PDM_DECODE_TRUNCATED : PDM_DECODE_BAD_MAGIC;
        }
        if (len < 10) {
            pdm_err(errstr, errlen, "message ends inside its fingerprint (%zu bytes)", len);
            return PDM_DECODE_TRUNCATED;
        }
        for (size_t i = 0; i < c->n_types && *t < 0; i++)
            if (memcmp(p + 2, c->types[i].fp_le, 8) == 0)
                *t = (int)i;
        if (*t < 0) {
            uint64_t fp = 0;
            for (int i = 7; i >= 0; i--)
                fp = fp << 8 | p[2 + i];
            pdm_err(errstr, errlen, "unknown schema fingerprint %016llx", (unsigned long long)fp);
            return PDM_DECODE_UNKNOWN_SCHEMA;
        }
        *header = 10;
        return PDM_DECODE_OK;
    }
    if (p[0] == 0x00) {
        if (len < 5) {
            pdm_err(errstr, errlen, "message ends inside its schema id (%zu bytes)", len);
            return PDM_DECODE_TRUNCATED;
        }
        int32_t id =
            (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
        for (int i = 0; i < PDM_EV_COUNT && *t < 0; i++)
            if (c->types[i].schema_id > 0 && c->types[i].schema_id == id)
                *t = i;
        if (*t < 0) {
            pdm_err(errstr, errlen, "unknown schema id %d", (int)id);
            return PDM_DECODE_UNKNOWN_SCHEMA;
        }
        *header = 5;
        return PDM_DECODE_OK;
    }
    pdm_err(errstr, errlen,
            "first byte 0x%02X is neither 0xC3 (single object) nor 0x00 "
            "(schema registry)",
            p[0]);
    return PDM_DECODE_BAD_MAGIC;
}

int pdm_codec_peek(const pdm_codec *c, const void *data, size_t len, pdm_event_peek *out)
{
    const unsigned char *p = data;
    size_t header;
    int t;
    /* Output types say nothing of the input's event time. */
    if (read_header(c, p, len, &t, &header, NULL, 0) || c->types[t].type == PDM_EV_RISK ||
        c->types[t].type == PDM_EV_SILENCE)
        return -1;
    /* Every input schema begins with machine_id (int) and ts (long). */
    vcursor cur = {p + header, p + len, PDM_DECODE_OK, 0};
    int64_t machine = read_varint(&cur);
    int64_t ts = read_varint(&cur);
    if (cur.status || machine < INT32_MIN || machine > INT32_MAX)
        return -1;
    out->type = c->types[t].type;
    out->machine_id = (int32_t)machine;
    out->ts = ts;
    return 0;
}

int pdm_codec_decode(pdm_codec *c, const void *data, size_t len, pdm_event *out, char *errstr,
                     size_t errlen)
{
    const unsigned char *p = data;
    size_t header;
    int t;
    int st = read_header(c, p, len, &t, &header, errstr, errlen);
    if (st)
        return st;

    codec_type *ct = &c->types[t];
    vcursor cur = {p + header, p + len, PDM_DECODE_OK, 0};
    validate(ct->validator, &cur, 0);
    if (cur.status) {
        pdm_err(errstr, errlen, "%s body %s", pdm_event_schema_name(ct->type),
                cur.status == PDM_DECODE_TRUNCATED ? "ends early" : "is malformed");
        return cur.status;
    }
    if (cur.p != cur.end) {
        pdm_err(errstr, errlen, "%zu bytes after the %s body", (size_t)(cur.end - cur.p),
                pdm_event_schema_name(ct->type));
        return PDM_DECODE_MALFORMED;
    }
    if (cur.bad_enum) {
        pdm_err(errstr, errlen, "%s body has an enum index outside its symbols",
                pdm_event_schema_name(ct->type));
        return PDM_DECODE_INVALID_VALUE;
    }
    avro_reader_memory_set_source(c->reader, (const char *)p + header, (int64_t)(len - header));
    if (avro_value_reset(&ct->value) || avro_value_read(c->reader, &ct->value)) {
        pdm_err(errstr, errlen, "%s body: %s", pdm_event_schema_name(ct->type), avro_strerror());
        return PDM_DECODE_MALFORMED;
    }
    return extract(c, ct, &ct->value, out, errstr, errlen);
}
