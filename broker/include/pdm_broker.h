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
 *
 * Fault injection, for tests of what clients do when brokers misbehave:
 * brokers taken down and up, request errors pushed per protocol request
 * type, added round-trip time, partition leaders and group coordinators
 * moved. Each is a function below and a line of the control language that
 * pdm_broker_command() runs and pdm_broker_control serves on a Unix-domain
 * socket (pdm-broker --control PATH), so a test script can break the
 * cluster while its clients run:
 *
 *   down ID|all                   disconnect the broker, refuse connections
 *   up ID|all                     accept connections again
 *   rtt ID|all MS                 delay every response by MS ms (0: none)
 *   errors API COUNT ERR [ID]     the next COUNT requests of type API fail
 *                                 with ERR (on broker ID only, if given)
 *   pending ID API                errors still queued on broker ID for API
 *   clear API                     drop the cluster-wide errors queued for API
 *   leader TOPIC PARTITION ID     move a partition's leader
 *   coordinator group GROUP ID    move a consumer group's coordinator
 *   brokers                       the broker count
 *   ping                          liveness
 *
 * API is a request type name (Produce, Fetch, ListOffsets, Metadata,
 * OffsetCommit, OffsetFetch, FindCoordinator, JoinGroup, Heartbeat,
 * LeaveGroup, SyncGroup, InitProducerId, ...) or its number; ERR an error
 * name as rd_kafka_err2name() spells it (NOT_LEADER_FOR_PARTITION,
 * REQUEST_TIMED_OUT, _TRANSPORT to drop the connection, ...) or its number.
 * Each command gets one reply line: "ok" (plus a value for queries) or
 * "error: WHY". Two quirks of the mock (librdkafka 2.0.2): it does not
 * elect a new leader when a broker goes down (move leaders explicitly),
 * and once a broker has had errors of its own for an API, cluster-wide
 * errors for that API no longer reach that broker (use one style per API).
 */
#ifndef PDM_BROKER_H
#define PDM_BROKER_H

#include <stddef.h>
#include <stdint.h>

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
/* The number of brokers (ids 1..count). */
int pdm_broker_count(const pdm_broker *broker);

/* Creates a topic with `partitions` (>= 1) partitions, replicated on up to
 * three brokers. Returns 0, or -1 with errstr (e.g. the topic exists). */
int pdm_broker_create_topic(pdm_broker *broker, const char *topic, int partitions, char *errstr,
                            size_t errlen);

/* ---- fault injection (broker_id -1: every broker) ---------------------- */

int pdm_broker_set_down(pdm_broker *broker, int32_t broker_id, char *errstr, size_t errlen);
int pdm_broker_set_up(pdm_broker *broker, int32_t broker_id, char *errstr, size_t errlen);
int pdm_broker_set_rtt(pdm_broker *broker, int32_t broker_id, int rtt_ms, char *errstr,
                       size_t errlen);
/* The next `count` requests of type api_key fail with error (an
 * rd_kafka_resp_err_t value): on broker_id only, or on whichever broker
 * gets them if broker_id is -1. */
int pdm_broker_push_errors(pdm_broker *broker, int32_t broker_id, int16_t api_key, size_t count,
                           int error, char *errstr, size_t errlen);
/* Errors still queued on broker_id (>= 1) for api_key, in *count. */
int pdm_broker_pending_errors(pdm_broker *broker, int32_t broker_id, int16_t api_key,
                              size_t *count, char *errstr, size_t errlen);
/* Drops the cluster-wide errors queued for api_key. */
void pdm_broker_clear_errors(pdm_broker *broker, int16_t api_key);
int pdm_broker_set_leader(pdm_broker *broker, const char *topic, int32_t partition,
                          int32_t broker_id, char *errstr, size_t errlen);
/* key_type "group" (a group.id) or "transaction" (a transactional.id). */
int pdm_broker_set_coordinator(pdm_broker *broker, const char *key_type, const char *key,
                               int32_t broker_id, char *errstr, size_t errlen);

/* Runs one line of the control language (above) and writes its reply,
 * without a newline, into reply. Returns 0 if the reply is "ok...", -1 if
 * it is "error: ...". */
int pdm_broker_command(pdm_broker *broker, const char *line, char *reply, size_t replylen);

/* The control channel: a thread serving pdm_broker_command on a Unix-domain
 * stream socket at path (mode 0600; a stale socket there is replaced, any
 * other file is an error). One client at a time, one reply line per command
 * line, as many commands per connection as the client sends; an idle
 * client is dropped after 10 s. destroy stops the thread and removes the
 * socket; it must come before pdm_broker_destroy. */
typedef struct pdm_broker_control pdm_broker_control;

pdm_broker_control *pdm_broker_control_new(pdm_broker *broker, const char *path, char *errstr,
                                           size_t errlen);
void pdm_broker_control_destroy(pdm_broker_control *control);

#endif
