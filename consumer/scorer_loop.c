/* scorer_loop.c: the streaming scorer's loop.
 *
 * One thread does, per batch of up to batch_size messages:
 *   1. decode and validate every message; bad ones become dead letters;
 *   2. load, in one pipelined Redis round trip, the state of the batch's
 *      machines (telemetry and errors from 24 h before the batch's oldest
 *      event, maintenance, bookkeeping);
 *   3. apply each machine's events in stream order to a local copy of its
 *      state, rejecting those later than the allowed lateness, and compute
 *      the v1 features of every telemetry event at its event time;
 *   4. score all rows with one model call; decide which RiskEvents to emit;
 *   5. finish the previous batch: wait for its output to be delivered, then
 *      commit its offsets (its delivery overlapped steps 1-4 of this one);
 *   6. note its telemetry in the silent-machine tracker (scorer_silence.h);
 *      write the batch's events, trims and bookkeeping to Redis in one
 *      pipelined round trip (every write idempotent);
 *   7. produce its RiskEvents, MachineSilence events and dead letters, and
 *      go on to the next batch
 *      (or, when none comes, finish this one at once).
 * So at most one batch is ever applied to Redis past the committed offsets.
 * A crash anywhere re-delivers from the last commit: re-applying leaves Redis
 * as it was, and the bookkeeping (the newest telemetry before the batch, the
 * level before the batch and the batch's last source offset) makes the
 * replay take the same lateness, trimming and emission decisions as the
 * first run, so it re-emits the same RiskEvents (same event_id) rather than
 * losing any. When the group rebalances (callbacks run inside the consume
 * call), the pending batch is delivered and committed before the partitions
 * are given up.
 * A stop request lets the batch finish, but gives up on Kafka after a grace
 * period if the broker does not take the output or the commit (it could
 * otherwise hold the scorer for minutes): the batch, uncommitted, is
 * consumed again after the restart, as after a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "scorer.h"

/* How often the loop checks that Redis still holds its state (pdm:epoch). */
#define EPOCH_CHECK_S 5.0

/* ---- finishing the previous batch -------------------------------------------- */

/* What finish_pending achieved. */
typedef enum {
    FINISH_STOPPED = -1, /* a stop request gave up waiting; nothing committed */
    FINISH_DONE = 0,     /* finished (or its commit sent, or nothing was pending) */
    FINISH_REDELIVER,    /* output not delivered: it and the current batch are rewound */
    FINISH_COMMIT_RETRY, /* commit refused: kept pending, current batch rewound, paused */
} finish_result;

/* How far finish_pending goes: all the way (the batch's commit
 * acknowledged), or until its commit is sent (the loop is idle: the round
 * trip then overlaps waiting for and working on the next batch). */
typedef enum { FINISH_COMMITTED, FINISH_COMMIT_SENT } finish_until;

void scorer_loop_pending_clear(pdm_scorer *s)
{
    scorer_pending *p = &s->pending;
    if (p->commit)
        rd_kafka_topic_partition_list_destroy(p->commit);
    if (p->rewind)
        rd_kafka_topic_partition_list_destroy(p->rewind);
    memset(p, 0, sizeof *p);
}

/* The pending batch's output: delivered (FINISH_DONE), or not (its
 * partitions and the current batch's rewound when rewind is set), or given
 * up on by a stop request. */
static finish_result deliver_pending(pdm_scorer *s, const scorer_batch *cur, int rewind)
{
    scorer_pending *p = &s->pending;
    long failures = scorer_kafka_deliver(&s->kafka);
    if (failures < 0) {
        pdm_log(PDM_LOG_WARN, "stopping with a batch's output undelivered; it will be "
                              "consumed again");
        scorer_loop_pending_clear(s);
        return FINISH_STOPPED;
    }
    if (failures > 0) {
        pdm_metric_add(s->metrics.delivery_errors, (double)failures);
        pdm_log(PDM_LOG_ERROR,
                "output not delivered (%ld messages; first: %s); the batch will be consumed again",
                failures, s->kafka.first_delivery_error);
        if (rewind) {
            if (cur)
                scorer_batch_offsets(cur, 0, p->rewind);
            scorer_kafka_rewind(&s->kafka, p->rewind);
        }
        scorer_loop_pending_clear(s);
        return rewind ? FINISH_REDELIVER : FINISH_DONE;
    }
    double done = pdm_monotonic_s();
    for (size_t i = 0; i < p->n_emitted; i++)
        pdm_metric_observe(s->metrics.latency, done - p->received);
    p->delivered = 1;
    return FINISH_DONE;
}

/* A refused commit: given up when stopping or losing the partitions, else
 * retried each time the loop comes round, with the current batch rewound
 * and every partition paused meanwhile, so that no batch is reprocessed in
 * a loop while the consume calls let the rebalance finish. */
static finish_result commit_refused(pdm_scorer *s, const scorer_batch *cur, int rewind,
                                    rd_kafka_resp_err_t err)
{
    int stopping = atomic_load(&s->stop);
    if (stopping || !rewind) {
        pdm_log(PDM_LOG_WARN,
                "%s with a batch uncommitted (commit failed: %s); it will be consumed again",
                stopping ? "stopping" : "giving up partitions", rd_kafka_err2str(err));
        scorer_loop_pending_clear(s);
        return stopping ? FINISH_STOPPED : FINISH_DONE;
    }
    if (!s->commit_failing)
        pdm_log(PDM_LOG_WARN, "commit failed: %s; retrying, consumption paused",
                rd_kafka_err2str(err));
    s->commit_failing = 1;
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(16);
    if (offs && cur) {
        scorer_batch_offsets(cur, 0, offs);
        scorer_kafka_rewind(&s->kafka, offs);
    }
    if (offs)
        rd_kafka_topic_partition_list_destroy(offs);
    scorer_kafka_set_paused(&s->kafka, 1);
    return FINISH_COMMIT_RETRY;
}

/* Finishes the previous batch: waits for its output (RiskEvents and dead
 * letters) to be delivered and its Redis writes to be acknowledged, then
 * commits its offsets: this is the moment its messages are done. With
 * FINISH_COMMIT_SENT it returns once the commit is sent; a later call waits
 * for its result. cur is the current batch (NULL if none), not yet written
 * anywhere: it is rewound with the previous one when the output was not
 * delivered (the replay bookkeeping in Redis undoes at most one applied
 * batch, the previous one), or alone while a commit is refused (typically
 * a group rebalance in progress; if the partitions are revoked first, the
 * new owner consumes the batch again from the last commit). rewind == 0
 * (partitions being revoked): nothing is rewound or retried. */
static finish_result finish_pending(pdm_scorer *s, const scorer_batch *cur, int rewind,
                                    finish_until until)
{
    scorer_pending *p = &s->pending;
    /* The output first: it goes out now while Redis works on the writes
     * sent before it. */
    if (p->active && !p->delivered) {
        finish_result r = deliver_pending(s, cur, rewind);
        if (r != FINISH_DONE || !p->active)
            return r;
    }
    scorer_stage was = scorer_stages_enter(&s->stages, SCORER_STAGE_WRITE);
    int settled = scorer_state_settle(&s->state);
    scorer_stages_enter(&s->stages, was);
    if (settled) {
        scorer_loop_pending_clear(s); /* stopping: not committed, consumed again */
        return FINISH_STOPPED;
    }
    if (!p->active)
        return FINISH_DONE;
    if (p->commit->cnt) {
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (!p->commit_sent) {
            err = scorer_kafka_commit_send(&s->kafka, p->commit);
            p->commit_sent = !err;
        }
        if (!err && until == FINISH_COMMIT_SENT)
            return FINISH_DONE;
        if (!err) {
            scorer_stage before = scorer_stages_enter(&s->stages, SCORER_STAGE_COMMIT);
            err = scorer_kafka_commit_wait(&s->kafka);
            scorer_stages_enter(&s->stages, before);
        }
        p->commit_sent = 0; /* a failed one is sent again */
        if (err)
            return commit_refused(s, cur, rewind, err);
        if (s->commit_failing)
            pdm_log(PDM_LOG_INFO, "commit succeeded again; consuming");
        s->commit_failing = 0;
        pdm_metric_add(s->metrics.commits, 1);
    }
    scorer_kafka_set_paused(&s->kafka, 0);
    scorer_loop_pending_clear(s);
    return FINISH_DONE;
}

void scorer_loop_before_revoke(void *scorer)
{
    pdm_scorer *s = scorer;
    finish_pending(s, NULL, 0, FINISH_COMMITTED);
    s->commit_failing = 0;
}

/* ---- one batch -------------------------------------------------------------- */

/* Metrics, drift and live performance of the batch's scored rows. */
static void observe_scores(pdm_scorer *s, scorer_batch *b)
{
    int64_t newest = INT64_MIN;
    pdm_metric_add(s->metrics.rows, (double)b->n_rows);
    for (size_t r = 0; r < b->n_rows; r++) {
        const scorer_item *it = &b->items[b->row_item[r]];
        if (it->ev.ts > newest)
            newest = it->ev.ts;
        b->row_machine[r] = it->ev.machine_id;
        b->row_ts[r] = it->ev.ts;
        b->row_alert[r] = s->cfg.emit != PDM_EMIT_INCIDENTS && b->risks[r].level != PDM_LEVEL_OK;
        b->row_risk[r] = b->risks[r].risk;
        b->machines[it->machine].last_row = (int)r;
    }
    /* With incidents, scorer_incidents_perf has counted them instead. */
    if (s->cfg.emit != PDM_EMIT_INCIDENTS)
        pdm_perf_observe_batch(s->perf, b->row_machine, b->row_ts, b->row_alert, b->n_rows);
    if (newest != INT64_MIN)
        pdm_metric_set(s->metrics.event_lag, (double)(pdm_now_ms() - newest) / 1000.0);
    pdm_drift *drift = scorer_model_drift(s->model);
    if (drift)
        pdm_drift_observe(drift, b->rows, b->row_risk, b->n_rows, pdm_now_ms());
    /* Per-machine gauges: each machine's latest score of the batch (for a
     * bounded number of machines). */
    for (size_t i = 0; i < b->n_machines; i++)
        if (b->machines[i].last_row >= 0)
            scorer_metrics_machine(&s->metrics, b->machines[i].id,
                                   &b->risks[b->machines[i].last_row]);
}

/* Steps 3 and 4: apply and featurise, then score and decide. */
static int compute(pdm_scorer *s, scorer_batch *b)
{
    char err[PDM_ERRSTR_SIZE];
    int incidents = s->cfg.emit == PDM_EMIT_INCIDENTS;
    s->shadow_scored = 0;
    scorer_stages_enter(&s->stages, SCORER_STAGE_APPLY);
    /* With incidents, failures go to the live performance in stream order
     * with the incidents' decisions (scorer_incidents_perf), after scoring. */
    if (scorer_batch_apply(b, s->table, s->cfg.lateness_ms, s->state.writes,
                           incidents ? NULL : s->perf))
        return pdm_err(NULL, 0, "out of memory");
    for (int t = 0; t < PDM_EV_COUNT; t++)
        if (b->events[t])
            pdm_metric_add(s->metrics.events[t], (double)b->events[t]);
    /* With incidents, a batch without rows still decides: a maintenance or
     * a failure may resolve an incident. */
    if (b->n_rows == 0 && !incidents)
        return 0;
    double warn, critical;
    scorer_model_thresholds(s->model, &warn, &critical);
    if (scorer_batch_score(b, scorer_model_get(s->model), warn, critical, s->cfg.emit,
                           s->cfg.renotify_ms, scorer_model_alert_policy(s->model), err,
                           sizeof err))
        return pdm_err(NULL, 0, "%s", err);
    if (incidents && scorer_incidents_perf(s->perf, b))
        return pdm_err(NULL, 0, "out of memory");
    scorer_stages_enter(&s->stages, SCORER_STAGE_OBSERVE);
    if (b->n_rows)
        observe_scores(s, b);
    /* The shadow model after the main one: a failure of it is logged and
     * costs only its own events. */
    if (s->shadow) {
        scorer_stages_enter(&s->stages, SCORER_STAGE_SHADOW);
        if (scorer_shadow_score(s->shadow, b, err, sizeof err))
            pdm_log(PDM_LOG_ERROR, "%s", err);
        else
            s->shadow_scored = 1;
    }
    return 0;
}

/* ---- silent machines ------------------------------------------------------------ */

static int partition_assigned(void *ctx, int32_t partition)
{
    const scorer_assignment *a = ctx;
    for (size_t i = 0; i < a->n; i++)
        if (a->parts[i].partition == partition)
            return 1;
    return 0;
}

static int silence_note(pdm_scorer *s, const scorer_silence_change *c)
{
    if (s->n_silence_changes == s->cap_silence_changes) {
        size_t cap = s->cap_silence_changes ? 2 * s->cap_silence_changes : 64;
        scorer_silence_change *p = realloc(s->silence_changes, cap * sizeof *p);
        if (!p)
            return -1;
        s->silence_changes = p;
        s->cap_silence_changes = cap;
    }
    s->silence_changes[s->n_silence_changes++] = *c;
    return 0;
}

static void log_silence(const pdm_scorer *s)
{
    size_t went = 0;
    for (size_t i = 0; i < s->n_silence_changes; i++)
        went += s->silence_changes[i].silent != 0;
    if (!s->n_silence_changes)
        return;
    const scorer_silence_change *c = &s->silence_changes[0];
    char seen[32], now[32];
    pdm_log(PDM_LOG_INFO,
            "%zu machines went silent, %zu came back (first: machine %d %s, last seen %s, stream "
            "at %s); %zu silent",
            went, s->n_silence_changes - went, (int)c->machine_id, c->silent ? "silent" : "back",
            pdm_time_format_iso(c->last_seen, seen), pdm_time_format_iso(c->stream_time, now),
            scorer_silence_silent(s->silence));
}

/* Step 6, first: the batch's applied telemetry to the silence tracker
 * (judged against the stream's time before the batch), the stream's time
 * to the input's watermark (scorer_kafka_watermark), then a sweep. Done
 * once the previous batch is finished, so a batch that is consumed again
 * has not been noted. Machines of partitions given up since the last batch
 * are another scorer's now: they are forgotten without events. The changes
 * go out with the batch's output (step 7). -1 out of memory. */
static int track_silence(pdm_scorer *s, scorer_batch *b)
{
    s->n_silence_changes = 0;
    s->silent_risks.n = 0;
    if (!s->silence)
        return 0;
    if (s->kafka.assignment.revocations != s->silence_revocations) {
        s->silence_revocations = s->kafka.assignment.revocations;
        scorer_silence_retain(s->silence, partition_assigned, &s->kafka.assignment);
    }
    for (size_t i = 0; i < b->n; i++) {
        const scorer_item *it = &b->items[i];
        scorer_silence_change c;
        if (it->row < 0)
            continue;
        if (scorer_silence_observe(s->silence, it->ev.machine_id, it->msg->partition, it->ev.ts,
                                   &c) == 1 &&
            silence_note(s, &c))
            return -1;
    }
    /* The stream's time: the input's watermark, not the batch's newest
     * reading (a partition fetched ahead of the others must not make the
     * machines of the others look silent); unknown until every partition
     * with more to come has been read from. */
    int64_t watermark = scorer_kafka_watermark(&s->kafka);
    if (watermark != INT64_MIN)
        scorer_silence_advance(s->silence, watermark);
    scorer_silence_change out[64];
    size_t n;
    do {
        n = scorer_silence_sweep(s->silence, out, 64);
        for (size_t i = 0; i < n; i++)
            if (silence_note(s, &out[i]))
                return -1;
    } while (n == 64);
    /* With incidents, silence resolves them (written with the batch). */
    if (s->cfg.emit == PDM_EMIT_INCIDENTS &&
        scorer_incidents_silence(s->state.redis, s->state.writes, b, s->silence_changes,
                                 s->n_silence_changes, s->cfg.silence_after_ms,
                                 pdm_model_version(scorer_model_get(s->model)), &s->metrics,
                                 &s->silent_risks))
        return -1;
    pdm_metric_set(s->metrics.machines_silent, (double)scorer_silence_silent(s->silence));
    atomic_store(&s->stream_time, scorer_silence_stream_time(s->silence));
    log_silence(s);
    return 0;
}

/* Step 7: the batch becomes the pending one; its output is produced now,
 * delivered (and the batch committed) by the next batch's step 5 or when
 * the loop is idle. */
static int send_output(pdm_scorer *s, scorer_batch *b)
{
    scorer_pending *p = &s->pending;
    p->commit = rd_kafka_topic_partition_list_new(16);
    p->rewind = rd_kafka_topic_partition_list_new(16);
    if (!p->commit || !p->rewind) {
        scorer_loop_pending_clear(s);
        return pdm_err(NULL, 0, "out of memory");
    }
    scorer_batch_offsets(b, 1, p->commit);
    scorer_batch_offsets(b, 0, p->rewind);
    p->received = b->received;
    p->active = 1;
    scorer_kafka_delivery_reset(&s->kafka);
    p->n_emitted = scorer_output_batch(&s->output, b);
    scorer_output_silence(&s->output, s->silence_changes, s->n_silence_changes);
    p->n_emitted += scorer_output_silent_risks(&s->output, &s->silent_risks);
    if (s->shadow_scored)
        scorer_shadow_produce(s->shadow, &s->output, b);
    rd_kafka_poll(s->kafka.producer, 0);
    return 0;
}

/* The bounded per-machine structures' sizes and evictions, to /metrics. */
static void note_structures(pdm_scorer *s)
{
    scorer_metrics *m = &s->metrics;
    pdm_perf_stats p;
    pdm_perf_get(s->perf, &p);
    scorer_metrics_structure(m, SCORER_PERF, p.machines, p.evicted);
    if (s->state.cache)
        scorer_metrics_structure(m, SCORER_STATE_CACHE, pdm_state_cache_machines(s->state.cache),
                                 pdm_state_cache_evicted(s->state.cache));
    if (s->silence)
        scorer_metrics_structure(m, SCORER_SILENCE, scorer_silence_tracked(s->silence),
                                 scorer_silence_evicted(s->silence));
    if (s->table)
        scorer_metrics_structure(m, SCORER_TABLE, scorer_table_size(s->table),
                                 scorer_table_evicted(s->table));
}

/* The seven steps of the file's header comment. 0, or -1 (stop requested,
 * out of memory, the model failed). */
static int process_batch(pdm_scorer *s, scorer_batch *b)
{
    pdm_metric_add(s->metrics.messages, (double)b->n);
    /* 1 */
    scorer_stages_enter(&s->stages, SCORER_STAGE_DECODE);
    if (scorer_batch_decode(b, s->output.codec, pdm_now_ms()))
        return pdm_err(NULL, 0, "out of memory");
    /* 2, 3 and 4 */
    if (scorer_state_load(&s->state, b) || compute(s, b))
        return -1;
    /* 5: at most one batch is ever applied past the committed offsets,
     * which the replay bookkeeping can undo. */
    scorer_stages_enter(&s->stages, SCORER_STAGE_FINISH);
    finish_result fin = finish_pending(s, b, 1, FINISH_COMMITTED);
    if (fin == FINISH_STOPPED)
        return -1;
    if (fin != FINISH_DONE)
        return 0; /* the batch is consumed again */
    /* 6 and 7 */
    scorer_stages_enter(&s->stages, SCORER_STAGE_PRODUCE);
    if (track_silence(s, b))
        return pdm_err(NULL, 0, "out of memory");
    char err[PDM_ERRSTR_SIZE];
    if (scorer_output_dump(&s->output, b, err, sizeof err)) {
        pdm_log(PDM_LOG_ERROR, "%s", err); /* nothing of the batch is written nor committed */
        return -1;
    }
    scorer_stages_enter(&s->stages, SCORER_STAGE_WRITE);
    if (scorer_state_write(&s->state, b))
        return -1;
    scorer_stages_enter(&s->stages, SCORER_STAGE_PRODUCE);
    note_structures(s);
    return send_output(s, b);
}

/* ---- the loop --------------------------------------------------------------- */

/* Every EPOCH_CHECK_S, once the writes are acknowledged: is the state still
 * in Redis? */
static void check_state_lost(pdm_scorer *s, double *last_check)
{
    if (pdm_monotonic_s() - *last_check <= EPOCH_CHECK_S || scorer_state_settle(&s->state))
        return;
    *last_check = pdm_monotonic_s();
    scorer_state_lost(&s->state); /* logs and counts a loss itself */
}

/* One turn of the loop: models, the idle finish, a batch. 0 to go on, 1 to
 * leave the loop, -1 when a batch failed. */
static int loop_once(pdm_scorer *s, rd_kafka_message_t **msgs, unsigned char *spikes,
                     int *last_batch_full)
{
    scorer_batch *b = s->batch;
    scorer_table_poll(s->table, s->output.codec);
    int reloads = scorer_model_refresh(s->model);
    if (s->shadow)
        reloads += scorer_shadow_refresh(s->shadow);
    if (reloads)
        pdm_metric_add(s->metrics.reloads, reloads);
    scorer_kafka_wake_fetcher(&s->kafka);
    /* Caught up (the last batch took all there was, or nothing is queued):
     * deliver the last batch's output now rather than after its linger.ms
     * and the next batch's work, and send its commit, whose round trip then
     * overlaps the next batch's wait, decoding, loading and scoring. With a
     * backlog (full batches) the delivery overlaps that work instead. Not
     * while a commit is being retried: the consume's wait paces that. */
    scorer_stages_enter(&s->stages, SCORER_STAGE_FINISH);
    if (s->pending.active && !s->commit_failing &&
        (!*last_batch_full || scorer_kafka_queued(&s->kafka) == 0) &&
        finish_pending(s, NULL, 1, FINISH_COMMIT_SENT) == FINISH_STOPPED)
        return 1;
    scorer_stages_enter(&s->stages, SCORER_STAGE_WAIT);
    ssize_t got =
        scorer_kafka_next(&s->kafka, s->output.codec, msgs, spikes, b->cap, s->cfg.max_wait_ms);
    scorer_stages_enter(&s->stages, SCORER_STAGE_OTHER);
    if (s->kafka.fatal[0])
        return -1;
    if (got < 0) {
        pdm_log(PDM_LOG_ERROR, "consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
        return 0;
    }
    b->n = (size_t)got;
    *last_batch_full = b->n == b->cap;
    for (size_t i = 0; i < b->n; i++) {
        b->items[i].msg = msgs[i];
        b->items[i].spike = spikes[i];
    }
    if (b->n) {
        b->received = pdm_monotonic_s();
        pdm_metric_observe(s->metrics.batch_size, (double)b->n);
        int rc = process_batch(s, b);
        scorer_stages_enter(&s->stages, SCORER_STAGE_OTHER);
        scorer_metrics_stages(&s->metrics, &s->stages);
        for (size_t i = 0; i < b->n; i++)
            rd_kafka_message_destroy(b->items[i].msg);
        if (rc && !atomic_load(&s->stop))
            return -1;
    }
    rd_kafka_poll(s->kafka.producer, 0);
    if (b->n == 0) {
        scorer_stages_enter(&s->stages, SCORER_STAGE_FINISH);
        finish_result fin = finish_pending(s, NULL, 1, FINISH_COMMITTED);
        scorer_stages_enter(&s->stages, SCORER_STAGE_OTHER);
        if (fin == FINISH_STOPPED)
            return 1;
    }
    if (s->cfg.exit_at_end && b->n == 0 && scorer_kafka_all_at_end(&s->kafka)) {
        pdm_log(PDM_LOG_INFO, "every assigned partition is at its end; exiting");
        return 1;
    }
    return 0;
}

int pdm_scorer_run(pdm_scorer *s, char *errstr, size_t errlen)
{
    rd_kafka_message_t **msgs = malloc(s->batch->cap * sizeof *msgs);
    unsigned char *spikes = malloc(s->batch->cap);
    int rc = 0, last_batch_full = 0;
    if (!msgs || !spikes) {
        free(msgs);
        free(spikes);
        return pdm_err(errstr, errlen, "out of memory");
    }
    /* The machines table first: no telemetry is scored without its
     * machine's info only because of the order topics are consumed in. */
    if (s->table && scorer_table_load(s->table, s->output.codec, &s->stop)) {
        free(msgs);
        free(spikes);
        return 0; /* stopped while reading it */
    }
    scorer_state_start(&s->state);
    scorer_stages_start(&s->stages);
    s->batch->stages = &s->stages;
    s->state.stages = &s->stages;
    double last_epoch_check = pdm_monotonic_s();
    while (!atomic_load(&s->stop)) {
        int turn = loop_once(s, msgs, spikes, &last_batch_full);
        if (turn < 0 && s->kafka.fatal[0])
            rc = pdm_err(errstr, errlen, "%s", s->kafka.fatal);
        else if (turn < 0)
            rc = pdm_err(errstr, errlen, "batch failed; stopping without commit");
        if (turn)
            break;
        check_state_lost(s, &last_epoch_check);
    }
    free(msgs);
    free(spikes);
    scorer_stages_enter(&s->stages, SCORER_STAGE_FINISH);
    finish_pending(s, NULL, 1, FINISH_COMMITTED); /* or given up after the grace */
    scorer_stages_enter(&s->stages, SCORER_STAGE_OTHER);
    s->batch->stages = NULL;
    s->state.stages = NULL;
    char stages[768];
    scorer_stages_format(&s->stages, stages, sizeof stages);
    pdm_log(PDM_LOG_INFO, "stages (wall/cpu s of the loop's thread): %s", stages);
    const scorer_metrics *m = &s->metrics;
    uint64_t risk_events = 0;
    for (int l = 0; l < 3; l++)
        risk_events += scorer_metrics_count(m->risk_events[l]);
    pdm_log(PDM_LOG_INFO,
            "stopped: %llu messages, %llu scored, %llu risk events, %llu dead letters",
            (unsigned long long)scorer_metrics_count(m->messages),
            (unsigned long long)scorer_metrics_count(m->rows), (unsigned long long)risk_events,
            (unsigned long long)scorer_metrics_count(m->dlq));
    return rc;
}
