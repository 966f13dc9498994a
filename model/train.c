/* train.c: training a model with XGBoost.
 *
 * The rows are handed to XGBoost as a double __array_interface__ (no copy on
 * our side); XGBoost keeps its own compressed copy for hist training. Class
 * imbalance is handled with per-row weights rather than resampling, so every
 * row is used and the time order is untouched: a failure class weighs
 * n_none / n_class, capped (default 10), "none" weighs 1. The cap keeps rare
 * classes from dominating and keeps P(none) a usable score; the thresholds,
 * chosen afterwards on the same weighted model, absorb the shift. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_internal.h"

void pdm_train_params_init(pdm_train_params *p)
{
    p->rounds = 100;
    p->max_depth = 6;
    p->eta = 0.15;
    p->subsample = 0.8;
    p->colsample = 0.8;
    p->min_child_weight = 1.0;
    p->nthread = 0;
    p->seed = 42;
    p->class_weight_cap = 10.0;
}

int64_t pdm_split_cutoff(int64_t t_min, int64_t t_max, double fraction)
{
    const int64_t day = 24 * PDM_MS_PER_HOUR;
    int64_t t = t_min + (int64_t)((double)(t_max - t_min) * fraction);
    int64_t q = t / day;
    if (t % day < 0)
        q--; /* floor for times before 1970 */
    return q * day;
}

static int check_params(const pdm_train_params *p, char *errstr, size_t errlen)
{
    if (p->rounds < 1 || p->rounds > 100000)
        return pdm_err(errstr, errlen, "rounds must be 1..100000, not %d", p->rounds);
    if (p->max_depth < 1 || p->max_depth > 64)
        return pdm_err(errstr, errlen, "max_depth must be 1..64, not %d", p->max_depth);
    if (!(p->eta > 0 && p->eta <= 1))
        return pdm_err(errstr, errlen, "eta must be in (0, 1], not %g", p->eta);
    if (!(p->subsample > 0 && p->subsample <= 1) || !(p->colsample > 0 && p->colsample <= 1))
        return pdm_err(errstr, errlen, "subsample and colsample must be in (0, 1]");
    if (!(p->min_child_weight >= 0))
        return pdm_err(errstr, errlen, "min_child_weight must be >= 0");
    if (p->seed < 0)
        return pdm_err(errstr, errlen, "seed must be >= 0");
    return 0;
}

static int set_param(BoosterHandle b, const char *name, const char *value, char *errstr,
                     size_t errlen)
{
    if (XGBoosterSetParam(b, name, value))
        return pdm_err(errstr, errlen, "xgboost: parameter %s=%s: %s", name, value,
                       XGBGetLastError());
    return 0;
}

static int set_params(BoosterHandle b, const pdm_train_params *p, int nthread, char *errstr,
                      size_t errlen)
{
    char v[7][48];
    snprintf(v[0], sizeof v[0], "%d", p->max_depth);
    snprintf(v[1], sizeof v[1], "%.17g", p->eta);
    snprintf(v[2], sizeof v[2], "%.17g", p->subsample);
    snprintf(v[3], sizeof v[3], "%.17g", p->colsample);
    snprintf(v[4], sizeof v[4], "%.17g", p->min_child_weight);
    snprintf(v[5], sizeof v[5], "%d", nthread);
    snprintf(v[6], sizeof v[6], "%lld", p->seed);
    const char *pairs[][2] = {
        {"verbosity", "0"},
        {"objective", "multi:softprob"},
        {"num_class", "5"},
        {"tree_method", "hist"},
        {"max_depth", v[0]},
        {"eta", v[1]},
        {"subsample", v[2]},
        {"colsample_bytree", v[3]},
        {"min_child_weight", v[4]},
        {"nthread", v[5]},
        {"seed", v[6]},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
        if (set_param(b, pairs[i][0], pairs[i][1], errstr, errlen))
            return -1;
    return 0;
}

static cJSON *params_json(const pdm_train_params *p, const double *class_weight)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddStringToObject(j, "objective", "multi:softprob") ||
        !cJSON_AddNumberToObject(j, "num_class", PDM_MODEL_N_CLASSES) ||
        !cJSON_AddStringToObject(j, "tree_method", "hist") ||
        !cJSON_AddNumberToObject(j, "rounds", p->rounds) ||
        !cJSON_AddNumberToObject(j, "max_depth", p->max_depth) ||
        !cJSON_AddNumberToObject(j, "eta", p->eta) ||
        !cJSON_AddNumberToObject(j, "subsample", p->subsample) ||
        !cJSON_AddNumberToObject(j, "colsample_bytree", p->colsample) ||
        !cJSON_AddNumberToObject(j, "min_child_weight", p->min_child_weight) ||
        !cJSON_AddNumberToObject(j, "seed", (double)p->seed) ||
        !cJSON_AddStringToObject(j, "missing", "NaN") ||
        !cJSON_AddNumberToObject(j, "class_weight_cap", p->class_weight_cap))
        goto fail;
    cJSON *w = cJSON_CreateDoubleArray(class_weight, PDM_MODEL_N_CLASSES);
    if (!w || !cJSON_AddItemToObject(j, "class_weights", w)) {
        cJSON_Delete(w);
        goto fail;
    }
    return j;
fail:
    cJSON_Delete(j);
    return NULL;
}

int pdm_model_train(const double *rows, const int *labels, size_t n, size_t nfeat,
                    const char *const *feature_names, const char *feature_set,
                    const pdm_train_params *params, pdm_model **out, double *train_probs,
                    char *errstr, size_t errlen)
{
    enum { K = PDM_MODEL_N_CLASSES };
    int rc = -1;
    size_t count[K] = {0};
    double weight[K];
    float *label_f = NULL, *weight_f = NULL;
    DMatrixHandle dm = NULL;
    pdm_model *m = NULL;
    char ai[160], cfg[64];

    *out = NULL;
    if (check_params(params, errstr, errlen))
        goto out;
    if (n == 0 || nfeat == 0) {
        pdm_err(errstr, errlen, "no training rows");
        goto out;
    }
    int nthread = params->nthread > 0 ? params->nthread : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nthread < 1)
        nthread = 1;
    label_f = malloc(n * sizeof *label_f);
    weight_f = malloc(n * sizeof *weight_f);
    if (!label_f || !weight_f) {
        pdm_err(errstr, errlen, "out of memory for %zu labels", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= K) {
            pdm_err(errstr, errlen, "row %zu: label %d is not a class (0..%d)", i, labels[i],
                    K - 1);
            goto out;
        }
        count[labels[i]]++;
        label_f[i] = (float)labels[i];
    }
    for (int k = 0; k < K; k++) {
        weight[k] = 1.0;
        if (k > 0 && params->class_weight_cap > 1 && count[0] > 0 && count[k] > 0) {
            weight[k] = (double)count[0] / (double)count[k];
            if (weight[k] > params->class_weight_cap)
                weight[k] = params->class_weight_cap;
            if (weight[k] < 1)
                weight[k] = 1;
        }
    }
    for (size_t i = 0; i < n; i++)
        weight_f[i] = (float)weight[labels[i]];

    snprintf(ai, sizeof ai,
             "{\"data\":[%llu,true],\"shape\":[%zu,%zu],\"typestr\":\"<f8\",\"version\":3}",
             (unsigned long long)(uintptr_t)rows, n, nfeat);
    snprintf(cfg, sizeof cfg, "{\"missing\":NaN,\"nthread\":%d}", nthread);
    if (XGDMatrixCreateFromDense(ai, cfg, &dm) || XGDMatrixSetFloatInfo(dm, "label", label_f, n) ||
        XGDMatrixSetFloatInfo(dm, "weight", weight_f, n)) {
        pdm_err(errstr, errlen, "xgboost: training matrix: %s", XGBGetLastError());
        goto out;
    }
    free(label_f);
    free(weight_f);
    label_f = weight_f = NULL;
    m = pdm_model_alloc(feature_names, nfeat);
    if (!m) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    if (XGBoosterCreate(&dm, 1, &m->booster)) {
        pdm_err(errstr, errlen, "xgboost: create booster: %s", XGBGetLastError());
        goto out;
    }
    if (set_params(m->booster, params, nthread, errstr, errlen))
        goto out;
    for (int it = 0; it < params->rounds; it++) {
        if (XGBoosterUpdateOneIter(m->booster, it, dm)) {
            pdm_err(errstr, errlen, "xgboost: round %d: %s", it, XGBGetLastError());
            goto out;
        }
    }
    if (train_probs) {
        /* dm is the training matrix: XGBoost answers from its prediction cache. */
        static const char pcfg[] = "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
                                   "\"iteration_end\":0,\"strict_shape\":true}";
        const bst_ulong *shape;
        bst_ulong dim;
        const float *res;
        if (XGBoosterPredictFromDMatrix(m->booster, dm, pcfg, &shape, &dim, &res)) {
            pdm_err(errstr, errlen, "xgboost: predict training rows: %s", XGBGetLastError());
            goto out;
        }
        if (dim != 2 || shape[0] != n || shape[1] != K) {
            pdm_err(errstr, errlen, "xgboost returned an unexpected prediction shape");
            goto out;
        }
        for (size_t i = 0; i < n * K; i++)
            train_probs[i] = res[i];
    }
    if (pdm_model_init_meta(m, feature_set, params_json(params, weight), errstr, errlen))
        goto out;
    *out = m;
    m = NULL;
    rc = 0;
out:
    free(label_f);
    free(weight_f);
    if (dm)
        XGDMatrixFree(dm);
    pdm_model_destroy(m);
    return rc;
}
