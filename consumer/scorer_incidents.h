/* scorer_incidents.h (internal to consumer/): what --emit incidents does
 * beyond deciding a batch's rows (scorer_batch_incidents):
 *   - the machines that went silent resolve their open incident
 *     (pdm_alert_silent: resolution silent), whether or not they are in
 *     the batch: their alert state is read from Redis, written back in the
 *     batch's pipeline with the open-incident index, and the resolution
 *     goes out as a RiskEvent of its own;
 *   - the live precision and recall count incidents (pdm_perf_incident),
 *     fed in stream order with the machines' failures;
 *   - pdm_incidents_total and the lead-time histogram, per RiskEvent
 *     produced.
 */
#ifndef PDM_SCORER_INCIDENTS_H
#define PDM_SCORER_INCIDENTS_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_alerts.h"
#include "pdm_monitor.h"
#include "redis_state.h"
#include "scorer_batch.h"
#include "scorer_metrics.h"
#include "scorer_silence.h"

/* A resolution by silence, produced with the batch's output. */
typedef struct {
    int32_t machine_id;
    int64_t ts; /* when the machine went silent: its last reading + silence_after */
    pdm_risk risk;
} scorer_silent_risk;

typedef struct {
    scorer_silent_risk *items;
    size_t n, cap;
} scorer_silent_risks;

/* pdm_incidents_total's outcome (SCORER_OUTCOME_*) of a decision emit
 * (pdm_alert_emit) resolved for why (a resolution's reason), or -1 for none. */
int scorer_incident_outcome(int emit, pdm_alert_resolution why);

/* Counts one incident RiskEvent produced: its outcome, and for a failure
 * its lead time (ts - opened_at). */
void scorer_incidents_count(scorer_metrics *m, int emit, const pdm_risk *r, int64_t ts);

/* The batch's incidents and failures, per machine in stream order, to the
 * live-performance tracker, then each machine's newest reading. Replaces
 * the per-row alerts of the other modes. -1 out of memory. */
int scorer_incidents_perf(pdm_perf *perf, const scorer_batch *b);

/* The machines of changes[0..n) that went silent: each one's alert state
 * (the batch's machine's, or read from Redis for a machine not in the
 * batch) goes through pdm_alert_silent at its last reading + after_ms; an
 * open incident's resolution is appended to out (model_version names it);
 * a state that changed is written back through writes (with the index).
 * Called after the batch's incidents, before its writes are sent. A
 * machine whose state cannot be read is left as it is (logged, counted in
 * redis_errors). -1 out of memory. */
int scorer_incidents_silence(pdm_redis *redis, pdm_rs_batch *writes, scorer_batch *b,
                             const scorer_silence_change *changes, size_t n, int64_t after_ms,
                             const char *model_version, scorer_metrics *metrics,
                             scorer_silent_risks *out);

#endif
