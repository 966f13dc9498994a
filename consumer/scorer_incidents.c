/* scorer_incidents.c: --emit incidents beyond a batch's rows (see
 * scorer_incidents.h): silence, live performance, metrics. */
#include "scorer_incidents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- metrics ------------------------------------------------------------------ */

int scorer_incident_outcome(int emit, pdm_alert_resolution why)
{
    switch (emit) {
    case PDM_ALERT_OPENED:
        return SCORER_OUTCOME_OPENED;
    case PDM_ALERT_ESCALATED:
        return SCORER_OUTCOME_ESCALATED;
    case PDM_ALERT_RENOTIFIED:
        return SCORER_OUTCOME_RENOTIFIED;
    case PDM_ALERT_RESOLVED:
        switch (why) {
        case PDM_RESOLUTION_CLEARED:
            return SCORER_OUTCOME_CLEARED;
        case PDM_RESOLUTION_REPAIRED:
            return SCORER_OUTCOME_REPAIRED;
        case PDM_RESOLUTION_FAILED:
            return SCORER_OUTCOME_FAILED;
        case PDM_RESOLUTION_SILENT:
            return SCORER_OUTCOME_SILENT;
        default:
            return -1;
        }
    default:
        return -1;
    }
}

void scorer_incidents_count(scorer_metrics *m, int emit, const pdm_risk *r, int64_t ts)
{
    int outcome = scorer_incident_outcome(emit, r->resolution);
    if (outcome < 0)
        return;
    pdm_metric_add(m->incidents[outcome], 1);
    if (outcome == SCORER_OUTCOME_FAILED && r->opened_at != INT64_MIN && ts >= r->opened_at)
        pdm_metric_observe(m->lead_time, (double)(ts - r->opened_at) / 1000.0);
}

/* ---- live performance ------------------------------------------------------------ */

/* One applied item's incident decision and failure, to perf. */
static int perf_item(pdm_perf *perf, const scorer_batch *b, const scorer_item *it)
{
    int32_t id = it->ev.machine_id;
    int64_t ts = it->ev.ts;
    if (it->ev.type == PDM_EV_FAILURE && pdm_perf_failure(perf, id, ts))
        return -1;
    const pdm_risk *r = it->row >= 0     ? &b->risks[it->row]
                        : it->world >= 0 ? &b->world[it->world]
                                         : NULL;
    if (!r || r->opened_at == INT64_MIN)
        return 0;
    if (it->incident == PDM_ALERT_OPENED)
        return pdm_perf_incident(perf, id, r->opened_at);
    if (it->incident == PDM_ALERT_RESOLVED)
        return pdm_perf_incident_end(perf, id, r->opened_at, ts,
                                     r->resolution == PDM_RESOLUTION_REPAIRED ||
                                         r->resolution == PDM_RESOLUTION_FAILED);
    return 0;
}

int scorer_incidents_perf(pdm_perf *perf, const scorer_batch *b)
{
    for (size_t i = 0; i < b->n_machines; i++) {
        const scorer_machine *m = &b->machines[i];
        int64_t newest = INT64_MIN;
        for (int j = m->first_event; j >= 0; j = b->items[j].next_event) {
            const scorer_item *it = &b->items[j];
            if (perf_item(perf, b, it))
                return -1;
            if (it->row >= 0 && it->ev.ts > newest)
                newest = it->ev.ts;
        }
        if (newest != INT64_MIN && pdm_perf_observe(perf, m->id, newest))
            return -1;
    }
    return 0;
}

/* ---- silence ---------------------------------------------------------------------- */

static int silent_risk(scorer_silent_risks *out, const pdm_incident *inc, int32_t id, int64_t ts,
                       const char *model_version)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 16;
        scorer_silent_risk *p = realloc(out->items, cap * sizeof *p);
        if (!p)
            return -1;
        out->items = p;
        out->cap = cap;
    }
    scorer_silent_risk *s = &out->items[out->n++];
    memset(s, 0, sizeof *s);
    s->machine_id = id;
    s->ts = ts;
    pdm_risk *r = &s->risk;
    snprintf(r->model_version, sizeof r->model_version, "%s", model_version);
    r->level = PDM_LEVEL_OK;
    snprintf(r->incident_id, sizeof r->incident_id, "%s", inc->incident_id);
    r->status = inc->status;
    r->opened_at = inc->opened_at;
    r->peak_risk = inc->peak_risk;
    r->component = inc->component;
    r->resolution = inc->resolution;
    return 0;
}

/* Applies the silence at ts to an alert state text (rewritten in place).
 * Returns 1 when the text changed, 0 when there is nothing to change (no
 * state, or a fresh one), -1 when it does not decode (left alone). *inc
 * says what was resolved. */
static int silence_text(char *text, size_t size, int32_t id, int64_t ts, pdm_incident *inc)
{
    char msg[PDM_ERRSTR_SIZE];
    pdm_alert_state st, fresh;
    inc->emit = PDM_ALERT_NONE;
    if (!text[0])
        return 0;
    if (pdm_alert_state_decode(text, strlen(text), &st, msg, sizeof msg)) {
        pdm_log(PDM_LOG_WARN, "machine %d: stored alert state '%s' ignored: %s", (int)id, text,
                msg);
        return -1;
    }
    pdm_alert_state_init(&fresh);
    if (st.level == PDM_LEVEL_OK && st.above_enter == 0 && st.above_clear == 0)
        return 0;
    if (ts <= st.last_ts)
        return 0; /* it reported since (a backfill noticed late): not silent for the alerts */
    pdm_alert_silent(&st, id, ts, inc);
    return pdm_alert_state_encode(&st, text, size) < 0 ? -1 : 1;
}

/* A machine not in the batch: read, decide, write back. */
static int silence_stored(pdm_redis *redis, pdm_rs_batch *writes, int32_t id, int64_t ts,
                          scorer_metrics *metrics, pdm_incident *inc)
{
    char msg[PDM_ERRSTR_SIZE];
    pdm_rs_machine m;
    memset(&m, 0, sizeof m);
    int64_t from = INT64_MAX / 2; /* bookkeeping and maintenance only */
    int rc = 0;
    inc->emit = PDM_ALERT_NONE;
    if (pdm_rs_load(redis, &id, &from, NULL, 1, &m, msg, sizeof msg)) {
        pdm_metric_add(metrics->redis_errors, 1);
        pdm_log(PDM_LOG_WARN, "machine %d went silent; its alert state was not read: %s", (int)id,
                msg);
        goto out;
    }
    if (!m.exists)
        goto out;
    int before = PDM_LEVEL_OK;
    pdm_alert_state st;
    if (m.alert[0] && pdm_alert_state_decode(m.alert, strlen(m.alert), &st, msg, sizeof msg) == 0)
        before = st.level;
    if (silence_text(m.alert, sizeof m.alert, id, ts, inc) != 1)
        goto out;
    pdm_log(PDM_LOG_DEBUG,
            "machine %d went silent outside the batch: its alert state read from "
            "Redis and written back",
            (int)id);
    /* Its last batch is committed: the base moves with it, as a batch's
     * does when it is not a replay. */
    memcpy(m.base_alert, m.alert, sizeof m.base_alert);
    if (pdm_rs_batch_meta(writes, &m, NULL) ||
        (before != PDM_LEVEL_OK && pdm_rs_batch_incident(writes, id, 0)))
        rc = -1;
out:
    pdm_rs_machine_clear(&m);
    return rc;
}

int scorer_incidents_silence(pdm_redis *redis, pdm_rs_batch *writes, scorer_batch *b,
                             const scorer_silence_change *changes, size_t n, int64_t after_ms,
                             const char *model_version, scorer_metrics *metrics,
                             scorer_silent_risks *out)
{
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        const scorer_silence_change *c = &changes[i];
        if (!c->silent || c->last_seen == INT64_MIN)
            continue;
        int64_t ts = c->last_seen + after_ms;
        pdm_incident inc;
        int slot = scorer_batch_find(b, c->machine_id);
        if (slot >= 0) {
            scorer_machine *m = &b->machines[slot];
            if (silence_text(m->stored.alert, sizeof m->stored.alert, m->id, ts, &inc) == 1)
                m->incident_after = PDM_LEVEL_OK;
        } else if (silence_stored(redis, writes, c->machine_id, ts, metrics, &inc)) {
            return -1;
        }
        if (inc.emit == PDM_ALERT_RESOLVED &&
            silent_risk(out, &inc, c->machine_id, ts, model_version))
            return -1;
    }
    return 0;
}
