/* broker.c: the embedded broker is librdkafka's mock cluster hosted by a
 * producer handle made only for that purpose (the mock API needs an
 * rd_kafka_t for its bookkeeping; the handle never produces anything). */
#include "pdm_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>

#include "pdm_kafka.h"

struct pdm_broker {
    rd_kafka_t *host;
    rd_kafka_mock_cluster_t *cluster;
    int broker_count;
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
    return 0;
}
