/* codec_encode.c: events into messages: the header of either wire format,
 * then the body from encode_direct.c where it implements the type's schema,
 * else through an avro-c value filled field by field. */
#include <stdio.h>
#include <string.h>

#include <avro.h>

#include "codec_internal.h"
#include "encode_direct.h"
#include "pdm_common.h"
#include "pdm_schemas.h"

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
