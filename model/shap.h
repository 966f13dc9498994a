/* shap.h: exact path-dependent TreeSHAP of an XGBoost booster, internal to
 * the model module.
 *
 * pdm_model_contributions needs per-feature SHAP values for the reasons of
 * every WARN/CRITICAL event. XGBoost's pred_contribs (type 2) computes them
 * with a DMatrix and the O(leaves x depth^2) recursion per tree and row in
 * float: 3,600 / 900 rows/s on one thread for 5-class depth-6 models of 20
 * / 100 rounds. This module gives the same values (path-dependent TreeSHAP,
 * not Saabas) from tables built once at load time, p lookups per leaf and
 * row: 75,000 / 18,000 rows/s (bench-shap); see shap.c for the derivation.
 *
 * The values are XGBoost's up to rounding: XGBoost computes in float, this
 * module in double (tables in float), and the unit tests bound the
 * difference (test_shap.c). A pdm_shap is read-only once built: any number
 * of threads may call pdm_shap_contrib at the same time. */
#ifndef PDM_MODEL_SHAP_H
#define PDM_MODEL_SHAP_H

#include <stddef.h>

#include <xgboost/c_api.h>

typedef struct pdm_shap pdm_shap;

/* Bytes of per-leaf tables pdm_shap_new may use; leaves whose paths have the
 * most distinct features are computed per row without a table beyond it
 * (slower, same values). A 100-round 5-class depth-6 model needs 1.2 MiB. */
#define PDM_SHAP_TABLE_BUDGET ((size_t)64 << 20)

/* Builds the explainer of a gbtree booster (saved as JSON through the C API;
 * call it while no other thread uses the booster). nfeat: the row width the
 * caller will pass (at least the model's num_feature); nclass: the outputs
 * (num_class for multi:softprob / multi:softmax, 1 for binary:logistic,
 * reg:logistic, binary:logitraw, reg:squarederror). Returns NULL with errstr
 * if the model is not supported: another booster (dart, gblinear),
 * categorical splits, an objective not listed, a path with more than 64
 * splits, a split node with no cover, or a shape that differs from
 * nfeat / nclass. */
pdm_shap *pdm_shap_new(BoosterHandle booster, size_t nfeat, int nclass, char *errstr,
                       size_t errlen);
/* The same from XGBoost JSON model text, with an explicit table budget in
 * bytes (0: no tables, every leaf computed per row; tests use it). */
pdm_shap *pdm_shap_from_json(const char *json, size_t len, size_t nfeat, int nclass,
                             size_t table_budget, char *errstr, size_t errlen);
void pdm_shap_destroy(pdm_shap *s);

/* SHAP values of n rows (row-major, n x nfeat doubles, NaN = missing;
 * infinities follow the split rule as in XGBoost's predictor) into
 * phi: n x nclass x (nfeat + 1) doubles, the layout of XGBoost's
 * pred_contribs with strict_shape: phi[(i * nclass + k) * (nfeat + 1) + j],
 * the bias (base margin plus each tree's cover-weighted mean leaf) last.
 * A row's values of class k sum to its margin of class k. Returns 0, or -1
 * with errstr (out of memory only). */
int pdm_shap_contrib(const pdm_shap *s, const double *rows, size_t n, double *phi, char *errstr,
                     size_t errlen);

/* The largest difference from XGBoost the check accepts, relative to the
 * row's (and class's) largest |value|; test_shap.c measures about 1e-6. */
#define PDM_SHAP_TOLERANCE 2e-5

/* Compares s with the booster's own exact contributions (a DMatrix of the n
 * rows and XGBoosterPredictFromDMatrix type 2, so the caller must hold the
 * booster's lock; rows may hold NaN but no infinity nor |value| > FLT_MAX,
 * which XGBoost's DMatrix refuses). *worst: the largest relative
 * difference. Returns 0 if every value is within PDM_SHAP_TOLERANCE, else -1
 * with errstr naming the worst value (also on XGBoost errors or out of
 * memory). */
int pdm_shap_check(const pdm_shap *s, BoosterHandle booster, const double *rows, size_t n,
                   double *worst, char *errstr, size_t errlen);

/* Bytes held (tables, paths, splits). */
size_t pdm_shap_memory(const pdm_shap *s);

typedef struct {
    size_t trees, leaves;
    size_t table_leaves;  /* leaves answered from a table */
    size_t direct_leaves; /* leaves computed per row (over the budget, or tiny covers) */
    size_t max_path_features;
    size_t table_bytes;
} pdm_shap_info;

void pdm_shap_get_info(const pdm_shap *s, pdm_shap_info *out);

#endif
