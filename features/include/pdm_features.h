/* pdm_features.h: the v1 feature set, the one definition shared by the
 * offline trainer and the streaming scorer.
 *
 * One row per telemetry event, computed at its event time t for its machine
 * m, 27 features in this order:
 *    1-4   volt/rotate/pressure/vibration _mean_3h
 *    5-8   the same four _std_3h
 *    9-12  the four _mean_24h
 *   13-16  the four _std_24h
 *   17-21  error1_count_24h .. error5_count_24h
 *   22-25  comp1_hours_since_maint .. comp4_hours_since_maint
 *   26     model_id
 *   27     age
 * A window of length W holds m's telemetry with t - W < ts <= t (by time,
 * never by row count). mean is the arithmetic mean (NaN without points),
 * std the sample standard deviation (n - 1; 0 with fewer than 2 points).
 * errorK_count_24h counts distinct (ts, "errorK") in the 24 h window.
 * compK_hours_since_maint is (t - latest compK maintenance at or before t)
 * in hours. Missing values (no maintenance, no machine info, empty window)
 * are NaN, which XGBoost reads as missing.
 *
 * Layers, so that any state store plugs in under one piece of math:
 *   - pdm_machine_view: plain sorted arrays of one machine's state, what a
 *     Redis reply or the in-memory state turns into;
 *   - pdm_features_compute: the math, from a view and t to a row;
 *   - pdm_machine_state: a growable, idempotent per-machine state;
 *   - pdm_feature_store: machine id -> state in memory, with lateness and
 *     trimming (trainer, tests); pdm_featurizer feeds it a stream and emits
 *     one row per telemetry event;
 *   - labels (training only) and the CSV dump format.
 */
#ifndef PDM_FEATURES_H
#define PDM_FEATURES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pdm_common.h"
#include "pdm_schemas.h"

#define PDM_FEATURE_SET "v1"
#define PDM_N_FEATURES 27
#define PDM_N_SIGNALS 4 /* volt, rotate, pressure, vibration */

/* First index of each group of features (0-based). */
enum {
    PDM_F_MEAN_3H = 0,
    PDM_F_STD_3H = 4,
    PDM_F_MEAN_24H = 8,
    PDM_F_STD_24H = 12,
    PDM_F_ERROR_COUNT_24H = 16,   /* + (K - 1) for errorK */
    PDM_F_HOURS_SINCE_MAINT = 21, /* + (K - 1) for compK */
    PDM_F_MODEL_ID = 25,
    PDM_F_AGE = 26,
};

#define PDM_FEATURES_SHORT_WINDOW_MS (3 * PDM_MS_PER_HOUR)
#define PDM_FEATURES_LONG_WINDOW_MS (24 * PDM_MS_PER_HOUR)
#define PDM_FEATURES_DEFAULT_LATENESS_MS (48 * PDM_MS_PER_HOUR)

/* "volt_mean_3h", ...; NULL when i >= PDM_N_FEATURES. */
const char *pdm_feature_name(size_t i);
/* All PDM_N_FEATURES names in order (static storage). */
const char *const *pdm_feature_names(void);

/* ---- machine view and the math ----------------------------------------- */

typedef struct {
    int64_t ts;
    double v[PDM_N_SIGNALS]; /* volt, rotate, pressure, vibration */
} pdm_telemetry_point;

typedef struct {
    int64_t ts;
    int error_id; /* 1..PDM_N_ERRORS */
} pdm_error_point;

typedef struct {
    int64_t ts;
    int component; /* 1..PDM_N_COMPONENTS */
} pdm_maint_point;

/* One machine's state as plain data. The arrays are owned by whoever built
 * the view. Invariants (pdm_machine_view_check tests them):
 *   tel:   ts strictly increasing (one point per ts);
 *   err:   (ts, error_id) strictly increasing (each pair once);
 *   maint: (ts, component) strictly increasing.
 * Entries with ids out of range are ignored by the math. */
typedef struct {
    const pdm_telemetry_point *tel;
    size_t n_tel;
    const pdm_error_point *err;
    size_t n_err;
    const pdm_maint_point *maint;
    size_t n_maint;
    int has_info; /* model and age are known */
    int model;    /* N of "modelN" */
    int age;      /* years */
} pdm_machine_view;

/* Returns 0 if v holds the invariants above, or -1 with errstr. */
int pdm_machine_view_check(const pdm_machine_view *v, char *errstr, size_t errlen);

/* The v1 features of the machine at time t. Only points with ts <= t are
 * read, so a view may hold later ones. */
void pdm_features_compute(const pdm_machine_view *v, int64_t t, double out[PDM_N_FEATURES]);

/* ---- per-machine state ---------------------------------------------------- */

/* Growable state of one machine. Applying is idempotent: telemetry at an
 * existing ts replaces the point; errors and maintenance are sets of
 * (ts, id); machine info is last-writer-wins; failures are ignored (they are
 * labels, never features). Any arrival order is accepted. */
typedef struct pdm_machine_state pdm_machine_state;

pdm_machine_state *pdm_machine_state_new(void); /* NULL when out of memory */
void pdm_machine_state_destroy(pdm_machine_state *st);

#define PDM_FEATURES_ENOMEM (-1)
#define PDM_FEATURES_EINVAL (-2) /* error id or component out of range */

/* Returns 0, PDM_FEATURES_ENOMEM or PDM_FEATURES_EINVAL (state unchanged). */
int pdm_machine_state_apply(pdm_machine_state *st, const pdm_event *ev);
/* Drops telemetry and errors with ts < horizon, and maintenance with
 * ts < horizon except, per component, the latest at or before horizon, so
 * that rows at any t >= horizon + 24 h - 1 ms stay exactly the same (their
 * windows start after horizon - 1 ms). */
void pdm_machine_state_trim(pdm_machine_state *st, int64_t horizon);
/* The state as a view, valid until the next apply or trim. */
void pdm_machine_state_view(const pdm_machine_state *st, pdm_machine_view *out);
/* Newest telemetry ts applied (survives trimming), INT64_MIN if none. */
int64_t pdm_machine_state_newest(const pdm_machine_state *st);
/* Bytes allocated by the state. */
size_t pdm_machine_state_memory(const pdm_machine_state *st);

/* ---- in-memory store ------------------------------------------------------ */

typedef struct {
    /* An event (other than machine info) older than the machine's newest
     * telemetry minus this is rejected as late. State older than the newest
     * telemetry minus 24 h minus this is trimmed, so memory stays bounded.
     * Negative (or more than a century): accept everything and never trim.
     * Default 48 h. */
    int64_t lateness_ms;
} pdm_feature_store_options;

void pdm_feature_store_options_init(pdm_feature_store_options *o);

typedef struct pdm_feature_store pdm_feature_store;

/* opts may be NULL (defaults). */
pdm_feature_store *pdm_feature_store_new(const pdm_feature_store_options *opts, char *errstr,
                                         size_t errlen);
void pdm_feature_store_destroy(pdm_feature_store *s);

typedef enum {
    PDM_APPLY_OK = 0,      /* applied */
    PDM_APPLY_IGNORED = 1, /* not a feature input (failure, risk) */
    PDM_APPLY_LATE = 2,    /* beyond the allowed lateness; not applied */
} pdm_apply_result;

/* Returns a pdm_apply_result, PDM_FEATURES_ENOMEM or PDM_FEATURES_EINVAL. */
int pdm_feature_store_apply(pdm_feature_store *s, const pdm_event *ev);
/* The view of one machine, valid until the next apply. Returns 0, or -1 for
 * a machine never seen (*out is then an empty view). */
int pdm_feature_store_view(const pdm_feature_store *s, int32_t machine_id, pdm_machine_view *out);
/* Iteration in order of first appearance: for i < size, the id of the
 * i-th machine, and its view in *out. */
size_t pdm_feature_store_size(const pdm_feature_store *s);
int32_t pdm_feature_store_at(const pdm_feature_store *s, size_t i, pdm_machine_view *out);
/* Bytes allocated by the store and its states. */
size_t pdm_feature_store_memory(const pdm_feature_store *s);

/* ---- featurizer ----------------------------------------------------------- */

/* Rows in a growable buffer owned by the caller: start zeroed, free with
 * pdm_feature_rows_free. x is n x PDM_N_FEATURES, row-major. */
typedef struct {
    double *x;
    int32_t *machine_id;
    int64_t *ts;
    size_t n, cap;
} pdm_feature_rows;

int pdm_feature_rows_reserve(pdm_feature_rows *r, size_t extra); /* 0 or -1 */
void pdm_feature_rows_free(pdm_feature_rows *r);

/* Receives one row; a non-zero return stops the feed. */
typedef int (*pdm_feature_row_fn)(void *ctx, int32_t machine_id, int64_t ts, const double *row);

typedef struct {
    uint64_t events;  /* fed */
    uint64_t rows;    /* computed */
    uint64_t late;    /* rejected as late (telemetry among them makes no row) */
    uint64_t ignored; /* failures and other non-inputs */
} pdm_featurizer_stats;

/* A store fed in stream order: every telemetry event, once applied, makes
 * its row at its own ts. */
typedef struct pdm_featurizer pdm_featurizer;

pdm_featurizer *pdm_featurizer_new(const pdm_feature_store_options *opts, char *errstr,
                                   size_t errlen);
void pdm_featurizer_destroy(pdm_featurizer *f);
/* Feeds n events, appending rows to *rows. Returns 0 or -1 with errstr. */
int pdm_featurizer_feed(pdm_featurizer *f, const pdm_event *ev, size_t n, pdm_feature_rows *rows,
                        char *errstr, size_t errlen);
/* Same, handing each row to fn instead. */
int pdm_featurizer_feed_fn(pdm_featurizer *f, const pdm_event *ev, size_t n, pdm_feature_row_fn fn,
                           void *ctx, char *errstr, size_t errlen);
const pdm_feature_store *pdm_featurizer_store(const pdm_featurizer *f);
void pdm_featurizer_get_stats(const pdm_featurizer *f, pdm_featurizer_stats *out);

/* ---- labels (training only) ---------------------------------------------- */

#define PDM_LABEL_DEFAULT_HORIZON_HOURS 24.0

/* labels[i] = K (1..4) if the earliest failure of machine_id[i] with
 * ts[i] < f <= ts[i] + horizon is of compK (the lowest K when several fail at
 * that f), else 0. Failures are the PDM_EV_FAILURE events among events[0..
 * n_events) (other types are skipped). Returns 0 or -1 with errstr. */
int pdm_labels_compute(const pdm_event *events, size_t n_events, const int32_t *machine_id,
                       const int64_t *ts, size_t n_rows, double horizon_hours, int *labels,
                       char *errstr, size_t errlen);

/* ---- CSV dump (trainer and scorer) ---------------------------------------- */

/* "machineID,datetime,<27 names>,label\n" */
int pdm_features_dump_header(FILE *out);
/* One row: datetime "YYYY-MM-DD HH:MM:SS", values %.17g, NaN as an empty
 * field, label empty when negative. Returns 0 or -1 on a write error. */
int pdm_features_dump_row(FILE *out, int32_t machine_id, int64_t ts, const double *row, int label);

#endif
