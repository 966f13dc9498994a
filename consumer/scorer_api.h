/* scorer_api.h (internal to consumer/): the scorer's HTTP API (health,
 * readiness, machines, predictions, model, reload, drift, /metrics). It
 * sees the scorer only through what scorer_api_deps names: the model
 * holder's thread-safe side, the metrics registry, the live-performance
 * tracker and two readiness flags; it reads Redis through a connection of
 * its own, so a request never waits for a batch nor a batch for a request.
 */
#ifndef PDM_SCORER_API_H
#define PDM_SCORER_API_H

#include <stdatomic.h>
#include <stddef.h>

#include "pdm_monitor.h"
#include "pdm_scorer.h"
#include "scorer_metrics.h"
#include "scorer_model.h"
#include "scorer_shadow.h"

typedef struct {
    const pdm_scorer_config *cfg; /* HTTP settings, Redis URL, --model for reloads */
    scorer_model *model;
    pdm_registry *registry;
    scorer_metrics *metrics;
    pdm_perf *perf;
    const atomic_int *joined;   /* the consumer has joined its group */
    const atomic_int *redis_up; /* the loop's last Redis step succeeded */
    const _Atomic int64_t *stream_time; /* the stream's event time (silence), INT64_MIN none */
    scorer_shadow *shadow;              /* NULL without --shadow-model */
} scorer_api_deps;

typedef struct scorer_api scorer_api;

/* Starts the server. *out is NULL without cfg->http_bind (or "off"). Every
 * dependency outlives the API. */
int scorer_api_start(const scorer_api_deps *deps, scorer_api **out, char *errstr, size_t errlen);
/* Stops the server (no handler runs afterwards); accepts NULL. */
void scorer_api_stop(scorer_api *a);
unsigned scorer_api_port(const scorer_api *a);
/* Async-signal-safe (SIGHUP): reload the HTTPS certificate and key files. */
void scorer_api_request_tls_reload(scorer_api *a);

#endif
