/* scorer.h (internal to consumer/): the scorer object, made of one part per
 * concern, each in its own file with its own header:
 *   scorer_model     the model holder, reloads (scorer_model.c)
 *   scorer_kafka     the Kafka clients, assignment, commits, and the
 *                    event-time merge of the input topics (scorer_kafka.c,
 *                    scorer_intake.c,
 *                    scorer_assignment.c, scorer_merge.c)
 *   scorer_table     the machines table, read whole by every scorer
 *                    (scorer_table.c)
 *   scorer_state     Redis state, the state cache, retries (scorer_state.c)
 *   scorer_batch     one batch's messages, machines and rows, and the
 *                    network-free steps on it (scorer_batch.c)
 *   scorer_output    RiskEvents, dead letters, the feature dump
 *                    (scorer_output.c)
 *   scorer_silence   which machines stopped reporting, in event time
 *                    (scorer_silence.c)
 *   scorer_metrics   the Prometheus families (scorer_metrics.c)
 *   scorer_api       the HTTP API, which sees the rest only through the
 *                    model holder's read side, the metrics and two readiness
 *                    flags (scorer_api.c)
 * and the loop that joins them (scorer_loop.c); scorer.c creates and
 * destroys the whole.
 */
#ifndef PDM_SCORER_INTERNAL_H
#define PDM_SCORER_INTERNAL_H

#include <stdatomic.h>

#include "pdm_monitor.h"
#include "pdm_scorer.h"
#include "scorer_api.h"
#include "scorer_batch.h"
#include "scorer_incidents.h"
#include "scorer_kafka.h"
#include "scorer_metrics.h"
#include "scorer_model.h"
#include "scorer_output.h"
#include "scorer_shadow.h"
#include "scorer_silence.h"
#include "scorer_state.h"
#include "scorer_table.h"

/* A batch whose output is produced but not yet known delivered, and whose
 * offsets are not committed yet (see finish_pending in scorer_loop.c). */
typedef struct {
    int active;
    rd_kafka_topic_partition_list_t *commit; /* offsets after its messages */
    rd_kafka_topic_partition_list_t *rewind; /* offsets of its first messages */
    size_t n_emitted;                        /* RiskEvents, for the latency metric */
    int delivered;                           /* output delivered, commit not yet done */
    int commit_sent;                         /* its commit is in flight */
    double received;                         /* monotonic time it was consumed */
} scorer_pending;

struct pdm_scorer {
    pdm_scorer_config cfg;
    atomic_int stop;
    pdm_registry *registry; /* the scorer's counters and gauges */
    scorer_metrics metrics;
    pdm_drift_options drift_opts;
    scorer_model *model;
    scorer_shadow *shadow; /* NULL without --shadow-model */
    int shadow_scored;     /* the shadow decided on the current batch */
    pdm_perf *perf; /* live alert precision and recall */
    scorer_kafka kafka;
    scorer_table *table; /* the machines table; NULL without --machines-topic */
    scorer_state state;
    scorer_output output;
    scorer_batch *batch;    /* the batch being processed, owned by the loop */
    scorer_pending pending; /* the previous batch, until it is finished */
    int commit_failing;     /* the pending batch's commit is being retried */
    scorer_api *api;        /* NULL without --http */
    scorer_silence *silence;                /* NULL with --silence-after 0 */
    scorer_silence_change *silence_changes; /* the batch's, produced with its output */
    size_t n_silence_changes, cap_silence_changes;
    uint64_t silence_revocations; /* kafka.assignment.revocations last looked at */
    scorer_silent_risks silent_risks; /* --emit incidents: resolved by the batch's silences */
    _Atomic int64_t stream_time;  /* the tracker's, for the HTTP API; INT64_MIN none */
    scorer_stages stages;         /* where the loop's time goes */
};

/* scorer_loop.c: the consumer's hook before partitions are revoked (the
 * pending batch is finished while they are still ours), and releasing the
 * pending batch's offset lists. */
void scorer_loop_before_revoke(void *scorer);
void scorer_loop_pending_clear(pdm_scorer *s);

#endif
