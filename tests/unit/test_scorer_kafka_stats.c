/* test_scorer_kafka_stats.c: what the scorer reads from librdkafka's
 * statistics JSON (scorer_metrics_kafka_stats): the consumer lag per
 * assigned partition (none for an unknown lag or the internal partition),
 * and pdm_consumer_partitions_not_fetching, the assigned partitions whose
 * fetch state is not active (an offset lookup that never finished leaves a
 * partition unconsumed for good, and its lag unknown). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scorer_metrics.h"

static char *render(pdm_registry *r)
{
    pdm_buf out = {0};
    assert_int_equal(pdm_registry_render(r, &out), 0);
    assert_int_equal(pdm_buf_append(&out, "", 1), 0);
    return out.data;
}

/* Statistics of topic t with partitions 0 (active, lag 5), 1 (in state
 * state1, desired desired1, lag unknown) and the internal -1. */
static void feed(scorer_metrics *m, const char *state1, int desired1)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"topics\":{\"t\":{\"partitions\":{"
             "\"0\":{\"partition\":0,\"desired\":true,\"fetch_state\":\"active\",\"consumer_lag\":5},"
             "\"1\":{\"partition\":1,\"desired\":%s,\"fetch_state\":\"%s\",\"consumer_lag\":-1},"
             "\"-1\":{\"partition\":-1,\"desired\":false,\"fetch_state\":\"none\",\"consumer_lag\":-1}"
             "}}}}",
             desired1 ? "true" : "false", state1);
    scorer_metrics_kafka_stats(m, json, strlen(json));
}

static void test_lag_and_not_fetching(void **state)
{
    (void)state;
    char err[256];
    pdm_registry *r = pdm_registry_new(0, err, sizeof err);
    assert_non_null(r);
    scorer_metrics m;
    assert_int_equal(scorer_metrics_init(&m, r, 0, err, sizeof err), 0);
    feed(&m, "offset-wait", 1);
    char *text = render(r);
    assert_non_null(strstr(text, "\npdm_consumer_lag_messages{topic=\"t\",partition=\"0\"} 5\n"));
    assert_null(strstr(text, "partition=\"1\"}"));
    assert_null(strstr(text, "partition=\"-1\"}"));
    assert_non_null(strstr(text, "\npdm_consumer_partitions_not_fetching 1\n"));
    free(text);
    assert_int_equal(m.not_fetching_turns, 1);
    feed(&m, "offset-query", 1);
    feed(&m, "offset-wait", 1);
    assert_int_equal(m.not_fetching_turns, 3);
    assert_true(m.not_fetching_said > 0); /* warned on the third */
    /* Fetching again, or no longer ours (being revoked): 0. */
    feed(&m, "active", 1);
    text = render(r);
    assert_non_null(strstr(text, "\npdm_consumer_partitions_not_fetching 0\n"));
    free(text);
    assert_int_equal(m.not_fetching_turns, 0);
    feed(&m, "stopping", 0);
    text = render(r);
    assert_non_null(strstr(text, "\npdm_consumer_partitions_not_fetching 0\n"));
    free(text);
    /* Not JSON: nothing changes. */
    feed(&m, "offset-wait", 1);
    scorer_metrics_kafka_stats(&m, "{", 1);
    assert_int_equal(m.not_fetching_turns, 1);
    scorer_metrics_destroy(&m);
    pdm_registry_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lag_and_not_fetching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
