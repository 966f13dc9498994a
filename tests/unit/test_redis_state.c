/* Unit tests of the scorer's Redis state layer against a real redis-server
 * started by the test: layout, idempotent writes, trims, bookkeeping, key
 * expiry (--state-ttl), epoch (FLUSHALL detection), URL parsing and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "pdm_common.h"
#include "redis_state.h"
#include "redis_server.h" /* after redis_state.h: its fixture */

#define H PDM_MS_PER_HOUR
#define T0 INT64_C(1420092000000) /* 2015-01-01 06:00 */


static pdm_event tel(int32_t m, int64_t ts, double v)
{
    pdm_event e = {.type = PDM_EV_TELEMETRY, .machine_id = m, .ts = ts};
    e.u.telemetry.volt = v;
    e.u.telemetry.rotate = v + 1;
    e.u.telemetry.pressure = v + 2;
    e.u.telemetry.vibration = v + 3;
    return e;
}

static pdm_event mark(pdm_event_type t, int32_t m, int64_t ts, int id)
{
    pdm_event e = {.type = t, .machine_id = m, .ts = ts};
    if (t == PDM_EV_ERROR)
        e.u.error.error_id = id;
    else
        e.u.maintenance.component = id;
    return e;
}

static void flushall(pdm_redis *r)
{
    redisContext *c = redisConnect("127.0.0.1", test_server.port);
    redisReply *rep = redisCommand(c, "FLUSHALL");
    freeReplyObject(rep);
    redisFree(c);
    (void)r;
}

static void load_one(pdm_redis *r, int32_t m, int64_t from, pdm_rs_machine *out)
{
    char err[PDM_ERRSTR_SIZE];
    memset(out, 0, sizeof *out);
    assert_int_equal(pdm_rs_load(r, &m, &from, NULL, 1, out, err, sizeof err), 0);
}

static void write_events(pdm_redis *r, const pdm_event *evs, size_t n)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_rs_batch *b = pdm_rs_batch_new();
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pdm_rs_batch_event(b, &evs[i], 0), 0);
    assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), 0);
    pdm_rs_batch_destroy(b);
}

/* Newest readings are held back and go out grouped by machine, up to 32
 * pairs a ZADD, before any other command: a replacement flushes them
 * first, so it still replaces. What Redis holds is what one command per
 * reading gives. */
static void test_readings_share_zadds(void **state)
{
    (void)state;
    pdm_redis *r = test_redis_connect();
    flushall(r);
    char err[PDM_ERRSTR_SIZE];
    pdm_rs_batch *b = pdm_rs_batch_new();
    for (int i = 0; i < 40; i++) { /* machines 9 and 10 interleaved, as in a stream */
        pdm_event e = tel(9, T0 + i * H, 100.0 + i);
        assert_int_equal(pdm_rs_batch_event(b, &e, 1), 0);
        if (i < 3) {
            pdm_event o = tel(10, T0 + i * H, 5.0 + i);
            assert_int_equal(pdm_rs_batch_event(b, &o, 1), 0);
        }
    }
    /* 9: 32 + 8 pairs; 10: 3 */
    assert_int_equal(pdm_rs_batch_commands(b), 3);
    pdm_event more = tel(9, T0 + 40 * H, 140.0);
    assert_int_equal(pdm_rs_batch_event(b, &more, 1), 0);
    pdm_event at = tel(9, T0 + 41 * H, 1.0);
    assert_int_equal(pdm_rs_batch_event(b, &at, 1), 0);
    pdm_event replace = tel(9, T0 + 41 * H, 141.0); /* replaces the held one at 41 h */
    assert_int_equal(pdm_rs_batch_event(b, &replace, 0), 0);
    /* + the held pair's ZADD, then ZREMRANGEBYSCORE and ZADD */
    assert_int_equal(pdm_rs_batch_commands(b), 6);
    pdm_event early = tel(9, T0 + 3 * H, -1.0); /* replaces the one at 3 h */
    assert_int_equal(pdm_rs_batch_event(b, &early, 0), 0);
    pdm_event err_mark = mark(PDM_EV_ERROR, 9, T0 + 42 * H, 2);
    assert_int_equal(pdm_rs_batch_event(b, &err_mark, 1), 0);
    pdm_event after = tel(9, T0 + 42 * H, 142.0);
    assert_int_equal(pdm_rs_batch_event(b, &after, 1), 0);
    assert_int_equal(pdm_rs_batch_trim(b, 10, T0 + H, NULL, 0), 0); /* flushes 9's first */
    assert_int_equal(pdm_rs_batch_commands(b), 8 + 1 + 1 + 2);
    assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), 0);
    pdm_rs_batch_destroy(b);

    pdm_rs_machine m;
    load_one(r, 9, T0 - H, &m);
    assert_int_equal(m.n_tel, 43);
    for (int i = 0; i < 43; i++) {
        assert_int_equal(m.tel[i].ts, T0 + i * H);
        assert_true(m.tel[i].v[0] == (i == 3 ? -1.0 : 100.0 + i));
        assert_true(m.tel[i].v[3] == m.tel[i].v[0] + 3);
    }
    assert_int_equal(m.n_err, 1);
    pdm_rs_machine_clear(&m);
    load_one(r, 10, T0 - H, &m);
    assert_int_equal(m.n_tel, 2); /* the trim took the reading before T0 + H */
    assert_int_equal(m.tel[0].ts, T0 + H);
    pdm_rs_machine_clear(&m);
    pdm_redis_destroy(r);
}

static void test_round_trip_and_idempotence(void **state)
{
    pdm_redis *r = test_redis_connect();
    flushall(r);
    pdm_event evs[] = {
        tel(42, T0, 170.5), tel(42, T0 + H, 171.25), tel(42, T0 + H, 99.0) /* replaces */,
        mark(PDM_EV_ERROR, 42, T0 + H, 3), mark(PDM_EV_ERROR, 42, T0 + H, 3) /* duplicate */,
        mark(PDM_EV_ERROR, 42, T0 + H, 1), mark(PDM_EV_MAINTENANCE, 42, T0 - 100 * H, 2),
        tel(7, T0, 1.0),
    };
    pdm_event info = {.type = PDM_EV_MACHINE, .machine_id = 42, .ts = T0};
    info.u.machine.model = 3;
    info.u.machine.age = 18;
    write_events(r, evs, sizeof evs / sizeof *evs);
    write_events(r, &info, 1);

    pdm_rs_machine a, b;
    load_one(r, 42, T0 - 24 * H, &a);
    assert_true(a.exists);
    assert_int_equal(a.n_tel, 2);
    assert_int_equal(a.tel[0].ts, T0);
    assert_true(a.tel[0].v[0] == 170.5 && a.tel[0].v[3] == 173.5);
    assert_int_equal(a.tel[1].ts, T0 + H);
    assert_true(a.tel[1].v[0] == 99.0); /* the later reading at a ts wins */
    assert_int_equal(a.n_err, 2);
    assert_int_equal(a.n_maint, 1);
    assert_int_equal(a.maint[0].ts, T0 - 100 * H);
    assert_int_equal(a.maint[0].id, 2);
    assert_true(a.has_info);
    assert_int_equal(a.model, 3);
    assert_int_equal(a.age, 18);

    /* Applying the whole stream again leaves the same state. */
    write_events(r, evs, sizeof evs / sizeof *evs);
    load_one(r, 42, T0 - 24 * H, &b);
    assert_int_equal(b.n_tel, a.n_tel);
    assert_memory_equal(b.tel, a.tel, a.n_tel * sizeof *a.tel);
    assert_int_equal(b.n_err, a.n_err);
    for (size_t i = 0; i < a.n_err; i++) {
        assert_int_equal(b.err[i].ts, a.err[i].ts);
        assert_int_equal(b.err[i].id, a.err[i].id);
    }
    assert_int_equal(b.n_maint, a.n_maint);
    pdm_rs_machine_clear(&b);

    /* from_ts is exclusive: only telemetry after it. */
    load_one(r, 42, T0, &b);
    assert_int_equal(b.n_tel, 1);
    assert_int_equal(b.tel[0].ts, T0 + H);
    pdm_rs_machine_clear(&b);

    /* Machines do not see each other's keys; an unknown one does not exist. */
    load_one(r, 7, 0, &b);
    assert_int_equal(b.n_tel, 1);
    assert_int_equal(b.n_err, 0);
    assert_false(b.has_info);
    pdm_rs_machine_clear(&b);
    load_one(r, 8, 0, &b);
    assert_false(b.exists);
    assert_true(b.newest == INT64_MIN);
    pdm_rs_machine_clear(&b);
    pdm_rs_machine_clear(&a);
    pdm_redis_destroy(r);
}

/* A reading flagged newest skips the replace step: replaying it is still
 * idempotent, and a later correction at the same ts (not newest) replaces
 * it; the flag is the caller's promise, so misusing it keeps two readings. */
static void test_newest_reading_skips_replace(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_redis *r = test_redis_connect();
    flushall(r);
    pdm_rs_batch *b = pdm_rs_batch_new();
    pdm_event first = tel(9, T0, 170.5), again = tel(9, T0, 170.5), fix = tel(9, T0, 99.0);
    assert_int_equal(pdm_rs_batch_event(b, &first, 1), 0);
    assert_int_equal(pdm_rs_batch_commands(b), 1);
    assert_int_equal(pdm_rs_batch_event(b, &again, 1), 0); /* a replay */
    assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), 0);
    pdm_rs_machine m;
    load_one(r, 9, T0 - H, &m);
    assert_int_equal(m.n_tel, 1);
    assert_true(m.tel[0].v[0] == 170.5);
    pdm_rs_machine_clear(&m);
    pdm_rs_batch_reset(b);
    assert_int_equal(pdm_rs_batch_event(b, &fix, 0), 0);
    assert_int_equal(pdm_rs_batch_commands(b), 2);
    assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), 0);
    load_one(r, 9, T0 - H, &m);
    assert_int_equal(m.n_tel, 1);
    assert_true(m.tel[0].v[0] == 99.0);
    pdm_rs_machine_clear(&m);
    pdm_rs_batch_reset(b);
    assert_int_equal(pdm_rs_batch_event(b, &first, 1), 0); /* a broken promise */
    assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), 0);
    load_one(r, 9, T0 - H, &m);
    assert_int_equal(m.n_tel, 2);
    pdm_rs_machine_clear(&m);
    pdm_rs_batch_destroy(b);
    pdm_redis_destroy(r);
    (void)state;
}

static void test_trim_and_meta(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_redis *r = test_redis_connect();
    flushall(r);
    pdm_event evs[] = {tel(5, T0, 1), tel(5, T0 + H, 2), tel(5, T0 + 2 * H, 3),
                       mark(PDM_EV_ERROR, 5, T0, 1), mark(PDM_EV_ERROR, 5, T0 + 2 * H, 2),
                       mark(PDM_EV_MAINTENANCE, 5, T0 - 10 * H, 1),
                       mark(PDM_EV_MAINTENANCE, 5, T0 - 5 * H, 1)};
    write_events(r, evs, sizeof evs / sizeof *evs);

    pdm_rs_machine m;
    load_one(r, 5, 0, &m);
    m.newest = T0 + 2 * H;
    m.base = T0 + H;
    /* Sources: two topics, one of them repartitioned (same topic, new
     * partition: replaces the entry), and a topic name with dots. */
    assert_int_equal(pdm_rs_source_set(&m, "pdm.telemetry", 3, 100), 0);
    assert_int_equal(pdm_rs_source_set(&m, "pdm.errors", 1, 7), 0);
    assert_int_equal(pdm_rs_source_set(&m, "pdm.telemetry", 3, 12345), 0);
    assert_int_equal(m.n_src, 2);
    m.level = 2;
    m.base_level = 1;
    m.notified_at = T0;
    m.base_notified_at = INT64_MIN;
    pdm_rs_batch *b = pdm_rs_batch_new();
    pdm_rs_mark drop = {T0 - 10 * H, 1};
    assert_int_equal(pdm_rs_batch_trim(b, 5, T0 + H, &drop, 1), 0); /* drops ts < T0 + H */
    assert_int_equal(pdm_rs_batch_meta(b, &m, NULL), 0);
    assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), 0);
    pdm_rs_batch_destroy(b);
    pdm_rs_machine_clear(&m);

    load_one(r, 5, 0, &m);
    assert_int_equal(m.n_tel, 2);
    assert_int_equal(m.tel[0].ts, T0 + H); /* the horizon itself is kept */
    assert_int_equal(m.n_err, 1);
    assert_int_equal(m.err[0].ts, T0 + 2 * H);
    assert_int_equal(m.n_maint, 1);
    assert_int_equal(m.maint[0].ts, T0 - 5 * H);
    assert_int_equal(m.newest, T0 + 2 * H);
    assert_int_equal(m.base, T0 + H);
    assert_int_equal(m.n_src, 2);
    assert_int_equal(pdm_rs_source_offset(&m, "pdm.telemetry", 3), 12345);
    assert_int_equal(pdm_rs_source_offset(&m, "pdm.errors", 1), 7);
    assert_int_equal(pdm_rs_source_offset(&m, "pdm.errors", 2), -1);
    assert_int_equal(pdm_rs_source_offset(&m, "pdm.machines", 3), -1);
    for (int i = 0; i < 2 * PDM_RS_MAX_SOURCES; i++) { /* bounded */
        char t[16];
        snprintf(t, sizeof t, "t%d", i);
        assert_int_equal(pdm_rs_source_set(&m, t, 0, i), 0);
    }
    assert_int_equal(m.n_src, PDM_RS_MAX_SOURCES);
    assert_int_equal(pdm_rs_source_offset(&m, "pdm.telemetry", 3), 12345);
    assert_int_equal(m.level, 2);
    assert_int_equal(m.base_level, 1);
    assert_int_equal(m.notified_at, T0);
    assert_true(m.base_notified_at == INT64_MIN);
    pdm_rs_machine_clear(&m);
    pdm_redis_destroy(r);
}

static void test_epoch_detects_flush(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_redis *r = test_redis_connect();
    flushall(r);
    assert_int_equal(pdm_rs_epoch_check(r, err, sizeof err), 0); /* created, adopted */
    assert_int_equal(pdm_rs_epoch_check(r, err, sizeof err), 0); /* still the same */
    flushall(r);
    assert_int_equal(pdm_rs_epoch_check(r, err, sizeof err), 1); /* lost, recreated */
    assert_int_equal(pdm_rs_epoch_check(r, err, sizeof err), 0);
    /* another client's epoch (written after a flush by another scorer) */
    pdm_redis *other = test_redis_connect();
    flushall(r);
    assert_int_equal(pdm_rs_epoch_check(other, err, sizeof err), 0);
    assert_int_equal(pdm_rs_epoch_check(r, err, sizeof err), 1);
    assert_int_equal(pdm_rs_epoch_check(other, err, sizeof err), 0); /* r adopted it */
    pdm_redis_destroy(other);
    pdm_redis_destroy(r);
}

/* A batch whose state was loaded before a FLUSHALL writes nothing after
 * it (the epoch fence); the next load sees the change, and after the epoch
 * is checked again loads and writes work. */
static void test_epoch_fences_writes(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_redis *r = test_redis_connect();
    flushall(r);
    assert_int_equal(pdm_rs_epoch_check(r, err, sizeof err), 0);
    pdm_event a = tel(5, T0, 1.0), b2 = tel(5, T0 + H, 2.0);
    write_events(r, &a, 1); /* fenced mode: MULTI ... EXEC */
    pdm_rs_machine m;
    load_one(r, 5, 0, &m);
    assert_int_equal(m.n_tel, 1);
    m.newest = T0 + H;

    pdm_rs_batch *b = pdm_rs_batch_new();
    assert_int_equal(pdm_rs_batch_event(b, &b2, 1), 0);
    assert_int_equal(pdm_rs_batch_meta(b, &m, NULL), 0);
    flushall(r); /* between the load and the write */
    assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), PDM_RS_EPOCH_CHANGED);
    pdm_rs_machine_clear(&m);
    redisContext *c = redisConnect("127.0.0.1", test_server.port);
    redisReply *rep = redisCommand(c, "DBSIZE");
    assert_int_equal(rep->integer, 0); /* nothing written, not even one command */
    freeReplyObject(rep);

    /* the next load says so, until the epoch is adopted again */
    int32_t id = 5;
    int64_t from = 0;
    memset(&m, 0, sizeof m);
    assert_int_equal(pdm_rs_load(r, &id, &from, NULL, 1, &m, err, sizeof err),
                     PDM_RS_EPOCH_CHANGED);
    pdm_rs_machine_clear(&m);
    assert_int_equal(pdm_rs_epoch_check(r, err, sizeof err), 1);
    load_one(r, 5, 0, &m);
    assert_false(m.exists);
    pdm_rs_machine_clear(&m);
    assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), 0);
    load_one(r, 5, 0, &m);
    assert_int_equal(m.n_tel, 1);
    assert_true(m.newest == T0 + H);
    pdm_rs_machine_clear(&m);

    /* a write on a new connection (a retry after an I/O error) checks the
     * epoch first: a flush before it is seen too */
    load_one(r, 5, 0, &m);
    pdm_rs_machine_clear(&m);
    rep = redisCommand(c, "CLIENT KILL TYPE normal SKIPME yes");
    freeReplyObject(rep);
    flushall(r);
    assert_int_not_equal(pdm_rs_batch_exec(r, b, err, sizeof err), 0); /* the dead connection */
    assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), PDM_RS_EPOCH_CHANGED);
    rep = redisCommand(c, "DBSIZE");
    assert_int_equal(rep->integer, 0);
    freeReplyObject(rep);
    redisFree(c);
    pdm_rs_batch_destroy(b);
    pdm_redis_destroy(r);
}

/* A write refused while queued (an ACL without ZADD) fails the batch with
 * the server's message, and nothing of it runs. */
static void test_transaction_error_reported(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_redis *r = test_redis_connect();
    flushall(r);
    assert_int_equal(pdm_rs_epoch_check(r, err, sizeof err), 0);
    redisContext *c = redisConnect("127.0.0.1", test_server.port);
    redisReply *rep = redisCommand(c, "ACL SETUSER nozadd on nopass ~* &* +@all -zadd");
    freeReplyObject(rep);
    char url[64];
    snprintf(url, sizeof url, "redis://nozadd:x@127.0.0.1:%d", test_server.port);
    pdm_redis *limited = pdm_redis_new(url, NULL, 1, err, sizeof err);
    assert_non_null(limited);
    assert_int_equal(pdm_rs_epoch_check(limited, err, sizeof err), 0);
    pdm_rs_batch *b = pdm_rs_batch_new();
    pdm_event e = tel(9, T0, 1.0);
    pdm_event info = {.type = PDM_EV_MACHINE, .machine_id = 9, .ts = T0};
    info.u.machine.model = 1;
    assert_int_equal(pdm_rs_batch_event(b, &info, 0), 0);
    assert_int_equal(pdm_rs_batch_event(b, &e, 1), 0);
    assert_int_equal(pdm_rs_batch_exec(limited, b, err, sizeof err), -1);
    assert_non_null(strstr(err, "NOPERM"));
    rep = redisCommand(c, "EXISTS pdm:{9}:meta");
    assert_int_equal(rep->integer, 0); /* the HSET before it did not run either */
    freeReplyObject(rep);
    rep = redisCommand(c, "ACL DELUSER nozadd");
    freeReplyObject(rep);
    redisFree(c);
    pdm_rs_batch_destroy(b);
    pdm_redis_destroy(limited);
    pdm_redis_destroy(r);
}

static void test_urls_and_errors(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_redis *r = pdm_redis_new("redis://user:s3cret@10.1.2.3:7000/2", NULL, 1, err, sizeof err);
    assert_non_null(r);
    assert_string_equal(pdm_redis_describe(r), "10.1.2.3:7000/2"); /* no credentials */
    pdm_redis_destroy(r);
    r = pdm_redis_new("redis://[::1]:6380", NULL, 1, err, sizeof err);
    assert_non_null(r);
    assert_string_equal(pdm_redis_describe(r), "::1:6380/0");
    pdm_redis_destroy(r);
    assert_null(pdm_redis_new("http://localhost", NULL, 1, err, sizeof err));
    assert_non_null(strstr(err, "redis://"));
    assert_null(pdm_redis_new("redis://localhost:99999", NULL, 1, err, sizeof err));
    assert_null(pdm_redis_new("redis://localhost/x", NULL, 1, err, sizeof err));

    /* A URL that fails to parse is shown with its credentials as "***@",
     * also when an unencoded '/' in the password cuts the URL short. */
    static const struct {
        const char *url, *shown;
    } bad[] = {
        {"rediss://pdm:pw-s3cret@localhost:6379", "'rediss://***@localhost:6379'"},
        {"redis://pdm:pw-s3cret@localhost:nope/1", "'redis://***@localhost:nope/1'"},
        {"redis://pw-s3cret@localhost/x", "'redis://***@localhost/x'"},
        {"redis://pdm:pw-s3/cret@localhost:6379/1", "'redis://***@localhost:6379/1'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_null(pdm_redis_new(bad[i].url, NULL, 1, err, sizeof err));
        if (!strstr(err, bad[i].shown) || strstr(err, "pw-s3") || strstr(err, "cret"))
            fail_msg("%s: the error shows '%s', want %s without the password", bad[i].url, err,
                     bad[i].shown);
    }

    /* Wrong password: a clear error that does not contain the password. */
    r = pdm_redis_new(test_server.url, "hunter2", 1, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(pdm_redis_connect(r, err, sizeof err), -1);
    assert_null(strstr(err, "hunter2"));
    pdm_redis_destroy(r);

    /* Nobody listening: an error, no crash, not connected. */
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", test_free_port());
    r = pdm_redis_new(url, NULL, 1, err, sizeof err);
    int32_t m = 1;
    int64_t from = 0;
    pdm_rs_machine out = {0};
    assert_int_equal(pdm_rs_load(r, &m, &from, NULL, 1, &out, err, sizeof err), -1);
    assert_false(pdm_redis_connected(r));
    assert_int_equal(pdm_redis_ping(r, err, sizeof err), -1);
    pdm_redis_destroy(r);
}

static void test_server_restart_reconnects(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_redis *r = test_redis_connect();
    assert_int_equal(pdm_redis_ping(r, err, sizeof err), 0);
    test_redis_stop(&test_server);
    assert_int_equal(pdm_redis_ping(r, err, sizeof err), -1);
    assert_int_equal(test_redis_start(&test_server), 0);
    pdm_redis_destroy(r);
    r = test_redis_connect();
    assert_int_equal(pdm_redis_ping(r, err, sizeof err), 0);
    pdm_redis_destroy(r);
}

/* The absolute expiry (PEXPIRETIME, ms) of each key of a machine, in the
 * order tel, err, maint, meta: -1 no TTL, -2 no key. */
static void expiry_of(int32_t m, long long out[4])
{
    static const char *const kinds[] = {"tel", "err", "maint", "meta"};
    redisContext *c = redisConnect("127.0.0.1", test_server.port);
    assert_non_null(c);
    for (int i = 0; i < 4; i++) {
        redisReply *rep = redisCommand(c, "PEXPIRETIME pdm:{%d}:%s", (int)m, kinds[i]);
        assert_non_null(rep);
        assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
        out[i] = rep->integer;
        freeReplyObject(rep);
    }
    redisFree(c);
}

/* One batch as the scorer writes a machine: its events, then its
 * bookkeeping (which carries the expiry when one is set). */
static int64_t write_keys(pdm_redis *r, const pdm_event *evs, size_t n, int64_t expire_at,
                          unsigned keys)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_rs_batch *b = pdm_rs_batch_new();
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pdm_rs_batch_event(b, &evs[i], 0), 0);
    pdm_rs_machine m = {.machine_id = evs[0].machine_id, .newest = evs[n - 1].ts,
                        .base = INT64_MIN, .level = 0, .base_level = -1,
                        .notified_at = INT64_MIN, .base_notified_at = INT64_MIN};
    size_t slot;
    assert_int_equal(pdm_rs_batch_meta(b, &m, &slot), 0);
    if (expire_at)
        assert_int_equal(pdm_rs_batch_expire(b, m.machine_id, expire_at, keys), 0);
    assert_int_equal(pdm_rs_batch_exec(r, b, err, sizeof err), 0);
    int64_t version = pdm_rs_batch_version(b, slot);
    pdm_rs_batch_destroy(b);
    return version;
}

static int64_t write_machine(pdm_redis *r, const pdm_event *evs, size_t n, int64_t expire_at)
{
    return write_keys(r, evs, n, expire_at, PDM_RS_ALL_KEYS);
}

/* --state-ttl: every key of a machine gets the batch's deadline (the same
 * absolute time for the four), a later write moves it on all four, also on
 * keys that write did not touch, a key created later gets the deadline of
 * the batch that creates it, the refresh rule (pdm_rs_expiry) keeps one
 * deadline for all keys, and without a deadline no key has a TTL. */
static void test_ttl_on_every_key(void **state)
{
    pdm_redis *r = test_redis_connect();
    flushall(r);
    pdm_event info = {.type = PDM_EV_MACHINE, .machine_id = 42, .ts = T0};
    info.u.machine.model = 2;
    info.u.machine.age = 7;
    pdm_event first[] = {info, mark(PDM_EV_MAINTENANCE, 42, T0, 1), mark(PDM_EV_ERROR, 42, T0, 4),
                         tel(42, T0, 170)};
    long long exp[4];
    int64_t d1 = pdm_now_ms() + 3600 * 1000;
    assert_int_equal(write_machine(r, first, 4, d1), 1);
    expiry_of(42, exp);
    for (int i = 0; i < 4; i++)
        assert_int_equal(exp[i], d1);

    /* a telemetry reading alone refreshes all four */
    pdm_event second = tel(42, T0 + H, 171);
    int64_t d2 = d1 + 5000;
    assert_int_equal(write_machine(r, &second, 1, d2), 2);
    expiry_of(42, exp);
    for (int i = 0; i < 4; i++)
        assert_int_equal(exp[i], d2);

    /* a machine whose first error comes in a later batch */
    pdm_event t44 = tel(44, T0, 1), e44 = mark(PDM_EV_ERROR, 44, T0 + H, 2);
    write_machine(r, &t44, 1, d1);
    expiry_of(44, exp);
    assert_int_equal(exp[0], d1);
    assert_int_equal(exp[1], -2); /* no errors yet: no key */
    assert_int_equal(exp[2], -2);
    assert_int_equal(exp[3], d1);
    write_machine(r, &e44, 1, d2);
    expiry_of(44, exp);
    assert_int_equal(exp[0], d2);
    assert_int_equal(exp[1], d2);
    assert_int_equal(exp[3], d2);

    /* Within the slack a batch touches only the keys it wrote, with the
     * deadline the keys share: an error key created then gets it too. */
    pdm_event t45 = tel(45, T0, 1), e45 = mark(PDM_EV_ERROR, 45, T0 + H, 2);
    int64_t now = pdm_now_ms(), ttl = 3600 * 1000, at;
    unsigned keys;
    at = pdm_rs_expiry(0, now, ttl, PDM_RS_TEL, &keys); /* unknown: all, afresh */
    assert_int_equal(at, now + ttl);
    assert_int_equal(keys, PDM_RS_ALL_KEYS);
    write_keys(r, &t45, 1, at, keys);
    at = pdm_rs_expiry(at, now + 1000, ttl, pdm_rs_key_of(e45.type), &keys);
    assert_int_equal(at, now + ttl); /* moved by 1 s only: kept */
    assert_int_equal(keys, PDM_RS_ERR);
    write_keys(r, &e45, 1, at, keys);
    expiry_of(45, exp);
    assert_int_equal(exp[0], now + ttl);
    assert_int_equal(exp[1], now + ttl);
    assert_int_equal(exp[3], now + ttl);
    /* beyond the slack (ttl / PDM_RS_TTL_SLACK), either way: all four again */
    at = pdm_rs_expiry(now + ttl, now + ttl / PDM_RS_TTL_SLACK + 1, ttl, PDM_RS_TEL, &keys);
    assert_int_equal(keys, PDM_RS_ALL_KEYS);
    assert_int_equal(at, now + ttl + ttl / PDM_RS_TTL_SLACK + 1);
    at = pdm_rs_expiry(now + ttl, now - ttl / PDM_RS_TTL_SLACK - 1, ttl, PDM_RS_TEL, &keys);
    assert_int_equal(keys, PDM_RS_ALL_KEYS);
    at = pdm_rs_expiry(now + ttl, now + ttl / PDM_RS_TTL_SLACK, ttl, 0, &keys);
    assert_int_equal(keys, 0); /* nothing written: nothing to do */
    assert_int_equal(pdm_rs_key_of(PDM_EV_MAINTENANCE), PDM_RS_MAINT);
    assert_int_equal(pdm_rs_key_of(PDM_EV_FAILURE), 0);

    /* no deadline (--state-ttl 0): keys without a TTL */
    pdm_event none[] = {tel(43, T0, 1), mark(PDM_EV_ERROR, 43, T0, 1),
                        mark(PDM_EV_MAINTENANCE, 43, T0, 2)};
    write_machine(r, none, 3, 0);
    expiry_of(43, exp);
    for (int i = 0; i < 4; i++)
        assert_int_equal(exp[i], -1);

    /* once the deadline passes every key is gone, and a load finds nothing */
    int64_t soon = pdm_now_ms() + 150;
    write_machine(r, &second, 1, soon);
    usleep(300 * 1000);
    pdm_rs_machine m;
    load_one(r, 42, 0, &m);
    assert_false(m.exists);
    assert_int_equal(m.n_tel + m.n_err + m.n_maint, 0);
    assert_false(m.has_info);
    assert_int_equal(m.version, 0);
    pdm_rs_machine_clear(&m);
    pdm_redis_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_idempotence),
        cmocka_unit_test(test_readings_share_zadds),
        cmocka_unit_test(test_newest_reading_skips_replace),
        cmocka_unit_test(test_trim_and_meta),
        cmocka_unit_test(test_ttl_on_every_key),
        cmocka_unit_test(test_epoch_detects_flush),
        cmocka_unit_test(test_epoch_fences_writes),
        cmocka_unit_test(test_transaction_error_reported),
        cmocka_unit_test(test_urls_and_errors),
        cmocka_unit_test(test_server_restart_reconnects),
    };
    return cmocka_run_group_tests(tests, test_redis_group_setup, test_redis_group_teardown);
}
