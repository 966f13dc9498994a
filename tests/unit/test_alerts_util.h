/* test_alerts_util.h: the test policy, its thresholds and the helpers the
 * alert state machine's tests share (test_alerts.c, test_alerts_text.c,
 * test_alerts_replay.c). Include it first. */
#ifndef TEST_ALERTS_UTIL_H
#define TEST_ALERTS_UTIL_H

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

static inline pdm_alert_policy policy(int m, int n, int64_t hold_ms, int64_t renotify_ms)
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
static inline pdm_alert_emit feed(pdm_alert_state *st, const pdm_alert_policy *p, double hours,
                                  double risk, int component, pdm_incident *inc)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_alert_score row = {T0 + (int64_t)(hours * PDM_MS_PER_HOUR), risk, component};
    assert_int_equal(pdm_alert_step(st, p, MACHINE, &row, inc, err, sizeof err), 0);
    return inc->emit;
}

static inline pdm_event world_event(pdm_event_type type, double hours, int component)
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

static inline void expect_id(const pdm_incident *inc, int64_t opened_at)
{
    char want[PDM_ALERT_ID_SIZE];
    snprintf(want, sizeof want, "%d-%lld", MACHINE, (long long)opened_at);
    assert_string_equal(inc->incident_id, want);
    assert_true(inc->opened_at == opened_at);
}

#endif
