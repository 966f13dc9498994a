/* Differential test of monitor/'s live performance (pdm_perf): random
 * streams of observe, observe_batch, alert, incident, incident_end and
 * failure calls, in event-time order per machine, interleaved across
 * machines, against a reference model written here from the rules of
 * pdm_monitor.h the plain way (every machine kept forever with its clock,
 * its last failure and every alert it ever had, the old behaviour). After
 * every call every figure of pdm_perf_get must match the model's: the
 * counts all-time and rolling, pending, alerts, failures, the overall
 * event time and the lead times; and `machines` must be the number of
 * machines that still matter (an alert not retired, or a failure at the
 * machine's newest event time): the tracker keeps no other.
 * Some seeds draw ids that all share one home slot in the tracker's hash
 * table (multiples of 4096), so removals shift long probe clusters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_monitor.h"

#define H_MS PDM_MS_PER_HOUR
#define DAY (24 * H_MS)
#define MAX_DAYS 4096 /* the streams stay below this many days of event time */
#define MAX_MACHINES 48
#define LEAD_TOP 720 /* the tracker's median is capped at 720 h */

/* ---- the reference model ----------------------------------------------- */

typedef struct {
    int64_t t, until;
    int claimed, live;
} ref_alert;

typedef struct {
    int32_t id;
    int64_t clock, last_failure;
    ref_alert *alerts; /* every alert ever added, live or not */
    size_t n, cap;
} ref_machine;

enum { TP, FP, CAUGHT, MISSED };

typedef struct {
    int64_t horizon;
    int window_days;
    ref_machine m[MAX_MACHINES];
    size_t n_m;
    int64_t clock;
    uint64_t all[4], pending, alerts, failures;
    uint64_t (*by_day)[4]; /* counts by the day of the alert or failure */
    double *leads;         /* lead times in hours, sorted ascending */
    size_t n_leads;
    double lead_sum;
} ref_model;

static ref_machine *ref_get(ref_model *r, int32_t id)
{
    for (size_t i = 0; i < r->n_m; i++)
        if (r->m[i].id == id)
            return &r->m[i];
    assert_true(r->n_m < MAX_MACHINES);
    ref_machine *m = &r->m[r->n_m++];
    *m = (ref_machine){.id = id, .clock = INT64_MIN, .last_failure = INT64_MIN};
    return m;
}

static void ref_count(ref_model *r, int outcome, int64_t t)
{
    assert_true(t >= 0 && t / DAY < MAX_DAYS);
    r->all[outcome]++;
    r->by_day[t / DAY][outcome]++;
}

static void ref_advance(ref_model *r, ref_machine *m, int64_t ts)
{
    m->clock = ts > m->clock ? ts : m->clock;
    r->clock = ts > r->clock ? ts : r->clock;
    for (size_t k = 0; k < m->n; k++) {
        ref_alert *a = &m->alerts[k];
        if (!a->live || a->until >= m->clock)
            continue;
        a->live = 0;
        if (!a->claimed) {
            ref_count(r, FP, a->t);
            r->pending--;
        }
    }
}

static ref_alert *ref_live_at(ref_machine *m, int64_t t)
{
    for (size_t k = 0; k < m->n; k++)
        if (m->alerts[k].live && m->alerts[k].t == t)
            return &m->alerts[k];
    return NULL;
}

static void ref_alert_add(ref_model *r, ref_machine *m, int64_t t, int64_t until)
{
    ref_advance(r, m, t);
    if (until < m->clock) { /* its window is over already */
        r->alerts++;
        ref_count(r, FP, t);
        return;
    }
    if (ref_live_at(m, t))
        return; /* a repeat */
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 8;
        m->alerts = realloc(m->alerts, m->cap * sizeof *m->alerts);
        assert_non_null(m->alerts);
    }
    m->alerts[m->n++] = (ref_alert){.t = t, .until = until, .live = 1};
    r->alerts++;
    r->pending++;
}

static void ref_incident_end(ref_model *r, ref_machine *m, int64_t o, int64_t e, int world)
{
    ref_alert *a = ref_live_at(m, o);
    if (!a) {
        ref_alert_add(r, m, o, INT64_MAX);
        a = ref_live_at(m, o);
    }
    if (!a)
        return;
    a->until = world ? e : e + r->horizon;
    ref_advance(r, m, e);
}

static void ref_failure(ref_model *r, ref_machine *m, int64_t f)
{
    ref_advance(r, m, f);
    if (f == m->last_failure)
        return;
    m->last_failure = f;
    r->failures++;
    int64_t earliest = INT64_MAX;
    for (size_t k = 0; k < m->n; k++) {
        ref_alert *a = &m->alerts[k];
        if (!a->live || !(a->t < f && f <= a->until))
            continue;
        earliest = a->t < earliest ? a->t : earliest;
        if (!a->claimed) {
            a->claimed = 1;
            r->pending--;
            ref_count(r, TP, a->t);
        }
    }
    ref_count(r, earliest != INT64_MAX ? CAUGHT : MISSED, f);
    if (earliest == INT64_MAX)
        return;
    double hours = (double)(f - earliest) / (double)H_MS;
    size_t at = r->n_leads++;
    r->leads = realloc(r->leads, r->n_leads * sizeof *r->leads);
    assert_non_null(r->leads);
    while (at > 0 && r->leads[at - 1] > hours) {
        r->leads[at] = r->leads[at - 1];
        at--;
    }
    r->leads[at] = hours;
    r->lead_sum += hours;
}

/* Machines that still matter: an alert not retired, or a failure at the
 * newest event time (a second component of it may follow). */
static size_t ref_held(const ref_model *r)
{
    size_t held = 0;
    for (size_t i = 0; i < r->n_m; i++) {
        const ref_machine *m = &r->m[i];
        int live = 0;
        for (size_t k = 0; k < m->n && !live; k++)
            live = m->alerts[k].live;
        held += live || (m->last_failure != INT64_MIN && m->last_failure >= m->clock);
    }
    return held;
}

/* ---- comparing ------------------------------------------------------------ */

typedef struct {
    unsigned seed;
    int step;
    const char *call;
} where;

#define SAME(what, got, want)                                                                      \
    do {                                                                                           \
        if ((got) != (want))                                                                       \
            fail_msg("seed %u step %d (%s): %s is %lld, the model says %lld", w->seed, w->step,    \
                     w->call, what, (long long)(got), (long long)(want));                          \
    } while (0)

static void same_ratio(const where *w, const char *what, double got, double want)
{
    if (isnan(got) != isnan(want) || (!isnan(want) && fabs(got - want) > 1e-9 * (1 + fabs(want))))
        fail_msg("seed %u step %d (%s): %s is %g, the model says %g", w->seed, w->step, w->call,
                 what, got, want);
}

static void same_counts(const where *w, const char *what, const pdm_perf_counts *c,
                        const uint64_t want[4])
{
    char name[64];
    const uint64_t got[4] = {c->tp, c->fp, c->caught, c->missed};
    const char *names[4] = {"tp", "fp", "caught", "missed"};
    for (int o = 0; o < 4; o++) {
        snprintf(name, sizeof name, "%s.%s", what, names[o]);
        SAME(name, got[o], want[o]);
    }
    double precision = want[TP] + want[FP] ? (double)want[TP] / (double)(want[TP] + want[FP]) : NAN;
    double recall = want[CAUGHT] + want[MISSED]
                        ? (double)want[CAUGHT] / (double)(want[CAUGHT] + want[MISSED])
                        : NAN;
    same_ratio(w, "precision", c->precision, precision);
    same_ratio(w, "recall", c->recall, recall);
}

static void compare(const where *w, pdm_perf *p, const ref_model *r)
{
    pdm_perf_stats s;
    pdm_perf_get(p, &s);
    same_counts(w, "all", &s.all, r->all);
    uint64_t rolling[4] = {0};
    if (r->clock != INT64_MIN) {
        int64_t newest = r->clock / DAY;
        for (int64_t d = newest - r->window_days + 1; d <= newest; d++)
            for (int o = 0; d >= 0 && o < 4; o++)
                rolling[o] += r->by_day[d][o];
    }
    same_counts(w, "rolling", &s.rolling, rolling);
    SAME("pending", s.pending, r->pending);
    SAME("alerts", s.alerts, r->alerts);
    SAME("failures", s.failures, r->failures);
    SAME("event_time_ms", s.event_time_ms, r->clock);
    SAME("evicted", s.evicted, 0);
    SAME("machines", s.machines, ref_held(r));
    SAME("lead_times", s.lead_times, r->n_leads);
    double mean = r->n_leads ? r->lead_sum / (double)r->n_leads : NAN, median = NAN;
    if (r->n_leads) {
        double mid = r->leads[(r->n_leads + 1) / 2 - 1];
        median = mid < LEAD_TOP ? floor(mid) : LEAD_TOP;
    }
    same_ratio(w, "lead mean", s.lead_time_mean_hours, mean);
    same_ratio(w, "lead median", s.lead_time_median_hours, median);
}

/* ---- the random streams ------------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n) /* 0..n-1; xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

typedef struct {
    int32_t id;
    int64_t now;     /* its event time so far: its calls never go back */
    int64_t open[4]; /* incidents opened and not ended */
    int n_open;
} gen_machine;

/* The machine's next event time: mostly minutes on, sometimes the same
 * ts, sometimes past a horizon or a day boundary. */
static int64_t step_on(gen_machine *g)
{
    uint32_t kind = rnd(20);
    if (kind < 4)
        return g->now;
    if (kind < 18)
        return g->now += (int64_t)rnd(120) * 60000;
    return g->now += (int64_t)(1 + rnd(72)) * H_MS;
}

static void run_seed(unsigned seed, int steps)
{
    rng_state = 0x9e3779b97f4a7c15ull * (seed + 1);
    char err[PDM_ERRSTR_SIZE];
    pdm_perf_options o;
    pdm_perf_options_init(&o);
    o.horizon_ms = (rnd(2) ? 24 : 5) * H_MS;
    o.window_days = 1 + (int)rnd(5);
    pdm_perf *p = pdm_perf_new(&o, err, sizeof err);
    assert_non_null(p);
    ref_model *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->horizon = o.horizon_ms;
    r->window_days = o.window_days;
    r->clock = INT64_MIN;
    r->by_day = calloc(MAX_DAYS, sizeof *r->by_day);
    assert_non_null(r->by_day);

    gen_machine gm[MAX_MACHINES];
    int n_gm = 1 + (int)rnd(MAX_MACHINES);
    int clustered = seed % 3 == 0;
    for (int i = 0; i < n_gm; i++) {
        gm[i] =
            (gen_machine){.id = clustered ? (int32_t)(i + 1) * 4096 : (int32_t)(1 + rnd(1u << 30)),
                          .now = 10 * DAY + (int64_t)rnd(2 * DAY)};
        for (int j = 0; j < i; j++)
            if (gm[j].id == gm[i].id)
                gm[i].id++; /* distinct ids */
    }
    where w = {.seed = seed};
    for (w.step = 0; w.step < steps; w.step++) {
        gen_machine *g = &gm[rnd((uint32_t)n_gm)];
        uint32_t op = rnd(100);
        if (op < 30) {
            w.call = "observe";
            int64_t ts = step_on(g);
            assert_int_equal(pdm_perf_observe(p, g->id, ts), 0);
            ref_advance(r, ref_get(r, g->id), ts);
        } else if (op < 42) {
            w.call = "observe_batch";
            int32_t ids[8];
            int64_t ts[8];
            unsigned char alert[8];
            int with_alerts = rnd(4) != 0;
            size_t n = 1 + rnd(8);
            for (size_t i = 0; i < n; i++) {
                gen_machine *b = &gm[rnd((uint32_t)n_gm)];
                ids[i] = b->id;
                ts[i] = step_on(b);
                alert[i] = with_alerts && rnd(5) == 0;
            }
            assert_int_equal(pdm_perf_observe_batch(p, ids, ts, with_alerts ? alert : NULL, n), 0);
            for (size_t i = 0; i < n; i++) {
                ref_machine *m = ref_get(r, ids[i]);
                if (alert[i])
                    ref_alert_add(r, m, ts[i], ts[i] + r->horizon);
                else
                    ref_advance(r, m, ts[i]);
            }
        } else if (op < 58) {
            w.call = "alert";
            int64_t t = step_on(g);
            assert_int_equal(pdm_perf_alert(p, g->id, t), 0);
            ref_alert_add(r, ref_get(r, g->id), t, t + r->horizon);
        } else if (op < 66) {
            w.call = "incident";
            int64_t t = step_on(g);
            assert_int_equal(pdm_perf_incident(p, g->id, t), 0);
            ref_alert_add(r, ref_get(r, g->id), t, INT64_MAX);
            if (g->n_open < 4)
                g->open[g->n_open++] = t;
        } else if (op < 76) {
            w.call = "incident_end";
            int64_t e = step_on(g), opened;
            if (g->n_open > 0 && rnd(5) != 0) {
                int k = (int)rnd((uint32_t)g->n_open);
                opened = g->open[k];
                g->open[k] = g->open[--g->n_open];
            } else { /* one opened before the tracker was (not seen) */
                opened = e - (int64_t)rnd(3 * DAY);
                opened = opened < 0 ? 0 : opened;
            }
            int world = (int)rnd(2);
            assert_int_equal(pdm_perf_incident_end(p, g->id, opened, e, world), 0);
            ref_incident_end(r, ref_get(r, g->id), opened, e, world);
        } else {
            w.call = "failure";
            int64_t f = step_on(g);
            int components = rnd(3) == 0 ? 2 : 1;
            for (int c = 0; c < components; c++) {
                assert_int_equal(pdm_perf_failure(p, g->id, f), 0);
                ref_failure(r, ref_get(r, g->id), f);
                compare(&w, p, r);
            }
        }
        compare(&w, p, r);
    }
    pdm_perf_destroy(p);
    for (size_t i = 0; i < r->n_m; i++)
        free(r->m[i].alerts);
    free(r->leads);
    free(r->by_day);
    free(r);
}

/* PDM_PERF_SEEDS=N runs N seeds instead of the default. */
static void test_perf_matches_reference(void **state)
{
    (void)state;
    const char *env = getenv("PDM_PERF_SEEDS");
    unsigned seeds = env ? (unsigned)strtoul(env, NULL, 10) : 300;
    for (unsigned seed = 1; seed <= seeds; seed++)
        run_seed(seed, 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perf_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
