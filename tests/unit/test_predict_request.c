/* test_predict_request.c: the checks of POST /v1/predict's body
 * (consumer/predict_request.h) that hostile input found wanting: numbers
 * past the double range (-1e400 parses as -inf), keys that hide an escaped
 * NUL (cJSON's C strings would read "volt_mean_24h\u0000junk" as
 * "volt_mean_24h"), and an output event in a history, whose message must
 * speak the client's terms rather than name a function. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "pdm_common.h"
#include "predict_request.h"

/* Parses text; returns the parser's result with its message in err. */
static int parse(const char *text, pdm_predict_request *req, char *err, size_t errlen)
{
    err[0] = '\0';
    return pdm_predict_request_parse_text(text, strlen(text), req, err, errlen);
}

static int feature_slot(const char *name)
{
    for (size_t i = 0; i < PDM_N_FEATURES; i++)
        if (strcmp(pdm_feature_name(i), name) == 0)
            return (int)i;
    return -1;
}

static void test_a_plain_feature_row_is_taken(void **state)
{
    (void)state;
    char err[PDM_ERRSTR_SIZE];
    pdm_predict_request req;
    assert_int_equal(parse("{\"features\": {\"volt_mean_24h\": 170.5}}", &req, err, sizeof err),
                     0);
    int k = feature_slot("volt_mean_24h");
    assert_true(k >= 0);
    assert_true(req.items[0].row[k] == 170.5);
    pdm_predict_request_free(&req);
}

static void test_numbers_past_the_double_range_are_refused(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "{\"features\": {\"volt_mean_24h\": -1e400}}",
        "{\"features\": {\"volt_mean_24h\": 1e400}}",
        "{\"instances\": [{\"features\": {\"volt_mean_24h\": 1}},"
        " {\"features\": {\"rotate_mean_24h\": -1e999}}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        char err[PDM_ERRSTR_SIZE];
        pdm_predict_request req;
        if (parse(bodies[i], &req, err, sizeof err) == 0)
            fail_msg("accepted %s", bodies[i]);
        if (!strstr(err, "finite"))
            fail_msg("%s: message \"%s\" does not say the number must be finite", bodies[i], err);
        assert_null(req.items);
    }
}

static void test_a_key_with_an_escaped_nul_is_refused(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "{\"features\": {\"volt_mean_24h\\u0000junk\": 999}}",
        "{\"features\": {\"volt_mean_24h\\U0000\": 999}}", /* not an escape: unknown key */
        "{\"features\\u0000\": {\"volt_mean_24h\": 1}}",
        "{\"machine_id\": 1, \"events\": [{\"type\": \"telemetry\\u0000x\"}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        char err[PDM_ERRSTR_SIZE];
        pdm_predict_request req;
        if (parse(bodies[i], &req, err, sizeof err) == 0)
            fail_msg("accepted %s", bodies[i]);
        assert_null(req.items);
    }
}

static void test_the_nul_scan_reads_escapes(void **state)
{
    (void)state;
    struct {
        const char *text;
        int nul;
    } cases[] = {
        {"{\"a\\u0000\": 1}", 1},
        {"{\"a\": \"x\\u0000\"}", 1},
        {"{\"a\\\\u0000\": 1}", 0},    /* an escaped backslash, then u0000 */
        {"{\"a\\\\\\u0000\": 1}", 1},  /* a backslash, then an escaped NUL */
        {"{\"a\\u00001\": 1}", 1},     /* NUL then '1' */
        {"{\"a\\u0001\": 1}", 0},
        {"{\"a\": 1} \\u0000", 0},     /* outside any string: not JSON anyway */
        {"{\"a\\\"\\u0000\": 1}", 1},  /* an escaped quote does not end the key */
        {"{\"a\\u000", 0},              /* cut short */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (pdm_json_has_escaped_nul(cases[i].text, strlen(cases[i].text)) != cases[i].nul)
            fail_msg("%s: want %d", cases[i].text, cases[i].nul);
    static const char raw[] = "{\"a\0\": 1}";
    assert_int_equal(pdm_json_has_escaped_nul(raw, sizeof raw - 1), 1);
}

static void test_an_output_event_in_a_history_names_no_function(void **state)
{
    (void)state;
    char err[PDM_ERRSTR_SIZE];
    pdm_predict_request req;
    const char *body = "{\"machine_id\": 1, \"events\": [{\"type\": \"risk\", \"machine_id\": 1,"
                       " \"ts\": \"2015-01-01T06:00:00Z\", \"risk\": 0.5}]}";
    assert_int_not_equal(parse(body, &req, err, sizeof err), 0);
    if (strstr(err, "pdm_") || strstr(err, "json_with"))
        fail_msg("message names a function: %s", err);
    assert_non_null(strstr(err, "output"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_plain_feature_row_is_taken),
        cmocka_unit_test(test_numbers_past_the_double_range_are_refused),
        cmocka_unit_test(test_a_key_with_an_escaped_nul_is_refused),
        cmocka_unit_test(test_the_nul_scan_reads_escapes),
        cmocka_unit_test(test_an_output_event_in_a_history_names_no_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
