/* pdm_alerts.h: the per-machine alert state machine (issue 15): turns a
 * machine's stream of risk scores, and the world's maintenance and failure
 * events, into incidents a crew can act on: opened once a level is
 * confirmed, escalated, renotified, and resolved with a reason.
 *
 * Everything here is pure: a function reads its inputs and the caller's
 * state struct, updates that struct and says what to emit; no I/O, no
 * clock, no state of its own. So the scorer (live), a replay after a crash
 * and the trainer (evaluation) take the same decisions from the same rows,
 * and one unit test covers all of them.
 *
 * Rules (a policy p, one machine):
 *   - levels by the enter thresholds, as pdm_rule_level: CRITICAL at or
 *     above p.critical, WARN at or above p.warn;
 *   - the state keeps two bit histories of the last p.confirm_n scores:
 *     "at or above p.warn" and "at or above p.warn_clear";
 *   - OPEN: no incident, the score is at or above p.warn and at least
 *     confirm_m of the last confirm_n scores are: an incident opens at the
 *     score's level;
 *   - ESCALATE: a WARN incident never notified as CRITICAL and a CRITICAL
 *     score: at once;
 *   - RESOLVE (cleared): fewer than confirm_m of the last confirm_n scores
 *     are at or above p.warn_clear (the opening rule no longer holds even
 *     against the lower threshold) and the incident has been open for at
 *     least p.min_hold_ms of event time; else it stays open;
 *   - a CRITICAL incident whose score falls below p.critical_clear goes back
 *     to WARN without a notification; a later CRITICAL score makes it
 *     CRITICAL again without a second escalation: the crew was told
 *     CRITICAL and never told otherwise, so it is renotified if
 *     p.renotify_ms has passed since the last notification, else nothing
 *     is sent (one incident pages at most once per level, then at most
 *     once per renotify interval); renotification while CRITICAL every
 *     p.renotify_ms (0: never);
 *   - the world: maintenance or a failure of the component the incident
 *     names resolves it at once (repaired / failed); a machine gone silent
 *     resolves it at once (silent). Other components change nothing;
 *   - a resolution, and silence, forget the score history: a new incident
 *     needs a fresh confirmation;
 *   - a score no newer than the last score applied changes nothing: the
 *     alert clock never runs backwards, and a row applied twice counts once.
 */
#ifndef PDM_ALERTS_H
#define PDM_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_common.h"
#include "pdm_schemas.h"

/* ---- policy ---------------------------------------------------------------- */

#define PDM_ALERT_CONFIRM_MAX 32 /* bits of history kept */

typedef struct {
    double warn, critical;             /* enter thresholds (the model's) */
    double warn_clear, critical_clear; /* clear thresholds, <= their enter threshold */
    int confirm_m, confirm_n;          /* open after m of the last n scores; 1 <= m <= n <= 32 */
    int64_t min_hold_ms;               /* event time before a cleared resolution; >= 0 */
    int64_t renotify_ms;               /* repeat while CRITICAL; 0 = never */
} pdm_alert_policy;

#define PDM_ALERT_DEFAULT_CONFIRM_M 2
#define PDM_ALERT_DEFAULT_CONFIRM_N 3
#define PDM_ALERT_DEFAULT_CLEAR_RATIO 0.5
#define PDM_ALERT_DEFAULT_HOLD_MS (24 * PDM_MS_PER_HOUR)
#define PDM_ALERT_DEFAULT_RENOTIFY_MS (6 * PDM_MS_PER_HOUR)

/* The proposed defaults (README, "Alert state machine"): clear thresholds at
 * PDM_ALERT_DEFAULT_CLEAR_RATIO of the enter thresholds, confirmation 2/3,
 * a hold of 24 h (the trainer's default horizon), renotify every 6 h. */
void pdm_alert_policy_init(pdm_alert_policy *p, double warn, double critical);

/* 0 if the policy is usable: thresholds finite, 0 <= warn <= critical,
 * 0 <= warn_clear <= warn, 0 <= critical_clear <= critical,
 * 1 <= m <= n <= PDM_ALERT_CONFIRM_MAX, hold and renotify >= 0;
 * else -1 with errstr. */
int pdm_alert_policy_check(const pdm_alert_policy *p, char *errstr, size_t errlen);

/* Parses "M/N" (decimal digits only, 1 <= M <= N <= PDM_ALERT_CONFIRM_MAX)
 * for --confirm. Returns 0, or -1 with errstr and *m, *n untouched. */
int pdm_alert_confirm_parse(const char *text, int *m, int *n, char *errstr, size_t errlen);

/* ---- state ----------------------------------------------------------------- */

/* One machine's alert state: plain data, fixed size, stored beside the
 * machine's state. level == PDM_LEVEL_OK: no incident open (the incident
 * fields are then INT64_MIN / 0). */
typedef struct {
    uint32_t above_enter; /* bit i: the score i steps back was >= warn */
    uint32_t above_clear; /* bit i: ... >= warn_clear */
    int64_t last_ts;      /* the alert clock: the last score applied; INT64_MIN: none */
    pdm_level level;      /* the open incident's level now, OK if none */
    int component;        /* the incident's component (of its peak score), 1..4; 0 unknown */
    int64_t opened_at;    /* event time of the opening score */
    int64_t notified_at;  /* event time of the last open / escalate / renotify */
    double peak_risk;     /* highest risk since opening */
    /* The highest level the crew was told of the open incident (opened or
     * escalated at): >= level while one is open (a quiet drop to WARN does
     * not lower it), OK if none. A return to a level already told is no
     * escalation. */
    pdm_level notified_level;
} pdm_alert_state;

void pdm_alert_state_init(pdm_alert_state *st);

/* The text form, for a Redis hash field: "a2" (format version 2) and nine
 * space-separated fields: above_enter above_clear (lowercase hex), last_ts,
 * level (0..2), component, opened_at, notified_at (decimal ms, "-" for
 * none), peak_risk (%.17g, exact), notified_level (0..2). E.g. a machine
 * without incident: "a2 3 7 1420070400000 0 0 - - 0 0". The decoder also
 * reads version 1 (the same without notified_level, written before it
 * existed), taking notified_level = level: a WARN incident stored by an
 * older scorer after a quiet drop from CRITICAL escalates once more. At
 * most PDM_ALERT_TEXT_MAX bytes with the NUL. */
#define PDM_ALERT_TEXT_MAX 128

/* Writes the text into buf (len >= PDM_ALERT_TEXT_MAX always suffices).
 * Returns its length, or -1 if buf is too small. */
int pdm_alert_state_encode(const pdm_alert_state *st, char *buf, size_t len);

/* Parses len bytes written by pdm_alert_state_encode (or an "a1" text);
 * refuses another version, a missing, extra or malformed field, and states that cannot
 * happen (an open incident without opening time, a peak outside 0..1, ...).
 * Returns 0, or -1 with errstr and *out untouched. */
int pdm_alert_state_decode(const char *text, size_t len, pdm_alert_state *out, char *errstr,
                           size_t errlen);

/* ---- decisions --------------------------------------------------------------- */

typedef enum {
    PDM_ALERT_NONE = 0,
    PDM_ALERT_OPENED,
    PDM_ALERT_ESCALATED,
    PDM_ALERT_RENOTIFIED,
    PDM_ALERT_RESOLVED,
} pdm_alert_emit;

/* pdm_alert_resolution and pdm_incident_status are the RiskEvent's own
 * (pdm_schemas.h), so that an incident goes on the wire as it is. */

/* "<machine>-<opened_at ms>": stable for the incident's life and the same
 * on a replay; unique per machine (two incidents never open at one ts). */
#define PDM_ALERT_ID_SIZE PDM_INCIDENT_ID_SIZE

/* The incident a decision concerns: the fields the wire will carry. */
typedef struct {
    pdm_alert_emit emit;
    char incident_id[PDM_ALERT_ID_SIZE]; /* "" when no incident is concerned */
    pdm_incident_status status;
    pdm_level level;
    int64_t opened_at;
    int64_t at; /* event time of this decision */
    double peak_risk;
    int component;
    pdm_alert_resolution resolution;
} pdm_incident;

const char *pdm_alert_emit_name(pdm_alert_emit e);             /* "none", "opened", ... */
const char *pdm_alert_resolution_name(pdm_alert_resolution r); /* "", "cleared", ... */
const char *pdm_incident_status_name(pdm_incident_status s);   /* "firing", "resolved" */
void pdm_alert_incident_id(int32_t machine_id, int64_t opened_at, char out[PDM_ALERT_ID_SIZE]);

/* One scored row of a machine: event time, risk (0..1) and the most likely
 * component (1..4, 0 unknown). */
typedef struct {
    int64_t ts;
    double risk;
    int component;
} pdm_alert_score;

/* Applies one score to *st by policy p (assumed checked) and fills *out
 * (out->emit is the decision; with no incident concerned, emit NONE and an
 * empty id). Returns 0, or -1 with errstr and *st untouched if the row is
 * invalid (risk not in 0..1, component not in 0..4, ts INT64_MIN). */
int pdm_alert_step(pdm_alert_state *st, const pdm_alert_policy *p, int32_t machine_id,
                   const pdm_alert_score *row, pdm_incident *out, char *errstr, size_t errlen);

/* Applies a world event of the machine: a maintenance (PDM_EV_MAINTENANCE)
 * or failure (PDM_EV_FAILURE) of the open incident's component at or after
 * its opening resolves it at once (repaired / failed); anything else
 * changes nothing. Returns out->emit. */
pdm_alert_emit pdm_alert_world(pdm_alert_state *st, const pdm_event *ev, pdm_incident *out);

/* 1 if `later`, a record after `maintenance` in the stream, is the failure
 * that maintenance record is the repair of: a failure of the same machine
 * and component at the same event time. The PdM data log a replacement
 * with every failure, at the failure's time, and maintenance comes first in
 * stream order (pdm_rule_stream_rank); so the caller that finds such a
 * pair hands pdm_alert_world the failure instead of the maintenance, and
 * the incident resolves `failed` (met by the failure), not `repaired`.
 * The scorer (within a batch) and pdm_alert_replay both apply it. 0 for
 * anything else (either record of another type, machine, component or
 * time). */
int pdm_alert_repair_of(const pdm_event *maintenance, const pdm_event *later);

/* The machine went silent at event time ts (the caller's rule, issue 14):
 * an open incident resolves at once (silent), and the score history is
 * forgotten either way. Returns out->emit. */
pdm_alert_emit pdm_alert_silent(pdm_alert_state *st, int32_t machine_id, int64_t ts,
                                pdm_incident *out);

/* The open incident of *st into *out (emit NONE, status firing). Returns 1
 * if one is open, else 0 (and *out says no incident). */
int pdm_alert_incident(const pdm_alert_state *st, int32_t machine_id, pdm_incident *out);

/* ---- replay (evaluation) ------------------------------------------------------ */

/* An incident (opened at o, ended at e: resolved, or INT64_MAX if still open
 * at the end) and a failure of the machine at f match when
 *     o < f <= w,  w = e for incidents resolved repaired / failed (the world
 *                  intervened), e + horizon otherwise;
 * the same relation as the trainer's labels (t < f <= t + horizon) with the
 * incident standing for every time it was open. A failure is caught when an
 * incident matches it; its lead time is f - o of the earliest such incident.
 * An incident that matches no failure is false. */
typedef struct {
    size_t incidents; /* opened */
    size_t escalated, renotified;
    size_t notifications; /* opened + escalated + renotified: what pages a crew */
    size_t resolved[PDM_ALERT_N_RESOLUTIONS]; /* by reason; [0]: open at the end */
    size_t false_incidents;
    size_t failures, caught;
    /* Event time incidents stood beyond the horizon: the sum over incidents
     * of max(0, duration - horizon), duration = resolution - opening (the
     * last row's ts for one open at the end). An incident claims "a failure
     * within the horizon"; what it stands beyond that is the price of a clear
     * threshold set too low, which the counts above do not show (the
     * trainer's clear-threshold choice weighs it). */
    int64_t overstay_ms;
} pdm_alert_replay_stats;

/* Runs policy p over one machine's rows (sorted by ts) and world events
 * (sorted by ts; types other than maintenance and failure are ignored; at
 * equal ts an event comes before a row, as in the stream; a maintenance
 * record that is a failure's repair, pdm_alert_repair_of, counts as that
 * failure). With
 * silence_ms > 0, a gap of more than silence_ms between the machine's
 * consecutive rows makes it silent at the previous row's ts + silence_ms.
 * Fills *out, and lead_ms (room for n_events values, or NULL) with the lead
 * time of each caught failure in failure order. Returns 0, or -1 with errstr
 * (invalid policy or row, unsorted input, an event of another machine, out
 * of memory). */
int pdm_alert_replay(const pdm_alert_policy *p, int32_t machine_id, const pdm_alert_score *rows,
                     size_t n_rows, const pdm_event *events, size_t n_events, int64_t horizon_ms,
                     int64_t silence_ms, pdm_alert_replay_stats *out, int64_t *lead_ms,
                     char *errstr, size_t errlen);

#endif
