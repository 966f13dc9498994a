/* trainer.h: the pdm-train flow (program code in train/, not part of
 * pdm_model: it joins the dataset, features, model, tracking and report
 * libraries). train_main.c parses options into a train_config and calls
 * trainer_run. */
#ifndef PDM_TRAINER_H
#define PDM_TRAINER_H

#include <stdio.h>

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
} train_config;

/* Runs the whole training; the report (metrics table, promotion, timings)
 * goes to out. Returns 0, or -1 with errstr. */
int trainer_run(const train_config *cfg, FILE *out, char *errstr, size_t errlen);

#endif
