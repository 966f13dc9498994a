/* test_alerts.c: the alert state machine (alerts/, pdm_alerts.h): the policy
 * and its --confirm parser, every transition (open after M of N and not
 * before, escalation, hold, hysteresis, quiet de-escalation, renotify,
 * repaired / failed by the incident's component, other components ignored,
 * silence), stable ids (also across an encode/decode in the middle of an
 * incident), the state's text form and its refusal of garbage, and the
 * replay's incident and lead-time counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pdm_alerts.h"

#define H(h) ((int64_t)(h)*PDM_MS_PER_HOUR)
#define T0 INT64_C(1420070400000) /* 2015-01-01 00:00:00 UTC */
#define MACHINE 7

/* Thresholds of the test policy, and one risk in each band they make. */
#define WARN 0.4
#define CRIT 0.7
#define WARN_CLEAR 0.2
#define CRIT_CLEAR 0.5
#define R_OK 0.1       /* below warn_clear */
#define R_BETWEEN 0.3  /* warn_clear <= r < warn: keeps an incident, opens none */
#define R_WARN 0.45    /* WARN */
#define R_CRIT_MID 0.6 /* critical_clear <= r < critical: WARN, keeps CRITICAL */
#define R_CRIT 0.8     /* CRITICAL */

static pdm_alert_policy policy(int m, int n, int64_t hold_ms, int64_t renotify_ms)
{
    pdm_alert_policy p;
    pdm_alert_policy_init(&p, WARN, CRIT);
    p.warn_clear = WARN_CLEAR;
    p.critical_clear = CRIT_CLEAR;
    p.confirm_m = m;
    p.confirm_n = n;
    p.min_hold_ms = hold_ms;
    p.renotify_ms = renotify_ms;
    assert_int_equal(pdm_alert_policy_check(&p, NULL, 0), 0);
    return p;
}

/* Applies one score at T0 + hours; returns the decision. */
static pdm_alert_emit feed(pdm_alert_state *st, const pdm_alert_policy *p, double hours,
                           double risk, int component, pdm_incident *inc)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_alert_score row = {T0 + (int64_t)(hours * PDM_MS_PER_HOUR), risk, component};
    assert_int_equal(pdm_alert_step(st, p, MACHINE, &row, inc, err, sizeof err), 0);
    return inc->emit;
}

static pdm_event world_event(pdm_event_type type, double hours, int component)
{
    pdm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.machine_id = MACHINE;
    ev.ts = T0 + (int64_t)(hours * PDM_MS_PER_HOUR);
    if (type == PDM_EV_FAILURE)
        ev.u.failure.component = component;
    else
        ev.u.maintenance.component = component;
    return ev;
}

static void expect_id(const pdm_incident *inc, int64_t opened_at)
{
    char want[PDM_ALERT_ID_SIZE];
    snprintf(want, sizeof want, "%d-%lld", MACHINE, (long long)opened_at);
    assert_string_equal(inc->incident_id, want);
    assert_true(inc->opened_at == opened_at);
}

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

/* ---- the clock, invalid rows, ids --------------------------------------------------- */

static void test_clock(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(2, 3, H(24), H(6));
    pdm_alert_state st, before;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    feed(&st, &p, 5, R_WARN, 1, &inc);
    before = st;
    /* The same row again, and an older one, change nothing: without the
     * rule the repeated WARN would make "2 of 3" and open. */
    assert_int_equal(feed(&st, &p, 5, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 4, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_memory_equal(&st, &before, sizeof st);
    assert_int_equal(feed(&st, &p, 6, R_WARN, 1, &inc), PDM_ALERT_OPENED);
}

static void test_invalid_rows(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(1, 1, 0, 0);
    pdm_alert_state st, before;
    pdm_incident inc;
    char err[PDM_ERRSTR_SIZE];
    pdm_alert_state_init(&st);
    feed(&st, &p, 0, R_WARN, 1, &inc);
    before = st;
    pdm_alert_score bad[] = {
        {T0 + H(1), NAN, 1},  {T0 + H(1), 1.5, 1},   {T0 + H(1), -0.1, 1},
        {T0 + H(1), R_OK, 5}, {T0 + H(1), R_OK, -1}, {INT64_MIN, R_OK, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(pdm_alert_step(&st, &p, MACHINE, &bad[i], &inc, err, sizeof err), -1);
        assert_true(err[0] != '\0');
        assert_memory_equal(&st, &before, sizeof st);
    }
}

/* A scripted history touching every transition; decisions into emits[] and
 * ids[]. With split_at >= 0 the state goes through its text form before
 * row split_at, as a restart reading it from Redis would. */
#define SCRIPT_LEN 40
static void run_script(int split_at, pdm_alert_emit *emits, char ids[][PDM_ALERT_ID_SIZE])
{
    pdm_alert_policy p = policy(2, 3, H(6), H(4));
    pdm_alert_state st;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    for (int i = 0; i < SCRIPT_LEN; i++) {
        if (i == split_at) {
            char text[PDM_ALERT_TEXT_MAX], err[PDM_ERRSTR_SIZE];
            int n = pdm_alert_state_encode(&st, text, sizeof text);
            assert_true(n > 0);
            memset(&st, 0xa5, sizeof st); /* nothing survives but the text */
            assert_int_equal(pdm_alert_state_decode(text, (size_t)n, &st, err, sizeof err), 0);
        }
        /* Risk rises over rows 2..14, falls, repair at row 20, rises again. */
        double risk = i < 2    ? R_OK
                      : i < 8  ? R_WARN
                      : i < 15 ? R_CRIT
                      : i < 20 ? R_BETWEEN
                      : i < 30 ? R_WARN
                               : R_OK;
        int comp = 1 + i % 2;
        if (i == 20) {
            pdm_event ev = world_event(PDM_EV_MAINTENANCE, i - 0.5, st.component);
            pdm_alert_world(&st, &ev, &inc);
            assert_int_equal(inc.emit, PDM_ALERT_RESOLVED);
        }
        emits[i] = feed(&st, &p, i, risk, comp, &inc);
        strcpy(ids[i], inc.incident_id);
    }
}

static void test_ids_stable(void **state)
{
    (void)state;
    pdm_alert_emit a[SCRIPT_LEN], b[SCRIPT_LEN];
    char ida[SCRIPT_LEN][PDM_ALERT_ID_SIZE], idb[SCRIPT_LEN][PDM_ALERT_ID_SIZE];
    run_script(-1, a, ida);
    /* The script does open, escalate, renotify and resolve. */
    int seen[5] = {0};
    for (int i = 0; i < SCRIPT_LEN; i++)
        seen[a[i]]++;
    assert_int_equal(seen[PDM_ALERT_OPENED], 2);
    assert_true(seen[PDM_ALERT_ESCALATED] >= 1 && seen[PDM_ALERT_RENOTIFIED] >= 1);
    assert_int_equal(seen[PDM_ALERT_RESOLVED], 1); /* the second, cleared; the first repaired */
    /* Every decision of one incident carries the id of its opening row. */
    char open_id[PDM_ALERT_ID_SIZE] = "";
    for (int i = 0; i < SCRIPT_LEN; i++) {
        if (a[i] == PDM_ALERT_OPENED) {
            snprintf(open_id, sizeof open_id, "%d-%lld", MACHINE, (long long)(T0 + H(i)));
            assert_string_equal(ida[i], open_id);
        } else if (a[i] != PDM_ALERT_NONE) {
            assert_string_equal(ida[i], open_id);
        }
    }
    /* The same rows again, and with a restart through the text form before
     * every row: the same decisions and the same ids. */
    for (int split = -1; split < SCRIPT_LEN; split++) {
        run_script(split, b, idb);
        for (int i = 0; i < SCRIPT_LEN; i++) {
            assert_int_equal(a[i], b[i]);
            assert_string_equal(ida[i], idb[i]);
        }
    }
    char id[PDM_ALERT_ID_SIZE];
    pdm_alert_incident_id(INT32_MAX, INT64_MIN + 1, id);
    assert_string_equal(id, "2147483647--9223372036854775807"); /* the longest fits */
}

/* ---- text form ---------------------------------------------------------------- */

static void assert_state_equal(const pdm_alert_state *a, const pdm_alert_state *b)
{
    assert_int_equal(a->above_enter, b->above_enter);
    assert_int_equal(a->above_clear, b->above_clear);
    assert_true(a->last_ts == b->last_ts);
    assert_int_equal(a->level, b->level);
    assert_int_equal(a->component, b->component);
    assert_true(a->opened_at == b->opened_at);
    assert_true(a->notified_at == b->notified_at);
    assert_int_equal(a->notified_level, b->notified_level);
    assert_memory_equal(&a->peak_risk, &b->peak_risk, sizeof a->peak_risk); /* bit for bit */
}

static void test_text_round_trip(void **state)
{
    (void)state;
    char text[PDM_ALERT_TEXT_MAX], err[PDM_ERRSTR_SIZE];
    pdm_alert_state a, b;
    pdm_alert_state_init(&a);
    int len = pdm_alert_state_encode(&a, text, sizeof text);
    assert_string_equal(text, "a2 0 0 - 0 0 - - 0 0");
    assert_int_equal(len, (int)strlen(text));

    pdm_alert_state cases[4];
    pdm_alert_state_init(&cases[0]);
    cases[0].above_enter = 0x5;
    cases[0].above_clear = 0x7;
    cases[0].last_ts = T0;
    /* Open, every field at an extreme. */
    cases[1] = (pdm_alert_state){UINT32_MAX,    UINT32_MAX, INT64_MAX, PDM_LEVEL_CRITICAL, 4,
                                 INT64_MIN + 1, INT64_MAX,  1.0,       PDM_LEVEL_CRITICAL};
    cases[2] =
        (pdm_alert_state){0x80000000u, 1,     -H(5),     PDM_LEVEL_WARN,    0,
                          -H(10),      -H(7), 0.1 + 0.2, PDM_LEVEL_CRITICAL}; /* before 1970, a
                                                 peak with 17 digits, dropped from CRITICAL */
    cases[3] = (pdm_alert_state){0, 0, T0 + 1, PDM_LEVEL_WARN, 1, T0, T0, 4.9e-324, PDM_LEVEL_WARN};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = pdm_alert_state_encode(&cases[i], text, sizeof text);
        assert_true(n > 0 && n < PDM_ALERT_TEXT_MAX);
        memset(&b, 0, sizeof b);
        assert_int_equal(pdm_alert_state_decode(text, (size_t)n, &b, err, sizeof err), 0);
        assert_state_equal(&cases[i], &b);
        /* And a buffer one byte short is refused, not cut. */
        assert_int_equal(pdm_alert_state_encode(&cases[i], text, (size_t)n), -1);
    }
}

static void test_text_refuses_garbage(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "a1",
        "a3 0 0 - 0 0 - - 0 0", /* another version */
        "a2 0 0 - 0 0 - - 0",   /* a2 without its notified level */
        "a2 0 0 - 0 0 - - 0 0 0",
        "a2 0 0 - 0 0 - - 0 3",   /* notified level out of range */
        "a2 0 0 - 0 0 - - 0 -",   /* notified level has no "none" */
        "a2 0 0 5 0 0 - - 0 1",   /* notified level without incident */
        "a2 0 0 5 2 2 4 5 0.5 1", /* CRITICAL but told only WARN */
        "a2 0 0 5 1 2 4 5 0.5 0", /* open but told nothing */
        "A1 0 0 - 0 0 - - 0",
        "a1 0 0 - 0 0 - -",     /* a field missing */
        "a1 0 0 - 0 0 - - 0 0", /* one too many */
        "a1 0 0 - 0 0 - - 0 ",  /* trailing space */
        " a1 0 0 - 0 0 - - 0",
        "a1 0  0 - 0 0 - - 0", /* empty field */
        "a1 0 0 - 0 0 - - 0\n",
        "a1 G 0 - 0 0 - - 0", /* not hex */
        "a1 A 0 - 0 0 - - 0", /* uppercase */
        "a1 0x1 0 - 0 0 - - 0",
        "a1 100000000 0 - 0 0 - - 0", /* more than 32 bits */
        "a1 0 0 x 0 0 - - 0",
        "a1 0 0 1e3 0 0 - - 0",
        "a1 0 0 99999999999999999999 0 0 - - 0", /* overflow */
        "a1 0 0 -9223372036854775808 0 0 - - 0", /* INT64_MIN is spelled "-" */
        "a1 0 0 +5 0 0 - - 0",
        "a1 0 0 - - 0 - - 0", /* level has no "none" */
        "a1 0 0 - 3 0 - - 0", /* level out of range */
        "a1 0 0 - -1 0 - - 0",
        "a1 0 0 - 0 5 - - 0", /* component out of range */
        "a1 0 0 - 0 0 - - nan",
        "a1 0 0 - 0 0 - - inf",
        "a1 0 0 - 0 0 - - 0x1p-3",
        "a1 0 0 - 0 0 - - 1e999",
        "a1 0 0 - 0 0 - - .",
        "a1 0 0 5 1 2 - - 0.5", /* open without opening time */
        "a1 0 0 5 0 2 - - 0",   /* component without incident */
        "a1 0 0 5 0 0 3 3 0",   /* times without incident */
        "a1 0 0 5 0 0 - - 0.5", /* peak without incident */
        "a1 0 0 5 1 2 4 3 0.5", /* notified before opened */
        "a1 0 0 5 1 2 4 6 0.5", /* notified after the last score */
        "a1 0 0 5 1 2 4 5 1.5", /* peak above 1 */
        "a1 0 0 5 1 2 4 5 -0.5",
    };
    char err[PDM_ERRSTR_SIZE];
    pdm_alert_state st, sentinel;
    memset(&sentinel, 0x5a, sizeof sentinel);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st = sentinel;
        err[0] = '\0';
        if (pdm_alert_state_decode(bad[i], strlen(bad[i]), &st, err, sizeof err) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(err[0] != '\0');
        assert_memory_equal(&st, &sentinel, sizeof st); /* untouched */
    }
    /* A valid text with a NUL inside its length, and too long a text. */
    static const char with_nul[] = "a1 0 0 - 0 0 - - 0\0";
    assert_int_equal(pdm_alert_state_decode(with_nul, sizeof with_nul - 1, &st, err, sizeof err),
                     -1);
    char longer[PDM_ALERT_TEXT_MAX + 8];
    memset(longer, '0', sizeof longer);
    memcpy(longer, "a2 0 0 - 0 0 - - 0 ", 19);
    assert_int_equal(pdm_alert_state_decode(longer, sizeof longer, &st, err, sizeof err), -1);
    /* The valid controls decode, so the refusals above are the edits'; an
     * a1 text (an older scorer's) takes its level as the level notified. */
    const char *good = "a1 0 0 5 1 2 4 5 0.5";
    assert_int_equal(pdm_alert_state_decode(good, strlen(good), &st, err, sizeof err), 0);
    assert_int_equal(st.level, PDM_LEVEL_WARN);
    assert_int_equal(st.notified_level, PDM_LEVEL_WARN);
    good = "a1 0 0 5 2 2 4 5 0.5";
    assert_int_equal(pdm_alert_state_decode(good, strlen(good), &st, err, sizeof err), 0);
    assert_int_equal(st.notified_level, PDM_LEVEL_CRITICAL);
    good = "a2 0 0 5 1 2 4 5 0.5 2";
    assert_int_equal(pdm_alert_state_decode(good, strlen(good), &st, err, sizeof err), 0);
    assert_int_equal(st.level, PDM_LEVEL_WARN);
    assert_int_equal(st.notified_level, PDM_LEVEL_CRITICAL);
    /* Every cut of a valid text before its last field is refused. */
    char text[PDM_ALERT_TEXT_MAX];
    int n = pdm_alert_state_encode(&(pdm_alert_state){7, 7, T0 + 9, PDM_LEVEL_CRITICAL, 3, T0,
                                                      T0 + 2, 0.75, PDM_LEVEL_CRITICAL},
                                   text, sizeof text);
    const char *last_space = strrchr(text, ' ');
    for (int len = 0; len <= (int)(last_space - text); len++)
        assert_int_equal(pdm_alert_state_decode(text, (size_t)len, &st, err, sizeof err), -1);
    assert_int_equal(pdm_alert_state_decode(text, (size_t)n, &st, err, sizeof err), 0);
}

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
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_invalid_rows),
        cmocka_unit_test(test_ids_stable),
        cmocka_unit_test(test_text_round_trip),
        cmocka_unit_test(test_text_refuses_garbage),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_replay_edges),
        cmocka_unit_test(test_replay_refuses),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
