/* trainer.h: the pdm-train flow (program code in train/, not part of
 * pdm_model: it joins the dataset, features, model, tracking and report
 * libraries). train_main.c parses options into a train_config and calls
 * trainer_run. */
#ifndef PDM_TRAINER_H
#define PDM_TRAINER_H

#include <stdio.h>

#include "pdm_model.h"

/* A promotion rule other than pdm_model_promotion_decide (pdm-retrain's
 * margin rule): 1 promote, 0 keep the current model; the reason is recorded
 * in promotion.json, the summary and the MLflow run. */
typedef int (*train_promotion_rule)(void *ctx, const pdm_eval *candidate, const pdm_eval *current,
                                    char *reason, size_t reason_len);

typedef struct {
    char *data;
    char *out;
    char *split;
    double calibration;
    double horizon;
    long long rounds;
    long long max_depth;
    double eta;
    double subsample;
    double colsample;
    double min_child_weight;
    double class_weight_cap;
    long long nthread;
    long long seed;
    char *dump_features;
    char *mlruns;
    char *experiment;
    char *promote;
    int skip_bad_rows;
    char *log_level;
    char *predictor; /* "native" or "xgboost": who scores the evaluation */
    /* The alert policy recorded in the package and evaluated on the test
     * rows; NULL: the defaults (pdm_alert_policy_init; hold = --horizon;
     * clear thresholds chosen on the threshold rows). */
    char *alert_confirm;  /* "M/N" */
    char *alert_hold;     /* duration */
    char *alert_renotify; /* duration, 0 = never */
    char *alert_clear;    /* a fixed ratio of the enter thresholds */
    /* With --promote: the rule and its text (NULL: the default rule);
     * never set by pdm-train's options. */
    train_promotion_rule promotion_rule;
    void *promotion_ctx;
    const char *promotion_rule_text;
} train_config;

/* What a run decided, for a caller that acts on it (pdm-retrain). */
typedef struct {
    char version[PDM_MODEL_VERSION_LEN + 1]; /* the candidate */
    char package_dir[4200];                  /* where it was saved */
    int promote_requested;                   /* --promote given */
    int has_current, comparable, promoted;
    char current_version[PDM_MODEL_VERSION_LEN + 1];
    pdm_eval candidate, current; /* on the same test rows; current valid if comparable */
    char split[32];              /* the test period starts here */
    char reason[512];
    char run_id[33]; /* the MLflow training run, "" without --mlruns */
} train_result;

/* Runs the whole training; the report (metrics table, promotion, timings)
 * goes to out. Returns 0, or -1 with errstr. */
int trainer_run(const train_config *cfg, FILE *out, char *errstr, size_t errlen);
/* The same, filling *result (not NULL) when it returns 0. */
int trainer_run_result(const train_config *cfg, train_result *result, FILE *out, char *errstr,
                       size_t errlen);

#endif
