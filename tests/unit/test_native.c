/* Unit tests of the native tree evaluator (model/native.c) against XGBoost
 * itself, on models trained here: boosters trained with the XGBoost C API
 * (binary:logistic with depths 1..13 and a base_score that is not 0.5,
 * reg:squarederror, binary:logitraw; both tree layouts) and 5-class pdm
 * models (depths 1..10), over more than 100,000 rows that include
 * values exactly on split thresholds, one float either side, doubles that
 * round onto a threshold, NaN, infinities and huge values. The evaluator
 * must give XGBoost's probabilities bit for bit (the issue asks for 1e-6;
 * anything but identical would mean we do not compute what XGBoost does).
 * Also: the safety check refuses a corrupted evaluator and the model keeps
 * serving with XGBoost; the package records the check; the reader survives
 * truncated and garbage model bytes; threads predict concurrently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <xgboost/c_api.h>

#include "native.h"
#include "pdm_model.h"

enum { K = PDM_MODEL_N_CLASSES, NFEAT = 8, NTRAIN = 3000, NEVAL = 12000 };

static const char *const names[NFEAT] = {"a", "b", "c", "d", "e", "f", "g", "h"};

static size_t rows_compared; /* over the whole run: the issue asks >= 100,000 */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* Features of different kinds: on a 0.25 grid (so data values sit on split
 * thresholds), small integers, heavy-tailed, 40% missing, constant, and
 * plain continuous; labels from rules on them plus noise. */
static void make_rows(double *x, int *label, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        double *r = x + i * NFEAT;
        r[0] = floor(uniform(&s) * 40) / 4 - 5;
        r[1] = floor(uniform(&s) * 40) / 4 - 5;
        r[2] = (double)(rng_next(&s) % 10);
        r[3] = exp(uniform(&s) * 12 - 6);
        r[4] = uniform(&s) < 0.4 ? NAN : uniform(&s) * 3;
        r[5] = 7.0;
        r[6] = uniform(&s) * 2 - 1;
        r[7] = uniform(&s) < 0.1 ? NAN : uniform(&s);
        int y = 0;
        if (r[0] > 1.5 && r[2] >= 5)
            y = 1;
        else if (r[1] < -2 && (isnan(r[4]) || r[4] > 1))
            y = 2;
        else if (r[3] > 50)
            y = 3;
        else if (r[6] + r[0] / 5 > 0.9)
            y = 4;
        if (rng_next(&s) % 20 == 0)
            y = (int)(rng_next(&s) % K);
        if (label)
            label[i] = y;
    }
}

/* Evaluation rows: fresh data rows, with the native check's own sample
 * (thresholds and their neighbours, specials) mixed in. */
static double *eval_rows(const pdm_native *nat, size_t n, uint64_t seed)
{
    double *x = malloc(n * NFEAT * sizeof *x), *sample;
    size_t ns;
    char err[PDM_ERRSTR_SIZE];
    assert_non_null(x);
    make_rows(x, NULL, n, seed);
    assert_int_equal(pdm_native_sample(nat, NULL, 0, &sample, &ns, err, sizeof err), 0);
    assert_true(ns > 0);
    /* Every third row from the sample, the others are data rows with some
     * values moved onto a threshold-like neighbour of themselves. */
    for (size_t i = 0; i < n; i++) {
        if (i % 3 == 0)
            memcpy(x + i * NFEAT, sample + (i / 3 % ns) * NFEAT, NFEAT * sizeof *x);
        else if (i % 3 == 1)
            x[i * NFEAT + i % NFEAT] = nextafterf((float)x[i * NFEAT + i % NFEAT], -INFINITY);
    }
    free(sample);
    return x;
}

/* XGBoost's in-place prediction of double rows, as pdm_model does it. */
static void xgb_predict(BoosterHandle b, const double *x, size_t n, size_t nout, double *out)
{
    static const char config[] = "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
                                 "\"iteration_end\":0,\"strict_shape\":true,\"cache_id\":0,"
                                 "\"missing\":NaN}";
    char ai[160];
    const bst_ulong *shape;
    bst_ulong dim;
    const float *res;
    snprintf(ai, sizeof ai,
             "{\"data\":[%llu,true],\"shape\":[%zu,%d],\"typestr\":\"<f8\",\"version\":3}",
             (unsigned long long)(uintptr_t)x, n, NFEAT);
    assert_int_equal(XGBoosterPredictFromDense(b, ai, config, NULL, &shape, &dim, &res), 0);
    assert_int_equal(shape[0], n);
    for (size_t i = 0; i < n * nout; i++)
        out[i] = res[i];
}

static void assert_identical(const double *native, const double *ref, size_t n, size_t nout,
                             const char *what)
{
    pdm_native_diff d;
    pdm_native_compare(native, ref, n, nout, &d);
    if (d.identical != n * nout)
        print_error("%s: %zu of %zu values identical; worst row %zu output %zu: native %.9g "
                    "xgboost %.9g\n",
                    what, d.identical, n * nout, d.worst_row, d.worst_output, d.native_value,
                    d.reference_value);
    assert_true(d.max_abs_diff <= 1e-6);
    assert_int_equal(d.identical, n * nout);
    rows_compared += n;
}

/* ---- binary:logistic boosters, the evaluator core ---------------------------- */

static void test_binary_parity_depths(void **state)
{
    static const int depths[] = {1, 3, 6, 10, 13};
    double *x = malloc(NTRAIN * NFEAT * sizeof *x);
    int *y = malloc(NTRAIN * sizeof *y);
    float *label = malloc(NTRAIN * sizeof *label);
    char err[PDM_ERRSTR_SIZE], ai[160], v[16];
    make_rows(x, y, NTRAIN, 11);
    for (size_t i = 0; i < NTRAIN; i++)
        label[i] = y[i] != 0;
    for (size_t d = 0; d < sizeof depths / sizeof *depths; d++) {
        DMatrixHandle dm;
        BoosterHandle b;
        snprintf(ai, sizeof ai,
                 "{\"data\":[%llu,true],\"shape\":[%d,%d],\"typestr\":\"<f8\",\"version\":3}",
                 (unsigned long long)(uintptr_t)x, NTRAIN, NFEAT);
        assert_int_equal(XGDMatrixCreateFromDense(ai, "{\"missing\":NaN,\"nthread\":1}", &dm), 0);
        assert_int_equal(XGDMatrixSetFloatInfo(dm, "label", label, NTRAIN), 0);
        assert_int_equal(XGBoosterCreate(&dm, 1, &b), 0);
        snprintf(v, sizeof v, "%d", depths[d]);
        /* Mostly binary:logistic (sigmoid, base_score as a margin); also
         * the identity outputs of reg:squarederror and binary:logitraw. */
        const char *objective = d == 2   ? "reg:squarederror"
                                : d == 4 ? "binary:logitraw"
                                         : "binary:logistic";
        XGBoosterSetParam(b, "objective", objective);
        XGBoosterSetParam(b, "max_depth", v);
        XGBoosterSetParam(b, "tree_method", d % 2 ? "hist" : "exact");
        XGBoosterSetParam(b, "min_child_weight", "0.1");
        XGBoosterSetParam(b, "base_score", d == 1 ? "0.3" : "0.5");
        XGBoosterSetParam(b, "nthread", "1");
        XGBoosterSetParam(b, "verbosity", "0");
        for (int it = 0; it < 12; it++)
            assert_int_equal(XGBoosterUpdateOneIter(b, it, dm), 0);

        bst_ulong len;
        const char *bytes;
        pdm_native *nat = NULL;
        assert_int_equal(XGBoosterSaveModelToBuffer(b, "{\"format\":\"ubj\"}", &len, &bytes), 0);
        int rc = pdm_native_from_ubj(bytes, len, &nat, err, sizeof err);
        if (rc)
            print_error("%s\n", err);
        assert_int_equal(rc, 0);
        assert_int_equal(pdm_native_n_outputs(nat), 1);
        assert_int_equal(pdm_native_n_trees(nat), 12);

        double *ex = eval_rows(nat, NEVAL, 100 + d);
        double *got = malloc(NEVAL * sizeof *got), *ref = malloc(NEVAL * sizeof *ref);
        assert_int_equal(pdm_native_predict(nat, ex, NEVAL, got, err, sizeof err), 0);
        xgb_predict(b, ex, NEVAL, 1, ref);
        char what[64];
        snprintf(what, sizeof what, "%s depth %d", objective, depths[d]);
        assert_identical(got, ref, NEVAL, 1, what);
        /* One row per call goes the tree-interleaved way: the same values. */
        for (size_t i = 0; i < 200; i++) {
            double one;
            assert_int_equal(pdm_native_predict(nat, ex + i * NFEAT, 1, &one, err, sizeof err), 0);
            assert_memory_equal(&one, &got[i], sizeof one);
        }
        /* Rows without missing values take a faster step: the same values. */
        double *full = malloc(NEVAL * NFEAT * sizeof *full);
        memcpy(full, ex, NEVAL * NFEAT * sizeof *full);
        for (size_t i = 0; i < NEVAL * NFEAT; i++)
            if (isnan(full[i]))
                full[i] = (double)(i % 7) / 4;
        assert_int_equal(pdm_native_predict(nat, full, NEVAL, got, err, sizeof err), 0);
        xgb_predict(b, full, NEVAL, 1, ref);
        snprintf(what, sizeof what, "binary depth %d, no missing values", depths[d]);
        assert_identical(got, ref, NEVAL, 1, what);
        free(full);
        assert_int_equal(pdm_native_predict(nat, ex, NEVAL, got, err, sizeof err), 0);
        xgb_predict(b, ex, NEVAL, 1, ref);

        /* The linked layout (trees deeper than 10), batch and one row. */
        pdm_native_debug_linked_layout(nat);
        assert_int_equal(pdm_native_predict(nat, ex, NEVAL, got, err, sizeof err), 0);
        snprintf(what, sizeof what, "binary depth %d, linked layout", depths[d]);
        assert_identical(got, ref, NEVAL, 1, what);
        for (size_t i = 0; i < 200; i++) {
            double one;
            assert_int_equal(pdm_native_predict(nat, ex + i * NFEAT, 1, &one, err, sizeof err), 0);
            assert_memory_equal(&one, &got[i], sizeof one);
        }
        free(ex);
        free(got);
        free(ref);
        pdm_native_destroy(nat);
        XGBoosterFree(b);
        XGDMatrixFree(dm);
    }
    free(x);
    free(y);
    free(label);
}

/* ---- 5-class pdm models --------------------------------------------------------- */

static pdm_model *train(int depth, int rounds, uint64_t seed)
{
    double *x = malloc(NTRAIN * NFEAT * sizeof *x);
    int *y = malloc(NTRAIN * sizeof *y);
    pdm_train_params p;
    pdm_model *m = NULL;
    char err[PDM_ERRSTR_SIZE];
    make_rows(x, y, NTRAIN, seed);
    pdm_train_params_init(&p);
    p.rounds = rounds;
    p.max_depth = depth;
    p.nthread = 1;
    int rc = pdm_model_train(x, y, NTRAIN, NFEAT, names, "test", &p, &m, NULL, err, sizeof err);
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    free(x);
    free(y);
    return m;
}

static void test_softprob_parity_depths(void **state)
{
    static const int depths[] = {1, 2, 4, 6, 8, 10};
    char err[PDM_ERRSTR_SIZE];
    for (size_t d = 0; d < sizeof depths / sizeof *depths; d++) {
        pdm_model *m = train(depths[d], 6, 21 + d);
        pdm_native *nat;
        assert_int_equal(pdm_model_native_build(m, &nat, err, sizeof err), 0);
        assert_int_equal(pdm_native_n_trees(nat), 6 * K);
        double *ex = eval_rows(nat, NEVAL, 200 + d);
        pdm_native_destroy(nat);

        double *got = malloc(NEVAL * K * sizeof *got), *ref = malloc(NEVAL * K * sizeof *ref);
        assert_int_equal(pdm_model_predictor(m), PDM_PREDICTOR_XGBOOST);
        assert_int_equal(pdm_model_predict(m, ex, NEVAL, ref, err, sizeof err), 0);
        int rc = pdm_model_set_predictor(m, PDM_PREDICTOR_NATIVE, err, sizeof err);
        if (rc)
            print_error("%s\n", err);
        assert_int_equal(rc, 0);
        assert_int_equal(pdm_model_predictor(m), PDM_PREDICTOR_NATIVE);
        const pdm_predictor_check *c = pdm_model_predictor_check(m);
        assert_true(c->checked && c->passed);
        assert_true(c->rows > 100);
        assert_int_equal(c->identical, c->values);
        assert_true(c->max_abs_diff == 0);
        assert_int_equal(pdm_model_predict(m, ex, NEVAL, got, err, sizeof err), 0);
        char what[64];
        snprintf(what, sizeof what, "5-class depth %d", depths[d]);
        assert_identical(got, ref, NEVAL, K, what);

        /* Scores (risk, levels) follow the predictor and do not change. */
        pdm_risk r_native[64], r_xgb[64];
        assert_int_equal(pdm_model_score_ex(m, ex, 64, r_native, 0, err, sizeof err), 0);
        assert_int_equal(pdm_model_set_predictor(m, PDM_PREDICTOR_XGBOOST, err, sizeof err), 0);
        assert_int_equal(pdm_model_score_ex(m, ex, 64, r_xgb, 0, err, sizeof err), 0);
        for (int i = 0; i < 64; i++) {
            assert_memory_equal(&r_native[i].risk, &r_xgb[i].risk, sizeof(double));
            assert_int_equal(r_native[i].level, r_xgb[i].level);
        }
        free(ex);
        free(got);
        free(ref);
        pdm_model_destroy(m);
    }
}

/* ---- the safety check ------------------------------------------------------------- */

static void test_check_refuses_corrupted(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_model *m = train(6, 5, 31);
    double x[50 * NFEAT], before[50 * K], after[50 * K];
    make_rows(x, NULL, 50, 32);
    assert_int_equal(pdm_model_predict(m, x, 50, before, err, sizeof err), 0);

    /* A threshold one float higher: a value exactly on it now goes left. */
    pdm_native *nat;
    assert_int_equal(pdm_model_native_build(m, &nat, err, sizeof err), 0);
    assert_int_equal(pdm_native_debug_nudge_root(nat, 7, 1), 0);
    assert_int_equal(pdm_model_native_install(m, nat, err, sizeof err), -1);
    assert_non_null(strstr(err, "native predictor refused"));
    assert_non_null(strstr(err, "differs: native"));
    assert_int_equal(pdm_model_predictor(m), PDM_PREDICTOR_XGBOOST);
    const pdm_predictor_check *c = pdm_model_predictor_check(m);
    assert_true(c->checked && !c->passed && c->max_abs_diff > 1e-6);
    assert_true(c->reason[0] != '\0');

    /* One float lower: a value one float below it now goes right. */
    assert_int_equal(pdm_model_native_build(m, &nat, err, sizeof err), 0);
    assert_int_equal(pdm_native_debug_nudge_root(nat, 3, -1), 0);
    assert_int_equal(pdm_model_native_install(m, nat, err, sizeof err), -1);
    assert_int_equal(pdm_model_predictor(m), PDM_PREDICTOR_XGBOOST);

    /* Still serving, with XGBoost: the same probabilities. */
    assert_int_equal(pdm_model_predict(m, x, 50, after, err, sizeof err), 0);
    assert_memory_equal(before, after, sizeof before);
    /* The real evaluator passes afterwards. */
    assert_int_equal(pdm_model_set_predictor(m, PDM_PREDICTOR_NATIVE, err, sizeof err), 0);
    assert_int_equal(pdm_model_predict(m, x, 50, after, err, sizeof err), 0);
    assert_memory_equal(before, after, sizeof before);
    pdm_model_destroy(m);
}

static void test_package_records_check(void **state)
{
    char err[PDM_ERRSTR_SIZE], dir[64] = "/tmp/pdm-test-native-XXXXXX";
    assert_non_null(mkdtemp(dir));
    pdm_model *m = train(4, 4, 41), *loaded = NULL;
    assert_int_equal(pdm_model_set_predictor(m, PDM_PREDICTOR_NATIVE, err, sizeof err), 0);
    const cJSON *pred = cJSON_GetObjectItem(pdm_model_metadata(m), "predictor");
    assert_string_equal(cJSON_GetObjectItem(pred, "evaluated_with")->valuestring, "native");
    const cJSON *check = cJSON_GetObjectItem(pred, "native_check");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(check, "passed")));
    assert_true(cJSON_GetObjectItem(check, "rows")->valuedouble > 100);
    assert_true(cJSON_GetObjectItem(check, "max_abs_diff")->valuedouble == 0);
    assert_int_equal(pdm_model_save(m, dir, NULL, 0, err, sizeof err), 0);

    /* A loaded package starts on XGBoost and checks again from model.ubj;
     * the recorded metadata (and so the version) does not change. */
    int rc = pdm_model_load(dir, &loaded, err, sizeof err);
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(pdm_model_predictor(loaded), PDM_PREDICTOR_XGBOOST);
    assert_false(pdm_model_predictor_check(loaded)->checked);
    assert_int_equal(pdm_model_set_predictor(loaded, PDM_PREDICTOR_NATIVE, err, sizeof err), 0);
    assert_true(pdm_model_predictor_check(loaded)->passed);
    assert_string_equal(pdm_model_version(loaded), pdm_model_version(m));
    pdm_model_destroy(loaded);
    loaded = NULL;
    assert_int_equal(pdm_model_load(dir, &loaded, err, sizeof err), 0);
    pdm_model_destroy(loaded);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    pdm_model_destroy(m);
}

static void test_predictor_names(void **state)
{
    pdm_predictor p = PDM_PREDICTOR_XGBOOST;
    assert_int_equal(pdm_predictor_parse("native", &p), 0);
    assert_int_equal(p, PDM_PREDICTOR_NATIVE);
    assert_int_equal(pdm_predictor_parse("xgboost", &p), 0);
    assert_int_equal(p, PDM_PREDICTOR_XGBOOST);
    assert_int_equal(pdm_predictor_parse("Native", &p), -1);
    assert_int_equal(pdm_predictor_parse(NULL, &p), -1);
    assert_string_equal(pdm_predictor_name(PDM_PREDICTOR_NATIVE), "native");
    assert_string_equal(pdm_predictor_name(PDM_PREDICTOR_XGBOOST), "xgboost");
}

/* ---- the reader on bad bytes ------------------------------------------------------ */

static void test_reader_rejects_bad_bytes(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_model *m = train(3, 2, 51);
    BoosterHandle b;
    pdm_native *nat = NULL;
    bst_ulong len;
    const char *bytes;
    /* The model's own bytes, through a fresh booster (the test has no
     * access to pdm_model's). */
    assert_int_equal(pdm_model_seal(m, err, sizeof err), 0);
    char dir[64] = "/tmp/pdm-test-native-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(pdm_model_save(m, dir, NULL, 0, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/model.ubj", dir);
    assert_int_equal(XGBoosterCreate(NULL, 0, &b), 0);
    assert_int_equal(XGBoosterLoadModel(b, path), 0);
    assert_int_equal(XGBoosterSaveModelToBuffer(b, "{\"format\":\"ubj\"}", &len, &bytes), 0);
    unsigned char *copy = malloc(len);
    memcpy(copy, bytes, len);
    assert_int_equal(pdm_native_from_ubj(copy, len, &nat, err, sizeof err), 0);
    pdm_native_destroy(nat);
    /* Every truncation is refused (never read past the end: ASan). */
    for (size_t cut = 0; cut < len; cut += 1 + cut / 8) {
        unsigned char *part = malloc(cut ? cut : 1);
        memcpy(part, copy, cut);
        nat = NULL;
        assert_int_equal(pdm_native_from_ubj(part, cut, &nat, err, sizeof err), -1);
        assert_null(nat);
        free(part);
    }
    /* Flipped bytes: refused or read, never a crash. */
    uint64_t s = 5;
    for (int k = 0; k < 300; k++) {
        unsigned char *bad = malloc(len);
        memcpy(bad, copy, len);
        for (int f = 0; f < 3; f++)
            bad[rng_next(&s) % len] ^= (unsigned char)(1u << (rng_next(&s) % 8));
        nat = NULL;
        if (pdm_native_from_ubj(bad, len, &nat, err, sizeof err) == 0) {
            double row[NFEAT] = {0}, out[K];
            assert_int_equal(pdm_native_predict(nat, row, 1, out, err, sizeof err), 0);
            pdm_native_destroy(nat);
        }
        free(bad);
    }
    assert_int_equal(pdm_native_from_ubj("{}", 2, &nat, err, sizeof err), -1);
    assert_int_equal(pdm_native_from_ubj("[", 1, &nat, err, sizeof err), -1);
    free(copy);
    XGBoosterFree(b);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
    pdm_model_destroy(m);
}

/* ---- threads -------------------------------------------------------------------- */

typedef struct {
    pdm_model *m;
    const double *x;
    size_t n;
    double *out;
    int rc;
} job;

static void *predict_job(void *arg)
{
    job *j = arg;
    char err[PDM_ERRSTR_SIZE];
    for (int rep = 0; rep < 20 && j->rc == 0; rep++)
        j->rc = pdm_model_predict(j->m, j->x, j->n, j->out, err, sizeof err);
    return NULL;
}

static void test_concurrent_native_predict(void **state)
{
    enum { N = 2000 };
    char err[PDM_ERRSTR_SIZE];
    pdm_model *m = train(6, 10, 61);
    double *x = malloc(N * NFEAT * sizeof *x), *ref = malloc(N * K * sizeof *ref);
    make_rows(x, NULL, N, 62);
    assert_int_equal(pdm_model_predict(m, x, N, ref, err, sizeof err), 0);
    assert_int_equal(pdm_model_set_predictor(m, PDM_PREDICTOR_NATIVE, err, sizeof err), 0);
    job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){m, x, N, malloc(N * K * sizeof(double)), 0};
        assert_int_equal(pthread_create(&th[i], NULL, predict_job, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].rc, 0);
        assert_memory_equal(jobs[i].out, ref, N * K * sizeof(double));
        free(jobs[i].out);
    }
    free(x);
    free(ref);
    pdm_model_destroy(m);
}

static void test_rows_total(void **state)
{
    /* Run last: the parity tests above compared enough rows. */
    assert_true(rows_compared >= 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_parity_depths),
        cmocka_unit_test(test_softprob_parity_depths),
        cmocka_unit_test(test_check_refuses_corrupted),
        cmocka_unit_test(test_package_records_check),
        cmocka_unit_test(test_predictor_names),
        cmocka_unit_test(test_reader_rejects_bad_bytes),
        cmocka_unit_test(test_concurrent_native_predict),
        cmocka_unit_test(test_rows_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
