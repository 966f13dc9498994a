/* scorer_model.c: the model holder (see scorer_model.h): preparing a
 * package, installing it between batches, reloads, and the read side the
 * HTTP handlers use. */
#include "scorer_model.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdm_features.h"
#include "pdm_rules.h"

/* A model made ready by the HTTP reload, waiting for the loop. */
typedef struct {
    pthread_mutex_t lock;
    pdm_model *model;
    char path[PATH_MAX];
    double warn, critical;
    int offered;          /* tickets handed out */
    atomic_int installed; /* the latest ticket installed */
} pending_model;

struct scorer_model {
    const pdm_scorer_config *cfg;
    const pdm_drift_options *drift_opts;
    scorer_model_changed_fn changed;
    void *ctx;
    pthread_rwlock_t lock; /* written by the loop when installing */
    pdm_model *model;
    char path[PATH_MAX];        /* resolved package directory of the loaded model */
    char failed_path[PATH_MAX]; /* package that failed to load, not retried unasked */
    double warn, critical;
    pdm_alert_policy policy; /* of model with warn, critical */
    pdm_drift *drift;
    atomic_int reload;
    pending_model pending;
};

/* The package a --model directory means: DIR/current if it exists (a models
 * directory managed by pdm-train --promote), else DIR itself. out holds
 * PATH_MAX bytes (realpath's contract). */
static int resolve_model_dir(const char *dir, char out[PATH_MAX], char *errstr, size_t errlen)
{
    char current[PATH_MAX];
    int rc = pdm_model_current(dir, current, sizeof current, errstr, errlen);
    if (rc < 0)
        return -1;
    const char *target = rc == 0 ? current : dir;
    if (!realpath(target, out))
        return pdm_err(errstr, errlen, "model %s: %s", target, strerror(errno));
    return 0;
}

/* The model must read exactly the features this scorer computes. */
static int check_feature_set(const pdm_model *m, const char *path, char *errstr, size_t errlen)
{
    if (pdm_model_n_features(m) != PDM_N_FEATURES)
        return pdm_err(errstr, errlen, "model %s has %zu features, the v1 set has %d", path,
                       pdm_model_n_features(m), PDM_N_FEATURES);
    for (size_t i = 0; i < PDM_N_FEATURES; i++)
        if (strcmp(pdm_model_feature_name(m, i), pdm_feature_name(i)) != 0)
            return pdm_err(errstr, errlen, "model %s: feature %zu is '%s', the v1 set has '%s'",
                           path, i + 1, pdm_model_feature_name(m, i), pdm_feature_name(i));
    return 0;
}

int scorer_model_prepare(const pdm_scorer_config *cfg, pdm_model **out, char *path, size_t pathlen,
                         double *warn, double *critical, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE], resolved[PATH_MAX];
    *out = NULL;
    if (resolve_model_dir(cfg->model_dir, resolved, errstr, errlen))
        return -1;
    snprintf(path, pathlen, "%s", resolved);
    pdm_model *m = NULL;
    if (pdm_model_load(resolved, &m, msg, sizeof msg))
        return pdm_err(errstr, errlen, "model %s: %s", resolved, msg);
    if (check_feature_set(m, resolved, errstr, errlen)) {
        pdm_model_destroy(m);
        return -1;
    }
    if (cfg->model_threads > 0)
        pdm_model_set_nthread(m, cfg->model_threads, msg, sizeof msg);
    int threads = cfg->score_threads;
    if (threads == 0) /* auto: the loop's core and one more, where there is one */
        threads = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
    if (pdm_model_set_score_threads(m, threads, msg, sizeof msg))
        pdm_log(PDM_LOG_WARN, "model %s: scoring on one thread: %s", resolved, msg);
    /* The native evaluator checks itself against XGBoost on a fixed sample
     * first; if it differs anywhere, XGBoost serves (reasons always do). */
    if (cfg->native_predictor && pdm_model_set_predictor(m, PDM_PREDICTOR_NATIVE, msg, sizeof msg))
        pdm_log(PDM_LOG_WARN, "model %s: scoring with XGBoost: %s", resolved, msg);
    pdm_model_thresholds(m, warn, critical);
    if (!isnan(cfg->warn))
        *warn = cfg->warn;
    if (!isnan(cfg->critical))
        *critical = cfg->critical;
    if (*warn > *critical) { /* one given, above or below the model's other */
        pdm_err(errstr, errlen, "model %s: WARN threshold %g is above CRITICAL %g (--warn, "
                "--critical and the model's thresholds together)", resolved, *warn, *critical);
        pdm_model_destroy(m);
        return -1;
    }
    *out = m;
    return 0;
}

/* A clear threshold for an enter threshold moved from `from` to `to`. */
static double moved_clear(double clear, double from, double to)
{
    if (from == to)
        return clear;
    return from > 0 ? clear * (to / from) : to * PDM_ALERT_DEFAULT_CLEAR_RATIO;
}

void scorer_alert_policy(const pdm_model *m, double warn, double critical, pdm_alert_policy *out)
{
    char msg[PDM_ERRSTR_SIZE];
    pdm_alert_policy p;
    pdm_model_alert_policy(m, &p);
    p.warn_clear = moved_clear(p.warn_clear, p.warn, warn);
    p.critical_clear = moved_clear(p.critical_clear, p.critical, critical);
    p.warn = warn;
    p.critical = critical;
    if (pdm_alert_policy_check(&p, msg, sizeof msg)) {
        pdm_log(PDM_LOG_WARN,
                "model %s: alert policy with warn %.4g, critical %.4g: %s; "
                "using the defaults",
                pdm_model_version(m), warn, critical, msg);
        pdm_alert_policy_init(&p, warn, critical);
    }
    *out = p;
}

/* Makes m the scoring model (loop thread, between batches), with the drift
 * reference of its package. */
static void install(scorer_model *h, pdm_model *m, const char *path, double warn, double critical)
{
    char msg[PDM_ERRSTR_SIZE], old_version[PDM_MODEL_VERSION_LEN + 1] = "";
    pdm_drift *drift = pdm_drift_new_from_model(m, h->drift_opts, msg, sizeof msg);
    if (!drift)
        pdm_log(PDM_LOG_WARN, "model %s: no drift monitoring: %s", pdm_model_version(m), msg);
    pthread_rwlock_wrlock(&h->lock);
    if (h->model)
        snprintf(old_version, sizeof old_version, "%s", pdm_model_version(h->model));
    pdm_model_destroy(h->model);
    pdm_drift_destroy(h->drift);
    h->model = m;
    h->drift = drift;
    h->warn = warn;
    h->critical = critical;
    scorer_alert_policy(m, warn, critical, &h->policy);
    snprintf(h->path, sizeof h->path, "%s", path);
    h->failed_path[0] = '\0';
    if (h->changed)
        h->changed(h->ctx, pdm_model_version(m), old_version);
    pthread_rwlock_unlock(&h->lock);
    pdm_log(PDM_LOG_INFO, "model %s loaded from %s (warn %.4g, critical %.4g, predictor %s)",
            pdm_model_version(m), path, warn, critical, pdm_predictor_name(pdm_model_predictor(m)));
}

static int load(scorer_model *h, char *errstr, size_t errlen)
{
    char path[PATH_MAX];
    double warn, critical;
    pdm_model *m;
    if (scorer_model_prepare(h->cfg, &m, path, sizeof path, &warn, &critical, errstr, errlen))
        return -1;
    install(h, m, path, warn, critical);
    return 0;
}

scorer_model *scorer_model_new(const pdm_scorer_config *cfg, const pdm_drift_options *drift,
                               scorer_model_changed_fn changed, void *ctx, char *errstr,
                               size_t errlen)
{
    scorer_model *h = calloc(1, sizeof *h);
    if (!h) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    h->cfg = cfg;
    h->drift_opts = drift;
    h->changed = changed;
    h->ctx = ctx;
    pthread_rwlock_init(&h->lock, NULL);
    pthread_mutex_init(&h->pending.lock, NULL);
    if (load(h, errstr, errlen)) {
        scorer_model_destroy(h);
        return NULL;
    }
    return h;
}

void scorer_model_destroy(scorer_model *h)
{
    if (!h)
        return;
    pdm_model_destroy(h->model);
    pdm_model_destroy(h->pending.model);
    pdm_drift_destroy(h->drift);
    pthread_rwlock_destroy(&h->lock);
    pthread_mutex_destroy(&h->pending.lock);
    free(h);
}

/* ---- loop thread ------------------------------------------------------------ */

/* Installs a model the HTTP reload prepared, if any. */
static int install_offered(scorer_model *h)
{
    pending_model *p = &h->pending;
    pthread_mutex_lock(&p->lock);
    pdm_model *m = p->model;
    p->model = NULL;
    if (m) {
        install(h, m, p->path, p->warn, p->critical);
        atomic_store(&p->installed, p->offered);
    }
    pthread_mutex_unlock(&p->lock);
    return m != NULL;
}

/* Reloads on request, or when the --model directory's link now names another
 * package. A failed reload keeps the running model; a link that names a
 * package that does not load is reported once, not at every batch, and
 * retried when the link changes again or on request. */
static int reload_if_moved(scorer_model *h)
{
    char path[PATH_MAX], err[PDM_ERRSTR_SIZE];
    int requested = atomic_exchange(&h->reload, 0);
    if (!requested && (resolve_model_dir(h->cfg->model_dir, path, NULL, 0) ||
                       strcmp(path, h->path) == 0 || strcmp(path, h->failed_path) == 0))
        return 0;
    if (load(h, err, sizeof err) == 0)
        return 1;
    pdm_log(PDM_LOG_ERROR, "model reload failed, keeping %s: %s", pdm_model_version(h->model), err);
    if (resolve_model_dir(h->cfg->model_dir, path, NULL, 0) == 0)
        snprintf(h->failed_path, sizeof h->failed_path, "%s", path);
    return 0;
}

int scorer_model_refresh(scorer_model *h)
{
    int n = install_offered(h);
    return n + reload_if_moved(h);
}

pdm_model *scorer_model_get(scorer_model *h)
{
    return h->model;
}

void scorer_model_thresholds(const scorer_model *h, double *warn, double *critical)
{
    *warn = h->warn;
    *critical = h->critical;
}

const pdm_alert_policy *scorer_model_alert_policy(const scorer_model *h)
{
    return &h->policy;
}

pdm_drift *scorer_model_drift(scorer_model *h)
{
    return h->drift;
}

/* ---- any thread ------------------------------------------------------------- */

void scorer_model_request_reload(scorer_model *h)
{
    atomic_store(&h->reload, 1);
}

int scorer_model_offer(scorer_model *h, pdm_model *m, const char *path, double warn,
                       double critical)
{
    pending_model *p = &h->pending;
    pthread_mutex_lock(&p->lock);
    pdm_model_destroy(p->model); /* an older offer not installed yet */
    p->model = m;
    snprintf(p->path, sizeof p->path, "%s", path);
    p->warn = warn;
    p->critical = critical;
    int ticket = ++p->offered;
    pthread_mutex_unlock(&p->lock);
    return ticket;
}

int scorer_model_installed(scorer_model *h, int ticket)
{
    return atomic_load(&h->pending.installed) >= ticket;
}

/* Levels by the thresholds in use, then reasons for the alerts only (SHAP
 * is the expensive part). Read lock held. */
static int score_locked(scorer_model *h, double *rows, size_t n, pdm_risk *out, double *alert_rows,
                        pdm_risk *explained, size_t *alert, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    if (!h->model)
        return pdm_err(errstr, errlen, "no model loaded");
    if (pdm_model_score_ex(h->model, rows, n, out, 0, msg, sizeof msg))
        return pdm_err(errstr, errlen, "scoring failed: %s", msg);
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        out[i].level = pdm_rule_level(out[i].risk, h->warn, h->critical);
        out[i].n_reasons = 0;
        if (out[i].level != PDM_LEVEL_OK) {
            memcpy(alert_rows + na * PDM_N_FEATURES, rows + i * PDM_N_FEATURES,
                   PDM_N_FEATURES * sizeof *rows);
            explained[na] = out[i];
            alert[na++] = i;
        }
    }
    if (na && pdm_model_explain(h->model, alert_rows, na, explained, msg, sizeof msg))
        return pdm_err(errstr, errlen, "explaining failed: %s", msg);
    for (size_t k = 0; k < na; k++)
        out[alert[k]] = explained[k];
    return 0;
}

int scorer_model_score(scorer_model *h, const double *rows, size_t n, pdm_risk *out, char *errstr,
                       size_t errlen)
{
    int rc = -1;
    double *copy = malloc(n * PDM_N_FEATURES * sizeof *copy);
    double *alert_rows = malloc(n * PDM_N_FEATURES * sizeof *alert_rows);
    pdm_risk *explained = malloc(n * sizeof *explained);
    size_t *alert = malloc(n * sizeof *alert);
    if (!copy || !alert_rows || !explained || !alert) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    memcpy(copy, rows, n * PDM_N_FEATURES * sizeof *rows);
    pthread_rwlock_rdlock(&h->lock);
    rc = score_locked(h, copy, n, out, alert_rows, explained, alert, errstr, errlen);
    pthread_rwlock_unlock(&h->lock);
out:
    free(copy);
    free(alert_rows);
    free(explained);
    free(alert);
    return rc;
}

int scorer_model_version(scorer_model *h, char *buf, size_t len)
{
    pthread_rwlock_rdlock(&h->lock);
    snprintf(buf, len, "%s", h->model ? pdm_model_version(h->model) : "");
    int loaded = h->model != NULL;
    pthread_rwlock_unlock(&h->lock);
    return loaded ? 0 : -1;
}

static cJSON *number_json(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* The native evaluator's self-check, when it ran. */
static void add_native_check(cJSON *o, const pdm_predictor_check *ck)
{
    if (!ck || !ck->checked)
        return;
    cJSON *c = cJSON_AddObjectToObject(o, "native_check");
    cJSON_AddBoolToObject(c, "passed", ck->passed);
    cJSON_AddNumberToObject(c, "rows", (double)ck->rows);
    cJSON_AddItemToObject(c, "max_abs_diff", number_json(ck->max_abs_diff));
    if (ck->reason[0])
        cJSON_AddStringToObject(c, "reason", ck->reason);
}

cJSON *scorer_model_describe(scorer_model *h)
{
    cJSON *o = NULL, *meta = NULL, *th = NULL;
    pthread_rwlock_rdlock(&h->lock);
    if (!h->model)
        goto out;
    o = cJSON_CreateObject();
    meta = cJSON_Duplicate(pdm_model_metadata(h->model), 1);
    th = cJSON_CreateObject();
    if (!o || !meta || !th) {
        cJSON_Delete(o);
        o = NULL;
        goto out;
    }
    cJSON_AddStringToObject(o, "version", pdm_model_version(h->model));
    cJSON_AddStringToObject(o, "path", h->path);
    cJSON_AddStringToObject(o, "predictor", pdm_predictor_name(pdm_model_predictor(h->model)));
    cJSON_AddStringToObject(o, "contributions", pdm_model_contributions_engine(h->model));
    add_native_check(o, pdm_model_predictor_check(h->model));
    cJSON_AddItemToObject(th, "warn", number_json(h->warn));
    cJSON_AddItemToObject(th, "critical", number_json(h->critical));
    cJSON_AddItemToObject(o, "thresholds_in_use", th);
    cJSON_AddItemToObject(o, "metadata", meta);
    th = meta = NULL;
out:
    pthread_rwlock_unlock(&h->lock);
    cJSON_Delete(meta);
    cJSON_Delete(th);
    return o;
}

int scorer_model_drift_result(scorer_model *h, pdm_drift_result *out)
{
    pthread_rwlock_rdlock(&h->lock);
    int have = h->drift != NULL;
    if (have)
        pdm_drift_get(h->drift, out);
    pthread_rwlock_unlock(&h->lock);
    return have;
}
