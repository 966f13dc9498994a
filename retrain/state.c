/* state.c: pdm-retrain's state file, a small JSON document written under a
 * temporary name, fsynced and renamed over the old one
 * (pdm_write_file_atomic), so a crash leaves the old or the new state, never
 * half of one. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "retrain_internal.h"

void retrain_state_init(retrain_state *s)
{
    memset(s, 0, sizeof *s);
    s->last_run_ms = INT64_MIN;
    s->last_success_ms = INT64_MIN;
    s->candidate_pr_auc = s->current_pr_auc = NAN;
    s->candidate_warn_precision = s->current_warn_precision = NAN;
}

static void copy_string(const cJSON *o, const char *key, char *dst, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v))
        snprintf(dst, len, "%s", v->valuestring);
}

/* The figures behind the metrics (absent from states written before them). */
static void load_metrics(const cJSON *root, retrain_state *s)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "last_success_ms");
    if (cJSON_IsNumber(v))
        s->last_success_ms = (int64_t)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(root, "failures_in_row");
    if (cJSON_IsNumber(v) && v->valuedouble >= 0)
        s->failures_in_row = v->valueint;
    const cJSON *scores = cJSON_GetObjectItemCaseSensitive(root, "scores");
    struct {
        const char *key;
        double *v;
    } keys[] = {{"candidate_pr_auc", &s->candidate_pr_auc},
                {"current_pr_auc", &s->current_pr_auc},
                {"candidate_warn_precision", &s->candidate_warn_precision},
                {"current_warn_precision", &s->current_warn_precision}};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        v = cJSON_GetObjectItemCaseSensitive(scores, keys[i].key);
        if (cJSON_IsNumber(v))
            *keys[i].v = v->valuedouble;
    }
}

static int load_drift(const cJSON *d, pdm_retrain_drift_history *h)
{
    const cJSON *w;
    if (!d)
        return 0;
    copy_string(d, "model_version", h->model_version, sizeof h->model_version);
    const cJSON *windows = cJSON_GetObjectItemCaseSensitive(d, "windows");
    if (!cJSON_IsArray(windows))
        return -1;
    cJSON_ArrayForEach(w, windows)
    {
        const cJSON *num = cJSON_GetArrayItem(w, 0), *above = cJSON_GetArrayItem(w, 1);
        if (!cJSON_IsNumber(num) || !cJSON_IsNumber(above) || num->valuedouble < 0 ||
            h->n == PDM_RETRAIN_DRIFT_HISTORY)
            return -1;
        h->window[h->n] = (uint64_t)num->valuedouble;
        h->above[h->n] = above->valueint;
        h->n++;
    }
    return 0;
}

int retrain_state_load(const char *path, retrain_state *s, char *errstr, size_t errlen)
{
    pdm_buf text = {0};
    cJSON *root = NULL;
    char err[PDM_ERRSTR_SIZE];
    int rc = -1;

    retrain_state_init(s);
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    if (pdm_read_file(path, &text, err, sizeof err)) {
        pdm_err(errstr, errlen, "state %s: %s", path, err);
        goto out;
    }
    root = cJSON_Parse(text.data);
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(root, "last_run_ms");
    if (!cJSON_IsObject(root) || (last && !cJSON_IsNumber(last)) ||
        load_drift(cJSON_GetObjectItemCaseSensitive(root, "drift"), &s->drift)) {
        pdm_err(errstr, errlen, "state %s: not a pdm-retrain state (remove it to start afresh)",
                path);
        goto out;
    }
    if (last)
        s->last_run_ms = (int64_t)last->valuedouble;
    load_metrics(root, s);
    copy_string(root, "last_trigger", s->last_trigger, sizeof s->last_trigger);
    copy_string(root, "last_decision", s->last_decision, sizeof s->last_decision);
    copy_string(root, "previous_version", s->previous_version, sizeof s->previous_version);
    copy_string(root, "shadow_candidate", s->shadow_candidate, sizeof s->shadow_candidate);
    rc = 0;
out:
    cJSON_Delete(root);
    pdm_buf_free(&text);
    return rc;
}

static char *state_json(const retrain_state *s)
{
    char when[32];
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    if (s->last_run_ms != INT64_MIN) {
        cJSON_AddNumberToObject(root, "last_run_ms", (double)s->last_run_ms);
        cJSON_AddStringToObject(root, "last_run", pdm_time_format(s->last_run_ms, when));
    }
    if (s->last_success_ms != INT64_MIN)
        cJSON_AddNumberToObject(root, "last_success_ms", (double)s->last_success_ms);
    cJSON_AddNumberToObject(root, "failures_in_row", s->failures_in_row);
    cJSON *scores = cJSON_AddObjectToObject(root, "scores");
    const struct {
        const char *key;
        double v;
    } keys[] = {{"candidate_pr_auc", s->candidate_pr_auc},
                {"current_pr_auc", s->current_pr_auc},
                {"candidate_warn_precision", s->candidate_warn_precision},
                {"current_warn_precision", s->current_warn_precision}};
    for (size_t i = 0; scores && i < sizeof keys / sizeof *keys; i++)
        if (isfinite(keys[i].v))
            cJSON_AddNumberToObject(scores, keys[i].key, keys[i].v);
    cJSON_AddStringToObject(root, "last_trigger", s->last_trigger);
    cJSON_AddStringToObject(root, "last_decision", s->last_decision);
    cJSON_AddStringToObject(root, "previous_version", s->previous_version);
    cJSON_AddStringToObject(root, "shadow_candidate", s->shadow_candidate);
    cJSON *d = cJSON_AddObjectToObject(root, "drift");
    cJSON *w = d ? cJSON_AddArrayToObject(d, "windows") : NULL;
    if (w) {
        cJSON_AddStringToObject(d, "model_version", s->drift.model_version);
        for (size_t i = 0; i < s->drift.n; i++) {
            cJSON *pair = cJSON_CreateArray();
            cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)s->drift.window[i]));
            cJSON_AddItemToArray(pair, cJSON_CreateNumber(s->drift.above[i]));
            cJSON_AddItemToArray(w, pair);
        }
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

int retrain_state_save(const char *path, const retrain_state *s, char *errstr, size_t errlen)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_buf text = {0};
    char *json = state_json(s);
    int rc = -1;

    if (!json || pdm_buf_printf(&text, "%s\n", json)) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    if (pdm_write_file_atomic(path, text.data, text.len, err, sizeof err)) {
        pdm_err(errstr, errlen, "state: %s", err);
        goto out;
    }
    rc = 0;
out:
    pdm_buf_free(&text);
    free(json);
    return rc;
}

int retrain_state_lock(const char *path, char *errstr, size_t errlen)
{
    char lock[4200];
    if ((size_t)snprintf(lock, sizeof lock, "%s.lock", path) >= sizeof lock)
        return pdm_err(errstr, errlen, "state: path too long: %s", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return pdm_err(errstr, errlen, "%s: %s", lock, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        close(fd);
        return pdm_err(errstr, errlen, "%s: %s", lock,
                       e == EWOULDBLOCK ? "another pdm-retrain is running" : strerror(e));
    }
    return fd;
}

void retrain_state_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
