/* model.c: a loaded or trained model: accessors and scoring.
 *
 * Scoring goes through XGBoost's in-place prediction on the caller's double
 * rows (no copy, one call per batch). Contributions need a DMatrix in
 * XGBoost 1.7 (in-place prediction has no SHAP), so they cost a matrix build
 * and are only computed for the rows that alert (pdm_model_score).
 * With the native predictor (predictor.c), pdm_model_predict and the scores
 * come from the native evaluator instead, without the lock. Contributions
 * come from the fast TreeSHAP of shap.c once it has matched XGBoost's
 * pred_contribs on the first call's rows and a fixed sample; else from
 * XGBoost's pred_contribs (a DMatrix and the lock). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "model_internal.h"
#include "pdm_rules.h"

pdm_model *pdm_model_alloc(const char *const *feature_names, size_t nfeat)
{
    pdm_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->warn = 0.5;
    m->critical = 0.8;
    m->horizon_hours = NAN;
    m->nfeat = nfeat;
    m->feature_names = calloc(nfeat ? nfeat : 1, sizeof *m->feature_names);
    if (!m->feature_names)
        goto fail;
    for (size_t i = 0; i < nfeat; i++)
        if (!(m->feature_names[i] = strdup(feature_names[i])))
            goto fail;
    return m;
fail:
    pdm_model_destroy(m);
    return NULL;
}

void pdm_model_destroy(pdm_model *m)
{
    if (!m)
        return;
    if (m->booster)
        XGBoosterFree(m->booster);
    pdm_pool_destroy(m->pool);
    pdm_native_destroy(m->native);
    pdm_shap_destroy(m->shap);
    if (m->feature_names)
        for (size_t i = 0; i < m->nfeat; i++)
            free(m->feature_names[i]);
    free(m->feature_names);
    cJSON_Delete(m->meta);
    free(m->feature_hist);
    free(m->model_bytes);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

cJSON *pdm_json_number(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* ---- accessors ------------------------------------------------------------ */

const char *pdm_model_version(const pdm_model *m)
{
    return m->version;
}

size_t pdm_model_n_features(const pdm_model *m)
{
    return m->nfeat;
}

const char *pdm_model_feature_name(const pdm_model *m, size_t i)
{
    return i < m->nfeat ? m->feature_names[i] : NULL;
}

int pdm_model_alert_policy(const pdm_model *m, pdm_alert_policy *out)
{
    pdm_alert_policy_init(out, m->warn, m->critical);
    if (!m->has_alert_policy)
        return 0;
    *out = m->alert;
    out->warn = m->warn;
    out->critical = m->critical;
    return 1;
}

void pdm_model_thresholds(const pdm_model *m, double *warn, double *critical)
{
    if (warn)
        *warn = m->warn;
    if (critical)
        *critical = m->critical;
}

double pdm_model_horizon_hours(const pdm_model *m)
{
    return m->horizon_hours;
}

const cJSON *pdm_model_metadata(const pdm_model *m)
{
    return m->meta;
}

const pdm_histogram *pdm_model_feature_histogram(const pdm_model *m, size_t i)
{
    return m->feature_hist && i < m->nfeat ? &m->feature_hist[i] : NULL;
}

const pdm_histogram *pdm_model_risk_histogram(const pdm_model *m)
{
    return m->feature_hist ? &m->risk_hist : NULL;
}

int pdm_model_set_nthread(pdm_model *m, int nthread, char *errstr, size_t errlen)
{
    char value[32];
    snprintf(value, sizeof value, "%d", nthread > 0 ? nthread : 0);
    pthread_mutex_lock(&m->lock);
    int rc = XGBoosterSetParam(m->booster, "nthread", value);
    pthread_mutex_unlock(&m->lock);
    if (rc)
        return pdm_err(errstr, errlen, "xgboost: set nthread: %s", XGBGetLastError());
    return 0;
}

int pdm_model_set_score_threads(pdm_model *m, int threads, char *errstr, size_t errlen)
{
    if (threads < 1 || threads > 64)
        return pdm_err(errstr, errlen, "score threads %d is not 1..64", threads);
    pdm_pool_destroy(m->pool);
    m->pool = NULL;
    if (threads > 1 && !(m->pool = pdm_pool_new(threads)))
        return pdm_err(errstr, errlen, "cannot start %d score threads", threads - 1);
    return 0;
}

pdm_level pdm_model_level(const pdm_model *m, double risk)
{
    return pdm_rule_level(risk, m->warn, m->critical);
}

/* ---- scoring -------------------------------------------------------------- */

/* The __array_interface__ of a row-major n x nfeat double matrix. */
static void array_interface(char *buf, size_t len, const double *rows, size_t n, size_t nfeat)
{
    snprintf(buf, len,
             "{\"data\":[%llu,true],\"shape\":[%zu,%zu],\"typestr\":\"<f8\",\"version\":3}",
             (unsigned long long)(uintptr_t)rows, n, nfeat);
}

static int check_shape(const bst_ulong *shape, bst_ulong dim, size_t n, size_t d1, size_t d2,
                       char *errstr, size_t errlen)
{
    int ok = dim == (d2 ? 3 : 2) && shape[0] == n && shape[1] == d1 && (!d2 || shape[2] == d2);
    return ok ? 0 : pdm_err(errstr, errlen, "xgboost returned an unexpected prediction shape");
}

/* Rows per helper's part: below, handing rows over costs more than it saves
 * (a row through a 1,000-tree model takes about a microsecond). */
#define PREDICT_PART 128
#define EXPLAIN_PART 8

typedef struct {
    const pdm_model *m;
    const double *rows;
    double *out;
} part_job;

static int predict_part(void *ctx, size_t lo, size_t hi)
{
    const part_job *j = ctx;
    char err[PDM_ERRSTR_SIZE];
    return pdm_native_predict(j->m->native, j->rows + lo * j->m->nfeat, hi - lo,
                              j->out + lo * PDM_MODEL_N_CLASSES, err, sizeof err);
}

int pdm_model_predict(pdm_model *m, const double *rows, size_t n, double *probs, char *errstr,
                      size_t errlen)
{
    if (m->predictor == PDM_PREDICTOR_NATIVE && m->native) {
        if (!m->pool)
            return pdm_native_predict(m->native, rows, n, probs, errstr, errlen);
        part_job j = {m, rows, probs};
        if (pdm_pool_run(m->pool, predict_part, &j, n, PREDICT_PART))
            return pdm_err(errstr, errlen, "native predict: out of memory for %zu rows", n);
        return 0;
    }
    return pdm_model_predict_xgboost(m, rows, n, probs, errstr, errlen);
}

int pdm_model_predict_xgboost(pdm_model *m, const double *rows, size_t n, double *probs,
                              char *errstr, size_t errlen)
{
    enum { K = PDM_MODEL_N_CLASSES };
    static const char config[] = "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
                                 "\"iteration_end\":0,\"strict_shape\":true,\"cache_id\":0,"
                                 "\"missing\":NaN}";
    char ai[160];
    const bst_ulong *shape;
    bst_ulong dim;
    const float *res;
    int rc = -1;

    if (n == 0)
        return 0;
    array_interface(ai, sizeof ai, rows, n, m->nfeat);
    pthread_mutex_lock(&m->lock);
    if (XGBoosterPredictFromDense(m->booster, ai, config, NULL, &shape, &dim, &res)) {
        pdm_err(errstr, errlen, "xgboost: predict: %s", XGBGetLastError());
        goto out;
    }
    if (check_shape(shape, dim, n, K, 0, errstr, errlen))
        goto out;
    for (size_t i = 0; i < n * K; i++)
        probs[i] = res[i];
    rc = 0;
out:
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int contributions_xgboost(pdm_model *m, const double *rows, size_t n, double *contrib,
                                 char *errstr, size_t errlen);

/* Builds the fast TreeSHAP and checks it against XGBoost on rows (the
 * caller's, real data) and a fixed sample from the reference histograms'
 * edges with missing values. Called once, with m->lock held. */
static void shap_init(pdm_model *m, const double *rows, size_t n)
{
    enum { SAMPLE = 48 };
    char err[PDM_ERRSTR_SIZE];
    double worst = 0;
    size_t w = m->nfeat, total = n + SAMPLE;
    double *check = malloc(total * w * sizeof *check);
    m->shap_state = -1;
    if (!check) {
        snprintf(m->shap_reason, sizeof m->shap_reason, "out of memory");
        return;
    }
    memcpy(check, rows, n * w * sizeof *check);
    for (size_t r = 0; r < SAMPLE; r++) {
        for (size_t j = 0; j < w; j++) {
            const pdm_histogram *h = m->feature_hist ? &m->feature_hist[j] : NULL;
            double v = h ? h->edges[(r + 3 * j) % (PDM_MODEL_HIST_BINS + 1)] : (double)r;
            check[(n + r) * w + j] = (r + j) % 5 == 0 || r == 0 ? NAN : v;
        }
    }
    m->shap = pdm_shap_new(m->booster, m->nfeat, PDM_MODEL_N_CLASSES, err, sizeof err);
    if (!m->shap || pdm_shap_check(m->shap, m->booster, check, total, &worst, err, sizeof err)) {
        snprintf(m->shap_reason, sizeof m->shap_reason, "%s", err);
        pdm_shap_destroy(m->shap);
        m->shap = NULL;
    } else {
        m->shap_state = 1;
    }
    free(check);
}

const char *pdm_model_contributions_engine(pdm_model *m)
{
    pthread_mutex_lock(&m->lock);
    const char *e = m->shap_state > 0    ? "native TreeSHAP"
                    : m->shap_state == 0 ? "not used yet"
                                         : m->shap_reason;
    pthread_mutex_unlock(&m->lock);
    return e;
}

/* sum_{k>=1} (p_k / risk) phi_k - phi_0 for each row's features and bias. */
static void risk_contributions(const double *probs, const double *phi, size_t n, size_t w,
                               double *contrib)
{
    enum { K = PDM_MODEL_N_CLASSES };
    for (size_t i = 0; i < n; i++) {
        const double *p = probs + i * K, *ph = phi + i * K * w;
        double risk = 1.0 - p[0], weight[K];
        for (int k = 1; k < K; k++)
            weight[k] = risk > 0 ? p[k] / risk : 1.0 / (K - 1);
        for (size_t j = 0; j < w; j++) {
            double c = -ph[j];
            for (int k = 1; k < K; k++)
                c += weight[k] * ph[k * w + j];
            contrib[i * w + j] = c;
        }
    }
}

static int explain_part(void *ctx, size_t lo, size_t hi)
{
    const part_job *j = ctx;
    char err[PDM_ERRSTR_SIZE];
    size_t w = j->m->nfeat + 1;
    return pdm_shap_contrib(j->m->shap, j->rows + lo * j->m->nfeat, hi - lo,
                            j->out + lo * PDM_MODEL_N_CLASSES * w, err, sizeof err);
}

/* pdm_shap_contrib over the pool's threads. */
static int shap_contrib(pdm_model *m, const double *rows, size_t n, double *phi, char *errstr,
                        size_t errlen)
{
    if (!m->pool)
        return pdm_shap_contrib(m->shap, rows, n, phi, errstr, errlen);
    part_job j = {m, rows, phi};
    if (pdm_pool_run(m->pool, explain_part, &j, n, EXPLAIN_PART))
        return pdm_err(errstr, errlen, "TreeSHAP: out of memory for %zu rows", n);
    return 0;
}

int pdm_model_contributions(pdm_model *m, const double *rows, size_t n, double *contrib,
                            char *errstr, size_t errlen)
{
    if (n == 0)
        return 0;
    pthread_mutex_lock(&m->lock);
    if (m->shap_state == 0)
        shap_init(m, rows, n);
    int fast = m->shap_state > 0;
    pthread_mutex_unlock(&m->lock);
    if (!fast)
        return contributions_xgboost(m, rows, n, contrib, errstr, errlen);
    size_t w = m->nfeat + 1;
    double *probs = malloc(n * PDM_MODEL_N_CLASSES * sizeof *probs);
    double *phi = malloc(n * PDM_MODEL_N_CLASSES * w * sizeof *phi);
    int rc = -1;
    if (!probs || !phi)
        pdm_err(errstr, errlen, "out of memory for %zu rows", n);
    else if (pdm_model_predict(m, rows, n, probs, errstr, errlen) == 0 &&
             shap_contrib(m, rows, n, phi, errstr, errlen) == 0) {
        risk_contributions(probs, phi, n, w, contrib);
        rc = 0;
    }
    free(probs);
    free(phi);
    return rc;
}

/* XGBoost's exact TreeSHAP (pred_contribs) through a DMatrix. */
static int contributions_xgboost(pdm_model *m, const double *rows, size_t n, double *contrib,
                                 char *errstr, size_t errlen)
{
    enum { K = PDM_MODEL_N_CLASSES };
    static const char config[] = "{\"type\":%d,\"training\":false,\"iteration_begin\":0,"
                                 "\"iteration_end\":0,\"strict_shape\":true}";
    char ai[160], cfg[160];
    const bst_ulong *shape;
    bst_ulong dim;
    const float *res;
    DMatrixHandle dm = NULL;
    double *probs = NULL, *phi = NULL;
    size_t w = m->nfeat + 1;
    int rc = -1, locked = 0;

    probs = malloc(n * K * sizeof *probs);
    if (!probs) {
        pdm_err(errstr, errlen, "out of memory for %zu rows", n);
        goto out;
    }
    array_interface(ai, sizeof ai, rows, n, m->nfeat);
    if (XGDMatrixCreateFromDense(ai, "{\"missing\":NaN,\"nthread\":1}", &dm)) {
        pdm_err(errstr, errlen, "xgboost: matrix for contributions: %s", XGBGetLastError());
        goto out;
    }
    pthread_mutex_lock(&m->lock);
    locked = 1;
    snprintf(cfg, sizeof cfg, config, 0);
    if (XGBoosterPredictFromDMatrix(m->booster, dm, cfg, &shape, &dim, &res)) {
        pdm_err(errstr, errlen, "xgboost: predict: %s", XGBGetLastError());
        goto out;
    }
    if (check_shape(shape, dim, n, K, 0, errstr, errlen))
        goto out;
    for (size_t i = 0; i < n * K; i++)
        probs[i] = res[i];
    snprintf(cfg, sizeof cfg, config, 2);
    if (XGBoosterPredictFromDMatrix(m->booster, dm, cfg, &shape, &dim, &res)) {
        pdm_err(errstr, errlen, "xgboost: contributions: %s", XGBGetLastError());
        goto out;
    }
    if (check_shape(shape, dim, n, K, w, errstr, errlen))
        goto out;
    phi = malloc(n * K * w * sizeof *phi);
    if (!phi) {
        pdm_err(errstr, errlen, "out of memory for %zu rows", n);
        goto out;
    }
    for (size_t i = 0; i < n * K * w; i++)
        phi[i] = res[i];
    risk_contributions(probs, phi, n, w, contrib);
    rc = 0;
out:
    if (locked)
        pthread_mutex_unlock(&m->lock);
    if (dm)
        XGDMatrixFree(dm);
    free(probs);
    free(phi);
    return rc;
}

/* The PDM_N_REASONS largest positive contributions of one row. */
static void top_reasons(const pdm_model *m, const double *row, const double *contrib, pdm_risk *r)
{
    r->n_reasons = 0;
    for (size_t j = 0; j < m->nfeat; j++) {
        double c = contrib[j];
        if (!(c > 0))
            continue;
        int pos = r->n_reasons;
        while (pos > 0 && r->reasons[pos - 1].contribution < c)
            pos--;
        if (pos >= PDM_N_REASONS)
            continue;
        int last = r->n_reasons < PDM_N_REASONS ? r->n_reasons : PDM_N_REASONS - 1;
        memmove(&r->reasons[pos + 1], &r->reasons[pos], (size_t)(last - pos) * sizeof *r->reasons);
        pdm_reason *slot = &r->reasons[pos];
        snprintf(slot->feature, sizeof slot->feature, "%s", m->feature_names[j]);
        slot->value = row[j];
        slot->contribution = c;
        if (r->n_reasons < PDM_N_REASONS)
            r->n_reasons++;
    }
}

int pdm_model_explain(pdm_model *m, const double *rows, size_t n, pdm_risk *out, char *errstr,
                      size_t errlen)
{
    size_t w = m->nfeat + 1;
    if (n == 0)
        return 0;
    double *contrib = malloc(n * w * sizeof *contrib);
    if (!contrib)
        return pdm_err(errstr, errlen, "out of memory for %zu rows", n);
    int rc = pdm_model_contributions(m, rows, n, contrib, errstr, errlen);
    for (size_t i = 0; rc == 0 && i < n; i++)
        top_reasons(m, rows + i * m->nfeat, contrib + i * w, &out[i]);
    free(contrib);
    return rc;
}

int pdm_model_score_ex(pdm_model *m, const double *rows, size_t n, pdm_risk *out, int reasons,
                       char *errstr, size_t errlen)
{
    enum { K = PDM_MODEL_N_CLASSES };
    double *probs = NULL, *alert_rows = NULL;
    pdm_risk *alert_out = NULL;
    size_t *alert_index = NULL, n_alerts = 0;
    int rc = -1;

    if (n == 0)
        return 0;
    probs = malloc(n * K * sizeof *probs);
    alert_index = malloc(n * sizeof *alert_index);
    if (!probs || !alert_index) {
        pdm_err(errstr, errlen, "out of memory for %zu rows", n);
        goto out;
    }
    if (pdm_model_predict(m, rows, n, probs, errstr, errlen))
        goto out;
    size_t version_len = strnlen(m->version, sizeof out->model_version - 1);
    for (size_t i = 0; i < n; i++) {
        pdm_risk *r = &out[i];
        const double *p = probs + i * K;
        r->risk = pdm_model_risk_of(p);
        for (int k = 1; k < K; k++)
            r->component_prob[k - 1] = p[k];
        r->level = pdm_model_level(m, r->risk);
        memcpy(r->model_version, m->version, version_len); /* not snprintf: per row */
        r->model_version[version_len] = '\0';
        r->n_reasons = 0;
        pdm_risk_no_incident(r); /* the alert state machine, not the model, opens incidents */
        if (r->level != PDM_LEVEL_OK)
            alert_index[n_alerts++] = i;
    }
    if (!reasons || n_alerts == 0) {
        rc = 0;
        goto out;
    }
    alert_rows = malloc(n_alerts * m->nfeat * sizeof *alert_rows);
    alert_out = malloc(n_alerts * sizeof *alert_out);
    if (!alert_rows || !alert_out) {
        pdm_err(errstr, errlen, "out of memory for %zu alerting rows", n_alerts);
        goto out;
    }
    for (size_t a = 0; a < n_alerts; a++) {
        memcpy(alert_rows + a * m->nfeat, rows + alert_index[a] * m->nfeat,
               m->nfeat * sizeof *rows);
        alert_out[a] = out[alert_index[a]];
    }
    if (pdm_model_explain(m, alert_rows, n_alerts, alert_out, errstr, errlen))
        goto out;
    for (size_t a = 0; a < n_alerts; a++)
        out[alert_index[a]] = alert_out[a];
    rc = 0;
out:
    free(probs);
    free(alert_index);
    free(alert_rows);
    free(alert_out);
    return rc;
}

int pdm_model_score(pdm_model *m, const double *rows, size_t n, pdm_risk *out, char *errstr,
                    size_t errlen)
{
    return pdm_model_score_ex(m, rows, n, out, 1, errstr, errlen);
}

const char *pdm_model_feature_set(const pdm_model *m)
{
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(m->meta, "feature_set");
    return cJSON_IsString(fs) ? fs->valuestring : "";
}

int pdm_model_feature_importance(pdm_model *m, const char *type, double *out, char *errstr,
                                 size_t errlen)
{
    static const char *const types[] = {"gain", "total_gain", "weight", "cover", "total_cover"};
    char config[64];
    bst_ulong nnames, dim;
    const char **fnames;
    const bst_ulong *shape;
    const float *scores;
    int known = 0, rc = -1;

    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        known |= strcmp(type, types[i]) == 0;
    if (!known)
        return pdm_err(errstr, errlen, "unknown importance type '%s'", type);
    snprintf(config, sizeof config, "{\"importance_type\":\"%s\"}", type);
    for (size_t j = 0; j < m->nfeat; j++)
        out[j] = 0;
    pthread_mutex_lock(&m->lock);
    if (XGBoosterFeatureScore(m->booster, config, &nnames, &fnames, &dim, &shape, &scores)) {
        pdm_err(errstr, errlen, "xgboost: feature importance: %s", XGBGetLastError());
        goto out;
    }
    /* Shape (features) or (features, classes); names are "f<index>" since
     * the booster carries no names. */
    size_t per = 1;
    for (bst_ulong d = 1; d < dim; d++)
        per *= shape[d];
    for (bst_ulong i = 0; i < nnames; i++) {
        char *end;
        unsigned long j = fnames[i][0] == 'f' ? strtoul(fnames[i] + 1, &end, 10) : m->nfeat;
        if (j >= m->nfeat || *end) {
            pdm_err(errstr, errlen, "xgboost named an unknown feature '%s'", fnames[i]);
            goto out;
        }
        for (size_t c = 0; c < per; c++)
            out[j] += scores[i * per + c];
    }
    rc = 0;
out:
    pthread_mutex_unlock(&m->lock);
    return rc;
}
