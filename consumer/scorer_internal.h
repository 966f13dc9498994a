/* scorer_internal.h (internal to consumer/): the scorer's state, shared by
 * the loop (scorer.c) and the HTTP API and metrics (api.c).
 *
 * Threads: the loop thread owns everything here except what the HTTP
 * threads read, which is either atomic, internally locked (registry, drift,
 * perf) or guarded: `model`, `warn`, `critical` and `drift` change only on
 * the loop thread, under model_lock taken for writing; HTTP threads take it
 * for reading. A model loaded by POST /v1/admin/reload is handed over through
 * `pending` and installed by the loop between batches, so a batch is always
 * scored by one model.
 */
#ifndef PDM_SCORER_INTERNAL_H
#define PDM_SCORER_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "pdm_features.h"
#include "pdm_http.h"
#include "pdm_model.h"
#include "pdm_monitor.h"
#include "pdm_scorer.h"
#include "pdm_schemas.h"
#include "redis_state.h"
#include "state_cache.h"

#define WINDOW_MS (24 * PDM_MS_PER_HOUR)

/* One consumed message and what became of it. */
typedef struct {
    rd_kafka_message_t *msg;
    pdm_event ev;
    int machine;             /* index into the batch's machines, -1 if none */
    const char *bad_reason;  /* dead letter reason, NULL if accepted */
    char bad_detail[160];
    int row;                 /* feature row of a telemetry event, -1 if none */
    int emit;                /* produce a RiskEvent for this row */
    int next_event;          /* the machine's next applied item in the batch, -1 if none */
} item;

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
    int64_t from;            /* stored telemetry and errors are those with ts > from */
    int first_event, last_event; /* its applied items in stream order (item.next_event) */
    int last_row;            /* its latest scored row in the batch, -1 if none */
    pdm_rs_machine stored;
    pdm_machine_state *state;
} batch_machine;

/* A machine's state after a batch's writes, for the state cache once Redis
 * has acknowledged them (and the ver counter they produced). */
typedef struct {
    pdm_rs_machine st;
    int64_t cover;           /* exact for telemetry and errors with ts > cover */
    int64_t loaded_version;  /* ver when the batch loaded it */
    size_t version_slot;     /* the batch's HINCRBY reply */
} cache_update;

typedef struct {
    char topic[256];
    int32_t partition;
    int eof;
} assigned_partition;

/* A batch whose output is produced but not yet known delivered, and whose
 * offsets are not committed yet (see finish_pending in scorer.c). */
typedef struct {
    int active;
    rd_kafka_topic_partition_list_t *commit; /* offsets after its messages */
    rd_kafka_topic_partition_list_t *rewind; /* offsets of its first messages */
    size_t n_emitted;                        /* RiskEvents, for the latency metric */
    int delivered;                           /* output delivered, commit not yet done */
    int commit_sent;                         /* its commit is in flight (commit_q) */
    double received;                         /* monotonic time it was consumed */
} batch_output;

/* Metric children the loop updates, looked up once. */
typedef struct {
    pdm_metric *bad, *psi, *missing, *machine_risk, *machine_level, *lag, *model_info;
    pdm_metric_child *events[PDM_EV_COUNT];
    pdm_metric_child *dlq, *rows, *redis_errors, *reloads, *state_lost;
    pdm_metric_child *risk_events[3];
    pdm_metric_child *batch_size, *latency, *redis_rtt;
    pdm_metric_child *cache_lookups[3]; /* hit, stale, miss */
    pdm_metric_child *cache_machines;
    pdm_metric_child *ready, *event_lag, *risk_psi, *precision, *recall;
    pdm_metric_child *tp, *fp, *caught, *missed;
    pdm_metric_child *info; /* the loaded version's pdm_model_info child */
    int32_t *exported;       /* machine ids with their own series (a hash set) */
    pdm_metric_child **exported_children; /* per slot: its risk and level series */
    size_t exported_cap, machines_exported;
} scorer_metrics;

/* A model made ready by the HTTP reload, waiting for the loop. */
typedef struct {
    pthread_mutex_t lock;
    pdm_model *model;
    char path[4096];
    double warn, critical;
    atomic_int installed_gen; /* bumped by the loop when it installs one */
} pending_model;

struct pdm_scorer {
    pdm_scorer_config cfg;
    rd_kafka_t *consumer;
    rd_kafka_queue_t *queue;
    /* the fetcher wake-up (see wake_fetcher in scorer.c) */
    size_t prefetch_bound;   /* the consumer's queued.min.messages */
    int prefetch_full;       /* the queue reached the bound since it last ran dry */
    double last_wake;
    size_t wake_next;        /* round robin over the assigned partitions */
    rd_kafka_t *producer;
    size_t max_message;      /* the producer's message.max.bytes */
    pdm_codec *codec;
    pdm_redis *redis;
    pdm_rs_batch *writes;
    int writes_in_flight;    /* `writes` not acknowledged yet */
    int writes_sent;         /* ... but sent (else they are to be executed again) */
    pdm_state_cache *cache;  /* NULL when cfg.state_cache_bytes is 0 */
    cache_update *updates;   /* for the machines of `writes` */
    size_t n_updates;
    const pdm_event **machine_events; /* scratch: one machine's events of a batch */
    pdm_model *model;
    char model_path[4096];   /* resolved package directory of the loaded model */
    char failed_path[4096];  /* package that failed to load, not retried unasked */
    double warn, critical;
    FILE *dump;

    atomic_int stop;
    atomic_int reload;
    atomic_int redis_up;     /* the loop's last Redis call succeeded; logged per change */
    atomic_int joined;       /* the consumer has had an assignment (joined its group) */

    /* shared with the HTTP threads (see the top of this file) */
    pthread_rwlock_t model_lock;
    pending_model pending;
    pdm_registry *registry;  /* NULL without metrics */
    scorer_metrics m;
    pdm_drift *drift;        /* NULL if the model has no reference histograms */
    pdm_drift_options drift_opts;
    pdm_perf *perf;
    pdm_http *http;          /* NULL without --http */
    pdm_redis *http_redis;   /* the HTTP threads' own connection */
    pthread_mutex_t http_redis_lock;
    double batch_received;   /* monotonic time the current batch was consumed */

    /* batch buffers */
    item *items;
    batch_machine *machines;
    size_t n_machines, cap_machines;
    int32_t *hash;           /* open addressing: machine id -> index + 1 */
    size_t hash_cap;
    double *rows;
    pdm_risk *risks;
    double *explain_rows;    /* emitted alerts' rows, for their reasons */
    pdm_risk *explain;
    double *drift_risk;
    int32_t *row_machine;    /* the rows' machine ids, times and alert flags, */
    int64_t *row_ts;         /* for the live-performance tracker */
    unsigned char *row_alert;
    uint64_t batch_events[PDM_EV_COUNT]; /* accepted per type, added to metrics once */
    int *row_item;
    size_t n_rows;

    /* delivery accounting for the batch in pending_out */
    atomic_long pending_failures;
    char first_delivery_error[256];
    batch_output pending_out;
    rd_kafka_queue_t *commit_q; /* commit results, tagged with commit_seq */
    uintptr_t commit_seq;       /* the latest commit sent */
    int commit_failing;      /* the pending batch's commit is being retried */
    int paused;              /* every assigned partition paused meanwhile */

    assigned_partition *assigned;
    size_t n_assigned;
    size_t last_assigned;    /* where the last message's partition was found */
    int ever_assigned;

    pdm_scorer_stats stats;
};

/* Loads and checks the package --model names (its `current` link or the
 * directory): the feature set must be v1; thresholds with the overrides
 * applied. Thread-safe (no scorer state is touched). */
int scorer_prepare_model(const pdm_scorer_config *cfg, pdm_model **out, char *path, size_t pathlen,
                         double *warn, double *critical, char *errstr, size_t errlen);

/* The local feature state of a machine from its stored state. */
int scorer_restore_state(const pdm_rs_machine *st, int32_t id, pdm_machine_state **out);

/* api.c: the metric families (before the model is loaded) and the HTTP
 * server (after everything else is set up; none without cfg.http_bind). */
int scorer_metrics_init(pdm_scorer *s, char *errstr, size_t errlen);
int scorer_api_start(pdm_scorer *s, char *errstr, size_t errlen);
void scorer_api_stop(pdm_scorer *s);
/* After a model is installed (loop thread, model_lock held for writing). */
void scorer_api_model_changed(pdm_scorer *s, const char *old_version);
/* The per-machine risk and level gauges (loop thread). */
void scorer_export_machine(pdm_scorer *s, int32_t machine_id, const pdm_risk *r);
/* librdkafka statistics (consumer lag). */
void scorer_api_stats(pdm_scorer *s, const char *json, size_t len);

#endif
