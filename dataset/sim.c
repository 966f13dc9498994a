/* sim.c: a synthetic fleet shaped like the public PdM data set.
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
 *   component's signal drifts (comp1 volt up, comp2 rotate down, comp3
 *   pressure up, comp4 vibration up) and its related errors become likely
 *   (comp1 error1, comp2 error2 and error3, comp3 error4, comp4 error5). One
 *   failure in five has a weak or no precursor; drifts of the same shape
 *   also happen without a failure, and errors happen at random too, so a
 *   model can learn the precursors but not perfectly;
 * - telemetry is Gaussian around the public means and deviations, plus the
 *   drifts, rounded to 15 significant digits (so CSV text round-trips).
 *
 * Determinism: every machine has two xoshiro256** streams seeded by
 * splitmix64 from (seed, machine): one plans its events when the simulator
 * is created, one draws its telemetry noise hour after hour. Output is thus
 * the same whether read hour-major (pdm_sim_next) or machine-major (the CSV
 * writer). Gaussians use the polar method with a logarithm computed here in
 * plain IEEE arithmetic (sqrt is exact by IEEE), so results do not depend on
 * the platform's libm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"
#include "pdm_common.h"
#include "pdm_dataset.h"

#define DAY_MS (24 * PDM_MS_PER_HOUR)
#define WARMUP_DAYS 180
#define VISIT_EVERY_DAYS 15
#define N_SIGNALS 4

/* ---- tunables (calibrated against the public data, see the unit test) --- */

static const double signal_mean[N_SIGNALS] = {170.78, 446.61, 100.86, 40.39};
static const double signal_sd[N_SIGNALS] = {15.51, 52.67, 11.05, 5.37};
/* Baseline noise, a little under the public deviation: drifts add the rest. */
#define NOISE_SD_FACTOR 0.99
/* Direction of each component's drift on its signal (comp K drifts signal K-1). */
static const double drift_sign[PDM_N_COMPONENTS] = {+1, -1, +1, +1};

/* Daily failure hazard at 1.0 wear, per component; shares follow the public
 * ordering comp2 > comp1 > comp4 > comp3. */
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

/* ---- random numbers ---------------------------------------------------- */

typedef struct {
    uint64_t s[4];
    double spare;
    int has_spare;
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed, uint64_t machine, uint64_t stream)
{
    uint64_t x = seed;
    x = splitmix64(&x) ^ (machine * UINT64_C(0xD1B54A32D192ED03));
    x = splitmix64(&x) ^ (stream * UINT64_C(0x8CB92BA72F3D8DD7));
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_u64(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static inline double rng_unit(rng *r)
{
    return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

static double rng_range(rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

/* Natural logarithm of x > 0 in IEEE arithmetic only: x = m 2^e with m in
 * [sqrt(1/2), sqrt(2)), ln m = 2 atanh((m-1)/(m+1)) by its series. */
static double det_log(double x)
{
    int e;
    double m = frexp(x, &e); /* exact */
    if (m < 0.70710678118654752) {
        m *= 2;
        e--;
    }
    double z = (m - 1) / (m + 1), z2 = z * z, term = z, sum = 0;
    for (int k = 1; k <= 23; k += 2) {
        sum += term / k;
        term *= z2;
    }
    return e * 0.69314718055994530942 + 2 * sum;
}

static double rng_gauss(rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2 * rng_unit(r) - 1;
        v = 2 * rng_unit(r) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    double f = sqrt(-2 * det_log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

/* Exponential with the given mean. */
static double rng_exp(rng *r, double mean)
{
    return -mean * det_log(1 - rng_unit(r));
}

/* ---- the plan ---------------------------------------------------------- */

typedef struct {
    int64_t start_h, end_h; /* hour indices: drifting over [start_h, end_h) */
    int signal;
    double amp; /* signed, in signal deviations at the end of the ramp */
} episode;

typedef struct {
    pdm_event info;
    pdm_event *events; /* history, then in range; by ts, rank, name */
    size_t n_events, cap_events, first_in_range, cursor;
    episode *eps; /* by start_h */
    size_t n_eps, cap_eps, ep_lo;
    rng noise;
} sim_machine;

typedef enum { PHASE_PRELUDE = 0, PHASE_HOURS, PHASE_DONE } sim_phase;

struct pdm_sim {
    pdm_sim_params p;
    sim_machine *machines;
    pdm_event *prelude; /* machine info, then history, in replay order */
    size_t n_prelude;
    /* pdm_sim_next's position */
    sim_phase phase;
    size_t prelude_pos;
    int64_t hour;
    int stage; /* replay rank 1..4 within the hour */
    int machine;
};

static int push_event(sim_machine *m, const pdm_event *ev)
{
    if (m->n_events == m->cap_events) {
        size_t cap = m->cap_events ? m->cap_events * 2 : 64;
        pdm_event *p = realloc(m->events, cap * sizeof *p);
        if (!p)
            return -1;
        m->events = p;
        m->cap_events = cap;
    }
    m->events[m->n_events++] = *ev;
    return 0;
}

static int push_episode(sim_machine *m, int64_t start_h, int64_t end_h, int signal, double amp)
{
    if (m->n_eps == m->cap_eps) {
        size_t cap = m->cap_eps ? m->cap_eps * 2 : 16;
        episode *p = realloc(m->eps, cap * sizeof *p);
        if (!p)
            return -1;
        m->eps = p;
        m->cap_eps = cap;
    }
    m->eps[m->n_eps++] = (episode){start_h, end_h, signal, amp};
    return 0;
}

static int event_name(const pdm_event *ev)
{
    switch (ev->type) {
    case PDM_EV_ERROR:
        return ev->u.error.error_id;
    case PDM_EV_MAINTENANCE:
        return ev->u.maintenance.component;
    case PDM_EV_FAILURE:
        return ev->u.failure.component;
    default:
        return 0;
    }
}

static int cmp_event(const void *a, const void *b)
{
    const pdm_event *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    int rx = pdm_ds_type_rank(x->type), ry = pdm_ds_type_rank(y->type);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    if (x->machine_id != y->machine_id)
        return x->machine_id < y->machine_id ? -1 : 1;
    return event_name(x) - event_name(y);
}

static int cmp_episode(const void *a, const void *b)
{
    const episode *x = a, *y = b;
    /* A total order: qsort is not stable, and the order in which drifts
     * add up must not depend on the C library. */
    if (x->start_h != y->start_h)
        return x->start_h < y->start_h ? -1 : 1;
    if (x->signal != y->signal)
        return x->signal - y->signal;
    if (x->end_h != y->end_h)
        return x->end_h < y->end_h ? -1 : 1;
    return (x->amp > y->amp) - (x->amp < y->amp);
}

static pdm_event make_event(pdm_event_type type, int32_t machine, int64_t ts, int name)
{
    pdm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.machine_id = machine;
    ev.ts = ts;
    if (type == PDM_EV_ERROR)
        ev.u.error.error_id = name;
    else if (type == PDM_EV_MAINTENANCE)
        ev.u.maintenance.component = name;
    else
        ev.u.failure.component = name;
    return ev;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* A failure of component k (0-based) at hour index fail_h: its drift and its
 * errors (those inside the data). */
static int plan_precursor(sim_machine *m, rng *r, int k, int64_t fail_h, int64_t hours,
                          int64_t start_ms)
{
    int weak = rng_unit(r) < WEAK_SHARE;
    double strength = weak ? rng_range(r, 0.0, 0.3) : rng_range(r, 0.7, 2.2);
    int64_t lead = 24 + (int64_t)(rng_unit(r) * 49);
    if (push_episode(m, fail_h - lead, fail_h, k, drift_sign[k] * strength))
        return -1;
    double p = 0.05 + 0.17 * strength;
    for (int e = 0; e < PDM_N_ERRORS; e++) {
        if (!(precursor_errors[k] & (1u << e)))
            continue;
        for (int t = 0; t < PRECURSOR_ERROR_TRIALS; t++) {
            if (rng_unit(r) >= p)
                continue;
            double u = rng_unit(r);
            int64_t h = fail_h - 1 - (int64_t)(u * u * PRECURSOR_ERROR_HOURS);
            if (h < 0 || h >= hours)
                continue;
            pdm_event ev =
                make_event(PDM_EV_ERROR, m->info.machine_id, start_ms + h * PDM_MS_PER_HOUR, e + 1);
            if (push_event(m, &ev))
                return -1;
        }
    }
    return 0;
}

static int plan_machine(pdm_sim *sim, int idx)
{
    const pdm_sim_params *p = &sim->p;
    sim_machine *m = &sim->machines[idx];
    int32_t id = idx + 1;
    rng r;
    int64_t end_ms = p->start_ms + p->hours * PDM_MS_PER_HOUR;
    int64_t last_replaced[PDM_N_COMPONENTS]; /* day numbers */

    rng_seed(&r, p->seed, (uint64_t)id, 1);
    rng_seed(&m->noise, p->seed, (uint64_t)id, 2);

    double u = rng_unit(&r);
    int model = 1;
    while (model < PDM_DATASET_MAX_MODEL && u >= model_share_cum[model - 1])
        model++;
    int age = (int)(rng_unit(&r) * 21);
    memset(&m->info, 0, sizeof m->info);
    m->info.type = PDM_EV_MACHINE;
    m->info.machine_id = id;
    m->info.u.machine.model = model;
    m->info.u.machine.age = age;
    double machine_factor = model_factor[model - 1] * (0.75 + age / 40.0);

    /* Day d's slot is d * DAY + 06:00. Simulate from WARMUP_DAYS before the
     * start to 3 days after the end (failures just after the end still
     * drift inside the data). */
    int64_t first_day = floor_div(p->start_ms - 6 * PDM_MS_PER_HOUR, DAY_MS) - WARMUP_DAYS;
    int64_t last_day = floor_div(end_ms - 6 * PDM_MS_PER_HOUR, DAY_MS) + 3;
    int phase = (int)(rng_unit(&r) * VISIT_EVERY_DAYS);
    for (int k = 0; k < PDM_N_COMPONENTS; k++)
        last_replaced[k] = first_day - (int64_t)(rng_unit(&r) * 120);

    for (int64_t d = first_day; d <= last_day; d++) {
        int64_t ts = d * DAY_MS + 6 * PDM_MS_PER_HOUR;
        int in_range = ts >= p->start_ms && ts < end_ms;
        int64_t hour_idx = floor_div(ts - p->start_ms, PDM_MS_PER_HOUR);
        unsigned replaced_today = 0;
        for (int k = 0; k < PDM_N_COMPONENTS; k++) {
            double days = (double)(d - last_replaced[k]);
            double wear = 0.25 + days / 60.0;
            if (rng_unit(&r) >= hazard_base[k] * machine_factor * wear)
                continue;
            replaced_today |= 1u << k;
            last_replaced[k] = d;
            if (ts >= p->start_ms - 3 * DAY_MS &&
                plan_precursor(m, &r, k, hour_idx, p->hours, p->start_ms))
                return -1;
            if (in_range) {
                pdm_event f = make_event(PDM_EV_FAILURE, id, ts, k + 1);
                pdm_event mt = make_event(PDM_EV_MAINTENANCE, id, ts, k + 1);
                if (push_event(m, &f) || push_event(m, &mt))
                    return -1;
            }
        }
        if (floor_div(d - phase, VISIT_EVERY_DAYS) * VISIT_EVERY_DAYS == d - phase) {
            for (int k = 0; k < PDM_N_COMPONENTS; k++) {
                double days = (double)(d - last_replaced[k]);
                double pr = days < 15 ? 0 : (days - 15) / 70.0;
                if (replaced_today & (1u << k) || rng_unit(&r) >= pr)
                    continue;
                last_replaced[k] = d;
                if (in_range) {
                    pdm_event mt = make_event(PDM_EV_MAINTENANCE, id, ts, k + 1);
                    if (push_event(m, &mt))
                        return -1;
                }
            }
        }
        if (ts < p->start_ms && d + 1 <= last_day &&
            (d + 1) * DAY_MS + 6 * PDM_MS_PER_HOUR >= p->start_ms) {
            /* The last day before the data: what is installed now is history. */
            for (int k = 0; k < PDM_N_COMPONENTS; k++) {
                pdm_event mt = make_event(PDM_EV_MAINTENANCE, id,
                                          last_replaced[k] * DAY_MS + 6 * PDM_MS_PER_HOUR, k + 1);
                if (push_event(m, &mt))
                    return -1;
            }
        }
    }
    /* Background errors: a Poisson process per type, in hours. */
    for (int e = 0; e < PDM_N_ERRORS; e++) {
        double mean_gap = 8760.0 / error_rate_year[e];
        for (double t = rng_exp(&r, mean_gap); t < (double)p->hours; t += rng_exp(&r, mean_gap)) {
            pdm_event ev =
                make_event(PDM_EV_ERROR, id, p->start_ms + (int64_t)t * PDM_MS_PER_HOUR, e + 1);
            if (push_event(m, &ev))
                return -1;
        }
    }
    /* Drifts that lead to nothing. */
    for (int s = 0; s < N_SIGNALS; s++) {
        double mean_gap = 8760.0 / SPURIOUS_PER_YEAR;
        for (double t = rng_exp(&r, mean_gap); t < (double)p->hours; t += rng_exp(&r, mean_gap)) {
            int64_t len = 12 + (int64_t)(rng_unit(&r) * 61);
            double amp = drift_sign[s] * rng_range(&r, 0.3, 1.6);
            if (push_episode(m, (int64_t)t, (int64_t)t + len, s, amp))
                return -1;
        }
    }

    /* Order, and drop same-hour repeats (a failure replacement and a visit,
     * two errors of one type): the loader would count them as duplicates. */
    if (m->n_events > 1)
        qsort(m->events, m->n_events, sizeof *m->events, cmp_event);
    size_t kept = 0;
    for (size_t i = 0; i < m->n_events; i++) {
        if (kept && cmp_event(&m->events[kept - 1], &m->events[i]) == 0)
            continue;
        m->events[kept++] = m->events[i];
    }
    m->n_events = kept;
    while (m->first_in_range < kept && m->events[m->first_in_range].ts < p->start_ms)
        m->first_in_range++;
    m->cursor = m->first_in_range;
    if (m->n_eps > 1)
        qsort(m->eps, m->n_eps, sizeof *m->eps, cmp_episode);
    return 0;
}

void pdm_sim_params_init(pdm_sim_params *p)
{
    memset(p, 0, sizeof *p);
    p->machines = 100;
    p->hours = 8760;
    p->start_ms = INT64_C(1420092000000); /* 2015-01-01 06:00:00 UTC */
    p->seed = 1;
}

int pdm_sim_params_check(const pdm_sim_params *p, char *errstr, size_t errlen)
{
    if (p->machines < 1 || p->machines > PDM_SIM_MAX_MACHINES)
        return pdm_err(errstr, errlen, "machines must be 1..%d, got %d", PDM_SIM_MAX_MACHINES,
                       p->machines);
    if (p->hours < 1 || p->hours > PDM_SIM_MAX_HOURS)
        return pdm_err(errstr, errlen, "hours must be 1..%lld, got %lld",
                       (long long)PDM_SIM_MAX_HOURS, (long long)p->hours);
    /* Years 1900..9000 keep every timestamp printable as YYYY-MM-DD. */
    if (p->start_ms % PDM_MS_PER_HOUR != 0 || p->start_ms < INT64_C(-2208988800000) ||
        p->start_ms > INT64_C(221845392000000))
        return pdm_err(errstr, errlen, "start must be a whole hour between 1900 and 9000");
    return 0;
}

pdm_sim *pdm_sim_new(const pdm_sim_params *p, char *errstr, size_t errlen)
{
    pdm_sim *sim = NULL, *ret = NULL;

    if (pdm_sim_params_check(p, errstr, errlen))
        goto out;
    sim = calloc(1, sizeof *sim);
    if (!sim || !(sim->machines = calloc((size_t)p->machines, sizeof *sim->machines)))
        goto oom;
    sim->p = *p;
    size_t n_history = 0;
    for (int i = 0; i < p->machines; i++) {
        if (plan_machine(sim, i))
            goto oom;
        n_history += sim->machines[i].first_in_range;
    }
    sim->n_prelude = (size_t)p->machines + n_history;
    sim->prelude = malloc(sim->n_prelude * sizeof *sim->prelude);
    if (!sim->prelude)
        goto oom;
    /* Machine info carries the earliest timestamp: the oldest history row. */
    int64_t earliest = p->start_ms;
    size_t n = (size_t)p->machines;
    for (int i = 0; i < p->machines; i++) {
        sim_machine *m = &sim->machines[i];
        for (size_t j = 0; j < m->first_in_range; j++) {
            sim->prelude[n++] = m->events[j];
            if (m->events[j].ts < earliest)
                earliest = m->events[j].ts;
        }
    }
    for (int i = 0; i < p->machines; i++) {
        sim->machines[i].info.ts = earliest;
        sim->prelude[i] = sim->machines[i].info;
    }
    if (n_history > 1)
        qsort(sim->prelude + p->machines, n_history, sizeof *sim->prelude, cmp_event);
    sim->phase = PHASE_PRELUDE;
    sim->stage = 1;
    ret = sim;
    sim = NULL;
    goto out;
oom:
    pdm_err(errstr, errlen, "out of memory planning %d machines x %lld hours", p->machines,
            (long long)p->hours);
out:
    pdm_sim_destroy(sim);
    return ret;
}

void pdm_sim_destroy(pdm_sim *sim)
{
    if (!sim)
        return;
    if (sim->machines) {
        for (int i = 0; i < sim->p.machines; i++) {
            free(sim->machines[i].events);
            free(sim->machines[i].eps);
        }
    }
    free(sim->machines);
    free(sim->prelude);
    free(sim);
}

void pdm_sim_machine_telemetry(pdm_sim *sim, int idx, int64_t h, pdm_event *out)
{
    sim_machine *m = &sim->machines[idx];
    double v[N_SIGNALS];
    for (int s = 0; s < N_SIGNALS; s++)
        v[s] = signal_mean[s] + NOISE_SD_FACTOR * signal_sd[s] * rng_gauss(&m->noise);
    while (m->ep_lo < m->n_eps && m->eps[m->ep_lo].end_h <= h)
        m->ep_lo++;
    for (size_t i = m->ep_lo; i < m->n_eps && m->eps[i].start_h <= h; i++) {
        const episode *e = &m->eps[i];
        if (e->end_h <= h)
            continue;
        double ramp = (double)(h - e->start_h + 1) / (double)(e->end_h - e->start_h);
        v[e->signal] += e->amp * signal_sd[e->signal] * ramp;
    }
    memset(out, 0, sizeof *out);
    out->type = PDM_EV_TELEMETRY;
    out->machine_id = m->info.machine_id;
    out->ts = sim->p.start_ms + h * PDM_MS_PER_HOUR;
    for (int s = 0; s < N_SIGNALS; s++)
        v[s] = pdm_ds_quantize(v[s] < 1.0 ? 1.0 : v[s] > 999.0 ? 999.0 : v[s]);
    out->u.telemetry.volt = v[0];
    out->u.telemetry.rotate = v[1];
    out->u.telemetry.pressure = v[2];
    out->u.telemetry.vibration = v[3];
}

int pdm_sim_next(pdm_sim *sim, pdm_event *out)
{
    if (sim->phase == PHASE_PRELUDE) {
        if (sim->prelude_pos < sim->n_prelude) {
            *out = sim->prelude[sim->prelude_pos++];
            return 1;
        }
        sim->phase = PHASE_HOURS;
    }
    while (sim->phase == PHASE_HOURS) {
        if (sim->machine == sim->p.machines) {
            sim->machine = 0;
            if (++sim->stage > 4) {
                sim->stage = 1;
                if (++sim->hour == sim->p.hours) {
                    sim->phase = PHASE_DONE;
                    break;
                }
            }
        }
        if (sim->stage == 4) {
            pdm_sim_machine_telemetry(sim, sim->machine++, sim->hour, out);
            return 1;
        }
        /* Stages 1..3: this machine's maintenance, errors or failures now. */
        sim_machine *m = &sim->machines[sim->machine];
        int64_t ts = sim->p.start_ms + sim->hour * PDM_MS_PER_HOUR;
        if (m->cursor < m->n_events && m->events[m->cursor].ts == ts &&
            pdm_ds_type_rank(m->events[m->cursor].type) == sim->stage) {
            *out = m->events[m->cursor++];
            return 1;
        }
        sim->machine++;
    }
    return 0;
}

int pdm_sim_machines(const pdm_sim *sim)
{
    return sim->p.machines;
}
int64_t pdm_sim_hours(const pdm_sim *sim)
{
    return sim->p.hours;
}
int64_t pdm_sim_start(const pdm_sim *sim)
{
    return sim->p.start_ms;
}

const pdm_event *pdm_sim_machine_info(const pdm_sim *sim, int m)
{
    return &sim->machines[m].info;
}

const pdm_event *pdm_sim_machine_events(const pdm_sim *sim, int m, size_t *n)
{
    *n = sim->machines[m].n_events;
    return sim->machines[m].events;
}
