/* encode_direct.c: Avro binary bodies straight from the structs (see
 * encode_direct.h). Avro's binary encoding: int and long as zigzag
 * varints, double as 8 little-endian bytes, boolean as one byte, string
 * as its length then its bytes, enum as its index, union as the branch
 * index then the value, array as one block (count, items) then 0, or just
 * 0 when empty: what avro-c writes. */
#include "encode_direct.h"

#include <string.h>

uint64_t pdm_direct_fingerprint(pdm_event_type t)
{
    /* The versions this file writes (schemas/history keeps every one). */
    static const uint64_t fp[PDM_EV_COUNT] = {
        [PDM_EV_TELEMETRY] = 0xc54769c0f0b041f4ULL,   /* TelemetryEvent v1 */
        [PDM_EV_ERROR] = 0x1847b3a5e54c78abULL,       /* ErrorEvent v1 */
        [PDM_EV_MAINTENANCE] = 0x34a024e09f321b77ULL, /* MaintenanceEvent v1 */
        [PDM_EV_FAILURE] = 0xd7f547ebd1c56229ULL,     /* FailureEvent v1 */
        [PDM_EV_MACHINE] = 0xdb14ce26ab943642ULL,     /* MachineInfo v1 */
        [PDM_EV_RISK] = 0x13d7668e82bc7082ULL,        /* RiskEvent v2 */
        [PDM_EV_SILENCE] = 0xe70fad4469cd8a2aULL,     /* MachineSilence v1 */
    };
    return (unsigned)t < PDM_EV_COUNT ? fp[t] : 0;
}

/* A bounded writer: `p` runs to `end`; a write past it sets `p` to NULL
 * and every later write does nothing. */
typedef struct {
    unsigned char *p, *end;
} writer;

static void put_long(writer *w, int64_t v)
{
    if (!w->p)
        return;
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    do {
        if (w->p == w->end) {
            w->p = NULL;
            return;
        }
        unsigned char b = (unsigned char)(z & 0x7f);
        z >>= 7;
        *w->p++ = (unsigned char)(b | (z ? 0x80 : 0));
    } while (z);
}

static void put_bytes(writer *w, const void *s, size_t n)
{
    if (!w->p)
        return;
    if ((size_t)(w->end - w->p) < n) {
        w->p = NULL;
        return;
    }
    memcpy(w->p, s, n);
    w->p += n;
}

static void put_double(writer *w, double d)
{
    uint64_t u;
    unsigned char b[8];
    memcpy(&u, &d, sizeof u);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (8 * i));
    put_bytes(w, b, 8);
}

static void put_bool(writer *w, int v)
{
    unsigned char b = v != 0;
    put_bytes(w, &b, 1);
}

/* A fixed-size field that need not be NUL-terminated; like codec.c's
 * set_str, 128 bytes or more are refused. */
static void put_str(writer *w, const char *s, size_t cap)
{
    size_t len = strnlen(s, cap);
    if (len >= 128) {
        w->p = NULL;
        return;
    }
    put_long(w, (int64_t)len);
    put_bytes(w, s, len);
}

/* prefix followed by n in decimal ("comp3", "error5", "model4"). */
static void put_named(writer *w, const char *prefix, int n)
{
    char s[32];
    size_t len = strlen(prefix), k = 0;
    char digits[12];
    unsigned u = n < 0 ? 0u - (unsigned)n : (unsigned)n;
    memcpy(s, prefix, len);
    if (n < 0)
        s[len++] = '-';
    do {
        digits[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (k)
        s[len++] = digits[--k];
    put_long(w, (int64_t)len);
    put_bytes(w, s, len);
}

static void put_risk(writer *w, const pdm_event *ev)
{
    const pdm_risk *r = ev->u.risk;
    put_str(w, r->event_id, sizeof r->event_id);
    put_long(w, ev->machine_id);
    put_long(w, ev->ts);
    put_long(w, r->scored_at);
    put_str(w, r->model_version, sizeof r->model_version);
    put_double(w, r->risk);
    put_long(w, PDM_N_COMPONENTS);
    for (int k = 0; k < PDM_N_COMPONENTS; k++) {
        put_named(w, "comp", k + 1);
        put_double(w, r->component_prob[k]);
    }
    put_long(w, 0);
    put_long(w, r->level);
    int n = r->n_reasons < PDM_N_REASONS ? r->n_reasons : PDM_N_REASONS;
    if (n > 0) {
        put_long(w, n);
        for (int k = 0; k < n; k++) {
            put_str(w, r->reasons[k].feature, sizeof r->reasons[k].feature);
            put_double(w, r->reasons[k].value);
            put_double(w, r->reasons[k].contribution);
        }
    }
    put_long(w, 0);
    /* version 2: the incident */
    put_str(w, r->incident_id, sizeof r->incident_id);
    put_long(w, r->status);
    if (r->opened_at == INT64_MIN) {
        put_long(w, 0); /* ["null", long]: null */
    } else {
        put_long(w, 1);
        put_long(w, r->opened_at);
    }
    put_double(w, r->peak_risk);
    if (r->component)
        put_named(w, "comp", r->component);
    else
        put_long(w, 0); /* "" */
    put_long(w, r->resolution);
}

int pdm_direct_encode(const pdm_event *ev, unsigned char *out, size_t cap)
{
    writer w = {out, out + cap};
    switch (ev->type) {
    case PDM_EV_TELEMETRY:
        put_long(&w, ev->machine_id);
        put_long(&w, ev->ts);
        put_double(&w, ev->u.telemetry.volt);
        put_double(&w, ev->u.telemetry.rotate);
        put_double(&w, ev->u.telemetry.pressure);
        put_double(&w, ev->u.telemetry.vibration);
        break;
    case PDM_EV_ERROR:
        put_long(&w, ev->machine_id);
        put_long(&w, ev->ts);
        put_named(&w, "error", ev->u.error.error_id);
        break;
    case PDM_EV_MAINTENANCE:
        put_long(&w, ev->machine_id);
        put_long(&w, ev->ts);
        put_named(&w, "comp", ev->u.maintenance.component);
        break;
    case PDM_EV_FAILURE:
        put_long(&w, ev->machine_id);
        put_long(&w, ev->ts);
        put_named(&w, "comp", ev->u.failure.component);
        break;
    case PDM_EV_MACHINE:
        put_long(&w, ev->machine_id);
        put_long(&w, ev->ts);
        put_named(&w, "model", ev->u.machine.model);
        put_long(&w, ev->u.machine.age);
        break;
    case PDM_EV_SILENCE:
        put_long(&w, ev->machine_id);
        put_long(&w, ev->ts);
        put_long(&w, ev->u.silence.last_seen);
        put_bool(&w, ev->u.silence.silent);
        break;
    case PDM_EV_RISK:
        put_risk(&w, ev);
        break;
    default:
        return -1;
    }
    return w.p ? (int)(w.p - out) : -1;
}
