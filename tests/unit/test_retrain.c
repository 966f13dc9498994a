/* Unit tests of pdm-retrain's rules (retrain/rules.c): every branch of the
 * schedule, drift and recall triggers, their order, the /v1/drift parser,
 * the drift window history, the promotion rule, the shadow gate and the
 * archive's day range, the metrics document. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pdm_retrain.h"

#define HOUR INT64_C(3600000)
#define T0 INT64_C(1420243200000) /* 2015-01-03 00:00:00 UTC */

static char why[1024];

static void test_schedule(void **state)
{
    (void)state;
    assert_int_equal(pdm_retrain_schedule_due(T0, T0 - 100 * HOUR, INT64_MIN, 0, why, sizeof why),
                     0);
    assert_string_equal(why, "schedule: off");
    assert_int_equal(pdm_retrain_schedule_due(T0, INT64_MIN, INT64_MIN, -1, why, sizeof why), 0);
    /* no model, never run: at once */
    assert_int_equal(pdm_retrain_schedule_due(T0, INT64_MIN, INT64_MIN, 24 * HOUR, why, sizeof why),
                     1);
    assert_non_null(strstr(why, "no current model"));
    /* the model's time counts, due at exactly the interval */
    assert_int_equal(
        pdm_retrain_schedule_due(T0, T0 - 24 * HOUR + 1, INT64_MIN, 24 * HOUR, why, sizeof why), 0);
    assert_non_null(strstr(why, "the current model was trained"));
    assert_non_null(strstr(why, "not due"));
    assert_int_equal(
        pdm_retrain_schedule_due(T0, T0 - 24 * HOUR, INT64_MIN, 24 * HOUR, why, sizeof why), 1);
    /* a later run (a candidate kept) postpones the next one */
    assert_int_equal(
        pdm_retrain_schedule_due(T0, T0 - 48 * HOUR, T0 - HOUR, 24 * HOUR, why, sizeof why), 0);
    assert_non_null(strstr(why, "the last run"));
    /* no model (removed) but a run: from the run */
    assert_int_equal(
        pdm_retrain_schedule_due(T0, INT64_MIN, T0 - 25 * HOUR, 24 * HOUR, why, sizeof why), 1);
}

static const char drift_json[] =
    "{\"model_version\":\"abcdef012345\",\"drift\":{\"ready\":true,\"windows\":7,"
    "\"features\":[{\"name\":\"volt_mean_3h\",\"psi\":0.3},{\"name\":\"rotate_mean_3h\","
    "\"psi\":0.1},{\"name\":\"age\",\"psi\":null},{\"name\":\"vibration_sd_24h\",\"psi\":0.5},"
    "{\"name\":\"pressure_mean_3h\",\"psi\":0.25}]},"
    "\"performance\":{\"rolling\":{\"tp\":3,\"fp\":1,\"caught\":4,\"missed\":6,"
    "\"precision\":0.75,\"recall\":0.4}}}";

static void test_parse_drift(void **state)
{
    (void)state;
    pdm_retrain_scorer_view v;
    char err[256];
    assert_int_equal(pdm_retrain_parse_drift(drift_json, 0.25, &v, err, sizeof err), 0);
    assert_string_equal(v.model_version, "abcdef012345");
    assert_true(v.drift_ready);
    assert_int_equal(v.windows, 7);
    assert_int_equal(v.features_above, 2); /* 0.3 and 0.5; 0.25 is not above */
    assert_string_equal(v.worst_feature, "vibration_sd_24h");
    assert_float_equal(v.max_psi, 0.5, 0);
    assert_float_equal(v.recall, 0.4, 0);
    assert_float_equal(v.precision, 0.75, 0);
    assert_int_equal(v.failures_resolved, 10);

    /* a scorer without a drift window yet, no performance */
    assert_int_equal(pdm_retrain_parse_drift("{\"drift\":null}", 0.25, &v, err, sizeof err), 0);
    assert_false(v.drift_ready);
    assert_int_equal(v.features_above, 0);
    assert_true(isnan(v.recall) && isnan(v.max_psi));
    assert_string_equal(v.model_version, "");

    assert_int_equal(pdm_retrain_parse_drift("<html>", 0.25, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a JSON object"));
    assert_int_equal(pdm_retrain_parse_drift("{\"drift\":5}", 0.25, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "drift is not an object"));
    assert_int_equal(
        pdm_retrain_parse_drift("{\"drift\":{\"features\":{}}}", 0.25, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "not an array"));
}

static pdm_retrain_scorer_view view(const char *version, uint64_t window, int above)
{
    pdm_retrain_scorer_view v;
    memset(&v, 0, sizeof v);
    snprintf(v.model_version, sizeof v.model_version, "%s", version);
    v.drift_ready = 1;
    v.windows = window;
    v.features_above = above;
    v.recall = v.precision = v.max_psi = NAN;
    return v;
}

static void test_drift_history(void **state)
{
    (void)state;
    pdm_retrain_drift_history h;
    memset(&h, 0, sizeof h);
    pdm_retrain_scorer_view v = view("a", 1, 3);
    v.drift_ready = 0;
    assert_int_equal(pdm_retrain_drift_record(&h, &v), 0); /* not ready */
    assert_int_equal(h.n, 0);
    v = view("a", 1, 3);
    assert_int_equal(pdm_retrain_drift_record(&h, &v), 1);
    assert_int_equal(pdm_retrain_drift_record(&h, &v), 0); /* the same window again */
    v = view("a", 2, 4);
    assert_int_equal(pdm_retrain_drift_record(&h, &v), 1);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.above[1], 4);
    v = view("b", 3, 1); /* another model: a new history */
    assert_int_equal(pdm_retrain_drift_record(&h, &v), 1);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.model_version, "b");
    v = view("b", 1, 2); /* the scorer restarted: its windows count again */
    assert_int_equal(pdm_retrain_drift_record(&h, &v), 1);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.window[0], 1);
    for (uint64_t w = 2; w <= PDM_RETRAIN_DRIFT_HISTORY + 5; w++) {
        v = view("b", w, (int)w);
        pdm_retrain_drift_record(&h, &v);
    }
    assert_int_equal(h.n, PDM_RETRAIN_DRIFT_HISTORY); /* bounded: the oldest dropped */
    assert_int_equal(h.window[h.n - 1], PDM_RETRAIN_DRIFT_HISTORY + 5);
    assert_int_equal(h.window[0], 6);
}

static void test_drift_due(void **state)
{
    (void)state;
    pdm_retrain_drift_history h;
    memset(&h, 0, sizeof h);
    int above[] = {5, 0, 3, 2, 4};
    for (int i = 0; i < 5; i++) {
        pdm_retrain_scorer_view v = view("a", (uint64_t)i + 1, above[i]);
        pdm_retrain_drift_record(&h, &v);
    }
    assert_int_equal(pdm_retrain_drift_due(&h, 0, 3, why, sizeof why), 0);
    assert_string_equal(why, "drift: off");
    assert_int_equal(pdm_retrain_drift_due(&h, 2, 0, why, sizeof why), 0);
    /* the last three windows have 3, 2, 4 >= 2 */
    assert_int_equal(pdm_retrain_drift_due(&h, 2, 3, why, sizeof why), 1);
    assert_non_null(strstr(why, "the last 3 in a row"));
    /* window 2 (0 above) breaks the run of four */
    assert_int_equal(pdm_retrain_drift_due(&h, 2, 4, why, sizeof why), 0);
    /* k = 3: window 4 (2 above) breaks it after one */
    assert_int_equal(pdm_retrain_drift_due(&h, 3, 2, why, sizeof why), 0);
    assert_int_equal(pdm_retrain_drift_due(&h, 3, 1, why, sizeof why), 1);
    /* more windows than seen */
    memset(&h, 0, sizeof h);
    assert_int_equal(pdm_retrain_drift_due(&h, 1, 1, why, sizeof why), 0);
    assert_non_null(strstr(why, "(none)"));
    /* w above the history is clamped to it */
    for (uint64_t w = 1; w <= PDM_RETRAIN_DRIFT_HISTORY; w++) {
        pdm_retrain_scorer_view v = view("a", w, 9);
        pdm_retrain_drift_record(&h, &v);
    }
    assert_int_equal(pdm_retrain_drift_due(&h, 1, PDM_RETRAIN_DRIFT_HISTORY + 10, why, sizeof why),
                     1);
}

static void test_recall_due(void **state)
{
    (void)state;
    pdm_retrain_scorer_view v = view("a", 1, 0);
    v.recall = 0.4;
    v.failures_resolved = 10;
    assert_int_equal(pdm_retrain_recall_due(&v, 0, 5, why, sizeof why), 0);
    assert_string_equal(why, "recall: off");
    assert_int_equal(pdm_retrain_recall_due(&v, 0.5, 11, why, sizeof why), 0);
    assert_non_null(strstr(why, "need 11 to judge"));
    assert_int_equal(pdm_retrain_recall_due(&v, 0.5, 10, why, sizeof why), 1);
    assert_non_null(strstr(why, "due"));
    assert_int_equal(pdm_retrain_recall_due(&v, 0.4, 10, why, sizeof why), 0); /* not below */
    v.recall = NAN;
    assert_int_equal(pdm_retrain_recall_due(&v, 0.5, 0, why, sizeof why), 0);
}

static void test_first_due(void **state)
{
    (void)state;
    assert_int_equal(pdm_retrain_first_due(0, 0, 0, 0), PDM_RETRAIN_NONE);
    assert_int_equal(pdm_retrain_first_due(1, 1, 1, 1), PDM_RETRAIN_FORCED);
    assert_int_equal(pdm_retrain_first_due(0, 1, 1, 1), PDM_RETRAIN_RECALL);
    assert_int_equal(pdm_retrain_first_due(0, 0, 1, 1), PDM_RETRAIN_DRIFT);
    assert_int_equal(pdm_retrain_first_due(0, 0, 0, 1), PDM_RETRAIN_SCHEDULE);
    assert_string_equal(pdm_retrain_trigger_name(PDM_RETRAIN_NONE), "none");
    assert_string_equal(pdm_retrain_trigger_name(PDM_RETRAIN_RECALL), "recall");
    assert_string_equal(pdm_retrain_trigger_name(PDM_RETRAIN_DRIFT), "drift");
    assert_string_equal(pdm_retrain_trigger_name(PDM_RETRAIN_SCHEDULE), "schedule");
    assert_string_equal(pdm_retrain_trigger_name(PDM_RETRAIN_FORCED), "forced");
}

static pdm_eval eval(double pr_auc, double warn_precision)
{
    pdm_eval e;
    memset(&e, 0, sizeof e);
    e.pr_auc = pr_auc;
    e.warn_precision = warn_precision;
    return e;
}

static void test_promotion(void **state)
{
    (void)state;
    pdm_retrain_promotion_options o;
    pdm_retrain_promotion_options_init(&o);
    assert_float_equal(o.min_pr_auc_gain, 0.01, 0);
    assert_float_equal(o.max_precision_loss, 0.02, 0);
    o.min_pr_auc_gain = 0.25;
    o.max_precision_loss = 0.125;
    pdm_eval cur = eval(0.5, 0.5);
    pdm_eval c;

    c = eval(NAN, 0.9); /* no failure held out */
    assert_int_equal(pdm_retrain_promotion_decide(&c, &cur, &o, why, sizeof why), 0);
    assert_non_null(strstr(why, "no failure"));
    c = eval(0.75, 0.5); /* exactly the margin */
    assert_int_equal(pdm_retrain_promotion_decide(&c, &cur, &o, why, sizeof why), 1);
    assert_non_null(strstr(why, "promote"));
    c = eval(0.625, 0.9); /* better, not by the margin */
    assert_int_equal(pdm_retrain_promotion_decide(&c, &cur, &o, why, sizeof why), 0);
    assert_non_null(strstr(why, "not enough"));
    c = eval(0.75, 0.375); /* precision drops exactly the allowance */
    assert_int_equal(pdm_retrain_promotion_decide(&c, &cur, &o, why, sizeof why), 1);
    c = eval(0.75, 0.25); /* precision drops more */
    assert_int_equal(pdm_retrain_promotion_decide(&c, &cur, &o, why, sizeof why), 0);
    assert_non_null(strstr(why, "worse"));
    c = eval(0.75, NAN); /* the candidate raises no alert */
    assert_int_equal(pdm_retrain_promotion_decide(&c, &cur, &o, why, sizeof why), 0);
    cur = eval(NAN, NAN); /* the current model: undefined figures count as 0 / no block */
    c = eval(0.25, NAN);
    assert_int_equal(pdm_retrain_promotion_decide(&c, &cur, &o, why, sizeof why), 1);
    c = eval(0.125, 0.9);
    assert_int_equal(pdm_retrain_promotion_decide(&c, &cur, &o, why, sizeof why), 0);
}

static void test_shadow(void **state)
{
    (void)state;
    pdm_retrain_shadow s;
    memset(&s, 0, sizeof s);
    assert_int_equal(pdm_retrain_shadow_ok(0, &s, "c1", why, sizeof why), 1);
    assert_string_equal(why, "shadow: not required");
    assert_int_equal(pdm_retrain_shadow_ok(24, &s, "c1", why, sizeof why), 0);
    assert_non_null(strstr(why, "no shadow model"));
    s.available = 1;
    snprintf(s.version, sizeof s.version, "c0");
    assert_int_equal(pdm_retrain_shadow_ok(24, &s, "c1", why, sizeof why), 0);
    assert_non_null(strstr(why, "shadows c0"));
    snprintf(s.version, sizeof s.version, "c1");
    s.hours = 23;
    assert_int_equal(pdm_retrain_shadow_ok(24, &s, "c1", why, sizeof why), 0);
    assert_non_null(strstr(why, "23.0 h of 24.0 h"));
    s.hours = 24;
    s.recall = 0.5, s.current_recall = 0.6, s.precision = 0.9, s.current_precision = 0.5;
    assert_int_equal(pdm_retrain_shadow_ok(24, &s, "c1", why, sizeof why), 0); /* recall worse */
    s.recall = 0.6, s.precision = 0.4;
    assert_int_equal(pdm_retrain_shadow_ok(24, &s, "c1", why, sizeof why), 0); /* precision */
    s.precision = NAN; /* no alert from the shadow model while the current one has some */
    assert_int_equal(pdm_retrain_shadow_ok(24, &s, "c1", why, sizeof why), 0);
    s.precision = 0.5;
    assert_int_equal(pdm_retrain_shadow_ok(24, &s, "c1", why, sizeof why), 1);
    assert_non_null(strstr(why, ": ok"));
    s.current_recall = s.current_precision = NAN; /* undefined current figures do not block */
    s.recall = s.precision = NAN;
    assert_int_equal(pdm_retrain_shadow_ok(24, &s, "c1", why, sizeof why), 1);
}

static void test_shadow_verdict(void **state)
{
    (void)state;
    pdm_retrain_shadow s;
    memset(&s, 0, sizeof s);
    assert_int_equal(pdm_retrain_shadow_decide(24, &s, "c1", why, sizeof why),
                     PDM_RETRAIN_SHADOW_HOLD);
    s.available = 1;
    snprintf(s.version, sizeof s.version, "c1");
    s.hours = NAN; /* no row scored yet */
    assert_int_equal(pdm_retrain_shadow_decide(24, &s, "c1", why, sizeof why),
                     PDM_RETRAIN_SHADOW_HOLD);
    assert_non_null(strstr(why, "0.0 h of 24.0 h"));
    s.hours = 30;
    s.recall = 0.5, s.current_recall = 0.6, s.precision = 0.9, s.current_precision = 0.5;
    assert_int_equal(pdm_retrain_shadow_decide(24, &s, "c1", why, sizeof why),
                     PDM_RETRAIN_SHADOW_REJECT);
    assert_non_null(strstr(why, "worse, rejected"));
    s.recall = 0.7;
    assert_int_equal(pdm_retrain_shadow_decide(24, &s, "c1", why, sizeof why),
                     PDM_RETRAIN_SHADOW_PROMOTE);
    snprintf(s.version, sizeof s.version, "c0"); /* another model on trial: never decided */
    assert_int_equal(pdm_retrain_shadow_decide(24, &s, "c1", why, sizeof why),
                     PDM_RETRAIN_SHADOW_HOLD);
}

/* GET /v1/models as pdm-scorer answers it (tests/runtime/scorer_shadow.sh
 * checks the scorer's side of this shape). */
static void test_parse_models(void **state)
{
    (void)state;
    pdm_retrain_shadow s;
    char err[256];
    const char *with =
        "{\"current\":{\"version\":\"a1\",\"performance\":{\"all\":{\"precision\":0.25,"
        "\"recall\":0.5},\"rolling\":{\"precision\":0.9}}},"
        "\"shadow\":{\"version\":\"b2\",\"hours\":36.5,\"rows\":100,"
        "\"performance\":{\"all\":{\"precision\":null,\"recall\":0.75}}}}";
    assert_int_equal(pdm_retrain_parse_models(with, &s, err, sizeof err), 0);
    assert_int_equal(s.available, 1);
    assert_string_equal(s.version, "b2");
    assert_true(s.hours == 36.5);
    assert_true(isnan(s.precision)); /* null: undefined */
    assert_true(s.recall == 0.75);
    assert_true(s.current_precision == 0.25); /* "all", not "rolling" */
    assert_true(s.current_recall == 0.5);
    assert_int_equal(
        pdm_retrain_parse_models("{\"current\":{\"version\":\"a1\"},\"shadow\":null}", &s,
                                 err, sizeof err),
        0);
    assert_int_equal(s.available, 0);
    assert_int_equal(pdm_retrain_parse_models("not json", &s, err, sizeof err), -1);
    assert_int_equal(pdm_retrain_parse_models("{\"shadow\":{\"hours\":3}}", &s, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "/v1/models"));
    assert_int_equal(s.available, 0);
}

static void test_days(void **state)
{
    (void)state;
    char from[16], split[16], err[256];
    assert_int_equal(pdm_retrain_days("2015-03-01", 30, 7, from, split, err, sizeof err), 0);
    assert_string_equal(from, "2015-01-31");
    assert_string_equal(split, "2015-02-23");
    assert_int_equal(pdm_retrain_days("2015-03-01", 1, 0, from, split, err, sizeof err), 0);
    assert_string_equal(from, "2015-03-01");
    assert_string_equal(split, "");
    assert_int_equal(pdm_retrain_days("2015-3-1", 30, 7, from, split, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a day"));
    assert_int_equal(pdm_retrain_days(NULL, 30, 7, from, split, err, sizeof err), -1);
    assert_int_equal(pdm_retrain_days("2015-03-01", 0, 0, from, split, err, sizeof err), -1);
    assert_non_null(strstr(err, "--days"));
    assert_int_equal(pdm_retrain_days("2015-03-01", 7, 7, from, split, err, sizeof err), -1);
    assert_non_null(strstr(err, "--holdout-days"));
}

/* The metrics document: every figure the state gives, as Prometheus reads it;
 * what is unknown left out; the last decision the one series at 1. */
static void test_metrics_text(void **state)
{
    (void)state;
    pdm_buf b = {0};
    pdm_retrain_metrics m = {
        .now_ms = T0 + 90 * HOUR + 500,
        .last_run_ms = T0 + 89 * HOUR,
        .last_success_ms = T0 + 10 * HOUR,
        .failures_in_row = 3,
        .model_trained_ms = T0,
        .current_version = "ab12cd34ef56",
        .last_decision = "failed",
        .candidate_pr_auc = 0.75,
        .current_pr_auc = 0.5,
        .candidate_warn_precision = NAN,
        .current_warn_precision = 0.25,
    };
    assert_int_equal(pdm_retrain_metrics_text(&m, &b), 0);
    const char *want[] = {
        "# TYPE pdm_retrain_last_evaluation_timestamp_seconds gauge\n",
        "\npdm_retrain_last_evaluation_timestamp_seconds 1420567200.5\n",
        "\npdm_retrain_last_run_timestamp_seconds 1420563600\n",
        "\npdm_retrain_last_success_timestamp_seconds 1420279200\n",
        "\npdm_retrain_consecutive_failures 3\n",
        "\npdm_retrain_model_trained_timestamp_seconds 1420243200\n",
        "\npdm_retrain_model_info{version=\"ab12cd34ef56\"} 1\n",
        "\npdm_retrain_last_decision{decision=\"failed\"} 1\n",
        "\npdm_retrain_last_decision{decision=\"promoted\"} 0\n",
        "\npdm_retrain_last_decision{decision=\"rolled_back\"} 0\n",
        "\npdm_retrain_candidate_pr_auc 0.75\n",
        "\npdm_retrain_current_pr_auc 0.5\n",
        "\npdm_retrain_current_warn_precision 0.25\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(b.data, want[i]))
            fail_msg("missing %s in:\n%s", want[i], b.data);
    assert_null(strstr(b.data, "candidate_warn_precision")); /* NaN: left out */
    int ones = 0;
    for (const char *q = b.data; (q = strstr(q, "pdm_retrain_last_decision{")) != NULL; q++)
        ones += strncmp(strchr(q, '}'), "} 1\n", 4) == 0;
    assert_int_equal(ones, 1);
    pdm_buf_free(&b);

    /* a new installation: never ran, no model, no decision */
    pdm_retrain_metrics fresh = {.now_ms = T0, .last_run_ms = INT64_MIN,
                                 .last_success_ms = INT64_MIN, .model_trained_ms = INT64_MIN,
                                 .current_version = "", .last_decision = "",
                                 .candidate_pr_auc = NAN, .current_pr_auc = NAN,
                                 .candidate_warn_precision = NAN, .current_warn_precision = NAN};
    assert_int_equal(pdm_retrain_metrics_text(&fresh, &b), 0);
    assert_non_null(strstr(b.data, "\npdm_retrain_consecutive_failures 0\n"));
    assert_null(strstr(b.data, "last_run_timestamp"));
    assert_null(strstr(b.data, "model_trained"));
    assert_null(strstr(b.data, "model_info"));
    assert_null(strstr(b.data, "} 1\n"));
    assert_null(strstr(b.data, "pr_auc"));
    pdm_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),      cmocka_unit_test(test_parse_drift),
        cmocka_unit_test(test_drift_history), cmocka_unit_test(test_drift_due),
        cmocka_unit_test(test_recall_due),    cmocka_unit_test(test_first_due),
        cmocka_unit_test(test_promotion),     cmocka_unit_test(test_shadow),
        cmocka_unit_test(test_shadow_verdict), cmocka_unit_test(test_parse_models),
        cmocka_unit_test(test_days),          cmocka_unit_test(test_metrics_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
