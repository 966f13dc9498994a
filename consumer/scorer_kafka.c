/* scorer_kafka.c: the scorer's Kafka clients (see scorer_kafka.h). */
#include "scorer_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_kafka.h"

/* How long a stop request still waits for Kafka to take a batch's output
 * and its commit: a broker that does not answer would otherwise hold a
 * stopping scorer for message.timeout.ms or socket.timeout.ms; giving up is
 * safe, the batch is consumed again after the restart. */
#define STOP_GRACE_S 2.0
/* How long leaving the consumer group may take at exit. */
#define CLOSE_TIMEOUT_S 3.0

/* ---- tasks ------------------------------------------------------------------ */

/* The merge needs partition p of every input topic to hold the same
 * machines: the same partition count everywhere (keys then hash alike). A
 * mismatch is fatal: the scorer could only interleave the topics freely. */
static void check_partition_counts(scorer_kafka *k)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(k->consumer, 0, NULL, &md, 5000);
    if (err) {
        pdm_log(PDM_LOG_WARN, "input topics' partition counts unknown: %s", rd_kafka_err2str(err));
        return;
    }
    char counts[400] = "";
    size_t len = 0;
    int first = -1, differ = 0;
    for (const char *const *t = k->cfg->topics; *t; t++) {
        int cnt = -1;
        for (int i = 0; i < md->topic_cnt; i++)
            if (strcmp(md->topics[i].topic, *t) == 0 && !md->topics[i].err)
                cnt = md->topics[i].partition_cnt;
        if (cnt < 0)
            continue; /* not created yet: nothing of it is assigned either */
        differ |= first >= 0 && cnt != first;
        if (first < 0)
            first = cnt;
        if (len < sizeof counts)
            len += (size_t)snprintf(counts + len, sizeof counts - len, "%s%s: %d", len ? ", " : "",
                                    *t, cnt);
    }
    rd_kafka_metadata_destroy(md);
    if (differ)
        snprintf(k->fatal, sizeof k->fatal,
                 "input topics are not co-partitioned (%s partitions): events of one machine "
                 "would be in different tasks, so they cannot be merged in event time; give "
                 "every input topic the same partition count, or use one topic",
                 counts);
}

/* Every partition p this scorer has of one input topic, it must have of
 * all (the range assignor, librdkafka's default, gives that when the counts
 * agree); else a machine's events are split across scorers. */
static void check_tasks(scorer_kafka *k)
{
    check_partition_counts(k);
    const scorer_assignment *a = &k->assignment;
    for (size_t i = 0; i < a->n; i++)
        for (const char *const *t = k->cfg->topics; *t; t++) {
            int found = 0;
            for (size_t j = 0; j < a->n && !found; j++)
                found = a->parts[j].partition == a->parts[i].partition &&
                        strcmp(a->parts[j].topic, *t) == 0;
            if (!found) {
                pdm_log(PDM_LOG_WARN,
                        "assigned %s [%d] but not %s [%d]: that partition's machines are not "
                        "merged in event time (use partition.assignment.strategy=range)",
                        a->parts[i].topic, (int)a->parts[i].partition, *t,
                        (int)a->parts[i].partition);
                return;
            }
        }
}

/* The merge buffers what the prefetch bound allows, shared among the
 * assigned partitions (at least MERGE_MIN_SHARE messages each). */
#define MERGE_MIN_SHARE 64
static void share_merge_bound(scorer_kafka *k)
{
    size_t n = k->assignment.n ? k->assignment.n : 1;
    size_t share = k->prefetch_bound / n;
    scorer_merge_set_bound(k->merge, share < MERGE_MIN_SHARE ? MERGE_MIN_SHARE : share);
}

/* ---- callbacks -------------------------------------------------------------- */

/* librdkafka keeps a partition's pause across reassignment, so one paused
 * by the merge's bound or while a commit kept failing is resumed when it is
 * revoked, while it is still assigned and running, rather than when it is
 * assigned again. In librdkafka 2.0.2 every pause, resume or seek takes a
 * new version of the partition, and one taken from this thread while the
 * client's main thread starts the partition (between taking its version
 * for the start and queueing the start) makes the start outdated: it is
 * dropped and the partition is never fetched. That is the likely cause of
 * the one partition of 64 never fetched seen twice in about 190 catch-ups
 * on a loaded machine (the resume at assignment did it); so nothing here
 * touches a partition before it has started (scorer_partition.started).
 * Only the started ones are resumed: no other can be paused. */
static void resume_revoked(scorer_kafka *k, const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *started = rd_kafka_topic_partition_list_new(parts->cnt);
    if (!started)
        return;
    for (int i = 0; i < parts->cnt; i++) {
        const scorer_partition *p =
            scorer_assignment_find(&k->assignment, parts->elems[i].topic, parts->elems[i].partition);
        if (p && p->started)
            rd_kafka_topic_partition_list_add(started, p->topic, p->partition);
    }
    if (started->cnt)
        rd_kafka_resume_partitions(k->consumer, started);
    rd_kafka_topic_partition_list_destroy(started);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    scorer_kafka *k = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (cooperative)
            rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
        if (scorer_assignment_add(&k->assignment, parts))
            pdm_log(PDM_LOG_ERROR, "assignment: out of memory");
        for (int i = 0; k->merge && i < parts->cnt; i++)
            if (scorer_merge_add(k->merge, parts->elems[i].topic, parts->elems[i].partition))
                pdm_log(PDM_LOG_ERROR, "merge: cannot take %s [%d]", parts->elems[i].topic,
                        (int)parts->elems[i].partition);
        if (k->merge) {
            check_tasks(k);
            share_merge_bound(k);
        }
        k->assignment.ever = 1;
        atomic_store(&k->joined, 1);
        /* Nothing else is done to the new partitions here: no pause, resume
         * or seek until they have been started (see resume_revoked). */
        pdm_log(PDM_LOG_INFO, "assigned %d partitions (%zu in all)", parts->cnt, k->assignment.n);
        return;
    }
    /* Only the last batch's output may be in flight: the owner delivers it
     * and commits while the partitions are still ours (if that fails the
     * new owner consumes the batch again from the last commit). */
    if (k->hooks.before_revoke)
        k->hooks.before_revoke(k->hooks.ctx);
    resume_revoked(k, parts);
    if (cooperative)
        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    else
        rd_kafka_assign(rk, NULL);
    scorer_assignment_remove(&k->assignment, parts);
    for (int i = 0; k->merge && i < parts->cnt; i++)
        scorer_merge_remove(k->merge, parts->elems[i].topic, parts->elems[i].partition);
    if (k->merge)
        share_merge_bound(k);
    if (k->paused)
        scorer_kafka_set_paused(k, 0); /* what is left (cooperative protocol) */
    pdm_log(PDM_LOG_INFO, "revoked %d partitions (%zu left)", parts->cnt, k->assignment.n);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    scorer_kafka *k = opaque;
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        return; /* purged on purpose when stopping */
    /* Counted here, logged once per batch by the loop. */
    if (m->err && atomic_fetch_add(&k->delivery_failures, 1) == 0)
        snprintf(k->first_delivery_error, sizeof k->first_delivery_error, "%s: %s",
                 rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    scorer_kafka *k = opaque;
    if (k->hooks.stats)
        k->hooks.stats(k->hooks.ctx, json, len);
    return 0; /* librdkafka frees json */
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    pdm_log(level <= 3   ? PDM_LOG_ERROR
            : level <= 5 ? PDM_LOG_WARN
                         : PDM_LOG_DEBUG,
            "kafka %s: %s", fac, buf);
}

/* ---- configuration ---------------------------------------------------------- */

static int has_property(const pdm_kvlist *props, const char *key)
{
    for (size_t i = 0; props && i < props->count; i++)
        if (strcmp(props->keys[i], key) == 0)
            return 1;
    return 0;
}

/* A client property the scorer chooses unless -X sets it. */
static void set_default(const scorer_kafka *k, rd_kafka_conf_t *conf, const char *key,
                        const char *value)
{
    char msg[PDM_ERRSTR_SIZE];
    if (!has_property(k->cfg->kafka_props, key))
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
static void log_client_settings(const scorer_kafka *k)
{
    char v[8][32];
    pdm_log(PDM_LOG_INFO,
            "kafka clients: consumer queued.min.messages=%s fetch.wait.max.ms=%s "
            "socket.nagle.disable=%s max.partition.fetch.bytes=%s fetch.max.bytes=%s; producer "
            "linger.ms=%s socket.nagle.disable=%s compression.codec=%s",
            conf_value(k->consumer, "queued.min.messages", v[0], sizeof v[0]),
            conf_value(k->consumer, "fetch.wait.max.ms", v[1], sizeof v[1]),
            conf_value(k->consumer, "socket.nagle.disable", v[2], sizeof v[2]),
            conf_value(k->consumer, "max.partition.fetch.bytes", v[5], sizeof v[5]),
            conf_value(k->consumer, "fetch.max.bytes", v[6], sizeof v[6]),
            conf_value(k->producer, "linger.ms", v[3], sizeof v[3]),
            conf_value(k->producer, "socket.nagle.disable", v[4], sizeof v[4]),
            conf_value(k->producer, "compression.codec", v[7], sizeof v[7]));
}

/* Static or dynamic group membership, as the consumer holds it (from
 * --instance-id or -X group.instance.id): one line at start, because the two
 * fail over differently. */
static void log_membership(rd_kafka_t *consumer)
{
    char id[256], session[32];
    conf_value(consumer, "session.timeout.ms", session, sizeof session);
    if (strcmp(conf_value(consumer, "group.instance.id", id, sizeof id), "?") && *id)
        pdm_log(PDM_LOG_INFO,
                "static group membership: group.instance.id=%s session.timeout.ms=%s (a "
                "restart within the session timeout keeps the partitions; a member that stops "
                "holds them until it expires)", id, session);
    else
        pdm_log(PDM_LOG_INFO, "dynamic group membership: session.timeout.ms=%s", session);
}

static void free_message(void *msg)
{
    rd_kafka_message_destroy(msg);
}

/* With several input topics, their event-time merge. */
static int open_merge(scorer_kafka *k)
{
    size_t n_topics = 0;
    while (k->cfg->topics[n_topics])
        n_topics++;
    if (n_topics < 2)
        return 0;
    scorer_merge_config mc = {k->prefetch_bound, k->cfg->max_idle_ms, k->cfg->lateness_ms,
                              free_message};
    k->merge = scorer_merge_new(k->cfg->topics, n_topics, &mc);
    if (!k->merge)
        return -1;
    pdm_log(PDM_LOG_INFO,
            "merging %zu input topics in event time per partition (a task waits up to "
            "--max-idle %lld ms for a partition that has nothing buffered and more to come; "
            "about %zu messages buffered, shared among the assigned partitions)",
            n_topics, (long long)k->cfg->max_idle_ms, mc.bound);
    return 0;
}

static int open_consumer(scorer_kafka *k, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    const pdm_scorer_config *cfg = k->cfg;
    rd_kafka_conf_t *conf =
        pdm_kafka_conf_new_for(PDM_KAFKA_CONSUMER, cfg->brokers, "pdm-scorer", cfg->kafka_props,
                               msg, sizeof msg);
    if (!conf)
        return pdm_err(errstr, errlen, "%s", msg);
    const char *cons[][2] = {{"group.id", cfg->group},
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
    if (cfg->instance_id &&
        rd_kafka_conf_set(conf, "group.instance.id", cfg->instance_id, msg, sizeof msg) !=
            RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return pdm_err(errstr, errlen, "kafka group.instance.id: %s", msg);
    }
    /* Consumer lag per partition comes from librdkafka's statistics. */
    set_default(k, conf, "statistics.interval.ms", "5000");
    /* librdkafka's prefetch (queued.min.messages, default 100,000, counted
     * over the whole consumer queue) is most of the process's memory on a
     * backlog, about 370 bytes a message. With the fetcher woken up when the
     * queue runs low (scorer_kafka_wake_fetcher), 20,000 keeps a catch-up as
     * fast as 300,000 does (bench/README.md) in a fraction of the memory.
     * (10,000 was as fast with one topic and saved 4 MB, but changed where
     * catch-up batches end, which a rule that looks ahead only within a
     * batch is not yet indifferent to: bench/README.md, issue 21's note.) */
    int several_topics = k->cfg->topics[0] && k->cfg->topics[1];
    set_default(k, conf, "queued.min.messages", "20000");
    /* That bound decides when to fetch, not how much: a fetch response
     * (librdkafka's default up to 50 MB, 1 MB a partition) lands whole on
     * top of it, and on a backlog of small events one response was 45 MB,
     * two thirds of the peak RSS at 100,000 machines. 1 MB (about 16,000
     * telemetry events) keeps a catch-up as fast (bench/README.md). */
    set_default(k, conf, "fetch.max.bytes", "1048576");
    /* Nagle's algorithm holds a small write back until the previous one is
     * acknowledged, and with delayed ACKs that is up to 40 ms (on the
     * broker's side of the embedded cluster it made a 2,000-message flush
     * take 45 ms instead of 3, bench/README.md). A scorer's fetches,
     * produce requests and commits are small and on the latency path;
     * librdkafka leaves Nagle on by default. */
    set_default(k, conf, "socket.nagle.disable", "true");
    /* With several input topics the merge holds each partition's messages
     * until the other topics catch up in event time, and a held message
     * keeps its whole fetch response in memory; pausing a partition stops
     * only the fetches after the one in flight. Smaller fetch responses
     * per partition (librdkafka's default is 1 MB) bound what that holds:
     * about two responses a partition. */
    if (several_topics)
        set_default(k, conf, "max.partition.fetch.bytes", "262144");
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    k->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, msg, sizeof msg);
    if (!k->consumer) {
        rd_kafka_conf_destroy(conf);
        return pdm_err(errstr, errlen, "kafka consumer: %s", msg);
    }
    log_membership(k->consumer);
    rd_kafka_poll_set_consumer(k->consumer);
    k->queue = rd_kafka_queue_get_consumer(k->consumer);
    k->commit_q = rd_kafka_queue_new(k->consumer);
    if (!k->queue || !k->commit_q)
        return pdm_err(errstr, errlen, "kafka consumer: cannot create its queues");
    k->prefetch_bound = conf_size(k->consumer, "queued.min.messages", 100000);
    if (open_merge(k))
        return pdm_err(errstr, errlen, "out of memory");

    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(8);
    for (const char *const *t = cfg->topics; *t; t++)
        rd_kafka_topic_partition_list_add(topics, *t, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(k->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err)
        return pdm_err(errstr, errlen, "kafka subscribe: %s", rd_kafka_err2str(err));
    return 0;
}

static int open_producer(scorer_kafka *k, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    rd_kafka_conf_t *conf =
        pdm_kafka_conf_new_for(PDM_KAFKA_PRODUCER, k->cfg->brokers, "pdm-scorer",
                               k->cfg->kafka_props, msg, sizeof msg);
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
    set_default(k, conf, "linger.ms", "2");
    set_default(k, conf, "socket.nagle.disable", "true"); /* as the consumer's */
    /* One RiskEvent a reading with --emit all: LZ4 (cheap for the producer,
     * 2-3x smaller batches of Avro bodies that repeat their model version
     * and component names) halves what the broker copies and stores; on
     * the real-shaped catch-up the embedded broker's CPU halved and the
     * wait for its acknowledgements fell by a quarter (bench/README.md).
     * Every Kafka client reads it; -X compression.codec=none turns it off. */
    set_default(k, conf, "compression.codec", "lz4");
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, msg, sizeof msg);
    if (!k->producer) {
        rd_kafka_conf_destroy(conf);
        return pdm_err(errstr, errlen, "kafka producer: %s", msg);
    }
    k->max_message = conf_size(k->producer, "message.max.bytes", 1000000);
    return 0;
}

int scorer_kafka_open(scorer_kafka *k, const pdm_scorer_config *cfg, const atomic_int *stop,
                      const scorer_kafka_hooks *hooks, char *errstr, size_t errlen)
{
    memset(k, 0, sizeof *k);
    k->cfg = cfg;
    k->stop = stop;
    k->hooks = *hooks;
    size_t cap = cfg->batch_size > 0 ? (size_t)cfg->batch_size : 1;
    k->take_ts = malloc(2 * cap * sizeof *k->take_ts);
    k->take_part = malloc(cap * sizeof *k->take_part);
    k->take_defer = malloc(2 * cap); /* and take_pairs after it */
    if (!k->take_ts || !k->take_part || !k->take_defer)
        return pdm_err(errstr, errlen, "out of memory");
    k->take_pairs = k->take_defer + cap;
    if (open_consumer(k, errstr, errlen) || open_producer(k, errstr, errlen))
        return -1;
    log_client_settings(k);
    return 0;
}

/* rd_kafka_consumer_close(), bounded: a coordinator that does not answer
 * (an offset commit in flight) would hold it for socket.timeout.ms and more.
 * Leaving without a clean close only makes the group wait for the session
 * to time out before it rebalances. */
static void leave_group(scorer_kafka *k)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->consumer);
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(k->consumer, q);
    if (e) {
        pdm_log(PDM_LOG_WARN, "leaving the consumer group: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else {
        double deadline = pdm_monotonic_s() + CLOSE_TIMEOUT_S;
        while (!rd_kafka_consumer_closed(k->consumer) && pdm_monotonic_s() < deadline) {
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
            if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                rebalance_cb(k->consumer, rd_kafka_event_error(ev),
                             rd_kafka_event_topic_partition_list(ev), k);
            rd_kafka_event_destroy(ev);
        }
        if (!rd_kafka_consumer_closed(k->consumer))
            pdm_log(PDM_LOG_WARN, "the group coordinator did not answer in %.0f s; leaving",
                    CLOSE_TIMEOUT_S);
    }
    rd_kafka_queue_destroy(q);
}

void scorer_kafka_close(scorer_kafka *k)
{
    if (k->consumer) {
        if (k->queue)
            rd_kafka_queue_destroy(k->queue);
        if (k->commit_q)
            rd_kafka_queue_destroy(k->commit_q);
        leave_group(k);
        /* Held messages keep the client alive: freed before it is destroyed. */
        scorer_merge_destroy(k->merge);
        k->merge = NULL;
        for (size_t i = 0; i < k->assignment.n; i++)
            scorer_partition_drop_held(&k->assignment.parts[i]);
        rd_kafka_destroy_flags(k->consumer, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    if (k->producer) {
        /* Normally nothing is left (the run delivered or gave up on it). */
        if (rd_kafka_flush(k->producer, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_purge(k->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        for (size_t i = 0; i < k->n_out_topics; i++) {
            rd_kafka_topic_destroy(k->out_topics[i].rkt);
            free(k->out_topics[i].name);
        }
        k->n_out_topics = 0;
        rd_kafka_destroy(k->producer);
    }
    scorer_assignment_clear(&k->assignment);
    free(k->take_ts);
    free(k->take_part);
    free(k->take_defer);
    k->take_defer = k->take_pairs = NULL;
    k->take_ts = NULL;
    k->take_part = NULL;
    k->consumer = k->producer = NULL;
    k->queue = k->commit_q = NULL;
}

/* ---- consuming (the batch's messages: scorer_intake.c) ------------------------ */

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
void scorer_kafka_wake_fetcher(scorer_kafka *k)
{
    size_t queued = rd_kafka_queue_length(k->queue);
    const scorer_assignment *a = &k->assignment;
    if (queued >= k->prefetch_bound)
        k->prefetch_full = 1;
    if (!k->prefetch_full || queued >= k->prefetch_bound / 2 || a->n == 0 || k->paused)
        return;
    double now = pdm_monotonic_s();
    if (now - k->last_wake < 0.020)
        return;
    k->last_wake = now;
    const scorer_partition *p = &a->parts[k->wake_next++ % a->n];
    int64_t low, high;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(k->consumer, p->topic, p->partition, &low, &high, 100);
    double took = pdm_monotonic_s() - now;
    pdm_log(PDM_LOG_DEBUG, "prefetch: %zu messages queued, woke the fetcher of %s [%d] in %.0f ms: %s",
            queued, p->topic, (int)p->partition, took * 1000.0, rd_kafka_err2str(err));
    /* A slow answer means the leader was holding a fetch (a broker answers
     * a connection's requests in order, and holds a fetch up to
     * fetch.wait.max.ms only when it has nothing to send): the fetcher is
     * not asleep, the partitions are at their end, and waking it again
     * would cost that wait every turn (a scorer with batches of 16 took
     * 0.5 s a batch). Wake again only once the queue has filled up. */
    if (took > 0.050)
        k->prefetch_full = 0;
}

size_t scorer_kafka_queued(scorer_kafka *k)
{
    return rd_kafka_queue_length(k->queue);
}

/* ---- offsets ---------------------------------------------------------------- */

int scorer_kafka_stop_grace_over(const scorer_kafka *k, double *since)
{
    if (!atomic_load(k->stop))
        return 0;
    if (*since == 0)
        *since = pdm_monotonic_s();
    return pdm_monotonic_s() - *since > STOP_GRACE_S;
}

/* Its result arrives on commit_q tagged with a new commit_seq (the result
 * of one given up on may still come). */
rd_kafka_resp_err_t scorer_kafka_commit_send(scorer_kafka *k, rd_kafka_topic_partition_list_t *offs)
{
    return rd_kafka_commit_queue(k->consumer, offs, k->commit_q, NULL, (void *)++k->commit_seq);
}

rd_kafka_resp_err_t scorer_kafka_commit_wait(scorer_kafka *k)
{
    double since = 0;
    for (;;) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(k->commit_q, 100);
        if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT &&
            (uintptr_t)rd_kafka_event_opaque(ev) == k->commit_seq) {
            rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
            rd_kafka_event_destroy(ev);
            return err;
        }
        rd_kafka_event_destroy(ev); /* accepts NULL */
        if (scorer_kafka_stop_grace_over(k, &since))
            return RD_KAFKA_RESP_ERR__TIMED_OUT;
    }
}

void scorer_kafka_rewind(scorer_kafka *k, rd_kafka_topic_partition_list_t *offs)
{
    if (!offs->cnt)
        return;
    /* What was fetched after those offsets is fetched again. */
    for (int i = 0; i < offs->cnt; i++) {
        scorer_partition *p =
            scorer_assignment_find(&k->assignment, offs->elems[i].topic, offs->elems[i].partition);
        if (p) { /* last_ts stays, as in scorer_merge_drop */
            p->eof = 0;
            p->next = -1;
            scorer_partition_drop_held(p);
        }
        if (k->merge)
            scorer_merge_drop(k->merge, offs->elems[i].topic, offs->elems[i].partition);
    }
    rd_kafka_error_t *e = rd_kafka_seek_partitions(k->consumer, offs, 5000);
    if (e) {
        pdm_log(PDM_LOG_ERROR, "rewinding to consume again: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/* Pauses (pause) the started partitions not paused yet, or resumes the
 * paused ones. Partitions not started yet are left alone (resume_revoked:
 * an operation on one while librdkafka starts it can make it never fetch);
 * one that starts while the others are paused is paused when its first
 * message or end comes (note_consumed). Those the merge's bound paused are
 * started, so a pause takes them too and the resume hands them back. */
static void pause_marked(scorer_kafka *k, int pause)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    if (!parts)
        return; /* out of memory: left as they are */
    for (size_t i = 0; i < k->assignment.n; i++) {
        scorer_partition *p = &k->assignment.parts[i];
        if (pause ? p->started && !p->paused : p->paused) {
            rd_kafka_topic_partition_list_add(parts, p->topic, p->partition);
            p->paused = pause;
        }
    }
    if (parts->cnt && pause)
        rd_kafka_pause_partitions(k->consumer, parts);
    else if (parts->cnt)
        rd_kafka_resume_partitions(k->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
}

void scorer_kafka_pause_started(scorer_kafka *k)
{
    pause_marked(k, 1);
}

void scorer_kafka_set_paused(scorer_kafka *k, int pause)
{
    if (k->paused == pause)
        return;
    pause_marked(k, pause);
    k->paused = pause;
    if (!pause && k->merge) {
        /* All resumed: those over the merge's bound are paused again. */
        scorer_merge_forget_pauses(k->merge);
        scorer_kafka_merge_flow(k);
    }
}

/* ---- producing -------------------------------------------------------------- */

/* The kept handle of output topic name (made now if new); NULL if none can
 * be made (out of memory, or more output topics than the scorer has). */
static rd_kafka_topic_t *out_topic(scorer_kafka *k, const char *name)
{
    for (size_t i = 0; i < k->n_out_topics; i++)
        if (strcmp(k->out_topics[i].name, name) == 0)
            return k->out_topics[i].rkt;
    if (k->n_out_topics == SCORER_KAFKA_OUT_TOPICS)
        return NULL;
    char *copy = strdup(name);
    rd_kafka_topic_t *rkt = copy ? rd_kafka_topic_new(k->producer, name, NULL) : NULL;
    if (!rkt) {
        free(copy);
        return NULL;
    }
    k->out_topics[k->n_out_topics].name = copy;
    k->out_topics[k->n_out_topics++].rkt = rkt;
    return rkt;
}

int scorer_kafka_produce(scorer_kafka *k, const char *topic, const void *key, size_t key_len,
                         const void *payload, size_t len, rd_kafka_headers_t *headers)
{
    rd_kafka_topic_t *rkt = out_topic(k, topic);
    for (;;) {
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        if (rkt && headers)
            err = rd_kafka_producev(
                k->producer, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY(key, key_len),
                RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
        else if (rkt)
            err = rd_kafka_producev(k->producer, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY(key, key_len),
                                    RD_KAFKA_V_VALUE((void *)payload, len),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(k->producer, 50);
            continue;
        }
        if (err) {
            if (headers)
                rd_kafka_headers_destroy(headers);
            pdm_log(PDM_LOG_ERROR, "produce to %s: %s", topic, rd_kafka_err2str(err));
            atomic_fetch_add(&k->delivery_failures, 1);
            return -1;
        }
        return 0;
    }
}

void scorer_kafka_delivery_reset(scorer_kafka *k)
{
    atomic_store(&k->delivery_failures, 0);
}

long scorer_kafka_deliver(scorer_kafka *k)
{
    /* rd_kafka_flush does not linger: what is queued goes out now. */
    double since = 0;
    while (rd_kafka_outq_len(k->producer) > 0 && !atomic_load(&k->delivery_failures)) {
        if (scorer_kafka_stop_grace_over(k, &since)) {
            rd_kafka_purge(k->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            return -1;
        }
        rd_kafka_flush(k->producer, 100);
    }
    if (!atomic_load(&k->delivery_failures))
        return 0;
    rd_kafka_flush(k->producer, 10000); /* the rest of the batch's reports */
    return atomic_exchange(&k->delivery_failures, 0);
}
