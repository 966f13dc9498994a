/* Unit tests of the scorer's state cache (consumer/state_cache.c) against a
 * real redis-server started by the test: the state computed after a batch
 * equals what Redis returns after the same writes (random batches with
 * replaced readings, duplicate marks, trims and dropped maintenance), the
 * ver counter moves by one per write, cover and filtering, eviction by bytes,
 * a batch sent and acknowledged later (pdm_rs_batch_send/_wait), and machines
 * whose keys expire (--state-ttl) never served from the cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdm_common.h"
#include "redis_state.h"
#include "redis_server.h" /* after redis_state.h: its fixture */
#include "state_cache.h"

#define H PDM_MS_PER_HOUR
#define T0 INT64_C(1420092000000) /* 2015-01-01 06:00 */

static void load_one(pdm_redis *r, int32_t m, int64_t from, pdm_rs_machine *out)
{
    char err[PDM_ERRSTR_SIZE];
    memset(out, 0, sizeof *out);
    assert_int_equal(pdm_rs_load(r, &m, &from, NULL, 1, out, err, sizeof err), 0);
}

static void assert_same_state(const pdm_rs_machine *a, const pdm_rs_machine *b)
{
    assert_int_equal(a->n_tel, b->n_tel);
    for (size_t i = 0; i < a->n_tel; i++) {
        assert_int_equal(a->tel[i].ts, b->tel[i].ts);
        assert_memory_equal(a->tel[i].v, b->tel[i].v, sizeof a->tel[i].v);
    }
    assert_int_equal(a->n_err, b->n_err);
    for (size_t i = 0; i < a->n_err; i++) {
        assert_int_equal(a->err[i].ts, b->err[i].ts);
        assert_int_equal(a->err[i].id, b->err[i].id);
    }
    assert_int_equal(a->n_maint, b->n_maint);
    for (size_t i = 0; i < a->n_maint; i++) {
        assert_int_equal(a->maint[i].ts, b->maint[i].ts);
        assert_int_equal(a->maint[i].id, b->maint[i].id);
    }
    assert_int_equal(a->has_info, b->has_info);
    assert_int_equal(a->model, b->model);
    assert_int_equal(a->age, b->age);
    assert_int_equal(a->newest, b->newest);
    assert_int_equal(a->base, b->base);
    assert_int_equal(a->level, b->level);
    assert_int_equal(a->base_level, b->base_level);
    assert_int_equal(a->notified_at, b->notified_at);
    assert_int_equal(a->base_notified_at, b->base_notified_at);
    assert_int_equal(a->n_src, b->n_src);
    for (size_t i = 0; i < a->n_src; i++) {
        assert_int_equal(pdm_rs_source_offset(b, a->src[i].topic, a->src[i].partition),
                         a->src[i].offset);
    }
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Fifty batches of random events for one machine: each loaded from Redis
 * with a random window start, written as the scorer writes them (newest
 * flag included), trimmed at random; the merged state must equal Redis'
 * afterwards, over the same window, and the ver counter must move by one. */
static void test_merge_equals_redis(void **state)
{
    (void)state;
    char err[PDM_ERRSTR_SIZE];
    pdm_redis *r = test_redis_connect();
    pdm_rs_batch *b = pdm_rs_batch_new();
    pdm_state_cache *cache = pdm_state_cache_new(1 << 20);
    assert_non_null(b);
    assert_non_null(cache);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    const int32_t id = 7;
    int64_t clock = T0;
    int64_t version = 0;
    pdm_event evs[64];
    const pdm_event *ptrs[64];
    for (int batch = 0; batch < 50; batch++) {
        int64_t from = clock - (int64_t)(rng_next(&seed) % 40) * H;
        pdm_rs_machine before, after = {0}, back;
        load_one(r, id, from, &before);
        assert_int_equal(before.version, version);
        size_t n = 1 + rng_next(&seed) % 40;
        int64_t newest = before.newest;
        pdm_rs_batch_reset(b);
        for (size_t i = 0; i < n; i++) {
            pdm_event *e = &evs[i];
            memset(e, 0, sizeof *e);
            e->machine_id = id;
            uint64_t kind = rng_next(&seed) % 10;
            /* mostly forward in time, sometimes back (late or replaced) */
            int64_t back_h = rng_next(&seed) % 4 == 0 ? (int64_t)(rng_next(&seed) % 30) : 0;
            if (back_h == 0)
                clock += H * (int64_t)(rng_next(&seed) % 2);
            e->ts = clock - back_h * H;
            if (kind < 6) {
                e->type = PDM_EV_TELEMETRY;
                e->u.telemetry.volt = 150.0 + (double)(rng_next(&seed) % 1000) / 7.0;
                e->u.telemetry.rotate = (double)batch;
                e->u.telemetry.pressure = (double)i;
                e->u.telemetry.vibration = 40.0 + (double)(rng_next(&seed) % 100);
            } else if (kind < 8) {
                e->type = PDM_EV_ERROR;
                e->u.error.error_id = 1 + (int)(rng_next(&seed) % 5);
            } else if (kind < 9) {
                e->type = PDM_EV_MAINTENANCE;
                e->u.maintenance.component = 1 + (int)(rng_next(&seed) % 4);
            } else {
                e->type = PDM_EV_MACHINE;
                e->u.machine.model = 1 + (int)(rng_next(&seed) % 4);
                e->u.machine.age = (int)(rng_next(&seed) % 20);
                before.has_info = 1;
                before.model = e->u.machine.model;
                before.age = e->u.machine.age;
            }
            int is_newest = e->type == PDM_EV_TELEMETRY && e->ts > newest;
            assert_int_equal(pdm_rs_batch_event(b, e, is_newest), 0);
            if (e->type == PDM_EV_TELEMETRY && (e->ts > newest || newest == INT64_MIN))
                newest = e->ts;
            ptrs[i] = e;
        }
        /* the bookkeeping as the batch leaves it */
        before.base = before.newest;
        before.newest = newest;
        before.level = (int)(rng_next(&seed) % 3);
        before.notified_at = clock;
        assert_int_equal(pdm_rs_source_set(&before, "pdm.events", 3, batch * 100), 0);
        int64_t horizon = INT64_MIN;
        pdm_rs_mark drop[8];
        size_t nd = 0;
        if (batch % 3 == 2) {
            horizon = clock - (int64_t)(10 + rng_next(&seed) % 20) * H;
            for (size_t i = 0; i < before.n_maint && nd < 8; i++)
                if (before.maint[i].ts < horizon && rng_next(&seed) % 2)
                    drop[nd++] = before.maint[i];
            assert_int_equal(pdm_rs_batch_trim(b, id, horizon, drop, nd), 0);
        }
        size_t slot = 99;
        assert_int_equal(pdm_rs_batch_meta(b, &before, &slot), 0);
        assert_int_equal(pdm_state_merge(&before, ptrs, n, horizon, drop, nd, &after), 0);
        assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), 0);
        assert_int_equal(pdm_rs_batch_version(b, slot), version + 1);
        version++;
        /* The merge holds what the batch wrote before the window too; the
         * cache keeps what is exact (ts > from) and returns it as a load. */
        pdm_rs_machine cached = {0};
        assert_int_equal(pdm_state_cache_put(cache, &after, from, version), 0);
        assert_int_equal(pdm_state_cache_get(cache, id, from, &cached), 1);
        load_one(r, id, from, &back);
        assert_same_state(&cached, &back);
        assert_int_equal(back.version, version);
        assert_int_equal(cached.version, version);
        pdm_rs_machine_clear(&before);
        pdm_rs_machine_clear(&cached);
        pdm_rs_machine_clear(&back);
    }
    pdm_state_cache_destroy(cache);
    pdm_rs_batch_destroy(b);
    pdm_redis_destroy(r);
}

static pdm_rs_machine sample_machine(int32_t id, int64_t first_ts, size_t n_tel)
{
    pdm_rs_machine m = {0};
    m.machine_id = id;
    m.exists = 1;
    m.newest = first_ts + (int64_t)(n_tel - 1) * H;
    m.tel = calloc(n_tel, sizeof *m.tel);
    for (size_t i = 0; i < n_tel; i++) {
        m.tel[i].ts = first_ts + (int64_t)i * H;
        m.tel[i].v[0] = (double)i;
    }
    m.n_tel = n_tel;
    m.err = calloc(2, sizeof *m.err);
    m.err[0] = (pdm_rs_mark){first_ts, 1};
    m.err[1] = (pdm_rs_mark){first_ts + 5 * H, 2};
    m.n_err = 2;
    m.maint = calloc(1, sizeof *m.maint);
    m.maint[0] = (pdm_rs_mark){first_ts - 100 * H, 3};
    m.n_maint = 1;
    assert_int_equal(pdm_rs_source_set(&m, "pdm.telemetry", 1, 42), 0);
    return m;
}

static void test_cover_and_filter(void **state)
{
    (void)state;
    pdm_state_cache *c = pdm_state_cache_new(1 << 20);
    assert_non_null(c);
    pdm_rs_machine m = sample_machine(5, T0, 30);
    /* exact for ts > T0 + 2h: the first three readings and the first error go */
    assert_int_equal(pdm_state_cache_put(c, &m, T0 + 2 * H, 17), 0);
    assert_null(m.tel); /* taken */
    assert_int_equal(pdm_state_cache_machines(c), 1);
    int64_t v = 0;
    assert_int_equal(pdm_state_cache_peek(c, 5, T0 + H, &v), 0); /* not covered */
    assert_int_equal(pdm_state_cache_peek(c, 6, T0 + 9 * H, &v), 0);
    assert_int_equal(pdm_state_cache_peek(c, 5, T0 + 2 * H, &v), 1);
    assert_int_equal(v, 17);
    pdm_rs_machine got = {0};
    assert_int_equal(pdm_state_cache_get(c, 5, T0 + H, &got), 0);
    assert_int_equal(pdm_state_cache_get(c, 5, T0 + 9 * H, &got), 1);
    assert_int_equal(got.n_tel, 20); /* T0+10h .. T0+29h */
    assert_int_equal(got.tel[0].ts, T0 + 10 * H);
    assert_int_equal(got.n_err, 0);   /* T0+5h is not after from */
    assert_int_equal(got.n_maint, 1); /* maintenance is never filtered */
    assert_int_equal(got.version, 17);
    assert_int_equal(got.newest, T0 + 29 * H);
    assert_int_equal(pdm_rs_source_offset(&got, "pdm.telemetry", 1), 42);
    pdm_rs_machine_clear(&got);
    /* still there after the copy was cleared; dropped on request */
    assert_int_equal(pdm_state_cache_get(c, 5, T0 + 3 * H, &got), 1);
    assert_int_equal(got.n_tel, 26);
    assert_int_equal(got.n_err, 1);
    pdm_rs_machine_clear(&got);
    pdm_state_cache_drop(c, 5);
    assert_int_equal(pdm_state_cache_machines(c), 0);
    assert_int_equal(pdm_state_cache_bytes(c), 0);
    /* a machine with bookkeeping only (machine info, no events yet) */
    pdm_rs_machine bare = {.machine_id = 8,
                           .exists = 1,
                           .has_info = 1,
                           .model = 3,
                           .age = 7,
                           .newest = INT64_MIN,
                           .base = INT64_MIN,
                           .level = -1};
    assert_int_equal(pdm_state_cache_put(c, &bare, T0, 2), 0);
    assert_int_equal(pdm_state_cache_get(c, 8, T0, &got), 1);
    assert_int_equal(got.n_tel + got.n_err + got.n_maint, 0);
    assert_int_equal(got.model, 3);
    assert_int_equal(got.age, 7);
    pdm_rs_machine_clear(&got);
    pdm_state_cache_destroy(c);
}

static void test_evicts_least_recent_by_bytes(void **state)
{
    (void)state;
    pdm_rs_machine probe = sample_machine(0, T0, 24);
    pdm_state_cache *sizer = pdm_state_cache_new(1 << 20);
    assert_int_equal(pdm_state_cache_put(sizer, &probe, INT64_MIN, 1), 0);
    size_t one = pdm_state_cache_bytes(sizer);
    pdm_state_cache_destroy(sizer);
    assert_true(one > 24 * sizeof(pdm_rs_telemetry));

    pdm_state_cache *c = pdm_state_cache_new(10 * one);
    for (int32_t id = 1; id <= 10; id++) {
        pdm_rs_machine m = sample_machine(id, T0, 24);
        assert_int_equal(pdm_state_cache_put(c, &m, INT64_MIN, id), 0);
    }
    assert_int_equal(pdm_state_cache_machines(c), 10);
    /* machine 1 used again: machine 2 is now the least recent */
    pdm_rs_machine got = {0};
    assert_int_equal(pdm_state_cache_get(c, 1, INT64_MIN, &got), 1);
    pdm_rs_machine_clear(&got);
    for (int32_t id = 11; id <= 13; id++) {
        pdm_rs_machine m = sample_machine(id, T0, 24);
        assert_int_equal(pdm_state_cache_put(c, &m, INT64_MIN, id), 0);
    }
    assert_int_equal(pdm_state_cache_machines(c), 10);
    assert_true(pdm_state_cache_bytes(c) <= 10 * one);
    assert_int_equal(pdm_state_cache_evicted(c), 3);
    assert_int_equal(pdm_state_cache_evicted(NULL), 0);
    int64_t v;
    assert_int_equal(pdm_state_cache_peek(c, 1, INT64_MIN, &v), 1);
    for (int32_t id = 2; id <= 4; id++)
        assert_int_equal(pdm_state_cache_peek(c, id, INT64_MIN, &v), 0);
    for (int32_t id = 5; id <= 13; id++)
        assert_int_equal(pdm_state_cache_peek(c, id, INT64_MIN, &v), 1);
    /* a newer state of a machine replaces its entry */
    pdm_rs_machine m = sample_machine(7, T0 + 24 * H, 24);
    assert_int_equal(pdm_state_cache_put(c, &m, INT64_MIN, 70), 0);
    assert_int_equal(pdm_state_cache_machines(c), 10);
    assert_int_equal(pdm_state_cache_evicted(c), 3); /* a replacement is no eviction */
    assert_int_equal(pdm_state_cache_peek(c, 7, INT64_MIN, &v), 1);
    assert_int_equal(v, 70);
    /* an entry larger than the whole budget is not kept */
    pdm_rs_machine big = sample_machine(99, T0, 2000);
    assert_int_equal(pdm_state_cache_put(c, &big, INT64_MIN, 1), 0);
    assert_int_equal(pdm_state_cache_peek(c, 99, INT64_MIN, &v), 0);
    assert_null(big.tel);
    /* many machines: the hash grows, every one is found */
    pdm_state_cache_clear(c);
    assert_int_equal(pdm_state_cache_machines(c), 0);
    pdm_state_cache_destroy(c);
    c = pdm_state_cache_new((size_t)5000 * one);
    for (int32_t id = 0; id < 5000; id++) {
        pdm_rs_machine e = sample_machine(id * 3, T0, 24);
        assert_int_equal(pdm_state_cache_put(c, &e, INT64_MIN, id), 0);
    }
    assert_int_equal(pdm_state_cache_machines(c), 5000);
    for (int32_t id = 0; id < 5000; id++) {
        assert_int_equal(pdm_state_cache_peek(c, id * 3, INT64_MIN, &v), 1);
        assert_int_equal(v, id);
        assert_int_equal(pdm_state_cache_peek(c, id * 3 + 1, INT64_MIN, &v), 0);
    }
    pdm_state_cache_destroy(c);
}

/* Sent, then other work, then acknowledged: the replies (and ver values)
 * are those of the batch; a load with version_only reads the counters;
 * another writer's HINCRBY shows as a different counter. */
static void test_send_then_wait(void **state)
{
    (void)state;
    char err[PDM_ERRSTR_SIZE];
    pdm_redis *r = test_redis_connect();
    pdm_rs_batch *b = pdm_rs_batch_new();
    int32_t ids[3] = {101, 102, 103};
    size_t slots[3];
    for (int round = 1; round <= 3; round++) {
        pdm_rs_batch_reset(b);
        for (int k = 0; k < 3; k++) {
            pdm_rs_machine m = {.machine_id = ids[k],
                                .newest = T0,
                                .base = INT64_MIN,
                                .level = 0,
                                .base_level = -1};
            pdm_event e = {.type = PDM_EV_TELEMETRY, .machine_id = ids[k], .ts = T0 + round * H};
            assert_int_equal(pdm_rs_batch_event(b, &e, 1), 0);
            assert_int_equal(pdm_rs_batch_meta(b, &m, &slots[k]), 0);
        }
        assert_int_equal(pdm_rs_batch_send(r, b, err, sizeof err), 0);
        assert_int_equal(pdm_rs_batch_wait(r, b, err, sizeof err), 0);
        for (int k = 0; k < 3; k++)
            assert_int_equal(pdm_rs_batch_version(b, slots[k]), round);
    }
    redisContext *other = redisConnect("127.0.0.1", test_server.port);
    freeReplyObject(redisCommand(other, "HINCRBY pdm:{102}:meta ver 1"));
    redisFree(other);
    int64_t from[3] = {0, 0, 0};
    unsigned char only[3] = {1, 1, 0};
    pdm_rs_machine out[3];
    memset(out, 0, sizeof out);
    assert_int_equal(pdm_rs_load(r, ids, from, only, 3, out, err, sizeof err), 0);
    assert_int_equal(out[0].version, 3);
    assert_int_equal(out[1].version, 4);
    assert_int_equal(out[0].n_tel, 0); /* counters only */
    assert_int_equal(out[2].version, 3);
    assert_int_equal(out[2].n_tel, 3); /* a full load */
    for (int k = 0; k < 3; k++)
        pdm_rs_machine_clear(&out[k]);
    /* an unknown machine has no counter */
    int32_t none = 999;
    only[0] = 1;
    assert_int_equal(pdm_rs_load(r, &none, from, only, 1, out, err, sizeof err), 0);
    assert_int_equal(out[0].version, 0);
    pdm_rs_batch_destroy(b);
    pdm_redis_destroy(r);
}

/* ---- expiry (--state-ttl) and the cache -------------------------------------------- */

#define FROM (T0 - 1000 * H)

/* One batch's load of one machine as scorer_state does it: from the cache
 * when Redis confirms the cached ver counter, else loaded in full. Returns
 * 1 on a cache hit. */
static int scorer_load(pdm_redis *r, pdm_state_cache *c, int32_t id, pdm_rs_machine *stored)
{
    char err[PDM_ERRSTR_SIZE];
    int64_t cached, from = FROM;
    unsigned char only = 1;
    memset(stored, 0, sizeof *stored);
    if (pdm_state_cache_peek(c, id, FROM, &cached)) {
        pdm_rs_machine v = {0};
        assert_int_equal(pdm_rs_load(r, &id, &from, &only, 1, &v, err, sizeof err), 0);
        if (v.version == cached && pdm_state_cache_get(c, id, FROM, stored) == 1)
            return 1;
        pdm_state_cache_drop(c, id);
    }
    load_one(r, id, FROM, stored);
    return 0;
}

/* The batch's write of that machine (its events, bookkeeping, deadline by
 * pdm_rs_expiry for ttl_ms) and what the cache keeps once Redis has
 * acknowledged it. Returns 1 if the cache kept the state. */
static int scorer_write(pdm_redis *r, pdm_state_cache *c, pdm_rs_machine *stored,
                        const pdm_event *evs, size_t n, int64_t ttl_ms)
{
    char err[PDM_ERRSTR_SIZE];
    const pdm_event *ptrs[8];
    unsigned written = 0, keys;
    pdm_rs_batch *b = pdm_rs_batch_new();
    for (size_t i = 0; i < n; i++) {
        written |= pdm_rs_key_of(evs[i].type);
        assert_int_equal(pdm_rs_batch_event(b, &evs[i], 0), 0);
        ptrs[i] = &evs[i];
        if (evs[i].type == PDM_EV_TELEMETRY && evs[i].ts > stored->newest)
            stored->newest = evs[i].ts;
        if (evs[i].type == PDM_EV_MACHINE) {
            stored->has_info = 1;
            stored->model = evs[i].u.machine.model;
            stored->age = evs[i].u.machine.age;
        }
    }
    size_t slot;
    pdm_rs_machine after = {0};
    assert_int_equal(pdm_rs_batch_meta(b, stored, &slot), 0);
    int64_t at = pdm_rs_expiry(stored->expire_at, pdm_now_ms(), ttl_ms, written, &keys);
    assert_int_equal(pdm_rs_batch_expire(b, stored->machine_id, at, keys), 0);
    assert_int_equal(pdm_state_merge(stored, ptrs, n, INT64_MIN, NULL, 0, &after), 0);
    after.expire_at = at;
    assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), 0);
    int64_t v = pdm_rs_batch_version(b, slot);
    int keep = pdm_state_cache_may_keep(stored->exists, stored->version, v);
    if (keep)
        assert_int_equal(pdm_state_cache_put(c, &after, FROM, v), 0);
    else
        pdm_state_cache_drop(c, stored->machine_id);
    pdm_rs_machine_clear(&after);
    pdm_rs_machine_clear(stored);
    pdm_rs_batch_destroy(b);
    return keep;
}

/* Expires some keys of a machine now (PEXPIRE 1 ms, then past it). */
static void expire_now(int32_t id, const char *const *kinds)
{
    redisContext *rc = redisConnect("127.0.0.1", test_server.port);
    for (; *kinds; kinds++)
        freeReplyObject(redisCommand(rc, "PEXPIRE pdm:{%d}:%s 1", (int)id, *kinds));
    redisFree(rc);
    usleep(20 * 1000);
}

/* The cached state equals what Redis holds now. */
static void assert_cache_is_redis(pdm_redis *r, pdm_state_cache *c, int32_t id)
{
    pdm_rs_machine cached = {0}, back;
    assert_int_equal(pdm_state_cache_get(c, id, FROM, &cached), 1);
    load_one(r, id, FROM, &back);
    assert_same_state(&cached, &back);
    assert_int_equal(cached.version, back.version);
    pdm_rs_machine_clear(&cached);
    pdm_rs_machine_clear(&back);
}

/* A machine whose keys expired is never served from the cache as if they
 * were there: its ver counter is gone with its meta hash, so the next batch
 * loads it in full (nothing), and what it writes is cached again. Keys that
 * expire between a batch's load and its write restart the counter at 1, so
 * that write is not cached; a load torn by the expiry (data found, meta hash
 * gone) is not cached either. Each time the cache ends equal to Redis. */
static void test_expired_machine_reloaded(void **state)
{
    (void)state;
    static const char *const all[] = {"tel", "err", "maint", "meta", NULL};
    static const char *const meta_only[] = {"meta", NULL};
    static const char *const data_only[] = {"tel", "err", "maint", NULL};
    pdm_redis *r = test_redis_connect();
    pdm_state_cache *c = pdm_state_cache_new(1 << 20);
    const int64_t later = 3600 * 1000; /* a TTL that does not pass during the test */
    pdm_rs_machine st;
    pdm_event info = {.type = PDM_EV_MACHINE, .machine_id = 21, .ts = T0};
    info.u.machine.model = 3;
    info.u.machine.age = 9;
    pdm_event b1[] = {info,
                      {.type = PDM_EV_ERROR, .machine_id = 21, .ts = T0},
                      {.type = PDM_EV_MAINTENANCE, .machine_id = 21, .ts = T0 - H},
                      {.type = PDM_EV_TELEMETRY, .machine_id = 21, .ts = T0}};
    b1[1].u.error.error_id = 2;
    b1[2].u.maintenance.component = 1;
    pdm_event b2 = {.type = PDM_EV_TELEMETRY, .machine_id = 21, .ts = T0 + H};
    pdm_event b3 = {.type = PDM_EV_TELEMETRY, .machine_id = 21, .ts = T0 + 2 * H};

    /* 0. Not expired: a batch served from the cache writes one error; within
     * the slack it sets the deadline the cache knows on the key it created,
     * and the four keys still share it. */
    for (int i = 0; i < 4; i++)
        b1[i].machine_id = 20;
    pdm_event e20 = {.type = PDM_EV_ERROR, .machine_id = 20, .ts = T0 + H};
    e20.u.error.error_id = 5;
    scorer_load(r, c, 20, &st);
    assert_int_equal(scorer_write(r, c, &st, &b1[3], 1, later), 1); /* telemetry alone */
    assert_int_equal(scorer_load(r, c, 20, &st), 1);
    int64_t d = st.expire_at;
    assert_true(d > pdm_now_ms() + later - 60000);
    assert_int_equal(scorer_write(r, c, &st, &e20, 1, later), 1);
    redisContext *rc = redisConnect("127.0.0.1", test_server.port);
    for (int i = 0; all[i]; i++) {
        redisReply *rep = redisCommand(rc, "PEXPIRETIME pdm:{20}:%s", all[i]);
        if (i == 2) /* no maintenance: no key */
            assert_int_equal(rep->integer, -2);
        else
            assert_int_equal(rep->integer, d);
        freeReplyObject(rep);
    }
    redisFree(rc);
    assert_int_equal(scorer_load(r, c, 20, &st), 1);
    assert_int_equal(st.expire_at, d);
    assert_int_equal(st.n_err, 1);
    pdm_rs_machine_clear(&st);

    /* 1. Expired by its deadline between two batches. */
    for (int i = 0; i < 4; i++)
        b1[i].machine_id = 21;
    assert_int_equal(scorer_load(r, c, 21, &st), 0);
    assert_int_equal(scorer_write(r, c, &st, b1, 4, later), 1);
    assert_int_equal(scorer_load(r, c, 21, &st), 1);
    assert_int_equal(scorer_write(r, c, &st, &b2, 1, 150), 1); /* a TTL of 150 ms */
    usleep(300 * 1000);
    assert_int_equal(scorer_load(r, c, 21, &st), 0); /* not from the cache */
    assert_false(st.exists);
    assert_int_equal(st.n_tel + st.n_err + st.n_maint, 0);
    assert_false(st.has_info);
    assert_int_equal(scorer_write(r, c, &st, &b3, 1, later), 1);
    assert_cache_is_redis(r, c, 21);
    assert_int_equal(scorer_load(r, c, 21, &st), 1);
    assert_int_equal(st.n_tel, 1); /* only what came after the expiry */
    assert_false(st.has_info);
    pdm_rs_machine_clear(&st);

    /* 2. Expired after the batch's load, before its write. */
    for (int i = 0; i < 4; i++)
        b1[i].machine_id = 22;
    b2.machine_id = b3.machine_id = 22;
    scorer_load(r, c, 22, &st);
    assert_int_equal(scorer_write(r, c, &st, b1, 4, later), 1);
    assert_int_equal(scorer_load(r, c, 22, &st), 1);
    expire_now(22, all);
    assert_int_equal(scorer_write(r, c, &st, &b2, 1, later), 0); /* ver restarted at 1 */
    assert_int_equal(scorer_load(r, c, 22, &st), 0);
    assert_int_equal(st.n_tel, 1);
    assert_false(st.has_info);
    assert_int_equal(scorer_write(r, c, &st, &b3, 1, later), 1);
    assert_cache_is_redis(r, c, 22);

    /* 3. A load torn by the expiry: the data keys were read just before the
     * deadline, the meta hash just after; the data is gone by the write. */
    for (int i = 0; i < 4; i++)
        b1[i].machine_id = 23;
    b2.machine_id = b3.machine_id = 23;
    scorer_load(r, c, 23, &st);
    assert_int_equal(scorer_write(r, c, &st, b1, 4, later), 1);
    expire_now(23, meta_only);
    assert_int_equal(scorer_load(r, c, 23, &st), 0); /* the counter is gone */
    assert_true(st.exists);
    assert_int_equal(st.version, 0);
    assert_int_equal(st.n_tel, 1);
    expire_now(23, data_only);
    assert_int_equal(scorer_write(r, c, &st, &b2, 1, later), 0);
    assert_int_equal(scorer_load(r, c, 23, &st), 0);
    assert_int_equal(st.n_tel, 1);
    assert_int_equal(st.tel[0].ts, T0 + H);
    assert_int_equal(scorer_write(r, c, &st, &b3, 1, later), 1);
    assert_cache_is_redis(r, c, 23);

    /* the rule alone */
    assert_true(pdm_state_cache_may_keep(0, 0, 1));  /* a new machine */
    assert_true(pdm_state_cache_may_keep(1, 4, 5));  /* nobody in between */
    assert_false(pdm_state_cache_may_keep(1, 4, 6)); /* another writer */
    assert_false(pdm_state_cache_may_keep(1, 4, 1)); /* expired or deleted meanwhile */
    assert_false(pdm_state_cache_may_keep(1, 0, 1)); /* a torn load */
    pdm_state_cache_destroy(c);
    pdm_redis_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_equals_redis),
        cmocka_unit_test(test_cover_and_filter),
        cmocka_unit_test(test_evicts_least_recent_by_bytes),
        cmocka_unit_test(test_send_then_wait),
        cmocka_unit_test(test_expired_machine_reloaded),
    };
    return cmocka_run_group_tests(tests, test_redis_group_setup, test_redis_group_teardown);
}
