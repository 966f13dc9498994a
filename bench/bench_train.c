/* bench-train: is pdm-train's overhead small next to XGBoost itself?
 *
 * 1. Simulates a fleet into a temporary directory (or uses --data).
 * 2. Runs pdm-train on it as a child process (the program next to this one),
 *    timing the whole run and reading its phase timings and peak RSS.
 * 3. In this process, rebuilds the very rows pdm-train boosts on (same
 *    loader, featurizer, labels and split rule) and times XGBoost alone on
 *    them: the DMatrix and the rounds with the same parameters and weights.
 * Goals: whole run <= 1.2 x XGBoost alone; peak RSS < 1 GiB. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xgboost/c_api.h>

#include "pdm_common.h"
#include "pdm_dataset.h"
#include "pdm_features.h"
#include "pdm_model.h"
#include "bench_util.h"

typedef struct {
    long long machines, hours, rounds, nthread, seed, runs;
    double calibration;
    char *data;
    int keep;
} bench_cfg;

static const pdm_option options[] = {
    {"machines", 'm', "PDM_BENCH_MACHINES", PDM_OPT_INT, offsetof(bench_cfg, machines), "100", "N",
     "Fleet size to simulate.", 0},
    {"hours", 'H', "PDM_BENCH_HOURS", PDM_OPT_INT, offsetof(bench_cfg, hours), "8760", "H",
     "Hours per machine.", 0},
    {"seed", 0, "PDM_BENCH_SEED", PDM_OPT_INT, offsetof(bench_cfg, seed), "1", "S",
     "Simulator seed.", 0},
    {"data", 'd', "PDM_BENCH_DATA", PDM_OPT_STRING, offsetof(bench_cfg, data), NULL, "DIR",
     "Use this PdM data set instead of simulating one.", 0},
    {"rounds", 'n', "PDM_BENCH_ROUNDS", PDM_OPT_INT, offsetof(bench_cfg, rounds), "100", "N",
     "Boosting rounds (pdm-train's default).", 0},
    {"nthread", 'j', "PDM_BENCH_NTHREAD", PDM_OPT_INT, offsetof(bench_cfg, nthread), "0", "N",
     "XGBoost threads (0: all cores).", 0},
    {"calibration", 0, "PDM_BENCH_CALIBRATION", PDM_OPT_DOUBLE, offsetof(bench_cfg, calibration),
     "0.2", "SHARE", "pdm-train's --calibration.", 0},
    {"runs", 'r', "PDM_BENCH_RUNS", PDM_OPT_INT, offsetof(bench_cfg, runs), "3", "N",
     "Runs of each measurement, alternating; medians are reported.", 0},
    {"keep", 0, NULL, PDM_OPT_BOOL, offsetof(bench_cfg, keep), "false", NULL,
     "Keep the temporary directory.", 0},
    PDM_OPTIONS_END,
};

/* The median of runs kept in order (the table prints them too). */
static double median_of(const double *v, int n)
{
    double s[99];
    memcpy(s, v, (size_t)n * sizeof *v);
    return bench_median(s, n);
}

typedef struct {
    double wall;
    double load, features, train, evaluate, write;
    long max_rss_kb;
} child_result;

/* Runs pdm-train and parses its "timings (s): ..." line. */
static int run_pdm_train(const char *bin, const bench_cfg *cfg, const char *data, const char *tmp,
                         child_result *res, int show)
{
    char out_dir[4200], log[4200], rounds[32], nthread[32], calib[32];
    snprintf(out_dir, sizeof out_dir, "%s/pkg", tmp);
    snprintf(log, sizeof log, "%s/pdm-train.log", tmp);
    snprintf(rounds, sizeof rounds, "%lld", cfg->rounds);
    snprintf(nthread, sizeof nthread, "%lld", cfg->nthread);
    snprintf(calib, sizeof calib, "%g", cfg->calibration);
    double t0 = pdm_monotonic_s();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0)
            _exit(126);
        execl(bin, bin, "--data", data, "--out", out_dir, "--rounds", rounds, "--nthread", nthread,
              "--calibration", calib, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid)
        return -1;
    res->wall = pdm_monotonic_s() - t0;
    res->max_rss_kb = ru.ru_maxrss;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench-train: pdm-train failed (see %s)\n", log);
        return -1;
    }
    pdm_buf text = {0};
    char err[PDM_ERRSTR_SIZE];
    if (pdm_read_file(log, &text, err, sizeof err))
        return -1;
    const char *line = strstr(text.data, "timings (s):");
    int ok =
        line && sscanf(line, "timings (s): load %lf features %lf train %lf evaluate %lf write %lf",
                       &res->load, &res->features, &res->train, &res->evaluate, &res->write) == 5;
    if (show)
        fputs(text.data, stdout);
    pdm_buf_free(&text);
    return ok ? 0 : -1;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        if ((call) != 0) {                                                                         \
            fprintf(stderr, "bench-train: %s: %s\n", #call, XGBGetLastError());                    \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* XGBoost alone on the rows pdm-train boosts on; returns seconds or -1. */
static double xgboost_alone(const bench_cfg *cfg, const char *data, size_t *nrows)
{
    char err[PDM_ERRSTR_SIZE], ai[200], dcfg[64], v[8][48];
    pdm_dataset *ds = NULL;
    pdm_featurizer *fz = NULL;
    pdm_feature_rows rows = {0};
    int *labels = NULL;
    float *label_f = NULL, *weight_f = NULL;
    DMatrixHandle dm = NULL;
    BoosterHandle b = NULL;
    double secs = -1;
    const pdm_event *ev;
    size_t n_ev;
    pdm_train_params p;

    pdm_train_params_init(&p);
    if (pdm_dataset_load(data, NULL, &ds, err, sizeof err) ||
        !(fz = pdm_featurizer_new(NULL, err, sizeof err))) {
        fprintf(stderr, "bench-train: %s\n", err);
        goto out;
    }
    ev = pdm_dataset_events(ds, &n_ev);
    if (pdm_featurizer_feed(fz, ev, n_ev, &rows, err, sizeof err) ||
        !(labels = malloc(rows.n * sizeof *labels)) ||
        pdm_labels_compute(ev, n_ev, rows.machine_id, rows.ts, rows.n,
                           PDM_LABEL_DEFAULT_HORIZON_HOURS, labels, err, sizeof err)) {
        fprintf(stderr, "bench-train: features: %s\n", err);
        goto out;
    }
    /* pdm-train's split: test from 75% of the range, then the last share
     * of the training range chooses thresholds; the rest is boosted on. */
    int64_t cutoff = pdm_split_cutoff(rows.ts[0], rows.ts[rows.n - 1], PDM_SPLIT_DEFAULT);
    size_t ntrain = 0, nfit = 0;
    while (ntrain < rows.n && rows.ts[ntrain] < cutoff)
        ntrain++;
    int64_t fit_cutoff = cfg->calibration > 0 ? pdm_split_cutoff(rows.ts[0], rows.ts[ntrain - 1],
                                                                 1.0 - cfg->calibration)
                                              : cutoff;
    while (nfit < ntrain && rows.ts[nfit] < fit_cutoff)
        nfit++;
    *nrows = nfit;
    size_t count[PDM_MODEL_N_CLASSES] = {0};
    label_f = malloc(nfit * sizeof *label_f);
    weight_f = malloc(nfit * sizeof *weight_f);
    if (!label_f || !weight_f)
        goto out;
    for (size_t i = 0; i < nfit; i++)
        count[labels[i]]++;
    for (size_t i = 0; i < nfit; i++) {
        double w = labels[i] ? (double)count[0] / (double)count[labels[i]] : 1.0;
        weight_f[i] = (float)(w > p.class_weight_cap ? p.class_weight_cap : w < 1 ? 1 : w);
        label_f[i] = (float)labels[i];
    }

    double t0 = pdm_monotonic_s();
    snprintf(ai, sizeof ai,
             "{\"data\":[%llu,true],\"shape\":[%zu,%d],\"typestr\":\"<f8\",\"version\":3}",
             (unsigned long long)(uintptr_t)rows.x, nfit, PDM_N_FEATURES);
    int nthread = cfg->nthread > 0 ? (int)cfg->nthread : (int)sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(dcfg, sizeof dcfg, "{\"missing\":NaN,\"nthread\":%d}", nthread);
    CHECK(XGDMatrixCreateFromDense(ai, dcfg, &dm));
    CHECK(XGDMatrixSetFloatInfo(dm, "label", label_f, nfit));
    CHECK(XGDMatrixSetFloatInfo(dm, "weight", weight_f, nfit));
    CHECK(XGBoosterCreate(&dm, 1, &b));
    snprintf(v[0], sizeof v[0], "%d", p.max_depth);
    snprintf(v[1], sizeof v[1], "%.17g", p.eta);
    snprintf(v[2], sizeof v[2], "%.17g", p.subsample);
    snprintf(v[3], sizeof v[3], "%.17g", p.colsample);
    snprintf(v[4], sizeof v[4], "%.17g", p.min_child_weight);
    snprintf(v[5], sizeof v[5], "%d", nthread);
    snprintf(v[6], sizeof v[6], "%lld", p.seed);
    const char *params[][2] = {
        {"verbosity", "0"},
        {"objective", "multi:softprob"},
        {"num_class", "5"},
        {"tree_method", "hist"},
        {"max_depth", v[0]},
        {"eta", v[1]},
        {"subsample", v[2]},
        {"colsample_bytree", v[3]},
        {"min_child_weight", v[4]},
        {"nthread", v[5]},
        {"seed", v[6]},
    };
    for (size_t i = 0; i < sizeof params / sizeof *params; i++)
        CHECK(XGBoosterSetParam(b, params[i][0], params[i][1]));
    for (int it = 0; it < cfg->rounds; it++)
        CHECK(XGBoosterUpdateOneIter(b, it, dm));
    secs = pdm_monotonic_s() - t0;
out:
    if (b)
        XGBoosterFree(b);
    if (dm)
        XGDMatrixFree(dm);
    free(label_f);
    free(weight_f);
    free(labels);
    pdm_feature_rows_free(&rows);
    pdm_featurizer_destroy(fz);
    pdm_dataset_destroy(ds);
    return secs;
}

int main(int argc, char **argv)
{
    bench_cfg cfg = {0};
    char err[PDM_ERRSTR_SIZE], tmp[] = "/tmp/pdm-bench-train-XXXXXX", bin[4200], data[4200];
    int help = 0, npos = 0, rc = 1, made_tmp = 0;
    child_result res = {0};
    size_t nfit = 0;

    if (pdm_options_parse(options, &cfg, argc, argv, &npos, &help, err, sizeof err)) {
        fprintf(stderr, "bench-train: %s\n", err);
        return 2;
    }
    if (help) {
        pdm_options_help(stdout, "Usage: bench-train [options]", options);
        rc = 0;
        goto out;
    }
    ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 16);
    if (n <= 0)
        goto out;
    bin[n] = '\0';
    snprintf(strrchr(bin, '/') + 1, 16, "pdm-train");
    if (access(bin, X_OK)) {
        fprintf(stderr, "bench-train: %s: %s (build the pdm-train target)\n", bin, strerror(errno));
        goto out;
    }
    if (!mkdtemp(tmp))
        goto out;
    made_tmp = 1;
    if (cfg.data) {
        snprintf(data, sizeof data, "%s", cfg.data);
    } else {
        pdm_sim_params sp;
        pdm_sim_params_init(&sp);
        sp.machines = (int)cfg.machines;
        sp.hours = cfg.hours;
        sp.seed = (uint64_t)cfg.seed;
        /* The hard fleet: the data bench/README.md's figures were measured on. */
        sp.difficulty = PDM_SIM_HARD;
        snprintf(data, sizeof data, "%s/data", tmp);
        double t0 = pdm_monotonic_s();
        if (pdm_sim_write_csv(&sp, data, err, sizeof err)) {
            fprintf(stderr, "bench-train: %s\n", err);
            goto out;
        }
        printf("simulated %lld machines x %lld h in %.2f s\n", cfg.machines, cfg.hours,
               pdm_monotonic_s() - t0);
    }
    if (cfg.runs < 1 || cfg.runs > 99) {
        fprintf(stderr, "bench-train: --runs must be 1..99\n");
        goto out;
    }
    int runs = (int)cfg.runs;
    double wall[99], load[99], feat[99], train[99], eval[99], write[99], alone[99];
    long rss = 0;
    for (int i = 0; i < runs; i++) {
        printf("== run %d: pdm-train --rounds %lld --nthread %lld\n", i + 1, cfg.rounds,
               cfg.nthread);
        fflush(stdout);
        if (run_pdm_train(bin, &cfg, data, tmp, &res, i == 0))
            goto out;
        wall[i] = res.wall, load[i] = res.load, feat[i] = res.features, train[i] = res.train;
        eval[i] = res.evaluate, write[i] = res.write;
        rss = res.max_rss_kb > rss ? res.max_rss_kb : rss;
        alone[i] = xgboost_alone(&cfg, data, &nfit);
        if (alone[i] < 0)
            goto out;
        printf("   pdm-train %.2f s, XGBoost alone %.2f s\n", wall[i], alone[i]);
    }
    double w = median_of(wall, runs), a = median_of(alone, runs);
    double other =
        median_of(load, runs) + median_of(feat, runs) + median_of(eval, runs) + median_of(write, runs);
    printf("== results (medians of %d runs)\n", runs);
    printf("pdm-train whole run      %8.2f s  (load %.2f, features %.2f, train %.2f, evaluate "
           "%.2f, write %.2f)\n",
           w, median_of(load, runs), median_of(feat, runs), median_of(train, runs), median_of(eval, runs),
           median_of(write, runs));
    printf("XGBoost alone            %8.2f s  (DMatrix + %lld rounds on the same %zu x %d rows)\n",
           a, cfg.rounds, nfit, PDM_N_FEATURES);
    double ratio[99];
    for (int i = 0; i < runs; i++)
        ratio[i] = wall[i] / alone[i];
    double lo = ratio[0], hi = ratio[0];
    for (int i = 1; i < runs; i++) {
        lo = ratio[i] < lo ? ratio[i] : lo;
        hi = ratio[i] > hi ? ratio[i] : hi;
    }
    printf("ratio whole / XGBoost    %8.3f    (median of the runs' ratios, range %.3f..%.3f; "
           "goal <= 1.2)\n",
           median_of(ratio, runs), lo, hi);
    printf("phases besides training  %8.2f s  = %.3f of XGBoost alone\n", other, other / a);
    printf("pdm-train peak RSS       %8.1f MiB (goal < 1024)\n", rss / 1024.0);
    rc = 0;
out:
    if (made_tmp && !cfg.keep) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "bench-train: could not remove %s\n", tmp);
    } else if (made_tmp) {
        printf("kept %s\n", tmp);
    }
    pdm_options_free(options, &cfg);
    return rc;
}
