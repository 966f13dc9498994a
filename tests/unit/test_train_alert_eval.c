/* test_train_alert_eval.c: the trainer's alert evaluation (train/alert_eval.c):
 * grouping a fleet's rows and events by machine, the sums over machines
 * for the policy and for `--emit changes` (with the scorer's rules: one
 * escalation per incident, a repair at a failure's time is the failure),
 * percentiles, and the choice of
 * the clear thresholds, on small hand-built fleets whose expectations are
 * worked out in the comments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alert_eval.h"

#define H(h) ((int64_t)(h)*PDM_MS_PER_HOUR)
#define T0 INT64_C(1420070400000) /* 2015-01-01 00:00:00 UTC */

static pdm_event world(pdm_event_type type, int32_t machine, int hours, int component)
{
    pdm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.machine_id = machine;
    ev.ts = T0 + H(hours);
    if (type == PDM_EV_FAILURE)
        ev.u.failure.component = component;
    else
        ev.u.maintenance.component = component;
    return ev;
}

static void test_percentile(void **state)
{
    (void)state;
    const int64_t v[] = {1, 2, 3, 4, 5};
    assert_true(isnan(alert_percentile(v, 0, 0.5)));
    assert_float_equal(alert_percentile(v, 1, 0.1), 1, 0);
    assert_float_equal(alert_percentile(v, 5, 0.5), 3, 0);
    assert_float_equal(alert_percentile(v, 5, 0.1), 1.4, 1e-12); /* 0.4 of the way 1 -> 2 */
    assert_float_equal(alert_percentile(v, 5, 1.0), 5, 0);
    const int64_t w[] = {10, 20};
    assert_float_equal(alert_percentile(w, 2, 0.5), 15, 0);
}

/* Two machines, rows interleaved as in replay order (ids 7 and 3, so the
 * grouping sorts them), policy 2/3, hold 24 h, renotify 6 h, horizon 24 h:
 *   machine 7: WARN h10..h15 on comp2, comp2 fails at h20. Policy: opens
 *     at h11, resolved failed at h20: caught, lead 9 h. Changes: WARN at
 *     h10 (one alerting notification), caught, lead 10 h (h10 is the
 *     earliest alert row within 24 h before h20).
 *   machine 3: flaps, WARN on the even hours h10..h30 (11 rows). Policy:
 *     opens at h12 (h10 and h12 of h10..h12), cleared at h36 when the hold
 *     ends: one false incident, one notification. Changes: 11 alerting
 *     notifications (every WARN after an OK). Its failure at h0 is at its
 *     first row: not in the period (nothing could catch it).
 *   A maintenance of machine 9, which has no rows, is ignored. */
static void test_fleet_sums(void **state)
{
    (void)state;
    alert_eval_row rows[200];
    size_t n = 0;
    for (int h = 0; h < 100; h++) {
        int warn7 = h >= 10 && h <= 15, warn3 = h >= 10 && h <= 30 && h % 2 == 0;
        rows[n++] = (alert_eval_row){7, T0 + H(h), warn7 ? 0.5 : 0.01, warn7 ? 2 : 1};
        rows[n++] = (alert_eval_row){3, T0 + H(h), warn3 ? 0.5 : 0.01, 1};
    }
    pdm_event events[] = {
        world(PDM_EV_FAILURE, 3, 0, 1),
        world(PDM_EV_MAINTENANCE, 9, 5, 1),
        world(PDM_EV_FAILURE, 7, 20, 2),
    };
    alert_fleet f;
    alert_eval e;
    char err[PDM_ERRSTR_SIZE];
    assert_int_equal(alert_fleet_build(rows, n, events, 3, &f, err, sizeof err), 0);
    assert_int_equal(f.n_machines, 2);
    assert_int_equal(f.machine[0], 3);
    assert_int_equal(f.machine[1], 7);
    assert_int_equal(f.event_start[2], 1); /* machine 7's failure only */
    assert_float_equal(f.machine_weeks, 2 * 99.0 / 168, 1e-12);

    pdm_alert_policy p;
    pdm_alert_policy_init(&p, 0.3, 0.8);
    p.warn_clear = 0.15;
    p.critical_clear = 0.4;
    assert_int_equal(alert_eval_run(&f, &p, H(24), 0, H(6), &e, err, sizeof err), 0);
    assert_int_equal(e.machines, 2);
    assert_int_equal(e.policy.incidents, 2);
    assert_int_equal(e.policy.notifications, 2);
    assert_int_equal(e.policy.false_incidents, 1);
    assert_int_equal(e.policy.failures, 1);
    assert_int_equal(e.policy.caught, 1);
    assert_true(e.policy.lead_ms[0] == H(9));
    assert_int_equal(e.policy_stats.resolved[PDM_RESOLUTION_FAILED], 1);
    assert_int_equal(e.policy_stats.resolved[PDM_RESOLUTION_CLEARED], 1);
    assert_float_equal(e.policy.overstay_hours, 0, 0);
    assert_int_equal(e.changes.notifications, 1 + 11);
    assert_int_equal(e.changes.incidents, 1 + 11);
    assert_int_equal(e.changes.failures, 1);
    assert_int_equal(e.changes.caught, 1);
    assert_true(e.changes.lead_ms[0] == H(10));
    alert_eval_free(&e);
    alert_fleet_free(&f);
}

/* The trainer counts what the scorer sends. One machine, warn 0.3,
 * critical 0.8 (clear 0.15 / 0.4), confirm 1/1, hold 24 h, renotify 24 h,
 * horizon 24 h; hourly rows h0..h39: CRITICAL 0.9 at h10, 0.35 (a quiet
 * drop to WARN) at h11, 0.9 again at h12..h13, WARN 0.5 to h19, then 0.01.
 * comp2 fails at h20, the crew's replacement of comp2 logged at the same
 * time before it. The incident (comp2) opens at h10 and is notified once:
 * the return to CRITICAL at h12 is within the renotify interval, no second
 * escalation. It resolves failed (the maintenance record is the failure's
 * repair), caught with a lead of 10 h. --emit changes, renotify 6 h:
 * CRITICAL h10, WARN h11, CRITICAL h12, WARN h14: 4 alerting notifications. */
static void test_fleet_counts_scorer_rules(void **state)
{
    (void)state;
    alert_eval_row rows[40];
    for (int h = 0; h < 40; h++) {
        double r = h == 10 || h == 12 || h == 13 ? 0.9
                   : h == 11                     ? 0.35
                   : h < 20 && h > 13            ? 0.5
                                                 : 0.01;
        rows[h] = (alert_eval_row){4, T0 + H(h), r, 2};
    }
    pdm_event events[] = {world(PDM_EV_MAINTENANCE, 4, 20, 2), world(PDM_EV_FAILURE, 4, 20, 2)};
    alert_fleet f;
    alert_eval e;
    char err[PDM_ERRSTR_SIZE];
    assert_int_equal(alert_fleet_build(rows, 40, events, 2, &f, err, sizeof err), 0);
    pdm_alert_policy p;
    pdm_alert_policy_init(&p, 0.3, 0.8);
    p.warn_clear = 0.15;
    p.critical_clear = 0.4;
    p.confirm_m = p.confirm_n = 1;
    p.renotify_ms = H(24);
    assert_int_equal(alert_eval_run(&f, &p, H(24), 0, H(6), &e, err, sizeof err), 0);
    assert_int_equal(e.policy.incidents, 1);
    assert_int_equal(e.policy_stats.escalated, 0);
    assert_int_equal(e.policy_stats.renotified, 0);
    assert_int_equal(e.policy.notifications, 1);
    assert_int_equal(e.policy_stats.resolved[PDM_RESOLUTION_FAILED], 1);
    assert_int_equal(e.policy_stats.resolved[PDM_RESOLUTION_REPAIRED], 0);
    assert_int_equal(e.policy.caught, 1);
    assert_true(e.policy.lead_ms[0] == H(10));
    assert_int_equal(e.changes.notifications, 4);
    assert_int_equal(e.changes.caught, 1);
    alert_eval_free(&e);
    alert_fleet_free(&f);
}

/* Machines 1..nA of kind A, then one of kind B; hourly rows h0..h59;
 * warn 0.4, critical 0.9, confirm 1/1, hold 0, no renotify, horizon 10 h.
 *   A: 0.5 h10..h12, 0.3 h13..h19, 0.5 h20..h21, then 0.01; comp1 fails
 *      at h30. Clear above 0.3 (r >= 0.8): incidents h10-h13 (false) and
 *      h20-h22 (caught): score 1 - 1 = 0. Clear at or below 0.3
 *      (r <= 0.7): one incident h10-h22 (12 h, 2 h beyond the horizon),
 *      caught: 1 - 0.2 = 0.8.
 *   B: 0.5 at h5, 0.15 h6..h49, 0.5 at h50, then 0.01; no failure. Clear
 *      above 0.15 (r >= 0.4): two one-hour false incidents: -2. Clear at or
 *      below 0.15 (r <= 0.3): one false incident h5-h51, 36 h beyond the
 *      horizon: -1 - 3.6 = -4.6.
 * With five A: r >= 0.8: -2; 0.7..0.4: 4 - 2 = 2; r <= 0.3: 4 - 4.6 =
 * -0.6. Chosen: 0.7, the highest of the best. Without the overstay term
 * r <= 0.3 would win (5 caught, 1 false). */
static size_t clear_fleet(alert_eval_row *rows, int n_a, pdm_event *events)
{
    size_t n = 0;
    for (int m = 1; m <= n_a + 1; m++) {
        for (int h = 0; h < 60; h++) {
            double r;
            if (m <= n_a)
                r = (h >= 10 && h <= 12) || (h >= 20 && h <= 21) ? 0.5
                    : h >= 13 && h <= 19                         ? 0.3
                                                                 : 0.01;
            else
                r = h == 5 || h == 50 ? 0.5 : h >= 6 && h <= 49 ? 0.15 : 0.01;
            rows[n++] = (alert_eval_row){m, T0 + H(h), r, 1};
        }
        if (m <= n_a)
            events[m - 1] = world(PDM_EV_FAILURE, m, 30, 1);
    }
    return n;
}

static void test_clear_choice(void **state)
{
    (void)state;
    alert_eval_row rows[6 * 60];
    pdm_event events[5];
    char err[PDM_ERRSTR_SIZE];
    size_t n = clear_fleet(rows, 5, events);
    alert_fleet f;
    assert_int_equal(alert_fleet_build(rows, n, events, 5, &f, err, sizeof err), 0);

    pdm_alert_policy p;
    pdm_alert_policy_init(&p, 0.4, 0.9);
    p.confirm_m = p.confirm_n = 1;
    p.min_hold_ms = 0;
    p.renotify_ms = 0;
    alert_clear_choice c;
    assert_int_equal(alert_clear_choose(&f, &p, H(10), 0, &c, err, sizeof err), 0);
    assert_int_equal(c.failures, 5);
    assert_int_equal(c.by_data, 1);
    assert_float_equal(c.cand[0].ratio, 1.0, 0);
    assert_float_equal(c.cand[0].score, -2, 1e-9);
    assert_int_equal(c.cand[0].caught, 5);
    assert_int_equal(c.cand[0].false_incidents, 5 + 2);
    for (int k = 3; k <= 6; k++) /* 0.7 .. 0.4 */
        assert_float_equal(c.cand[k].score, 2, 1e-9);
    assert_float_equal(c.cand[7].score, -0.6, 1e-9); /* 0.3 */
    assert_int_equal(c.cand[7].false_incidents, 1);
    assert_float_equal(c.cand[7].overstay_hours, 5 * 2 + 36, 1e-9);
    assert_float_equal(c.ratio, 0.7, 1e-12);
    assert_float_equal(p.warn_clear, 0.7 * 0.4, 1e-12);
    assert_float_equal(p.critical_clear, 0.7 * 0.9, 1e-12);
    alert_fleet_free(&f);

    /* One failure is too few to choose by: the default ratio. */
    n = clear_fleet(rows, 1, events);
    assert_int_equal(alert_fleet_build(rows, n, events, 1, &f, err, sizeof err), 0);
    assert_int_equal(alert_clear_choose(&f, &p, H(10), 0, &c, err, sizeof err), 0);
    assert_int_equal(c.by_data, 0);
    assert_float_equal(c.ratio, PDM_ALERT_DEFAULT_CLEAR_RATIO, 0);
    assert_float_equal(p.warn_clear, PDM_ALERT_DEFAULT_CLEAR_RATIO * 0.4, 1e-12);
    alert_fleet_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_fleet_sums),
        cmocka_unit_test(test_fleet_counts_scorer_rules),
        cmocka_unit_test(test_clear_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
