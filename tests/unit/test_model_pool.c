/* test_model_pool.c: the model's helper threads (model/pool.h) cover every
 * row exactly once, report a failed part, and leave a second caller to run
 * its rows itself while a run is in progress. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "pool.h"

enum { N = 10000 };

typedef struct {
    _Atomic int hits[N];
    _Atomic int parts;
    size_t fail_at; /* a part containing this row fails; N: none */
    pthread_t caller;
    _Atomic int on_caller;
} job;

static int mark(void *ctx, size_t lo, size_t hi)
{
    job *j = ctx;
    for (size_t i = lo; i < hi; i++)
        atomic_fetch_add(&j->hits[i], 1);
    atomic_fetch_add(&j->parts, 1);
    if (pthread_equal(pthread_self(), j->caller))
        atomic_fetch_add(&j->on_caller, (int)(hi - lo));
    return j->fail_at >= lo && j->fail_at < hi ? -1 : 0;
}

static void run(pdm_pool *p, job *j, size_t n, size_t min_part, int want_rc)
{
    memset(j, 0, sizeof *j);
    j->fail_at = N;
    j->caller = pthread_self();
    assert_int_equal(pdm_pool_run(p, mark, j, n, min_part), want_rc);
}

static void test_every_row_once(void **state)
{
    (void)state;
    static job j;
    pdm_pool *p = pdm_pool_new(3);
    assert_non_null(p);
    for (int round = 0; round < 200; round++) { /* helpers sleep and wake many times */
        size_t n = (size_t)(round * 37) % N + 1;
        run(p, &j, n, 16, 0);
        for (size_t i = 0; i < N; i++)
            assert_int_equal(j.hits[i], i < n ? 1 : 0);
        size_t want = n / 16 >= 3 ? 3 : n / 16 >= 2 ? 2 : 1;
        assert_int_equal(j.parts, (int)want);
        assert_true(j.on_caller > 0); /* the caller takes the first part */
    }
    run(NULL, &j, 100, 1, 0); /* no pool: the caller alone */
    assert_int_equal(j.parts, 1);
    assert_int_equal(j.on_caller, 100);
    pdm_pool_destroy(p);
    assert_null(pdm_pool_new(1));
}

static void test_failed_part(void **state)
{
    (void)state;
    static job j;
    pdm_pool *p = pdm_pool_new(2);
    memset(&j, 0, sizeof j);
    j.caller = pthread_self();
    j.fail_at = N - 1; /* in the helper's part */
    assert_int_equal(pdm_pool_run(p, mark, &j, N, 16), -1);
    memset(&j, 0, sizeof j);
    j.caller = pthread_self();
    j.fail_at = 0; /* in the caller's */
    assert_int_equal(pdm_pool_run(p, mark, &j, N, 16), -1);
    run(p, &j, N, 16, 0); /* and the next run is fine */
    pdm_pool_destroy(p);
}

/* A run whose first part starts a second caller and waits for it. */
typedef struct {
    pdm_pool *pool;
    int second_rc;
    job inner;
} nested;

static void *second_caller(void *arg)
{
    nested *x = arg;
    x->inner.fail_at = N;
    x->inner.caller = pthread_self();
    x->second_rc = pdm_pool_run(x->pool, mark, &x->inner, 1000, 16);
    return NULL;
}

static int start_second(void *ctx, size_t lo, size_t hi)
{
    nested *x = ctx;
    (void)hi;
    if (lo == 0) { /* the first caller's part, while the pool is busy */
        pthread_t t;
        if (pthread_create(&t, NULL, second_caller, x))
            return -1;
        pthread_join(t, NULL);
    }
    return 0;
}

static void test_busy_pool_runs_on_caller(void **state)
{
    (void)state;
    static nested x;
    memset(&x, 0, sizeof x);
    x.pool = pdm_pool_new(2);
    assert_int_equal(pdm_pool_run(x.pool, start_second, &x, 1000, 16), 0);
    assert_int_equal(x.second_rc, 0);
    for (size_t i = 0; i < 1000; i++)
        assert_int_equal(x.inner.hits[i], 1);
    assert_int_equal(x.inner.parts, 1);        /* not split: the pool was busy */
    assert_int_equal(x.inner.on_caller, 1000); /* every row on the second caller's thread */
    pdm_pool_destroy(x.pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row_once),
        cmocka_unit_test(test_failed_part),
        cmocka_unit_test(test_busy_pool_runs_on_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
