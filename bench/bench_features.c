/* bench-features: the trainer's path through the feature library. Generates
 * a fleet in memory (hourly telemetry, about 40 errors and 33 maintenance
 * records per machine-year, a few failures, machine info) in replay order,
 * then runs the featurizer over it --runs times, appending every row to a
 * row buffer as pdm-train does, and reports the median rows/s; then the same
 * with a callback that keeps no rows, and pdm_features_compute alone on the
 * final state. Peak RSS is reported at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "pdm_common.h"
#include "pdm_features.h"
#include "bench_util.h"

typedef struct {
    long long machines;
    long long hours;
    long long runs;
    long long seed;
} bench_cfg;

static const pdm_option options[] = {
    {"machines", 'm', "PDM_BENCH_MACHINES", PDM_OPT_INT, offsetof(bench_cfg, machines), "100", "N",
     "Fleet size.", 0},
    {"hours", 'H', "PDM_BENCH_HOURS", PDM_OPT_INT, offsetof(bench_cfg, hours), "8760", "H",
     "Hours of telemetry per machine.", 0},
    {"runs", 'r', "PDM_BENCH_RUNS", PDM_OPT_INT, offsetof(bench_cfg, runs), "5", "N",
     "Runs per measurement; the median is reported.", 0},
    {"seed", 0, "PDM_BENCH_SEED", PDM_OPT_INT, offsetof(bench_cfg, seed), "1", "S",
     "Generator seed.", 0},
    PDM_OPTIONS_END,
};

typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * UINT64_C(2685821657736338717);
}

static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

/* Appends one zeroed event, growing the array. NULL on out of memory. */
static pdm_event *push(pdm_event **ev, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 4096;
        pdm_event *p = realloc(*ev, ncap * sizeof *p);
        if (!p)
            return NULL;
        *ev = p;
        *cap = ncap;
    }
    pdm_event *e = &(*ev)[(*n)++];
    memset(e, 0, sizeof *e);
    return e;
}

/* The fleet in replay order: machine info first, then hour by hour
 * maintenance, errors, failures and telemetry. Returns the event count, 0 on
 * out of memory. */
static size_t generate(const bench_cfg *cfg, pdm_event **out)
{
    static const pdm_event_type order[] = {PDM_EV_MAINTENANCE, PDM_EV_ERROR, PDM_EV_FAILURE,
                                           PDM_EV_TELEMETRY};
    const double p_err = 40.0 / 8760, p_maint = 33.0 / 8760, p_fail = 3.0 / 8760;
    rng r = {(uint64_t)cfg->seed * UINT64_C(0x9E3779B97F4A7C15) + 1};
    int32_t machines = (int32_t)cfg->machines;
    int64_t t0 = INT64_C(1420092000000); /* 2015-01-01 06:00:00 */
    pdm_event *ev = NULL, *e;
    size_t n = 0, cap = 0;

    for (int32_t m = 1; m <= machines; m++) {
        if (!(e = push(&ev, &n, &cap)))
            goto oom;
        e->type = PDM_EV_MACHINE;
        e->machine_id = m;
        e->ts = t0;
        e->u.machine.model = 1 + (int)(rng_next(&r) % 4);
        e->u.machine.age = (int)(rng_next(&r) % 21);
    }
    for (long long h = 0; h < cfg->hours; h++) {
        int64_t ts = t0 + h * PDM_MS_PER_HOUR;
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
            for (int32_t m = 1; m <= machines; m++) {
                double p = order[k] == PDM_EV_MAINTENANCE ? p_maint
                           : order[k] == PDM_EV_ERROR     ? p_err
                           : order[k] == PDM_EV_FAILURE   ? p_fail
                                                          : 1.0;
                if (p < 1.0 && rng_unit(&r) >= p)
                    continue;
                if (!(e = push(&ev, &n, &cap)))
                    goto oom;
                e->type = order[k];
                e->machine_id = m;
                e->ts = ts;
                if (order[k] == PDM_EV_MAINTENANCE)
                    e->u.maintenance.component = 1 + (int)(rng_next(&r) % 4);
                else if (order[k] == PDM_EV_ERROR)
                    e->u.error.error_id = 1 + (int)(rng_next(&r) % 5);
                else if (order[k] == PDM_EV_FAILURE)
                    e->u.failure.component = 1 + (int)(rng_next(&r) % 4);
                else {
                    e->u.telemetry.volt = 170 + 15 * rng_unit(&r);
                    e->u.telemetry.rotate = 450 + 50 * rng_unit(&r);
                    e->u.telemetry.pressure = 100 + 10 * rng_unit(&r);
                    e->u.telemetry.vibration = 40 + 5 * rng_unit(&r);
                }
            }
        }
    }
    *out = ev;
    return n;
oom:
    free(ev);
    return 0;
}


/* Keeps a checksum so the compiler cannot drop the work. */
static int sum_row(void *ctx, int32_t machine_id, int64_t ts, const double *row)
{
    (void)machine_id, (void)ts;
    *(double *)ctx += row[PDM_F_STD_24H];
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 1, help = 0, npos = 0;
    char errstr[PDM_ERRSTR_SIZE];
    bench_cfg cfg = {0};
    pdm_event *ev = NULL;
    double *t_buf = NULL, *t_fn = NULL;
    pdm_featurizer *keep = NULL;

    if (pdm_options_parse(options, &cfg, argc, argv, &npos, &help, errstr, sizeof errstr)) {
        fprintf(stderr, "bench-features: %s\n", errstr);
        rc = 2;
        goto out;
    }
    if (help) {
        pdm_options_help(stdout, "Usage: bench-features [options]", options);
        rc = 0;
        goto out;
    }
    if (cfg.runs < 1 || cfg.machines < 1 || cfg.machines > 1000000 || cfg.hours < 1 ||
        cfg.hours > 24 * 366 * 20) {
        fprintf(stderr, "bench-features: bad --runs, --machines or --hours\n");
        rc = 2;
        goto out;
    }

    double g0 = pdm_monotonic_s();
    size_t n = generate(&cfg, &ev);
    if (!n) {
        fprintf(stderr, "bench-features: out of memory\n");
        goto out;
    }
    size_t counts[PDM_EV_COUNT] = {0};
    for (size_t i = 0; i < n; i++)
        counts[ev[i].type]++;
    printf("generated %zu events in %.2f s: %zu telemetry, %zu errors, %zu maintenance, "
           "%zu failures, %zu machines\n",
           n, pdm_monotonic_s() - g0, counts[PDM_EV_TELEMETRY], counts[PDM_EV_ERROR],
           counts[PDM_EV_MAINTENANCE], counts[PDM_EV_FAILURE], counts[PDM_EV_MACHINE]);

    t_buf = calloc((size_t)cfg.runs, sizeof *t_buf);
    t_fn = calloc((size_t)cfg.runs, sizeof *t_fn);
    if (!t_buf || !t_fn)
        goto out;
    size_t rows_n = 0;
    double check = 0;
    for (int run = 0; run < cfg.runs; run++) {
        /* 1. featurizer into a row buffer (the trainer's path) */
        pdm_feature_rows rows = {0};
        pdm_featurizer *fz = pdm_featurizer_new(NULL, errstr, sizeof errstr);
        if (!fz)
            goto fail;
        double a = pdm_monotonic_s();
        int frc = pdm_featurizer_feed(fz, ev, n, &rows, errstr, sizeof errstr);
        t_buf[run] = pdm_monotonic_s() - a;
        rows_n = rows.n;
        pdm_featurizer_destroy(fz);
        pdm_feature_rows_free(&rows);
        if (frc)
            goto fail;

        /* 2. featurizer handing rows to a callback (no row storage) */
        fz = pdm_featurizer_new(NULL, errstr, sizeof errstr);
        if (!fz)
            goto fail;
        a = pdm_monotonic_s();
        frc = pdm_featurizer_feed_fn(fz, ev, n, sum_row, &check, errstr, sizeof errstr);
        t_fn[run] = pdm_monotonic_s() - a;
        if (run + 1 == cfg.runs && !frc)
            keep = fz;
        else
            pdm_featurizer_destroy(fz);
        if (frc)
            goto fail;
    }
    double mb = bench_median(t_buf, (int)cfg.runs), mf = bench_median(t_fn, (int)cfg.runs);
    printf("featurizer -> row buffer: %zu rows, median %.3f s, %.2f M rows/s\n", rows_n, mb,
           (double)rows_n / mb / 1e6);
    printf("featurizer -> callback:   %zu rows, median %.3f s, %.2f M rows/s (checksum %.6g)\n",
           rows_n, mf, (double)rows_n / mf / 1e6, check);

    /* 3. the math alone: one row per machine at its newest point, repeated */
    const pdm_feature_store *store = pdm_featurizer_store(keep);
    size_t nm = pdm_feature_store_size(store), reps = 0;
    double row[PDM_N_FEATURES], acc = 0, a = pdm_monotonic_s(), el;
    do {
        for (size_t i = 0; i < nm; i++) {
            pdm_machine_view v;
            pdm_feature_store_at(store, i, &v);
            pdm_features_compute(&v, v.n_tel ? v.tel[v.n_tel - 1].ts : 0, row);
            acc += row[PDM_F_STD_3H];
        }
        reps += nm;
        el = pdm_monotonic_s() - a;
    } while (el < 0.5);
    printf("pdm_features_compute alone: %.2f M rows/s (%zu rows, checksum %.6g)\n",
           (double)reps / el / 1e6, reps, acc);
    printf("store after the stream: %zu machines, %.1f KiB (trimmed to 24 h + lateness)\n", nm,
           (double)pdm_feature_store_memory(store) / 1024);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS: %.1f MiB (events %.1f MiB, one row buffer %.1f MiB)\n",
           (double)ru.ru_maxrss / 1024, (double)n * sizeof *ev / 1048576.0,
           (double)rows_n * PDM_N_FEATURES * sizeof(double) / 1048576.0);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "bench-features: %s\n", errstr);
out:
    pdm_featurizer_destroy(keep);
    free(t_buf);
    free(t_fn);
    free(ev);
    pdm_options_free(options, &cfg);
    return rc;
}
