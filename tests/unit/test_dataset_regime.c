/* Regime changes of the simulated fleet (issue 17, item 3): --shift parsing
 * and its effect (only the chosen signal of the chosen machines from the
 * chosen time on, by the stated amount; everything else the same fleet), a
 * share of machines drawn from the seed, and --churn (machines that join and
 * leave: contiguous telemetry, nothing of a machine outside its time but the
 * maintenance it came with, the CSV files equal to the stream). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "pdm_dataset.h"
#include "test_dataset_util.h"

static void test_shift_parse(void **unused)
{
    (void)unused;
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_sim_params p = sim_params(10, 100, 1);
    assert_int_equal(
        pdm_sim_shifts_parse("2015-04-01:vibration:x1.2@50%,2015-05-01 12:00:00:volt:+8,"
                             "2015-06-01:rotate:-20.5@3-7,2015-06-02:pressure:+1@9",
                             &p, err, sizeof err),
        0);
    assert_int_equal(p.n_shifts, 4);
    const pdm_sim_shift *s = p.shifts;
    assert_true(s[0].at_ms == ts_of("2015-04-01 00:00:00") && s[0].signal == 3);
    assert_true(s[0].scale == 1.2 && s[0].offset == 0 && s[0].share == 0.5);
    assert_true(s[1].at_ms == ts_of("2015-05-01 12:00:00") && s[1].signal == 0);
    assert_true(s[1].scale == 1 && s[1].offset == 8 && s[1].share == 0 && s[1].first_machine == 0);
    assert_true(s[2].signal == 1 && s[2].offset == -20.5);
    assert_true(s[2].first_machine == 3 && s[2].last_machine == 7);
    assert_true(s[3].signal == 2 && s[3].first_machine == 9 && s[3].last_machine == 9);
    assert_int_equal(pdm_sim_shifts_parse(NULL, &p, err, sizeof err), 0);
    assert_int_equal(p.n_shifts, 4);

    static const struct {
        const char *spec, *says;
    } bad[] = {
        {"2015-04-01:speed:+1", "volt, rotate, pressure or vibration"},
        {"2015-04-01:volt:3", "+N or -N"},
        {"2015-04-01:volt:x0", "+N or -N"},
        {"2015-04-01:volt:xabc", "+N or -N"},
        {"2015-04-01:volt:+", "+N or -N"},
        {"yesterday:volt:+3", "not a UTC time"},
        {"volt:+3", "not AT:SIGNAL:AMOUNT"},
        {"2015-04-01:volt:+3@0-3", "machines are"},
        {"2015-04-01:volt:+3@5-2", "machines are"},
        {"2015-04-01:volt:+3@150%", "machines are"},
        {"2015-04-01:volt:+3@", "machines are"},
        {"2015-04-01:volt:+1,nonsense", "not AT:SIGNAL:AMOUNT"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        pdm_sim_params q = sim_params(10, 100, 1);
        err[0] = '\0';
        assert_int_equal(pdm_sim_shifts_parse(bad[i].spec, &q, err, sizeof err), -1);
        if (!strstr(err, bad[i].says))
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].spec, err, bad[i].says);
        assert_int_equal(q.n_shifts, 0); /* nothing kept of a bad spec */
    }
    pdm_sim_params q = sim_params(10, 100, 1);
    for (int i = 0; i < PDM_SIM_MAX_SHIFTS; i++)
        assert_int_equal(pdm_sim_shifts_parse("2015-04-01:volt:+1", &q, err, sizeof err), 0);
    assert_int_equal(pdm_sim_shifts_parse("2015-04-01:volt:+1", &q, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most"));

    /* pdm_sim_new checks what it is given directly too. */
    q = sim_params(10, 100, 1);
    q.churn = 1.5;
    assert_null(pdm_sim_new(&q, err, sizeof err));
    assert_non_null(strstr(err, "churn"));
    q = sim_params(10, 100, 1);
    q.n_shifts = 1;
    q.shifts[0].signal = 4;
    q.shifts[0].scale = 1;
    assert_null(pdm_sim_new(&q, err, sizeof err));
    assert_non_null(strstr(err, "shift 1"));
}

/* Every event of a simulation, in replay order. */
static pdm_event *run(const pdm_sim_params *p, size_t *n)
{
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_sim *sim = pdm_sim_new(p, err, sizeof err);
    if (!sim)
        fail_msg("%s", err);
    size_t cap = 1 << 16;
    pdm_event *ev = malloc(cap * sizeof *ev);
    assert_non_null(ev);
    *n = 0;
    while (pdm_sim_next(sim, &ev[*n])) {
        if (++*n == cap) {
            cap *= 2;
            assert_non_null(ev = realloc(ev, cap * sizeof *ev));
        }
    }
    pdm_sim_destroy(sim);
    return ev;
}

static double reading(const pdm_event *e, int s)
{
    const double v[4] = {e->u.telemetry.volt, e->u.telemetry.rotate, e->u.telemetry.pressure,
                         e->u.telemetry.vibration};
    return v[s];
}

static void test_shift_acts_where_and_when_told(void **unused)
{
    (void)unused;
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_sim_params base = sim_params(6, 500, 3), shifted = base;
    const char *at1 = "2015-01-08 06:00:00", *at2 = "2015-01-15 18:00:00";
    char spec[160];
    snprintf(spec, sizeof spec, "%s:vibration:x1.2@2-4,%s:volt:+8", at1, at2);
    assert_int_equal(pdm_sim_shifts_parse(spec, &shifted, err, sizeof err), 0);
    size_t n0, n1;
    pdm_event *a = run(&base, &n0), *b = run(&shifted, &n1);
    assert_int_equal(n0, n1);
    int64_t t1 = ts_of(at1), t2 = ts_of(at2);
    size_t moved_vib = 0, moved_volt = 0;
    for (size_t i = 0; i < n0; i++) {
        assert_int_equal(a[i].type, b[i].type);
        assert_int_equal(a[i].machine_id, b[i].machine_id);
        assert_true(a[i].ts == b[i].ts);
        if (a[i].type != PDM_EV_TELEMETRY) {
            assert_memory_equal(&a[i], &b[i], sizeof a[i]); /* errors, failures: unchanged */
            continue;
        }
        int m = a[i].machine_id;
        for (int s = 0; s < 4; s++) {
            double want = reading(&a[i], s);
            if (s == 3 && m >= 2 && m <= 4 && a[i].ts >= t1)
                want *= 1.2;
            if (s == 0 && a[i].ts >= t2)
                want += 8;
            double got = reading(&b[i], s);
            if (!(fabs(got - want) <= 1e-9 * fabs(want)))
                fail_msg("machine %d at %lld, signal %d: %.15g, expected %.15g", m,
                         (long long)a[i].ts, s, got, want);
            moved_vib += s == 3 && got != reading(&a[i], s);
            moved_volt += s == 0 && got != reading(&a[i], s);
        }
    }
    /* the data starts 2015-01-01 06:00: 3 machines x (500 - 168) hours, 6 x (500 - 348) */
    assert_int_equal(moved_vib, 3 * (500 - 7 * 24));
    assert_int_equal(moved_volt, 6 * (500 - 14 * 24 - 12));
    free(a);
    free(b);
}

static void test_shift_share_of_machines(void **unused)
{
    (void)unused;
    char err[PDM_ERRSTR_SIZE] = "";
    int shifted_in[2] = {0, 0};
    unsigned char chosen[2][200];
    for (int run_i = 0; run_i < 2; run_i++) {
        pdm_sim_params p = sim_params(200, 3, 9);
        assert_int_equal(pdm_sim_shifts_parse("2015-01-01:pressure:+200@30%", &p, err, sizeof err),
                         0);
        size_t n;
        pdm_event *ev = run(&p, &n);
        memset(chosen[run_i], 0, sizeof chosen[run_i]);
        for (size_t i = 0; i < n; i++)
            if (ev[i].type == PDM_EV_TELEMETRY && ev[i].u.telemetry.pressure > 200)
                chosen[run_i][ev[i].machine_id - 1] = 1;
        for (int m = 0; m < 200; m++)
            shifted_in[run_i] += chosen[run_i][m];
        free(ev);
    }
    print_message("machines shifted: %d of 200 (30%% asked)\n", shifted_in[0]);
    assert_true(shifted_in[0] >= 40 && shifted_in[0] <= 80);
    assert_memory_equal(chosen[0], chosen[1], sizeof chosen[0]); /* from the seed */
}

static void test_churn(void **state)
{
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_sim_params p = sim_params(40, 600, 5);
    p.churn = 0.5;
    size_t n;
    pdm_event *ev = run(&p, &n);
    int64_t first[41], last[41];
    size_t rows[41] = {0};
    for (int m = 0; m <= 40; m++)
        first[m] = INT64_MAX, last[m] = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].type != PDM_EV_TELEMETRY)
            continue;
        int m = ev[i].machine_id;
        int64_t h = (ev[i].ts - p.start_ms) / PDM_MS_PER_HOUR;
        first[m] = h < first[m] ? h : first[m];
        last[m] = h > last[m] ? h : last[m];
        rows[m]++;
    }
    int joined_late = 0, left_early = 0;
    for (int m = 1; m <= 40; m++) {
        assert_int_equal(rows[m], (size_t)(last[m] - first[m] + 1)); /* contiguous */
        assert_true(first[m] < 300 && last[m] >= 300);
        joined_late += first[m] > 0;
        left_early += last[m] < 599;
    }
    print_message("churn 0.5: %d of 40 machines joined late, %d left early\n", joined_late,
                  left_early);
    assert_true(joined_late >= 10 && joined_late <= 30);
    assert_true(left_early >= 10 && left_early <= 30);
    size_t maint_before_join = 0;
    for (size_t i = 0; i < n; i++) {
        int m = ev[i].machine_id;
        if (ev[i].type == PDM_EV_MACHINE || ev[i].type == PDM_EV_TELEMETRY || ev[i].ts < p.start_ms)
            continue;
        int64_t h = (ev[i].ts - p.start_ms) / PDM_MS_PER_HOUR;
        if (h > last[m])
            fail_msg("machine %d: event type %d at hour %lld after it left at %lld", m, ev[i].type,
                     (long long)h, (long long)last[m]);
        if (h < first[m] && ev[i].type != PDM_EV_MAINTENANCE)
            fail_msg("machine %d: event type %d at hour %lld before it joined at %lld", m,
                     ev[i].type, (long long)h, (long long)first[m]);
        maint_before_join += h < first[m];
    }
    assert_true(maint_before_join > 0);

    /* The CSV files are the same data set as the stream. */
    assert_int_equal(pdm_sim_write_csv(&p, *state, err, sizeof err), 0);
    pdm_dataset *ds = NULL;
    if (pdm_dataset_load(*state, NULL, &ds, err, sizeof err))
        fail_msg("%s", err);
    size_t n_loaded;
    const pdm_event *loaded = pdm_dataset_events(ds, &n_loaded);
    assert_int_equal(n_loaded, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(loaded[i].type, ev[i].type);
        assert_int_equal(loaded[i].machine_id, ev[i].machine_id);
        assert_true(loaded[i].ts == ev[i].ts);
        if (ev[i].type == PDM_EV_TELEMETRY)
            assert_true(loaded[i].u.telemetry.volt == ev[i].u.telemetry.volt);
    }
    pdm_dataset_destroy(ds);

    /* Without churn: every machine all along, the same fleet otherwise. */
    p.churn = 0;
    size_t n_all;
    pdm_event *all = run(&p, &n_all);
    assert_true(n_all > n);
    size_t tel = 0;
    for (size_t i = 0; i < n_all; i++)
        tel += all[i].type == PDM_EV_TELEMETRY;
    assert_int_equal(tel, 40 * 600);
    free(all);
    free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shift_parse),
        cmocka_unit_test(test_shift_acts_where_and_when_told),
        cmocka_unit_test(test_shift_share_of_machines),
        cmocka_unit_test_setup_teardown(test_churn, scratch_setup, scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
