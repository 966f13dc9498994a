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
} train_config;

/* Runs the whole training; the report (metrics table, promotion, timings)
 * goes to out. Returns 0, or -1 with errstr. */
int trainer_run(const train_config *cfg, FILE *out, char *errstr, size_t errlen);

#endif
