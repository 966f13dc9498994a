/* scorer.c: the streaming scorer's loop.
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
 *   6. write the batch's events, trims and bookkeeping to Redis in one
 *      pipelined round trip (every write idempotent);
 *   7. produce its RiskEvents and dead letters, and go on to the next batch
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
#include "pdm_scorer.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pdm_features.h"
#include "pdm_kafka.h"
#include "pdm_model.h"
#include "pdm_schemas.h"
#include "predict_request.h"
#include "scorer_internal.h"

/* Room left in a dead letter for its headers and the record's framing. */
#define DLQ_OVERHEAD 4096
/* How long a stop request still waits for Kafka to take a batch's output
 * and its commit. */
#define STOP_GRACE_S 2.0
/* How long leaving the consumer group may take at exit. */
#define CLOSE_TIMEOUT_S 3.0

/* ---- model ----------------------------------------------------------------- */

/* The package a --model directory means: DIR/current if it exists (a models
 * directory managed by pdm-train --promote), else DIR itself. */
static int resolve_model_dir(const char *dir, char *out, size_t len, char *errstr, size_t errlen)
{
    char current[4096];
    snprintf(current, sizeof current, "%s/current", dir);
    const char *target = access(current, F_OK) == 0 ? current : dir;
    if (!realpath(target, out))
        return pdm_err(errstr, errlen, "model %s: %s", target, strerror(errno));
    (void)len;
    return 0;
}

int scorer_prepare_model(const pdm_scorer_config *cfg, pdm_model **out, char *path, size_t pathlen,
                         double *warn, double *critical, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    *out = NULL;
    if (resolve_model_dir(cfg->model_dir, path, pathlen, errstr, errlen))
        return -1;
    pdm_model *m = NULL;
    if (pdm_model_load(path, &m, msg, sizeof msg))
        return pdm_err(errstr, errlen, "model %s: %s", path, msg);
    /* The model must read exactly the features this scorer computes. */
    if (pdm_model_n_features(m) != PDM_N_FEATURES) {
        pdm_err(errstr, errlen, "model %s has %zu features, the v1 set has %d", path,
                pdm_model_n_features(m), PDM_N_FEATURES);
        pdm_model_destroy(m);
        return -1;
    }
    for (size_t i = 0; i < PDM_N_FEATURES; i++) {
        if (strcmp(pdm_model_feature_name(m, i), pdm_feature_name(i)) != 0) {
            pdm_err(errstr, errlen, "model %s: feature %zu is '%s', the v1 set has '%s'", path,
                    i + 1, pdm_model_feature_name(m, i), pdm_feature_name(i));
            pdm_model_destroy(m);
            return -1;
        }
    }
    if (cfg->model_threads > 0)
        pdm_model_set_nthread(m, cfg->model_threads, msg, sizeof msg);
    /* The native evaluator checks itself against XGBoost on a fixed sample
     * first; if it differs anywhere, XGBoost serves (reasons always do). */
    if (cfg->native_predictor &&
        pdm_model_set_predictor(m, PDM_PREDICTOR_NATIVE, msg, sizeof msg))
        pdm_log(PDM_LOG_WARN, "model %s: scoring with XGBoost: %s", path, msg);
    pdm_model_thresholds(m, warn, critical);
    if (!isnan(cfg->warn))
        *warn = cfg->warn;
    if (!isnan(cfg->critical))
        *critical = cfg->critical;
    *out = m;
    return 0;
}

/* Makes m the scoring model (loop thread, between batches), with the drift
 * reference of its package. */
static void install_model(pdm_scorer *s, pdm_model *m, const char *path, double warn,
                          double critical)
{
    char msg[PDM_ERRSTR_SIZE], old_version[PDM_MODEL_VERSION_LEN + 1] = "";
    pdm_drift *drift = pdm_drift_new_from_model(m, &s->drift_opts, msg, sizeof msg);
    if (!drift)
        pdm_log(PDM_LOG_WARN, "model %s: no drift monitoring: %s", pdm_model_version(m), msg);
    pthread_rwlock_wrlock(&s->model_lock);
    if (s->model)
        snprintf(old_version, sizeof old_version, "%s", pdm_model_version(s->model));
    pdm_model_destroy(s->model);
    pdm_drift_destroy(s->drift);
    s->model = m;
    s->drift = drift;
    s->warn = warn;
    s->critical = critical;
    snprintf(s->model_path, sizeof s->model_path, "%s", path);
    scorer_api_model_changed(s, old_version);
    pthread_rwlock_unlock(&s->model_lock);
    pdm_log(PDM_LOG_INFO, "model %s loaded from %s (warn %.4g, critical %.4g, predictor %s)",
            pdm_model_version(m), path, warn, critical,
            pdm_predictor_name(pdm_model_predictor(m)));
}

static int load_model(pdm_scorer *s, char *errstr, size_t errlen)
{
    char path[4096];
    double warn, critical;
    pdm_model *m;
    if (scorer_prepare_model(&s->cfg, &m, path, sizeof path, &warn, &critical, errstr, errlen))
        return -1;
    install_model(s, m, path, warn, critical);
    return 0;
}

/* Installs a model the HTTP reload prepared, if any. */
static void install_pending(pdm_scorer *s)
{
    pending_model *p = &s->pending;
    pthread_mutex_lock(&p->lock);
    pdm_model *m = p->model;
    p->model = NULL;
    if (m) {
        install_model(s, m, p->path, p->warn, p->critical);
        s->failed_path[0] = '\0';
        s->stats.reloads++;
        pdm_metric_add(s->m.reloads, 1);
        atomic_fetch_add(&p->installed_gen, 1);
    }
    pthread_mutex_unlock(&p->lock);
}

/* Reloads on request, or when the --model directory's link now names another
 * package. A failed reload keeps the running model; a link that names a
 * package that does not load is reported once, not at every batch, and
 * retried when the link changes again or on request. */
static void maybe_reload(pdm_scorer *s)
{
    char path[4096];
    int requested = atomic_exchange(&s->reload, 0);
    if (!requested) {
        if (resolve_model_dir(s->cfg.model_dir, path, sizeof path, NULL, 0) ||
            strcmp(path, s->model_path) == 0 || strcmp(path, s->failed_path) == 0)
            return;
    }
    char err[PDM_ERRSTR_SIZE];
    if (load_model(s, err, sizeof err)) {
        pdm_log(PDM_LOG_ERROR, "model reload failed, keeping %s: %s", pdm_model_version(s->model),
                err);
        if (resolve_model_dir(s->cfg.model_dir, path, sizeof path, NULL, 0) == 0)
            snprintf(s->failed_path, sizeof s->failed_path, "%s", path);
    } else {
        s->failed_path[0] = '\0';
        s->stats.reloads++;
        pdm_metric_add(s->m.reloads, 1);
    }
}

/* ---- Kafka ------------------------------------------------------------------ */

/* How far finish_pending goes: all the way (the batch's commit
 * acknowledged), or until its commit is sent (the loop is idle: the round
 * trip then overlaps waiting for and working on the next batch). */
typedef enum { FINISH_COMMITTED, FINISH_COMMIT_SENT } finish_until;
static int finish_pending(pdm_scorer *s, size_t n, int rewind, finish_until until);
static void pending_clear(pdm_scorer *s);
static void set_paused(pdm_scorer *s, int pause);

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    pdm_scorer *s = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (cooperative)
            rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
        size_t n = (size_t)parts->cnt;
        assigned_partition *a = realloc(s->assigned, (s->n_assigned + n) * sizeof *a);
        if (a) {
            s->assigned = a;
            for (size_t i = 0; i < n; i++) {
                assigned_partition *p = &a[s->n_assigned++];
                snprintf(p->topic, sizeof p->topic, "%s", parts->elems[i].topic);
                p->partition = parts->elems[i].partition;
                p->eof = 0;
            }
        }
        s->ever_assigned = 1;
        s->joined = 1;
        /* librdkafka keeps a partition's pause across reassignment: one
         * paused while a commit kept failing must start afresh. */
        rd_kafka_resume_partitions(rk, parts);
        pdm_log(PDM_LOG_INFO, "assigned %d partitions (%zu in all)", parts->cnt, s->n_assigned);
    } else {
        /* Only the last batch's output may be in flight: deliver it and
         * commit while the partitions are still ours (if that fails the new
         * owner consumes the batch again from the last commit). */
        finish_pending(s, 0, 0, FINISH_COMMITTED);
        s->commit_failing = 0;
        if (cooperative)
            rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
        else
            rd_kafka_assign(rk, NULL);
        for (int i = 0; i < parts->cnt; i++) {
            for (size_t j = 0; j < s->n_assigned; j++) {
                if (s->assigned[j].partition == parts->elems[i].partition &&
                    strcmp(s->assigned[j].topic, parts->elems[i].topic) == 0) {
                    s->assigned[j] = s->assigned[--s->n_assigned];
                    break;
                }
            }
        }
        if (s->paused) {
            rd_kafka_resume_partitions(rk, parts); /* a pause outlives the assignment */
            set_paused(s, 0);                      /* what is left (cooperative protocol) */
        }
        pdm_log(PDM_LOG_INFO, "revoked %d partitions (%zu left)", parts->cnt, s->n_assigned);
    }
}

/* The assigned partition a message came from, or NULL if it is no longer
 * assigned. Messages of one partition come in runs: the last answer is
 * tried first. */
static assigned_partition *message_partition(pdm_scorer *s, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    size_t j = s->last_assigned;
    if (j < s->n_assigned && s->assigned[j].partition == m->partition &&
        strcmp(s->assigned[j].topic, topic) == 0)
        return &s->assigned[j];
    for (j = 0; j < s->n_assigned; j++) {
        if (s->assigned[j].partition == m->partition && strcmp(s->assigned[j].topic, topic) == 0) {
            s->last_assigned = j;
            return &s->assigned[j];
        }
    }
    return NULL;
}

/* librdkafka 2.0.2 stops fetching while the consumer queue (every assigned
 * partition's messages are forwarded into it) holds queued.min.messages or
 * more, and decides again only when the partition leader's broker thread
 * wakes up: on I/O or a request for that broker, else up to a second later
 * (offset commits go to the coordinator's own thread). A scorer that drains
 * the queue faster than that starves for 100-300 ms at a time; on the
 * catch-up benchmark that was a quarter of the run (bench/README.md). Any
 * request to the leader wakes its thread, so once the queue has been full
 * and is down to half, ask one assigned partition's watermarks (round
 * robin, so that every leader gets its turn), at most every 20 ms, until
 * the queue runs dry. librdkafka 2.1 has fetch.queue.backoff.ms for this. */
static void wake_fetcher(pdm_scorer *s)
{
    size_t queued = rd_kafka_queue_length(s->queue);
    if (queued >= s->prefetch_bound)
        s->prefetch_full = 1;
    if (!s->prefetch_full || queued >= s->prefetch_bound / 2 || s->n_assigned == 0 || s->paused)
        return;
    double now = pdm_monotonic_s();
    if (now - s->last_wake < 0.020)
        return;
    s->last_wake = now;
    const assigned_partition *p = &s->assigned[s->wake_next++ % s->n_assigned];
    int64_t low, high;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(s->consumer, p->topic, p->partition, &low, &high, 100);
    pdm_log(PDM_LOG_DEBUG, "prefetch: %zu messages queued, woke the fetcher of %s [%d]: %s",
            queued, p->topic, (int)p->partition, rd_kafka_err2str(err));
}

static int all_at_end(const pdm_scorer *s)
{
    if (!s->ever_assigned || s->n_assigned == 0)
        return 0;
    for (size_t j = 0; j < s->n_assigned; j++)
        if (!s->assigned[j].eof)
            return 0;
    return 1;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    pdm_scorer *s = opaque;
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        return; /* purged on purpose when stopping */
    /* Counted here, logged once per batch (finish_pending). */
    if (m->err && atomic_fetch_add(&s->pending_failures, 1) == 0)
        snprintf(s->first_delivery_error, sizeof s->first_delivery_error, "%s: %s",
                 rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    scorer_api_stats(opaque, json, len);
    return 0; /* librdkafka frees json */
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    pdm_log(level <= 3 ? PDM_LOG_ERROR : level <= 5 ? PDM_LOG_WARN : PDM_LOG_DEBUG, "kafka %s: %s",
            fac, buf);
}

static int has_property(const pdm_kvlist *props, const char *key)
{
    for (size_t i = 0; props && i < props->count; i++)
        if (strcmp(props->keys[i], key) == 0)
            return 1;
    return 0;
}

/* A client property the scorer chooses unless -X sets it. */
static void set_default(const pdm_scorer *s, rd_kafka_conf_t *conf, const char *key,
                        const char *value)
{
    char msg[PDM_ERRSTR_SIZE];
    if (!has_property(s->cfg.kafka_props, key))
        rd_kafka_conf_set(conf, key, value, msg, sizeof msg);
}

/* A property of a client's final configuration into v ("?" if unknown). */
static const char *conf_value(rd_kafka_t *rk, const char *name, char *v, size_t size)
{
    size_t len = size;
    if (rd_kafka_conf_get(rd_kafka_conf(rk), name, v, &len) != RD_KAFKA_CONF_OK)
        snprintf(v, size, "?");
    return v;
}

/* A numeric property of a client's final configuration, or dflt. */
static size_t conf_size(rd_kafka_t *rk, const char *name, size_t dflt)
{
    char v[32];
    return strcmp(conf_value(rk, name, v, sizeof v), "?") ? (size_t)strtoull(v, NULL, 10) : dflt;
}

/* The settings that shape batching and latency, as the clients hold them
 * (defaults below, -X overrides): one line at start, for operators. */
static void log_client_settings(const pdm_scorer *s)
{
    char v[5][32];
    pdm_log(PDM_LOG_INFO,
            "kafka clients: consumer queued.min.messages=%s fetch.wait.max.ms=%s "
            "socket.nagle.disable=%s; producer linger.ms=%s socket.nagle.disable=%s",
            conf_value(s->consumer, "queued.min.messages", v[0], sizeof v[0]),
            conf_value(s->consumer, "fetch.wait.max.ms", v[1], sizeof v[1]),
            conf_value(s->consumer, "socket.nagle.disable", v[2], sizeof v[2]),
            conf_value(s->producer, "linger.ms", v[3], sizeof v[3]),
            conf_value(s->producer, "socket.nagle.disable", v[4], sizeof v[4]));
}

static int kafka_setup(pdm_scorer *s, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    rd_kafka_conf_t *conf =
        pdm_kafka_conf_new(s->cfg.brokers, "pdm-scorer", s->cfg.kafka_props, msg, sizeof msg);
    if (!conf)
        return pdm_err(errstr, errlen, "%s", msg);
    const char *cons[][2] = {{"group.id", s->cfg.group},
                             {"enable.auto.commit", "false"},
                             {"enable.auto.offset.store", "false"},
                             {"auto.offset.reset", "earliest"},
                             {"enable.partition.eof", "true"}};
    for (size_t i = 0; i < sizeof cons / sizeof *cons; i++) {
        if (rd_kafka_conf_set(conf, cons[i][0], cons[i][1], msg, sizeof msg) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return pdm_err(errstr, errlen, "kafka %s: %s", cons[i][0], msg);
        }
    }
    /* Consumer lag per partition comes from librdkafka's statistics. */
    set_default(s, conf, "statistics.interval.ms", "5000");
    /* librdkafka's prefetch (queued.min.messages, default 100,000, counted
     * over the whole consumer queue) is most of the process's memory on a
     * backlog, about 370 bytes a message. With the fetcher woken up when the
     * queue runs low (wake_fetcher), 20,000 keeps a catch-up as fast as
     * 300,000 does (bench/README.md) in a fraction of the memory. */
    set_default(s, conf, "queued.min.messages", "20000");
    /* Nagle's algorithm holds a small write back until the previous one is
     * acknowledged, and with delayed ACKs that is up to 40 ms (on the
     * broker's side of the embedded cluster it made a 2,000-message flush
     * take 45 ms instead of 3, bench/README.md). A scorer's fetches,
     * produce requests and commits are small and on the latency path;
     * librdkafka leaves Nagle on by default. */
    set_default(s, conf, "socket.nagle.disable", "true");
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    s->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, msg, sizeof msg);
    if (!s->consumer) {
        rd_kafka_conf_destroy(conf);
        return pdm_err(errstr, errlen, "kafka consumer: %s", msg);
    }
    rd_kafka_poll_set_consumer(s->consumer);
    s->queue = rd_kafka_queue_get_consumer(s->consumer);
    s->commit_q = rd_kafka_queue_new(s->consumer);
    if (!s->queue || !s->commit_q)
        return pdm_err(errstr, errlen, "kafka consumer: cannot create its queues");
    s->prefetch_bound = conf_size(s->consumer, "queued.min.messages", 100000);

    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(8);
    for (const char *const *t = s->cfg.topics; *t; t++)
        rd_kafka_topic_partition_list_add(topics, *t, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(s->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err)
        return pdm_err(errstr, errlen, "kafka subscribe: %s", rd_kafka_err2str(err));

    conf = pdm_kafka_conf_new(s->cfg.brokers, "pdm-scorer", s->cfg.kafka_props, msg, sizeof msg);
    if (!conf)
        return pdm_err(errstr, errlen, "%s", msg);
    if (rd_kafka_conf_set(conf, "enable.idempotence", "true", msg, sizeof msg) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return pdm_err(errstr, errlen, "kafka enable.idempotence: %s", msg);
    }
    /* A batch's output is produced at once and awaited (rd_kafka_flush
     * sends what lingers) right away when caught up, by the next batch with
     * a backlog: a short linger only gathers the batch's messages into
     * fewer requests. */
    set_default(s, conf, "linger.ms", "2");
    set_default(s, conf, "socket.nagle.disable", "true"); /* as the consumer's */
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    s->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, msg, sizeof msg);
    if (!s->producer) {
        rd_kafka_conf_destroy(conf);
        return pdm_err(errstr, errlen, "kafka producer: %s", msg);
    }
    s->max_message = conf_size(s->producer, "message.max.bytes", 1000000);
    log_client_settings(s);
    return 0;
}

/* ---- scorer lifecycle ----------------------------------------------------------- */

pdm_scorer *pdm_scorer_new(const pdm_scorer_config *cfg, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    pdm_scorer *s = calloc(1, sizeof *s);
    if (!s) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    size_t n_topics = 0;
    while (cfg->topics && cfg->topics[n_topics])
        n_topics++;
    if (n_topics == 0 || n_topics > PDM_RS_MAX_SOURCES) {
        pdm_err(errstr, errlen, "give 1 to %d input topics, not %zu", PDM_RS_MAX_SOURCES, n_topics);
        free(s);
        return NULL;
    }
    if (s->cfg.batch_size <= 0)
        s->cfg.batch_size = 2000;
    pthread_rwlock_init(&s->model_lock, NULL);
    pthread_mutex_init(&s->pending.lock, NULL);
    pthread_mutex_init(&s->http_redis_lock, NULL);
    pdm_drift_options_init(&s->drift_opts);
    if (cfg->drift_rows)
        s->drift_opts.window_rows = cfg->drift_rows;
    if (cfg->drift_window_ms > 0)
        s->drift_opts.window_ms = cfg->drift_window_ms;
    s->registry = pdm_registry_new(PDM_REGISTRY_PROCESS_METRICS, msg, sizeof msg);
    if (!s->registry) {
        pdm_err(errstr, errlen, "metrics: %s", msg);
        goto fail;
    }
    size_t b = (size_t)s->cfg.batch_size;
    s->items = calloc(b, sizeof *s->items);
    s->rows = malloc(b * PDM_N_FEATURES * sizeof *s->rows);
    s->risks = malloc(b * sizeof *s->risks);
    s->explain_rows = malloc(b * PDM_N_FEATURES * sizeof *s->explain_rows);
    s->explain = malloc(b * sizeof *s->explain);
    s->drift_risk = malloc(b * sizeof *s->drift_risk);
    s->row_machine = malloc(b * sizeof *s->row_machine);
    s->row_ts = malloc(b * sizeof *s->row_ts);
    s->row_alert = malloc(b * sizeof *s->row_alert);
    s->row_item = malloc(b * sizeof *s->row_item);
    s->hash_cap = 1;
    while (s->hash_cap < 4 * b)
        s->hash_cap <<= 1;
    s->hash = calloc(s->hash_cap, sizeof *s->hash);
    s->writes = pdm_rs_batch_new();
    s->updates = calloc(b, sizeof *s->updates);
    s->machine_events = malloc(b * sizeof *s->machine_events);
    if (cfg->state_cache_bytes)
        s->cache = pdm_state_cache_new(cfg->state_cache_bytes);
    if (!s->items || !s->rows || !s->risks || !s->explain_rows || !s->explain || !s->row_item ||
        !s->drift_risk || !s->row_machine || !s->row_ts || !s->row_alert ||
        !s->hash || !s->writes || !s->updates || !s->machine_events ||
        (cfg->state_cache_bytes && !s->cache)) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    s->codec = pdm_codec_new(msg, sizeof msg);
    if (!s->codec) {
        pdm_err(errstr, errlen, "codec: %s", msg);
        goto fail;
    }
    if (scorer_metrics_init(s, errstr, errlen)) /* before the model: it sets the model info */
        goto fail;
    if (load_model(s, errstr, errlen))
        goto fail;
    pdm_perf_options po;
    pdm_perf_options_init(&po);
    double horizon = pdm_model_horizon_hours(s->model);
    if (isfinite(horizon) && horizon > 0)
        po.horizon_ms = (int64_t)(horizon * PDM_MS_PER_HOUR);
    s->perf = pdm_perf_new(&po, errstr, errlen);
    if (!s->perf)
        goto fail;
    s->redis = pdm_redis_new(cfg->redis_url, cfg->redis_password, 5.0, errstr, errlen);
    s->http_redis = pdm_redis_new(cfg->redis_url, cfg->redis_password, 1.0, errstr, errlen);
    if (!s->redis || !s->http_redis)
        goto fail;
    if (cfg->dump_features) {
        s->dump = fopen(cfg->dump_features, "w");
        if (!s->dump) {
            pdm_err(errstr, errlen, "%s: %s", cfg->dump_features, strerror(errno));
            goto fail;
        }
        pdm_features_dump_header(s->dump);
    }
    if (kafka_setup(s, errstr, errlen) || scorer_api_start(s, errstr, errlen))
        goto fail;
    return s;
fail:
    pdm_scorer_destroy(s);
    return NULL;
}

void pdm_scorer_stop(pdm_scorer *s) { atomic_store(&s->stop, 1); }
void pdm_scorer_request_reload(pdm_scorer *s) { atomic_store(&s->reload, 1); }
void pdm_scorer_get_stats(const pdm_scorer *s, pdm_scorer_stats *out) { *out = s->stats; }

static void clear_machines(pdm_scorer *s)
{
    for (size_t i = 0; i < s->n_machines; i++) {
        pdm_rs_machine_clear(&s->machines[i].stored);
        pdm_machine_state_destroy(s->machines[i].state);
        s->machines[i].state = NULL;
    }
    s->n_machines = 0;
    memset(s->hash, 0, s->hash_cap * sizeof *s->hash);
}

/* rd_kafka_consumer_close(), bounded: a coordinator that does not answer
 * (an offset commit in flight) would hold it for socket.timeout.ms and more.
 * Leaving without a clean close only makes the group wait for the session
 * to time out before it rebalances. */
static void close_consumer(pdm_scorer *s)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(s->consumer);
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(s->consumer, q);
    if (e) {
        pdm_log(PDM_LOG_WARN, "leaving the consumer group: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else {
        double deadline = pdm_monotonic_s() + CLOSE_TIMEOUT_S;
        while (!rd_kafka_consumer_closed(s->consumer) && pdm_monotonic_s() < deadline) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
            if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                rebalance_cb(s->consumer, rd_kafka_event_error(ev),
                             rd_kafka_event_topic_partition_list(ev), s);
            rd_kafka_event_destroy(ev);
        }
        if (!rd_kafka_consumer_closed(s->consumer))
            pdm_log(PDM_LOG_WARN, "the group coordinator did not answer in %.0f s; leaving",
                    CLOSE_TIMEOUT_S);
    }
    rd_kafka_queue_destroy(q);
}

void pdm_scorer_destroy(pdm_scorer *s)
{
    if (!s)
        return;
    scorer_api_stop(s); /* no HTTP thread may see what follows go away */
    if (s->consumer) {
        if (s->queue)
            rd_kafka_queue_destroy(s->queue);
        if (s->commit_q)
            rd_kafka_queue_destroy(s->commit_q);
        close_consumer(s);
        rd_kafka_destroy_flags(s->consumer, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    if (s->producer) {
        /* Normally nothing is left (the run delivered or gave up on it). */
        if (rd_kafka_flush(s->producer, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_purge(s->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(s->producer);
    }
    pending_clear(s);
    clear_machines(s);
    free(s->machines);
    free(s->items);
    free(s->rows);
    free(s->risks);
    free(s->explain_rows);
    free(s->explain);
    free(s->drift_risk);
    free(s->row_machine);
    free(s->row_ts);
    free(s->row_alert);
    free(s->row_item);
    free(s->hash);
    free(s->assigned);
    pdm_rs_batch_destroy(s->writes);
    for (size_t i = 0; i < s->n_updates; i++)
        pdm_rs_machine_clear(&s->updates[i].st);
    free(s->updates);
    free(s->machine_events);
    pdm_state_cache_destroy(s->cache);
    pdm_redis_destroy(s->redis);
    pdm_codec_destroy(s->codec);
    pdm_model_destroy(s->model);
    pdm_model_destroy(s->pending.model);
    pdm_drift_destroy(s->drift);
    pdm_perf_destroy(s->perf);
    pdm_redis_destroy(s->http_redis);
    pdm_registry_destroy(s->registry);
    free(s->m.exported);
    free(s->m.exported_children);
    pthread_rwlock_destroy(&s->model_lock);
    pthread_mutex_destroy(&s->pending.lock);
    pthread_mutex_destroy(&s->http_redis_lock);
    if (s->dump)
        fclose(s->dump);
    free(s);
}

/* ---- one batch ------------------------------------------------------------------- */

/* Notes that machine m has a message at offset of (topic, partition). */
static void machine_source(batch_machine *m, const char *topic, int32_t partition, int64_t offset)
{
    for (size_t i = 0; i < m->n_src; i++) {
        if (m->src[i].partition == partition && strcmp(m->src[i].topic, topic) == 0) {
            m->src[i].last = offset;
            return;
        }
    }
    /* Input topics are at most PDM_RS_MAX_SOURCES (checked at start) and a
     * key maps to one partition per topic, so there is room. */
    if (m->n_src < PDM_RS_MAX_SOURCES) {
        m->src[m->n_src].topic = topic;
        m->src[m->n_src].partition = partition;
        m->src[m->n_src].first = offset;
        m->src[m->n_src].last = offset;
        m->n_src++;
    }
}

static int machine_slot(pdm_scorer *s, int32_t id, const rd_kafka_message_t *msg)
{
    size_t mask = s->hash_cap - 1;
    size_t h = ((uint32_t)id * 2654435761u) & mask;
    while (s->hash[h]) {
        batch_machine *m = &s->machines[s->hash[h] - 1];
        if (m->id == id) {
            machine_source(m, rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset);
            return s->hash[h] - 1;
        }
        h = (h + 1) & mask;
    }
    if (s->n_machines == s->cap_machines) {
        size_t cap = s->cap_machines ? s->cap_machines * 2 : 256;
        batch_machine *m = realloc(s->machines, cap * sizeof *m);
        if (!m)
            return -1;
        s->machines = m;
        s->cap_machines = cap;
    }
    batch_machine *m = &s->machines[s->n_machines];
    memset(m, 0, sizeof *m);
    m->id = id;
    machine_source(m, rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset);
    m->min_ts = INT64_MAX;
    m->last_row = -1;
    m->first_event = m->last_event = -1;
    s->hash[h] = (int32_t)++s->n_machines;
    return (int)(s->n_machines - 1);
}

/* Turns the stored state of a machine into a local state to apply a batch
 * on (or to compute its current features for the HTTP API). */
int scorer_restore_state(const pdm_rs_machine *st, int32_t id, pdm_machine_state **out)
{
    pdm_machine_state *state = pdm_machine_state_new();
    *out = NULL;
    if (!state)
        return -1;
    pdm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.machine_id = id;
    int rc = 0;
    if (st->has_info) {
        ev.type = PDM_EV_MACHINE;
        ev.ts = 0;
        ev.u.machine.model = st->model;
        ev.u.machine.age = st->age;
        rc |= pdm_machine_state_apply(state, &ev);
    }
    for (size_t i = 0; i < st->n_maint && !rc; i++) {
        ev.type = PDM_EV_MAINTENANCE;
        ev.ts = st->maint[i].ts;
        ev.u.maintenance.component = st->maint[i].id;
        rc |= pdm_machine_state_apply(state, &ev);
    }
    for (size_t i = 0; i < st->n_err && !rc; i++) {
        ev.type = PDM_EV_ERROR;
        ev.ts = st->err[i].ts;
        ev.u.error.error_id = st->err[i].id;
        rc |= pdm_machine_state_apply(state, &ev);
    }
    for (size_t i = 0; i < st->n_tel && !rc; i++) {
        ev.type = PDM_EV_TELEMETRY;
        ev.ts = st->tel[i].ts;
        ev.u.telemetry.volt = st->tel[i].v[0];
        ev.u.telemetry.rotate = st->tel[i].v[1];
        ev.u.telemetry.pressure = st->tel[i].v[2];
        ev.u.telemetry.vibration = st->tel[i].v[3];
        rc |= pdm_machine_state_apply(state, &ev);
    }
    if (rc) {
        pdm_machine_state_destroy(state);
        return -1;
    }
    *out = state;
    return 0;
}

static void backoff_sleep(int attempt)
{
    int ms = 50 << (attempt < 7 ? attempt : 7); /* 50 ms .. 6.4 s */
    usleep((useconds_t)ms * 1000);
}

/* Runs a Redis step until it succeeds or the scorer is asked to stop; logs
 * once when Redis goes away and once when it is back. */
#define REDIS_RETRY(s, call)                                                                       \
    do {                                                                                           \
        char rerr_[PDM_ERRSTR_SIZE];                                                               \
        for (int attempt_ = 0;; attempt_++) {                                                      \
            if ((call) == 0) {                                                                     \
                if (!(s)->redis_up)                                                                \
                    pdm_log(PDM_LOG_INFO, "redis %s is back", pdm_redis_describe((s)->redis));     \
                (s)->redis_up = 1;                                                                 \
                break;                                                                             \
            }                                                                                      \
            (s)->stats.redis_errors++;                                                             \
            pdm_metric_add((s)->m.redis_errors, 1);                                                \
            if ((s)->redis_up)                                                                     \
                pdm_log(PDM_LOG_ERROR, "redis unavailable, retrying: %s", rerr_);                  \
            (s)->redis_up = 0;                                                                     \
            if (atomic_load(&(s)->stop))                                                           \
                return -1;                                                                         \
            backoff_sleep(attempt_);                                                               \
        }                                                                                          \
    } while (0)

/* The state cache keeps a machine's telemetry and errors this far behind
 * its window (late events within it are still served from the cache). */
#define CACHE_SLACK_MS (3 * PDM_MS_PER_HOUR)
/* Redis state is trimmed when a machine's newest reading crosses a multiple
 * of this (see process_batch step 6). */
#define TRIM_EVERY_MS (6 * PDM_MS_PER_HOUR)

/* Floor division (event times may be before 1970). */
static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b < 0); }

/* Waits until Redis has acknowledged the last batch's writes (sent by
 * process_batch step 6), executing them again after an error until Redis
 * takes them or a stop is requested. Then the state cache learns each
 * machine's state as written, if the machine's ver counter shows that no
 * other writer came in between. Called before anything else uses the
 * connection and before the batch's offsets are committed. */
static int writes_settle(pdm_scorer *s)
{
    if (!s->writes_in_flight)
        return 0;
    double t0 = pdm_monotonic_s();
    int attempt = 0;
    REDIS_RETRY(s, attempt++ == 0 && s->writes_sent
                       ? pdm_rs_batch_wait(s->redis, s->writes, rerr_, sizeof rerr_)
                       : pdm_rs_batch_exec(s->redis, s->writes, rerr_, sizeof rerr_));
    s->writes_in_flight = 0;
    if (attempt == 1) /* what was left to wait of the round trip */
        pdm_metric_observe(s->m.redis_rtt, pdm_monotonic_s() - t0);
    for (size_t i = 0; i < s->n_updates; i++) {
        cache_update *u = &s->updates[i];
        int64_t v = pdm_rs_batch_version(s->writes, u->version_slot);
        if (v == u->loaded_version + 1) {
            if (pdm_state_cache_put(s->cache, &u->st, u->cover, v))
                pdm_log(PDM_LOG_DEBUG, "state cache: out of memory for machine %d",
                        (int)u->st.machine_id);
        } else {
            pdm_state_cache_drop(s->cache, u->st.machine_id);
            pdm_rs_machine_clear(&u->st);
        }
    }
    s->n_updates = 0;
    if (s->cache)
        pdm_metric_set(s->m.cache_machines, (double)pdm_state_cache_machines(s->cache));
    return 0;
}

/* pdm_rs_load until it succeeds or a stop is requested; out[] cleared on
 * each failure. */
static int load_with_retry(pdm_scorer *s, const int32_t *ids, const int64_t *from,
                           const unsigned char *version_only, size_t n, pdm_rs_machine *out)
{
    for (int attempt = 0;; attempt++) {
        char err[PDM_ERRSTR_SIZE];
        double t0 = pdm_monotonic_s();
        if (pdm_rs_load(s->redis, ids, from, version_only, n, out, err, sizeof err) == 0) {
            pdm_metric_observe(s->m.redis_rtt, pdm_monotonic_s() - t0);
            if (!s->redis_up)
                pdm_log(PDM_LOG_INFO, "redis %s is back", pdm_redis_describe(s->redis));
            s->redis_up = 1;
            return 0;
        }
        for (size_t i = 0; i < n; i++)
            pdm_rs_machine_clear(&out[i]);
        s->stats.redis_errors++;
        pdm_metric_add(s->m.redis_errors, 1);
        if (s->redis_up)
            pdm_log(PDM_LOG_ERROR, "redis unavailable, retrying: %s", err);
        s->redis_up = 0;
        if (atomic_load(&s->stop))
            return -1;
        backoff_sleep(attempt);
    }
}

/* The stored state of the batch's machines: from the state cache where
 * Redis confirms the machine's ver counter, else loaded in full. One round
 * trip, two when a cached machine turns out stale. */
static int load_states(pdm_scorer *s)
{
    enum { HIT, STALE, MISS };
    size_t n = s->n_machines;
    int32_t *ids = malloc(n * sizeof *ids);
    int64_t *from = malloc(n * sizeof *from);
    int64_t *cached = malloc(n * sizeof *cached);
    unsigned char *version_only = calloc(n, 1);
    pdm_rs_machine *out = calloc(n, sizeof *out);
    size_t counts[3] = {0, 0, 0};
    int rc = -1;
    if (!ids || !from || !cached || !version_only || !out)
        goto out;
    for (size_t i = 0; i < n; i++) {
        batch_machine *m = &s->machines[i];
        ids[i] = m->id;
        from[i] = m->min_ts == INT64_MAX ? INT64_MAX / 2 : m->min_ts - WINDOW_MS;
        m->from = from[i];
        version_only[i] = s->cache && pdm_state_cache_peek(s->cache, ids[i], from[i], &cached[i]);
    }
    if (load_with_retry(s, ids, from, version_only, n, out))
        goto out;
    size_t n_stale = 0;
    for (size_t i = 0; i < n; i++) {
        batch_machine *m = &s->machines[i];
        if (!version_only[i]) {
            m->stored = out[i];
            memset(&out[i], 0, sizeof out[i]);
            counts[MISS]++;
            continue;
        }
        int got = 0;
        if (out[i].version == cached[i]) {
            got = pdm_state_cache_get(s->cache, ids[i], from[i], &m->stored);
            if (got < 0)
                goto out;
        }
        counts[got ? HIT : STALE]++;
        if (!got) {
            pdm_state_cache_drop(s->cache, ids[i]);
            ids[n_stale] = ids[i];
            from[n_stale] = from[i];
            cached[n_stale] = (int64_t)i; /* where it goes */
            n_stale++;
        }
        pdm_rs_machine_clear(&out[i]);
    }
    if (n_stale) {
        if (load_with_retry(s, ids, from, NULL, n_stale, out))
            goto out;
        for (size_t k = 0; k < n_stale; k++) {
            s->machines[cached[k]].stored = out[k];
            memset(&out[k], 0, sizeof out[k]);
        }
    }
    rc = 0;
out:
    if (s->cache)
        for (int k = 0; k < 3; k++)
            if (counts[k])
                pdm_metric_add(s->m.cache_lookups[k], (double)counts[k]);
    for (size_t i = 0; out && i < n; i++)
        pdm_rs_machine_clear(&out[i]);
    free(ids);
    free(from);
    free(cached);
    free(version_only);
    free(out);
    return rc;
}

static const char *level_name(int level) { return pdm_level_name((pdm_level)level); }

/* Which rows become RiskEvents, by --emit; updates the machine's level. */
static void decide_emission(pdm_scorer *s, batch_machine *m, item *it, const pdm_risk *r)
{
    pdm_rs_machine *st = &m->stored;
    switch (s->cfg.emit) {
    case PDM_EMIT_ALL:
        it->emit = 1;
        break;
    case PDM_EMIT_ALERTS:
        it->emit = r->level != PDM_LEVEL_OK;
        break;
    case PDM_EMIT_CHANGES:
        if ((int)r->level != st->level) {
            it->emit = st->level >= 0 || r->level != PDM_LEVEL_OK;
        } else if (r->level == PDM_LEVEL_CRITICAL && s->cfg.renotify_ms > 0 &&
                   it->ev.ts - st->notified_at >= s->cfg.renotify_ms) {
            it->emit = 1;
        }
        break;
    }
    st->level = (int)r->level;
    if (it->emit)
        st->notified_at = it->ev.ts;
    (void)level_name;
}

static int produce(pdm_scorer *s, const char *topic, const void *key, size_t key_len,
                   const void *payload, size_t len, rd_kafka_headers_t *headers)
{
    for (;;) {
        rd_kafka_resp_err_t err;
        if (headers)
            err = rd_kafka_producev(s->producer, RD_KAFKA_V_TOPIC(topic),
                                    RD_KAFKA_V_KEY(key, key_len),
                                    RD_KAFKA_V_VALUE((void *)payload, len),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
        else
            err = rd_kafka_producev(s->producer, RD_KAFKA_V_TOPIC(topic),
                                    RD_KAFKA_V_KEY(key, key_len),
                                    RD_KAFKA_V_VALUE((void *)payload, len),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(s->producer, 50);
            continue;
        }
        if (err) {
            if (headers)
                rd_kafka_headers_destroy(headers);
            pdm_log(PDM_LOG_ERROR, "produce to %s: %s", topic, rd_kafka_err2str(err));
            atomic_fetch_add(&s->pending_failures, 1);
            return -1;
        }
        return 0;
    }
}

/* A dead letter carries the original key and payload, except that a payload
 * too large for our producer (the input topic may allow larger messages than
 * message.max.bytes) is cut to fit, with its size in pdm.truncated: sending
 * it whole would fail on every retry and block the partition for good. */
static void dead_letter(pdm_scorer *s, item *it)
{
    rd_kafka_message_t *msg = it->msg;
    rd_kafka_headers_t *h = rd_kafka_headers_new(6);
    char part[16], off[32], size[32];
    snprintf(part, sizeof part, "%d", (int)msg->partition);
    snprintf(off, sizeof off, "%lld", (long long)msg->offset);
    pdm_metric_add(s->m.dlq, 1);
    const char *labels[] = {it->bad_reason};
    pdm_metric_add(pdm_metric_with(s->m.bad, labels), 1);
    rd_kafka_header_add(h, "pdm.reason", -1, it->bad_reason, -1);
    rd_kafka_header_add(h, "pdm.detail", -1, it->bad_detail, -1);
    rd_kafka_header_add(h, "pdm.source.topic", -1, rd_kafka_topic_name(msg->rkt), -1);
    rd_kafka_header_add(h, "pdm.source.partition", -1, part, -1);
    rd_kafka_header_add(h, "pdm.source.offset", -1, off, -1);
    size_t len = msg->len;
    if (s->max_message > DLQ_OVERHEAD + msg->key_len &&
        len > s->max_message - DLQ_OVERHEAD - msg->key_len) {
        len = s->max_message - DLQ_OVERHEAD - msg->key_len;
        snprintf(size, sizeof size, "%zu", msg->len);
        rd_kafka_header_add(h, "pdm.truncated", -1, size, -1);
    }
    produce(s, s->cfg.dlq_topic, msg->key, msg->key_len, msg->payload, len, h);
}

static void emit_risk(pdm_scorer *s, item *it, pdm_risk *r)
{
    char buf[PDM_MAX_ENCODED], err[PDM_ERRSTR_SIZE], key[16];
    snprintf(r->event_id, sizeof r->event_id, "%d-%lld-%s", (int)it->ev.machine_id,
             (long long)it->ev.ts, r->model_version);
    r->scored_at = pdm_now_ms();
    pdm_event out = {.type = PDM_EV_RISK, .machine_id = it->ev.machine_id, .ts = it->ev.ts};
    out.u.risk = r;
    int len = pdm_codec_encode(s->codec, &out, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err,
                               sizeof err);
    if (len < 0) {
        pdm_log(PDM_LOG_ERROR, "encode RiskEvent: %s", err);
        atomic_fetch_add(&s->pending_failures, 1);
        return;
    }
    int klen = snprintf(key, sizeof key, "%d", (int)it->ev.machine_id);
    if (produce(s, s->cfg.risk_topic, key, (size_t)klen, buf, (size_t)len, NULL) == 0) {
        s->stats.risk_events++;
        pdm_metric_add(s->m.risk_events[r->level], 1);
    }
}

/* True once a stop was requested more than STOP_GRACE_S ago (*since is 0
 * until the request is first seen). A broker that does not answer would
 * otherwise hold a stopping scorer for message.timeout.ms or
 * socket.timeout.ms; giving up is safe: the batch is consumed again. */
static int stop_grace_over(pdm_scorer *s, double *since)
{
    if (!atomic_load(&s->stop))
        return 0;
    if (*since == 0)
        *since = pdm_monotonic_s();
    return pdm_monotonic_s() - *since > STOP_GRACE_S;
}

/* Sends an asynchronous commit; its result arrives on commit_q tagged with
 * a new commit_seq (the result of one given up on may still come). */
static rd_kafka_resp_err_t commit_send(pdm_scorer *s, rd_kafka_topic_partition_list_t *offs)
{
    return rd_kafka_commit_queue(s->consumer, offs, s->commit_q, NULL,
                                 (void *)++s->commit_seq);
}

/* The result of the latest commit sent; a stop request does not wait on it
 * for long. */
static rd_kafka_resp_err_t commit_wait(pdm_scorer *s)
{
    double since = 0;
    for (;;) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(s->commit_q, 100);
        if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT &&
            (uintptr_t)rd_kafka_event_opaque(ev) == s->commit_seq) {
            rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
            rd_kafka_event_destroy(ev);
            return err;
        }
        rd_kafka_event_destroy(ev); /* accepts NULL */
        if (stop_grace_over(s, &since))
            return RD_KAFKA_RESP_ERR__TIMED_OUT;
    }
}

/* Per partition of the batch's messages, the offset after its last message
 * (next != 0: what to commit) or of its first one (next == 0: where to
 * rewind to), merged into list (a partition already there keeps its
 * offset when rewinding: the earlier batch's start comes first). */
static void batch_offsets(pdm_scorer *s, size_t n, int next, rd_kafka_topic_partition_list_t *list)
{
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = s->items[i].msg;
        if (m->err)
            continue;
        const char *topic = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(list, topic, m->partition);
        if (!p) {
            p = rd_kafka_topic_partition_list_add(list, topic, m->partition);
            p->offset = next ? m->offset + 1 : m->offset;
        } else if (next && m->offset + 1 > p->offset) {
            p->offset = m->offset + 1;
        }
    }
}

/* Seeks partitions back so that their messages are consumed again. */
static void rewind_to(pdm_scorer *s, rd_kafka_topic_partition_list_t *offs)
{
    if (!offs->cnt)
        return;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(s->consumer, offs, 5000);
    if (e) {
        pdm_log(PDM_LOG_ERROR, "rewinding to consume again: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

static void pending_clear(pdm_scorer *s)
{
    batch_output *p = &s->pending_out;
    if (p->commit)
        rd_kafka_topic_partition_list_destroy(p->commit);
    if (p->rewind)
        rd_kafka_topic_partition_list_destroy(p->rewind);
    memset(p, 0, sizeof *p);
}

/* Pauses (or resumes) every assigned partition: while a commit keeps
 * failing, nothing new is consumed, but the consume calls still serve the
 * group's rebalance. */
static void set_paused(pdm_scorer *s, int pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (s->paused == pause || rd_kafka_assignment(s->consumer, &parts))
        return;
    if (pause)
        rd_kafka_pause_partitions(s->consumer, parts);
    else
        rd_kafka_resume_partitions(s->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    s->paused = pause;
}

/* Finishes the previous batch: waits for its output (RiskEvents and dead
 * letters) to be delivered and its Redis writes to be acknowledged, then
 * commits its offsets: this is the moment its messages are done.
 * With FINISH_COMMIT_SENT it returns 0 once the commit is sent; a later
 * call waits for its result (and handles a failure as below).
 * n is the current batch (0 if none), not yet written anywhere.
 *   - Output not delivered: the previous batch's partitions and the current
 *     batch's are rewound, so that both are consumed again (the replay
 *     bookkeeping in Redis undoes at most one applied batch, the previous
 *     one); returns 1.
 *   - Commit refused (typically a group rebalance in progress): the
 *     delivered batch stays pending and its commit is retried each time the
 *     loop comes round; the current batch is rewound and every partition
 *     paused meanwhile, so that no batch is reprocessed in a loop while the
 *     consume calls let the rebalance finish; returns 2. If the partitions
 *     are revoked first, the new owner consumes the batch again from the
 *     last commit.
 * rewind == 0 (partitions being revoked): nothing is rewound or retried.
 * Returns 0 when finished (or nothing was pending), -1 when a stop request
 * gave up waiting. */
static int finish_pending(pdm_scorer *s, size_t n, int rewind, finish_until until)
{
    batch_output *p = &s->pending_out;
    /* The output first: it goes out now (rd_kafka_flush does not linger)
     * while Redis works on the writes sent before it. */
    if (p->active && !p->delivered) {
        double since = 0;
        while (rd_kafka_outq_len(s->producer) > 0 && !atomic_load(&s->pending_failures)) {
            if (stop_grace_over(s, &since)) {
                rd_kafka_purge(s->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                pdm_log(PDM_LOG_WARN, "stopping with a batch's output undelivered; it will be "
                                      "consumed again");
                pending_clear(s);
                return -1;
            }
            rd_kafka_flush(s->producer, 100);
        }
        long failures = atomic_load(&s->pending_failures);
        if (failures) {
            rd_kafka_flush(s->producer, 10000); /* the rest of the batch's reports */
            failures = atomic_exchange(&s->pending_failures, 0);
            s->stats.delivery_errors += (uint64_t)failures;
            pdm_log(PDM_LOG_ERROR,
                    "output not delivered (%ld messages; first: %s); the batch will be "
                    "consumed again",
                    failures, s->first_delivery_error);
            if (rewind) {
                batch_offsets(s, n, 0, p->rewind);
                rewind_to(s, p->rewind);
            }
            pending_clear(s);
            return rewind ? 1 : 0;
        }
        double done = pdm_monotonic_s();
        for (size_t i = 0; i < p->n_emitted; i++)
            pdm_metric_observe(s->m.latency, done - p->received);
        p->delivered = 1;
    }
    if (writes_settle(s)) {
        pending_clear(s); /* stopping: not committed, consumed again */
        return -1;
    }
    if (!p->active)
        return 0;
    if (p->commit->cnt) {
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (!p->commit_sent) {
            err = commit_send(s, p->commit);
            p->commit_sent = !err;
        }
        if (!err && until == FINISH_COMMIT_SENT)
            return 0;
        if (!err)
            err = commit_wait(s);
        p->commit_sent = 0; /* a failed one is sent again */
        if (err) {
            if (atomic_load(&s->stop) || !rewind) {
                pdm_log(PDM_LOG_WARN, "%s with a batch uncommitted (commit failed: %s); it will "
                        "be consumed again",
                        atomic_load(&s->stop) ? "stopping" : "giving up partitions",
                        rd_kafka_err2str(err));
                pending_clear(s);
                return atomic_load(&s->stop) ? -1 : 0;
            }
            if (!s->commit_failing)
                pdm_log(PDM_LOG_WARN, "commit failed: %s; retrying, consumption paused",
                        rd_kafka_err2str(err));
            s->commit_failing = 1;
            rd_kafka_topic_partition_list_t *cur = rd_kafka_topic_partition_list_new(16);
            if (cur) {
                batch_offsets(s, n, 0, cur);
                rewind_to(s, cur);
                rd_kafka_topic_partition_list_destroy(cur);
            }
            set_paused(s, 1);
            return 2;
        }
        if (s->commit_failing)
            pdm_log(PDM_LOG_INFO, "commit succeeded again; consuming");
        s->commit_failing = 0;
        s->stats.commits++;
    }
    set_paused(s, 0);
    pending_clear(s);
    return 0;
}

/* The maintenance records a trim may drop: per component, those older than
 * the horizon except the latest of them (hours_since_maint needs it). */
static size_t superseded_maint(const pdm_rs_machine *st, int64_t horizon, pdm_rs_mark *drop)
{
    size_t n = 0;
    for (int c = 1; c <= PDM_N_COMPONENTS; c++) {
        int64_t keep = INT64_MIN;
        for (size_t i = 0; i < st->n_maint; i++)
            if (st->maint[i].id == c && st->maint[i].ts < horizon && st->maint[i].ts > keep)
                keep = st->maint[i].ts;
        for (size_t i = 0; i < st->n_maint; i++)
            if (st->maint[i].id == c && st->maint[i].ts < keep)
                drop[n++] = st->maint[i];
    }
    return n;
}

/* Metrics, drift and live performance of the batch's scored rows. */
static void observe_scores(pdm_scorer *s)
{
    int64_t newest = INT64_MIN;
    pdm_metric_add(s->m.rows, (double)s->n_rows);
    for (size_t r = 0; r < s->n_rows; r++) {
        item *it = &s->items[s->row_item[r]];
        if (it->ev.ts > newest)
            newest = it->ev.ts;
        s->row_machine[r] = it->ev.machine_id;
        s->row_ts[r] = it->ev.ts;
        s->row_alert[r] = s->risks[r].level != PDM_LEVEL_OK;
        s->machines[it->machine].last_row = (int)r;
    }
    pdm_perf_observe_batch(s->perf, s->row_machine, s->row_ts, s->row_alert, s->n_rows);
    if (newest != INT64_MIN)
        pdm_metric_set(s->m.event_lag, (double)(pdm_now_ms() - newest) / 1000.0);
    if (s->drift) {
        double *risk = s->drift_risk;
        for (size_t r = 0; r < s->n_rows; r++)
            risk[r] = s->risks[r].risk;
        pdm_drift_observe(s->drift, s->rows, risk, s->n_rows, pdm_now_ms());
    }
    /* Per-machine gauges: each machine's latest score of the batch, for at
     * most cfg.metrics_machines machines (label cardinality). */
    for (size_t i = 0; i < s->n_machines; i++) {
        batch_machine *m = &s->machines[i];
        if (m->last_row < 0)
            continue;
        scorer_export_machine(s, m->id, &s->risks[m->last_row]);
    }
}

static int process_batch(pdm_scorer *s, size_t n)
{
    int64_t now = pdm_now_ms();
    char err[PDM_ERRSTR_SIZE];

    /* 1. decode and validate */
    clear_machines(s);
    s->n_rows = 0;
    for (size_t i = 0; i < n; i++) {
        item *it = &s->items[i];
        rd_kafka_message_t *msg = it->msg;
        it->machine = -1;
        it->row = -1;
        it->emit = 0;
        it->bad_reason = NULL;
        s->stats.messages++;
        int st = pdm_codec_decode(s->codec, msg->payload, msg->len, &it->ev, it->bad_detail,
                                  sizeof it->bad_detail);
        if (st != PDM_DECODE_OK) {
            it->bad_reason = pdm_decode_status_name((pdm_decode_status)st);
            continue;
        }
        it->bad_reason = pdm_input_validate(&it->ev, now, it->bad_detail, sizeof it->bad_detail);
        if (it->bad_reason)
            continue;
        int slot = machine_slot(s, it->ev.machine_id, msg);
        if (slot < 0)
            return pdm_err(NULL, 0, "out of memory");
        it->machine = slot;
        if (it->ev.type != PDM_EV_MACHINE && it->ev.ts < s->machines[slot].min_ts)
            s->machines[slot].min_ts = it->ev.ts;
    }

    /* 2. load the state of the batch's machines (after the last batch's
     * writes are acknowledged: they share the connection) */
    if (writes_settle(s) || (s->n_machines && load_states(s)))
        return -1;
    for (size_t i = 0; i < s->n_machines; i++) {
        batch_machine *m = &s->machines[i];
        pdm_rs_machine *st = &m->stored;
        /* Was this batch (partly) applied before a crash? Then start from the
         * bookkeeping as it was before that batch. */
        int replay = 0;
        for (size_t k = 0; k < m->n_src; k++)
            if (m->src[k].first <= pdm_rs_source_offset(st, m->src[k].topic, m->src[k].partition))
                replay = 1;
        if (replay) {
            st->newest = st->base;
            st->level = st->base_level;
            st->notified_at = st->base_notified_at;
        } else {
            st->base = st->newest;
            st->base_level = st->level;
            st->base_notified_at = st->notified_at;
        }
        if (scorer_restore_state(&m->stored, m->id, &m->state))
            return pdm_err(NULL, 0, "out of memory");
    }

    /* 3. apply events in stream order, compute features */
    pdm_rs_batch_reset(s->writes);
    for (size_t i = 0; i < n; i++) {
        item *it = &s->items[i];
        if (it->machine < 0)
            continue;
        batch_machine *m = &s->machines[it->machine];
        pdm_rs_machine *st = &m->stored;
        if (it->ev.type != PDM_EV_MACHINE && st->newest != INT64_MIN &&
            it->ev.ts < st->newest - s->cfg.lateness_ms) {
            char a[32], b[32];
            snprintf(it->bad_detail, sizeof it->bad_detail,
                     "event at %s is more than the allowed lateness behind %s",
                     pdm_time_format(it->ev.ts, a), pdm_time_format(st->newest, b));
            it->bad_reason = "late";
            s->stats.late++;
            continue;
        }
        int newest = it->ev.type == PDM_EV_TELEMETRY && it->ev.ts > st->newest;
        if (pdm_machine_state_apply(m->state, &it->ev) ||
            pdm_rs_batch_event(s->writes, &it->ev, newest))
            return pdm_err(NULL, 0, "out of memory");
        it->next_event = -1;
        if (m->last_event >= 0)
            s->items[m->last_event].next_event = (int)i;
        else
            m->first_event = (int)i;
        m->last_event = (int)i;
        s->stats.events[it->ev.type]++;
        s->batch_events[it->ev.type]++;
        if (it->ev.type == PDM_EV_FAILURE)
            pdm_perf_failure(s->perf, it->ev.machine_id, it->ev.ts);
        if (it->ev.type == PDM_EV_MACHINE) {
            st->has_info = 1;
            st->model = it->ev.u.machine.model;
            st->age = it->ev.u.machine.age;
        }
        if (it->ev.type != PDM_EV_TELEMETRY)
            continue;
        if (it->ev.ts > st->newest || st->newest == INT64_MIN)
            st->newest = it->ev.ts;
        double *row = s->rows + s->n_rows * PDM_N_FEATURES;
        pdm_machine_view view;
        pdm_machine_state_view(m->state, &view);
        pdm_features_compute(&view, it->ev.ts, row);
        it->row = (int)s->n_rows;
        s->row_item[s->n_rows++] = (int)i;
    }

    for (int t = 0; t < PDM_EV_COUNT; t++) {
        if (s->batch_events[t])
            pdm_metric_add(s->m.events[t], (double)s->batch_events[t]);
        s->batch_events[t] = 0;
    }

    /* 4. score, decide emissions (stream order per machine), then explain
     * only the alerts that are emitted: SHAP is the expensive part. */
    if (s->n_rows) {
        if (pdm_model_score_ex(s->model, s->rows, s->n_rows, s->risks, 0, err, sizeof err))
            return pdm_err(NULL, 0, "scoring failed: %s", err);
        size_t n_explain = 0;
        for (size_t r = 0; r < s->n_rows; r++) {
            item *it = &s->items[s->row_item[r]];
            pdm_risk *risk = &s->risks[r];
            /* Threshold overrides apply to the level. */
            risk->level = risk->risk >= s->critical ? PDM_LEVEL_CRITICAL
                          : risk->risk >= s->warn   ? PDM_LEVEL_WARN
                                                    : PDM_LEVEL_OK;
            decide_emission(s, &s->machines[it->machine], it, risk);
            if (it->emit && risk->level != PDM_LEVEL_OK) {
                memmove(s->explain_rows + n_explain * PDM_N_FEATURES,
                        s->rows + r * PDM_N_FEATURES, PDM_N_FEATURES * sizeof *s->rows);
                s->explain[n_explain++] = *risk;
            }
        }
        if (n_explain &&
            pdm_model_explain(s->model, s->explain_rows, n_explain, s->explain, err, sizeof err))
            return pdm_err(NULL, 0, "explaining alerts failed: %s", err);
        for (size_t r = 0, e = 0; r < s->n_rows && e < n_explain; r++) {
            item *it = &s->items[s->row_item[r]];
            if (it->emit && s->risks[r].level != PDM_LEVEL_OK)
                s->risks[r] = s->explain[e++];
        }
        s->stats.scored += s->n_rows;
        observe_scores(s);
    }

    /* 5. the previous batch's output delivered and its offsets committed
     * before this batch writes anything: at most one batch is ever applied
     * past the committed offsets, which the replay bookkeeping can undo.
     * Its delivery overlapped this batch's decoding, loading and scoring. */
    int fin = finish_pending(s, n, 1, FINISH_COMMITTED);
    if (fin < 0)
        return -1;
    if (fin > 0)
        return 0; /* both batches are consumed again */

    /* 6. write state to Redis: sent now and acknowledged (writes_settle)
     * before anything else uses the connection, which is the next batch's
     * load or, at the latest, this batch's commit; meanwhile this batch's
     * output is produced. With the state cache, each machine's state after
     * the writes is computed here and kept once Redis acknowledges them. */
    for (size_t i = 0; i < s->n_machines; i++) {
        batch_machine *m = &s->machines[i];
        pdm_rs_machine *st = &m->stored;
        for (size_t k = 0; k < m->n_src; k++)
            if (pdm_rs_source_set(st, m->src[k].topic, m->src[k].partition, m->src[k].last))
                return pdm_err(NULL, 0, "out of memory");
        /* Trim relative to the newest telemetry before this batch, so that a
         * replay of this batch still finds every window it needs; and only
         * when the machine's newest reading crosses a TRIM_EVERY_MS
         * boundary: loads read the window only, so keeping a few hours
         * more costs Redis a little memory and saves two commands per
         * machine and batch on a live stream (one event per machine). */
        int64_t horizon = INT64_MIN;
        pdm_rs_mark *drop = NULL;
        size_t nd = 0, slot = 0;
        if (st->base != INT64_MIN && st->newest != INT64_MIN &&
            floor_div(st->newest, TRIM_EVERY_MS) != floor_div(st->base, TRIM_EVERY_MS)) {
            horizon = st->base - WINDOW_MS - s->cfg.lateness_ms;
            drop = st->n_maint ? malloc(st->n_maint * sizeof *drop) : NULL;
            nd = drop ? superseded_maint(st, horizon, drop) : 0;
            if (pdm_rs_batch_trim(s->writes, m->id, horizon, drop, nd)) {
                free(drop);
                return pdm_err(NULL, 0, "out of memory");
            }
        }
        if (pdm_rs_batch_meta(s->writes, st, &slot)) {
            free(drop);
            return pdm_err(NULL, 0, "out of memory");
        }
        if (s->cache) {
            size_t ne = 0;
            for (int j = m->first_event; j >= 0; j = s->items[j].next_event)
                s->machine_events[ne++] = &s->items[j].ev;
            cache_update *u = &s->updates[s->n_updates];
            memset(&u->st, 0, sizeof u->st);
            if (pdm_state_merge(st, s->machine_events, ne, horizon, drop, nd, &u->st) == 0) {
                int64_t cover = m->from;
                if (horizon != INT64_MIN && horizon - 1 > cover)
                    cover = horizon - 1;
                if (st->newest != INT64_MIN && st->newest - WINDOW_MS - CACHE_SLACK_MS > cover)
                    cover = st->newest - WINDOW_MS - CACHE_SLACK_MS;
                u->cover = cover;
                u->loaded_version = st->version;
                u->version_slot = slot;
                s->n_updates++;
            } else {
                pdm_state_cache_drop(s->cache, m->id);
            }
        }
        free(drop);
    }
    if (pdm_rs_batch_commands(s->writes)) {
        char werr[PDM_ERRSTR_SIZE];
        s->writes_in_flight = 1;
        s->writes_sent = pdm_rs_batch_send(s->redis, s->writes, werr, sizeof werr) == 0;
        /* Not sent (Redis away): retried here, before any output, as a
         * failed load would be. */
        if (!s->writes_sent && writes_settle(s))
            return -1;
    }

    /* 7. output: dead letters and risk events, delivered (and the batch
     * committed) by the next batch's step 5 or when the loop ends. */
    batch_output *out = &s->pending_out;
    out->commit = rd_kafka_topic_partition_list_new(16);
    out->rewind = rd_kafka_topic_partition_list_new(16);
    if (!out->commit || !out->rewind) {
        pending_clear(s);
        return pdm_err(NULL, 0, "out of memory");
    }
    batch_offsets(s, n, 1, out->commit);
    batch_offsets(s, n, 0, out->rewind);
    out->received = s->batch_received;
    out->active = 1;
    atomic_store(&s->pending_failures, 0);
    for (size_t i = 0; i < n; i++) {
        item *it = &s->items[i];
        if (it->bad_reason) {
            s->stats.bad++;
            dead_letter(s, it);
        } else if (it->row >= 0 && it->emit) {
            emit_risk(s, it, &s->risks[it->row]);
            out->n_emitted++;
        }
        if (s->dump && it->row >= 0)
            pdm_features_dump_row(s->dump, it->ev.machine_id, it->ev.ts,
                                  s->rows + (size_t)it->row * PDM_N_FEATURES, -1);
    }
    if (s->dump)
        fflush(s->dump);
    rd_kafka_poll(s->producer, 0);
    s->stats.batches++;
    return 0;
}

int pdm_scorer_run(pdm_scorer *s, char *errstr, size_t errlen)
{
    size_t cap = (size_t)s->cfg.batch_size;
    rd_kafka_message_t **msgs = malloc(cap * sizeof *msgs);
    int rc = 0, last_batch_full = 0;
    if (!msgs)
        return pdm_err(errstr, errlen, "out of memory");

    char err[PDM_ERRSTR_SIZE];
    int epoch = -1;
    for (int attempt = 0; epoch < 0 && !atomic_load(&s->stop); attempt++) {
        epoch = pdm_rs_epoch_check(s->redis, err, sizeof err);
        if (epoch < 0) {
            if (attempt == 0)
                pdm_log(PDM_LOG_ERROR, "redis unavailable, retrying: %s", err);
            backoff_sleep(attempt);
        }
    }
    s->redis_up = epoch >= 0;
    double last_epoch_check = pdm_monotonic_s();

    while (!atomic_load(&s->stop)) {
        install_pending(s);
        maybe_reload(s);
        /* Block for the first message (up to 200 ms, so that stop and reload
         * requests are seen), then give the batch max_wait_ms to fill: a
         * backlog fills it at once, a live stream is not held for long. */
        ssize_t got = 0;
        wake_fetcher(s);
        /* Caught up (the last batch took all there was, or nothing is
         * queued): deliver the last batch's output now rather than after
         * its linger.ms and the next batch's work, and send its commit,
         * whose round trip then overlaps the next batch's wait, decoding,
         * loading and scoring. With a backlog (full batches) the delivery
         * overlaps that work instead. Not while a commit is being retried:
         * the 200 ms wait below paces that. */
        if (s->pending_out.active && !s->commit_failing &&
            (!last_batch_full || rd_kafka_queue_length(s->queue) == 0) &&
            finish_pending(s, 0, 1, FINISH_COMMIT_SENT) < 0)
            break;
        msgs[0] = rd_kafka_consume_queue(s->queue, 200);
        if (!msgs[0])
            s->prefetch_full = 0; /* ran dry: nothing left that the bound holds back */
        if (msgs[0]) {
            got = 1;
            if (cap > 1) {
                ssize_t more = rd_kafka_consume_batch_queue(
                    s->queue, (int)(s->cfg.max_wait_ms > 0 ? s->cfg.max_wait_ms : 0), msgs + 1,
                    cap - 1);
                got = more < 0 ? -1 : 1 + more;
                if (more < 0)
                    rd_kafka_message_destroy(msgs[0]);
            }
        }
        if (got < 0) {
            pdm_log(PDM_LOG_ERROR, "consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
            continue;
        }
        last_batch_full = (size_t)got == cap;
        size_t n = 0;
        for (ssize_t i = 0; i < got; i++) {
            rd_kafka_message_t *m = msgs[i];
            assigned_partition *part = m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF
                                           ? NULL
                                           : message_partition(s, m);
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                pdm_log(PDM_LOG_DEBUG, "%s [%d] at its end (offset %lld)",
                        rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset);
                if (part)
                    part->eof = 1;
                rd_kafka_message_destroy(m);
            } else if (m->err) {
                pdm_log(PDM_LOG_WARN, "consume: %s", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
            } else if (!part) {
                /* Fetched before a rebalance took the partition away: its
                 * new owner consumes it from the last commit. */
                rd_kafka_message_destroy(m);
            } else {
                /* In consumption order, so an EOF after this message counts. */
                part->eof = 0;
                s->items[n++].msg = m;
            }
        }
        if (n) {
            s->batch_received = pdm_monotonic_s();
            pdm_metric_observe(s->m.batch_size, (double)n);
            int prc = process_batch(s, n);
            for (size_t i = 0; i < n; i++)
                rd_kafka_message_destroy(s->items[i].msg);
            if (prc && !atomic_load(&s->stop)) {
                rc = pdm_err(errstr, errlen, "batch failed; stopping without commit");
                break;
            }
        }
        rd_kafka_poll(s->producer, 0);
        if (pdm_monotonic_s() - last_epoch_check > 5.0 && writes_settle(s) == 0) {
            last_epoch_check = pdm_monotonic_s();
            int e = pdm_rs_epoch_check(s->redis, err, sizeof err);
            if (e == 0) {
                s->stats.state_lost++;
                pdm_metric_add(s->m.state_lost, 1);
                pdm_state_cache_clear(s->cache); /* its versions no longer match anyway */
                pdm_log(PDM_LOG_ERROR,
                        "redis state was lost (pdm:epoch vanished: FLUSHALL or a new empty "
                        "server); features rebuild from the events that arrive from now on");
            }
        }
        if (n == 0 && finish_pending(s, 0, 1, FINISH_COMMITTED) < 0)
            break;
        if (s->cfg.exit_at_end && n == 0 && all_at_end(s)) {
            pdm_log(PDM_LOG_INFO, "every assigned partition is at its end; exiting");
            break;
        }
    }
    free(msgs);
    finish_pending(s, 0, 1, FINISH_COMMITTED); /* or given up after the grace */
    pdm_log(PDM_LOG_INFO,
            "stopped: %llu messages, %llu scored, %llu risk events, %llu dead letters",
            (unsigned long long)s->stats.messages, (unsigned long long)s->stats.scored,
            (unsigned long long)s->stats.risk_events, (unsigned long long)s->stats.bad);
    return rc;
}
