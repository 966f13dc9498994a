/* scorer_shadow.h (internal to consumer/): shadow scoring (--shadow-model).
 *
 * A second model holder (scorer_model.h, so the shadow reloads like the
 * main model: SIGHUP, POST /v1/admin/reload, or its `current` link moving)
 * scores every row of every batch after the main model. Its RiskEvents go
 * only to --shadow-topic, never to the risk topic, and it never touches
 * what the main model decides, writes to Redis or commits.
 *
 * Emission state: the shadow's own per-machine level (--emit changes /
 * alerts / all) or alert state (--emit incidents) lives in this process's
 * memory only, never in Redis. So a crash, a replay or a rebalance cannot
 * corrupt the main model's stored state (nothing of the shadow is
 * written), and the per-event Redis cost is nil. The price: the shadow's
 * state starts empty after a restart or a partition move (its first alert
 * of a machine already in alert is emitted again, an incident open before
 * is seen opening anew), and a batch consumed again after an undelivered
 * output is decided again on a state that already saw it (a shadow event
 * may be missing or repeated). For a model on trial that is acceptable;
 * for the main model it is not, which is why the main one keeps Redis.
 *
 * Performance side by side: two live-performance trackers (pdm_perf), one
 * for each model, both started when the shadow version was installed and
 * both fed the same failures and, for alerts, every WARN/CRITICAL score of
 * their model (whatever --emit): the two figures are over the same rows and
 * the same period, so they compare. They reset when the shadow version
 * changes.
 *
 * Threads: the loop calls _refresh, _score, _produce; HTTP handlers call
 * _describe, _collect and _request_reload.
 */
#ifndef PDM_SCORER_SHADOW_H
#define PDM_SCORER_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "pdm_monitor.h"
#include "pdm_scorer.h"
#include "scorer_batch.h"
#include "scorer_model.h"
#include "scorer_output.h"

typedef struct scorer_shadow scorer_shadow;

/* NULL *out without cfg->shadow_model_dir. cfg and main outlive the shadow. */
int scorer_shadow_new(const pdm_scorer_config *cfg, scorer_model *main, pdm_registry *registry,
                      scorer_shadow **out, char *errstr, size_t errlen);
void scorer_shadow_destroy(scorer_shadow *sh);

/* ---- loop thread ---------------------------------------------------------- */

/* Between batches: reloads if asked or if the link moved. Models installed. */
int scorer_shadow_refresh(scorer_shadow *sh);
/* After the main model scored b (b->risks final): scores b's rows with the
 * shadow model, decides its RiskEvents on its own state, feeds both
 * trackers. -1 with errstr (the shadow model failed: the caller logs it and
 * goes on, the main output is not affected). */
int scorer_shadow_score(scorer_shadow *sh, const scorer_batch *b, char *errstr, size_t errlen);
/* Produces the RiskEvents the last _score decided to --shadow-topic.
 * Returns how many. */
size_t scorer_shadow_produce(scorer_shadow *sh, scorer_output *o, const scorer_batch *b);

/* ---- any thread ----------------------------------------------------------- */

void scorer_shadow_request_reload(scorer_shadow *sh); /* async-signal-safe */
/* The GET /v1/models body: {"current": {...}, "shadow": {...}|null}. */
cJSON *scorer_shadow_describe(scorer_shadow *sh);
/* Sets the per-version gauges (at scrape time). */
void scorer_shadow_collect(scorer_shadow *sh);

/* Pure: event hours between two event times (NaN when either is unknown). */
double scorer_shadow_hours(int64_t from_ms, int64_t to_ms);

#endif
