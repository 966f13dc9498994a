/* perf.c: live precision and recall of the alerts, from ground truth that
 * arrives later in the same stream (rules in pdm_monitor.h).
 *
 * A machine has an entry only while it matters: while it holds alerts
 * (their windows are judged against its event-time clock) or while its
 * last failure is at its clock (another component of the same breakdown,
 * at the same ts, must be merged with it). Scores of a machine without an
 * entry and without an alert create nothing and only move the overall
 * clock; an entry that stops mattering is removed at the end of the call
 * that made it so. Most machines never alert, so the tracker holds the
 * alerting ones only (issue 21: it held every machine ever seen).
 *
 * Why this changes no count for events in event-time order per machine: a
 * removed machine had no alerts and last_failure < clock, and the clock
 * served only these purposes, none of which sees the difference when the
 * machine's next event has ts >= its old clock:
 *  - advance() retires alerts against it: there are none;
 *  - alert_locked()'s "late beyond the horizon" test (until < clock after
 *    advancing to t): with t >= the old clock, max(old clock, t) = t for
 *    the old entry and the fresh one alike;
 *  - the failure dedupe (f == last_failure): f >= clock > last_failure, so
 *    the old entry would not have merged it either;
 *  - pdm_perf_incident_end()'s late end: advance(e) with e >= old clock;
 *  - the eviction order (oldest clock first), which only matters at
 *    max_machines.
 * What changes is observable only as follows: `machines` counts the
 * entries held (machines with an alert not yet retired, or a failure at
 * their newest event time), not every machine seen, and so eviction and
 * `evicted` concern those only. For a machine without an entry, an event
 * older than the machine's previous event time (out of order, which the
 * rules do not support) is judged as if it were the machine's first: an
 * alert more than H older is pending until the machine's next event
 * passes t + H (before: a false positive at once, so `pending` is one
 * higher and `fp` one lower in between); a repeat of its last failure
 * after a later event counts as a new failure (before: merged); an
 * incident end before the previous event time is judged against e, not
 * that time. In order, every count and `pending` match at every call.
 *
 * Each entry keeps its alerts of the last horizon, oldest first: an alert
 * leaves the list when the clock passes t + H (becoming a false positive
 * if no failure claimed it), so the state stays bounded by the alert rate
 * times the horizon. Entries are a dense array found through an
 * open-addressing table of indices (linear probing, load <= 1/2). Removal
 * swaps the last entry into the hole and deletes the slot by backward
 * shift: a rebuild would cost the whole table per removal, and tombstones
 * would lengthen the probes of absent ids, which are most lookups here.
 * Rolling counts live in one bucket per day of event time, a ring of
 * window_days buckets, reused as the newest event time moves on.
 * Entries are bounded by max_machines: ids come from untrusted producers
 * and any positive int32 is valid. At the bound a new entry evicts, in
 * one O(n log n) pass, the eighth of the entries seen longest ago (their
 * clocks oldest), so the pass is amortised over n/8 new entries.
 */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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
    int64_t clock;        /* newest event time of the machine */
    int64_t last_failure; /* INT64_MIN if none */
    alert_entry *alerts;  /* t ascending, all with until >= clock; NULL if none */
    int32_t id;
    uint32_t n_alerts; /* the room allocated follows from it: alerts_full() */
} machine;

/* 32 bytes (48 with a size_t count and capacity): 1,000,000 machines may be
 * held, so the capacity is implied by the count instead of kept. */
_Static_assert(sizeof(machine) <= 32, "a machine entry grew");

/* A machine holds at most this many alerts (t distinct, within H). */
#define MAX_ALERTS ((uint32_t)1 << 30)

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

/* The slot holding id's index, else the empty slot where it would go. */
static size_t probe(const pdm_perf *p, int32_t id)
{
    size_t k = slot_of(id, p->n_slots);
    while (p->slots[k] >= 0 && p->machines[p->slots[k]].id != id)
        k = (k + 1) & (p->n_slots - 1);
    return k;
}

/* Fills the slots from the machines array (after a growth or an eviction). */
static void rebuild_slots(pdm_perf *p)
{
    for (size_t i = 0; i < p->n_slots; i++)
        p->slots[i] = -1;
    for (size_t i = 0; i < p->n_machines; i++)
        p->slots[probe(p, p->machines[i].id)] = (int32_t)i;
}

static int grow_slots(pdm_perf *p)
{
    int32_t *s = malloc(2 * p->n_slots * sizeof *s);
    if (!s)
        return -1;
    free(p->slots);
    p->slots = s;
    p->n_slots *= 2;
    rebuild_slots(p);
    return 0;
}

/* The index of id's entry, or -1 if it has none. */
static ptrdiff_t machine_find(const pdm_perf *p, int32_t id)
{
    return p->slots[probe(p, id)];
}

/* Removes entry i: its slot by backward shift (each later entry of the
 * cluster moves into the hole unless its home slot lies after the hole),
 * then the last entry moves into i and its slot follows. */
static void machine_remove(pdm_perf *p, size_t i)
{
    size_t mask = p->n_slots - 1, hole = probe(p, p->machines[i].id);
    for (size_t j = (hole + 1) & mask; p->slots[j] >= 0; j = (j + 1) & mask) {
        size_t home = slot_of(p->machines[p->slots[j]].id, p->n_slots);
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            p->slots[hole] = p->slots[j];
            hole = j;
        }
    }
    p->slots[hole] = -1;
    free(p->machines[i].alerts);
    size_t last = --p->n_machines;
    if (i != last) {
        p->machines[i] = p->machines[last];
        p->slots[probe(p, p->machines[i].id)] = (int32_t)i;
    }
}

/* Removes entry i unless it still matters (see the top of the file). */
static void machine_settle(pdm_perf *p, ptrdiff_t i)
{
    const machine *m = &p->machines[i];
    if (m->n_alerts == 0 && (m->last_failure == INT64_MIN || m->last_failure < m->clock))
        machine_remove(p, (size_t)i);
}

static int cmp_clock(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void count(pdm_perf *p, int o, int64_t t);

/* Evicts the eighth of the entries whose clocks are oldest (ties: the
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

/* A new entry for id (which has none); -1 on out of memory. */
static ptrdiff_t machine_add(pdm_perf *p, int32_t id)
{
    if (p->n_machines >= p->opt.max_machines && evict_oldest(p))
        return -1;
    if (2 * (p->n_machines + 1) > p->n_slots && grow_slots(p))
        return -1;
    if (p->n_machines == p->cap_machines) {
        size_t cap = p->cap_machines ? 2 * p->cap_machines : 64;
        machine *ms = realloc(p->machines, cap * sizeof *ms);
        if (!ms)
            return -1;
        p->machines = ms;
        p->cap_machines = cap;
    }
    size_t i = p->n_machines++;
    p->machines[i] = (machine){.id = id, .clock = INT64_MIN, .last_failure = INT64_MIN};
    p->slots[probe(p, id)] = (int32_t)i;
    return (ptrdiff_t)i;
}

/* id's entry, created if it has none; -1 on out of memory. */
static ptrdiff_t machine_get(pdm_perf *p, int32_t id)
{
    ptrdiff_t i = machine_find(p, id);
    return i >= 0 ? i : machine_add(p, id);
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

/* The overall clock: the newest event time of any machine. */
static void note_time(pdm_perf *p, int64_t ts)
{
    if (ts > p->clock)
        p->clock = ts;
}

/* Moves m's clock to ts (never back) and retires the alerts it passes. */
static void advance(pdm_perf *p, machine *m, int64_t ts)
{
    if (ts > m->clock)
        m->clock = ts;
    note_time(p, ts);
    /* Those whose window the clock has passed leave, the others keep
     * their order (an open incident may stand before expired alerts). */
    uint32_t kept = 0;
    for (uint32_t k = 0; k < m->n_alerts; k++) {
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
    if (kept == 0) {
        free(m->alerts);
        m->alerts = NULL;
    }
}

/* Whether a list of n alerts fills its allocation: the room is the power
 * of two at or above n (none for none), never less as alerts leave, since
 * it changes only here. Most entries hold one alert (an incident). */
static int alerts_full(uint32_t n)
{
    return (n & (n - 1)) == 0;
}

/* An alert of machine m at t matching failures up to until (an incident:
 * INT64_MAX); p->lock held. -1: out of memory, or MAX_ALERTS held. */
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
    uint32_t at = m->n_alerts; /* keep t ascending; drop a repeat */
    while (at > 0 && m->alerts[at - 1].t >= t) {
        if (m->alerts[at - 1].t == t)
            return 0;
        at--;
    }
    if (m->n_alerts >= MAX_ALERTS)
        return -1;
    if (alerts_full(m->n_alerts)) {
        size_t room = m->n_alerts ? 2 * (size_t)m->n_alerts : 1;
        alert_entry *a = realloc(m->alerts, room * sizeof *a);
        if (!a)
            return -1;
        m->alerts = a;
    }
    memmove(m->alerts + at + 1, m->alerts + at, (m->n_alerts - at) * sizeof *m->alerts);
    m->alerts[at] = (alert_entry){.t = t, .until = until};
    m->n_alerts++;
    p->alerts++;
    p->pending++;
    return 0;
}

int pdm_perf_observe(pdm_perf *p, int32_t machine_id, int64_t ts)
{
    return pdm_perf_observe_batch(p, &machine_id, &ts, NULL, 1);
}

int pdm_perf_observe_batch(pdm_perf *p, const int32_t *machine_id, const int64_t *ts,
                           const unsigned char *alert, size_t n)
{
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < n && rc == 0; i++) {
        int alerting = alert && alert[i];
        ptrdiff_t k = machine_find(p, machine_id[i]);
        if (k < 0 && !alerting) {
            note_time(p, ts[i]); /* nothing of its own to judge */
            continue;
        }
        if (k < 0 && (k = machine_add(p, machine_id[i])) < 0) {
            rc = -1;
            break;
        }
        if (alerting)
            rc = alert_locked(p, &p->machines[k], ts[i], ts[i] + p->opt.horizon_ms);
        else
            advance(p, &p->machines[k], ts[i]);
        machine_settle(p, k);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* An alert (until = t + H) or an incident's opening (until = INT64_MAX). */
static int alert_public(pdm_perf *p, int32_t machine_id, int64_t t, int64_t until)
{
    int rc = -1;
    pthread_mutex_lock(&p->lock);
    ptrdiff_t k = machine_get(p, machine_id);
    if (k >= 0) {
        rc = alert_locked(p, &p->machines[k], t, until);
        machine_settle(p, k);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int pdm_perf_alert(pdm_perf *p, int32_t machine_id, int64_t t)
{
    return alert_public(p, machine_id, t, t + p->opt.horizon_ms);
}

int pdm_perf_incident(pdm_perf *p, int32_t machine_id, int64_t o)
{
    return alert_public(p, machine_id, o, INT64_MAX);
}

static int incident_end_locked(pdm_perf *p, machine *m, int64_t o, int64_t e, int64_t until)
{
    uint32_t k = 0;
    while (k < m->n_alerts && m->alerts[k].t != o)
        k++;
    if (k == m->n_alerts) {
        int rc = alert_locked(p, m, o, INT64_MAX);
        for (k = 0; k < m->n_alerts && m->alerts[k].t != o; k++)
            ;
        if (rc || k == m->n_alerts)
            return rc; /* out of memory, or already over (counted) */
    }
    m->alerts[k].until = until;
    advance(p, m, e);
    return 0;
}

int pdm_perf_incident_end(pdm_perf *p, int32_t machine_id, int64_t o, int64_t e, int world)
{
    int64_t until = world || e > INT64_MAX - p->opt.horizon_ms ? e : e + p->opt.horizon_ms;
    int rc = -1;
    pthread_mutex_lock(&p->lock);
    ptrdiff_t k = machine_get(p, machine_id);
    if (k >= 0) {
        rc = incident_end_locked(p, &p->machines[k], o, e, until);
        machine_settle(p, k);
    }
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

static void failure_locked(pdm_perf *p, machine *m, int64_t f)
{
    advance(p, m, f);
    if (f == m->last_failure)
        return; /* another component of the same breakdown */
    m->last_failure = f;
    p->failures++;
    int caught = 0;
    int64_t earliest = INT64_MAX;
    for (uint32_t k = 0; k < m->n_alerts; k++) {
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
}

int pdm_perf_failure(pdm_perf *p, int32_t machine_id, int64_t f)
{
    int rc = -1;
    pthread_mutex_lock(&p->lock);
    ptrdiff_t k = machine_get(p, machine_id);
    if (k >= 0) {
        failure_locked(p, &p->machines[k], f);
        machine_settle(p, k);
        rc = 0;
    }
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
