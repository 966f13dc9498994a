/* test_features_random.c: the v1 feature library on random irregular
 * streams: out-of-order arrivals, trimming, idempotence, bounded memory,
 * every row against the naive reference in test_features_ref.c, and random
 * labels. The tests draw from one deterministic generator in the order
 * main() runs them, the order they had in test_features.c, so each still
 * sees the same streams. */
#include "test_features_util.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_irregular_rate_out_of_order),
        cmocka_unit_test(test_trim_keeps_results),
        cmocka_unit_test(test_suffix_twice_idempotent),
        cmocka_unit_test(test_store_memory_bounded),
        cmocka_unit_test(test_random_vs_reference_trimming),
        cmocka_unit_test(test_random_vs_reference_unbounded),
        cmocka_unit_test(test_labels_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
