/* scorer_merge.c: the event-time merge of co-partitioned input topics (see
 * scorer_merge.h). Partitions are kept sorted by (partition, topic's place),
 * so a task is a run of consecutive partitions; each buffers its messages in
 * a ring. */
#include "scorer_merge.h"

#include <stdlib.h>
#include <string.h>

#include "pdm_rules.h"

typedef struct {
    void *msg;
    int64_t ts;
    int rank;
    int pairs; /* a later record of the task at ts may pair with it */
} merge_entry;

typedef struct {
    int topic; /* place in the topic list */
    int32_t partition;
    merge_entry *ring;
    size_t head, n, cap;
    int at_end;
    int paused;      /* by the bound */
    int64_t last_ts; /* of the last message that went out (not a spike); INT64_MIN none */
} merge_part;

/* A task: the partitions parts[first .. first + count) (same partition
 * number), and its wait for a partition with nothing buffered. */
typedef struct {
    size_t first, count;
    int waiting;          /* for a partition with nothing buffered ... */
    double waiting_since; /* ... since then (monotonic seconds) */
    int going_on;         /* the wait ran out: going on without the partition */
} merge_task;

struct scorer_merge {
    scorer_merge_config cfg;
    char **topics;
    size_t n_topics;
    merge_part *parts;
    size_t n_parts, cap_parts;
    merge_task *tasks;
    size_t n_tasks;
    size_t next_task; /* where the next take starts */
    size_t buffered;
    uint64_t idle_expiries;
    size_t last; /* where the last lookup was found (messages come in runs) */
};

scorer_merge *scorer_merge_new(const char *const *topics, size_t n_topics,
                               const scorer_merge_config *cfg)
{
    scorer_merge *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cfg = *cfg;
    if (m->cfg.bound < 2)
        m->cfg.bound = 2;
    m->topics = calloc(n_topics ? n_topics : 1, sizeof *m->topics);
    if (!m->topics)
        goto fail;
    m->n_topics = n_topics;
    for (size_t i = 0; i < n_topics; i++)
        if (!(m->topics[i] = strdup(topics[i])))
            goto fail;
    return m;
fail:
    scorer_merge_destroy(m);
    return NULL;
}

static void part_free_messages(scorer_merge *m, merge_part *p)
{
    for (size_t i = 0; i < p->n; i++) {
        void *msg = p->ring[(p->head + i) % p->cap].msg;
        if (m->cfg.free_msg)
            m->cfg.free_msg(msg);
    }
    m->buffered -= p->n;
    p->head = p->n = 0;
}

void scorer_merge_destroy(scorer_merge *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_parts; i++) {
        part_free_messages(m, &m->parts[i]);
        free(m->parts[i].ring);
    }
    for (size_t i = 0; m->topics && i < m->n_topics; i++)
        free(m->topics[i]);
    free(m->topics);
    free(m->parts);
    free(m->tasks);
    free(m);
}

static int topic_index(const scorer_merge *m, const char *topic)
{
    for (size_t i = 0; i < m->n_topics; i++)
        if (strcmp(m->topics[i], topic) == 0)
            return (int)i;
    return -1;
}

static merge_part *find_part(scorer_merge *m, const char *topic, int32_t partition)
{
    size_t j = m->last;
    if (j < m->n_parts && m->parts[j].partition == partition &&
        strcmp(m->topics[m->parts[j].topic], topic) == 0)
        return &m->parts[j];
    int t = topic_index(m, topic);
    for (size_t i = 0; t >= 0 && i < m->n_parts; i++) {
        if (m->parts[i].topic == t && m->parts[i].partition == partition) {
            m->last = i;
            return &m->parts[i];
        }
    }
    return NULL;
}

/* Tasks anew from the sorted partitions (waits start over). */
static int rebuild_tasks(scorer_merge *m)
{
    free(m->tasks);
    m->tasks = calloc(m->n_parts ? m->n_parts : 1, sizeof *m->tasks);
    m->n_tasks = 0;
    if (!m->tasks)
        return -1;
    for (size_t i = 0; i < m->n_parts; i++) {
        if (i == 0 || m->parts[i].partition != m->parts[i - 1].partition)
            m->tasks[m->n_tasks++].first = i;
        m->tasks[m->n_tasks - 1].count++;
    }
    m->next_task = 0;
    return 0;
}

int scorer_merge_add(scorer_merge *m, const char *topic, int32_t partition)
{
    int t = topic_index(m, topic);
    if (t < 0)
        return -1;
    if (find_part(m, topic, partition))
        return 0;
    if (m->n_parts == m->cap_parts) {
        size_t cap = m->cap_parts ? m->cap_parts * 2 : 16;
        merge_part *p = realloc(m->parts, cap * sizeof *p);
        if (!p)
            return -1;
        m->parts = p;
        m->cap_parts = cap;
    }
    size_t at = 0;
    while (at < m->n_parts && (m->parts[at].partition < partition ||
                               (m->parts[at].partition == partition && m->parts[at].topic < t)))
        at++;
    memmove(&m->parts[at + 1], &m->parts[at], (m->n_parts - at) * sizeof *m->parts);
    memset(&m->parts[at], 0, sizeof *m->parts);
    m->parts[at].topic = t;
    m->parts[at].partition = partition;
    m->parts[at].last_ts = INT64_MIN;
    m->n_parts++;
    return rebuild_tasks(m);
}

void scorer_merge_remove(scorer_merge *m, const char *topic, int32_t partition)
{
    merge_part *p = find_part(m, topic, partition);
    if (!p)
        return;
    part_free_messages(m, p);
    free(p->ring);
    size_t at = (size_t)(p - m->parts);
    memmove(&m->parts[at], &m->parts[at + 1], (m->n_parts - at - 1) * sizeof *m->parts);
    m->n_parts--;
    rebuild_tasks(m); /* shrinks: calloc of at most the old size */
}

void scorer_merge_drop(scorer_merge *m, const char *topic, int32_t partition)
{
    merge_part *p = find_part(m, topic, partition);
    if (!p)
        return;
    part_free_messages(m, p);
    p->at_end = 0;
    /* last_ts stays: the message before what comes again is earlier than
     * it, so the spike rule judges at most a little more leniently. */
}

int scorer_merge_push(scorer_merge *m, const char *topic, int32_t partition, void *msg, int64_t ts,
                      int rank, int pairs)
{
    merge_part *p = find_part(m, topic, partition);
    if (!p)
        return -1;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        merge_entry *ring = malloc(cap * sizeof *ring);
        if (!ring)
            return -1;
        for (size_t i = 0; i < p->n; i++)
            ring[i] = p->ring[(p->head + i) % p->cap];
        free(p->ring);
        p->ring = ring;
        p->cap = cap;
        p->head = 0;
    }
    p->ring[(p->head + p->n) % p->cap] = (merge_entry){msg, ts, rank, pairs};
    p->n++;
    p->at_end = 0;
    m->buffered++;
    return 0;
}

void scorer_merge_set_end(scorer_merge *m, const char *topic, int32_t partition, int at_end)
{
    merge_part *p = find_part(m, topic, partition);
    if (p)
        p->at_end = at_end;
}

/* Does a's head go before b's? Event time, then stream rank, then the
 * topic's place (partitions of one task differ in topic). */
static int goes_before(const merge_part *a, const merge_part *b)
{
    const merge_entry *x = &a->ring[a->head], *y = &b->ring[b->head];
    if (x->ts != y->ts)
        return x->ts < y->ts;
    if (x->rank != y->rank)
        return x->rank < y->rank;
    return a->topic < b->topic;
}

/* Does p's head need the message after it to be judged (far ahead of the
 * one before, or that one unknown), with nothing after it buffered and
 * more to come? */
static int head_undecided(const scorer_merge *m, const merge_part *p)
{
    int64_t ts = p->ring[p->head].ts;
    return p->n == 1 && !p->at_end && pdm_rule_spike_needs_next(ts, p->last_ts, m->cfg.spike_ms);
}

/* Is p's head a spike between the message before it and the one after? */
static int head_is_spike(const scorer_merge *m, const merge_part *p)
{
    if (p->n < 2)
        return 0;
    int64_t ts = p->ring[p->head].ts, next = p->ring[(p->head + 1) % p->cap].ts;
    return pdm_rule_is_spike(ts, p->last_ts, next, m->cfg.spike_ms);
}

static void *pop(scorer_merge *m, merge_part *p, int spike)
{
    merge_entry *e = &p->ring[p->head];
    if (!spike && e->ts != INT64_MIN)
        p->last_ts = e->ts;
    p->head = (p->head + 1) % p->cap;
    p->n--;
    m->buffered--;
    return e->msg;
}

/* The messages of a task at event time ts up to the last rank of a pair
 * (pdm_rule_pair_last_rank: not the time's readings, which come after any
 * pair) at the fronts of its partitions' buffers (every head is at ts or
 * later), or SIZE_MAX when a partition's buffer ends within them with more
 * of it to come: the record a pair waits for may still be on its way. */
static size_t time_group(const scorer_merge *m, const merge_task *task, int64_t ts)
{
    size_t count = 0;
    int last_rank = pdm_rule_pair_last_rank();
    for (size_t i = task->first; i < task->first + task->count; i++) {
        const merge_part *p = &m->parts[i];
        size_t j = 0;
        while (j < p->n && p->ring[(p->head + j) % p->cap].ts == ts &&
               p->ring[(p->head + j) % p->cap].rank <= last_rank)
            j++;
        if (j == p->n && !p->at_end)
            return SIZE_MAX;
        count += j;
    }
    return count;
}

/* Starts or goes on with a task's wait; 1 while it waits, 0 once the wait
 * has run out (the task goes on without what it waited for). */
static int task_waits(scorer_merge *m, merge_task *task, double now_s)
{
    if (!task->waiting) {
        task->waiting = 1;
        task->waiting_since = now_s;
    }
    if ((now_s - task->waiting_since) * 1000.0 < (double)m->cfg.max_idle_ms)
        return 1;
    task->going_on = 1;
    m->idle_expiries++;
    return 0;
}

/* Takes from one task until cap, or until it must wait, or is empty. */
static size_t take_task(scorer_merge *m, merge_task *task, void **out, unsigned char *spikes,
                        size_t cap, double now_s)
{
    size_t n = 0, group_rest = 0; /* records of a time's group still to take */
    while (n < cap) {
        merge_part *best = NULL, *spike = NULL;
        int missing = 0; /* a partition with nothing buffered, not at its end */
        for (size_t i = task->first; i < task->first + task->count; i++) {
            merge_part *p = &m->parts[i];
            if (p->n == 0 || head_undecided(m, p))
                missing |= !p->at_end;
            else if (head_is_spike(m, p))
                spike = p;
            else if (!best || goes_before(p, best))
                best = p;
        }
        if (spike && !group_rest) { /* out at once, whatever the others hold */
            if (spikes)
                spikes[n] = 1;
            out[n++] = pop(m, spike, 1);
            continue;
        }
        if (!best) {
            if (!missing)
                task->waiting = task->going_on = 0;
            break;
        }
        /* A record a later one of its time may pair with goes out only
         * with the rest of its time, in this take: the task waits while a
         * partition's buffer ends at that time (as for one with nothing
         * buffered), and a take that has no room for them all stops
         * before it. */
        /* Once a group is started it goes out whole, with no wait: taking
         * its first record can leave that partition with one far later
         * record that waits for the next (a possible clock spike), which
         * must not cut the group (time_group counted it complete). */
        if (group_rest) {
            group_rest--;
            if (spikes)
                spikes[n] = 0;
            out[n++] = pop(m, best, 0);
            continue;
        }
        const merge_entry *head = &best->ring[best->head];
        size_t group = head->pairs ? time_group(m, task, head->ts) : 0;
        if (!missing && group != SIZE_MAX)
            task->waiting = task->going_on = 0;
        else if (!task->going_on && task_waits(m, task, now_s))
            break;
        if (group != SIZE_MAX && n > 0 && n + group > cap)
            break;
        if (group != SIZE_MAX && group > 0)
            group_rest = group - 1;
        if (spikes)
            spikes[n] = 0;
        out[n++] = pop(m, best, 0);
    }
    return n;
}

size_t scorer_merge_take(scorer_merge *m, void **out, unsigned char *spikes, size_t cap,
                         double now_s)
{
    size_t n = 0;
    if (m->n_tasks == 0)
        return 0;
    size_t start = m->next_task++ % m->n_tasks;
    for (size_t k = 0; k < m->n_tasks && n < cap; k++)
        n += take_task(m, &m->tasks[(start + k) % m->n_tasks], out + n, spikes ? spikes + n : NULL,
                       cap - n, now_s);
    return n;
}

int scorer_merge_part_state(const scorer_merge *m, const char *topic, int32_t partition,
                            int64_t *last_ts, size_t *buffered)
{
    const merge_part *p = find_part((scorer_merge *)m, topic, partition);
    if (!p)
        return -1;
    *last_ts = p->last_ts;
    *buffered = p->n;
    return 0;
}

size_t scorer_merge_buffered(const scorer_merge *m)
{
    return m->buffered;
}

uint64_t scorer_merge_idle_expiries(const scorer_merge *m)
{
    return m->idle_expiries;
}

void scorer_merge_flow(scorer_merge *m,
                       void (*fn)(void *ctx, const char *topic, int32_t partition, int pause),
                       void *ctx)
{
    for (size_t i = 0; i < m->n_parts; i++) {
        merge_part *p = &m->parts[i];
        int pause = p->paused ? p->n > m->cfg.bound / 2 : p->n >= m->cfg.bound;
        if (pause != p->paused) {
            p->paused = pause;
            fn(ctx, m->topics[p->topic], p->partition, pause);
        }
    }
}

void scorer_merge_set_bound(scorer_merge *m, size_t bound)
{
    m->cfg.bound = bound < 2 ? 2 : bound;
}

void scorer_merge_forget_pauses(scorer_merge *m)
{
    for (size_t i = 0; i < m->n_parts; i++)
        m->parts[i].paused = 0;
}
