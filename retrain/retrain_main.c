/* pdm-retrain: decides when the model is retrained and whether the
 * candidate replaces the current one (README, "The retraining loop").
 * `pdm-retrain --once` evaluates and acts once (for a timer); without it,
 * it evaluates every --interval until SIGTERM. `pdm-retrain rollback
 * [VERSION]` makes the model the last promotion replaced (or VERSION)
 * current again. Exit status: 0 done (also nothing due, or the candidate
 * kept), 1 a failure, 2 a usage error. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retrain_internal.h"

#define O(field) offsetof(retrain_config, field)
#define T(field) offsetof(retrain_config, train.field)

static const pdm_option options[] = {
    {"models", 'm', "PDM_RETRAIN_MODELS", PDM_OPT_STRING, O(models), NULL, "MODELS_DIR",
     "The models directory the scorer follows (MODELS_DIR/current; required).", 0},
    {"archive", 'a', "PDM_RETRAIN_ARCHIVE", PDM_OPT_STRING, O(archive), NULL, "DIR",
     "The pdm-archive directory to train on (required except for rollback).", 0},
    {"state", 0, "PDM_RETRAIN_STATE", PDM_OPT_STRING, O(state), NULL, "FILE",
     "pdm-retrain's state (last run, drift windows seen, the model a promotion replaced). "
     "Default: MODELS_DIR/.retrain-state.json.",
     0},
    {"work", 0, "PDM_RETRAIN_WORK", PDM_OPT_STRING, O(work), "/tmp", "DIR",
     "Where the exported training data is written (and removed after the run).", 0},
    {"days", 0, "PDM_RETRAIN_DAYS", PDM_OPT_INT, O(days), "90", "N",
     "Train on the archive's last N days (up to its newest day).", 0},
    {"holdout-days", 0, "PDM_RETRAIN_HOLDOUT_DAYS", PDM_OPT_INT, O(holdout_days), "0", "D",
     "The last D of them are the held-out days both models are compared on (0: the trainer's "
     "default split, the last quarter of the time range).",
     0},
    {"every", 0, "PDM_RETRAIN_EVERY", PDM_OPT_STRING, O(every), "0", "DURATION",
     "Schedule: retrain when this long has passed since the current model was trained and "
     "since the last run (e.g. 7d; 0: off).",
     0},
    {"scorer", 0, "PDM_RETRAIN_SCORER", PDM_OPT_STRING, O(scorer), NULL, "URL",
     "The scorer's HTTP API (http://HOST:PORT); its GET /v1/drift feeds the drift and recall "
     "triggers.",
     0},
    {"scorer-token", 0, "PDM_RETRAIN_SCORER_TOKEN", PDM_OPT_STRING, O(scorer_token), NULL, "TOKEN",
     "Bearer token of the scorer's /v1/ API.", PDM_OPT_SECRET},
    {"drift-psi", 0, "PDM_RETRAIN_DRIFT_PSI", PDM_OPT_DOUBLE, O(drift_psi), "0.25", "LEVEL",
     "Drift: a feature drifts in a window when its PSI is above LEVEL.", 0},
    {"drift-features", 0, "PDM_RETRAIN_DRIFT_FEATURES", PDM_OPT_INT, O(drift_features), "0", "K",
     "Drift: retrain when at least K features drift ... (0: off).", 0},
    {"drift-windows", 0, "PDM_RETRAIN_DRIFT_WINDOWS", PDM_OPT_INT, O(drift_windows), "3", "W",
     "... in each of the last W drift windows pdm-retrain saw.", 0},
    {"min-recall", 0, "PDM_RETRAIN_MIN_RECALL", PDM_OPT_DOUBLE, O(min_recall), "0", "R",
     "Recall: retrain when the scorer's rolling live recall is below R (0: off) ...", 0},
    {"min-failures", 0, "PDM_RETRAIN_MIN_FAILURES", PDM_OPT_INT, O(min_failures), "10", "N",
     "... once at least N failures were resolved (caught or missed) in its window.", 0},
    {"min-gain", 0, "PDM_RETRAIN_MIN_GAIN", PDM_OPT_DOUBLE, O(min_gain), "0.01", "G",
     "Promotion: the candidate's PR AUC must beat the current model's by G on the held-out "
     "rows ...",
     0},
    {"max-precision-loss", 0, "PDM_RETRAIN_MAX_PRECISION_LOSS", PDM_OPT_DOUBLE,
     O(max_precision_loss), "0.02", "P",
     "... and its precision at WARN may be at most P below the current model's.", 0},
    {"shadow-hours", 0, "PDM_RETRAIN_SHADOW_HOURS", PDM_OPT_DOUBLE, O(shadow_hours), "0", "H",
     "Require H hours of event time as the scorer's shadow model before promotion (0: off): a "
     "candidate the margins let through goes on trial as MODELS_DIR/shadow (run the scorer "
     "with --shadow-model MODELS_DIR/shadow); later runs read --scorer's GET /v1/models and "
     "promote it once H hours passed with live recall and precision not below the current "
     "model's, or reject it. No other candidate is trained while one is on trial.",
     0},
    {"mlruns", 0, "PDM_RETRAIN_MLRUNS", PDM_OPT_STRING, O(mlruns), NULL, "DIR",
     "Record every run (trigger, decision, both models' metrics) and the candidate's training "
     "run in this MLflow file store.",
     0},
    {"experiment", 0, "PDM_RETRAIN_EXPERIMENT", PDM_OPT_STRING, O(experiment), "pdm-retrain",
     "NAME", "MLflow experiment of the decisions.", 0},
    {"train-experiment", 0, "PDM_RETRAIN_TRAIN_EXPERIMENT", PDM_OPT_STRING, O(train_experiment),
     "pdm", "NAME", "MLflow experiment of the candidates' training runs (pdm-train's).", 0},
    {"once", 0, "PDM_RETRAIN_ONCE", PDM_OPT_BOOL, O(once), "false", NULL,
     "Evaluate and act once, then exit (for a systemd timer or cron).", 0},
    {"interval", 0, "PDM_RETRAIN_INTERVAL", PDM_OPT_STRING, O(interval), "5m", "DURATION",
     "Without --once: evaluate this often (shorter than the scorer's --drift-window, so no "
     "drift window is missed).",
     0},
    {"dry-run", 'n', "PDM_RETRAIN_DRY_RUN", PDM_OPT_BOOL, O(dry_run), "false", NULL,
     "Evaluate once and print what would be done; change nothing (no training, state, link or "
     "MLflow run).",
     0},
    {"force", 0, "PDM_RETRAIN_FORCE", PDM_OPT_BOOL, O(force), "false", NULL,
     "Retrain whatever the triggers say.", 0},
    {"rounds", 0, "PDM_RETRAIN_ROUNDS", PDM_OPT_INT, T(rounds), "100", "N",
     "Trainer: boosting rounds (as pdm-train --rounds).", 0},
    {"max-depth", 0, "PDM_RETRAIN_MAX_DEPTH", PDM_OPT_INT, T(max_depth), "6", "D",
     "Trainer: maximum tree depth.", 0},
    {"eta", 0, "PDM_RETRAIN_ETA", PDM_OPT_DOUBLE, T(eta), "0.15", "E", "Trainer: learning rate.",
     0},
    {"horizon", 0, "PDM_RETRAIN_HORIZON", PDM_OPT_DOUBLE, T(horizon), "24", "HOURS",
     "Trainer: label horizon.", 0},
    {"calibration", 0, "PDM_RETRAIN_CALIBRATION", PDM_OPT_DOUBLE, T(calibration), "0.2", "SHARE",
     "Trainer: share of the training range that chooses the thresholds.", 0},
    {"subsample", 0, "PDM_RETRAIN_SUBSAMPLE", PDM_OPT_DOUBLE, T(subsample), "0.8", "R",
     "Trainer: share of rows sampled per tree.", 0},
    {"colsample", 0, "PDM_RETRAIN_COLSAMPLE", PDM_OPT_DOUBLE, T(colsample), "0.8", "R",
     "Trainer: share of features sampled per tree.", 0},
    {"min-child-weight", 0, "PDM_RETRAIN_MIN_CHILD_WEIGHT", PDM_OPT_DOUBLE, T(min_child_weight),
     "1", "W", "Trainer: minimum weight in a leaf.", 0},
    {"class-weight-cap", 0, "PDM_RETRAIN_CLASS_WEIGHT_CAP", PDM_OPT_DOUBLE, T(class_weight_cap),
     "10", "C", "Trainer: cap of a failure row's weight.", 0},
    {"nthread", 'j', "PDM_RETRAIN_NTHREAD", PDM_OPT_INT, T(nthread), "0", "N",
     "Trainer: XGBoost threads (0: the number of cores).", 0},
    {"seed", 0, "PDM_RETRAIN_SEED", PDM_OPT_INT, T(seed), "42", "S", "Trainer: random seed.", 0},
    {"predictor", 0, "PDM_RETRAIN_PREDICTOR", PDM_OPT_STRING, T(predictor), "native", "NAME",
     "Trainer: who scores the evaluation rows (native or xgboost).", 0},
    {"metrics-textfile", 0, "PDM_RETRAIN_METRICS_TEXTFILE", PDM_OPT_STRING, O(metrics_textfile),
     NULL, "FILE",
     "After every evaluation (and rollback), write pdm-retrain's metrics (pdm_retrain_*: last "
     "evaluation and run, failures in a row, the current model's training time, the last "
     "decision, the candidate's and current model's scores) to FILE in Prometheus' text format, "
     "replaced atomically: point it into node_exporter's --collector.textfile.directory "
     "(name it *.prom). Unset: no file.",
     0},
    {"log-level", 0, "PDM_LOG_LEVEL", PDM_OPT_STRING, O(log_level), "info", "LEVEL",
     "debug, info, warn or error.", 0},
    PDM_OPTIONS_END,
};

static const char usage[] =
    "Usage: pdm-retrain --models MODELS_DIR --archive DIR [--once] [triggers] [options]\n"
    "       pdm-retrain rollback --models MODELS_DIR [VERSION]\n"
    "Retrains the model on the archive's last days when a trigger fires (schedule, drift or\n"
    "live recall read from the scorer's API), compares the candidate with the current model\n"
    "on the same held-out days, promotes it (the atomic MODELS_DIR/current link the scorer\n"
    "follows) when it is better by a margin, and records each run in MLflow.";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void sleep_ms(int64_t ms)
{
    for (int64_t left = ms; left > 0 && !stop; left -= 200) {
        struct timespec ts = {0, (left < 200 ? left : 200) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Checks and completes the parsed options. Returns 0 or -1 with errstr. */
static int finish_config(retrain_config *cfg, int rollback, char *errstr, size_t errlen)
{
    if (!cfg->models || (!rollback && !cfg->archive))
        return pdm_err(errstr, errlen, "--models%s is required (see --help)",
                       rollback ? "" : " and --archive");
    if (pdm_duration_parse(cfg->every, &cfg->every_ms) ||
        pdm_duration_parse(cfg->interval, &cfg->interval_ms) || cfg->interval_ms < 1000)
        return pdm_err(errstr, errlen,
                       "--every and --interval take a duration (e.g. 7d, 30m; --interval at "
                       "least 1s)");
    if (cfg->days < 1 || cfg->holdout_days < 0 || cfg->holdout_days >= cfg->days)
        return pdm_err(errstr, errlen, "--days must be at least 1 and above --holdout-days >= 0");
    if (cfg->drift_features < 0 || cfg->drift_windows < 1 || cfg->min_failures < 0 ||
        !(cfg->drift_psi > 0))
        return pdm_err(errstr, errlen,
                       "--drift-features and --min-failures must be >= 0, --drift-windows >= 1, "
                       "--drift-psi > 0");
    if (cfg->drift_windows > PDM_RETRAIN_DRIFT_HISTORY)
        return pdm_err(errstr, errlen, "--drift-windows: at most %d", PDM_RETRAIN_DRIFT_HISTORY);
    if (cfg->drift_features > 0 && !cfg->scorer)
        return pdm_err(errstr, errlen, "--drift-features needs --scorer");
    if (cfg->min_recall > 0 && !cfg->scorer)
        return pdm_err(errstr, errlen, "--min-recall needs --scorer");
    if (!cfg->state) {
        size_t n = strlen(cfg->models) + sizeof "/.retrain-state.json";
        cfg->state = malloc(n);
        if (!cfg->state)
            return pdm_err(errstr, errlen, "out of memory");
        snprintf(cfg->state, n, "%s/.retrain-state.json", cfg->models);
    }
    return 0;
}

static int run_loop(const retrain_config *cfg)
{
    char errstr[PDM_ERRSTR_SIZE];
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    pdm_log(PDM_LOG_INFO, "evaluating every %.0f s until SIGTERM", (double)cfg->interval_ms / 1000);
    while (!stop) {
        if (retrain_run_once(cfg, stdout, errstr, sizeof errstr))
            pdm_log(PDM_LOG_ERROR, "%s", errstr);
        sleep_ms(cfg->interval_ms);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 1, npos = 0;
    char errstr[PDM_ERRSTR_SIZE];
    retrain_config cfg = {0};

    const pdm_program program = {"pdm-retrain", usage, options, 2,
                                 offsetof(retrain_config, log_level)};
    if (pdm_program_start(&program, &cfg, argc, argv, &npos, &rc))
        goto out;
    int rollback = npos >= 1 && strcmp(argv[1], "rollback") == 0;
    if (npos > 0 && !rollback) {
        fprintf(stderr, "pdm-retrain: unexpected argument '%s' (see --help)\n", argv[1]);
        rc = 2;
        goto out;
    }
    if (finish_config(&cfg, rollback, errstr, sizeof errstr)) {
        fprintf(stderr, "pdm-retrain: %s\n", errstr);
        rc = 2;
        goto out;
    }
    if (rollback)
        rc = retrain_rollback(&cfg, npos == 2 ? argv[2] : NULL, stdout, errstr, sizeof errstr);
    else if (cfg.once || cfg.dry_run)
        rc = retrain_run_once(&cfg, stdout, errstr, sizeof errstr);
    else
        rc = run_loop(&cfg);
    if (rc) {
        fprintf(stderr, "pdm-retrain: %s\n", errstr);
        rc = 1;
    }
out:
    pdm_options_free(options, &cfg);
    return rc;
}
