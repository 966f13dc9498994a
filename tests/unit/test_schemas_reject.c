/* test_schemas_reject.c: the codec's rejection of bad messages with a
 * reason, and random garbage that never crashes it (schemas/). */
#include "test_schemas_util.h"

static unsigned char *find_bytes(unsigned char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return hay + i;
    return NULL;
}

static void expect_status(pdm_codec *c, const void *data, size_t len, int want)
{
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_event ev;
    int got = pdm_codec_decode(c, data, len, &ev, err, sizeof err);
    if (got != want)
        fail_msg("decode gave %s (%s), expected %s", pdm_decode_status_name((pdm_decode_status)got),
                 err, pdm_decode_status_name((pdm_decode_status)want));
    if (want != PDM_DECODE_OK)
        assert_true(err[0] != '\0'); /* a reason is always given */
}

static void test_rejects_with_reason(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    unsigned char buf[PDM_MAX_ENCODED];
    pdm_codec *c = pdm_codec_new(err, sizeof err);
    assert_non_null(c);
    expect_status(c, "", 0, PDM_DECODE_EMPTY);
    expect_status(c, NULL, 0, PDM_DECODE_EMPTY);
    expect_status(c, "hello", 5, PDM_DECODE_BAD_MAGIC);
    expect_status(c,
                  "\xC3\x02"
                  "12345678",
                  10, PDM_DECODE_BAD_MAGIC);
    expect_status(c,
                  "\xC3\x01"
                  "ABCDEFGH\x02",
                  11, PDM_DECODE_UNKNOWN_SCHEMA);
    expect_status(c, "\x00\x00\x00\x00\x07\x02", 6, PDM_DECODE_UNKNOWN_SCHEMA); /* no ids set */

    for (int t = 0; t < PDM_EV_COUNT; t++)
        assert_int_equal(pdm_codec_set_schema_id(c, (pdm_event_type)t, 7 + t), 0);
    expect_status(c, "\x00\x00\x00\x00\x06\x02", 6, PDM_DECODE_UNKNOWN_SCHEMA); /* id 6 unset */
    expect_status(c, "\x00\x00\x00\x01\x07\x02", 6, PDM_DECODE_UNKNOWN_SCHEMA); /* 263 */
    expect_status(c, "\x00\x00\x00", 3, PDM_DECODE_TRUNCATED);
    expect_status(c, "\xC3", 1, PDM_DECODE_TRUNCATED);

    /* Every cut of every type in both framings; a byte too many. */
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        for (int fmt = 0; fmt < 2; fmt++) {
            pdm_event in = sample((pdm_event_type)t);
            int len =
                pdm_codec_encode(c, &in, (pdm_wire_format)fmt, buf, sizeof buf, err, sizeof err);
            int header = fmt == PDM_WIRE_SINGLE_OBJECT ? 10 : 5;
            assert_true(len > header);
            for (int cut = 1; cut < len; cut++) {
                pdm_event out;
                err[0] = '\0';
                int st = pdm_codec_decode(c, buf, (size_t)cut, &out, err, sizeof err);
                if (st != PDM_DECODE_TRUNCATED && st != PDM_DECODE_MALFORMED)
                    fail_msg("%s cut at %d of %d: %s", pdm_event_type_name((pdm_event_type)t), cut,
                             len, pdm_decode_status_name((pdm_decode_status)st));
                assert_true(err[0] != '\0');
                /* Inside the header, or where a value is cut short: truncated. */
                if (cut < header || cut == header)
                    assert_int_equal(st, PDM_DECODE_TRUNCATED);
            }
            buf[len] = 0;
            expect_status(c, buf, (size_t)len + 1, PDM_DECODE_MALFORMED);
        }
    }
    /* A string length of 2^62 must not reach avro-c's allocator. */
    pdm_event e = sample(PDM_EV_ERROR);
    int len = pdm_codec_encode(c, &e, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err);
    unsigned char huge[32];
    memcpy(huge, buf, 10 + 1 + 6); /* header, machine_id (1 byte), ts (6 bytes) */
    const unsigned char varint[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f};
    memcpy(huge + 17, varint, sizeof varint);
    assert_true(len > 17);
    expect_status(c, huge, 17 + sizeof varint, PDM_DECODE_TRUNCATED);

    /* Names the data does not have are invalid values. */
    const char *bad[] = {
        "{\"type\":\"error\",\"machine_id\":1,\"ts\":0,\"error_id\":\"error6\"}",
        "{\"type\":\"error\",\"machine_id\":1,\"ts\":0,\"error_id\":\"error+1\"}",
        "{\"type\":\"maintenance\",\"machine_id\":1,\"ts\":0,\"component\":\"comp0\"}",
        "{\"type\":\"failure\",\"machine_id\":1,\"ts\":0,\"component\":\"comp 1\"}",
        "{\"type\":\"machine\",\"machine_id\":1,\"ts\":0,\"model\":\"modelX\",\"age\":1}",
        "{\"type\":\"telemetry\",\"machine_id\":1.5,\"ts\":0,\"volt\":1,"
        "\"rotate\":1,\"pressure\":1,\"vibration\":1}",
        "{\"type\":\"telemetry\",\"machine_id\":1,\"ts\":\"2015-13-01T00:00:00Z\","
        "\"volt\":1,\"rotate\":1,\"pressure\":1,\"vibration\":1}",
        "{\"type\":\"nope\",\"machine_id\":1,\"ts\":0}",
        "[1]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        pdm_event ev;
        assert_int_equal(pdm_event_from_json(bad[i], &ev, err, sizeof err), -1);
    }
    /* Names the data does not have, patched into valid messages on the wire. */
    static const struct {
        pdm_event_type type;
        const char *from, *to;
    } patches[] = {
        {PDM_EV_ERROR, "error5", "error6"},     {PDM_EV_ERROR, "error5", "error0"},
        {PDM_EV_ERROR, "error5", "errorx"},     {PDM_EV_ERROR, "error5", "Error5"},
        {PDM_EV_MAINTENANCE, "comp2", "comp5"}, {PDM_EV_FAILURE, "comp4", "comp0"},
        {PDM_EV_MACHINE, "model3", "modelX"},   {PDM_EV_MACHINE, "model3", "model0"},
        {PDM_EV_MACHINE, "model3", "mode13"},   {PDM_EV_RISK, "comp3", "comp9"},
        {PDM_EV_RISK, "comp3", "comp1"}, /* comp1 twice */
    };
    for (size_t i = 0; i < sizeof patches / sizeof *patches; i++) {
        e = sample(patches[i].type);
        len = pdm_codec_encode(c, &e, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err);
        assert_true(len > 10);
        unsigned char *at = find_bytes(buf, (size_t)len, patches[i].from);
        assert_non_null(at);
        memcpy(at, patches[i].to, strlen(patches[i].to));
        expect_status(c, buf, (size_t)len, PDM_DECODE_INVALID_VALUE);
    }
    /* An enum index past the symbols (RiskEvent level, status, resolution).
     * Without reasons and incident the body ends: level, the empty reasons
     * array's 0, then incident_id "" (0), status 0, opened_at null (branch
     * 0), peak_risk (8 bytes of 0.0), component "" (0), resolution 0. */
    e = sample(PDM_EV_RISK);
    sample_risk.n_reasons = 0;
    pdm_risk_no_incident(&sample_risk);
    len = pdm_codec_encode(c, &e, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err);
    const int level_at = len - 15, status_at = len - 12, opened_at = len - 11,
              resolution_at = len - 1;
    static const unsigned char no_incident_tail[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(buf + level_at + 1, no_incident_tail, sizeof no_incident_tail);
    assert_int_equal(buf[level_at], 2 * 2); /* CRITICAL = 2, zigzag 4 */
    buf[level_at] = 2 * 3;
    expect_status(c, buf, (size_t)len, PDM_DECODE_INVALID_VALUE);
    buf[level_at] = 1; /* zigzag -1 */
    expect_status(c, buf, (size_t)len, PDM_DECODE_INVALID_VALUE);
    /* ... but a cut message with a bad enum is still truncated. */
    expect_status(c, buf, (size_t)len - 1, PDM_DECODE_TRUNCATED);
    buf[level_at] = 2 * 2;
    expect_status(c, buf, (size_t)len, PDM_DECODE_OK);
    buf[status_at] = 2 * 2; /* firing, resolved: no third symbol */
    expect_status(c, buf, (size_t)len, PDM_DECODE_INVALID_VALUE);
    buf[status_at] = 2 * 1;
    expect_status(c, buf, (size_t)len, PDM_DECODE_OK);
    buf[resolution_at] = 2 * 5; /* none .. silent are 0 .. 4 */
    expect_status(c, buf, (size_t)len, PDM_DECODE_INVALID_VALUE);
    buf[resolution_at] = 2 * 4;
    expect_status(c, buf, (size_t)len, PDM_DECODE_OK);
    /* A union branch past ["null", long] leaves no way to read the rest. */
    buf[opened_at] = 2 * 2;
    expect_status(c, buf, (size_t)len, PDM_DECODE_MALFORMED);
    buf[opened_at] = 1; /* zigzag -1 */
    expect_status(c, buf, (size_t)len, PDM_DECODE_MALFORMED);

    /* The incident's component is comp1..comp4 or "". */
    e = sample(PDM_EV_RISK);
    sample_risk.component = 2;
    len = pdm_codec_encode(c, &e, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err);
    unsigned char *last = NULL;
    for (unsigned char *at = buf; (at = find_bytes(at, (size_t)(buf + len - at), "comp2")); at++)
        last = at; /* after the components array's comp2 */
    assert_non_null(last);
    memcpy(last, "comp7", 5);
    expect_status(c, buf, (size_t)len, PDM_DECODE_INVALID_VALUE);
    memcpy(last, "Comp2", 5);
    expect_status(c, buf, (size_t)len, PDM_DECODE_INVALID_VALUE);

    /* Encoding refuses out-of-range names, and a type without a schema id. */
    e = sample(PDM_EV_MAINTENANCE);
    e.u.maintenance.component = 5;
    assert_int_equal(
        pdm_codec_encode(c, &e, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err), -1);
    e.u.maintenance.component = 1;
    pdm_codec *fresh = pdm_codec_new(err, sizeof err);
    assert_non_null(fresh);
    assert_int_equal(
        pdm_codec_encode(fresh, &e, PDM_WIRE_CONFLUENT, buf, sizeof buf, err, sizeof err), -1);
    pdm_codec_destroy(fresh);
    assert_int_equal(pdm_codec_set_schema_id(c, PDM_EV_ERROR, 99), 0);
    assert_int_equal(pdm_codec_set_schema_id(c, PDM_EV_FAILURE, 99), -1); /* ids tell types apart */
    assert_int_equal(pdm_codec_set_schema_id(c, PDM_EV_FAILURE, 0), -1);
    e = sample(PDM_EV_RISK);
    sample_risk.n_reasons = 4;
    assert_int_equal(
        pdm_codec_encode(c, &e, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err), -1);
    sample_risk.n_reasons = 3;
    sample_risk.level = (pdm_level)3;
    assert_int_equal(
        pdm_codec_encode(c, &e, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err), -1);
    /* ... and incident fields outside their enums. */
    e = sample(PDM_EV_RISK);
    sample_risk.status = (pdm_incident_status)2;
    assert_int_equal(
        pdm_codec_encode(c, &e, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err), -1);
    e = sample(PDM_EV_RISK);
    sample_risk.resolution = (pdm_alert_resolution)PDM_ALERT_N_RESOLUTIONS;
    assert_int_equal(
        pdm_codec_encode(c, &e, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err), -1);
    e = sample(PDM_EV_RISK);
    sample_risk.component = PDM_N_COMPONENTS + 1;
    assert_int_equal(
        pdm_codec_encode(c, &e, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err), -1);
    pdm_codec_destroy(c);
}

static void test_garbage_never_crashes(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    unsigned char buf[PDM_MAX_ENCODED], msg[PDM_MAX_ENCODED];
    pdm_codec *c = pdm_codec_new(err, sizeof err);
    for (int t = 0; t < PDM_EV_COUNT; t++)
        pdm_codec_set_schema_id(c, (pdm_event_type)t, 1 + t);
    uint64_t x = 88172645463325252ULL;
#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
    size_t ok = 0, counts[1 - PDM_DECODE_INVALID_VALUE] = {0};
    for (int round = 0; round < 100000; round++) {
        size_t len = NEXT() % 96;
        for (size_t i = 0; i < len; i++)
            msg[i] = (unsigned char)NEXT();
        /* Most get a valid header so that the body parser is exercised. */
        int t = (int)(NEXT() % PDM_EV_COUNT);
        if (len >= 10 && round % 4 == 1) {
            uint64_t fp = pdm_codec_fingerprint(c, (pdm_event_type)t);
            msg[0] = 0xC3;
            msg[1] = 0x01;
            for (int i = 0; i < 8; i++)
                msg[2 + i] = (unsigned char)(fp >> (8 * i));
        } else if (len >= 5 && round % 4 == 2) {
            memcpy(msg, "\x00\x00\x00\x00", 4);
            msg[4] = (unsigned char)(1 + t);
        }
        pdm_event ev;
        int st = pdm_codec_decode(c, msg, len, &ev, err, sizeof err);
        assert_true(st <= 0 && st >= PDM_DECODE_INVALID_VALUE);
        ok += st == PDM_DECODE_OK;
        /* Whatever decodes, the peek reads alike. */
        pdm_event_peek peek;
        if (st == PDM_DECODE_OK && ev.type != PDM_EV_RISK && ev.type != PDM_EV_SILENCE) {
            assert_int_equal(pdm_codec_peek(c, msg, len, &peek), 0);
            assert_true(peek.type == ev.type && peek.machine_id == ev.machine_id &&
                        peek.ts == ev.ts);
        }
        counts[-st]++;
    }
    /* The headers worked: bodies reached the parser and were refused. */
    assert_true(counts[-PDM_DECODE_TRUNCATED] > 1000);
    assert_true(counts[-PDM_DECODE_MALFORMED] > 1000);
    assert_true(counts[-PDM_DECODE_BAD_MAGIC] > 1000);
    /* Single-byte mutations of valid messages, both framings. */
    for (int k = 0; k < 2 * PDM_EV_COUNT; k++) {
        int t = k / 2;
        pdm_event in = sample((pdm_event_type)t);
        int len =
            pdm_codec_encode(c, &in, (pdm_wire_format)(k % 2), buf, sizeof buf, err, sizeof err);
        assert_true(len > 0);
        for (int i = 0; i < len; i++) {
            for (int v = 0; v < 256; v += 7) {
                memcpy(msg, buf, (size_t)len);
                msg[i] = (unsigned char)v;
                pdm_event ev;
                int st = pdm_codec_decode(c, msg, (size_t)len, &ev, err, sizeof err);
                assert_true(st <= 0 && st >= PDM_DECODE_INVALID_VALUE);
            }
        }
    }
    (void)ok;
    pdm_codec_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_with_reason),
        cmocka_unit_test(test_garbage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
