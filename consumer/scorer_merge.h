/* scorer_merge.h (internal to consumer/): the event-time merge of
 * co-partitioned input topics (README "Topics and ordering").
 *
 * Kafka orders one partition of one topic only. With one topic per event
 * type, partition p of every input topic holds the same machines (same key,
 * same partition count), and together they make one task (Kafka Streams'
 * word). Within a task the merge hands out next the buffered message with
 * the smallest (event time, stream rank, topic's place in --topics), each
 * partition's messages staying in their order, so a task's machines see
 * their events in the trainer's stream order whatever the layout.
 *
 * It can only choose among what is buffered: while one partition of a task
 * has nothing and is not known to be at its end (more is on the broker, or
 * nothing was fetched yet), the task waits, at most max_idle_ms, and then
 * goes on without it until it has messages again or reaches its end. Other
 * tasks do not wait for it. Each partition's buffer is bounded by pausing
 * the partition once it holds `bound` messages and resuming it at half.
 *
 * One message stamped far in the future (a device clock set wrong) would sit
 * at its partition's head until every other partition of the task ran dry,
 * holding back all the partition's later messages. So a head that is a
 * spike (far ahead of the message before it and of the one after it in its
 * partition) goes out at once, marked, to become a dead letter.
 *
 * Plain data over opaque messages (the scorer's rd_kafka_message_t): no
 * client calls, so the unit tests drive it alone. Loop thread only.
 */
#ifndef PDM_SCORER_MERGE_H
#define PDM_SCORER_MERGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct scorer_merge scorer_merge;

typedef struct {
    size_t bound;        /* messages buffered per partition before it is paused (>= 2) */
    int64_t max_idle_ms; /* how long a task waits for a partition with nothing buffered */
    int64_t spike_ms;    /* a message this far ahead of both neighbours is a spike; < 0: none */
    void (*free_msg)(void *msg); /* frees a buffered message that is dropped */
} scorer_merge_config;

/* topics: the input topics in --topics order (the tie-break at equal event
 * time and rank). NULL out of memory. */
scorer_merge *scorer_merge_new(const char *const *topics, size_t n_topics,
                               const scorer_merge_config *cfg);
/* Frees every buffered message. */
void scorer_merge_destroy(scorer_merge *m);

/* A partition assigned: 0, or -1 (out of memory, or not an input topic). */
int scorer_merge_add(scorer_merge *m, const char *topic, int32_t partition);
/* A partition revoked: its buffered messages are freed. */
void scorer_merge_remove(scorer_merge *m, const char *topic, int32_t partition);
/* A partition rewound (it is fetched again from an earlier offset): its
 * buffered messages are freed; it is not at its end. */
void scorer_merge_drop(scorer_merge *m, const char *topic, int32_t partition);

/* Buffers a message of an assigned partition with its event time and stream
 * rank (a message that cannot be read that far: INT64_MIN and 0, so that
 * it goes out first), and pairs: 1 if a later record of its task and time
 * may pair with it (pdm_rule_pairs_later). Such a record goes out only with
 * everything of its task at its time (a take stops before it rather than
 * end between them, and waits, as for a partition with nothing buffered,
 * while a partition's buffer ends at that time). 0, or -1 (out of memory,
 * or the partition is not assigned: the message is not taken). */
int scorer_merge_push(scorer_merge *m, const char *topic, int32_t partition, void *msg, int64_t ts,
                      int rank, int pairs);
/* The last thing consumed from the partition was its end (or a message). */
void scorer_merge_set_end(scorer_merge *m, const char *topic, int32_t partition, int at_end);

/* Takes up to cap messages in merge order into out, task after task
 * (starting with a different task each call); now_s is the monotonic clock
 * that idle waits are measured on. spikes (NULL: not wanted) gets 1 for a
 * message that goes out as a clock spike (see pdm_rule_is_spike), else 0.
 * Returns the count. */
size_t scorer_merge_take(scorer_merge *m, void **out, unsigned char *spikes, size_t cap,
                         double now_s);

/* A partition's event time so far (its last message out that was not a
 * spike; INT64_MIN if none or unknown) and its messages buffered. -1 if it
 * is not assigned. */
int scorer_merge_part_state(const scorer_merge *m, const char *topic, int32_t partition,
                            int64_t *last_ts, size_t *buffered);

/* Messages buffered in all. */
size_t scorer_merge_buffered(const scorer_merge *m);
/* Times a task went on without a partition whose max_idle_ms ran out. */
uint64_t scorer_merge_idle_expiries(const scorer_merge *m);

/* Each partition's bound from now on (>= 2). */
void scorer_merge_set_bound(scorer_merge *m, size_t bound);

/* Calls fn(ctx, topic, partition, pause) for each partition whose pause the
 * bound changes: pause (1) at `bound` buffered, resume (0) at half. */
void scorer_merge_flow(scorer_merge *m,
                       void (*fn)(void *ctx, const char *topic, int32_t partition, int pause),
                       void *ctx);
/* Forgets the pauses (every partition was resumed by someone else):
 * scorer_merge_flow pauses again what is over the bound. */
void scorer_merge_forget_pauses(scorer_merge *m);

#endif
