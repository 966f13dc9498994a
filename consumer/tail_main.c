/* pdm-tail: reads topics from Kafka, decodes every message with the pdm
 * codec and prints one JSON line per message:
 *
 *   {"topic":"pdm.telemetry","partition":2,"offset":41,"timestamp":1420092000000,
 *    "timestamp_type":"create","key":"7","event":{...}}
 *   {"topic":"pdm.telemetry","partition":0,"offset":42,"timestamp":1420092000000,
 *    "timestamp_type":"create","key":null,"error":"bad_magic","detail":"..."}
 *
 * timestamp is the message's Kafka timestamp in ms (null if the broker has
 * none) and timestamp_type says whose clock it is: "create" (the producer's;
 * pdm-producer sets it to the event's time) or "log_append" (the broker's).
 *
 * A message that does not decode is reported with the codec's reason and
 * reading goes on, so the tool shows exactly what a consumer would see.
 * It assigns every partition of its topics itself (it never joins a
 * consumer group nor commits), so running it never disturbs the scorer.
 *
 * Exit status: 0 when --count messages were read, the end was reached with
 * --exit-at-end, --timeout passed without --count, or on SIGINT/SIGTERM;
 * 1 on an error; 2 on a usage error; 3 when --timeout passed before --count
 * messages arrived. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "pdm_kafka.h"
#include "pdm_schemas.h"
#include "tail_format.h"

enum { EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };

typedef struct {
    char *brokers;
    char *topics;
    int from_beginning;
    int exit_at_end;
    long long count;
    double timeout_s;
    char *log_level;
    char *schema_ids;
    char *format;
    pdm_kvlist props;
} tail_cfg;

static const pdm_option options[] = {
    {"brokers", 'b', "PDM_BROKERS", PDM_OPT_STRING, offsetof(tail_cfg, brokers), NULL,
     "HOST:PORT[,...]", "Kafka bootstrap servers (required).", 0},
    {"topic", 't', "PDM_TAIL_TOPICS", PDM_OPT_STRING, offsetof(tail_cfg, topics), NULL,
     "NAME[,NAME...]",
     "Topics to read; also taken as positional arguments. Default: the input topics "
     "(pdm.telemetry, pdm.errors, pdm.maintenance, pdm.failures, pdm.machines).",
     0},
    {"from-beginning", 0, "PDM_TAIL_FROM_BEGINNING", PDM_OPT_BOOL,
     offsetof(tail_cfg, from_beginning), "1", NULL,
     "Start at the oldest message kept; --from-beginning=false starts at the end.", 0},
    {"exit-at-end", 'e', "PDM_TAIL_EXIT_AT_END", PDM_OPT_BOOL, offsetof(tail_cfg, exit_at_end), "0",
     NULL, "Exit once the end of every partition is reached.", 0},
    {"count", 'c', "PDM_TAIL_COUNT", PDM_OPT_INT, offsetof(tail_cfg, count), "0", "N",
     "Exit after N messages (0: no limit).", 0},
    {"timeout", 0, "PDM_TAIL_TIMEOUT", PDM_OPT_DOUBLE, offsetof(tail_cfg, timeout_s), "0", "S",
     "Stop after S seconds (0: never); exit status 3 if --count was not reached by then.", 0},
    {"format", 'f', "PDM_TAIL_FORMAT", PDM_OPT_STRING, offsetof(tail_cfg, format), "json",
     "json|text",
     "json: one JSON line per message; text: RiskEvents and MachineSilence events as one "
     "readable line each (incidents as OPENED, ESCALATED, RENOTIFIED, RESOLVED with their "
     "duration, resolution and lead time), other messages as JSON.",
     0},
    {"log-level", 0, "PDM_LOG_LEVEL", PDM_OPT_STRING, offsetof(tail_cfg, log_level), "info",
     "LEVEL", "debug, info, warn or error.", 0},
    {"schema-ids", 0, "PDM_SCHEMA_IDS", PDM_OPT_STRING, offsetof(tail_cfg, schema_ids), NULL,
     "TYPE=ID,...", "Confluent Schema Registry ids of the event types, TYPE=ID[,TYPE=ID...] (e.g. telemetry=7,error=8,maintenance=9,failure=10,machine=11): a message framed by the registry serializers (byte 0x00, then the 4-byte big-endian id) with one of these ids decodes as that type; any other id is shown as unknown_schema. Single-object messages (0xC3 0x01) decode either way.", 0},
    {"property", 'X', "PDM_KAFKA_CONFIG", PDM_OPT_KV, offsetof(tail_cfg, props), NULL, "KEY=VALUE",
     "librdkafka consumer property; repeatable.", 0},
    PDM_OPTIONS_END,
};

static const char usage[] =
    "Usage: pdm-tail [options] [TOPIC...]\n"
    "Prints every message of the topics as one JSON line: topic, partition, offset, Kafka\n"
    "timestamp (ms) and its type (create or log_append), key and the decoded event, or the\n"
    "reason it does not decode; --format text prints the risk topic for people.";

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Appends a JSON string: printable ASCII as is, other bytes as \u00XX, so
 * that any key, even binary, yields valid JSON. */
static void json_string(pdm_buf *out, const char *s, size_t len)
{
    pdm_buf_append(out, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            pdm_buf_printf(out, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            pdm_buf_append(out, &s[i], 1);
        else
            pdm_buf_printf(out, "\\u%04x", c);
    }
    pdm_buf_append(out, "\"", 1);
}

/* Formats one message as a JSON line into out. Returns 1 if it decoded. */
static int format_message(pdm_codec *codec, const rd_kafka_message_t *m, pdm_buf *out)
{
    char errstr[PDM_ERRSTR_SIZE] = "";
    pdm_event ev;
    int ok = 0;

    out->len = 0;
    pdm_buf_append(out, "{\"topic\":", 9);
    const char *topic = rd_kafka_topic_name(m->rkt);
    json_string(out, topic, strlen(topic));
    pdm_buf_printf(out, ",\"partition\":%d,\"offset\":%lld", (int)m->partition,
                   (long long)m->offset);
    rd_kafka_timestamp_type_t ts_type;
    int64_t ts = rd_kafka_message_timestamp(m, &ts_type);
    if (ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
        pdm_buf_printf(out, ",\"timestamp\":null,\"timestamp_type\":null");
    else
        pdm_buf_printf(out, ",\"timestamp\":%lld,\"timestamp_type\":\"%s\"", (long long)ts,
                       ts_type == RD_KAFKA_TIMESTAMP_CREATE_TIME ? "create" : "log_append");
    pdm_buf_append(out, ",\"key\":", 7);
    if (m->key)
        json_string(out, m->key, m->key_len);
    else
        pdm_buf_append(out, "null", 4);

    int st =
        pdm_codec_decode(codec, m->payload, m->payload ? m->len : 0, &ev, errstr, sizeof errstr);
    char *json = st == PDM_DECODE_OK ? pdm_event_to_json(&ev) : NULL;
    if (json) {
        pdm_buf_printf(out, ",\"event\":%s}\n", json);
        ok = 1;
    } else {
        const char *reason =
            st == PDM_DECODE_OK ? "out_of_memory" : pdm_decode_status_name((pdm_decode_status)st);
        pdm_buf_append(out, ",\"error\":", 9);
        json_string(out, reason, strlen(reason));
        pdm_buf_append(out, ",\"detail\":", 10);
        json_string(out, errstr, strlen(errstr));
        pdm_buf_append(out, "}\n", 2);
    }
    free(json);
    return ok;
}

/* Assigns every partition of every topic, at the start or the end, as
 * absolute offsets read here: with the logical BEGINNING/END librdkafka
 * 2.0.2 often schedules its own offset query on a 500 ms timer. Returns
 * the assignment (the caller destroys it), or NULL with errstr (e.g. a topic
 * that does not exist). */
static rd_kafka_topic_partition_list_t *assign_all(rd_kafka_t *rk, const pdm_topic_list *topics,
                                                   int from_beginning, char *errstr, size_t errlen)
{
    int ok = 0;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    rd_kafka_resp_err_t err;

    /* All topics: asking for one by name could make a broker auto-create it. */
    err = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
    if (err) {
        pdm_err(errstr, errlen, "cannot read the cluster's metadata: %s", rd_kafka_err2str(err));
        goto out;
    }
    for (size_t i = 0; i < topics->count; i++) {
        const struct rd_kafka_metadata_topic *t = NULL;
        for (int j = 0; j < md->topic_cnt && !t; j++)
            if (!strcmp(md->topics[j].topic, topics->names[i]))
                t = &md->topics[j];
        if (!t || t->err || t->partition_cnt == 0) {
            pdm_err(errstr, errlen, "topic %s: %s", topics->names[i],
                    t && t->err ? rd_kafka_err2str(t->err) : "does not exist");
            goto out;
        }
        for (int p = 0; p < t->partition_cnt; p++) {
            int32_t id = t->partitions[p].id;
            int64_t lo, hi;
            err = rd_kafka_query_watermark_offsets(rk, t->topic, id, &lo, &hi, 10000);
            if (err) {
                pdm_err(errstr, errlen, "%s [%d]: cannot read offsets: %s", t->topic, (int)id,
                        rd_kafka_err2str(err));
                goto out;
            }
            rd_kafka_topic_partition_list_add(parts, t->topic, id)->offset =
                from_beginning ? lo : hi;
        }
    }
    err = rd_kafka_assign(rk, parts);
    if (err) {
        pdm_err(errstr, errlen, "cannot assign partitions: %s", rd_kafka_err2str(err));
        goto out;
    }
    ok = 1;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (!ok) {
        rd_kafka_topic_partition_list_destroy(parts);
        parts = NULL;
    }
    return parts;
}

/* Marks a partition as at its end (EOF event) or not (a message), using the
 * assignment's opaque field as the flag. Returns the change in the number of
 * partitions at their end: +1, -1 or 0. EOF is reported again each time a
 * partition catches up, so a flag, not a counter, decides --exit-at-end. */
static int track_end(rd_kafka_topic_partition_list_t *assigned, const rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_find(assigned, rd_kafka_topic_name(m->rkt), m->partition);
    if (!tp)
        return 0;
    int was = tp->opaque != NULL;
    int now = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
    tp->opaque = now ? (void *)tp : NULL;
    return now - was;
}

/* Parses the options and the topics (positional, --topic, else the input
 * topics). Returns 0 to run, or -1 to exit with *status: 0 after --help,
 * EXIT_USAGE after a message on stderr. */
static int parse_args(tail_cfg *cfg, pdm_topic_list *topics, int argc, char **argv, int *status)
{
    char errstr[PDM_ERRSTR_SIZE];
    int npos = 0, topic_err = 0;
    const pdm_program program = {"pdm-tail", usage, options, -1, offsetof(tail_cfg, log_level)};

    if (pdm_program_start(&program, cfg, argc, argv, &npos, status))
        return -1;
    *status = EXIT_USAGE; /* for the checks below */
    if (!cfg->brokers || !*cfg->brokers) {
        fprintf(stderr, "pdm-tail: --brokers (or PDM_BROKERS) is required\n");
        return -1;
    }
    if (strcmp(cfg->format, "json") != 0 && strcmp(cfg->format, "text") != 0) {
        fprintf(stderr, "pdm-tail: --format must be json or text, not '%s'\n", cfg->format);
        return -1;
    }
    if (cfg->count < 0 || cfg->timeout_s < 0) {
        fprintf(stderr, "pdm-tail: --count and --timeout must not be negative\n");
        return -1;
    }
    for (int i = 1; i <= npos && !topic_err; i++)
        topic_err = pdm_topic_list_add_csv(topics, argv[i], errstr, sizeof errstr);
    if (!topic_err && cfg->topics)
        topic_err = pdm_topic_list_add_csv(topics, cfg->topics, errstr, sizeof errstr);
    if (!topic_err && !topics->count)
        topic_err = pdm_topic_list_add_all(topics, pdm_kafka_input_topics, errstr, sizeof errstr);
    if (topic_err) {
        fprintf(stderr, "pdm-tail: %s\n", errstr);
        return -1;
    }
    return 0;
}

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The consumer, its partitions not assigned yet. librdkafka's consumer wants
 * a group.id even for assign(); the group is never joined (no subscribe) and
 * offsets are neither stored nor committed. Partition EOF events tell
 * --exit-at-end where the end is. A tool for eyes wants latency: an idle
 * partition's fetch returns after 100 ms instead of 500 (so does its EOF).
 * -X may override all. Returns NULL with errstr. */
static rd_kafka_t *consumer_new(const tail_cfg *cfg, char *errstr, size_t errlen)
{
    static const char *const defaults[][2] = {
        {"group.id", "pdm-tail"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"fetch.wait.max.ms", "100"},
    };
    char msg[PDM_ERRSTR_SIZE];
    rd_kafka_t *rk = NULL;
    rd_kafka_conf_t *conf = pdm_kafka_conf_new(cfg->brokers, "pdm-tail", NULL, errstr, errlen);

    if (!conf)
        goto out;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        if (rd_kafka_conf_set(conf, defaults[i][0], defaults[i][1], msg, sizeof msg)) {
            pdm_err(errstr, errlen, "%s: %s", defaults[i][0], msg);
            goto out;
        }
    }
    /* For an offset gone meanwhile (retention moved the low watermark). */
    if (rd_kafka_conf_set(conf, "auto.offset.reset", cfg->from_beginning ? "earliest" : "latest",
                          msg, sizeof msg)) {
        pdm_err(errstr, errlen, "auto.offset.reset: %s", msg);
        goto out;
    }
    if (pdm_kafka_conf_apply(conf, &cfg->props, errstr, errlen))
        goto out;
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, msg, sizeof msg);
    if (!rk) {
        pdm_err(errstr, errlen, "cannot create the consumer: %s", msg);
        goto out;
    }
    conf = NULL; /* owned by rk */
    rd_kafka_poll_set_consumer(rk);
out:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* Prints every message read until --count messages, the end with
 * --exit-at-end, --timeout or a stop signal. Returns the exit status: 0, or
 * EXIT_TIMEOUT when --timeout passed before --count messages. */
/* --format text: the message's text line into out when it has one (a
 * RiskEvent or MachineSilence event); returns 1 when it was written. */
static int format_text(pdm_codec *codec, tail_incidents *seen, const rd_kafka_message_t *m,
                       pdm_buf *out)
{
    char errstr[PDM_ERRSTR_SIZE];
    pdm_event ev;
    out->len = 0;
    if (!seen || !m->payload ||
        pdm_codec_decode(codec, m->payload, m->len, &ev, errstr, sizeof errstr) != PDM_DECODE_OK)
        return 0;
    return tail_format_text(seen, &ev, out) == 0;
}

static int consume(const tail_cfg *cfg, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *assigned,
                   pdm_codec *codec, tail_incidents *seen)
{
    int rc = 0, n_parts = assigned->cnt, n_at_end = 0;
    long long n_read = 0, n_bad = 0;
    double deadline = cfg->timeout_s > 0 ? pdm_monotonic_s() + cfg->timeout_s : 0;
    pdm_buf line = {0};

    while (!stop_requested) {
        if (cfg->count && n_read >= cfg->count)
            break;
        if (cfg->exit_at_end && n_at_end >= n_parts)
            break;
        if (deadline && pdm_monotonic_s() >= deadline) {
            if (cfg->count) {
                pdm_log(PDM_LOG_ERROR, "timeout: %lld of %lld messages after %g s", n_read,
                        cfg->count, cfg->timeout_s);
                rc = EXIT_TIMEOUT;
            }
            break;
        }
        /* Output is flushed whenever the consumer has nothing ready, so a
         * reader sees each event at once yet a backlog is written in blocks. */
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 0);
        if (!m) {
            fflush(stdout);
            m = rd_kafka_consumer_poll(rk, 100);
        }
        if (!m)
            continue;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            pdm_log(PDM_LOG_WARN, "%s", rd_kafka_message_errstr(m));
        } else {
            n_at_end += track_end(assigned, m);
            if (m->err && n_at_end == n_parts)
                pdm_log(PDM_LOG_DEBUG, "all %d partition(s) at end", n_parts);
        }
        if (!m->err) {
            n_read++;
            if (!format_text(codec, seen, m, &line) && !format_message(codec, m, &line))
                n_bad++;
            fwrite(line.data, 1, line.len, stdout);
        }
        rd_kafka_message_destroy(m);
    }
    pdm_log(PDM_LOG_DEBUG, "%lld message(s), %lld not decoded", n_read, n_bad);
    pdm_buf_free(&line);
    return rc;
}

int main(int argc, char **argv)
{
    int rc;
    char errstr[PDM_ERRSTR_SIZE];
    tail_cfg cfg = {0};
    pdm_topic_list topics = {0};
    pdm_codec *codec = NULL;
    tail_incidents *seen = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *assigned = NULL;

    if (parse_args(&cfg, &topics, argc, argv, &rc))
        goto out;
    catch_stop_signals();
    codec = pdm_codec_new(errstr, sizeof errstr);
    if (!codec || pdm_codec_set_schema_ids(codec, cfg.schema_ids, errstr, sizeof errstr))
        goto fail_log;
    rk = consumer_new(&cfg, errstr, sizeof errstr);
    if (!rk)
        goto fail_log;
    assigned = assign_all(rk, &topics, cfg.from_beginning, errstr, sizeof errstr);
    if (!assigned)
        goto fail_log;
    pdm_log(PDM_LOG_DEBUG, "reading %zu topic(s), %d partition(s), from the %s", topics.count,
            assigned->cnt, cfg.from_beginning ? "beginning" : "end");
    if (strcmp(cfg.format, "text") == 0 && !(seen = tail_incidents_new())) {
        snprintf(errstr, sizeof errstr, "out of memory");
        goto fail_log;
    }
    rc = consume(&cfg, rk, assigned, codec, seen);
    goto out;
fail_log:
    pdm_log(PDM_LOG_ERROR, "%s", errstr);
    rc = 1;
out:
    if (assigned)
        rd_kafka_topic_partition_list_destroy(assigned);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    pdm_codec_destroy(codec);
    tail_incidents_destroy(seen);
    pdm_topic_list_clear(&topics);
    pdm_options_free(options, &cfg);
    return rc;
}
