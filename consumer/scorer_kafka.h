/* scorer_kafka.h (internal to consumer/): the scorer's Kafka clients: the
 * group consumer (subscription, rebalances, the assignment, the fetcher
 * wake-up, commits, rewinds and pauses) and the idempotent producer of its
 * output (produce, delivery accounting). Client settings the scorer chooses
 * unless -X sets them are made here (README "Client settings").
 *
 * Loop thread only; librdkafka runs the callbacks inside the consume and
 * poll calls on that thread (rebalances), or on its own threads (delivery
 * reports only touch the atomic failure count).
 */
#ifndef PDM_SCORER_KAFKA_H
#define PDM_SCORER_KAFKA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "pdm_schemas.h"
#include "pdm_scorer.h"
#include "scorer_assignment.h"
#include "scorer_merge.h"

typedef struct {
    /* Before partitions are given up: the caller finishes what it holds of
     * them (its pending batch), while they are still ours. */
    void (*before_revoke)(void *ctx);
    /* librdkafka statistics JSON (consumer lag). */
    void (*stats)(void *ctx, const char *json, size_t len);
    void *ctx;
} scorer_kafka_hooks;

/* Output topics (risk, dead letters, silence, shadow, ...) with a kept handle. */
#define SCORER_KAFKA_OUT_TOPICS 8

typedef struct {
    const pdm_scorer_config *cfg;
    const atomic_int *stop; /* a stop request bounds every wait (STOP_GRACE_S) */
    scorer_kafka_hooks hooks;
    rd_kafka_t *consumer;
    rd_kafka_queue_t *queue;    /* the consumer queue: every assigned partition's messages */
    rd_kafka_queue_t *commit_q; /* commit results, tagged with commit_seq */
    uintptr_t commit_seq;       /* the latest commit sent */
    rd_kafka_t *producer;
    size_t max_message; /* the producer's message.max.bytes */
    /* The output topics' handles, made on first use: a message produced by
     * topic name costs librdkafka a locked lookup of the name. The loop's
     * thread alone produces. */
    struct {
        char *name;
        rd_kafka_topic_t *rkt;
    } out_topics[SCORER_KAFKA_OUT_TOPICS];
    size_t n_out_topics;
    scorer_assignment assignment;
    /* The event-time merge of the input topics (NULL with one topic: a
     * partition's order is the stream order). */
    scorer_merge *merge;
    char fatal[768]; /* why the scorer cannot go on ("" while it can) */
    /* scratch for finding clock spikes and held-back runs among the
     * messages taken (take_pairs: pdm_rule_pairs_later of each, in the
     * take_defer allocation) */
    int64_t *take_ts;
    scorer_partition **take_part;
    unsigned char *take_defer, *take_pairs;
    uint64_t take_stamp;
    uint64_t idle_expiries_said; /* the merge's idle expiries logged so far */
    double idle_said_at;
    atomic_int joined; /* the consumer has had an assignment */
    int paused;        /* every assigned partition paused */
    /* the fetcher wake-up (scorer_kafka_wake_fetcher) */
    size_t prefetch_bound; /* the consumer's queued.min.messages */
    int prefetch_full;     /* the queue reached the bound since it last ran dry */
    double last_wake;
    size_t wake_next; /* round robin over the assigned partitions */
    /* output not delivered since scorer_kafka_delivery_reset */
    atomic_long delivery_failures;
    char first_delivery_error[256];
} scorer_kafka;

/* Creates both clients and subscribes; k is zeroed first. On failure what
 * was made is left for scorer_kafka_close. */
int scorer_kafka_open(scorer_kafka *k, const pdm_scorer_config *cfg, const atomic_int *stop,
                      const scorer_kafka_hooks *hooks, char *errstr, size_t errlen);
/* Leaves the group (bounded wait), flushes what is left of the output
 * (purged after a second), destroys both clients. */
void scorer_kafka_close(scorer_kafka *k);

/* ---- consuming -------------------------------------------------------------- */

/* The next batch's messages, up to cap: with one input topic what arrives
 * (waiting up to 200 ms for the first, then max_wait_ms for more), in
 * consumption order; with several, everything the consumer queue holds goes
 * into the event-time merge and msgs gets what the merge hands out.
 * Partition ends are noted, errors logged, messages of partitions no longer
 * assigned dropped. spikes[i] is set for a message that is a clock spike in
 * its partition (pdm_rule_is_spike with the allowed lateness: ahead of the
 * message before it and the one after it). Returns the count (0 if none), or
 * -1 when consuming failed. */
ssize_t scorer_kafka_next(scorer_kafka *k, const pdm_codec *codec, rd_kafka_message_t **msgs,
                          unsigned char *spikes, size_t cap, int64_t max_wait_ms);
/* The input's event-time watermark: how far every assigned partition has
 * got in event time. The smallest event time reached among the partitions
 * that still have messages to come (on the broker or in the merge), or,
 * when all are at their end, the largest; INT64_MIN while one that has
 * more to come has not been read from yet. A silent machine is judged
 * against it (scorer_silence.h), so that a partition fetched ahead of the
 * others during a catch-up does not make the machines of the others look
 * silent. */
int64_t scorer_kafka_watermark(scorer_kafka *k);
/* 1 when every assigned partition is consumed to its end and the merge
 * holds nothing. */
int scorer_kafka_all_at_end(const scorer_kafka *k);
/* Pauses or resumes the partitions whose pause the merge's bound changes
 * (scorer_intake.c; the client's own pause of everything defers to it). */
void scorer_kafka_merge_flow(scorer_kafka *k);
/* Keeps librdkafka 2.0.2 fetching while the scorer drains the queue
 * faster than it refills it (see the .c). Before each consume. */
void scorer_kafka_wake_fetcher(scorer_kafka *k);
size_t scorer_kafka_queued(scorer_kafka *k);

/* ---- offsets ------------------------------------------------------------------ */

/* Sends an asynchronous commit of offs. */
rd_kafka_resp_err_t scorer_kafka_commit_send(scorer_kafka *k,
                                             rd_kafka_topic_partition_list_t *offs);
/* The result of the latest commit sent; a stop request waits for it at most
 * the grace period (then RD_KAFKA_RESP_ERR__TIMED_OUT). */
rd_kafka_resp_err_t scorer_kafka_commit_wait(scorer_kafka *k);
/* Seeks partitions back so that their messages are consumed again. */
void scorer_kafka_rewind(scorer_kafka *k, rd_kafka_topic_partition_list_t *offs);
/* Pauses (or resumes) every assigned partition: while a commit keeps
 * failing nothing new is consumed, but the consume calls still serve the
 * group's rebalance. */
void scorer_kafka_set_paused(scorer_kafka *k, int pause);
/* While paused: pauses the partitions started since (scorer_intake.c). */
void scorer_kafka_pause_started(scorer_kafka *k);

/* ---- producing ---------------------------------------------------------------- */

/* Produces a copy of payload (waiting while the queue is full); takes
 * headers (may be NULL). A refused message counts as a delivery failure. */
int scorer_kafka_produce(scorer_kafka *k, const char *topic, const void *key, size_t key_len,
                         const void *payload, size_t len, rd_kafka_headers_t *headers);
/* Starts counting delivery failures afresh (a new batch's output). */
void scorer_kafka_delivery_reset(scorer_kafka *k);
/* Waits until everything produced is delivered or a delivery failed.
 * Returns 0 delivered, > 0 the number of failures (the first one's text in
 * first_delivery_error), -1 when a stop request gave up waiting (the output
 * is purged). */
long scorer_kafka_deliver(scorer_kafka *k);

/* True once a stop was requested more than the grace period ago (*since is
 * 0 until the request is first seen). */
int scorer_kafka_stop_grace_over(const scorer_kafka *k, double *since);

#endif
