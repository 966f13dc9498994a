/* model_internal.h: the pdm_model struct, shared by the files of the model
 * module only (train.c builds one, package.c saves and loads it, model.c
 * scores with it). */
#ifndef PDM_MODEL_INTERNAL_H
#define PDM_MODEL_INTERNAL_H

#include <pthread.h>

#include <cJSON.h>
#include <xgboost/c_api.h>

#include "native.h"
#include "pdm_model.h"
#include "shap.h"

struct pdm_model {
    BoosterHandle booster;
    size_t nfeat;
    char **feature_names; /* nfeat */
    /* model.json without "version", keys in a fixed order; the C fields
     * below mirror the entries the module reads back. */
    cJSON *meta;
    double warn, critical;
    int has_alert_policy; /* 0: "alert_policy" is null (an older package) */
    pdm_alert_policy alert;
    double horizon_hours;
    pdm_histogram *feature_hist; /* nfeat, or NULL */
    pdm_histogram risk_hist;
    int sealed;
    unsigned char *model_bytes; /* the booster as UBJ once sealed */
    size_t model_len;
    char version[PDM_MODEL_VERSION_LEN + 1];
    pthread_mutex_t lock; /* serialises XGBoost calls on the booster */
    /* The predictor of pdm_model_predict; native is set (read-only, no
     * lock needed) once it passed the check recorded in check. */
    pdm_predictor predictor;
    pdm_native *native;
    pdm_predictor_check check;
    /* Contributions: the fast TreeSHAP (shap.c), built and checked against
     * XGBoost's pred_contribs at the first contributions call (under the
     * lock); shap_state 0 not tried yet, 1 in use (read-only, no lock),
     * -1 refused (XGBoost's pred_contribs serve; shap_reason says why). */
    pdm_shap *shap;
    int shap_state;
    /* Helper threads for the native evaluator's and TreeSHAP's batches
     * (pdm_model_set_score_threads); NULL: the caller's thread alone. */
    struct pdm_pool *pool;
    char shap_reason[PDM_ERRSTR_SIZE];
};

/* XGBoost's probabilities of n rows, whatever the predictor (under the lock). */
int pdm_model_predict_xgboost(pdm_model *m, const double *rows, size_t n, double *probs,
                              char *errstr, size_t errlen);

/* An empty model (no booster) owning a copy of the names; NULL on out of memory. */
pdm_model *pdm_model_alloc(const char *const *feature_names, size_t nfeat);
/* Builds m->meta in its fixed key order, taking ownership of params. */
int pdm_model_init_meta(pdm_model *m, const char *feature_set, cJSON *params, char *errstr,
                        size_t errlen);
/* A JSON number, or null for NaN and infinities (JSON has neither). */
cJSON *pdm_json_number(double v);
/* Histogram <-> JSON {"edges": [...], "shares": [...], "missing": x, "rows": n}. */
cJSON *pdm_histogram_to_json(const pdm_histogram *h);
int pdm_histogram_from_json(const cJSON *j, pdm_histogram *h);

#endif
