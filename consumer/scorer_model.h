/* scorer_model.h (internal to consumer/): the model holder. It owns the
 * scoring model, its thresholds and its drift monitor, and replaces them
 * between batches: on a reload request (SIGHUP), when the --model
 * directory's `current` link names another package, or with a package the
 * HTTP reload prepared (handed over, installed by the loop, so that a batch
 * is always scored by one model).
 *
 * Threads: the loop thread alone installs models (under the holder's lock
 * taken for writing) and uses scorer_model_get, _thresholds and _drift
 * without locking. Every other function may be called from any thread
 * (HTTP handlers) and takes the lock for reading.
 */
#ifndef PDM_SCORER_MODEL_H
#define PDM_SCORER_MODEL_H

#include <stddef.h>

#include <cJSON.h>

#include "pdm_model.h"
#include "pdm_monitor.h"
#include "pdm_scorer.h"

typedef struct scorer_model scorer_model;

/* Called under the lock when a model is installed (old_version "" for the
 * first one). */
typedef void (*scorer_model_changed_fn)(void *ctx, const char *version, const char *old_version);

/* Loads the first model. cfg (model_dir, overrides, predictor) and drift
 * outlive the holder. */
scorer_model *scorer_model_new(const pdm_scorer_config *cfg, const pdm_drift_options *drift,
                               scorer_model_changed_fn changed, void *ctx, char *errstr,
                               size_t errlen);
void scorer_model_destroy(scorer_model *h);

/* Loads and checks the package --model names (its `current` link or the
 * directory): the feature set must be v1; thresholds with the overrides
 * applied. Any thread; touches no holder. */
int scorer_model_prepare(const pdm_scorer_config *cfg, pdm_model **out, char *path, size_t pathlen,
                         double *warn, double *critical, char *errstr, size_t errlen);

/* The package's alert policy (pdm_model_alert_policy) with the thresholds
 * in use (warn, critical: the model's or the overrides). An override moves
 * its clear threshold by the same ratio, since the package chose the clear
 * thresholds as one ratio of the enter thresholds; a policy that still
 * fails pdm_alert_policy_check gets pdm_alert_policy_init's defaults over
 * the thresholds (and a warning). */
void scorer_alert_policy(const pdm_model *m, double warn, double critical, pdm_alert_policy *out);

/* ---- loop thread ---------------------------------------------------------- */

/* Between batches: installs a model handed over by scorer_model_offer, then
 * reloads if asked to or if the link moved. Returns the number of models
 * installed (a failed reload is logged and the running model kept). */
int scorer_model_refresh(scorer_model *h);
pdm_model *scorer_model_get(scorer_model *h);
void scorer_model_thresholds(const scorer_model *h, double *warn, double *critical);
/* The alert policy in use (--emit incidents): built once per installed
 * model by scorer_alert_policy. */
const pdm_alert_policy *scorer_model_alert_policy(const scorer_model *h);
pdm_drift *scorer_model_drift(scorer_model *h); /* NULL without reference histograms */

/* ---- any thread ----------------------------------------------------------- */

/* Async-signal-safe: reload at the next refresh. */
void scorer_model_request_reload(scorer_model *h);
/* Hands a prepared model to the loop (replacing one not installed yet);
 * returns a ticket for scorer_model_installed. */
int scorer_model_offer(scorer_model *h, pdm_model *m, const char *path, double warn,
                       double critical);
/* 1 once the loop has installed a model offered with this ticket or later. */
int scorer_model_installed(scorer_model *h, int ticket);
/* Scores n rows with the model and thresholds in use; WARN and CRITICAL
 * rows get their reasons. 0, or -1 with errstr (no model, or the model
 * failed). */
int scorer_model_score(scorer_model *h, const double *rows, size_t n, pdm_risk *out, char *errstr,
                       size_t errlen);
/* The version in use into buf (PDM_MODEL_VERSION_LEN + 1); 0, or -1 (and
 * "") when none is loaded. */
int scorer_model_version(scorer_model *h, char *buf, size_t len);
/* The GET /v1/model body, NULL when none is loaded or out of memory. */
cJSON *scorer_model_describe(scorer_model *h);
/* The latest drift window of the model in use; 0 without drift monitoring. */
int scorer_model_drift_result(scorer_model *h, pdm_drift_result *out);

#endif
