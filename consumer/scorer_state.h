/* scorer_state.h (internal to consumer/): the scorer's state layer over
 * Redis (redis_state.h) and its in-process cache (state_cache.h): loading a
 * batch's machines, starting each from its replay bookkeeping, writing the
 * batch back in one pipelined round trip that Redis executes while the
 * batch's output is produced, trimming, and retrying every Redis step with
 * backoff until it succeeds or a stop is requested (logged once per change).
 *
 * Loop thread only, except scorer_state_restore (pure) and `up` (atomic,
 * read by readiness checks).
 */
#ifndef PDM_SCORER_STATE_H
#define PDM_SCORER_STATE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pdm_features.h"
#include "pdm_scorer.h"
#include "redis_state.h"
#include "scorer_stages.h"
#include "scorer_batch.h"
#include "scorer_metrics.h"
#include "state_cache.h"

/* A machine's state after a batch's writes, for the state cache once Redis
 * has acknowledged them (and the ver counter they produced). */
typedef struct {
    pdm_rs_machine st;
    int64_t cover;          /* exact for telemetry and errors with ts > cover */
    int loaded_exists;      /* the batch found keys of it ... */
    int64_t loaded_version; /* ... and this ver counter */
    size_t version_slot;    /* the batch's HINCRBY reply */
} scorer_cache_update;

typedef struct {
    const atomic_int *stop;
    scorer_metrics *metrics;
    scorer_stages *stages; /* the loop's clock (NULL: none) */
    int64_t lateness_ms;
    int64_t ttl_ms;               /* the machines' keys expire this long after a write; 0: never */
    int64_t now_ms;               /* wall clock of the batch being written */
    pdm_redis *redis;
    pdm_state_cache *cache;       /* NULL when the cache is off */
    pdm_rs_batch *writes;         /* the last batch's writes */
    int writes_in_flight;         /* `writes` not acknowledged yet */
    int writes_sent;              /* ... but sent (else to be executed again) */
    scorer_cache_update *updates; /* for the machines of `writes` */
    size_t n_updates;
    atomic_int up; /* the last Redis step succeeded; logged per change */
} scorer_state;

/* Does not connect yet (the first step does). */
int scorer_state_open(scorer_state *st, const pdm_scorer_config *cfg, size_t batch_cap,
                      const atomic_int *stop, scorer_metrics *metrics, char *errstr, size_t errlen);
void scorer_state_close(scorer_state *st);

/* Waits for pdm:epoch (written if absent) before the first batch: retried
 * until Redis answers or a stop is requested. */
void scorer_state_start(scorer_state *st);
/* Checks that pdm:epoch is still the one the state belongs to (FLUSHALL, a
 * new empty server): 1 if the state was lost (the cache is cleared, the
 * loss logged and counted), 0 if not, -1 Redis error. Loads and writes
 * check it too, atomically (redis_state.h): a batch loaded before a flush
 * never writes after it, and is loaded again when its load saw one. */
int scorer_state_lost(scorer_state *st);

/* Step 2: the stored state of the batch's machines (after the last batch's
 * writes are acknowledged: they share the connection), from the cache where
 * Redis confirms the machine's ver counter, else loaded; then each machine
 * starts from its replay bookkeeping with its local feature state. -1 when
 * a stop was requested meanwhile, or out of memory. */
int scorer_state_load(scorer_state *st, scorer_batch *b);
/* Step 6: sends the batch's writes (recorded by scorer_batch_apply into
 * st->writes), its bookkeeping and trims; Redis executes them while the
 * output is produced. -1 on a stop request or out of memory. */
int scorer_state_write(scorer_state *st, scorer_batch *b);
/* Waits until Redis has acknowledged the last batch's writes (executing
 * them again after an error), then the cache learns each machine's state
 * as written. Before anything else uses the connection and before the
 * batch's offsets are committed. -1 on a stop request. */
int scorer_state_settle(scorer_state *st);

/* A machine's local feature state from its stored state (also for the HTTP
 * API's current features). 0, or -1 out of memory. */
int scorer_state_restore(const pdm_rs_machine *stored, int32_t id, pdm_machine_state **out);

#endif
