/* pdm-train: trains the failure model from PdM CSVs and writes a model
 * package (see model/include/pdm_model.h), optionally promoting it in a
 * models directory. Exit status: 0 on success (also when a candidate is not
 * promoted), 1 on a failure, 2 on a usage error. The thin main of train/:
 * the option table is here, the flow in trainer.c (trainer_internal.h lists
 * its files). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pdm_common.h"
#include "pdm_model.h"
#include "trainer.h"

static const pdm_option options[] = {
    {"data", 'd', "PDM_TRAIN_DATA", PDM_OPT_STRING, offsetof(train_config, data), NULL, "DIR",
     "Directory with PdM_telemetry.csv, PdM_errors.csv, PdM_maint.csv, PdM_failures.csv and "
     "PdM_machines.csv (required).",
     0},
    {"out", 'o', "PDM_TRAIN_OUT", PDM_OPT_STRING, offsetof(train_config, out), NULL, "MODEL_DIR",
     "Write the model package here (replaced atomically if it is a package). Required unless "
     "--promote is given.",
     0},
    {"split", 0, "PDM_TRAIN_SPLIT", PDM_OPT_STRING, offsetof(train_config, split), NULL, "DATETIME",
     "Rows before this UTC time train, the others test (\"YYYY-MM-DD[ HH:MM:SS]\"). Default: "
     "midnight of the day at 75% of the data's time range.",
     0},
    {"calibration", 0, "PDM_TRAIN_CALIBRATION", PDM_OPT_DOUBLE, offsetof(train_config, calibration),
     "0.2", "SHARE",
     "Share of the training time range, at its end, held out of boosting to choose the "
     "WARN/CRITICAL thresholds on scores like live ones (0: use the in-sample scores).",
     0},
    {"horizon", 'H', "PDM_TRAIN_HORIZON", PDM_OPT_DOUBLE, offsetof(train_config, horizon), "24",
     "HOURS", "Label horizon: class K if compK fails within HOURS after the row's time.", 0},
    {"rounds", 'n', "PDM_TRAIN_ROUNDS", PDM_OPT_INT, offsetof(train_config, rounds), "100", "N",
     "Boosting rounds.", 0},
    {"max-depth", 0, "PDM_TRAIN_MAX_DEPTH", PDM_OPT_INT, offsetof(train_config, max_depth), "6",
     "D", "Maximum tree depth.", 0},
    {"eta", 0, "PDM_TRAIN_ETA", PDM_OPT_DOUBLE, offsetof(train_config, eta), "0.15", "E",
     "Learning rate.", 0},
    {"subsample", 0, "PDM_TRAIN_SUBSAMPLE", PDM_OPT_DOUBLE, offsetof(train_config, subsample),
     "0.8", "R", "Share of rows sampled per tree.", 0},
    {"colsample", 0, "PDM_TRAIN_COLSAMPLE", PDM_OPT_DOUBLE, offsetof(train_config, colsample),
     "0.8", "R", "Share of features sampled per tree (colsample_bytree).", 0},
    {"min-child-weight", 0, "PDM_TRAIN_MIN_CHILD_WEIGHT", PDM_OPT_DOUBLE,
     offsetof(train_config, min_child_weight), "1", "W", "Minimum weight in a leaf.", 0},
    {"class-weight-cap", 0, "PDM_TRAIN_CLASS_WEIGHT_CAP", PDM_OPT_DOUBLE,
     offsetof(train_config, class_weight_cap), "10", "C",
     "A failure row weighs min(C, rows of none / rows of its class); 1 turns weighting off.", 0},
    {"nthread", 'j', "PDM_TRAIN_NTHREAD", PDM_OPT_INT, offsetof(train_config, nthread), "0", "N",
     "XGBoost threads (0: the number of cores).", 0},
    {"seed", 0, "PDM_TRAIN_SEED", PDM_OPT_INT, offsetof(train_config, seed), "42", "S",
     "Random seed of the row and column sampling.", 0},
    {"dump-features", 0, "PDM_TRAIN_DUMP_FEATURES", PDM_OPT_STRING,
     offsetof(train_config, dump_features), NULL, "FILE.csv",
     "Also write every feature row with its label to this CSV.", 0},
    {"mlruns", 0, "PDM_TRAIN_MLRUNS", PDM_OPT_STRING, offsetof(train_config, mlruns), NULL, "DIR",
     "Record the run (params, metrics, package) in this MLflow file store.", 0},
    {"experiment", 0, "PDM_TRAIN_EXPERIMENT", PDM_OPT_STRING, offsetof(train_config, experiment),
     "pdm", "NAME", "MLflow experiment name (with --mlruns).", 0},
    {"promote", 0, "PDM_TRAIN_PROMOTE", PDM_OPT_STRING, offsetof(train_config, promote), NULL,
     "MODELS_DIR",
     "Save the package as MODELS_DIR/<version> and make it MODELS_DIR/current if it is not "
     "worse than the current model on macro F1 and PR AUC over the same test rows.",
     0},
    {"skip-bad-rows", 0, "PDM_TRAIN_SKIP_BAD_ROWS", PDM_OPT_BOOL,
     offsetof(train_config, skip_bad_rows), "false", NULL,
     "Skip (and count) malformed CSV rows instead of failing.", 0},
    {"predictor", 0, "PDM_TRAIN_PREDICTOR", PDM_OPT_STRING, offsetof(train_config, predictor),
     "native", "NAME",
     "Who scores the evaluation rows: native (the model's trees evaluated natively, checked "
     "against XGBoost first; on any difference the run falls back to XGBoost and says why) or "
     "xgboost. The package records the choice and the check.",
     0},
    {"alert-confirm", 0, "PDM_TRAIN_ALERT_CONFIRM", PDM_OPT_STRING,
     offsetof(train_config, alert_confirm), NULL, "M/N",
     "Alert policy: an incident opens after M of the last N scores at or above WARN. Default: "
     "the alerts module's (2/3).",
     0},
    {"alert-hold", 0, "PDM_TRAIN_ALERT_HOLD", PDM_OPT_STRING, offsetof(train_config, alert_hold),
     NULL, "DURATION",
     "Alert policy: event time an incident stays open at least before it clears (e.g. 12h, "
     "90m). Default: the --horizon.",
     0},
    {"alert-renotify", 0, "PDM_TRAIN_ALERT_RENOTIFY", PDM_OPT_STRING,
     offsetof(train_config, alert_renotify), NULL, "DURATION",
     "Alert policy: repeat a CRITICAL incident after this "
     "much event time; 0 = never. Default: the --horizon (as the hold).",
     0},
    {"alert-clear", 0, "PDM_TRAIN_ALERT_CLEAR", PDM_OPT_STRING, offsetof(train_config, alert_clear),
     NULL, "RATIO",
     "Clear thresholds = RATIO (0..1] of the enter thresholds, instead of choosing the ratio on "
     "the threshold rows (highest of 1.0, 0.9, ..., 0.1 maximising caught failures - false "
     "incidents - overstay / horizon; the default ratio with fewer than 5 failures there).",
     0},
    {"log-level", 0, "PDM_LOG_LEVEL", PDM_OPT_STRING, offsetof(train_config, log_level), "info",
     "LEVEL", "debug, info, warn or error.", 0},
    PDM_OPTIONS_END,
};

static const char usage[] =
    "Usage: pdm-train --data DIR (--out MODEL_DIR | --promote MODELS_DIR) [options]\n"
    "Trains the machine-failure model (XGBoost, 5 classes: none, comp1..comp4 failing within\n"
    "the horizon) on the v1 features of every telemetry row, with a time-based split, and\n"
    "writes a model package with its metrics, thresholds and drift references.";

/* Can a package be written at path? Its parent directory is made (as the
 * save would) and a temporary directory created in it and removed; an
 * existing path must be a directory (the save replaces it). */
static int check_out(const char *path, char *errstr, size_t errlen)
{
    char parent[4096], probe[4096 + 32];
    struct stat st;
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len == 0 || len >= sizeof parent - 32)
        return pdm_err(errstr, errlen, "--out '%s': not a usable directory name", path);
    memcpy(parent, path, len);
    parent[len] = '\0';
    char *slash = strrchr(parent, '/');
    const char *base = slash ? slash + 1 : parent;
    if (!strcmp(base, ".") || !strcmp(base, ".."))
        return pdm_err(errstr, errlen, "--out '%s': name the package directory itself", path);
    if (stat(parent, &st) == 0 && !S_ISDIR(st.st_mode))
        return pdm_err(errstr, errlen, "--out %s exists and is not a directory", path);
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    char msg[PDM_ERRSTR_SIZE];
    if (pdm_mkdirs(parent, msg, sizeof msg))
        return pdm_err(errstr, errlen, "--out %s: %s", path, msg);
    snprintf(probe, sizeof probe, "%s/.pdm-train-probe-XXXXXX", parent);
    if (!mkdtemp(probe))
        return pdm_err(errstr, errlen, "--out %s: cannot write in %s: %s", path, parent,
                       strerror(errno));
    rmdir(probe);
    return 0;
}

/* The checks that need no data, made before the data are loaded. */
static int check_config(const train_config *cfg, char *errstr, size_t errlen)
{
    if (cfg->rounds < 1 || cfg->rounds > 100000)
        return pdm_err(errstr, errlen, "--rounds must be 1..100000, not %lld", cfg->rounds);
    if (cfg->max_depth < 1 || cfg->max_depth > 64)
        return pdm_err(errstr, errlen, "--max-depth must be 1..64, not %lld", cfg->max_depth);
    if (!(cfg->horizon > 0))
        return pdm_err(errstr, errlen, "--horizon must be > 0 hours, not %g", cfg->horizon);
    return cfg->out ? check_out(cfg->out, errstr, errlen) : 0;
}

int main(int argc, char **argv)
{
    int rc = 1;
    char errstr[PDM_ERRSTR_SIZE];
    train_config cfg = {0};

    const pdm_program program = {"pdm-train", usage, options, 0,
                                 offsetof(train_config, log_level)};
    if (pdm_program_start(&program, &cfg, argc, argv, NULL, &rc))
        goto out;
    pdm_predictor predictor;
    if (pdm_predictor_parse(cfg.predictor, &predictor)) {
        fprintf(stderr, "pdm-train: --predictor: '%s' is not native or xgboost\n", cfg.predictor);
        rc = 2;
        goto out;
    }
    if (!cfg.data || (!cfg.out && !cfg.promote)) {
        fprintf(stderr, "pdm-train: --data and one of --out or --promote are required "
                        "(see --help)\n");
        rc = 2;
        goto out;
    }
    if (check_config(&cfg, errstr, sizeof errstr)) {
        fprintf(stderr, "pdm-train: %s\n", errstr);
        rc = 2;
        goto out;
    }
    if (trainer_run(&cfg, stdout, errstr, sizeof errstr)) {
        fprintf(stderr, "pdm-train: %s\n", errstr);
        rc = 1;
        goto out;
    }
    rc = 0;
out:
    pdm_options_free(options, &cfg);
    return rc;
}
