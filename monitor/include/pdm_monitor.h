/* pdm_monitor.h: what the scorer tells the outside world about itself:
 * Prometheus metrics, input drift against the model's training data, and the
 * model's live precision and recall once ground truth arrives.
 *
 * Every object here is written by one thread (the scorer) and read by others
 * (HTTP handlers) at the same time: each holds a mutex, updates are short,
 * and readers get a consistent copy or rendering.
 *
 * ---- metrics registry ----
 * Families of counters, gauges and histograms, each with a fixed list of
 * label names; a child (one time series, or one histogram) is looked up by
 * its label values and lives as long as the registry, so a hot path looks it
 * up once and keeps the pointer. Rendering writes the Prometheus text
 * exposition format 0.0.4: "# HELP" and "# TYPE" lines, counters named with
 * a "_total" suffix (added if the name lacks it), histograms as cumulative
 * "_bucket{le=...}" series (with "+Inf"), "_sum" and "_count"; label values
 * escaped (\\, \" and \n). Optionally the standard process metrics are read
 * from /proc/self at render time.
 *
 * ---- drift ----
 * The live distribution of each of the 27 features and of the risk score is
 * compared with the reference histograms of the model package (ten bins
 * between training quantiles, see pdm_histogram in pdm_model.h), using the
 * same binning rule (pdm_histogram_bin). Rows are counted into a window;
 * the window is evaluated and restarted when it holds window_rows rows, or
 * when window_ms has passed since it began and it holds at least min_rows
 * rows (a smaller window keeps growing). For each feature:
 *
 *   a_b = live count in bin b / live non-missing count
 *   e_b = reference share of bin b / (1 - reference missing share)
 *   smoothed: a'_b = (a_b + eps) / (1 + 10 eps), e'_b likewise, eps = 1e-4
 *             (every bin gets eps, then shares are renormalised to sum 1,
 *             so an empty bin costs a finite amount instead of infinity)
 *   PSI = sum over the 10 bins of (a'_b - e'_b) * ln(a'_b / e'_b)
 *
 * NaN when the window or the reference has no non-missing value. Missing
 * values are reported apart (live and reference missing shares), since
 * PSI over non-missing values alone does not see a feature going missing.
 * The risk PSI is the same over the risk scores (NaN risks count as
 * missing). Usual reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major.
 *
 * ---- live model performance ----
 * In event time, with the model horizon H: an alert (a WARN or CRITICAL
 * score) of machine m at t is a true positive if m fails at f with
 * t < f <= t + H, and a false positive once m's event time (the latest ts
 * seen for m: scores, alerts or failures) passes t + H (strictly, since a
 * failure at exactly t + H may still arrive) without one. A failure at f is
 * caught if an alert of the machine has t with f - H <= t < f, else missed.
 * An alert at the same ts as the failure is neither (it cannot have warned).
 * Several failures of one machine at the same ts are one failure. Events of
 * one machine are expected in event-time order: an alert already resolved
 * as a false positive is not revised by a late failure.
 * Counts are kept all-time and per day of event time (an alert counts on
 * the day of t, a failure on the day of f), and the rolling precision and
 * recall use the last window_days days up to the newest event time seen.
 * State is kept only for a machine with alerts of the last H (or a
 * failure at its newest event time, which a second component of the same
 * breakdown may repeat), so memory is bounded by the alerting machines x
 * alerts per horizon; scores of other machines leave nothing.
 * Incidents (the scorer's --emit incidents) are alerts that stand for
 * every time they are open, by the rule of pdm_alert_replay: an incident
 * opened at o matches a failure at f with o < f <= w, where w is unbounded
 * while it is open and, once it ends at e, e when the world ended it
 * (repaired or failed) or e + H otherwise; it is a true positive if a
 * failure matches it, a false positive once m's event time passes w
 * without one; a failure is caught when an incident matches it.
 */
#ifndef PDM_MONITOR_H
#define PDM_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_common.h"
#include "pdm_features.h"
#include "pdm_model.h"

struct cJSON;

/* ==== metrics registry ================================================== */

typedef struct pdm_registry pdm_registry;
typedef struct pdm_metric pdm_metric;             /* a family */
typedef struct pdm_metric_child pdm_metric_child; /* one labelled series */

#define PDM_METRIC_MAX_LABELS 8
#define PDM_METRIC_MAX_BUCKETS 64

enum {
    /* Render process_* metrics from /proc/self. */
    PDM_REGISTRY_PROCESS_METRICS = 1u << 0,
};

pdm_registry *pdm_registry_new(unsigned flags, char *errstr, size_t errlen);
void pdm_registry_destroy(pdm_registry *r);

/* Called at the start of every render, before the registry is locked, so it
 * may set gauges (queue depths, lag, ...) from the caller's state. */
typedef void (*pdm_registry_collect_fn)(void *ctx, pdm_registry *r);
void pdm_registry_set_collector(pdm_registry *r, pdm_registry_collect_fn fn, void *ctx);

/* Registers a family. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label
 * names [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__", "le" not allowed on
 * histograms); the help text is required. A counter's name gets "_total"
 * unless it ends so already. Histogram buckets are the finite upper bounds,
 * strictly increasing (at most PDM_METRIC_MAX_BUCKETS); "+Inf" is added.
 * The family is owned by the registry. Returns NULL with errstr on a bad or
 * duplicate name or out of memory. */
pdm_metric *pdm_registry_counter(pdm_registry *r, const char *name, const char *help,
                                 const char *const *label_names, size_t n_labels, char *errstr,
                                 size_t errlen);
pdm_metric *pdm_registry_gauge(pdm_registry *r, const char *name, const char *help,
                               const char *const *label_names, size_t n_labels, char *errstr,
                               size_t errlen);
pdm_metric *pdm_registry_histogram(pdm_registry *r, const char *name, const char *help,
                                   const char *const *label_names, size_t n_labels,
                                   const double *buckets, size_t n_buckets, char *errstr,
                                   size_t errlen);

/* The child with these label values (as many as the family has label
 * names; NULL for a family without labels), created at 0 the first time.
 * Valid as long as the registry. NULL on out of memory or a NULL value. */
pdm_metric_child *pdm_metric_with(pdm_metric *m, const char *const *label_values);

/* Counter: adds v (ignored unless v >= 0). Gauge: adds v (any sign). */
void pdm_metric_add(pdm_metric_child *c, double v);
/* Gauge only (ignored on other kinds). */
void pdm_metric_set(pdm_metric_child *c, double v);
/* Histogram only (ignored on other kinds; NaN is ignored). */
void pdm_metric_observe(pdm_metric_child *c, double v);
/* Counter or gauge value; a histogram's count. */
double pdm_metric_value(const pdm_metric_child *c);

/* Appends the text exposition format (version 0.0.4) of every family, in
 * registration order, then the process metrics. Returns 0 or -1 (out of
 * memory). */
int pdm_registry_render(pdm_registry *r, pdm_buf *out);

#define PDM_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct {
    double resident_bytes, virtual_bytes;
    double cpu_seconds;
    double open_fds, max_fds;
    double start_time_seconds; /* since the epoch */
} pdm_process_stats;

/* Reads /proc/self (and the RLIMIT_NOFILE soft limit). Returns 0 or -1 with
 * errstr. */
int pdm_process_stats_read(pdm_process_stats *out, char *errstr, size_t errlen);

/* ==== drift ============================================================== */

typedef struct {
    size_t window_rows; /* N: evaluate after this many rows (default 10000) */
    int64_t window_ms;  /* K: or after this long (default 300 s) ... */
    size_t min_rows;    /* ... if the window holds this many (default 100) */
} pdm_drift_options;

void pdm_drift_options_init(pdm_drift_options *o);

#define PDM_DRIFT_SMOOTHING 1e-4
#define PDM_DRIFT_MODERATE 0.1
#define PDM_DRIFT_MAJOR 0.25

typedef struct {
    double psi;               /* NaN when undefined */
    double missing;           /* live missing share in the window */
    double reference_missing; /* missing share in training */
} pdm_drift_value;

typedef struct {
    int ready;                              /* a window has been evaluated */
    uint64_t windows;                       /* windows evaluated so far */
    uint64_t rows_total;                    /* rows observed since creation */
    size_t rows;                            /* rows in the evaluated window */
    int64_t window_start_ms, window_end_ms; /* the caller's clock */
    size_t rows_pending;                    /* rows in the open window */
    pdm_drift_value feature[PDM_N_FEATURES];
    pdm_drift_value risk; /* psi NaN without a reference risk histogram */
    double max_psi;       /* over the features (NaNs skipped), NaN if none */
    int max_psi_feature;  /* its index, -1 if none */
} pdm_drift_result;

typedef struct pdm_drift pdm_drift;

/* From reference histograms: feature_ref[0..PDM_N_FEATURES) and risk_ref
 * (may be NULL: no risk PSI), copied. opts may be NULL (defaults). */
pdm_drift *pdm_drift_new(const pdm_histogram *feature_ref, const pdm_histogram *risk_ref,
                         const pdm_drift_options *opts, char *errstr, size_t errlen);
/* From a model package's reference histograms; fails if it has none. */
pdm_drift *pdm_drift_new_from_model(const pdm_model *m, const pdm_drift_options *opts, char *errstr,
                                    size_t errlen);
void pdm_drift_destroy(pdm_drift *d);

/* Counts n rows (n x PDM_N_FEATURES, row-major, NaN = missing) with their
 * risks (risk may be NULL: risk not counted), evaluating the window when it
 * is full. now_ms is the caller's clock (wall or monotonic, consistently).
 * Returns the number of windows evaluated by this call. */
int pdm_drift_observe(pdm_drift *d, const double *rows, const double *risk, size_t n,
                      int64_t now_ms);
/* Evaluates the open window if its time is up (for a quiet stream).
 * Returns 1 if it did, else 0. */
int pdm_drift_poll(pdm_drift *d, int64_t now_ms);
/* A copy of the latest evaluation. */
void pdm_drift_get(pdm_drift *d, pdm_drift_result *out);

/* "stable" (< 0.1), "moderate" (< 0.25), "major", or "unknown" for NaN. */
const char *pdm_drift_status(double psi);
/* {"ready", "windows", "rows", "rows_total", "rows_pending", "window_start_ms",
 *  "window_end_ms", "smoothing", "max_psi", "max_psi_feature",
 *  "features": [{"name", "psi", "status", "missing", "reference_missing"}...],
 *  "risk": {"psi", "status", "missing", "reference_missing"}}
 * with null for NaN. NULL on out of memory. */
struct cJSON *pdm_drift_to_json(const pdm_drift_result *r);

/* ==== live model performance ============================================ */

typedef struct {
    int64_t horizon_ms;  /* H: the model's horizon (default 24 h) */
    int window_days;     /* D: rolling window (default 30), >= 1 */
    size_t max_machines; /* machines held at most (default 1,000,000; >= 8). A new
                          * one beyond it evicts the eighth of them whose
                          * event time is oldest: their pending alerts whose
                          * window the overall event time has passed count as
                          * false positives, the others (open incidents too)
                          * are dropped uncounted */
} pdm_perf_options;

void pdm_perf_options_init(pdm_perf_options *o);

typedef struct {
    uint64_t tp, fp, caught, missed;
    double precision, recall; /* NaN when undefined */
} pdm_perf_counts;

typedef struct {
    pdm_perf_counts all;       /* since creation */
    pdm_perf_counts rolling;   /* the last window_days days of event time */
    uint64_t pending;          /* alerts not resolved yet */
    uint64_t alerts, failures; /* observed (duplicates dropped) */
    size_t machines;           /* held now: with an alert not retired yet, or a failure
                                * at their newest event time (not every machine seen) */
    uint64_t evicted;          /* machines evicted at max_machines so far */
    int64_t horizon_ms;
    int window_days;
    int64_t event_time_ms; /* newest event time seen, INT64_MIN if none */
    /* lead times of the caught failures since creation: from the earliest
     * alert (or incident opening) that caught each to the failure; the
     * median to the hour below; NaN when none was caught */
    uint64_t lead_times;
    double lead_time_mean_hours, lead_time_median_hours;
} pdm_perf_stats;

typedef struct pdm_perf pdm_perf;

pdm_perf *pdm_perf_new(const pdm_perf_options *opts, char *errstr, size_t errlen);
void pdm_perf_destroy(pdm_perf *p);

/* Machine m's event time has reached ts (call for every scored row, or use
 * the batch form): resolves its expired alerts. Returns 0 or -1 (out of
 * memory). */
int pdm_perf_observe(pdm_perf *p, int32_t machine_id, int64_t ts);
/* n scored rows in stream order under one lock: each is pdm_perf_observe,
 * or pdm_perf_alert where alert[i] != 0 (alert may be NULL: no alerts). */
int pdm_perf_observe_batch(pdm_perf *p, const int32_t *machine_id, const int64_t *ts,
                           const unsigned char *alert, size_t n);
/* A WARN or CRITICAL score of m at t (a repeated (m, t) counts once). */
int pdm_perf_alert(pdm_perf *p, int32_t machine_id, int64_t t);
/* An incident of m opened at o (a repeated (m, o) counts once). */
int pdm_perf_incident(pdm_perf *p, int32_t machine_id, int64_t o);
/* The incident of m opened at o ended at e; world != 0 when a repair or a
 * failure ended it. An incident not seen opening (opened before this
 * process) is added first. */
int pdm_perf_incident_end(pdm_perf *p, int32_t machine_id, int64_t o, int64_t e, int world);
/* A failure of m at f. */
int pdm_perf_failure(pdm_perf *p, int32_t machine_id, int64_t f);
void pdm_perf_get(pdm_perf *p, pdm_perf_stats *out);
/* {"horizon_hours", "window_days", "event_time", "machines", "alerts",
 *  "failures", "pending", "all": {"tp", "fp", "caught", "missed",
 *  "precision", "recall"}, "rolling": {...}, "lead_time_hours": {"caught",
 *  "mean", "median"}}; null for NaN. */
struct cJSON *pdm_perf_to_json(const pdm_perf_stats *s);

#endif
