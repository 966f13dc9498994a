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
#include "test_direct_util.h"

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
