/* Drift on simulated fleets, as the issue asks: reference histograms from
 * the features of simulated training data (pdm_sim -> pdm_featurizer ->
 * pdm_histogram_build), then live streams from the same simulator with
 * another seed, featurized the same way and fed to pdm_drift in windows of
 * 10,000 rows: unshifted, every feature stays under PSI 0.1 in every
 * window; with vibration scaled by 1.2 before featurizing, the vibration
 * features go over 0.25 while the others stay under 0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_dataset.h"
#include "pdm_features.h"
#include "pdm_model.h"
#include "pdm_monitor.h"

/* A fleet large enough that two seeds draw similar machine mixes: model,
 * age and maintenance schedules are per machine, so with 400 machines the
 * age PSI between seeds 1 and 2..5 reached 0.05-0.11; with 800 it stays
 * under 0.05. Two weeks: 270 k training rows, 23 windows of 10,000.
 * The stream skips its first 48 h, as a scorer with warm state would: rows
 * of a cold start have 24 h windows with few points, and their first
 * windows drift for real (std_24h PSI 0.6 there). */
enum { MACHINES = 800, HOURS = 24 * 14, WARMUP_HOURS = 48, REFERENCE_SEED = 1, STREAM_SEED = 2 };

typedef struct {
    pdm_histogram ref[PDM_N_FEATURES];
} fixture;

typedef int (*row_fn)(void *ctx, int32_t machine_id, int64_t ts, const double *row);

typedef struct {
    row_fn fn;
    void *ctx;
    int64_t from; /* rows before this ts are dropped */
} after_warmup;

static int skip_warmup(void *ctx, int32_t machine_id, int64_t ts, const double *row)
{
    after_warmup *w = ctx;
    return ts < w->from ? 0 : w->fn(w->ctx, machine_id, ts, row);
}

static int collect_row(void *ctx, int32_t machine_id, int64_t ts, const double *row)
{
    pdm_feature_rows *r = ctx;
    if (pdm_feature_rows_reserve(r, 1))
        return -1;
    memcpy(r->x + r->n * PDM_N_FEATURES, row, PDM_N_FEATURES * sizeof *row);
    r->n++;
    return 0;
}

/* Simulates a fleet, scales vibration by `scale` before featurizing, and
 * hands every row made after `warmup_hours` to fn. */
static void featurize_sim(uint64_t seed, double scale, int64_t warmup_hours, row_fn fn, void *ctx)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_sim_params p;
    pdm_sim_params_init(&p);
    p.machines = MACHINES;
    p.hours = HOURS;
    p.seed = seed;
    /* The PSI figures below were measured on the hard fleet (the simulator
     * before issue 17's calibration); it is kept as it was. */
    p.difficulty = PDM_SIM_HARD;
    pdm_sim *sim = pdm_sim_new(&p, err, sizeof err);
    assert_non_null(sim);
    pdm_featurizer *fz = pdm_featurizer_new(NULL, err, sizeof err);
    assert_non_null(fz);
    after_warmup w = {fn, ctx, p.start_ms + warmup_hours * PDM_MS_PER_HOUR};
    enum { BATCH = 4096 };
    pdm_event *ev = malloc(BATCH * sizeof *ev);
    size_t n = 0;
    int more = 1;
    while (more) {
        more = pdm_sim_next(sim, &ev[n]);
        if (more) {
            if (ev[n].type == PDM_EV_TELEMETRY)
                ev[n].u.telemetry.vibration *= scale;
            n++;
        }
        if (n == BATCH || (!more && n > 0)) {
            if (pdm_featurizer_feed_fn(fz, ev, n, skip_warmup, &w, err, sizeof err))
                fail_msg("featurizer: %s", err);
            n = 0;
        }
    }
    free(ev);
    pdm_featurizer_destroy(fz);
    pdm_sim_destroy(sim);
}

static int setup(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    fixture *f = calloc(1, sizeof *f);
    pdm_feature_rows rows = {0};
    featurize_sim(REFERENCE_SEED, 1.0, 0, collect_row, &rows); /* training keeps every row */
    if (pdm_histogram_build_columns(rows.x, rows.n, PDM_N_FEATURES, PDM_N_FEATURES, f->ref, err,
                                    sizeof err))
        return -1;
    print_message("reference: %zu training rows\n", rows.n);
    pdm_feature_rows_free(&rows);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

typedef struct {
    pdm_drift *drift;
    double max_psi[PDM_N_FEATURES];
    uint64_t windows;
    double batch[256 * PDM_N_FEATURES];
    size_t n;
} stream_ctx;

static void track(stream_ctx *s)
{
    pdm_drift_result r;
    pdm_drift_get(s->drift, &r);
    if (r.windows == s->windows)
        return;
    s->windows = r.windows;
    for (int i = 0; i < PDM_N_FEATURES; i++)
        if (!isnan(r.feature[i].psi) && r.feature[i].psi > s->max_psi[i])
            s->max_psi[i] = r.feature[i].psi;
}

/* Rows go to the drift in batches, as the scorer would hand them over. */
static int on_row(void *ctx, int32_t machine_id, int64_t ts, const double *row)
{
    stream_ctx *s = ctx;
    memcpy(s->batch + s->n * PDM_N_FEATURES, row, PDM_N_FEATURES * sizeof *row);
    if (++s->n == 256) {
        if (pdm_drift_observe(s->drift, s->batch, NULL, s->n, 0) > 0)
            track(s);
        s->n = 0;
    }
    return 0;
}

static void run_stream(fixture *f, double scale, stream_ctx *s)
{
    char err[PDM_ERRSTR_SIZE];
    memset(s, 0, sizeof *s);
    s->drift = pdm_drift_new(f->ref, NULL, NULL, err, sizeof err); /* 10,000-row windows */
    assert_non_null(s->drift);
    featurize_sim(STREAM_SEED, scale, WARMUP_HOURS, on_row, s);
    pdm_drift_destroy(s->drift);
    assert_true(s->windows >= 10);
    print_message("vibration x%.1f: %llu windows; max PSI per feature:\n", scale,
                  (unsigned long long)s->windows);
    for (int i = 0; i < PDM_N_FEATURES; i++)
        print_message("  %-28s %.4f\n", pdm_feature_name((size_t)i), s->max_psi[i]);
}

static int is_vibration(int i)
{
    return strstr(pdm_feature_name((size_t)i), "vibration") != NULL;
}

static void test_unshifted_stream_is_stable(void **state)
{
    stream_ctx *s = malloc(sizeof *s);
    run_stream(*state, 1.0, s);
    for (int i = 0; i < PDM_N_FEATURES; i++)
        if (!(s->max_psi[i] < 0.1))
            fail_msg("%s: PSI %.4f without any shift", pdm_feature_name((size_t)i), s->max_psi[i]);
    free(s);
}

static void test_vibration_shift_is_seen(void **state)
{
    stream_ctx *s = malloc(sizeof *s);
    run_stream(*state, 1.2, s);
    /* The means scale by 1.2 and so do the standard deviations, but a
     * standard deviation of three points spreads so widely that a 1.2x
     * scale only takes it to the moderate band (PSI 0.13-0.15 over seeds
     * 2..5), while the 24 h one moves well past 0.25. */
    const int major[] = {PDM_F_MEAN_3H + 3, PDM_F_MEAN_24H + 3, PDM_F_STD_24H + 3};
    for (size_t k = 0; k < 3; k++)
        if (!(s->max_psi[major[k]] > PDM_DRIFT_MAJOR))
            fail_msg("%s: PSI only %.4f under a 1.2x vibration shift",
                     pdm_feature_name((size_t)major[k]), s->max_psi[major[k]]);
    double std3 = s->max_psi[PDM_F_STD_3H + 3];
    if (!(std3 > PDM_DRIFT_MODERATE))
        fail_msg("vibration_std_3h: PSI only %.4f under a 1.2x vibration shift", std3);
    for (int i = 0; i < PDM_N_FEATURES; i++)
        if (!is_vibration(i) && !(s->max_psi[i] < 0.1))
            fail_msg("%s: PSI %.4f though only vibration moved", pdm_feature_name((size_t)i),
                     s->max_psi[i]);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unshifted_stream_is_stable),
        cmocka_unit_test(test_vibration_shift_is_seen),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
