/* test_direct_util.h: random events for the tests of the direct encoder
 * and decoder (test_encode_direct.c, test_decode_direct.c): a fixed-seed
 * generator, doubles, longs and ints with their edge cases (NaN, infinities,
 * -0.0, the extremes, varint length boundaries), strings up to and at their
 * field's size, and a random event of each type. Include it after cmocka. */
#ifndef TEST_DIRECT_UTIL_H
#define TEST_DIRECT_UTIL_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "pdm_schemas.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static inline uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const double specials[] = {0.0,      -0.0,   NAN, INFINITY, -INFINITY,  DBL_MAX,
                                  -DBL_MIN, 5e-324, 1.0, -176.25,  0.999999999};

static inline double any_double(void)
{
    uint64_t r = next();
    if (r % 4 == 0)
        return specials[(r >> 8) % (sizeof specials / sizeof *specials)];
    return ((double)(int64_t)next() / 9.2e18) * (double)((r >> 8) % 1000);
}

static const int64_t long_specials[] = {
    0, -1, 1, 63, 64, -64, -65, INT64_MIN, INT64_MAX, 1420070400000LL, -1420070400000LL};

static inline int64_t any_long(void)
{
    uint64_t r = next();
    if (r % 3 == 0)
        return long_specials[(r >> 8) % (sizeof long_specials / sizeof *long_specials)];
    return (int64_t)(next() >> (r % 64));
}

static inline int32_t any_int(void)
{
    uint64_t r = next();
    static const int32_t s[] = {0, 1, -1, INT32_MIN, INT32_MAX, 63, 64, 8191, 8192};
    return r % 3 == 0 ? s[(r >> 8) % 9] : (int32_t)(next() >> (r % 32));
}

/* A string of `len` printable bytes into a field of cap bytes (no NUL when
 * len == cap). */
static inline void fill_string(char *dst, size_t cap, size_t len)
{
    for (size_t i = 0; i < len && i < cap; i++)
        dst[i] = (char)('a' + (next() % 26));
    if (len < cap)
        dst[len] = '\0';
}

static inline void random_risk(pdm_risk *r)
{
    memset(r, 0, sizeof *r);
    size_t lens[] = {0, 1, 20, sizeof r->event_id - 1, sizeof r->event_id};
    fill_string(r->event_id, sizeof r->event_id, lens[next() % 5]);
    fill_string(r->model_version, sizeof r->model_version, next() % (sizeof r->model_version + 1));
    r->scored_at = any_long();
    r->risk = any_double();
    for (int k = 0; k < PDM_N_COMPONENTS; k++)
        r->component_prob[k] = any_double();
    r->level = (pdm_level)(next() % 3);
    r->n_reasons = (int)(next() % (PDM_N_REASONS + 1));
    for (int k = 0; k < PDM_N_REASONS; k++) {
        fill_string(r->reasons[k].feature, sizeof r->reasons[k].feature,
                    next() % (sizeof r->reasons[k].feature + 1));
        r->reasons[k].value = any_double();
        r->reasons[k].contribution = any_double();
    }
    pdm_risk_no_incident(r);
    if (next() % 2) {
        fill_string(r->incident_id, sizeof r->incident_id, next() % sizeof r->incident_id);
        r->status = (pdm_incident_status)(next() % 2);
        r->opened_at = next() % 5 ? any_long() : INT64_MIN;
        r->peak_risk = any_double();
        r->component = (int)(next() % (PDM_N_COMPONENTS + 1));
        r->resolution = (pdm_alert_resolution)(next() % PDM_ALERT_N_RESOLUTIONS);
    }
}

static inline void random_event(pdm_event_type t, pdm_event *ev, pdm_risk *risk)
{
    memset(ev, 0, sizeof *ev);
    ev->type = t;
    ev->machine_id = any_int();
    ev->ts = any_long();
    switch (t) {
    case PDM_EV_TELEMETRY:
        ev->u.telemetry.volt = any_double();
        ev->u.telemetry.rotate = any_double();
        ev->u.telemetry.pressure = any_double();
        ev->u.telemetry.vibration = any_double();
        break;
    case PDM_EV_ERROR:
        ev->u.error.error_id = 1 + (int)(next() % PDM_N_ERRORS);
        break;
    case PDM_EV_MAINTENANCE:
        ev->u.maintenance.component = 1 + (int)(next() % PDM_N_COMPONENTS);
        break;
    case PDM_EV_FAILURE:
        ev->u.failure.component = 1 + (int)(next() % PDM_N_COMPONENTS);
        break;
    case PDM_EV_MACHINE:
        ev->u.machine.model = next() % 4 ? 1 + (int)(next() % 9) : INT32_MAX;
        ev->u.machine.age = any_int();
        break;
    case PDM_EV_SILENCE:
        ev->u.silence.last_seen = any_long();
        ev->u.silence.silent = (int)(next() % 2);
        break;
    case PDM_EV_RISK:
        random_risk(risk);
        ev->u.risk = risk;
        break;
    default:
        break;
    }
}

#endif
