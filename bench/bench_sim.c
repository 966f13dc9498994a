/* bench-sim: how long the fleet simulator takes to write a data set as CSV
 * (what pdm-sim does), how long the loader takes to read it back, and how
 * fast pdm_sim_next streams it; each the median of --runs runs. The files
 * go to a temporary directory (or --dir) that is removed afterwards. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdm_common.h"
#include "pdm_dataset.h"
#include "bench_util.h"

typedef struct {
    long long machines;
    long long hours;
    long long runs;
    long long seed;
    char *dir;
} bench_cfg;

static const pdm_option options[] = {
    {"machines", 'm', "PDM_BENCH_MACHINES", PDM_OPT_INT, offsetof(bench_cfg, machines), "100", "N",
     "Fleet size.", 0},
    {"hours", 'H', "PDM_BENCH_HOURS", PDM_OPT_INT, offsetof(bench_cfg, hours), "8760", "H",
     "Hours per machine.", 0},
    {"runs", 'r', "PDM_BENCH_RUNS", PDM_OPT_INT, offsetof(bench_cfg, runs), "5", "N",
     "Runs per measurement; the median is reported.", 0},
    {"seed", 0, "PDM_BENCH_SEED", PDM_OPT_INT, offsetof(bench_cfg, seed), "1", "S",
     "Simulator seed.", 0},
    {"dir", 'd', "PDM_BENCH_DIR", PDM_OPT_STRING, offsetof(bench_cfg, dir), NULL, "DIR",
     "Empty directory to write into (default: a new one under /tmp); removed at the end.", 0},
    PDM_OPTIONS_END,
};


static void remove_data_set(const char *dir)
{
    char path[4096];
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir,
                             pdm_dataset_file_name((pdm_dataset_file)f)) < sizeof path)
            unlink(path);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    int rc = 1, help = 0, npos = 0;
    char errstr[PDM_ERRSTR_SIZE], tmpl[] = "/tmp/pdm-bench-sim-XXXXXX";
    bench_cfg cfg = {0};
    const char *dir = NULL;
    double *t_write = NULL, *t_load = NULL, *t_stream = NULL;
    pdm_sim_params p;

    if (pdm_options_parse(options, &cfg, argc, argv, &npos, &help, errstr, sizeof errstr)) {
        fprintf(stderr, "bench-sim: %s\n", errstr);
        rc = 2;
        goto out;
    }
    if (help) {
        pdm_options_help(stdout, "Usage: bench-sim [options]", options);
        rc = 0;
        goto out;
    }
    if (cfg.runs < 1 || cfg.machines < 1 || cfg.machines > PDM_SIM_MAX_MACHINES) {
        fprintf(stderr, "bench-sim: bad --runs or --machines\n");
        rc = 2;
        goto out;
    }
    dir = cfg.dir ? cfg.dir : mkdtemp(tmpl);
    if (!dir) {
        perror("bench-sim: mkdtemp");
        goto out;
    }
    pdm_sim_params_init(&p);
    p.machines = (int)cfg.machines;
    p.hours = cfg.hours;
    p.seed = (uint64_t)cfg.seed;
    t_write = calloc((size_t)cfg.runs, sizeof *t_write);
    t_load = calloc((size_t)cfg.runs, sizeof *t_load);
    t_stream = calloc((size_t)cfg.runs, sizeof *t_stream);
    if (!t_write || !t_load || !t_stream)
        goto out;

    size_t events = 0;
    for (int r = 0; r < cfg.runs; r++) {
        double t0 = pdm_monotonic_s();
        if (pdm_sim_write_csv(&p, dir, errstr, sizeof errstr)) {
            fprintf(stderr, "bench-sim: %s\n", errstr);
            goto out;
        }
        t_write[r] = pdm_monotonic_s() - t0;

        pdm_dataset *ds = NULL;
        t0 = pdm_monotonic_s();
        if (pdm_dataset_load(dir, NULL, &ds, errstr, sizeof errstr)) {
            fprintf(stderr, "bench-sim: %s\n", errstr);
            goto out;
        }
        t_load[r] = pdm_monotonic_s() - t0;
        pdm_dataset_events(ds, &events);
        pdm_dataset_destroy(ds);

        t0 = pdm_monotonic_s();
        pdm_sim *sim = pdm_sim_new(&p, errstr, sizeof errstr);
        if (!sim) {
            fprintf(stderr, "bench-sim: %s\n", errstr);
            goto out;
        }
        pdm_event ev;
        size_t streamed = 0;
        while (pdm_sim_next(sim, &ev))
            streamed++;
        pdm_sim_destroy(sim);
        t_stream[r] = pdm_monotonic_s() - t0;
        if (streamed != events) {
            fprintf(stderr, "bench-sim: streamed %zu events, loaded %zu\n", streamed, events);
            goto out;
        }
    }
    int n = (int)cfg.runs;
    double w = bench_median(t_write, n), l = bench_median(t_load, n), s = bench_median(t_stream, n);
    printf("fleet: %lld machines x %lld hours, %zu events; medians of %d runs\n", cfg.machines,
           cfg.hours, events, n);
    printf("pdm_sim_write_csv (pdm-sim): %.3f s\n", w);
    printf("pdm_dataset_load:            %.3f s (%.2f M events/s)\n", l, events / l / 1e6);
    printf("pdm_sim_new + pdm_sim_next:  %.3f s (%.2f M events/s)\n", s, events / s / 1e6);
    rc = 0;
out:
    if (dir)
        remove_data_set(dir);
    free(t_write);
    free(t_load);
    free(t_stream);
    pdm_options_free(options, &cfg);
    return rc;
}
