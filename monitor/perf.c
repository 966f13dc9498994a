/* perf.c: live precision and recall of the alerts, from ground truth that
 * arrives later in the same stream (rules in pdm_monitor.h).
 *
 * Each machine keeps its event-time clock, its last failure time and its
 * alerts of the last horizon, oldest first: an alert leaves the list when
 * the clock passes t + H (becoming a false positive if no failure claimed
 * it), so the state stays bounded by the alert rate times the horizon.
 * Machines are found through an open-addressing table of indices.
 * Rolling counts live in one bucket per day of event time, a ring of
 * window_days buckets, reused as the newest event time moves on.
 * Machines are bounded by max_machines: ids come from untrusted producers
 * and any positive int32 is valid. At the bound a new machine evicts, in
 * one O(n log n) pass, the eighth of the machines seen longest ago (their
 * clocks oldest), so the pass is amortised over n/8 new machines.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pdm_monitor.h"

#define MS_PER_DAY (24 * PDM_MS_PER_HOUR)

enum { OUT_TP, OUT_FP, OUT_CAUGHT, OUT_MISSED }; /* what count() counts */

typedef struct {
    int64_t t;     /* the alert's time, or the incident's opening */
    int64_t until; /* failures f with t < f <= until match it: t + H for
                    * an alert; INT64_MAX while an incident is open */
    int claimed;   /* a failure made it a true positive */
} alert_entry;

typedef struct {
    int32_t id;
    int64_t clock;        /* newest event time of the machine */
    int64_t last_failure; /* INT64_MIN if none */
    alert_entry *alerts;  /* t ascending, all with until >= clock */
    size_t n_alerts, cap_alerts;
} machine;

/* Lead times are kept as a histogram of whole hours (the last bucket holds
 * the longer ones), enough for a median to the hour in constant memory. */
#define LEAD_BUCKETS 721 /* 0..719 h, then 720 h and more */

typedef struct {
    int64_t day; /* which day the bucket holds now */
    uint64_t tp, fp, caught, missed;
} day_bucket;

struct pdm_perf {
    pthread_mutex_t lock;
    pdm_perf_options opt;
    machine *machines;
    size_t n_machines, cap_machines;
    int32_t *slots; /* index into machines, -1 empty; size a power of two */
    size_t n_slots;
    int64_t clock; /* newest event time overall */
    uint64_t tp, fp, caught, missed, pending, alerts, failures, evicted;
    day_bucket *days; /* window_days buckets */
    uint64_t lead_n, lead_hist[LEAD_BUCKETS];
    double lead_sum_h;
};

void pdm_perf_options_init(pdm_perf_options *o)
{
    o->horizon_ms = 24 * PDM_MS_PER_HOUR;
    o->window_days = 30;
    o->max_machines = 1000000;
}

pdm_perf *pdm_perf_new(const pdm_perf_options *opts, char *errstr, size_t errlen)
{
    pdm_perf_options o;
    if (opts)
        o = *opts;
    else
        pdm_perf_options_init(&o);
    if (o.horizon_ms <= 0 || o.window_days < 1 || o.window_days > 3660 || o.max_machines < 8 ||
        o.max_machines > INT32_MAX / 4) {
        pdm_err(errstr, errlen,
                "perf: the horizon must be positive, the window 1..3660 days and the machines "
                "8..%d",
                INT32_MAX / 4);
        return NULL;
    }
    pdm_perf *p = calloc(1, sizeof *p);
    if (!p)
        goto oom;
    p->days = malloc((size_t)o.window_days * sizeof *p->days);
    p->n_slots = 64;
    p->slots = malloc(p->n_slots * sizeof *p->slots);
    if (!p->days || !p->slots)
        goto oom;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p->days);
        free(p->slots);
        free(p);
        pdm_err(errstr, errlen, "perf: cannot create a mutex");
        return NULL;
    }
    for (int i = 0; i < o.window_days; i++)
        p->days[i] = (day_bucket){.day = INT64_MIN};
    for (size_t i = 0; i < p->n_slots; i++)
        p->slots[i] = -1;
    p->opt = o;
    p->clock = INT64_MIN;
    return p;
oom:
    if (p) {
        free(p->days);
        free(p->slots);
        free(p);
    }
    pdm_err(errstr, errlen, "perf: out of memory");
    return NULL;
}

void pdm_perf_destroy(pdm_perf *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_machines; i++)
        free(p->machines[i].alerts);
    free(p->machines);
    free(p->slots);
    free(p->days);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* ---- machines --------------------------------------------------------- */

static size_t slot_of(int32_t id, size_t n_slots)
{
    uint32_t h = (uint32_t)id * 2654435761u; /* Knuth's multiplicative hash */
    return (size_t)h & (n_slots - 1);
}

static int grow_slots(pdm_perf *p)
{
    size_t n = p->n_slots * 2;
    int32_t *s = malloc(n * sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++)
        s[i] = -1;
    for (size_t i = 0; i < p->n_machines; i++) {
        size_t k = slot_of(p->machines[i].id, n);
        while (s[k] >= 0)
            k = (k + 1) & (n - 1);
        s[k] = (int32_t)i;
    }
    free(p->slots);
    p->slots = s;
    p->n_slots = n;
    return 0;
}

static int cmp_clock(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Rebuilds the slots from the machines array (after an eviction). */
static void rebuild_slots(pdm_perf *p)
{
    for (size_t i = 0; i < p->n_slots; i++)
        p->slots[i] = -1;
    for (size_t i = 0; i < p->n_machines; i++) {
        size_t k = slot_of(p->machines[i].id, p->n_slots);
        while (p->slots[k] >= 0)
            k = (k + 1) & (p->n_slots - 1);
        p->slots[k] = (int32_t)i;
    }
}

static void count(pdm_perf *p, int o, int64_t t);

/* Evicts the eighth of the machines whose clocks are oldest (ties: the
 * first in the array). -1 out of memory (nothing evicted). */
static int evict_oldest(pdm_perf *p)
{
    size_t n = p->n_machines, k = n / 8 ? n / 8 : 1;
    int64_t *clocks = malloc(n * sizeof *clocks);
    if (!clocks)
        return -1;
    for (size_t i = 0; i < n; i++)
        clocks[i] = p->machines[i].clock;
    qsort(clocks, n, sizeof *clocks, cmp_clock);
    int64_t cut = clocks[k - 1];
    size_t below = 0;
    for (size_t i = 0; i < n; i++)
        below += p->machines[i].clock < cut;
    free(clocks);
    size_t at_cut = k - below, kept = 0; /* evicted with clock == cut */
    for (size_t i = 0; i < n; i++) {
        machine *m = &p->machines[i];
        int go = m->clock < cut || (m->clock == cut && at_cut > 0);
        if (!go) {
            p->machines[kept++] = *m;
            continue;
        }
        if (m->clock == cut)
            at_cut--;
        for (size_t a = 0; a < m->n_alerts; a++) {
            if (m->alerts[a].claimed)
                continue;
            p->pending--;
            if (m->alerts[a].until < p->clock) /* its window is over: as advance() */
                count(p, OUT_FP, m->alerts[a].t);
        }
        free(m->alerts);
        p->evicted++;
    }
    p->n_machines = kept;
    rebuild_slots(p);
    return 0;
}

/* The machine's entry, created if new; NULL on out of memory. */
static machine *machine_get(pdm_perf *p, int32_t id)
{
    size_t k = slot_of(id, p->n_slots);
    while (p->slots[k] >= 0) {
        machine *m = &p->machines[p->slots[k]];
        if (m->id == id)
            return m;
        k = (k + 1) & (p->n_slots - 1);
    }
    if (p->n_machines >= p->opt.max_machines) {
        if (evict_oldest(p))
            return NULL;
        k = slot_of(id, p->n_slots);
        while (p->slots[k] >= 0)
            k = (k + 1) & (p->n_slots - 1);
    }
    if (2 * (p->n_machines + 1) > p->n_slots) {
        if (grow_slots(p))
            return NULL;
        k = slot_of(id, p->n_slots);
        while (p->slots[k] >= 0)
            k = (k + 1) & (p->n_slots - 1);
    }
    if (p->n_machines == p->cap_machines) {
        size_t cap = p->cap_machines ? 2 * p->cap_machines : 64;
        machine *ms = realloc(p->machines, cap * sizeof *ms);
        if (!ms)
            return NULL;
        p->machines = ms;
        p->cap_machines = cap;
    }
    machine *m = &p->machines[p->n_machines];
    *m = (machine){.id = id, .clock = INT64_MIN, .last_failure = INT64_MIN};
    p->slots[k] = (int32_t)p->n_machines++;
    return m;
}

/* ---- counting ------------------------------------------------------------ */

static int64_t day_of(int64_t t)
{
    return t >= 0 ? t / MS_PER_DAY : -((-t + MS_PER_DAY - 1) / MS_PER_DAY);
}

static void count(pdm_perf *p, int o, int64_t t)
{
    uint64_t *all[] = {&p->tp, &p->fp, &p->caught, &p->missed};
    (*all[o])++;
    int64_t newest = day_of(p->clock), day = day_of(t), d = p->opt.window_days;
    if (day <= newest - d)
        return; /* already outside the rolling window */
    day_bucket *b = &p->days[((day % d) + d) % d];
    if (b->day != day)
        *b = (day_bucket){.day = day};
    uint64_t *in[] = {&b->tp, &b->fp, &b->caught, &b->missed};
    (*in[o])++;
}

/* Moves m's clock to ts (never back) and retires the alerts it passes. */
static void advance(pdm_perf *p, machine *m, int64_t ts)
{
    if (ts > m->clock)
        m->clock = ts;
    if (ts > p->clock)
        p->clock = ts;
    /* Those whose window the clock has passed leave, the others keep
     * their order (an open incident may stand before expired alerts). */
    size_t kept = 0;
    for (size_t k = 0; k < m->n_alerts; k++) {
        if (m->alerts[k].until >= m->clock) {
            m->alerts[kept++] = m->alerts[k];
            continue;
        }
        if (!m->alerts[k].claimed) {
            count(p, OUT_FP, m->alerts[k].t);
            p->pending--;
        }
    }
    m->n_alerts = kept;
}

int pdm_perf_observe(pdm_perf *p, int32_t machine_id, int64_t ts)
{
    return pdm_perf_observe_batch(p, &machine_id, &ts, NULL, 1);
}

/* An alert of machine m at t matching failures up to until (an incident:
 * INT64_MAX); p->lock held. */
static int alert_locked(pdm_perf *p, machine *m, int64_t t, int64_t until)
{
    advance(p, m, t);
    if (until < m->clock) {
        /* Late beyond the horizon: its window is over, and under in-order
         * delivery no failure claimed it. */
        p->alerts++;
        count(p, OUT_FP, t);
        return 0;
    }
    size_t at = m->n_alerts; /* keep t ascending; drop a repeat */
    while (at > 0 && m->alerts[at - 1].t >= t) {
        if (m->alerts[at - 1].t == t)
            return 0;
        at--;
    }
    if (m->n_alerts == m->cap_alerts) {
        size_t cap = m->cap_alerts ? 2 * m->cap_alerts : 4;
        alert_entry *a = realloc(m->alerts, cap * sizeof *a);
        if (!a)
            return -1;
        m->alerts = a;
        m->cap_alerts = cap;
    }
    memmove(m->alerts + at + 1, m->alerts + at, (m->n_alerts - at) * sizeof *m->alerts);
    m->alerts[at] = (alert_entry){.t = t, .until = until};
    m->n_alerts++;
    p->alerts++;
    p->pending++;
    return 0;
}

int pdm_perf_observe_batch(pdm_perf *p, const int32_t *machine_id, const int64_t *ts,
                           const unsigned char *alert, size_t n)
{
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < n && rc == 0; i++) {
        machine *m = machine_get(p, machine_id[i]);
        if (!m)
            rc = -1;
        else if (alert && alert[i])
            rc = alert_locked(p, m, ts[i], ts[i] + p->opt.horizon_ms);
        else
            advance(p, m, ts[i]);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int pdm_perf_alert(pdm_perf *p, int32_t machine_id, int64_t t)
{
    pthread_mutex_lock(&p->lock);
    machine *m = machine_get(p, machine_id);
    int rc = m ? alert_locked(p, m, t, t + p->opt.horizon_ms) : -1;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int pdm_perf_incident(pdm_perf *p, int32_t machine_id, int64_t o)
{
    pthread_mutex_lock(&p->lock);
    machine *m = machine_get(p, machine_id);
    int rc = m ? alert_locked(p, m, o, INT64_MAX) : -1;
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int pdm_perf_incident_end(pdm_perf *p, int32_t machine_id, int64_t o, int64_t e, int world)
{
    int64_t until = world || e > INT64_MAX - p->opt.horizon_ms ? e : e + p->opt.horizon_ms;
    int rc = -1;
    pthread_mutex_lock(&p->lock);
    machine *m = machine_get(p, machine_id);
    if (!m)
        goto out;
    size_t k = 0;
    while (k < m->n_alerts && m->alerts[k].t != o)
        k++;
    if (k == m->n_alerts) {
        rc = alert_locked(p, m, o, INT64_MAX);
        for (k = 0; k < m->n_alerts && m->alerts[k].t != o; k++)
            ;
        if (rc || k == m->n_alerts)
            goto out; /* out of memory, or already over (counted) */
    }
    m->alerts[k].until = until;
    advance(p, m, e);
    rc = 0;
out:
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* A caught failure's lead time: from the earliest alert (or incident
 * opening) that caught it to the failure. */
static void add_lead_time(pdm_perf *p, double hours)
{
    size_t b = hours < LEAD_BUCKETS - 1 ? (size_t)hours : LEAD_BUCKETS - 1;
    p->lead_hist[b]++;
    p->lead_n++;
    p->lead_sum_h += hours;
}

/* The median of the histogram, to the hour below (NaN when empty). */
static double lead_median(const pdm_perf *p)
{
    uint64_t seen = 0, half = (p->lead_n + 1) / 2;
    for (size_t b = 0; p->lead_n && b < LEAD_BUCKETS; b++)
        if ((seen += p->lead_hist[b]) >= half)
            return (double)b;
    return NAN;
}

int pdm_perf_failure(pdm_perf *p, int32_t machine_id, int64_t f)
{
    int rc = -1;
    pthread_mutex_lock(&p->lock);
    machine *m = machine_get(p, machine_id);
    if (!m)
        goto out;
    advance(p, m, f);
    rc = 0;
    if (f == m->last_failure)
        goto out; /* another component of the same breakdown */
    m->last_failure = f;
    p->failures++;
    int caught = 0;
    int64_t earliest = INT64_MAX;
    for (size_t k = 0; k < m->n_alerts; k++) {
        alert_entry *a = &m->alerts[k];
        if (!(a->t < f && f <= a->until))
            continue;
        caught = 1;
        earliest = a->t < earliest ? a->t : earliest;
        if (!a->claimed) {
            a->claimed = 1;
            p->pending--;
            count(p, OUT_TP, a->t);
        }
    }
    count(p, caught ? OUT_CAUGHT : OUT_MISSED, f);
    if (caught)
        add_lead_time(p, (double)(f - earliest) / (double)PDM_MS_PER_HOUR);
out:
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* ---- reading ---------------------------------------------------------------- */

static void finish(pdm_perf_counts *c)
{
    c->precision = c->tp + c->fp ? (double)c->tp / (double)(c->tp + c->fp) : NAN;
    c->recall = c->caught + c->missed ? (double)c->caught / (double)(c->caught + c->missed) : NAN;
}

void pdm_perf_get(pdm_perf *p, pdm_perf_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&p->lock);
    out->all =
        (pdm_perf_counts){.tp = p->tp, .fp = p->fp, .caught = p->caught, .missed = p->missed};
    if (p->clock != INT64_MIN) {
        int64_t newest = day_of(p->clock);
        for (int i = 0; i < p->opt.window_days; i++) {
            const day_bucket *b = &p->days[i];
            if (b->day == INT64_MIN || b->day <= newest - p->opt.window_days || b->day > newest)
                continue;
            out->rolling.tp += b->tp;
            out->rolling.fp += b->fp;
            out->rolling.caught += b->caught;
            out->rolling.missed += b->missed;
        }
    }
    out->pending = p->pending;
    out->alerts = p->alerts;
    out->failures = p->failures;
    out->machines = p->n_machines;
    out->evicted = p->evicted;
    out->horizon_ms = p->opt.horizon_ms;
    out->window_days = p->opt.window_days;
    out->event_time_ms = p->clock;
    out->lead_times = p->lead_n;
    out->lead_time_mean_hours = p->lead_n ? p->lead_sum_h / (double)p->lead_n : NAN;
    out->lead_time_median_hours = lead_median(p);
    pthread_mutex_unlock(&p->lock);
    finish(&out->all);
    finish(&out->rolling);
}

/* A number, or null for NaN (JSON has no NaN). */
static int add_number(cJSON *obj, const char *name, double v)
{
    return isnan(v) ? cJSON_AddNullToObject(obj, name) != NULL
                    : cJSON_AddNumberToObject(obj, name, v) != NULL;
}

static cJSON *counts_json(const pdm_perf_counts *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddNumberToObject(o, "tp", (double)c->tp) ||
        !cJSON_AddNumberToObject(o, "fp", (double)c->fp) ||
        !cJSON_AddNumberToObject(o, "caught", (double)c->caught) ||
        !cJSON_AddNumberToObject(o, "missed", (double)c->missed) ||
        !add_number(o, "precision", c->precision) || !add_number(o, "recall", c->recall)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *pdm_perf_to_json(const pdm_perf_stats *s)
{
    cJSON *root = cJSON_CreateObject(), *ret = NULL;
    if (!root ||
        !cJSON_AddNumberToObject(root, "horizon_hours",
                                 (double)s->horizon_ms / (double)PDM_MS_PER_HOUR) ||
        !cJSON_AddNumberToObject(root, "window_days", s->window_days) ||
        !cJSON_AddNumberToObject(root, "machines", (double)s->machines) ||
        !cJSON_AddNumberToObject(root, "machines_evicted", (double)s->evicted) ||
        !cJSON_AddNumberToObject(root, "alerts", (double)s->alerts) ||
        !cJSON_AddNumberToObject(root, "failures", (double)s->failures) ||
        !cJSON_AddNumberToObject(root, "pending", (double)s->pending))
        goto out;
    if (s->event_time_ms != INT64_MIN) {
        char ts[32];
        if (!cJSON_AddStringToObject(root, "event_time", pdm_time_format(s->event_time_ms, ts)))
            goto out;
    } else if (!cJSON_AddNullToObject(root, "event_time")) {
        goto out;
    }
    cJSON *all = counts_json(&s->all);
    if (!all)
        goto out;
    cJSON_AddItemToObject(root, "all", all);
    cJSON *rolling = counts_json(&s->rolling);
    if (!rolling)
        goto out;
    cJSON_AddItemToObject(root, "rolling", rolling);
    cJSON *lead = cJSON_AddObjectToObject(root, "lead_time_hours");
    if (!lead || !cJSON_AddNumberToObject(lead, "caught", (double)s->lead_times) ||
        !add_number(lead, "mean", s->lead_time_mean_hours) ||
        !add_number(lead, "median", s->lead_time_median_hours))
        goto out;
    ret = root;
    root = NULL;
out:
    cJSON_Delete(root);
    return ret;
}
