/* test_alerts_replay.c: the alert replay (pdm_alerts.h): its incident and
 * lead-time counts, its boundaries and what it refuses. */
#include "test_alerts_util.h"

/* ---- replay ------------------------------------------------------------------- */

/* Hourly rows from hour a to hour b (exclusive) at one risk. */
static size_t fill(pdm_alert_score *rows, size_t n, int a, int b, double risk, int comp)
{
    for (int h = a; h < b; h++)
        rows[n++] = (pdm_alert_score){T0 + H(h), risk, comp};
    return n;
}

static void test_replay(void **state)
{
    (void)state;
    /* 2/3, hold 24 h, renotify 6 h, horizon 24 h; hourly rows over 400 h:
     *   A: WARN h10..h15 on comp2, opens at h11; comp2 fails at h20:
     *      resolved failed, caught with lead 9 h;
     *   B: CRITICAL h100..h113 on comp1, opens at h101 as CRITICAL,
     *      renotified at h107 and h113; then OK: resolves cleared at h125
     *      (the hold ends at h125, and h114.. are below clear); no failure
     *      until h300 > h125 + 24: a false incident;
     *   a failure of comp3 at h300 with no incident: missed;
     *   C: WARN h350.. on comp4 opens at h351; the rows stop at h360 and
     *      start again at h372: silent at h360 + 6 h = h366 (silence 6 h);
     *      comp1 fails at h380: within C's window (h366 + 24): caught,
     *      lead 29 h (longer than the horizon: C stood the whole time). */
    pdm_alert_score rows[400];
    size_t n = 0;
    n = fill(rows, n, 0, 10, R_OK, 1);
    n = fill(rows, n, 10, 16, R_WARN, 2);
    n = fill(rows, n, 16, 100, R_OK, 1);
    n = fill(rows, n, 100, 114, R_CRIT, 1);
    n = fill(rows, n, 114, 350, R_OK, 1);
    n = fill(rows, n, 350, 361, R_WARN, 4);
    size_t n_to_gap = n;
    n = fill(rows, n, 372, 400, R_OK, 4);
    pdm_event events[] = {
        world_event(PDM_EV_ERROR, 5, 1), /* ignored */
        world_event(PDM_EV_FAILURE, 20, 2),
        world_event(PDM_EV_MAINTENANCE, 200, 1), /* nothing open */
        world_event(PDM_EV_FAILURE, 300, 3),
        world_event(PDM_EV_FAILURE, 380, 1),
    };
    size_t n_events = sizeof events / sizeof events[0];
    pdm_alert_policy p = policy(2, 3, H(24), H(6));
    pdm_alert_replay_stats s;
    int64_t lead[8];
    char err[PDM_ERRSTR_SIZE];
    assert_int_equal(pdm_alert_replay(&p, MACHINE, rows, n, events, n_events, H(24), H(6), &s, lead,
                                      err, sizeof err),
                     0);
    assert_int_equal(s.incidents, 3);
    assert_int_equal(s.escalated, 0);
    assert_int_equal(s.renotified, 2);
    assert_int_equal(s.notifications, 3 + 0 + 2);
    assert_int_equal(s.resolved[PDM_RESOLUTION_FAILED], 1);
    assert_int_equal(s.resolved[PDM_RESOLUTION_CLEARED], 1);
    assert_int_equal(s.resolved[PDM_RESOLUTION_SILENT], 1);
    assert_int_equal(s.resolved[PDM_RESOLUTION_REPAIRED], 0);
    assert_int_equal(s.resolved[PDM_RESOLUTION_NONE], 0);
    assert_int_equal(s.failures, 3);
    assert_int_equal(s.caught, 2);
    assert_int_equal(s.false_incidents, 1);
    assert_true(lead[0] == H(20) - H(11));
    assert_true(lead[1] == H(380) - H(351));
    assert_true(s.overstay_ms == 0); /* A 9 h, B 24 h, C 15 h: none beyond 24 h */

    /* Without silence the OK rows after the gap clear C once its hold ends
     * (h351 + 24 = h375); h380 is within h375 + 24: caught all the same. */
    assert_int_equal(pdm_alert_replay(&p, MACHINE, rows, n, events, n_events, H(24), 0, &s, lead,
                                      err, sizeof err),
                     0);
    assert_int_equal(s.resolved[PDM_RESOLUTION_SILENT], 0);
    assert_int_equal(s.resolved[PDM_RESOLUTION_CLEARED], 2);
    assert_int_equal(s.resolved[PDM_RESOLUTION_NONE], 0);
    assert_int_equal(s.caught, 2);
    assert_true(lead[1] == H(380) - H(351));
    /* Rows ending at h360: C is open at the end, and catches h380 however
     * late it comes. */
    events[4].ts = T0 + H(2000);
    assert_int_equal(pdm_alert_replay(&p, MACHINE, rows, n_to_gap, events, n_events, H(24), 0, &s,
                                      lead, err, sizeof err),
                     0);
    assert_int_equal(s.resolved[PDM_RESOLUTION_NONE], 1);
    assert_int_equal(s.caught, 2);
    assert_true(lead[1] == H(2000) - H(351));
    events[4].ts = T0 + H(380);

    /* A shorter horizon turns C's catch into a miss once C is resolved
     * silent at h366: h380 > h366 + 12. */
    assert_int_equal(pdm_alert_replay(&p, MACHINE, rows, n, events, n_events, H(12), H(6), &s, NULL,
                                      err, sizeof err),
                     0);
    assert_int_equal(s.caught, 1);
    assert_int_equal(s.false_incidents, 2);
    /* ... and B (24 h) and C (15 h) stood beyond the 12 h horizon. */
    assert_true(s.overstay_ms == H(24 - 12) + H(15 - 12));

    /* Replay equals stepping by hand: the same policy over the same rows. */
    pdm_alert_state st;
    pdm_incident inc;
    size_t opened = 0, notes = 0;
    pdm_alert_state_init(&st);
    for (size_t i = 0, e = 0; i < n; i++) {
        while (e < n_events && events[e].ts <= rows[i].ts)
            pdm_alert_world(&st, &events[e++], &inc);
        assert_int_equal(pdm_alert_step(&st, &p, MACHINE, &rows[i], &inc, err, sizeof err), 0);
        opened += inc.emit == PDM_ALERT_OPENED;
        notes += inc.emit == PDM_ALERT_OPENED || inc.emit == PDM_ALERT_ESCALATED ||
                 inc.emit == PDM_ALERT_RENOTIFIED;
    }
    assert_int_equal(pdm_alert_replay(&p, MACHINE, rows, n, events, n_events, H(24), 0, &s, NULL,
                                      err, sizeof err),
                     0);
    assert_int_equal(s.incidents, opened);
    assert_int_equal(s.notifications, notes);
}

/* The replay's boundaries: ties between events and rows, a gap of exactly
 * the silence, a failure at the opening's own ts. */
static void test_replay_edges(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(1, 1, H(24), H(6));
    pdm_alert_replay_stats s;
    int64_t lead[4];
    char err[PDM_ERRSTR_SIZE];
    pdm_alert_score rows[64];
    size_t n = 0;
    /* WARN on comp2 from h0 (opens at h0), a CRITICAL row at h5 with a
     * maintenance of comp2 at h5: the event goes first, so the incident is
     * repaired and the CRITICAL row opens a new one instead of escalating. */
    n = fill(rows, n, 0, 5, R_WARN, 2);
    n = fill(rows, n, 5, 6, R_CRIT, 2);
    pdm_event maint = world_event(PDM_EV_MAINTENANCE, 5, 2);
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, n, &maint, 1, H(24), 0, &s, lead, err, sizeof err), 0);
    assert_int_equal(s.incidents, 2);
    assert_int_equal(s.escalated, 0);
    assert_int_equal(s.resolved[PDM_RESOLUTION_REPAIRED], 1);
    assert_int_equal(s.resolved[PDM_RESOLUTION_NONE], 1);

    /* A gap of exactly the silence is not silence; one ms more is. */
    n = 0;
    n = fill(rows, n, 0, 1, R_WARN, 2);
    n = fill(rows, n, 6, 7, R_WARN, 2);
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, n, NULL, 0, H(24), H(6), &s, NULL, err, sizeof err), 0);
    assert_int_equal(s.resolved[PDM_RESOLUTION_SILENT], 0);
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, n, NULL, 0, H(24), H(6) - 1, &s, NULL, err, sizeof err),
        0);
    assert_int_equal(s.resolved[PDM_RESOLUTION_SILENT], 1);
    assert_int_equal(s.incidents, 2); /* silence forgot the history: h6 opens anew */

    /* A failure (of another component) at the opening's ts is not caught by
     * it: the labels' t < f; the incident catches nothing and is false. */
    n = 0;
    n = fill(rows, n, 0, 3, R_OK, 1);
    n = fill(rows, n, 3, 4, R_WARN, 1);
    pdm_event fail = world_event(PDM_EV_FAILURE, 3, 4);
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, n, &fail, 1, H(24), 0, &s, lead, err, sizeof err), 0);
    assert_int_equal(s.incidents, 1);
    assert_int_equal(s.failures, 1);
    assert_int_equal(s.caught, 0);
    assert_int_equal(s.false_incidents, 1);
    /* One ms later it is, with a lead of 1 ms. */
    fail.ts += 1;
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, n, &fail, 1, H(24), 0, &s, lead, err, sizeof err), 0);
    assert_int_equal(s.caught, 1);
    assert_true(lead[0] == 1);

    /* A repaired incident claims no later failure (the world intervened);
     * a cleared one claims failures up to a horizon after it closed. */
    n = 0;
    n = fill(rows, n, 0, 1, R_WARN, 2);
    n = fill(rows, n, 1, 20, R_OK, 2);
    pdm_event repair_then_fail[] = {world_event(PDM_EV_MAINTENANCE, 0.5, 2),
                                    world_event(PDM_EV_FAILURE, 10, 1)};
    assert_int_equal(pdm_alert_replay(&p, MACHINE, rows, n, repair_then_fail, 2, H(24), 0, &s, lead,
                                      err, sizeof err),
                     0);
    assert_int_equal(s.resolved[PDM_RESOLUTION_REPAIRED], 1);
    assert_int_equal(s.caught, 0);
    assert_int_equal(s.false_incidents, 1);
    pdm_alert_policy p0 = policy(1, 1, 0, 0);
    assert_int_equal(pdm_alert_replay(&p0, MACHINE, rows, n, &repair_then_fail[1], 1, H(24), 0, &s,
                                      lead, err, sizeof err),
                     0);
    assert_int_equal(s.resolved[PDM_RESOLUTION_CLEARED], 1); /* at h1 */
    assert_int_equal(s.caught, 1);
    assert_true(lead[0] == H(10));

    /* Two incidents before one failure: caught once, the lead time from the
     * earlier, neither false. */
    n = 0;
    n = fill(rows, n, 0, 1, R_WARN, 2);
    n = fill(rows, n, 1, 3, R_OK, 2);
    n = fill(rows, n, 3, 4, R_WARN, 2);
    n = fill(rows, n, 4, 20, R_OK, 2);
    assert_int_equal(pdm_alert_replay(&p0, MACHINE, rows, n, &repair_then_fail[1], 1, H(24), 0, &s,
                                      lead, err, sizeof err),
                     0);
    assert_int_equal(s.incidents, 2);
    assert_int_equal(s.caught, 1);
    assert_int_equal(s.false_incidents, 0);
    assert_true(lead[0] == H(10));
}

static void test_replay_refuses(void **state)
{
    (void)state;
    pdm_alert_score rows[] = {{T0 + H(2), R_OK, 1}, {T0 + H(1), R_OK, 1}};
    pdm_event ev = world_event(PDM_EV_FAILURE, 1, 1);
    pdm_alert_policy p = policy(2, 3, 0, 0);
    pdm_alert_replay_stats s;
    char err[PDM_ERRSTR_SIZE];
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, 2, NULL, 0, H(24), 0, &s, NULL, err, sizeof err),
        -1); /* rows out of order */
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, 1, NULL, 0, H(24), 0, &s, NULL, err, sizeof err), 0);
    ev.machine_id = MACHINE + 1;
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, 1, &ev, 1, H(24), 0, &s, NULL, err, sizeof err),
        -1); /* another machine's event */
    pdm_event two[] = {world_event(PDM_EV_FAILURE, 3, 1), world_event(PDM_EV_FAILURE, 1, 1)};
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, 1, two, 2, H(24), 0, &s, NULL, err, sizeof err),
        -1); /* events out of order */
    p.confirm_m = 9;
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, 1, NULL, 0, H(24), 0, &s, NULL, err, sizeof err),
        -1); /* invalid policy */
    p = policy(2, 3, 0, 0);
    rows[0].risk = 2;
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, 1, NULL, 0, H(24), 0, &s, NULL, err, sizeof err),
        -1); /* invalid row */
    /* Nothing at all: zero counts. */
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, NULL, 0, NULL, 0, H(24), 0, &s, NULL, err, sizeof err), 0);
    assert_int_equal(s.incidents + s.failures + s.caught, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_replay_edges),
        cmocka_unit_test(test_replay_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
