/* bench_data.h: training rows for the model benchmarks (header only; the
 * program links pdm_dataset and pdm_features). */
#ifndef PDM_BENCH_DATA_H
#define PDM_BENCH_DATA_H

#include <stdio.h>
#include <stdlib.h>

#include "pdm_common.h"
#include "pdm_dataset.h"
#include "pdm_features.h"

typedef struct {
    pdm_feature_rows rows; /* the v1 rows of every telemetry event */
    int *labels;           /* their labels at the default horizon */
} bench_rows;

/* The rows and labels of the PdM CSVs in `data`, or (data NULL) of a fleet
 * of machines x hours simulated into a temporary directory removed again.
 * Returns 0, or -1 with errstr; free with bench_rows_free either way. */
static inline int bench_rows_load(const char *data, int machines, long long hours, bench_rows *out,
                                  char *errstr, size_t errlen)
{
    char tmp[] = "/tmp/pdm-bench-XXXXXX", dir[256], cmd[300];
    pdm_dataset *ds = NULL;
    pdm_featurizer *fz = NULL;
    int made_tmp = 0, rc = -1;
    out->labels = NULL;
    if (!data) {
        pdm_sim_params sp;
        pdm_sim_params_init(&sp);
        sp.machines = machines;
        sp.hours = hours;
        /* The hard fleet: the data bench/README.md's figures were measured on. */
        sp.difficulty = PDM_SIM_HARD;
        if (!mkdtemp(tmp)) {
            pdm_err(errstr, errlen, "cannot make a temporary directory");
            goto out;
        }
        made_tmp = 1;
        snprintf(dir, sizeof dir, "%s/data", tmp);
        if (pdm_sim_write_csv(&sp, dir, errstr, errlen))
            goto out;
        data = dir;
    }
    const pdm_event *ev = NULL;
    size_t n_ev = 0;
    if (pdm_dataset_load(data, NULL, &ds, errstr, errlen))
        goto out;
    ev = pdm_dataset_events(ds, &n_ev);
    if (!(fz = pdm_featurizer_new(NULL, errstr, errlen)) ||
        pdm_featurizer_feed(fz, ev, n_ev, &out->rows, errstr, errlen))
        goto out;
    if (!(out->labels = malloc((out->rows.n ? out->rows.n : 1) * sizeof *out->labels))) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    if (pdm_labels_compute(ev, n_ev, out->rows.machine_id, out->rows.ts, out->rows.n,
                           PDM_LABEL_DEFAULT_HORIZON_HOURS, out->labels, errstr, errlen))
        goto out;
    rc = 0;
out:
    pdm_featurizer_destroy(fz);
    pdm_dataset_destroy(ds);
    if (made_tmp) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "bench: could not remove %s\n", tmp);
    }
    return rc;
}

static inline void bench_rows_free(bench_rows *r)
{
    free(r->labels);
    r->labels = NULL;
    pdm_feature_rows_free(&r->rows);
}

#endif
