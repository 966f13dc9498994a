/* Unit tests of monitor/'s Prometheus registry: exact exposition lines,
 * escaping, histograms, validation, threads, process metrics, and promtool's
 * verdict on a rendering with every kind. Drift on hand-made histograms is
 * test_monitor_psi.c, the live precision/recall rules test_monitor_perf.c,
 * drift on simulated fleets test_monitor_drift.c. */
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

#include "pdm_monitor.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_exposition), cmocka_unit_test(test_registry_rejects),
        cmocka_unit_test(test_registry_threads),    cmocka_unit_test(test_process_metrics),
        cmocka_unit_test(test_registry_collector),  cmocka_unit_test(test_promtool_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
