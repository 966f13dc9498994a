/* scorer_alerts_api.h (internal to consumer/): where people look at
 * incidents over HTTP: GET /v1/alerts (the fleet's open incidents, by
 * level and component, paginated), the incident of GET /v1/machines/{id},
 * and the pdm_incidents_open gauge.
 *
 * The source of truth is Redis, not the loop's memory: several scorers
 * share the input's partitions (one consumer group), each knows only its
 * own machines and loses that knowledge at a restart or a rebalance, while
 * all of them write every machine's alert state, and the open-incident
 * index pdm:incidents (redis_state.h), to the one Redis in the batch's
 * pipeline. So any scorer behind a load balancer answers for the whole
 * fleet, the same answer, and a restarted one at once.
 *
 * Pagination is by keyset: incidents come CRITICAL first, then WARN, each
 * by machine id, and a page's next_cursor is the position of its last
 * incident (opaque to clients: pass it back as ?cursor=). Walking the pages
 * sees every incident open throughout the walk exactly once; one opened,
 * resolved or changing level during the walk may be seen or not (a level
 * change may move it across the cursor: seen twice or missed). A page holds
 * at most `limit` incidents and may hold fewer with a next_cursor when
 * filtering (component) skipped many; next_cursor is null on the last page.
 */
#ifndef PDM_SCORER_ALERTS_API_H
#define PDM_SCORER_ALERTS_API_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "pdm_http.h"
#include "redis_state.h"
#include "scorer_metrics.h"

#define SCORER_ALERTS_DEFAULT_LIMIT 100
#define SCORER_ALERTS_MAX_LIMIT 1000
/* Index entries examined per request at most (a filter that matches few
 * incidents returns a short page with a cursor rather than scan on). */
#define SCORER_ALERTS_MAX_SCAN 10000

typedef struct {
    int level;     /* 1 WARN, 2 CRITICAL, 0 both */
    int component; /* 1..4, 0 any */
    size_t limit;
    int64_t after; /* the cursor: index rank of the last incident seen, -1 none */
} scorer_alerts_query;

/* Parses the query arguments (each NULL when absent): level WARN or
 * CRITICAL (any case), component comp1..comp4 (or 1..4), limit
 * 1..SCORER_ALERTS_MAX_LIMIT (default SCORER_ALERTS_DEFAULT_LIMIT), cursor
 * a next_cursor. Returns 0, or -1 with errstr (a 400). */
int scorer_alerts_query_parse(const char *level, const char *component, const char *limit,
                              const char *cursor, scorer_alerts_query *q, char *errstr,
                              size_t errlen);

/* The open incident of a machine's stored alert text as JSON, or a JSON
 * null when it has none (or the text does not decode). NULL out of memory. */
cJSON *scorer_alerts_incident_json(int32_t machine_id, const char *alert_text);

/* What the handlers share with the rest of the API: its Redis connection,
 * the lock that serialises it, and acquire, which takes that lock only when
 * Redis is usable (the readiness probe says it answers, the lock comes
 * within a bound) so a Redis that hangs never holds an HTTP thread or a
 * scrape for long: 0 with the lock held, or -1 with errstr. */
typedef struct {
    pdm_redis *redis;
    pthread_mutex_t *lock;
    int (*acquire)(void *owner, char *errstr, size_t errlen);
    void *owner;
} scorer_alerts_ctx;

/* GET /v1/alerts (ctx: a scorer_alerts_ctx). */
int scorer_alerts_handle(void *ctx, const pdm_http_request *req, pdm_http_response *resp);

/* Render time: pdm_incidents_open from the index (left as it was when
 * Redis does not answer). */
void scorer_alerts_collect(scorer_alerts_ctx *ctx, scorer_metrics *m);

#endif
