/* replay.c: one machine's history through the alert policy, for evaluation
 * (pdm_alert_replay): the same steps the scorer takes, in stream order, then
 * incidents matched against the machine's failures (see pdm_alerts.h for
 * the matching rule). Pure: the only thing it does besides computing is
 * allocating the incident list. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_alerts.h"

typedef struct {
    int64_t opened_at;
    int64_t match_until; /* the last failure time this incident can catch */
} incident_span;

static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t overstay(int64_t opened_at, int64_t end, int64_t horizon_ms)
{
    int64_t d = end - opened_at;
    return d > horizon_ms ? d - horizon_ms : 0;
}

/* Counts a decision, and records the span of each incident: opened here, or
 * ended here (its match window then known). */
static void tally(const pdm_incident *inc, int64_t horizon_ms, incident_span *spans,
                  size_t *n_spans, pdm_alert_replay_stats *out)
{
    switch (inc->emit) {
    case PDM_ALERT_NONE:
        return;
    case PDM_ALERT_OPENED:
        out->incidents++;
        out->notifications++;
        spans[*n_spans].opened_at = inc->opened_at;
        spans[*n_spans].match_until = INT64_MAX; /* open until said otherwise */
        (*n_spans)++;
        return;
    case PDM_ALERT_ESCALATED:
        out->escalated++;
        out->notifications++;
        return;
    case PDM_ALERT_RENOTIFIED:
        out->renotified++;
        out->notifications++;
        return;
    case PDM_ALERT_RESOLVED: {
        int world =
            inc->resolution == PDM_RESOLUTION_REPAIRED || inc->resolution == PDM_RESOLUTION_FAILED;
        out->resolved[inc->resolution]++;
        spans[*n_spans - 1].match_until = world ? inc->at : add_sat(inc->at, horizon_ms);
        out->overstay_ms += overstay(inc->opened_at, inc->at, horizon_ms);
        return;
    }
    }
}

/* Matches failures and incidents (both in time order). */
static void match(const pdm_event *events, size_t n_events, const incident_span *spans,
                  size_t n_spans, pdm_alert_replay_stats *out, int64_t *lead_ms)
{
    for (size_t i = 0; i < n_spans; i++) {
        int any = 0;
        for (size_t e = 0; e < n_events && !any; e++)
            any = events[e].type == PDM_EV_FAILURE && spans[i].opened_at < events[e].ts &&
                  events[e].ts <= spans[i].match_until;
        out->false_incidents += !any;
    }
    for (size_t e = 0; e < n_events; e++) {
        if (events[e].type != PDM_EV_FAILURE)
            continue;
        out->failures++;
        for (size_t i = 0; i < n_spans; i++) {
            if (spans[i].opened_at < events[e].ts && events[e].ts <= spans[i].match_until) {
                if (lead_ms)
                    lead_ms[out->caught] = events[e].ts - spans[i].opened_at;
                out->caught++;
                break; /* the earliest incident gives the lead time */
            }
        }
    }
}

/* events[e], or the failure it is the repair of among the records at its
 * time (pdm_alert_repair_of): what the scorer hands the state machine. */
static const pdm_event *world_cause(const pdm_event *events, size_t n_events, size_t e)
{
    for (size_t j = e + 1; j < n_events && events[j].ts == events[e].ts; j++)
        if (pdm_alert_repair_of(&events[e], &events[j]))
            return &events[j];
    return &events[e];
}

static int check_inputs(const pdm_alert_policy *p, int32_t machine_id, const pdm_alert_score *rows,
                        size_t n_rows, const pdm_event *events, size_t n_events, int64_t horizon_ms,
                        char *errstr, size_t errlen)
{
    if (pdm_alert_policy_check(p, errstr, errlen))
        return -1;
    if (horizon_ms < 0)
        return pdm_err(errstr, errlen, "replay: negative horizon");
    for (size_t i = 1; i < n_rows; i++)
        if (rows[i].ts < rows[i - 1].ts)
            return pdm_err(errstr, errlen, "replay: machine %" PRId32 "'s rows are not sorted",
                           machine_id);
    for (size_t i = 0; i < n_events; i++) {
        if (events[i].machine_id != machine_id)
            return pdm_err(errstr, errlen,
                           "replay: an event of machine %" PRId32 " among machine %" PRId32 "'s",
                           events[i].machine_id, machine_id);
        if (i > 0 && events[i].ts < events[i - 1].ts)
            return pdm_err(errstr, errlen, "replay: machine %" PRId32 "'s events are not sorted",
                           machine_id);
    }
    return 0;
}

int pdm_alert_replay(const pdm_alert_policy *p, int32_t machine_id, const pdm_alert_score *rows,
                     size_t n_rows, const pdm_event *events, size_t n_events, int64_t horizon_ms,
                     int64_t silence_ms, pdm_alert_replay_stats *out, int64_t *lead_ms,
                     char *errstr, size_t errlen)
{
    if (check_inputs(p, machine_id, rows, n_rows, events, n_events, horizon_ms, errstr, errlen))
        return -1;
    /* Every incident opens on a row: n_rows spans are enough. */
    incident_span *spans = malloc((n_rows ? n_rows : 1) * sizeof *spans);
    if (!spans)
        return pdm_err(errstr, errlen, "replay: out of memory");
    pdm_alert_replay_stats st = {0};
    pdm_alert_state as;
    pdm_incident inc;
    size_t n_spans = 0, r = 0, e = 0;
    int64_t silent_at = INT64_MAX; /* when the machine goes silent unless a row comes first */
    int rc = 0;
    pdm_alert_state_init(&as);
    /* Stream order: at equal ts the world's events come before the scores;
     * a row exactly silence_ms after the previous one is still in time. */
    while (r < n_rows) {
        if (e < n_events && events[e].ts <= rows[r].ts && events[e].ts <= silent_at) {
            pdm_alert_world(&as, world_cause(events, n_events, e), &inc);
            e++;
        } else if (silent_at < rows[r].ts) {
            pdm_alert_silent(&as, machine_id, silent_at, &inc);
            silent_at = INT64_MAX;
        } else {
            if (pdm_alert_step(&as, p, machine_id, &rows[r], &inc, errstr, errlen)) {
                rc = -1;
                goto out;
            }
            silent_at = silence_ms > 0 ? add_sat(rows[r].ts, silence_ms) : INT64_MAX;
            r++;
        }
        tally(&inc, horizon_ms, spans, &n_spans, &st);
    }
    for (; e < n_events; e++) {
        pdm_alert_world(&as, world_cause(events, n_events, e), &inc);
        tally(&inc, horizon_ms, spans, &n_spans, &st);
    }
    st.resolved[PDM_RESOLUTION_NONE] = as.level != PDM_LEVEL_OK;
    if (as.level != PDM_LEVEL_OK)
        st.overstay_ms += overstay(as.opened_at, rows[n_rows - 1].ts, horizon_ms);
    match(events, n_events, spans, n_spans, &st, lead_ms);
    *out = st;
out:
    free(spans);
    return rc;
}
