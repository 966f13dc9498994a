/* retrain_internal.h: pdm-retrain's I/O parts (retrain/ only): the scorer
 * API request, the state file, the run itself. */
#ifndef PDM_RETRAIN_INTERNAL_H
#define PDM_RETRAIN_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "pdm_common.h"
#include "pdm_retrain.h"
#include "trainer.h"

/* GET base_url + path (plain HTTP; token: a bearer token or NULL). Fills
 * *status and body (NUL-terminated). Returns 0 or -1 with errstr (no
 * answer). */
int retrain_http_get(const char *base_url, const char *path, const char *token, int timeout_ms,
                     int *status, pdm_buf *body, char *errstr, size_t errlen);

/* What pdm-retrain remembers between runs (a JSON file, replaced
 * atomically): its last training run, the model a promotion replaced (what
 * `rollback` returns to) and the drift windows seen. */
typedef struct {
    int64_t last_run_ms;     /* INT64_MIN never */
    int64_t last_success_ms; /* the last run that trained and decided; INT64_MIN never */
    int failures_in_row;     /* training runs in a row that failed */
    /* the last candidate's scores and the then current model's (NaN unknown) */
    double candidate_pr_auc, current_pr_auc, candidate_warn_precision, current_warn_precision;
    char last_trigger[16];
    char last_decision[16];
    char previous_version[256]; /* a version directory's name; "" none */
    char shadow_candidate[256]; /* the candidate on trial (MODELS/shadow); "" none */
    pdm_retrain_drift_history drift;
} retrain_state;

void retrain_state_init(retrain_state *s);
/* A missing file is an empty state (0); a damaged one an error (-1). */
int retrain_state_load(const char *path, retrain_state *s, char *errstr, size_t errlen);
int retrain_state_save(const char *path, const retrain_state *s, char *errstr, size_t errlen);
/* One pdm-retrain acts on a models directory at a time: an flock on
 * STATE.lock, held for one evaluation or rollback. Returns the lock's fd, or
 * -1 with errstr (held by another process). */
int retrain_state_lock(const char *path, char *errstr, size_t errlen);
void retrain_state_unlock(int fd);

/* pdm-retrain's options (retrain_main.c's table fills it). */
typedef struct {
    char *models;
    char *archive;
    char *state;
    char *work;
    long long days;
    long long holdout_days;
    char *every;
    char *scorer;
    char *scorer_token;
    double drift_psi;
    long long drift_features;
    long long drift_windows;
    double min_recall;
    long long min_failures;
    double min_gain;
    double max_precision_loss;
    double shadow_hours;
    char *mlruns;
    char *experiment;
    char *train_experiment;
    int once;
    char *interval;
    int dry_run;
    int force;
    char *log_level;
    char *metrics_textfile;
    train_config train; /* the trainer's options (data, promote, mlruns set per run) */
    /* parsed */
    int64_t every_ms, interval_ms;
} retrain_config;

/* What a run observes (observe.c). The current model's version (its
 * directory's name) and training time: 1 when there is none. */
int retrain_current_model(const char *models, char *version, size_t vlen, int64_t *trained_ms,
                          char *errstr, size_t errlen);
/* The newest "YYYY-MM-DD" directory of the archive: 1 when it has none. */
int retrain_newest_day(const char *archive, char *day, char *errstr, size_t errlen);
/* The scorer's drift view from GET /v1/drift. */
int retrain_read_scorer(const retrain_config *cfg, pdm_retrain_scorer_view *v, char *errstr,
                        size_t errlen);
/* The shadow model's live figures from GET /v1/models; any failure reads
 * as "not available" (logged). */
void retrain_read_shadow(const retrain_config *cfg, pdm_retrain_shadow *s);

/* One evaluation: reads the state and the scorer, decides, and (unless
 * dry_run) trains, compares, promotes, records and saves the state. The
 * outcome goes to out. Returns 0 (also when nothing was due or the
 * candidate was kept) or -1 with errstr. */
int retrain_run_once(const retrain_config *cfg, FILE *out, char *errstr, size_t errlen);

/* Makes `version` (NULL: the version the last promotion replaced) current
 * again; recorded in MLflow and the state. */
int retrain_rollback(const retrain_config *cfg, const char *version, FILE *out, char *errstr,
                     size_t errlen);

#endif
