/* broker.c: the embedded broker is librdkafka's mock cluster hosted by a
 * producer handle made only for that purpose (the mock API needs an
 * rd_kafka_t for its bookkeeping; the handle never produces anything).
 * The fault functions are thin checks over the mock API, which is
 * thread-safe (each call is an operation queued to the cluster's thread).
 * The broker remembers the topics it created because the mock's leader
 * call would silently create a misspelt one. */
#include "pdm_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_kafka.h"

struct pdm_broker {
    rd_kafka_t *host;
    rd_kafka_mock_cluster_t *cluster;
    int broker_count;
    size_t n_topics;
    char **topics;
    int *partitions;
};

pdm_broker *pdm_broker_new(int broker_count, const pdm_kvlist *props, char *errstr, size_t errlen)
{
    pdm_broker *broker = NULL;
    rd_kafka_conf_t *conf = NULL;
    char msg[PDM_ERRSTR_SIZE];

    if (broker_count < 1 || broker_count > 64) {
        pdm_err(errstr, errlen, "broker count must be 1..64, got %d", broker_count);
        goto fail;
    }
    broker = calloc(1, sizeof *broker);
    if (!broker) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    broker->broker_count = broker_count;
    /* The host handle has no bootstrap.servers by design: log_level 4
     * silences librdkafka's notice about it (-X log_level or debug override). */
    conf = pdm_kafka_conf_new(NULL, "pdm-broker", NULL, errstr, errlen);
    if (!conf)
        goto fail;
    if (rd_kafka_conf_set(conf, "log_level", "4", msg, sizeof msg) != RD_KAFKA_CONF_OK) {
        pdm_err(errstr, errlen, "log_level: %s", msg);
        goto fail;
    }
    /* The mock's listening sockets inherit the host handle's Nagle setting.
     * With Nagle on, a second response on one connection waits for the
     * client's delayed ACK (~40 ms): a flush spanning two partitions took
     * 45 ms instead of 2 ms (bench/README.md). Real brokers set TCP_NODELAY. */
    if (rd_kafka_conf_set(conf, "socket.nagle.disable", "true", msg, sizeof msg) !=
        RD_KAFKA_CONF_OK) {
        pdm_err(errstr, errlen, "socket.nagle.disable: %s", msg);
        goto fail;
    }
    if (pdm_kafka_conf_apply(conf, props, errstr, errlen))
        goto fail;
    broker->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, msg, sizeof msg);
    if (!broker->host) {
        pdm_err(errstr, errlen, "cannot create the host handle: %s", msg);
        goto fail; /* conf is still ours when rd_kafka_new fails */
    }
    conf = NULL; /* owned by the handle now */
    broker->cluster = rd_kafka_mock_cluster_new(broker->host, broker_count);
    if (!broker->cluster) {
        pdm_err(errstr, errlen, "cannot start the mock cluster (%d brokers)", broker_count);
        goto fail;
    }
    return broker;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    pdm_broker_destroy(broker);
    return NULL;
}

void pdm_broker_destroy(pdm_broker *broker)
{
    if (!broker)
        return;
    if (broker->cluster)
        rd_kafka_mock_cluster_destroy(broker->cluster);
    if (broker->host)
        rd_kafka_destroy(broker->host);
    for (size_t i = 0; i < broker->n_topics; i++)
        free(broker->topics[i]);
    free(broker->topics);
    free(broker->partitions);
    free(broker);
}

const char *pdm_broker_bootstraps(const pdm_broker *broker)
{
    return rd_kafka_mock_cluster_bootstraps(broker->cluster);
}

int pdm_broker_create_topic(pdm_broker *broker, const char *topic, int partitions, char *errstr,
                            size_t errlen)
{
    if (partitions < 1)
        return pdm_err(errstr, errlen, "topic %s: partitions must be >= 1, got %d", topic,
                       partitions);
    int replicas = broker->broker_count < 3 ? broker->broker_count : 3;
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(broker->cluster, topic, partitions, replicas);
    if (err)
        return pdm_err(errstr, errlen, "topic %s: %s", topic, rd_kafka_err2str(err));
    char **names = realloc(broker->topics, (broker->n_topics + 1) * sizeof *names);
    if (names)
        broker->topics = names;
    int *counts = realloc(broker->partitions, (broker->n_topics + 1) * sizeof *counts);
    if (counts)
        broker->partitions = counts;
    char *copy = strdup(topic);
    if (!names || !counts || !copy) {
        free(copy);
        return pdm_err(errstr, errlen, "out of memory");
    }
    broker->topics[broker->n_topics] = copy;
    broker->partitions[broker->n_topics++] = partitions;
    return 0;
}

/* ---- fault injection ------------------------------------------------------- */

static int check_broker_id(const pdm_broker *broker, int32_t id, int allow_all, char *errstr,
                           size_t errlen)
{
    if ((allow_all && id == -1) || (id >= 1 && id <= broker->broker_count))
        return 0;
    return pdm_err(errstr, errlen, "no broker %d (ids are 1..%d%s)", (int)id,
                   broker->broker_count, allow_all ? " or -1 for all" : "");
}

static int mock_result(rd_kafka_resp_err_t err, const char *what, char *errstr, size_t errlen)
{
    return err ? pdm_err(errstr, errlen, "%s: %s", what, rd_kafka_err2str(err)) : 0;
}

int pdm_broker_set_down(pdm_broker *broker, int32_t broker_id, char *errstr, size_t errlen)
{
    if (check_broker_id(broker, broker_id, 1, errstr, errlen))
        return -1;
    return mock_result(rd_kafka_mock_broker_set_down(broker->cluster, broker_id), "down", errstr,
                       errlen);
}

int pdm_broker_set_up(pdm_broker *broker, int32_t broker_id, char *errstr, size_t errlen)
{
    if (check_broker_id(broker, broker_id, 1, errstr, errlen))
        return -1;
    return mock_result(rd_kafka_mock_broker_set_up(broker->cluster, broker_id), "up", errstr,
                       errlen);
}

int pdm_broker_set_rtt(pdm_broker *broker, int32_t broker_id, int rtt_ms, char *errstr,
                       size_t errlen)
{
    if (check_broker_id(broker, broker_id, 1, errstr, errlen))
        return -1;
    if (rtt_ms < 0)
        return pdm_err(errstr, errlen, "rtt must be >= 0 ms, got %d", rtt_ms);
    return mock_result(rd_kafka_mock_broker_set_rtt(broker->cluster, broker_id, rtt_ms), "rtt",
                       errstr, errlen);
}

int pdm_broker_push_errors(pdm_broker *broker, int32_t broker_id, int16_t api_key, size_t count,
                           int error, char *errstr, size_t errlen)
{
    if (check_broker_id(broker, broker_id, 1, errstr, errlen))
        return -1;
    if (api_key < 0)
        return pdm_err(errstr, errlen, "bad request type %d", (int)api_key);
    if (count == 0 || count > 1000000)
        return pdm_err(errstr, errlen, "error count must be 1..1000000");
    if (broker_id == -1) {
        rd_kafka_resp_err_t *errs = malloc(count * sizeof *errs);
        if (!errs)
            return pdm_err(errstr, errlen, "out of memory");
        for (size_t i = 0; i < count; i++)
            errs[i] = (rd_kafka_resp_err_t)error;
        rd_kafka_mock_push_request_errors_array(broker->cluster, api_key, count, errs);
        free(errs);
        return 0;
    }
    /* The broker-level call takes (error, rtt) pairs as varargs only. */
    for (size_t i = 0; i < count; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_broker_push_request_error_rtts(
            broker->cluster, broker_id, api_key, 1, (rd_kafka_resp_err_t)error, 0);
        if (err)
            return mock_result(err, "errors", errstr, errlen);
    }
    return 0;
}

int pdm_broker_pending_errors(pdm_broker *broker, int32_t broker_id, int16_t api_key,
                              size_t *count, char *errstr, size_t errlen)
{
    if (check_broker_id(broker, broker_id, 0, errstr, errlen))
        return -1;
    *count = 0;
    return mock_result(
        rd_kafka_mock_broker_error_stack_cnt(broker->cluster, broker_id, api_key, count),
        "pending", errstr, errlen);
}

void pdm_broker_clear_errors(pdm_broker *broker, int16_t api_key)
{
    rd_kafka_mock_clear_request_errors(broker->cluster, api_key);
}

int pdm_broker_set_leader(pdm_broker *broker, const char *topic, int32_t partition,
                          int32_t broker_id, char *errstr, size_t errlen)
{
    if (check_broker_id(broker, broker_id, 0, errstr, errlen))
        return -1;
    size_t i = 0;
    while (i < broker->n_topics && strcmp(broker->topics[i], topic) != 0)
        i++;
    if (i == broker->n_topics)
        return pdm_err(errstr, errlen, "no topic %s", topic);
    if (partition < 0 || partition >= broker->partitions[i])
        return pdm_err(errstr, errlen, "topic %s has partitions 0..%d, not %d", topic,
                       broker->partitions[i] - 1, (int)partition);
    return mock_result(
        rd_kafka_mock_partition_set_leader(broker->cluster, topic, partition, broker_id), "leader",
        errstr, errlen);
}

int pdm_broker_set_coordinator(pdm_broker *broker, const char *key_type, const char *key,
                               int32_t broker_id, char *errstr, size_t errlen)
{
    if (strcmp(key_type, "group") != 0 && strcmp(key_type, "transaction") != 0)
        return pdm_err(errstr, errlen, "coordinator type must be group or transaction, not %s",
                       key_type);
    if (check_broker_id(broker, broker_id, 0, errstr, errlen))
        return -1;
    return mock_result(rd_kafka_mock_coordinator_set(broker->cluster, key_type, key, broker_id),
                       "coordinator", errstr, errlen);
}

int pdm_broker_count(const pdm_broker *broker)
{
    return broker->broker_count;
}
