/* Unit tests of the archive module: its pure rules (day names, rows, the
 * recovery decision, retention), its state file, and the writer on a real
 * directory: commit and reopen, an interrupted commit recovered to the last
 * one with no row twice, a lost state refused, retention, and an export
 * that loads as exactly the events of the data set archived. */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "archive_internal.h"
#include "pdm_archive.h"
#include "pdm_dataset.h"
#include "test_dataset_util.h"

#define T2015_01_03 INT64_C(1420243200000) /* 2015-01-03 00:00:00 UTC */
#define HOUR PDM_MS_PER_HOUR
#define DAY PDM_MS_PER_DAY
#define NOW INT64_C(1796000000000) /* 2026-12 */

static pdm_event tel(int32_t machine, int64_t ts, double v)
{
    pdm_event ev = {.type = PDM_EV_TELEMETRY, .machine_id = machine, .ts = ts};
    ev.u.telemetry.volt = v;
    ev.u.telemetry.rotate = 400.5;
    ev.u.telemetry.pressure = 100;
    ev.u.telemetry.vibration = 40.25;
    return ev;
}

static pdm_event named(pdm_event_type type, int32_t machine, int64_t ts, int k)
{
    pdm_event ev = {.type = type, .machine_id = machine, .ts = ts};
    if (type == PDM_EV_ERROR)
        ev.u.error.error_id = k;
    else
        ev.u.maintenance.component = k; /* failure shares the layout */
    return ev;
}

static pdm_event machine(int32_t id, int model, int age)
{
    pdm_event ev = {.type = PDM_EV_MACHINE, .machine_id = id, .ts = T2015_01_03};
    ev.u.machine.model = model;
    ev.u.machine.age = age;
    return ev;
}

static char *read_text(const char *dir, const char *name)
{
    char path[4096], err[PDM_ERRSTR_SIZE];
    pdm_buf b = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (pdm_read_file(path, &b, err, sizeof err))
        return NULL;
    return b.data ? b.data : strdup("");
}

static int exists(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* ---- pure rules ------------------------------------------------------------------ */

static void test_day_and_file_names(void **state)
{
    char day[PDM_ARCHIVE_DAY_SIZE], name[64];
    int64_t start;
    (void)state;
    pdm_archive_day_name(T2015_01_03, day);
    assert_string_equal(day, "2015-01-03");
    pdm_archive_day_name(T2015_01_03 + DAY - 1, day); /* 23:59:59.999 */
    assert_string_equal(day, "2015-01-03");
    pdm_archive_day_name(T2015_01_03 + DAY, day);
    assert_string_equal(day, "2015-01-04");
    assert_int_equal(pdm_archive_day_parse("2015-01-03", &start), 0);
    assert_int_equal(start, T2015_01_03);
    assert_int_equal(pdm_archive_day_parse("2015-1-03", &start), -1);
    assert_int_equal(pdm_archive_day_parse("2015-02-30", &start), -1);
    assert_int_equal(pdm_archive_day_parse("2015-01-03 00:00:00", &start), -1);
    assert_int_equal(pdm_archive_day_parse("..", &start), -1);

    assert_int_equal(
        pdm_archive_file_name(PDM_EV_TELEMETRY, T2015_01_03 + 5 * HOUR, name, sizeof name), 28);
    assert_string_equal(name, "2015-01-03/PdM_telemetry.csv");
    pdm_archive_file_name(PDM_EV_ERROR, T2015_01_03, name, sizeof name);
    assert_string_equal(name, "2015-01-03/PdM_errors.csv");
    pdm_archive_file_name(PDM_EV_MAINTENANCE, T2015_01_03 - 1, name, sizeof name);
    assert_string_equal(name, "2015-01-02/PdM_maint.csv");
    pdm_archive_file_name(PDM_EV_FAILURE, T2015_01_03, name, sizeof name);
    assert_string_equal(name, "2015-01-03/PdM_failures.csv");
    pdm_archive_file_name(PDM_EV_MACHINE, T2015_01_03, name, sizeof name);
    assert_string_equal(name, "PdM_machines.csv");
    assert_int_equal(pdm_archive_file_name(PDM_EV_RISK, T2015_01_03, name, sizeof name), -1);
    assert_int_equal(pdm_archive_file_name(PDM_EV_TELEMETRY, T2015_01_03, name, 10), -1);

    /* Names a state file may list: nothing else, so recovery never touches other paths. */
    assert_true(arc_valid_file_name("2015-01-03/PdM_maint.csv", &start));
    assert_int_equal(start, T2015_01_03);
    assert_true(arc_valid_file_name("PdM_machines.csv", &start));
    assert_false(arc_valid_file_name("2015-01-03/PdM_machines.csv", &start));
    assert_false(arc_valid_file_name("../2015-01-03/PdM_maint.csv", &start));
    assert_false(arc_valid_file_name("2015-01-03/../x/PdM_maint.csv", &start));
    assert_false(arc_valid_file_name("2015-01-03/PdM_maint.csv.tmp", &start));
}

static void test_rows_as_the_loader_reads_them(void **state)
{
    char row[ARC_ROW_MAX];
    (void)state;
    pdm_event ev = tel(7, T2015_01_03 + 6 * HOUR, 176.217853015625);
    assert_int_equal(pdm_archive_format_row(&ev, NOW, row, sizeof row), 55);
    assert_string_equal(row, "2015-01-03 06:00:00,7,176.217853015625,400.5,100,40.25\n");
    ev = named(PDM_EV_ERROR, 3, T2015_01_03, 5);
    pdm_archive_format_row(&ev, NOW, row, sizeof row);
    assert_string_equal(row, "2015-01-03 00:00:00,3,error5\n");
    ev = named(PDM_EV_MAINTENANCE, 3, T2015_01_03, 2);
    pdm_archive_format_row(&ev, NOW, row, sizeof row);
    assert_string_equal(row, "2015-01-03 00:00:00,3,comp2\n");
    ev = named(PDM_EV_FAILURE, 3, T2015_01_03, 4);
    pdm_archive_format_row(&ev, NOW, row, sizeof row);
    assert_string_equal(row, "2015-01-03 00:00:00,3,comp4\n");
    ev = machine(12, 3, 18);
    pdm_archive_format_row(&ev, NOW, row, sizeof row);
    assert_string_equal(row, "12,model3,18\n");

    /* A double that 15 digits do not name comes back exactly (17 digits). */
    ev = tel(1, T2015_01_03, 0.1 + 0.2);
    assert_true(pdm_archive_format_row(&ev, NOW, row, sizeof row) > 0);
    assert_string_equal(row, "2015-01-03 00:00:00,1,0.30000000000000004,400.5,100,40.25\n");
    assert_true(strtod(row + 22, NULL) == 0.1 + 0.2);

    /* What the loader would refuse, or the archive does not keep. */
    ev = tel(1, T2015_01_03, NAN);
    assert_int_equal(pdm_archive_format_row(&ev, NOW, row, sizeof row), -PDM_ARCHIVE_SKIP_INVALID);
    ev = tel(0, T2015_01_03, 1);
    assert_int_equal(pdm_archive_format_row(&ev, NOW, row, sizeof row), -PDM_ARCHIVE_SKIP_INVALID);
    ev = machine(1, 5, 3);
    assert_int_equal(pdm_archive_format_row(&ev, NOW, row, sizeof row), -PDM_ARCHIVE_SKIP_INVALID);
    ev = machine(1, 4, 201);
    assert_int_equal(pdm_archive_format_row(&ev, NOW, row, sizeof row), -PDM_ARCHIVE_SKIP_INVALID);
    ev = tel(1, T2015_01_03 + 500, 1);
    assert_int_equal(pdm_archive_format_row(&ev, NOW, row, sizeof row),
                     -PDM_ARCHIVE_SKIP_SUBSECOND);
    ev = tel(1, PDM_ARCHIVE_MIN_TS - 1000, 1);
    assert_int_equal(pdm_archive_format_row(&ev, NOW, row, sizeof row), -PDM_ARCHIVE_SKIP_TIME);
    ev = tel(1, PDM_ARCHIVE_MIN_TS, 1);
    assert_true(pdm_archive_format_row(&ev, NOW, row, sizeof row) > 0);
    ev = tel(1, NOW + DAY + 1000, 1);
    assert_int_equal(pdm_archive_format_row(&ev, NOW, row, sizeof row), -PDM_ARCHIVE_SKIP_TIME);
    ev = tel(1, NOW + DAY, 1);
    assert_true(pdm_archive_format_row(&ev, NOW, row, sizeof row) > 0);
    pdm_risk risk = {0};
    ev = (pdm_event){.type = PDM_EV_RISK, .machine_id = 1, .ts = T2015_01_03};
    ev.u.risk = &risk;
    assert_int_equal(pdm_archive_format_row(&ev, NOW, row, sizeof row),
                     -PDM_ARCHIVE_SKIP_OUTPUT_TYPE);
    assert_string_equal(pdm_archive_skip_name(PDM_ARCHIVE_SKIP_EXPIRED), "expired");
}

static void test_recovery_rule(void **state)
{
    (void)state;
    assert_int_equal(pdm_archive_recovery_action(1, 100, 100), PDM_ARCHIVE_KEEP);
    assert_int_equal(pdm_archive_recovery_action(1, 100, 101), PDM_ARCHIVE_TRUNCATE);
    assert_int_equal(pdm_archive_recovery_action(1, 100, 99), PDM_ARCHIVE_CORRUPT);
    assert_int_equal(pdm_archive_recovery_action(1, 100, 0), PDM_ARCHIVE_CORRUPT);
    assert_int_equal(pdm_archive_recovery_action(0, 0, 100), PDM_ARCHIVE_REMOVE);
    assert_int_equal(pdm_archive_recovery_action(0, 0, 0), PDM_ARCHIVE_REMOVE);
}

static void test_retention_selection(void **state)
{
    int64_t stream = T2015_01_03 + 12 * HOUR;
    (void)state;
    assert_int_equal(pdm_archive_retention_start(stream, NOW, 0), INT64_MIN);
    assert_int_equal(pdm_archive_retention_start(INT64_MIN, NOW, 3), INT64_MIN);
    assert_int_equal(pdm_archive_retention_start(stream, NOW, 1), T2015_01_03);
    assert_int_equal(pdm_archive_retention_start(stream, NOW, 3), T2015_01_03 - 2 * DAY);
    assert_int_equal(pdm_archive_retention_start(T2015_01_03, NOW, 1), T2015_01_03);
    /* A stream ahead of the wall clock (a clock spike) counts only up to now. */
    assert_int_equal(pdm_archive_retention_start(NOW + 30 * DAY, NOW, 1), arc_day_start(NOW));
}

static void test_state_text(void **state)
{
    char err[PDM_ERRSTR_SIZE];
    arc_state st, back;
    pdm_buf a = {0}, b = {0};
    (void)state;
    arc_state_init(&st);
    arc_state_init(&back);
    st.stream_ms = T2015_01_03;
    arc_state_file(&st, "PdM_machines.csv", 1, NULL)->size = 20;
    arc_state_file(&st, "2015-01-03/PdM_telemetry.csv", 1, NULL)->size = 1234;
    arc_state_file(&st, "2015-01-04/PdM_errors.csv", 1, NULL); /* never written: not listed */
    arc_offset *o = arc_state_offset(&st, "pdm.telemetry", 3, 1);
    o->next = o->committed = 77;
    o = arc_state_offset(&st, "pdm.errors", 0, 1);
    o->next = 5; /* added, not committed: not listed */
    assert_int_equal(arc_state_format(&st, &a), 0);
    assert_string_equal(a.data, "pdm-archive-state 1\nstream 1420243200000\n"
                                "offset pdm.telemetry 3 77\nfile PdM_machines.csv 20\n"
                                "file 2015-01-03/PdM_telemetry.csv 1234\nend\n");
    assert_int_equal(arc_state_parse(a.data, &back, err, sizeof err), 0);
    assert_int_equal(arc_state_format(&back, &b), 0);
    assert_string_equal(a.data, b.data);

    static const char *const bad[] = {
        "pdm-archive-state 1\nstream -\n",                      /* cut short */
        "pdm-archive-state 2\nend\n",                           /* unknown version */
        "pdm-archive-state 1\nfile ../../etc/passwd 10\nend\n", /* not ours */
        "pdm-archive-state 1\nfile PdM_machines.csv 0\nend\n",  /* no size */
        "pdm-archive-state 1\nfile PdM_machines.csv 5\nfile PdM_machines.csv 6\nend\n",
        "pdm-archive-state 1\noffset pdm.telemetry 0 -1\nend\n",
        "pdm-archive-state 1\noffset pdm.telemetry 0 1 2\nend\n",
        "pdm-archive-state 1\nend\nstream -\n",
        "pdm-archive-state 1\nsize 3\nend\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arc_state x;
        arc_state_init(&x);
        assert_int_equal(arc_state_parse(bad[i], &x, err, sizeof err), -1);
        arc_state_clear(&x);
    }
    pdm_buf_free(&a);
    pdm_buf_free(&b);
    arc_state_clear(&st);
    arc_state_clear(&back);
}

/* ---- the writer ------------------------------------------------------------------- */

static void add_ok(pdm_archive *a, const char *topic, int32_t p, int64_t off, const pdm_event *ev)
{
    char err[PDM_ERRSTR_SIZE];
    assert_int_equal(pdm_archive_add(a, topic, p, off, ev, NOW, err, sizeof err), 0);
}

static void test_commit_and_reopen(void **state)
{
    const char *dir = *state;
    char err[PDM_ERRSTR_SIZE];
    int64_t next;
    pdm_archive *a = pdm_archive_open(dir, 0, err, sizeof err);
    assert_non_null(a);
    /* The lock: one writer at a time. */
    assert_null(pdm_archive_open(dir, 0, err, sizeof err));
    assert_non_null(strstr(err, "in use by another pdm-archive"));

    pdm_event e1 = tel(1, T2015_01_03 + 23 * HOUR, 170), e2 = tel(1, T2015_01_03 + 24 * HOUR, 171);
    pdm_event m = machine(1, 3, 18), er = named(PDM_EV_ERROR, 1, T2015_01_03, 1);
    add_ok(a, "pdm.telemetry", 0, 10, &e1);
    add_ok(a, "pdm.telemetry", 0, 11, &e2);
    add_ok(a, "pdm.telemetry", 0, 12, NULL); /* undecodable: counted, offset moves on */
    add_ok(a, "pdm.machines", 0, 0, &m);
    add_ok(a, "pdm.errors", 1, 4, &er);
    assert_false(exists(dir, "2015-01-03")); /* nothing before the commit */
    assert_int_equal(pdm_archive_commit(a, NOW, err, sizeof err), 0);
    assert_int_equal(pdm_archive_get_stats(a)->skipped[PDM_ARCHIVE_SKIP_UNDECODABLE], 1);
    assert_int_equal(pdm_archive_get_stats(a)->rows[PDM_EV_TELEMETRY], 2);
    pdm_archive_destroy(a);

    char *t = read_text(dir, "2015-01-03/PdM_telemetry.csv");
    assert_string_equal(t, "datetime,machineID,volt,rotate,pressure,vibration\n"
                           "2015-01-03 23:00:00,1,170,400.5,100,40.25\n");
    free(t);
    t = read_text(dir, "2015-01-04/PdM_telemetry.csv");
    assert_string_equal(t, "datetime,machineID,volt,rotate,pressure,vibration\n"
                           "2015-01-04 00:00:00,1,171,400.5,100,40.25\n");
    free(t);
    t = read_text(dir, "PdM_machines.csv");
    assert_string_equal(t, "machineID,model,age\n1,model3,18\n");
    free(t);

    /* Reopened: each partition resumes after what it wrote; a message consumed
     * again changes nothing. */
    a = pdm_archive_open(dir, 0, err, sizeof err);
    assert_non_null(a);
    assert_int_equal(pdm_archive_next_offset(a, "pdm.telemetry", 0, &next), 1);
    assert_int_equal(next, 13);
    assert_int_equal(pdm_archive_next_offset(a, "pdm.errors", 1, &next), 1);
    assert_int_equal(next, 5);
    assert_int_equal(pdm_archive_next_offset(a, "pdm.errors", 0, &next), 0);
    assert_int_equal(pdm_archive_add(a, "pdm.telemetry", 0, 11, &e2, NOW, err, sizeof err), 1);
    assert_false(pdm_archive_pending(a));
    pdm_archive_destroy(a);

    /* A day directory is a data set the loader reads by itself. */
    char day[4096];
    pdm_dataset *ds = NULL;
    snprintf(day, sizeof day, "%s/2015-01-03", dir);
    assert_int_equal(pdm_dataset_load(day, NULL, &ds, err, sizeof err), 0);
    size_t n;
    pdm_dataset_events_of_type(ds, PDM_EV_ERROR, &n);
    assert_int_equal(n, 1);
    pdm_dataset_destroy(ds);
}

/* A commit that wrote its rows but not its state (a SIGKILL between the two,
 * made here by a directory in the state's temporary file's place): reopening
 * brings the files back to the last commit, and consuming the batch again
 * writes each row once. */
static void test_interrupted_commit_recovers(void **state)
{
    const char *dir = *state;
    char err[PDM_ERRSTR_SIZE], path[4096];
    pdm_archive *a = pdm_archive_open(dir, 0, err, sizeof err);
    pdm_event e1 = tel(2, T2015_01_03, 1), e2 = tel(2, T2015_01_03 + HOUR, 2);
    pdm_event e3 = tel(2, T2015_01_03 + DAY, 3), f = named(PDM_EV_FAILURE, 2, T2015_01_03 + DAY, 1);
    assert_non_null(a);
    add_ok(a, "pdm.telemetry", 0, 0, &e1);
    assert_int_equal(pdm_archive_commit(a, NOW, err, sizeof err), 0);
    char *committed = read_text(dir, "2015-01-03/PdM_telemetry.csv");

    snprintf(path, sizeof path, "%s/" ARC_STATE_TMP, dir);
    assert_int_equal(mkdir(path, 0755), 0);
    add_ok(a, "pdm.telemetry", 0, 1, &e2);
    add_ok(a, "pdm.telemetry", 0, 2, &e3);
    add_ok(a, "pdm.failures", 0, 0, &f);
    assert_int_equal(pdm_archive_commit(a, NOW, err, sizeof err), -1);
    pdm_archive_destroy(a);
    assert_true(exists(dir, "2015-01-04/PdM_failures.csv")); /* the rows were written */
    rmdir(path);

    a = pdm_archive_open(dir, 0, err, sizeof err);
    assert_non_null(a);
    const pdm_archive_stats *s = pdm_archive_get_stats(a);
    assert_int_equal(s->recovered_files, 4); /* the four files of the new day 2015-01-04 */
    assert_int_equal(s->recovered_bytes, strlen("2015-01-03 01:00:00,2,2,400.5,100,40.25\n"));
    assert_false(exists(dir, "2015-01-04"));
    char *now = read_text(dir, "2015-01-03/PdM_telemetry.csv");
    assert_string_equal(now, committed);
    free(now);

    /* The batch again, from the committed offsets on. */
    assert_int_equal(pdm_archive_add(a, "pdm.telemetry", 0, 0, &e1, NOW, err, sizeof err), 1);
    add_ok(a, "pdm.telemetry", 0, 1, &e2);
    add_ok(a, "pdm.telemetry", 0, 2, &e3);
    add_ok(a, "pdm.failures", 0, 0, &f);
    assert_int_equal(pdm_archive_commit(a, NOW, err, sizeof err), 0);
    pdm_archive_destroy(a);
    now = read_text(dir, "2015-01-03/PdM_telemetry.csv");
    assert_string_equal(now, "datetime,machineID,volt,rotate,pressure,vibration\n"
                             "2015-01-03 00:00:00,2,1,400.5,100,40.25\n"
                             "2015-01-03 01:00:00,2,2,400.5,100,40.25\n");
    free(now);
    free(committed);

    /* A committed file cut short outside the archive is an error, not a guess. */
    snprintf(path, sizeof path, "%s/2015-01-03/PdM_telemetry.csv", dir);
    assert_int_equal(truncate(path, 10), 0);
    assert_null(pdm_archive_open(dir, 0, err, sizeof err));
    assert_non_null(strstr(err, "fewer than the"));
}

static void test_lost_state_is_refused(void **state)
{
    const char *dir = *state;
    char err[PDM_ERRSTR_SIZE], path[4096];
    pdm_archive *a = pdm_archive_open(dir, 0, err, sizeof err);
    pdm_event e = tel(2, T2015_01_03, 1);
    assert_non_null(a);
    add_ok(a, "pdm.telemetry", 0, 0, &e);
    assert_int_equal(pdm_archive_commit(a, NOW, err, sizeof err), 0);
    pdm_archive_destroy(a);
    snprintf(path, sizeof path, "%s/" ARC_STATE_FILE, dir);
    assert_int_equal(unlink(path), 0);
    assert_null(pdm_archive_open(dir, 0, err, sizeof err));
    assert_non_null(strstr(err, "its state is lost"));
    assert_true(exists(dir, "2015-01-03/PdM_telemetry.csv")); /* nothing removed */
}

static void test_retention_removes_old_days(void **state)
{
    const char *dir = *state;
    char err[PDM_ERRSTR_SIZE];
    pdm_archive *a = pdm_archive_open(dir, 2, err, sizeof err);
    pdm_event m = machine(1, 1, 1);
    assert_non_null(a);
    add_ok(a, "pdm.machines", 0, 0, &m);
    for (int d = 0; d < 3; d++) {
        pdm_event e = tel(1, T2015_01_03 + d * DAY, d),
                  mt = named(PDM_EV_MAINTENANCE, 1, T2015_01_03 + d * DAY, 1);
        add_ok(a, "pdm.telemetry", 0, d, &e);
        add_ok(a, "pdm.maintenance", 0, d, &mt);
        assert_int_equal(pdm_archive_commit(a, NOW, err, sizeof err), 0);
    }
    assert_false(exists(dir, "2015-01-03"));
    assert_true(exists(dir, "2015-01-04/PdM_telemetry.csv"));
    assert_true(exists(dir, "2015-01-05/PdM_maint.csv"));
    assert_true(exists(dir, "PdM_machines.csv"));
    assert_int_equal(pdm_archive_get_stats(a)->expired_days, 1);
    /* A late event of the removed day is skipped, not a new directory. */
    pdm_event late = tel(1, T2015_01_03 + 5 * HOUR, 9);
    add_ok(a, "pdm.telemetry", 0, 3, &late);
    assert_int_equal(pdm_archive_commit(a, NOW, err, sizeof err), 0);
    assert_int_equal(pdm_archive_get_stats(a)->skipped[PDM_ARCHIVE_SKIP_EXPIRED], 1);
    assert_false(exists(dir, "2015-01-03"));
    pdm_archive_destroy(a);
    /* The state no longer lists the removed day. */
    char *st = read_text(dir, ARC_STATE_FILE);
    assert_null(strstr(st, "2015-01-03"));
    free(st);
}

/* A simulated fleet added in replay order (committed every 500 events, by
 * type to its topic, machines spread over 3 partitions) and exported loads
 * as exactly the events of its CSV files; a day range keeps the maintenance
 * history before it. */
static void test_export_loads_as_the_source(void **state)
{
    const char *dir = *state;
    char err[PDM_ERRSTR_SIZE], src[4096], arc[4096], out[4096], part[4096];
    pdm_sim_params p;
    pdm_dataset *ds = NULL, *back = NULL, *range = NULL;
    int64_t offsets[PDM_EV_COUNT][3] = {{0}};
    int days = 0;

    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(arc, sizeof arc, "%s/arc", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(part, sizeof part, "%s/part", dir);
    pdm_sim_params_init(&p);
    p.machines = 6;
    p.hours = 24 * 20;
    p.seed = 5;
    assert_int_equal(pdm_sim_write_csv(&p, src, err, sizeof err), 0);
    assert_int_equal(pdm_dataset_load(src, NULL, &ds, err, sizeof err), 0);
    pdm_archive *a = pdm_archive_open(arc, 0, err, sizeof err);
    assert_non_null(a);
    size_t n;
    const pdm_event *ev = pdm_dataset_events(ds, &n);
    for (size_t i = 0; i < n; i++) {
        int part_no = ev[i].machine_id % 3;
        add_ok(a, pdm_event_type_name(ev[i].type), part_no, offsets[ev[i].type][part_no]++, &ev[i]);
        if (i % 500 == 499)
            assert_int_equal(pdm_archive_commit(a, NOW, err, sizeof err), 0);
    }
    assert_int_equal(pdm_archive_commit(a, NOW, err, sizeof err), 0);
    pdm_archive_destroy(a);

    assert_int_equal(pdm_archive_export(arc, NULL, NULL, out, &days, err, sizeof err), 0);
    assert_true(days >= 20);
    assert_int_equal(pdm_dataset_load(out, NULL, &back, err, sizeof err), 0);
    size_t m;
    const pdm_event *got = pdm_dataset_events(back, &m);
    assert_int_equal(m, n);
    assert_memory_equal(got, ev, n * sizeof *ev);

    /* Two days: their telemetry, errors and failures; maintenance up to the
     * last day; every machine. */
    assert_int_equal(
        pdm_archive_export(arc, "2015-01-05", "2015-01-06", part, &days, err, sizeof err), 0);
    assert_int_equal(days, 2);
    assert_int_equal(pdm_dataset_load(part, NULL, &range, err, sizeof err), 0);
    size_t nt, nm, nmach, src_maint = 0;
    const pdm_event *t = pdm_dataset_events_of_type(range, PDM_EV_TELEMETRY, &nt);
    assert_int_equal(nt, 6 * 48);
    assert_int_equal(t[0].ts, T2015_01_03 + 2 * DAY);
    const pdm_event *mt = pdm_dataset_events_of_type(range, PDM_EV_MAINTENANCE, &nm);
    const pdm_event *all_mt = pdm_dataset_events_of_type(ds, PDM_EV_MAINTENANCE, &m);
    for (size_t i = 0; i < m; i++)
        src_maint += all_mt[i].ts < T2015_01_03 + 4 * DAY;
    assert_true(src_maint > 0);
    assert_int_equal(nm, src_maint);
    assert_true(mt[0].ts < T2015_01_03);
    pdm_dataset_events_of_type(range, PDM_EV_MACHINE, &nmach);
    assert_int_equal(nmach, 6);
    assert_int_equal(
        pdm_archive_export(arc, "2015-01-06", "2015-01-05", part, NULL, err, sizeof err), -1);
    assert_int_equal(pdm_archive_export(src, NULL, NULL, part, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "not an archive"));
    pdm_dataset_destroy(range);
    pdm_dataset_destroy(back);
    pdm_dataset_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_day_and_file_names),
        cmocka_unit_test(test_rows_as_the_loader_reads_them),
        cmocka_unit_test(test_recovery_rule),
        cmocka_unit_test(test_retention_selection),
        cmocka_unit_test(test_state_text),
        cmocka_unit_test_setup_teardown(test_commit_and_reopen, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_commit_recovers, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_lost_state_is_refused, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_retention_removes_old_days, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(test_export_loads_as_the_source, scratch_setup,
                                        scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
