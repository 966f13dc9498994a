/* scorer_ready.c: the readiness rule and the Redis probe (see scorer_ready.h). */
#include "scorer_ready.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis_state.h"

scorer_ready_verdict scorer_ready_rule(const scorer_ready_inputs *in)
{
    scorer_ready_verdict v;
    v.redis = in->redis_answered && in->redis_age_s >= 0 &&
              in->redis_age_s <= PDM_READY_REDIS_STALE_S;
    v.model = in->model_loaded != 0;
    v.consumer_group = in->group_joined != 0;
    v.loop = in->loop_redis_ok != 0;
    v.ready = v.redis && v.model && v.consumer_group && v.loop;
    return v;
}

struct scorer_redis_probe {
    pdm_redis *redis;
    pthread_t thread;
    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t wake;
    int stop;
    int answered;
    double at; /* monotonic time of the last result; 0 none yet */
    char error[PDM_ERRSTR_SIZE];
};

static void *probe_main(void *arg)
{
    scorer_redis_probe *p = arg;
    char err[PDM_ERRSTR_SIZE];
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        pthread_mutex_unlock(&p->lock);
        /* The connection is this thread's alone: no lock held while Redis
         * may take its timeout to answer. */
        err[0] = '\0';
        int ok = pdm_redis_ping(p->redis, err, sizeof err) == 0;
        double now = pdm_monotonic_s();
        pthread_mutex_lock(&p->lock);
        p->answered = ok;
        p->at = now;
        snprintf(p->error, sizeof p->error, "%s", ok ? "" : err);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        double next = (double)until.tv_sec + (double)until.tv_nsec / 1e9 +
                      PDM_READY_PROBE_INTERVAL_S;
        until.tv_sec = (time_t)next;
        until.tv_nsec = (long)((next - floor(next)) * 1e9);
        while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

scorer_redis_probe *scorer_redis_probe_start(const char *url, const char *password, char *errstr,
                                             size_t errlen)
{
    scorer_redis_probe *p = calloc(1, sizeof *p);
    if (!p) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(p->error, sizeof p->error, "not probed yet");
    p->redis = pdm_redis_new(url, password, PDM_READY_PROBE_TIMEOUT_S, errstr, errlen);
    if (!p->redis || pthread_create(&p->thread, NULL, probe_main, p)) {
        if (p->redis)
            pdm_err(errstr, errlen, "cannot start the redis probe thread");
        pdm_redis_destroy(p->redis);
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    return p;
}

void scorer_redis_probe_stop(scorer_redis_probe *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pdm_redis_destroy(p->redis);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int scorer_redis_probe_result(scorer_redis_probe *p, double *age_s, char *errstr, size_t errlen)
{
    pthread_mutex_lock(&p->lock);
    int answered = p->answered;
    *age_s = p->at > 0 ? pdm_monotonic_s() - p->at : HUGE_VAL;
    if (!answered)
        pdm_err(errstr, errlen, "%s", p->error);
    pthread_mutex_unlock(&p->lock);
    return answered;
}
