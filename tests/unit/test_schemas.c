/* Unit tests of schemas/: CRC-64-AVRO, the Parsing Canonical Form (against
 * Debian's python3-avro, which scripts/install-deps.sh installs), the bytes
 * avro-c writes against python3-avro's, and the type names. Schema evolution
 * and round trips are in test_schemas_evolution.c, rejection of bad
 * messages in test_schemas_reject.c. */
#include "test_schemas_util.h"

static void test_crc64(void **state)
{
    assert_true(pdm_avro_crc64("", 0) == UINT64_C(0xc15d213aa4d7a795)); /* the spec's EMPTY */
    unsigned char buf[300];
    srand(7);
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(rand() % (int)sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)rand();
        assert_true(pdm_avro_crc64(buf, n) == crc64_reference(buf, n));
    }
    assert_true(pdm_avro_crc64("\"int\"", 5) != pdm_avro_crc64("\"long\"", 6));
}

static void canon_is(const char *schema, const char *want)
{
    char *got = NULL, err[PDM_ERRSTR_SIZE];
    assert_int_equal(pdm_avro_canonical_form(schema, &got, err, sizeof err), 0);
    assert_string_equal(got, want);
    free(got);
}

static void test_canonical_rules(void **state)
{
    canon_is("{\"type\": \"int\"}", "\"int\""); /* PRIMITIVES */
    canon_is("{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", "\"long\""); /* STRIP */
    canon_is("[\"null\", {\"type\":\"string\"}]", "[\"null\",\"string\"]");
    canon_is(
        "{\"doc\":\"d\",\"fields\":[{\"type\":\"int\",\"name\":\"a\",\"default\":1}],"
        "\"namespace\":\"x.y\",\"name\":\"R\",\"type\":\"record\",\"aliases\":[\"Q\"]}",
        "{\"name\":\"x.y.R\",\"type\":\"record\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}");
    /* FULLNAMES: inner names inherit the namespace; a second use is a reference. */
    canon_is("{\"type\":\"record\",\"name\":\"a.R\",\"fields\":["
             "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\"]}},"
             "{\"name\":\"f\",\"type\":\"E\"},"
             "{\"name\":\"g\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"fixed\",\"name\":"
             "\"b.F\",\"size\":4}}}]}",
             "{\"name\":\"a.R\",\"type\":\"record\",\"fields\":["
             "{\"name\":\"e\",\"type\":{\"name\":\"a.E\",\"type\":\"enum\",\"symbols\":[\"X\"]}},"
             "{\"name\":\"f\",\"type\":\"a.E\"},"
             "{\"name\":\"g\",\"type\":{\"type\":\"map\",\"values\":{\"name\":\"b.F\",\"type\":"
             "\"fixed\",\"size\":4}}}]}");
    char *got = NULL, err[PDM_ERRSTR_SIZE];
    assert_int_equal(pdm_avro_canonical_form("{not json", &got, err, sizeof err), -1);
    assert_int_equal(
        pdm_avro_canonical_form("{\"type\":\"record\",\"name\":\"R\"}", &got, err, sizeof err), -1);
}

/* python3-avro 1.11 writes a logical type's base as {"type":"long"} where
 * the specification's PRIMITIVES rule (and Java's SchemaNormalization) give
 * "long"; this undoes that one difference before comparing. */
static void replace_all(char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    char *p;
    while ((p = strstr(s, from))) {
        memmove(p + tl, p + fl, strlen(p + fl) + 1);
        memcpy(p, to, tl);
    }
}

static void canonical_matches_python_avro(const char *json)
{
    {
        char path[] = "/tmp/pdm-avsc-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
        close(fd);
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c 'import avro.schema,sys; "
                 "print(avro.schema.parse(open(sys.argv[1]).read()).canonical_form)' %s",
                 path);
        FILE *p = popen(cmd, "r");
        char want[8192] = {0};
        assert_non_null(fgets(want, sizeof want, p));
        pclose(p);
        unlink(path);
        want[strcspn(want, "\n")] = '\0';
        replace_all(want, "{\"type\":\"long\"}", "\"long\"");
        char *got = NULL, err[PDM_ERRSTR_SIZE];
        assert_int_equal(pdm_avro_canonical_form(json, &got, err, sizeof err), 0);
        assert_string_equal(got, want);
        free(got);
    }
}

/* Every schema the codec decodes, the kept earlier versions too. */
static void test_canonical_matches_python_avro(void **state)
{
    require_python_avro();
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        int current = pdm_event_schema_version((pdm_event_type)t);
        assert_true(current >= 1);
        for (int v = 1; v <= current; v++) {
            const char *json = pdm_event_schema_json_version((pdm_event_type)t, v);
            assert_non_null(json);
            canonical_matches_python_avro(json);
        }
        assert_null(pdm_event_schema_json_version((pdm_event_type)t, current + 1));
        assert_null(pdm_event_schema_json_version((pdm_event_type)t, 0));
    }
    assert_int_equal(pdm_event_schema_version(PDM_EV_RISK), 2);
}

/* The bodies avro-c writes are the bytes python3-avro writes for the same
 * datum, and python's bytes decode to the same event. */
static void test_interop_with_python_avro(void **state)
{
    require_python_avro();
    static const struct {
        pdm_event_type type;
        const char *datum;
    } cases[] = {
        {PDM_EV_TELEMETRY, "{\"machine_id\": 42, \"ts\": 1420092000123, \"volt\": 170.123456789,"
                           " \"rotate\": 446.5, \"pressure\": -1e-300, \"vibration\": 40.4}"},
        {PDM_EV_ERROR, "{\"machine_id\": 42, \"ts\": 1420092000123, \"error_id\": \"error5\"}"},
        {PDM_EV_MAINTENANCE,
         "{\"machine_id\": 42, \"ts\": 1420092000123, \"component\": \"comp2\"}"},
        {PDM_EV_FAILURE, "{\"machine_id\": 42, \"ts\": 1420092000123, \"component\": \"comp4\"}"},
        {PDM_EV_MACHINE,
         "{\"machine_id\": 42, \"ts\": 1420092000123, \"model\": \"model3\", \"age\": 18}"},
        {PDM_EV_SILENCE, "{\"machine_id\": 42, \"ts\": 1420092000123, \"last_seen\": "
                         "1420066800122, \"silent\": true}"},
        {PDM_EV_RISK,
         "{\"event_id\": \"42-1420092000123-abcdef012345\", \"machine_id\": 42,"
         " \"ts\": 1420092000123, \"scored_at\": 1764400000000, \"model_version\": "
         "\"abcdef012345\","
         " \"risk\": 0.875, \"components\": [{\"component\": \"comp1\", \"probability\": 0.1},"
         " {\"component\": \"comp2\", \"probability\": 0.2}, {\"component\": \"comp3\","
         " \"probability\": 0.30000000000000004}, {\"component\": \"comp4\", \"probability\": "
         "0.4}],"
         " \"level\": \"CRITICAL\", \"top_reasons\": [{\"feature\": \"vibration_mean_0h\","
         " \"value\": 40.0, \"contribution\": 1.5}, {\"feature\": \"vibration_mean_1h\","
         " \"value\": NaN, \"contribution\": 0.5}, {\"feature\": \"vibration_mean_2h\","
         " \"value\": 42.0, \"contribution\": -0.5}],"
         " \"incident_id\": \"42-1420070400000\", \"status\": \"resolved\","
         " \"opened_at\": 1420070400000, \"peak_risk\": 0.9375, \"component\": \"comp3\","
         " \"resolution\": \"repaired\"}"},
    };
    char err[PDM_ERRSTR_SIZE], want[2 * PDM_MAX_ENCODED + 2], got[2 * PDM_MAX_ENCODED + 2];
    unsigned char buf[PDM_MAX_ENCODED];
    pdm_codec *c = pdm_codec_new(err, sizeof err);
    assert_non_null(c);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pdm_event in = sample(cases[i].type), out;
        int len =
            pdm_codec_encode(c, &in, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err);
        assert_true(len > 10);
        to_hex(buf + 10, (size_t)len - 10, got);
        python_body_hex(pdm_event_schema_json(cases[i].type), cases[i].datum, want, sizeof want);
        assert_string_equal(got, want);
        /* python's body behind our header decodes to the same event. */
        int n = from_hex(want, buf + 10, sizeof buf - 10);
        assert_true(n > 0);
        assert_int_equal(pdm_codec_decode(c, buf, 10 + (size_t)n, &out, err, sizeof err),
                         PDM_DECODE_OK);
        assert_same_event(&in, &out);
    }
    pdm_codec_destroy(c);
}

static void test_names(void **state)
{
    pdm_event_type t;
    assert_int_equal(pdm_event_type_parse("telemetry", &t), 0);
    assert_int_equal(t, PDM_EV_TELEMETRY);
    assert_int_equal(pdm_event_type_parse("io.pdm.MachineInfo", &t), 0);
    assert_int_equal(t, PDM_EV_MACHINE);
    assert_int_equal(pdm_event_type_parse("RiskEvent", &t), 0);
    assert_int_equal(t, PDM_EV_RISK);
    assert_int_equal(pdm_event_type_parse("nope", &t), -1);
    assert_string_equal(pdm_level_name(PDM_LEVEL_WARN), "WARN");
    assert_string_equal(pdm_decode_status_name(PDM_DECODE_TRUNCATED), "truncated");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64),
        cmocka_unit_test(test_canonical_rules),
        cmocka_unit_test(test_canonical_matches_python_avro),
        cmocka_unit_test(test_interop_with_python_avro),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
