/* alert_eval.h: the trainer's evaluation of the alert policy (issue 15,
 * item 5) and its choice of the clear thresholds. Pure code over the
 * alerts module (pdm_alert_replay) and the scorer's emission rule
 * (pdm_rule_emit), in a library of its own so that unit tests link what
 * pdm-train runs.
 *
 * A fleet is a period's scored rows (machine, ts, risk, most likely
 * component) and the data set's maintenance and failure events, grouped by
 * machine. Each machine's events count from just after its first row to its
 * last row (first < ts <= last): a failure before the first row cannot be
 * caught by any row of the period, and one after the last row belongs to a
 * period not scored. Both ways of alerting are measured on the same rows:
 *   - the policy: pdm_alert_replay per machine, summed (incidents,
 *     notifications, caught, false incidents, lead times, overstay);
 *   - `--emit changes`: pdm_rule_emit per row; an alerting notification is
 *     an emitted WARN or CRITICAL (a change to it, or a renotify), and a
 *     failure at f is caught if a row at t < f <= t + horizon has an alert
 *     level (the trainer's label rule), its lead time f - t of the earliest
 *     such row. */
#ifndef PDM_TRAIN_ALERT_EVAL_H
#define PDM_TRAIN_ALERT_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_alerts.h"
#include "pdm_schemas.h"

typedef struct {
    int32_t machine;
    int64_t ts;
    double risk;   /* 0..1 */
    int component; /* the most likely failing component, 1..4 (0 unknown) */
} alert_eval_row;

/* The rows and events of each machine, sorted by time. */
typedef struct {
    size_t n_machines;
    int32_t *machine;      /* n_machines ids, ascending */
    size_t *row_start;     /* n_machines + 1 offsets into rows */
    size_t *event_start;   /* n_machines + 1 offsets into events */
    pdm_alert_score *rows; /* grouped by machine, each group by ts */
    pdm_event *events;     /* maintenance and failures only, likewise */
    double machine_weeks;  /* sum of each machine's last - first row time */
} alert_fleet;

/* Groups n rows (any order) and the events (any order, any type: only
 * maintenance and failures of the rows' machines are kept). Returns 0, or -1
 * with errstr (out of memory); *out is then empty. */
int alert_fleet_build(const alert_eval_row *rows, size_t n, const pdm_event *events,
                      size_t n_events, alert_fleet *out, char *errstr, size_t errlen);
void alert_fleet_free(alert_fleet *f);

/* One way of alerting, over a fleet. */
typedef struct {
    size_t notifications;   /* alerting ones: opened, escalated, renotified / WARN, CRITICAL */
    size_t incidents;       /* policy: incidents opened; changes: OK -> WARN/CRITICAL */
    size_t false_incidents; /* policy only */
    size_t failures, caught;
    double overstay_hours; /* policy only: incident time beyond the horizon */
    int64_t *lead_ms;      /* caught values, ascending (malloc'ed) */
} alert_outcome;

typedef struct {
    pdm_alert_replay_stats policy_stats; /* summed over machines */
    alert_outcome policy, changes;
    size_t machines;
    double machine_weeks;
} alert_eval;

/* Evaluates policy p with this horizon and silence (0: none; see
 * pdm_alert_replay), and `--emit changes` over p's warn/critical with
 * changes_renotify_ms (the scorer's --renotify: the baseline stays the
 * scorer's whatever the policy's renotify). Returns 0, or -1 with errstr. */
int alert_eval_run(const alert_fleet *f, const pdm_alert_policy *p, int64_t horizon_ms,
                   int64_t silence_ms, int64_t changes_renotify_ms, alert_eval *out, char *errstr,
                   size_t errlen);
void alert_eval_free(alert_eval *e);

/* The q-quantile (0..1) of n ascending values, linear between order
 * statistics (q * (n - 1), numpy's default); NaN if n is 0. */
double alert_percentile(const int64_t *sorted, size_t n, double q);

/* ---- clear thresholds --------------------------------------------------------- */

/* The clear thresholds are one ratio r of the enter thresholds (warn_clear =
 * r * warn, critical_clear = r * critical), chosen among ALERT_CLEAR_RATIOS
 * on the threshold-selection rows by the score
 *     caught - false incidents - overstay / horizon
 * (highest r on ties). A lower clear threshold merges incidents and keeps
 * them open, which only ever helps the first two terms; the overstay term
 * charges an incident for each horizon it stands beyond the one it claims,
 * as if it were one more false incident. With fewer than
 * ALERT_CLEAR_MIN_FAILURES failures among those rows the score is noise
 * and r is PDM_ALERT_DEFAULT_CLEAR_RATIO. */
#define ALERT_CLEAR_N 10 /* candidates 1.0, 0.9, ..., 0.1 */
#define ALERT_CLEAR_MIN_FAILURES 5

typedef struct {
    double ratio;
    double score;
    size_t caught, false_incidents, notifications, failures;
    double overstay_hours;
} alert_clear_candidate;

typedef struct {
    double ratio;    /* chosen */
    int by_data;     /* 0: too few failures, the default ratio */
    size_t failures; /* among the rows */
    alert_clear_candidate cand[ALERT_CLEAR_N];
} alert_clear_choice;

/* Chooses r for policy base (its clear thresholds are ignored) and sets
 * base's clear thresholds from it. Returns 0, or -1 with errstr. */
int alert_clear_choose(const alert_fleet *f, pdm_alert_policy *base, int64_t horizon_ms,
                       int64_t silence_ms, alert_clear_choice *out, char *errstr, size_t errlen);

#endif
