/* codec_decode.c: messages into events: the framing (single object or
 * schema registry) names the schema version, the validator walks the body,
 * avro-c reads it, and its fields are checked into a pdm_event. A body of
 * a current schema version that decode_direct.c implements is read there
 * instead, with the same result; the checks both share are here. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <avro.h>

#include "codec_internal.h"
#include "decode_direct.h"
#include "pdm_common.h"
#include "pdm_schemas.h"

int decode_err(int status, char *errstr, size_t errlen, const char *fmt, ...)
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

int decode_named(const char *s, size_t len, const char *prefix, int max, int *out, char *errstr,
                 size_t errlen)
{
    *out = parse_named(s, len, prefix, max);
    if (*out < 0) {
        pdm_err(errstr, errlen, "'%.*s' is not a known %s name", (int)(len > 40 ? 40 : len), s,
                prefix);
        return PDM_DECODE_INVALID_VALUE;
    }
    return 0;
}

int decode_string(char *dst, size_t cap, const char *s, size_t len, const char *what, char *errstr,
                  size_t errlen)
{
    if (len >= cap)
        return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen, "%s of %zu bytes, at most %zu",
                          what, len, cap - 1);
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
    return decode_named(s, len, prefix, max, out, errstr, errlen);
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
    int rc =
        decode_string(r->incident_id, sizeof r->incident_id, s, len, "incident_id", errstr, errlen);
    if (rc)
        return rc;
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
        rc = decode_string(r->event_id, sizeof r->event_id, s, len, "event_id", errstr, errlen);
        if (rc)
            return rc;
        if (get_str(v, 4, &s, &len))
            return MISMATCH(errstr, errlen);
        rc = decode_string(r->model_version, sizeof r->model_version, s, len, "model_version",
                           errstr, errlen);
        if (rc)
            return rc;
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
            rc = decode_string(re->feature, sizeof re->feature, s, len, "reason feature", errstr,
                               errlen);
            if (rc)
                return rc;
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
    if (ct->direct)
        return pdm_direct_decode(ct->type, p + header, len - header, out, &c->risk, errstr, errlen);
    avro_reader_memory_set_source(c->reader, (const char *)p + header, (int64_t)(len - header));
    if (avro_value_reset(&ct->value) || avro_value_read(c->reader, &ct->value)) {
        pdm_err(errstr, errlen, "%s body: %s", pdm_event_schema_name(ct->type), avro_strerror());
        return PDM_DECODE_MALFORMED;
    }
    return extract(c, ct, &ct->value, out, errstr, errlen);
}
