/* scorer_alerts_api.c: GET /v1/alerts, the incident of a machine, and the
 * open-incident gauge (see scorer_alerts_api.h; README "HTTP API"). */
#include "scorer_alerts_api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pdm_alerts.h"

/* Index entries read per round trip. */
#define CHUNK 500

int scorer_alerts_query_parse(const char *level, const char *component, const char *limit,
                              const char *cursor, scorer_alerts_query *q, char *errstr,
                              size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->limit = SCORER_ALERTS_DEFAULT_LIMIT;
    q->after = -1;
    if (level) {
        if (strcasecmp(level, "WARN") == 0)
            q->level = 1;
        else if (strcasecmp(level, "CRITICAL") == 0)
            q->level = 2;
        else
            return pdm_err(errstr, errlen, "level must be WARN or CRITICAL, not '%s'", level);
    }
    if (component) {
        const char *digit = strncasecmp(component, "comp", 4) == 0 ? component + 4 : component;
        if (digit[0] < '1' || digit[0] > '0' + PDM_N_COMPONENTS || digit[1])
            return pdm_err(errstr, errlen, "component must be comp1..comp%d, not '%s'",
                           PDM_N_COMPONENTS, component);
        q->component = digit[0] - '0';
    }
    if (limit) {
        char *end;
        errno = 0;
        long long v = strtoll(limit, &end, 10);
        if (!*limit || *end || errno || v < 1 || v > SCORER_ALERTS_MAX_LIMIT)
            return pdm_err(errstr, errlen, "limit must be an integer from 1 to %d, not '%s'",
                           SCORER_ALERTS_MAX_LIMIT, limit);
        q->limit = (size_t)v;
    }
    if (cursor) {
        char *end;
        errno = 0;
        long long v = strtoll(cursor, &end, 10);
        int64_t lo, hi;
        pdm_rs_incident_ranks(0, &lo, &hi);
        if (!*cursor || *end || errno || *cursor == '-' || *cursor == '+' || v < lo || v > hi)
            return pdm_err(errstr, errlen, "cursor '%s' is not a next_cursor of this API", cursor);
        q->after = v;
    }
    return 0;
}

static cJSON *time_json(int64_t ts)
{
    char buf[32];
    return ts == INT64_MIN ? cJSON_CreateNull() : cJSON_CreateString(pdm_time_format_iso(ts, buf));
}

/* The incident of a decoded state, or NULL (none, or out of memory). */
static cJSON *incident_json(int32_t id, const pdm_alert_state *st)
{
    pdm_incident inc;
    if (!pdm_alert_incident(st, id, &inc))
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char comp[8];
    snprintf(comp, sizeof comp, "comp%d", inc.component);
    cJSON_AddStringToObject(o, "incident_id", inc.incident_id);
    cJSON_AddNumberToObject(o, "machine_id", id);
    cJSON_AddStringToObject(o, "status", pdm_incident_status_name(inc.status));
    cJSON_AddStringToObject(o, "level", pdm_level_name(inc.level));
    if (inc.component > 0)
        cJSON_AddStringToObject(o, "component", comp);
    else
        cJSON_AddNullToObject(o, "component");
    cJSON_AddItemToObject(o, "opened_at", time_json(inc.opened_at));
    cJSON_AddItemToObject(o, "last_notified_at", time_json(st->notified_at));
    cJSON_AddItemToObject(o, "last_score_at", time_json(st->last_ts));
    cJSON_AddNumberToObject(o, "open_hours",
                            (double)(st->last_ts - inc.opened_at) / (double)PDM_MS_PER_HOUR);
    cJSON_AddNumberToObject(o, "peak_risk", inc.peak_risk);
    return o;
}

static int decode(const char *text, pdm_alert_state *st)
{
    char msg[PDM_ERRSTR_SIZE];
    return text && text[0] && pdm_alert_state_decode(text, strlen(text), st, msg, sizeof msg) == 0;
}

cJSON *scorer_alerts_incident_json(int32_t machine_id, const char *alert_text)
{
    pdm_alert_state st;
    cJSON *o = decode(alert_text, &st) ? incident_json(machine_id, &st) : NULL;
    return o ? o : cJSON_CreateNull();
}

/* ---- GET /v1/alerts ------------------------------------------------------------- */

typedef struct {
    int32_t ids[CHUNK];
    int64_t ranks[CHUNK];
    char texts[CHUNK][PDM_RS_ALERT_TEXT];
} chunk;

/* Fills list with up to q->limit incidents after q->after; *next is the
 * rank to continue after, or -1 when the index holds nothing more. 0, or -1
 * with errstr (Redis). Lock held. */
static int walk(pdm_redis *r, const scorer_alerts_query *q, chunk *c, cJSON *list, int64_t *next,
                char *errstr, size_t errlen)
{
    int64_t lo, hi, after;
    pdm_rs_incident_ranks(q->level, &lo, &hi);
    after = q->after >= lo ? q->after : lo - 1;
    size_t found = 0, scanned = 0;
    *next = -1;
    while (found < q->limit && scanned < SCORER_ALERTS_MAX_SCAN) {
        /* Without a component filter nearly every entry matches (stale
         * ones aside): read what the page needs; with it, a chunk. */
        size_t want = q->component || q->limit - found > CHUNK ? CHUNK : q->limit - found, n;
        if (pdm_rs_incidents_range(r, after, hi, want, c->ids, c->ranks, &n, errstr, errlen) ||
            pdm_rs_alert_texts(r, c->ids, n, c->texts, errstr, errlen))
            return -1;
        if (n == 0)
            return 0; /* the end: *next stays -1 */
        for (size_t i = 0; i < n && found < q->limit; i++, scanned++) {
            pdm_alert_state st;
            after = c->ranks[i];
            /* An entry whose machine has no open incident is stale (its
             * keys expired): skipped. */
            if (!decode(c->texts[i], &st) || st.level == PDM_LEVEL_OK ||
                (q->level && (int)st.level != q->level) ||
                (q->component && st.component != q->component))
                continue;
            cJSON *o = incident_json(c->ids[i], &st);
            if (!o)
                return pdm_err(errstr, errlen, "out of memory");
            cJSON_AddItemToArray(list, o);
            found++;
        }
        *next = after;
        if (n < want && found < q->limit && scanned < SCORER_ALERTS_MAX_SCAN) {
            *next = -1;
            return 0;
        }
    }
    /* Stopped by the limit or the scan bound: is there anything after? */
    size_t n;
    if (pdm_rs_incidents_range(r, after, hi, 1, c->ids, c->ranks, &n, errstr, errlen))
        return -1;
    if (n == 0)
        *next = -1;
    return 0;
}

int scorer_alerts_handle(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    scorer_alerts_ctx *a = ctx;
    char msg[PDM_ERRSTR_SIZE];
    scorer_alerts_query q;
    if (scorer_alerts_query_parse(pdm_http_request_arg(req, "level"),
                                  pdm_http_request_arg(req, "component"),
                                  pdm_http_request_arg(req, "limit"),
                                  pdm_http_request_arg(req, "cursor"), &q, msg, sizeof msg))
        return pdm_http_response_error(resp, 400, "%s", msg);
    cJSON *o = cJSON_CreateObject(), *list = cJSON_CreateArray();
    chunk *c = malloc(sizeof *c);
    int rc = -1;
    if (!o || !list || !c)
        goto out;
    int64_t next;
    int err = a->acquire(a->owner, msg, sizeof msg);
    if (!err) {
        err = !pdm_redis_connected(a->redis) && pdm_redis_connect(a->redis, msg, sizeof msg);
        if (!err)
            err = walk(a->redis, &q, c, list, &next, msg, sizeof msg);
        pthread_mutex_unlock(a->lock);
    }
    if (err) {
        rc = pdm_http_response_error(resp, 503, "redis unavailable: %s", msg);
        goto out;
    }
    cJSON_AddNumberToObject(o, "count", cJSON_GetArraySize(list));
    cJSON_AddItemToObject(o, "alerts", list);
    list = NULL;
    if (next >= 0) {
        char cursor[32];
        snprintf(cursor, sizeof cursor, "%lld", (long long)next);
        cJSON_AddStringToObject(o, "next_cursor", cursor);
    } else {
        cJSON_AddNullToObject(o, "next_cursor");
    }
    rc = pdm_http_response_json(resp, 200, o);
out:
    cJSON_Delete(o);
    cJSON_Delete(list);
    free(c);
    return rc;
}

void scorer_alerts_collect(scorer_alerts_ctx *a, scorer_metrics *m)
{
    char msg[PDM_ERRSTR_SIZE];
    uint64_t warn, critical;
    if (a->acquire(a->owner, msg, sizeof msg))
        return;
    int err = !pdm_redis_connected(a->redis) && pdm_redis_connect(a->redis, msg, sizeof msg);
    if (!err)
        err = pdm_rs_incidents_count(a->redis, &warn, &critical, msg, sizeof msg);
    pthread_mutex_unlock(a->lock);
    if (err)
        return;
    pdm_metric_set(m->incidents_open[0], (double)warn);
    pdm_metric_set(m->incidents_open[1], (double)critical);
}
