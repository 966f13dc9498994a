/* test_schemas_evolution.c: RiskEvent schema evolution (version 1 data
 * read as version 2, against python3-avro) and round trips of every event
 * type in both framings and as JSON (schemas/). */
#include "test_schemas_util.h"

/* One RiskEvent as a version 1 datum, in python's json.dumps(sort_keys=True)
 * form, and as version 2 with the incident fields at their defaults. */
#define RISK_COMPONENTS                                                                            \
    "\"components\": [{\"component\": \"comp1\", \"probability\": 0.125}, {\"component\": "        \
    "\"comp2\", \"probability\": 0.25}, {\"component\": \"comp3\", \"probability\": 0.5}, "        \
    "{\"component\": \"comp4\", \"probability\": 0.0625}]"
#define RISK_REASONS                                                                               \
    "\"top_reasons\": [{\"contribution\": 0.5, \"feature\": \"volt_mean_3h\", \"value\": 170.5}]"
static const char risk_v1_datum[] =
    "{" RISK_COMPONENTS ", \"event_id\": \"7-1420070400000-abcdef012345\", \"level\": \"WARN\", "
    "\"machine_id\": 7, \"model_version\": \"abcdef012345\", \"risk\": 0.75, \"scored_at\": "
    "1764400000000, " RISK_REASONS ", \"ts\": 1420070400000}";
static const char risk_v2_defaults[] =
    "{\"component\": \"\", " RISK_COMPONENTS ", \"event_id\": \"7-1420070400000-abcdef012345\", "
    "\"incident_id\": \"\", \"level\": \"WARN\", \"machine_id\": 7, \"model_version\": "
    "\"abcdef012345\", \"opened_at\": null, \"peak_risk\": 0.0, \"resolution\": \"none\", "
    "\"risk\": 0.75, \"scored_at\": 1764400000000, \"status\": \"firing\", " RISK_REASONS
    ", \"ts\": 1420070400000}";

/* The event of risk_v1_datum, with an open incident. */
static pdm_event evolution_event(pdm_risk *r)
{
    pdm_event e = {.type = PDM_EV_RISK, .machine_id = 7, .ts = INT64_C(1420070400000)};
    memset(r, 0, sizeof *r);
    snprintf(r->event_id, sizeof r->event_id, "7-1420070400000-abcdef012345");
    snprintf(r->model_version, sizeof r->model_version, "abcdef012345");
    r->scored_at = INT64_C(1764400000000);
    r->risk = 0.75;
    r->component_prob[0] = 0.125;
    r->component_prob[1] = 0.25;
    r->component_prob[2] = 0.5;
    r->component_prob[3] = 0.0625;
    r->level = PDM_LEVEL_WARN;
    r->n_reasons = 1;
    snprintf(r->reasons[0].feature, sizeof r->reasons[0].feature, "volt_mean_3h");
    r->reasons[0].value = 170.5;
    r->reasons[0].contribution = 0.5;
    snprintf(r->incident_id, sizeof r->incident_id, "7-1420063200000");
    r->status = PDM_INCIDENT_FIRING;
    r->opened_at = INT64_C(1420063200000);
    r->peak_risk = 0.8125;
    r->component = 3;
    r->resolution = PDM_RESOLUTION_NONE;
    e.u.risk = r;
    return e;
}

/* RiskEvent version 2 appended the incident fields with defaults (Avro
 * schema evolution), and both directions hold:
 *  - old writer, new reader: a version 1 body (python3-avro writes it with
 *    schemas/history/RiskEvent.v1.avsc) decodes in our codec when framed
 *    with the version 1 fingerprint, incident fields at their defaults; and
 *    python's schema resolution reads it as version 2 with the defaults of
 *    RiskEvent.avsc (a field added without a default fails here);
 *  - new writer, old reader: python reads our version 2 body as version 1,
 *    the incident fields skipped; the version 1 body is a prefix of it. */
static void test_risk_schema_evolution(void **state)
{
    require_python_avro();
    char err[PDM_ERRSTR_SIZE], hex1[2 * PDM_MAX_ENCODED + 2], hex2[2 * PDM_MAX_ENCODED + 2],
        got[4096];
    unsigned char buf[PDM_MAX_ENCODED];
    const char *v1 = pdm_event_schema_json_version(PDM_EV_RISK, 1);
    const char *v2 = pdm_event_schema_json(PDM_EV_RISK);
    assert_non_null(v1);
    assert_ptr_equal(pdm_event_schema_json_version(PDM_EV_RISK, 2), v2);
    pdm_codec *c = pdm_codec_new(err, sizeof err);
    assert_non_null(c);

    /* Both fingerprints, each the CRC of its version's canonical form. */
    uint64_t fp1 = pdm_codec_fingerprint_version(c, PDM_EV_RISK, 1);
    uint64_t fp2 = pdm_codec_fingerprint_version(c, PDM_EV_RISK, 2);
    char *canonical = NULL;
    assert_int_equal(pdm_avro_canonical_form(v1, &canonical, err, sizeof err), 0);
    assert_true(fp1 == crc64_reference((unsigned char *)canonical, strlen(canonical)));
    free(canonical);
    assert_true(fp2 == pdm_codec_fingerprint(c, PDM_EV_RISK));
    assert_true(fp1 != fp2);
    assert_true(pdm_codec_fingerprint_version(c, PDM_EV_RISK, 3) == 0);
    assert_true(pdm_codec_fingerprint_version(c, PDM_EV_TELEMETRY, 1) ==
                pdm_codec_fingerprint(c, PDM_EV_TELEMETRY));

    /* Old writer, new reader (our codec): the version 1 layout, defaults. */
    pdm_risk want_risk, *r;
    pdm_event want = evolution_event(&want_risk), out;
    python_body_hex(v1, risk_v1_datum, hex1, sizeof hex1);
    buf[0] = 0xC3;
    buf[1] = 0x01;
    for (int i = 0; i < 8; i++)
        buf[2 + i] = (unsigned char)(fp1 >> (8 * i));
    int n1 = from_hex(hex1, buf + 10, sizeof buf - 10);
    assert_true(n1 > 0);
    assert_int_equal(pdm_codec_decode(c, buf, 10 + (size_t)n1, &out, err, sizeof err),
                     PDM_DECODE_OK);
    pdm_risk_no_incident(&want_risk); /* what version 1 cannot say */
    assert_same_event(&want, &out);
    r = out.u.risk;
    assert_string_equal(r->incident_id, "");
    assert_int_equal(r->status, PDM_INCIDENT_FIRING);
    assert_true(r->opened_at == INT64_MIN);
    assert_true(r->peak_risk == 0);
    assert_int_equal(r->component, 0);
    assert_int_equal(r->resolution, PDM_RESOLUTION_NONE);
    char *json = pdm_event_to_json(&out);
    assert_non_null(strstr(json, "\"incident_id\":\"\",\"status\":\"firing\",\"opened_at\":null,"
                                 "\"peak_risk\":0,\"component\":\"\",\"resolution\":\"none\""));
    free(json);
    /* The fingerprint decides the layout: a version 1 body under the
     * version 2 fingerprint ends early. */
    for (int i = 0; i < 8; i++)
        buf[2 + i] = (unsigned char)(fp2 >> (8 * i));
    assert_int_equal(pdm_codec_decode(c, buf, 10 + (size_t)n1, &out, err, sizeof err),
                     PDM_DECODE_TRUNCATED);

    /* Old writer, new reader (python's schema resolution): the defaults. */
    python_resolve(v1, v2, hex1, got, sizeof got);
    assert_string_equal(got, risk_v2_defaults);

    /* New writer, old reader: python reads our version 2 body as version 1. */
    want = evolution_event(&want_risk);
    int len = pdm_codec_encode(c, &want, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err);
    assert_true(len > 10);
    for (int i = 0; i < 8; i++)
        assert_int_equal(buf[2 + i], (fp2 >> (8 * i)) & 0xff);
    to_hex(buf + 10, (size_t)len - 10, hex2);
    python_resolve(v2, v1, hex2, got, sizeof got);
    assert_string_equal(got, risk_v1_datum);
    /* Appended at the end: the version 1 body is where version 2 begins. */
    assert_true(strlen(hex2) > strlen(hex1));
    assert_memory_equal(hex2, hex1, strlen(hex1));
    /* ... and python reads the incident as version 2 too. */
    python_resolve(v2, v2, hex2, got, sizeof got);
    assert_non_null(strstr(got, "\"incident_id\": \"7-1420063200000\""));
    assert_non_null(strstr(got, "\"opened_at\": 1420063200000, \"peak_risk\": 0.8125, "
                                "\"resolution\": \"none\""));
    assert_non_null(strstr(got, "\"component\": \"comp3\", \"components\""));
    pdm_codec_destroy(c);
}

static void test_round_trip_all_types(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    unsigned char buf[PDM_MAX_ENCODED];
    pdm_codec *c = pdm_codec_new(err, sizeof err);
    assert_non_null(c);
    for (int t = 0; t < PDM_EV_COUNT; t++)
        assert_int_equal(pdm_codec_set_schema_id(c, (pdm_event_type)t, 100 + t), 0);
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        for (int fmt = 0; fmt < 2; fmt++) {
            pdm_event in = sample((pdm_event_type)t), out;
            int len =
                pdm_codec_encode(c, &in, (pdm_wire_format)fmt, buf, sizeof buf, err, sizeof err);
            assert_true(len > 0);
            if (fmt == PDM_WIRE_SINGLE_OBJECT) {
                uint64_t fp = pdm_codec_fingerprint(c, (pdm_event_type)t);
                assert_int_equal(buf[0], 0xC3);
                assert_int_equal(buf[1], 0x01);
                for (int i = 0; i < 8; i++)
                    assert_int_equal(buf[2 + i], (fp >> (8 * i)) & 0xff);
                /* The fingerprint is the CRC of the canonical form. */
                char *canonical = NULL;
                assert_int_equal(pdm_avro_canonical_form(pdm_event_schema_json((pdm_event_type)t),
                                                         &canonical, err, sizeof err),
                                 0);
                assert_true(fp == crc64_reference((unsigned char *)canonical, strlen(canonical)));
                free(canonical);
            } else {
                assert_int_equal(buf[0], 0);
                assert_int_equal(buf[4], 100 + t);
            }
            assert_int_equal(pdm_codec_decode(c, buf, (size_t)len, &out, err, sizeof err),
                             PDM_DECODE_OK);
            assert_same_event(&in, &out);
            /* The peek reads the same type, machine and time of every
             * input type; the output types are not peeked. */
            pdm_event_peek peek = {0};
            int output = t == PDM_EV_RISK || t == PDM_EV_SILENCE;
            assert_int_equal(pdm_codec_peek(c, buf, (size_t)len, &peek), output ? -1 : 0);
            if (!output) {
                assert_int_equal(peek.type, t);
                assert_int_equal(peek.machine_id, in.machine_id);
                assert_true(peek.ts == in.ts);
                assert_int_equal(pdm_codec_peek(c, buf, fmt ? 6 : 11, &peek), -1); /* cut short */
            }
        }
        /* JSON round trip. */
        pdm_event in = sample((pdm_event_type)t), out;
        pdm_risk risk;
        char *json = pdm_event_to_json(&in);
        assert_non_null(json);
        if (t == PDM_EV_RISK) {
            assert_non_null(strstr(json, "\"level\":\"CRITICAL\""));
            assert_non_null(strstr(json, "\"value\":null")); /* NaN */
            assert_int_equal(pdm_event_from_json(json, &out, err, sizeof err), -1);
        }
        assert_non_null(strstr(json, "\"ts\":\"2015-01-01T06:00:00.123Z\""));
        assert_int_equal(pdm_event_from_json_with_risk(json, &out, &risk, err, sizeof err), 0);
        assert_same_event(&in, &out);
        free(json);
    }

    /* Non-finite readings are the scorer's business, not the codec's. */
    pdm_event in = sample(PDM_EV_TELEMETRY), out;
    in.u.telemetry.volt = NAN;
    in.u.telemetry.rotate = INFINITY;
    in.u.telemetry.pressure = -INFINITY;
    int len = pdm_codec_encode(c, &in, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err);
    assert_true(len > 0);
    assert_int_equal(pdm_codec_decode(c, buf, (size_t)len, &out, err, sizeof err), PDM_DECODE_OK);
    assert_true(isnan(out.u.telemetry.volt));
    assert_true(isinf(out.u.telemetry.rotate) && out.u.telemetry.rotate > 0);
    assert_true(isinf(out.u.telemetry.pressure) && out.u.telemetry.pressure < 0);
    char *json = pdm_event_to_json(&out);
    assert_non_null(strstr(json, "\"volt\":null"));
    assert_int_equal(pdm_event_from_json(json, &out, err, sizeof err), 0);
    assert_true(isnan(out.u.telemetry.volt));
    free(json);

    /* ts given as integer milliseconds, and before the epoch. */
    assert_int_equal(pdm_event_from_json("{\"type\":\"error\",\"machine_id\":1,\"ts\":-1,"
                                         "\"error_id\":\"error1\"}",
                                         &out, err, sizeof err),
                     0);
    assert_int_equal(out.ts, -1);
    json = pdm_event_to_json(&out);
    assert_non_null(strstr(json, "\"ts\":\"1969-12-31T23:59:59.999Z\""));
    free(json);

    /* A buffer too small is an error, not an overflow. */
    in = sample(PDM_EV_RISK);
    len = pdm_codec_encode(c, &in, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err);
    assert_true(len > 10);
    for (size_t cap = 0; cap < (size_t)len; cap += 7)
        assert_int_equal(
            pdm_codec_encode(c, &in, PDM_WIRE_SINGLE_OBJECT, buf, cap, err, sizeof err), -1);
    assert_true(len <= PDM_MAX_ENCODED);
    pdm_codec_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_risk_schema_evolution),
        cmocka_unit_test(test_round_trip_all_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
