/* scorer_silence.h (internal to consumer/): which machines have stopped
 * reporting (README "Silent machines").
 *
 * The clock is event time, never the wall clock, so a replay of history
 * finds the same silences as the live stream did. The stream's event time
 * is the newest telemetry event time the scorer has applied (over all its
 * partitions); it never goes back. A machine is silent while its newest
 * telemetry is more than silence_after behind it: the silent machine's own
 * readings cannot hold the stream's time back, and a backfill of its old
 * readings (still that far behind) does not end its silence.
 *
 * The stream's time moves by batches: a batch's readings are observed
 * against the time before the batch (the order the batch holds different
 * partitions in says nothing of their event times), then it advances to the
 * batch's newest reading and a sweep follows.
 *
 * The tracker knows the machines whose telemetry it has observed. Each
 * change is reported once: a sweep returns the machines that went silent
 * since the last sweep, observe returns "came back" when a silent machine's
 * reading brings it within silence_after again. A machine silent for more
 * than forget_after is forgotten (no event): it leaves the silent count, so
 * a machine that never reports again does not keep an alert open forever;
 * if it reports later it is a new machine to the tracker.
 *
 * Cost: observe is O(log n) (a hash lookup and a heap update), a sweep
 * O((k + 1) log n) for k changes: the machines that are still reporting
 * and the silent ones are kept in two min-heaps on their newest telemetry,
 * so a sweep looks only at those past a threshold. Memory is bounded by
 * max_machines and, in practice, by the machines seen within forget_after
 * of event time. At max_machines a new machine evicts (forgets, without an
 * event) the one whose newest telemetry is the oldest: the one silent
 * longest, else the reporting one heard from longest ago; a new machine
 * older than that is not tracked instead (counted as evicted too). A
 * flood of bogus ids therefore pushes out other bogus ids or long-silent
 * machines before any machine that reports.
 *
 * Plain data, no I/O: the unit tests drive it alone. Loop thread only.
 */
#ifndef PDM_SCORER_SILENCE_H
#define PDM_SCORER_SILENCE_H

#include <stddef.h>
#include <stdint.h>

typedef struct scorer_silence scorer_silence;

typedef struct {
    int64_t silence_after_ms; /* > 0 */
    int64_t forget_after_ms;  /* >= silence_after_ms */
    size_t max_machines;      /* tracked at most (> 0) */
} scorer_silence_config;

/* One machine going silent (silent = 1) or coming back (silent = 0). */
typedef struct {
    int32_t machine_id;
    int64_t stream_time; /* the stream's event time when it was noticed (back:
                          * the returning reading's, if later) */
    int64_t last_seen;   /* its newest telemetry before it was noticed */
    int silent;
} scorer_silence_change;

/* The rule, for those who hold a newest time and a stream time (the HTTP
 * API): silent when newest is more than after_ms behind stream. */
int scorer_silence_rule(int64_t newest, int64_t stream, int64_t after_ms);

/* NULL out of memory or a config out of range. */
scorer_silence *scorer_silence_new(const scorer_silence_config *cfg);
void scorer_silence_destroy(scorer_silence *t); /* accepts NULL */

/* An applied telemetry reading of machine (> 0) from partition (the task
 * its messages come from), judged against the stream's time as it is (it is
 * not moved: see scorer_silence_advance). Returns 1 when it ends the
 * machine's silence (*back filled: last_seen is its newest before this
 * reading), 0 when nothing changed, -1 when the machine is not tracked
 * (older than every tracked one at max_machines, or out of memory). */
int scorer_silence_observe(scorer_silence *t, int32_t machine, int32_t partition, int64_t ts,
                           scorer_silence_change *back);

/* The stream's time to ts if that is later (the newest reading of a batch). */
void scorer_silence_advance(scorer_silence *t, int64_t ts);

/* Up to cap machines that went silent since the last sweep (oldest newest
 * telemetry first), then forgets those silent for more than forget_after.
 * Returns the count; cap of them means there may be more. */
size_t scorer_silence_sweep(scorer_silence *t, scorer_silence_change *out, size_t cap);

/* Forgets, without events, every machine whose partition keep(ctx, p)
 * refuses (partitions revoked: their machines are another scorer's now). */
void scorer_silence_retain(scorer_silence *t, int (*keep)(void *ctx, int32_t partition), void *ctx);

int64_t scorer_silence_stream_time(const scorer_silence *t); /* INT64_MIN before any */
size_t scorer_silence_silent(const scorer_silence *t);       /* silent machines tracked */
size_t scorer_silence_tracked(const scorer_silence *t);      /* machines tracked */
uint64_t scorer_silence_forgotten(const scorer_silence *t);  /* forgotten so far */
uint64_t scorer_silence_evicted(const scorer_silence *t);    /* evicted at max_machines */

#endif
