/* alerts.c: the alert policy and the state machine's transitions (see
 * pdm_alerts.h for the rules). Every function here only reads its inputs
 * and writes the caller's structs, so a replay takes the decisions the live
 * run took. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pdm_alerts.h"
#include "pdm_rules.h"

/* ---- policy ---------------------------------------------------------------- */

void pdm_alert_policy_init(pdm_alert_policy *p, double warn, double critical)
{
    p->warn = warn;
    p->critical = critical;
    p->warn_clear = warn * PDM_ALERT_DEFAULT_CLEAR_RATIO;
    p->critical_clear = critical * PDM_ALERT_DEFAULT_CLEAR_RATIO;
    p->confirm_m = PDM_ALERT_DEFAULT_CONFIRM_M;
    p->confirm_n = PDM_ALERT_DEFAULT_CONFIRM_N;
    p->min_hold_ms = PDM_ALERT_DEFAULT_HOLD_MS;
    p->renotify_ms = PDM_ALERT_DEFAULT_RENOTIFY_MS;
}

static int confirm_check(long m, long n, char *errstr, size_t errlen)
{
    if (m < 1 || n < m || n > PDM_ALERT_CONFIRM_MAX)
        return pdm_err(errstr, errlen, "confirmation %ld/%ld: need 1 <= M <= N <= %d", m, n,
                       PDM_ALERT_CONFIRM_MAX);
    return 0;
}

int pdm_alert_policy_check(const pdm_alert_policy *p, char *errstr, size_t errlen)
{
    if (!isfinite(p->warn) || !isfinite(p->critical) || !isfinite(p->warn_clear) ||
        !isfinite(p->critical_clear))
        return pdm_err(errstr, errlen, "alert thresholds must be finite");
    if (p->warn < 0 || p->critical < p->warn)
        return pdm_err(errstr, errlen, "alert thresholds: need 0 <= warn (%g) <= critical (%g)",
                       p->warn, p->critical);
    if (p->warn_clear < 0 || p->warn_clear > p->warn)
        return pdm_err(errstr, errlen, "warn clear threshold %g: need 0 <= it <= warn (%g)",
                       p->warn_clear, p->warn);
    if (p->critical_clear < 0 || p->critical_clear > p->critical)
        return pdm_err(errstr, errlen, "critical clear threshold %g: need 0 <= it <= critical (%g)",
                       p->critical_clear, p->critical);
    if (confirm_check(p->confirm_m, p->confirm_n, errstr, errlen))
        return -1;
    if (p->min_hold_ms < 0 || p->renotify_ms < 0)
        return pdm_err(errstr, errlen, "alert hold and renotify interval must be >= 0");
    return 0;
}

/* A decimal number of at most 4 digits at *s, advancing *s; -1 if none.
 * Four digits bound the value without overflow checks and still say "too
 * large" for anything above the limit. */
static long parse_small(const char **s)
{
    long v = 0;
    int digits = 0;
    while (**s >= '0' && **s <= '9') {
        if (++digits > 4)
            return -1;
        v = v * 10 + (**s - '0');
        (*s)++;
    }
    return digits ? v : -1;
}

int pdm_alert_confirm_parse(const char *text, int *m, int *n, char *errstr, size_t errlen)
{
    const char *s = text;
    long mv = parse_small(&s), nv = -1;
    if (mv >= 0 && *s == '/') {
        s++;
        nv = parse_small(&s);
    }
    if (mv < 0 || nv < 0 || *s != '\0')
        return pdm_err(errstr, errlen, "confirmation \"%s\": expected M/N, e.g. 2/3", text);
    if (confirm_check(mv, nv, errstr, errlen))
        return -1;
    *m = (int)mv;
    *n = (int)nv;
    return 0;
}

/* ---- names and ids ------------------------------------------------------------ */

const char *pdm_alert_emit_name(pdm_alert_emit e)
{
    static const char *const names[] = {"none", "opened", "escalated", "renotified", "resolved"};
    return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "?";
}

const char *pdm_alert_resolution_name(pdm_alert_resolution r)
{
    static const char *const names[] = {"", "cleared", "repaired", "failed", "silent"};
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "?";
}

const char *pdm_incident_status_name(pdm_incident_status s)
{
    return s == PDM_INCIDENT_RESOLVED ? "resolved" : "firing";
}

void pdm_alert_incident_id(int32_t machine_id, int64_t opened_at, char out[PDM_ALERT_ID_SIZE])
{
    snprintf(out, PDM_ALERT_ID_SIZE, "%" PRId32 "-%" PRId64, machine_id, opened_at);
}

/* ---- state ------------------------------------------------------------------ */

void pdm_alert_state_init(pdm_alert_state *st)
{
    memset(st, 0, sizeof *st);
    st->last_ts = INT64_MIN;
    st->level = PDM_LEVEL_OK;
    st->opened_at = INT64_MIN;
    st->notified_at = INT64_MIN;
}

/* Closes the incident and forgets the scores: what follows a resolution is
 * a new story and needs its own confirmation. The clock keeps its place. */
static void reset_incident(pdm_alert_state *st)
{
    int64_t last = st->last_ts;
    pdm_alert_state_init(st);
    st->last_ts = last;
}

static void describe(const pdm_alert_state *st, int32_t machine_id, int64_t at, pdm_alert_emit emit,
                     pdm_incident *out)
{
    memset(out, 0, sizeof *out);
    out->emit = emit;
    out->at = at;
    out->opened_at = INT64_MIN;
    if (st->level == PDM_LEVEL_OK)
        return;
    pdm_alert_incident_id(machine_id, st->opened_at, out->incident_id);
    out->status = PDM_INCIDENT_FIRING;
    out->level = st->level;
    out->opened_at = st->opened_at;
    out->peak_risk = st->peak_risk;
    out->component = st->component;
}

int pdm_alert_incident(const pdm_alert_state *st, int32_t machine_id, pdm_incident *out)
{
    describe(st, machine_id, st->last_ts, PDM_ALERT_NONE, out);
    return st->level != PDM_LEVEL_OK;
}

/* Resolves the open incident at ts: *out describes it as resolved, then the
 * state forgets it. */
static pdm_alert_emit resolve(pdm_alert_state *st, int32_t machine_id, int64_t ts,
                              pdm_alert_resolution why, pdm_incident *out)
{
    describe(st, machine_id, ts, PDM_ALERT_RESOLVED, out);
    out->status = PDM_INCIDENT_RESOLVED;
    out->resolution = why;
    reset_incident(st);
    return PDM_ALERT_RESOLVED;
}

/* ---- scores ------------------------------------------------------------------ */

static int popcount32(uint32_t x)
{
    int c = 0;
    for (; x; x &= x - 1)
        c++;
    return c;
}

static uint32_t history_mask(int n)
{
    return n >= 32 ? UINT32_MAX : (UINT32_C(1) << n) - 1;
}

static int renotify_due(const pdm_alert_state *st, const pdm_alert_policy *p, int64_t ts)
{
    return p->renotify_ms > 0 && ts - st->notified_at >= p->renotify_ms;
}

/* The transition of an open incident on a score already in the histories. */
static pdm_alert_emit step_open(pdm_alert_state *st, const pdm_alert_policy *p,
                                const pdm_alert_score *row, pdm_level level)
{
    if (row->risk > st->peak_risk) {
        st->peak_risk = row->risk;
        if (row->component)
            st->component = row->component;
    }
    if (st->level == PDM_LEVEL_WARN && level == PDM_LEVEL_CRITICAL) {
        st->level = PDM_LEVEL_CRITICAL; /* needs no confirmation */
        if (st->notified_level != PDM_LEVEL_CRITICAL) {
            st->notified_level = PDM_LEVEL_CRITICAL;
            st->notified_at = row->ts;
            return PDM_ALERT_ESCALATED;
        }
        /* Back after a quiet drop: the crew was told CRITICAL and was never
         * told otherwise, so this is no news until the renotify interval
         * says a repeat is due. */
        if (renotify_due(st, p, row->ts)) {
            st->notified_at = row->ts;
            return PDM_ALERT_RENOTIFIED;
        }
        return PDM_ALERT_NONE;
    }
    if (popcount32(st->above_clear) < p->confirm_m && row->ts - st->opened_at >= p->min_hold_ms)
        return PDM_ALERT_RESOLVED; /* the caller resolves: it owns *out */
    if (st->level == PDM_LEVEL_CRITICAL && row->risk < p->critical_clear) {
        st->level = PDM_LEVEL_WARN; /* quietly: a crew is not paged for good news */
        return PDM_ALERT_NONE;
    }
    if (st->level == PDM_LEVEL_CRITICAL && renotify_due(st, p, row->ts)) {
        st->notified_at = row->ts;
        return PDM_ALERT_RENOTIFIED;
    }
    return PDM_ALERT_NONE;
}

int pdm_alert_step(pdm_alert_state *st, const pdm_alert_policy *p, int32_t machine_id,
                   const pdm_alert_score *row, pdm_incident *out, char *errstr, size_t errlen)
{
    if (!(row->risk >= 0 && row->risk <= 1))
        return pdm_err(errstr, errlen, "machine %" PRId32 ": risk %g is not in 0..1", machine_id,
                       row->risk);
    if (row->component < 0 || row->component > PDM_N_COMPONENTS)
        return pdm_err(errstr, errlen, "machine %" PRId32 ": component %d is not in 0..%d",
                       machine_id, row->component, PDM_N_COMPONENTS);
    if (row->ts == INT64_MIN)
        return pdm_err(errstr, errlen, "machine %" PRId32 ": score without event time", machine_id);
    if (row->ts <= st->last_ts) {
        describe(st, machine_id, row->ts, PDM_ALERT_NONE, out);
        return 0;
    }
    pdm_level level = pdm_rule_level(row->risk, p->warn, p->critical);
    uint32_t mask = history_mask(p->confirm_n);
    st->above_enter = ((st->above_enter << 1) | (row->risk >= p->warn)) & mask;
    st->above_clear = ((st->above_clear << 1) | (row->risk >= p->warn_clear)) & mask;
    st->last_ts = row->ts;

    pdm_alert_emit emit = PDM_ALERT_NONE;
    if (st->level != PDM_LEVEL_OK) {
        emit = step_open(st, p, row, level);
        if (emit == PDM_ALERT_RESOLVED) {
            resolve(st, machine_id, row->ts, PDM_RESOLUTION_CLEARED, out);
            return 0;
        }
    } else if (level != PDM_LEVEL_OK && popcount32(st->above_enter) >= p->confirm_m) {
        st->level = level;
        st->notified_level = level;
        st->component = row->component;
        st->opened_at = row->ts;
        st->notified_at = row->ts;
        st->peak_risk = row->risk;
        emit = PDM_ALERT_OPENED;
    }
    describe(st, machine_id, row->ts, emit, out);
    return 0;
}

/* ---- the world --------------------------------------------------------------- */

pdm_alert_emit pdm_alert_world(pdm_alert_state *st, const pdm_event *ev, pdm_incident *out)
{
    pdm_alert_resolution why = PDM_RESOLUTION_NONE;
    int component = 0;
    if (ev->type == PDM_EV_MAINTENANCE) {
        why = PDM_RESOLUTION_REPAIRED;
        component = ev->u.maintenance.component;
    } else if (ev->type == PDM_EV_FAILURE) {
        why = PDM_RESOLUTION_FAILED;
        component = ev->u.failure.component;
    }
    /* A record stamped before the incident opened is not its repair or its
     * failure: the scores that opened it came after. */
    if (why != PDM_RESOLUTION_NONE && st->level != PDM_LEVEL_OK && ev->ts >= st->opened_at &&
        component == st->component)
        return resolve(st, ev->machine_id, ev->ts, why, out);
    describe(st, ev->machine_id, ev->ts, PDM_ALERT_NONE, out);
    return PDM_ALERT_NONE;
}

int pdm_alert_repair_of(const pdm_event *maintenance, const pdm_event *later)
{
    return maintenance->type == PDM_EV_MAINTENANCE && later->type == PDM_EV_FAILURE &&
           later->machine_id == maintenance->machine_id && later->ts == maintenance->ts &&
           later->u.failure.component == maintenance->u.maintenance.component;
}

pdm_alert_emit pdm_alert_silent(pdm_alert_state *st, int32_t machine_id, int64_t ts,
                                pdm_incident *out)
{
    if (st->level != PDM_LEVEL_OK)
        return resolve(st, machine_id, ts, PDM_RESOLUTION_SILENT, out);
    /* Scores from before the silence say little about the machine that
     * comes back: it confirms afresh. */
    reset_incident(st);
    describe(st, machine_id, ts, PDM_ALERT_NONE, out);
    return PDM_ALERT_NONE;
}
