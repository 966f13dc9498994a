/* tracking.c: MLflow's file store (mlflow/store/tracking/file_store.py)
 * re-done in C for the runs pdm-train records.
 *
 * What MLflow reads, and so what we must write exactly:
 * - an experiment is a directory <root>/<id> whose meta.yaml holds
 *   artifact_location, creation_time, experiment_id (a string), last_update_time,
 *   lifecycle_stage and name; the store starts with "Default" as id 0 and a
 *   .trash directory;
 * - a run is <root>/<id>/<run_id> whose meta.yaml holds the RunInfo fields
 *   plus the legacy ones FileStore still writes (source_type 4 = LOCAL,
 *   empty source_name/entry_point_name/source_version, tags: []), status as
 *   RunStatus's number, and deleted_time: null while it is being created;
 * - params/tags are files holding the value, metrics are files of
 *   "<timestamp_ms> <value> <step>" lines with value written as Python's
 *   repr(float), keys may contain '/' (subdirectories).
 * meta.yaml is replaced through a temporary file and rename, so a reader
 * (mlflow ui) never sees half a file. The experiment lookup and creation
 * run under flock() on the store directory, so two trainers starting at
 * once agree on one experiment per name.
 *
 * This file holds a run's life (start, params, metrics, tags, end);
 * experiment.c the experiments, artifacts.c the artifacts, paths.c the
 * paths, files and key names they share.
 */
#include "pdm_tracking.h"

#include "pdm_common.h"
#include "tracking_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARAM_VALUE_LEN 6000
#define MAX_EXPERIMENT_NAME_LEN 500
#define SOURCE_TYPE_LOCAL 4

/* ---- values as MLflow writes them ---------------------------------------- */

/* Python's repr(float): the shortest digits that read back as v, in fixed
 * notation for exponents -4..15 (with ".0" when whole), else d.ddde+XX. */
static void format_python_float(double v, char out[40])
{
    if (isnan(v)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v < 0 ? "-inf" : "inf");
        return;
    }
    char e_form[40];
    int prec;
    for (prec = 0; prec < 17; prec++) {
        snprintf(e_form, sizeof e_form, "%.*e", prec, v);
        if (strtod(e_form, NULL) == v)
            break;
    }
    /* e_form is [-]d[.ddd]e±XX */
    const char *p = e_form;
    char *o = out;
    if (*p == '-')
        *o++ = *p++;
    char digits[20];
    size_t nd = 0;
    for (; *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (exp < -4 || exp >= 16) {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, nd - 1);
            o += nd - 1;
        }
        sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return;
    }
    if (exp < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -exp - 1; i++)
            *o++ = '0';
        memcpy(o, digits, nd);
        o += nd;
    } else {
        for (int i = 0; i <= exp; i++)
            *o++ = (size_t)i < nd ? digits[i] : '0';
        *o++ = '.';
        if ((size_t)exp + 1 < nd) {
            memcpy(o, digits + exp + 1, nd - (size_t)exp - 1);
            o += nd - (size_t)exp - 1;
        } else {
            *o++ = '0';
        }
    }
    *o = '\0';
}

/* Python's getpass.getuser(): LOGNAME, USER, LNAME, USERNAME, then the
 * password database. */
static char *current_user(void)
{
    static const char *const vars[] = {"LOGNAME", "USER", "LNAME", "USERNAME"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strdup(v);
    }
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res)
        return strdup(res->pw_name);
    return strdup("unknown");
}

static int random_run_id(char out[33], char *errstr, size_t errlen)
{
    unsigned char bytes[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pdm_err(errstr, errlen, "/dev/urandom: %s", strerror(errno));
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t r = read(fd, bytes + got, sizeof bytes - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got < sizeof bytes)
        return pdm_err(errstr, errlen, "/dev/urandom: short read");
    for (size_t i = 0; i < sizeof bytes; i++)
        sprintf(out + 2 * i, "%02x", bytes[i]);
    return 0;
}

/* ---- runs ------------------------------------------------------------------ */

static int write_run_meta(pdm_tracking_run *run, pdm_run_status status, int64_t end_time,
                          char *errstr, size_t errlen)
{
    pdm_buf b = {0};
    int rc = -1;
    char *path = pdm_tracking_str_printf("%s/meta.yaml", run->run_dir);
    if (!path)
        return pdm_err(errstr, errlen, "out of memory");
    char end[24], start[24], source_type[8], status_num[8];
    snprintf(end, sizeof end, "%lld", (long long)end_time);
    snprintf(start, sizeof start, "%lld", (long long)run->start_time);
    snprintf(source_type, sizeof source_type, "%d", SOURCE_TYPE_LOCAL);
    snprintf(status_num, sizeof status_num, "%d", (int)status);
    pdm_yaml_field f[16];
    size_t n = 0;
    f[n++] = (pdm_yaml_field){"artifact_uri", PDM_YAML_STR, run->artifact_uri};
    /* FileStore.create_run writes deleted_time: null; later rewrites
     * (_overwrite_run_info) leave it out. */
    if (status == PDM_RUN_RUNNING)
        f[n++] = (pdm_yaml_field){"deleted_time", PDM_YAML_PLAIN, "null"};
    f[n++] = (pdm_yaml_field){"end_time", PDM_YAML_PLAIN, end_time >= 0 ? end : "null"};
    f[n++] = (pdm_yaml_field){"entry_point_name", PDM_YAML_STR, ""};
    f[n++] = (pdm_yaml_field){"experiment_id", PDM_YAML_STR, run->experiment_id};
    f[n++] = (pdm_yaml_field){"lifecycle_stage", PDM_YAML_STR, "active"};
    f[n++] = (pdm_yaml_field){"run_id", PDM_YAML_STR, run->run_id};
    f[n++] = (pdm_yaml_field){"run_name", PDM_YAML_STR, run->run_name};
    f[n++] = (pdm_yaml_field){"run_uuid", PDM_YAML_STR, run->run_id};
    f[n++] = (pdm_yaml_field){"source_name", PDM_YAML_STR, ""};
    f[n++] = (pdm_yaml_field){"source_type", PDM_YAML_PLAIN, source_type};
    f[n++] = (pdm_yaml_field){"source_version", PDM_YAML_STR, ""};
    f[n++] = (pdm_yaml_field){"start_time", PDM_YAML_PLAIN, start};
    f[n++] = (pdm_yaml_field){"status", PDM_YAML_PLAIN, status_num};
    f[n++] = (pdm_yaml_field){"tags", PDM_YAML_EMPTY_LIST, NULL};
    f[n++] = (pdm_yaml_field){"user_id", PDM_YAML_STR, run->user};
    if (pdm_yaml_write_mapping(&b, f, n, errstr, errlen) == 0)
        rc = pdm_write_file_atomic(path, b.data, b.len, errstr, errlen);
    pdm_buf_free(&b);
    free(path);
    return rc;
}

int pdm_tracking_run_check_active(const pdm_tracking_run *run, char *errstr, size_t errlen)
{
    if (run->ended)
        return pdm_err(errstr, errlen, "run %s has ended: it accepts no more logs", run->run_id);
    return 0;
}

static int write_run_tag(pdm_tracking_run *run, const char *key, const char *value, char *errstr,
                         size_t errlen)
{
    char *path = pdm_tracking_str_printf("%s/tags/%s", run->run_dir, key);
    if (!path)
        return pdm_err(errstr, errlen, "out of memory");
    int rc = pdm_tracking_write_file(path, value, strlen(value), O_TRUNC, errstr, errlen);
    free(path);
    return rc;
}

static void default_run_name(char out[32])
{
    time_t t = (time_t)(pdm_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "pdm-%Y%m%d-%H%M%S", &tm);
}

static char *executable_path(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return strdup("pdm");
    buf[n] = '\0';
    return strdup(buf);
}

int pdm_tracking_run_start(const char *mlruns_dir, const char *experiment_name,
                           const char *run_name, pdm_tracking_run **out, char *errstr,
                           size_t errlen)
{
    int rc = -1, lock_fd = -1;
    char name_buf[32];
    char *exe = NULL, *subdir = NULL;
    pdm_tracking_run *run = NULL;
    *out = NULL;
    if (!mlruns_dir || !*mlruns_dir)
        return pdm_err(errstr, errlen, "no mlruns directory given");
    if (!experiment_name || !*experiment_name)
        experiment_name = DEFAULT_EXPERIMENT_NAME;
    if (strlen(experiment_name) > MAX_EXPERIMENT_NAME_LEN)
        return pdm_err(errstr, errlen, "experiment name longer than %d bytes",
                       MAX_EXPERIMENT_NAME_LEN);
    if (!run_name || !*run_name) {
        default_run_name(name_buf);
        run_name = name_buf;
    }
    if (strlen(run_name) > MAX_TAG_VALUE_LEN)
        return pdm_err(errstr, errlen, "run name longer than %d bytes", MAX_TAG_VALUE_LEN);

    run = calloc(1, sizeof *run);
    if (!run)
        return pdm_err(errstr, errlen, "out of memory");
    run->ended = 1; /* nothing to end until the run exists */
    if (pdm_mkdirs(mlruns_dir, errstr, errlen))
        goto out;
    run->root = realpath(mlruns_dir, NULL);
    if (!run->root) {
        pdm_err(errstr, errlen, "%s: %s", mlruns_dir, strerror(errno));
        goto out;
    }
    lock_fd = open(run->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX)) {
        pdm_err(errstr, errlen, "lock %s: %s", run->root, strerror(errno));
        goto out;
    }
    if (pdm_tracking_experiment_resolve(run->root, experiment_name, &run->experiment_id, errstr,
                                        errlen))
        goto out;
    flock(lock_fd, LOCK_UN);

    if (random_run_id(run->run_id, errstr, errlen))
        goto out;
    run->run_name = strdup(run_name);
    run->user = current_user();
    run->run_dir = pdm_tracking_str_printf("%s/%s/%s", run->root, run->experiment_id, run->run_id);
    char *artifacts = run->run_dir ? pdm_tracking_str_printf("%s/artifacts", run->run_dir) : NULL;
    run->artifact_uri = artifacts ? pdm_tracking_file_uri(artifacts) : NULL;
    free(artifacts);
    exe = executable_path();
    if (!run->run_name || !run->user || !run->run_dir || !run->artifact_uri || !exe) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    if (mkdir(run->run_dir, 0755)) {
        pdm_err(errstr, errlen, "mkdir %s: %s", run->run_dir, strerror(errno));
        goto out;
    }
    run->start_time = pdm_now_ms();
    if (write_run_meta(run, PDM_RUN_RUNNING, -1, errstr, errlen)) {
        rmdir(run->run_dir);
        goto out;
    }
    run->ended = 0;
    static const char *const subdirs[] = {"metrics", "params", "artifacts"};
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        subdir = pdm_tracking_str_printf("%s/%s", run->run_dir, subdirs[i]);
        if (!subdir || mkdir(subdir, 0755)) {
            pdm_err(errstr, errlen, "mkdir %s/%s: %s", run->run_dir, subdirs[i],
                    subdir ? strerror(errno) : "out of memory");
            goto out;
        }
        free(subdir);
        subdir = NULL;
    }
    if (write_run_tag(run, "mlflow.runName", run->run_name, errstr, errlen) ||
        write_run_tag(run, "mlflow.user", run->user, errstr, errlen) ||
        write_run_tag(run, "mlflow.source.name", exe, errstr, errlen) ||
        write_run_tag(run, "mlflow.source.type", "LOCAL", errstr, errlen))
        goto out;
    *out = run;
    run = NULL;
    rc = 0;
out:
    if (lock_fd >= 0)
        close(lock_fd);
    free(subdir);
    free(exe);
    pdm_tracking_run_destroy(run); /* a half-made run ends as FAILED */
    return rc;
}

const char *pdm_tracking_run_id(const pdm_tracking_run *run)
{
    return run->run_id;
}

const char *pdm_tracking_experiment_id(const pdm_tracking_run *run)
{
    return run->experiment_id;
}

const char *pdm_tracking_run_dir(const pdm_tracking_run *run)
{
    return run->run_dir;
}

int pdm_tracking_log_param(pdm_tracking_run *run, const char *key, const char *value, char *errstr,
                           size_t errlen)
{
    if (pdm_tracking_run_check_active(run, errstr, errlen) ||
        pdm_tracking_key_validate(key, errstr, errlen))
        return -1;
    if (!value)
        value = "";
    if (strlen(value) > MAX_PARAM_VALUE_LEN)
        return pdm_err(errstr, errlen, "param '%s': value longer than %d bytes", key,
                       MAX_PARAM_VALUE_LEN);
    char *path = pdm_tracking_str_printf("%s/params/%s", run->run_dir, key);
    if (!path)
        return pdm_err(errstr, errlen, "out of memory");
    int rc = -1;
    pdm_buf old = {0};
    if (pdm_read_file(path, &old, NULL, 0) == 0) {
        if (strlen(old.data ? old.data : "") != old.len || strcmp(old.data ? old.data : "", value))
            pdm_err(errstr, errlen,
                    "changing param values is not allowed: param '%s' was already logged with "
                    "value '%.200s' for run %s, attempted '%.200s'",
                    key, old.data ? old.data : "", run->run_id, value);
        else
            rc = 0;
        goto out;
    }
    rc = pdm_tracking_write_file(path, value, strlen(value), O_TRUNC, errstr, errlen);
out:
    pdm_buf_free(&old);
    free(path);
    return rc;
}

int pdm_tracking_log_metric_at(pdm_tracking_run *run, const char *key, double value,
                               int64_t timestamp_ms, int64_t step, char *errstr, size_t errlen)
{
    if (pdm_tracking_run_check_active(run, errstr, errlen) ||
        pdm_tracking_key_validate(key, errstr, errlen))
        return -1;
    if (timestamp_ms < 0)
        return pdm_err(errstr, errlen, "metric '%s': timestamp %lld is negative", key,
                       (long long)timestamp_ms);
    char num[40], line[96];
    format_python_float(value, num);
    int n = snprintf(line, sizeof line, "%lld %s %lld\n", (long long)timestamp_ms, num,
                     (long long)step);
    char *path = pdm_tracking_str_printf("%s/metrics/%s", run->run_dir, key);
    if (!path)
        return pdm_err(errstr, errlen, "out of memory");
    /* One write() with O_APPEND: concurrent appends never interleave. */
    int rc = pdm_tracking_write_file(path, line, (size_t)n, O_APPEND, errstr, errlen);
    free(path);
    return rc;
}

int pdm_tracking_log_metric(pdm_tracking_run *run, const char *key, double value, int64_t step,
                            char *errstr, size_t errlen)
{
    return pdm_tracking_log_metric_at(run, key, value, pdm_now_ms(), step, errstr, errlen);
}

int pdm_tracking_set_tag(pdm_tracking_run *run, const char *key, const char *value, char *errstr,
                         size_t errlen)
{
    if (pdm_tracking_run_check_active(run, errstr, errlen) ||
        pdm_tracking_key_validate(key, errstr, errlen))
        return -1;
    if (!value)
        value = "";
    if (strlen(value) > MAX_TAG_VALUE_LEN)
        return pdm_err(errstr, errlen, "tag '%s': value longer than %d bytes", key,
                       MAX_TAG_VALUE_LEN);
    if (write_run_tag(run, key, value, errstr, errlen))
        return -1;
    if (strcmp(key, "mlflow.runName") != 0)
        return 0;
    char *name = strdup(value);
    if (!name)
        return pdm_err(errstr, errlen, "out of memory");
    free(run->run_name);
    run->run_name = name;
    return write_run_meta(run, PDM_RUN_RUNNING, -1, errstr, errlen);
}

/* ---- ending ------------------------------------------------------------------ */

int pdm_tracking_run_end(pdm_tracking_run *run, pdm_run_status status, char *errstr, size_t errlen)
{
    if (pdm_tracking_run_check_active(run, errstr, errlen))
        return -1;
    if (status != PDM_RUN_FINISHED && status != PDM_RUN_FAILED && status != PDM_RUN_KILLED)
        return pdm_err(errstr, errlen, "a run ends as FINISHED, FAILED or KILLED, not status %d",
                       (int)status);
    int64_t end = pdm_now_ms();
    if (end < run->start_time)
        end = run->start_time;
    if (write_run_meta(run, status, end, errstr, errlen))
        return -1;
    run->ended = 1;
    return 0;
}

void pdm_tracking_run_destroy(pdm_tracking_run *run)
{
    if (!run)
        return;
    if (!run->ended)
        pdm_tracking_run_end(run, PDM_RUN_FAILED, NULL, 0);
    free(run->root);
    free(run->experiment_id);
    free(run->run_name);
    free(run->user);
    free(run->run_dir);
    free(run->artifact_uri);
    free(run);
}
