/* bench-native: the native tree evaluator against XGBoost's own predictor.
 *
 * Trains 5-class models of --small-rounds and --large-rounds rounds (depth
 * --depth, the v1 features of a simulated fleet or of --data) and times, on
 * one thread, in the same run:
 *   - XGBoost (pdm_model_predict with the xgboost predictor: in-place
 *     prediction on the caller's doubles) in batches of --batch rows and
 *     one row per call;
 *   - the native evaluator (pdm_model_predict after pdm_model_set_predictor
 *     native, which also times the safety check) the same way;
 * each figure the median of --runs runs, and checks that both give the same
 * probabilities bit for bit on every timed row. --layout times one of the
 * evaluator's slower layouts instead (what machines without AVX-512 VBMI
 * run, or models the ranked layout cannot hold). Prints the machine, the
 * command and a table with the goals (native >= 3x XGBoost's batch
 * rate, >= 30x its one-row rate). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <xgboost/c_api.h>

#include "native.h"
#include "pdm_common.h"
#include "pdm_dataset.h"
#include "pdm_features.h"
#include "pdm_model.h"
#include "bench_data.h"
#include "bench_util.h"

enum { K = PDM_MODEL_N_CLASSES, NF = PDM_N_FEATURES };

typedef struct {
    char *data;
    long long machines, hours;
    long long small_rounds, large_rounds, depth;
    long long train_rows;
    long long rows, batch, single_rows, native_single_rows;
    long long runs;
    double missing;
    char *layout;
} bench_cfg;

#define O(f) offsetof(bench_cfg, f)
static const pdm_option options[] = {
    {"data", 'd', NULL, PDM_OPT_STRING, O(data), NULL, "DIR",
     "PdM data set; default: a simulated fleet (--machines x --hours) in a temporary directory.",
     0},
    {"machines", 0, NULL, PDM_OPT_INT, O(machines), "40", "N", "Simulated machines.", 0},
    {"hours", 0, NULL, PDM_OPT_INT, O(hours), "3000", "H", "Simulated hours per machine.", 0},
    {"small-rounds", 0, NULL, PDM_OPT_INT, O(small_rounds), "50", "N", "Rounds of the first model.",
     0},
    {"large-rounds", 0, NULL, PDM_OPT_INT, O(large_rounds), "200", "N",
     "Rounds of the second model.", 0},
    {"depth", 0, NULL, PDM_OPT_INT, O(depth), "6", "D", "max_depth of both models.", 0},
    {"train-rows", 0, NULL, PDM_OPT_INT, O(train_rows), "60000", "N",
     "Rows the models are trained on (2 threads).", 0},
    {"rows", 'n', NULL, PDM_OPT_INT, O(rows), "40000", "N",
     "Rows scored in batches per run (spread over the data).", 0},
    {"batch", 'b', NULL, PDM_OPT_INT, O(batch), "1000", "N", "Rows per batch call.", 0},
    {"single-rows", 0, NULL, PDM_OPT_INT, O(single_rows), "3000", "N",
     "Rows XGBoost scores one per call per run.", 0},
    {"native-single-rows", 0, NULL, PDM_OPT_INT, O(native_single_rows), "40000", "N",
     "Rows the native evaluator scores one per call per run.", 0},
    {"runs", 'r', NULL, PDM_OPT_INT, O(runs), "5", "N", "Runs; medians are reported.", 0},
    {"missing", 0, NULL, PDM_OPT_DOUBLE, O(missing), "0", "SHARE",
     "Also blank this share of the timed values (NaN, at random): rows with a missing value "
     "take the complete layout's slower step that tests for it (the ranked layout costs the "
     "same either way).",
     0},
    {"layout", 0, NULL, PDM_OPT_STRING, O(layout), "auto", "LAYOUT",
     "The native evaluator's layout: auto (the fastest this machine runs: columns for shallow "
     "trees, e.g. --depth 4; else ranked with AVX-512 VBMI, else ranked portable for a few rows "
     "and complete for batches), ranked (auto without the columns layout), portable (auto "
     "without AVX-512 and AVX2), complete or linked.",
     0},
    PDM_OPTIONS_END,
};

/* Rows per second of pdm_model_predict over n rows in calls of per_call,
 * median of runs; NaN on failure. */
static double rate(pdm_model *m, const double *x, size_t n, size_t per_call, double *probs,
                   int runs)
{
    double t[99];
    char err[PDM_ERRSTR_SIZE];
    for (int r = 0; r < runs; r++) {
        double t0 = pdm_monotonic_s();
        for (size_t i = 0; i < n; i += per_call) {
            size_t k = n - i < per_call ? n - i : per_call;
            if (pdm_model_predict(m, x + i * NF, k, probs + i * K, err, sizeof err)) {
                fprintf(stderr, "bench-native: %s\n", err);
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
    double xgb_batch, xgb_single, nat_batch, nat_single, check_s;
    size_t check_rows, identical, values;
    size_t nodes_bytes;
    char path[32]; /* the native layout predictions took */
} result;

static int bench_model(const bench_cfg *cfg, const double *train_x, const int *train_y,
                       size_t n_train, const double *x, size_t n, int rounds, result *res)
{
    pdm_train_params p;
    pdm_model *m = NULL;
    char err[PDM_ERRSTR_SIZE];
    double *ref = malloc(n * K * sizeof *ref), *got = malloc(n * K * sizeof *got);
    int rc = -1;

    pdm_train_params_init(&p);
    p.rounds = rounds;
    p.max_depth = (int)cfg->depth;
    p.nthread = 2;
    double t0 = pdm_monotonic_s();
    if (!ref || !got ||
        pdm_model_train(train_x, train_y, n_train, NF, pdm_feature_names(), PDM_FEATURE_SET, &p, &m,
                        NULL, err, sizeof err) ||
        pdm_model_set_nthread(m, 1, err, sizeof err)) {
        fprintf(stderr, "bench-native: %s\n", ref && got ? err : "out of memory");
        goto out;
    }
    printf("model: %d rounds x depth %lld, %d classes, %d features, trained on %zu rows in "
           "%.1f s\n",
           rounds, cfg->depth, K, NF, n_train, pdm_monotonic_s() - t0);
    fflush(stdout);
    size_t single = (size_t)cfg->single_rows < n ? (size_t)cfg->single_rows : n;
    size_t nsingle = (size_t)cfg->native_single_rows < n ? (size_t)cfg->native_single_rows : n;
    int runs = (int)cfg->runs;
    res->xgb_batch = rate(m, x, n, (size_t)cfg->batch, ref, runs);
    res->xgb_single = rate(m, x, single, 1, ref, runs);
    if (pdm_model_predict(m, x, n, ref, err, sizeof err))
        goto out;
    pdm_native *nat = NULL;
    if (pdm_model_native_build(m, &nat, err, sizeof err)) {
        fprintf(stderr, "bench-native: %s\n", err);
        goto out;
    }
    if (strcmp(cfg->layout, "ranked") == 0) {
        pdm_native_debug_ranked_layout(nat);
    } else if (strcmp(cfg->layout, "portable") == 0) {
        pdm_native_debug_portable(nat);
    } else if (strcmp(cfg->layout, "complete") == 0) {
        pdm_native_debug_complete_layout(nat);
    } else if (strcmp(cfg->layout, "linked") == 0) {
        pdm_native_debug_linked_layout(nat);
    }
    snprintf(res->path, sizeof res->path, "%s", pdm_native_debug_path(nat));
    res->nodes_bytes = pdm_native_size(nat);
    /* The model's safety check, then the model predicts with nat. */
    if (pdm_model_native_install(m, nat, err, sizeof err)) {
        fprintf(stderr, "bench-native: %s\n", err);
        goto out;
    }
    const pdm_predictor_check *c = pdm_model_predictor_check(m);
    res->check_s = c->seconds;
    res->check_rows = c->rows;
    res->nat_batch = rate(m, x, n, (size_t)cfg->batch, got, runs);
    res->nat_single = rate(m, x, nsingle, 1, got, runs);
    if (pdm_model_predict(m, x, n, got, err, sizeof err))
        goto out;
    pdm_native_diff d;
    pdm_native_compare(got, ref, n, K, &d);
    res->identical = d.identical;
    res->values = n * K;
    rc = 0;
out:
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
        fprintf(stderr, "bench-native: %s\n", err);
        goto out;
    }
    if (help) {
        pdm_options_help(stdout, "usage: bench-native [options]", options);
        rc = 0;
        goto out;
    }
    if (cfg.runs < 1 || cfg.runs > 99 || cfg.rows < 1 || cfg.batch < 1 || cfg.single_rows < 1 ||
        cfg.native_single_rows < 1 || cfg.train_rows < 100) {
        fprintf(stderr, "bench-native: --runs 1..99, counts >= 1\n");
        goto out;
    }
    if (strcmp(cfg.layout, "auto") != 0 && strcmp(cfg.layout, "ranked") != 0 &&
        strcmp(cfg.layout, "portable") != 0 && strcmp(cfg.layout, "complete") != 0 &&
        strcmp(cfg.layout, "linked") != 0) {
        fprintf(stderr, "bench-native: --layout auto, ranked, portable, complete or linked\n");
        goto out;
    }
    rc = 1;
    machine_info(argc, argv);
    if (bench_rows_load(cfg.data, (int)cfg.machines, cfg.hours, &data, err, sizeof err)) {
        fprintf(stderr, "bench-native: data: %s\n", err);
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
    uint64_t seed = 42;
    for (size_t i = 0; cfg.missing > 0 && i < n * NF; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        if ((double)(seed >> 11) / 9007199254740992.0 < cfg.missing)
            x[i] = NAN;
    }
    size_t missing = 0, rows_missing = 0;
    for (size_t i = 0; i < n; i++) {
        size_t m = 0;
        for (size_t j = 0; j < NF; j++)
            m += isnan(x[i * NF + j]);
        missing += m;
        rows_missing += m > 0;
    }
    printf("data: %s, %zu feature rows; timed rows %zu spread over all of them: %.1f%% of the "
           "values and %.1f%% of the rows with a missing value\n",
           cfg.data ? cfg.data : "simulated fleet", rows.n, n,
           100.0 * (double)missing / (double)(n * NF), 100.0 * (double)rows_missing / (double)n);

    int rounds[2] = {(int)cfg.small_rounds, (int)cfg.large_rounds};
    result res[2];
    for (int k = 0; k < 2; k++)
        if (bench_model(&cfg, rows.x, labels, n_train, x, n, rounds[k], &res[k]))
            goto out;

    printf("\none thread, rows/s, median of %lld runs (batch calls of %lld rows)\n", cfg.runs,
           cfg.batch);
    printf("%-7s %12s %12s %12s %12s %9s %9s %10s %14s\n", "rounds", "xgb batch", "xgb 1-row",
           "native batch", "native 1-row", "x batch", "x 1-row", "check", "identical");
    for (int k = 0; k < 2; k++) {
        const result *r = &res[k];
        printf("%-7d %12.0f %12.0f %12.0f %12.0f %8.1fx %8.1fx %7.0f ms %7zu/%zu\n", rounds[k],
               r->xgb_batch, r->xgb_single, r->nat_batch, r->nat_single,
               r->nat_batch / r->xgb_batch, r->nat_single / r->xgb_single, r->check_s * 1000,
               r->identical, r->values);
    }
    printf("\n");
    int all_met = 1;
    for (int k = 0; k < 2; k++) {
        const result *r = &res[k];
        int batch_ok = r->nat_batch >= 3 * r->xgb_batch;
        int single_ok = r->nat_single >= 30 * r->xgb_single;
        int same = r->identical == r->values;
        all_met &= batch_ok && single_ok && same;
        printf("%d rounds: native batch >= 3x xgboost batch: %s; native 1-row >= 30x xgboost "
               "1-row: %s; identical probabilities: %s; check %zu rows in %.0f ms; nodes %zu "
               "KiB; layout %s\n",
               rounds[k], batch_ok ? "met" : "NOT met", single_ok ? "met" : "NOT met",
               same ? "yes" : "NO", r->check_rows, r->check_s * 1000, r->nodes_bytes / 1024,
               r->path);
    }
    rc = all_met ? 0 : 3;
out:
    free(x);
    bench_rows_free(&data);
    pdm_options_free(options, &cfg);
    return rc;
}
