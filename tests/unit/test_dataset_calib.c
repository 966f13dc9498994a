/* The realistic fleet's calibration (issue 17): one simulated year of 100
 * machines, measured the way the issue measured 20 machines x 3 months of
 * the public PdM data, each statistic held within a stated tolerance of the
 * public figure. Counts are compared per machine-quarter (2,160 h), so the
 * public figures divide by 20 machine-quarters. The tolerances are about
 * two and a half times this fleet's sampling spread (405 machine-quarters;
 * seeds 1..20 all pass, PDM_CALIB_SEED picks another), tight enough that a
 * change of the planner's constants that breaks a statistic fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "pdm_dataset.h"
#include "test_dataset_util.h"

#define FLEET 100
#define HOURS 8760
#define MAX_FAIL 4000
#define MAX_ERR 8000
#define QUARTER_H 2160.0

/* The public figures, from the issue. */
static const double public_mean[4] = {171.0, 446.0, 100.6, 40.3};
static const double public_sd[4] = {15.6, 53.3, 10.7, 5.3};
/* Per component: the median shift of its signal over each of the two days
 * before a failure, in fleet deviations (a range). */
static const double shift_lo[4] = {1.2, -1.5, 2.3, 1.9}, shift_hi[4] = {1.3, -1.4, 2.4, 2.0};
/* failures 42 (comp1..4 13 15 6 8), 39 at 06:00; errors 211 (error1..5 58
 * 54 46 37 16), 56 followed by a failure within 48 h; maintenance 128 in
 * range, 80 history, by component over all 208: 57 53 49 49. */
static const double public_fail[4] = {13, 15, 6, 8}, public_err[5] = {58, 54, 46, 37, 16};
static const double public_maint[4] = {57, 53, 49, 49};
#define PUBLIC_QUARTERS 20.0

typedef struct {
    int machine, hour, name;
} mark;

typedef struct {
    float *signal[4]; /* [machine * HOURS + hour] */
    int64_t start;
    mark fail[MAX_FAIL], err[MAX_ERR];
    size_t n_fail, n_err, maint_in_range, maint_history, maint_by_comp[5];
    size_t fail_at_hour[24];
    int history_before_start; /* every history row precedes the start */
    size_t history_per_machine[FLEET + 1];
    /* maintenance days per machine, in order (a day index from the start) */
    int maint_day[FLEET][400];
    int n_maint_days[FLEET];
    double fleet_mean[4], fleet_sd[4];
} fleet;

static void add_maint(fleet *f, int m, int64_t ts, int comp)
{
    f->maint_by_comp[comp]++;
    if (ts < f->start) {
        f->maint_history++;
        f->history_per_machine[m + 1]++;
        return;
    }
    f->maint_in_range++;
    int day = (int)((ts - f->start) / (24 * PDM_MS_PER_HOUR));
    int *n = &f->n_maint_days[m];
    if ((*n == 0 || f->maint_day[m][*n - 1] != day) && *n < 400)
        f->maint_day[m][(*n)++] = day;
}

static fleet *simulate(uint64_t seed)
{
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_sim_params p = sim_params(FLEET, HOURS, seed);
    assert_int_equal(p.difficulty, PDM_SIM_REALISTIC); /* the default */
    pdm_sim *sim = pdm_sim_new(&p, err, sizeof err);
    assert_non_null(sim);
    fleet *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->start = p.start_ms;
    for (int s = 0; s < 4; s++)
        assert_non_null(f->signal[s] = malloc(sizeof(float) * FLEET * HOURS));
    pdm_event ev;
    while (pdm_sim_next(sim, &ev)) {
        int m = ev.machine_id - 1;
        /* hours from the start (history, before it, only counts) */
        int h = ev.ts >= f->start ? (int)((ev.ts - f->start) / PDM_MS_PER_HOUR) : -1;
        size_t at = (size_t)m * HOURS + (size_t)(h < 0 ? 0 : h);
        switch (ev.type) {
        case PDM_EV_TELEMETRY:
            f->signal[0][at] = (float)ev.u.telemetry.volt;
            f->signal[1][at] = (float)ev.u.telemetry.rotate;
            f->signal[2][at] = (float)ev.u.telemetry.pressure;
            f->signal[3][at] = (float)ev.u.telemetry.vibration;
            break;
        case PDM_EV_ERROR:
            assert_true(f->n_err < MAX_ERR);
            f->err[f->n_err++] = (mark){m, h, ev.u.error.error_id};
            break;
        case PDM_EV_FAILURE:
            assert_true(f->n_fail < MAX_FAIL);
            f->fail[f->n_fail++] = (mark){m, h, ev.u.failure.component};
            f->fail_at_hour[(ev.ts / PDM_MS_PER_HOUR) % 24]++;
            break;
        case PDM_EV_MAINTENANCE:
            add_maint(f, m, ev.ts, ev.u.maintenance.component);
            break;
        default:
            break;
        }
    }
    pdm_sim_destroy(sim);
    for (int s = 0; s < 4; s++) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < (size_t)FLEET * HOURS; i++)
            sum += f->signal[s][i];
        f->fleet_mean[s] = sum / (FLEET * HOURS);
        for (size_t i = 0; i < (size_t)FLEET * HOURS; i++)
            sq += (f->signal[s][i] - f->fleet_mean[s]) * (f->signal[s][i] - f->fleet_mean[s]);
        f->fleet_sd[s] = sqrt(sq / (FLEET * HOURS));
    }
    return f;
}

static int fleet_setup(void **state)
{
    /* PDM_CALIB_SEED: another seed, to see the sampling spread. */
    const char *seed = getenv("PDM_CALIB_SEED");
    *state = simulate(seed ? strtoull(seed, NULL, 10) : 1);
    return 0;
}

static int fleet_teardown(void **state)
{
    fleet *f = *state;
    for (int s = 0; s < 4; s++)
        free(f->signal[s]);
    free(f);
    return 0;
}

static double quarters(void)
{
    return (double)FLEET * HOURS / QUARTER_H;
}

static void expect_near(const char *what, double got, double want, double tol)
{
    print_message("%-48s %8.3f  public %8.3f  (tolerance %.3f)\n", what, got, want, tol);
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: %.3f, the public data %.3f, tolerance %.3f", what, got, want, tol);
}

static void test_fleet_means_and_deviations(void **state)
{
    fleet *f = *state;
    char what[64];
    for (int s = 0; s < 4; s++) {
        snprintf(what, sizeof what, "signal %d mean", s);
        expect_near(what, f->fleet_mean[s], public_mean[s], 0.05 * public_sd[s]);
        snprintf(what, sizeof what, "signal %d standard deviation", s);
        expect_near(what, f->fleet_sd[s], public_sd[s], 0.02 * public_sd[s]);
    }
}

static void test_failures_hours_and_shares(void **state)
{
    fleet *f = *state;
    char what[64];
    expect_near("failures per machine-quarter", f->n_fail / quarters(), 42 / PUBLIC_QUARTERS, 0.25);
    expect_near("share of failures at 06:00", (double)f->fail_at_hour[6] / f->n_fail, 39.0 / 42,
                0.035);
    assert_int_equal(f->fail_at_hour[6] + f->fail_at_hour[3], f->n_fail); /* else 03:00 */
    size_t by_comp[5] = {0};
    for (size_t i = 0; i < f->n_fail; i++)
        by_comp[f->fail[i].name]++;
    for (int c = 1; c <= 4; c++) {
        snprintf(what, sizeof what, "share of comp%d among failures", c);
        expect_near(what, (double)by_comp[c] / f->n_fail, public_fail[c - 1] / 42, 0.045);
    }
    /* No check of the order comp2 > comp1: 15 against 13 of 42 in the
     * public data is no significant difference, and a fleet of this size
     * reverses it for some seeds (4 of 1..20). */
}

static double window_z(const fleet *f, int s, int m, int from, int to)
{
    double sum = 0;
    for (int h = from; h < to; h++)
        sum += f->signal[s][(size_t)m * HOURS + (size_t)h];
    return (sum / (to - from) - f->fleet_mean[s]) / f->fleet_sd[s];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    return i + 1 < n ? v[i] + (pos - (double)i) * (v[i + 1] - v[i]) : v[i];
}

/* Each failing component's signal over [F-24, F), [F-48, F-24) and
 * [F-72, F-48), in fleet deviations from the fleet mean. */
static void test_precursor_shifts(void **state)
{
    fleet *f = *state;
    static double z[MAX_FAIL];
    char what[96];
    for (int c = 1; c <= 4; c++) {
        for (int day = 1; day <= 3; day++) {
            size_t n = 0;
            for (size_t i = 0; i < f->n_fail; i++)
                if (f->fail[i].name == c && f->fail[i].hour >= 72)
                    z[n++] = window_z(f, c - 1, f->fail[i].machine, f->fail[i].hour - 24 * day,
                                      f->fail[i].hour - 24 * (day - 1));
            assert_true(n >= 50);
            double q25 = quantile(z, n, 0.25), med = quantile(z, n, 0.5),
                   q75 = quantile(z, n, 0.75);
            print_message("comp%d, signal %d, %d-%d h before: median %+.3f, 25th-75th %+.3f %+.3f "
                          "(%zu failures)\n",
                          c, c - 1, 24 * (day - 1), 24 * day, med, q25, q75, n);
            if (day == 3) {
                snprintf(what, sizeof what, "comp%d: median shift 48-72 h before", c);
                expect_near(what, med, 0, 0.15);
                continue;
            }
            double mid = (shift_lo[c - 1] + shift_hi[c - 1]) / 2;
            snprintf(what, sizeof what, "comp%d: median shift %d-%d h before", c, 24 * (day - 1),
                     24 * day);
            expect_near(what, med, mid, (shift_hi[c - 1] - shift_lo[c - 1]) / 2 + 0.05);
            snprintf(what, sizeof what, "comp%d: 25th-75th percentile half-width", c);
            expect_near(what, fmax(med - q25, q75 - med), 0.15, 0.06);
        }
    }
}

static const unsigned related_mask[5] = {0, 1u << 1, (1u << 2) | (1u << 3), 1u << 4, 1u << 5};

static void test_related_errors(void **state)
{
    fleet *f = *state;
    size_t counted = 0, with_related = 0, at_24h = 0, in_last_day = 0;
    for (size_t i = 0; i < f->n_fail; i++) {
        const mark *fl = &f->fail[i];
        if (fl->hour < 48)
            continue;
        int related = 0, exact = 0, last = 0;
        for (size_t j = 0; j < f->n_err; j++) {
            const mark *e = &f->err[j];
            if (e->machine != fl->machine || !(related_mask[fl->name] & (1u << e->name)))
                continue;
            int lead = fl->hour - e->hour;
            related |= lead >= 24 && lead <= 48;
            exact |= lead == 24;
            last |= lead > 0 && lead < 24;
        }
        counted++;
        with_related += related;
        at_24h += exact;
        in_last_day += last;
    }
    expect_near("share of failures with a related error 24-48 h before",
                (double)with_related / counted, 39.0 / 42, 0.035);
    /* "mostly exactly 24 h before" */
    print_message("of those, exactly 24 h before: %.3f\n", (double)at_24h / with_related);
    assert_true(at_24h > with_related * 3 / 4);
    /* "none in the last 24 h": at most one failure in a hundred (a machine
     * whose component fails twice within a day). */
    expect_near("share of failures with a related error in the last 24 h",
                (double)in_last_day / counted, 0, 0.01);
}

static void test_error_counts_and_false_alarms(void **state)
{
    fleet *f = *state;
    size_t by_type[6] = {0}, followed = 0;
    char what[64];
    for (size_t j = 0; j < f->n_err; j++) {
        const mark *e = &f->err[j];
        by_type[e->name]++;
        int hit = 0;
        for (size_t i = 0; i < f->n_fail && !hit; i++)
            hit = f->fail[i].machine == e->machine && f->fail[i].hour > e->hour &&
                  f->fail[i].hour <= e->hour + 48;
        followed += hit;
    }
    expect_near("errors per machine-quarter", f->n_err / quarters(), 211 / PUBLIC_QUARTERS, 0.8);
    for (int e = 1; e <= 5; e++) {
        double want = public_err[e - 1] / PUBLIC_QUARTERS;
        snprintf(what, sizeof what, "error%d per machine-quarter", e);
        expect_near(what, by_type[e] / quarters(), want, 0.15 * want);
    }
    expect_near("share of errors followed by a failure within 48 h", (double)followed / f->n_err,
                56.0 / 211, 0.05);
}

static void test_maintenance_cadence(void **state)
{
    fleet *f = *state;
    char what[64];
    expect_near("maintenance rows per machine-quarter", f->maint_in_range / quarters(),
                128 / PUBLIC_QUARTERS, 0.6);
    /* History: the replacement that installed each component, one a
     * component (80 for 20 machines). */
    assert_int_equal(f->maint_history, (size_t)FLEET * 4);
    for (int m = 1; m <= FLEET; m++)
        assert_int_equal(f->history_per_machine[m], 4);
    size_t all = f->maint_in_range + f->maint_history;
    for (int c = 1; c <= 4; c++) {
        snprintf(what, sizeof what, "share of comp%d among all maintenance", c);
        expect_near(what, (double)f->maint_by_comp[c] / all, public_maint[c - 1] / 208, 0.03);
    }
    /* "about one every two weeks": the median gap between a machine's
     * maintenance days. */
    static double gaps[FLEET * 400];
    size_t n = 0;
    for (int m = 0; m < FLEET; m++)
        for (int i = 1; i < f->n_maint_days[m]; i++)
            gaps[n++] = f->maint_day[m][i] - f->maint_day[m][i - 1];
    assert_true(n > 0);
    expect_near("median days between maintenance visits", quantile(gaps, n, 0.5), 15, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fleet_means_and_deviations),
        cmocka_unit_test(test_failures_hours_and_shares),
        cmocka_unit_test(test_precursor_shifts),
        cmocka_unit_test(test_related_errors),
        cmocka_unit_test(test_error_counts_and_false_alarms),
        cmocka_unit_test(test_maintenance_cadence),
    };
    return cmocka_run_group_tests(tests, fleet_setup, fleet_teardown);
}
