/* Unit tests of model/ with XGBoost on small synthetic matrices: training,
 * the package round trip (same probabilities after reload), version and
 * integrity checks, atomic replacement, scoring (risk, levels, reasons) and
 * the additivity of the risk contributions. Few rounds, few hundred rows. */
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
#include <unistd.h>

#include <cJSON.h>

#include "pdm_model.h"

enum { NROWS = 600, NFEAT = 4, K = PDM_MODEL_N_CLASSES };

static const char *const names[NFEAT] = {"volt_mean_3h", "rotate_mean_3h", "pressure_sd_24h",
                                         "age"};

typedef struct {
    double rows[NROWS * NFEAT];
    int labels[NROWS];
    char dir[64];
} fixture;

/* f0 > 0.75 means a failure, of class 1 + floor(4 f1); f2 is 10% missing;
 * f3 is noise; 3% of the labels are flipped to "none". */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < NROWS; i++) {
        double u[NFEAT];
        for (int j = 0; j < NFEAT; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            u[j] = (double)(x >> 11) / 9007199254740992.0;
        }
        f->rows[i * NFEAT + 0] = u[0];
        f->rows[i * NFEAT + 1] = u[1];
        f->rows[i * NFEAT + 2] = i % 10 == 3 ? NAN : u[2] * 100;
        f->rows[i * NFEAT + 3] = u[3];
        f->labels[i] = u[0] > 0.75 ? 1 + (int)(u[1] * 4) : 0;
        if (i % 33 == 0)
            f->labels[i] = 0;
    }
    snprintf(f->dir, sizeof f->dir, "/tmp/pdm-test-package-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
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

static pdm_model *train(fixture *f, int rounds, double *train_probs)
{
    pdm_train_params p;
    pdm_model *m = NULL;
    char err[PDM_ERRSTR_SIZE];
    pdm_train_params_init(&p);
    p.rounds = rounds;
    p.max_depth = 3;
    p.nthread = 2;
    int rc = pdm_model_train(f->rows, f->labels, NROWS, NFEAT, names, "v1", &p, &m, train_probs,
                             err, sizeof err);
    if (rc)
        fail_msg("train: %s", err);
    return m;
}

/* Fills in what pdm-train fills in: thresholds, horizon, histograms, info. */
static void complete(pdm_model *m, fixture *f, const double *probs)
{
    double risk[NROWS];
    char err[PDM_ERRSTR_SIZE];
    for (int i = 0; i < NROWS; i++)
        risk[i] = pdm_model_risk_of(probs + i * K);
    assert_int_equal(pdm_model_set_thresholds(m, 0.3, 0.6, "test", err, sizeof err), 0);
    assert_int_equal(pdm_model_set_horizon(m, 24, err, sizeof err), 0);
    assert_int_equal(pdm_model_set_reference(m, f->rows, NROWS, risk, NROWS, err, sizeof err), 0);
    cJSON *train = cJSON_CreateObject();
    cJSON_AddNumberToObject(train, "rows", NROWS);
    assert_int_equal(pdm_model_set_info(m, "train", train, err, sizeof err), 0);
}

static int count_entries(const char *dir, const char *prefix)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static void test_train_predict_cache(void **state)
{
    fixture *f = *state;
    static double cached[NROWS * K], probs[NROWS * K];
    char err[PDM_ERRSTR_SIZE];
    pdm_model *m = train(f, 8, cached);

    assert_int_equal(pdm_model_predict(m, f->rows, NROWS, probs, err, sizeof err), 0);
    for (int i = 0; i < NROWS * K; i++)
        assert_float_equal(probs[i], cached[i], 1e-6);
    for (int i = 0; i < NROWS; i++) {
        double s = 0;
        for (int k = 0; k < K; k++)
            s += probs[i * K + k];
        assert_float_equal(s, 1.0, 1e-5);
    }
    /* the model learned something: failures score higher than the rest */
    double pos = 0, neg = 0;
    int npos = 0;
    for (int i = 0; i < NROWS; i++) {
        double r = pdm_model_risk_of(probs + i * K);
        if (f->labels[i]) {
            pos += r;
            npos++;
        } else {
            neg += r;
        }
    }
    assert_true(pos / npos > neg / (NROWS - npos) + 0.3);
    assert_string_equal(pdm_model_version(m), ""); /* not sealed yet */
    pdm_model_destroy(m);
}

static void test_package_round_trip(void **state)
{
    fixture *f = *state;
    static double probs[NROWS * K], again[NROWS * K];
    char err[PDM_ERRSTR_SIZE], pkg[128], path[256];
    pdm_model *m = train(f, 6, probs), *back = NULL;
    complete(m, f, probs);
    assert_int_equal(pdm_model_predict(m, f->rows, NROWS, probs, err, sizeof err), 0);

    /* The alert policy: clear thresholds above the enter ones are refused;
     * a valid one is recorded over the model's thresholds (not p's). */
    pdm_alert_policy ap, got;
    pdm_alert_policy_init(&ap, 0.9, 0.95);
    ap.warn_clear = 0.31; /* above the model's warn 0.3 */
    assert_int_equal(pdm_model_set_alert_policy(m, &ap, "test", err, sizeof err), -1);
    assert_int_equal(pdm_model_alert_policy(m, &got), 0); /* none yet: defaults */
    assert_float_equal(got.warn_clear, 0.3 * PDM_ALERT_DEFAULT_CLEAR_RATIO, 1e-15);
    ap.warn_clear = 0.2;
    ap.critical_clear = 0.45;
    ap.confirm_m = 3;
    ap.confirm_n = 4;
    ap.min_hold_ms = 12 * PDM_MS_PER_HOUR;
    ap.renotify_ms = 0;
    assert_int_equal(pdm_model_set_alert_policy(m, &ap, "test", err, sizeof err), 0);

    const char extra_text[] = "{\"macro_f1\": 0.5}\n";
    pdm_model_file extra = {"metrics.json", extra_text, strlen(extra_text)};
    snprintf(pkg, sizeof pkg, "%s/models/m1", f->dir);
    if (pdm_model_save(m, pkg, &extra, 1, err, sizeof err))
        fail_msg("save: %s", err);
    const char *version = pdm_model_version(m);
    assert_int_equal(strlen(version), PDM_MODEL_VERSION_LEN);
    assert_int_equal(strspn(version, "0123456789abcdef"), PDM_MODEL_VERSION_LEN);
    snprintf(path, sizeof path, "%s/metrics.json", pkg);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, (off_t)strlen(extra_text));

    if (pdm_model_load(pkg, &back, err, sizeof err))
        fail_msg("load: %s", err);
    assert_string_equal(pdm_model_version(back), version);
    assert_string_equal(pdm_model_feature_set(back), "v1");
    assert_int_equal(pdm_model_n_features(back), NFEAT);
    for (int j = 0; j < NFEAT; j++)
        assert_string_equal(pdm_model_feature_name(back, (size_t)j), names[j]);
    double w, c;
    pdm_model_thresholds(back, &w, &c);
    assert_float_equal(w, 0.3, 0);
    assert_float_equal(c, 0.6, 0);
    assert_float_equal(pdm_model_horizon_hours(back), 24, 0);
    assert_int_equal(pdm_model_alert_policy(back, &got), 1);
    assert_float_equal(got.warn, 0.3, 0);
    assert_float_equal(got.critical, 0.6, 0);
    assert_float_equal(got.warn_clear, 0.2, 0);
    assert_float_equal(got.critical_clear, 0.45, 0);
    assert_int_equal(got.confirm_m, 3);
    assert_int_equal(got.confirm_n, 4);
    assert_true(got.min_hold_ms == 12 * PDM_MS_PER_HOUR);
    assert_true(got.renotify_ms == 0);
    assert_int_equal(pdm_model_set_nthread(back, 1, err, sizeof err), 0);
    assert_int_equal(pdm_model_predict(back, f->rows, NROWS, again, err, sizeof err), 0);
    for (int i = 0; i < NROWS * K; i++)
        assert_float_equal(again[i], probs[i], 1e-7);
    for (int j = 0; j < NFEAT; j++) {
        const pdm_histogram *a = pdm_model_feature_histogram(m, (size_t)j);
        const pdm_histogram *b = pdm_model_feature_histogram(back, (size_t)j);
        assert_non_null(b);
        /* JSON keeps 15 significant digits where they read back as the same
         * double within cJSON's tolerance: equal to ~1e-15 relative. */
        for (int k = 0; k <= PDM_MODEL_HIST_BINS; k++)
            assert_float_equal(a->edges[k], b->edges[k], 1e-14 * (1 + fabs(a->edges[k])));
        for (int k = 0; k < PDM_MODEL_HIST_BINS; k++)
            assert_float_equal(a->share[k], b->share[k], 1e-14);
        assert_float_equal(a->missing, b->missing, 1e-14);
        assert_int_equal(a->count, b->count);
    }
    assert_float_equal(pdm_model_feature_histogram(back, 2)->missing, 0.1, 1e-12);
    for (int k = 0; k <= PDM_MODEL_HIST_BINS; k++)
        assert_float_equal(pdm_model_risk_histogram(m)->edges[k],
                           pdm_model_risk_histogram(back)->edges[k], 1e-14);

    /* model.json carries every documented key, version first. */
    const cJSON *meta = pdm_model_metadata(back);
    const char *keys[] = {
        "format", "feature_set", "features",     "classes",   "horizon_hours",
        "params", "thresholds",  "alert_policy", "predictor", "reference_histograms",
        "train"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        assert_non_null(cJSON_GetObjectItemCaseSensitive(meta, keys[i]));
    char *text = pdm_model_metadata_text(back);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"version\""));
    assert_true(strstr(text, "\"version\"") < strstr(text, "\"format\""));
    free(text);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(meta, "params");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(params, "rounds")->valueint, 6);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(params, "class_weights")),
                     K);

    /* sealed: metadata is frozen */
    assert_int_equal(pdm_model_set_thresholds(m, 0.1, 0.2, "late", err, sizeof err), -1);
    assert_non_null(strstr(err, "sealed"));
    /* nothing left behind beside the package */
    snprintf(path, sizeof path, "%s/models", f->dir);
    assert_int_equal(count_entries(path, "."), 2); /* "." and ".." only */
    pdm_model_destroy(back);
    pdm_model_destroy(m);
}

static void test_package_integrity_and_replace(void **state)
{
    fixture *f = *state;
    static double probs[NROWS * K];
    char err[PDM_ERRSTR_SIZE], pkg[128], path[256], v1[16];
    pdm_model *a = train(f, 4, probs), *b = NULL, *loaded = NULL;
    complete(a, f, probs);
    snprintf(pkg, sizeof pkg, "%s/pkg", f->dir);
    assert_int_equal(pdm_model_save(a, pkg, NULL, 0, err, sizeof err), 0);
    snprintf(v1, sizeof v1, "%s", pdm_model_version(a));

    /* The same training gives the same version; other rounds another one. */
    b = train(f, 4, probs);
    complete(b, f, probs);
    assert_int_equal(pdm_model_seal(b, err, sizeof err), 0);
    assert_string_equal(pdm_model_version(b), v1);
    pdm_model_destroy(b);
    b = train(f, 5, probs);
    complete(b, f, probs);
    assert_int_equal(pdm_model_seal(b, err, sizeof err), 0);
    assert_string_not_equal(pdm_model_version(b), v1);

    /* Replacing a package swaps it whole. */
    assert_int_equal(pdm_model_save(b, pkg, NULL, 0, err, sizeof err), 0);
    assert_int_equal(pdm_model_load(pkg, &loaded, err, sizeof err), 0);
    assert_string_equal(pdm_model_version(loaded), pdm_model_version(b));
    /* A package without an alert policy (as before there was one) loads,
     * and the policy is pdm_alert_policy_init's over its thresholds. */
    pdm_alert_policy ap, def;
    assert_int_equal(pdm_model_alert_policy(loaded, &ap), 0);
    pdm_alert_policy_init(&def, 0.3, 0.6);
    assert_memory_equal(&ap, &def, sizeof ap);
    pdm_model_destroy(loaded);
    loaded = NULL;
    assert_int_equal(count_entries(f->dir, ".pkg"), 0);

    /* A directory that is not a package is never replaced. */
    char other[160];
    snprintf(other, sizeof other, "%s/not-a-package", f->dir);
    assert_int_equal(mkdir(other, 0755), 0);
    snprintf(path, sizeof path, "%s/keep.txt", other);
    FILE *fp = fopen(path, "w");
    fputs("data\n", fp);
    fclose(fp);
    assert_int_equal(pdm_model_save(a, other, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a model package"));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(count_entries(f->dir, ".not-a-package"), 0);

    /* Altered metadata no longer matches the version. */
    snprintf(path, sizeof path, "%s/model.json", pkg);
    pdm_buf text = {0};
    assert_int_equal(pdm_read_file(path, &text, err, sizeof err), 0);
    char *warn = strstr(text.data, "\"warn\":");
    assert_non_null(warn);
    char *digit = warn + strlen("\"warn\":");
    while (*digit == ' ' || *digit == '\t')
        digit++;
    *digit = *digit == '0' ? '1' : '0';
    fp = fopen(path, "w");
    fputs(text.data, fp);
    fclose(fp);
    pdm_buf_free(&text);
    assert_int_equal(pdm_model_load(pkg, &loaded, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not match version"));
    assert_null(loaded);

    assert_int_equal(pdm_model_load("/nonexistent/pkg", &loaded, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/pkg"));

    /* Keys of the module are not free-form info. */
    pdm_model_destroy(a);
    a = train(f, 2, NULL);
    assert_int_equal(pdm_model_set_info(a, "version", cJSON_CreateString("x"), err, sizeof err),
                     -1);
    assert_int_equal(pdm_model_set_info(a, "features", cJSON_CreateNull(), err, sizeof err), -1);
    assert_int_equal(pdm_model_set_thresholds(a, 0.7, 0.2, "bad", err, sizeof err), -1);
    pdm_model_destroy(a);
    pdm_model_destroy(b);
}

static void test_score_levels_and_reasons(void **state)
{
    fixture *f = *state;
    static double probs[NROWS * K], contrib[NROWS * (NFEAT + 1)];
    static pdm_risk risk[NROWS];
    char err[PDM_ERRSTR_SIZE];
    pdm_model *m = train(f, 10, probs);
    complete(m, f, probs); /* warn 0.3, critical 0.6 */
    assert_int_equal(pdm_model_seal(m, err, sizeof err), 0);

    assert_int_equal(pdm_model_level(m, 0.29), PDM_LEVEL_OK);
    assert_int_equal(pdm_model_level(m, 0.3), PDM_LEVEL_WARN);
    assert_int_equal(pdm_model_level(m, 0.59), PDM_LEVEL_WARN);
    assert_int_equal(pdm_model_level(m, 0.6), PDM_LEVEL_CRITICAL);

    assert_int_equal(pdm_model_predict(m, f->rows, NROWS, probs, err, sizeof err), 0);
    assert_int_equal(pdm_model_score(m, f->rows, NROWS, risk, err, sizeof err), 0);
    int alerts = 0, with_reasons = 0;
    for (int i = 0; i < NROWS; i++) {
        const double *p = probs + i * K;
        assert_float_equal(risk[i].risk, 1.0 - p[0], 1e-12);
        for (int k = 1; k < K; k++)
            assert_float_equal(risk[i].component_prob[k - 1], p[k], 1e-12);
        assert_int_equal(risk[i].level, pdm_model_level(m, risk[i].risk));
        assert_string_equal(risk[i].model_version, pdm_model_version(m));
        if (risk[i].level == PDM_LEVEL_OK) {
            assert_int_equal(risk[i].n_reasons, 0);
            continue;
        }
        alerts++;
        with_reasons += risk[i].n_reasons > 0;
        for (int r = 0; r < risk[i].n_reasons; r++) {
            assert_true(risk[i].reasons[r].contribution > 0);
            if (r > 0)
                assert_true(risk[i].reasons[r].contribution <= risk[i].reasons[r - 1].contribution);
        }
    }
    assert_true(alerts > 50);
    assert_true(with_reasons > alerts / 2);

    /* Contributions add up to the log-odds of the risk relative to class 0
     * as linearised: sum_{k>=1} (p_k / risk) log(p_k / p_0). */
    assert_int_equal(pdm_model_contributions(m, f->rows, NROWS, contrib, err, sizeof err), 0);
    /* the fast TreeSHAP passed its check against XGBoost's pred_contribs */
    assert_string_equal(pdm_model_contributions_engine(m), "native TreeSHAP");
    int top_is_f0 = 0;
    for (int i = 0; i < NROWS; i++) {
        const double *p = probs + i * K;
        double r = 1.0 - p[0], want = 0, sum = 0;
        for (int k = 1; k < K; k++)
            want += p[k] / r * log(p[k] / p[0]);
        for (int j = 0; j <= NFEAT; j++)
            sum += contrib[i * (NFEAT + 1) + j];
        assert_float_equal(sum, want, 1e-3 * (1 + fabs(want)));
        if (risk[i].level == PDM_LEVEL_CRITICAL && risk[i].n_reasons > 0)
            top_is_f0 += strcmp(risk[i].reasons[0].feature, names[0]) == 0 ||
                         strcmp(risk[i].reasons[0].feature, names[1]) == 0;
    }
    /* f0 decides failure and f1 its class: they are the leading reasons */
    assert_true(top_is_f0 > 0);
    pdm_model_destroy(m);
}

static void test_feature_importance(void **state)
{
    fixture *f = *state;
    double gain[NFEAT], weight[NFEAT];
    char err[PDM_ERRSTR_SIZE];
    pdm_model *m = train(f, 10, NULL);
    assert_int_equal(pdm_model_feature_importance(m, "total_gain", gain, err, sizeof err), 0);
    assert_int_equal(pdm_model_feature_importance(m, "weight", weight, err, sizeof err), 0);
    /* f0 decides failure, f1 its class; f2 and f3 carry nothing */
    assert_true(gain[0] > gain[2] && gain[0] > gain[3]);
    assert_true(gain[1] > gain[2] && gain[1] > gain[3]);
    for (int j = 0; j < NFEAT; j++) {
        assert_true(gain[j] >= 0);
        assert_true(weight[j] == floor(weight[j])); /* split counts */
    }
    assert_int_equal(pdm_model_feature_importance(m, "bogus", gain, err, sizeof err), -1);
    pdm_model_destroy(m);
}

static void test_train_rejects_bad_input(void **state)
{
    fixture *f = *state;
    pdm_train_params p;
    pdm_model *m = NULL;
    char err[PDM_ERRSTR_SIZE];
    pdm_train_params_init(&p);
    p.rounds = 1;
    int saved = f->labels[5];
    f->labels[5] = 9;
    assert_int_equal(pdm_model_train(f->rows, f->labels, NROWS, NFEAT, names, "v1", &p, &m, NULL,
                                     err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "label 9"));
    assert_null(m);
    f->labels[5] = saved;
    p.eta = 0;
    assert_int_equal(pdm_model_train(f->rows, f->labels, NROWS, NFEAT, names, "v1", &p, &m, NULL,
                                     err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "eta"));
}

/* Splitting a batch over score threads changes nothing: the native
 * evaluator's probabilities and the native TreeSHAP's contributions are the
 * same bits with 1, 2 or 3 threads, for batches below and above a part. */
static void test_score_threads_same_results(void **state)
{
    fixture *f = *state;
    static double probs[NROWS * K], one[NROWS * K], many[NROWS * K];
    static double c_one[NROWS * (NFEAT + 1)], c_many[NROWS * (NFEAT + 1)];
    char err[PDM_ERRSTR_SIZE];
    pdm_model *m = train(f, 12, probs);
    complete(m, f, probs);
    assert_int_equal(pdm_model_seal(m, err, sizeof err), 0);
    if (pdm_model_set_predictor(m, PDM_PREDICTOR_NATIVE, err, sizeof err))
        fail_msg("native predictor: %s", err);
    assert_int_equal(pdm_model_set_score_threads(m, 0, err, sizeof err), -1);
    assert_int_equal(pdm_model_set_score_threads(m, 65, err, sizeof err), -1);
    const size_t sizes[] = {1, 7, 255, 256, 257, NROWS};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        assert_int_equal(pdm_model_set_score_threads(m, 1, err, sizeof err), 0);
        assert_int_equal(pdm_model_predict(m, f->rows, n, one, err, sizeof err), 0);
        assert_int_equal(pdm_model_contributions(m, f->rows, n, c_one, err, sizeof err), 0);
        for (int t = 2; t <= 3; t++) {
            assert_int_equal(pdm_model_set_score_threads(m, t, err, sizeof err), 0);
            memset(many, 0xff, sizeof many);
            memset(c_many, 0xff, sizeof c_many);
            assert_int_equal(pdm_model_predict(m, f->rows, n, many, err, sizeof err), 0);
            assert_memory_equal(one, many, n * K * sizeof *one);
            assert_int_equal(pdm_model_contributions(m, f->rows, n, c_many, err, sizeof err), 0);
            assert_memory_equal(c_one, c_many, n * (NFEAT + 1) * sizeof *c_one);
        }
    }
    pdm_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_train_predict_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_package_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_package_integrity_and_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_score_levels_and_reasons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_score_threads_same_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feature_importance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_rejects_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
