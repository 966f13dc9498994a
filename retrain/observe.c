/* observe.c: what pdm-retrain reads before it decides: the current
 * model's version and training time, the archive's newest day, and the
 * scorer's drift and shadow figures over its HTTP API. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "pdm_archive.h"
#include "retrain_internal.h"

#define HTTP_TIMEOUT_MS 10000

/* The current model's version (its directory's name) and training time
 * (its model.json's modification time). 1 when there is none. */
int retrain_current_model(const char *models, char *version, size_t vlen, int64_t *trained_ms,
                          char *errstr, size_t errlen)
{
    char dir[4096], file[4200];
    struct stat st;
    int found = pdm_model_current(models, dir, sizeof dir, errstr, errlen);
    version[0] = '\0';
    *trained_ms = INT64_MIN;
    if (found != 0)
        return found;
    const char *slash = strrchr(dir, '/');
    const char *name = slash ? slash + 1 : dir;
    if (strlen(name) >= vlen)
        return pdm_err(errstr, errlen, "%s: the version directory's name is too long", dir);
    memcpy(version, name, strlen(name) + 1);
    snprintf(file, sizeof file, "%s/model.json", dir);
    if (stat(file, &st))
        return pdm_err(errstr, errlen, "%s: %s", file, strerror(errno));
    *trained_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return 0;
}

/* The newest "YYYY-MM-DD" directory of the archive. 1 when it has none. */
int retrain_newest_day(const char *archive, char *day, char *errstr, size_t errlen)
{
    DIR *d = opendir(archive);
    struct dirent *e;
    int64_t best = INT64_MIN, start;
    if (!d)
        return pdm_err(errstr, errlen, "--archive %s: %s", archive, strerror(errno));
    while ((e = readdir(d)))
        if (pdm_archive_day_parse(e->d_name, &start) == 0 && start > best)
            best = start;
    closedir(d);
    if (best == INT64_MIN)
        return 1;
    pdm_archive_day_name(best, day);
    return 0;
}

int retrain_read_scorer(const retrain_config *cfg, pdm_retrain_scorer_view *v, char *errstr,
                        size_t errlen)
{
    pdm_buf body = {0};
    int status = 0, rc = -1;
    if (retrain_http_get(cfg->scorer, "/v1/drift", cfg->scorer_token, HTTP_TIMEOUT_MS, &status,
                         &body, errstr, errlen))
        goto out;
    if (status != 200) {
        pdm_err(errstr, errlen, "GET %s/v1/drift: HTTP %d", cfg->scorer, status);
        goto out;
    }
    rc = pdm_retrain_parse_drift(body.data, cfg->drift_psi, v, errstr, errlen);
out:
    pdm_buf_free(&body);
    return rc;
}

/* The shadow model's live figures from GET /v1/models. Any failure reads
 * as "not available" (logged). */
void retrain_read_shadow(const retrain_config *cfg, pdm_retrain_shadow *s)
{
    pdm_buf body = {0};
    int status = 0;
    char err[PDM_ERRSTR_SIZE];
    memset(s, 0, sizeof *s);
    if (!cfg->scorer || !(cfg->shadow_hours > 0))
        goto out;
    if (retrain_http_get(cfg->scorer, "/v1/models", cfg->scorer_token, HTTP_TIMEOUT_MS, &status,
                         &body, err, sizeof err)) {
        pdm_log(PDM_LOG_WARN, "GET %s/v1/models: %s", cfg->scorer, err);
        goto out;
    }
    if (status != 200) {
        pdm_log(PDM_LOG_WARN, "GET %s/v1/models: HTTP %d", cfg->scorer, status);
        goto out;
    }
    if (pdm_retrain_parse_models(body.data, s, err, sizeof err)) {
        pdm_log(PDM_LOG_WARN, "%s", err);
        memset(s, 0, sizeof *s);
    }
out:
    pdm_buf_free(&body);
}
