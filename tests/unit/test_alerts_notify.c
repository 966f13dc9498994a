/* test_alerts_notify.c: how often one incident notifies (alerts/,
 * pdm_alerts.h): a CRITICAL incident that fell back to WARN quietly and
 * returns to CRITICAL is not escalated a second time (renotified when the
 * renotify interval has passed since the last notification, else silent),
 * what the state keeps of it across its text form (a2, and a1 from an older
 * scorer), and the one rule by which a maintenance record is a failure's
 * repair (pdm_alert_repair_of), as the replay applies it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pdm_alerts.h"

#define H(h) ((int64_t)(h)*PDM_MS_PER_HOUR)
#define T0 INT64_C(1420070400000) /* 2015-01-01 00:00:00 UTC */
#define MACHINE 7

#define WARN 0.4
#define CRIT 0.7
#define R_WARN 0.45 /* WARN, below critical_clear: a CRITICAL incident drops */
#define R_CRIT 0.8

static pdm_alert_policy policy(int64_t renotify_ms)
{
    pdm_alert_policy p;
    pdm_alert_policy_init(&p, WARN, CRIT);
    p.warn_clear = 0.2;
    p.critical_clear = 0.5;
    p.confirm_m = 1;
    p.confirm_n = 1;
    p.min_hold_ms = H(24);
    p.renotify_ms = renotify_ms;
    assert_int_equal(pdm_alert_policy_check(&p, NULL, 0), 0);
    return p;
}

static pdm_alert_emit feed(pdm_alert_state *st, const pdm_alert_policy *p, int hours, double risk,
                           pdm_incident *inc)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_alert_score row = {T0 + H(hours), risk, 1};
    assert_int_equal(pdm_alert_step(st, p, MACHINE, &row, inc, err, sizeof err), 0);
    return inc->emit;
}

/* Opened CRITICAL at h0, dropped quietly at h1. */
static void opened_critical_then_dropped(pdm_alert_state *st, const pdm_alert_policy *p)
{
    pdm_incident inc;
    pdm_alert_state_init(st);
    assert_int_equal(feed(st, p, 0, R_CRIT, &inc), PDM_ALERT_OPENED);
    assert_int_equal(st->notified_level, PDM_LEVEL_CRITICAL);
    assert_int_equal(feed(st, p, 1, R_WARN, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.level, PDM_LEVEL_WARN);
    assert_int_equal(st->notified_level, PDM_LEVEL_CRITICAL); /* a drop is not told */
}

static void test_return_to_critical_within_interval_is_silent(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(H(6));
    pdm_alert_state st;
    pdm_incident inc;
    opened_critical_then_dropped(&st, &p);
    /* Back to CRITICAL at h2, 2 h after the opening page: no news. */
    assert_int_equal(feed(&st, &p, 2, R_CRIT, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.level, PDM_LEVEL_CRITICAL);
    assert_int_equal(inc.status, PDM_INCIDENT_FIRING);
    assert_true(st.notified_at == T0); /* the clock still counts from the opening */
    /* It stays CRITICAL: the renotify interval runs from the opening. */
    assert_int_equal(feed(&st, &p, 5, R_CRIT, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 6, R_CRIT, &inc), PDM_ALERT_RENOTIFIED);
    /* Down and up again at once: silent again. */
    assert_int_equal(feed(&st, &p, 7, R_WARN, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 8, R_CRIT, &inc), PDM_ALERT_NONE);
    assert_int_equal(inc.level, PDM_LEVEL_CRITICAL);
}

static void test_return_to_critical_after_interval_renotifies(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(H(6));
    pdm_alert_state st;
    pdm_incident inc;
    opened_critical_then_dropped(&st, &p);
    /* WARN scores keep it WARN and send nothing (WARN is not repeated). */
    for (int h = 2; h < 9; h++)
        assert_int_equal(feed(&st, &p, h, R_WARN, &inc), PDM_ALERT_NONE);
    /* CRITICAL again 9 h after the last page: one renotification, not an
     * escalation, and the interval restarts from it. */
    assert_int_equal(feed(&st, &p, 9, R_CRIT, &inc), PDM_ALERT_RENOTIFIED);
    assert_int_equal(inc.level, PDM_LEVEL_CRITICAL);
    assert_true(st.notified_at == T0 + H(9));
    assert_int_equal(feed(&st, &p, 14, R_CRIT, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 15, R_CRIT, &inc), PDM_ALERT_RENOTIFIED);
    /* Exactly the interval counts as passed. */
    opened_critical_then_dropped(&st, &p);
    assert_int_equal(feed(&st, &p, 6, R_CRIT, &inc), PDM_ALERT_RENOTIFIED);
}

static void test_escalated_once_per_incident(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(H(6));
    pdm_alert_state st;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    assert_int_equal(feed(&st, &p, 0, R_WARN, &inc), PDM_ALERT_OPENED);
    assert_int_equal(st.notified_level, PDM_LEVEL_WARN);
    /* The first CRITICAL score of a WARN incident escalates at once. */
    assert_int_equal(feed(&st, &p, 1, R_CRIT, &inc), PDM_ALERT_ESCALATED);
    assert_int_equal(st.notified_level, PDM_LEVEL_CRITICAL);
    assert_int_equal(feed(&st, &p, 2, R_WARN, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 3, R_CRIT, &inc), PDM_ALERT_NONE); /* not again */
    /* A new incident is escalated anew: the notified level is the
     * incident's, forgotten with it. */
    pdm_event repair;
    memset(&repair, 0, sizeof repair);
    repair.type = PDM_EV_MAINTENANCE;
    repair.machine_id = MACHINE;
    repair.ts = T0 + H(4);
    repair.u.maintenance.component = 1;
    assert_int_equal(pdm_alert_world(&st, &repair, &inc), PDM_ALERT_RESOLVED);
    assert_int_equal(st.notified_level, PDM_LEVEL_OK);
    assert_int_equal(feed(&st, &p, 5, R_WARN, &inc), PDM_ALERT_OPENED);
    assert_int_equal(feed(&st, &p, 6, R_CRIT, &inc), PDM_ALERT_ESCALATED);
}

static void test_renotify_off_never_repeats(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(0);
    pdm_alert_state st;
    pdm_incident inc;
    opened_critical_then_dropped(&st, &p);
    for (int h = 2; h < 200; h += 2) {
        assert_int_equal(feed(&st, &p, h, R_CRIT, &inc), PDM_ALERT_NONE);
        assert_int_equal(feed(&st, &p, h + 1, R_WARN, &inc), PDM_ALERT_NONE);
    }
}

/* The notified level survives the text form mid-incident (a restart
 * between the drop and the return); an a1 text, written before the field
 * existed, takes the incident's level: a WARN one escalates once more. */
static void test_notified_level_in_text(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(H(6));
    pdm_alert_state st, back;
    pdm_incident inc;
    char text[PDM_ALERT_TEXT_MAX], err[PDM_ERRSTR_SIZE];
    opened_critical_then_dropped(&st, &p);
    int n = pdm_alert_state_encode(&st, text, sizeof text);
    assert_true(n > 0);
    assert_string_equal(text + n - 2, " 2"); /* the last field */
    assert_int_equal(pdm_alert_state_decode(text, (size_t)n, &back, err, sizeof err), 0);
    assert_int_equal(back.level, PDM_LEVEL_WARN);
    assert_int_equal(feed(&back, &p, 2, R_CRIT, &inc), PDM_ALERT_NONE);

    /* The same state as an a1 text: no notified level, taken as WARN. */
    char v1[PDM_ALERT_TEXT_MAX];
    snprintf(v1, sizeof v1, "a1%.*s", n - 2 - 2, text + 2);
    assert_int_equal(pdm_alert_state_decode(v1, strlen(v1), &back, err, sizeof err), 0);
    assert_int_equal(back.notified_level, PDM_LEVEL_WARN);
    assert_int_equal(feed(&back, &p, 2, R_CRIT, &inc), PDM_ALERT_ESCALATED);
}

/* ---- a maintenance record that is a failure's repair -------------------------- */

static pdm_event record(pdm_event_type type, int32_t machine, int hours, int component)
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

static void test_repair_of(void **state)
{
    (void)state;
    pdm_event maint = record(PDM_EV_MAINTENANCE, MACHINE, 5, 2);
    pdm_event fail = record(PDM_EV_FAILURE, MACHINE, 5, 2);
    assert_int_equal(pdm_alert_repair_of(&maint, &fail), 1);
    pdm_event not_it[] = {
        record(PDM_EV_FAILURE, MACHINE, 5, 3),     /* another component */
        record(PDM_EV_FAILURE, MACHINE, 6, 2),     /* another time */
        record(PDM_EV_FAILURE, MACHINE + 1, 5, 2), /* another machine */
        record(PDM_EV_MAINTENANCE, MACHINE, 5, 2), /* not a failure */
        record(PDM_EV_ERROR, MACHINE, 5, 2),
    };
    for (size_t i = 0; i < sizeof not_it / sizeof not_it[0]; i++)
        assert_int_equal(pdm_alert_repair_of(&maint, &not_it[i]), 0);
    assert_int_equal(pdm_alert_repair_of(&fail, &maint), 0); /* the first must be maintenance */
}

/* The replay takes a repair followed by its failure as the failure: the
 * incident resolves failed, as the scorer resolves it. */
static void test_replay_repair_then_failure(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(H(24));
    pdm_alert_score rows[12];
    for (int h = 0; h < 12; h++)
        rows[h] = (pdm_alert_score){T0 + H(h), h >= 2 && h < 8 ? R_WARN : 0.0, 2};
    pdm_alert_replay_stats s;
    int64_t lead[2];
    char err[PDM_ERRSTR_SIZE];
    /* Stream order: the maintenance first, the failure after it at h8. */
    pdm_event pair[] = {record(PDM_EV_MAINTENANCE, MACHINE, 8, 2),
                        record(PDM_EV_FAILURE, MACHINE, 8, 2)};
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, 12, pair, 2, H(24), 0, &s, lead, err, sizeof err), 0);
    assert_int_equal(s.incidents, 1);
    assert_int_equal(s.resolved[PDM_RESOLUTION_FAILED], 1);
    assert_int_equal(s.resolved[PDM_RESOLUTION_REPAIRED], 0);
    assert_int_equal(s.caught, 1);
    assert_true(lead[0] == H(8) - H(2));
    /* The failure of another component at that time: the maintenance is a
     * repair of the incident's component, nothing else. */
    pair[1].u.failure.component = 3;
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, 12, pair, 2, H(24), 0, &s, lead, err, sizeof err), 0);
    assert_int_equal(s.resolved[PDM_RESOLUTION_REPAIRED], 1);
    assert_int_equal(s.resolved[PDM_RESOLUTION_FAILED], 0);
    /* A failure an hour later is not that maintenance's failure. */
    pair[1] = record(PDM_EV_FAILURE, MACHINE, 9, 2);
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, 12, pair, 2, H(24), 0, &s, lead, err, sizeof err), 0);
    assert_int_equal(s.resolved[PDM_RESOLUTION_REPAIRED], 1);
    assert_int_equal(s.resolved[PDM_RESOLUTION_FAILED], 0);
}

/* The replay counts what the steps send: opened CRITICAL, a quiet drop and
 * a return within the interval is one notification, not two. */
static void test_replay_counts_no_second_escalation(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(H(24));
    pdm_alert_score rows[10];
    const double risk[10] = {R_CRIT, R_WARN, R_CRIT, R_WARN, R_WARN, R_CRIT, 0, 0, 0, 0};
    for (int h = 0; h < 10; h++)
        rows[h] = (pdm_alert_score){T0 + H(h), risk[h], 1};
    pdm_alert_replay_stats s;
    char err[PDM_ERRSTR_SIZE];
    assert_int_equal(
        pdm_alert_replay(&p, MACHINE, rows, 10, NULL, 0, H(24), 0, &s, NULL, err, sizeof err), 0);
    assert_int_equal(s.incidents, 1);
    assert_int_equal(s.escalated, 0);
    assert_int_equal(s.renotified, 0);
    assert_int_equal(s.notifications, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_return_to_critical_within_interval_is_silent),
        cmocka_unit_test(test_return_to_critical_after_interval_renotifies),
        cmocka_unit_test(test_escalated_once_per_incident),
        cmocka_unit_test(test_renotify_off_never_repeats),
        cmocka_unit_test(test_notified_level_in_text),
        cmocka_unit_test(test_repair_of),
        cmocka_unit_test(test_replay_repair_then_failure),
        cmocka_unit_test(test_replay_counts_no_second_escalation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
