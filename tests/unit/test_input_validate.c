/* test_input_validate.c: pdm_input_validate (consumer/predict_request.h), the
 * checks every input event passes before the scorer's state or the HTTP API
 * sees it. A table of events sits on each documented edge, once on the
 * accepted side and once just past it: machine_id 0/1, ts 2000-01-01 and
 * 1 ms before, now + 24 h and 1 ms after, each reading's 0 and upper bound
 * and the nearest doubles outside them, NaN and infinities, age 0/200 and
 * -1/201, and a RiskEvent or a MachineSilence as input. The bounds are written out here from the
 * header's contract, not taken from the implementation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pdm_common.h"
#include "predict_request.h"

#define Y2000 INT64_C(946684800000) /* 2000-01-01T00:00:00.000Z */
#define NOW INT64_C(1767225600000)  /* 2026-01-01T00:00:00.000Z, the clock in these cases */
#define DAY (24 * PDM_MS_PER_HOUR)
#define TS INT64_C(1420092000000) /* 2015-01-01T06:00:00.000Z, well inside */

#define TEL(id, t, v, r, p, vib)                                                                   \
    {                                                                                              \
        .type = PDM_EV_TELEMETRY, .machine_id = (id), .ts = (t), .u.telemetry = {                  \
            (v),                                                                                   \
            (r),                                                                                   \
            (p),                                                                                   \
            (vib)                                                                                  \
        }                                                                                          \
    }
#define OTHER(kind, id, t)                                                                         \
    {                                                                                              \
        .type = (kind), .machine_id = (id), .ts = (t), .u.error = { 1 }                            \
    }
#define MACHINE(age)                                                                               \
    {                                                                                              \
        .type = PDM_EV_MACHINE, .machine_id = 1, .ts = TS, .u.machine = { 1, (age) }               \
    }

typedef struct {
    const char *what;
    pdm_event ev;
    int64_t now;
    const char *want; /* the reason, or NULL: accepted */
} edge_case;

/* Runs one case; a refusal must come with a detail that names `mention`. */
static void check(const edge_case *c, const char *mention)
{
    char detail[256] = "";
    const char *got = pdm_input_validate(&c->ev, c->now, detail, sizeof detail);
    if (!c->want && got)
        fail_msg("%s: refused as %s (%s), want accepted", c->what, got, detail);
    if (c->want && (!got || strcmp(got, c->want) != 0))
        fail_msg("%s: %s, want %s", c->what, got ? got : "accepted", c->want);
    if (c->want && (detail[0] == '\0' || (mention && !strstr(detail, mention))))
        fail_msg("%s: detail \"%s\" does not name %s", c->what, detail, mention ? mention : "why");
}

/* The literals above are the dates they say. */
static void test_edges_are_the_documented_dates(void **state)
{
    int64_t ms;
    assert_int_equal(pdm_time_parse("2000-01-01T00:00:00Z", 20, &ms), 0);
    assert_int_equal(ms, Y2000);
    assert_int_equal(pdm_time_parse("2026-01-01", 10, &ms), 0);
    assert_int_equal(ms, NOW);
    assert_int_equal(pdm_time_parse("2015-01-01 06:00:00", 19, &ms), 0);
    assert_int_equal(ms, TS);
}

static void test_machine_type_and_time_edges(void **state)
{
    pdm_risk risk = {.risk = 0.5, .level = PDM_LEVEL_WARN};
    const edge_case cases[] = {
        {"machine_id 1", TEL(1, TS, 170, 450, 100, 40), NOW, NULL},
        {"machine_id INT32_MAX", TEL(INT32_MAX, TS, 170, 450, 100, 40), NOW, NULL},
        {"machine_id 0", TEL(0, TS, 170, 450, 100, 40), NOW, "invalid_machine"},
        {"machine_id -1", TEL(-1, TS, 170, 450, 100, 40), NOW, "invalid_machine"},
        {"machine_id INT32_MIN", OTHER(PDM_EV_ERROR, INT32_MIN, TS), NOW, "invalid_machine"},
        {"a RiskEvent as input",
         {.type = PDM_EV_RISK, .machine_id = 1, .ts = TS, .u.risk = &risk},
         NOW,
         "unexpected_type"},
        {"a MachineSilence as input",
         {.type = PDM_EV_SILENCE, .machine_id = 1, .ts = TS, .u.silence = {TS - 1, 1}},
         NOW,
         "unexpected_type"},
        {"an error", OTHER(PDM_EV_ERROR, 1, TS), NOW, NULL},
        {"a maintenance", OTHER(PDM_EV_MAINTENANCE, 1, TS), NOW, NULL},
        {"a failure", OTHER(PDM_EV_FAILURE, 1, TS), NOW, NULL},
        {"ts 2000-01-01T00:00:00.000", TEL(1, Y2000, 170, 450, 100, 40), NOW, NULL},
        {"ts 1999-12-31T23:59:59.999", TEL(1, Y2000 - 1, 170, 450, 100, 40), NOW,
         "invalid_timestamp"},
        {"error at ts 1 ms before 2000", OTHER(PDM_EV_ERROR, 1, Y2000 - 1), NOW,
         "invalid_timestamp"},
        {"ts now + 24 h", TEL(1, NOW + DAY, 170, 450, 100, 40), NOW, NULL},
        {"ts now + 24 h + 1 ms", TEL(1, NOW + DAY + 1, 170, 450, 100, 40), NOW,
         "invalid_timestamp"},
        {"machine info at now + 24 h + 1 ms",
         {.type = PDM_EV_MACHINE, .machine_id = 1, .ts = NOW + DAY + 1, .u.machine = {1, 18}},
         NOW,
         "invalid_timestamp"},
        {"ts now + 24 h + 1 ms, seen a ms later", TEL(1, NOW + DAY + 1, 170, 450, 100, 40), NOW + 1,
         NULL},
        {"ts INT64_MIN", TEL(1, INT64_MIN, 170, 450, 100, 40), NOW, "invalid_timestamp"},
        {"ts INT64_MAX", TEL(1, INT64_MAX, 170, 450, 100, 40), NOW, "invalid_timestamp"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *want = cases[i].want;
        check(&cases[i], !want                                ? NULL
                         : !strcmp(want, "invalid_machine")   ? "machine_id"
                         : !strcmp(want, "invalid_timestamp") ? "timestamp"
                                                              : "output, not input");
    }
}

/* Each reading on [0, its bound]: the edges and the nearest doubles past
 * them, NaN and both infinities, with the other three readings valid. */
static void test_reading_edges(void **state)
{
    static const char *names[] = {"volt", "rotate", "pressure", "vibration"};
    static const double bound[] = {1000.0, 10000.0, 1000.0, 1000.0};
    for (int r = 0; r < 4; r++) {
        const struct {
            const char *what;
            double v;
            const char *want;
        } values[] = {
            {"0", 0.0, NULL},
            {"-0", -0.0, NULL},
            {"the bound", bound[r], NULL},
            {"the double below 0", nextafter(0.0, -1.0), "invalid_value"},
            {"-1", -1.0, "invalid_value"},
            {"the double above the bound", nextafter(bound[r], INFINITY), "invalid_value"},
            {"NaN", NAN, "invalid_value"},
            {"+inf", INFINITY, "invalid_value"},
            {"-inf", -INFINITY, "invalid_value"},
        };
        for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
            double v[4] = {170, 450, 100, 40};
            v[r] = values[k].v;
            char what[64];
            snprintf(what, sizeof what, "%s %s", names[r], values[k].what);
            const edge_case c = {what, TEL(1, TS, v[0], v[1], v[2], v[3]), NOW, values[k].want};
            check(&c, names[r]);
        }
    }
}

static void test_age_edges(void **state)
{
    const edge_case cases[] = {
        {"age 0", MACHINE(0), NOW, NULL},
        {"age 200", MACHINE(200), NOW, NULL},
        {"age -1", MACHINE(-1), NOW, "invalid_value"},
        {"age 201", MACHINE(201), NOW, "invalid_value"},
        {"age INT32_MIN", MACHINE(INT32_MIN), NOW, "invalid_value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check(&cases[i], "age");
}

/* The detail is cut to the caller's buffer and always terminated. */
static void test_detail_fits_the_buffer(void **state)
{
    const pdm_event ev = TEL(1, TS, 170, 1e300, 100, 40);
    char detail[8];
    memset(detail, 'x', sizeof detail);
    assert_string_equal(pdm_input_validate(&ev, NOW, detail, 5), "invalid_value");
    assert_int_equal(strlen(detail), 4);
    assert_int_equal(detail[5], 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges_are_the_documented_dates),
        cmocka_unit_test(test_machine_type_and_time_edges),
        cmocka_unit_test(test_reading_edges),
        cmocka_unit_test(test_age_edges),
        cmocka_unit_test(test_detail_fits_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
