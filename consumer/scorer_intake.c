/* scorer_intake.c: the next batch's messages (scorer_kafka_next): what the
 * consumer queue holds, sorted (partition ends, errors, revoked partitions),
 * in consumption order with one input topic or through the event-time merge
 * with several; clock spikes found and the undecidable held back; the
 * input's watermark. The client itself is scorer_kafka.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_rules.h"
#include "scorer_kafka.h"

/* ---- taking messages -------------------------------------------------------------- */

/* Takes up to cap messages: blocks up to first_wait_ms for the first, then
 * up to max_wait_ms for more. Returns the count (0 if none), -1 on an error. */
static ssize_t consume(scorer_kafka *k, rd_kafka_message_t **msgs, size_t cap, int first_wait_ms,
                       int64_t max_wait_ms)
{
    msgs[0] = rd_kafka_consume_queue(k->queue, first_wait_ms);
    if (!msgs[0]) {
        k->prefetch_full = 0; /* ran dry: nothing left that the bound holds back */
        return 0;
    }
    if (cap == 1)
        return 1;
    ssize_t more = rd_kafka_consume_batch_queue(k->queue, (int)(max_wait_ms > 0 ? max_wait_ms : 0),
                                                msgs + 1, cap - 1);
    if (more < 0) {
        rd_kafka_message_destroy(msgs[0]);
        return -1;
    }
    return 1 + more;
}

/* Notes a consumed message or partition end; NULL for a message of a
 * partition no longer assigned (fetched before a rebalance took it away:
 * its new owner consumes it from the last commit). */
static scorer_partition *note_consumed(scorer_kafka *k, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    scorer_partition *part = scorer_assignment_find(&k->assignment, topic, m->partition);
    if (!part)
        return NULL;
    part->started = 1;
    if (k->paused && !part->paused)
        scorer_kafka_pause_started(k); /* started since the others were paused */
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        pdm_log(PDM_LOG_DEBUG, "%s [%d] at its end (offset %lld)", topic, (int)m->partition,
                (long long)m->offset);
        part->eof = 1;
    } else {
        part->eof = 0; /* in consumption order, so an EOF after this counts */
        part->next = m->offset + 1;
    }
    return part;
}

/* Hands a message to the merge, ordered by what its head says (one that
 * cannot be read that far goes out first, to become a dead letter). */
static void merge_push(scorer_kafka *k, const pdm_codec *codec, rd_kafka_message_t *m)
{
    pdm_event_peek peek;
    int64_t ts = INT64_MIN;
    int rank = 0, pairs = 0;
    if (pdm_codec_peek(codec, m->payload, m->len, &peek) == 0) {
        ts = peek.ts;
        rank = pdm_rule_stream_rank(peek.type);
        pairs = pdm_rule_pairs_later(peek.type);
    }
    if (scorer_merge_push(k->merge, rd_kafka_topic_name(m->rkt), m->partition, m, ts, rank,
                          pairs)) {
        /* A message skipped here would be committed past: stop instead (it
         * is consumed again after the restart). */
        snprintf(k->fatal, sizeof k->fatal, "event-time merge: out of memory");
        rd_kafka_message_destroy(m);
    }
}

static int partition_at_end(scorer_kafka *k, const scorer_partition *p);

/* The merge's view of which partitions are at their end. */
static void merge_note_ends(scorer_kafka *k)
{
    const scorer_assignment *a = &k->assignment;
    for (size_t i = 0; i < a->n; i++)
        scorer_merge_set_end(k->merge, a->parts[i].topic, a->parts[i].partition,
                             partition_at_end(k, &a->parts[i]));
}

static void merge_flow(void *ctx, const char *topic, int32_t partition, int pause)
{
    scorer_kafka *k = ctx;
    if (k->paused)
        return; /* all paused; resuming them makes the merge decide again */
    rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(one, topic, partition);
    if (pause)
        rd_kafka_pause_partitions(k->consumer, one);
    else
        rd_kafka_resume_partitions(k->consumer, one);
    rd_kafka_topic_partition_list_destroy(one);
    pdm_log(PDM_LOG_DEBUG, "merge: %s %s [%d]", pause ? "paused" : "resumed", topic,
            (int)partition);
}

void scorer_kafka_merge_flow(scorer_kafka *k)
{
    scorer_merge_flow(k->merge, merge_flow, k);
}

/* What a message is to a pair of records of one time (find_open_runs). */
enum { PAIR_AFTER = 0, PAIR_WITHIN = 1, PAIR_OPENS = 2 };

/* Event time of a message by its head (INT64_MIN if it has none), and
 * whether a later record of that time may pair with it (PAIR_OPENS), it
 * may come before the end of such a pair (PAIR_WITHIN: a rank up to
 * pdm_rule_pair_last_rank) or it comes after any pair of its time. */
static int64_t peek_ts(const pdm_codec *codec, const rd_kafka_message_t *m, unsigned char *pairs)
{
    pdm_event_peek peek;
    if (pdm_codec_peek(codec, m->payload, m->len, &peek)) {
        *pairs = PAIR_AFTER;
        return INT64_MIN;
    }
    *pairs = pdm_rule_pairs_later(peek.type) ? PAIR_OPENS
             : pdm_rule_stream_rank(peek.type) <= pdm_rule_pair_last_rank() ? PAIR_WITHIN
                                                                           : PAIR_AFTER;
    return peek.ts;
}

/* Nothing more is known to be on the broker for p: its end was consumed,
 * or the last fetch's high watermark (librdkafka's cached copy) is where
 * its next message would be. */
static int partition_at_end(scorer_kafka *k, const scorer_partition *p)
{
    int64_t low, high;
    if (p->eof)
        return 1;
    return p->next >= 0 &&
           rd_kafka_get_watermark_offsets(k->consumer, p->topic, p->partition, &low, &high) ==
               RD_KAFKA_RESP_ERR_NO_ERROR &&
           high >= 0 && p->next >= high;
}

/* Per partition of msgs[0..n): where its trailing run at its last event
 * time begins, if a record in that run may pair with a later one of that
 * time (pdm_rule_pairs_later), in p->run_from (SIZE_MAX: no such run). A
 * run is only of records that may come before a pair's end: a partition
 * whose last record is a reading has no open pair (in stream order the
 * failure comes before the readings of its time), so a fleet with many
 * machines a partition never holds back a time's readings. */
static void find_open_runs(scorer_kafka *k, size_t n)
{
    uint64_t stamp = ++k->take_stamp;
    for (size_t i = n; i-- > 0;) {
        scorer_partition *p = k->take_part[i];
        int64_t ts = k->take_ts[i];
        if (p->scan_stamp != stamp) { /* its last message here */
            p->scan_stamp = stamp;
            p->run_ts = ts;
            p->run_from = SIZE_MAX;
            p->in_run = ts != INT64_MIN;
        }
        if (!p->in_run)
            continue;
        if (ts != p->run_ts || k->take_pairs[i] == PAIR_AFTER) {
            p->in_run = 0;
            continue;
        }
        if (k->take_pairs[i] == PAIR_OPENS)
            p->run_from = i;
    }
}

/* Marks what to hold back to the next batch (defer[i] = 1), a partition's
 * last messages while more of it may come (not at its end):
 *   - its last one if that needs the one after it to be judged a clock
 *     spike or not (pdm_rule_spike_needs_next);
 *   - its run at its last event time from a record that may pair with a
 *     later one of that time (find_open_runs): so that the output does not
 *     depend on where a batch ends.
 * At most half of cap is held (the next batch has room for what comes
 * after); beyond that, and with a cap of 1, nothing more is held. */
static void mark_held(scorer_kafka *k, const int64_t *next, unsigned char *defer, size_t n,
                      size_t cap)
{
    int64_t limit = k->cfg->lateness_ms;
    size_t budget = cap / 2;
    find_open_runs(k, n);
    for (size_t i = 0; i < n; i++)
        defer[i] = 0;
    for (size_t i = n; i-- > 0;) {
        scorer_partition *p = k->take_part[i];
        if (p->scan_stamp != k->take_stamp || p->in_run < 0)
            continue; /* done with this partition */
        size_t from = p->run_from;
        if (from == SIZE_MAX && next[i] == INT64_MIN &&
            pdm_rule_spike_needs_next(k->take_ts[i], p->last_ts, limit))
            from = i;
        p->in_run = -1; /* decided: once per partition, at its last message */
        if (from == SIZE_MAX)
            continue;
        size_t count = 0;
        for (size_t j = from; j <= i; j++)
            count += k->take_part[j] == p;
        if (count > budget || partition_at_end(k, p) || scorer_partition_reserve_held(p, count))
            continue;
        budget -= count;
        for (size_t j = from; j <= i; j++)
            if (k->take_part[j] == p)
                defer[j] = 1;
    }
}

/* Clock spikes among msgs[0..n) in consumption order (one topic: no merge
 * to look ahead in): each message against the one before it in its
 * partition (this batch's, or the last one taken before) and the one after
 * it in this batch; and what to hold back (mark_held). */
static void find_spikes(scorer_kafka *k, const pdm_codec *codec, rd_kafka_message_t **msgs,
                        unsigned char *spikes, unsigned char *defer, size_t n, size_t cap)
{
    int64_t limit = k->cfg->lateness_ms;
    for (size_t i = 0; i < n; i++) {
        k->take_ts[i] = peek_ts(codec, msgs[i], &k->take_pairs[i]);
        k->take_part[i] = scorer_assignment_find(&k->assignment, rd_kafka_topic_name(msgs[i]->rkt),
                                                 msgs[i]->partition);
        k->take_part[i]->next_ts = INT64_MIN;
    }
    int64_t *next = k->take_ts + n; /* the one after, per message */
    for (size_t i = n; i-- > 0;) {
        next[i] = k->take_part[i]->next_ts;
        k->take_part[i]->next_ts = k->take_ts[i];
    }
    mark_held(k, next, defer, n, cap);
    for (size_t i = 0; i < n; i++) {
        scorer_partition *p = k->take_part[i];
        int64_t ts = k->take_ts[i];
        spikes[i] = (unsigned char)pdm_rule_is_spike(ts, p->last_ts, next[i], limit);
        if (!spikes[i] && !defer[i] && ts != INT64_MIN)
            p->last_ts = ts;
    }
}

/* Puts the messages held back by the last batch first (each comes before
 * anything consumed since from its partition; mark_held keeps them within
 * cap). Returns their count. */
static size_t take_deferred(scorer_kafka *k, rd_kafka_message_t **msgs, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < k->assignment.n; i++) {
        scorer_partition *p = &k->assignment.parts[i];
        size_t j = 0;
        while (j < p->n_held && n < cap)
            msgs[n++] = p->held[j++];
        /* Only if cap shrank: the rest waits its turn, in order. */
        if (j < p->n_held)
            memmove(p->held, p->held + j, (p->n_held - j) * sizeof *p->held);
        p->n_held -= j;
    }
    return n;
}

/* Holds back the messages mark_held chose; the rest stay in order. */
static size_t hold_deferred(scorer_kafka *k, rd_kafka_message_t **msgs, unsigned char *spikes,
                            const unsigned char *defer, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (defer[i]) {
            scorer_partition *p = k->take_part[i];
            p->held[p->n_held++] = msgs[i]; /* room reserved by mark_held */
            continue;
        }
        msgs[kept] = msgs[i];
        spikes[kept++] = spikes[i];
    }
    return kept;
}

/* Sorts consumed messages: partition ends noted, errors logged, messages of
 * partitions no longer assigned dropped; the rest kept in place (one
 * topic) or handed to the merge. Returns the count kept in place. */
static size_t sort_consumed(scorer_kafka *k, const pdm_codec *codec, rd_kafka_message_t **msgs,
                            size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        scorer_partition *part = NULL;
        if (!m->err || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            part = note_consumed(k, m);
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            pdm_log(PDM_LOG_WARN, "consume: %s", rd_kafka_message_errstr(m));
        /* A fatal error leaves the consumer unusable for good (a static
         * member fenced by a newer process with its group.instance.id):
         * stop rather than run on without partitions. */
        if (m->err == RD_KAFKA_RESP_ERR__FATAL && !k->fatal[0]) {
            char why[512];
            rd_kafka_fatal_error(k->consumer, why, sizeof why);
            snprintf(k->fatal, sizeof k->fatal, "kafka consumer: %s", why);
        }
        if (m->err || !part)
            rd_kafka_message_destroy(m);
        else if (k->merge)
            merge_push(k, codec, m);
        else
            msgs[kept++] = m;
    }
    return kept;
}

/* Says when a task went on without a partition (at most every 10 s). */
static void log_idle_expiries(scorer_kafka *k)
{
    uint64_t n = scorer_merge_idle_expiries(k->merge);
    double now = pdm_monotonic_s();
    if (n == k->idle_expiries_said || now - k->idle_said_at < 10.0)
        return;
    pdm_log(PDM_LOG_WARN,
            "event-time merge: %llu times a task went on without a partition that had nothing "
            "buffered for --max-idle %lld ms (events of that partition may come out of order)",
            (unsigned long long)(n - k->idle_expiries_said), (long long)k->cfg->max_idle_ms);
    k->idle_expiries_said = n;
    k->idle_said_at = now;
}

ssize_t scorer_kafka_next(scorer_kafka *k, const pdm_codec *codec, rd_kafka_message_t **msgs,
                          unsigned char *spikes, size_t cap, int64_t max_wait_ms)
{
    if (!k->merge) {
        size_t held = take_deferred(k, msgs, cap);
        ssize_t got = held < cap ? consume(k, msgs + held, cap - held, held ? 0 : 200, max_wait_ms)
                                 : 0;
        if (got < 0)
            return got;
        size_t n = held + sort_consumed(k, codec, msgs + held, (size_t)got);
        find_spikes(k, codec, msgs, spikes, k->take_defer, n, cap);
        return (ssize_t)hold_deferred(k, msgs, spikes, k->take_defer, n);
    }
    /* The merge is the buffer now: all that the consumer queue holds goes
     * into it, so that every partition's messages are there to choose
     * from (its bound pauses the partitions that run ahead). Only when the
     * merge has nothing to hand out does the call wait for the queue:
     * briefly while it holds messages (a task's wait runs out on the
     * clock), else as long as without a merge. */
    size_t kept = 0;
    for (int wait = 0; wait < 2 && kept == 0; wait++) {
        int first_wait = !wait ? 0 : scorer_merge_buffered(k->merge) ? 10 : 200;
        ssize_t got = consume(k, msgs, cap, first_wait, 0);
        while (got > 0) {
            sort_consumed(k, codec, msgs, (size_t)got);
            if ((size_t)got < cap || k->fatal[0])
                break;
            got = rd_kafka_consume_batch_queue(k->queue, 0, msgs, cap);
        }
        if (got < 0)
            return -1;
        merge_note_ends(k);
        kept = scorer_merge_take(k->merge, (void **)msgs, spikes, cap, pdm_monotonic_s());
        scorer_kafka_merge_flow(k);
    }
    log_idle_expiries(k);
    return (ssize_t)kept;
}

int64_t scorer_kafka_watermark(scorer_kafka *k)
{
    int64_t low = INT64_MAX, high = INT64_MIN;
    int more_to_come = 0;
    for (size_t i = 0; i < k->assignment.n; i++) {
        const scorer_partition *p = &k->assignment.parts[i];
        int64_t ts = p->last_ts;
        size_t buffered = p->n_held;
        if (k->merge)
            scorer_merge_part_state(k->merge, p->topic, p->partition, &ts, &buffered);
        int done = buffered == 0 && partition_at_end(k, p);
        if (ts == INT64_MIN) {
            if (!done)
                return INT64_MIN;
            continue;
        }
        if (ts > high)
            high = ts;
        if (!done) {
            more_to_come = 1;
            if (ts < low)
                low = ts;
        }
    }
    return more_to_come ? low : high;
}

int scorer_kafka_all_at_end(const scorer_kafka *k)
{
    return scorer_assignment_all_at_end(&k->assignment) &&
           (!k->merge || scorer_merge_buffered(k->merge) == 0);
}

