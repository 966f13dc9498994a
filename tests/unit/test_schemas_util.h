/* test_schemas_util.h: what the schemas/ tests share (test_schemas.c,
 * test_schemas_evolution.c, test_schemas_reject.c): a bit-by-bit CRC-64-AVRO,
 * python3-avro run as the independent codec, hex, one sample event of each
 * type and event comparison. Include it first. */
#ifndef TEST_SCHEMAS_UTIL_H
#define TEST_SCHEMAS_UTIL_H

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
static inline uint64_t crc64_reference(const unsigned char *p, size_t n)
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

/* python3-avro is the only check of the codec that is not ours, and
 * scripts/install-deps.sh installs it: without it the test fails (a cmocka
 * skip() would be counted as a pass). */
static inline void require_python_avro(void)
{
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import avro.schema, avro.io' 2>/dev/null") != 0)
        fail_msg("python3-avro is not installed (/usr/bin/python3 cannot import avro.schema and "
                 "avro.io): run scripts/install-deps.sh");
}

/* Writes text to a fresh temporary file; path must hold 32 bytes. */
static inline void write_temp(char *path, const char *text)
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
static inline void run_python_avro(const char *mode, const char *a, const char *b, const char *c,
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
static inline void python_body_hex(const char *schema_json, const char *datum_json, char *hex,
                                   size_t cap)
{
    run_python_avro("write", schema_json, datum_json, NULL, hex, cap);
}

/* What python3-avro reads from a body (hex) written with schema writer when
 * it reads as schema reader: a JSON object with sorted keys. */
static inline void python_resolve(const char *writer, const char *reader, const char *hex,
                                  char *out, size_t cap)
{
    run_python_avro("read", writer, reader, hex, out, cap);
}

static inline void to_hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

static inline int from_hex(const char *hex, unsigned char *out, size_t cap)
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

static inline pdm_event sample(pdm_event_type t)
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

static inline void assert_same_event(const pdm_event *a, const pdm_event *b)
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

#endif
