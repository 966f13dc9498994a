/* test_scorer_alerts_api.c: the pure parts of GET /v1/alerts: the query's
 * parsing (defaults, every documented form, the limits, cursors of this API
 * only) and an incident's JSON from a machine's stored alert state; and the
 * index's ranks (CRITICAL first, a level one score range); and the
 * pdm_incidents_open gauge, exported from the start (0 before any incident
 * or scrape) and left as it was by a scrape that Redis does not answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pdm_alerts.h"
#include "scorer_alerts_api.h"

#define H(h) ((int64_t)(h)*PDM_MS_PER_HOUR)
#define T0 INT64_C(1420070400000)

static int parse(const char *level, const char *comp, const char *limit, const char *cursor,
                 scorer_alerts_query *q)
{
    char err[256];
    return scorer_alerts_query_parse(level, comp, limit, cursor, q, err, sizeof err);
}

static void test_query(void **state)
{
    (void)state;
    scorer_alerts_query q;
    assert_int_equal(parse(NULL, NULL, NULL, NULL, &q), 0);
    assert_int_equal(q.level, 0);
    assert_int_equal(q.component, 0);
    assert_int_equal(q.limit, SCORER_ALERTS_DEFAULT_LIMIT);
    assert_true(q.after == -1);
    assert_int_equal(parse("critical", "comp4", "1000", NULL, &q), 0);
    assert_int_equal(q.level, 2);
    assert_int_equal(q.component, 4);
    assert_int_equal(q.limit, 1000);
    assert_int_equal(parse("WARN", "2", "1", NULL, &q), 0);
    assert_int_equal(q.level, 1);
    assert_int_equal(q.component, 2);
    int64_t lo, hi;
    pdm_rs_incident_ranks(0, &lo, &hi);
    char cursor[32];
    snprintf(cursor, sizeof cursor, "%lld", (long long)pdm_rs_incident_rank(1, 42));
    assert_int_equal(parse(NULL, NULL, NULL, cursor, &q), 0);
    assert_true(q.after == pdm_rs_incident_rank(1, 42));
    const char *bad[][4] = {
        {"OK", NULL, NULL, NULL},     {"", NULL, NULL, NULL},
        {NULL, "comp0", NULL, NULL},  {NULL, "comp5", NULL, NULL},
        {NULL, "comp12", NULL, NULL}, {NULL, "", NULL, NULL},
        {NULL, NULL, "0", NULL},      {NULL, NULL, "1001", NULL},
        {NULL, NULL, "5x", NULL},     {NULL, NULL, "", NULL},
        {NULL, NULL, NULL, "abc"},    {NULL, NULL, NULL, "-1"},
        {NULL, NULL, NULL, "0"},      {NULL, NULL, NULL, "99999999999999999999"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(parse(bad[i][0], bad[i][1], bad[i][2], bad[i][3], &q), -1);
}

static void test_ranks(void **state)
{
    (void)state;
    int64_t clo, chi, wlo, whi, lo, hi;
    pdm_rs_incident_ranks(2, &clo, &chi);
    pdm_rs_incident_ranks(1, &wlo, &whi);
    pdm_rs_incident_ranks(0, &lo, &hi);
    assert_true(clo <= pdm_rs_incident_rank(2, 1) && pdm_rs_incident_rank(2, INT32_MAX) <= chi);
    assert_true(chi < wlo); /* every CRITICAL before every WARN */
    assert_true(wlo <= pdm_rs_incident_rank(1, 1) && pdm_rs_incident_rank(1, INT32_MAX) <= whi);
    assert_true(lo == clo && hi == whi);
    assert_true(pdm_rs_incident_rank(2, 7) < pdm_rs_incident_rank(2, 8));
    assert_true(whi < (INT64_C(1) << 53)); /* exact as a Redis score */
}

static void test_incident_json(void **state)
{
    (void)state;
    pdm_alert_policy p;
    pdm_alert_policy_init(&p, 0.3, 0.6);
    pdm_alert_state st;
    pdm_alert_state_init(&st);
    pdm_incident inc;
    char err[256], text[PDM_ALERT_TEXT_MAX];
    for (int h = 1; h <= 3; h++) {
        pdm_alert_score row = {T0 + H(h), h == 3 ? 0.7 : 0.4, 2};
        assert_int_equal(pdm_alert_step(&st, &p, 7, &row, &inc, err, sizeof err), 0);
    }
    assert_true(pdm_alert_state_encode(&st, text, sizeof text) > 0);
    cJSON *o = scorer_alerts_incident_json(7, text);
    char *s = cJSON_PrintUnformatted(o);
    char id[PDM_ALERT_ID_SIZE];
    pdm_alert_incident_id(7, T0 + H(2), id);
    char want[512];
    snprintf(
        want, sizeof want,
        "{\"incident_id\":\"%s\",\"machine_id\":7,\"status\":\"firing\",\"level\":\"CRITICAL\","
        "\"component\":\"comp2\",\"opened_at\":\"2015-01-01T02:00:00.000Z\","
        "\"last_notified_at\":\"2015-01-01T03:00:00.000Z\","
        "\"last_score_at\":\"2015-01-01T03:00:00.000Z\",\"open_hours\":1,\"peak_risk\":0.7}",
        id);
    assert_string_equal(s, want);
    cJSON_free(s);
    cJSON_Delete(o);
    /* No incident, no state, a state that does not decode: null. */
    pdm_alert_state_init(&st);
    assert_true(pdm_alert_state_encode(&st, text, sizeof text) > 0);
    const char *none[] = {text, "", "a1 junk"};
    for (int i = 0; i < 3; i++) {
        o = scorer_alerts_incident_json(7, none[i]);
        assert_true(cJSON_IsNull(o));
        cJSON_Delete(o);
    }
}

/* scorer_alerts_ctx.acquire of an API whose readiness probe finds Redis
 * silent: the collector must not touch the connection or its lock. */
static int redis_silent(void *owner, char *errstr, size_t errlen)
{
    (void)owner;
    snprintf(errstr, errlen, "redis does not answer");
    return -1;
}

/* The registry's text, NUL-terminated (freed by the caller). */
static char *render(pdm_registry *r)
{
    pdm_buf out = {0};
    assert_int_equal(pdm_registry_render(r, &out), 0);
    assert_int_equal(pdm_buf_append(&out, "", 1), 0);
    return out.data;
}

static void test_open_gauge_exported(void **state)
{
    (void)state;
    char err[256];
    pdm_registry *r = pdm_registry_new(0, err, sizeof err);
    assert_non_null(r);
    scorer_metrics m;
    assert_int_equal(scorer_metrics_init(&m, r, 0, err, sizeof err), 0);
    /* Before any batch, incident or scrape: both levels, at 0 (an alert on
     * the series must see "none open", not "no data"). */
    char *text = render(r);
    assert_non_null(strstr(text, "\npdm_incidents_open{level=\"warn\"} 0\n"));
    assert_non_null(strstr(text, "\npdm_incidents_open{level=\"critical\"} 0\n"));
    free(text);
    /* A scrape while Redis does not answer keeps the last values read. */
    pdm_metric_set(m.incidents_open[0], 3);
    pdm_metric_set(m.incidents_open[1], 1);
    scorer_alerts_ctx silent = {.redis = NULL, .lock = NULL, .acquire = redis_silent};
    scorer_alerts_collect(&silent, &m);
    text = render(r);
    assert_non_null(strstr(text, "\npdm_incidents_open{level=\"warn\"} 3\n"));
    assert_non_null(strstr(text, "\npdm_incidents_open{level=\"critical\"} 1\n"));
    free(text);
    scorer_metrics_destroy(&m);
    pdm_registry_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_ranks),
        cmocka_unit_test(test_incident_json),
        cmocka_unit_test(test_open_gauge_exported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
