/* scorer_batch.h (internal to consumer/): one batch of consumed messages
 * and everything the loop computes for it, as an object the loop owns
 * (allocated once for --batch-size messages, reset per batch):
 *   - items: each message, its decoded event and what became of it (dead
 *     letter with a reason, feature row, RiskEvent or not);
 *   - machines: the batch's machines, each with the source offsets of its
 *     messages, the stored state loaded for it and its local state;
 *   - rows and risks: one feature row per accepted telemetry event.
 * The steps here touch no network: decoding and validation, applying the
 * events in stream order (lateness by the stream rules) with their features,
 * and scoring with the emission decision. Loading and writing the state
 * (scorer_state.h) and producing the output (scorer_output.h) work on it.
 */
#ifndef PDM_SCORER_BATCH_H
#define PDM_SCORER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "pdm_alerts.h"
#include "pdm_features.h"
#include "pdm_model.h"
#include "pdm_monitor.h"
#include "pdm_rules.h"
#include "pdm_schemas.h"
#include "redis_state.h"
#include "scorer_stages.h"
#include "scorer_table.h"

/* One consumed message and what became of it. */
typedef struct {
    rd_kafka_message_t *msg;
    int spike; /* a clock spike in its partition (set before decoding) */
    pdm_event ev;
    int machine;            /* index into the batch's machines, -1 if none */
    const char *bad_reason; /* dead letter reason, NULL if accepted */
    char bad_detail[160];
    int row;        /* feature row of a telemetry event, -1 if none */
    int emit;       /* produce a RiskEvent for this row, or for this world event */
    int world;      /* --emit incidents: the RiskEvent resolving an incident
                     * by this maintenance or failure (index into world[]),
                     * -1 if none */
    int next_event; /* the machine's next applied item in the batch, -1 if none */
    int incident;   /* --emit incidents: the decision on it (pdm_alert_emit) */
} scorer_item;

/* A machine touched by the batch. */
typedef struct {
    int32_t id;
    /* the batch's messages of this machine, per source topic partition
     * (topic names are librdkafka's, valid while the batch's messages are) */
    struct {
        const char *topic;
        int32_t partition;
        int64_t first, last;
    } src[PDM_RS_MAX_SOURCES];
    size_t n_src;
    int64_t min_ts;
    int64_t from;                /* stored telemetry and errors are those with ts > from */
    int first_event, last_event; /* its applied items in stream order (next_event) */
    int last_row;                /* its latest scored row in the batch, -1 if none */
    /* --emit incidents: the open incident's level (0 none) before and after
     * the batch; the open-incident index is written when they differ */
    int incident_before, incident_after;
    pdm_rs_machine stored;
    pdm_machine_state *state;
} scorer_machine;

typedef struct {
    size_t cap;      /* messages at most */
    size_t n;        /* messages in items[] */
    double received; /* monotonic time the batch was consumed */
    scorer_item *items;
    scorer_machine *machines;
    size_t n_machines, cap_machines;
    int32_t *hash; /* open addressing: machine id -> index + 1 */
    size_t hash_cap;
    double *rows; /* n_rows x PDM_N_FEATURES */
    pdm_risk *risks;
    pdm_risk *world; /* --emit incidents: resolutions by the world */
    size_t n_world;
    int *row_item; /* each row's item */
    size_t n_rows;
    double *explain_rows; /* emitted alerts' rows, for their reasons */
    pdm_risk *explain;
    double *row_risk;     /* the rows' risks, machine ids, times and alert */
    int32_t *row_machine; /* flags, for drift and the live-performance */
    int64_t *row_ts;      /* tracker */
    unsigned char *row_alert;
    const pdm_event **machine_events; /* scratch: one machine's events */
    uint64_t events[PDM_EV_COUNT];    /* accepted, per type */
    scorer_stages *stages;            /* the loop's clock (NULL: none) */
} scorer_batch;

scorer_batch *scorer_batch_new(size_t cap);
void scorer_batch_destroy(scorer_batch *b);
/* Forgets the machines and rows of the last batch (not its messages). */
void scorer_batch_reset(scorer_batch *b);

/* The index of machine id in machines[], or -1 if the batch has none. */
int scorer_batch_find(const scorer_batch *b, int32_t id);

/* Step 1: decodes and validates items[0..n) (their msg and spike set),
 * gathers their machines. Bad messages get a dead letter reason (a valid
 * event that is a clock spike: invalid_timestamp). -1 out of memory. */
int scorer_batch_decode(scorer_batch *b, pdm_codec *codec, int64_t now_ms);

/* Step 3: applies each machine's events in stream order to its local state
 * (machines' `state` restored from `stored`), rejecting late ones, records
 * them in writes and computes the features of every telemetry event. A
 * machine whose row in the machines table (may be NULL) differs from its
 * stored info gets the row first, as the trainer applies machine info
 * before everything.
 * Failures go to perf (may be NULL). -1 out of memory. */
int scorer_batch_apply(scorer_batch *b, scorer_table *table, int64_t lateness_ms,
                       pdm_rs_batch *writes, pdm_perf *perf);

/* Step 4: scores every row with one model call, sets levels by the
 * thresholds in use, decides which rows become RiskEvents (stream order
 * per machine; updates the machines' stored level, or with
 * PDM_EMIT_INCIDENTS their alert state by policy: scorer_batch_incidents)
 * and explains only the emitted alerts (firing incidents). -1 with
 * errstr. */
int scorer_batch_score(scorer_batch *b, pdm_model *model, double warn, double critical,
                       pdm_emit_mode emit, int64_t renotify_ms, const pdm_alert_policy *policy,
                       char *errstr, size_t errlen);

/* The decision of --emit incidents, on rows already scored (risks[] with
 * risk, component_prob and level): each machine's alert state (its stored
 * text, "" for none; an undecodable one is logged and starts afresh) runs
 * through its applied events in stream order: a telemetry row goes to
 * pdm_alert_step (its most likely component: the largest component_prob),
 * a maintenance or failure to pdm_alert_world. A row whose step opens,
 * escalates, renotifies or resolves an incident is emitted with the
 * incident's fields. A resolution by the world is emitted too, as a
 * RiskEvent of its own at the event's time (world[it->world]): it is not a
 * score, so it carries risk 0 and level OK, no reasons, and the incident's
 * fields (peak_risk and component say what it was). The state goes back
 * to the machine's stored text. model_version names the world's
 * RiskEvents. -1 with errstr (a row the state machine refuses). */
int scorer_batch_incidents(scorer_batch *b, const pdm_alert_policy *policy,
                           const char *model_version, char *errstr, size_t errlen);

/* Per partition of the batch's messages, the offset after its last message
 * (next != 0: what to commit) or of its first one (next == 0: where to
 * rewind to), merged into list (a partition already there keeps its offset
 * when rewinding: an earlier batch's start comes first). */
void scorer_batch_offsets(const scorer_batch *b, int next, rd_kafka_topic_partition_list_t *list);

/* The incidents' rules shared with the shadow model (scorer_shadow.c): the
 * component (1..PDM_N_COMPONENTS) a row deems most likely to fail, and an
 * incident's fields copied into a RiskEvent. */
int scorer_risk_component(const pdm_risk *r);
void scorer_risk_set_incident(pdm_risk *r, const pdm_incident *inc);

#endif
