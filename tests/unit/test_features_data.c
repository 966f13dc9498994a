/* test_features_data.c: the v1 features and labels on real-shaped data, the
 * shared PdM sample ($PDM_SOURCE_DIR/../shared/data/pdm-sample) and a
 * simulated fleet, both replayed through the featurizer and compared row by
 * row with the naive reference of test_features_ref.c. The sample is not
 * part of a clone: without it the other tests still run, and the program
 * exits 77, which ctest (SKIP_RETURN_CODE, tests/unit/features.cmake) lists
 * as skipped rather than passed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pdm_dataset.h"
#include "pdm_features.h"

/* Set when the shared sample is absent: main() then reports a skip. */
static int sample_absent;

void ref_features(const pdm_event *ev, size_t n, int32_t m, int64_t t, double out[27]);
int ref_label(const pdm_event *ev, size_t n, int32_t m, int64_t t, int64_t horizon_ms);
int ref_close(double a, double b);

/* Replays events through the featurizer and checks every row and label
 * against the reference on the stream prefix. Returns the number of rows. */
static size_t check_stream(const pdm_event *ev, size_t n)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_featurizer *fz = pdm_featurizer_new(NULL, err, sizeof err);
    assert_non_null(fz);
    pdm_feature_rows rows = {0};
    if (pdm_featurizer_feed(fz, ev, n, &rows, err, sizeof err))
        fail_msg("feed: %s", err);
    int *labels = malloc((rows.n ? rows.n : 1) * sizeof *labels);
    assert_int_equal(pdm_labels_compute(ev, n, rows.machine_id, rows.ts, rows.n,
                                        PDM_LABEL_DEFAULT_HORIZON_HOURS, labels, err, sizeof err),
                     0);
    size_t r = 0, positives = 0, with_errors = 0, with_maint = 0;
    double want[PDM_N_FEATURES];
    for (size_t i = 0; i < n; i++) {
        if (ev[i].type != PDM_EV_TELEMETRY)
            continue;
        assert_true(r < rows.n);
        assert_int_equal(rows.machine_id[r], ev[i].machine_id);
        assert_int_equal(rows.ts[r], ev[i].ts);
        ref_features(ev, i + 1, ev[i].machine_id, ev[i].ts, want);
        const double *got = rows.x + r * PDM_N_FEATURES;
        for (int k = 0; k < PDM_N_FEATURES; k++)
            if (!ref_close(got[k], want[k]))
                fail_msg("row %zu (machine %d) feature %s: %.17g, reference %.17g", r,
                         (int)ev[i].machine_id, pdm_feature_name((size_t)k), got[k], want[k]);
        assert_int_equal(labels[r],
                         ref_label(ev, n, ev[i].machine_id, ev[i].ts, 24 * PDM_MS_PER_HOUR));
        positives += labels[r] > 0;
        for (int k = 0; k < PDM_N_ERRORS; k++)
            if (got[PDM_F_ERROR_COUNT_24H + k] > 0) {
                with_errors++;
                break;
            }
        with_maint += !isnan(got[PDM_F_HOURS_SINCE_MAINT]);
        r++;
    }
    assert_int_equal(r, rows.n);
    /* the data exercise every kind of feature and label */
    assert_true(positives > 0);
    assert_true(with_errors > 0);
    assert_true(with_maint > 0);
    free(labels);
    pdm_feature_rows_free(&rows);
    pdm_featurizer_destroy(fz);
    return r;
}

static void test_shared_sample(void **unused)
{
    (void)unused;
    char dir[4096];
    const char *src = getenv("PDM_SOURCE_DIR");
    snprintf(dir, sizeof dir, "%s/../shared/data/pdm-sample/PdM_telemetry.csv", src ? src : "..");
    if (access(dir, R_OK) != 0) {
        fprintf(stderr, "shared sample not found (%s): skipped\n", dir);
        sample_absent = 1;
        skip();
    }
    *strrchr(dir, '/') = '\0';
    pdm_dataset *ds = NULL;
    char err[PDM_ERRSTR_SIZE];
    if (pdm_dataset_load(dir, NULL, &ds, err, sizeof err))
        fail_msg("load %s: %s", dir, err);
    size_t n, n_tel;
    const pdm_event *ev = pdm_dataset_events(ds, &n);
    pdm_dataset_events_of_type(ds, PDM_EV_TELEMETRY, &n_tel);
    assert_int_equal(check_stream(ev, n), n_tel);
    assert_true(n_tel > 1000);

    /* One row by hand: machine 1's first hour (2015-01-01 06:00:00) has a
     * single point, volt 176.217853015625 in the CSV, and machine info
     * model3, age 18. */
    pdm_featurizer *fz = pdm_featurizer_new(NULL, NULL, 0);
    pdm_feature_rows rows = {0};
    assert_int_equal(pdm_featurizer_feed(fz, ev, n, &rows, err, sizeof err), 0);
    int64_t first;
    assert_int_equal(pdm_time_parse("2015-01-01 06:00:00", 19, &first), 0);
    int seen = 0;
    for (size_t r = 0; r < rows.n; r++) {
        if (rows.machine_id[r] != 1 || rows.ts[r] != first)
            continue;
        const double *x = rows.x + r * PDM_N_FEATURES;
        assert_true(x[PDM_F_MEAN_3H] == 176.217853015625);
        assert_true(x[PDM_F_STD_3H] == 0.0 && x[PDM_F_STD_24H] == 0.0);
        assert_true(x[PDM_F_MODEL_ID] == 3.0 && x[PDM_F_AGE] == 18.0);
        seen++;
    }
    assert_int_equal(seen, 1);
    pdm_feature_rows_free(&rows);
    pdm_featurizer_destroy(fz);
    pdm_dataset_destroy(ds);
}

static void test_simulator(void **unused)
{
    (void)unused;
    pdm_sim_params p;
    pdm_sim_params_init(&p);
    p.machines = 4;
    p.hours = 24 * 75;
    p.seed = 7;
    char err[PDM_ERRSTR_SIZE];
    pdm_sim *sim = pdm_sim_new(&p, err, sizeof err);
    if (!sim)
        fail_msg("simulator: %s", err);
    size_t n = 0, cap = 1024;
    pdm_event *ev = malloc(cap * sizeof *ev);
    while (pdm_sim_next(sim, &ev[n]) == 1) {
        if (++n == cap) {
            cap *= 2;
            ev = realloc(ev, cap * sizeof *ev);
            assert_non_null(ev);
        }
    }
    pdm_sim_destroy(sim);
    assert_int_equal(check_stream(ev, n), (size_t)p.machines * (size_t)p.hours);
    free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_sample),
        cmocka_unit_test(test_simulator),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed)
        return 1;
    return sample_absent ? 77 : 0;
}
