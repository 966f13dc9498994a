/* Unit tests of schemas/: CRC-64-AVRO, the Parsing Canonical Form (against
 * Debian's python3-avro, which scripts/install-deps.sh installs), round
 * trips of every event type in both framings and as JSON, and rejection of
 * bad messages with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdm_common.h"
#include "pdm_schemas.h"

/* Bit-by-bit CRC-64-AVRO, written from the polynomial, independent of the
 * library's table. */
static uint64_t crc64_reference(const unsigned char *p, size_t n)
{
    const uint64_t poly = UINT64_C(0xc15d213aa4d7a795);
    uint64_t fp = poly;
    for (size_t i = 0; i < n; i++) {
        fp ^= p[i];
        for (int b = 0; b < 8; b++)
            fp = (fp & 1) ? (fp >> 1) ^ poly : fp >> 1;
    }
    return fp;
}

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

/* python3-avro is the only check of the codec that is not ours, and
 * scripts/install-deps.sh installs it: without it the test fails (a cmocka
 * skip() would be counted as a pass). */
static void require_python_avro(void)
{
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import avro.schema, avro.io' 2>/dev/null") != 0)
        fail_msg("python3-avro is not installed (/usr/bin/python3 cannot import avro.schema and "
                 "avro.io): run scripts/install-deps.sh");
}

/* Writes text to a fresh temporary file; path must hold 32 bytes. */
static void write_temp(char *path, const char *text)
{
    strcpy(path, "/tmp/pdm-schemas-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* python3-avro, run on files: "write SCHEMA DATUM" prints the binary body
 * (hex) of a datum (JSON); "read WRITER READER HEXFILE" reads a body written
 * with schema WRITER as schema READER (Avro schema resolution: fields the
 * writer lacks take the reader's defaults, fields the reader lacks are
 * skipped) and prints the datum as JSON with sorted keys. The logicalType
 * annotations are dropped first: python would want datetime objects for
 * them, and they do not change the binary encoding. */
static const char python_avro_script[] =
    "import avro.schema, avro.io, io, json, sys\n"
    "def strip(x):\n"
    "    if isinstance(x, dict):\n"
    "        return {k: strip(v) for k, v in x.items() if k != 'logicalType'}\n"
    "    if isinstance(x, list):\n"
    "        return [strip(v) for v in x]\n"
    "    return x\n"
    "def schema(path):\n"
    "    return avro.schema.parse(json.dumps(strip(json.load(open(path)))))\n"
    "if sys.argv[1] == 'write':\n"
    "    buf = io.BytesIO()\n"
    "    avro.io.DatumWriter(schema(sys.argv[2])).write(json.load(open(sys.argv[3])), "
    "avro.io.BinaryEncoder(buf))\n"
    "    print(buf.getvalue().hex())\n"
    "else:\n"
    "    body = bytes.fromhex(open(sys.argv[4]).read())\n"
    "    d = avro.io.DatumReader(schema(sys.argv[2]), schema(sys.argv[3]))\n"
    "    print(json.dumps(d.read(avro.io.BinaryDecoder(io.BytesIO(body))), sort_keys=True))\n";

/* Runs the script with three file arguments (their contents given) and the
 * mode; its one line of output goes to out. */
static void run_python_avro(const char *mode, const char *a, const char *b, const char *c,
                            char *out, size_t cap)
{
    char py[32], fa[32], fb[32], fc[32], cmd[256];
    write_temp(py, python_avro_script);
    write_temp(fa, a);
    write_temp(fb, b);
    write_temp(fc, c ? c : "");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s %s %s", py, mode, fa, fb, fc);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = '\0';
    char *line = fgets(out, (int)cap, p);
    assert_int_equal(pclose(p), 0);
    assert_non_null(line);
    out[strcspn(out, "\n")] = '\0';
    unlink(py);
    unlink(fa);
    unlink(fb);
    unlink(fc);
}

/* python3-avro's binary body (hex) of a datum (JSON) under a schema. */
static void python_body_hex(const char *schema_json, const char *datum_json, char *hex, size_t cap)
{
    run_python_avro("write", schema_json, datum_json, NULL, hex, cap);
}

/* What python3-avro reads from a body (hex) written with schema writer when
 * it reads as schema reader: a JSON object with sorted keys. */
static void python_resolve(const char *writer, const char *reader, const char *hex, char *out,
                           size_t cap)
{
    run_python_avro("read", writer, reader, hex, out, cap);
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

static void to_hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

static int from_hex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    if (n > cap)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return (int)n;
}

static pdm_risk sample_risk;

static pdm_event sample(pdm_event_type t)
{
    pdm_event e;
    memset(&e, 0, sizeof e);
    e.type = t;
    e.machine_id = 42;
    e.ts = INT64_C(1420092000000) + 123;
    switch (t) {
    case PDM_EV_TELEMETRY:
        e.u.telemetry.volt = 170.123456789;
        e.u.telemetry.rotate = 446.5;
        e.u.telemetry.pressure = -1e-300;
        e.u.telemetry.vibration = 40.4;
        break;
    case PDM_EV_ERROR:
        e.u.error.error_id = 5;
        break;
    case PDM_EV_MAINTENANCE:
        e.u.maintenance.component = 2;
        break;
    case PDM_EV_FAILURE:
        e.u.failure.component = 4;
        break;
    case PDM_EV_MACHINE:
        e.u.machine.model = 3;
        e.u.machine.age = 18;
        break;
    case PDM_EV_SILENCE:
        e.u.silence.last_seen = e.ts - INT64_C(7) * 3600000 - 1;
        e.u.silence.silent = 1;
        break;
    case PDM_EV_RISK: {
        pdm_risk *r = &sample_risk;
        memset(r, 0, sizeof *r);
        snprintf(r->event_id, sizeof r->event_id, "42-1420092000123-abcdef012345");
        r->scored_at = INT64_C(1764400000000);
        snprintf(r->model_version, sizeof r->model_version, "abcdef012345");
        r->risk = 0.875;
        for (int k = 0; k < PDM_N_COMPONENTS; k++)
            r->component_prob[k] = 0.1 * (k + 1);
        r->level = PDM_LEVEL_CRITICAL;
        r->n_reasons = 3;
        for (int k = 0; k < 3; k++) {
            snprintf(r->reasons[k].feature, sizeof r->reasons[k].feature, "vibration_mean_%dh", k);
            r->reasons[k].value = k == 1 ? NAN : 40.0 + k;
            r->reasons[k].contribution = 1.5 - k;
        }
        /* A resolved incident: every incident field away from its default. */
        snprintf(r->incident_id, sizeof r->incident_id, "42-1420070400000");
        r->status = PDM_INCIDENT_RESOLVED;
        r->opened_at = INT64_C(1420070400000);
        r->peak_risk = 0.9375;
        r->component = 3;
        r->resolution = PDM_RESOLUTION_REPAIRED;
        e.u.risk = r;
        break;
    }
    default:
        break;
    }
    return e;
}

static void assert_same_event(const pdm_event *a, const pdm_event *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->machine_id, b->machine_id);
    assert_int_equal(a->ts, b->ts);
    if (a->type != PDM_EV_RISK) {
        assert_memory_equal(&a->u, &b->u, sizeof a->u.telemetry);
        return;
    }
    const pdm_risk *x = a->u.risk, *y = b->u.risk;
    assert_string_equal(x->event_id, y->event_id);
    assert_int_equal(x->scored_at, y->scored_at);
    assert_string_equal(x->model_version, y->model_version);
    assert_true(x->risk == y->risk);
    for (int k = 0; k < PDM_N_COMPONENTS; k++)
        assert_true(x->component_prob[k] == y->component_prob[k]);
    assert_int_equal(x->level, y->level);
    assert_int_equal(x->n_reasons, y->n_reasons);
    for (int k = 0; k < x->n_reasons; k++) {
        assert_string_equal(x->reasons[k].feature, y->reasons[k].feature);
        assert_true(x->reasons[k].value == y->reasons[k].value ||
                    (isnan(x->reasons[k].value) && isnan(y->reasons[k].value)));
        assert_true(x->reasons[k].contribution == y->reasons[k].contribution);
    }
    assert_string_equal(x->incident_id, y->incident_id);
    assert_int_equal(x->status, y->status);
    assert_true(x->opened_at == y->opened_at);
    assert_true(x->peak_risk == y->peak_risk);
    assert_int_equal(x->component, y->component);
    assert_int_equal(x->resolution, y->resolution);
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
        cmocka_unit_test(test_risk_schema_evolution),
        cmocka_unit_test(test_round_trip_all_types),
        cmocka_unit_test(test_rejects_with_reason),
        cmocka_unit_test(test_garbage_never_crashes),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
