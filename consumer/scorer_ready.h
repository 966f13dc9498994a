/* scorer_ready.h (internal to consumer/): the one definition of "ready",
 * used by both GET /readyz and the pdm_ready gauge, and the Redis probe it
 * reads.
 *
 * Ready means: a model is loaded, the consumer has joined its group, Redis
 * answers (the probe's PING succeeded within PDM_READY_REDIS_STALE_S) and
 * the loop is not stuck on Redis (its last Redis step succeeded: a Redis
 * that answers PING but refuses the scorer's writes, e.g. an ACL without
 * HINCRBY, leaves the loop retrying and the scorer not ready).
 *
 * The probe runs on a thread of its own with its own connection, PINGing
 * every PDM_READY_PROBE_INTERVAL_S with a PDM_READY_PROBE_TIMEOUT_S
 * timeout, so that a readiness check never touches Redis: /readyz answers in
 * microseconds whatever Redis does (a hung Redis cannot hold the HTTP
 * threads, and /healthz never waits behind readiness probes), and a Redis
 * that dies while the stream is idle flips both within the staleness bound.
 */
#ifndef PDM_SCORER_READY_H
#define PDM_SCORER_READY_H

#include <stddef.h>

#include "pdm_common.h"

#define PDM_READY_PROBE_INTERVAL_S 0.5
#define PDM_READY_PROBE_TIMEOUT_S 1.0
/* A probe result older than this no longer counts as Redis answering (the
 * probe itself hangs at most a connect and a PING, each bounded by the
 * timeout). */
#define PDM_READY_REDIS_STALE_S 3.0

/* What readiness is decided from. */
typedef struct {
    int model_loaded;
    int group_joined;
    int redis_answered;  /* the probe's last PING succeeded ... */
    double redis_age_s;  /* ... this long ago (the probe's last result's age) */
    int loop_redis_ok;   /* the loop's last Redis step succeeded */
} scorer_ready_inputs;

/* The verdict, with each check apart (for /readyz's "checks"). */
typedef struct {
    int ready;
    int redis;  /* Redis answers PING, recently enough */
    int model;
    int consumer_group;
    int loop;   /* the loop's Redis steps succeed */
} scorer_ready_verdict;

/* The rule, pure. */
scorer_ready_verdict scorer_ready_rule(const scorer_ready_inputs *in);

typedef struct scorer_redis_probe scorer_redis_probe;

/* Starts the probe's thread (its first PING at once). NULL with errstr. */
scorer_redis_probe *scorer_redis_probe_start(const char *url, const char *password, char *errstr,
                                             size_t errlen);
/* Stops and joins the thread (within about the probe timeout); accepts NULL. */
void scorer_redis_probe_stop(scorer_redis_probe *p);
/* The last result: 1 if the last PING succeeded, its age in *age_s (a large
 * number before the first result), the last error in errstr when not. */
int scorer_redis_probe_result(scorer_redis_probe *p, double *age_s, char *errstr, size_t errlen);

#endif
