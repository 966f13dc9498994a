/* pdm_retrain.h: when to retrain the model and whether a candidate replaces
 * the current one (pdm-retrain; the loop is in README.md, "The retraining
 * loop").
 *
 * The rules are pure functions of what pdm-retrain observed (the clock, the
 * current model's training time, its own last run, the scorer's /v1/drift
 * answer, the two models' metrics on the same held-out rows), so the unit
 * tests reach every branch; retrain.c does the I/O around them. Each rule
 * writes a one-line reason that pdm-retrain prints and records in MLflow.
 */
#ifndef PDM_RETRAIN_H
#define PDM_RETRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_common.h"
#include "pdm_model.h"

/* ---- triggers ------------------------------------------------------------ */

typedef enum {
    PDM_RETRAIN_NONE = 0,
    PDM_RETRAIN_RECALL,   /* live recall below the level */
    PDM_RETRAIN_DRIFT,    /* PSI above the level on k features for w windows */
    PDM_RETRAIN_SCHEDULE, /* the interval has passed */
    PDM_RETRAIN_FORCED,   /* --force */
} pdm_retrain_trigger;

/* "none", "recall", "drift", "schedule", "forced". */
const char *pdm_retrain_trigger_name(pdm_retrain_trigger t);

/* Schedule: due when interval_ms has passed since the later of the current
 * model's training time (model_ms) and pdm-retrain's last training run
 * (last_run_ms); INT64_MIN for either means unknown. Due at once when both
 * are unknown (no model and never run). Off (0) when interval_ms <= 0.
 * Returns 1 due, 0 not. */
int pdm_retrain_schedule_due(int64_t now_ms, int64_t model_ms, int64_t last_run_ms,
                             int64_t interval_ms, char *reason, size_t reason_len);

/* What pdm-retrain read from the scorer's GET /v1/drift. */
typedef struct {
    char model_version[PDM_MODEL_VERSION_LEN + 1]; /* "" if the scorer has none */
    int drift_ready;                               /* a drift window was evaluated */
    uint64_t windows;                              /* windows evaluated so far */
    int features_above;                            /* features with PSI > the level */
    char worst_feature[64];                        /* the feature of the highest PSI */
    double max_psi;                                /* NaN if none */
    double recall;                                 /* rolling live recall, NaN if undefined */
    double precision;                              /* rolling live precision, NaN if undefined */
    uint64_t failures_resolved;                    /* rolling caught + missed */
} pdm_retrain_scorer_view;

/* Parses a /v1/drift body (see consumer/scorer_api.c) counting the features
 * whose PSI is above psi_level. Returns 0 or -1 with errstr (not JSON, or
 * a field of the wrong type). Missing parts read as "not ready" / NaN. */
int pdm_retrain_parse_drift(const char *json, double psi_level, pdm_retrain_scorer_view *out,
                            char *errstr, size_t errlen);

/* The drift windows pdm-retrain has seen, newest last: the scorer reports
 * only its last window, so pdm-retrain keeps the history (in its state
 * file) to judge "w consecutive windows". */
#define PDM_RETRAIN_DRIFT_HISTORY 32
typedef struct {
    char model_version[PDM_MODEL_VERSION_LEN + 1];
    size_t n;
    uint64_t window[PDM_RETRAIN_DRIFT_HISTORY]; /* the scorer's window number */
    int above[PDM_RETRAIN_DRIFT_HISTORY];       /* features above the level in it */
} pdm_retrain_drift_history;

/* Adds the scorer's last window to h. A window already recorded changes
 * nothing (returns 0); a different model version or a window number lower
 * than the newest recorded (the scorer restarted) starts a new history.
 * Not ready views are ignored (0). Returns 1 when a window was added. */
int pdm_retrain_drift_record(pdm_retrain_drift_history *h, const pdm_retrain_scorer_view *v);

/* Drift: due when the last `windows` recorded windows each had at least
 * `features` features above the level. Off (0) when either is <= 0. */
int pdm_retrain_drift_due(const pdm_retrain_drift_history *h, int features, int windows,
                          char *reason, size_t reason_len);

/* Recall: due when the scorer's rolling recall is below min_recall, judged
 * only once at least min_failures failures were resolved (caught or missed)
 * in its window: a recall of 0 of 1 says little. Off (0) when
 * min_recall <= 0. */
int pdm_retrain_recall_due(const pdm_retrain_scorer_view *v, double min_recall,
                           uint64_t min_failures, char *reason, size_t reason_len);

/* The trigger that fires, in the order forced, recall, drift, schedule (the
 * most urgent evidence names the run). */
pdm_retrain_trigger pdm_retrain_first_due(int forced, int recall_due, int drift_due,
                                          int schedule_due);

/* ---- promotion ------------------------------------------------------------- */

typedef struct {
    double min_pr_auc_gain;    /* the candidate's PR AUC must exceed the current's by this */
    double max_precision_loss; /* and its precision at WARN may drop by at most this */
} pdm_retrain_promotion_options;

void pdm_retrain_promotion_options_init(pdm_retrain_promotion_options *o); /* 0.01, 0.02 */

#define PDM_RETRAIN_PROMOTION_RULE                                                                 \
    "promote if, on the same held-out rows, the candidate's PR AUC (any failure) is at least "     \
    "the current model's plus min_pr_auc_gain and its precision at its WARN threshold is at "      \
    "least the current model's minus max_precision_loss"

/* The rule above. Undefined metrics: a candidate PR AUC that is NaN (no
 * failure in the held-out rows) never promotes; a NaN current PR AUC counts
 * as 0. A NaN current precision (no alerts) does not block; a NaN candidate
 * precision blocks when the current one is defined (the candidate raises
 * no alert at all). Returns 1 promote, 0 keep. */
int pdm_retrain_promotion_decide(const pdm_eval *candidate, const pdm_eval *current,
                                 const pdm_retrain_promotion_options *o, char *reason,
                                 size_t reason_len);

/* ---- shadow period ------------------------------------------------------------ */

/* What the scorer reports on its shadow model (GET /v1/models: see
 * README, "HTTP API"): both models' live figures over the same rows since
 * the shadow version was installed. */
typedef struct {
    int available; /* the scorer has a shadow model */
    char version[PDM_MODEL_VERSION_LEN + 1];
    double hours;             /* event time the shadow model scored */
    double precision, recall; /* the shadow model's live figures */
    double current_precision, current_recall;
} pdm_retrain_shadow;

/* Parses a GET /v1/models body: "shadow": null (or absent) leaves
 * out->available 0; an object fills the rest (null figures are NaN).
 * Returns 0, or -1 with errstr (not JSON, or the wrong shape). */
int pdm_retrain_parse_models(const char *json, pdm_retrain_shadow *out, char *errstr,
                             size_t errlen);

typedef enum {
    PDM_RETRAIN_SHADOW_REJECT = -1, /* scored the period and worse: drop the candidate */
    PDM_RETRAIN_SHADOW_HOLD = 0,    /* not (long enough) in shadow yet */
    PDM_RETRAIN_SHADOW_PROMOTE = 1, /* not required, or the period passed and not worse */
} pdm_retrain_shadow_verdict;

/* PROMOTE when no shadow period is required (required_hours <= 0), or the
 * candidate has been the shadow model for required_hours and its live
 * recall and precision are not below the current model's (a NaN current
 * figure does not block; a NaN shadow figure against a defined current one
 * does); REJECT when the period passed and it is worse; else HOLD (no
 * shadow, another version in shadow, too short). The reason says which. */
pdm_retrain_shadow_verdict pdm_retrain_shadow_decide(double required_hours,
                                                     const pdm_retrain_shadow *s,
                                                     const char *candidate_version, char *reason,
                                                     size_t reason_len);
/* 1 when pdm_retrain_shadow_decide says PROMOTE, else 0. */
int pdm_retrain_shadow_ok(double required_hours, const pdm_retrain_shadow *s,
                          const char *candidate_version, char *reason, size_t reason_len);

/* ---- the archive's days ------------------------------------------------------ */

/* The training range of the last `days` days ending at the newest archived
 * day `newest` ("YYYY-MM-DD"): from (inclusive) into from_day, and, with
 * holdout_days > 0, the split (the start of the first held-out day) into
 * split_day ("" when holdout_days <= 0: the trainer's default split).
 * Fails when days < 1, holdout_days >= days or newest is not a day. */
int pdm_retrain_days(const char *newest, int days, int holdout_days, char *from_day,
                     char *split_day, char *errstr, size_t errlen);

/* ---- metrics (pdm-retrain --metrics-textfile) ---------------------------------------- */

/* What the metrics say: the evaluation, the runs the state remembers and the
 * scores of the last candidate. Times are ms since the epoch, INT64_MIN for
 * never (the metric is then left out); scores NaN when unknown (left out). */
typedef struct {
    int64_t now_ms;
    int64_t last_run_ms;
    int64_t last_success_ms;
    int failures_in_row;
    int64_t model_trained_ms; /* the current model; INT64_MIN: none */
    const char *current_version;
    const char *last_decision; /* "" none */
    double candidate_pr_auc, current_pr_auc;
    double candidate_warn_precision, current_warn_precision;
} pdm_retrain_metrics;

/* Appends the Prometheus text format of m (gauges pdm_retrain_*) to out.
 * Returns 0 or -1 (out of memory). */
int pdm_retrain_metrics_text(const pdm_retrain_metrics *m, pdm_buf *out);

#endif
