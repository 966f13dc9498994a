/* bench-stream-model: the model's own scoring ceilings, on the rows the
 * scorer will see.
 *
 * Loads a PdM data set (--data), computes the v1 features of every
 * telemetry row with the feature library, takes --rows of them spread over
 * the whole time range, and times with the scorer's thread count:
 *   - pdm_model_predict on batches of --batch rows (the batch ceiling);
 *   - pdm_model_score_ex on batches of 2,000 without reasons (the scorer's
 *     call with its default --batch-size);
 *   - pdm_model_predict one row per call (what per-event scoring would cost);
 *   - pdm_model_explain (TreeSHAP reasons) on the rows at or above the WARN
 *     threshold, which the scorer explains for every alert it emits;
 * and prints the share of such alert rows, so that the cost of explaining
 * per scored event (share / explain rate) can be read next to the others.
 * For the alternatives, the same alert rows go straight to XGBoost (the
 * package's model.ubj): exact contributions (what pdm_model_explain asks
 * for, without the class-probability pass and the reason ranking) and
 * approximate ones (Saabas, prediction type 3), with --threads and 2
 * threads.
 * Each figure is the median of --runs runs. Results go to stdout as
 * "result NAME=VALUE ..." lines (for bench/stream.sh).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#include "pdm_common.h"
#include "pdm_dataset.h"
#include "pdm_features.h"
#include "pdm_model.h"
#include "bench_util.h"

typedef struct {
    char *model;
    char *data;
    long long rows;
    long long batch;
    long long single_rows;
    long long explain_rows;
    long long threads;
    long long runs;
    char *label;
    double warn_share, critical_share;
} model_cfg;

#define O(f) offsetof(model_cfg, f)
static const pdm_option options[] = {
    {"model", 'm', NULL, PDM_OPT_STRING, O(model), NULL, "DIR", "Model package (required).", 0},
    {"data", 'd', NULL, PDM_OPT_STRING, O(data), NULL, "DIR", "PdM data set (required).", 0},
    {"rows", 'n', NULL, PDM_OPT_INT, O(rows), "200000", "N",
     "Rows to time, spread evenly over the data set's rows.", 0},
    {"batch", 'b', NULL, PDM_OPT_INT, O(batch), "1000", "N", "Rows per batch-prediction call.",
     0},
    {"single-rows", 0, NULL, PDM_OPT_INT, O(single_rows), "20000", "N",
     "Rows scored one per call.", 0},
    {"explain-rows", 0, NULL, PDM_OPT_INT, O(explain_rows), "4000", "N",
     "Alert rows explained (TreeSHAP) per run.", 0},
    {"threads", 'j', NULL, PDM_OPT_INT, O(threads), "1", "N",
     "XGBoost threads (pdm-scorer's --model-threads default is 1).", 0},
    {"runs", 'r', NULL, PDM_OPT_INT, O(runs), "3", "N", "Runs; the median is reported.", 0},
    {"label", 0, NULL, PDM_OPT_STRING, O(label), "model", "NAME",
     "Prefix of the result names (e.g. small, default).", 0},
    {"warn-share", 0, NULL, PDM_OPT_DOUBLE, O(warn_share), "0", "S",
     "Put the WARN threshold where this share of the rows is at or above it (0: the model's "
     "own); reported as LABEL_warn for pdm-scorer --warn.", 0},
    {"critical-share", 0, NULL, PDM_OPT_DOUBLE, O(critical_share), "0", "S",
     "The same for CRITICAL (with --warn-share; at most it).", 0},
    PDM_OPTIONS_END,
};


static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* The risks at or above which the top warn_share / critical_share of the
 * n rows' risks lie (from their class probabilities). -1 out of memory. */
static int share_thresholds(const double *probs, size_t n, double warn_share,
                            double critical_share, double *warn, double *critical)
{
    double *r = malloc(n * sizeof *r);
    if (!r)
        return -1;
    for (size_t i = 0; i < n; i++)
        r[i] = pdm_model_risk_of(probs + i * PDM_MODEL_N_CLASSES);
    qsort(r, n, sizeof *r, cmp_desc);
    size_t w = (size_t)(warn_share * (double)n), c = (size_t)(critical_share * (double)n);
    *warn = r[w ? w - 1 : 0];
    *critical = c ? r[c - 1] : 1.0;
    if (*critical < *warn)
        *critical = *warn;
    free(r);
    return 0;
}

/* Rows per second of XGBoost contributions (type 2 exact TreeSHAP, type 3
 * approximate) over n rows in calls of per_call rows, median of runs; NaN
 * on failure (message in errstr). */
static double xgb_contrib_rate(const char *pkg, const double *x, size_t n, size_t per_call,
                               int type, int threads, int runs, char *errstr, size_t errlen)
{
    BoosterHandle b = NULL;
    double rate = NAN, *t = calloc((size_t)runs, sizeof *t);
    char path[4200], nth[16], ai[200], cfg[200];
    snprintf(path, sizeof path, "%s/model.ubj", pkg);
    snprintf(nth, sizeof nth, "%d", threads);
    snprintf(cfg, sizeof cfg,
             "{\"type\":%d,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
             "\"strict_shape\":false}",
             type);
    if (!t || XGBoosterCreate(NULL, 0, &b) || XGBoosterLoadModel(b, path) ||
        XGBoosterSetParam(b, "nthread", nth)) {
        pdm_err(errstr, errlen, "xgboost %s: %s", path, t ? XGBGetLastError() : "out of memory");
        goto out;
    }
    for (int r = 0; r < runs; r++) {
        double t0 = pdm_monotonic_s();
        for (size_t i = 0; i < n; i += per_call) {
            size_t k = n - i < per_call ? n - i : per_call;
            DMatrixHandle dm;
            bst_ulong const *shape;
            bst_ulong dim;
            float const *res;
            snprintf(ai, sizeof ai,
                     "{\"data\":[%zu,true],\"shape\":[%zu,%d],\"typestr\":\"<f8\",\"version\":3}",
                     (size_t)(uintptr_t)(x + i * PDM_N_FEATURES), k, PDM_N_FEATURES);
            if (XGDMatrixCreateFromDense(ai, "{\"missing\":NaN,\"nthread\":1}", &dm)) {
                pdm_err(errstr, errlen, "xgboost: %s", XGBGetLastError());
                goto out;
            }
            int fail = XGBoosterPredictFromDMatrix(b, dm, cfg, &shape, &dim, &res);
            XGDMatrixFree(dm);
            if (fail) {
                pdm_err(errstr, errlen, "xgboost: %s", XGBGetLastError());
                goto out;
            }
        }
        t[r] = (double)n / (pdm_monotonic_s() - t0);
    }
    rate = bench_median(t, runs);
out:
    if (b)
        XGBoosterFree(b);
    free(t);
    return rate;
}

/* Every telemetry row's features, in replay order. */
static int featurize(const char *dir, pdm_feature_rows *rows, char *errstr, size_t errlen)
{
    pdm_dataset *ds = NULL;
    pdm_featurizer *fz = NULL;
    int rc = -1;
    if (pdm_dataset_load(dir, NULL, &ds, errstr, errlen))
        goto out;
    fz = pdm_featurizer_new(NULL, errstr, errlen);
    if (!fz)
        goto out;
    size_t n;
    const pdm_event *ev = pdm_dataset_events(ds, &n);
    if (pdm_featurizer_feed(fz, ev, n, rows, errstr, errlen))
        goto out;
    rc = 0;
out:
    pdm_featurizer_destroy(fz);
    pdm_dataset_destroy(ds);
    return rc;
}

/* Rows/s of pdm_model_predict over n rows in calls of `batch` rows,
 * median of runs; -1 on an error (printed). */
static double batch_predict_rate(pdm_model *m, const double *x, size_t n, size_t batch,
                                 double *probs, double *t, int runs)
{
    char err[PDM_ERRSTR_SIZE];
    for (int r = 0; r < runs; r++) {
        double t0 = pdm_monotonic_s();
        for (size_t i = 0; i < n; i += batch) {
            size_t k = n - i < batch ? n - i : batch;
            if (pdm_model_predict(m, x + i * PDM_N_FEATURES, k, probs + i * PDM_MODEL_N_CLASSES,
                                  err, sizeof err)) {
                fprintf(stderr, "bench-stream-model: %s\n", err);
                return -1;
            }
        }
        t[r] = (double)n / (pdm_monotonic_s() - t0);
    }
    return bench_median(t, runs);
}

int main(int argc, char **argv)
{
    model_cfg cfg = {0};
    char err[PDM_ERRSTR_SIZE];
    int npos = 0, help = 0, rc = 2;
    pdm_feature_rows all = {0};
    pdm_model *m = NULL;
    double *x = NULL, *probs = NULL, *alert_x = NULL, *t = NULL;
    pdm_risk *risks = NULL;

    if (pdm_options_parse(options, &cfg, argc, argv, &npos, &help, err, sizeof err)) {
        fprintf(stderr, "bench-stream-model: %s\n", err);
        goto out;
    }
    if (help) {
        pdm_options_help(stdout, "usage: bench-stream-model --model PKG --data DIR [options]",
                         options);
        rc = 0;
        goto out;
    }
    if (!cfg.model || !cfg.data || cfg.rows < 1 || cfg.batch < 1 || cfg.single_rows < 1 ||
        cfg.explain_rows < 1 || cfg.runs < 1 || cfg.runs > 99 || !(cfg.warn_share >= 0) ||
        cfg.warn_share > 1 || !(cfg.critical_share >= 0) || cfg.critical_share > cfg.warn_share) {
        fprintf(stderr, "bench-stream-model: --model and --data are required; counts >= 1; "
                        "0 <= --critical-share <= --warn-share <= 1\n");
        goto out;
    }
    rc = 1;
    if (featurize(cfg.data, &all, err, sizeof err) || pdm_model_load(cfg.model, &m, err, sizeof err) ||
        pdm_model_set_nthread(m, (int)cfg.threads, err, sizeof err)) {
        fprintf(stderr, "bench-stream-model: %s\n", err);
        goto out;
    }
    size_t n = (size_t)cfg.rows < all.n ? (size_t)cfg.rows : all.n;
    size_t n_single = (size_t)cfg.single_rows < n ? (size_t)cfg.single_rows : n;
    x = malloc(n * PDM_N_FEATURES * sizeof *x);
    probs = malloc(n * PDM_MODEL_N_CLASSES * sizeof *probs);
    risks = malloc(2000 * sizeof *risks);
    alert_x = malloc(n * PDM_N_FEATURES * sizeof *alert_x);
    t = malloc((size_t)cfg.runs * sizeof *t);
    if (!x || !probs || !risks || !alert_x || !t) {
        fprintf(stderr, "bench-stream-model: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(x + i * PDM_N_FEATURES, all.x + (i * all.n / n) * PDM_N_FEATURES,
               PDM_N_FEATURES * sizeof *x);
    double warn, critical;
    pdm_model_thresholds(m, &warn, &critical);
    printf("model %s (%s), %lld thread(s), %zu of %zu rows, warn %.4g\n", pdm_model_version(m),
           cfg.label, cfg.threads, n, all.n, warn);

    /* 1. batch prediction (XGBoost's, then the native evaluator's) */
    double batch_rate = batch_predict_rate(m, x, n, (size_t)cfg.batch, probs, t, (int)cfg.runs);
    double native_rate = NAN;
    if (batch_rate < 0)
        goto out;
    if (pdm_model_set_predictor(m, PDM_PREDICTOR_NATIVE, err, sizeof err) == 0) {
        native_rate = batch_predict_rate(m, x, n, (size_t)cfg.batch, probs, t, (int)cfg.runs);
        pdm_model_set_predictor(m, PDM_PREDICTOR_XGBOOST, err, sizeof err);
    } else {
        fprintf(stderr, "bench-stream-model: native predictor refused: %s\n", err);
    }
    printf("  native evaluator, batches of %lld: %.0f rows/s\n", cfg.batch, native_rate);
    if (cfg.warn_share > 0 &&
        share_thresholds(probs, n, cfg.warn_share, cfg.critical_share, &warn, &critical)) {
        fprintf(stderr, "bench-stream-model: out of memory\n");
        goto out;
    }
    if (cfg.warn_share > 0)
        printf("  thresholds for %.1f%% / %.1f%% of the rows: warn %.6g, critical %.6g\n",
               100 * cfg.warn_share, 100 * cfg.critical_share, warn, critical);
    size_t n_alert = 0;
    for (size_t i = 0; i < n; i++) {
        if (pdm_model_risk_of(probs + i * PDM_MODEL_N_CLASSES) >= warn)
            memcpy(alert_x + n_alert++ * PDM_N_FEATURES, x + i * PDM_N_FEATURES,
                   PDM_N_FEATURES * sizeof *x);
    }
    double share = (double)n_alert / (double)n;
    printf("  predict, batches of %lld: %.0f rows/s\n", cfg.batch, batch_rate);

    /* 2. the scorer's call */
    for (long long r = 0; r < cfg.runs; r++) {
        double t0 = pdm_monotonic_s();
        for (size_t i = 0; i < n; i += 2000) {
            size_t k = n - i < 2000 ? n - i : 2000;
            if (pdm_model_score_ex(m, x + i * PDM_N_FEATURES, k, risks, 0, err, sizeof err)) {
                fprintf(stderr, "bench-stream-model: %s\n", err);
                goto out;
            }
        }
        t[r] = (double)n / (pdm_monotonic_s() - t0);
    }
    double score_rate = bench_median(t, (int)cfg.runs);
    printf("  score_ex (no reasons), batches of 2000: %.0f rows/s\n", score_rate);

    /* 3. one row per call */
    for (long long r = 0; r < cfg.runs; r++) {
        double t0 = pdm_monotonic_s();
        for (size_t i = 0; i < n_single; i++) {
            if (pdm_model_predict(m, x + i * PDM_N_FEATURES, 1, probs, err, sizeof err)) {
                fprintf(stderr, "bench-stream-model: %s\n", err);
                goto out;
            }
        }
        t[r] = (double)n_single / (pdm_monotonic_s() - t0);
    }
    double single_rate = bench_median(t, (int)cfg.runs);
    printf("  predict, one row per call: %.0f rows/s\n", single_rate);

    /* 4. reasons for the alerts, in the scorer's batch shape: a batch of
     * 2,000 events holds about share x 2,000 alerts. */
    double explain_rate = NAN;
    size_t per_call = (size_t)(share * 2000 + 0.5);
    if (per_call < 1)
        per_call = 1;
    size_t n_explain = n_alert < (size_t)cfg.explain_rows ? n_alert : (size_t)cfg.explain_rows;
    if (n_explain) {
        /* once untimed: the first call builds the explainer's tables */
        if (pdm_model_explain(m, alert_x, 1, risks, err, sizeof err)) {
            fprintf(stderr, "bench-stream-model: %s\n", err);
            goto out;
        }
        for (long long r = 0; r < cfg.runs; r++) {
            double t0 = pdm_monotonic_s();
            for (size_t i = 0; i < n_explain; i += per_call) {
                size_t k = n_explain - i < per_call ? n_explain - i : per_call;
                if (pdm_model_explain(m, alert_x + i * PDM_N_FEATURES, k, risks, err,
                                      sizeof err)) {
                    fprintf(stderr, "bench-stream-model: %s\n", err);
                    goto out;
                }
            }
            t[r] = (double)n_explain / (pdm_monotonic_s() - t0);
        }
        explain_rate = bench_median(t, (int)cfg.runs);
    }
    /* Per scored event with --emit all: one prediction, plus SHAP for the
     * alert share of them. */
    double with_reasons = 1.0 / (1.0 / score_rate + (n_explain ? share / explain_rate : 0));
    printf("  alert rows (risk >= warn): %.2f%%; explain (TreeSHAP), %zu rows per call: %.0f "
           "rows/s\n",
           100 * share, per_call, explain_rate);
    printf("  => scoring with reasons for every alert (--emit all): %.0f events/s\n",
           with_reasons);

    /* 5. the same alert rows straight to XGBoost: exact vs approximate */
    double xgb[3] = {NAN, NAN, NAN};
    static const int xgb_type[3] = {2, 2, 3};
    int xgb_threads[3] = {(int)cfg.threads, 2, (int)cfg.threads};
    for (int k = 0; k < 3 && n_explain; k++) {
        xgb[k] = xgb_contrib_rate(cfg.model, alert_x, n_explain, per_call, xgb_type[k],
                                  xgb_threads[k], (int)cfg.runs, err, sizeof err);
        if (isnan(xgb[k])) {
            fprintf(stderr, "bench-stream-model: %s\n", err);
            goto out;
        }
    }
    printf("  XGBoost contributions on the same rows: exact %.0f rows/s (%lld thread(s)), %.0f "
           "rows/s (2 threads); approximate (Saabas) %.0f rows/s\n",
           xgb[0], cfg.threads, xgb[1], xgb[2]);
    printf("result %s_native_batch_rate=%.0f %s_warn=%.9g %s_critical=%.9g\n", cfg.label,
           native_rate, cfg.label, warn, cfg.label, critical);
    printf("result %s_batch_rate=%.0f %s_score_rate=%.0f %s_single_rate=%.0f "
           "%s_alert_share=%.4f %s_explain_rate=%.0f %s_with_reasons_rate=%.0f "
           "%s_xgb_exact_rate=%.0f %s_xgb_exact2_rate=%.0f %s_xgb_approx_rate=%.0f\n",
           cfg.label, batch_rate, cfg.label, score_rate, cfg.label, single_rate, cfg.label, share,
           cfg.label, explain_rate, cfg.label, with_reasons, cfg.label, xgb[0], cfg.label, xgb[1],
           cfg.label, xgb[2]);
    rc = 0;
out:
    free(x);
    free(probs);
    free(risks);
    free(alert_x);
    free(t);
    pdm_model_destroy(m);
    pdm_feature_rows_free(&all);
    pdm_options_free(options, &cfg);
    return rc;
}
