/* pdm_broker.h: an embedded Kafka-protocol broker for the demo and tests.
 *
 * Wraps librdkafka's mock cluster (rdkafka_mock.h): N brokers listening on
 * loopback at ephemeral ports, speaking enough of the Kafka protocol for
 * real clients (kcat, producers, consumer groups with commits). It is not a
 * durable broker: the log lives in memory and each partition keeps only
 * about 5 MB (older messages are dropped and the low watermark moves).
 *
 * The cluster runs on librdkafka's own threads; the caller only keeps the
 * object alive.
 */
#ifndef PDM_BROKER_H
#define PDM_BROKER_H

#include <stddef.h>

#include "pdm_common.h"

typedef struct pdm_broker pdm_broker;

/* Starts a cluster of broker_count (>= 1) brokers. props are librdkafka
 * properties (-X) for the handle that hosts the cluster (e.g. debug=mock).
 * Returns NULL with errstr on failure. */
pdm_broker *pdm_broker_new(int broker_count, const pdm_kvlist *props, char *errstr, size_t errlen);
void pdm_broker_destroy(pdm_broker *broker);

/* The bootstrap address, "127.0.0.1:PORT[,127.0.0.1:PORT...]"; owned by
 * the broker. */
const char *pdm_broker_bootstraps(const pdm_broker *broker);

/* Creates a topic with `partitions` (>= 1) partitions, replicated on up to
 * three brokers. Returns 0, or -1 with errstr (e.g. the topic exists). */
int pdm_broker_create_topic(pdm_broker *broker, const char *topic, int partitions, char *errstr,
                            size_t errlen);

#endif
