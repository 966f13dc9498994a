/* pdm_producer.h: events into Kafka, as Avro, keyed by machine.
 *
 * Every event is encoded with the codec (single-object encoding by default,
 * so each message names its schema) and produced with key = machine_id, so
 * one machine's events stay in one partition and in order. The producer is
 * idempotent (enable.idempotence=true) and every delivery report is checked:
 * pdm_producer_flush says how many messages could not be delivered.
 * A message's Kafka timestamp is the event's time (CreateTime).
 * A pacer spaces events by event time (--speed) or by rate (--rate).
 */
#ifndef PDM_PRODUCER_H
#define PDM_PRODUCER_H

#include <stdatomic.h>
#include <stdint.h>

#include "pdm_common.h"
#include "pdm_kafka.h"
#include "pdm_schemas.h"

typedef struct {
    const char *brokers;
    const pdm_kvlist *kafka_props; /* -X */
    const char *topic;             /* all events to this topic; NULL: by type */
    const char *topic_prefix;      /* with topic == NULL: "pdm" gives pdm.telemetry, ... */
    pdm_wire_format format;
    int32_t schema_ids[PDM_EV_COUNT]; /* for PDM_WIRE_CONFLUENT */
    /* Set (by a signal handler) to stop: a send waiting for room in a full
     * queue gives up, and a flush waits at most PDM_PRODUCER_STOP_GRACE_MS
     * more, then drops what is left (counted as not delivered). NULL: never. */
    const atomic_int *stop;
} pdm_producer_config;

#define PDM_PRODUCER_STOP_GRACE_MS 1000

typedef struct pdm_producer pdm_producer;

pdm_producer *pdm_producer_new(const pdm_producer_config *cfg, char *errstr, size_t errlen);
/* Creates the producer's missing topics before it produces (see
 * pdm_kafka_create_topics): one per input event type, or the one topic of
 * cfg->topic. The machines topic is created compacted when it carries
 * machine info alone (a topic of every type must not be compacted: it would
 * keep one event per machine). partitions, replication_factor <= 0: the
 * broker's defaults. specs and status need room for PDM_EV_COUNT; *n is
 * set. Returns as pdm_kafka_create_topics. */
int pdm_producer_create_topics(pdm_producer *p, int partitions, int replication_factor,
                               int timeout_ms, pdm_topic_spec *specs, pdm_topic_status *status,
                               size_t *n, char *errstr, size_t errlen);
/* Encodes and enqueues one event (waits while librdkafka's queue is full,
 * unless cfg->stop is set: then -1 "stopped"). */
int pdm_producer_send(pdm_producer *p, const pdm_event *ev, char *errstr, size_t errlen);
/* Serves delivery reports without blocking. */
void pdm_producer_poll(pdm_producer *p);
/* Waits until every message is delivered or failed (timeout_ms, -1 = no
 * limit; cut short by cfg->stop, see there). Returns 0 when all were
 * delivered, -1 with errstr otherwise. */
int pdm_producer_flush(pdm_producer *p, int timeout_ms, char *errstr, size_t errlen);
void pdm_producer_counts(const pdm_producer *p, uint64_t *sent, uint64_t *delivered,
                         uint64_t *failed);
void pdm_producer_destroy(pdm_producer *p);

/* ---- pacing ---------------------------------------------------------------- */

typedef struct {
    double speed;     /* > 0: event time runs this many times faster than real time */
    double rate;      /* > 0: events per second */
    double t0_wall;   /* set by the first wait */
    int64_t t0_event;
    uint64_t n;
} pdm_pacer;

/* speed and rate <= 0: as fast as possible. */
void pdm_pacer_init(pdm_pacer *pc, double speed, double rate);
/* Sleeps until the event with time ts is due; returns the seconds slept. */
double pdm_pacer_wait(pdm_pacer *pc, int64_t ts);

#endif
