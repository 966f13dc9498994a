/* model.c: a loaded or trained model: accessors and scoring.
 *
 * Scoring goes through XGBoost's in-place prediction on the caller's double
 * rows (no copy, one call per batch). Contributions need a DMatrix in
 * XGBoost 1.7 (in-place prediction has no SHAP), so they cost a matrix build
 * and are only computed for the rows that alert (pdm_model_score).
 * With the native predictor (predictor.c), pdm_model_predict and the scores
 * come from the native evaluator instead, without the lock; contributions
 * stay with XGBoost. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

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
    pdm_native_destroy(m->native);
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

pdm_level pdm_model_level(const pdm_model *m, double risk)
{
    if (risk >= m->critical)
        return PDM_LEVEL_CRITICAL;
    if (risk >= m->warn)
        return PDM_LEVEL_WARN;
    return PDM_LEVEL_OK;
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

int pdm_model_predict(pdm_model *m, const double *rows, size_t n, double *probs, char *errstr,
                      size_t errlen)
{
    if (m->predictor == PDM_PREDICTOR_NATIVE && m->native)
        return pdm_native_predict(m->native, rows, n, probs, errstr, errlen);
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

int pdm_model_contributions(pdm_model *m, const double *rows, size_t n, double *contrib,
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
    double *probs = NULL;
    size_t w = m->nfeat + 1;
    int rc = -1, locked = 0;

    if (n == 0)
        return 0;
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
    for (size_t i = 0; i < n; i++) {
        const double *p = probs + i * K;
        const float *phi = res + i * K * w; /* phi[k * w + j] */
        double risk = 1.0 - p[0], weight[K];
        for (int k = 1; k < K; k++)
            weight[k] = risk > 0 ? p[k] / risk : 1.0 / (K - 1);
        for (size_t j = 0; j < w; j++) {
            double c = -(double)phi[j];
            for (int k = 1; k < K; k++)
                c += weight[k] * phi[k * w + j];
            contrib[i * w + j] = c;
        }
    }
    rc = 0;
out:
    if (locked)
        pthread_mutex_unlock(&m->lock);
    if (dm)
        XGDMatrixFree(dm);
    free(probs);
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
    for (size_t i = 0; i < n; i++) {
        pdm_risk *r = &out[i];
        const double *p = probs + i * K;
        r->risk = pdm_model_risk_of(p);
        for (int k = 1; k < K; k++)
            r->component_prob[k - 1] = p[k];
        r->level = pdm_model_level(m, r->risk);
        snprintf(r->model_version, sizeof r->model_version, "%s", m->version);
        r->n_reasons = 0;
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
