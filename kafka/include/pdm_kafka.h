/* pdm_kafka.h: what every Kafka program of pdm shares.
 *
 * - The product's topic names, and which topic each event type goes to by
 *   default, so producer, scorer, broker and tools agree without repeating
 *   string literals.
 * - A librdkafka configuration built from the usual trio of a program's
 *   options (bootstrap address, client id, -X key=value properties), with
 *   errors that name the offending property but never echo the value of a
 *   secret one (names containing "password", "secret", "sasl" or "key").
 * - A small list of topic names, parsed from "a,b,c" so that one option can
 *   name several topics.
 * - Creating missing topics with the Admin API (kafka_topics.c), the
 *   compacted ones compacted.
 *
 * A module of its own (kafka/, not common/): it needs librdkafka and the
 * event types of schemas/, and common/ depends on nothing.
 */
#ifndef PDM_KAFKA_H
#define PDM_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "pdm_common.h"
#include "pdm_schemas.h"

#define PDM_TOPIC_TELEMETRY "pdm.telemetry"
#define PDM_TOPIC_ERRORS "pdm.errors"
#define PDM_TOPIC_MAINTENANCE "pdm.maintenance"
#define PDM_TOPIC_FAILURES "pdm.failures"
#define PDM_TOPIC_MACHINES "pdm.machines"
#define PDM_TOPIC_RISK "pdm.risk"
#define PDM_TOPIC_DLQ "pdm.dlq"

/* Every topic of the product, NULL-terminated (input topics first). */
extern const char *const pdm_kafka_all_topics[];
/* The topics the producer writes and the scorer reads, NULL-terminated:
 * telemetry, errors, maintenance, failures, machines. */
extern const char *const pdm_kafka_input_topics[];

/* Default topic of an event type (pdm.telemetry for PDM_EV_TELEMETRY, ...);
 * NULL for a value outside the enum. */
const char *pdm_kafka_default_topic(pdm_event_type t);

/* 1 if a property's value must never be shown (its name contains
 * "password", "secret", "sasl" or "key", in any case), else 0. */
int pdm_kafka_property_is_secret(const char *name);

/* The client a librdkafka property is for, by librdkafka's own table
 * (rd_kafka_conf_properties_show, global and topic properties): 'C'
 * consumer, 'P' producer, '*' both, or for a name it does not list (its
 * rd_kafka_conf_set then says what is wrong). */
char pdm_kafka_property_scope(const char *name);

typedef enum {
    PDM_KAFKA_ANY_CLIENT, /* every property */
    PDM_KAFKA_CONSUMER,   /* producer-only properties skipped */
    PDM_KAFKA_PRODUCER,   /* consumer-only properties skipped */
} pdm_kafka_client;

/* As pdm_kafka_conf_new, for one kind of client: one -X list serves a
 * program's consumer and producer, and each gets only the properties that
 * are for it (a consumer property given to a producer makes librdkafka log
 * a CONFWARN on every start). A skipped property is logged at debug level. */
rd_kafka_conf_t *pdm_kafka_conf_new_for(pdm_kafka_client client, const char *bootstrap,
                                        const char *client_id, const pdm_kvlist *props,
                                        char *errstr, size_t errlen);

/* A new configuration with bootstrap.servers (if bootstrap != NULL),
 * client.id (if client_id != NULL), then every property of props in order
 * (so -X can override the first two). Returns NULL with errstr naming the
 * property on failure. The caller owns the result (rd_kafka_new takes it). */
rd_kafka_conf_t *pdm_kafka_conf_new(const char *bootstrap, const char *client_id,
                                    const pdm_kvlist *props, char *errstr, size_t errlen);
/* Sets every property of props (NULL: none) on conf, in order, so a program
 * can set its own defaults first and let -X override them. Returns 0, or -1
 * with errstr naming the property (conf keeps what was set before it). */
int pdm_kafka_conf_apply(rd_kafka_conf_t *conf, const pdm_kvlist *props, char *errstr,
                         size_t errlen);

/* Static group membership (KIP-345): the group.instance.id a program was
 * asked for. spec is an id, or "env:NAME" for the value of the environment
 * variable NAME (a pod's name, a host name: only when asked for, since two
 * live members with the same id fence each other). The id must be what a
 * broker accepts: 1..249 of [A-Za-z0-9._-], not "." or "..". Writes it into
 * out and returns 0, or -1 with errstr (an unset or empty variable, a bad id,
 * one longer than out). */
int pdm_kafka_instance_id_resolve(const char *spec, char *out, size_t outlen, char *errstr,
                                  size_t errlen);

/* ---- creating topics (kafka_topics.c) ------------------------------------- */

#define PDM_TOPIC_SPECS_MAX 16

typedef struct {
    const char *name;
    int partitions;         /* <= 0: the broker's default (num.partitions; Kafka >= 2.4) */
    int replication_factor; /* <= 0: the broker's default */
    int compact;            /* cleanup.policy=compact: a table keyed by machine */
} pdm_topic_spec;

typedef enum {
    PDM_TOPIC_NOT_CREATED = 0, /* missing, left to auto-creation; detail says why */
    PDM_TOPIC_CREATED,
    PDM_TOPIC_EXISTED,         /* before, or created by another client meanwhile */
} pdm_topic_outcome;

typedef struct {
    pdm_topic_outcome outcome;
    int compacted; /* an existing topic whose spec asks compact: 1, 0, or -1 unknown */
    char detail[256];
} pdm_topic_status;

/* Creates those of the n (<= PDM_TOPIC_SPECS_MAX) topics that do not exist,
 * in one CreateTopics request (Admin API) on any client handle, waiting up
 * to timeout_ms; an existing topic is fine (TOPIC_ALREADY_EXISTS too). For
 * an existing topic whose spec asks compact, reads its cleanup.policy
 * (DescribeConfigs) into status[i].compacted. Returns 0 when the request
 * could be made (each topic's outcome in status[i]); -1 with errstr when
 * the cluster's topics cannot be read or it has no admin API (no controller
 * among its brokers: librdkafka's mock cluster, pdm-broker), or the request
 * as a whole failed; status then says which topics exist. Never prints. */
int pdm_kafka_create_topics(rd_kafka_t *rk, const pdm_topic_spec *specs, size_t n,
                            int timeout_ms, pdm_topic_status *status, char *errstr,
                            size_t errlen);

/* ---- topic lists ---------------------------------------------------------- */

typedef struct {
    size_t count;
    char **names;
} pdm_topic_list;

/* Appends the comma-separated names of csv ("a,b , c"; blanks around names
 * ignored, duplicates skipped). A name must be a legal Kafka topic name
 * (1..249 of [A-Za-z0-9._-], not "." or ".."). Returns 0 or -1 with errstr. */
int pdm_topic_list_add_csv(pdm_topic_list *list, const char *csv, char *errstr, size_t errlen);
/* Appends names (NULL-terminated), as pdm_topic_list_add_csv does. */
int pdm_topic_list_add_all(pdm_topic_list *list, const char *const *names, char *errstr,
                           size_t errlen);
void pdm_topic_list_clear(pdm_topic_list *list);

#endif
