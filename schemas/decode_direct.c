/* decode_direct.c: Avro binary bodies of the current schemas read straight
 * into events (see decode_direct.h), the mirror of encode_direct.c.
 *
 * What it must match, read for read, is avro-c's binary reader followed by
 * codec_decode.c's extract: int and long as zigzag varints of at most 10
 * bytes (the 10th byte's low bit is bit 63; an int out of int32 range is
 * refused), double as 8 little-endian bytes copied bit for bit, boolean as
 * one byte, string as its length then its bytes (kept as they are, NUL
 * bytes included), enum as its index, union as the branch index then the
 * value, array as blocks (a count, a negative count followed by the
 * block's byte size, which avro-c skips unread) ending with a 0 count.
 * avro-c reads the whole body before extract checks anything, so a body is
 * read whole here too, then checked in extract's order with the helpers it
 * uses (decode_named, decode_string): the first invalid field gives the
 * same status and message. */
#include "decode_direct.h"

#include <string.h>

#include "codec_internal.h"

/* A bounded reader over a body: `bad` is set by a read past the end (the
 * reader then stays at the end, and reads give zeros) or a value the schema
 * cannot hold: a body the validator would have refused, whose values are
 * not used. No read goes past `end` either way. */
typedef struct {
    const unsigned char *p, *end;
    int bad;
} reader;

/* A string where it lies in the body. */
typedef struct {
    const char *s;
    size_t len;
} span;

static int64_t get_long(reader *r)
{
    uint64_t u = 0;
    /* Ten bytes at most, the 10th giving bit 63 alone, as avro-c reads them
     * (the validator also refuses a 10th byte above 1). */
    for (int shift = 0; shift <= 63 && r->p < r->end; shift += 7) {
        unsigned char b = *r->p++;
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return (int64_t)((u >> 1) ^ (0 - (u & 1)));
    }
    r->bad = 1;
    r->p = r->end;
    return 0;
}

static int32_t get_int(reader *r)
{
    int64_t v = get_long(r);
    if (v < INT32_MIN || v > INT32_MAX) {
        r->bad = 1;
        return 0;
    }
    return (int32_t)v;
}

static double get_double(reader *r)
{
    double d = 0;
    if ((size_t)(r->end - r->p) < 8) {
        r->bad = 1;
        r->p = r->end;
        return d;
    }
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | r->p[i];
    r->p += 8;
    memcpy(&d, &u, sizeof d);
    return d;
}

static int get_bool(reader *r)
{
    if (r->p == r->end || *r->p > 1) {
        r->bad = 1;
        r->p = r->end;
        return 0;
    }
    return *r->p++;
}

static span get_str(reader *r)
{
    span s = {"", 0};
    int64_t len = get_long(r);
    if (len < 0 || (uint64_t)len > (uint64_t)(r->end - r->p)) {
        r->bad = 1;
        r->p = r->end;
        return s;
    }
    s.s = (const char *)r->p;
    s.len = (size_t)len;
    r->p += len;
    return s;
}

/* An enum's index, refused past its n symbols. */
static int get_enum(reader *r, int n)
{
    int64_t i = get_long(r);
    if (i < 0 || i >= n) {
        r->bad = 1;
        return 0;
    }
    return (int)i;
}

/* The item count of an array's next block (0: the array ends). Every item
 * of pdm's arrays takes at least one byte, so the loops over a count end
 * with the body even when the count is forged. */
static uint64_t get_block(reader *r)
{
    int64_t n = get_long(r);
    if (n < 0) {
        if (n == INT64_MIN) {
            r->bad = 1;
            return 0;
        }
        n = -n;
        if (get_long(r) < 0) /* the block's size in bytes, unused */
            r->bad = 1;
    }
    return r->bad ? 0 : (uint64_t)n;
}

/* A RiskEvent (version 2) as read, before extract's checks. Arrays keep
 * their item count and their first items: a count past what the struct
 * holds is refused before any item is looked at. */
typedef struct {
    span event_id, model_version, incident_id, component;
    int64_t scored_at, opened_at;
    int64_t opened_branch;
    int level, status, resolution;
    double risk, peak_risk;
    uint64_t n_components;
    span comp_name[PDM_N_COMPONENTS];
    double comp_prob[PDM_N_COMPONENTS];
    uint64_t n_reasons;
    span feature[PDM_N_REASONS];
    double value[PDM_N_REASONS], contribution[PDM_N_REASONS];
} risk_body;

static void read_risk(reader *r, pdm_event *out, risk_body *b)
{
    b->event_id = get_str(r);
    out->machine_id = get_int(r);
    out->ts = get_long(r);
    b->scored_at = get_long(r);
    b->model_version = get_str(r);
    b->risk = get_double(r);
    b->n_components = 0;
    for (uint64_t n; (n = get_block(r)) != 0;)
        for (uint64_t i = 0; i < n && !r->bad; i++, b->n_components++) {
            span name = get_str(r);
            double p = get_double(r);
            if (b->n_components < PDM_N_COMPONENTS) {
                b->comp_name[b->n_components] = name;
                b->comp_prob[b->n_components] = p;
            }
        }
    b->level = get_enum(r, PDM_LEVEL_CRITICAL + 1);
    b->n_reasons = 0;
    for (uint64_t n; (n = get_block(r)) != 0;)
        for (uint64_t i = 0; i < n && !r->bad; i++, b->n_reasons++) {
            span feature = get_str(r);
            double value = get_double(r), contribution = get_double(r);
            if (b->n_reasons < PDM_N_REASONS) {
                b->feature[b->n_reasons] = feature;
                b->value[b->n_reasons] = value;
                b->contribution[b->n_reasons] = contribution;
            }
        }
    b->incident_id = get_str(r);
    b->status = get_enum(r, 2);
    b->opened_branch = get_long(r); /* ["null", long] */
    b->opened_at = 0;
    if (b->opened_branch == 1)
        b->opened_at = get_long(r);
    else if (b->opened_branch != 0)
        r->bad = 1;
    b->peak_risk = get_double(r);
    b->component = get_str(r);
    b->resolution = get_enum(r, PDM_ALERT_N_RESOLUTIONS);
}

/* extract's checks of a RiskEvent, in its order, into *rk. */
static int check_risk(const risk_body *b, pdm_risk *rk, char *errstr, size_t errlen)
{
    int rc;
    memset(rk, 0, sizeof *rk);
    rk->scored_at = b->scored_at;
    rk->risk = b->risk;
    if ((rc = decode_string(rk->event_id, sizeof rk->event_id, b->event_id.s, b->event_id.len,
                            "event_id", errstr, errlen)) ||
        (rc = decode_string(rk->model_version, sizeof rk->model_version, b->model_version.s,
                            b->model_version.len, "model_version", errstr, errlen)))
        return rc;
    /* One probability per component, each component once. */
    if (b->n_components != PDM_N_COMPONENTS)
        return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen,
                          "%zu component probabilities, expected %d", (size_t)b->n_components,
                          PDM_N_COMPONENTS);
    unsigned seen = 0;
    for (int i = 0; i < PDM_N_COMPONENTS; i++) {
        int k;
        if ((rc = decode_named(b->comp_name[i].s, b->comp_name[i].len, "comp", PDM_N_COMPONENTS, &k,
                               errstr, errlen)))
            return rc;
        if (seen & (1u << k))
            return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen, "comp%d listed twice", k);
        seen |= 1u << k;
        rk->component_prob[k - 1] = b->comp_prob[i];
    }
    rk->level = (pdm_level)b->level;
    if (b->n_reasons > PDM_N_REASONS)
        return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen, "%zu reasons, at most %d",
                          (size_t)b->n_reasons, PDM_N_REASONS);
    for (int i = 0; i < (int)b->n_reasons; i++) {
        pdm_reason *re = &rk->reasons[i];
        re->value = b->value[i];
        re->contribution = b->contribution[i];
        if ((rc = decode_string(re->feature, sizeof re->feature, b->feature[i].s, b->feature[i].len,
                                "reason feature", errstr, errlen)))
            return rc;
    }
    rk->n_reasons = (int)b->n_reasons;
    /* The incident (version 2), as extract_incident checks it. */
    rk->peak_risk = b->peak_risk;
    if ((rc = decode_string(rk->incident_id, sizeof rk->incident_id, b->incident_id.s,
                            b->incident_id.len, "incident_id", errstr, errlen)))
        return rc;
    rk->status = (pdm_incident_status)b->status;
    rk->resolution = (pdm_alert_resolution)b->resolution;
    rk->opened_at = INT64_MIN;
    if (b->opened_branch == 1) {
        rk->opened_at = b->opened_at;
        if (rk->opened_at == INT64_MIN) /* our "none": it would come back as null */
            return decode_err(PDM_DECODE_INVALID_VALUE, errstr, errlen,
                              "opened_at %lld is out of range", (long long)INT64_MIN);
    }
    rk->component = 0;
    return b->component.len ? decode_named(b->component.s, b->component.len, "comp",
                                           PDM_N_COMPONENTS, &rk->component, errstr, errlen)
                            : 0;
}

/* The validator has walked the body: neither happens after it. */
static int read_whole(const reader *r, char *errstr, size_t errlen)
{
    if (r->bad || r->p != r->end)
        return decode_err(PDM_DECODE_MALFORMED, errstr, errlen, "body does not match the schema");
    return PDM_DECODE_OK;
}

int pdm_direct_decode(pdm_event_type t, const unsigned char *body, size_t len, pdm_event *out,
                      pdm_risk *risk, char *errstr, size_t errlen)
{
    reader r = {body, body + len, 0};
    span name = {"", 0};
    int rc;
    memset(out, 0, sizeof *out);
    out->type = t;
    if (t == PDM_EV_RISK) {
        risk_body rb;
        read_risk(&r, out, &rb);
        if ((rc = read_whole(&r, errstr, errlen)))
            return rc;
        out->u.risk = risk;
        return check_risk(&rb, risk, errstr, errlen);
    }
    out->machine_id = get_int(&r);
    out->ts = get_long(&r);
    switch (t) {
    case PDM_EV_TELEMETRY:
        out->u.telemetry.volt = get_double(&r);
        out->u.telemetry.rotate = get_double(&r);
        out->u.telemetry.pressure = get_double(&r);
        out->u.telemetry.vibration = get_double(&r);
        return read_whole(&r, errstr, errlen);
    case PDM_EV_ERROR:
    case PDM_EV_MAINTENANCE:
    case PDM_EV_FAILURE:
        name = get_str(&r);
        break;
    case PDM_EV_MACHINE:
        name = get_str(&r);
        out->u.machine.age = get_int(&r);
        break;
    case PDM_EV_SILENCE:
        out->u.silence.last_seen = get_long(&r);
        out->u.silence.silent = get_bool(&r);
        return read_whole(&r, errstr, errlen);
    default:
        return decode_err(PDM_DECODE_UNKNOWN_SCHEMA, errstr, errlen, "no direct decoder for %s",
                          pdm_event_schema_name(t));
    }
    if ((rc = read_whole(&r, errstr, errlen)))
        return rc;
    switch (t) {
    case PDM_EV_ERROR:
        return decode_named(name.s, name.len, "error", PDM_N_ERRORS, &out->u.error.error_id, errstr,
                            errlen);
    case PDM_EV_MAINTENANCE:
        return decode_named(name.s, name.len, "comp", PDM_N_COMPONENTS,
                            &out->u.maintenance.component, errstr, errlen);
    case PDM_EV_FAILURE:
        return decode_named(name.s, name.len, "comp", PDM_N_COMPONENTS, &out->u.failure.component,
                            errstr, errlen);
    default: /* PDM_EV_MACHINE */
        return decode_named(name.s, name.len, "model", 999999, &out->u.machine.model, errstr,
                            errlen);
    }
}
