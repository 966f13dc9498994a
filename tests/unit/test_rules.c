/* test_rules.c: the stream rules (features/rules.c) that the trainer's store
 * and the scorer share: lateness, the trim horizon and cadence, levels and
 * the emission decision, each on its boundaries; and the store applying the
 * same lateness rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "pdm_features.h"
#include "pdm_rules.h"

#define H(h) ((int64_t)(h)*PDM_MS_PER_HOUR)
#define T0 INT64_C(1420070400000) /* 2015-01-01 00:00:00 UTC */

static void test_late(void **state)
{
    (void)state;
    int64_t lateness = H(48);
    /* Nothing is late before the machine's first telemetry. */
    assert_false(pdm_rule_is_late(PDM_EV_ERROR, T0 - H(1000), INT64_MIN, lateness));
    /* Exactly the allowed lateness behind is still accepted; a ms more is not. */
    assert_false(pdm_rule_is_late(PDM_EV_ERROR, T0 - lateness, T0, lateness));
    assert_true(pdm_rule_is_late(PDM_EV_ERROR, T0 - lateness - 1, T0, lateness));
    assert_true(pdm_rule_is_late(PDM_EV_TELEMETRY, T0 - lateness - 1, T0, lateness));
    assert_true(pdm_rule_is_late(PDM_EV_MAINTENANCE, T0 - lateness - 1, T0, lateness));
    assert_true(pdm_rule_is_late(PDM_EV_FAILURE, T0 - lateness - 1, T0, lateness));
    /* Events ahead of the newest are never late. */
    assert_false(pdm_rule_is_late(PDM_EV_TELEMETRY, T0 + H(5), T0, lateness));
    /* Machine info has no event time to be late by. */
    assert_false(pdm_rule_is_late(PDM_EV_MACHINE, T0 - H(10000), T0, lateness));
    /* Zero lateness: only events older than the newest are late. */
    assert_false(pdm_rule_is_late(PDM_EV_ERROR, T0, T0, 0));
    assert_true(pdm_rule_is_late(PDM_EV_ERROR, T0 - 1, T0, 0));
    /* Negative: unlimited. */
    assert_false(pdm_rule_is_late(PDM_EV_ERROR, INT64_MIN + 1, T0, -1));
    /* Far apart event times do not overflow. */
    assert_true(pdm_rule_is_late(PDM_EV_ERROR, INT64_MIN + 1, INT64_MAX, H(48)));
    assert_true(pdm_rule_is_late(PDM_EV_ERROR, INT64_MIN + 1, INT64_MAX, INT64_MAX));
    assert_false(pdm_rule_is_late(PDM_EV_ERROR, 0, INT64_MAX, INT64_MAX));
}

static void test_trim_horizon(void **state)
{
    (void)state;
    assert_int_equal(pdm_rule_trim_horizon(T0, H(48)), T0 - H(24) - H(48));
    assert_int_equal(pdm_rule_trim_horizon(T0, 0), T0 - PDM_FEATURES_LONG_WINDOW_MS);
    assert_true(pdm_rule_trim_horizon(INT64_MIN, H(48)) == INT64_MIN);
    assert_true(pdm_rule_trim_horizon(T0, -1) == INT64_MIN);
    assert_true(pdm_rule_trim_horizon(T0, INT64_MAX) == INT64_MIN);
    /* The horizon keeps every window an accepted event can need: the oldest
     * accepted event's 24 h window starts right after it. */
    int64_t lateness = H(48), oldest_accepted = T0 - lateness;
    assert_false(pdm_rule_is_late(PDM_EV_TELEMETRY, oldest_accepted, T0, lateness));
    assert_true(oldest_accepted - PDM_FEATURES_LONG_WINDOW_MS >=
                pdm_rule_trim_horizon(T0, lateness));
}

static void test_trim_due(void **state)
{
    (void)state;
    int64_t every = PDM_RULE_TRIM_EVERY_MS;
    assert_false(pdm_rule_trim_due(T0, T0 + every - 1)); /* T0 is a multiple of 6 h */
    assert_true(pdm_rule_trim_due(T0, T0 + every));
    assert_true(pdm_rule_trim_due(T0 - 1, T0));
    assert_false(pdm_rule_trim_due(T0 + 1, T0 + every - 1));
    /* Before 1970: floor division, so -1 ms and 0 lie in different periods. */
    assert_true(pdm_rule_trim_due(-1, 0));
    assert_false(pdm_rule_trim_due(-every, -1));
    assert_false(pdm_rule_trim_due(INT64_MIN, T0));
    assert_false(pdm_rule_trim_due(T0, INT64_MIN));
}

static void test_level(void **state)
{
    (void)state;
    assert_int_equal(pdm_rule_level(0.29, 0.3, 0.6), PDM_LEVEL_OK);
    assert_int_equal(pdm_rule_level(0.3, 0.3, 0.6), PDM_LEVEL_WARN);
    assert_int_equal(pdm_rule_level(0.59, 0.3, 0.6), PDM_LEVEL_WARN);
    assert_int_equal(pdm_rule_level(0.6, 0.3, 0.6), PDM_LEVEL_CRITICAL);
    assert_int_equal(pdm_rule_level(1.0, 0.3, 0.6), PDM_LEVEL_CRITICAL);
    /* A critical threshold below warn wins (an override may do this). */
    assert_int_equal(pdm_rule_level(0.2, 0.3, 0.1), PDM_LEVEL_CRITICAL);
}

/* One score through the rule: the emission and the state it leaves. */
static int emit(pdm_emit_mode mode, pdm_emit_state *st, pdm_level level, int64_t ts)
{
    return pdm_rule_emit(mode, H(6), st, level, ts);
}

static void test_emit_all_and_alerts(void **state)
{
    (void)state;
    pdm_emit_state st = {-1, INT64_MIN};
    assert_true(emit(PDM_EMIT_ALL, &st, PDM_LEVEL_OK, T0));
    assert_int_equal(st.level, PDM_LEVEL_OK);
    assert_int_equal(st.notified_at, T0);
    assert_true(emit(PDM_EMIT_ALL, &st, PDM_LEVEL_OK, T0 + H(1)));
    assert_int_equal(st.notified_at, T0 + H(1));

    pdm_emit_state a = {-1, INT64_MIN};
    assert_false(emit(PDM_EMIT_ALERTS, &a, PDM_LEVEL_OK, T0));
    assert_int_equal(a.level, PDM_LEVEL_OK);
    assert_true(a.notified_at == INT64_MIN);
    assert_true(emit(PDM_EMIT_ALERTS, &a, PDM_LEVEL_WARN, T0 + H(1)));
    assert_true(emit(PDM_EMIT_ALERTS, &a, PDM_LEVEL_WARN, T0 + H(2)));
    assert_true(emit(PDM_EMIT_ALERTS, &a, PDM_LEVEL_CRITICAL, T0 + H(3)));
    assert_false(emit(PDM_EMIT_ALERTS, &a, PDM_LEVEL_OK, T0 + H(4)));
    assert_int_equal(a.notified_at, T0 + H(3));
}

static void test_emit_changes(void **state)
{
    (void)state;
    pdm_emit_state st = {-1, INT64_MIN};
    /* A machine's first score is news only when it is not OK. */
    assert_false(emit(PDM_EMIT_CHANGES, &st, PDM_LEVEL_OK, T0));
    assert_int_equal(st.level, PDM_LEVEL_OK);
    assert_false(emit(PDM_EMIT_CHANGES, &st, PDM_LEVEL_OK, T0 + H(1)));
    assert_true(emit(PDM_EMIT_CHANGES, &st, PDM_LEVEL_WARN, T0 + H(2)));
    assert_false(
        emit(PDM_EMIT_CHANGES, &st, PDM_LEVEL_WARN, T0 + H(30))); /* WARN never renotifies */
    assert_true(emit(PDM_EMIT_CHANGES, &st, PDM_LEVEL_CRITICAL, T0 + H(31)));
    assert_int_equal(st.notified_at, T0 + H(31));
    /* CRITICAL again after renotify (6 h here) of event time, not before. */
    assert_false(emit(PDM_EMIT_CHANGES, &st, PDM_LEVEL_CRITICAL, T0 + H(37) - 1));
    assert_true(emit(PDM_EMIT_CHANGES, &st, PDM_LEVEL_CRITICAL, T0 + H(37)));
    assert_int_equal(st.notified_at, T0 + H(37));
    /* Back to OK is a change too. */
    assert_true(emit(PDM_EMIT_CHANGES, &st, PDM_LEVEL_OK, T0 + H(38)));
    assert_int_equal(st.level, PDM_LEVEL_OK);

    /* The first score CRITICAL: emitted; renotify 0 means never again. */
    pdm_emit_state c = {-1, INT64_MIN};
    assert_true(pdm_rule_emit(PDM_EMIT_CHANGES, 0, &c, PDM_LEVEL_CRITICAL, T0));
    assert_false(pdm_rule_emit(PDM_EMIT_CHANGES, 0, &c, PDM_LEVEL_CRITICAL, T0 + H(1000)));
    /* A CRITICAL level never notified (state written by an older scorer)
     * is notified rather than overflowing. */
    pdm_emit_state n = {PDM_LEVEL_CRITICAL, INT64_MIN};
    assert_true(emit(PDM_EMIT_CHANGES, &n, PDM_LEVEL_CRITICAL, T0));
}

static pdm_event event(pdm_event_type type, int32_t m, int64_t ts)
{
    pdm_event e = {.type = type, .machine_id = m, .ts = ts};
    if (type == PDM_EV_ERROR)
        e.u.error.error_id = 1;
    if (type == PDM_EV_TELEMETRY)
        e.u.telemetry.volt = 170;
    return e;
}

/* The trainer's store rejects exactly what the rule calls late. */
static void test_store_follows_rule(void **state)
{
    (void)state;
    pdm_feature_store_options o;
    pdm_feature_store_options_init(&o);
    o.lateness_ms = H(10);
    pdm_feature_store *s = pdm_feature_store_new(&o, NULL, 0);
    assert_non_null(s);
    pdm_event t = event(PDM_EV_TELEMETRY, 1, T0);
    assert_int_equal(pdm_feature_store_apply(s, &t), PDM_APPLY_OK);
    for (int64_t back = H(10) - 1; back <= H(10) + 1; back++) {
        pdm_event e = event(PDM_EV_ERROR, 1, T0 - back);
        int late = pdm_rule_is_late(e.type, e.ts, T0, o.lateness_ms);
        assert_int_equal(pdm_feature_store_apply(s, &e), late ? PDM_APPLY_LATE : PDM_APPLY_OK);
        assert_int_equal(late, back > H(10));
    }
    pdm_event info = event(PDM_EV_MACHINE, 1, 0);
    assert_int_equal(pdm_feature_store_apply(s, &info), PDM_APPLY_OK);
    pdm_feature_store_destroy(s);
}

/* The stream order at equal times: machine info, maintenance, errors,
 * failures, telemetry; the output types after every input. */
static void test_stream_rank(void **state)
{
    (void)state;
    const pdm_event_type order[] = {PDM_EV_MACHINE, PDM_EV_MAINTENANCE, PDM_EV_ERROR,
                                    PDM_EV_FAILURE, PDM_EV_TELEMETRY,   PDM_EV_RISK};
    for (size_t i = 1; i < sizeof order / sizeof *order; i++)
        assert_true(pdm_rule_stream_rank(order[i - 1]) < pdm_rule_stream_rank(order[i]));
    assert_int_equal(pdm_rule_stream_rank(PDM_EV_COUNT), pdm_rule_stream_rank(PDM_EV_RISK));
    /* Both output types rank after every input (they are dead-lettered). */
    assert_int_equal(pdm_rule_stream_rank(PDM_EV_SILENCE), pdm_rule_stream_rank(PDM_EV_RISK));
    /* A maintenance record pairs with a failure of its time, which comes
     * after it; nothing else waits for a later record. */
    for (int t = 0; t < PDM_EV_COUNT; t++)
        assert_int_equal(pdm_rule_pairs_later((pdm_event_type)t), t == PDM_EV_MAINTENANCE);
    assert_true(pdm_rule_stream_rank(PDM_EV_MAINTENANCE) < pdm_rule_stream_rank(PDM_EV_FAILURE));
}

/* A spike is ahead of both neighbours by more than the limit; unknown
 * neighbours, an unknown time or a negative limit judge nothing; no
 * overflow at the extremes. */
static void test_spike(void **state)
{
    (void)state;
    const int64_t h = PDM_MS_PER_HOUR, t = INT64_C(1420070400000);
    assert_true(pdm_rule_is_spike(t + 49 * h, t, t + h - 1, 48 * h));
    assert_false(pdm_rule_is_spike(t + 49 * h, t, t + h, 48 * h)); /* 48 h after next */
    assert_false(pdm_rule_is_spike(t + 48 * h, t, t - h, 48 * h)); /* exactly the limit */
    assert_false(pdm_rule_is_spike(t + 49 * h, t, t + 49 * h, 48 * h)); /* the stream moved on */
    assert_false(pdm_rule_is_spike(t + 49 * h, t + 2 * h, t, 48 * h));
    /* the message before unknown (the first since a start): the next decides */
    assert_true(pdm_rule_is_spike(t + 49 * h, INT64_MIN, t, 48 * h));
    assert_false(pdm_rule_is_spike(t + 49 * h, INT64_MIN, t + 2 * h, 48 * h));
    assert_true(pdm_rule_spike_needs_next(t, INT64_MIN, 48 * h));
    assert_true(pdm_rule_spike_needs_next(t + 49 * h, t, 48 * h));
    assert_false(pdm_rule_spike_needs_next(t + 48 * h, t, 48 * h));
    assert_false(pdm_rule_spike_needs_next(INT64_MIN, t, 48 * h));
    assert_false(pdm_rule_spike_needs_next(t, INT64_MIN, -1));
    assert_false(pdm_rule_is_spike(t + 49 * h, t, INT64_MIN, 48 * h));
    assert_false(pdm_rule_is_spike(INT64_MIN, t, t, 48 * h));
    assert_false(pdm_rule_is_spike(t + 49 * h, t, t, -1));
    assert_true(pdm_rule_is_spike(INT64_MAX, INT64_MIN + 1, INT64_MIN + 1, 48 * h));
    assert_false(pdm_rule_is_spike(INT64_MIN + 1, INT64_MAX, INT64_MAX, 0));
    assert_true(pdm_rule_is_spike(t + 1, t, t, 0));
}

/* --warn/--critical: each in [0, 1], warn <= critical; NaN is "not given";
 * the message names the one option at fault. */
static void test_thresholds_check(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(pdm_rule_thresholds_check(NAN, NAN, err, sizeof err), 0);
    assert_int_equal(pdm_rule_thresholds_check(0.3, 0.6, err, sizeof err), 0);
    assert_int_equal(pdm_rule_thresholds_check(0.5, 0.5, err, sizeof err), 0);
    assert_int_equal(pdm_rule_thresholds_check(0.0, 1.0, err, sizeof err), 0);
    assert_int_equal(pdm_rule_thresholds_check(0.9, NAN, err, sizeof err), 0);
    struct {
        double warn, critical;
        const char *names, *not_names;
    } bad[] = {
        {2, -1, "--warn", "--critical"},     {NAN, -1, "--critical", "--warn"},
        {0.5, 1.5, "--critical", "--warn "}, {0.7, 0.3, "--warn 0.7 is above --critical", NULL},
        {INFINITY, NAN, "--warn", "--critical"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        if (pdm_rule_thresholds_check(bad[i].warn, bad[i].critical, err, sizeof err) == 0)
            fail_msg("warn %g critical %g accepted", bad[i].warn, bad[i].critical);
        if (!strstr(err, bad[i].names) || (bad[i].not_names && strstr(err, bad[i].not_names)))
            fail_msg("warn %g critical %g: \"%s\"", bad[i].warn, bad[i].critical, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_late),
        cmocka_unit_test(test_stream_rank),
        cmocka_unit_test(test_spike),
        cmocka_unit_test(test_trim_horizon),
        cmocka_unit_test(test_trim_due),
        cmocka_unit_test(test_level),
        cmocka_unit_test(test_emit_all_and_alerts),
        cmocka_unit_test(test_emit_changes),
        cmocka_unit_test(test_store_follows_rule),
        cmocka_unit_test(test_thresholds_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
