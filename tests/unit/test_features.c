/* test_features.c: the v1 feature library on hand-made cases (each feature,
 * window boundaries, replacement, duplicates, lateness, trimming,
 * idempotence), on random irregular streams against the naive reference in
 * test_features_ref.c, labels, and the CSV dump format. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pdm_features.h"

void ref_features(const pdm_event *ev, size_t n, int32_t m, int64_t t, double out[27]);
int ref_label(const pdm_event *ev, size_t n, int32_t m, int64_t t, int64_t horizon_ms);
int ref_close(double a, double b);

#define H(h) ((int64_t)((h)*3600000.0))
#define MIN_MS INT64_C(60000)
#define T0 INT64_C(1420070400000) /* 2015-01-01 00:00:00 UTC */

/* ---- helpers ----------------------------------------------------------------- */

static pdm_event tel(int32_t m, int64_t ts, double volt, double rotate, double pressure,
                     double vibration)
{
    pdm_event e;
    memset(&e, 0, sizeof e);
    e.type = PDM_EV_TELEMETRY;
    e.machine_id = m;
    e.ts = ts;
    e.u.telemetry.volt = volt;
    e.u.telemetry.rotate = rotate;
    e.u.telemetry.pressure = pressure;
    e.u.telemetry.vibration = vibration;
    return e;
}

static pdm_event tel1(int32_t m, int64_t ts, double volt)
{
    return tel(m, ts, volt, 0, 0, 0);
}

static pdm_event mark(pdm_event_type type, int32_t m, int64_t ts, int id)
{
    pdm_event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.machine_id = m;
    e.ts = ts;
    if (type == PDM_EV_ERROR)
        e.u.error.error_id = id;
    else if (type == PDM_EV_MAINTENANCE)
        e.u.maintenance.component = id;
    else
        e.u.failure.component = id;
    return e;
}

static pdm_event info(int32_t m, int model, int age)
{
    pdm_event e;
    memset(&e, 0, sizeof e);
    e.type = PDM_EV_MACHINE;
    e.machine_id = m;
    e.ts = T0 - H(24 * 365);
    e.u.machine.model = model;
    e.u.machine.age = age;
    return e;
}

/* Applies events to a fresh state and computes the row at t. */
static void features_after(const pdm_event *ev, size_t n, int64_t t, double out[PDM_N_FEATURES])
{
    pdm_machine_state *st = pdm_machine_state_new();
    assert_non_null(st);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pdm_machine_state_apply(st, &ev[i]), 0);
    pdm_machine_view v;
    pdm_machine_state_view(st, &v);
    assert_int_equal(pdm_machine_view_check(&v, NULL, 0), 0);
    pdm_features_compute(&v, t, out);
    pdm_machine_state_destroy(st);
}

static void assert_close(double got, double want, int feature)
{
    if (!ref_close(got, want))
        fail_msg("feature %d (%s): got %.17g, want %.17g", feature + 1, pdm_feature_name(feature),
                 got, want);
}

static int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static void assert_views_equal(const pdm_machine_view *a, const pdm_machine_view *b)
{
    assert_int_equal(a->n_tel, b->n_tel);
    assert_int_equal(a->n_err, b->n_err);
    assert_int_equal(a->n_maint, b->n_maint);
    if (a->n_tel)
        assert_memory_equal(a->tel, b->tel, a->n_tel * sizeof *a->tel);
    for (size_t i = 0; i < a->n_err; i++) {
        assert_int_equal(a->err[i].ts, b->err[i].ts);
        assert_int_equal(a->err[i].error_id, b->err[i].error_id);
    }
    for (size_t i = 0; i < a->n_maint; i++) {
        assert_int_equal(a->maint[i].ts, b->maint[i].ts);
        assert_int_equal(a->maint[i].component, b->maint[i].component);
    }
    assert_int_equal(a->has_info, b->has_info);
    if (a->has_info) {
        assert_int_equal(a->model, b->model);
        assert_int_equal(a->age, b->age);
    }
}

/* xorshift64*: deterministic random numbers for the randomized tests. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}
static double rnd01(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}
static int64_t rnd_range(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

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

/* Irregular rate: a point every 10 minutes, values k = 0, 1, ... going back
 * from t, inserted in a scrambled order. The 24h window holds k = 0..143
 * (k = 144 is exactly t - 24h), the 3h window k = 0..17. The sample variance
 * of 0..n-1 is n(n+1)/12. */
static void test_irregular_rate_out_of_order(void **unused)
{
    (void)unused;
    int64_t t = T0 + H(50);
    enum { N = 200 };
    pdm_event ev[N];
    for (int k = 0; k < N; k++)
        ev[k] = tel(1, t - k * 10 * MIN_MS, k, 2 * k, 100 + k, -k);
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(rnd() % (uint64_t)(i + 1));
        pdm_event tmp = ev[i];
        ev[i] = ev[j];
        ev[j] = tmp;
    }
    double f[PDM_N_FEATURES];
    features_after(ev, N, t, f);
    assert_close(f[PDM_F_MEAN_24H], 71.5, 0);
    assert_close(f[PDM_F_MEAN_24H + 1], 143, 1);
    assert_close(f[PDM_F_MEAN_24H + 2], 171.5, 2);
    assert_close(f[PDM_F_MEAN_24H + 3], -71.5, 3);
    assert_close(f[PDM_F_STD_24H], sqrt(1740.0), PDM_F_STD_24H);
    assert_close(f[PDM_F_STD_24H + 1], 2 * sqrt(1740.0), PDM_F_STD_24H + 1);
    assert_close(f[PDM_F_MEAN_3H], 8.5, 0);
    assert_close(f[PDM_F_STD_3H], sqrt(28.5), PDM_F_STD_3H);
    assert_close(f[PDM_F_STD_3H + 2], sqrt(28.5), PDM_F_STD_3H + 2);
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

/* ---- trimming and idempotence ------------------------------------------------------ */

/* A random stream of one machine over `hours`, with same-ts re-sends,
 * duplicate errors and maintenance, and arrivals up to max_delay late. */
static size_t random_stream(pdm_event *ev, size_t cap, int32_t m, int64_t start, double hours,
                            int64_t max_delay)
{
    size_t n = 0;
    int64_t *arrival = malloc(cap * sizeof *arrival);
    int64_t ts = start;
    while (n + 4 < cap && ts < start + H(hours)) {
        double r = rnd01();
        /* gaps: bursts of seconds, minutes, hours, sometimes more than a day */
        ts += r < 0.3    ? rnd_range(1, 60000)
              : r < 0.8  ? rnd_range(MIN_MS, H(2))
              : r < 0.97 ? rnd_range(H(2), H(6))
                         : rnd_range(H(20), H(30));
        ev[n++] = tel(m, ts, 170 + 30 * rnd01(), 450 + 50 * rnd01(), 100 + 20 * rnd01(),
                      40 + 10 * rnd01());
        if (rnd01() < 0.05) /* re-send of the same ts with other values */
            ev[n++] = tel(m, ts, 150 + 30 * rnd01(), 400, 90, 35);
        if (rnd01() < 0.15) {
            int64_t ets = rnd01() < 0.3 ? ts : ts - rnd_range(0, H(3));
            ev[n++] = mark(PDM_EV_ERROR, m, ets, (int)rnd_range(1, 5));
            if (rnd01() < 0.3)
                ev[n] = ev[n - 1], n++;
        }
        if (rnd01() < 0.03)
            ev[n++] = mark(PDM_EV_MAINTENANCE, m, rnd01() < 0.5 ? ts : ts - rnd_range(0, H(5)),
                           (int)rnd_range(1, 4));
    }
    for (size_t i = 0; i < n; i++)
        arrival[i] = ev[i].ts + (max_delay ? rnd_range(0, max_delay) : 0);
    /* Stable insertion sort by arrival keeps the same-ts re-send order when
     * delays are equal; it is O(n^2) but n is a few thousand. */
    for (size_t i = 1; i < n; i++) {
        pdm_event e = ev[i];
        int64_t a = arrival[i];
        size_t j = i;
        while (j > 0 && arrival[j - 1] > a) {
            ev[j] = ev[j - 1];
            arrival[j] = arrival[j - 1];
            j--;
        }
        ev[j] = e;
        arrival[j] = a;
    }
    free(arrival);
    return n;
}

static void test_trim_keeps_results(void **unused)
{
    (void)unused;
    enum { CAP = 6000 };
    pdm_event *ev = malloc(CAP * sizeof *ev);
    size_t n = random_stream(ev, CAP, 1, T0, 24 * 40, H(10));
    /* maintenance of comp4 long before everything: must survive trimming */
    pdm_event old = mark(PDM_EV_MAINTENANCE, 1, T0 - H(24 * 100), 4);
    pdm_machine_state *st = pdm_machine_state_new();
    assert_int_equal(pdm_machine_state_apply(st, &old), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pdm_machine_state_apply(st, &ev[i]), 0);
    int64_t horizon = T0 + H(24 * 30);
    enum { NT = 300 };
    int64_t ts[NT];
    double before[NT][PDM_N_FEATURES], after[PDM_N_FEATURES];
    pdm_machine_view v;
    pdm_machine_state_view(st, &v);
    size_t n_tel_before = v.n_tel, n_maint_before = v.n_maint;
    for (int i = 0; i < NT; i++) {
        /* the earliest row trimming must not change: (horizon - 1 ms, ...] */
        ts[i] = i == 0 ? horizon + H(24) - 1 : horizon + H(24) + rnd_range(0, H(24 * 10));
        pdm_features_compute(&v, ts[i], before[i]);
    }
    /* One row earlier does read a point that trimming drops. */
    double edge[PDM_N_FEATURES];
    pdm_event at_horizon = tel1(1, horizon - 1, 1e6);
    assert_int_equal(pdm_machine_state_apply(st, &at_horizon), 0);
    pdm_machine_state_view(st, &v);
    pdm_features_compute(&v, horizon + H(24) - 2, edge);
    pdm_features_compute(&v, horizon + H(24) - 1, after);
    assert_true(edge[PDM_F_MEAN_24H] > 1e4 && after[PDM_F_MEAN_24H] < 1e3);
    pdm_machine_state_trim(st, horizon);
    pdm_machine_state_view(st, &v);
    assert_int_equal(pdm_machine_view_check(&v, NULL, 0), 0);
    assert_true(v.n_tel < n_tel_before / 2);
    assert_true(v.n_maint < n_maint_before);
    assert_true(v.n_tel == 0 || v.tel[0].ts >= horizon);
    for (int i = 0; i < NT; i++) {
        pdm_features_compute(&v, ts[i], after);
        for (int k = 0; k < PDM_N_FEATURES; k++)
            if (!same_double(after[k], before[i][k]))
                fail_msg("row %d feature %s: %.17g after trim, %.17g before", i,
                         pdm_feature_name((size_t)k), after[k], before[i][k]);
    }
    assert_false(isnan(after[PDM_F_HOURS_SINCE_MAINT + 3]));
    pdm_machine_state_destroy(st);
    free(ev);
}

/* Re-applying any suffix of the stream leaves the same state and features,
 * for the machine state and for the store (with its lateness and trims). */
static void test_suffix_twice_idempotent(void **unused)
{
    (void)unused;
    enum { CAP = 6000 };
    pdm_event *ev = malloc(CAP * sizeof *ev);
    size_t n = random_stream(ev, CAP - 1, 7, T0, 24 * 20, H(30));
    ev[n++] = info(7, 2, 11);
    size_t cuts[] = {0, 1, n / 3, n / 2, n - 5};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        pdm_machine_state *a = pdm_machine_state_new(), *b = pdm_machine_state_new();
        pdm_feature_store *sa = pdm_feature_store_new(NULL, NULL, 0);
        pdm_feature_store *sb = pdm_feature_store_new(NULL, NULL, 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(pdm_machine_state_apply(a, &ev[i]), 0);
            assert_int_equal(pdm_machine_state_apply(b, &ev[i]), 0);
            assert_true(pdm_feature_store_apply(sa, &ev[i]) >= 0);
            assert_true(pdm_feature_store_apply(sb, &ev[i]) >= 0);
        }
        for (size_t i = cuts[c]; i < n; i++) {
            assert_int_equal(pdm_machine_state_apply(b, &ev[i]), 0);
            assert_true(pdm_feature_store_apply(sb, &ev[i]) >= 0);
        }
        pdm_machine_view va, vb;
        pdm_machine_state_view(a, &va);
        pdm_machine_state_view(b, &vb);
        assert_views_equal(&va, &vb);
        double fa[PDM_N_FEATURES], fb[PDM_N_FEATURES];
        int64_t t = T0 + H(24 * 19);
        pdm_features_compute(&va, t, fa);
        pdm_features_compute(&vb, t, fb);
        for (int k = 0; k < PDM_N_FEATURES; k++)
            assert_true(same_double(fa[k], fb[k]));
        assert_int_equal(pdm_feature_store_view(sa, 7, &va), 0);
        assert_int_equal(pdm_feature_store_view(sb, 7, &vb), 0);
        assert_views_equal(&va, &vb);
        pdm_machine_state_destroy(a);
        pdm_machine_state_destroy(b);
        pdm_feature_store_destroy(sa);
        pdm_feature_store_destroy(sb);
    }
    free(ev);
}

/* A long stream: the store's memory stays bounded by its trimming. */
static void test_store_memory_bounded(void **unused)
{
    (void)unused;
    pdm_feature_store *s = pdm_feature_store_new(NULL, NULL, 0);
    size_t peak_tel = 0, mem_after_month = 0, peak_mem = 0;
    for (int h = 0; h < 24 * 365 * 3; h++) {
        pdm_event e = tel(3, T0 + H(h), h, 1, 1, 1);
        assert_int_equal(pdm_feature_store_apply(s, &e), PDM_APPLY_OK);
        if (h % 50 == 0) {
            e = mark(PDM_EV_ERROR, 3, T0 + H(h), 1 + h % 5);
            assert_int_equal(pdm_feature_store_apply(s, &e), PDM_APPLY_OK);
            e = mark(PDM_EV_MAINTENANCE, 3, T0 + H(h), 1 + h % 3);
            assert_int_equal(pdm_feature_store_apply(s, &e), PDM_APPLY_OK);
        }
        pdm_machine_view v;
        pdm_feature_store_view(s, 3, &v);
        if (v.n_tel > peak_tel)
            peak_tel = v.n_tel;
        size_t mem = pdm_feature_store_memory(s);
        if (h == 24 * 30)
            mem_after_month = mem;
        if (mem > peak_mem)
            peak_mem = mem;
    }
    /* 24 h + 48 h kept, trimmed once per 72 h: at most 144 points. */
    assert_true(peak_tel <= 145);
    assert_true(peak_mem <= 2 * mem_after_month);
    pdm_machine_view v;
    pdm_feature_store_view(s, 3, &v);
    assert_true(v.n_maint <= 3 + 2 * 144 / 50 + 1);
    double f[PDM_N_FEATURES];
    int64_t t = T0 + H(24 * 365 * 3 - 1);
    pdm_features_compute(&v, t, f);
    assert_false(isnan(f[PDM_F_HOURS_SINCE_MAINT])); /* comp1..3 kept */
    assert_true(isnan(f[PDM_F_HOURS_SINCE_MAINT + 3]));
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

/* ---- randomized comparison with the naive reference ----------------------------- */

/* Several machines interleaved; every row compared with a naive scan of
 * the stream prefix up to its event. */
static void compare_random(const pdm_feature_store_options *opts, int64_t max_delay, int machines,
                           double hours)
{
    enum { PER = 4000 };
    size_t cap = (size_t)machines * PER + 8;
    pdm_event *all = malloc(cap * sizeof *all);
    size_t *next = calloc((size_t)machines, sizeof *next),
           *len = calloc((size_t)machines, sizeof *len);
    pdm_event **per = calloc((size_t)machines, sizeof *per);
    size_t n = 0;
    for (int m = 0; m < machines; m++) {
        per[m] = malloc(PER * sizeof *per[m]);
        len[m] = random_stream(per[m], PER, 100 + m, T0 + H(m), hours, max_delay);
    }
    /* machine info: at the start for most, midway for one, never for one */
    for (int m = 0; m + 1 < machines; m++)
        if (m != 1)
            all[n++] = info(100 + m, 1 + m % 4, 3 * m);
    /* interleave the machines' streams at random, keeping each one's order */
    for (;;) {
        int live = 0;
        for (int m = 0; m < machines; m++)
            live += next[m] < len[m];
        if (!live)
            break;
        int m = (int)(rnd() % (uint64_t)machines);
        if (next[m] >= len[m])
            continue;
        all[n++] = per[m][next[m]++];
        if (m == 1 && next[m] == len[m] / 2)
            all[n++] = info(101, 4, 20);
    }
    pdm_featurizer *fz = pdm_featurizer_new(opts, NULL, 0);
    pdm_feature_rows rows = {0};
    char err[PDM_ERRSTR_SIZE];
    assert_int_equal(pdm_featurizer_feed(fz, all, n, &rows, err, sizeof err), 0);
    pdm_featurizer_stats st;
    pdm_featurizer_get_stats(fz, &st);
    assert_int_equal(st.late, 0);
    size_t r = 0, nan_info = 0;
    double want[PDM_N_FEATURES];
    for (size_t i = 0; i < n; i++) {
        if (all[i].type != PDM_EV_TELEMETRY)
            continue;
        assert_true(r < rows.n);
        assert_int_equal(rows.machine_id[r], all[i].machine_id);
        assert_int_equal(rows.ts[r], all[i].ts);
        ref_features(all, i + 1, all[i].machine_id, all[i].ts, want);
        const double *got = rows.x + r * PDM_N_FEATURES;
        for (int k = 0; k < PDM_N_FEATURES; k++)
            if (!ref_close(got[k], want[k]))
                fail_msg("row %zu (machine %d) feature %s: %.17g, reference %.17g", r,
                         (int)all[i].machine_id, pdm_feature_name((size_t)k), got[k], want[k]);
        nan_info += isnan(got[PDM_F_MODEL_ID]);
        r++;
    }
    assert_int_equal(r, rows.n);
    assert_true(nan_info > 0 && nan_info < rows.n);

    /* Rows at arbitrary times (including empty windows) on the final state,
     * for a store that never trimmed. */
    if (opts && opts->lateness_ms < 0) {
        for (int q = 0; q < 500; q++) {
            int32_t m = 100 + (int32_t)(rnd() % (uint64_t)machines);
            int64_t t = T0 + rnd_range(-H(30), H(hours + 30));
            pdm_machine_view v;
            assert_int_equal(pdm_feature_store_view(pdm_featurizer_store(fz), m, &v), 0);
            double got[PDM_N_FEATURES];
            pdm_features_compute(&v, t, got);
            ref_features(all, n, m, t, want);
            for (int k = 0; k < PDM_N_FEATURES; k++)
                if (!ref_close(got[k], want[k]))
                    fail_msg("machine %d at %lld, feature %s: %.17g, reference %.17g", (int)m,
                             (long long)t, pdm_feature_name((size_t)k), got[k], want[k]);
        }
    }
    pdm_feature_rows_free(&rows);
    pdm_featurizer_destroy(fz);
    for (int m = 0; m < machines; m++)
        free(per[m]);
    free(per);
    free(next);
    free(len);
    free(all);
}

/* Default store (48 h lateness, trimming on), arrivals up to 40 h late:
 * nothing is rejected and trimming must not show. */
static void test_random_vs_reference_trimming(void **unused)
{
    (void)unused;
    compare_random(NULL, H(40), 4, 24 * 60);
}

/* Unlimited lateness, arrivals up to 10 days late. */
static void test_random_vs_reference_unbounded(void **unused)
{
    (void)unused;
    pdm_feature_store_options o;
    pdm_feature_store_options_init(&o);
    o.lateness_ms = -1;
    compare_random(&o, H(240), 3, 24 * 40);
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

static void test_labels_random(void **unused)
{
    (void)unused;
    enum { NF = 400, NR = 3000 };
    pdm_event *ev = malloc(NF * sizeof *ev);
    for (int i = 0; i < NF; i++) /* coarse times so ties and boundaries happen */
        ev[i] = mark(PDM_EV_FAILURE, (int32_t)rnd_range(1, 8), T0 + H(rnd_range(0, 24 * 60)),
                     (int)rnd_range(1, 4));
    int32_t *m = malloc(NR * sizeof *m);
    int64_t *t = malloc(NR * sizeof *t);
    int *labels = malloc(NR * sizeof *labels);
    for (int i = 0; i < NR; i++) {
        m[i] = (int32_t)rnd_range(1, 9);
        t[i] = T0 + H(rnd_range(-24, 24 * 61)) + (rnd01() < 0.2 ? rnd_range(-2, 2) : 0);
    }
    double hs[] = {24, 1, 48, 0.25};
    for (size_t h = 0; h < sizeof hs / sizeof hs[0]; h++) {
        assert_int_equal(pdm_labels_compute(ev, NF, m, t, NR, hs[h], labels, NULL, 0), 0);
        int positives = 0;
        for (int i = 0; i < NR; i++) {
            assert_int_equal(labels[i], ref_label(ev, NF, m[i], t[i], H(hs[h])));
            positives += labels[i] > 0;
        }
        assert_true(positives > 0);
    }
    free(ev);
    free(m);
    free(t);
    free(labels);
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
        cmocka_unit_test(test_irregular_rate_out_of_order),
        cmocka_unit_test(test_same_ts_replaced),
        cmocka_unit_test(test_std_small_counts),
        cmocka_unit_test(test_large_offset),
        cmocka_unit_test(test_error_counts),
        cmocka_unit_test(test_maintenance),
        cmocka_unit_test(test_machine_info),
        cmocka_unit_test(test_failures_ignored),
        cmocka_unit_test(test_late_events),
        cmocka_unit_test(test_trim_keeps_results),
        cmocka_unit_test(test_suffix_twice_idempotent),
        cmocka_unit_test(test_store_memory_bounded),
        cmocka_unit_test(test_featurizer_basics),
        cmocka_unit_test(test_random_vs_reference_trimming),
        cmocka_unit_test(test_random_vs_reference_unbounded),
        cmocka_unit_test(test_labels_hand),
        cmocka_unit_test(test_labels_random),
        cmocka_unit_test(test_dump_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
