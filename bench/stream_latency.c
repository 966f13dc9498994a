/* bench-stream-latency: produce-to-RiskEvent latency of a running pdm-scorer.
 *
 * One thread produces a simulated fleet (pdm_sim: machine info, maintenance
 * history, then hour by hour telemetry, errors and maintenance; Avro via the
 * codec, key = machine id, as pdm-producer sends them) at a steady --rate
 * into --topic; another consumes --risk-topic from its current end. The
 * scorer under test (started by the caller with --emit all) turns every
 * telemetry event into a RiskEvent with the same (machine_id, ts), so each
 * RiskEvent is matched to the moment its telemetry event was handed to
 * librdkafka. Both clients turn Nagle's algorithm off, as pdm-scorer and
 * pdm-broker do (with it, a small request can wait up to 40 ms for a
 * delayed ACK, which would not be the scorer's). Events sent during the
 * first --warmup seconds are not measured; those sent during the next
 * --duration seconds are. Latency runs
 * from rd_kafka_producev to the RiskEvent arriving at the consumer, both
 * read from one monotonic clock.
 *
 * The event time runs faster than the wall clock (each machine sends one
 * telemetry point per simulated hour), so per-machine state has the usual
 * shape: 24 hourly points in the long window.
 *
 * Results go to stdout as "result NAME=VALUE ..." (for bench/stream.sh).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "pdm_common.h"
#include "pdm_dataset.h"
#include "pdm_kafka.h"
#include "pdm_schemas.h"
#include "bench_util.h"

typedef struct {
    char *brokers;
    char *topic;
    int per_type;
    char *risk_topic;
    double rate;
    double warmup;
    double duration;
    double drain;
    long long machines;
    long long seed;
    char *linger;
    char *label;
    pdm_kvlist props;
} lat_cfg;

#define O(f) offsetof(lat_cfg, f)
static const pdm_option options[] = {
    {"brokers", 'b', "PDM_BROKERS", PDM_OPT_STRING, O(brokers), "localhost:9092", "HOSTS",
     "Kafka bootstrap servers.", 0},
    {"topic", 't', NULL, PDM_OPT_STRING, O(topic), "pdm.events", "TOPIC",
     "Topic the scorer reads (every event type on it).", 0},
    {"per-type", 0, NULL, PDM_OPT_BOOL, O(per_type), "false", NULL,
     "Send each event to its type's default topic (pdm.telemetry, pdm.errors, ...: the "
     "scorer's default layout, merged in event time) instead of --topic.",
     0},
    {"risk-topic", 0, NULL, PDM_OPT_STRING, O(risk_topic), "pdm.risk", "TOPIC",
     "Topic the scorer writes RiskEvents to.", 0},
    {"rate", 'R', NULL, PDM_OPT_DOUBLE, O(rate), "20000", "N", "Events per second.", 0},
    {"warmup", 'w', NULL, PDM_OPT_DOUBLE, O(warmup), "5", "S", "Seconds sent but not measured.",
     0},
    {"duration", 'd', NULL, PDM_OPT_DOUBLE, O(duration), "30", "S",
     "Seconds of measured sending after the warm-up.", 0},
    {"drain", 0, NULL, PDM_OPT_DOUBLE, O(drain), "10", "S",
     "Seconds to wait for outstanding RiskEvents after sending stops.", 0},
    {"machines", 'm', NULL, PDM_OPT_INT, O(machines), "10000", "N", "Simulated fleet size.", 0},
    {"seed", 0, NULL, PDM_OPT_INT, O(seed), "7", "S", "Simulator seed.", 0},
    {"linger", 0, NULL, PDM_OPT_STRING, O(linger), "0", "MS",
     "linger.ms of the load producer (pdm-producer uses 5; 0 keeps it out of the figure).", 0},
    {"label", 0, NULL, PDM_OPT_STRING, O(label), "lat", "NAME",
     "Prefix of the result names (lat_p99, ...; e.g. echo for the bench-stream-raw echo floor).",
     0},
    {"property", 'X', NULL, PDM_OPT_KV, O(props), NULL, "KEY=VALUE",
     "librdkafka property for the load producer and the risk consumer (repeatable).", 0},
    PDM_OPTIONS_END,
};

/* What the two threads share. sent_ns[slot] is 0 for an event that is not
 * measured, its send time while a RiskEvent is awaited, -1 once matched. */
typedef struct {
    const lat_cfg *cfg;
    int64_t start_ms;
    int64_t hours;
    _Atomic int64_t *sent_ns;
    size_t n_slots;
    atomic_int sending_done;
    atomic_llong measured; /* telemetry events sent in the window */
    atomic_llong matched;
    atomic_int stop;
    /* receiver only */
    double *lat_ms;
    size_t n_lat, cap_lat;
    long long received, unmatched, duplicates, bad, other;
    long long levels[3]; /* RiskEvents by level: OK, WARN, CRITICAL */
    char err[PDM_ERRSTR_SIZE];
    int failed;
} lat_run;

static int64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static long slot_of(const lat_run *r, int32_t machine, int64_t ts)
{
    if (machine < 1 || machine > r->cfg->machines || ts < r->start_ms ||
        (ts - r->start_ms) % PDM_MS_PER_HOUR)
        return -1;
    int64_t h = (ts - r->start_ms) / PDM_MS_PER_HOUR;
    if (h >= r->hours)
        return -1;
    return (long)(h * r->cfg->machines + machine - 1);
}

/* Nearest-rank percentile of sorted v. */
static double percentile(const double *v, size_t n, double p)
{
    if (!n)
        return NAN;
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    return v[k ? k - 1 : 0];
}

static rd_kafka_conf_t *conf_new(const lat_cfg *cfg, const char *const (*extra)[2], size_t n,
                                 char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    rd_kafka_conf_t *conf = pdm_kafka_conf_new(cfg->brokers, "bench-stream-latency", NULL, msg,
                                               sizeof msg);
    if (!conf) {
        pdm_err(errstr, errlen, "%s", msg);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_conf_set(conf, extra[i][0], extra[i][1], msg, sizeof msg) !=
            RD_KAFKA_CONF_OK) {
            pdm_err(errstr, errlen, "%s: %s", extra[i][0], msg);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    if (pdm_kafka_conf_apply(conf, &cfg->props, msg, sizeof msg)) {
        pdm_err(errstr, errlen, "%s", msg);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* ---- receiver ------------------------------------------------------------------ */

/* Assigns every partition of the risk topic at its current end (read
 * before any event is sent, so no RiskEvent of this run is skipped). */
static rd_kafka_t *receiver_new(lat_run *r, char *errstr, size_t errlen)
{
    /* fetch.wait.max.ms: the mock cluster holds an empty fetch response for
     * that long even when data arrives meanwhile (a real broker answers as
     * soon as data is there); 1 ms bounds what the consumer adds. */
    static const char *const extra[][2] = {{"group.id", "bench-stream-latency"},
                                           {"socket.nagle.disable", "true"},
                                           {"enable.auto.commit", "false"},
                                           {"fetch.wait.max.ms", "1"}};
    char msg[PDM_ERRSTR_SIZE];
    rd_kafka_conf_t *conf = conf_new(r->cfg, extra, sizeof extra / sizeof *extra, errstr, errlen);
    if (!conf)
        return NULL;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, msg, sizeof msg);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        pdm_err(errstr, errlen, "consumer: %s", msg);
        return NULL;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, r->cfg->risk_topic, NULL);
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t err = rkt ? rd_kafka_metadata(rk, 0, rkt, &md, 10000)
                                  : rd_kafka_last_error();
    if (!err && (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1))
        err = md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (err) {
        pdm_err(errstr, errlen, "metadata of %s: %s", r->cfg->risk_topic, rd_kafka_err2str(err));
        goto fail;
    }
    int np = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++) {
        int64_t lo, hi;
        err = rd_kafka_query_watermark_offsets(rk, r->cfg->risk_topic, p, &lo, &hi, 10000);
        if (err) {
            pdm_err(errstr, errlen, "watermarks of %s [%d]: %s", r->cfg->risk_topic, p,
                    rd_kafka_err2str(err));
            goto fail;
        }
        rd_kafka_topic_partition_list_add(parts, r->cfg->risk_topic, p)->offset = hi;
    }
    err = rd_kafka_assign(rk, parts);
    if (err) {
        pdm_err(errstr, errlen, "assign: %s", rd_kafka_err2str(err));
        goto fail;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rk;
fail:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return NULL;
}

typedef struct {
    lat_run *run;
    rd_kafka_t *rk;
} receiver_arg;

static void record(lat_run *r, double ms)
{
    if (r->n_lat == r->cap_lat) {
        size_t cap = r->cap_lat ? 2 * r->cap_lat : 65536;
        double *p = realloc(r->lat_ms, cap * sizeof *p);
        if (!p) {
            r->failed = 1;
            snprintf(r->err, sizeof r->err, "out of memory");
            return;
        }
        r->lat_ms = p;
        r->cap_lat = cap;
    }
    r->lat_ms[r->n_lat++] = ms;
}

static void *receiver_main(void *opaque)
{
    receiver_arg *a = opaque;
    lat_run *r = a->run;
    char msg[PDM_ERRSTR_SIZE];
    pdm_codec *codec = pdm_codec_new(msg, sizeof msg);
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(a->rk);
    if (!codec) {
        r->failed = 1;
        snprintf(r->err, sizeof r->err, "codec: %.400s", msg);
        atomic_store(&r->stop, 1);
    }
    while (!atomic_load(&r->stop)) {
        rd_kafka_message_t *m = rd_kafka_consume_queue(q, 100);
        int64_t now = mono_ns();
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fprintf(stderr, "bench-stream-latency: consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        pdm_event ev;
        r->received++;
        if (pdm_codec_decode(codec, m->payload, m->len, &ev, msg, sizeof msg) != PDM_DECODE_OK) {
            r->bad++;
        } else if (ev.type != PDM_EV_RISK && ev.type != PDM_EV_TELEMETRY) {
            r->other++; /* forwarded by bench-stream-raw echo */
        } else {
            /* Telemetry comes back from bench-stream-raw echo (the floor). */
            if (ev.type == PDM_EV_RISK && ev.u.risk->level >= PDM_LEVEL_OK &&
                ev.u.risk->level <= PDM_LEVEL_CRITICAL)
                r->levels[ev.u.risk->level]++;
            long slot = slot_of(r, ev.machine_id, ev.ts);
            int64_t sent = slot >= 0 ? atomic_load(&r->sent_ns[slot]) : 0;
            if (sent > 0) {
                atomic_store(&r->sent_ns[slot], -1);
                record(r, (double)(now - sent) / 1e6);
                atomic_fetch_add(&r->matched, 1);
            } else if (sent < 0) {
                r->duplicates++;
            } else {
                r->unmatched++; /* warm-up events, or another producer's */
            }
        }
        rd_kafka_message_destroy(m);
    }
    if (q)
        rd_kafka_queue_destroy(q);
    pdm_codec_destroy(codec);
    return NULL;
}

/* ---- sender --------------------------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    long long *failed = opaque;
    if (m->err)
        (*failed)++;
}

static void sleep_until_ns(int64_t t)
{
    struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Sends at the steady rate until warm-up plus duration have passed.
 * Returns 0 or -1 with errstr. */
static int send_events(lat_run *r, rd_kafka_t *rk, pdm_sim *sim, long long *sent_total,
                       char *errstr, size_t errlen)
{
    const lat_cfg *cfg = r->cfg;
    char msg[PDM_ERRSTR_SIZE];
    pdm_codec *codec = pdm_codec_new(msg, sizeof msg);
    int rc = -1;
    if (!codec)
        return pdm_err(errstr, errlen, "codec: %s", msg);
    int64_t t0 = mono_ns();
    int64_t window_start = t0 + (int64_t)(cfg->warmup * 1e9);
    int64_t end = window_start + (int64_t)(cfg->duration * 1e9);
    double ns_per_event = 1e9 / cfg->rate;
    long long n = 0;
    int64_t next_report = window_start + 5000000000LL;
    for (;;) {
        int64_t now = mono_ns();
        if (now >= end)
            break;
        long long due = (long long)((double)(now - t0) / ns_per_event) + 1;
        while (n < due) {
            pdm_event ev;
            if (pdm_sim_next(sim, &ev) != 1) {
                pdm_err(errstr, errlen, "the simulated fleet ran out of events after %lld", n);
                goto out;
            }
            char buf[PDM_MAX_ENCODED], key[16];
            int len = pdm_codec_encode(codec, &ev, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, msg,
                                       sizeof msg);
            if (len < 0) {
                pdm_err(errstr, errlen, "encode: %s", msg);
                goto out;
            }
            int klen = snprintf(key, sizeof key, "%d", (int)ev.machine_id);
            long slot = ev.type == PDM_EV_TELEMETRY ? slot_of(r, ev.machine_id, ev.ts) : -1;
            int64_t t_send = mono_ns();
            if (slot >= 0 && t_send >= window_start) {
                atomic_store(&r->sent_ns[slot], t_send);
                atomic_fetch_add(&r->measured, 1);
            }
            rd_kafka_resp_err_t err;
            const char *topic = cfg->per_type ? pdm_kafka_default_topic(ev.type) : cfg->topic;
            while ((err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                            RD_KAFKA_V_KEY(key, (size_t)klen),
                                            RD_KAFKA_V_VALUE(buf, (size_t)len),
                                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                            RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 1);
            if (err) {
                pdm_err(errstr, errlen, "produce: %s", rd_kafka_err2str(err));
                goto out;
            }
            n++;
        }
        rd_kafka_poll(rk, 0);
        if (now >= next_report) {
            next_report += 5000000000LL;
            fprintf(stderr, "bench-stream-latency: %.0f s measured, %lld sent, %lld matched\n",
                    (double)(now - window_start) / 1e9, (long long)atomic_load(&r->measured),
                    (long long)atomic_load(&r->matched));
        }
        sleep_until_ns(t0 + (int64_t)((double)n * ns_per_event));
    }
    *sent_total = n;
    rc = 0;
out:
    pdm_codec_destroy(codec);
    return rc;
}

int main(int argc, char **argv)
{
    lat_cfg cfg = {0};
    lat_run run = {0};
    char err[PDM_ERRSTR_SIZE];
    int npos = 0, help = 0, rc = 2, started = 0;
    long long dr_failed = 0, sent_total = 0;
    rd_kafka_t *producer = NULL, *consumer = NULL;
    pdm_sim *sim = NULL;
    pthread_t tid;
    receiver_arg arg;

    if (pdm_options_parse(options, &cfg, argc, argv, &npos, &help, err, sizeof err)) {
        fprintf(stderr, "bench-stream-latency: %s\n", err);
        goto out;
    }
    if (help) {
        pdm_options_help(stdout,
                         "usage: bench-stream-latency --brokers B [--rate N] [--duration S] "
                         "(with pdm-scorer --emit all running)",
                         options);
        rc = 0;
        goto out;
    }
    if (cfg.rate <= 0 || cfg.warmup < 0 || cfg.duration <= 0 || cfg.drain < 0 ||
        cfg.machines < 1 || cfg.machines > PDM_SIM_MAX_MACHINES) {
        fprintf(stderr, "bench-stream-latency: --rate, --duration > 0; --machines 1..%d\n",
                PDM_SIM_MAX_MACHINES);
        goto out;
    }
    rc = 1;
    run.cfg = &cfg;

    /* The fleet must last the whole run: hours of telemetry for every
     * event due, with room for errors, maintenance and the history first. */
    pdm_sim_params sp;
    pdm_sim_params_init(&sp);
    sp.machines = (int)cfg.machines;
    sp.seed = (uint64_t)cfg.seed;
    /* The hard fleet: the data bench/README.md's figures were measured on. */
    sp.difficulty = PDM_SIM_HARD;
    sp.hours = (int64_t)ceil(cfg.rate * (cfg.warmup + cfg.duration) * 1.1 / (double)cfg.machines) +
               30;
    run.start_ms = sp.start_ms;
    run.hours = sp.hours;
    run.n_slots = (size_t)sp.hours * (size_t)cfg.machines;
    run.sent_ns = calloc(run.n_slots, sizeof *run.sent_ns);
    if (!run.sent_ns) {
        fprintf(stderr, "bench-stream-latency: out of memory\n");
        goto out;
    }
    sim = pdm_sim_new(&sp, err, sizeof err);
    if (!sim) {
        fprintf(stderr, "bench-stream-latency: %s\n", err);
        goto out;
    }

    consumer = receiver_new(&run, err, sizeof err);
    if (!consumer) {
        fprintf(stderr, "bench-stream-latency: %s\n", err);
        goto out;
    }
    const char *const pextra[][2] = {{"enable.idempotence", "true"},
                                     {"socket.nagle.disable", "true"},
                                     {"linger.ms", cfg.linger}};
    rd_kafka_conf_t *conf = conf_new(&cfg, pextra, sizeof pextra / sizeof *pextra, err, sizeof err);
    if (!conf) {
        fprintf(stderr, "bench-stream-latency: %s\n", err);
        goto out;
    }
    rd_kafka_conf_set_opaque(conf, &dr_failed);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!producer) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "bench-stream-latency: producer: %s\n", err);
        goto out;
    }
    arg.run = &run;
    arg.rk = consumer;
    if (pthread_create(&tid, NULL, receiver_main, &arg)) {
        fprintf(stderr, "bench-stream-latency: cannot start the receiver\n");
        goto out;
    }
    started = 1;

    fprintf(stderr,
            "bench-stream-latency: %.0f events/s to %s, %lld machines, %.0f s warm-up + %.0f s "
            "measured\n",
            cfg.rate, cfg.topic, cfg.machines, cfg.warmup, cfg.duration);
    int64_t t_begin = mono_ns();
    if (send_events(&run, producer, sim, &sent_total, err, sizeof err)) {
        fprintf(stderr, "bench-stream-latency: %s\n", err);
        goto out;
    }
    double send_s = (double)(mono_ns() - t_begin) / 1e9;
    rd_kafka_flush(producer, 10000);
    int64_t drain_end = mono_ns() + (int64_t)(cfg.drain * 1e9);
    while (atomic_load(&run.matched) < atomic_load(&run.measured) && mono_ns() < drain_end) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&run.stop, 1);
    pthread_join(tid, NULL);
    started = 0;
    if (run.failed) {
        fprintf(stderr, "bench-stream-latency: %s\n", run.err);
        goto out;
    }

    qsort(run.lat_ms, run.n_lat, sizeof *run.lat_ms, bench_cmp_double);
    double sum = 0;
    for (size_t i = 0; i < run.n_lat; i++)
        sum += run.lat_ms[i];
    long long measured = atomic_load(&run.measured);
    long long missing = measured - (long long)run.n_lat;
    double p50 = percentile(run.lat_ms, run.n_lat, 50), p90 = percentile(run.lat_ms, run.n_lat, 90),
           p99 = percentile(run.lat_ms, run.n_lat, 99),
           p999 = percentile(run.lat_ms, run.n_lat, 99.9),
           max = run.n_lat ? run.lat_ms[run.n_lat - 1] : NAN;
    double achieved = (double)sent_total / send_s;
    printf("sent %lld events in %.1f s (%.0f/s, target %.0f/s); %lld telemetry events measured, "
           "%zu RiskEvents matched, %lld missing after %.0f s, %lld duplicates, %lld undecodable, "
           "%lld forwarded non-telemetry events; %lld failed deliveries\n",
           sent_total, send_s, achieved, cfg.rate, measured, run.n_lat, missing, cfg.drain,
           run.duplicates, run.bad, run.other, dr_failed);
    long long n_risk = run.levels[0] + run.levels[1] + run.levels[2];
    double alert_share = n_risk ? (double)(run.levels[1] + run.levels[2]) / (double)n_risk : NAN;
    printf("RiskEvents by level: %lld OK, %lld WARN, %lld CRITICAL (alerts %.2f%%)\n",
           run.levels[0], run.levels[1], run.levels[2], 100 * alert_share);
    printf("produce -> RiskEvent received (ms): p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max "
           "%.2f  mean %.2f\n",
           p50, p90, p99, p999, max, run.n_lat ? sum / (double)run.n_lat : NAN);
    const char *l = cfg.label;
    printf("result %s_rate=%.0f %s_measured=%lld %s_matched=%zu %s_missing=%lld %s_p50=%.2f "
           "%s_p90=%.2f %s_p99=%.2f %s_p999=%.2f %s_max=%.2f %s_alert_share=%.4f\n",
           l, achieved, l, measured, l, run.n_lat, l, missing, l, p50, l, p90, l, p99, l, p999, l,
           max, l, alert_share);
    rc = missing || dr_failed ? 1 : 0;
out:
    if (started) {
        atomic_store(&run.stop, 1);
        pthread_join(tid, NULL);
    }
    if (producer) {
        rd_kafka_flush(producer, 10000);
        rd_kafka_destroy(producer);
    }
    if (consumer) {
        rd_kafka_consumer_close(consumer);
        rd_kafka_destroy(consumer);
    }
    pdm_sim_destroy(sim);
    free(run.sent_ns);
    free(run.lat_ms);
    pdm_options_free(options, &cfg);
    return rc;
}
