/* Unit tests of monitor/: the Prometheus registry (exact exposition lines,
 * escaping, histograms, validation, threads, process metrics, and promtool's
 * verdict on a rendering with every kind), drift on hand-made histograms
 * (windows by rows and by time, the PSI formula, missing shares, JSON), and
 * the live precision/recall rules on hand cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "pdm_monitor.h"

#define H PDM_MS_PER_HOUR
#define DAY (24 * H)

static int contains_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

static void assert_line(const char *text, const char *line)
{
    if (!contains_line(text, line))
        fail_msg("line not found: %s\n--- in ---\n%s", line, text);
}

/* ==== registry ============================================================ */

static pdm_registry *every_kind(unsigned flags)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_registry *r = pdm_registry_new(flags, err, sizeof err);
    assert_non_null(r);
    const char *topic[] = {"topic"};
    const char *two[] = {"stage", "result"};
    pdm_metric *events =
        pdm_registry_counter(r, "pdm_events", "Events consumed.", topic, 1, err, sizeof err);
    assert_non_null(events);
    pdm_metric *plain =
        pdm_registry_counter(r, "pdm_restarts_total", "Restarts.", NULL, 0, err, sizeof err);
    assert_non_null(plain);
    pdm_metric *lag = pdm_registry_gauge(r, "pdm_lag_seconds", "Lag behind\nthe \\ stream.", NULL,
                                         0, err, sizeof err);
    assert_non_null(lag);
    pdm_metric *state =
        pdm_registry_gauge(r, "pdm_stage_state", "Stage state.", two, 2, err, sizeof err);
    assert_non_null(state);
    const double b[] = {0.001, 0.01, 0.1, 1};
    pdm_metric *lat = pdm_registry_histogram(r, "pdm_batch_seconds", "Batch latency.", topic, 1, b,
                                             4, err, sizeof err);
    assert_non_null(lat);
    pdm_metric *plain_h =
        pdm_registry_histogram(r, "pdm_rows_per_batch", "Rows per batch.", NULL, 0,
                               (const double[]){10, 100, 1000}, 3, err, sizeof err);
    assert_non_null(plain_h);

    const char *a[] = {"telemetry"};
    const char *weird[] = {"a\\b\"c\nd"};
    pdm_metric_add(pdm_metric_with(events, a), 3);
    pdm_metric_add(pdm_metric_with(events, a), 2);
    pdm_metric_add(pdm_metric_with(events, a), -7); /* counters never go down */
    pdm_metric_add(pdm_metric_with(events, weird), 1);
    pdm_metric_add(pdm_metric_with(plain, NULL), 1);
    pdm_metric_set(pdm_metric_with(lag, NULL), 2.5);
    pdm_metric_add(pdm_metric_with(lag, NULL), -1);
    const char *s1[] = {"score", "ok"};
    pdm_metric_set(pdm_metric_with(state, s1), 1);
    pdm_metric_child *l = pdm_metric_with(lat, a);
    pdm_metric_observe(l, 0.0005);
    pdm_metric_observe(l, 0.01); /* le is inclusive */
    pdm_metric_observe(l, 0.05);
    pdm_metric_observe(l, 5);
    pdm_metric_observe(l, NAN); /* ignored */
    pdm_metric_observe(pdm_metric_with(plain_h, NULL), 1000);
    return r;
}

static void test_registry_exposition(void **state)
{
    pdm_registry *r = every_kind(0);
    pdm_buf out = {0};
    assert_int_equal(pdm_registry_render(r, &out), 0);
    const char *t = out.data;
    assert_line(t, "# HELP pdm_events_total Events consumed.");
    assert_line(t, "# TYPE pdm_events_total counter");
    assert_line(t, "pdm_events_total{topic=\"telemetry\"} 5");
    assert_line(t, "pdm_events_total{topic=\"a\\\\b\\\"c\\nd\"} 1");
    assert_line(t, "# TYPE pdm_restarts_total counter"); /* no second _total */
    assert_line(t, "pdm_restarts_total 1");
    assert_line(t, "# HELP pdm_lag_seconds Lag behind\\nthe \\\\ stream.");
    assert_line(t, "# TYPE pdm_lag_seconds gauge");
    assert_line(t, "pdm_lag_seconds 1.5");
    assert_line(t, "pdm_stage_state{stage=\"score\",result=\"ok\"} 1");
    assert_line(t, "# TYPE pdm_batch_seconds histogram");
    assert_line(t, "pdm_batch_seconds_bucket{topic=\"telemetry\",le=\"0.001\"} 1");
    assert_line(t, "pdm_batch_seconds_bucket{topic=\"telemetry\",le=\"0.01\"} 2");
    assert_line(t, "pdm_batch_seconds_bucket{topic=\"telemetry\",le=\"0.1\"} 3");
    assert_line(t, "pdm_batch_seconds_bucket{topic=\"telemetry\",le=\"1\"} 3");
    assert_line(t, "pdm_batch_seconds_bucket{topic=\"telemetry\",le=\"+Inf\"} 4");
    assert_line(t, "pdm_batch_seconds_sum{topic=\"telemetry\"} 5.0605");
    assert_line(t, "pdm_batch_seconds_count{topic=\"telemetry\"} 4");
    assert_line(t, "pdm_rows_per_batch_bucket{le=\"100\"} 0");
    assert_line(t, "pdm_rows_per_batch_bucket{le=\"1000\"} 1");
    assert_line(t, "pdm_rows_per_batch_count 1");
    assert_null(strstr(t, "process_"));
    /* HELP comes right before TYPE, families in registration order. */
    assert_true(strstr(t, "# HELP pdm_events_total") < strstr(t, "# TYPE pdm_events_total"));
    assert_true(strstr(t, "pdm_events_total") < strstr(t, "pdm_lag_seconds"));
    pdm_buf_free(&out);
    pdm_registry_destroy(r);
}

static void test_registry_rejects(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_registry *r = pdm_registry_new(PDM_REGISTRY_PROCESS_METRICS, err, sizeof err);
    const char *le[] = {"le"}, *dup[] = {"a", "a"}, *bad[] = {"__x"}, *dash[] = {"a-b"};
    assert_null(pdm_registry_gauge(r, "9lives", "h", NULL, 0, err, sizeof err));
    assert_null(pdm_registry_gauge(r, "has space", "h", NULL, 0, err, sizeof err));
    assert_null(pdm_registry_gauge(r, "", "h", NULL, 0, err, sizeof err));
    assert_null(pdm_registry_gauge(r, "no_help", "", NULL, 0, err, sizeof err));
    assert_null(pdm_registry_gauge(r, "x", "h", dup, 2, err, sizeof err));
    assert_null(pdm_registry_gauge(r, "x", "h", bad, 1, err, sizeof err));
    assert_null(pdm_registry_gauge(r, "x", "h", dash, 1, err, sizeof err));
    assert_null(
        pdm_registry_histogram(r, "h", "h", le, 1, (const double[]){1}, 1, err, sizeof err));
    assert_null(
        pdm_registry_histogram(r, "h", "h", NULL, 0, (const double[]){1, 1}, 2, err, sizeof err));
    assert_null(pdm_registry_histogram(r, "h", "h", NULL, 0, (const double[]){1, INFINITY}, 2, err,
                                       sizeof err));
    assert_null(pdm_registry_histogram(r, "h", "h", NULL, 0, NULL, 0, err, sizeof err));
    assert_non_null(pdm_registry_gauge(r, "ok:name_1", "h", NULL, 0, err, sizeof err));
    assert_null(pdm_registry_gauge(r, "ok:name_1", "h", NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "twice"));
    assert_non_null(pdm_registry_counter(r, "c", "h", NULL, 0, err, sizeof err));
    assert_null(pdm_registry_counter(r, "c_total", "h", NULL, 0, err, sizeof err));
    assert_null(pdm_registry_gauge(r, "process_open_fds", "h", NULL, 0, err, sizeof err));
    /* Children need every label value. */
    const char *two[] = {"a", "b"};
    pdm_metric *m = pdm_registry_gauge(r, "g2", "h", two, 2, err, sizeof err);
    assert_non_null(m);
    assert_null(pdm_metric_with(m, NULL));
    assert_null(pdm_metric_with(m, (const char *[]){"x", NULL}));
    assert_ptr_equal(pdm_metric_with(m, (const char *[]){"x", "y"}),
                     pdm_metric_with(m, (const char *[]){"x", "y"}));
    assert_ptr_not_equal(pdm_metric_with(m, (const char *[]){"x", "y"}),
                         pdm_metric_with(m, (const char *[]){"y", "x"}));
    pdm_registry_destroy(r);
    pdm_registry_destroy(NULL);
}

typedef struct {
    pdm_metric_child *c;
    pdm_metric_child *h;
    pdm_registry *r;
    int render;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < 100000; i++) {
        if (a->render && i % 1000 == 0) {
            pdm_buf b = {0};
            pdm_registry_render(a->r, &b);
            pdm_buf_free(&b);
        }
        pdm_metric_add(a->c, 1);
        pdm_metric_observe(a->h, (double)(i % 10));
    }
    return NULL;
}

static void test_registry_threads(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_registry *r = pdm_registry_new(0, err, sizeof err);
    pdm_metric *c = pdm_registry_counter(r, "n", "n", NULL, 0, err, sizeof err);
    pdm_metric *h =
        pdm_registry_histogram(r, "v", "v", NULL, 0, (const double[]){4.5}, 1, err, sizeof err);
    worker_arg a = {pdm_metric_with(c, NULL), pdm_metric_with(h, NULL), r, 0};
    worker_arg b = a;
    b.render = 1;
    pthread_t t1, t2;
    double t0 = pdm_monotonic_s();
    assert_int_equal(pthread_create(&t1, NULL, worker, &a), 0);
    assert_int_equal(pthread_create(&t2, NULL, worker, &b), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    double dt = pdm_monotonic_s() - t0;
    print_message("400k contended updates in %.3f s (%.0f ns each)\n", dt, dt / 400000 * 1e9);
    assert_true(pdm_metric_value(a.c) == 200000.0);
    assert_true(pdm_metric_value(a.h) == 200000.0);
    pdm_buf out = {0};
    assert_int_equal(pdm_registry_render(r, &out), 0);
    assert_line(out.data, "v_bucket{le=\"4.5\"} 100000");
    assert_line(out.data, "v_sum 900000");
    pdm_buf_free(&out);
    pdm_registry_destroy(r);
}

static void test_process_metrics(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_process_stats s;
    assert_int_equal(pdm_process_stats_read(&s, err, sizeof err), 0);
    assert_true(s.resident_bytes > 1e5 && s.resident_bytes <= s.virtual_bytes);
    assert_true(s.open_fds >= 3 && s.open_fds < s.max_fds);
    double now = (double)pdm_now_ms() / 1000;
    assert_true(s.start_time_seconds <= now + 1 && s.start_time_seconds > now - 3600);
    assert_true(s.cpu_seconds >= 0 && s.cpu_seconds < 3600);
    /* One more open file shows. */
    FILE *f = fopen("/proc/self/stat", "r");
    pdm_process_stats s2;
    assert_int_equal(pdm_process_stats_read(&s2, err, sizeof err), 0);
    assert_true(s2.open_fds == s.open_fds + 1);
    fclose(f);

    pdm_registry *r = pdm_registry_new(PDM_REGISTRY_PROCESS_METRICS, err, sizeof err);
    pdm_buf out = {0};
    assert_int_equal(pdm_registry_render(r, &out), 0);
    const char *names[] = {"process_resident_memory_bytes",
                           "process_virtual_memory_bytes",
                           "process_cpu_seconds_total",
                           "process_open_fds",
                           "process_max_fds",
                           "process_start_time_seconds"};
    for (size_t i = 0; i < 6; i++) {
        char want[96];
        snprintf(want, sizeof want, "\n%s ", names[i]);
        assert_non_null(strstr(out.data, want));
    }
    assert_line(out.data, "# TYPE process_cpu_seconds_total counter");
    pdm_buf_free(&out);
    pdm_registry_destroy(r);
}

static void collect(void *ctx, pdm_registry *r)
{
    int *calls = ctx;
    (*calls)++;
}

static void test_registry_collector(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_registry *r = pdm_registry_new(0, err, sizeof err);
    int calls = 0;
    pdm_registry_set_collector(r, collect, &calls);
    pdm_buf out = {0};
    pdm_registry_render(r, &out);
    pdm_registry_render(r, &out);
    assert_int_equal(calls, 2);
    pdm_buf_free(&out);
    pdm_registry_destroy(r);
}

/* scripts/install-deps.sh installs promtool (Debian package prometheus):
 * without it the test fails (a cmocka skip() would be counted as a pass). */
static void require_promtool(void)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        fail_msg("promtool is not on PATH (Debian package prometheus): run "
                 "scripts/install-deps.sh");
}

static void test_promtool_accepts(void **state)
{
    require_promtool();
    pdm_registry *r = every_kind(PDM_REGISTRY_PROCESS_METRICS);
    pdm_buf out = {0};
    assert_int_equal(pdm_registry_render(r, &out), 0);
    char path[] = "/tmp/pdm-test-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char said[4096] = "";
    size_t n = fread(said, 1, sizeof said - 1, p);
    said[n] = '\0';
    int status = pclose(p);
    unlink(path);
    if (status != 0 || n != 0)
        fail_msg("promtool complained (status %d):\n%s\n--- on ---\n%s", status, said, out.data);
    /* And it does complain about a broken exposition (so its silence means
     * something): a counter without _total. */
    snprintf(path, sizeof path, "/tmp/pdm-test-metrics-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "# HELP x x\n# TYPE x counter\nx 1\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s >/dev/null 2>&1", path);
    assert_int_not_equal(system(cmd), 0);
    unlink(path);
    pdm_buf_free(&out);
    pdm_registry_destroy(r);
}

/* ==== drift on hand-made histograms ====================================== */

/* Reference: every feature uniform over 0..999 (edges at the deciles) with
 * 20% missing; risk uniform over [0, 1). */
static void uniform_reference(pdm_histogram ref[PDM_N_FEATURES], pdm_histogram *risk)
{
    char err[PDM_ERRSTR_SIZE];
    double v[1250], rv[1000];
    for (int i = 0; i < 1250; i++)
        v[i] = i < 1000 ? i : NAN;
    for (int i = 0; i < 1000; i++)
        rv[i] = i / 1000.0;
    for (int f = 0; f < PDM_N_FEATURES; f++)
        assert_int_equal(pdm_histogram_build(v, 1250, 1, &ref[f], err, sizeof err), 0);
    assert_int_equal(pdm_histogram_build(rv, 1000, 1, risk, err, sizeof err), 0);
}

static double hand_psi(const double *a, const double *e)
{
    double s = 0, eps = PDM_DRIFT_SMOOTHING;
    for (int b = 0; b < 10; b++) {
        double x = (a[b] + eps) / (1 + 10 * eps), y = (e[b] + eps) / (1 + 10 * eps);
        s += (x - y) * log(x / y);
    }
    return s;
}

static void test_drift_formula(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_histogram ref[PDM_N_FEATURES], risk;
    uniform_reference(ref, &risk);
    pdm_drift_options o;
    pdm_drift_options_init(&o);
    assert_int_equal(o.window_rows, 10000);
    assert_int_equal(o.window_ms, 300000);
    o.window_rows = 1000;
    pdm_drift *d = pdm_drift_new(ref, &risk, &o, err, sizeof err);
    assert_non_null(d);
    pdm_drift_result res;
    pdm_drift_get(d, &res);
    assert_false(res.ready);
    assert_true(isnan(res.feature[0].psi));
    assert_true(fabs(res.feature[0].reference_missing - 0.2) < 1e-12);

    /* 1000 rows: feature 0 follows the reference (a share per decile),
     * feature 1 sits in the lowest decile, feature 2 has 50% missing and the
     * rest in the top two deciles; feature 3 is all missing. */
    double *rows = calloc(1000 * PDM_N_FEATURES, sizeof *rows);
    double rk[1000];
    for (int i = 0; i < 1000; i++) {
        double *row = rows + i * PDM_N_FEATURES;
        for (int f = 0; f < PDM_N_FEATURES; f++)
            row[f] = (i * 7919) % 1000; /* a permutation of 0..999 */
        row[1] = (i % 100) + 0.5;
        row[2] = i % 2 ? NAN : 800 + (i % 200);
        row[3] = NAN;
        rk[i] = i < 900 ? 0.95 : NAN; /* all in the top bin, 10% missing */
    }
    assert_int_equal(pdm_drift_observe(d, rows, rk, 999, 1000), 0);
    pdm_drift_get(d, &res);
    assert_false(res.ready);
    assert_int_equal(res.rows_pending, 999);
    assert_int_equal(pdm_drift_observe(d, rows + 999 * PDM_N_FEATURES, rk + 999, 1, 2000), 1);
    pdm_drift_get(d, &res);
    assert_true(res.ready);
    assert_int_equal(res.windows, 1);
    assert_int_equal(res.rows, 1000);
    assert_int_equal(res.rows_pending, 0);
    assert_int_equal(res.window_start_ms, 1000);
    assert_int_equal(res.window_end_ms, 2000);

    /* The reference's non-missing shares are 1/10 per bin. */
    double e[10], a[10];
    for (int b = 0; b < 10; b++)
        e[b] = ref[0].share[b] / (1 - ref[0].missing);
    for (int b = 0; b < 10; b++)
        assert_true(fabs(e[b] - 0.1) < 1e-12);
    assert_true(res.feature[0].psi < 1e-12);
    assert_true(res.feature[0].missing == 0);
    memset(a, 0, sizeof a);
    a[0] = 1;
    assert_true(fabs(res.feature[1].psi - hand_psi(a, e)) < 1e-12);
    assert_true(res.feature[1].psi > 2); /* ln(1e4) territory */
    memset(a, 0, sizeof a);
    a[8] = a[9] = 0.5;
    assert_true(fabs(res.feature[2].psi - hand_psi(a, e)) < 1e-12);
    assert_true(fabs(res.feature[2].missing - 0.5) < 1e-12);
    assert_true(isnan(res.feature[3].psi));
    assert_true(res.feature[3].missing == 1);
    assert_string_equal(pdm_drift_status(res.feature[3].psi), "unknown");
    assert_int_equal(res.max_psi_feature, 1);
    assert_true(res.max_psi == res.feature[1].psi);
    memset(a, 0, sizeof a);
    a[9] = 1;
    assert_true(fabs(res.risk.psi - hand_psi(a, e)) < 1e-12);
    assert_true(fabs(res.risk.missing - 0.1) < 1e-12);
    assert_string_equal(pdm_drift_status(0.05), "stable");
    assert_string_equal(pdm_drift_status(0.2), "moderate");
    assert_string_equal(pdm_drift_status(0.3), "major");

    /* JSON: 27 named features, null for NaN. */
    cJSON *j = pdm_drift_to_json(&res);
    assert_non_null(j);
    cJSON *fs = cJSON_GetObjectItem(j, "features");
    assert_int_equal(cJSON_GetArraySize(fs), PDM_N_FEATURES);
    cJSON *f1 = cJSON_GetArrayItem(fs, 1);
    assert_string_equal(cJSON_GetObjectItem(f1, "name")->valuestring, pdm_feature_name(1));
    assert_string_equal(cJSON_GetObjectItem(f1, "status")->valuestring, "major");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(fs, 3), "psi")));
    assert_string_equal(cJSON_GetObjectItem(j, "max_psi_feature")->valuestring,
                        pdm_feature_name(1));
    char *text = cJSON_PrintUnformatted(j);
    cJSON *back = cJSON_Parse(text); /* valid JSON despite the NaNs */
    assert_non_null(back);
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(j);
    free(rows);
    pdm_drift_destroy(d);
}

static void test_drift_windows_by_time(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_histogram ref[PDM_N_FEATURES], risk;
    uniform_reference(ref, &risk);
    pdm_drift_options o = {.window_rows = 10000, .window_ms = 300000, .min_rows = 100};
    pdm_drift *d = pdm_drift_new(ref, NULL, &o, err, sizeof err);
    assert_non_null(d);
    double row[PDM_N_FEATURES];
    for (int f = 0; f < PDM_N_FEATURES; f++)
        row[f] = 500;
    /* 50 rows, then time is up, but the window is too small: it grows. */
    for (int i = 0; i < 50; i++)
        assert_int_equal(pdm_drift_observe(d, row, NULL, 1, 1000 + i), 0);
    assert_int_equal(pdm_drift_poll(d, 1000 + 300000), 0);
    for (int i = 0; i < 49; i++)
        assert_int_equal(pdm_drift_observe(d, row, NULL, 1, 400000), 0);
    /* The 100th row closes it (time is long up). */
    assert_int_equal(pdm_drift_observe(d, row, NULL, 1, 400001), 1);
    pdm_drift_result res;
    pdm_drift_get(d, &res);
    assert_int_equal(res.rows, 100);
    assert_int_equal(res.window_start_ms, 1000);
    assert_true(isnan(res.risk.psi)); /* no risk reference, no risks */
    assert_true(isnan(res.risk.missing));
    /* The next window opens at its first row; poll closes it on time. */
    for (int i = 0; i < 150; i++)
        pdm_drift_observe(d, row, NULL, 1, 500000);
    assert_int_equal(pdm_drift_poll(d, 500000 + 299999), 0);
    assert_int_equal(pdm_drift_poll(d, 500000 + 300000), 1);
    pdm_drift_get(d, &res);
    assert_int_equal(res.windows, 2);
    assert_int_equal(res.rows, 150);
    assert_int_equal(res.rows_total, 250);
    assert_int_equal(pdm_drift_poll(d, 900000), 0); /* nothing pending */
    pdm_drift_destroy(d);

    o.window_rows = 0;
    assert_null(pdm_drift_new(ref, NULL, &o, err, sizeof err));
    pdm_drift_destroy(NULL);
}

/* ==== live performance ==================================================== */

static pdm_perf *perf_new(int window_days)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_perf_options o;
    pdm_perf_options_init(&o);
    assert_int_equal(o.horizon_ms, 24 * H);
    assert_int_equal(o.window_days, 30);
    o.window_days = window_days;
    pdm_perf *p = pdm_perf_new(&o, err, sizeof err);
    assert_non_null(p);
    return p;
}

#define ASSERT_COUNTS(c, tp_, fp_, caught_, missed_)                                               \
    do {                                                                                           \
        assert_int_equal((c).tp, tp_);                                                             \
        assert_int_equal((c).fp, fp_);                                                             \
        assert_int_equal((c).caught, caught_);                                                     \
        assert_int_equal((c).missed, missed_);                                                     \
    } while (0)

static void test_perf_empty(void **state)
{
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 0, 0, 0, 0);
    assert_true(isnan(s.all.precision) && isnan(s.all.recall));
    assert_true(isnan(s.rolling.precision) && isnan(s.rolling.recall));
    assert_true(s.event_time_ms == INT64_MIN);
    cJSON *j = pdm_perf_to_json(&s);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "all"), "precision")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "event_time")));
    cJSON_Delete(j);
    pdm_perf_destroy(p);
    pdm_perf_destroy(NULL);
}

static void test_perf_horizon_boundaries(void **state)
{
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* m1: failure exactly at t + H: true positive, caught. */
    assert_int_equal(pdm_perf_alert(p, 1, t0), 0);
    assert_int_equal(pdm_perf_failure(p, 1, t0 + 24 * H), 0);
    /* m2: failure 1 ms after t + H: the alert expires first. */
    assert_int_equal(pdm_perf_alert(p, 2, t0), 0);
    assert_int_equal(pdm_perf_observe(p, 2, t0 + 24 * H), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.pending, 1); /* m2's alert may still be claimed at t + H */
    assert_int_equal(pdm_perf_failure(p, 2, t0 + 24 * H + 1), 0);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 1, 1, 1, 1);
    assert_int_equal(s.pending, 0);
    /* m3: failure at the alert's own ts: neither claims the other. */
    pdm_perf_alert(p, 3, t0);
    pdm_perf_failure(p, 3, t0);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 1, 1, 1, 2);
    assert_int_equal(s.pending, 1);
    pdm_perf_observe(p, 3, t0 + 24 * H + 1);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 1, 2, 1, 2);
    assert_int_equal(s.pending, 0);
    assert_true(fabs(s.all.precision - 1.0 / 3) < 1e-12);
    assert_true(fabs(s.all.recall - 1.0 / 3) < 1e-12);
    assert_int_equal(s.machines, 3);
    assert_int_equal(s.alerts, 3);
    assert_int_equal(s.failures, 3);
    pdm_perf_destroy(p);
}

/* Incidents stand for every time they are open: a failure long after the
 * opening is caught while open; once ended, by the world up to its end,
 * otherwise up to its end + H; an open one is never retired. */
static void test_perf_incidents(void **state)
{
    (void)state;
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* m1: open for 3 days, then fails: a row alert would have expired. */
    assert_int_equal(pdm_perf_incident(p, 1, t0), 0);
    assert_int_equal(pdm_perf_incident(p, 1, t0), 0); /* a repeat counts once */
    assert_int_equal(pdm_perf_observe(p, 1, t0 + 72 * H), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.pending, 1);
    assert_int_equal(pdm_perf_failure(p, 1, t0 + 72 * H), 0);
    assert_int_equal(pdm_perf_incident_end(p, 1, t0, t0 + 72 * H, 1), 0);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 1, 0, 1, 0);
    /* m2: cleared at e; a failure at e + H still matches it, claimed. */
    pdm_perf_incident(p, 2, t0);
    pdm_perf_incident_end(p, 2, t0, t0 + 10 * H, 0);
    pdm_perf_failure(p, 2, t0 + 34 * H);
    /* m3: repaired at e (the world): a failure after e is not its. */
    pdm_perf_incident(p, 3, t0);
    pdm_perf_incident_end(p, 3, t0, t0 + 10 * H, 1);
    pdm_perf_failure(p, 3, t0 + 10 * H + 1);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 2, 1, 2, 1);
    /* m4: cleared, and no failure until its e + H passes: false. An end of
     * an incident not seen opening (before a restart) adds it. */
    pdm_perf_incident_end(p, 4, t0, t0 + 10 * H, 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.pending, 1);
    pdm_perf_observe(p, 4, t0 + 34 * H + 1);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 2, 2, 2, 1);
    assert_int_equal(s.pending, 0);
    assert_int_equal(s.alerts, 4);
    pdm_perf_destroy(p);
}

/* Lead time of each caught failure: from the earliest alert or incident
 * opening that caught it; the mean and the median (to the hour) over them;
 * missed failures have none. */
static void test_perf_lead_times(void **state)
{
    (void)state;
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    pdm_perf_get(p, &s);
    assert_int_equal(s.lead_times, 0);
    assert_true(isnan(s.lead_time_mean_hours) && isnan(s.lead_time_median_hours));
    cJSON *j = pdm_perf_to_json(&s);
    const cJSON *lead = cJSON_GetObjectItemCaseSensitive(j, "lead_time_hours");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(lead, "median")));
    cJSON_Delete(j);
    /* m1: alerts at t0 and t0 + 5 h, failure at t0 + 20 h: 20 h (the earliest) */
    pdm_perf_alert(p, 1, t0);
    pdm_perf_alert(p, 1, t0 + 5 * H);
    pdm_perf_failure(p, 1, t0 + 20 * H);
    /* m2: 1 h; m3: an incident open 72 h before the failure: 72 h */
    pdm_perf_alert(p, 2, t0 + 2 * H);
    pdm_perf_failure(p, 2, t0 + 3 * H);
    pdm_perf_incident(p, 3, t0);
    pdm_perf_failure(p, 3, t0 + 72 * H);
    /* m4: missed (its alert expired): no lead time; m1 again, the same
     * breakdown's second component: counted once */
    pdm_perf_alert(p, 4, t0);
    pdm_perf_failure(p, 4, t0 + 30 * H);
    pdm_perf_failure(p, 1, t0 + 20 * H);
    pdm_perf_get(p, &s);
    assert_int_equal(s.all.caught, 3);
    assert_int_equal(s.all.missed, 1);
    assert_int_equal(s.lead_times, 3);
    assert_true(fabs(s.lead_time_mean_hours - 31.0) < 1e-9);
    assert_true(fabs(s.lead_time_median_hours - 20.0) < 1e-9);
    j = pdm_perf_to_json(&s);
    lead = cJSON_GetObjectItemCaseSensitive(j, "lead_time_hours");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(lead, "caught")->valueint, 3);
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(lead, "median")->valuedouble - 20.0) < 1e-9);
    cJSON_Delete(j);
    pdm_perf_destroy(p);
}

static void test_perf_alert_sequences(void **state)
{
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* Two alerts before one failure: two true positives, one catch; the
     * same alert repeated counts once; two failures at one ts are one. */
    pdm_perf_alert(p, 7, t0);
    pdm_perf_alert(p, 7, t0);
    pdm_perf_alert(p, 7, t0 + 5 * H);
    pdm_perf_failure(p, 7, t0 + 10 * H);
    pdm_perf_failure(p, 7, t0 + 10 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 2, 0, 1, 0);
    assert_int_equal(s.alerts, 2);
    assert_int_equal(s.failures, 1);
    /* A second failure 2 h later is caught by the same (claimed) alerts,
     * which are not counted again. */
    pdm_perf_failure(p, 7, t0 + 12 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 2, 0, 2, 0);
    /* An alert after the failure is a new prediction: false positive
     * unless the machine fails again within H. */
    pdm_perf_alert(p, 7, t0 + 13 * H);
    pdm_perf_observe(p, 7, t0 + 37 * H + 1);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 2, 1, 2, 0);
    pdm_perf_alert(p, 7, t0 + 40 * H);
    pdm_perf_failure(p, 7, t0 + 41 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 3, 1, 3, 0);
    /* A failure more than H after the last alert is missed. */
    pdm_perf_failure(p, 7, t0 + 66 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 3, 1, 3, 1);
    pdm_perf_destroy(p);
}

static void test_perf_machines_apart(void **state)
{
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* m1's alert does not catch m2's failure, and m2's clock does not
     * expire m1's alert. */
    pdm_perf_alert(p, 1, t0);
    pdm_perf_failure(p, 2, t0 + H);
    pdm_perf_observe(p, 2, t0 + 48 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 0, 0, 0, 1);
    assert_int_equal(s.pending, 1);
    int32_t ids[] = {1, 2, 1};
    int64_t ts[] = {t0 + 2 * H, t0 + 49 * H, t0 + 25 * H};
    assert_int_equal(pdm_perf_observe_batch(p, ids, ts, NULL, 3), 0);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 0, 1, 0, 1);
    assert_int_equal(s.event_time_ms, t0 + 49 * H);
    /* Many machines: 1000 machines, every odd one fails 3 h after its alert. */
    for (int32_t m = 100; m < 1100; m++)
        pdm_perf_alert(p, m, t0 + 50 * H);
    for (int32_t m = 101; m < 1100; m += 2)
        pdm_perf_failure(p, m, t0 + 53 * H);
    for (int32_t m = 100; m < 1100; m++)
        pdm_perf_observe(p, m, t0 + 80 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 500, 501, 500, 1);
    assert_int_equal(s.machines, 1002);
    assert_int_equal(s.pending, 0);
    pdm_perf_destroy(p);

    /* The batch form with alert flags is the same sequence of calls: a
     * machine's rows spanning more than the horizon, alerts among them. */
    pdm_perf *one = perf_new(30), *batch = perf_new(30);
    int32_t bid[40];
    int64_t bts[40];
    unsigned char alert[40];
    for (int i = 0; i < 40; i++) {
        bid[i] = 1 + i % 2;
        bts[i] = t0 + (int64_t)(i / 2) * 3 * H;
        alert[i] = i % 7 == 0 || i % 11 == 0;
        if (alert[i])
            pdm_perf_alert(one, bid[i], bts[i]);
        else
            pdm_perf_observe(one, bid[i], bts[i]);
        if (i == 30)
            pdm_perf_failure(one, 1, t0 + 46 * H);
    }
    assert_int_equal(pdm_perf_observe_batch(batch, bid, bts, alert, 31), 0);
    pdm_perf_failure(batch, 1, t0 + 46 * H);
    assert_int_equal(pdm_perf_observe_batch(batch, bid + 31, bts + 31, alert + 31, 9), 0);
    pdm_perf_stats a, b;
    pdm_perf_get(one, &a);
    pdm_perf_get(batch, &b);
    assert_true(a.alerts > 0 && a.all.fp > 0);
    assert_int_equal(a.alerts, b.alerts);
    assert_int_equal(a.pending, b.pending);
    ASSERT_COUNTS(b.all, a.all.tp, a.all.fp, a.all.caught, a.all.missed);
    pdm_perf_destroy(one);
    pdm_perf_destroy(batch);
}

static void test_perf_rolling_window(void **state)
{
    pdm_perf *p = perf_new(2);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    /* Day 100: one caught failure; day 103: one missed failure and one
     * false positive. With a 2-day window only day 103 (and 102) count. */
    pdm_perf_alert(p, 1, t0 + H);
    pdm_perf_failure(p, 1, t0 + 2 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.rolling, 1, 0, 1, 0);
    pdm_perf_failure(p, 1, t0 + 3 * DAY + H);
    pdm_perf_alert(p, 1, t0 + 3 * DAY + 2 * H);
    pdm_perf_observe(p, 1, t0 + 4 * DAY + 3 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.all, 1, 1, 1, 1);
    ASSERT_COUNTS(s.rolling, 0, 1, 0, 1);
    assert_true(s.rolling.precision == 0 && s.rolling.recall == 0);
    assert_true(s.all.precision == 0.5 && s.all.recall == 0.5);
    /* Time moves on with another machine: day 104 is in, 103 still in. */
    pdm_perf_observe(p, 9, t0 + 4 * DAY + 5 * H);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.rolling, 0, 1, 0, 1);
    pdm_perf_observe(p, 9, t0 + 5 * DAY);
    pdm_perf_get(p, &s);
    ASSERT_COUNTS(s.rolling, 0, 0, 0, 0);
    assert_true(isnan(s.rolling.precision));
    ASSERT_COUNTS(s.all, 1, 1, 1, 1);
    cJSON *j = pdm_perf_to_json(&s);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "all"), "tp")->valueint, 1);
    assert_true(cJSON_GetObjectItem(j, "horizon_hours")->valuedouble == 24);
    assert_string_equal(cJSON_GetObjectItem(j, "event_time")->valuestring, "1970-04-16 00:00:00");
    cJSON_Delete(j);
    pdm_perf_destroy(p);
}

static void test_perf_bounded_state(void **state)
{
    /* One machine alerting every hour for a year: the pending list never
     * holds more than a horizon of alerts. */
    pdm_perf *p = perf_new(30);
    pdm_perf_stats s;
    uint64_t max_pending = 0;
    for (int64_t h = 0; h < 24 * 365; h++) {
        pdm_perf_alert(p, 5, h * H);
        pdm_perf_get(p, &s);
        if (s.pending > max_pending)
            max_pending = s.pending;
    }
    assert_true(max_pending <= 25);
    assert_int_equal(s.all.fp + s.pending, 24 * 365);
    pdm_perf_destroy(p);

    char err[PDM_ERRSTR_SIZE];
    pdm_perf_options o = {.horizon_ms = 0, .window_days = 30};
    assert_null(pdm_perf_new(&o, err, sizeof err));
    o = (pdm_perf_options){.horizon_ms = H, .window_days = 0};
    assert_null(pdm_perf_new(&o, err, sizeof err));
    pdm_perf_options_init(&o);
    assert_int_equal(o.max_machines, 1000000);
    o.max_machines = 7;
    assert_null(pdm_perf_new(&o, err, sizeof err));
}

/* 100,000 distinct machine ids, one reading each, against a bound of 1,000:
 * the tracker never holds more than the bound, counts every eviction, and
 * evicts the machines seen longest ago (event time): a machine that keeps
 * reporting keeps its alerts. An evicted machine's alert already past the
 * horizon counts as a false positive; a younger one is dropped uncounted. */
static void test_perf_machines_bounded(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_perf_options o;
    pdm_perf_options_init(&o);
    o.max_machines = 1000;
    pdm_perf *p = pdm_perf_new(&o, err, sizeof err);
    assert_non_null(p);
    pdm_perf_stats s;
    int64_t t0 = 100 * DAY;
    assert_int_equal(pdm_perf_alert(p, 1, t0 - 2 * DAY), 0); /* the oldest: evicted first */
    size_t most = 0;
    for (int32_t id = 100; id < 100100; id++) {
        int64_t t = t0 + (int64_t)(id - 100) * 60000; /* a minute apart */
        assert_int_equal(pdm_perf_observe(p, id, t), 0);
        /* machine 7 reports every 50 minutes; its alert at 50,000 is
         * claimed by its failure 10 h (600 new machines, 4 evictions) later */
        if (id % 50 == 0)
            assert_int_equal(pdm_perf_observe(p, 7, t), 0);
        if (id == 50000)
            assert_int_equal(pdm_perf_alert(p, 7, t), 0);
        if (id == 50600)
            assert_int_equal(pdm_perf_failure(p, 7, t), 0);
        pdm_perf_get(p, &s);
        if (s.machines > most)
            most = s.machines;
    }
    pdm_perf_get(p, &s);
    assert_true(most <= 1000);
    assert_true(s.machines > 800);
    assert_int_equal(s.evicted + s.machines, 100000 + 2);
    /* 1's alert, long past its horizon when evicted: a false positive;
     * 7's: a true positive, so 7 was never evicted */
    ASSERT_COUNTS(s.all, 1, 1, 1, 0);
    assert_int_equal(s.pending, 0);
    pdm_perf_destroy(p);

    /* an evicted machine's alert within the horizon is dropped, not counted */
    o.max_machines = 8;
    p = pdm_perf_new(&o, err, sizeof err);
    assert_int_equal(pdm_perf_alert(p, 1, t0), 0);
    for (int32_t id = 2; id <= 9; id++)
        assert_int_equal(pdm_perf_observe(p, id, t0 + H), 0);
    pdm_perf_get(p, &s);
    assert_int_equal(s.machines, 8);
    assert_int_equal(s.evicted, 1);
    assert_int_equal(s.pending, 0);
    ASSERT_COUNTS(s.all, 0, 0, 0, 0);
    pdm_perf_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_exposition),  cmocka_unit_test(test_registry_rejects),
        cmocka_unit_test(test_registry_threads),     cmocka_unit_test(test_process_metrics),
        cmocka_unit_test(test_registry_collector),   cmocka_unit_test(test_promtool_accepts),
        cmocka_unit_test(test_drift_formula),        cmocka_unit_test(test_drift_windows_by_time),
        cmocka_unit_test(test_perf_empty),           cmocka_unit_test(test_perf_horizon_boundaries),
        cmocka_unit_test(test_perf_alert_sequences), cmocka_unit_test(test_perf_incidents),
        cmocka_unit_test(test_perf_lead_times),
        cmocka_unit_test(test_perf_machines_apart),  cmocka_unit_test(test_perf_rolling_window),
        cmocka_unit_test(test_perf_bounded_state),   cmocka_unit_test(test_perf_machines_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
