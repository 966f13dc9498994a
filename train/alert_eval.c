/* alert_eval.c: the alert policy and `--emit changes` measured on a fleet's
 * scored rows, and the clear-threshold choice (see alert_eval.h). The
 * policy's decisions are pdm_alert_replay's, the baseline's pdm_rule_emit's:
 * this file only groups rows by machine, sums and sorts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alert_eval.h"
#include "pdm_common.h"
#include "pdm_rules.h"

#define MS_PER_WEEK (7.0 * 24 * PDM_MS_PER_HOUR)

/* ---- fleet ---------------------------------------------------------------------- */

typedef struct {
    int32_t machine;
    int64_t ts;
    size_t index; /* the input order breaks ties: a stable sort */
} sort_key;

static int by_machine_ts(const void *a, const void *b)
{
    const sort_key *x = a, *y = b;
    if (x->machine != y->machine)
        return x->machine < y->machine ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int is_world(const pdm_event *e)
{
    return e->type == PDM_EV_MAINTENANCE || e->type == PDM_EV_FAILURE;
}

void alert_fleet_free(alert_fleet *f)
{
    free(f->machine);
    free(f->row_start);
    free(f->event_start);
    free(f->rows);
    free(f->events);
    memset(f, 0, sizeof *f);
}

/* Rows sorted by (machine, ts) into f->rows, and the machines' groups. */
static int group_rows(const alert_eval_row *rows, size_t n, alert_fleet *f)
{
    sort_key *keys = malloc((n ? n : 1) * sizeof *keys);
    f->rows = malloc((n ? n : 1) * sizeof *f->rows);
    f->machine = malloc((n ? n : 1) * sizeof *f->machine);
    f->row_start = malloc((n + 1) * sizeof *f->row_start);
    f->event_start = malloc((n + 1) * sizeof *f->event_start);
    if (!keys || !f->rows || !f->machine || !f->row_start || !f->event_start) {
        free(keys);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = (sort_key){rows[i].machine, rows[i].ts, i};
    qsort(keys, n, sizeof *keys, by_machine_ts);
    for (size_t i = 0; i < n; i++) {
        const alert_eval_row *r = &rows[keys[i].index];
        f->rows[i] = (pdm_alert_score){r->ts, r->risk, r->component};
        if (i == 0 || keys[i].machine != keys[i - 1].machine) {
            f->machine[f->n_machines] = keys[i].machine;
            f->row_start[f->n_machines++] = i;
        }
    }
    f->row_start[f->n_machines] = n;
    for (size_t m = 0; m < f->n_machines; m++)
        f->machine_weeks +=
            (double)(f->rows[f->row_start[m + 1] - 1].ts - f->rows[f->row_start[m]].ts) /
            MS_PER_WEEK;
    free(keys);
    return 0;
}

/* The group of machine id, or -1. */
static long find_machine(const alert_fleet *f, int32_t id)
{
    size_t lo = 0, hi = f->n_machines;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->machine[mid] == id)
            return (long)mid;
        if (f->machine[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* 1 if event e falls in its machine's period (first row < ts <= last row). */
static int in_period(const alert_fleet *f, const pdm_event *e)
{
    long m = is_world(e) ? find_machine(f, e->machine_id) : -1;
    return m >= 0 && e->ts > f->rows[f->row_start[m]].ts &&
           e->ts <= f->rows[f->row_start[m + 1] - 1].ts;
}

static int group_events(const pdm_event *events, size_t n_events, alert_fleet *f)
{
    size_t kept = 0;
    for (size_t i = 0; i < n_events; i++)
        kept += in_period(f, &events[i]);
    sort_key *keys = malloc((kept ? kept : 1) * sizeof *keys);
    f->events = malloc((kept ? kept : 1) * sizeof *f->events);
    if (!keys || !f->events) {
        free(keys);
        return -1;
    }
    for (size_t i = 0, k = 0; i < n_events; i++)
        if (in_period(f, &events[i]))
            keys[k++] = (sort_key){events[i].machine_id, events[i].ts, i};
    qsort(keys, kept, sizeof *keys, by_machine_ts);
    size_t k = 0;
    for (size_t m = 0; m < f->n_machines; m++) {
        f->event_start[m] = k;
        while (k < kept && keys[k].machine == f->machine[m]) {
            f->events[k] = events[keys[k].index];
            k++;
        }
    }
    f->event_start[f->n_machines] = kept;
    free(keys);
    return 0;
}

int alert_fleet_build(const alert_eval_row *rows, size_t n, const pdm_event *events,
                      size_t n_events, alert_fleet *out, char *errstr, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (group_rows(rows, n, out) || group_events(events, n_events, out)) {
        alert_fleet_free(out);
        return pdm_err(errstr, errlen, "alert evaluation: out of memory for %zu rows", n);
    }
    return 0;
}

/* ---- evaluation ------------------------------------------------------------------ */

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

double alert_percentile(const int64_t *sorted, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n)
        return (double)sorted[n - 1];
    double frac = pos - (double)lo;
    return (double)sorted[lo] + frac * (double)(sorted[lo + 1] - sorted[lo]);
}

static void add_stats(pdm_alert_replay_stats *sum, const pdm_alert_replay_stats *s)
{
    sum->incidents += s->incidents;
    sum->escalated += s->escalated;
    sum->renotified += s->renotified;
    sum->notifications += s->notifications;
    for (int r = 0; r < PDM_ALERT_N_RESOLUTIONS; r++)
        sum->resolved[r] += s->resolved[r];
    sum->false_incidents += s->false_incidents;
    sum->failures += s->failures;
    sum->caught += s->caught;
    sum->overstay_ms += s->overstay_ms;
}

/* `--emit changes` over one machine's rows: alerting notifications, and
 * for each failure whether an alert-level row stood within the horizon
 * before it (lead times appended to out->lead_ms). */
static void changes_machine(const pdm_alert_policy *p, int64_t renotify_ms,
                            const pdm_alert_score *rows, size_t n, const pdm_event *ev, size_t n_ev,
                            int64_t horizon_ms, alert_outcome *out)
{
    pdm_emit_state es = {-1, INT64_MIN};
    for (size_t i = 0; i < n; i++) {
        pdm_level level = pdm_rule_level(rows[i].risk, p->warn, p->critical);
        int prev = es.level;
        if (pdm_rule_emit(PDM_EMIT_CHANGES, renotify_ms, &es, level, rows[i].ts) &&
            level != PDM_LEVEL_OK) {
            out->notifications++;
            out->incidents += prev == -1 || prev == (int)PDM_LEVEL_OK; /* an alert episode */
        }
    }
    /* Rows are sorted: the earliest alert row in [f - horizon, f) gives
     * the lead time; a scan from where the window starts finds it. */
    size_t from = 0;
    for (size_t e = 0; e < n_ev; e++) {
        if (ev[e].type != PDM_EV_FAILURE)
            continue;
        int64_t f = ev[e].ts;
        out->failures++;
        while (from < n && rows[from].ts < f - horizon_ms)
            from++;
        for (size_t i = from; i < n && rows[i].ts < f; i++) {
            if (pdm_rule_level(rows[i].risk, p->warn, p->critical) != PDM_LEVEL_OK) {
                out->lead_ms[out->caught++] = f - rows[i].ts;
                break;
            }
        }
    }
}

void alert_eval_free(alert_eval *e)
{
    free(e->policy.lead_ms);
    free(e->changes.lead_ms);
    e->policy.lead_ms = e->changes.lead_ms = NULL;
}

int alert_eval_run(const alert_fleet *f, const pdm_alert_policy *p, int64_t horizon_ms,
                   int64_t silence_ms, int64_t changes_renotify_ms, alert_eval *out, char *errstr,
                   size_t errlen)
{
    size_t n_events = f->n_machines ? f->event_start[f->n_machines] : 0;
    memset(out, 0, sizeof *out);
    out->machines = f->n_machines;
    out->machine_weeks = f->machine_weeks;
    out->policy.lead_ms = malloc((n_events ? n_events : 1) * sizeof(int64_t));
    out->changes.lead_ms = malloc((n_events ? n_events : 1) * sizeof(int64_t));
    if (!out->policy.lead_ms || !out->changes.lead_ms) {
        alert_eval_free(out);
        return pdm_err(errstr, errlen, "alert evaluation: out of memory");
    }
    for (size_t m = 0; m < f->n_machines; m++) {
        const pdm_alert_score *rows = f->rows + f->row_start[m];
        size_t n = f->row_start[m + 1] - f->row_start[m];
        const pdm_event *ev = f->events + f->event_start[m];
        size_t n_ev = f->event_start[m + 1] - f->event_start[m];
        pdm_alert_replay_stats s;
        if (pdm_alert_replay(p, f->machine[m], rows, n, ev, n_ev, horizon_ms, silence_ms, &s,
                             out->policy.lead_ms + out->policy_stats.caught, errstr, errlen)) {
            alert_eval_free(out);
            return -1;
        }
        add_stats(&out->policy_stats, &s);
        changes_machine(p, changes_renotify_ms, rows, n, ev, n_ev, horizon_ms, &out->changes);
    }
    const pdm_alert_replay_stats *s = &out->policy_stats;
    out->policy.notifications = s->notifications;
    out->policy.incidents = s->incidents;
    out->policy.false_incidents = s->false_incidents;
    out->policy.failures = s->failures;
    out->policy.caught = s->caught;
    out->policy.overstay_hours = (double)s->overstay_ms / PDM_MS_PER_HOUR;
    qsort(out->policy.lead_ms, out->policy.caught, sizeof(int64_t), by_value);
    qsort(out->changes.lead_ms, out->changes.caught, sizeof(int64_t), by_value);
    return 0;
}

/* ---- clear thresholds -------------------------------------------------------------- */

int alert_clear_choose(const alert_fleet *f, pdm_alert_policy *base, int64_t horizon_ms,
                       int64_t silence_ms, alert_clear_choice *out, char *errstr, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int best = -1;
    for (int c = 0; c < ALERT_CLEAR_N; c++) {
        pdm_alert_policy p = *base;
        alert_eval e;
        double r = (double)(ALERT_CLEAR_N - c) / ALERT_CLEAR_N; /* 1.0 down to 0.1 */
        p.warn_clear = r * p.warn;
        p.critical_clear = r * p.critical;
        if (alert_eval_run(f, &p, horizon_ms, silence_ms, 0, &e, errstr, errlen))
            return -1;
        alert_clear_candidate *k = &out->cand[c];
        k->ratio = r;
        k->caught = e.policy.caught;
        k->false_incidents = e.policy.false_incidents;
        k->notifications = e.policy.notifications;
        k->failures = e.policy.failures;
        k->overstay_hours = e.policy.overstay_hours;
        k->score = (double)k->caught - (double)k->false_incidents -
                   (horizon_ms > 0 ? (double)e.policy_stats.overstay_ms / (double)horizon_ms : 0);
        alert_eval_free(&e);
        /* Strictly better only: on ties the earlier, higher ratio stays. */
        if (best < 0 || k->score > out->cand[best].score + 1e-9)
            best = c;
    }
    out->failures = out->cand[0].failures;
    out->by_data = out->failures >= ALERT_CLEAR_MIN_FAILURES;
    out->ratio = out->by_data ? out->cand[best].ratio : PDM_ALERT_DEFAULT_CLEAR_RATIO;
    base->warn_clear = out->ratio * base->warn;
    base->critical_clear = out->ratio * base->critical;
    return 0;
}
