/* pool.c: helper threads for parts of a batch (pool.h).
 *
 * A run cuts its rows into chunks; the caller and the helpers take chunks
 * from one counter until none is left. The counter holds the run's number
 * in its high half, so a helper the scheduler woke too late for a run (its
 * chunks all taken, perhaps the next run begun) takes nothing of it; the
 * caller waits only for the chunks taken, not for every helper to wake. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    pdm_pool *pool;
    pthread_t thread;
} helper;

/* What a helper copies of a run when it wakes. */
typedef struct {
    pdm_pool_fn fn;
    void *ctx;
    size_t n, chunk, chunks;
    uint32_t run;
} run_view;

struct pdm_pool {
    pthread_mutex_t run_lock; /* one run at a time (trylock) */
    pthread_mutex_t lock;
    pthread_cond_t work, done_cond;
    int quit;
    run_view current;      /* under lock */
    _Atomic uint64_t next; /* run << 32 | the next chunk to take */
    _Atomic size_t done;   /* chunks of the current run finished */
    _Atomic int failed;
    helper *helpers;
    int n_helpers;
};

/* Takes chunks of run v until none is left or another run has begun. */
static void take_chunks(pdm_pool *p, const run_view *v)
{
    for (;;) {
        uint64_t cur = atomic_load(&p->next);
        if ((uint32_t)(cur >> 32) != v->run || (cur & 0xffffffffu) >= v->chunks)
            return;
        if (!atomic_compare_exchange_weak(&p->next, &cur, cur + 1))
            continue;
        size_t k = (size_t)(cur & 0xffffffffu);
        size_t lo = k * v->chunk, hi = lo + v->chunk < v->n ? lo + v->chunk : v->n;
        if (v->fn(v->ctx, lo, hi))
            atomic_store(&p->failed, 1);
        if (atomic_fetch_add(&p->done, 1) + 1 == v->chunks) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done_cond);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

static void *helper_main(void *arg)
{
    helper *h = arg;
    pdm_pool *p = h->pool;
    uint32_t seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->current.run == seen && !p->quit)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->quit)
            break;
        run_view v = p->current;
        seen = v.run;
        pthread_mutex_unlock(&p->lock);
        take_chunks(p, &v);
        pthread_mutex_lock(&p->lock);
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
    pthread_cond_init(&p->done_cond, NULL);
    for (int i = 0; i < threads - 1; i++) {
        p->helpers[i].pool = p;
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
    pthread_cond_destroy(&p->done_cond);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->run_lock);
    free(p->helpers);
    free(p);
}

int pdm_pool_run(pdm_pool *p, pdm_pool_fn fn, void *ctx, size_t n, size_t min_part)
{
    if (!min_part)
        min_part = 1;
    size_t chunks = (n + min_part - 1) / min_part;
    if (!p || chunks < 2 || chunks > 0xffffffffu || pthread_mutex_trylock(&p->run_lock) != 0)
        return fn(ctx, 0, n) ? -1 : 0;
    pthread_mutex_lock(&p->lock);
    uint32_t run = p->current.run + 1;
    if (run == 0)
        run = 1; /* 0 is the helpers' "none seen yet" */
    p->current = (run_view){fn, ctx, n, min_part, chunks, run};
    atomic_store(&p->done, 0);
    atomic_store(&p->failed, 0);
    atomic_store(&p->next, (uint64_t)run << 32);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    run_view v = {fn, ctx, n, min_part, chunks, run};
    take_chunks(p, &v);
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->done) < chunks)
        pthread_cond_wait(&p->done_cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    int rc = atomic_load(&p->failed) ? -1 : 0;
    pthread_mutex_unlock(&p->run_lock);
    return rc;
}
