/* sim_realistic.c: the default fleet, calibrated against the public PdM
 * data (20 machines x 3 months of it; the figures are in issue 17 and
 * tests/unit/test_dataset_calib.c measures each of them on this fleet).
 *
 * What the public data shows, and how it is reproduced per machine:
 * - failures at 06:00, a few at 03:00; comp2 fails most, then comp1, comp4,
 *   comp3 (15, 13, 8, 6 of 42). Here each component has a daily hazard that
 *   grows with the days since it was replaced (so component age tells), is
 *   scaled by the machine's model and age, and a failure happens at 06:00
 *   (at 03:00 one time in 14); the failed part is replaced at that hour;
 * - over each of the two days before a failure the failing component's
 *   signal is shifted by an almost constant amount (in fleet deviations:
 *   comp1 volt +1.25, comp2 rotate -1.45, comp3 pressure +2.35, comp4
 *   vibration +1.95), and not at all before that: a step over the 48 h
 *   before the failure, with a small spread of its size;
 * - 39 of 42 failures have a related error (comp1 error1, comp2 error2 or
 *   error3, comp3 error4, comp4 error5) between 48 and 24 h before, mostly
 *   exactly 24 h before, and no error comes in the last 24 h before a
 *   failure; the other errors (three in four) come at random hours and are
 *   followed by no failure;
 * - a maintenance visit every 15 days (06:00, a per-machine phase) replaces
 *   one component or two, the older the likelier; with failure replacements
 *   about 6.4 maintenance rows per machine in three months, spread evenly over
 *   the components; the replacement that installed each component in service
 *   at the start is written as history. The day process starts 180 days
 *   before the data, so that component ages at the start are realistic.
 * Telemetry is Gaussian around means and deviations chosen so that the
 * fleet's (shifts included) are the public ones. */
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "pdm_dataset.h"
#include "sim_internal.h"

#define WARMUP_DAYS 180
#define VISIT_EVERY_DAYS 15
#define PRECURSOR_HOURS 48
#define QUIET_HOURS 24 /* no error in the last 24 h before a failure */

/* The public fleet's means and deviations (shifts included); shifts are
 * measured in these deviations. */
static const double fleet_mean[SIM_N_SIGNALS] = {171.0, 446.0, 100.6, 40.3};
static const double fleet_sd[SIM_N_SIGNALS] = {15.6, 53.3, 10.7, 5.3};
/* The baseline: a little below the fleet's mean and deviation, which the
 * shifts of the precursors add to (calibrated by the unit test). */
static const double base_mean_shift[SIM_N_SIGNALS] = {-0.02, +0.03, -0.02, -0.02};
static const double base_sd_factor[SIM_N_SIGNALS] = {0.988, 0.977, 0.976, 0.983};

/* Precursor shift of component K's signal (K-1), in fleet deviations, and
 * the spread of its size from failure to failure. */
static const double shift_amp[PDM_N_COMPONENTS] = {+1.27, -1.49, +2.38, +1.97};
#define SHIFT_SPREAD 0.05

/* Daily failure hazard at 1.0 wear, per component. */
static const double hazard_base[PDM_N_COMPONENTS] = {0.0088, 0.0105, 0.0041, 0.0052};
static const double model_factor[PDM_DATASET_MAX_MODEL] = {1.15, 1.05, 0.95, 0.98};
static const double model_share_cum[PDM_DATASET_MAX_MODEL] = {0.16, 0.33, 0.68, 1.0};
#define SHARE_AT_3AM (1.0 / 14)
/* A scheduled visit replaces a component older than 15 days with
 * probability (days - 15) / VISIT_REPLACE_DAYS. */
#define VISIT_REPLACE_DAYS 140.0

/* Background errors per machine-year, error1..error5 (the related errors
 * of failures come on top). */
static const double error_rate_year[PDM_N_ERRORS] = {9.1, 8.7, 7.7, 6.2, 1.6};
/* A failing machine also raises an error of any type (in proportion to
 * the rates above) between 48 and 24 h before, one failure in four. */
#define EXTRA_ERROR_SHARE 0.25
#define RELATED_ERROR_SHARE (39.0 / 42)
#define RELATED_AT_24H_SHARE 0.9
/* comp2's related error: error2 alone, error3 alone, else both. */
#define COMP2_ERROR2_ONLY 0.5
#define COMP2_ERROR3_ONLY 0.3

void sim_profile_realistic(sim_profile *out)
{
    for (int s = 0; s < SIM_N_SIGNALS; s++) {
        out->mean[s] = fleet_mean[s] + base_mean_shift[s] * fleet_sd[s];
        out->noise_sd[s] = base_sd_factor[s] * fleet_sd[s];
        out->unit_sd[s] = fleet_sd[s];
    }
}

typedef struct {
    const pdm_sim_params *p;
    sim_machine *m;
    sim_rng r;
    int64_t end_ms;
    int64_t *fail_ts; /* failures from the start on, for the quiet hours */
    size_t n_fail, cap_fail;
} planner;

static int push_error(planner *pl, int64_t ts, int error_id)
{
    if (ts < pl->p->start_ms || ts >= pl->end_ms)
        return 0;
    pdm_event ev = sim_make_event(PDM_EV_ERROR, pl->m->info.machine_id, ts, error_id);
    return sim_push_event(pl->m, &ev);
}

static int extra_error(planner *pl, int64_t fail_ts)
{
    sim_rng *r = &pl->r;
    if (sim_rng_unit(r) >= EXTRA_ERROR_SHARE)
        return 0;
    double total = 0, u;
    for (int e = 0; e < PDM_N_ERRORS; e++)
        total += error_rate_year[e];
    u = sim_rng_unit(r) * total;
    int e = 0;
    while (e < PDM_N_ERRORS - 1 && u >= error_rate_year[e])
        u -= error_rate_year[e++];
    int64_t lead = QUIET_HOURS + 1 + (int64_t)(sim_rng_unit(r) * (PRECURSOR_HOURS - QUIET_HOURS));
    return push_error(pl, fail_ts - lead * PDM_MS_PER_HOUR, e + 1);
}

/* A failure of component k (0-based) at ts: its shift and related error. */
static int plan_precursor(planner *pl, int k, int64_t ts)
{
    sim_rng *r = &pl->r;
    int64_t fail_h = sim_floor_div(ts - pl->p->start_ms, PDM_MS_PER_HOUR);
    double amp = shift_amp[k] + SHIFT_SPREAD * sim_rng_gauss(r);
    if (sim_push_episode(pl->m, fail_h - PRECURSOR_HOURS, fail_h, k, amp, SIM_STEP))
        return -1;
    if (extra_error(pl, ts))
        return -1;
    if (sim_rng_unit(r) >= RELATED_ERROR_SHARE)
        return 0;
    int64_t lead = QUIET_HOURS;
    if (sim_rng_unit(r) >= RELATED_AT_24H_SHARE)
        lead += 1 + (int64_t)(sim_rng_unit(r) * (PRECURSOR_HOURS - QUIET_HOURS));
    int64_t at = ts - lead * PDM_MS_PER_HOUR;
    if (k != 1)
        return push_error(pl, at, k == 0 ? 1 : k + 2);
    double u = sim_rng_unit(r);
    if (u < COMP2_ERROR2_ONLY)
        return push_error(pl, at, 2);
    if (u < COMP2_ERROR2_ONLY + COMP2_ERROR3_ONLY)
        return push_error(pl, at, 3);
    return push_error(pl, at, 2) || push_error(pl, at, 3) ? -1 : 0;
}

/* A replacement of component k at ts, after a failure or at a visit. */
static int replace(planner *pl, int k, int64_t ts, int failed, int64_t *hist_ts)
{
    sim_machine *m = pl->m;
    if (failed && ts >= pl->p->start_ms - 3 * SIM_DAY_MS && plan_precursor(pl, k, ts))
        return -1;
    if (failed && ts >= pl->p->start_ms) {
        if (pl->n_fail == pl->cap_fail) {
            size_t cap = pl->cap_fail ? pl->cap_fail * 2 : 16;
            int64_t *f = realloc(pl->fail_ts, cap * sizeof *f);
            if (!f)
                return -1;
            pl->fail_ts = f;
            pl->cap_fail = cap;
        }
        pl->fail_ts[pl->n_fail++] = ts;
    }
    if (ts < pl->p->start_ms) {
        hist_ts[k] = ts;
        return 0;
    }
    if (ts >= pl->end_ms)
        return 0;
    pdm_event mt = sim_make_event(PDM_EV_MAINTENANCE, m->info.machine_id, ts, k + 1);
    if (failed) {
        pdm_event f = sim_make_event(PDM_EV_FAILURE, m->info.machine_id, ts, k + 1);
        if (sim_push_event(m, &f))
            return -1;
    }
    return sim_push_event(m, &mt);
}

/* The day process: failures, visits, and the history rows. */
static int plan_days(planner *pl, double machine_factor)
{
    const pdm_sim_params *p = pl->p;
    sim_rng *r = &pl->r;
    int64_t last_ts[PDM_N_COMPONENTS], hist_ts[PDM_N_COMPONENTS];
    int64_t first_day = sim_floor_div(p->start_ms - 6 * PDM_MS_PER_HOUR, SIM_DAY_MS) - WARMUP_DAYS;
    int64_t last_day = sim_floor_div(pl->end_ms - 6 * PDM_MS_PER_HOUR, SIM_DAY_MS) + 3;
    int phase = (int)(sim_rng_unit(r) * VISIT_EVERY_DAYS);
    for (int k = 0; k < PDM_N_COMPONENTS; k++) {
        last_ts[k] =
            (first_day - (int64_t)(sim_rng_unit(r) * 120)) * SIM_DAY_MS + 6 * PDM_MS_PER_HOUR;
        hist_ts[k] = last_ts[k];
    }
    for (int64_t d = first_day; d <= last_day; d++) {
        int64_t slot = d * SIM_DAY_MS + 6 * PDM_MS_PER_HOUR;
        unsigned replaced_today = 0;
        for (int k = 0; k < PDM_N_COMPONENTS; k++) {
            double days = (double)(slot - last_ts[k]) / SIM_DAY_MS;
            double wear = 0.25 + days / 60.0;
            if (sim_rng_unit(r) >= hazard_base[k] * machine_factor * wear)
                continue;
            int64_t ts = sim_rng_unit(r) < SHARE_AT_3AM ? slot - 3 * PDM_MS_PER_HOUR : slot;
            replaced_today |= 1u << k;
            last_ts[k] = ts;
            if (replace(pl, k, ts, 1, hist_ts))
                return -1;
        }
        if (sim_floor_div(d - phase, VISIT_EVERY_DAYS) * VISIT_EVERY_DAYS != d - phase)
            continue;
        for (int k = 0; k < PDM_N_COMPONENTS; k++) {
            double days = (double)(slot - last_ts[k]) / SIM_DAY_MS;
            double pr = days < 15 ? 0 : (days - 15) / VISIT_REPLACE_DAYS;
            if (replaced_today & (1u << k) || sim_rng_unit(r) >= pr)
                continue;
            last_ts[k] = slot;
            if (replace(pl, k, slot, 0, hist_ts))
                return -1;
        }
    }
    for (int k = 0; k < PDM_N_COMPONENTS; k++) {
        pdm_event mt =
            sim_make_event(PDM_EV_MAINTENANCE, pl->m->info.machine_id, hist_ts[k], k + 1);
        if (sim_push_event(pl->m, &mt))
            return -1;
    }
    return 0;
}

static int cmp_ts(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Whether ts is in the last 24 h before a failure (fail_ts sorted). */
static int in_quiet_hours(const planner *pl, int64_t ts)
{
    size_t lo = 0, hi = pl->n_fail;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pl->fail_ts[mid] < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < pl->n_fail && pl->fail_ts[lo] - ts < QUIET_HOURS * PDM_MS_PER_HOUR;
}

/* Errors at random hours: a Poisson process per type, none in the last
 * 24 h before a failure. */
static int plan_background_errors(planner *pl)
{
    if (pl->n_fail > 1)
        qsort(pl->fail_ts, pl->n_fail, sizeof *pl->fail_ts, cmp_ts);
    for (int e = 0; e < PDM_N_ERRORS; e++) {
        double mean_gap = 8760.0 / error_rate_year[e];
        for (double t = sim_rng_exp(&pl->r, mean_gap); t < (double)pl->p->hours;
             t += sim_rng_exp(&pl->r, mean_gap)) {
            int64_t ts = pl->p->start_ms + (int64_t)t * PDM_MS_PER_HOUR;
            if (!in_quiet_hours(pl, ts) && push_error(pl, ts, e + 1))
                return -1;
        }
    }
    return 0;
}

int sim_plan_realistic(const pdm_sim_params *p, sim_machine *m, int idx)
{
    int32_t id = idx + 1;
    int rc = -1;
    planner pl = {.p = p, .m = m, .end_ms = p->start_ms + p->hours * PDM_MS_PER_HOUR};

    /* Stream 3 plans (the hard fleet's plan is stream 1), 2 is the noise. */
    sim_rng_seed(&pl.r, p->seed, (uint64_t)id, 3);
    sim_rng_seed(&m->noise, p->seed, (uint64_t)id, 2);
    double u = sim_rng_unit(&pl.r);
    int model = 1;
    while (model < PDM_DATASET_MAX_MODEL && u >= model_share_cum[model - 1])
        model++;
    int age = (int)(sim_rng_unit(&pl.r) * 21);
    memset(&m->info, 0, sizeof m->info);
    m->info.type = PDM_EV_MACHINE;
    m->info.machine_id = id;
    m->info.u.machine.model = model;
    m->info.u.machine.age = age;
    double machine_factor = model_factor[model - 1] * (0.75 + age / 40.0);

    if (plan_days(&pl, machine_factor) || plan_background_errors(&pl))
        goto out;
    sim_finish_machine(m, p->start_ms);
    rc = 0;
out:
    free(pl.fail_ts);
    return rc;
}
