/* pdm-producer: replay PdM CSVs, or simulate a fleet live, into Kafka.
 *   pdm-producer replay --data DIR --brokers B [--speed X | --rate N] [--topic T]
 *   pdm-producer simulate --brokers B --machines N [--hours H] [--speed X | --rate N]
 * Exit status is non-zero if any event could not be delivered. */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdm_common.h"
#include "pdm_dataset.h"
#include "pdm_producer.h"

typedef struct {
    char *brokers;
    char *data;
    double speed;
    double rate;
    char *topic;
    char *topic_prefix;
    char *format;
    char *schema_ids;
    long long machines;
    long long hours;
    char *start;
    long long seed;
    char *difficulty;
    char *shift;
    double churn;
    int skip_bad_rows;
    int progress;
    int create_topics;
    long long partitions;
    long long replication_factor;
    pdm_kvlist props;
} producer_options;

#define O(f) offsetof(producer_options, f)
static const pdm_option options[] = {
    {"brokers", 'b', "PDM_BROKERS", PDM_OPT_STRING, O(brokers), "localhost:9092", "HOSTS", "Kafka bootstrap servers.", 0},
    {"data", 'd', "PDM_DATA", PDM_OPT_STRING, O(data), NULL, "DIR", "replay: directory with the PdM CSV files.", 0},
    {"speed", 's', "PDM_SPEED", PDM_OPT_DOUBLE, O(speed), "0", "X", "Pace by event time, X times faster than real time (0: as fast as possible).", 0},
    {"rate", 0, "PDM_RATE", PDM_OPT_DOUBLE, O(rate), "0", "N", "Pace at N events per second (0: as fast as possible).", 0},
    {"topic", 't', "PDM_TOPIC", PDM_OPT_STRING, O(topic), NULL, "TOPIC", "Send every event to this one topic (messages name their schema); default: one topic per type (pdm.telemetry, pdm.errors, ...).", 0},
    {"topic-prefix", 0, "PDM_TOPIC_PREFIX", PDM_OPT_STRING, O(topic_prefix), "pdm", "PREFIX", "Without --topic: one topic per type named PREFIX.telemetry, PREFIX.errors, PREFIX.maintenance, PREFIX.failures, PREFIX.machines.", 0},
    {"create-topics", 0, "PDM_CREATE_TOPICS", PDM_OPT_BOOL, O(create_topics), "true", NULL, "Create missing topics with the Admin API before producing, pdm.machines compacted (cleanup.policy=compact); where that is not possible (no admin API, as on pdm-broker; no permission) it says so and the broker's auto-creation applies.", 0},
    {"partitions", 0, "PDM_PARTITIONS", PDM_OPT_INT, O(partitions), "0", "N", "Partitions of the topics it creates (0: the broker's num.partitions).", 0},
    {"replication-factor", 0, "PDM_REPLICATION_FACTOR", PDM_OPT_INT, O(replication_factor), "0", "N", "Replication factor of the topics it creates (0: the broker's default).", 0},
    {"format", 0, "PDM_WIRE_FORMAT", PDM_OPT_STRING, O(format), "single", "FORMAT", "single (Avro single-object encoding) or confluent (Schema Registry framing: 0x00, the 4-byte id of --schema-ids, then the Avro body).", 0},
    {"schema-ids", 0, "PDM_SCHEMA_IDS", PDM_OPT_STRING, O(schema_ids), NULL, "TYPE=ID,...", "With --format confluent: the registry id of every type sent, TYPE=ID[,TYPE=ID...] (e.g. telemetry=7,error=8,maintenance=9,failure=10,machine=11).", 0},
    {"machines", 'n', "PDM_MACHINES", PDM_OPT_INT, O(machines), "100", "N", "simulate: fleet size.", 0},
    {"hours", 0, "PDM_HOURS", PDM_OPT_INT, O(hours), "0", "H", "simulate: hours to simulate (0: until stopped).", 0},
    {"start", 0, "PDM_START", PDM_OPT_STRING, O(start), "2015-01-01 06:00:00", "DATETIME", "simulate: first telemetry hour (UTC).", 0},
    {"seed", 0, "PDM_SEED", PDM_OPT_INT, O(seed), "1", "S", "simulate: random seed.", 0},
    {"difficulty", 0, "PDM_SIM_DIFFICULTY", PDM_OPT_STRING, O(difficulty), "realistic", "LEVEL", "simulate: realistic (calibrated against the public data) or hard (the noisy fleet of earlier versions), as pdm-sim --difficulty.", 0},
    {"shift", 0, "PDM_SIM_SHIFT", PDM_OPT_STRING, O(shift), NULL, "AT:SIGNAL:AMOUNT[@MACHINES],...", "simulate: regime changes from a point in time, as pdm-sim --shift (e.g. 2015-04-01:vibration:x1.2@50%).", 0},
    {"churn", 0, "PDM_SIM_CHURN", PDM_OPT_DOUBLE, O(churn), "0", "SHARE", "simulate: machines that join and leave the fleet, as pdm-sim --churn.", 0},
    {"skip-bad-rows", 0, "PDM_SKIP_BAD_ROWS", PDM_OPT_BOOL, O(skip_bad_rows), "false", NULL, "replay: count and skip malformed CSV rows instead of failing.", 0},
    {"progress", 0, "PDM_PROGRESS", PDM_OPT_BOOL, O(progress), NULL, NULL, "Force the progress line on (default: only on a terminal).", 0},
    {"property", 'X', "PDM_KAFKA_CONFIG", PDM_OPT_KV, O(props), NULL, "KEY=VALUE", "librdkafka producer property (repeatable; consumer-only properties, as from a properties file shared with the scorer, are skipped).", 0},
    PDM_OPTIONS_END,
};

static const char *usage =
    "usage: pdm-producer replay --data DIR --brokers B [--speed X | --rate N] [--topic T]\n"
    "       pdm-producer simulate --brokers B --machines N [--hours H] [--difficulty realistic|hard] [--speed X | --rate N]";

static atomic_int stop_requested;
static void on_stop(int sig) { atomic_store(&stop_requested, 1); }

typedef struct {
    pdm_producer *producer;
    pdm_pacer pacer;
    int64_t pace_from; /* events before this time (history) are not paced */
    uint64_t total;    /* 0 if unknown */
    int progress;
    double t0, last_print;
} run_state;

static void print_progress(run_state *r, int final)
{
    uint64_t sent, delivered, failed;
    pdm_producer_counts(r->producer, &sent, &delivered, &failed);
    double el = pdm_monotonic_s() - r->t0;
    double rate = el > 0 ? (double)sent / el : 0;
    char eta[32] = "";
    if (r->total && rate > 0 && !final)
        snprintf(eta, sizeof eta, ", ETA %.0fs", (double)(r->total - sent) / rate);
    if (r->total)
        fprintf(stderr, "\r%llu of %llu events sent, %.0f/s%s%s", (unsigned long long)sent,
                (unsigned long long)r->total, rate, eta, final ? "\n" : "   ");
    else
        fprintf(stderr, "\r%llu events sent, %.0f/s%s", (unsigned long long)sent, rate,
                final ? "\n" : "   ");
    fflush(stderr);
}

/* How long topic creation may take (a controller creating a topic answers
 * within seconds). */
#define CREATE_TOPICS_TIMEOUT_MS 15000

/* Creates the missing topics and says what happened to each; whatever
 * fails is logged and left to the broker's auto-creation. */
static void create_topics(pdm_producer *p, const producer_options *o)
{
    pdm_topic_spec specs[PDM_EV_COUNT];
    pdm_topic_status status[PDM_EV_COUNT];
    char err[PDM_ERRSTR_SIZE];
    size_t n = 0;
    int rc = pdm_producer_create_topics(p, (int)o->partitions, (int)o->replication_factor,
                                        CREATE_TOPICS_TIMEOUT_MS, specs, status, &n, err,
                                        sizeof err);
    char missing[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const pdm_topic_spec *s = &specs[i];
        if (status[i].outcome == PDM_TOPIC_CREATED)
            pdm_log(PDM_LOG_INFO, "created topic %s%s", s->name,
                    s->compact ? " (cleanup.policy=compact)" : "");
        else if (status[i].outcome == PDM_TOPIC_NOT_CREATED && len < sizeof missing)
            len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%s%s%s%s",
                                    len ? ", " : "", s->name,
                                    s->compact ? " (will not be compacted)" : "",
                                    *status[i].detail ? ": " : "", status[i].detail);
        else if (s->compact && status[i].compacted == 0)
            pdm_log(PDM_LOG_WARN, "topic %s exists and is not compacted: it is a table of the "
                    "latest MachineInfo per machine, set cleanup.policy=compact", s->name);
    }
    if (*missing)
        pdm_log(PDM_LOG_WARN, "topics not created, left to the broker's auto-creation: %s%s%s",
                missing, rc ? "; " : "", rc ? err : "");
    else if (rc)
        pdm_log(PDM_LOG_INFO, "topics exist; their settings not checked: %s", err);
}

static int send_one(run_state *r, const pdm_event *ev)
{
    char err[PDM_ERRSTR_SIZE];
    if (ev->ts >= r->pace_from)
        pdm_pacer_wait(&r->pacer, ev->ts);
    if (pdm_producer_send(r->producer, ev, err, sizeof err)) {
        if (atomic_load(&stop_requested))
            return 0; /* gave up waiting for room: the loop ends, the flush reports */
        pdm_log(PDM_LOG_ERROR, "%s", err);
        return -1;
    }
    pdm_producer_poll(r->producer);
    if (r->progress) {
        double now = pdm_monotonic_s();
        if (now - r->last_print > 0.5) {
            r->last_print = now;
            print_progress(r, 0);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    producer_options o = {0};
    pdm_producer_config pc = {0};
    run_state r = {0};
    pdm_dataset *ds = NULL;
    pdm_sim *sim = NULL;
    char err[PDM_ERRSTR_SIZE];
    int npos = 0, rc = 2;
    const pdm_program program = {"pdm-producer", usage, options, 1, PDM_NO_LOG_LEVEL};

    if (pdm_program_start(&program, &o, argc, argv, &npos, &rc))
        goto out;
    int replay = npos == 1 && !strcmp(argv[1], "replay");
    int simulate = npos == 1 && !strcmp(argv[1], "simulate");
    if (!replay && !simulate) {
        fprintf(stderr, "%s\n(see --help)\n", usage);
        goto out;
    }
    if (o.speed < 0 || o.rate < 0 || (o.speed > 0 && o.rate > 0)) {
        fprintf(stderr, "pdm-producer: give at most one of --speed and --rate, both >= 0\n");
        goto out;
    }
    int confluent = strcmp(o.format, "confluent") == 0;
    if (!confluent && strcmp(o.format, "single") != 0) {
        fprintf(stderr, "pdm-producer: --format must be single or confluent, not '%s'\n",
                o.format);
        goto out;
    }
    if (pdm_schema_ids_parse(o.schema_ids, pc.schema_ids, err, sizeof err)) {
        fprintf(stderr, "pdm-producer: %s\n", err);
        goto out;
    }
    for (int t = 0; confluent && t < PDM_EV_COUNT; t++) {
        if (t != PDM_EV_RISK && t != PDM_EV_SILENCE && pc.schema_ids[t] <= 0) {
            fprintf(stderr, "pdm-producer: --format confluent needs --schema-ids for every input "
                            "type (%s has none)\n",
                    pdm_event_type_name((pdm_event_type)t));
            goto out;
        }
    }
    if (replay && !o.data) {
        fprintf(stderr, "pdm-producer: replay needs --data DIR\n");
        goto out;
    }
    rc = 1;
    if (replay) {
        pdm_dataset_options dopts = {.skip_bad_rows = o.skip_bad_rows};
        if (pdm_dataset_load(o.data, &dopts, &ds, err, sizeof err)) {
            pdm_log(PDM_LOG_ERROR, "%s", err);
            goto out;
        }
        char summary[512];
        pdm_dataset_summary(ds, summary, sizeof summary);
        pdm_log(PDM_LOG_INFO, "%s", summary);
        /* Pace from the first telemetry: maintenance history and machine
         * info before it would otherwise mean a long wait for nothing. */
        int64_t last;
        if (pdm_dataset_telemetry_range(ds, &r.pace_from, &last))
            r.pace_from = INT64_MIN;
    } else {
        pdm_sim_params sp;
        pdm_sim_params_init(&sp);
        sp.machines = (int)o.machines;
        sp.hours = o.hours > 0 ? o.hours : PDM_SIM_MAX_HOURS;
        sp.seed = (uint64_t)o.seed;
        if (pdm_sim_difficulty_parse(o.difficulty, &sp.difficulty)) {
            fprintf(stderr, "pdm-producer: --difficulty must be realistic or hard, got '%s'\n",
                    o.difficulty);
            rc = 2;
            goto out;
        }
        sp.churn = o.churn;
        if (pdm_sim_shifts_parse(o.shift, &sp, err, sizeof err)) {
            fprintf(stderr, "pdm-producer: %s\n", err);
            rc = 2;
            goto out;
        }
        if (pdm_time_parse(o.start, strlen(o.start), &sp.start_ms)) {
            fprintf(stderr, "pdm-producer: --start: '%s' is not a timestamp\n", o.start);
            rc = 2;
            goto out;
        }
        r.pace_from = sp.start_ms;
        sim = pdm_sim_new(&sp, err, sizeof err);
        if (!sim) {
            pdm_log(PDM_LOG_ERROR, "%s", err);
            goto out;
        }
    }

    pc.brokers = o.brokers;
    pc.kafka_props = &o.props;
    pc.topic = o.topic;
    pc.topic_prefix = o.topic_prefix;
    pc.format = confluent ? PDM_WIRE_CONFLUENT : PDM_WIRE_SINGLE_OBJECT;
    pc.stop = &stop_requested;
    r.producer = pdm_producer_new(&pc, err, sizeof err);
    if (!r.producer) {
        pdm_log(PDM_LOG_ERROR, "%s", err);
        goto out;
    }
    if (o.create_topics)
        create_topics(r.producer, &o);
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pdm_pacer_init(&r.pacer, o.speed, o.rate);
    r.progress = o.progress || isatty(2);
    r.t0 = pdm_monotonic_s();

    int failed = 0;
    if (ds) {
        size_t n;
        const pdm_event *evs = pdm_dataset_events(ds, &n);
        r.total = n;
        for (size_t i = 0; i < n && !atomic_load(&stop_requested) && !failed; i++)
            failed = send_one(&r, &evs[i]) != 0;
    } else {
        pdm_event ev;
        while (!atomic_load(&stop_requested) && !failed && pdm_sim_next(sim, &ev) == 1)
            failed = send_one(&r, &ev) != 0;
    }
    int undelivered = pdm_producer_flush(r.producer, 60000, err, sizeof err);
    if (r.progress)
        print_progress(&r, 1);
    uint64_t sent, delivered, nfailed;
    pdm_producer_counts(r.producer, &sent, &delivered, &nfailed);
    double el = pdm_monotonic_s() - r.t0;
    pdm_log(PDM_LOG_INFO, "%s: %llu events sent, %llu delivered, %llu failed in %.2fs (%.0f/s)%s",
            replay ? "replay" : "simulate", (unsigned long long)sent,
            (unsigned long long)delivered, (unsigned long long)nfailed, el,
            el > 0 ? (double)sent / el : 0.0,
            atomic_load(&stop_requested) ? " (stopped early)" : "");
    if (undelivered) {
        pdm_log(PDM_LOG_ERROR, "%s", err);
        goto out;
    }
    rc = failed ? 1 : 0;
out:
    pdm_producer_destroy(r.producer);
    pdm_dataset_destroy(ds);
    pdm_sim_destroy(sim);
    pdm_options_free(options, &o);
    return rc;
}
