/* experiment.c: finding or creating an experiment by name in MLflow's
 * file store, as its FileStore does (called by pdm_tracking_run_start with
 * the store locked). */
#include "pdm_common.h"
#include "tracking_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_EXPERIMENT_ID "0"

static int write_experiment_meta(const char *root, const char *id, const char *name, char *errstr,
                                 size_t errlen)
{
    int rc = -1;
    pdm_buf b = {0};
    char *dir = pdm_tracking_str_printf("%s/%s", root, id);
    char *meta = pdm_tracking_str_printf("%s/%s/meta.yaml", root, id);
    char *uri = dir ? pdm_tracking_file_uri(dir) : NULL;
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
    char *dir = pdm_tracking_str_printf("%s/%s", root, id);
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
        char *meta = pdm_tracking_str_printf("%s/%s/meta.yaml", root, e->d_name);
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
int pdm_tracking_experiment_resolve(const char *root, const char *name, char **id_out, char *errstr,
                                    size_t errlen)
{
    char *trash = pdm_tracking_str_printf("%s/.trash", root);
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
