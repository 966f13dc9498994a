/* pool.c: helper threads for parts of a batch (pool.h). */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    pdm_pool *pool;
    int index; /* part index - 1 this helper takes */
    pthread_t thread;
} helper;

struct pdm_pool {
    pthread_mutex_t run_lock; /* one run at a time (trylock) */
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    unsigned long generation; /* a new run for the helpers */
    int quit;
    /* the run */
    pdm_pool_fn fn;
    void *ctx;
    size_t n, parts;
    int pending, failed;
    helper *helpers;
    int n_helpers;
};

/* Part k of the run's [0, n) split into `parts`. */
static void bounds(const pdm_pool *p, size_t k, size_t *lo, size_t *hi)
{
    *lo = p->n * k / p->parts;
    *hi = p->n * (k + 1) / p->parts;
}

static void *helper_main(void *arg)
{
    helper *h = arg;
    pdm_pool *p = h->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->generation == seen && !p->quit)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->quit)
            break;
        seen = p->generation;
        size_t k = (size_t)h->index + 1;
        if (k >= p->parts)
            continue; /* not needed this run */
        size_t lo, hi;
        bounds(p, k, &lo, &hi);
        pdm_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->lock);
        int rc = fn(ctx, lo, hi);
        pthread_mutex_lock(&p->lock);
        if (rc)
            p->failed = 1;
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

pdm_pool *pdm_pool_new(int threads)
{
    if (threads < 2)
        return NULL;
    pdm_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->helpers = calloc((size_t)threads - 1, sizeof *p->helpers);
    if (!p->helpers) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->run_lock, NULL);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 0; i < threads - 1; i++) {
        p->helpers[i].pool = p;
        p->helpers[i].index = i;
        if (pthread_create(&p->helpers[i].thread, NULL, helper_main, &p->helpers[i])) {
            pdm_pool_destroy(p);
            return NULL;
        }
        p->n_helpers++;
    }
    return p;
}

void pdm_pool_destroy(pdm_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->quit = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_helpers; i++)
        pthread_join(p->helpers[i].thread, NULL);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->run_lock);
    free(p->helpers);
    free(p);
}

int pdm_pool_run(pdm_pool *p, pdm_pool_fn fn, void *ctx, size_t n, size_t min_part)
{
    size_t parts = min_part ? n / min_part : n;
    if (p && parts > (size_t)p->n_helpers + 1)
        parts = (size_t)p->n_helpers + 1;
    if (!p || parts < 2 || pthread_mutex_trylock(&p->run_lock) != 0)
        return fn(ctx, 0, n) ? -1 : 0;
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->parts = parts;
    p->pending = (int)parts - 1;
    p->failed = 0;
    p->generation++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    size_t lo, hi;
    bounds(p, 0, &lo, &hi);
    int rc = fn(ctx, lo, hi);
    pthread_mutex_lock(&p->lock);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->lock);
    if (p->failed)
        rc = -1;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->run_lock);
    return rc ? -1 : 0;
}
