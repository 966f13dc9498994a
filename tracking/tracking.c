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
 */
#include "pdm_tracking.h"

#include "pdm_common.h"
#include "tracking_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_EXPERIMENT_ID "0"
#define DEFAULT_EXPERIMENT_NAME "Default"
#define MAX_KEY_LEN 250
#define MAX_PARAM_VALUE_LEN 6000
#define MAX_TAG_VALUE_LEN 5000
#define MAX_EXPERIMENT_NAME_LEN 500
#define SOURCE_TYPE_LOCAL 4
#define MAX_COPY_DEPTH 64

struct pdm_tracking_run {
    char *root; /* absolute store directory */
    char *experiment_id;
    char run_id[33];
    char *run_name;
    char *user;
    char *run_dir;
    char *artifact_uri;
    int64_t start_time;
    int ended;
};

/* malloc'ed printf, NULL if out of memory. */
static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Creates the directories leading to path (a file path). */
static int make_parent_dirs(const char *path, char *errstr, size_t errlen)
{
    char *dir = strdup(path);
    if (!dir)
        return pdm_err(errstr, errlen, "out of memory");
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = pdm_mkdirs(dir, errstr, errlen);
    }
    free(dir);
    return rc;
}

static int write_file(const char *path, const char *data, size_t len, int flags, char *errstr,
                      size_t errlen)
{
    if (make_parent_dirs(path, errstr, errlen))
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (fd < 0)
        return pdm_err(errstr, errlen, "open %s: %s", path, strerror(errno));
    int rc = pdm_write_all(fd, data, len);
    if (close(fd))
        rc = -1;
    if (rc)
        return pdm_err(errstr, errlen, "write %s: %s", path, strerror(errno));
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

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

/* pathlib.Path(path).as_uri(): file:// and the path percent-encoded, '/'
 * and the unreserved characters kept. */
static char *file_uri(const char *path)
{
    pdm_buf b = {0};
    int rc = pdm_buf_append(&b, "file://", 7);
    for (const unsigned char *p = (const unsigned char *)path; *p && rc == 0; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("/_.-~", *p))
            rc = pdm_buf_append(&b, p, 1);
        else
            rc = pdm_buf_printf(&b, "%%%02X", *p);
    }
    if (rc) {
        pdm_buf_free(&b);
        return NULL;
    }
    return b.data;
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

/* ---- validation ------------------------------------------------------------ */

/* 1 if rel is a relative path that posixpath.normpath leaves unchanged and
 * that does not start with "..": no leading or trailing '/', no empty,
 * "." or ".." component. */
static int path_is_normal(const char *rel)
{
    if (*rel == '\0' || *rel == '/' || strncmp(rel, "..", 2) == 0)
        return 0;
    const char *c = rel;
    for (;;) {
        const char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        if (!slash)
            return 1;
        c = slash + 1;
    }
}

int pdm_tracking_key_validate(const char *key, char *errstr, size_t errlen)
{
    if (!key || !*key)
        return pdm_err(errstr, errlen, "a key name must be provided");
    size_t len = strlen(key);
    if (len > MAX_KEY_LEN)
        return pdm_err(errstr, errlen, "key '%.40s...' has %zu bytes, more than %d", key, len,
                       MAX_KEY_LEN);
    for (const char *p = key; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ' ' || c == '/'))
            return pdm_err(errstr, errlen,
                           "invalid key '%s': names may only contain alphanumerics, underscores "
                           "(_), dashes (-), periods (.), spaces ( ), and slashes (/)",
                           key);
    }
    if (!path_is_normal(key))
        return pdm_err(errstr, errlen,
                       "invalid key '%s': names are file paths and must not resolve to other "
                       "names (no leading, trailing or double '/', no '.' or '..' component)",
                       key);
    return 0;
}

/* ---- experiments ------------------------------------------------------------ */

static int write_experiment_meta(const char *root, const char *id, const char *name, char *errstr,
                                 size_t errlen)
{
    int rc = -1;
    pdm_buf b = {0};
    char *dir = str_printf("%s/%s", root, id);
    char *meta = str_printf("%s/%s/meta.yaml", root, id);
    char *uri = dir ? file_uri(dir) : NULL;
    if (!dir || !meta || !uri) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)pdm_now_ms());
    const pdm_yaml_field fields[] = {
        {"artifact_location", PDM_YAML_STR, uri},    {"creation_time", PDM_YAML_PLAIN, now},
        {"experiment_id", PDM_YAML_STR, id},         {"last_update_time", PDM_YAML_PLAIN, now},
        {"lifecycle_stage", PDM_YAML_STR, "active"}, {"name", PDM_YAML_STR, name},
    };
    if (pdm_yaml_write_mapping(&b, fields, sizeof fields / sizeof fields[0], errstr, errlen))
        goto out;
    rc = pdm_write_file_atomic(meta, b.data, b.len, errstr, errlen);
out:
    pdm_buf_free(&b);
    free(uri);
    free(meta);
    free(dir);
    return rc;
}

/* Creates <root>/<id> with its meta.yaml. Returns 0, 1 if the directory
 * already exists, -1 on error. */
static int create_experiment(const char *root, const char *id, const char *name, char *errstr,
                             size_t errlen)
{
    char *dir = str_printf("%s/%s", root, id);
    if (!dir)
        return pdm_err(errstr, errlen, "out of memory");
    int rc = 0;
    if (mkdir(dir, 0755)) {
        rc = errno == EEXIST ? 1 : pdm_err(errstr, errlen, "mkdir %s: %s", dir, strerror(errno));
    } else if (write_experiment_meta(root, id, name, errstr, errlen)) {
        rmdir(dir);
        rc = -1;
    }
    free(dir);
    return rc;
}

static int is_numeric_id(const char *s)
{
    if (!*s || strlen(s) > 18)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Largest numeric directory name in dir (0 if none). */
static long long max_numeric_entry(const char *dir)
{
    long long max = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (is_numeric_id(e->d_name)) {
            long long v = atoll(e->d_name);
            if (v > max)
                max = v;
        }
    }
    closedir(d);
    return max;
}

/* Finds the active experiment called name, as MLflow's
 * get_experiment_by_name does (the newest one if several). Returns 0 with
 * *id_out malloc'ed, 1 if none, -1 on error. */
static int find_experiment(const char *root, const char *name, char **id_out, char *errstr,
                           size_t errlen)
{
    int rc = 1;
    long long best_time = -1;
    DIR *d = opendir(root);
    *id_out = NULL;
    if (!d)
        return pdm_err(errstr, errlen, "opendir %s: %s", root, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "models") == 0)
            continue;
        char *meta = str_printf("%s/%s/meta.yaml", root, e->d_name);
        pdm_buf doc = {0};
        char *got_name = NULL, *stage = NULL, *created = NULL;
        if (!meta) {
            rc = pdm_err(errstr, errlen, "out of memory");
            break;
        }
        int frc = 0;
        if (pdm_read_file(meta, &doc, NULL, 0) == 0 && doc.data) {
            frc = pdm_yaml_get(doc.data, "name", &got_name);
            if (frc == 0)
                frc = pdm_yaml_get(doc.data, "lifecycle_stage", &stage);
            if (frc == 0 && pdm_yaml_get(doc.data, "creation_time", &created) < 0)
                frc = -1;
        }
        if (frc < 0) {
            rc = pdm_err(errstr, errlen, "out of memory");
        } else if (got_name && stage && strcmp(got_name, name) == 0 &&
                   strcmp(stage, "active") == 0) {
            long long t = created ? atoll(created) : 0;
            int better =
                t > best_time || (t == best_time && *id_out && atoll(e->d_name) < atoll(*id_out));
            if (better) {
                char *id = strdup(e->d_name);
                if (!id) {
                    rc = pdm_err(errstr, errlen, "out of memory");
                } else {
                    free(*id_out);
                    *id_out = id;
                    best_time = t;
                    rc = 0;
                }
            }
        }
        free(created);
        free(stage);
        free(got_name);
        pdm_buf_free(&doc);
        free(meta);
        if (rc < 0)
            break;
    }
    closedir(d);
    if (rc < 0) {
        free(*id_out);
        *id_out = NULL;
    }
    return rc;
}

/* With the store locked: makes sure "Default" (0) and .trash exist, then
 * finds or creates the experiment. */
static int resolve_experiment(const char *root, const char *name, char **id_out, char *errstr,
                              size_t errlen)
{
    char *trash = str_printf("%s/.trash", root);
    if (!trash)
        return pdm_err(errstr, errlen, "out of memory");
    int rc = -1;
    if (create_experiment(root, DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, errstr, errlen) < 0)
        goto out;
    if (mkdir(trash, 0755) && errno != EEXIST) {
        pdm_err(errstr, errlen, "mkdir %s: %s", trash, strerror(errno));
        goto out;
    }
    rc = find_experiment(root, name, id_out, errstr, errlen);
    if (rc <= 0)
        goto out;
    /* Not found: the next id after every one in use, deleted ones included
     * (a restored experiment must not collide). */
    long long next = max_numeric_entry(root);
    long long in_trash = max_numeric_entry(trash);
    next = (in_trash > next ? in_trash : next) + 1;
    for (int attempt = 0; attempt < 1000; attempt++, next++) {
        char id[24];
        snprintf(id, sizeof id, "%lld", next);
        int crc = create_experiment(root, id, name, errstr, errlen);
        if (crc < 0)
            goto out;
        if (crc == 0) {
            *id_out = strdup(id);
            rc = *id_out ? 0 : pdm_err(errstr, errlen, "out of memory");
            goto out;
        }
    }
    rc = pdm_err(errstr, errlen, "%s: no free experiment id", root);
out:
    free(trash);
    return rc;
}

/* ---- runs ------------------------------------------------------------------ */

static int write_run_meta(pdm_tracking_run *run, pdm_run_status status, int64_t end_time,
                          char *errstr, size_t errlen)
{
    pdm_buf b = {0};
    int rc = -1;
    char *path = str_printf("%s/meta.yaml", run->run_dir);
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

static int check_active(const pdm_tracking_run *run, char *errstr, size_t errlen)
{
    if (run->ended)
        return pdm_err(errstr, errlen, "run %s has ended: it accepts no more logs", run->run_id);
    return 0;
}

static int write_run_tag(pdm_tracking_run *run, const char *key, const char *value, char *errstr,
                         size_t errlen)
{
    char *path = str_printf("%s/tags/%s", run->run_dir, key);
    if (!path)
        return pdm_err(errstr, errlen, "out of memory");
    int rc = write_file(path, value, strlen(value), O_TRUNC, errstr, errlen);
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
    if (resolve_experiment(run->root, experiment_name, &run->experiment_id, errstr, errlen))
        goto out;
    flock(lock_fd, LOCK_UN);

    if (random_run_id(run->run_id, errstr, errlen))
        goto out;
    run->run_name = strdup(run_name);
    run->user = current_user();
    run->run_dir = str_printf("%s/%s/%s", run->root, run->experiment_id, run->run_id);
    char *artifacts = run->run_dir ? str_printf("%s/artifacts", run->run_dir) : NULL;
    run->artifact_uri = artifacts ? file_uri(artifacts) : NULL;
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
        subdir = str_printf("%s/%s", run->run_dir, subdirs[i]);
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
    if (check_active(run, errstr, errlen) || pdm_tracking_key_validate(key, errstr, errlen))
        return -1;
    if (!value)
        value = "";
    if (strlen(value) > MAX_PARAM_VALUE_LEN)
        return pdm_err(errstr, errlen, "param '%s': value longer than %d bytes", key,
                       MAX_PARAM_VALUE_LEN);
    char *path = str_printf("%s/params/%s", run->run_dir, key);
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
    rc = write_file(path, value, strlen(value), O_TRUNC, errstr, errlen);
out:
    pdm_buf_free(&old);
    free(path);
    return rc;
}

int pdm_tracking_log_metric_at(pdm_tracking_run *run, const char *key, double value,
                               int64_t timestamp_ms, int64_t step, char *errstr, size_t errlen)
{
    if (check_active(run, errstr, errlen) || pdm_tracking_key_validate(key, errstr, errlen))
        return -1;
    if (timestamp_ms < 0)
        return pdm_err(errstr, errlen, "metric '%s': timestamp %lld is negative", key,
                       (long long)timestamp_ms);
    char num[40], line[96];
    format_python_float(value, num);
    int n = snprintf(line, sizeof line, "%lld %s %lld\n", (long long)timestamp_ms, num,
                     (long long)step);
    char *path = str_printf("%s/metrics/%s", run->run_dir, key);
    if (!path)
        return pdm_err(errstr, errlen, "out of memory");
    /* One write() with O_APPEND: concurrent appends never interleave. */
    int rc = write_file(path, line, (size_t)n, O_APPEND, errstr, errlen);
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
    if (check_active(run, errstr, errlen) || pdm_tracking_key_validate(key, errstr, errlen))
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

/* ---- artifacts ------------------------------------------------------------- */

/* An artifact subpath: relative, normalised, no control characters. */
static int artifact_subpath_validate(const char *sub, char *errstr, size_t errlen)
{
    for (const unsigned char *p = (const unsigned char *)sub; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return pdm_err(errstr, errlen, "artifact path has a control character");
    if (!path_is_normal(sub))
        return pdm_err(errstr, errlen,
                       "invalid artifact path '%s': must be relative, without '.', '..' or "
                       "empty components",
                       sub);
    return 0;
}

static int copy_file(const char *src, const char *dst, mode_t mode, char *errstr, size_t errlen)
{
    int rc = -1, in = -1, out_fd = -1;
    char buf[65536];
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        pdm_err(errstr, errlen, "open %s: %s", src, strerror(errno));
        goto out;
    }
    out_fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 0777);
    if (out_fd < 0) {
        pdm_err(errstr, errlen, "create %s: %s", dst, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            pdm_err(errstr, errlen, "read %s: %s", src, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        if (pdm_write_all(out_fd, buf, (size_t)r)) {
            pdm_err(errstr, errlen, "write %s: %s", dst, strerror(errno));
            goto out;
        }
    }
    if (close(out_fd)) {
        out_fd = -1;
        pdm_err(errstr, errlen, "close %s: %s", dst, strerror(errno));
        goto out;
    }
    out_fd = -1;
    rc = 0;
out:
    if (in >= 0)
        close(in);
    if (out_fd >= 0)
        close(out_fd);
    return rc;
}

static int copy_tree(const char *src, const char *dst, int depth, char *errstr, size_t errlen)
{
    if (depth > MAX_COPY_DEPTH)
        return pdm_err(errstr, errlen, "%s: deeper than %d levels (a symlink loop?)", src,
                       MAX_COPY_DEPTH);
    if (pdm_mkdirs(dst, errstr, errlen))
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return pdm_err(errstr, errlen, "opendir %s: %s", src, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *s = str_printf("%s/%s", src, e->d_name);
        char *t = str_printf("%s/%s", dst, e->d_name);
        struct stat st;
        if (!s || !t)
            rc = pdm_err(errstr, errlen, "out of memory");
        else if (stat(s, &st))
            rc = pdm_err(errstr, errlen, "stat %s: %s", s, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = copy_tree(s, t, depth + 1, errstr, errlen);
        else if (S_ISREG(st.st_mode))
            rc = copy_file(s, t, st.st_mode, errstr, errlen);
        /* sockets, fifos and devices are not artifacts: skipped */
        free(s);
        free(t);
    }
    closedir(d);
    return rc;
}

static char *artifact_dest(const pdm_tracking_run *run, const char *sub, char *errstr,
                           size_t errlen)
{
    if (sub && *sub && artifact_subpath_validate(sub, errstr, errlen))
        return NULL;
    char *dst = sub && *sub ? str_printf("%s/artifacts/%s", run->run_dir, sub)
                            : str_printf("%s/artifacts", run->run_dir);
    if (!dst)
        pdm_err(errstr, errlen, "out of memory");
    return dst;
}

int pdm_tracking_log_artifacts(pdm_tracking_run *run, const char *src_dir,
                               const char *artifact_subpath, char *errstr, size_t errlen)
{
    if (check_active(run, errstr, errlen))
        return -1;
    if (!src_dir || !is_dir(src_dir))
        return pdm_err(errstr, errlen, "%s: not a directory", src_dir ? src_dir : "(null)");
    char *dst = artifact_dest(run, artifact_subpath, errstr, errlen);
    if (!dst)
        return -1;
    int rc = copy_tree(src_dir, dst, 0, errstr, errlen);
    free(dst);
    return rc;
}

int pdm_tracking_log_artifact(pdm_tracking_run *run, const char *src_file,
                              const char *artifact_subpath, char *errstr, size_t errlen)
{
    struct stat st;
    if (check_active(run, errstr, errlen))
        return -1;
    if (!src_file || stat(src_file, &st) || !S_ISREG(st.st_mode))
        return pdm_err(errstr, errlen, "%s: not a regular file", src_file ? src_file : "(null)");
    char *dir = artifact_dest(run, artifact_subpath, errstr, errlen);
    if (!dir)
        return -1;
    const char *base = strrchr(src_file, '/');
    base = base ? base + 1 : src_file;
    char *dst = str_printf("%s/%s", dir, base);
    int rc = -1;
    if (!dst)
        pdm_err(errstr, errlen, "out of memory");
    else if (pdm_mkdirs(dir, errstr, errlen) == 0)
        rc = copy_file(src_file, dst, st.st_mode, errstr, errlen);
    free(dst);
    free(dir);
    return rc;
}

/* ---- ending ------------------------------------------------------------------ */

int pdm_tracking_run_end(pdm_tracking_run *run, pdm_run_status status, char *errstr, size_t errlen)
{
    if (check_active(run, errstr, errlen))
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
