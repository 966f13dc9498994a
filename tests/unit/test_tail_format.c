/* test_tail_format.c: pdm-tail --format text: which notification each
 * incident RiskEvent is (by what was seen of the incident), the resolved
 * line with duration, resolution and lead time, lines without incident and
 * of silences, and the table of open incidents across growth and
 * removals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tail_format.h"

#define H(h) ((int64_t)(h)*PDM_MS_PER_HOUR)
#define T0 INT64_C(1420070400000) /* 2015-01-01 00:00:00 UTC */

static pdm_risk risk(int32_t machine, int64_t opened_at, pdm_level level, double r)
{
    pdm_risk k;
    memset(&k, 0, sizeof k);
    pdm_risk_no_incident(&k);
    k.level = level;
    k.risk = r;
    k.component_prob[2] = r;
    if (opened_at != INT64_MIN) {
        snprintf(k.incident_id, sizeof k.incident_id, "%d-%lld", (int)machine,
                 (long long)opened_at);
        k.opened_at = opened_at;
        k.component = 3;
        k.peak_risk = r;
    }
    return k;
}

static const char *kind(tail_incidents *t, int32_t m, int64_t ts, pdm_risk k)
{
    return tail_incident_kind(t, m, ts, &k);
}

static void test_kinds(void **state)
{
    (void)state;
    tail_incidents *t = tail_incidents_new();
    assert_non_null(t);
    assert_null(kind(t, 1, T0, risk(1, INT64_MIN, PDM_LEVEL_WARN, 0.4)));
    assert_string_equal(kind(t, 1, T0, risk(1, T0, PDM_LEVEL_WARN, 0.4)), "OPENED");
    assert_string_equal(kind(t, 1, T0 + H(1), risk(1, T0, PDM_LEVEL_CRITICAL, 0.7)), "ESCALATED");
    assert_string_equal(kind(t, 1, T0 + H(7), risk(1, T0, PDM_LEVEL_CRITICAL, 0.7)), "RENOTIFIED");
    /* A renotification from a row below critical (above critical_clear). */
    assert_string_equal(kind(t, 1, T0 + H(13), risk(1, T0, PDM_LEVEL_WARN, 0.5)), "RENOTIFIED");
    pdm_risk done = risk(1, T0, PDM_LEVEL_OK, 0);
    done.status = PDM_INCIDENT_RESOLVED;
    done.resolution = PDM_RESOLUTION_FAILED;
    assert_string_equal(kind(t, 1, T0 + H(27), done), "RESOLVED");
    /* What the scorer sends for an incident opened CRITICAL that dropped
     * quietly and came back: a renotification, printed as one (an incident
     * escalates once; see pdm_alerts.h). */
    assert_string_equal(kind(t, 3, T0, risk(3, T0, PDM_LEVEL_CRITICAL, 0.9)), "OPENED");
    assert_string_equal(kind(t, 3, T0 + H(24), risk(3, T0, PDM_LEVEL_CRITICAL, 0.9)), "RENOTIFIED");
    /* Seen first mid-incident (pdm-tail started later): FIRING, then known. */
    assert_string_equal(kind(t, 2, T0 + H(5), risk(2, T0, PDM_LEVEL_CRITICAL, 0.8)), "FIRING");
    assert_string_equal(kind(t, 2, T0 + H(11), risk(2, T0, PDM_LEVEL_CRITICAL, 0.8)), "RENOTIFIED");
    /* A new incident of a machine whose last one's resolution was missed. */
    assert_string_equal(kind(t, 2, T0 + H(30), risk(2, T0 + H(30), PDM_LEVEL_WARN, 0.4)), "OPENED");
    assert_string_equal(kind(t, 2, T0 + H(31), risk(2, T0 + H(30), PDM_LEVEL_CRITICAL, 0.8)),
                        "ESCALATED");
    /* Many machines at once: the table grows, forgets and keeps the rest. */
    for (int32_t m = 100; m < 400; m++)
        assert_string_equal(kind(t, m, T0, risk(m, T0, PDM_LEVEL_WARN, 0.4)), "OPENED");
    pdm_risk gone = risk(0, T0, PDM_LEVEL_OK, 0);
    gone.status = PDM_INCIDENT_RESOLVED;
    gone.resolution = PDM_RESOLUTION_CLEARED;
    for (int32_t m = 100; m < 400; m += 2)
        assert_string_equal(kind(t, m, T0 + H(30), gone), "RESOLVED");
    for (int32_t m = 100; m < 400; m++)
        assert_string_equal(kind(t, m, T0 + H(31), risk(m, T0, PDM_LEVEL_CRITICAL, 0.8)),
                            m % 2 ? "ESCALATED" : "FIRING");
    tail_incidents_destroy(t);
    tail_incidents_destroy(NULL);
}

static const char *line(tail_incidents *t, int32_t m, int64_t ts, pdm_risk *k, pdm_buf *out)
{
    pdm_event ev = {.type = PDM_EV_RISK, .machine_id = m, .ts = ts};
    ev.u.risk = k;
    out->len = 0;
    assert_int_equal(tail_format_text(t, &ev, out), 0);
    pdm_buf_append(out, "", 1); /* NUL */
    return out->data;
}

static void test_lines(void **state)
{
    (void)state;
    tail_incidents *t = tail_incidents_new();
    pdm_buf out = {0};
    pdm_risk k = risk(3, T0, PDM_LEVEL_WARN, 0.0213);
    k.n_reasons = 1;
    snprintf(k.reasons[0].feature, sizeof k.reasons[0].feature, "error3_count_24h");
    k.reasons[0].value = 1;
    assert_string_equal(line(t, 3, T0, &k, &out),
                        "2015-01-01 00:00  machine    3  OPENED      WARN      risk 0.0213  comp3  "
                        "incident 3-1420070400000  because error3_count_24h=1\n");
    k = risk(3, T0, PDM_LEVEL_OK, 0);
    k.peak_risk = 0.31;
    k.status = PDM_INCIDENT_RESOLVED;
    k.resolution = PDM_RESOLUTION_FAILED;
    assert_string_equal(line(t, 3, T0 + H(27), &k, &out),
                        "2015-01-02 03:00  machine    3  RESOLVED    failed after 27 h (lead time "
                        "27 h)  peak 0.31 comp3  incident 3-1420070400000\n");
    k.resolution = PDM_RESOLUTION_REPAIRED;
    assert_string_equal(line(t, 3, T0 + H(1) / 2, &k, &out),
                        "2015-01-01 00:30  machine    3  RESOLVED    repaired after 30 min  peak "
                        "0.31 comp3  incident 3-1420070400000\n");
    k = risk(4, INT64_MIN, PDM_LEVEL_CRITICAL, 0.72);
    assert_string_equal(line(t, 4, T0, &k, &out),
                        "2015-01-01 00:00  machine    4  CRITICAL    risk 0.72  (most likely comp3 "
                        "0.72)\n");
    pdm_event silence = {.type = PDM_EV_SILENCE, .machine_id = 9, .ts = T0 + H(7)};
    silence.u.silence.last_seen = T0;
    silence.u.silence.silent = 1;
    out.len = 0;
    assert_int_equal(tail_format_text(t, &silence, &out), 0);
    assert_int_equal(strncmp(out.data,
                             "2015-01-01 07:00  machine    9  SILENT      last seen "
                             "2015-01-01 00:00\n",
                             out.len),
                     0);
    pdm_event tel = {.type = PDM_EV_TELEMETRY, .machine_id = 1, .ts = T0};
    out.len = 0;
    assert_int_equal(tail_format_text(t, &tel, &out), 1); /* not a line of its own */
    assert_int_equal(out.len, 0);
    pdm_buf_free(&out);
    tail_incidents_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
