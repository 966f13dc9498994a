/* Unit tests of tracking/: the MLflow file-store layout, checked file by
 * file against what MLflow's FileStore writes (meta.yaml fields and YAML
 * shapes, params, tags, metric lines, artifacts), experiment lookup by
 * name, default experiment, key validation, the YAML writer against
 * PyYAML's output and its plain-or-quoted decision against PyYAML's
 * resolver, and concurrent trainers racing for one experiment name.
 * PyYAML (python3-yaml, which scripts/install-deps.sh installs; the tests
 * that need it fail without it) loads every meta.yaml and must dump it back
 * byte for byte (PyYAML is what MLflow writes with), and reads the metric
 * lines as FileStore does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pdm_common.h"
#include "pdm_tracking.h"
#include "tracking_internal.h"

typedef struct {
    char dir[64];
    char mlruns[128]; /* with a space, to exercise the URI encoding */
    char uri_root[256];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pdm-test-tracking-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->mlruns, sizeof f->mlruns, "%s/ml runs", f->dir);
    snprintf(f->uri_root, sizeof f->uri_root, "file://%s/ml%%20runs", f->dir);
    setenv("LOGNAME", "pdm-tester", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc;
}

static char *slurp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *slurp(const char *fmt, ...)
{
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    pdm_buf b = {0};
    if (pdm_read_file(path, &b, NULL, 0))
        return NULL;
    return b.data;
}

static int exists_dir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int exists_dir(const char *fmt, ...)
{
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static long long yaml_int(const char *doc, const char *key)
{
    char *v = NULL;
    assert_int_equal(pdm_yaml_get(doc, key, &v), 0);
    long long n = atoll(v);
    free(v);
    return n;
}

/* PyYAML is MLflow's own YAML reader and scripts/install-deps.sh installs it
 * (python3-yaml): without it the tests that check against it fail (a cmocka
 * skip() would be counted as a pass). */
static void require_python_yaml(void)
{
    if (system("python3 -c 'import yaml' >/dev/null 2>&1") != 0)
        fail_msg("python3 cannot import yaml (Debian package python3-yaml): run "
                 "scripts/install-deps.sh");
}

/* ---- keys ------------------------------------------------------------------ */

static void test_key_validation(void **state)
{
    (void)state;
    char err[PDM_ERRSTR_SIZE];
    const char *valid[] = {"acc", "val/macro_f1", "a b-c.d_e/F9", "a..b", "x/.y", "1"};
    const char *invalid[] = {"",   "/abs", "trail/", "a//b", "a/./b", "a/../b", ".",
                             "..", "../x", "..x",    "a:b",  "a\tb",  "é",      "a\\b"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        if (pdm_tracking_key_validate(valid[i], err, sizeof err))
            fail_msg("'%s' rejected: %s", valid[i], err);
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        err[0] = '\0';
        if (pdm_tracking_key_validate(invalid[i], err, sizeof err) == 0)
            fail_msg("'%s' accepted", invalid[i]);
        assert_true(strlen(err) > 0);
    }
    char longkey[300];
    memset(longkey, 'k', sizeof longkey);
    longkey[250] = '\0';
    assert_int_equal(pdm_tracking_key_validate(longkey, err, sizeof err), 0);
    longkey[250] = 'k';
    longkey[251] = '\0';
    assert_int_equal(pdm_tracking_key_validate(longkey, err, sizeof err), -1);
}

/* ---- YAML scalars ---------------------------------------------------------- */

typedef struct {
    const char *value;
    const char *yaml; /* what PyYAML's safe_dump writes */
} scalar_case;

static const scalar_case scalar_cases[] = {
    {"pdm", "pdm"},
    {"Default", "Default"},
    {"0", "'0'"},
    {"", "''"},
    {"yes", "'yes'"},
    {"Off", "'Off'"},
    {"null", "'null'"},
    {"~", "'~'"},
    {"1.5", "'1.5'"},
    {".inf", "'.inf'"},
    {"1e5", "1e5"},
    {"0x1F", "'0x1F'"},
    {"1_000", "'1_000'"},
    {"1:30", "'1:30'"},
    {"2024-01-05", "'2024-01-05'"},
    {"2024-1-5 10:00:00", "'2024-1-5 10:00:00'"},
    {"a: b", "'a: b'"},
    {"a:b", "a:b"},
    {"ends:", "'ends:'"},
    {"#x", "'#x'"},
    {"a #b", "'a #b'"},
    {"a#b", "a#b"},
    {"it's", "it's"},
    {"'q", "'''q'"},
    {" lead", "' lead'"},
    {"trail ", "'trail '"},
    {"-x", "-x"},
    {"- x", "'- x'"},
    {"---x", "'---x'"},
    {"<<", "'<<'"},
    {"=", "'='"},
    {"[x]", "'[x]'"},
    {"a,b[c]", "a,b[c]"},
    {"@home", "'@home'"},
    {"pdm: prod #1", "'pdm: prod #1'"},
    {"tab\there", "\"tab\\there\""},
    {"quote\"back\\", "quote\"back\\"},
    {"bell\a\"x", "\"bell\\a\\\"x\""},
    {"machine ü 機械", "machine ü 機械"},
    {"file:///tmp/ml%20runs/1", "file:///tmp/ml%20runs/1"},
    {"0123abc", "0123abc"},
    {"12345678901234567890123456789012", "'12345678901234567890123456789012'"},
};

/* Whether a string may be written plain: PyYAML's YAML 1.1 implicit
 * resolvers, and where python3 has PyYAML, its own resolver agrees. */
static const struct {
    const char *type; /* what PyYAML's safe_load makes of the plain text */
    const char *texts[12];
} plain_cases[] = {
    {"null", {"", "~", "null", "Null", "NULL"}},
    {"bool", {"true", "False", "yes", "No", "on", "OFF"}},
    {"int", {"0", "1", "-1", "+12", "017", "0b101", "0x1f", "0x1F", "1_000", "1:30", "190:20:30"}},
    {"float", {"1.5", "1.", ".5", "-1.5e+3", "1.5e+3", "1_000.5", ".inf", "-.Inf", ".nan"}},
    {"timestamp",
     {"2024-01-05", "2024-1-5 10:00:00", "2001-12-14t21:59:43.10-05:00",
      "2001-12-14 21:59:43.10 Z"}},
    {"merge", {"<<"}},
    {"value", {"="}},
    {"str", {"1e3", "1.5e3", "pdm", "Default", "nulls", "truee", "y", "n", "0x", "0b2", "08"}},
    {"str", {"09x", "1:60", "inf", "nan", "2024-01-05x", "2024-01-05 ", "0123abc", "a:b", "--1"}},
    {"str", {"<", "==", "machine ü"}},
};

static void test_yaml_plain_resolution(void **state)
{
    fixture *f = *state;
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "%s/plain.hex", f->dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    for (size_t c = 0; c < sizeof plain_cases / sizeof plain_cases[0]; c++) {
        int want = strcmp(plain_cases[c].type, "str") != 0;
        for (size_t i = 0; i < 12 && plain_cases[c].texts[i]; i++) {
            const char *text = plain_cases[c].texts[i];
            int got = pdm_yaml_plain_is_non_string(text);
            if (got != want)
                fail_msg("'%s' (a %s) plain_is_non_string gave %d", text, plain_cases[c].type, got);
            fprintf(out, "%s ", plain_cases[c].type);
            for (const unsigned char *p = (const unsigned char *)text; *p; p++)
                fprintf(out, "%02x", *p);
            fprintf(out, "\n");
        }
    }
    fclose(out);
    require_python_yaml();
    snprintf(cmd, sizeof cmd,
             "python3 -c '\n"
             "import sys, yaml\n"
             "r = yaml.resolver.Resolver()\n"
             "for line in open(sys.argv[1]).read().split(\"\\n\")[:-1]:\n"
             "    want, h = line.split(\" \")\n"
             "    s = bytes.fromhex(h).decode(\"utf-8\")\n"
             "    tag = r.resolve(yaml.ScalarNode, s, (True, False))\n"
             "    assert tag == \"tag:yaml.org,2002:\" + want, (s, tag, want)\n"
             "' '%s'",
             path);
    assert_int_equal(system(cmd), 0);
}

static void test_yaml_scalars(void **state)
{
    fixture *f = *state;
    size_t n = sizeof scalar_cases / sizeof scalar_cases[0];
    pdm_buf doc = {0};
    char err[PDM_ERRSTR_SIZE];
    for (size_t i = 0; i < n; i++) {
        char key[16], want[256];
        snprintf(key, sizeof key, "k%zu", i);
        snprintf(want, sizeof want, "%s: %s\n", key, scalar_cases[i].yaml);
        pdm_yaml_field field = {key, PDM_YAML_STR, scalar_cases[i].value};
        size_t at = doc.len;
        assert_int_equal(pdm_yaml_write_mapping(&doc, &field, 1, err, sizeof err), 0);
        if (strcmp(doc.data + at, want) != 0)
            fail_msg("'%s' written as %s, expected %s", scalar_cases[i].value, doc.data + at, want);
    }
    /* folded and continued forms MLflow's PyYAML may write, read back */
    assert_int_equal(pdm_buf_printf(&doc, "long: a plain value\n  continued here\n"
                                          "sq: 'it''s\n  folded'\n"
                                          "dq: \"x\\u00fcy\\\n  z\"\n"
                                          "esc: \"a\\tb\\/c\\_d\\x41\\\"\"\n"
                                          "list: []\n"),
                     0);
    for (size_t i = 0; i < n; i++) {
        char key[16], *v = NULL;
        snprintf(key, sizeof key, "k%zu", i);
        assert_int_equal(pdm_yaml_get(doc.data, key, &v), 0);
        if (strcmp(v, scalar_cases[i].value) != 0)
            fail_msg("%s read back as '%s', expected '%s'", key, v, scalar_cases[i].value);
        free(v);
    }
    char *v = NULL;
    assert_int_equal(pdm_yaml_get(doc.data, "long", &v), 0);
    assert_string_equal(v, "a plain value continued here");
    free(v);
    assert_int_equal(pdm_yaml_get(doc.data, "sq", &v), 0);
    assert_string_equal(v, "it's folded");
    free(v);
    assert_int_equal(pdm_yaml_get(doc.data, "dq", &v), 0);
    assert_string_equal(v, "x\xc3\xbcyz");
    free(v);
    assert_int_equal(pdm_yaml_get(doc.data, "esc", &v), 0);
    assert_string_equal(v, "a\tb/c\xc2\xa0"
                           "dA\"");
    free(v);
    assert_int_equal(pdm_yaml_get(doc.data, "list", &v), 1);
    assert_int_equal(pdm_yaml_get(doc.data, "absent", &v), 1);
    assert_int_equal(pdm_yaml_get("a:\nb: x\n", "a", &v), 1); /* null */
    assert_int_equal(pdm_yaml_get("a: 'x\n", "a", &v), 1);    /* not YAML */
    assert_int_equal(pdm_yaml_get("o:\n  b: 1\nb: 2\n", "b", &v), 0);
    assert_string_equal(v, "2"); /* the top-level key, not the nested one */
    free(v);
    assert_int_equal(pdm_yaml_get(doc.data, "k1", &v), 0); /* "k1" is not "k10" */
    assert_string_equal(v, scalar_cases[1].value);
    free(v);

    require_python_yaml();
    /* PyYAML itself: every k<i> loads as the original string (given in hex),
     * and safe_dump with MLflow's settings writes exactly our line. */
    char path[256], hexpath[256], cmd[2048];
    snprintf(path, sizeof path, "%s/scalars.yaml", f->dir);
    snprintf(hexpath, sizeof hexpath, "%s/scalars.hex", f->dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fwrite(doc.data, 1, doc.len, out);
    fclose(out);
    out = fopen(hexpath, "w");
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)scalar_cases[i].value; *p; p++)
            fprintf(out, "%02x", *p);
        fprintf(out, "\n");
    }
    fclose(out);
    snprintf(cmd, sizeof cmd,
             "python3 -c '\n"
             "import sys, yaml\n"
             "doc = yaml.safe_load(open(sys.argv[1], encoding=\"utf-8\"))\n"
             "lines = open(sys.argv[1], encoding=\"utf-8\").read().split(\"\\n\")\n"
             "for i, h in enumerate(open(sys.argv[2]).read().split(\"\\n\")[:-1]):\n"
             "    s = bytes.fromhex(h).decode(\"utf-8\")\n"
             "    k = \"k%%d\" %% i\n"
             "    assert doc[k] == s, (k, doc[k], s)\n"
             "    d = yaml.safe_dump({k: s}, default_flow_style=False, allow_unicode=True,\n"
             "                       sort_keys=True)\n"
             "    assert d == lines[i] + \"\\n\", (d, lines[i])\n"
             "assert doc[\"long\"] == \"a plain value continued here\"\n"
             "assert doc[\"sq\"] == \"it'\"'\"'s folded\"\n"
             "assert doc[\"dq\"] == \"x\\u00fcyz\"\n"
             "assert doc[\"esc\"] == \"a\\tb/c\\u00a0dA\\\"\"\n"
             "' '%s' '%s'",
             path, hexpath);
    assert_int_equal(system(cmd), 0);
    pdm_buf_free(&doc);
}

/* ---- one run, every file ---------------------------------------------------- */

static void check_experiment_meta(const fixture *f, const char *id, const char *name_yaml,
                                  long long t0, long long t1)
{
    char *meta = slurp("%s/%s/meta.yaml", f->mlruns, id);
    assert_non_null(meta);
    long long created = yaml_int(meta, "creation_time");
    assert_true(created >= t0 && created <= t1);
    char expected[2048];
    snprintf(expected, sizeof expected,
             "artifact_location: %s/%s\ncreation_time: %lld\nexperiment_id: '%s'\n"
             "last_update_time: %lld\nlifecycle_stage: active\nname: %s\n",
             f->uri_root, id, created, id, created, name_yaml);
    assert_string_equal(meta, expected);
    free(meta);
}

static void check_run_meta(const fixture *f, const char *exp_id, const char *run_id,
                           const char *run_name, int status, long long t0, long long t1)
{
    char *meta = slurp("%s/%s/%s/meta.yaml", f->mlruns, exp_id, run_id);
    assert_non_null(meta);
    long long start = yaml_int(meta, "start_time");
    assert_true(start >= t0 && start <= t1);
    char end[64];
    if (status == 1) {
        snprintf(end, sizeof end, "deleted_time: null\nend_time: null");
    } else {
        long long e = yaml_int(meta, "end_time");
        assert_true(e >= start && e <= t1);
        snprintf(end, sizeof end, "end_time: %lld", e);
    }
    char expected[4096];
    snprintf(expected, sizeof expected,
             "artifact_uri: %s/%s/%s/artifacts\n%s\nentry_point_name: ''\nexperiment_id: '%s'\n"
             "lifecycle_stage: active\nrun_id: %s\nrun_name: %s\nrun_uuid: %s\n"
             "source_name: ''\nsource_type: 4\nsource_version: ''\nstart_time: %lld\n"
             "status: %d\ntags: []\nuser_id: pdm-tester\n",
             f->uri_root, exp_id, run_id, end, exp_id, run_id, run_name, run_id, start, status);
    assert_string_equal(meta, expected);
    free(meta);
}

static void write_text(const char *path, const char *data, size_t len)
{
    FILE *o = fopen(path, "wb");
    assert_non_null(o);
    assert_int_equal(fwrite(data, 1, len, o), len);
    fclose(o);
}

static void test_run_layout(void **state)
{
    fixture *f = *state;
    char err[PDM_ERRSTR_SIZE];
    pdm_tracking_run *run = NULL;
    long long t0 = pdm_now_ms();
    if (pdm_tracking_run_start(f->mlruns, "pdm-test", "run one", &run, err, sizeof err))
        fail_msg("run_start: %s", err);
    long long t1 = pdm_now_ms();

    /* the store: Default experiment 0, .trash, our experiment as 1 */
    check_experiment_meta(f, "0", "Default", t0, t1);
    check_experiment_meta(f, "1", "pdm-test", t0, t1);
    assert_true(exists_dir("%s/.trash", f->mlruns));
    assert_string_equal(pdm_tracking_experiment_id(run), "1");

    char id[33];
    snprintf(id, sizeof id, "%s", pdm_tracking_run_id(run));
    assert_int_equal(strlen(id), 32);
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/1/%s", f->mlruns, id);
    assert_string_equal(pdm_tracking_run_dir(run), dir);
    check_run_meta(f, "1", id, "run one", 1, t0, t1);
    assert_true(exists_dir("%s/metrics", dir));
    assert_true(exists_dir("%s/params", dir));
    assert_true(exists_dir("%s/artifacts", dir));

    /* the tags MLflow's client sets */
    char *tag = slurp("%s/tags/mlflow.runName", dir);
    assert_string_equal(tag, "run one");
    free(tag);
    tag = slurp("%s/tags/mlflow.user", dir);
    assert_string_equal(tag, "pdm-tester");
    free(tag);
    tag = slurp("%s/tags/mlflow.source.type", dir);
    assert_string_equal(tag, "LOCAL");
    free(tag);
    tag = slurp("%s/tags/mlflow.source.name", dir);
    assert_non_null(strstr(tag, "test_tracking"));
    free(tag);

    /* params: the value, no newline; immutable */
    assert_int_equal(pdm_tracking_log_param(run, "max_depth", "6", err, sizeof err), 0);
    assert_int_equal(pdm_tracking_log_param(run, "max_depth", "6", err, sizeof err), 0);
    assert_int_equal(pdm_tracking_log_param(run, "max_depth", "7", err, sizeof err), -1);
    assert_non_null(strstr(err, "max_depth"));
    assert_int_equal(pdm_tracking_log_param(run, "data/path", "/data/x.csv", err, sizeof err), 0);
    assert_int_equal(pdm_tracking_log_param(run, "empty", "", err, sizeof err), 0);
    assert_int_equal(pdm_tracking_log_param(run, "../evil", "x", err, sizeof err), -1);
    char *p = slurp("%s/params/max_depth", dir);
    assert_string_equal(p, "6");
    free(p);
    p = slurp("%s/params/data/path", dir);
    assert_string_equal(p, "/data/x.csv");
    free(p);
    p = slurp("%s/params/empty", dir);
    assert_string_equal(p, "");
    free(p);
    char big[6002];
    memset(big, 'v', sizeof big);
    big[6001] = '\0';
    assert_int_equal(pdm_tracking_log_param(run, "big", big, err, sizeof err), -1);

    /* metrics: "<ts> <repr(value)> <step>" lines, appended */
    static const struct {
        double v;
        const char *repr;
    } values[] = {
        {0.1, "0.1"},
        {1.0, "1.0"},
        {-2.5, "-2.5"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e16, "1e+16"},
        {1e-05, "1e-05"},
        {0.0001, "0.0001"},
        {1e10, "10000000000.0"},
        {123456789.0, "123456789.0"},
        {1234567890123456.0, "1234567890123456.0"},
        {12345678901234567.0, "1.2345678901234568e+16"},
        {1.5e300, "1.5e+300"},
        {5e-324, "5e-324"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {NAN, "nan"},
        {-INFINITY, "-inf"},
    };
    size_t nv = sizeof values / sizeof values[0];
    pdm_buf expected = {0};
    for (size_t i = 0; i < nv; i++) {
        long long ts = 1700000000000LL + (long long)i;
        assert_int_equal(pdm_tracking_log_metric_at(run, "values", values[i].v, ts, (int64_t)i - 1,
                                                    err, sizeof err),
                         0);
        pdm_buf_printf(&expected, "%lld %s %lld\n", ts, values[i].repr, (long long)i - 1);
    }
    p = slurp("%s/metrics/values", dir);
    assert_string_equal(p, expected.data);
    free(p);
    pdm_buf_free(&expected);
    long long m0 = pdm_now_ms();
    assert_int_equal(pdm_tracking_log_metric(run, "val/macro_f1", 0.75, 3, err, sizeof err), 0);
    long long m1 = pdm_now_ms();
    p = slurp("%s/metrics/val/macro_f1", dir);
    long long ts, step;
    char val[32];
    assert_int_equal(sscanf(p, "%lld %31s %lld", &ts, val, &step), 3);
    assert_true(ts >= m0 && ts <= m1);
    assert_string_equal(val, "0.75");
    assert_int_equal(step, 3);
    free(p);
    assert_int_equal(pdm_tracking_log_metric_at(run, "x", 1, -1, 0, err, sizeof err), -1);
    assert_int_equal(pdm_tracking_log_metric(run, "bad:key", 1, 0, err, sizeof err), -1);

    /* tags */
    assert_int_equal(pdm_tracking_set_tag(run, "pdm.model_version", "v1", err, sizeof err), 0);
    assert_int_equal(pdm_tracking_set_tag(run, "pdm.model_version", "v2", err, sizeof err), 0);
    tag = slurp("%s/tags/pdm.model_version", dir);
    assert_string_equal(tag, "v2");
    free(tag);

    /* artifacts: a tree (with binary content) and a single file */
    char src[256], path[1024];
    snprintf(src, sizeof src, "%s/pkg", f->dir);
    snprintf(path, sizeof path, "%s/sub/deeper", src);
    assert_int_equal(pdm_mkdirs(path, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/model.json", src);
    write_text(path, "{\"v\":1}", 7);
    snprintf(path, sizeof path, "%s/sub/deeper/blob.bin", src);
    static const char blob[] = {0, 1, 2, '\n', (char)0xff, 0};
    write_text(path, blob, sizeof blob);
    assert_int_equal(pdm_tracking_log_artifacts(run, src, "model", err, sizeof err), 0);
    p = slurp("%s/artifacts/model/model.json", dir);
    assert_string_equal(p, "{\"v\":1}");
    free(p);
    snprintf(path, sizeof path, "%s/artifacts/model/sub/deeper/blob.bin", dir);
    pdm_buf bin = {0};
    assert_int_equal(pdm_read_file(path, &bin, err, sizeof err), 0);
    assert_int_equal(bin.len, sizeof blob);
    assert_memory_equal(bin.data, blob, sizeof blob);
    pdm_buf_free(&bin);
    snprintf(path, sizeof path, "%s/model.json", src);
    assert_int_equal(pdm_tracking_log_artifact(run, path, NULL, err, sizeof err), 0);
    p = slurp("%s/artifacts/model.json", dir);
    assert_string_equal(p, "{\"v\":1}");
    free(p);
    assert_int_equal(pdm_tracking_log_artifact(run, path, "reports/html", err, sizeof err), 0);
    p = slurp("%s/artifacts/reports/html/model.json", dir);
    assert_non_null(p);
    free(p);
    assert_int_equal(pdm_tracking_log_artifacts(run, src, "../out", err, sizeof err), -1);
    assert_int_equal(pdm_tracking_log_artifacts(run, src, "/abs", err, sizeof err), -1);
    assert_int_equal(pdm_tracking_log_artifacts(run, src, "a/../../b", err, sizeof err), -1);
    assert_int_equal(pdm_tracking_log_artifacts(run, "/nonexistent", NULL, err, sizeof err), -1);

    /* ending rewrites meta.yaml: status 3, end_time, no deleted_time */
    assert_int_equal(pdm_tracking_run_end(run, PDM_RUN_RUNNING, err, sizeof err), -1);
    assert_int_equal(pdm_tracking_run_end(run, PDM_RUN_FINISHED, err, sizeof err), 0);
    long long t2 = pdm_now_ms();
    check_run_meta(f, "1", id, "run one", 3, t0, t2);
    assert_int_equal(pdm_tracking_log_metric(run, "late", 1, 0, err, sizeof err), -1);
    assert_int_equal(pdm_tracking_run_end(run, PDM_RUN_FINISHED, err, sizeof err), -1);
    pdm_tracking_run_destroy(run);
    check_run_meta(f, "1", id, "run one", 3, t0, t2); /* destroy keeps FINISHED */
    pdm_tracking_run_destroy(NULL);
}

/* ---- experiments by name ------------------------------------------------------ */

static pdm_tracking_run *start(fixture *f, const char *experiment, const char *name)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_tracking_run *run = NULL;
    if (pdm_tracking_run_start(f->mlruns, experiment, name, &run, err, sizeof err))
        fail_msg("run_start(%s): %s", experiment ? experiment : "NULL", err);
    return run;
}

static int access_file(const char *dir, const char *run)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s/meta.yaml", dir, run);
    return access(p, R_OK) == 0;
}

static int count_runs(const fixture *f, const char *exp_id)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", f->mlruns, exp_id);
    int n = 0;
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strlen(e->d_name) == 32 && access_file(path, e->d_name);
    if (d)
        closedir(d);
    return n;
}

static void test_experiments_by_name(void **state)
{
    fixture *f = *state;
    char err[PDM_ERRSTR_SIZE];
    pdm_tracking_run *a = start(f, "exp one", "a");
    pdm_tracking_run *b = start(f, "exp one", "b");
    pdm_tracking_run *c = start(f, "pdm: prod #1", "c");
    pdm_tracking_run *d = start(f, NULL, NULL);
    pdm_tracking_run *e = start(f, "Default", "e");
    assert_string_equal(pdm_tracking_experiment_id(a), "1");
    assert_string_equal(pdm_tracking_experiment_id(b), "1");
    assert_string_not_equal(pdm_tracking_run_id(a), pdm_tracking_run_id(b));
    assert_string_equal(pdm_tracking_experiment_id(c), "2");
    assert_string_equal(pdm_tracking_experiment_id(d), "0");
    assert_string_equal(pdm_tracking_experiment_id(e), "0");
    check_experiment_meta(f, "2", "'pdm: prod #1'", 0, pdm_now_ms());
    /* a generated run name */
    char *tag = slurp("%s/tags/mlflow.runName", pdm_tracking_run_dir(d));
    assert_int_equal(strncmp(tag, "pdm-", 4), 0);
    assert_int_equal(strlen(tag), strlen("pdm-20260101-000000"));
    free(tag);
    /* renaming through the tag updates meta.yaml, as MLflow does */
    assert_int_equal(pdm_tracking_set_tag(b, "mlflow.runName", "b renamed", err, sizeof err), 0);
    check_run_meta(f, "1", pdm_tracking_run_id(b), "b renamed", 1, 0, pdm_now_ms());

    pdm_tracking_run *runs[] = {a, b, c, d, e};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(pdm_tracking_run_end(runs[i], PDM_RUN_FINISHED, err, sizeof err), 0);
        pdm_tracking_run_destroy(runs[i]);
    }
    assert_int_equal(count_runs(f, "1"), 2);
    assert_int_equal(count_runs(f, "2"), 1);
    assert_int_equal(count_runs(f, "0"), 2);

    /* an experiment made by someone else (id 7, a quoted name), and a
     * deleted one (9) in .trash: found by name / not reused as an id */
    char path[512];
    snprintf(path, sizeof path, "%s/7", f->mlruns);
    assert_int_equal(pdm_mkdirs(path, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/7/meta.yaml", f->mlruns);
    static const char seven[] = "artifact_location: file:///x/7\ncreation_time: 1\n"
                                "experiment_id: '7'\nlast_update_time: 1\n"
                                "lifecycle_stage: active\nname: 'seven'\n";
    write_text(path, seven, strlen(seven));
    snprintf(path, sizeof path, "%s/.trash/9", f->mlruns);
    assert_int_equal(pdm_mkdirs(path, err, sizeof err), 0);
    pdm_tracking_run *g = start(f, "seven", "g");
    assert_string_equal(pdm_tracking_experiment_id(g), "7");
    pdm_tracking_run *h = start(f, "eight", "h");
    assert_string_equal(pdm_tracking_experiment_id(h), "10");
    pdm_tracking_run *i = start(f, "exp one", "i");
    assert_string_equal(pdm_tracking_experiment_id(i), "1");
    char g_id[33], i_id[33];
    strcpy(g_id, pdm_tracking_run_id(g));
    strcpy(i_id, pdm_tracking_run_id(i));
    pdm_tracking_run_destroy(g); /* never ended: FAILED, as MLflow on an exception */
    assert_int_equal(pdm_tracking_run_end(i, PDM_RUN_KILLED, err, sizeof err), 0);
    pdm_tracking_run_destroy(i);
    pdm_tracking_run_end(h, PDM_RUN_FINISHED, err, sizeof err);
    pdm_tracking_run_destroy(h);
    long long now = pdm_now_ms();
    check_run_meta(f, "7", g_id, "g", 4, 0, now);
    check_run_meta(f, "1", i_id, "i", 5, 0, now);
    assert_int_equal(count_runs(f, "1"), 3);

    /* bad arguments */
    pdm_tracking_run *bad = NULL;
    char longname[600];
    memset(longname, 'n', sizeof longname);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(pdm_tracking_run_start(f->mlruns, longname, "x", &bad, err, sizeof err), -1);
    assert_int_equal(pdm_tracking_run_start("", "x", "x", &bad, err, sizeof err), -1);
    snprintf(path, sizeof path, "%s/7/meta.yaml/not-a-dir", f->mlruns);
    assert_int_equal(pdm_tracking_run_start(path, "x", "x", &bad, err, sizeof err), -1);
    assert_null(bad);
}

/* ---- concurrent trainers -------------------------------------------------------- */

static void test_concurrent_start(void **state)
{
    fixture *f = *state;
    enum { CHILDREN = 4 };
    pid_t pids[CHILDREN];
    for (int k = 0; k < CHILDREN; k++) {
        pids[k] = fork();
        assert_true(pids[k] >= 0);
        if (pids[k] == 0) {
            char err[PDM_ERRSTR_SIZE];
            pdm_tracking_run *run = NULL;
            int rc = pdm_tracking_run_start(f->mlruns, "race", "r", &run, err, sizeof err);
            rc |= pdm_tracking_log_metric(run, "k", k, 0, err, sizeof err);
            rc |= pdm_tracking_run_end(run, PDM_RUN_FINISHED, err, sizeof err);
            pdm_tracking_run_destroy(run);
            _exit(rc ? 1 : 0);
        }
    }
    for (int k = 0; k < CHILDREN; k++) {
        int status = 0;
        assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* one experiment called "race", holding the four runs */
    int found = 0;
    char race_id[256] = "";
    DIR *d = opendir(f->mlruns);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *meta = slurp("%s/%s/meta.yaml", f->mlruns, e->d_name);
        char *name = NULL;
        if (meta && pdm_yaml_get(meta, "name", &name) == 0 && strcmp(name, "race") == 0) {
            found++;
            snprintf(race_id, sizeof race_id, "%s", e->d_name);
        }
        free(name);
        free(meta);
    }
    closedir(d);
    assert_int_equal(found, 1);
    assert_int_equal(count_runs(f, race_id), CHILDREN);
}

/* ---- what MLflow's own reader makes of it ------------------------------------------ */

static void test_python_reads_store(void **state)
{
    require_python_yaml();
    fixture *f = *state;
    char err[PDM_ERRSTR_SIZE];
    pdm_tracking_run *run = start(f, "py check", "it's a \"run\": #1");
    assert_int_equal(pdm_tracking_log_metric(run, "loss", 0.25, 0, err, sizeof err), 0);
    assert_int_equal(pdm_tracking_log_metric(run, "loss", 1.0 / 3, 1, err, sizeof err), 0);
    assert_int_equal(pdm_tracking_log_metric(run, "train/auc", 1e-7, 2, err, sizeof err), 0);
    pdm_tracking_run *running = start(f, "py check", "still running");
    assert_int_equal(pdm_tracking_run_end(run, PDM_RUN_FINISHED, err, sizeof err), 0);
    char run_dir[512];
    snprintf(run_dir, sizeof run_dir, "%s", pdm_tracking_run_dir(run));
    pdm_tracking_run_destroy(run);

    /* Every meta.yaml: PyYAML loads it with the types FileStore expects and
     * dumps it back, with MLflow's write_yaml settings, byte for byte. The
     * metric files parse as FileStore._get_metric_from_line parses them. */
    char cmd[4096];
    snprintf(
        cmd, sizeof cmd,
        "python3 -c '\n"
        "import glob, os, sys, yaml\n"
        "root, run_dir = sys.argv[1], sys.argv[2]\n"
        "metas = glob.glob(os.path.join(glob.escape(root), \"*\", \"meta.yaml\"))\n"
        "metas += glob.glob(os.path.join(glob.escape(root), \"*\", \"*\", \"meta.yaml\"))\n"
        "assert len(metas) >= 4, metas\n"
        "exp_keys = {\"artifact_location\", \"creation_time\", \"experiment_id\",\n"
        "            \"last_update_time\", \"lifecycle_stage\", \"name\"}\n"
        "run_keys = {\"artifact_uri\", \"end_time\", \"entry_point_name\", \"experiment_id\",\n"
        "            \"lifecycle_stage\", \"run_id\", \"run_name\", \"run_uuid\", "
        "\"source_name\",\n"
        "            \"source_type\", \"source_version\", \"start_time\", \"status\", \"tags\",\n"
        "            \"user_id\"}\n"
        "runs = 0\n"
        "for m in metas:\n"
        "    text = open(m, encoding=\"utf-8\").read()\n"
        "    d = yaml.safe_load(text)\n"
        "    again = yaml.safe_dump(d, default_flow_style=False, allow_unicode=True,\n"
        "                           sort_keys=True)\n"
        "    assert again == text, (m, text, again)\n"
        "    assert isinstance(d[\"experiment_id\"], str)\n"
        "    if \"run_id\" in d:\n"
        "        runs += 1\n"
        "        keys = set(d) - {\"deleted_time\"}\n"
        "        assert keys == run_keys, keys ^ run_keys\n"
        "        assert d[\"run_id\"] == d[\"run_uuid\"] == os.path.basename(os.path.dirname(m))\n"
        "        assert d[\"status\"] in (1, 3, 4, 5) and d[\"source_type\"] == 4\n"
        "        assert isinstance(d[\"start_time\"], int) and d[\"tags\"] == []\n"
        "        assert (d[\"status\"] == 1) == (d[\"end_time\"] is None)\n"
        "        assert (\"deleted_time\" in d) == (d[\"status\"] == 1)\n"
        "        assert d[\"artifact_uri\"].startswith(\"file:///\")\n"
        "        assert d[\"artifact_uri\"].endswith(\"/\" + d[\"run_id\"] + \"/artifacts\")\n"
        "    else:\n"
        "        assert set(d) == exp_keys and d[\"lifecycle_stage\"] == \"active\"\n"
        "        assert d[\"experiment_id\"] == os.path.basename(os.path.dirname(m))\n"
        "assert runs >= 2\n"
        "meta = yaml.safe_load(open(os.path.join(run_dir, \"meta.yaml\")))\n"
        "assert meta[\"run_name\"] == \"it\\x27s a \\\"run\\\": #1\", meta[\"run_name\"]\n"
        "assert meta[\"status\"] == 3\n"
        "for name in (\"loss\", \"train/auc\"):\n"
        "    for line in open(os.path.join(run_dir, \"metrics\", name)):\n"
        "        parts = line.strip().split(\" \")\n"
        "        assert len(parts) == 3\n"
        "        ts, val, step = int(parts[0]), float(parts[1]), int(parts[2])\n"
        "        assert repr(val) == parts[1], (repr(val), parts[1])\n"
        "loss = [l.split() for l in open(os.path.join(run_dir, \"metrics\", \"loss\"))]\n"
        "assert float(loss[1][1]) == 1 / 3 and loss[1][2] == \"1\"\n"
        "' '%s' '%s'",
        f->mlruns, run_dir);
    int rc = system(cmd);
    pdm_tracking_run_destroy(running);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_validation),
        cmocka_unit_test_setup_teardown(test_yaml_plain_resolution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_experiments_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_python_reads_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
