/* Unit tests of the PdM CSV loader (dataset/): the fixtures in tests/data/,
 * variants of them made in a temporary directory (CRLF, trailing blank
 * line, one bad row of each kind), and the real slice of the public data in
 * ../shared/data/pdm-sample when it exists. That slice is not part of a
 * clone: without it the other tests still run, and the program exits 77,
 * which ctest (SKIP_RETURN_CODE, tests/unit/dataset.cmake) lists as skipped
 * rather than passed. */
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

/* Set when the public sample is absent: main() then reports a skip. */
static int sample_absent;

static pdm_dataset *load_fixture(const char *name, const pdm_dataset_options *opts)
{
    char dir[4096], err[PDM_ERRSTR_SIZE] = "";
    char rel[256];
    pdm_dataset *ds = NULL;
    snprintf(rel, sizeof rel, "tests/data/%s", name);
    source_path(dir, sizeof dir, rel);
    int rc = pdm_dataset_load(dir, opts, &ds, err, sizeof err);
    if (rc)
        fail_msg("loading %s: %s", name, err);
    return ds;
}

/* Copies the pdm-mini fixture into a new directory <scratch>/<name>. */
static char *copy_mini(void **state, const char *name_of_copy, int crlf, int trailing_blank)
{
    char src[4096];
    char *dir = scratch_subdir(state, name_of_copy);
    assert_non_null(dir);
    source_path(src, sizeof src, "tests/data/pdm-mini");
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        const char *name = pdm_dataset_file_name((pdm_dataset_file)f);
        size_t len = 0;
        char *data = read_whole(src, name, &len);
        assert_non_null(data);
        pdm_buf out = {0};
        for (size_t i = 0; i < len; i++) {
            if (crlf && data[i] == '\n')
                assert_int_equal(pdm_buf_append(&out, "\r", 1), 0);
            assert_int_equal(pdm_buf_append(&out, &data[i], 1), 0);
        }
        if (trailing_blank)
            assert_int_equal(pdm_buf_append(&out, crlf ? "\r\n" : "\n", crlf ? 2 : 1), 0);
        assert_int_equal(write_whole(dir, name, out.data, out.len), 0);
        pdm_buf_free(&out);
        free(data);
    }
    return dir;
}

typedef struct {
    pdm_event_type type;
    int32_t machine;
    const char *ts;
    int name; /* error id, component, or model */
} expected_event;

static int name_of(const pdm_event *ev)
{
    switch (ev->type) {
    case PDM_EV_ERROR:
        return ev->u.error.error_id;
    case PDM_EV_MAINTENANCE:
        return ev->u.maintenance.component;
    case PDM_EV_FAILURE:
        return ev->u.failure.component;
    case PDM_EV_MACHINE:
        return ev->u.machine.model;
    default:
        return 0;
    }
}

static void check_mini(const pdm_dataset *ds)
{
    /* Worked out by hand from tests/data/pdm-mini (see its files). */
    static const expected_event want[] = {
        {PDM_EV_MACHINE, 1, "2014-11-15 06:00:00", 3},
        {PDM_EV_MACHINE, 2, "2014-11-15 06:00:00", 4},
        {PDM_EV_MAINTENANCE, 2, "2014-11-15 06:00:00", 1},
        {PDM_EV_MAINTENANCE, 1, "2014-12-01 06:00:00", 2},
        {PDM_EV_TELEMETRY, 1, "2015-01-01 06:00:00", 0},
        {PDM_EV_TELEMETRY, 2, "2015-01-01 06:00:00", 0},
        {PDM_EV_ERROR, 2, "2015-01-01 07:00:00", 2},
        {PDM_EV_TELEMETRY, 1, "2015-01-01 07:00:00", 0},
        {PDM_EV_TELEMETRY, 2, "2015-01-01 07:00:00", 0},
        {PDM_EV_MAINTENANCE, 1, "2015-01-01 08:00:00", 4},
        {PDM_EV_ERROR, 1, "2015-01-01 08:00:00", 3}, /* file order within machine 1 */
        {PDM_EV_ERROR, 1, "2015-01-01 08:00:00", 1},
        {PDM_EV_ERROR, 2, "2015-01-01 08:00:00", 5},
        {PDM_EV_FAILURE, 1, "2015-01-01 08:00:00", 4},
        {PDM_EV_TELEMETRY, 1, "2015-01-01 08:00:00", 0},
        {PDM_EV_TELEMETRY, 2, "2015-01-01 08:00:00", 0},
    };
    size_t n;
    const pdm_event *ev = pdm_dataset_events(ds, &n);
    assert_int_equal(n, sizeof want / sizeof *want);
    for (size_t i = 0; i < n; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "event %zu", i);
        if (ev[i].type != want[i].type || ev[i].machine_id != want[i].machine ||
            ev[i].ts != ts_of(want[i].ts) || name_of(&ev[i]) != want[i].name)
            fail_msg("%s: got type %d machine %d ts %lld name %d", msg, ev[i].type,
                     ev[i].machine_id, (long long)ev[i].ts, name_of(&ev[i]));
    }
    /* Numbers are the decimal text's nearest doubles. */
    assert_true(ev[4].u.telemetry.volt == strtod("176.217853015625", NULL));
    assert_true(ev[4].u.telemetry.vibration == strtod("45.0876857639276", NULL));
    assert_true(ev[5].u.telemetry.pressure == 100.0);
    assert_int_equal(ev[1].u.machine.age, 7);

    size_t nt;
    const pdm_event *tel = pdm_dataset_events_of_type(ds, PDM_EV_TELEMETRY, &nt);
    assert_int_equal(nt, 6);
    for (size_t i = 1; i < nt; i++)
        assert_true(tel[i - 1].ts < tel[i].ts ||
                    (tel[i - 1].ts == tel[i].ts && tel[i - 1].machine_id < tel[i].machine_id));
    int64_t first, last;
    assert_int_equal(pdm_dataset_telemetry_range(ds, &first, &last), 0);
    assert_int_equal(first, ts_of("2015-01-01 06:00:00"));
    assert_int_equal(last, ts_of("2015-01-01 08:00:00"));

    const pdm_dataset_stats *st = pdm_dataset_get_stats(ds);
    assert_int_equal(st->files[PDM_FILE_TELEMETRY].rows_read, 6);
    assert_int_equal(st->files[PDM_FILE_ERRORS].rows_kept, 4);
    assert_int_equal(st->bad_rows, 0);
    assert_int_equal(st->duplicates, 0);
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        assert_int_equal(st->files[f].present, 1);
        assert_int_equal(st->files[f].was_unsorted, 0);
    }
}

static void test_mini_replay_order(void **state)
{
    pdm_dataset *ds = load_fixture("pdm-mini", NULL);
    check_mini(ds);
    char line[512];
    assert_true(pdm_dataset_summary(ds, line, sizeof line) > 0);
    assert_string_equal(line, "telemetry 6, errors 4, maint 3, failures 1, machines 2 rows");
    pdm_dataset_destroy(ds);
}

static void test_crlf_and_trailing_blank_line(void **state)
{
    for (int variant = 0; variant < 3; variant++) {
        char name[32];
        snprintf(name, sizeof name, "variant%d", variant);
        char *dir = copy_mini(state, name, variant != 1, variant != 0);
        char err[PDM_ERRSTR_SIZE] = "";
        pdm_dataset *ds = NULL;
        if (pdm_dataset_load(dir, NULL, &ds, err, sizeof err))
            fail_msg("variant %d: %s", variant, err);
        check_mini(ds);
        pdm_dataset_destroy(ds);
        free(dir);
    }
}

static void test_machines_file_optional(void **state)
{
    char *dir = copy_mini(state, "copy", 0, 0);
    char path[4096], err[PDM_ERRSTR_SIZE] = "";
    pdm_dataset *ds = NULL;
    snprintf(path, sizeof path, "%s/PdM_machines.csv", dir);
    assert_int_equal(unlink(path), 0);

    assert_int_equal(pdm_dataset_load(dir, NULL, &ds, err, sizeof err), 0);
    size_t n;
    pdm_dataset_events_of_type(ds, PDM_EV_MACHINE, &n);
    assert_int_equal(n, 0);
    pdm_dataset_events(ds, &n);
    assert_int_equal(n, 14);
    assert_int_equal(pdm_dataset_get_stats(ds)->files[PDM_FILE_MACHINES].present, 0);
    pdm_dataset_destroy(ds);

    pdm_dataset_options opts = {.require_machines = 1};
    ds = NULL;
    assert_int_equal(pdm_dataset_load(dir, &opts, &ds, err, sizeof err), -1);
    assert_null(ds);
    assert_non_null(strstr(err, "PdM_machines.csv: No such file or directory"));
    free(dir);
}

static void test_missing_required_file(void **state)
{
    char *dir = copy_mini(state, "copy", 0, 0);
    char path[4096], err[PDM_ERRSTR_SIZE] = "";
    pdm_dataset *ds = NULL;
    snprintf(path, sizeof path, "%s/PdM_failures.csv", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(pdm_dataset_load(dir, NULL, &ds, err, sizeof err), -1);
    assert_null(ds);
    assert_non_null(strstr(err, "PdM_failures.csv: No such file or directory"));

    /* Skipping bad rows does not excuse a missing file. */
    pdm_dataset_options opts = {.skip_bad_rows = 1};
    assert_int_equal(pdm_dataset_load(dir, &opts, &ds, err, sizeof err), -1);
    free(dir);

    char none[] = "/nonexistent-pdm-dir";
    assert_int_equal(pdm_dataset_load(none, NULL, &ds, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent-pdm-dir/PdM_telemetry.csv"));
}

typedef struct {
    pdm_dataset_file file;
    const char *row;    /* appended to the pdm-mini file */
    const char *reason; /* expected after "<file>:<line>: " */
} bad_case;

static const bad_case bad_cases[] = {
    {PDM_FILE_TELEMETRY, "2015-01-01 09:00:00,1,abc,1,1,1", "volt is not a number: \"abc\""},
    {PDM_FILE_TELEMETRY, "2015-01-01 09:00:00,1,1,nan,1,1", "rotate is not finite: \"nan\""},
    {PDM_FILE_TELEMETRY, "2015-01-01 09:00:00,1,1,1,1e999,1", "pressure is not finite: \"1e999\""},
    {PDM_FILE_TELEMETRY, "2015-01-01 09:00:00,1,1,1,1,", "vibration is not a number: \"\""},
    {PDM_FILE_TELEMETRY, "2015-01-01 09:00:00,1,1,1, 2,1", "pressure is not a number: \" 2\""},
    {PDM_FILE_TELEMETRY, "2015-01-01 09:00:00,1,1,1,1", "expected 6 fields, found 5"},
    {PDM_FILE_TELEMETRY, "2015-01-01 09:00:00,1,1,1,1,1,1", "expected 6 fields, found 7"},
    {PDM_FILE_TELEMETRY, "2015-02-30 09:00:00,1,1,1,1,1",
     "datetime is not a valid YYYY-MM-DD HH:MM:SS: \"2015-02-30 09:00:00\""},
    {PDM_FILE_TELEMETRY, "2015-01-01 24:00:00,1,1,1,1,1",
     "datetime is not a valid YYYY-MM-DD HH:MM:SS: \"2015-01-01 24:00:00\""},
    {PDM_FILE_TELEMETRY, "01/01/2015 09:00,1,1,1,1,1",
     "datetime is not a valid YYYY-MM-DD HH:MM:SS: \"01/01/2015 09:00\""},
    {PDM_FILE_TELEMETRY, "2015-01-01 09:00:00,0,1,1,1,1",
     "machineID is not a positive integer: \"0\""},
    {PDM_FILE_TELEMETRY, "2015-01-01 09:00:00,-4,1,1,1,1",
     "machineID is not a positive integer: \"-4\""},
    {PDM_FILE_TELEMETRY, "2015-01-01 09:00:00,1.5,1,1,1,1",
     "machineID is not a positive integer: \"1.5\""},
    {PDM_FILE_TELEMETRY, "2015-01-01 09:00:00,99999999999,1,1,1,1",
     "machineID is not a positive integer: \"99999999999\""},
    {PDM_FILE_ERRORS, "2015-01-01 09:00:00,1,error6", "errorID is not error1..error5: \"error6\""},
    {PDM_FILE_ERRORS, "2015-01-01 09:00:00,1,err1", "errorID is not error1..error5: \"err1\""},
    {PDM_FILE_ERRORS, "2015-01-01 09:00:00,x,error1", "machineID is not a positive integer: \"x\""},
    {PDM_FILE_MAINT, "2015-01-01 09:00:00,1,comp5", "comp is not comp1..comp4: \"comp5\""},
    {PDM_FILE_MAINT, "2015-01-01 09:00:00,1", "expected 3 fields, found 2"},
    {PDM_FILE_FAILURES, "2015-01-01 09:00:00,1,comp0", "failure is not comp1..comp4: \"comp0\""},
    {PDM_FILE_FAILURES, "2015-13-01 09:00:00,1,comp1",
     "datetime is not a valid YYYY-MM-DD HH:MM:SS: \"2015-13-01 09:00:00\""},
    {PDM_FILE_MACHINES, "3,model5,4", "model is not model1..model4: \"model5\""},
    {PDM_FILE_MACHINES, "3,model3,-1", "age is not a whole number of years 0..200: \"-1\""},
    {PDM_FILE_MACHINES, "3,model3,2.5", "age is not a whole number of years 0..200: \"2.5\""},
    {PDM_FILE_MACHINES, "0,model3,2", "machineID is not a positive integer: \"0\""},
};

static void test_each_bad_row_names_file_and_line(void **state)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const bad_case *c = &bad_cases[i];
        const char *name = pdm_dataset_file_name(c->file);
        char copy[32];
        snprintf(copy, sizeof copy, "case%zu", i);
        char *dir = copy_mini(state, copy, 0, 0);
        size_t len = 0;
        char *data = read_whole(dir, name, &len);
        assert_non_null(data);
        size_t line = count_lines(data, len) + 1;
        pdm_buf b = {0};
        assert_int_equal(pdm_buf_printf(&b, "%s%s\n", data, c->row), 0);
        assert_int_equal(write_whole(dir, name, b.data, b.len), 0);
        pdm_buf_free(&b);
        free(data);

        char want[512], err[PDM_ERRSTR_SIZE] = "";
        snprintf(want, sizeof want, "%s:%zu: %s", name, line, c->reason);
        pdm_dataset *ds = NULL;
        assert_int_equal(pdm_dataset_load(dir, NULL, &ds, err, sizeof err), -1);
        assert_null(ds);
        if (strcmp(err, want))
            fail_msg("case %zu: got '%s', want '%s'", i, err, want);

        /* Skipped, the rest of the data set is the fixture's. */
        pdm_dataset_options opts = {.skip_bad_rows = 1};
        assert_int_equal(pdm_dataset_load(dir, &opts, &ds, err, sizeof err), 0);
        const pdm_dataset_stats *st = pdm_dataset_get_stats(ds);
        assert_int_equal(st->bad_rows, 1);
        assert_int_equal(st->files[c->file].bad_rows, 1);
        assert_int_equal(st->n_reasons, 1);
        assert_string_equal(st->reasons[0], want);
        size_t n;
        pdm_dataset_events(ds, &n);
        assert_int_equal(n, 16);
        pdm_dataset_destroy(ds);
        free(dir);
    }
}

static void test_wrong_header_and_empty_file(void **state)
{
    static const struct {
        pdm_dataset_file file;
        const char *content;
        const char *want;
    } cases[] = {
        {PDM_FILE_ERRORS, "datetime,machine,errorID\n2015-01-01 09:00:00,1,error1\n",
         "PdM_errors.csv:1: wrong header: expected \"datetime,machineID,errorID\", found "
         "\"datetime,machine,errorID\""},
        {PDM_FILE_TELEMETRY, "2015-01-01 06:00:00,1,1,1,1,1\n",
         "PdM_telemetry.csv:1: wrong header: expected "
         "\"datetime,machineID,volt,rotate,pressure,vibration\", found "
         "\"2015-01-01 06:00:00,1,1,1,1,1\""},
        {PDM_FILE_MACHINES, "machineID,model\n",
         "PdM_machines.csv:1: wrong header: expected \"machineID,model,age\", found "
         "\"machineID,model\""},
        {PDM_FILE_MAINT, "",
         "PdM_maint.csv: empty file, expected the header "
         "\"datetime,machineID,comp\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char copy[32];
        snprintf(copy, sizeof copy, "case%zu", i);
        char *dir = copy_mini(state, copy, 0, 0);
        char err[PDM_ERRSTR_SIZE] = "";
        pdm_dataset *ds = NULL;
        const char *name = pdm_dataset_file_name(cases[i].file);
        assert_int_equal(write_whole(dir, name, cases[i].content, strlen(cases[i].content)), 0);
        pdm_dataset_options opts = {.skip_bad_rows = 1};
        assert_int_equal(pdm_dataset_load(dir, &opts, &ds, err, sizeof err), -1);
        assert_null(ds);
        assert_string_equal(err, cases[i].want);
        free(dir);
    }
}

static void test_header_only_files_are_empty_data(void **state)
{
    char *dir = copy_mini(state, "copy", 0, 0);
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_dataset *ds = NULL;
    /* A byte order mark and quoted names are accepted too. */
    const char *h = "\xEF\xBB\xBF\"datetime\",\"machineID\",\"failure\"\r\n";
    assert_int_equal(write_whole(dir, "PdM_failures.csv", h, strlen(h)), 0);
    assert_int_equal(pdm_dataset_load(dir, NULL, &ds, err, sizeof err), 0);
    size_t n;
    pdm_dataset_events_of_type(ds, PDM_EV_FAILURE, &n);
    assert_int_equal(n, 0);
    pdm_dataset_events(ds, &n);
    assert_int_equal(n, 15);
    pdm_dataset_destroy(ds);
    free(dir);
}

static void test_skip_bad_rows_counts(void **state)
{
    pdm_dataset_options opts = {.skip_bad_rows = 1};
    pdm_dataset *ds = load_fixture("pdm-bad", &opts);
    const pdm_dataset_stats *st = pdm_dataset_get_stats(ds);
    /* Counted by hand from the files in tests/data/pdm-bad. */
    static const size_t bad[PDM_FILE_COUNT] = {6, 1, 1, 1, 3};
    static const size_t kept[PDM_FILE_COUNT] = {2, 1, 1, 0, 1};
    static const size_t read[PDM_FILE_COUNT] = {8, 2, 2, 1, 4};
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        assert_int_equal(st->files[f].bad_rows, bad[f]);
        assert_int_equal(st->files[f].rows_kept, kept[f]);
        assert_int_equal(st->files[f].rows_read, read[f]);
    }
    assert_int_equal(st->bad_rows, 12);
    assert_int_equal(st->n_reasons, PDM_DATASET_MAX_REASONS);
    assert_string_equal(st->reasons[0], "PdM_telemetry.csv:3: volt is not a number: \"abc\"");
    assert_string_equal(st->reasons[1], "PdM_telemetry.csv:4: rotate is not finite: \"inf\"");
    assert_string_equal(st->reasons[5], "PdM_telemetry.csv:8: empty line");
    assert_string_equal(st->reasons[6],
                        "PdM_errors.csv:2: errorID is not error1..error5: \"error6\"");
    assert_string_equal(st->reasons[9],
                        "PdM_machines.csv:3: model is not model1..model4: \"model9\"");
    char line[512];
    pdm_dataset_summary(ds, line, sizeof line);
    assert_non_null(strstr(line, "12 bad rows skipped"));
    pdm_dataset_destroy(ds);

    /* Without skipping, the first bad row is the error. */
    char dir[4096], err[PDM_ERRSTR_SIZE] = "";
    source_path(dir, sizeof dir, "tests/data/pdm-bad");
    ds = NULL;
    assert_int_equal(pdm_dataset_load(dir, NULL, &ds, err, sizeof err), -1);
    assert_string_equal(err, "PdM_telemetry.csv:3: volt is not a number: \"abc\"");
}

static void test_unsorted_files_are_sorted_with_warning(void **state)
{
    pdm_dataset *ds = load_fixture("pdm-unsorted", NULL);
    const pdm_dataset_stats *st = pdm_dataset_get_stats(ds);
    assert_int_equal(st->files[PDM_FILE_TELEMETRY].was_unsorted, 1);
    assert_int_equal(st->files[PDM_FILE_ERRORS].was_unsorted, 1);
    /* Maintenance lists machine 1 before machine 2's earlier row: each
     * machine is in order, so that is not "unsorted". */
    assert_int_equal(st->files[PDM_FILE_MAINT].was_unsorted, 0);
    assert_int_equal(st->files[PDM_FILE_FAILURES].was_unsorted, 0);

    size_t n;
    const pdm_event *tel = pdm_dataset_events_of_type(ds, PDM_EV_TELEMETRY, &n);
    assert_int_equal(n, 5);
    static const struct {
        int machine;
        const char *ts;
        double volt;
    } want[] = {{1, "2015-01-01 06:00:00", 170.5},
                {2, "2015-01-01 06:00:00", 160.5},
                {1, "2015-01-01 07:00:00", 171.5},
                {2, "2015-01-01 07:00:00", 161.5},
                {1, "2015-01-01 08:00:00", 172.5}};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(tel[i].machine_id, want[i].machine);
        assert_int_equal(tel[i].ts, ts_of(want[i].ts));
        assert_true(tel[i].u.telemetry.volt == want[i].volt);
    }
    const pdm_event *err = pdm_dataset_events_of_type(ds, PDM_EV_ERROR, &n);
    assert_int_equal(n, 2);
    assert_int_equal(err[0].u.error.error_id, 1);
    assert_int_equal(err[1].u.error.error_id, 3);

    char line[512];
    pdm_dataset_summary(ds, line, sizeof line);
    assert_non_null(strstr(line, "PdM_telemetry.csv was out of time order (sorted)"));
    assert_non_null(strstr(line, "PdM_errors.csv was out of time order (sorted)"));
    assert_null(strstr(line, "PdM_maint.csv"));
    pdm_dataset_destroy(ds);
}

static void test_duplicates_dropped_and_counted(void **state)
{
    pdm_dataset *ds = load_fixture("pdm-dups", NULL);
    const pdm_dataset_stats *st = pdm_dataset_get_stats(ds);
    for (int f = 0; f < PDM_FILE_COUNT; f++)
        assert_int_equal(st->files[f].duplicates, 1);
    assert_int_equal(st->duplicates, 5);

    size_t n;
    const pdm_event *tel = pdm_dataset_events_of_type(ds, PDM_EV_TELEMETRY, &n);
    assert_int_equal(n, 3);
    assert_true(tel[1].u.telemetry.volt == 179.5); /* the later row wins */

    const pdm_event *err = pdm_dataset_events_of_type(ds, PDM_EV_ERROR, &n);
    assert_int_equal(n, 3);
    assert_int_equal(err[0].machine_id, 1);
    assert_int_equal(err[0].u.error.error_id, 1);
    assert_int_equal(err[1].u.error.error_id, 2);
    assert_int_equal(err[2].machine_id, 2);

    const pdm_event *mt = pdm_dataset_events_of_type(ds, PDM_EV_MAINTENANCE, &n);
    assert_int_equal(n, 2);
    assert_int_equal(mt[0].u.maintenance.component, 4); /* file order kept */
    assert_int_equal(mt[1].u.maintenance.component, 1);

    pdm_dataset_events_of_type(ds, PDM_EV_FAILURE, &n);
    assert_int_equal(n, 1);

    const pdm_event *mach = pdm_dataset_events_of_type(ds, PDM_EV_MACHINE, &n);
    assert_int_equal(n, 2);
    assert_int_equal(mach[0].machine_id, 1);
    assert_int_equal(mach[0].u.machine.model, 2); /* the later row wins */
    assert_int_equal(mach[0].u.machine.age, 5);

    char line[512];
    pdm_dataset_summary(ds, line, sizeof line);
    assert_non_null(strstr(line, "5 duplicates dropped"));
    pdm_dataset_destroy(ds);
}

/* The real slice of the public data set, when this checkout sits next to it. */
static void test_public_sample(void **state)
{
    char dir[4096], err[PDM_ERRSTR_SIZE] = "";
    source_path(dir, sizeof dir, "../shared/data/pdm-sample");
    size_t tlen = 0;
    char *telemetry = read_whole(dir, "PdM_telemetry.csv", &tlen);
    if (!telemetry) {
        fprintf(stderr, "public sample not found (%s): skipped\n", dir);
        sample_absent = 1;
        skip();
    }

    pdm_dataset *ds = NULL;
    if (pdm_dataset_load(dir, NULL, &ds, err, sizeof err))
        fail_msg("%s", err);
    const pdm_dataset_stats *st = pdm_dataset_get_stats(ds);
    assert_int_equal(st->files[PDM_FILE_TELEMETRY].rows_kept, 4320);
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        size_t len = 0;
        char *data = read_whole(dir, pdm_dataset_file_name((pdm_dataset_file)f), &len);
        assert_non_null(data);
        size_t rows = count_lines(data, len) - 1; /* wc -l, less the header */
        assert_int_equal(st->files[f].rows_read, rows);
        assert_int_equal(st->files[f].rows_kept, rows);
        assert_int_equal(st->files[f].was_unsorted, 0);
        free(data);
    }
    assert_int_equal(st->bad_rows, 0);
    assert_int_equal(st->duplicates, 0);

    int64_t first, last;
    assert_int_equal(pdm_dataset_telemetry_range(ds, &first, &last), 0);
    assert_int_equal(first, ts_of("2015-01-01 06:00:00"));
    assert_int_equal(last, ts_of("2015-04-01 05:00:00"));

    /* Replay order holds over the whole set; machine info comes first with
     * the earliest timestamp (the oldest maintenance row). */
    size_t n;
    const pdm_event *ev = pdm_dataset_events(ds, &n);
    assert_int_equal(n, st->files[0].rows_kept + st->files[1].rows_kept + st->files[2].rows_kept +
                            st->files[3].rows_kept + st->files[4].rows_kept);
    assert_int_equal(ev[0].type, PDM_EV_MACHINE);
    assert_int_equal(ev[0].ts, ts_of("2014-06-01 06:00:00"));
    static const int rank[] = {4, 2, 1, 3, 0};
    for (size_t i = 1; i < n; i++) {
        const pdm_event *a = &ev[i - 1], *b = &ev[i];
        assert_true(a->ts <= b->ts);
        if (a->ts == b->ts) {
            assert_true(rank[a->type] <= rank[b->type]);
            if (a->type == b->type)
                assert_true(a->machine_id <= b->machine_id);
        }
    }

    /* Every telemetry value equals strtod of its text: walk the file. */
    size_t nt;
    const pdm_event *tel = pdm_dataset_events_of_type(ds, PDM_EV_TELEMETRY, &nt);
    char *p = strchr(telemetry, '\n') + 1;
    size_t checked = 0;
    while (*p) {
        char *line_end = strchr(p, '\n');
        int64_t ts;
        assert_int_equal(pdm_time_parse(p, 19, &ts), 0);
        char *q = p + 20;
        long machine = strtol(q, &q, 10);
        double v[4];
        for (int k = 0; k < 4; k++)
            v[k] = strtod(q + 1, &q);
        /* Sorted by (ts, machine) with machines 1 and 2 at every hour. */
        size_t idx = (size_t)((ts - first) / PDM_MS_PER_HOUR) * 2 + (size_t)(machine - 1);
        assert_true(idx < nt);
        assert_int_equal(tel[idx].machine_id, machine);
        assert_int_equal(tel[idx].ts, ts);
        assert_true(tel[idx].u.telemetry.volt == v[0]);
        assert_true(tel[idx].u.telemetry.rotate == v[1]);
        assert_true(tel[idx].u.telemetry.pressure == v[2]);
        assert_true(tel[idx].u.telemetry.vibration == v[3]);
        checked++;
        p = line_end ? line_end + 1 : p + strlen(p);
    }
    assert_int_equal(checked, 4320);

    const pdm_event *fail = pdm_dataset_events_of_type(ds, PDM_EV_FAILURE, &n);
    assert_int_equal(n, 4);
    /* Two components of machine 2 failed at one hour: file order, comp1 first. */
    assert_int_equal(fail[2].u.failure.component, 1);
    assert_int_equal(fail[3].u.failure.component, 2);
    pdm_dataset_destroy(ds);
    free(telemetry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mini_replay_order),
        cmocka_unit_test_setup_teardown(test_crlf_and_trailing_blank_line, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_machines_file_optional, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_missing_required_file, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_each_bad_row_names_file_and_line, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_header_and_empty_file, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_header_only_files_are_empty_data, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test(test_skip_bad_rows_counts),
        cmocka_unit_test(test_unsorted_files_are_sorted_with_warning),
        cmocka_unit_test(test_duplicates_dropped_and_counted),
        cmocka_unit_test(test_public_sample),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed)
        return 1;
    return sample_absent ? 77 : 0;
}
