/* test_features.c: the v1 feature library on hand-made cases (each feature,
 * window boundaries, replacement, duplicates, errors, maintenance, machine
 * info, lateness), the featurizer, labels by hand and the CSV dump format.
 * The randomized tests are in test_features_random.c. */
#include "test_features_util.h"

/* ---- names -------------------------------------------------------------------- */

static void test_names(void **unused)
{
    (void)unused;
    assert_string_equal(PDM_FEATURE_SET, "v1");
    assert_int_equal(PDM_N_FEATURES, 27);
    const char *want[27] = {"volt_mean_3h",
                            "rotate_mean_3h",
                            "pressure_mean_3h",
                            "vibration_mean_3h",
                            "volt_std_3h",
                            "rotate_std_3h",
                            "pressure_std_3h",
                            "vibration_std_3h",
                            "volt_mean_24h",
                            "rotate_mean_24h",
                            "pressure_mean_24h",
                            "vibration_mean_24h",
                            "volt_std_24h",
                            "rotate_std_24h",
                            "pressure_std_24h",
                            "vibration_std_24h",
                            "error1_count_24h",
                            "error2_count_24h",
                            "error3_count_24h",
                            "error4_count_24h",
                            "error5_count_24h",
                            "comp1_hours_since_maint",
                            "comp2_hours_since_maint",
                            "comp3_hours_since_maint",
                            "comp4_hours_since_maint",
                            "model_id",
                            "age"};
    for (size_t i = 0; i < 27; i++) {
        assert_string_equal(pdm_feature_name(i), want[i]);
        assert_string_equal(pdm_feature_names()[i], want[i]);
    }
    assert_null(pdm_feature_name(27));
    assert_string_equal(pdm_feature_name(PDM_F_STD_24H + 3), "vibration_std_24h");
    assert_string_equal(pdm_feature_name(PDM_F_HOURS_SINCE_MAINT), "comp1_hours_since_maint");
}

/* ---- telemetry windows -------------------------------------------------------- */

/* Windows are by time: points at t-25h, t-24h (boundary, excluded),
 * t-23.5h, t-3h (only in 24h), t-3h+1ms, t, and t+1h (future). */
static void test_windows_by_time(void **unused)
{
    (void)unused;
    int64_t t = T0 + H(100);
    pdm_event ev[] = {
        tel(1, t - H(25), 1000, 1000, 1000, 1000), tel(1, t - H(24), 1000, 1000, 1000, 1000),
        tel(1, t - H(23.5), 10, 105, -10, 7),      tel(1, t - H(3), 20, 205, -20, 7),
        tel(1, t - H(3) + 1, 30, 305, -30, 7),     tel(1, t, 60, 605, -60, 7),
        tel(1, t + H(1), 1000, 1000, 1000, 1000),
    };
    double f[PDM_N_FEATURES];
    features_after(ev, sizeof ev / sizeof ev[0], t, f);
    /* 3h: {30, 60}; 24h: {10, 20, 30, 60} (deviations -20 -10 0 30). */
    double want[16] = {
        45, 455, -45, 7, sqrt(450),        10 * sqrt(450),        sqrt(450),        0,
        30, 305, -30, 7, sqrt(1400.0 / 3), 10 * sqrt(1400.0 / 3), sqrt(1400.0 / 3), 0};
    for (int i = 0; i < 16; i++)
        assert_close(f[i], want[i], i);
    assert_true(f[PDM_F_STD_3H + 3] == 0.0);

    /* Same state, the row at t - 3h: (t-6h, t-3h] holds {20}; (t-27h, t-3h]
     * holds {1000, 1000, 10, 20}: mean 507.5, squared deviations sum to 970275. */
    features_after(ev, sizeof ev / sizeof ev[0], t - H(3), f);
    assert_close(f[PDM_F_MEAN_3H], 20, PDM_F_MEAN_3H);
    assert_true(f[PDM_F_STD_3H] == 0.0);
    assert_close(f[PDM_F_MEAN_24H], 507.5, PDM_F_MEAN_24H);
    assert_close(f[PDM_F_STD_24H], sqrt(970275.0 / 3), PDM_F_STD_24H);
}

static void test_same_ts_replaced(void **unused)
{
    (void)unused;
    int64_t t = T0 + H(10);
    pdm_event ev[] = {tel1(1, t - H(1), 10), tel1(1, t, 100), tel1(1, t, 50)};
    double f[PDM_N_FEATURES];
    features_after(ev, 3, t, f);
    assert_close(f[PDM_F_MEAN_3H], 30, 0);
    assert_close(f[PDM_F_STD_3H], 40 / sqrt(2), PDM_F_STD_3H);

    /* A late re-send of t - 1h replaces it as well. */
    pdm_machine_state *st = pdm_machine_state_new();
    for (int i = 0; i < 3; i++)
        assert_int_equal(pdm_machine_state_apply(st, &ev[i]), 0);
    pdm_event resend = tel1(1, t - H(1), 20);
    assert_int_equal(pdm_machine_state_apply(st, &resend), 0);
    pdm_machine_view v;
    pdm_machine_state_view(st, &v);
    assert_int_equal(v.n_tel, 2);
    pdm_features_compute(&v, t, f);
    assert_close(f[PDM_F_MEAN_24H], 35, PDM_F_MEAN_24H);
    assert_close(f[PDM_F_STD_24H], 30 / sqrt(2), PDM_F_STD_24H);
    pdm_machine_state_destroy(st);
}

/* std with 0, 1 and 2 values, on views built by hand (as a Redis store would). */
static void test_std_small_counts(void **unused)
{
    (void)unused;
    int64_t t = T0 + H(5);
    pdm_telemetry_point p[2] = {{t - H(2), {3, 4, 5, 6}}, {t - H(1), {5, 4, 9, 7}}};
    pdm_machine_view v;
    memset(&v, 0, sizeof v);
    v.tel = p;
    double f[PDM_N_FEATURES];

    pdm_features_compute(&v, t, f); /* no points at all */
    for (int k = 0; k < 4; k++) {
        assert_true(isnan(f[PDM_F_MEAN_3H + k]) && isnan(f[PDM_F_MEAN_24H + k]));
        assert_true(f[PDM_F_STD_3H + k] == 0.0 && f[PDM_F_STD_24H + k] == 0.0);
    }
    v.n_tel = 1;
    pdm_features_compute(&v, t, f);
    assert_true(f[PDM_F_MEAN_3H] == 3.0 && f[PDM_F_STD_3H] == 0.0);
    assert_true(f[PDM_F_MEAN_24H + 3] == 6.0 && f[PDM_F_STD_24H + 3] == 0.0);
    v.n_tel = 2;
    pdm_features_compute(&v, t, f);
    double want_mean[4] = {4, 4, 7, 6.5}, want_std[4] = {sqrt(2), 0, sqrt(8), sqrt(0.5)};
    for (int k = 0; k < 4; k++) {
        assert_close(f[PDM_F_MEAN_3H + k], want_mean[k], PDM_F_MEAN_3H + k);
        assert_close(f[PDM_F_STD_3H + k], want_std[k], PDM_F_STD_3H + k);
    }
    assert_true(f[PDM_F_STD_3H + 1] == 0.0);
    /* At t + 2h - 1ms the 3h window (t - 1h - 1ms, t + 2h - 1ms] holds only
     * the second point; the 24h window both. */
    pdm_features_compute(&v, t + H(2) - 1, f);
    assert_true(f[PDM_F_MEAN_3H] == 5.0 && f[PDM_F_STD_3H] == 0.0);
    assert_close(f[PDM_F_MEAN_24H], 4, PDM_F_MEAN_24H);
}

/* Values with a large common offset: a one-pass sum-of-squares formula
 * loses every digit of the std here; the result must still be exact to
 * 1e-9. {1e9 + 1, 1e9 + 2, 1e9 + 4}: mean 1e9 + 7/3, variance 7/3. */
static void test_large_offset(void **unused)
{
    (void)unused;
    int64_t t = T0 + H(5);
    pdm_event ev[] = {tel(1, t - H(2), 1e9 + 1, 1e12 + 10, 1, 0.1),
                      tel(1, t - H(1), 1e9 + 2, 1e12 + 20, 1, 0.1),
                      tel(1, t, 1e9 + 4, 1e12 + 40, 1, 0.1)};
    double f[PDM_N_FEATURES];
    features_after(ev, 3, t, f);
    assert_close(f[PDM_F_MEAN_3H], 1e9 + 7.0 / 3, PDM_F_MEAN_3H);
    assert_close(f[PDM_F_STD_3H], sqrt(7.0 / 3), PDM_F_STD_3H);
    assert_close(f[PDM_F_STD_3H + 1], 10 * sqrt(7.0 / 3), PDM_F_STD_3H + 1);
    assert_true(f[PDM_F_STD_3H + 2] == 0.0);
    assert_true(f[PDM_F_STD_24H + 3] < 1e-15); /* 0.1 three times */
}

/* ---- errors, maintenance, machine info ---------------------------------------- */

static void test_error_counts(void **unused)
{
    (void)unused;
    int64_t t = T0 + H(48);
    pdm_event ev[] = {
        tel1(1, t, 1),
        mark(PDM_EV_ERROR, 1, t, 1),
        mark(PDM_EV_ERROR, 1, t, 1), /* duplicate */
        mark(PDM_EV_ERROR, 1, t - H(1), 1),
        mark(PDM_EV_ERROR, 1, t - H(24), 2), /* boundary: excluded */
        mark(PDM_EV_ERROR, 1, t - H(24) + 1, 2),
        mark(PDM_EV_ERROR, 1, t + 1, 3),    /* future */
        mark(PDM_EV_ERROR, 1, t - H(1), 4), /* same ts as an error1: distinct */
        mark(PDM_EV_ERROR, 1, t - H(12), 5),
        mark(PDM_EV_ERROR, 1, t - H(30), 5), /* too old */
        mark(PDM_EV_ERROR, 1, t - H(12), 5), /* duplicate */
        mark(PDM_EV_ERROR, 2, t, 3),         /* another machine */
    };
    pdm_machine_state *st = pdm_machine_state_new();
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++)
        if (ev[i].machine_id == 1)
            assert_int_equal(pdm_machine_state_apply(st, &ev[i]), 0);
    pdm_machine_view v;
    pdm_machine_state_view(st, &v);
    double f[PDM_N_FEATURES];
    pdm_features_compute(&v, t, f);
    double want[5] = {2, 1, 0, 1, 1};
    for (int k = 0; k < 5; k++)
        assert_true(f[PDM_F_ERROR_COUNT_24H + k] == want[k]);
    /* Out-of-range ids are refused and change nothing. */
    pdm_event bad = mark(PDM_EV_ERROR, 1, t, 6);
    assert_int_equal(pdm_machine_state_apply(st, &bad), PDM_FEATURES_EINVAL);
    bad = mark(PDM_EV_MAINTENANCE, 1, t, 0);
    assert_int_equal(pdm_machine_state_apply(st, &bad), PDM_FEATURES_EINVAL);
    pdm_machine_view v2;
    pdm_machine_state_view(st, &v2);
    assert_int_equal(v2.n_err, v.n_err);
    assert_int_equal(v2.n_maint, 0);
    pdm_machine_state_destroy(st);
}

static void test_maintenance(void **unused)
{
    (void)unused;
    int64_t t = T0 + H(200);
    pdm_event ev[] = {
        tel1(1, t, 1),
        mark(PDM_EV_MAINTENANCE, 1, t, 1), /* at exactly t: 0 hours */
        mark(PDM_EV_MAINTENANCE, 1, t - H(12), 2),
        mark(PDM_EV_MAINTENANCE, 1, t - H(36), 2), /* older, arrives later */
        mark(PDM_EV_MAINTENANCE, 1, t - H(1.5), 3),
        mark(PDM_EV_MAINTENANCE, 1, t + H(1), 3),  /* future */
        mark(PDM_EV_MAINTENANCE, 1, t - H(12), 2), /* duplicate */
    };
    double f[PDM_N_FEATURES];
    features_after(ev, sizeof ev / sizeof ev[0], t, f);
    assert_true(f[PDM_F_HOURS_SINCE_MAINT] == 0.0);
    assert_close(f[PDM_F_HOURS_SINCE_MAINT + 1], 12, PDM_F_HOURS_SINCE_MAINT + 1);
    assert_close(f[PDM_F_HOURS_SINCE_MAINT + 2], 1.5, PDM_F_HOURS_SINCE_MAINT + 2);
    assert_true(isnan(f[PDM_F_HOURS_SINCE_MAINT + 3]));
    /* Just before t, comp1's record is in the future. */
    features_after(ev, sizeof ev / sizeof ev[0], t - 1, f);
    assert_true(isnan(f[PDM_F_HOURS_SINCE_MAINT]));
    assert_close(f[PDM_F_HOURS_SINCE_MAINT + 1], 12 - 1.0 / 3600000, PDM_F_HOURS_SINCE_MAINT + 1);
}

static void test_machine_info(void **unused)
{
    (void)unused;
    int64_t t = T0 + H(3);
    pdm_event ev[] = {tel1(1, t, 1), info(1, 3, 18), info(1, 4, 7)};
    double f[PDM_N_FEATURES];
    features_after(ev, 1, t, f);
    assert_true(isnan(f[PDM_F_MODEL_ID]) && isnan(f[PDM_F_AGE]));
    features_after(ev, 2, t, f);
    assert_true(f[PDM_F_MODEL_ID] == 3.0 && f[PDM_F_AGE] == 18.0);
    features_after(ev, 3, t, f); /* last writer wins */
    assert_true(f[PDM_F_MODEL_ID] == 4.0 && f[PDM_F_AGE] == 7.0);
}

/* Failures and risk events are not features. */
static void test_failures_ignored(void **unused)
{
    (void)unused;
    int64_t t = T0 + H(3);
    pdm_event ev[] = {tel1(1, t, 1), mark(PDM_EV_FAILURE, 1, t, 2)};
    pdm_machine_state *st = pdm_machine_state_new();
    for (int i = 0; i < 2; i++)
        assert_int_equal(pdm_machine_state_apply(st, &ev[i]), 0);
    pdm_machine_view v;
    pdm_machine_state_view(st, &v);
    assert_int_equal(v.n_tel + v.n_err + v.n_maint, 1);
    pdm_machine_state_destroy(st);
}

/* ---- lateness --------------------------------------------------------------------- */

/* A late telemetry point or error (within lateness) is inserted in time
 * order: rows computed afterwards see it, its own row does not see the
 * future. */
static void test_late_events(void **unused)
{
    (void)unused;
    int64_t t = T0 + H(30);
    pdm_feature_store *s = pdm_feature_store_new(NULL, NULL, 0);
    assert_non_null(s);
    pdm_event ev[] = {tel1(1, t - H(2), 10), tel1(1, t, 30), tel1(1, t - H(1), 20),
                      mark(PDM_EV_ERROR, 1, t - H(2), 3)};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pdm_feature_store_apply(s, &ev[i]), PDM_APPLY_OK);
    pdm_machine_view v;
    assert_int_equal(pdm_feature_store_view(s, 1, &v), 0);
    assert_int_equal(pdm_machine_view_check(&v, NULL, 0), 0);
    double f[PDM_N_FEATURES];
    pdm_features_compute(&v, t, f);
    assert_close(f[PDM_F_MEAN_3H], 20, 0);
    assert_close(f[PDM_F_STD_3H], 10, PDM_F_STD_3H);
    assert_true(f[PDM_F_ERROR_COUNT_24H + 2] == 1.0);
    pdm_features_compute(&v, t - H(1), f);
    assert_close(f[PDM_F_MEAN_3H], 15, 0);

    /* Beyond the default 48 h lateness: refused, state unchanged. */
    pdm_event late = tel1(1, t - H(48) - 1, 99);
    assert_int_equal(pdm_feature_store_apply(s, &late), PDM_APPLY_LATE);
    late = mark(PDM_EV_MAINTENANCE, 1, t - H(49), 1);
    assert_int_equal(pdm_feature_store_apply(s, &late), PDM_APPLY_LATE);
    pdm_event ok = tel1(1, t - H(48), 5);
    assert_int_equal(pdm_feature_store_apply(s, &ok), PDM_APPLY_OK);
    pdm_event old_info = info(1, 2, 3); /* machine info is never late */
    assert_int_equal(pdm_feature_store_apply(s, &old_info), PDM_APPLY_OK);
    pdm_event fail = mark(PDM_EV_FAILURE, 1, t, 1);
    assert_int_equal(pdm_feature_store_apply(s, &fail), PDM_APPLY_IGNORED);
    assert_int_equal(pdm_feature_store_view(s, 1, &v), 0);
    assert_int_equal(v.n_tel, 4);
    assert_int_equal(v.n_maint, 0);
    assert_int_equal(v.has_info, 1);
    assert_int_equal(pdm_feature_store_view(s, 2, &v), -1);
    assert_int_equal(v.n_tel, 0);
    pdm_feature_store_destroy(s);
}

/* ---- featurizer ------------------------------------------------------------------ */

static int collect_row(void *ctx, int32_t machine_id, int64_t ts, const double *row)
{
    pdm_feature_rows *r = ctx;
    if (pdm_feature_rows_reserve(r, 1))
        return -1;
    memcpy(r->x + r->n * PDM_N_FEATURES, row, PDM_N_FEATURES * sizeof *row);
    r->machine_id[r->n] = machine_id;
    r->ts[r->n++] = ts;
    return 0;
}

static int stop_at_two(void *ctx, int32_t machine_id, int64_t ts, const double *row)
{
    (void)machine_id, (void)ts, (void)row;
    return ++*(int *)ctx == 2;
}

static void test_featurizer_basics(void **unused)
{
    (void)unused;
    int64_t t = T0 + H(100);
    pdm_event ev[] = {
        info(4, 1, 5),        tel1(4, t, 10),        mark(PDM_EV_FAILURE, 4, t, 1),
        tel1(5, t, 20),       tel1(4, t + H(1), 30), tel1(4, t - H(60), 40), /* late */
        tel1(4, t + H(1), 50)}; /* re-send: a new row */
    pdm_featurizer *fz = pdm_featurizer_new(NULL, NULL, 0);
    pdm_feature_rows rows = {0};
    char err[PDM_ERRSTR_SIZE];
    assert_int_equal(pdm_featurizer_feed(fz, ev, 7, &rows, err, sizeof err), 0);
    assert_int_equal(rows.n, 4);
    int32_t want_m[4] = {4, 5, 4, 4};
    int64_t want_t[4] = {t, t, t + H(1), t + H(1)};
    double want_mean3[4] = {10, 20, 20, 30};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rows.machine_id[i], want_m[i]);
        assert_int_equal(rows.ts[i], want_t[i]);
        assert_close(rows.x[i * PDM_N_FEATURES + PDM_F_MEAN_3H], want_mean3[i], 0);
    }
    assert_true(rows.x[PDM_F_MODEL_ID] == 1.0);
    assert_true(isnan(rows.x[PDM_N_FEATURES + PDM_F_MODEL_ID]));
    pdm_featurizer_stats st;
    pdm_featurizer_get_stats(fz, &st);
    assert_int_equal(st.events, 7);
    assert_int_equal(st.rows, 4);
    assert_int_equal(st.late, 1);
    assert_int_equal(st.ignored, 1);
    assert_int_equal(pdm_feature_store_size(pdm_featurizer_store(fz)), 2);
    pdm_machine_view v;
    assert_int_equal(pdm_feature_store_at(pdm_featurizer_store(fz), 0, &v), 4);
    assert_int_equal(v.n_tel, 2);
    assert_int_equal(pdm_feature_store_at(pdm_featurizer_store(fz), 1, &v), 5);

    /* The callback form gives the same rows, and can stop the feed. */
    pdm_featurizer *fz2 = pdm_featurizer_new(NULL, NULL, 0);
    pdm_feature_rows rows2 = {0};
    assert_int_equal(pdm_featurizer_feed_fn(fz2, ev, 7, collect_row, &rows2, err, sizeof err), 0);
    assert_int_equal(rows2.n, rows.n);
    for (size_t i = 0; i < rows.n * PDM_N_FEATURES; i++)
        assert_true(same_double(rows.x[i], rows2.x[i]));
    pdm_featurizer_destroy(fz2);
    int count = 0;
    fz2 = pdm_featurizer_new(NULL, NULL, 0);
    assert_int_equal(pdm_featurizer_feed_fn(fz2, ev, 7, stop_at_two, &count, err, sizeof err), -1);
    assert_int_equal(count, 2);
    pdm_featurizer_destroy(fz2);

    /* A bad event fails the feed with a message. */
    pdm_event bad = mark(PDM_EV_ERROR, 4, t, 9);
    assert_int_equal(pdm_featurizer_feed(fz, &bad, 1, &rows, err, sizeof err), -1);
    assert_non_null(strstr(err, "out of range"));

    pdm_feature_rows_free(&rows);
    pdm_feature_rows_free(&rows2);
    pdm_featurizer_destroy(fz);
}

/* ---- labels ------------------------------------------------------------------------- */

static void test_labels_hand(void **unused)
{
    (void)unused;
    int64_t T = T0 + H(1000);
    pdm_event ev[] = {
        mark(PDM_EV_FAILURE, 1, T + H(30), 4),
        mark(PDM_EV_FAILURE, 1, T + H(10), 2),
        tel1(1, T + H(5), 1), /* not a failure: skipped */
        mark(PDM_EV_FAILURE, 1, T + H(10), 3),
        mark(PDM_EV_FAILURE, 1, T + H(10), 1), /* tie at T+10h: comp1 wins */
        mark(PDM_EV_FAILURE, 2, T + H(5), 3),
        mark(PDM_EV_MAINTENANCE, 3, T + H(1), 1),
    };
    struct {
        int32_t m;
        int64_t t;
        double h;
        int want;
    } rows[] = {
        {1, T, 24, 1},           {1, T + H(10), 24, 4}, /* f == t is not counted; T+30h is */
        {1, T + H(6), 24, 1},    {1, T + H(6), 4, 1},   /* f == t + H is counted */
        {1, T + H(6) - 1, 4, 0},                        /* f just beyond t + H */
        {1, T + H(30), 24, 0},   {1, T + H(29.5), 0.5, 4}, {1, T + H(6), 0, 0}, /* empty horizon */
        {2, T, 24, 3},           {2, T - H(24), 24, 0}, /* f = T + 5h > t + 24h */
        {2, T - H(19), 24, 3},                          /* f = t + 24h exactly */
        {3, T, 24, 0},                                  /* no failures */
        {9, T, 24, 0},                                  /* unknown machine */
        {0, T, 24, 0},
    };
    size_t nr = sizeof rows / sizeof rows[0], ne = sizeof ev / sizeof ev[0];
    char err[PDM_ERRSTR_SIZE];
    for (size_t i = 0; i < nr; i++) {
        int label = -1;
        assert_int_equal(pdm_labels_compute(ev, ne, &rows[i].m, &rows[i].t, 1, rows[i].h, &label,
                                            err, sizeof err),
                         0);
        if (label != rows[i].want)
            fail_msg("row %zu: label %d, want %d", i, label, rows[i].want);
        assert_int_equal(ref_label(ev, ne, rows[i].m, rows[i].t, H(rows[i].h)), rows[i].want);
    }
    /* Many rows at once, unsorted. */
    int32_t ms[] = {2, 1, 1, 3};
    int64_t ts[] = {T, T + H(10), T, T};
    int labels[4], want[] = {3, 4, 1, 0};
    assert_int_equal(pdm_labels_compute(ev, ne, ms, ts, 4, PDM_LABEL_DEFAULT_HORIZON_HOURS, labels,
                                        err, sizeof err),
                     0);
    assert_memory_equal(labels, want, sizeof want);
    /* No failures at all, no rows, bad inputs. */
    assert_int_equal(pdm_labels_compute(ev + 2, 1, ms, ts, 4, 24, labels, err, sizeof err), 0);
    assert_int_equal(labels[0] | labels[1] | labels[2] | labels[3], 0);
    assert_int_equal(pdm_labels_compute(ev, ne, ms, ts, 0, 24, labels, err, sizeof err), 0);
    assert_int_equal(pdm_labels_compute(ev, ne, ms, ts, 4, -1, labels, err, sizeof err), -1);
    assert_int_equal(pdm_labels_compute(ev, ne, ms, ts, 4, NAN, labels, err, sizeof err), -1);
    pdm_event badf = mark(PDM_EV_FAILURE, 1, T, 5);
    assert_int_equal(pdm_labels_compute(&badf, 1, ms, ts, 4, 24, labels, err, sizeof err), -1);
    assert_non_null(strstr(err, "component 5"));
}

/* ---- dump format --------------------------------------------------------------------- */

static void test_dump_format(void **unused)
{
    (void)unused;
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    assert_non_null(f);
    double row[PDM_N_FEATURES];
    for (int k = 0; k < PDM_N_FEATURES; k++)
        row[k] = (k + 1) / 7.0;
    row[0] = 0.1;
    row[1] = NAN;
    row[16] = 3;
    row[21] = -1e-300;
    row[26] = 1e300;
    assert_int_equal(pdm_features_dump_header(f), 0);
    assert_int_equal(pdm_features_dump_row(f, 42, T0 + H(6), row, 2), 0);
    assert_int_equal(pdm_features_dump_row(f, 7, T0, row, -1), 0);
    fclose(f);

    char *line2 = strchr(text, '\n') + 1;
    char *line3 = strchr(line2, '\n') + 1;
    /* header: machineID,datetime,<27 names>,label */
    char header[2048] = "machineID,datetime";
    for (size_t k = 0; k < PDM_N_FEATURES; k++)
        strcat(strcat(header, ","), pdm_feature_name(k));
    strcat(header, ",label\n");
    assert_int_equal(strncmp(text, header, strlen(header)), 0);
    assert_int_equal(line2 - text, (ptrdiff_t)strlen(header));

    assert_int_equal(strncmp(line2, "42,2015-01-01 06:00:00,0.10000000000000001,,", 44), 0);
    assert_int_equal(strncmp(line3, "7,2015-01-01 00:00:00,", 22), 0);
    /* every field parses back to exactly the value */
    char *copy = strndup(line2, (size_t)(line3 - line2 - 1));
    int field = 0;
    for (char *p = copy, *end; p; p = end, field++) {
        end = strchr(p, ',');
        if (end)
            *end++ = '\0';
        if (field >= 2 && field < 2 + PDM_N_FEATURES) {
            double want = row[field - 2];
            if (isnan(want)) {
                assert_string_equal(p, "");
            } else {
                double back = strtod(p, NULL);
                assert_memory_equal(&back, &want, sizeof back);
            }
        }
        if (field == 2 + PDM_N_FEATURES)
            assert_string_equal(p, "2");
    }
    assert_int_equal(field, 3 + PDM_N_FEATURES);
    assert_non_null(strstr(line2, ",3,"));
    assert_int_equal(strcmp(line3 + strlen(line3) - 2, ",\n"), 0); /* empty label */
    free(copy);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_windows_by_time),
        cmocka_unit_test(test_same_ts_replaced),
        cmocka_unit_test(test_std_small_counts),
        cmocka_unit_test(test_large_offset),
        cmocka_unit_test(test_error_counts),
        cmocka_unit_test(test_maintenance),
        cmocka_unit_test(test_machine_info),
        cmocka_unit_test(test_failures_ignored),
        cmocka_unit_test(test_late_events),
        cmocka_unit_test(test_featurizer_basics),
        cmocka_unit_test(test_labels_hand),
        cmocka_unit_test(test_dump_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
