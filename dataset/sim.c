/* sim.c: a synthetic fleet shaped like the public PdM data set: the
 * simulator's object, its parameters and its output in replay order.
 *
 * The fleet is planned machine by machine when the simulator is created (its
 * machine info, maintenance, failures, errors and the drifts of its signals)
 * by one of two planners, chosen by the difficulty: sim_realistic.c (the
 * default, calibrated against the public data) or sim_hard.c (the fleet
 * before that calibration, noisy and weak precursors). Telemetry is drawn as
 * it is read: Gaussian noise around the profile's means, plus the drifts,
 * rounded to 15 significant digits (so CSV text round-trips).
 *
 * Determinism: every machine has two xoshiro256** streams seeded by
 * splitmix64 from (seed, machine): one plans its events when the simulator
 * is created, one draws its telemetry noise hour after hour. Output is thus
 * the same whether read hour-major (pdm_sim_next) or machine-major (the CSV
 * writer), and the same on every platform (see sim_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"
#include "pdm_common.h"
#include "pdm_dataset.h"
#include "sim_internal.h"

typedef enum { PHASE_PRELUDE = 0, PHASE_HOURS, PHASE_DONE } sim_phase;

struct pdm_sim {
    pdm_sim_params p;
    sim_profile profile;
    int64_t shift_h[PDM_SIM_MAX_SHIFTS]; /* the first hour each shift acts on */
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

int sim_push_event(sim_machine *m, const pdm_event *ev)
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

int sim_push_episode(sim_machine *m, int64_t start_h, int64_t end_h, int signal, double amp,
                     sim_episode_shape shape)
{
    if (m->n_eps == m->cap_eps) {
        size_t cap = m->cap_eps ? m->cap_eps * 2 : 16;
        sim_episode *p = realloc(m->eps, cap * sizeof *p);
        if (!p)
            return -1;
        m->eps = p;
        m->cap_eps = cap;
    }
    m->eps[m->n_eps++] = (sim_episode){start_h, end_h, signal, amp, shape};
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
    const sim_episode *x = a, *y = b;
    /* A total order: qsort is not stable, and the order in which drifts
     * add up must not depend on the C library. */
    if (x->start_h != y->start_h)
        return x->start_h < y->start_h ? -1 : 1;
    if (x->signal != y->signal)
        return x->signal - y->signal;
    if (x->end_h != y->end_h)
        return x->end_h < y->end_h ? -1 : 1;
    if (x->amp != y->amp)
        return (x->amp > y->amp) - (x->amp < y->amp);
    return (int)x->shape - (int)y->shape;
}

pdm_event sim_make_event(pdm_event_type type, int32_t machine, int64_t ts, int name)
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

void sim_finish_machine(sim_machine *m, int64_t start_ms)
{
    if (m->n_events > 1)
        qsort(m->events, m->n_events, sizeof *m->events, cmp_event);
    size_t kept = 0;
    for (size_t i = 0; i < m->n_events; i++) {
        if (kept && cmp_event(&m->events[kept - 1], &m->events[i]) == 0)
            continue;
        m->events[kept++] = m->events[i];
    }
    m->n_events = kept;
    while (m->first_in_range < kept && m->events[m->first_in_range].ts < start_ms)
        m->first_in_range++;
    m->cursor = m->first_in_range;
    if (m->n_eps > 1)
        qsort(m->eps, m->n_eps, sizeof *m->eps, cmp_episode);
}

void pdm_sim_params_init(pdm_sim_params *p)
{
    memset(p, 0, sizeof *p);
    p->machines = 100;
    p->hours = 8760;
    p->start_ms = INT64_C(1420092000000); /* 2015-01-01 06:00:00 UTC */
    p->seed = 1;
    p->difficulty = PDM_SIM_REALISTIC;
}

static const char *const difficulty_names[] = {"realistic", "hard"};

const char *pdm_sim_difficulty_name(pdm_sim_difficulty d)
{
    return (unsigned)d < sizeof difficulty_names / sizeof *difficulty_names ? difficulty_names[d]
                                                                            : "?";
}

int pdm_sim_difficulty_parse(const char *s, pdm_sim_difficulty *out)
{
    for (size_t i = 0; i < sizeof difficulty_names / sizeof *difficulty_names; i++) {
        if (s && strcmp(s, difficulty_names[i]) == 0) {
            *out = (pdm_sim_difficulty)i;
            return 0;
        }
    }
    return -1;
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
    if (p->difficulty != PDM_SIM_REALISTIC && p->difficulty != PDM_SIM_HARD)
        return pdm_err(errstr, errlen, "difficulty must be realistic or hard, got %d",
                       (int)p->difficulty);
    return sim_regime_check(p, errstr, errlen);
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
    int hard = p->difficulty == PDM_SIM_HARD;
    if (hard)
        sim_profile_hard(&sim->profile);
    else
        sim_profile_realistic(&sim->profile);
    for (int i = 0; i < p->n_shifts; i++) {
        int64_t d = p->shifts[i].at_ms - p->start_ms;
        sim->shift_h[i] = d <= 0 ? 0 : (d + PDM_MS_PER_HOUR - 1) / PDM_MS_PER_HOUR;
    }
    size_t n_history = 0;
    for (int i = 0; i < p->machines; i++) {
        sim_machine *m = &sim->machines[i];
        if (hard ? sim_plan_hard(p, m, i) : sim_plan_realistic(p, m, i))
            goto oom;
        sim_churn_interval(p, i + 1, &m->join_h, &m->leave_h);
        if (m->join_h > 0 || m->leave_h < p->hours)
            sim_churn_filter(m, p->start_ms, m->join_h, m->leave_h);
        m->shift_mask = sim_shift_mask(p, i + 1);
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
    const sim_profile *pr = &sim->profile;
    double v[SIM_N_SIGNALS];
    for (int s = 0; s < SIM_N_SIGNALS; s++)
        v[s] = pr->mean[s] + pr->noise_sd[s] * sim_rng_gauss(&m->noise);
    while (m->ep_lo < m->n_eps && m->eps[m->ep_lo].end_h <= h)
        m->ep_lo++;
    for (size_t i = m->ep_lo; i < m->n_eps && m->eps[i].start_h <= h; i++) {
        const sim_episode *e = &m->eps[i];
        if (e->end_h <= h)
            continue;
        if (e->shape == SIM_STEP) {
            v[e->signal] += e->amp * pr->unit_sd[e->signal];
            continue;
        }
        double ramp = (double)(h - e->start_h + 1) / (double)(e->end_h - e->start_h);
        v[e->signal] += e->amp * pr->unit_sd[e->signal] * ramp;
    }
    for (int i = 0; m->shift_mask && i < sim->p.n_shifts; i++) {
        const pdm_sim_shift *sh = &sim->p.shifts[i];
        if (m->shift_mask & (1u << i) && h >= sim->shift_h[i])
            v[sh->signal] = v[sh->signal] * sh->scale + sh->offset;
    }
    memset(out, 0, sizeof *out);
    out->type = PDM_EV_TELEMETRY;
    out->machine_id = m->info.machine_id;
    out->ts = sim->p.start_ms + h * PDM_MS_PER_HOUR;
    for (int s = 0; s < SIM_N_SIGNALS; s++)
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
            int m = sim->machine++;
            pdm_sim_machine_telemetry(sim, m, sim->hour, out);
            if (pdm_sim_machine_active(sim, m, sim->hour))
                return 1;
            continue;
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

int pdm_sim_machine_active(const pdm_sim *sim, int m, int64_t h)
{
    return h >= sim->machines[m].join_h && h < sim->machines[m].leave_h;
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
