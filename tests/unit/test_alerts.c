/* test_alerts.c: the alert state machine (alerts/, pdm_alerts.h): the policy
 * and its --confirm parser, every transition (open after M of N and not
 * before, escalation, hold, hysteresis, quiet de-escalation, renotify,
 * repaired / failed by the incident's component, other components ignored,
 * silence) and the names. The clock, ids and text form are in
 * test_alerts_text.c, the replay in test_alerts_replay.c. */
#include "test_alerts_util.h"

/* ---- policy ---------------------------------------------------------------- */

static void test_policy(void **state)
{
    (void)state;
    pdm_alert_policy p;
    char err[PDM_ERRSTR_SIZE];
    pdm_alert_policy_init(&p, 0.02, 0.06);
    assert_int_equal(pdm_alert_policy_check(&p, err, sizeof err), 0);
    assert_true(p.warn_clear == 0.02 * PDM_ALERT_DEFAULT_CLEAR_RATIO);
    assert_true(p.critical_clear == 0.06 * PDM_ALERT_DEFAULT_CLEAR_RATIO);
    assert_int_equal(p.confirm_m, PDM_ALERT_DEFAULT_CONFIRM_M);
    assert_int_equal(p.confirm_n, PDM_ALERT_DEFAULT_CONFIRM_N);
    assert_true(p.min_hold_ms == H(24));
    assert_true(p.renotify_ms == H(6));
    /* warn == critical is a model the trainer can produce: every alert critical. */
    pdm_alert_policy_init(&p, 0.3, 0.3);
    assert_int_equal(pdm_alert_policy_check(&p, err, sizeof err), 0);

    pdm_alert_policy good = policy(2, 3, H(24), H(6));
#define REFUSED(stmt)                                                                              \
    do {                                                                                           \
        p = good;                                                                                  \
        stmt;                                                                                      \
        err[0] = '\0';                                                                             \
        assert_int_equal(pdm_alert_policy_check(&p, err, sizeof err), -1);                         \
        assert_true(err[0] != '\0');                                                               \
    } while (0)
    REFUSED(p.warn = NAN);
    REFUSED(p.critical = INFINITY);
    REFUSED(p.warn = -0.1);
    REFUSED(p.critical = WARN - 0.01);
    REFUSED(p.warn_clear = WARN + 0.01);
    REFUSED(p.warn_clear = -0.01);
    REFUSED(p.critical_clear = CRIT + 0.01);
    REFUSED(p.confirm_m = 0);
    REFUSED(p.confirm_m = 4);
    REFUSED((p.confirm_m = 1, p.confirm_n = PDM_ALERT_CONFIRM_MAX + 1));
    REFUSED(p.min_hold_ms = -1);
    REFUSED(p.renotify_ms = -1);
#undef REFUSED
    /* The boundaries themselves are fine. */
    p = good;
    p.confirm_m = p.confirm_n = PDM_ALERT_CONFIRM_MAX;
    p.warn_clear = p.warn;
    p.critical_clear = p.critical;
    p.min_hold_ms = p.renotify_ms = 0;
    assert_int_equal(pdm_alert_policy_check(&p, err, sizeof err), 0);
}

static void test_confirm_parse(void **state)
{
    (void)state;
    char err[PDM_ERRSTR_SIZE];
    int m = -1, n = -1;
    assert_int_equal(pdm_alert_confirm_parse("2/3", &m, &n, err, sizeof err), 0);
    assert_int_equal(m, 2);
    assert_int_equal(n, 3);
    assert_int_equal(pdm_alert_confirm_parse("1/1", &m, &n, err, sizeof err), 0);
    assert_int_equal(m * 100 + n, 101);
    assert_int_equal(pdm_alert_confirm_parse("32/32", &m, &n, err, sizeof err), 0);
    assert_int_equal(m * 100 + n, 3232);
    assert_int_equal(pdm_alert_confirm_parse("007/010", &m, &n, err, sizeof err), 0);
    assert_int_equal(m * 100 + n, 710);
    const char *bad[] = {"",      "2",    "2/",    "/3",   "0/3",         "4/3",  "2/33",
                         "2/3x",  " 2/3", "2/3 ",  "+2/3", "-1/3",        "2/-3", "2//3",
                         "2.0/3", "a/b",  "2 / 3", "1/0",  "99999/99999", "2/3/4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = n = -7;
        err[0] = '\0';
        assert_int_equal(pdm_alert_confirm_parse(bad[i], &m, &n, err, sizeof err), -1);
        assert_true(err[0] != '\0');
        assert_int_equal(m, -7); /* untouched on failure */
        assert_int_equal(n, -7);
    }
}

/* ---- opening --------------------------------------------------------------- */

static void test_open_after_m_of_n(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(2, 3, H(24), H(6));
    pdm_alert_state st;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    /* One WARN score and a second one three scores later: never 2 of the
     * last 3, so nothing opens. */
    assert_int_equal(feed(&st, &p, 0, R_WARN, 2, &inc), PDM_ALERT_NONE);
    assert_string_equal(inc.incident_id, "");
    assert_int_equal(feed(&st, &p, 1, R_OK, 2, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 2, R_BETWEEN, 2, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 3, R_WARN, 2, &inc), PDM_ALERT_NONE);
    assert_int_equal(st.level, PDM_LEVEL_OK);
    /* The next one makes 2 of the last 3 (h2 between, h3 and h4 WARN). */
    assert_int_equal(feed(&st, &p, 4, R_WARN + 0.01, 3, &inc), PDM_ALERT_OPENED);
    expect_id(&inc, T0 + H(4));
    assert_int_equal(inc.status, PDM_INCIDENT_FIRING);
    assert_int_equal(inc.level, PDM_LEVEL_WARN);
    assert_true(inc.peak_risk == R_WARN + 0.01);
    assert_int_equal(inc.component, 3);
    assert_int_equal(inc.resolution, PDM_RESOLUTION_NONE);
    assert_true(inc.at == T0 + H(4));

    /* Not consecutive: WARN, OK, WARN is 2 of 3 as well. */
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p, 0, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 1, R_OK, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 2, R_WARN, 1, &inc), PDM_ALERT_OPENED);

    /* m of n counts scores at or above warn: scores between the clear and
     * the enter threshold never open, however many. */
    pdm_alert_state_init(&st);
    for (int h = 0; h < 40; h++)
        assert_int_equal(feed(&st, &p, h, R_BETWEEN, 1, &inc), PDM_ALERT_NONE);
    /* Only a score at or above warn opens: after a policy change (a lower
     * --confirm on restart) the history may already hold m, yet an OK score
     * opens nothing; the next WARN one does. */
    pdm_alert_policy p3 = policy(3, 3, 0, 0);
    pdm_alert_state_init(&st);
    feed(&st, &p3, 0, R_WARN, 1, &inc);
    assert_int_equal(feed(&st, &p3, 1, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 2, R_OK, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 3, R_WARN, 1, &inc), PDM_ALERT_OPENED);
    /* 1/1 opens on the first WARN score; 3/3 needs three in a row. */
    pdm_alert_policy p11 = policy(1, 1, 0, 0), p33 = policy(3, 3, 0, 0);
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p11, 0, R_WARN, 1, &inc), PDM_ALERT_OPENED);
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p33, 0, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p33, 1, R_CRIT, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p33, 2, R_OK, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p33, 3, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p33, 4, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p33, 5, R_WARN, 1, &inc), PDM_ALERT_OPENED);
}

static void test_open_at_critical(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(2, 3, H(24), H(6));
    pdm_alert_state st;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    /* A lone CRITICAL score is not confirmed either. */
    assert_int_equal(feed(&st, &p, 0, R_CRIT, 4, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 1, R_CRIT + 0.1, 4, &inc), PDM_ALERT_OPENED);
    assert_int_equal(inc.level, PDM_LEVEL_CRITICAL); /* opens at its score's level */
    assert_true(inc.peak_risk == R_CRIT + 0.1);
}

/* ---- escalation, hold, hysteresis ------------------------------------------- */

static void test_escalation(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(3, 3, H(24), H(6));
    pdm_alert_state st;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    for (int h = 0; h < 2; h++)
        feed(&st, &p, h, R_WARN, 1, &inc);
    assert_int_equal(feed(&st, &p, 2, R_WARN, 1, &inc), PDM_ALERT_OPENED);
    /* One CRITICAL score escalates at once, although 3 of 3 would be needed
     * to open. */
    assert_int_equal(feed(&st, &p, 3, R_CRIT, 2, &inc), PDM_ALERT_ESCALATED);
    expect_id(&inc, T0 + H(2));
    assert_int_equal(inc.level, PDM_LEVEL_CRITICAL);
    assert_int_equal(inc.status, PDM_INCIDENT_FIRING);
    assert_true(inc.peak_risk == R_CRIT);
    assert_int_equal(inc.component, 2); /* the component of the peak */
    /* Escalation is not confirmed: one CRITICAL score after scores below
     * warn (2/3 would not open on it) escalates. */
    pdm_alert_policy p23 = policy(2, 3, H(24), H(6));
    pdm_alert_state st2;
    pdm_alert_state_init(&st2);
    feed(&st2, &p23, 0, R_WARN, 1, &inc);
    assert_int_equal(feed(&st2, &p23, 1, R_WARN, 1, &inc), PDM_ALERT_OPENED);
    assert_int_equal(feed(&st2, &p23, 2, R_BETWEEN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st2, &p23, 3, R_BETWEEN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st2, &p23, 4, R_CRIT, 1, &inc), PDM_ALERT_ESCALATED);
    /* Still CRITICAL: no second escalation. */
    assert_int_equal(feed(&st, &p, 4, R_CRIT, 3, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.component, 2); /* not a new peak */
    /* WARN by the enter thresholds, but not below critical_clear. */
    assert_int_equal(feed(&st, &p, 5, R_CRIT_MID, 3, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.level, PDM_LEVEL_CRITICAL);
}

static void test_deescalation_is_quiet(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(1, 1, H(24), 0);
    pdm_alert_state st;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p, 0, R_CRIT, 1, &inc), PDM_ALERT_OPENED);
    /* Between critical_clear and critical: stays CRITICAL. */
    assert_int_equal(feed(&st, &p, 1, R_CRIT_MID, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.level, PDM_LEVEL_CRITICAL);
    /* Below critical_clear: back to WARN, without a notification. */
    assert_int_equal(feed(&st, &p, 2, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.level, PDM_LEVEL_WARN);
    /* Between critical_clear and critical again: WARN stays WARN. */
    assert_int_equal(feed(&st, &p, 3, R_CRIT_MID, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.level, PDM_LEVEL_WARN);
    /* A CRITICAL score makes it CRITICAL again, same incident, without a
     * second escalation (the crew was told CRITICAL at h0; renotify is off
     * here; test_alerts_notify.c has the rest). */
    assert_int_equal(feed(&st, &p, 4, R_CRIT, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.level, PDM_LEVEL_CRITICAL);
    expect_id(&inc, T0);
}

static void test_hold(void **state)
{
    (void)state;
    int64_t hold = H(24);
    pdm_alert_policy p = policy(1, 1, hold, 0);
    pdm_alert_state st;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p, 0, R_WARN, 1, &inc), PDM_ALERT_OPENED);
    /* Cleared scores inside the hold keep it open. */
    for (int h = 1; h < 24; h++) {
        assert_int_equal(feed(&st, &p, h, R_OK, 1, &inc), PDM_ALERT_NONE);
        assert_int_equal(inc.status, PDM_INCIDENT_FIRING);
    }
    assert_int_equal(feed(&st, &p, 23.99, R_OK, 1, &inc), PDM_ALERT_NONE);
    /* At opened_at + hold exactly it may resolve. */
    assert_int_equal(feed(&st, &p, 24, R_OK, 1, &inc), PDM_ALERT_RESOLVED);
    expect_id(&inc, T0);
    assert_int_equal(inc.status, PDM_INCIDENT_RESOLVED);
    assert_int_equal(inc.resolution, PDM_RESOLUTION_CLEARED);
    assert_true(inc.at == T0 + hold);
    assert_true(inc.peak_risk == R_WARN);
    assert_int_equal(st.level, PDM_LEVEL_OK);
    /* Resolved: the next scores concern no incident. */
    assert_int_equal(feed(&st, &p, 25, R_OK, 1, &inc), PDM_ALERT_NONE);
    assert_string_equal(inc.incident_id, "");

    /* With hold 0 the first cleared score resolves. */
    p = policy(1, 1, 0, 0);
    pdm_alert_state_init(&st);
    feed(&st, &p, 0, R_WARN, 1, &inc);
    assert_int_equal(feed(&st, &p, 1, R_OK, 1, &inc), PDM_ALERT_RESOLVED);
}

static void test_hysteresis(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(1, 1, 0, 0);
    pdm_alert_state st;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p, 0, R_WARN, 1, &inc), PDM_ALERT_OPENED);
    /* Below warn (OK by the level) but not below warn_clear: still open. */
    for (int h = 1; h <= 10; h++)
        assert_int_equal(feed(&st, &p, h, R_BETWEEN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.status, PDM_INCIDENT_FIRING);
    /* warn_clear itself keeps it; just below resolves. */
    assert_int_equal(feed(&st, &p, 11, WARN_CLEAR, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 12, WARN_CLEAR - 1e-9, 1, &inc), PDM_ALERT_RESOLVED);
    assert_int_equal(inc.resolution, PDM_RESOLUTION_CLEARED);

    /* With 2/3 the clear side needs 2 of the last 3 at or above warn_clear
     * to stay open: one low score keeps it, two resolve. */
    p = policy(2, 3, 0, 0);
    pdm_alert_state_init(&st);
    feed(&st, &p, 0, R_WARN, 1, &inc);
    assert_int_equal(feed(&st, &p, 1, R_WARN, 1, &inc), PDM_ALERT_OPENED);
    assert_int_equal(feed(&st, &p, 2, R_OK, 1, &inc), PDM_ALERT_NONE); /* 2 of 3 above */
    assert_int_equal(feed(&st, &p, 3, R_BETWEEN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 4, R_OK, 1, &inc), PDM_ALERT_RESOLVED); /* 1 of 3 */
    /* The next incident needs its own 2 of 3. */
    assert_int_equal(feed(&st, &p, 5, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 6, R_WARN, 1, &inc), PDM_ALERT_OPENED);
    expect_id(&inc, T0 + H(6));
}

static void test_renotify(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(1, 1, H(24), H(6));
    pdm_alert_state st;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p, 0, R_CRIT, 1, &inc), PDM_ALERT_OPENED);
    for (int h = 1; h < 6; h++)
        assert_int_equal(feed(&st, &p, h, R_CRIT, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 6, R_CRIT, 1, &inc), PDM_ALERT_RENOTIFIED);
    expect_id(&inc, T0);
    assert_int_equal(inc.level, PDM_LEVEL_CRITICAL);
    assert_int_equal(feed(&st, &p, 11.9, R_CRIT, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 12, R_CRIT_MID, 1, &inc), PDM_ALERT_RENOTIFIED);
    /* Counted from the last notification: an escalation restarts it. */
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p, 0, R_WARN, 1, &inc), PDM_ALERT_OPENED);
    assert_int_equal(feed(&st, &p, 5, R_CRIT, 1, &inc), PDM_ALERT_ESCALATED);
    assert_int_equal(feed(&st, &p, 10, R_CRIT, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 11, R_CRIT, 1, &inc), PDM_ALERT_RENOTIFIED);
    /* A WARN incident is never renotified. */
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p, 0, R_WARN, 1, &inc), PDM_ALERT_OPENED);
    for (int h = 1; h <= 23; h++)
        assert_int_equal(feed(&st, &p, h, R_WARN, 1, &inc), PDM_ALERT_NONE);
    /* renotify 0: never. */
    p.renotify_ms = 0;
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p, 0, R_CRIT, 1, &inc), PDM_ALERT_OPENED);
    for (int h = 1; h <= 23; h++)
        assert_int_equal(feed(&st, &p, h, R_CRIT, 1, &inc), PDM_ALERT_NONE);
}

/* ---- the world ---------------------------------------------------------------- */

/* An open WARN incident on component 2, opened at T0 + 1 h. */
static void open_on_comp2(pdm_alert_state *st, const pdm_alert_policy *p)
{
    pdm_incident inc;
    pdm_alert_state_init(st);
    feed(st, p, 0, R_WARN, 2, &inc);
    assert_int_equal(feed(st, p, 1, R_WARN, 2, &inc), PDM_ALERT_OPENED);
}

static void test_world(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(2, 3, H(24), H(6));
    pdm_alert_state st;
    pdm_incident inc;
    pdm_event ev;

    /* Maintenance of the incident's component: repaired, at once (inside
     * the hold). */
    open_on_comp2(&st, &p);
    ev = world_event(PDM_EV_MAINTENANCE, 3, 2);
    assert_int_equal(pdm_alert_world(&st, &ev, &inc), PDM_ALERT_RESOLVED);
    expect_id(&inc, T0 + H(1));
    assert_int_equal(inc.status, PDM_INCIDENT_RESOLVED);
    assert_int_equal(inc.resolution, PDM_RESOLUTION_REPAIRED);
    assert_true(inc.at == ev.ts);
    assert_int_equal(inc.component, 2);
    assert_int_equal(st.level, PDM_LEVEL_OK);
    /* Repaired: a WARN score right after needs its own confirmation. */
    assert_int_equal(feed(&st, &p, 4, R_WARN, 2, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 5, R_WARN, 2, &inc), PDM_ALERT_OPENED);
    expect_id(&inc, T0 + H(5)); /* a new incident, a new id */

    /* Failure of the incident's component: failed. */
    open_on_comp2(&st, &p);
    ev = world_event(PDM_EV_FAILURE, 2, 2);
    assert_int_equal(pdm_alert_world(&st, &ev, &inc), PDM_ALERT_RESOLVED);
    assert_int_equal(inc.resolution, PDM_RESOLUTION_FAILED);
    assert_string_equal(pdm_alert_resolution_name(inc.resolution), "failed");

    /* Other components, other event types, and a record from before the
     * opening change nothing. */
    open_on_comp2(&st, &p);
    pdm_alert_state before = st;
    pdm_event ignored[] = {
        world_event(PDM_EV_MAINTENANCE, 2, 1), world_event(PDM_EV_MAINTENANCE, 2, 3),
        world_event(PDM_EV_FAILURE, 2, 4),     world_event(PDM_EV_ERROR, 2, 2),
        world_event(PDM_EV_TELEMETRY, 2, 2),   world_event(PDM_EV_MAINTENANCE, 0.5, 2),
        world_event(PDM_EV_FAILURE, 0.99, 2),
    };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        assert_int_equal(pdm_alert_world(&st, &ignored[i], &inc), PDM_ALERT_NONE);
        assert_memory_equal(&st, &before, sizeof st);
        expect_id(&inc, T0 + H(1)); /* still describes the open incident */
        assert_int_equal(inc.status, PDM_INCIDENT_FIRING);
    }
    /* At the opening's own ts, maintenance counts. */
    ev = world_event(PDM_EV_MAINTENANCE, 1, 2);
    assert_int_equal(pdm_alert_world(&st, &ev, &inc), PDM_ALERT_RESOLVED);

    /* No incident: nothing to resolve. */
    pdm_alert_state_init(&st);
    ev = world_event(PDM_EV_FAILURE, 1, 2);
    assert_int_equal(pdm_alert_world(&st, &ev, &inc), PDM_ALERT_NONE);
    assert_string_equal(inc.incident_id, "");
}

static void test_world_follows_peak_component(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(1, 1, H(24), H(6));
    pdm_alert_state st;
    pdm_incident inc;
    pdm_event ev;
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p, 0, R_WARN, 1, &inc), PDM_ALERT_OPENED);
    assert_int_equal(feed(&st, &p, 1, R_WARN + 0.1, 3, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.component, 3); /* the new peak names comp3 */
    assert_int_equal(feed(&st, &p, 2, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.component, 3); /* a lower score does not move it */
    ev = world_event(PDM_EV_MAINTENANCE, 3, 1);
    assert_int_equal(pdm_alert_world(&st, &ev, &inc), PDM_ALERT_NONE);
    ev = world_event(PDM_EV_MAINTENANCE, 3, 3);
    assert_int_equal(pdm_alert_world(&st, &ev, &inc), PDM_ALERT_RESOLVED);
    assert_int_equal(inc.resolution, PDM_RESOLUTION_REPAIRED);
}

static void test_silent(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(2, 3, H(24), H(6));
    pdm_alert_state st;
    pdm_incident inc;
    open_on_comp2(&st, &p);
    assert_int_equal(pdm_alert_silent(&st, MACHINE, T0 + H(5), &inc), PDM_ALERT_RESOLVED);
    expect_id(&inc, T0 + H(1));
    assert_int_equal(inc.resolution, PDM_RESOLUTION_SILENT);
    assert_int_equal(inc.status, PDM_INCIDENT_RESOLVED);
    assert_true(inc.at == T0 + H(5));
    assert_string_equal(pdm_alert_resolution_name(inc.resolution), "silent");
    /* Without an incident: nothing to emit, but the history is forgotten,
     * so a WARN score that would have made 2 of 3 does not open. */
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p, 0, R_WARN, 2, &inc), PDM_ALERT_NONE);
    assert_int_equal(pdm_alert_silent(&st, MACHINE, T0 + H(4), &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 9, R_WARN, 2, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 10, R_WARN, 2, &inc), PDM_ALERT_OPENED);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(pdm_alert_emit_name(PDM_ALERT_OPENED), "opened");
    assert_string_equal(pdm_alert_emit_name(PDM_ALERT_ESCALATED), "escalated");
    assert_string_equal(pdm_alert_emit_name(PDM_ALERT_RENOTIFIED), "renotified");
    assert_string_equal(pdm_alert_emit_name(PDM_ALERT_RESOLVED), "resolved");
    assert_string_equal(pdm_alert_resolution_name(PDM_RESOLUTION_CLEARED), "cleared");
    assert_string_equal(pdm_alert_resolution_name(PDM_RESOLUTION_REPAIRED), "repaired");
    assert_string_equal(pdm_incident_status_name(PDM_INCIDENT_FIRING), "firing");
    assert_string_equal(pdm_incident_status_name(PDM_INCIDENT_RESOLVED), "resolved");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_confirm_parse),
        cmocka_unit_test(test_open_after_m_of_n),
        cmocka_unit_test(test_open_at_critical),
        cmocka_unit_test(test_escalation),
        cmocka_unit_test(test_deescalation_is_quiet),
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_renotify),
        cmocka_unit_test(test_world),
        cmocka_unit_test(test_world_follows_peak_component),
        cmocka_unit_test(test_silent),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
