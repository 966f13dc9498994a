/* scorer_assignment.h (internal to consumer/): the partitions the consumer
 * group gave this scorer, and whether each is consumed to its end. Plain
 * data kept in step with the rebalance callbacks; no client calls, so it is
 * testable alone (group protocol and offsets stay in scorer_kafka.c).
 */
#ifndef PDM_SCORER_ASSIGNMENT_H
#define PDM_SCORER_ASSIGNMENT_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

typedef struct {
    char topic[256];
    int32_t partition;
    int eof;      /* the last thing consumed from it was its end */
    int started;  /* a message or its end came: librdkafka has started fetching it */
    int paused;   /* paused by scorer_kafka_set_paused */
    int64_t next; /* offset after the last message consumed, -1 unknown */
    /* event time of the last message taken that was not a clock spike
     * (INT64_MIN: unknown), and scratch for finding spikes in a batch */
    int64_t last_ts, next_ts;
    /* its last messages taken, held back to the next batch in their order
     * (scorer_intake.c): the last one when it is far ahead of the one
     * before it, with nothing after it yet to tell a clock spike from the
     * stream moving on; or the run at its last event time from a record a
     * later one of that time may pair with (pdm_rule_pairs_later) */
    rd_kafka_message_t **held;
    size_t n_held, cap_held;
    /* scratch for finding that run in a batch */
    uint64_t scan_stamp;
    int64_t run_ts;
    size_t run_from;
    int in_run;
} scorer_partition;

/* Makes room for n held messages. 0, or -1 out of memory. */
int scorer_partition_reserve_held(scorer_partition *p, size_t n);
/* Destroys the held messages (its new owner, or the rewound consumer,
 * consumes them again). */
void scorer_partition_drop_held(scorer_partition *p);

typedef struct {
    scorer_partition *parts;
    size_t n;
    size_t last; /* where the last lookup was found */
    int ever;    /* anything was ever assigned (the group is joined) */
    uint64_t revocations; /* scorer_assignment_remove calls: what holds per-partition
                           * state elsewhere sees that it must look again */
} scorer_assignment;

/* Adds the partitions (not at their end yet). 0, or -1 out of memory. */
int scorer_assignment_add(scorer_assignment *a, const rd_kafka_topic_partition_list_t *parts);
/* Removes those of the partitions that are assigned. */
void scorer_assignment_remove(scorer_assignment *a, const rd_kafka_topic_partition_list_t *parts);
/* The assigned partition, or NULL. Messages of one partition come in runs:
 * the last answer is tried first. */
scorer_partition *scorer_assignment_find(scorer_assignment *a, const char *topic,
                                         int32_t partition);
/* 1 when partitions were assigned and every one is at its end. */
int scorer_assignment_all_at_end(const scorer_assignment *a);
void scorer_assignment_clear(scorer_assignment *a);

#endif
