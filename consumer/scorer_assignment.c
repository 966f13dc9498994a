/* scorer_assignment.c: the scorer's assigned partitions (see
 * scorer_assignment.h). */
#include "scorer_assignment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int scorer_assignment_add(scorer_assignment *a, const rd_kafka_topic_partition_list_t *parts)
{
    size_t n = (size_t)parts->cnt;
    scorer_partition *p = realloc(a->parts, (a->n + n + 1) * sizeof *p);
    if (!p)
        return -1;
    a->parts = p;
    for (size_t i = 0; i < n; i++) {
        if (scorer_assignment_find(a, parts->elems[i].topic, parts->elems[i].partition))
            continue; /* already ours (an incremental assignment repeats none, but be safe) */
        scorer_partition *q = &a->parts[a->n++];
        snprintf(q->topic, sizeof q->topic, "%s", parts->elems[i].topic);
        q->partition = parts->elems[i].partition;
        q->eof = 0;
        q->started = 0;
        q->paused = 0;
        q->next = -1;
        q->last_ts = INT64_MIN;
        q->held = NULL;
        q->n_held = q->cap_held = 0;
        q->scan_stamp = 0;
    }
    a->ever = 1;
    return 0;
}

void scorer_assignment_remove(scorer_assignment *a, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        scorer_partition *p =
            scorer_assignment_find(a, parts->elems[i].topic, parts->elems[i].partition);
        if (!p)
            continue;
        scorer_partition_drop_held(p); /* its new owner consumes them */
        free(p->held);
        *p = a->parts[--a->n];
    }
    a->last = 0;
    a->revocations++;
}

scorer_partition *scorer_assignment_find(scorer_assignment *a, const char *topic, int32_t partition)
{
    size_t j = a->last;
    if (j < a->n && a->parts[j].partition == partition && strcmp(a->parts[j].topic, topic) == 0)
        return &a->parts[j];
    for (j = 0; j < a->n; j++) {
        if (a->parts[j].partition == partition && strcmp(a->parts[j].topic, topic) == 0) {
            a->last = j;
            return &a->parts[j];
        }
    }
    return NULL;
}

int scorer_assignment_all_at_end(const scorer_assignment *a)
{
    if (!a->ever || a->n == 0)
        return 0;
    for (size_t j = 0; j < a->n; j++)
        if (!a->parts[j].eof)
            return 0;
    return 1;
}

void scorer_assignment_clear(scorer_assignment *a)
{
    for (size_t j = 0; j < a->n; j++) {
        scorer_partition_drop_held(&a->parts[j]);
        free(a->parts[j].held);
    }
    free(a->parts);
    memset(a, 0, sizeof *a);
}

int scorer_partition_reserve_held(scorer_partition *p, size_t n)
{
    if (n <= p->cap_held)
        return 0;
    size_t cap = p->cap_held ? p->cap_held : 4;
    while (cap < n)
        cap *= 2;
    rd_kafka_message_t **held = realloc(p->held, cap * sizeof *held);
    if (!held)
        return -1;
    p->held = held;
    p->cap_held = cap;
    return 0;
}

void scorer_partition_drop_held(scorer_partition *p)
{
    for (size_t i = 0; i < p->n_held; i++)
        rd_kafka_message_destroy(p->held[i]);
    p->n_held = 0;
}
