/* bench-shap: the TreeSHAP tables (model/shap.c) against XGBoost's exact
 * contributions (pred_contribs, type 2), which pdm_model_contributions
 * calls today for the reasons of every WARN/CRITICAL event.
 *
 * Trains 5-class models of --small-rounds and --large-rounds rounds (depth
 * --depth, as pdm_model_train does, on the v1 features of a simulated fleet
 * or of --data) and times, in the same run, each figure the median of
 * --runs runs:
 *   - XGBoost: a DMatrix of --batch rows and XGBoosterPredictFromDMatrix
 *     type 2 (what pdm_model_contributions does), with nthread 1 and 2;
 *   - pdm_shap_contrib on one thread, in calls of --batch rows and of one row;
 * plus the explainer's build time and memory, and the largest difference
 * from XGBoost over the rows XGBoost was timed on (relative to the row's
 * largest |phi|, as the unit tests measure it). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <xgboost/c_api.h>

#include "model_internal.h"
#include "pdm_common.h"
#include "pdm_dataset.h"
#include "pdm_features.h"
#include "pdm_model.h"
#include "shap.h"
#include "bench_data.h"
#include "bench_util.h"

enum { K = PDM_MODEL_N_CLASSES, NF = PDM_N_FEATURES, W = K * (NF + 1) };

typedef struct {
    char *data;
    long long machines, hours;
    long long small_rounds, large_rounds, depth;
    long long train_rows;
    long long rows, xgb_rows, batch;
    long long runs;
} bench_cfg;

#define O(f) offsetof(bench_cfg, f)
static const pdm_option options[] = {
    {"data", 'd', NULL, PDM_OPT_STRING, O(data), NULL, "DIR",
     "PdM data set; default: a simulated fleet (--machines x --hours) in a temporary directory.",
     0},
    {"machines", 0, NULL, PDM_OPT_INT, O(machines), "40", "N", "Simulated machines.", 0},
    {"hours", 0, NULL, PDM_OPT_INT, O(hours), "3000", "H", "Simulated hours per machine.", 0},
    {"small-rounds", 0, NULL, PDM_OPT_INT, O(small_rounds), "20", "N", "Rounds of the first model.",
     0},
    {"large-rounds", 0, NULL, PDM_OPT_INT, O(large_rounds), "100", "N",
     "Rounds of the second model (pdm-train's default).", 0},
    {"depth", 0, NULL, PDM_OPT_INT, O(depth), "6", "D", "max_depth of both models.", 0},
    {"train-rows", 0, NULL, PDM_OPT_INT, O(train_rows), "60000", "N",
     "Rows the models are trained on (2 threads).", 0},
    {"rows", 'n', NULL, PDM_OPT_INT, O(rows), "4000", "N",
     "Rows explained by pdm_shap_contrib per run (spread over the data).", 0},
    {"xgb-rows", 0, NULL, PDM_OPT_INT, O(xgb_rows), "400", "N",
     "Rows explained by XGBoost per run (the first of the same rows).", 0},
    {"batch", 'b', NULL, PDM_OPT_INT, O(batch), "50", "N",
     "Rows per call (the alert rows of a scorer batch).", 0},
    {"runs", 'r', NULL, PDM_OPT_INT, O(runs), "5", "N", "Runs; medians are reported.", 0},
    PDM_OPTIONS_END,
};


/* XGBoost's contributions of n rows, as pdm_model_contributions gets them. */
static int xgb_contrib(BoosterHandle b, const double *x, size_t n, double *phi)
{
    static const char cfg[] = "{\"type\":2,\"training\":false,\"iteration_begin\":0,"
                              "\"iteration_end\":0,\"strict_shape\":true}";
    char ai[160];
    const bst_ulong *shape;
    bst_ulong dim;
    const float *res;
    DMatrixHandle dm;
    snprintf(ai, sizeof ai,
             "{\"data\":[%llu,true],\"shape\":[%zu,%d],\"typestr\":\"<f8\",\"version\":3}",
             (unsigned long long)(uintptr_t)x, n, NF);
    if (XGDMatrixCreateFromDense(ai, "{\"missing\":NaN,\"nthread\":1}", &dm))
        return -1;
    int rc = XGBoosterPredictFromDMatrix(b, dm, cfg, &shape, &dim, &res);
    if (rc == 0 && (dim != 3 || shape[0] != n || shape[1] != K || shape[2] != NF + 1))
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n * W; i++)
        phi[i] = res[i];
    XGDMatrixFree(dm);
    return rc;
}

/* Rows per second over n rows in calls of per_call (median of runs); NaN on
 * failure. shap == NULL: XGBoost. */
static double rate(const pdm_shap *shap, BoosterHandle b, const double *x, size_t n,
                   size_t per_call, double *phi, int runs)
{
    double t[99];
    char err[PDM_ERRSTR_SIZE];
    for (int r = 0; r < runs; r++) {
        double t0 = pdm_monotonic_s();
        for (size_t i = 0; i < n; i += per_call) {
            size_t k = n - i < per_call ? n - i : per_call;
            int rc = shap ? pdm_shap_contrib(shap, x + i * NF, k, phi + i * W, err, sizeof err)
                          : xgb_contrib(b, x + i * NF, k, phi + i * W);
            if (rc) {
                fprintf(stderr, "bench-shap: %s\n", shap ? err : XGBGetLastError());
                return NAN;
            }
        }
        t[r] = (double)n / (pdm_monotonic_s() - t0);
    }
    return bench_median(t, runs);
}

static void machine_info(int argc, char **argv)
{
    struct utsname u;
    char line[256], cpu[256] = "?";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            snprintf(cpu, sizeof cpu, "%s", c ? c + 2 : line);
            cpu[strcspn(cpu, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    int major, minor, patch;
    XGBoostVersion(&major, &minor, &patch);
    uname(&u);
    printf("machine: %s, %ld online cores, %s %s; XGBoost %d.%d.%d; gcc %s%s\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, major, minor, patch, __VERSION__,
#ifdef __OPTIMIZE__
           ", optimised build"
#else
           ", UNOPTIMISED build (use a Release tree)"
#endif
    );
    printf("command:");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n");
}

typedef struct {
    double xgb1, xgb2, shap_batch, shap_single;
    double build_s, worst_rel;
    size_t memory;
    pdm_shap_info info;
} result;

/* The largest |got - ref| relative to the row's (and class's) largest |ref|. */
static double worst_rel(const double *got, const double *ref, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n * K; i++) {
        const double *g = got + i * (NF + 1), *r = ref + i * (NF + 1);
        double scale = 0;
        for (size_t j = 0; j <= NF; j++)
            scale = fmax(scale, fabs(r[j]));
        for (size_t j = 0; j <= NF; j++) {
            double d = fabs(g[j] - r[j]) / (scale > 0 ? scale : 1);
            if (!(d <= worst))
                worst = d;
        }
    }
    return worst;
}

static int bench_model(const bench_cfg *cfg, const double *train_x, const int *train_y,
                       size_t n_train, const double *x, size_t n, int rounds, result *res)
{
    pdm_train_params p;
    pdm_model *m = NULL;
    pdm_shap *shap = NULL;
    char err[PDM_ERRSTR_SIZE];
    size_t nx = (size_t)cfg->xgb_rows < n ? (size_t)cfg->xgb_rows : n;
    double *ref = malloc(nx * W * sizeof *ref), *got = malloc(n * W * sizeof *got);
    int runs = (int)cfg->runs, rc = -1;

    pdm_train_params_init(&p);
    p.rounds = rounds;
    p.max_depth = (int)cfg->depth;
    p.nthread = 2;
    double t0 = pdm_monotonic_s();
    if (!ref || !got ||
        pdm_model_train(train_x, train_y, n_train, NF, pdm_feature_names(), PDM_FEATURE_SET, &p, &m,
                        NULL, err, sizeof err)) {
        fprintf(stderr, "bench-shap: %s\n", ref && got ? err : "out of memory");
        goto out;
    }
    printf("model: %d rounds x depth %lld, %d classes, %d features, trained on %zu rows in "
           "%.1f s\n",
           rounds, cfg->depth, K, NF, n_train, pdm_monotonic_s() - t0);
    fflush(stdout);
    t0 = pdm_monotonic_s();
    if (!(shap = pdm_shap_new(m->booster, NF, K, err, sizeof err))) {
        fprintf(stderr, "bench-shap: %s\n", err);
        goto out;
    }
    res->build_s = pdm_monotonic_s() - t0;
    res->memory = pdm_shap_memory(shap);
    pdm_shap_get_info(shap, &res->info);
    XGBoosterSetParam(m->booster, "nthread", "1");
    res->xgb1 = rate(NULL, m->booster, x, nx, (size_t)cfg->batch, ref, runs);
    XGBoosterSetParam(m->booster, "nthread", "2");
    res->xgb2 = rate(NULL, m->booster, x, nx, (size_t)cfg->batch, ref, runs);
    res->shap_batch = rate(shap, NULL, x, n, (size_t)cfg->batch, got, runs);
    res->shap_single = rate(shap, NULL, x, n, 1, got, runs);
    if (isnan(res->xgb1) || isnan(res->xgb2) || isnan(res->shap_batch) || isnan(res->shap_single))
        goto out;
    res->worst_rel = worst_rel(got, ref, nx);
    rc = 0;
out:
    pdm_shap_destroy(shap);
    pdm_model_destroy(m);
    free(ref);
    free(got);
    return rc;
}

int main(int argc, char **argv)
{
    bench_cfg cfg = {0};
    char err[PDM_ERRSTR_SIZE];
    int help = 0, rc = 2;
    bench_rows data = {0};
    double *x = NULL;

    if (pdm_options_parse(options, &cfg, argc, argv, NULL, &help, err, sizeof err)) {
        fprintf(stderr, "bench-shap: %s\n", err);
        goto out;
    }
    if (help) {
        pdm_options_help(stdout, "usage: bench-shap [options]", options);
        rc = 0;
        goto out;
    }
    if (cfg.runs < 1 || cfg.runs > 99 || cfg.rows < 1 || cfg.xgb_rows < 1 || cfg.batch < 1 ||
        cfg.train_rows < 100 || cfg.depth < 1) {
        fprintf(stderr, "bench-shap: --runs 1..99, counts >= 1\n");
        goto out;
    }
    rc = 1;
    machine_info(argc, argv);
    if (bench_rows_load(cfg.data, (int)cfg.machines, cfg.hours, &data, err, sizeof err)) {
        fprintf(stderr, "bench-shap: data: %s\n", err);
        goto out;
    }
    const pdm_feature_rows rows = data.rows;
    const int *labels = data.labels;
    size_t n_train = (size_t)cfg.train_rows < rows.n ? (size_t)cfg.train_rows : rows.n;
    size_t n = (size_t)cfg.rows < rows.n ? (size_t)cfg.rows : rows.n;
    x = malloc(n * NF * sizeof *x);
    if (!x)
        goto out;
    for (size_t i = 0; i < n; i++)
        memcpy(x + i * NF, rows.x + (i * rows.n / n) * NF, NF * sizeof *x);
    printf("data: %s, %zu feature rows; %zu rows explained, spread over all of them\n",
           cfg.data ? cfg.data : "simulated fleet", rows.n, n);

    int rounds[2] = {(int)cfg.small_rounds, (int)cfg.large_rounds};
    result res[2];
    for (int k = 0; k < 2; k++)
        if (bench_model(&cfg, rows.x, labels, n_train, x, n, rounds[k], &res[k]))
            goto out;

    printf("\nexact TreeSHAP, rows/s, median of %lld runs; calls of %lld rows unless 1-row\n",
           cfg.runs, cfg.batch);
    printf("%-7s %11s %11s %12s %12s %9s %9s %10s %9s %11s\n", "rounds", "xgb 1 thr", "xgb 2 thr",
           "tables", "tables 1-row", "x xgb 1", "x xgb 2", "build", "memory", "worst diff");
    for (int k = 0; k < 2; k++) {
        const result *r = &res[k];
        printf("%-7d %11.0f %11.0f %12.0f %12.0f %8.1fx %8.1fx %7.0f ms %5zu KiB %11.2g\n",
               rounds[k], r->xgb1, r->xgb2, r->shap_batch, r->shap_single, r->shap_batch / r->xgb1,
               r->shap_batch / r->xgb2, r->build_s * 1000, r->memory / 1024, r->worst_rel);
    }
    printf("\n");
    for (int k = 0; k < 2; k++) {
        const pdm_shap_info *i = &res[k].info;
        printf("%d rounds: %zu trees, %zu leaves (%zu from tables, %zu computed per row), up to "
               "%zu distinct features on a path, tables %zu KiB; worst difference from XGBoost "
               "%.2g of the row's largest |phi| over %lld rows\n",
               rounds[k], i->trees, i->leaves, i->table_leaves, i->direct_leaves,
               i->max_path_features, i->table_bytes / 1024, res[k].worst_rel,
               cfg.xgb_rows < (long long)n ? cfg.xgb_rows : (long long)n);
    }
    rc = 0;
out:
    free(x);
    bench_rows_free(&data);
    pdm_options_free(options, &cfg);
    return rc;
}
