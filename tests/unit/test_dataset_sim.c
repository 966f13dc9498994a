/* Unit tests of the fleet simulator (dataset/): determinism, the exact CSV
 * format, the round trip through the loader, replay order, that the hard
 * fleet is the one of earlier versions byte for byte, and that a simulated
 * year of 100 machines of the hard fleet looks like the public data set and
 * carries learnable but imperfect failure precursors. (The realistic fleet's
 * calibration is test_dataset_calib.c.) */
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

static void test_params_checked(void **state)
{
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_sim_params p = sim_params(2, 10, 1);
    p.difficulty = (pdm_sim_difficulty)7;
    assert_null(pdm_sim_new(&p, err, sizeof err));
    assert_non_null(strstr(err, "difficulty"));
    pdm_sim_difficulty d = PDM_SIM_REALISTIC;
    assert_int_equal(pdm_sim_difficulty_parse("hard", &d), 0);
    assert_int_equal(d, PDM_SIM_HARD);
    assert_string_equal(pdm_sim_difficulty_name(d), "hard");
    assert_int_equal(pdm_sim_difficulty_parse("realistic", &d), 0);
    assert_int_equal(d, PDM_SIM_REALISTIC);
    assert_string_equal(pdm_sim_difficulty_name(d), "realistic");
    assert_int_equal(pdm_sim_difficulty_parse("easy", &d), -1);
    assert_int_equal(pdm_sim_difficulty_parse(NULL, &d), -1);
    p = sim_params(0, 10, 1);
    assert_null(pdm_sim_new(&p, err, sizeof err));
    assert_non_null(strstr(err, "machines"));
    p = sim_params(2, 0, 1);
    assert_null(pdm_sim_new(&p, err, sizeof err));
    assert_non_null(strstr(err, "hours"));
    p = sim_params(2, 10, 1);
    p.start_ms += 60000;
    assert_null(pdm_sim_new(&p, err, sizeof err));
    assert_non_null(strstr(err, "whole hour"));
    assert_int_equal(pdm_sim_write_csv(&p, *state, err, sizeof err), -1);
    pdm_sim_destroy(NULL);
}

static int same_file(const char *a, const char *b, const char *name)
{
    size_t la = 0, lb = 0;
    char *x = read_whole(a, name, &la), *y = read_whole(b, name, &lb);
    assert_non_null(x);
    assert_non_null(y);
    int same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* FNV-1a (64 bits) of the five files of dir, in PDM_FILE_* order. */
static uint64_t data_set_digest(const char *dir)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        size_t len = 0;
        char *data = read_whole(dir, pdm_dataset_file_name((pdm_dataset_file)f), &len);
        assert_non_null(data);
        for (size_t i = 0; i < len; i++) {
            h ^= (unsigned char)data[i];
            h *= UINT64_C(0x100000001b3);
        }
        free(data);
    }
    return h;
}

/* --difficulty hard is the simulator of earlier versions, output for
 * output. The digests were computed from the files the unchanged pdm-sim
 * wrote (commit 258fb20, before the difficulty existed):
 *   pdm-sim --machines 20 --hours 4380 --start 2015-01-01 --seed 42
 *   pdm-sim --machines 7 --hours 1000 --start 2016-03-01 --seed 9
 * hashed by a separate script (Python) with this same FNV-1a over the five
 * files in this order. */
static void test_hard_is_the_old_fleet(void **state)
{
    static const struct {
        int machines;
        int64_t hours;
        const char *start;
        uint64_t seed, digest;
    } cases[] = {
        {20, 4380, "2015-01-01 00:00:00", 42, UINT64_C(0x31976861b071f135)},
        {7, 1000, "2016-03-01 00:00:00", 9, UINT64_C(0x59c9d47393e574fa)},
    };
    char err[PDM_ERRSTR_SIZE] = "";
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pdm_sim_params p = sim_params(cases[i].machines, cases[i].hours, cases[i].seed);
        p.start_ms = ts_of(cases[i].start);
        p.difficulty = PDM_SIM_HARD;
        if (pdm_sim_write_csv(&p, *state, err, sizeof err))
            fail_msg("%s", err);
        uint64_t got = data_set_digest(*state);
        if (got != cases[i].digest)
            fail_msg("hard fleet %zu: digest %016llx, the old simulator's %016llx", i,
                     (unsigned long long)got, (unsigned long long)cases[i].digest);
        /* The realistic fleet of the same parameters is another one. */
        p.difficulty = PDM_SIM_REALISTIC;
        assert_int_equal(pdm_sim_write_csv(&p, *state, err, sizeof err), 0);
        assert_true(data_set_digest(*state) != cases[i].digest);
    }
}

static void test_csv_deterministic(void **state)
{
    char err[PDM_ERRSTR_SIZE] = "";
    char *d1 = scratch_subdir(state, "a"), *d2 = scratch_subdir(state, "b"),
         *d3 = scratch_subdir(state, "c");
    assert_non_null(d1);
    assert_non_null(d2);
    assert_non_null(d3);
    pdm_sim_params p = sim_params(5, 400, 7);
    assert_int_equal(pdm_sim_write_csv(&p, d1, err, sizeof err), 0);
    assert_int_equal(pdm_sim_write_csv(&p, d2, err, sizeof err), 0);
    p.seed = 8;
    assert_int_equal(pdm_sim_write_csv(&p, d3, err, sizeof err), 0);
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        const char *name = pdm_dataset_file_name((pdm_dataset_file)f);
        assert_true(same_file(d1, d2, name));
    }
    assert_false(same_file(d1, d3, "PdM_telemetry.csv"));
    assert_false(same_file(d1, d3, "PdM_errors.csv"));

    /* Exactly the five files: no temporary file is left behind. */
    DIR *d = opendir(d1);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL)
        files += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(files, PDM_FILE_COUNT);

    /* Writing again over an existing data set replaces it whole. */
    assert_int_equal(pdm_sim_write_csv(&p, d1, err, sizeof err), 0);
    assert_true(same_file(d1, d3, "PdM_telemetry.csv"));
    free(d1);
    free(d2);
    free(d3);
}

static int is_stamp(const char *s)
{
    int64_t ms;
    return pdm_time_parse(s, 19, &ms) == 0 && s[10] == ' ';
}

static void test_csv_format(void **state)
{
    char err[PDM_ERRSTR_SIZE] = "";
    const char *dir = *state;
    pdm_sim_params p = sim_params(3, 200, 11);
    assert_int_equal(pdm_sim_write_csv(&p, dir, err, sizeof err), 0);
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        size_t len = 0;
        char *data = read_whole(dir, pdm_dataset_file_name((pdm_dataset_file)f), &len);
        assert_non_null(data);
        const char *header = pdm_dataset_file_header((pdm_dataset_file)f);
        assert_memory_equal(data, header, strlen(header));
        assert_int_equal(data[strlen(header)], '\n');
        assert_null(memchr(data, '\r', len));
        assert_int_equal(data[len - 1], '\n');
        free(data);
    }

    /* Telemetry: "YYYY-MM-DD HH:MM:SS,id,v,v,v,v" with every number exactly
     * as printf("%.15g") prints the value it parses to, as in the public files. */
    size_t len = 0;
    char *tel = read_whole(dir, "PdM_telemetry.csv", &len);
    char *line = strchr(tel, '\n') + 1;
    size_t rows = 0;
    while (*line) {
        char *end = strchr(line, '\n');
        *end = '\0';
        assert_true(is_stamp(line));
        assert_int_equal(line[19], ',');
        char *q = line + 20;
        long id = strtol(q, &q, 10);
        assert_true(id >= 1 && id <= 3);
        for (int k = 0; k < 4; k++) {
            assert_int_equal(*q, ',');
            char *field = q + 1;
            double v = strtod(field, &q);
            char want[64];
            snprintf(want, sizeof want, "%.15g", v);
            size_t flen = (size_t)(q - field);
            if (strlen(want) != flen || memcmp(want, field, flen))
                fail_msg("'%.*s' is not %%.15g ('%s')", (int)flen, field, want);
        }
        assert_int_equal(*q, '\0');
        rows++;
        line = end + 1;
    }
    assert_int_equal(rows, 3 * 200);
    free(tel);

    /* Machines: "id,modelK,age". */
    char *mach = read_whole(dir, "PdM_machines.csv", &len);
    line = strchr(mach, '\n') + 1;
    for (int id = 1; id <= 3; id++) {
        int got_id, model, age, n = 0;
        assert_int_equal(sscanf(line, "%d,model%d,%d\n%n", &got_id, &model, &age, &n), 3);
        assert_int_equal(got_id, id);
        assert_true(model >= 1 && model <= 4);
        assert_true(age >= 0 && age <= 20);
        line += n;
    }
    assert_int_equal(*line, '\0');
    free(mach);
}

static int same_event(const pdm_event *a, const pdm_event *b)
{
    if (a->type != b->type || a->machine_id != b->machine_id || a->ts != b->ts)
        return 0;
    switch (a->type) {
    case PDM_EV_TELEMETRY:
        return a->u.telemetry.volt == b->u.telemetry.volt &&
               a->u.telemetry.rotate == b->u.telemetry.rotate &&
               a->u.telemetry.pressure == b->u.telemetry.pressure &&
               a->u.telemetry.vibration == b->u.telemetry.vibration;
    case PDM_EV_ERROR:
        return a->u.error.error_id == b->u.error.error_id;
    case PDM_EV_MAINTENANCE:
        return a->u.maintenance.component == b->u.maintenance.component;
    case PDM_EV_FAILURE:
        return a->u.failure.component == b->u.failure.component;
    case PDM_EV_MACHINE:
        return a->u.machine.model == b->u.machine.model && a->u.machine.age == b->u.machine.age;
    default:
        return 0;
    }
}

static void round_trip(const char *dir, pdm_sim_difficulty difficulty)
{
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_sim_params p = sim_params(10, 24 * 40, 3);
    p.difficulty = difficulty;
    assert_int_equal(pdm_sim_write_csv(&p, dir, err, sizeof err), 0);
    pdm_dataset *ds = NULL;
    if (pdm_dataset_load(dir, NULL, &ds, err, sizeof err))
        fail_msg("%s", err);
    const pdm_dataset_stats *st = pdm_dataset_get_stats(ds);
    assert_int_equal(st->bad_rows, 0);
    assert_int_equal(st->duplicates, 0);
    for (int f = 0; f < PDM_FILE_COUNT; f++)
        assert_int_equal(st->files[f].was_unsorted, 0);
    assert_int_equal(st->files[PDM_FILE_TELEMETRY].rows_kept, 10 * 24 * 40);
    assert_true(st->files[PDM_FILE_ERRORS].rows_kept > 0);
    assert_true(st->files[PDM_FILE_FAILURES].rows_kept > 0);

    size_t n;
    const pdm_event *loaded = pdm_dataset_events(ds, &n);
    pdm_sim *sim = pdm_sim_new(&p, err, sizeof err);
    assert_non_null(sim);
    pdm_event ev;
    size_t i = 0;
    while (pdm_sim_next(sim, &ev)) {
        assert_true(i < n);
        if (!same_event(&ev, &loaded[i]))
            fail_msg("event %zu differs: sim type %d machine %d ts %lld, csv type %d machine %d "
                     "ts %lld",
                     i, ev.type, ev.machine_id, (long long)ev.ts, loaded[i].type,
                     loaded[i].machine_id, (long long)loaded[i].ts);
        i++;
    }
    assert_int_equal(i, n);
    assert_int_equal(pdm_sim_next(sim, &ev), 0);
    pdm_sim_destroy(sim);
    pdm_dataset_destroy(ds);
}

static void test_round_trip_through_loader(void **state)
{
    round_trip(*state, PDM_SIM_REALISTIC);
    round_trip(*state, PDM_SIM_HARD);
}

static void test_replay_order(void **state)
{
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_sim_params p = sim_params(20, 24 * 90, 5);
    p.start_ms = ts_of("2016-03-01 00:00:00");
    pdm_sim *sim = pdm_sim_new(&p, err, sizeof err);
    assert_non_null(sim);
    static const int rank[] = {4, 2, 1, 3, 0};
    pdm_event prev = {0}, ev;
    size_t i = 0, telemetry = 0, history = 0, at_3am = 0;
    int64_t end = p.start_ms + p.hours * PDM_MS_PER_HOUR;
    while (pdm_sim_next(sim, &ev)) {
        if (i < (size_t)p.machines) {
            assert_int_equal(ev.type, PDM_EV_MACHINE);
            assert_int_equal(ev.machine_id, (int)i + 1);
        } else {
            assert_int_not_equal(ev.type, PDM_EV_MACHINE);
            assert_true(prev.ts <= ev.ts);
            if (prev.ts == ev.ts) {
                assert_true(rank[prev.type] <= rank[ev.type]);
                if (prev.type == ev.type)
                    assert_true(prev.machine_id <= ev.machine_id);
            }
        }
        if (ev.type == PDM_EV_TELEMETRY) {
            assert_int_equal((ev.ts - p.start_ms) % PDM_MS_PER_HOUR, 0);
            telemetry++;
        }
        if (ev.type == PDM_EV_MAINTENANCE && ev.ts < p.start_ms)
            history++;
        if (ev.type != PDM_EV_MACHINE && ev.ts >= p.start_ms)
            assert_true(ev.ts < end);
        /* 06:00, as in the public data; a few failures (and their
         * replacement) at 03:00 */
        if (ev.type == PDM_EV_FAILURE || ev.type == PDM_EV_MAINTENANCE) {
            int64_t at = ev.ts % (24 * PDM_MS_PER_HOUR);
            assert_true(at == 6 * PDM_MS_PER_HOUR || at == 3 * PDM_MS_PER_HOUR);
            at_3am += at == 3 * PDM_MS_PER_HOUR;
        }
        prev = ev;
        i++;
    }
    assert_int_equal(telemetry, (size_t)p.machines * (size_t)p.hours);
    /* The replacement that installed each component in service. */
    assert_int_equal(history, (size_t)p.machines * PDM_N_COMPONENTS);
    assert_true(at_3am > 0);
    pdm_sim_destroy(sim);
}

/* ---- one simulated year of 100 machines, the hard fleet ------------------ */

#define FLEET 100
#define HOURS 8760

typedef struct {
    double *signal[4]; /* [machine * HOURS + hour] */
    int64_t start;
    size_t errors[PDM_N_ERRORS + 1], failures[PDM_N_COMPONENTS + 1], maint_in_range;
    /* failures in range: machine, hour, component */
    size_t n_fail;
    int fail_machine[4000], fail_hour[4000], fail_comp[4000];
    /* error hours: per machine and type, a bitmap over the year */
    unsigned char *error_at[PDM_N_ERRORS + 1];
    int models[PDM_DATASET_MAX_MODEL + 1];
    int ages[21];
    int bad_machine_info;
} fleet;

static const double public_mean[4] = {170.78, 446.61, 100.86, 40.39};
static const double public_sd[4] = {15.51, 52.67, 11.05, 5.37};

static fleet *simulate_fleet(void)
{
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_sim_params p = sim_params(FLEET, HOURS, 1);
    p.difficulty = PDM_SIM_HARD;
    pdm_sim *sim = pdm_sim_new(&p, err, sizeof err);
    assert_non_null(sim);
    fleet *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->start = p.start_ms;
    for (int s = 0; s < 4; s++)
        assert_non_null(f->signal[s] = malloc(sizeof(double) * FLEET * HOURS));
    for (int e = 1; e <= PDM_N_ERRORS; e++)
        assert_non_null(f->error_at[e] = calloc(FLEET * HOURS, 1));
    pdm_event ev;
    while (pdm_sim_next(sim, &ev)) {
        size_t m = (size_t)ev.machine_id - 1;
        int64_t h = (ev.ts - f->start) / PDM_MS_PER_HOUR;
        switch (ev.type) {
        case PDM_EV_TELEMETRY:
            f->signal[0][m * HOURS + (size_t)h] = ev.u.telemetry.volt;
            f->signal[1][m * HOURS + (size_t)h] = ev.u.telemetry.rotate;
            f->signal[2][m * HOURS + (size_t)h] = ev.u.telemetry.pressure;
            f->signal[3][m * HOURS + (size_t)h] = ev.u.telemetry.vibration;
            break;
        case PDM_EV_ERROR:
            f->errors[ev.u.error.error_id]++;
            f->error_at[ev.u.error.error_id][m * HOURS + (size_t)h] = 1;
            break;
        case PDM_EV_MAINTENANCE:
            f->maint_in_range += ev.ts >= f->start;
            break;
        case PDM_EV_FAILURE:
            f->failures[ev.u.failure.component]++;
            assert_true(f->n_fail < 4000);
            f->fail_machine[f->n_fail] = (int)m;
            f->fail_hour[f->n_fail] = (int)h;
            f->fail_comp[f->n_fail] = ev.u.failure.component;
            f->n_fail++;
            break;
        case PDM_EV_MACHINE:
            if (ev.u.machine.model < 1 || ev.u.machine.model > PDM_DATASET_MAX_MODEL ||
                ev.u.machine.age < 0 || ev.u.machine.age > 20)
                f->bad_machine_info = 1;
            else {
                f->models[ev.u.machine.model]++;
                f->ages[ev.u.machine.age]++;
            }
            break;
        default:
            break;
        }
    }
    pdm_sim_destroy(sim);
    return f;
}

static void free_fleet(fleet *f)
{
    for (int s = 0; s < 4; s++)
        free(f->signal[s]);
    for (int e = 1; e <= PDM_N_ERRORS; e++)
        free(f->error_at[e]);
    free(f);
}

static int fleet_setup(void **state)
{
    *state = simulate_fleet();
    return 0;
}

static int fleet_teardown(void **state)
{
    free_fleet(*state);
    return 0;
}

static void test_fleet_looks_like_public_data(void **state)
{
    fleet *f = *state;
    assert_non_null(f);
    double tol_mean[4] = {2.0, 6.0, 1.5, 0.6}, tol_sd[4] = {1.0, 3.5, 0.8, 0.4};
    for (int s = 0; s < 4; s++) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < (size_t)FLEET * HOURS; i++)
            sum += f->signal[s][i];
        double mean = sum / (FLEET * HOURS);
        for (size_t i = 0; i < (size_t)FLEET * HOURS; i++)
            sq += (f->signal[s][i] - mean) * (f->signal[s][i] - mean);
        double sd = sqrt(sq / (FLEET * HOURS));
        if (fabs(mean - public_mean[s]) > tol_mean[s] || fabs(sd - public_sd[s]) > tol_sd[s])
            fail_msg("signal %d: mean %.2f sd %.2f, public %.2f / %.2f", s, mean, sd,
                     public_mean[s], public_sd[s]);
    }
    /* Per machine-year; public: 39.2 errors, 32.9 maintenance, 7.6 failures. */
    double years = FLEET * HOURS / 8760.0;
    size_t errors = 0, failures = 0;
    for (int e = 1; e <= PDM_N_ERRORS; e++)
        errors += f->errors[e];
    for (int c = 1; c <= PDM_N_COMPONENTS; c++)
        failures += f->failures[c];
    print_message("per machine-year: %.1f errors, %.1f maintenance, %.2f failures "
                  "(comp1..4: %zu %zu %zu %zu)\n",
                  errors / years, f->maint_in_range / years, failures / years, f->failures[1],
                  f->failures[2], f->failures[3], f->failures[4]);
    assert_true(fabs(errors / years - 40) < 6);
    assert_true(fabs(f->maint_in_range / years - 33) < 4);
    assert_true(fabs(failures / years - 7.6) < 1.2);
    /* Failures by component as in the public data: comp2 > comp1 > comp4 > comp3. */
    assert_true(f->failures[2] > f->failures[1]);
    assert_true(f->failures[1] > f->failures[4]);
    assert_true(f->failures[4] > f->failures[3]);
    /* Error types as in the public data: error5 the rarest by far (public:
     * error1..5 1010, 988, 838, 727, 356). */
    for (int e = 1; e <= 4; e++)
        assert_true(2 * f->errors[e] > 3 * f->errors[5]);
    assert_true(f->errors[1] > f->errors[4]);

    assert_false(f->bad_machine_info);
    for (int m = 1; m <= PDM_DATASET_MAX_MODEL; m++)
        assert_true(f->models[m] >= 5);
    int distinct_ages = 0;
    for (int a = 0; a <= 20; a++)
        distinct_ages += f->ages[a] > 0;
    assert_true(distinct_ages >= 15);
}

/* Mean over machine m's hours [from, to) of signal s, in public deviations
 * from the public mean. */
static double window_z(const fleet *f, int s, int m, int from, int to)
{
    double sum = 0;
    for (int h = from; h < to; h++)
        sum += f->signal[s][(size_t)m * HOURS + (size_t)h];
    return (sum / (to - from) - public_mean[s]) / public_sd[s];
}

static void test_failures_have_learnable_noisy_precursors(void **state)
{
    fleet *f = *state;
    assert_non_null(f);
    /* comp1 volt up, comp2 rotate down, comp3 pressure up, comp4 vibration up. */
    static const double sign[4] = {+1, -1, +1, +1};
    double z_sum[5][4] = {{0}};
    size_t counted[5] = {0}, weak = 0, total = 0;
    for (size_t i = 0; i < f->n_fail; i++) {
        int m = f->fail_machine[i], h = f->fail_hour[i], c = f->fail_comp[i];
        if (h < 24)
            continue;
        for (int s = 0; s < 4; s++)
            z_sum[c][s] += sign[s] * window_z(f, s, m, h - 24, h);
        counted[c]++;
        total++;
        weak += sign[c - 1] * window_z(f, c - 1, m, h - 24, h) < 0.3;
    }
    for (int c = 1; c <= 4; c++) {
        assert_true(counted[c] >= 50);
        for (int s = 0; s < 4; s++) {
            double z = z_sum[c][s] / counted[c];
            if (s == c - 1 && z < 0.5)
                fail_msg("comp%d: its signal %d moves only %.2f sd before failures", c, s, z);
            if (s != c - 1 && fabs(z) > 0.25)
                fail_msg("comp%d: unrelated signal %d moves %.2f sd before failures", c, s, z);
        }
    }
    /* Not every failure announces itself. */
    print_message("failures with a weak precursor: %zu of %zu\n", weak, total);
    assert_true(weak >= total / 20);
    assert_true(weak <= total * 2 / 5);

    /* Related errors (comp1 error1, comp2 error2/3, comp3 error4, comp4
     * error5) are far more frequent in the 48 h before failures. */
    static const int related[5][3] = {{0}, {1, 0, 0}, {2, 3, 0}, {4, 0, 0}, {5, 0, 0}};
    for (int c = 1; c <= 4; c++) {
        for (int k = 0; k < 3 && related[c][k]; k++) {
            int e = related[c][k];
            size_t before = 0, n = 0;
            for (size_t i = 0; i < f->n_fail; i++) {
                int m = f->fail_machine[i], h = f->fail_hour[i];
                if (f->fail_comp[i] != c || h < 48)
                    continue;
                for (int t = h - 48; t < h; t++)
                    before += f->error_at[e][(size_t)m * HOURS + (size_t)t];
                n++;
            }
            double rate_before = (double)before / (48.0 * n);
            double rate_all = (double)f->errors[e] / ((double)FLEET * HOURS);
            if (rate_before < 4 * rate_all)
                fail_msg("error%d before comp%d failures: %.5f/h vs %.5f/h overall", e, c,
                         rate_before, rate_all);
        }
    }

    /* Drifts also happen with no failure to follow (false alarms): 24 h
     * volt means a full deviation high, no comp1 failure in the next 3 days. */
    size_t false_alarm_hours = 0;
    for (int m = 0; m < FLEET; m++) {
        for (int h = 24; h < HOURS - 72; h += 6) {
            if (window_z(f, 0, m, h - 24, h) < 0.6)
                continue;
            int followed = 0;
            for (size_t i = 0; i < f->n_fail && !followed; i++)
                followed = f->fail_machine[i] == m && f->fail_comp[i] == 1 &&
                           f->fail_hour[i] >= h && f->fail_hour[i] <= h + 72;
            false_alarm_hours += !followed;
        }
    }
    print_message("volt drifts not followed by a comp1 failure: %zu (6-hour steps)\n",
                  false_alarm_hours);
    assert_true(false_alarm_hours >= 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_params_checked, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_hard_is_the_old_fleet, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_csv_deterministic, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_csv_format, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_through_loader, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test(test_replay_order),
    };
    /* One simulated year, shared by the statistical tests. */
    const struct CMUnitTest fleet_tests[] = {
        cmocka_unit_test(test_fleet_looks_like_public_data),
        cmocka_unit_test(test_failures_have_learnable_noisy_precursors),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    failed += cmocka_run_group_tests(fleet_tests, fleet_setup, fleet_teardown);
    return failed;
}
