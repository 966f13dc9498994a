/* drift.c: population stability of the scorer's inputs and output against
 * the model's training data (formula and smoothing in pdm_monitor.h).
 *
 * Observing a row is 28 bin look-ups into fixed count arrays, so it can run
 * on every scored row; the PSI itself is computed only when a window
 * closes. Tumbling windows (counts restart after each evaluation) keep the
 * state a few kB whatever the rate, and each evaluation describes one
 * recent stretch of traffic rather than a blur of all history.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pdm_monitor.h"

enum { B = PDM_MODEL_HIST_BINS, RISK = PDM_N_FEATURES, N_SERIES = PDM_N_FEATURES + 1 };

struct pdm_drift {
    pthread_mutex_t lock;
    pdm_drift_options opt;
    pdm_histogram ref[N_SERIES]; /* features, then the risk */
    int has_risk_ref;
    /* The open window: per series, bins 0..B-1 then missing at B. */
    uint64_t counts[N_SERIES][B + 1];
    size_t rows, risk_rows;
    int64_t start_ms;
    uint64_t rows_total;
    pdm_drift_result last;
};

void pdm_drift_options_init(pdm_drift_options *o)
{
    o->window_rows = 10000;
    o->window_ms = 300 * 1000;
    o->min_rows = 100;
}

static void result_reset(pdm_drift_result *r)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < PDM_N_FEATURES; i++)
        r->feature[i].psi = r->feature[i].missing = r->feature[i].reference_missing = NAN;
    r->risk.psi = r->risk.missing = r->risk.reference_missing = NAN;
    r->max_psi = NAN;
    r->max_psi_feature = -1;
}

pdm_drift *pdm_drift_new(const pdm_histogram *feature_ref, const pdm_histogram *risk_ref,
                         const pdm_drift_options *opts, char *errstr, size_t errlen)
{
    pdm_drift_options o;
    if (opts)
        o = *opts;
    else
        pdm_drift_options_init(&o);
    if (!feature_ref) {
        pdm_err(errstr, errlen, "drift: no reference histograms");
        return NULL;
    }
    if (o.window_rows < 1 || o.window_ms <= 0 || o.min_rows < 1) {
        pdm_err(errstr, errlen, "drift: window rows, window time and min rows must be positive");
        return NULL;
    }
    pdm_drift *d = calloc(1, sizeof *d);
    if (!d) {
        pdm_err(errstr, errlen, "drift: out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        pdm_err(errstr, errlen, "drift: cannot create a mutex");
        return NULL;
    }
    d->opt = o;
    memcpy(d->ref, feature_ref, PDM_N_FEATURES * sizeof *feature_ref);
    if (risk_ref) {
        d->ref[RISK] = *risk_ref;
        d->has_risk_ref = 1;
    }
    result_reset(&d->last);
    for (int i = 0; i < PDM_N_FEATURES; i++)
        d->last.feature[i].reference_missing = d->ref[i].count ? d->ref[i].missing : NAN;
    if (d->has_risk_ref)
        d->last.risk.reference_missing = d->ref[RISK].count ? d->ref[RISK].missing : NAN;
    return d;
}

pdm_drift *pdm_drift_new_from_model(const pdm_model *m, const pdm_drift_options *opts, char *errstr,
                                    size_t errlen)
{
    pdm_histogram ref[PDM_N_FEATURES];
    for (size_t i = 0; i < PDM_N_FEATURES; i++) {
        const pdm_histogram *h = pdm_model_feature_histogram(m, i);
        if (!h) {
            pdm_err(errstr, errlen, "drift: the model has no reference histogram for %s",
                    pdm_feature_name(i));
            return NULL;
        }
        ref[i] = *h;
    }
    return pdm_drift_new(ref, pdm_model_risk_histogram(m), opts, errstr, errlen);
}

void pdm_drift_destroy(pdm_drift *d)
{
    if (!d)
        return;
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* PSI of the live counts (bins, then missing) against ref, NaN when either
 * side has no non-missing value. */
static double psi(const pdm_histogram *ref, const uint64_t *counts)
{
    const double eps = PDM_DRIFT_SMOOTHING;
    double ref_present = 1.0 - ref->missing;
    uint64_t live_present = 0;
    for (int b = 0; b < B; b++)
        live_present += counts[b];
    if (ref->count == 0 || isnan(ref->edges[0]) || !(ref_present > 0) || live_present == 0)
        return NAN;
    double sum = 0;
    for (int b = 0; b < B; b++) {
        double a = ((double)counts[b] / (double)live_present + eps) / (1.0 + B * eps);
        double e = (ref->share[b] / ref_present + eps) / (1.0 + B * eps);
        sum += (a - e) * log(a / e);
    }
    return sum;
}

static void evaluate(pdm_drift *d, int64_t now_ms)
{
    pdm_drift_result *r = &d->last;
    r->ready = 1;
    r->windows++;
    r->rows = d->rows;
    r->window_start_ms = d->start_ms;
    r->window_end_ms = now_ms;
    r->max_psi = NAN;
    r->max_psi_feature = -1;
    for (int i = 0; i < PDM_N_FEATURES; i++) {
        pdm_drift_value *v = &r->feature[i];
        v->psi = psi(&d->ref[i], d->counts[i]);
        v->missing = d->rows ? (double)d->counts[i][B] / (double)d->rows : NAN;
        if (!isnan(v->psi) && (isnan(r->max_psi) || v->psi > r->max_psi)) {
            r->max_psi = v->psi;
            r->max_psi_feature = i;
        }
    }
    r->risk.psi = d->has_risk_ref ? psi(&d->ref[RISK], d->counts[RISK]) : NAN;
    r->risk.missing = d->risk_rows ? (double)d->counts[RISK][B] / (double)d->risk_rows : NAN;
    memset(d->counts, 0, sizeof d->counts);
    d->rows = d->risk_rows = 0;
}

static int due(const pdm_drift *d, int64_t now_ms)
{
    return d->rows >= d->opt.window_rows ||
           (d->rows >= d->opt.min_rows && now_ms - d->start_ms >= d->opt.window_ms);
}

int pdm_drift_observe(pdm_drift *d, const double *rows, const double *risk, size_t n,
                      int64_t now_ms)
{
    int evaluated = 0;
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < n; i++) {
        const double *row = rows + i * PDM_N_FEATURES;
        if (d->rows == 0)
            d->start_ms = now_ms;
        for (int f = 0; f < PDM_N_FEATURES; f++) {
            int b = pdm_histogram_bin(&d->ref[f], row[f]);
            d->counts[f][b < 0 ? B : b]++;
        }
        if (risk) {
            int b = d->has_risk_ref ? pdm_histogram_bin(&d->ref[RISK], risk[i])
                                    : (isnan(risk[i]) ? -1 : 0);
            d->counts[RISK][b < 0 ? B : b]++;
            d->risk_rows++;
        }
        d->rows++;
        d->rows_total++;
        if (due(d, now_ms)) {
            evaluate(d, now_ms);
            evaluated++;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return evaluated;
}

int pdm_drift_poll(pdm_drift *d, int64_t now_ms)
{
    int evaluated = 0;
    pthread_mutex_lock(&d->lock);
    if (d->rows > 0 && due(d, now_ms)) {
        evaluate(d, now_ms);
        evaluated = 1;
    }
    pthread_mutex_unlock(&d->lock);
    return evaluated;
}

void pdm_drift_get(pdm_drift *d, pdm_drift_result *out)
{
    pthread_mutex_lock(&d->lock);
    *out = d->last;
    out->rows_total = d->rows_total;
    out->rows_pending = d->rows;
    pthread_mutex_unlock(&d->lock);
}

const char *pdm_drift_status(double psi_value)
{
    if (isnan(psi_value))
        return "unknown";
    if (psi_value < PDM_DRIFT_MODERATE)
        return "stable";
    if (psi_value < PDM_DRIFT_MAJOR)
        return "moderate";
    return "major";
}

/* A number, or null for NaN (JSON has no NaN). */
static int add_number(cJSON *obj, const char *name, double v)
{
    return isnan(v) ? cJSON_AddNullToObject(obj, name) != NULL
                    : cJSON_AddNumberToObject(obj, name, v) != NULL;
}

static int add_value(cJSON *obj, const pdm_drift_value *v)
{
    return add_number(obj, "psi", v->psi) &&
           cJSON_AddStringToObject(obj, "status", pdm_drift_status(v->psi)) &&
           add_number(obj, "missing", v->missing) &&
           add_number(obj, "reference_missing", v->reference_missing);
}

cJSON *pdm_drift_to_json(const pdm_drift_result *r)
{
    cJSON *root = cJSON_CreateObject(), *ret = NULL;
    if (!root || !cJSON_AddBoolToObject(root, "ready", r->ready) ||
        !cJSON_AddNumberToObject(root, "windows", (double)r->windows) ||
        !cJSON_AddNumberToObject(root, "rows", (double)r->rows) ||
        !cJSON_AddNumberToObject(root, "rows_total", (double)r->rows_total) ||
        !cJSON_AddNumberToObject(root, "rows_pending", (double)r->rows_pending) ||
        !cJSON_AddNumberToObject(root, "window_start_ms", (double)r->window_start_ms) ||
        !cJSON_AddNumberToObject(root, "window_end_ms", (double)r->window_end_ms) ||
        !cJSON_AddNumberToObject(root, "smoothing", PDM_DRIFT_SMOOTHING) ||
        !add_number(root, "max_psi", r->max_psi))
        goto out;
    if (r->max_psi_feature >= 0) {
        if (!cJSON_AddStringToObject(root, "max_psi_feature",
                                     pdm_feature_name((size_t)r->max_psi_feature)))
            goto out;
    } else if (!cJSON_AddNullToObject(root, "max_psi_feature")) {
        goto out;
    }
    cJSON *features = cJSON_AddArrayToObject(root, "features");
    if (!features)
        goto out;
    for (size_t i = 0; i < PDM_N_FEATURES; i++) {
        cJSON *f = cJSON_CreateObject();
        if (!f)
            goto out;
        cJSON_AddItemToArray(features, f);
        if (!cJSON_AddStringToObject(f, "name", pdm_feature_name(i)) ||
            !add_value(f, &r->feature[i]))
            goto out;
    }
    cJSON *risk = cJSON_AddObjectToObject(root, "risk");
    if (!risk || !add_value(risk, &r->risk))
        goto out;
    ret = root;
    root = NULL;
out:
    cJSON_Delete(root);
    return ret;
}
