/* bench-stream-raw: the Kafka ceilings the streaming scorer runs under.
 *
 *   bench-stream-raw consume --brokers B --topic T
 *     Checks the topic's watermarks (a low watermark above 0 means the
 *     mock cluster's retention dropped messages), then reads the whole
 *     topic --runs times with a minimal consumer: assign every partition
 *     from the beginning, rd_kafka_consume_batch_queue in batches of
 *     --batch, nothing else. The rate is messages over the time from the
 *     first message to the last; the median run is reported.
 *   bench-stream-raw produce --brokers B --topic T
 *     The scorer's output pattern alone: batches of --batch RiskEvents
 *     (encoded with the codec, key = machine id over --machines machines),
 *     idempotent producer with the scorer's linger.ms and Nagle off, then
 *     rd_kafka_flush per batch. Reports the median flush time and the
 *     messages per second.
 *
 *   bench-stream-raw echo --brokers B --topic T --out O
 *     The latency floor of the scorer's path: a consumer group member that
 *     forwards every message of T unchanged (same key and value) to O,
 *     with the scorer's loop shape (block for a first message, then give
 *     the batch --max-wait-ms to fill; once caught up, i.e. the batch did
 *     not fill or nothing is queued, flush the output rather than leave
 *     it to linger) and its clients' settings (the same librdkafka
 *     defaults, -X properties and linger.ms), but no decoding, state,
 *     model or commit per batch (offsets are auto-committed). Run beside
 *     bench-stream-latency, whose receiver matches forwarded telemetry
 *     events as it matches RiskEvents. Runs until SIGINT or SIGTERM.
 *
 * Results go to stdout as "result NAME=VALUE ..." lines (for bench/stream.sh)
 * after human-readable lines. Not a test: nothing here asserts.
 */
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "pdm_common.h"
#include "pdm_kafka.h"
#include "pdm_schemas.h"
#include "bench_util.h"

typedef struct {
    char *brokers;
    char *topic;
    long long runs;
    long long batch;
    long long batches;
    long long machines;
    char *linger;
    char *out;
    long long max_wait_ms;
    pdm_kvlist props;
} raw_cfg;

#define O(f) offsetof(raw_cfg, f)
static const pdm_option options[] = {
    {"brokers", 'b', "PDM_BROKERS", PDM_OPT_STRING, O(brokers), "localhost:9092", "HOSTS",
     "Kafka bootstrap servers.", 0},
    {"topic", 't', NULL, PDM_OPT_STRING, O(topic), "pdm.events", "TOPIC",
     "Topic to read (consume) or write (produce).", 0},
    {"runs", 'r', NULL, PDM_OPT_INT, O(runs), "3", "N", "Runs; the median is reported.", 0},
    {"batch", 'n', NULL, PDM_OPT_INT, O(batch), "1000", "N",
     "consume: messages per rd_kafka_consume_batch_queue call; produce: messages per flush.",
     0},
    {"batches", 0, NULL, PDM_OPT_INT, O(batches), "100", "N", "produce: batches per run.", 0},
    {"machines", 'm', NULL, PDM_OPT_INT, O(machines), "100", "N",
     "produce: distinct keys (machine ids), as in the backlog.", 0},
    {"linger", 0, NULL, PDM_OPT_STRING, O(linger), "2", "MS",
     "produce: linger.ms (the scorer's producer uses 2).", 0},
    {"out", 'o', NULL, PDM_OPT_STRING, O(out), "pdm.risk", "TOPIC",
     "echo: topic the messages are forwarded to.", 0},
    {"max-wait-ms", 0, NULL, PDM_OPT_INT, O(max_wait_ms), "0", "MS",
     "echo: how long a batch waits to fill once its first message is there (the scorer's "
     "--max-wait default).", 0},
    {"property", 'X', NULL, PDM_OPT_KV, O(props), NULL, "KEY=VALUE",
     "librdkafka property (repeatable).", 0},
    PDM_OPTIONS_END,
};


static int partition_count(rd_kafka_t *rk, const char *topic, int *out, char *errstr,
                           size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int rc = -1;
    if (!rkt)
        return pdm_err(errstr, errlen, "topic %s: %s", topic,
                       rd_kafka_err2str(rd_kafka_last_error()));
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (err) {
        pdm_err(errstr, errlen, "metadata of %s: %s", topic, rd_kafka_err2str(err));
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1) {
        pdm_err(errstr, errlen, "topic %s: %s", topic,
                md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
        goto out;
    }
    *out = md->topics[0].partition_cnt;
    rc = 0;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

/* Counts the messages a producer could not deliver (the reports are served
 * by rd_kafka_poll and rd_kafka_flush, on the producing thread). */
typedef struct {
    long long failed;
} produce_state;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    produce_state *st = opaque;
    if (m->err)
        st->failed++;
}

/* A client with the benchmark's settings, then extra, then -X; a producer
 * given a produce_state gets delivery reports counted into it (and
 * rd_kafka_flush returns as soon as the last report is in, not up to 10 ms
 * later as without a report callback). */
static rd_kafka_t *client_new(const raw_cfg *cfg, rd_kafka_type_t type, const char *const (*extra)[2],
                              size_t n_extra, produce_state *reports, char *errstr,
                              size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    rd_kafka_conf_t *conf = pdm_kafka_conf_new(cfg->brokers, "bench-stream-raw", NULL, msg,
                                               sizeof msg);
    if (!conf) {
        pdm_err(errstr, errlen, "%s", msg);
        return NULL;
    }
    for (size_t i = 0; i < n_extra; i++) {
        if (rd_kafka_conf_set(conf, extra[i][0], extra[i][1], msg, sizeof msg) !=
            RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            pdm_err(errstr, errlen, "%s: %s", extra[i][0], msg);
            return NULL;
        }
    }
    if (pdm_kafka_conf_apply(conf, &cfg->props, msg, sizeof msg)) {
        rd_kafka_conf_destroy(conf);
        pdm_err(errstr, errlen, "%s", msg);
        return NULL;
    }
    if (reports) {
        rd_kafka_conf_set_opaque(conf, reports);
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, msg, sizeof msg);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        pdm_err(errstr, errlen, "%s", msg);
    }
    return rk;
}

/* ---- consume ---------------------------------------------------------------- */

typedef struct {
    long long messages;
    double bytes;
    double seconds; /* first message to last */
} consume_run;

static int consume_once(const raw_cfg *cfg, int partitions, consume_run *res, char *errstr,
                        size_t errlen)
{
    /* fetch.wait.max.ms: the mock cluster holds an empty fetch response for
     * that long even when data arrives meanwhile; keep the tail short. */
    static const char *const extra[][2] = {{"group.id", "bench-stream-raw"},
                                           {"enable.auto.commit", "false"},
                                           {"enable.partition.eof", "true"},
                                           {"fetch.wait.max.ms", "10"}};
    rd_kafka_message_t **msgs = malloc((size_t)cfg->batch * sizeof *msgs);
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_queue_t *q = NULL;
    int rc = -1, at_end = 0;
    rd_kafka_t *rk = client_new(cfg, RD_KAFKA_CONSUMER, extra, sizeof extra / sizeof *extra,
                                NULL, errstr, errlen);
    if (!rk || !msgs)
        goto out;
    parts = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(parts, cfg->topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, parts);
    if (err) {
        pdm_err(errstr, errlen, "assign: %s", rd_kafka_err2str(err));
        goto out;
    }
    q = rd_kafka_queue_get_consumer(rk);
    memset(res, 0, sizeof *res);
    double first = 0, last = 0, deadline = pdm_monotonic_s() + 120;
    while (at_end < partitions) {
        if (pdm_monotonic_s() > deadline) {
            pdm_err(errstr, errlen, "not at the end of %s after 120 s", cfg->topic);
            goto out;
        }
        ssize_t got = rd_kafka_consume_batch_queue(q, 1000, msgs, (size_t)cfg->batch);
        for (ssize_t i = 0; i < got; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                at_end++;
            } else if (m->err) {
                fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
            } else {
                if (!res->messages)
                    first = pdm_monotonic_s();
                res->messages++;
                res->bytes += (double)m->len + (double)m->key_len;
            }
            rd_kafka_message_destroy(m);
        }
        if (got > 0 && res->messages)
            last = pdm_monotonic_s();
    }
    res->seconds = last - first;
    rc = 0;
out:
    free(msgs);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (q)
        rd_kafka_queue_destroy(q);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return rc;
}

static int run_consume(const raw_cfg *cfg, char *errstr, size_t errlen)
{
    int partitions = 0, rc = -1;
    long long low_sum = 0, available = 0, lowest_high = -1, highest_high = 0;
    double *rates = calloc((size_t)cfg->runs, sizeof *rates);
    consume_run r = {0};
    rd_kafka_t *rk = client_new(cfg, RD_KAFKA_PRODUCER, NULL, 0, NULL, errstr, errlen);
    if (!rk || !rates)
        goto out;
    if (partition_count(rk, cfg->topic, &partitions, errstr, errlen))
        goto out;
    for (int p = 0; p < partitions; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, cfg->topic, p, &lo, &hi, 10000);
        if (err) {
            pdm_err(errstr, errlen, "watermarks of %s [%d]: %s", cfg->topic, p,
                    rd_kafka_err2str(err));
            goto out;
        }
        low_sum += lo;
        available += hi - lo;
        if (lowest_high < 0 || hi < lowest_high)
            lowest_high = hi;
        if (hi > highest_high)
            highest_high = hi;
    }
    printf("%s: %d partitions, %lld messages held (per partition %lld..%lld), %lld deleted by "
           "retention (sum of low watermarks)\n",
           cfg->topic, partitions, available, lowest_high, highest_high, low_sum);
    for (long long i = 0; i < cfg->runs; i++) {
        if (consume_once(cfg, partitions, &r, errstr, errlen))
            goto out;
        rates[i] = r.seconds > 0 ? (double)r.messages / r.seconds : 0;
        printf("  run %lld: %lld messages, %.1f MB in %.3f s: %.0f msgs/s\n", i + 1, r.messages,
               r.bytes / 1e6, r.seconds, rates[i]);
        if (r.messages != available)
            printf("  run %lld read %lld messages, the watermarks say %lld\n", i + 1, r.messages,
                   available);
    }
    double med = bench_median(rates, (int)cfg->runs);
    printf("raw consume, batches of %lld: median %.0f msgs/s over %lld runs\n", cfg->batch, med,
           cfg->runs);
    printf("result raw_partitions=%d raw_messages=%lld raw_deleted=%lld raw_read=%lld "
           "raw_consume_rate=%.0f raw_mb=%.1f raw_max_partition=%lld\n",
           partitions, available, low_sum, r.messages, med, r.bytes / 1e6, highest_high);
    rc = 0;
out:
    free(rates);
    if (rk)
        rd_kafka_destroy(rk);
    return rc;
}

/* ---- produce ------------------------------------------------------------------ */

static int run_produce(const raw_cfg *cfg, char *errstr, size_t errlen)
{
    const char *const extra[][2] = {{"enable.idempotence", "true"},
                                    {"socket.nagle.disable", "true"},
                                    {"linger.ms", cfg->linger}};
    char msg[PDM_ERRSTR_SIZE];
    produce_state st = {0};
    int rc = -1;
    double *flush_ms = calloc((size_t)cfg->batches, sizeof *flush_ms);
    double *rates = calloc((size_t)cfg->runs, sizeof *rates);
    pdm_codec *codec = pdm_codec_new(msg, sizeof msg);
    rd_kafka_t *rk = NULL;
    if (!flush_ms || !rates || !codec) {
        pdm_err(errstr, errlen, "setup: %s", codec ? "out of memory" : msg);
        goto out;
    }
    rk = client_new(cfg, RD_KAFKA_PRODUCER, extra, sizeof extra / sizeof *extra, &st, errstr,
                    errlen);
    if (!rk)
        goto out;

    /* A typical alert: three reasons, as the scorer's largest messages. */
    pdm_risk risk = {.risk = 0.91, .component_prob = {0.7, 0.1, 0.06, 0.05},
                     .level = PDM_LEVEL_CRITICAL, .n_reasons = 3};
    snprintf(risk.model_version, sizeof risk.model_version, "0123456789ab");
    pdm_risk_no_incident(&risk);
    for (int i = 0; i < PDM_N_REASONS; i++) {
        snprintf(risk.reasons[i].feature, sizeof risk.reasons[i].feature, "vibration_mean_24h");
        risk.reasons[i].value = 41.5 + i;
        risk.reasons[i].contribution = 0.8 - 0.2 * i;
    }
    int64_t ts = INT64_C(1420092000000);
    double payload_bytes = 0;
    long long sent = 0;
    for (long long run = 0; run < cfg->runs; run++) {
        double t_run = pdm_monotonic_s();
        for (long long b = 0; b < cfg->batches; b++) {
            for (long long i = 0; i < cfg->batch; i++) {
                char buf[PDM_MAX_ENCODED], key[16];
                int32_t machine = (int32_t)(sent % cfg->machines) + 1;
                pdm_event ev = {.type = PDM_EV_RISK, .machine_id = machine, .ts = ts};
                snprintf(risk.event_id, sizeof risk.event_id, "%d-%lld-%.12s", (int)machine,
                         (long long)ts, risk.model_version);
                risk.scored_at = pdm_now_ms();
                ev.u.risk = &risk;
                int len = pdm_codec_encode(codec, &ev, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, msg,
                                           sizeof msg);
                if (len < 0) {
                    pdm_err(errstr, errlen, "encode: %s", msg);
                    goto out;
                }
                int klen = snprintf(key, sizeof key, "%d", (int)machine);
                rd_kafka_resp_err_t err;
                while ((err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(cfg->topic),
                                                RD_KAFKA_V_KEY(key, (size_t)klen),
                                                RD_KAFKA_V_VALUE(buf, (size_t)len),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                    rd_kafka_poll(rk, 10);
                if (err) {
                    pdm_err(errstr, errlen, "produce: %s", rd_kafka_err2str(err));
                    goto out;
                }
                payload_bytes += len;
                sent++;
                if (sent % cfg->machines == 0)
                    ts += PDM_MS_PER_HOUR;
            }
            double t0 = pdm_monotonic_s();
            rd_kafka_flush(rk, 10000);
            flush_ms[b] = (pdm_monotonic_s() - t0) * 1e3;
        }
        double el = pdm_monotonic_s() - t_run;
        rates[run] = (double)(cfg->batch * cfg->batches) / el;
        printf("  run %lld: %lld batches of %lld: %.0f msgs/s, median flush %.2f ms\n", run + 1,
               cfg->batches, cfg->batch, rates[run], bench_median(flush_ms, (int)cfg->batches));
    }
    if (st.failed) {
        pdm_err(errstr, errlen, "%lld messages not delivered", st.failed);
        goto out;
    }
    double med_flush = bench_median(flush_ms, (int)cfg->batches); /* of the last run */
    double med = bench_median(rates, (int)cfg->runs);
    printf("produce + flush per batch of %lld to %s (%.0f-byte RiskEvents, %lld keys): median "
           "%.0f msgs/s, flush %.2f ms\n",
           cfg->batch, cfg->topic, payload_bytes / (double)sent, cfg->machines, med, med_flush);
    printf("result produce_rate=%.0f produce_flush_ms=%.2f produce_msg_bytes=%.0f\n", med,
           med_flush, payload_bytes / (double)sent);
    rc = 0;
out:
    free(flush_ms);
    free(rates);
    pdm_codec_destroy(codec);
    if (rk) {
        rd_kafka_flush(rk, 10000);
        rd_kafka_destroy(rk);
    }
    return rc;
}

/* ---- echo --------------------------------------------------------------------- */

static atomic_int echo_stop;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&echo_stop, 1);
}

static int run_echo(const raw_cfg *cfg, char *errstr, size_t errlen)
{
    /* The scorer's consumer settings that matter for latency (the rest are
     * librdkafka's defaults, as in the scorer). */
    static const char *const cons_extra[][2] = {{"group.id", "bench-stream-echo"},
                                                {"socket.nagle.disable", "true"},
                                                {"queued.min.messages", "20000"}};
    const char *const prod_extra[][2] = {{"enable.idempotence", "true"},
                                         {"socket.nagle.disable", "true"},
                                         {"linger.ms", cfg->linger}};
    size_t cap = (size_t)cfg->batch;
    rd_kafka_message_t **msgs = malloc(cap * sizeof *msgs);
    produce_state reports = {0};
    rd_kafka_t *cons = client_new(cfg, RD_KAFKA_CONSUMER, cons_extra,
                                  sizeof cons_extra / sizeof *cons_extra, NULL, errstr, errlen);
    rd_kafka_t *prod = cons ? client_new(cfg, RD_KAFKA_PRODUCER, prod_extra,
                                         sizeof prod_extra / sizeof *prod_extra, &reports, errstr,
                                         errlen)
                            : NULL;
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_queue_t *q = NULL;
    long long forwarded = 0, failed = 0;
    int rc = -1, last_full = 0, unflushed = 0;
    if (!msgs || !cons || !prod)
        goto out;
    rd_kafka_poll_set_consumer(cons);
    rd_kafka_topic_partition_list_add(topics, cfg->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(cons, topics);
    if (err) {
        pdm_err(errstr, errlen, "subscribe %s: %s", cfg->topic, rd_kafka_err2str(err));
        goto out;
    }
    q = rd_kafka_queue_get_consumer(cons);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    fprintf(stderr, "bench-stream-raw: echoing %s to %s\n", cfg->topic, cfg->out);
    while (!atomic_load(&echo_stop)) {
        ssize_t got = 0;
        if (unflushed && (!last_full || rd_kafka_queue_length(q) == 0)) {
            rd_kafka_flush(prod, 1000); /* as the scorer delivers when caught up */
            unflushed = 0;
        }
        msgs[0] = rd_kafka_consume_queue(q, 200);
        if (msgs[0]) {
            ssize_t more = cap > 1 ? rd_kafka_consume_batch_queue(q, (int)cfg->max_wait_ms,
                                                                  msgs + 1, cap - 1)
                                   : 0;
            got = 1 + (more > 0 ? more : 0);
        }
        last_full = (size_t)got == cap;
        for (ssize_t i = 0; i < got; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (!m->err) {
                while ((err = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(cfg->out),
                                                RD_KAFKA_V_KEY(m->key, m->key_len),
                                                RD_KAFKA_V_VALUE(m->payload, m->len),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                    rd_kafka_poll(prod, 10);
                if (err) {
                    failed++;
                } else {
                    forwarded++;
                    unflushed = 1;
                }
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_poll(prod, 0);
    }
    rd_kafka_flush(prod, 5000);
    printf("echo: %lld messages forwarded, %lld refused, %lld not delivered\n", forwarded, failed,
           reports.failed);
    rc = 0;
out:
    free(msgs);
    rd_kafka_topic_partition_list_destroy(topics);
    if (q)
        rd_kafka_queue_destroy(q);
    if (cons) {
        rd_kafka_consumer_close(cons);
        rd_kafka_destroy(cons);
    }
    if (prod)
        rd_kafka_destroy(prod);
    return rc;
}

int main(int argc, char **argv)
{
    raw_cfg cfg = {0};
    char err[PDM_ERRSTR_SIZE];
    int npos = 0, help = 0, rc = 2;
    const char *usage =
        "usage: bench-stream-raw consume|produce|echo --brokers B --topic T [options]";
    if (pdm_options_parse(options, &cfg, argc, argv, &npos, &help, err, sizeof err)) {
        fprintf(stderr, "bench-stream-raw: %s\n", err);
        goto out;
    }
    if (help) {
        pdm_options_help(stdout, usage, options);
        rc = 0;
        goto out;
    }
    if (npos != 1 ||
        (strcmp(argv[1], "consume") && strcmp(argv[1], "produce") && strcmp(argv[1], "echo"))) {
        fprintf(stderr, "%s\n", usage);
        goto out;
    }
    if (cfg.runs < 1 || cfg.runs > 99 || cfg.batch < 1 || cfg.batches < 1 || cfg.machines < 1 ||
        cfg.max_wait_ms < 0) {
        fprintf(stderr, "bench-stream-raw: --runs 1..99, --batch, --batches, --machines >= 1, "
                        "--max-wait-ms >= 0\n");
        goto out;
    }
    rc = !strcmp(argv[1], "consume")   ? run_consume(&cfg, err, sizeof err)
         : !strcmp(argv[1], "produce") ? run_produce(&cfg, err, sizeof err)
                                       : run_echo(&cfg, err, sizeof err);
    if (rc) {
        fprintf(stderr, "bench-stream-raw: %s\n", err);
        rc = 1;
    }
out:
    pdm_options_free(options, &cfg);
    return rc;
}
