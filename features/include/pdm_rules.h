/* pdm_rules.h: the stream rules, the decisions the trainer's in-memory store
 * and the streaming scorer must take alike, as pure functions (no I/O, no
 * state of their own) so that one unit test covers both:
 *   - lateness: which events are too far behind a machine's newest
 *     telemetry to be applied;
 *   - the trim horizon: how much older state no accepted event can need,
 *     and (scorer) when trimming is due;
 *   - the level a risk score reaches by the thresholds in use;
 *   - the emission decision: which scores become RiskEvents (--emit).
 * The windows they rely on are the feature set's (pdm_features.h).
 */
#ifndef PDM_RULES_H
#define PDM_RULES_H

#include <stdint.h>

#include "pdm_schemas.h"

/* ---- stream order ----------------------------------------------------------- */

/* The order the trainer applies events in: by event time, and at equal
 * times by this rank (machine info 0, maintenance 1, errors 2, failures 3,
 * telemetry 4: a reading sees the errors and the repair of its own hour).
 * Types that are not input events rank after all of them. */
int pdm_rule_stream_rank(pdm_event_type type);

/* 1 if what a record of this type means can depend on a later record of the
 * same machine and event time: a maintenance record is the repair of a
 * failure of its component logged at its time (pdm_alert_repair_of), and
 * the failure comes after it in stream order. A batch must not end between
 * the two, or the incident resolves `repaired` or `failed` by where batches
 * end: the scorer holds such a record, and what follows it at its time,
 * back to the next batch while more of its partition may come. */
int pdm_rule_pairs_later(pdm_event_type type);
/* The highest stream rank the later record of such a pair has (a
 * failure's): at one time, a record of higher rank (a reading) comes after
 * any pair, so what follows it cannot complete one. */
int pdm_rule_pair_last_rank(void);

/* 1 if a message at ts is a clock spike in its partition: more than
 * limit_ms ahead of the message before it (prev) and of the one after it
 * (next). A device whose clock is wrong for one reading produces that; a
 * stream that really moves on (a gap, a backlog resumed) moves its next
 * messages too. When the message before is unknown (INT64_MIN: the first
 * after a start), the one after decides alone. 0 when next or ts is
 * unknown, or limit_ms < 0. Such a reading would move its machine's newest
 * telemetry ahead and make the real ones after it late, so the scorer
 * refuses it (invalid_timestamp) rather than apply it. */
int pdm_rule_is_spike(int64_t ts, int64_t prev, int64_t next, int64_t limit_ms);
/* 1 if a message at ts cannot be judged without the one after it: the one
 * before is unknown, or it is more than limit_ms ahead of it (0 when ts is
 * unknown or limit_ms < 0). */
int pdm_rule_spike_needs_next(int64_t ts, int64_t prev, int64_t limit_ms);

/* ---- lateness and trimming ------------------------------------------------ */

/* 1 if an event of this type at ts is more than lateness_ms behind newest,
 * the machine's newest applied telemetry (INT64_MIN: none yet, nothing is
 * late). Machine info has no event time and is never late. A negative
 * lateness_ms means unlimited. */
int pdm_rule_is_late(pdm_event_type type, int64_t ts, int64_t newest, int64_t lateness_ms);

/* The trim horizon once a machine's newest telemetry is newest: no event
 * that is not late can need telemetry or errors older than this (a late
 * event's window reaches back 24 h from at most lateness_ms behind newest),
 * so those may be dropped. INT64_MIN (trim nothing) without telemetry or
 * with unlimited lateness. */
int64_t pdm_rule_trim_horizon(int64_t newest, int64_t lateness_ms);

/* The scorer trims a machine's Redis state when its newest reading crosses
 * a multiple of this during a batch: loads read the window only, so a few
 * hours more cost Redis a little memory and save two commands per machine
 * and batch on a live stream. */
#define PDM_RULE_TRIM_EVERY_MS (6 * PDM_MS_PER_HOUR)

/* 1 if a batch that moved the machine's newest telemetry from base to
 * newest crossed a PDM_RULE_TRIM_EVERY_MS boundary (event times may be
 * before 1970); 0 when either is INT64_MIN. */
int pdm_rule_trim_due(int64_t base, int64_t newest);

/* ---- levels and emission -------------------------------------------------- */

/* CRITICAL at or above critical, else WARN at or above warn, else OK. */
pdm_level pdm_rule_level(double risk, double warn, double critical);

/* The --warn and --critical thresholds (NaN: not given): each given one is
 * a number in [0, 1], and warn <= critical when both are. 0, or -1 with a
 * message naming the option at fault. */
int pdm_rule_thresholds_check(double warn, double critical, char *errstr, size_t errlen);

/* PDM_EMIT_INCIDENTS is decided by the alert state machine (alerts/,
 * pdm_alerts.h), not by pdm_rule_emit: the scorer's batch step runs it. */
typedef enum {
    PDM_EMIT_CHANGES = 0,
    PDM_EMIT_ALERTS,
    PDM_EMIT_ALL,
    PDM_EMIT_INCIDENTS,
} pdm_emit_mode;

/* What the emission decision remembers per machine (kept in its stored
 * state, so that a replayed batch decides as the first run did). */
typedef struct {
    int level;           /* the last level scored, -1 if none yet */
    int64_t notified_at; /* event time of the last RiskEvent emitted, INT64_MIN if none */
} pdm_emit_state;

/* Decides whether a score of `level` at event time ts becomes a RiskEvent:
 *   PDM_EMIT_ALL     every score;
 *   PDM_EMIT_ALERTS  every WARN or CRITICAL score;
 *   PDM_EMIT_CHANGES when the level differs from the last one (a machine's
 *                    first score only if it is not OK), and again every
 *                    renotify_ms of event time while CRITICAL (0: never).
 * Updates *st (level always, notified_at when emitting). Returns 1 to emit. */
int pdm_rule_emit(pdm_emit_mode mode, int64_t renotify_ms, pdm_emit_state *st, pdm_level level,
                  int64_t ts);

#endif
