/* pdm_report.h: the training report, one self-contained HTML file.
 *
 * Inline CSS and inline SVG charts drawn here (no scripts, fonts, images or
 * links to fetch), so it opens anywhere, mails as one attachment and sits
 * in the MLflow run's artifacts. Everything it shows comes in as plain data
 * (strings, numbers, arrays) in a pdm_report_data, so the module knows
 * nothing of XGBoost or of how the metrics were computed:
 *   - a header: title, model version, data ranges and row counts per split,
 *     key metrics, per-class precision/recall/F1 (from the confusion matrix);
 *   - ROC and precision-recall curves of the any-failure risk, AUC in the
 *     legend, the WARN/CRITICAL operating points on the PR curve;
 *   - the 5x5 confusion matrix as a heat map (counts, shaded by row share);
 *   - feature importance by gain, top features as sorted horizontal bars;
 *   - risk over time for up to six test machines with failures: failures as
 *     vertical lines, the WARN/CRITICAL thresholds as dashed lines;
 *   - alerting: the alert policy's incidents against `--emit changes` on the
 *     test rows (a table) and the lead-time distribution (a histogram).
 * All text is escaped; the document is also well-formed XML.
 */
#ifndef PDM_REPORT_H
#define PDM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define PDM_REPORT_N_CLASSES 5     /* none, comp1..comp4 */
#define PDM_REPORT_MAX_FEATURES 27 /* bars drawn; the rest are counted */
#define PDM_REPORT_MAX_SERIES 6    /* machines drawn; the rest are counted */

typedef struct {
    const char *name; /* "train", "test", ... */
    int64_t from_ms, to_ms;
    size_t rows;
    size_t positives; /* rows labelled with a failure (any component) */
} pdm_report_split;

typedef struct {
    const char *name;
    double value; /* NaN shows as "n/a" */
} pdm_report_metric;

typedef struct {
    const char *key;
    const char *value;
} pdm_report_kv;

/* A curve as n points (x[i], y[i]) in drawing order. */
typedef struct {
    const double *x, *y;
    size_t n;
    double auc; /* shown in the legend; NaN for "n/a" */
} pdm_report_curve;

/* One machine's risk over time, with its failures. */
typedef struct {
    const char *machine; /* shown as given, e.g. "machine 17" */
    const int64_t *ts_ms;
    const double *risk; /* 0..1; NaN leaves a gap */
    size_t n;
    const int64_t *failure_ms;
    const int *failure_class; /* 1..4 per failure to label it, or NULL */
    size_t n_failures;
} pdm_report_series;

/* One figure of the alert policy against `--emit changes` on the same rows
 * (NaN: n/a). */
typedef struct {
    const char *name;
    double policy, changes;
} pdm_report_alert_figure;

/* The "alerting" section: what the policy is, its figures beside those of
 * `--emit changes`, and the lead times (hours) of the failures each caught,
 * drawn as a histogram. No figures: the section says it was not evaluated. */
typedef struct {
    const char *policy; /* one line, e.g. "confirm 2/3, hold 24 h, ..." */
    const pdm_report_alert_figure *figures;
    size_t n_figures;
    const double *lead_hours;
    size_t n_lead;
    const double *changes_lead_hours;
    size_t n_changes_lead;
} pdm_report_alerting;

typedef struct {
    const char *title;
    const char *model_version;
    int64_t generated_ms;                          /* 0: now */
    const char *class_names[PDM_REPORT_N_CLASSES]; /* NULL: none, comp1..comp4 */

    const pdm_report_split *splits;
    size_t n_splits;
    const pdm_report_kv *info; /* extra facts for the header (horizon, rounds, ...) */
    size_t n_info;
    const pdm_report_metric *metrics; /* the key metrics table, as given */
    size_t n_metrics;

    pdm_report_curve roc; /* x: false positive rate, y: true positive rate */
    pdm_report_curve pr;  /* x: recall, y: precision */
    double pr_baseline;   /* positive rate drawn as "no skill"; NaN: none */

    /* Alert thresholds on the risk, with their precision/recall on the
     * evaluated split (NaN: no marker on the PR curve). */
    double warn, critical;
    double warn_precision, warn_recall, critical_precision, critical_recall;

    size_t confusion[PDM_REPORT_N_CLASSES][PDM_REPORT_N_CLASSES]; /* [true][predicted] */

    const char *const *feature_names;
    const double *importance; /* gain per feature, any order */
    size_t n_features;

    const pdm_report_series *series;
    size_t n_series;

    pdm_report_alerting alerting;
} pdm_report_data;

/* Sets every field to "absent": NULL/0 pointers and counts, NaN numbers. */
void pdm_report_data_init(pdm_report_data *d);

/* Writes the report to path (through a temporary file and rename, so the
 * path never holds half a report). Returns 0 or -1 with errstr. */
int pdm_report_write_html(const pdm_report_data *d, const char *path, char *errstr, size_t errlen);

/* The same document into a malloc'ed NUL-terminated string (*out, *len). */
int pdm_report_render_html(const pdm_report_data *d, char **out, size_t *len, char *errstr,
                           size_t errlen);

/* ---- curves from scores --------------------------------------------------- */

/* Owned point arrays, freed by pdm_report_points_free. */
typedef struct {
    double *x, *y;
    size_t n;
} pdm_report_points;

/* ROC (FPR, TPR) from (0,0) to (1,1) and precision-recall (recall,
 * precision) curves of score against positive[i] != 0, one point per
 * distinct score (highest first). Needs at least one positive and one
 * negative. Returns 0 or -1 with errstr. */
int pdm_report_curves_from_scores(const double *score, const unsigned char *positive, size_t n,
                                  pdm_report_points *roc, pdm_report_points *pr, char *errstr,
                                  size_t errlen);
void pdm_report_points_free(pdm_report_points *p);

#endif
