/* test_scorer_silence.c: the silent-machine tracker (consumer/scorer_silence.h)
 * alone: silent exactly past the threshold and not before, one event per
 * change, coming back, a backfill that does not end a silence, the stream
 * time not moved by the silent machine, a batch judged against the time
 * before it, forgetting, revoked partitions, the
 * bound, and many machines against a brute-force reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scorer_silence.h"

#define H INT64_C(3600000)
#define T0 (INT64_C(1420070400000)) /* 2015-01-01 */
#define AFTER (6 * H)
#define FORGET (7 * 24 * H)

static scorer_silence *tracker(size_t max)
{
    scorer_silence_config cfg = {AFTER, FORGET, max};
    scorer_silence *t = scorer_silence_new(&cfg);
    assert_non_null(t);
    return t;
}

/* One reading as a batch of its own: observed, then the stream's time. */
static int note(scorer_silence *t, int32_t id, int32_t partition, int64_t ts,
                scorer_silence_change *back)
{
    int rc = scorer_silence_observe(t, id, partition, ts, back);
    scorer_silence_advance(t, ts);
    return rc;
}

static int observe(scorer_silence *t, int32_t id, int64_t ts)
{
    scorer_silence_change back;
    return note(t, id, 0, ts, &back);
}

static size_t sweep(scorer_silence *t, scorer_silence_change *out)
{
    return scorer_silence_sweep(t, out, 64);
}

static void test_config(void **state)
{
    (void)state;
    scorer_silence_config bad[] = {{0, FORGET, 10}, {AFTER, AFTER - 1, 10}, {AFTER, FORGET, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_null(scorer_silence_new(&bad[i]));
    scorer_silence_destroy(NULL);
    assert_int_equal(scorer_silence_rule(T0, T0 + AFTER, AFTER), 0);
    assert_int_equal(scorer_silence_rule(T0, T0 + AFTER + 1, AFTER), 1);
    assert_int_equal(scorer_silence_rule(T0, INT64_MIN, AFTER), 0);
    assert_int_equal(scorer_silence_rule(INT64_MIN, T0, AFTER), 0);
    assert_int_equal(scorer_silence_rule(T0 + 10 * H, T0, AFTER), 0);
}

/* Silent once its newest is more than AFTER behind, not at AFTER; the
 * event says when it was noticed and its last reading; no repeat. */
static void test_silent_exactly_past_threshold(void **state)
{
    (void)state;
    scorer_silence *t = tracker(100);
    scorer_silence_change out[64];
    assert_int_equal(scorer_silence_stream_time(t), INT64_MIN);
    assert_int_equal(observe(t, 1, T0), 0);
    assert_int_equal(observe(t, 2, T0), 0);
    assert_int_equal(sweep(t, out), 0);
    assert_int_equal(observe(t, 2, T0 + AFTER), 0);
    assert_int_equal(sweep(t, out), 0);
    assert_int_equal(scorer_silence_silent(t), 0);
    assert_int_equal(observe(t, 2, T0 + AFTER + 1), 0);
    assert_int_equal(sweep(t, out), 1);
    assert_int_equal(out[0].machine_id, 1);
    assert_int_equal(out[0].silent, 1);
    assert_int_equal(out[0].last_seen, T0);
    assert_int_equal(out[0].stream_time, T0 + AFTER + 1);
    assert_int_equal(scorer_silence_silent(t), 1);
    assert_int_equal(scorer_silence_tracked(t), 2);
    assert_int_equal(sweep(t, out), 0);
    scorer_silence_destroy(t);
}

/* Its next reading ends the silence, once, with the last reading before. */
static void test_comes_back(void **state)
{
    (void)state;
    scorer_silence *t = tracker(100);
    scorer_silence_change out[64], back;
    observe(t, 1, T0);
    observe(t, 2, T0 + 10 * H);
    assert_int_equal(sweep(t, out), 1);
    assert_int_equal(note(t, 1, 0, T0 + 10 * H, &back), 1);
    assert_int_equal(back.machine_id, 1);
    assert_int_equal(back.silent, 0);
    assert_int_equal(back.last_seen, T0);
    assert_int_equal(back.stream_time, T0 + 10 * H);
    assert_int_equal(scorer_silence_silent(t), 0);
    assert_int_equal(observe(t, 1, T0 + 11 * H), 0);
    assert_int_equal(sweep(t, out), 0);
    /* Silent again later: a second pair of events, each once. */
    observe(t, 2, T0 + 18 * H);
    assert_int_equal(sweep(t, out), 1);
    assert_int_equal(out[0].last_seen, T0 + 11 * H);
    assert_int_equal(note(t, 1, 0, T0 + 18 * H, &back), 1);
    assert_int_equal(back.last_seen, T0 + 11 * H);
    scorer_silence_destroy(t);
}

/* A machine that never reports again: one event, counted while silent,
 * forgotten (no event) once FORGET behind; if it reports after that it is
 * a new machine: no "came back". */
static void test_never_reports_again(void **state)
{
    (void)state;
    scorer_silence *t = tracker(100);
    scorer_silence_change out[64];
    observe(t, 1, T0);
    size_t events = 0;
    for (int64_t h = 1; h <= FORGET / H; h++) {
        observe(t, 2, T0 + h * H);
        events += sweep(t, out);
        assert_int_equal(scorer_silence_silent(t), h * H > AFTER ? 1 : 0);
    }
    assert_int_equal(events, 1);
    assert_int_equal(scorer_silence_tracked(t), 2);
    assert_int_equal(scorer_silence_forgotten(t), 0);
    observe(t, 2, T0 + FORGET + 1);
    assert_int_equal(sweep(t, out), 0);
    assert_int_equal(scorer_silence_silent(t), 0);
    assert_int_equal(scorer_silence_tracked(t), 1);
    assert_int_equal(scorer_silence_forgotten(t), 1);
    assert_int_equal(observe(t, 1, T0 + FORGET + 1), 0);
    assert_int_equal(scorer_silence_tracked(t), 2);
    assert_int_equal(sweep(t, out), 0);
    scorer_silence_destroy(t);
}

/* The stream's time is the newest applied reading: the silent machine
 * neither holds it back nor moves it with a backfill of old readings, and
 * such a backfill (still more than AFTER behind) does not end the silence. */
static void test_stream_time_not_moved_by_silent_machine(void **state)
{
    (void)state;
    scorer_silence *t = tracker(100);
    scorer_silence_change out[64];
    observe(t, 1, T0);
    observe(t, 2, T0 + 20 * H);
    assert_int_equal(scorer_silence_stream_time(t), T0 + 20 * H);
    assert_int_equal(sweep(t, out), 1);
    assert_int_equal(observe(t, 1, T0 + 5 * H), 0); /* backfill */
    assert_int_equal(observe(t, 1, T0 + 2 * H), 0); /* older still: ignored */
    assert_int_equal(scorer_silence_stream_time(t), T0 + 20 * H);
    assert_int_equal(scorer_silence_silent(t), 1);
    assert_int_equal(sweep(t, out), 0);
    /* A reading older than the stream's time but within AFTER ends it,
     * and the stream's time stays. */
    scorer_silence_change back;
    assert_int_equal(note(t, 1, 0, T0 + 15 * H, &back), 1);
    assert_int_equal(back.last_seen, T0 + 5 * H);
    assert_int_equal(scorer_silence_stream_time(t), T0 + 20 * H);
    /* An older reading of a reporting machine changes nothing. */
    assert_int_equal(observe(t, 2, T0 + 19 * H), 0);
    assert_int_equal(scorer_silence_stream_time(t), T0 + 20 * H);
    scorer_silence_destroy(t);
}

/* A batch that holds one partition's later readings before another's
 * earlier ones: each reading is judged against the stream's time before the
 * batch, so the machine that comes back in it is back at its first reading
 * (last_seen its reading before the gap), however the batch is ordered. */
static void test_batch_judged_against_time_before_it(void **state)
{
    (void)state;
    scorer_silence *t = tracker(100);
    scorer_silence_change out[64], back;
    observe(t, 1, T0);
    observe(t, 2, T0 + 10 * H);
    assert_int_equal(sweep(t, out), 1);
    /* The batch: machine 2 (partition 0) up to 30 h, then machine 1
     * (partition 1) from 10 h on. */
    for (int64_t h = 11; h <= 30; h++)
        assert_int_equal(scorer_silence_observe(t, 2, 0, T0 + h * H, &back), 0);
    assert_int_equal(scorer_silence_observe(t, 1, 1, T0 + 10 * H, &back), 1);
    assert_int_equal(back.last_seen, T0);
    for (int64_t h = 11; h <= 30; h++)
        assert_int_equal(scorer_silence_observe(t, 1, 1, T0 + h * H, &back), 0);
    scorer_silence_advance(t, T0 + 30 * H);
    assert_int_equal(sweep(t, out), 0);
    assert_int_equal(scorer_silence_silent(t), 0);
    assert_int_equal(scorer_silence_stream_time(t), T0 + 30 * H);
    scorer_silence_destroy(t);
}

static int keep_even(void *ctx, int32_t partition)
{
    (void)ctx;
    return partition % 2 == 0;
}

/* Machines of revoked partitions are forgotten without events; the bound
 * refuses new machines, and the stream's time still moves. */
static void test_retain_and_bound(void **state)
{
    (void)state;
    scorer_silence *t = tracker(4);
    scorer_silence_change out[64], back;
    for (int32_t id = 1; id <= 4; id++)
        assert_int_equal(note(t, id, id, T0, &back), 0);
    assert_int_equal(note(t, 5, 5, T0 - H, &back), -1); /* full, and older than all */
    assert_int_equal(scorer_silence_evicted(t), 1);
    assert_int_equal(note(t, 6, 6, T0 + 7 * H, &back), 0); /* full: machine 1 evicted */
    assert_int_equal(scorer_silence_evicted(t), 2);
    assert_int_equal(scorer_silence_tracked(t), 4);
    assert_int_equal(scorer_silence_stream_time(t), T0 + 7 * H);
    assert_int_equal(sweep(t, out), 3);
    assert_int_equal(out[0].machine_id, 2);
    assert_int_equal(scorer_silence_silent(t), 3);
    assert_int_equal(note(t, 4, 4, T0 + 8 * H, &back), 1); /* back: 2 and 3 stay silent */
    scorer_silence_retain(t, keep_even, NULL);
    assert_int_equal(scorer_silence_tracked(t), 3); /* 2, 4 and 6 */
    assert_int_equal(scorer_silence_silent(t), 1);
    assert_int_equal(note(t, 2, 2, T0 + 8 * H, &back), 1);
    assert_int_equal(note(t, 1, 1, T0 + 8 * H, &back), 0); /* new again, room left */
    assert_int_equal(scorer_silence_tracked(t), 4);
    assert_int_equal(scorer_silence_evicted(t), 2);
    assert_int_equal(sweep(t, out), 0);
    scorer_silence_destroy(t);
}

/* 100,000 distinct machine ids (a flood of bogus ones), one reading each,
 * against a bound of 1,000, while machine 7 keeps reporting and machine 9
 * went silent before the flood: the tracker never holds more than the
 * bound, counts every eviction, evicts the silent machine first, and never
 * the one that reports. */
static void test_flood_bounded(void **state)
{
    (void)state;
    scorer_silence *t = tracker(1000);
    scorer_silence_change out[64];
    assert_int_equal(observe(t, 9, T0), 0);
    assert_int_equal(observe(t, 7, T0 + 10 * H), 0);
    assert_int_equal(sweep(t, out), 1); /* 9 silent */
    size_t most = 0;
    for (int32_t i = 0; i < 100000; i++) {
        int64_t ts = T0 + 10 * H + i * 1000;
        assert_int_equal(observe(t, 1000000 + i, ts), 0);
        if (i % 100 == 0)
            assert_int_equal(observe(t, 7, ts), 0);
        if (scorer_silence_tracked(t) > most)
            most = scorer_silence_tracked(t);
        assert_int_equal(sweep(t, out), 0); /* nothing went silent: no event */
    }
    assert_int_equal(most, 1000);
    assert_int_equal(scorer_silence_evicted(t), 100000 + 2 - 1000);
    assert_int_equal(scorer_silence_silent(t), 0); /* 9 was evicted */
    /* 7 is still tracked: when the stream moves on without it, it goes silent */
    assert_int_equal(observe(t, 1000000, T0 + 10 * H + 100000 * 1000 + 7 * H), 0);
    size_t n, went = 0;
    int seen7 = 0;
    do {
        n = sweep(t, out);
        for (size_t k = 0; k < n; k++)
            seen7 |= out[k].machine_id == 7;
        went += n;
    } while (n == 64);
    assert_true(seen7);
    assert_int_equal(went, 999);
    scorer_silence_destroy(t);
}

/* ---- many machines against a brute-force reference -------------------------- */

#define N_IDS 3000

typedef struct {
    int known, silent;
    int64_t newest;
} ref_machine;

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The machine id the tracker sees for reference index i: scattered over
 * the int32 range (distinct, > 0), so that the table's probe chains and
 * deletions are exercised and not only consecutive ids. */
static int32_t wire_id(int32_t i)
{
    return (int32_t)(((uint32_t)i * 2246822519u) & 0x7fffffff);
}

static int by_newest(const void *a, const void *b)
{
    const scorer_silence_change *x = a, *y = b;
    if (x->last_seen != y->last_seen)
        return x->last_seen < y->last_seen ? -1 : 1;
    return x->machine_id < y->machine_id ? -1 : x->machine_id > y->machine_id;
}

/* The reference sweep: every reporting machine past AFTER, in (newest,
 * wire id) order, then every silent one past FORGET forgotten. */
static size_t ref_sweep(ref_machine *ref, int64_t stream, scorer_silence_change *out)
{
    size_t n = 0;
    for (int32_t id = 1; id < N_IDS; id++) {
        ref_machine *m = &ref[id];
        if (m->known && !m->silent && scorer_silence_rule(m->newest, stream, AFTER)) {
            m->silent = 1;
            out[n++] = (scorer_silence_change){wire_id(id), stream, m->newest, 1};
        }
    }
    qsort(out, n, sizeof *out, by_newest);
    for (int32_t id = 1; id < N_IDS; id++)
        if (ref[id].known && ref[id].silent && scorer_silence_rule(ref[id].newest, stream, FORGET))
            ref[id].known = 0;
    return n;
}

static void test_many_machines(void **state)
{
    (void)state;
    static ref_machine ref[N_IDS];
    static scorer_silence_change got[N_IDS], want[N_IDS];
    memset(ref, 0, sizeof ref);
    scorer_silence *t = tracker(N_IDS);
    int64_t clock = T0, stream = INT64_MIN;
    size_t changes = 0, backs = 0;
    for (int step = 0; step < 200000; step++) {
        /* Three kinds of machines: 1..50 report about every half hour,
         * 51..550 about every 8 h (silent and back again), the rest about
         * every 11 days (forgotten); the clock moves 20 s a step on average,
         * and a reading is sometimes hours late. */
        uint64_t kind = next_rand() % 100;
        int32_t id = kind < 60   ? (int32_t)(1 + next_rand() % 50)
                     : kind < 95 ? (int32_t)(51 + next_rand() % 500)
                                 : (int32_t)(551 + next_rand() % (N_IDS - 551));
        clock += (int64_t)(next_rand() % 40000);
        int64_t ts = clock - (next_rand() % 8 == 0 ? (int64_t)(next_rand() % (10 * H)) : 0);
        if (ts > stream)
            stream = ts;
        ref_machine *m = &ref[id];
        int want_back = 0;
        int64_t before = m->newest;
        if (!m->known) {
            *m = (ref_machine){1, 0, ts};
        } else if (ts > m->newest) {
            m->newest = ts;
            if (m->silent && !scorer_silence_rule(ts, stream, AFTER))
                m->silent = 0, want_back = 1;
        }
        scorer_silence_change back;
        int rc = note(t, wire_id(id), 0, ts, &back);
        assert_int_equal(rc, want_back);
        if (rc == 1) {
            assert_int_equal(back.machine_id, wire_id(id));
            assert_int_equal(back.last_seen, before);
            backs++;
        }
        if (step % 97 == 0) {
            size_t n = scorer_silence_sweep(t, got, N_IDS);
            size_t w = ref_sweep(ref, stream, want);
            assert_int_equal(n, w);
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(got[i].machine_id, want[i].machine_id);
                assert_int_equal(got[i].last_seen, want[i].last_seen);
                assert_int_equal(got[i].stream_time, stream);
            }
            changes += n;
            size_t known = 0, silent = 0;
            for (int32_t i = 1; i < N_IDS; i++)
                known += ref[i].known, silent += ref[i].known && ref[i].silent;
            assert_int_equal(scorer_silence_tracked(t), known);
            assert_int_equal(scorer_silence_silent(t), silent);
        }
    }
    assert_int_equal(scorer_silence_stream_time(t), stream);
    /* The walk went through every kind of change. */
    assert_true(changes > 100);
    assert_true(backs > 10);
    assert_true(scorer_silence_forgotten(t) > 100);
    scorer_silence_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_silent_exactly_past_threshold),
        cmocka_unit_test(test_comes_back),
        cmocka_unit_test(test_never_reports_again),
        cmocka_unit_test(test_stream_time_not_moved_by_silent_machine),
        cmocka_unit_test(test_batch_judged_against_time_before_it),
        cmocka_unit_test(test_retain_and_bound),
        cmocka_unit_test(test_flood_bounded),
        cmocka_unit_test(test_many_machines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
