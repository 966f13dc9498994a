/* producer.c: an idempotent Kafka producer of Avro-encoded events, with
 * every delivery report counted, and a pacer for replay speed.
 *
 * Each message's Kafka timestamp (CreateTime) is the event's own time, not
 * the moment it was produced: a replay of last year then looks like last
 * year to every Kafka tool (kcat's %T, Kafka Streams, ksqlDB, time-based
 * retention and offsetsForTimes), the same clock the scorer uses. */
#include "pdm_producer.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pdm_kafka.h"

struct pdm_producer {
    pdm_producer_config cfg;
    char topic[PDM_EV_COUNT][256];
    rd_kafka_t *rk;
    pdm_codec *codec;
    uint64_t sent;
    atomic_ullong delivered, failed;
    char first_error[256];
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    pdm_producer *p = opaque;
    if (m->err) {
        if (atomic_fetch_add(&p->failed, 1) == 0)
            snprintf(p->first_error, sizeof p->first_error, "%s: %s", rd_kafka_topic_name(m->rkt),
                     rd_kafka_err2str(m->err));
    } else {
        atomic_fetch_add(&p->delivered, 1);
    }
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (level <= 4)
        pdm_log(level <= 3 ? PDM_LOG_ERROR : PDM_LOG_WARN, "kafka %s: %s", fac, buf);
}

pdm_producer *pdm_producer_new(const pdm_producer_config *cfg, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    pdm_producer *p = calloc(1, sizeof *p);
    if (!p) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    p->cfg = *cfg;
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        if (cfg->topic)
            snprintf(p->topic[t], sizeof p->topic[t], "%s", cfg->topic);
        else if (cfg->topic_prefix && strcmp(cfg->topic_prefix, "pdm") != 0)
            snprintf(p->topic[t], sizeof p->topic[t], "%s%s", cfg->topic_prefix,
                     strchr(pdm_kafka_default_topic((pdm_event_type)t), '.'));
        else
            snprintf(p->topic[t], sizeof p->topic[t], "%s",
                     pdm_kafka_default_topic((pdm_event_type)t));
    }
    p->codec = pdm_codec_new(msg, sizeof msg);
    if (!p->codec) {
        pdm_err(errstr, errlen, "codec: %s", msg);
        goto fail;
    }
    for (int t = 0; t < PDM_EV_COUNT; t++)
        if (cfg->schema_ids[t] > 0)
            pdm_codec_set_schema_id(p->codec, (pdm_event_type)t, cfg->schema_ids[t]);
    rd_kafka_conf_t *conf =
        pdm_kafka_conf_new_for(PDM_KAFKA_PRODUCER, cfg->brokers, "pdm-producer", cfg->kafka_props,
                               msg, sizeof msg);
    if (!conf) {
        pdm_err(errstr, errlen, "%s", msg);
        goto fail;
    }
    const char *props[][2] = {
        {"enable.idempotence", "true"}, {"linger.ms", "5"}, {"batch.num.messages", "10000"}};
    for (size_t i = 0; i < sizeof props / sizeof *props; i++) {
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], msg, sizeof msg)) {
            rd_kafka_conf_destroy(conf);
            pdm_err(errstr, errlen, "kafka %s: %s", props[i][0], msg);
            goto fail;
        }
    }
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, msg, sizeof msg);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        pdm_err(errstr, errlen, "kafka producer: %s", msg);
        goto fail;
    }
    return p;
fail:
    pdm_producer_destroy(p);
    return NULL;
}

/* A metadata request naming the topic: the broker auto-creates it where it
 * allows that. Without it, librdkafka, which has just seen the topic
 * missing from the cluster's list, waits for its next metadata refresh
 * (about a second) before the first message. */
static void ask_for_topic(pdm_producer *p, const char *name, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, name, NULL);
    if (rkt && rd_kafka_metadata(p->rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
}

int pdm_producer_create_topics(pdm_producer *p, int partitions, int replication_factor,
                               int timeout_ms, pdm_topic_spec *specs, pdm_topic_status *status,
                               size_t *n, char *errstr, size_t errlen)
{
    *n = 0;
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        if (t == PDM_EV_RISK)
            continue; /* the scorer's output, never produced here */
        size_t i = 0;
        while (i < *n && strcmp(specs[i].name, p->topic[t]) != 0)
            i++;
        if (i == *n) {
            specs[i] = (pdm_topic_spec){.name = p->topic[t],
                                        .partitions = partitions,
                                        .replication_factor = replication_factor,
                                        .compact = t == PDM_EV_MACHINE};
            (*n)++;
        } else {
            specs[i].compact = 0; /* shared with other types */
        }
    }
    int rc = pdm_kafka_create_topics(p->rk, specs, *n, timeout_ms, status, errstr, errlen);
    for (size_t i = 0; i < *n; i++)
        if (status[i].outcome == PDM_TOPIC_NOT_CREATED)
            ask_for_topic(p, specs[i].name, timeout_ms);
    return rc;
}

static int stopping(const pdm_producer *p)
{
    return p->cfg.stop && atomic_load(p->cfg.stop);
}

int pdm_producer_send(pdm_producer *p, const pdm_event *ev, char *errstr, size_t errlen)
{
    char buf[PDM_MAX_ENCODED], key[16];
    if ((unsigned)ev->type >= PDM_EV_COUNT)
        return pdm_err(errstr, errlen, "unknown event type %d", (int)ev->type);
    int len = pdm_codec_encode(p->codec, ev, p->cfg.format, buf, sizeof buf, errstr, errlen);
    if (len < 0)
        return -1;
    int klen = snprintf(key, sizeof key, "%d", (int)ev->machine_id);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(p->topic[ev->type]), RD_KAFKA_V_KEY(key, (size_t)klen),
            RD_KAFKA_V_VALUE(buf, (size_t)len), RD_KAFKA_V_TIMESTAMP(ev->ts),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (stopping(p))
                return pdm_err(errstr, errlen, "stopped while the producer's queue was full");
            rd_kafka_poll(p->rk, 10);
            continue;
        }
        if (err)
            return pdm_err(errstr, errlen, "produce to %s: %s", p->topic[ev->type],
                           rd_kafka_err2str(err));
        p->sent++;
        return 0;
    }
}

void pdm_producer_poll(pdm_producer *p)
{
    rd_kafka_poll(p->rk, 0);
}

int pdm_producer_flush(pdm_producer *p, int timeout_ms, char *errstr, size_t errlen)
{
    double now = pdm_monotonic_s(), stop_at = -1;
    double deadline = timeout_ms < 0 ? HUGE_VAL : now + timeout_ms / 1000.0;
    rd_kafka_resp_err_t err;
    /* In slices, so that a stop request cuts the wait short. */
    while ((err = rd_kafka_flush(p->rk, 100)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        now = pdm_monotonic_s();
        if (stop_at < 0 && stopping(p))
            stop_at = now + PDM_PRODUCER_STOP_GRACE_MS / 1000.0;
        if (now >= deadline || (stop_at >= 0 && now >= stop_at))
            break;
    }
    int left = rd_kafka_outq_len(p->rk);
    if (err && stop_at >= 0) {
        /* Dropped: their delivery reports count them as failed. */
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(p->rk, 100);
        return pdm_err(errstr, errlen, "stopped: %d of %llu messages not delivered", left,
                       (unsigned long long)p->sent);
    }
    unsigned long long failed = atomic_load(&p->failed);
    if (failed)
        return pdm_err(errstr, errlen, "%llu of %llu messages not delivered (first: %s)", failed,
                       (unsigned long long)p->sent, p->first_error);
    if (err)
        return pdm_err(errstr, errlen, "%d messages still undelivered after %d ms", left,
                       timeout_ms);
    return 0;
}

void pdm_producer_counts(const pdm_producer *p, uint64_t *sent, uint64_t *delivered,
                         uint64_t *failed)
{
    *sent = p->sent;
    *delivered = atomic_load(&((pdm_producer *)p)->delivered);
    *failed = atomic_load(&((pdm_producer *)p)->failed);
}

void pdm_producer_destroy(pdm_producer *p)
{
    if (!p)
        return;
    if (p->rk)
        rd_kafka_destroy(p->rk);
    pdm_codec_destroy(p->codec);
    free(p);
}

void pdm_pacer_init(pdm_pacer *pc, double speed, double rate)
{
    memset(pc, 0, sizeof *pc);
    pc->speed = speed;
    pc->rate = rate;
}

double pdm_pacer_wait(pdm_pacer *pc, int64_t ts)
{
    double now = pdm_monotonic_s();
    if (pc->n++ == 0) {
        pc->t0_wall = now;
        pc->t0_event = ts;
        return 0;
    }
    double due;
    if (pc->speed > 0)
        due = pc->t0_wall + (double)(ts - pc->t0_event) / 1000.0 / pc->speed;
    else if (pc->rate > 0)
        due = pc->t0_wall + (double)(pc->n - 1) / pc->rate;
    else
        return 0;
    double wait = due - now;
    if (wait <= 0)
        return 0;
    struct timespec req = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
    nanosleep(&req, NULL);
    return wait;
}
