/* sim_hard.c: the hard fleet (pdm-sim --difficulty hard), the simulator as
 * it was before it was calibrated against the public data; kept unchanged,
 * draw for draw, because tests and benchmarks were written against it (a
 * unit test pins its output to a digest). A model trained on it reaches a
 * macro F1 of about 0.3.
 *
 * The model, per machine:
 * - a model (model1..model4, public proportions) and an age of 0..20 years;
 * - components wear out: each day at 06:00 component K fails with a hazard
 *   that grows with the days since it was last replaced, scaled by model and
 *   age; a failure is followed by a replacement (a maintenance row at the
 *   same hour). Every 15 days (06:00, a per-machine phase) a scheduled visit
 *   replaces components, the more likely the older they are. The day process
 *   starts 180 days before the data so that component ages are realistic;
 *   the replacement that installed each component in service at the start
 *   is written as history, as the public data does;
 * - every failure has a precursor: over the 24-72 h before it, the
 *   component's signal drifts up linearly (comp1 volt up, comp2 rotate down,
 *   comp3 pressure up, comp4 vibration up) and its related errors become
 *   likely (comp1 error1, comp2 error2 and error3, comp3 error4, comp4
 *   error5) anywhere in the last 48 h. One failure in five has a weak or no
 *   precursor; drifts of the same shape also happen without a failure, and
 *   errors happen at random too;
 * - telemetry is Gaussian around the public means with 0.99 of the public
 *   deviations, plus the drifts. */
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "pdm_dataset.h"
#include "sim_internal.h"

#define WARMUP_DAYS 180
#define VISIT_EVERY_DAYS 15

static const double signal_mean[SIM_N_SIGNALS] = {170.78, 446.61, 100.86, 40.39};
static const double signal_sd[SIM_N_SIGNALS] = {15.51, 52.67, 11.05, 5.37};
/* Baseline noise, a little under the public deviation: drifts add the rest. */
#define NOISE_SD_FACTOR 0.99
/* Direction of each component's drift on its signal (comp K drifts signal K-1). */
static const double drift_sign[PDM_N_COMPONENTS] = {+1, -1, +1, +1};

/* Daily failure hazard at 1.0 wear, per component. */
static const double hazard_base[PDM_N_COMPONENTS] = {0.0084, 0.0104, 0.0049, 0.0062};
static const double model_factor[PDM_DATASET_MAX_MODEL] = {1.15, 1.05, 0.95, 0.98};
static const double model_share_cum[PDM_DATASET_MAX_MODEL] = {0.16, 0.33, 0.68, 1.0};

/* Background errors per machine-year, error1..error5. */
static const double error_rate_year[PDM_N_ERRORS] = {7.4, 6.1, 4.6, 5.6, 1.1};
/* Errors a precursor raises, by component: a mask of error ids (bit K-1). */
static const unsigned precursor_errors[PDM_N_COMPONENTS] = {1u << 0, (1u << 1) | (1u << 2), 1u << 3,
                                                            1u << 4};
#define PRECURSOR_ERROR_TRIALS 6
#define PRECURSOR_ERROR_HOURS 48

#define WEAK_SHARE 0.2
#define SPURIOUS_PER_YEAR 2.5 /* drifts without a failure, per signal */

void sim_profile_hard(sim_profile *out)
{
    for (int s = 0; s < SIM_N_SIGNALS; s++) {
        out->mean[s] = signal_mean[s];
        out->noise_sd[s] = NOISE_SD_FACTOR * signal_sd[s];
        out->unit_sd[s] = signal_sd[s];
    }
}

/* A failure of component k (0-based) at hour index fail_h: its drift and its
 * errors (those inside the data). */
static int plan_precursor(sim_machine *m, sim_rng *r, int k, int64_t fail_h, int64_t hours,
                          int64_t start_ms)
{
    int weak = sim_rng_unit(r) < WEAK_SHARE;
    double strength = weak ? sim_rng_range(r, 0.0, 0.3) : sim_rng_range(r, 0.7, 2.2);
    int64_t lead = 24 + (int64_t)(sim_rng_unit(r) * 49);
    if (sim_push_episode(m, fail_h - lead, fail_h, k, drift_sign[k] * strength, SIM_RAMP))
        return -1;
    double p = 0.05 + 0.17 * strength;
    for (int e = 0; e < PDM_N_ERRORS; e++) {
        if (!(precursor_errors[k] & (1u << e)))
            continue;
        for (int t = 0; t < PRECURSOR_ERROR_TRIALS; t++) {
            if (sim_rng_unit(r) >= p)
                continue;
            double u = sim_rng_unit(r);
            int64_t h = fail_h - 1 - (int64_t)(u * u * PRECURSOR_ERROR_HOURS);
            if (h < 0 || h >= hours)
                continue;
            pdm_event ev = sim_make_event(PDM_EV_ERROR, m->info.machine_id,
                                          start_ms + h * PDM_MS_PER_HOUR, e + 1);
            if (sim_push_event(m, &ev))
                return -1;
        }
    }
    return 0;
}

int sim_plan_hard(const pdm_sim_params *p, sim_machine *m, int idx)
{
    int32_t id = idx + 1;
    sim_rng r;
    int64_t end_ms = p->start_ms + p->hours * PDM_MS_PER_HOUR;
    int64_t last_replaced[PDM_N_COMPONENTS]; /* day numbers */

    sim_rng_seed(&r, p->seed, (uint64_t)id, 1);
    sim_rng_seed(&m->noise, p->seed, (uint64_t)id, 2);

    double u = sim_rng_unit(&r);
    int model = 1;
    while (model < PDM_DATASET_MAX_MODEL && u >= model_share_cum[model - 1])
        model++;
    int age = (int)(sim_rng_unit(&r) * 21);
    memset(&m->info, 0, sizeof m->info);
    m->info.type = PDM_EV_MACHINE;
    m->info.machine_id = id;
    m->info.u.machine.model = model;
    m->info.u.machine.age = age;
    double machine_factor = model_factor[model - 1] * (0.75 + age / 40.0);

    /* Day d's slot is d * DAY + 06:00. Simulate from WARMUP_DAYS before the
     * start to 3 days after the end (failures just after the end still
     * drift inside the data). */
    int64_t first_day = sim_floor_div(p->start_ms - 6 * PDM_MS_PER_HOUR, SIM_DAY_MS) - WARMUP_DAYS;
    int64_t last_day = sim_floor_div(end_ms - 6 * PDM_MS_PER_HOUR, SIM_DAY_MS) + 3;
    int phase = (int)(sim_rng_unit(&r) * VISIT_EVERY_DAYS);
    for (int k = 0; k < PDM_N_COMPONENTS; k++)
        last_replaced[k] = first_day - (int64_t)(sim_rng_unit(&r) * 120);

    for (int64_t d = first_day; d <= last_day; d++) {
        int64_t ts = d * SIM_DAY_MS + 6 * PDM_MS_PER_HOUR;
        int in_range = ts >= p->start_ms && ts < end_ms;
        int64_t hour_idx = sim_floor_div(ts - p->start_ms, PDM_MS_PER_HOUR);
        unsigned replaced_today = 0;
        for (int k = 0; k < PDM_N_COMPONENTS; k++) {
            double days = (double)(d - last_replaced[k]);
            double wear = 0.25 + days / 60.0;
            if (sim_rng_unit(&r) >= hazard_base[k] * machine_factor * wear)
                continue;
            replaced_today |= 1u << k;
            last_replaced[k] = d;
            if (ts >= p->start_ms - 3 * SIM_DAY_MS &&
                plan_precursor(m, &r, k, hour_idx, p->hours, p->start_ms))
                return -1;
            if (in_range) {
                pdm_event f = sim_make_event(PDM_EV_FAILURE, id, ts, k + 1);
                pdm_event mt = sim_make_event(PDM_EV_MAINTENANCE, id, ts, k + 1);
                if (sim_push_event(m, &f) || sim_push_event(m, &mt))
                    return -1;
            }
        }
        if (sim_floor_div(d - phase, VISIT_EVERY_DAYS) * VISIT_EVERY_DAYS == d - phase) {
            for (int k = 0; k < PDM_N_COMPONENTS; k++) {
                double days = (double)(d - last_replaced[k]);
                double pr = days < 15 ? 0 : (days - 15) / 70.0;
                if (replaced_today & (1u << k) || sim_rng_unit(&r) >= pr)
                    continue;
                last_replaced[k] = d;
                if (in_range) {
                    pdm_event mt = sim_make_event(PDM_EV_MAINTENANCE, id, ts, k + 1);
                    if (sim_push_event(m, &mt))
                        return -1;
                }
            }
        }
        if (ts < p->start_ms && d + 1 <= last_day &&
            (d + 1) * SIM_DAY_MS + 6 * PDM_MS_PER_HOUR >= p->start_ms) {
            /* The last day before the data: what is installed now is history. */
            for (int k = 0; k < PDM_N_COMPONENTS; k++) {
                pdm_event mt =
                    sim_make_event(PDM_EV_MAINTENANCE, id,
                                   last_replaced[k] * SIM_DAY_MS + 6 * PDM_MS_PER_HOUR, k + 1);
                if (sim_push_event(m, &mt))
                    return -1;
            }
        }
    }
    /* Background errors: a Poisson process per type, in hours. */
    for (int e = 0; e < PDM_N_ERRORS; e++) {
        double mean_gap = 8760.0 / error_rate_year[e];
        for (double t = sim_rng_exp(&r, mean_gap); t < (double)p->hours;
             t += sim_rng_exp(&r, mean_gap)) {
            pdm_event ev =
                sim_make_event(PDM_EV_ERROR, id, p->start_ms + (int64_t)t * PDM_MS_PER_HOUR, e + 1);
            if (sim_push_event(m, &ev))
                return -1;
        }
    }
    /* Drifts that lead to nothing. */
    for (int s = 0; s < SIM_N_SIGNALS; s++) {
        double mean_gap = 8760.0 / SPURIOUS_PER_YEAR;
        for (double t = sim_rng_exp(&r, mean_gap); t < (double)p->hours;
             t += sim_rng_exp(&r, mean_gap)) {
            int64_t len = 12 + (int64_t)(sim_rng_unit(&r) * 61);
            double amp = drift_sign[s] * sim_rng_range(&r, 0.3, 1.6);
            if (sim_push_episode(m, (int64_t)t, (int64_t)t + len, s, amp, SIM_RAMP))
                return -1;
        }
    }
    sim_finish_machine(m, p->start_ms);
    return 0;
}
