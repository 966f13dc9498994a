/* pool.h (internal to the model module): helper threads that take parts of
 * a batch of rows, for the native evaluator and the native TreeSHAP (both
 * read-only once built, so rows split freely and every row's result is the
 * same whichever thread computed it).
 *
 * One run at a time: a caller that finds the pool busy (the HTTP API's
 * /v1/predict beside the scoring loop) runs its rows itself. Helpers sleep
 * on a condition variable between runs: no spinning. */
#ifndef PDM_MODEL_POOL_H
#define PDM_MODEL_POOL_H

#include <stddef.h>

typedef struct pdm_pool pdm_pool;

/* threads: the total, the caller included (>= 2; helpers = threads - 1).
 * NULL if a thread cannot be started. */
pdm_pool *pdm_pool_new(int threads);
void pdm_pool_destroy(pdm_pool *p);

/* Work on rows [lo, hi): 0, or -1 (its error in its own context). */
typedef int (*pdm_pool_fn)(void *ctx, size_t lo, size_t hi);

/* Splits [0, n) into parts of at least min_part rows, one per thread
 * (fewer when n is small; the caller takes the first), runs fn on each
 * and waits for all. p NULL or busy: fn(ctx, 0, n) on the caller's thread.
 * Returns 0, or -1 if a part failed. */
int pdm_pool_run(pdm_pool *p, pdm_pool_fn fn, void *ctx, size_t n, size_t min_part);

#endif
