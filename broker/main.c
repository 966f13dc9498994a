/* pdm-broker: runs the embedded Kafka-protocol broker (librdkafka's mock
 * cluster) on loopback with the product's topics, until SIGINT or SIGTERM.
 *
 * Contract with scripts and tests: the bootstrap address is the FIRST line
 * of stdout (flushed at once) and, with --bootstrap-file, the whole content
 * of that file, which is written under a temporary name and renamed so that
 * a reader never sees half a line; the file is removed on exit. With
 * --control PATH, the fault-injection socket (pdm_broker.h) exists before
 * the address is published, so a script that has read it can use both.
 * Logs go to stderr. Exit status 0 after a stop signal, 1 on a startup
 * failure, 2 on a usage error. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdm_broker.h"
#include "pdm_common.h"
#include "pdm_kafka.h"

typedef struct {
    long long brokers;
    long long partitions;
    char *topics;
    char *topic_partitions;
    char *bootstrap_file;
    char *control;
    char *log_level;
    pdm_kvlist props;
} broker_cfg;

static const pdm_option options[] = {
    {"brokers", 0, "PDM_BROKER_COUNT", PDM_OPT_INT, offsetof(broker_cfg, brokers), "1", "N",
     "Number of brokers in the cluster (ids 1..N).", 0},
    {"partitions", 'p', "PDM_BROKER_PARTITIONS", PDM_OPT_INT, offsetof(broker_cfg, partitions), "4",
     "P", "Partitions of every topic created at start.", 0},
    {"topic", 't', "PDM_BROKER_TOPICS", PDM_OPT_STRING, offsetof(broker_cfg, topics), NULL,
     "NAME[,NAME...]",
     "More topics to create, besides the product's (pdm.telemetry, pdm.errors, "
     "pdm.maintenance, pdm.failures, pdm.machines, pdm.risk, pdm.dlq).",
     0},
    {"topic-partitions", 0, "PDM_BROKER_TOPIC_PARTITIONS", PDM_OPT_STRING,
     offsetof(broker_cfg, topic_partitions), NULL, "NAME=P[,NAME=P...]",
     "Partition counts of the topics named, instead of --partitions (e.g. topics that are "
     "not co-partitioned, for a test).",
     0},
    {"bootstrap-file", 'f', "PDM_BROKER_BOOTSTRAP_FILE", PDM_OPT_STRING,
     offsetof(broker_cfg, bootstrap_file), NULL, "FILE",
     "Also write the bootstrap address to FILE (atomically; removed on exit).", 0},
    {"control", 0, "PDM_BROKER_CONTROL", PDM_OPT_STRING, offsetof(broker_cfg, control), NULL,
     "PATH",
     "Serve fault injection on a Unix-domain socket at PATH (mode 0600, removed on exit): one "
     "command per line, each answered by one line, 'ok[ VALUE]' or 'error: WHY'. Commands: "
     "down ID|all; up ID|all; rtt ID|all MS; errors API COUNT ERR [ID] (the next COUNT "
     "requests of type API, e.g. Produce, Fetch, OffsetCommit, JoinGroup, fail with ERR, e.g. "
     "NOT_LEADER_FOR_PARTITION, _TRANSPORT; only on broker ID if given); pending ID API; clear "
     "API; leader TOPIC PARTITION ID; coordinator group GROUP ID; brokers; ping; help. "
     "Client: tests/harness.sh's pdm_broker_ctl, or any program that writes a line to the "
     "socket (python3's socket.AF_UNIX, socat).",
     0},
    {"log-level", 0, "PDM_LOG_LEVEL", PDM_OPT_STRING, offsetof(broker_cfg, log_level), "info",
     "LEVEL", "debug, info, warn or error.", 0},
    {"property", 'X', NULL, PDM_OPT_KV, offsetof(broker_cfg, props), NULL, "KEY=VALUE",
     "librdkafka property for the handle hosting the cluster (e.g. debug=mock); repeatable.", 0},
    PDM_OPTIONS_END,
};

static const char usage[] =
    "Usage: pdm-broker [options]\n"
    "Runs an in-memory Kafka-protocol broker on 127.0.0.1 (ephemeral ports) until SIGINT or\n"
    "SIGTERM; prints the bootstrap address as the first line of stdout. Each partition keeps\n"
    "only about 5 MB: older messages are dropped.";

/* Writes "addr\n" to path atomically, so a reader sees either no file or
 * the whole line. */
static int write_bootstrap_file(const char *path, const char *addr, char *errstr, size_t errlen)
{
    size_t len = strlen(addr);
    char *line = malloc(len + 2);
    if (!line)
        return pdm_err(errstr, errlen, "out of memory");
    memcpy(line, addr, len);
    line[len] = '\n';
    line[len + 1] = '\0';
    int rc = pdm_write_file_atomic(path, line, len + 1, errstr, errlen);
    free(line);
    return rc;
}

/* The partition count of topic: its NAME=P in --topic-partitions, else
 * dflt. -1 if that list is malformed. */
static int partitions_of(const char *list, const char *topic, int dflt)
{
    size_t len = strlen(topic);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        const char *eq = strchr(p, '=');
        if (!eq || (end && eq > end))
            return -1;
        if ((size_t)(eq - p) == len && strncmp(p, topic, len) == 0) {
            char *stop;
            long v = strtol(eq + 1, &stop, 10);
            return stop == eq + 1 || (*stop && *stop != ',') || v < 1 || v > 10000 ? -1 : (int)v;
        }
        p = end ? end + 1 : eq + strlen(eq);
    }
    return dflt;
}

int main(int argc, char **argv)
{
    int rc = 1, sig = 0, wrote_file = 0;
    char errstr[PDM_ERRSTR_SIZE];
    broker_cfg cfg = {0};
    pdm_topic_list topics = {0};
    pdm_broker *broker = NULL;
    pdm_broker_control *control = NULL;
    sigset_t stop_signals;

    /* Blocked before librdkafka starts its threads, so that they inherit
     * the mask and the stop signal is taken by sigwait() here alone. */
    /* A shell starts background jobs with SIGINT ignored, and an ignored
     * signal is dropped even while blocked: restore the default first. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    const pdm_program program = {"pdm-broker", usage, options, 0,
                                 offsetof(broker_cfg, log_level)};
    if (pdm_program_start(&program, &cfg, argc, argv, NULL, &rc))
        goto out;
    if (cfg.brokers < 1 || cfg.brokers > 64 || cfg.partitions < 1 || cfg.partitions > 10000) {
        fprintf(stderr, "pdm-broker: --brokers must be 1..64 and --partitions 1..10000\n");
        rc = 2;
        goto out;
    }
    if (pdm_topic_list_add_all(&topics, pdm_kafka_all_topics, errstr, sizeof errstr) ||
        (cfg.topics && pdm_topic_list_add_csv(&topics, cfg.topics, errstr, sizeof errstr))) {
        fprintf(stderr, "pdm-broker: --topic: %s\n", errstr);
        rc = 2;
        goto out;
    }

    broker = pdm_broker_new((int)cfg.brokers, &cfg.props, errstr, sizeof errstr);
    if (!broker) {
        pdm_log(PDM_LOG_ERROR, "%s", errstr);
        goto out;
    }
    for (size_t i = 0; i < topics.count; i++) {
        int partitions = partitions_of(cfg.topic_partitions, topics.names[i], (int)cfg.partitions);
        if (partitions < 0) {
            pdm_log(PDM_LOG_ERROR, "--topic-partitions: want NAME=P[,NAME=P...] with P 1..10000");
            goto out;
        }
        if (pdm_broker_create_topic(broker, topics.names[i], partitions, errstr,
                                    sizeof errstr)) {
            pdm_log(PDM_LOG_ERROR, "%s", errstr);
            goto out;
        }
    }
    if (cfg.control) {
        control = pdm_broker_control_new(broker, cfg.control, errstr, sizeof errstr);
        if (!control) {
            pdm_log(PDM_LOG_ERROR, "--control: %s", errstr);
            goto out;
        }
    }
    const char *addr = pdm_broker_bootstraps(broker);
    if (cfg.bootstrap_file) {
        if (write_bootstrap_file(cfg.bootstrap_file, addr, errstr, sizeof errstr)) {
            pdm_log(PDM_LOG_ERROR, "%s", errstr);
            goto out;
        }
        wrote_file = 1;
    }
    printf("%s\n", addr);
    fflush(stdout);
    pdm_log(PDM_LOG_INFO, "%lld broker(s) at %s; %zu topics of %lld partitions", cfg.brokers, addr,
            topics.count, cfg.partitions);
    if (control)
        pdm_log(PDM_LOG_INFO, "fault injection on %s", cfg.control);

    if (sigwait(&stop_signals, &sig) == 0)
        pdm_log(PDM_LOG_INFO, "stopping on %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
out:
    if (wrote_file)
        unlink(cfg.bootstrap_file);
    pdm_broker_control_destroy(control);
    pdm_broker_destroy(broker);
    pdm_topic_list_clear(&topics);
    pdm_options_free(options, &cfg);
    return rc;
}
