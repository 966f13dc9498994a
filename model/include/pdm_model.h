/* pdm_model.h: the failure model: training, the model package, scoring,
 * evaluation and promotion.
 *
 * A model is an XGBoost multi:softprob booster over the v1 feature rows
 * (row-major doubles, NaN = missing) with 5 classes: "none" and comp1..comp4
 * ("compK fails within the horizon"). Its risk is 1 - P(none).
 *
 * A model package is a directory holding
 *   model.ubj   the booster (XGBoost's UBJSON model format),
 *   model.json  metadata: version, feature names, classes, parameters,
 *               horizon, data ranges, metrics, thresholds, the alert policy
 *               (clear thresholds, confirmation, hold, renotify), predictor
 *               info and reference histograms for drift,
 * plus any extra files the trainer adds (metrics.json, report.html, ...).
 * The version is the first 12 hex digits of the SHA-256 of the model.ubj
 * bytes followed by the compact metadata text without its "version" key, so
 * the same training on the same data gives the same version, and loading
 * rejects a package whose files do not match their version.
 * A package is written into a temporary directory beside its destination and
 * renamed into place: a reader sees no package or a whole one.
 *
 * A pdm_model may be shared by threads: XGBoost calls are serialised by a
 * lock inside the model (score in batches, not per row). With the native
 * predictor (pdm_model_set_predictor) probabilities and scores take no lock
 * and threads predict at the same time; contributions stay with XGBoost.
 */
#ifndef PDM_MODEL_H
#define PDM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_alerts.h"
#include "pdm_common.h"
#include "pdm_schemas.h"

#define PDM_MODEL_N_CLASSES 5 /* none, comp1..comp4 */
#define PDM_MODEL_HIST_BINS 10
#define PDM_MODEL_VERSION_LEN 12

struct cJSON;
typedef struct pdm_model pdm_model;

/* ---- training ------------------------------------------------------------ */

typedef struct {
    int rounds; /* boosting rounds */
    int max_depth;
    double eta;       /* learning rate */
    double subsample; /* row share per tree */
    double colsample; /* colsample_bytree */
    double min_child_weight;
    int nthread; /* <= 0: the number of online cores */
    long long seed;
    /* Class imbalance: a row of class c weighs min(cap, n_none / n_c)
     * (class "none" weighs 1); cap <= 1 disables weighting. */
    double class_weight_cap;
} pdm_train_params;

/* Defaults: 100 rounds, depth 6, eta 0.15, subsample 0.8, colsample 0.8,
 * min_child_weight 1, nthread 0, seed 42, class_weight_cap 10. */
void pdm_train_params_init(pdm_train_params *p);

/* Trains on n rows of nfeat features (labels 0..4; feature_set names the
 * feature code's version, e.g. "v1") with multi:softprob,
 * tree_method hist, missing = NaN. If train_probs != NULL it receives the
 * model's probabilities for these rows (n x 5, from XGBoost's prediction
 * cache, so nearly free). The new model has thresholds 0.5 / 0.8 until
 * pdm_model_set_thresholds. Returns 0 or -1 with errstr. */
int pdm_model_train(const double *rows, const int *labels, size_t n, size_t nfeat,
                    const char *const *feature_names, const char *feature_set,
                    const pdm_train_params *params, pdm_model **out, double *train_probs,
                    char *errstr, size_t errlen);

/* Time-based split: midnight UTC of the day holding t_min + fraction *
 * (t_max - t_min); rows with t < cutoff go before, the others after. The
 * trainer's default test split is fraction 0.75 (PDM_SPLIT_DEFAULT). */
#define PDM_SPLIT_DEFAULT 0.75
int64_t pdm_split_cutoff(int64_t t_min, int64_t t_max, double fraction);

/* ---- metadata (before saving) ------------------------------------------- */

int pdm_model_set_thresholds(pdm_model *m, double warn, double critical, const char *rule,
                             char *errstr, size_t errlen);
int pdm_model_set_horizon(pdm_model *m, double hours, char *errstr, size_t errlen);
/* Records the alert policy (pdm_alerts.h) beside the thresholds, as
 * model.json's "alert_policy" (warn_clear, critical_clear, confirm_m,
 * confirm_n, min_hold_ms, renotify_ms, rule): the package then says how its
 * scores become incidents, not only where a level starts. p's enter
 * thresholds are ignored (the model's count); the rest must pass
 * pdm_alert_policy_check against them. Set thresholds first. */
int pdm_model_set_alert_policy(pdm_model *m, const pdm_alert_policy *p, const char *rule,
                               char *errstr, size_t errlen);
/* Stores a free-form metadata entry (e.g. "split", "train", "test",
 * "metrics"); takes ownership of value, also on failure. Keys the module
 * owns (version, features, thresholds, ...) are refused. */
int pdm_model_set_info(pdm_model *m, const char *key, struct cJSON *value, char *errstr,
                       size_t errlen);
/* Builds the reference histograms from training rows (n_rows x nfeat) and
 * risk scores (n_risk values; ideally of rows the booster did not fit, as
 * live scores will be). */
int pdm_model_set_reference(pdm_model *m, const double *rows, size_t n_rows, const double *risk,
                            size_t n_risk, char *errstr, size_t errlen);

/* ---- package -------------------------------------------------------------- */

typedef struct {
    const char *name; /* a plain file name, e.g. "metrics.json" */
    const void *data;
    size_t len;
} pdm_model_file;

/* Computes the version (model bytes + metadata); later metadata changes are
 * refused. pdm_model_save does it too; call it first to learn the version. */
int pdm_model_seal(pdm_model *m, char *errstr, size_t errlen);
/* Writes the package, with extra files, to dir atomically. An existing dir
 * is replaced only if it is empty or a model package. */
int pdm_model_save(pdm_model *m, const char *dir, const pdm_model_file *extra, size_t n_extra,
                   char *errstr, size_t errlen);
/* Loads and checks a package (version hash, features, classes). */
int pdm_model_load(const char *dir, pdm_model **out, char *errstr, size_t errlen);
void pdm_model_destroy(pdm_model *m);

/* ---- accessors ------------------------------------------------------------ */

const char *pdm_model_version(const pdm_model *m); /* "" until sealed */
const char *pdm_model_feature_set(const pdm_model *m);
size_t pdm_model_n_features(const pdm_model *m);
const char *pdm_model_feature_name(const pdm_model *m, size_t i);
void pdm_model_thresholds(const pdm_model *m, double *warn, double *critical);
/* The package's alert policy into *out, over the model's thresholds.
 * Returns 1 if the package records one; 0 if it predates them (or none was
 * set): then *out is pdm_alert_policy_init's defaults. */
int pdm_model_alert_policy(const pdm_model *m, pdm_alert_policy *out);
double pdm_model_horizon_hours(const pdm_model *m); /* NaN if unset */
/* The metadata (model.json) as cJSON, owned by the model; and as text
 * (malloc'ed, NULL on out of memory). */
const struct cJSON *pdm_model_metadata(const pdm_model *m);
char *pdm_model_metadata_text(const pdm_model *m);
/* Threads XGBoost uses for scoring (<= 0: all online cores). */
int pdm_model_set_nthread(pdm_model *m, int nthread, char *errstr, size_t errlen);
/* Threads the native evaluator and the native TreeSHAP split a batch over,
 * the caller's included (1: the caller's alone, the default). Results are
 * the same whatever the count: rows are independent. Helpers sleep between
 * batches; a second caller while one batch runs (the HTTP API beside the
 * loop) computes on its own thread. Call before the model is shared. */
int pdm_model_set_score_threads(pdm_model *m, int threads, char *errstr, size_t errlen);

/* Feature importance into out (nfeat values, 0 for unused features):
 * type "gain" (mean gain per split), "total_gain", "weight" (splits),
 * "cover" or "total_cover", summed over the classes' trees. */
int pdm_model_feature_importance(pdm_model *m, const char *type, double *out, char *errstr,
                                 size_t errlen);

/* ---- reference histograms (drift) ----------------------------------------- */

/* Ten bins between quantile edges of the training rows: edges[0] = min,
 * edges[k] = the k/10 quantile (linear interpolation between order
 * statistics), edges[10] = max. Bin k holds e[k] <= v < e[k+1] (the last bin
 * also holds e[10]; values outside the edges go to the end bins; with tied
 * edges a value goes to the highest bin whose lower edge it reaches).
 * share[] and missing are shares of ALL rows (NaN counted apart), so they sum
 * to 1. With no non-missing value, edges are NaN. */
typedef struct {
    double edges[PDM_MODEL_HIST_BINS + 1];
    double share[PDM_MODEL_HIST_BINS];
    double missing;
    size_t count; /* rows, missing included */
} pdm_histogram;

/* Builds from values[i * stride], i < n. */
int pdm_histogram_build(const double *values, size_t n, size_t stride, pdm_histogram *out,
                        char *errstr, size_t errlen);
/* The histograms of columns 0..ncols-1 of rows[i * stride + c], into
 * out[0..ncols), reading the matrix a few times instead of once per column. */
int pdm_histogram_build_columns(const double *rows, size_t n, size_t stride, size_t ncols,
                                pdm_histogram *out, char *errstr, size_t errlen);
/* The bin of v, or -1 if v is NaN. */
int pdm_histogram_bin(const pdm_histogram *h, double v);
/* NULL until pdm_model_set_reference (or if the package has none). */
const pdm_histogram *pdm_model_feature_histogram(const pdm_model *m, size_t i);
const pdm_histogram *pdm_model_risk_histogram(const pdm_model *m);

/* ---- scoring -------------------------------------------------------------- */

/* Class probabilities of n rows (n x nfeat) into probs (n x 5): one XGBoost
 * call, or with the native predictor the native evaluator (the same values,
 * bit for bit, without the lock). */
int pdm_model_predict(pdm_model *m, const double *rows, size_t n, double *probs, char *errstr,
                      size_t errlen);

/* Feature contributions towards the risk, n x (nfeat + 1), bias last.
 * XGBoost gives exact TreeSHAP values phi[k][j] on each class margin m_k;
 * the log-odds of the risk, log(sum_{k>=1} e^m_k) - m_0, is linearised at
 * the row's margins, so a feature's contribution is
 *     sum_{k>=1} (p_k / risk) * phi[k][j]  -  phi[0][j],
 * exact when one failure class dominates, and always in log-odds units:
 * positive pushes the risk up. */
int pdm_model_contributions(pdm_model *m, const double *rows, size_t n, double *contrib,
                            char *errstr, size_t errlen);
/* Where contributions come from: "native TreeSHAP" (the project's exact
 * TreeSHAP, used once it matched XGBoost's pred_contribs within 2e-5 of each
 * row's largest value on the first call's rows and a fixed sample), "not
 * used yet", or why it was refused (XGBoost's pred_contribs serve then). */
const char *pdm_model_contributions_engine(pdm_model *m);

static inline double pdm_model_risk_of(const double *probs)
{
    return 1.0 - probs[0];
}
/* CRITICAL if risk >= critical, WARN if risk >= warn, else OK. */
pdm_level pdm_model_level(const pdm_model *m, double risk);

/* Scores n rows into out[i]: risk, component_prob, level, model_version and,
 * for WARN/CRITICAL rows only (one contributions call for all of them), up
 * to PDM_N_REASONS reasons: the features with the largest positive
 * contributions, with their values; the incident fields say "no incident"
 * (pdm_risk_no_incident: incidents are the alert state machine's). event_id
 * and scored_at are left to the caller. */
int pdm_model_score(pdm_model *m, const double *rows, size_t n, pdm_risk *out, char *errstr,
                    size_t errlen);
/* The same, with reasons only if `reasons` is non-zero: a streaming caller
 * scores a batch without them, decides which rows it emits, and explains
 * just those with pdm_model_explain (SHAP is the expensive part). */
int pdm_model_score_ex(pdm_model *m, const double *rows, size_t n, pdm_risk *out, int reasons,
                       char *errstr, size_t errlen);
/* Fills out[i]'s reasons (up to PDM_N_REASONS features with the largest
 * positive contributions, with their values) for n rows, in one
 * contributions call; other fields of out[i] are left as they are. */
int pdm_model_explain(pdm_model *m, const double *rows, size_t n, pdm_risk *out, char *errstr,
                      size_t errlen);

/* ---- predictor ------------------------------------------------------------ */

/* Who computes pdm_model_predict / pdm_model_score*: XGBoost itself, or the
 * native evaluator of the model's trees (model/native.c), which reproduces
 * XGBoost's float arithmetic and is several times faster. */
typedef enum { PDM_PREDICTOR_XGBOOST = 0, PDM_PREDICTOR_NATIVE = 1 } pdm_predictor;

#define PDM_PREDICTOR_TOLERANCE 1e-6

/* "xgboost" or "native": 0, else -1. */
int pdm_predictor_parse(const char *name, pdm_predictor *out);
const char *pdm_predictor_name(pdm_predictor p);

/* The last check of the native evaluator against XGBoost on this model. */
typedef struct {
    int checked;      /* 0: never compared */
    int passed;       /* max_abs_diff <= PDM_PREDICTOR_TOLERANCE */
    size_t rows;      /* sample rows scored by both */
    size_t values;    /* rows x classes compared */
    size_t identical; /* of them, equal bit for bit */
    double max_abs_diff;
    double seconds;               /* building the evaluator and the check */
    char reason[PDM_ERRSTR_SIZE]; /* why the native predictor was refused, or "" */
} pdm_predictor_check;

/* Selects the predictor. Native: builds the evaluator from the model's trees
 * and scores a fixed sample (every split threshold exactly, one float below
 * and above, doubles rounding onto it, rows reaching split nodes of every
 * tree, missing values, +-inf, huge values, the reference histograms'
 * edges) with it and with XGBoost; on any difference above
 * PDM_PREDICTOR_TOLERANCE (or a model it cannot read) it returns -1 with
 * errstr saying why (row, class, both values) and the model keeps its
 * previous predictor, so the caller logs it and serves with XGBoost. On a
 * model not yet sealed the choice and the check's result are recorded in
 * model.json ("predictor": "evaluated_with", "native_check"). Not
 * thread-safe: choose before sharing the model. New and loaded models
 * start with XGBoost. */
int pdm_model_set_predictor(pdm_model *m, pdm_predictor p, char *errstr, size_t errlen);
pdm_predictor pdm_model_predictor(const pdm_model *m);
const pdm_predictor_check *pdm_model_predictor_check(const pdm_model *m);

/* ---- evaluation ----------------------------------------------------------- */

typedef struct {
    size_t n;
    size_t support[PDM_MODEL_N_CLASSES];
    double precision[PDM_MODEL_N_CLASSES], recall[PDM_MODEL_N_CLASSES], f1[PDM_MODEL_N_CLASSES];
    /* Mean F1 over the classes present in the labels or the predictions. */
    double macro_f1;
    double accuracy;
    size_t confusion[PDM_MODEL_N_CLASSES][PDM_MODEL_N_CLASSES]; /* [true][argmax] */
    /* Any failure (label != 0) scored by risk = 1 - P(none). */
    size_t n_positive;
    double positive_rate;
    double roc_auc; /* NaN without both positives and negatives */
    double pr_auc;  /* average precision; NaN without positives */
    /* Alerts (risk >= threshold) against any failure; NaN if undefined. */
    double warn, warn_precision, warn_recall;
    double critical, critical_precision, critical_recall;
} pdm_eval;

/* labels 0..4, probs n x 5; warn/critical are the thresholds to report on. */
int pdm_eval_compute(const int *labels, const double *probs, size_t n, double warn, double critical,
                     pdm_eval *out, char *errstr, size_t errlen);
/* ROC AUC (tied scores count one half) and average precision (one step per
 * distinct score: sum over thresholds of (R_i - R_{i-1}) * P_i) of scores
 * against positive[i] != 0. NaN where undefined. */
int pdm_eval_auc(const double *score, const unsigned char *positive, size_t n, double *roc_auc,
                 double *pr_auc, char *errstr, size_t errlen);
struct cJSON *pdm_eval_to_json(const pdm_eval *m); /* NULL on out of memory */
/* Appends a readable table (per class, AUCs, confusion matrix). */
int pdm_eval_format(const pdm_eval *m, pdm_buf *out);

/* Alert thresholds from risk scores of TRAINING rows (positive = any failure),
 * an alert being risk >= threshold, candidates the distinct scores:
 *   warn     = the threshold of maximal F1 (ties: the higher threshold);
 *   critical = the lowest threshold above warn whose precision reaches
 *              max(0.8, halfway from warn's precision to 1); if none does,
 *              the most precise threshold above warn (lower on ties) if it
 *              beats warn's precision; else warn itself (no more confident
 *              operating point exists: every alert is critical).
 * Fails without positive rows. */
typedef struct {
    double warn, critical;
    double warn_precision, warn_recall, critical_precision, critical_recall;
} pdm_thresholds;

#define PDM_THRESHOLDS_RULE                                                                        \
    "warn: F1-maximal risk threshold on training rows; critical: lowest threshold above warn "     \
    "with training precision >= max(0.8, (1 + precision at warn) / 2), else the most precise "     \
    "threshold above warn if more precise than warn, else warn"

int pdm_thresholds_choose(const double *risk, const unsigned char *positive, size_t n,
                          pdm_thresholds *out, char *errstr, size_t errlen);

/* ---- promotion ------------------------------------------------------------ */

/* 1 if the candidate is not worse than the current model on macro F1 and on
 * PR AUC (a NaN metric of the current model does not block), else 0; a one
 * line explanation goes to reason. */
int pdm_model_promotion_decide(const pdm_eval *candidate, const pdm_eval *current, char *reason,
                               size_t reason_len);
/* The directory MODELS_DIR/current points to, into path. Returns 0 if there
 * is one, 1 if there is no current link, -1 with errstr on error (a link
 * whose target is gone is reported as such, not as a missing package). */
int pdm_model_current(const char *models_dir, char *path, size_t path_len, char *errstr,
                      size_t errlen);
/* Points MODELS_DIR/current at MODELS_DIR/<version_dir> atomically (a new
 * relative link under a temporary name, then rename over "current"). */
int pdm_model_make_current(const char *models_dir, const char *version_dir, char *errstr,
                           size_t errlen);
/* The same for any link name inside MODELS_DIR (pdm-retrain's "shadow":
 * the candidate on trial, which pdm-scorer --shadow-model MODELS_DIR/shadow
 * follows). */
int pdm_model_make_link(const char *models_dir, const char *name, const char *version_dir,
                        char *errstr, size_t errlen);

/* ---- version (exposed for tests) ------------------------------------------ */

/* A package's version: the first PDM_MODEL_VERSION_LEN hex digits of the
 * SHA-256 of the model bytes followed by the metadata text, into out.
 * Returns 0 (the digest cannot fail; errstr is kept for the callers' error
 * path). */
int pdm_model_content_version(const void *model, size_t model_len, const char *meta_text,
                              char out[PDM_MODEL_VERSION_LEN + 1], char *errstr, size_t errlen);

#endif
