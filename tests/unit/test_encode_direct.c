/* test_encode_direct.c: the direct encoder writes, for every event type
 * and edge case, the very bytes avro-c's generic writer gives, covers
 * every current schema version, and refuses what the generic path refuses. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "encode_direct.h"
#include "pdm_schemas.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const double specials[] = {0.0,      -0.0,   NAN, INFINITY, -INFINITY,  DBL_MAX,
                                  -DBL_MIN, 5e-324, 1.0, -176.25,  0.999999999};

static double any_double(void)
{
    uint64_t r = next();
    if (r % 4 == 0)
        return specials[(r >> 8) % (sizeof specials / sizeof *specials)];
    return ((double)(int64_t)next() / 9.2e18) * (double)((r >> 8) % 1000);
}

static const int64_t long_specials[] = {
    0, -1, 1, 63, 64, -64, -65, INT64_MIN, INT64_MAX, 1420070400000LL, -1420070400000LL};

static int64_t any_long(void)
{
    uint64_t r = next();
    if (r % 3 == 0)
        return long_specials[(r >> 8) % (sizeof long_specials / sizeof *long_specials)];
    return (int64_t)(next() >> (r % 64));
}

static int32_t any_int(void)
{
    uint64_t r = next();
    static const int32_t s[] = {0, 1, -1, INT32_MIN, INT32_MAX, 63, 64, 8191, 8192};
    return r % 3 == 0 ? s[(r >> 8) % 9] : (int32_t)(next() >> (r % 32));
}

/* A string of `len` printable bytes into a field of cap bytes (no NUL when
 * len == cap). */
static void fill_string(char *dst, size_t cap, size_t len)
{
    for (size_t i = 0; i < len && i < cap; i++)
        dst[i] = (char)('a' + (next() % 26));
    if (len < cap)
        dst[len] = '\0';
}

static void random_risk(pdm_risk *r)
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

static void random_event(pdm_event_type t, pdm_event *ev, pdm_risk *risk)
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

/* ev through both paths of one codec: equal results, equal bytes. */
static void assert_same_encoding(pdm_codec *c, const pdm_event *ev, pdm_wire_format fmt, size_t cap)
{
    unsigned char a[PDM_MAX_ENCODED], b[PDM_MAX_ENCODED];
    char err[256];
    pdm_codec_use_direct(c, 1);
    assert_true(pdm_codec_direct(c, ev->type));
    int na = pdm_codec_encode(c, ev, fmt, a, cap, err, sizeof err);
    pdm_codec_use_direct(c, 0);
    assert_false(pdm_codec_direct(c, ev->type));
    int nb = pdm_codec_encode(c, ev, fmt, b, cap, err, sizeof err);
    pdm_codec_use_direct(c, 1);
    if (na != nb)
        fail_msg("type %d: direct %d bytes, avro-c %d (cap %zu)", (int)ev->type, na, nb, cap);
    if (na > 0)
        assert_memory_equal(a, b, (size_t)na);
}

static void test_covers_every_current_schema(void **state)
{
    (void)state;
    char err[256];
    pdm_codec *c = pdm_codec_new(err, sizeof err);
    assert_non_null(c);
    /* A schema change must come with this encoder's update (encode_direct.c). */
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        if (!pdm_codec_direct(c, (pdm_event_type)t))
            fail_msg("%s: its writer schema (fingerprint %016llx) is not the one "
                     "encode_direct.c implements (%016llx)",
                     pdm_event_schema_name((pdm_event_type)t),
                     (unsigned long long)pdm_codec_fingerprint(c, (pdm_event_type)t),
                     (unsigned long long)pdm_direct_fingerprint((pdm_event_type)t));
    }
    pdm_codec_destroy(c);
}

static void test_same_bytes_as_avro_c(void **state)
{
    (void)state;
    char err[256];
    pdm_codec *c = pdm_codec_new(err, sizeof err);
    assert_non_null(c);
    assert_int_equal(pdm_codec_set_schema_ids(c,
                                              "telemetry=1,error=2,maintenance=3,failure=4,"
                                              "machine=5,risk=6,silence=7",
                                              err, sizeof err),
                     0);
    pdm_risk risk;
    pdm_event ev;
    for (int t = 0; t < PDM_EV_COUNT; t++)
        for (int i = 0; i < 3000; i++) {
            random_event((pdm_event_type)t, &ev, &risk);
            assert_same_encoding(c, &ev, i % 2 ? PDM_WIRE_CONFLUENT : PDM_WIRE_SINGLE_OBJECT,
                                 PDM_MAX_ENCODED);
        }
    pdm_codec_destroy(c);
}

static void test_refuses_what_avro_c_refuses(void **state)
{
    (void)state;
    char err[256];
    pdm_codec *c = pdm_codec_new(err, sizeof err);
    assert_non_null(c);
    pdm_risk risk;
    pdm_event ev;
    random_event(PDM_EV_RISK, &ev, &risk);
    /* a buffer too small for the body, at every size */
    unsigned char whole[PDM_MAX_ENCODED];
    int n = pdm_codec_encode(c, &ev, PDM_WIRE_SINGLE_OBJECT, whole, sizeof whole, err, sizeof err);
    assert_true(n > 10);
    for (size_t cap = 10; cap < (size_t)n; cap++) {
        unsigned char small[PDM_MAX_ENCODED];
        assert_int_equal(
            pdm_codec_encode(c, &ev, PDM_WIRE_SINGLE_OBJECT, small, cap, err, sizeof err), -1);
    }
    assert_same_encoding(c, &ev, PDM_WIRE_SINGLE_OBJECT, (size_t)n);
    /* every reason slot filled, names of all lengths up to the field's */
    pdm_risk full = risk;
    full.n_reasons = PDM_N_REASONS;
    for (int k = 0; k < PDM_N_REASONS; k++)
        fill_string(full.reasons[k].feature, sizeof full.reasons[k].feature,
                    sizeof full.reasons[k].feature - (size_t)k);
    ev.u.risk = &full;
    assert_same_encoding(c, &ev, PDM_WIRE_SINGLE_OBJECT, PDM_MAX_ENCODED);
    pdm_codec_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_covers_every_current_schema),
        cmocka_unit_test(test_same_bytes_as_avro_c),
        cmocka_unit_test(test_refuses_what_avro_c_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
