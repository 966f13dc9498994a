/* trainer_internal.h (internal to train/): what the trainer's files share.
 *
 *   trainer.c           the run: fit, thresholds and evaluation, the package,
 *                       the summary
 *   trainer_data.c      loading the CSVs into feature rows; the time splits
 *   trainer_promote.c   the predictor choice; the comparison with the
 *                       current model
 *   trainer_alerting.c  the alert policy: its choice and its replay on the
 *                       test rows
 *   trainer_report.c    report.html and the MLflow run */
#ifndef PDM_TRAINER_INTERNAL_H
#define PDM_TRAINER_INTERNAL_H

#include <math.h>
#include <stdio.h>

#include <cJSON.h>

#include "alert_eval.h"
#include "pdm_dataset.h"
#include "pdm_features.h"
#include "pdm_model.h"
#include "pdm_report.h"
#include "trainer.h"

enum { K = PDM_MODEL_N_CLASSES };

/* The data set and every telemetry row's features and label. */
typedef struct {
    pdm_dataset *ds;
    pdm_feature_rows rows; /* x, machine_id, ts */
    int *labels;
    size_t nfeat;
    const char *const *names;
} feature_rows;

/* A contiguous block of rows: a view into feature_rows or owned copies. */
typedef struct {
    size_t n;
    const double *rows;
    const int *labels;
    const int64_t *ts;
    const int32_t *machine;
    int64_t first, last;
    size_t count[K];
    double *own_rows;
    int *own_labels;
    int64_t *own_ts;
    int32_t *own_machine;
} row_block;

typedef struct {
    double load, features, train, evaluate, write;
} timings;

typedef struct {
    int requested;
    int has_current;
    int comparable;
    int promote;
    char current_version[PDM_MODEL_VERSION_LEN + 1];
    char reason[512];
    pdm_eval current;
} promotion;

/* Everything one run holds, released by run_free. */
typedef struct {
    const train_config *cfg;
    feature_rows fr;
    row_block all, train, test;
    row_block fit, calib; /* train split again: boosting rows, threshold rows */
    int calibrated;       /* thresholds come from calib (else in-sample from fit) */
    pdm_model *model;
    double *fit_probs, *calib_probs, *test_probs;
    pdm_thresholds th;
    pdm_eval metrics;
    pdm_alert_policy alert;   /* recorded in the package */
    alert_clear_choice clear; /* how its clear thresholds were chosen */
    int clear_fixed;          /* --alert-clear given */
    alert_eval alerting;      /* the policy and --emit changes on the test rows */
    promotion promo;
    timings tm;
    int64_t cutoff, calib_cutoff;
    char when[32], calib_when[32];
    char version_dir[4200];
    char run_id[33]; /* the MLflow run, "" without --mlruns */
    pdm_model_file files[4];
    size_t nfiles;
} run_state;

/* The report's alerting section (its arrays owned here). */
typedef struct {
    pdm_report_alerting section;
    pdm_report_alert_figure figures[9];
    double *lead[2]; /* hours: policy, changes */
    char policy[512];
} report_alert;

#define LABEL_RULE                                                                                 \
    "class K (1..4) if the earliest failure of the machine with t < f <= t + horizon is of "       \
    "compK (the lowest K when several fail at that f), else 0 (none)"

/* JSON has no NaN: undefined metrics are null. */
static inline cJSON *json_num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static inline size_t failures(const row_block *b)
{
    return b->n - b->count[0];
}

static inline double ratio_of(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

static inline double hours(double ms)
{
    return ms / PDM_MS_PER_HOUR;
}

/* ---- trainer_data.c ------------------------------------------------------------ */

void free_block(row_block *b);
void free_features(feature_rows *fr);
/* Loads the CSVs, computes every telemetry row's features (in replay
 * order, as the scorer would see the events) and labels. */
int load_features(const train_config *cfg, feature_rows *fr, timings *tm, char *errstr,
                  size_t errlen);
/* Test split, then the threshold-calibration slice at the end of the
 * training rows. */
int split_data(run_state *r, char *errstr, size_t errlen);
cJSON *block_json(const row_block *b);

/* ---- trainer_promote.c ----------------------------------------------------------- */

/* Switches a model to the --predictor; a refused native predictor is logged
 * and the model stays on XGBoost (the package records the refusal). */
int choose_predictor(pdm_model *m, const char *name, const char *which, char *errstr,
                     size_t errlen);
/* Scores the current model (if any) on the candidate's test rows. */
int compare_with_current(const train_config *cfg, const pdm_model *candidate,
                         const pdm_eval *cand_metrics, const row_block *test, promotion *p,
                         char *errstr, size_t errlen);
cJSON *promotion_json(const promotion *p, const char *candidate_version, const pdm_eval *cand,
                      const char *models_dir, const char *rule);

/* ---- trainer_alerting.c ---------------------------------------------------------- */

/* The alert policy: options, clear thresholds chosen on the threshold rows
 * (thr, scored by thr_probs), recorded in the package. */
int alert_choose_policy(run_state *r, const row_block *thr, const double *thr_probs, char *errstr,
                        size_t errlen);
/* The policy and --emit changes replayed over the test rows. */
int alert_evaluate(run_state *r, char *errstr, size_t errlen);
/* The "alerting" entry of metrics.json and model.json. */
cJSON *alerting_json(const run_state *r);
void print_alerting(const run_state *r, FILE *out);

/* ---- trainer_report.c ------------------------------------------------------------ */

/* Renders report.html into files[*nfiles]. */
int add_report(const train_config *cfg, pdm_model *model, const pdm_eval *m, const row_block *train,
               const row_block *test, const double *test_probs, const pdm_dataset *ds,
               const char *cutoff, const pdm_report_alerting *alerting, pdm_model_file *files,
               size_t *nfiles, char *errstr, size_t errlen);
/* Records the run in the MLflow file store: parameters, test metrics,
 * timings so far, and the package as artifacts under "model". Its id goes
 * to run_id (33 bytes). */
int record_run(const train_config *cfg, pdm_model *model, const pdm_eval *m, const alert_eval *al,
               const timings *tm, const char *cutoff, const char *package_dir, int promoted,
               char *run_id, char *errstr, size_t errlen);
/* The report's alerting section from the run's alert evaluation. */
int report_alerting(const run_state *r, report_alert *ra);

#endif
