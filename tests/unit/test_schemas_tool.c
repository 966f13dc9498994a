/* Tests of the pdm-avro tool as a user runs it: the messages it writes are
 * the library's bytes, decode prints the event or names the failure with a
 * non-zero exit, and schemas lists the fingerprints the codec uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pdm_common.h"
#include "pdm_schemas.h"

typedef struct {
    char dir[64];
    char tool[1024];
    pdm_codec *codec;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[PDM_ERRSTR_SIZE];
    const char *build = getenv("PDM_BUILD_DIR");
    if (!f || !build)
        return -1;
    snprintf(f->tool, sizeof f->tool, "%s/bin/pdm-avro", build);
    strcpy(f->dir, "/tmp/pdm-avro-test-XXXXXX");
    if (!mkdtemp(f->dir) || !(f->codec = pdm_codec_new(err, sizeof err)))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    pdm_codec_destroy(f->codec);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Runs a shell command in the fixture's directory; returns its exit code. */
static int sh(fixture *f, const char *command)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", f->dir, command);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* Runs "pdm-avro ARGS" (a shell command line) in the fixture's directory. */
static int run(fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(fixture *f, const char *fmt, ...)
{
    char args[2048], cmd[3200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s", f->tool, args);
    return sh(f, cmd);
}

static size_t slurp(fixture *f, const char *name, char *buf, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, cap - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return n;
}

static const char tele_json[] =
    "{\"type\":\"telemetry\",\"machine_id\":7,\"ts\":\"2015-01-01T06:00:00.250Z\","
    "\"volt\":170.25,\"rotate\":446.5,\"pressure\":113.0,\"vibration\":40.125}";

static void test_encode_writes_library_bytes(void **state)
{
    fixture *f = *state;
    char err[PDM_ERRSTR_SIZE], want[PDM_MAX_ENCODED], got[2 * PDM_MAX_ENCODED];
    pdm_event ev;
    assert_int_equal(pdm_event_from_json(tele_json, &ev, err, sizeof err), 0);
    int len =
        pdm_codec_encode(f->codec, &ev, PDM_WIRE_SINGLE_OBJECT, want, sizeof want, err, sizeof err);
    assert_true(len > 0);

    assert_int_equal(run(f, "encode --out ev.bin --json '%s'", tele_json), 0);
    assert_int_equal(slurp(f, "ev.bin", got, sizeof got), (size_t)len);
    assert_memory_equal(got, want, (size_t)len);

    /* JSON lines on stdin: the messages one after another. */
    assert_int_equal(run(f, "encode > two.bin <<'EOF'\n%s\n\n%s\nEOF", tele_json, tele_json), 0);
    assert_int_equal(slurp(f, "two.bin", got, sizeof got), 2 * (size_t)len);
    assert_memory_equal(got + len, want, (size_t)len);

    /* Confluent framing: 0x00, the id big-endian, the same body. */
    assert_int_equal(
        run(f, "encode --format confluent --schema-id 258 --out c.bin --json '%s'", tele_json), 0);
    assert_int_equal(slurp(f, "c.bin", got, sizeof got), (size_t)len - 5);
    assert_memory_equal(got, "\x00\x00\x00\x01\x02", 5);
    assert_memory_equal(got + 5, want + 10, (size_t)len - 10);

    /* ... which decode reads when told the id. */
    assert_int_equal(run(f, "decode --id telemetry=258 c.bin > c.json"), 0);
    assert_int_equal(run(f, "decode c.bin > /dev/null 2> c.err"), 1);
    slurp(f, "c.err", got, sizeof got);
    assert_non_null(strstr(got, "unknown_schema"));
    assert_int_not_equal(run(f, "decode --id telemetry=0 c.bin > /dev/null 2>&1"), 0);
    assert_int_not_equal(run(f, "decode --id nope=3 c.bin > /dev/null 2>&1"), 0);

    /* Mistakes are refused with a non-zero exit. */
    assert_int_not_equal(run(f, "encode --out x.bin --json '{\"type\":\"telemetry\"}' 2>/dev/null"),
                         0);
    assert_int_not_equal(run(f, "encode --format confluent --json '%s' >/dev/null 2>&1", tele_json),
                         0);
    assert_int_not_equal(run(f, "encode --format avro --json '%s' >/dev/null 2>&1", tele_json), 0);
    assert_int_not_equal(run(f, "frobnicate 2>/dev/null"), 0);
}

static void test_decode_prints_event_or_reason(void **state)
{
    fixture *f = *state;
    char out[4096];
    assert_int_equal(run(f, "encode --out ev.bin --json '%s'", tele_json), 0);
    assert_int_equal(run(f, "decode ev.bin > out.json"), 0);
    slurp(f, "out.json", out, sizeof out);
    assert_string_equal(
        out, "{\"type\":\"telemetry\",\"machine_id\":7,\"ts\":\"2015-01-01T06:00:00.250Z\","
             "\"volt\":170.25,\"rotate\":446.5,\"pressure\":113,\"vibration\":40.125}\n");

    /* A risk event goes through the tool too. */
    const char *risk = "{\"type\":\"risk\",\"event_id\":\"7-x\",\"machine_id\":7,\"ts\":1000,"
                       "\"scored_at\":2000,\"model_version\":\"v1\",\"risk\":0.5,\"components\":["
                       "{\"component\":\"comp1\",\"probability\":0.1},{\"component\":\"comp2\","
                       "\"probability\":0.2},"
                       "{\"component\":\"comp3\",\"probability\":0.3},{\"component\":\"comp4\","
                       "\"probability\":null}],"
                       "\"level\":\"WARN\",\"top_reasons\":[{\"feature\":\"age\",\"value\":null,"
                       "\"contribution\":0.25}]}";
    assert_int_equal(run(f, "encode --out r.bin --json '%s'", risk), 0);
    assert_int_equal(run(f, "decode r.bin > r.json"), 0);
    slurp(f, "r.json", out, sizeof out);
    assert_non_null(strstr(out, "\"level\":\"WARN\""));
    assert_non_null(strstr(out, "{\"component\":\"comp4\",\"probability\":null}"));
    assert_non_null(strstr(out, "{\"feature\":\"age\",\"value\":null,\"contribution\":0.25}"));

    /* Bad files: non-zero exit, the reason on stderr, good files still printed. */
    assert_int_equal(run(f, "encode --json '%s' | head -c 20 > cut.bin", tele_json), 0);
    assert_int_equal(sh(f, "printf 'hello' > bad.bin"), 0);
    assert_int_equal(run(f, "decode ev.bin cut.bin bad.bin missing.bin > out.json 2> err.txt"), 1);
    slurp(f, "err.txt", out, sizeof out);
    assert_non_null(strstr(out, "cut.bin: truncated"));
    assert_non_null(strstr(out, "bad.bin: bad_magic"));
    assert_non_null(strstr(out, "missing.bin"));
    slurp(f, "out.json", out, sizeof out);
    assert_non_null(strstr(out, "\"machine_id\":7"));
}

static void test_schemas_lists_codec_fingerprints(void **state)
{
    fixture *f = *state;
    char out[16384], want[256], err[PDM_ERRSTR_SIZE];
    assert_int_equal(run(f, "schemas > s.txt"), 0);
    slurp(f, "s.txt", out, sizeof out);
    /* Every version the codec decodes (RiskEvent has two). */
    int listed = 0;
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        for (int v = 1; v <= pdm_event_schema_version((pdm_event_type)t); v++, listed++) {
            uint64_t fp = pdm_codec_fingerprint_version(f->codec, (pdm_event_type)t, v);
            assert_true(fp != 0);
            snprintf(want, sizeof want, "%-24s v%-2d fingerprint %016llx  wire C3 01 %02X",
                     pdm_event_schema_name((pdm_event_type)t), v, (unsigned long long)fp,
                     (unsigned)(fp & 0xff));
            assert_non_null(strstr(out, want));
            char *canonical = NULL;
            assert_int_equal(
                pdm_avro_canonical_form(pdm_event_schema_json_version((pdm_event_type)t, v),
                                        &canonical, err, sizeof err),
                0);
            assert_non_null(strstr(out, canonical));
            free(canonical);
        }
    }
    assert_int_equal(listed, PDM_EV_COUNT + 1);
    assert_non_null(strstr(out, "io.pdm.RiskEvent         v1 "));
    assert_non_null(strstr(out, "(earlier version: decoded, not written)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_writes_library_bytes),
        cmocka_unit_test(test_decode_prints_event_or_reason),
        cmocka_unit_test(test_schemas_lists_codec_fingerprints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
