/* Unit tests of monitor/'s live performance (pdm_perf): the precision,
 * recall and lead-time rules on hand cases, alerts and incidents, machines
 * apart, the rolling window, bounded state, and which machines are held
 * (test_monitor_perf_diff checks the same on random streams). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "pdm_monitor.h"

#define H PDM_MS_PER_HOUR
#define DAY (24 * H)

static pdm_perf *perf_new(int window_days)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_perf_options o;
    pdm_perf_options_init(&o);
    assert_int_equal(o.horizon_ms, 24 * H);
    assert_int_equal(o.window_days, 30);
    o.window_days = window_days;
    pdm_perf *p = pdm_perf_new(&o, err, sizeof err);
    assert_non_null(p);
    return p;
}

#define ASSERT_COUNTS(c, tp_, fp_, caught_, missed_)                                               \
    do {                                                                                           \
        assert_int_equal((c).tp, tp_);                                                             \
        assert_int_equal((c).fp, fp_);                                                             \
        assert_int_equal((c).caught, caught_);                                                     \
        assert_int_equal((c).missed, missed_);                                                     \
    } while (0)

static void test_perf_empty(void **state)
{
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 0, 0, 0, 0);
    assert_true(isnan(s.all.precision) && isnan(s.all.recall));
    assert_true(isnan(s.rolling.precision) && isnan(s.rolling.recall));
    assert_true(s.event_time_ms == INT64_MIN);
    cJSON *j = pdm_perf_to_json(&s);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "all"), "precision")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "event_time")));
    cJSON_Delete(j);
    pdm_perf_destroy(p);
    pdm_perf_destroy(NULL);
}

static void test_perf_horizon_boundaries(void **state)
{
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* m1: failure exactly at t + H: true positive, caught. */
    assert_int_equal(pdm_perf_alert(p, 1, t0), 0);
    assert_int_equal(pdm_perf_failure(p, 1, t0 + 24 * H), 0);
    /* m2: failure 1 ms after t + H: the alert expires first. */
    assert_int_equal(pdm_perf_alert(p, 2, t0), 0);
    assert_int_equal(pdm_perf_observe(p, 2, t0 + 24 * H), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.pending, 1); /* m2's alert may still be claimed at t + H */
    assert_int_equal(pdm_perf_failure(p, 2, t0 + 24 * H + 1), 0);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 1, 1, 1, 1);
    assert_int_equal(s.pending, 0);
    /* m3: failure at the alert's own ts: neither claims the other. */
    pdm_perf_alert(p, 3, t0);
    pdm_perf_failure(p, 3, t0);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 1, 1, 1, 2);
    assert_int_equal(s.pending, 1);
    pdm_perf_observe(p, 3, t0 + 24 * H + 1);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 1, 2, 1, 2);
    assert_int_equal(s.pending, 0);
    assert_true(fabs(s.all.precision - 1.0 / 3) < 1e-12);
    assert_true(fabs(s.all.recall - 1.0 / 3) < 1e-12);
    /* held: m1 (its claimed alert's window is still open, and its failure
     * is at its newest event time) and m2 (its failure); m3 has neither */
    assert_int_equal(s.machines, 2);
    assert_int_equal(s.alerts, 3);
    assert_int_equal(s.failures, 3);
    pdm_perf_destroy(p);
}

/* Incidents stand for every time they are open: a failure long after the
 * opening is caught while open; once ended, by the world up to its end,
 * otherwise up to its end + H; an open one is never retired. */
static void test_perf_incidents(void **state)
{
    (void)state;
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* m1: open for 3 days, then fails: a row alert would have expired. */
    assert_int_equal(pdm_perf_incident(p, 1, t0), 0);
    assert_int_equal(pdm_perf_incident(p, 1, t0), 0); /* a repeat counts once */
    assert_int_equal(pdm_perf_observe(p, 1, t0 + 72 * H), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.pending, 1);
    assert_int_equal(pdm_perf_failure(p, 1, t0 + 72 * H), 0);
    assert_int_equal(pdm_perf_incident_end(p, 1, t0, t0 + 72 * H, 1), 0);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 1, 0, 1, 0);
    /* m2: cleared at e; a failure at e + H still matches it, claimed. */
    pdm_perf_incident(p, 2, t0);
    pdm_perf_incident_end(p, 2, t0, t0 + 10 * H, 0);
    pdm_perf_failure(p, 2, t0 + 34 * H);
    /* m3: repaired at e (the world): a failure after e is not its. */
    pdm_perf_incident(p, 3, t0);
    pdm_perf_incident_end(p, 3, t0, t0 + 10 * H, 1);
    pdm_perf_failure(p, 3, t0 + 10 * H + 1);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 2, 1, 2, 1);
    /* m4: cleared, and no failure until its e + H passes: false. An end of
     * an incident not seen opening (before a restart) adds it. */
    pdm_perf_incident_end(p, 4, t0, t0 + 10 * H, 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.pending, 1);
    pdm_perf_observe(p, 4, t0 + 34 * H + 1);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 2, 2, 2, 1);
    assert_int_equal(s.pending, 0);
    assert_int_equal(s.alerts, 4);
    pdm_perf_destroy(p);
}

/* Lead time of each caught failure: from the earliest alert or incident
 * opening that caught it; the mean and the median (to the hour) over them;
 * missed failures have none. */
static void test_perf_lead_times(void **state)
{
    (void)state;
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    pdm_perf_get(p, &s);
    assert_int_equal(s.lead_times, 0);
    assert_true(isnan(s.lead_time_mean_hours) && isnan(s.lead_time_median_hours));
    cJSON *j = pdm_perf_to_json(&s);
    const cJSON *lead = cJSON_GetObjectItemCaseSensitive(j, "lead_time_hours");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(lead, "median")));
    cJSON_Delete(j);
    /* m1: alerts at t0 and t0 + 5 h, failure at t0 + 20 h: 20 h (the earliest) */
    pdm_perf_alert(p, 1, t0);
    pdm_perf_alert(p, 1, t0 + 5 * H);
    pdm_perf_failure(p, 1, t0 + 20 * H);
    /* m2: 1 h; m3: an incident open 72 h before the failure: 72 h */
    pdm_perf_alert(p, 2, t0 + 2 * H);
    pdm_perf_failure(p, 2, t0 + 3 * H);
    pdm_perf_incident(p, 3, t0);
    pdm_perf_failure(p, 3, t0 + 72 * H);
    /* m4: missed (its alert expired): no lead time; m1 again, the same
     * breakdown's second component: counted once */
    pdm_perf_alert(p, 4, t0);
    pdm_perf_failure(p, 4, t0 + 30 * H);
    pdm_perf_failure(p, 1, t0 + 20 * H);
    pdm_perf_get(p, &s);
    assert_int_equal(s.all.caught, 3);
    assert_int_equal(s.all.missed, 1);
    assert_int_equal(s.lead_times, 3);
    assert_true(fabs(s.lead_time_mean_hours - 31.0) < 1e-9);
    assert_true(fabs(s.lead_time_median_hours - 20.0) < 1e-9);
    j = pdm_perf_to_json(&s);
    lead = cJSON_GetObjectItemCaseSensitive(j, "lead_time_hours");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(lead, "caught")->valueint, 3);
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(lead, "median")->valuedouble - 20.0) < 1e-9);
    cJSON_Delete(j);
    pdm_perf_destroy(p);
}

static void test_perf_alert_sequences(void **state)
{
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* Two alerts before one failure: two true positives, one catch; the
     * same alert repeated counts once; two failures at one ts are one. */
    pdm_perf_alert(p, 7, t0);
    pdm_perf_alert(p, 7, t0);
    pdm_perf_alert(p, 7, t0 + 5 * H);
    pdm_perf_failure(p, 7, t0 + 10 * H);
    pdm_perf_failure(p, 7, t0 + 10 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 2, 0, 1, 0);
    assert_int_equal(s.alerts, 2);
    assert_int_equal(s.failures, 1);
    /* A second failure 2 h later is caught by the same (claimed) alerts,
     * which are not counted again. */
    pdm_perf_failure(p, 7, t0 + 12 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 2, 0, 2, 0);
    /* An alert after the failure is a new prediction: false positive
     * unless the machine fails again within H. */
    pdm_perf_alert(p, 7, t0 + 13 * H);
    pdm_perf_observe(p, 7, t0 + 37 * H + 1);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 2, 1, 2, 0);
    pdm_perf_alert(p, 7, t0 + 40 * H);
    pdm_perf_failure(p, 7, t0 + 41 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 3, 1, 3, 0);
    /* A failure more than H after the last alert is missed. */
    pdm_perf_failure(p, 7, t0 + 66 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 3, 1, 3, 1);
    pdm_perf_destroy(p);
}

static void test_perf_machines_apart(void **state)
{
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* m1's alert does not catch m2's failure, and m2's clock does not
     * expire m1's alert. */
    pdm_perf_alert(p, 1, t0);
    pdm_perf_failure(p, 2, t0 + H);
    pdm_perf_observe(p, 2, t0 + 48 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 0, 0, 0, 1);
    assert_int_equal(s.pending, 1);
    int32_t ids[] = {1, 2, 1};
    int64_t ts[] = {t0 + 2 * H, t0 + 49 * H, t0 + 25 * H};
    assert_int_equal(pdm_perf_observe_batch(p, ids, ts, NULL, 3), 0);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 0, 1, 0, 1);
    assert_int_equal(s.event_time_ms, t0 + 49 * H);
    /* Many machines: 1000 machines, every odd one fails 3 h after its alert. */
    for (int32_t m = 100; m < 1100; m++)
        pdm_perf_alert(p, m, t0 + 50 * H);
    for (int32_t m = 101; m < 1100; m += 2)
        pdm_perf_failure(p, m, t0 + 53 * H);
    for (int32_t m = 100; m < 1100; m++)
        pdm_perf_observe(p, m, t0 + 80 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 500, 501, 500, 1);
    assert_int_equal(s.machines, 0); /* every alert retired, every failure past */
    assert_int_equal(s.pending, 0);
    pdm_perf_destroy(p);

    /* The batch form with alert flags is the same sequence of calls: a
     * machine's rows spanning more than the horizon, alerts among them. */
    pdm_perf *one = perf_new(30), *batch = perf_new(30);
    int32_t bid[40];
    int64_t bts[40];
    unsigned char alert[40];
    for (int i = 0; i < 40; i++) {
        bid[i] = 1 + i % 2;
        bts[i] = t0 + (int64_t)(i / 2) * 3 * H;
        alert[i] = i % 7 == 0 || i % 11 == 0;
        if (alert[i])
            pdm_perf_alert(one, bid[i], bts[i]);
        else
            pdm_perf_observe(one, bid[i], bts[i]);
        if (i == 30)
            pdm_perf_failure(one, 1, t0 + 46 * H);
    }
    assert_int_equal(pdm_perf_observe_batch(batch, bid, bts, alert, 31), 0);
    pdm_perf_failure(batch, 1, t0 + 46 * H);
    assert_int_equal(pdm_perf_observe_batch(batch, bid + 31, bts + 31, alert + 31, 9), 0);
    pdm_perf_stats a, b;
    pdm_perf_get(one, &a);
    pdm_perf_get(batch, &b);
    assert_true(a.alerts > 0 && a.all.fp > 0);
    assert_int_equal(a.alerts, b.alerts);
    assert_int_equal(a.pending, b.pending);
    ASSERT_COUNTS(b.all, a.all.tp, a.all.fp, a.all.caught, a.all.missed);
    pdm_perf_destroy(one);
    pdm_perf_destroy(batch);
}

static void test_perf_rolling_window(void **state)
{
    pdm_perf *p = perf_new(2);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* Day 100: one caught failure; day 103: one missed failure and one
     * false positive. With a 2-day window only day 103 (and 102) count. */
    pdm_perf_alert(p, 1, t0 + H);
    pdm_perf_failure(p, 1, t0 + 2 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.rolling, 1, 0, 1, 0);
    pdm_perf_failure(p, 1, t0 + 3 * DAY + H);
    pdm_perf_alert(p, 1, t0 + 3 * DAY + 2 * H);
    pdm_perf_observe(p, 1, t0 + 4 * DAY + 3 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 1, 1, 1, 1);
    ASSERT_COUNTS(s.rolling, 0, 1, 0, 1);
    assert_true(s.rolling.precision == 0 && s.rolling.recall == 0);
    assert_true(s.all.precision == 0.5 && s.all.recall == 0.5);
    /* Time moves on with another machine: day 104 is in, 103 still in. */
    pdm_perf_observe(p, 9, t0 + 4 * DAY + 5 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.rolling, 0, 1, 0, 1);
    pdm_perf_observe(p, 9, t0 + 5 * DAY);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.rolling, 0, 0, 0, 0);
    assert_true(isnan(s.rolling.precision));
    ASSERT_COUNTS(s.all, 1, 1, 1, 1);
    cJSON *j = pdm_perf_to_json(&s);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "all"), "tp")->valueint, 1);
    assert_true(cJSON_GetObjectItem(j, "horizon_hours")->valuedouble == 24);
    assert_string_equal(cJSON_GetObjectItem(j, "event_time")->valuestring, "1970-04-16 00:00:00");
    cJSON_Delete(j);
    pdm_perf_destroy(p);
}

static void test_perf_bounded_state(void **state)
{
    /* One machine alerting every hour for a year: the pending list never
     * holds more than a horizon of alerts. */
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    uint64_t max_pending = 0;
    for (int64_t h = 0; h < 24 * 365; h++) {
        pdm_perf_alert(p, 5, h * H);
        pdm_perf_get(p, &s);
        if (s.pending > max_pending)
            max_pending = s.pending;
    }
    assert_true(max_pending <= 25);
    assert_int_equal(s.all.fp + s.pending, 24 * 365);
    /* A burst: machine 6 alerts every minute for 20 h (1,200 alerts held at
     * once), they all retire, then it alerts again (its list regrows). */
    for (int64_t k = 0; k < 1200; k++)
        assert_int_equal(pdm_perf_alert(p, 6, 400 * DAY + k * 60000), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.machines, 2);
    uint64_t fp = s.all.fp, pending = s.pending;
    assert_int_equal(pdm_perf_observe(p, 6, 402 * DAY), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.all.fp, fp + 1200);
    assert_int_equal(s.pending, pending - 1200);
    assert_int_equal(s.machines, 1);
    for (int64_t k = 1; k <= 3; k++)
        assert_int_equal(pdm_perf_alert(p, 6, 402 * DAY + k * H), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.pending, pending - 1200 + 3);
    assert_int_equal(s.machines, 2);
    pdm_perf_destroy(p);

    char err[PDM_ERRSTR_SIZE];
    pdm_perf_options o = {.horizon_ms = 0, .window_days = 30};
    assert_null(pdm_perf_new(&o, err, sizeof err));
    o = (pdm_perf_options){.horizon_ms = H, .window_days = 0};
    assert_null(pdm_perf_new(&o, err, sizeof err));
    pdm_perf_options_init(&o);
    assert_int_equal(o.max_machines, 1000000);
    o.max_machines = 7;
    assert_null(pdm_perf_new(&o, err, sizeof err));
}

/* Issue 21: scores of machines without an alert leave nothing behind. A
 * machine is held only while an alert of it is not retired or while its
 * failure is at its newest event time (a second component of the same
 * breakdown may follow), and leaves once neither holds. */
static void test_perf_quiet_machines(void **state)
{
    (void)state;
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* 100,000 machines scored one by one, then in batches of 1,000 without
     * alert flags and with flags all 0 */
    for (int32_t id = 1; id <= 100000; id++)
        assert_int_equal(pdm_perf_observe(p, id, t0), 0);
    int32_t ids[1000];
    int64_t ts[1000];
    unsigned char no_alert[1000] = {0};
    for (int b = 0; b < 100; b++) {
        for (int i = 0; i < 1000; i++) {
            ids[i] = b * 1000 + i + 1;
            ts[i] = t0 + H;
        }
        assert_int_equal(pdm_perf_observe_batch(p, ids, ts, b % 2 ? no_alert : NULL, 1000), 0);
    }
    pdm_perf_get(p, &s);
    assert_int_equal(s.machines, 0);
    assert_int_equal(s.event_time_ms, t0 + H);
    assert_int_equal(s.alerts, 0);
    ASSERT_COUNTS(s.all, 0, 0, 0, 0);
    /* one in twenty alerts: held until the machine's event time passes t + H */
    for (int32_t id = 20; id <= 100000; id += 20)
        assert_int_equal(pdm_perf_alert(p, id, t0 + 2 * H), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.machines, 5000);
    assert_int_equal(s.pending, 5000);
    for (int b = 0; b < 100; b++) {
        for (int i = 0; i < 1000; i++) {
            ids[i] = b * 1000 + i + 1;
            ts[i] = t0 + 26 * H + 1;
        }
        assert_int_equal(pdm_perf_observe_batch(p, ids, ts, NULL, 1000), 0);
    }
    pdm_perf_get(p, &s);
    assert_int_equal(s.machines, 0);
    assert_int_equal(s.pending, 0);
    ASSERT_COUNTS(s.all, 0, 5000, 0, 0);
    /* a failure holds its machine while its event time stays at f */
    assert_int_equal(pdm_perf_failure(p, 42, t0 + 30 * H), 0);
    assert_int_equal(pdm_perf_observe(p, 42, t0 + 30 * H), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.machines, 1);
    assert_int_equal(pdm_perf_failure(p, 42, t0 + 30 * H), 0); /* the same breakdown */
    assert_int_equal(pdm_perf_observe(p, 42, t0 + 30 * H + 1), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.machines, 0);
    assert_int_equal(s.failures, 1);
    assert_int_equal(pdm_perf_failure(p, 42, t0 + 31 * H), 0); /* a new one */
    assert_int_equal(pdm_perf_observe(p, 42, t0 + 32 * H), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.machines, 0);
    assert_int_equal(s.failures, 2);
    ASSERT_COUNTS(s.all, 0, 5000, 0, 2);
    pdm_perf_destroy(p);
}

/* A machine no longer held (no alert left, its last failure older than its
 * newest event time) has its clock forgotten. In event-time order that
 * changes nothing, since its next event is at or after that clock; out of
 * order it is judged as a new machine (perf.c's header lists each use of
 * the clock; before, the first out-of-order case below was a false
 * positive at once and the second was merged with the earlier failure). */
static void test_perf_unheld_clock(void **state)
{
    (void)state;
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* m1: its alert retires at t0 + 30 h and m1 leaves; in order, an alert
     * at its clock is pending as before */
    pdm_perf_alert(p, 1, t0);
    pdm_perf_observe(p, 1, t0 + 30 * H);
    pdm_perf_get(p, &s);
    assert_int_equal(s.machines, 0);
    pdm_perf_alert(p, 1, t0 + 30 * H);
    pdm_perf_observe(p, 1, t0 + 60 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 0, 2, 0, 0);
    assert_int_equal(s.machines, 0);
    /* out of order: an alert more than H before m1's last event waits for
     * m1's next event, which retires it */
    pdm_perf_alert(p, 1, t0 + 20 * H);
    pdm_perf_get(p, &s);
    assert_int_equal(s.pending, 1);
    assert_int_equal(s.all.fp, 2);
    pdm_perf_observe(p, 1, t0 + 60 * H);
    pdm_perf_get(p, &s);
    assert_int_equal(s.pending, 0);
    ASSERT_COUNTS(s.all, 0, 3, 0, 0);
    assert_int_equal(s.machines, 0);
    /* m2: in order, a failure after m2 left is a new one */
    pdm_perf_failure(p, 2, t0);
    pdm_perf_observe(p, 2, t0 + H);
    pdm_perf_failure(p, 2, t0 + 2 * H);
    pdm_perf_get(p, &s);
    assert_int_equal(s.failures, 2);
    /* out of order: the same failure again after a later event counts */
    pdm_perf_observe(p, 2, t0 + 3 * H);
    pdm_perf_failure(p, 2, t0 + 2 * H);
    pdm_perf_get(p, &s);
    assert_int_equal(s.failures, 3);
    assert_int_equal(s.machines, 1); /* its failure is at its (new) clock */
    pdm_perf_observe(p, 2, t0 + 3 * H);
    /* m3: the end of an incident not seen opening, at or after m3's clock,
     * after m3 left: its window runs to e + H as before and catches */
    pdm_perf_alert(p, 3, t0);
    pdm_perf_observe(p, 3, t0 + 25 * H);
    pdm_perf_get(p, &s);
    assert_int_equal(s.machines, 0);
    assert_int_equal(pdm_perf_incident_end(p, 3, t0 + 20 * H, t0 + 26 * H, 0), 0);
    pdm_perf_failure(p, 3, t0 + 40 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 1, 4, 1, 3);
    assert_int_equal(s.alerts, 5);
    assert_int_equal(s.failures, 4);
    assert_int_equal(s.pending, 0);
    assert_true(fabs(s.lead_time_mean_hours - 20.0) < 1e-9);
    assert_int_equal(s.machines, 1); /* m3: its incident's window is open */
    pdm_perf_destroy(p);
}

/* 100,000 distinct machine ids alerting once each, a minute apart (all
 * within the horizon of one another, so every one is held), against a
 * bound of 1,000: the tracker never holds more than the bound, counts
 * every eviction, and evicts the machines seen longest ago (event time): a
 * machine that keeps reporting keeps its alerts. An evicted machine's
 * alert already past the horizon counts as a false positive; a younger one
 * is dropped uncounted. */
static void test_perf_machines_bounded(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_perf_options o;
    pdm_perf_options_init(&o);
    o.max_machines = 1000;
    pdm_perf *p = pdm_perf_new(&o, err, sizeof err);
    assert_non_null(p);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    assert_int_equal(pdm_perf_alert(p, 1, t0 - 2 * DAY), 0); /* the oldest: evicted first */
    size_t most = 0;
    for (int32_t id = 100; id < 100100; id++) {
        int64_t t = t0 + (int64_t)(id - 100) * 60000; /* a minute apart */
        assert_int_equal(pdm_perf_alert(p, id, t), 0);
        /* machine 7 reports every 50 minutes; its alert at 50,000 is
         * claimed by its failure 10 h (600 new machines, 4 evictions) later */
        if (id % 50 == 0)
            assert_int_equal(pdm_perf_observe(p, 7, t), 0);
        if (id == 50000)
            assert_int_equal(pdm_perf_alert(p, 7, t), 0);
        if (id == 50600)
            assert_int_equal(pdm_perf_failure(p, 7, t), 0);
        pdm_perf_get(p, &s);
        if (s.machines > most)
            most = s.machines;
    }
    pdm_perf_get(p, &s);
    assert_true(most <= 1000);
    assert_true(s.machines > 800);
    /* 1 was evicted; 7 was not (its alert is a true positive) and left on
     * its own once its claimed alert's window passed */
    assert_int_equal(s.evicted + s.machines, 100000 + 1);
    /* 1's alert, long past its horizon when evicted: a false positive; the
     * others evicted were younger than the horizon: dropped, and each
     * machine still held has its one alert pending */
    ASSERT_COUNTS(s.all, 1, 1, 1, 0);
    assert_int_equal(s.pending, s.machines);
    pdm_perf_destroy(p);

    /* an evicted machine's alert within the horizon is dropped, not
     * counted; machines without alerts neither take room nor evict */
    o.max_machines = 8;
    p = pdm_perf_new(&o, err, sizeof err);
    assert_int_equal(pdm_perf_alert(p, 1, t0), 0);
    for (int32_t id = 2; id <= 9; id++)
        assert_int_equal(pdm_perf_alert(p, id, t0 + H), 0);
    for (int32_t id = 100; id < 200; id++)
        assert_int_equal(pdm_perf_observe(p, id, t0 + 2 * H), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.machines, 8);
    assert_int_equal(s.evicted, 1);
    assert_int_equal(s.pending, 8);
    ASSERT_COUNTS(s.all, 0, 0, 0, 0);
    pdm_perf_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perf_empty),
        cmocka_unit_test(test_perf_horizon_boundaries),
        cmocka_unit_test(test_perf_alert_sequences),
        cmocka_unit_test(test_perf_incidents),
        cmocka_unit_test(test_perf_lead_times),
        cmocka_unit_test(test_perf_machines_apart),
        cmocka_unit_test(test_perf_rolling_window),
        cmocka_unit_test(test_perf_bounded_state),
        cmocka_unit_test(test_perf_quiet_machines),
        cmocka_unit_test(test_perf_unheld_clock),
        cmocka_unit_test(test_perf_machines_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
