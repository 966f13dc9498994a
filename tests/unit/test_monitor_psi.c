/* Unit tests of monitor/'s drift on hand-made histograms: windows by rows
 * and by time, the PSI formula, missing shares, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "pdm_monitor.h"

/* Reference: every feature uniform over 0..999 (edges at the deciles) with
 * 20% missing; risk uniform over [0, 1). */
static void uniform_reference(pdm_histogram ref[PDM_N_FEATURES], pdm_histogram *risk)
{
    char err[PDM_ERRSTR_SIZE];
    double v[1250], rv[1000];
    for (int i = 0; i < 1250; i++)
        v[i] = i < 1000 ? i : NAN;
    for (int i = 0; i < 1000; i++)
        rv[i] = i / 1000.0;
    for (int f = 0; f < PDM_N_FEATURES; f++)
        assert_int_equal(pdm_histogram_build(v, 1250, 1, &ref[f], err, sizeof err), 0);
    assert_int_equal(pdm_histogram_build(rv, 1000, 1, risk, err, sizeof err), 0);
}

static double hand_psi(const double *a, const double *e)
{
    double s = 0, eps = PDM_DRIFT_SMOOTHING;
    for (int b = 0; b < 10; b++) {
        double x = (a[b] + eps) / (1 + 10 * eps), y = (e[b] + eps) / (1 + 10 * eps);
        s += (x - y) * log(x / y);
    }
    return s;
}

static void test_drift_formula(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_histogram ref[PDM_N_FEATURES], risk;
    uniform_reference(ref, &risk);
    pdm_drift_options o;
    pdm_drift_options_init(&o);
    assert_int_equal(o.window_rows, 10000);
    assert_int_equal(o.window_ms, 300000);
    o.window_rows = 1000;
    pdm_drift *d = pdm_drift_new(ref, &risk, &o, err, sizeof err);
    assert_non_null(d);
    pdm_drift_result res;
    pdm_drift_get(d, &res);
    assert_false(res.ready);
    assert_true(isnan(res.feature[0].psi));
    assert_true(fabs(res.feature[0].reference_missing - 0.2) < 1e-12);

    /* 1000 rows: feature 0 follows the reference (a share per decile),
     * feature 1 sits in the lowest decile, feature 2 has 50% missing and the
     * rest in the top two deciles; feature 3 is all missing. */
    double *rows = calloc(1000 * PDM_N_FEATURES, sizeof *rows);
    double rk[1000];
    for (int i = 0; i < 1000; i++) {
        double *row = rows + i * PDM_N_FEATURES;
        for (int f = 0; f < PDM_N_FEATURES; f++)
            row[f] = (i * 7919) % 1000; /* a permutation of 0..999 */
        row[1] = (i % 100) + 0.5;
        row[2] = i % 2 ? NAN : 800 + (i % 200);
        row[3] = NAN;
        rk[i] = i < 900 ? 0.95 : NAN; /* all in the top bin, 10% missing */
    }
    assert_int_equal(pdm_drift_observe(d, rows, rk, 999, 1000), 0);
    pdm_drift_get(d, &res);
    assert_false(res.ready);
    assert_int_equal(res.rows_pending, 999);
    assert_int_equal(pdm_drift_observe(d, rows + 999 * PDM_N_FEATURES, rk + 999, 1, 2000), 1);
    pdm_drift_get(d, &res);
    assert_true(res.ready);
    assert_int_equal(res.windows, 1);
    assert_int_equal(res.rows, 1000);
    assert_int_equal(res.rows_pending, 0);
    assert_int_equal(res.window_start_ms, 1000);
    assert_int_equal(res.window_end_ms, 2000);

    /* The reference's non-missing shares are 1/10 per bin. */
    double e[10], a[10];
    for (int b = 0; b < 10; b++)
        e[b] = ref[0].share[b] / (1 - ref[0].missing);
    for (int b = 0; b < 10; b++)
        assert_true(fabs(e[b] - 0.1) < 1e-12);
    assert_true(res.feature[0].psi < 1e-12);
    assert_true(res.feature[0].missing == 0);
    memset(a, 0, sizeof a);
    a[0] = 1;
    assert_true(fabs(res.feature[1].psi - hand_psi(a, e)) < 1e-12);
    assert_true(res.feature[1].psi > 2); /* ln(1e4) territory */
    memset(a, 0, sizeof a);
    a[8] = a[9] = 0.5;
    assert_true(fabs(res.feature[2].psi - hand_psi(a, e)) < 1e-12);
    assert_true(fabs(res.feature[2].missing - 0.5) < 1e-12);
    assert_true(isnan(res.feature[3].psi));
    assert_true(res.feature[3].missing == 1);
    assert_string_equal(pdm_drift_status(res.feature[3].psi), "unknown");
    assert_int_equal(res.max_psi_feature, 1);
    assert_true(res.max_psi == res.feature[1].psi);
    memset(a, 0, sizeof a);
    a[9] = 1;
    assert_true(fabs(res.risk.psi - hand_psi(a, e)) < 1e-12);
    assert_true(fabs(res.risk.missing - 0.1) < 1e-12);
    assert_string_equal(pdm_drift_status(0.05), "stable");
    assert_string_equal(pdm_drift_status(0.2), "moderate");
    assert_string_equal(pdm_drift_status(0.3), "major");

    /* JSON: 27 named features, null for NaN. */
    cJSON *j = pdm_drift_to_json(&res);
    assert_non_null(j);
    cJSON *fs = cJSON_GetObjectItem(j, "features");
    assert_int_equal(cJSON_GetArraySize(fs), PDM_N_FEATURES);
    cJSON *f1 = cJSON_GetArrayItem(fs, 1);
    assert_string_equal(cJSON_GetObjectItem(f1, "name")->valuestring, pdm_feature_name(1));
    assert_string_equal(cJSON_GetObjectItem(f1, "status")->valuestring, "major");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(fs, 3), "psi")));
    assert_string_equal(cJSON_GetObjectItem(j, "max_psi_feature")->valuestring,
                        pdm_feature_name(1));
    char *text = cJSON_PrintUnformatted(j);
    cJSON *back = cJSON_Parse(text); /* valid JSON despite the NaNs */
    assert_non_null(back);
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(j);
    free(rows);
    pdm_drift_destroy(d);
}

static void test_drift_windows_by_time(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_histogram ref[PDM_N_FEATURES], risk;
    uniform_reference(ref, &risk);
    pdm_drift_options o = {.window_rows = 10000, .window_ms = 300000, .min_rows = 100};
    pdm_drift *d = pdm_drift_new(ref, NULL, &o, err, sizeof err);
    assert_non_null(d);
    double row[PDM_N_FEATURES];
    for (int f = 0; f < PDM_N_FEATURES; f++)
        row[f] = 500;
    /* 50 rows, then time is up, but the window is too small: it grows. */
    for (int i = 0; i < 50; i++)
        assert_int_equal(pdm_drift_observe(d, row, NULL, 1, 1000 + i), 0);
    assert_int_equal(pdm_drift_poll(d, 1000 + 300000), 0);
    for (int i = 0; i < 49; i++)
        assert_int_equal(pdm_drift_observe(d, row, NULL, 1, 400000), 0);
    /* The 100th row closes it (time is long up). */
    assert_int_equal(pdm_drift_observe(d, row, NULL, 1, 400001), 1);
    pdm_drift_result res;
    pdm_drift_get(d, &res);
    assert_int_equal(res.rows, 100);
    assert_int_equal(res.window_start_ms, 1000);
    assert_true(isnan(res.risk.psi)); /* no risk reference, no risks */
    assert_true(isnan(res.risk.missing));
    /* The next window opens at its first row; poll closes it on time. */
    for (int i = 0; i < 150; i++)
        pdm_drift_observe(d, row, NULL, 1, 500000);
    assert_int_equal(pdm_drift_poll(d, 500000 + 299999), 0);
    assert_int_equal(pdm_drift_poll(d, 500000 + 300000), 1);
    pdm_drift_get(d, &res);
    assert_int_equal(res.windows, 2);
    assert_int_equal(res.rows, 150);
    assert_int_equal(res.rows_total, 250);
    assert_int_equal(pdm_drift_poll(d, 900000), 0); /* nothing pending */
    pdm_drift_destroy(d);

    o.window_rows = 0;
    assert_null(pdm_drift_new(ref, NULL, &o, err, sizeof err));
    pdm_drift_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drift_formula),
        cmocka_unit_test(test_drift_windows_by_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
