/* trainer_data.c: the rows the trainer learns from: the CSVs loaded, every
 * telemetry row's features (in replay order, as the scorer sees the events)
 * and label, and their split by time into training and test rows and the
 * training rows again into the booster's rows and the threshold rows
 * (trainer.c says why by time only, and why a calibration slice). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trainer_internal.h"

void free_block(row_block *b)
{
    free(b->own_rows);
    free(b->own_labels);
    free(b->own_ts);
    free(b->own_machine);
}

void free_features(feature_rows *fr)
{
    pdm_feature_rows_free(&fr->rows);
    free(fr->labels);
    pdm_dataset_destroy(fr->ds);
}

static int dump_features(const char *path, const feature_rows *fr, char *errstr, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return pdm_err(errstr, errlen, "--dump-features: cannot create %s: %s", path,
                       strerror(errno));
    int failed = pdm_features_dump_header(f) != 0;
    for (size_t i = 0; i < fr->rows.n && !failed; i++)
        failed = pdm_features_dump_row(f, fr->rows.machine_id[i], fr->rows.ts[i],
                                       fr->rows.x + i * fr->nfeat, fr->labels[i]) != 0;
    failed |= fclose(f) != 0;
    if (failed)
        return pdm_err(errstr, errlen, "--dump-features: cannot write %s: %s", path,
                       strerror(errno));
    return 0;
}

/* Loads the CSVs, computes every telemetry row's features (in replay
 * order, as the scorer would see the events) and labels. */
int load_features(const train_config *cfg, feature_rows *fr, timings *tm, char *errstr,
                  size_t errlen)
{
    pdm_dataset_options opts = {0};
    pdm_featurizer *fz = NULL;
    pdm_featurizer_stats st;
    const pdm_event *events;
    size_t n_events;
    char summary[512];
    int rc = -1;
    double t0 = pdm_monotonic_s();

    memset(fr, 0, sizeof *fr);
    fr->nfeat = PDM_N_FEATURES;
    fr->names = pdm_feature_names();
    opts.skip_bad_rows = cfg->skip_bad_rows;
    char err[PDM_ERRSTR_SIZE];
    if (pdm_dataset_load(cfg->data, &opts, &fr->ds, err, sizeof err)) {
        pdm_err(errstr, errlen, "cannot load --data %s: %s", cfg->data, err);
        goto out;
    }
    pdm_dataset_summary(fr->ds, summary, sizeof summary);
    pdm_log(PDM_LOG_INFO, "loaded %s: %s", cfg->data, summary);
    const pdm_dataset_stats *ds_stats = pdm_dataset_get_stats(fr->ds);
    for (int i = 0; i < ds_stats->n_reasons; i++)
        pdm_log(PDM_LOG_WARN, "skipped %s", ds_stats->reasons[i]);
    tm->load = pdm_monotonic_s() - t0;

    t0 = pdm_monotonic_s();
    events = pdm_dataset_events(fr->ds, &n_events);
    size_t n_tel = 0;
    pdm_dataset_events_of_type(fr->ds, PDM_EV_TELEMETRY, &n_tel);
    if (n_tel == 0) {
        pdm_err(errstr, errlen, "%s: no telemetry rows: nothing to train on", cfg->data);
        goto out;
    }
    if (pdm_feature_rows_reserve(&fr->rows, n_tel)) {
        pdm_err(errstr, errlen, "out of memory for %zu feature rows", n_tel);
        goto out;
    }
    fz = pdm_featurizer_new(NULL, errstr, errlen);
    if (!fz || pdm_featurizer_feed(fz, events, n_events, &fr->rows, errstr, errlen))
        goto out;
    pdm_featurizer_get_stats(fz, &st);
    if (st.late > 0)
        pdm_log(PDM_LOG_WARN,
                "%llu events arrived too late for their machine's state and were "
                "not applied",
                (unsigned long long)st.late);
    fr->labels = malloc((fr->rows.n ? fr->rows.n : 1) * sizeof *fr->labels);
    if (!fr->labels) {
        pdm_err(errstr, errlen, "out of memory for %zu labels", fr->rows.n);
        goto out;
    }
    if (pdm_labels_compute(events, n_events, fr->rows.machine_id, fr->rows.ts, fr->rows.n,
                           cfg->horizon, fr->labels, errstr, errlen))
        goto out;
    if (cfg->dump_features && dump_features(cfg->dump_features, fr, errstr, errlen))
        goto out;
    tm->features = pdm_monotonic_s() - t0;
    rc = 0;
out:
    pdm_featurizer_destroy(fz);
    return rc;
}

static void block_stats(row_block *b)
{
    memset(b->count, 0, sizeof b->count);
    b->first = INT64_MAX;
    b->last = INT64_MIN;
    for (size_t i = 0; i < b->n; i++) {
        b->count[b->labels[i]]++;
        b->first = b->ts[i] < b->first ? b->ts[i] : b->first;
        b->last = b->ts[i] > b->last ? b->ts[i] : b->last;
    }
}

/* Splits a block by time into rows before cutoff and the others. In time
 * order (replay order) both sides are views; otherwise they are gathered
 * into copies, keeping the rows' order. */
static int split_block(const row_block *all, size_t nfeat, int64_t cutoff, row_block *before,
                       row_block *after, char *errstr, size_t errlen)
{
    size_t nbefore = 0, sorted = 1;
    memset(before, 0, sizeof *before);
    memset(after, 0, sizeof *after);
    for (size_t i = 0; i < all->n; i++) {
        nbefore += all->ts[i] < cutoff;
        if (i > 0 && all->ts[i] < all->ts[i - 1])
            sorted = 0;
    }
    if (sorted) {
        *before = (row_block){.n = nbefore,
                              .rows = all->rows,
                              .labels = all->labels,
                              .ts = all->ts,
                              .machine = all->machine};
        *after = (row_block){.n = all->n - nbefore,
                             .rows = all->rows + nbefore * nfeat,
                             .labels = all->labels + nbefore,
                             .ts = all->ts + nbefore,
                             .machine = all->machine + nbefore};
    } else {
        row_block *side[2] = {before, after};
        size_t want[2] = {nbefore, all->n - nbefore}, fill[2] = {0, 0};
        for (int s = 0; s < 2; s++) {
            size_t m = want[s] ? want[s] : 1;
            side[s]->n = want[s];
            side[s]->own_rows = malloc(m * nfeat * sizeof(double));
            side[s]->own_labels = malloc(m * sizeof(int));
            side[s]->own_ts = malloc(m * sizeof(int64_t));
            side[s]->own_machine = malloc(m * sizeof(int32_t));
            if (!side[s]->own_rows || !side[s]->own_labels || !side[s]->own_ts ||
                !side[s]->own_machine)
                return pdm_err(errstr, errlen, "out of memory splitting %zu rows", all->n);
            side[s]->rows = side[s]->own_rows;
            side[s]->labels = side[s]->own_labels;
            side[s]->ts = side[s]->own_ts;
            side[s]->machine = side[s]->own_machine;
        }
        for (size_t i = 0; i < all->n; i++) {
            int s = all->ts[i] < cutoff ? 0 : 1;
            size_t j = fill[s]++;
            memcpy(side[s]->own_rows + j * nfeat, all->rows + i * nfeat, nfeat * sizeof(double));
            side[s]->own_labels[j] = all->labels[i];
            side[s]->own_ts[j] = all->ts[i];
            side[s]->own_machine[j] = all->machine[i];
        }
    }
    block_stats(before);
    block_stats(after);
    return 0;
}

cJSON *block_json(const row_block *b)
{
    char from[32], to[32];
    cJSON *j = cJSON_CreateObject();
    cJSON *counts = cJSON_CreateArray();
    size_t positives = b->n - b->count[0];
    if (!j || !counts) {
        cJSON_Delete(j);
        cJSON_Delete(counts);
        return NULL;
    }
    for (int k = 0; k < K; k++)
        cJSON_AddItemToArray(counts, cJSON_CreateNumber((double)b->count[k]));
    cJSON_AddStringToObject(j, "from", b->n ? pdm_time_format(b->first, from) : "");
    cJSON_AddStringToObject(j, "to", b->n ? pdm_time_format(b->last, to) : "");
    cJSON_AddNumberToObject(j, "rows", (double)b->n);
    cJSON_AddNumberToObject(j, "positives", (double)positives);
    cJSON_AddItemToObject(j, "class_counts", counts);
    return j;
}

/* Test split, then the threshold-calibration slice at the end of the
 * training rows. */
int split_data(run_state *r, char *errstr, size_t errlen)
{
    const train_config *cfg = r->cfg;
    r->all = (row_block){.n = r->fr.rows.n,
                         .rows = r->fr.rows.x,
                         .labels = r->fr.labels,
                         .ts = r->fr.rows.ts,
                         .machine = r->fr.rows.machine_id};
    block_stats(&r->all);
    if (cfg->split) {
        if (pdm_time_parse(cfg->split, strlen(cfg->split), &r->cutoff))
            return pdm_err(errstr, errlen, "--split: '%s' is not \"YYYY-MM-DD[ HH:MM:SS]\"",
                           cfg->split);
    } else {
        r->cutoff = pdm_split_cutoff(r->all.first, r->all.last, PDM_SPLIT_DEFAULT);
    }
    pdm_time_format(r->cutoff, r->when);
    if (split_block(&r->all, r->fr.nfeat, r->cutoff, &r->train, &r->test, errstr, errlen))
        return -1;
    if (r->train.n == 0 || r->test.n == 0)
        return pdm_err(errstr, errlen,
                       "the split at %s leaves %zu training and %zu test rows: both sides need "
                       "rows (see --split)",
                       r->when, r->train.n, r->test.n);
    if (failures(&r->train) == 0)
        return pdm_err(errstr, errlen,
                       "too few failures to train: none of the %zu training rows (before %s) "
                       "has a failure within %g hours",
                       r->train.n, r->when, cfg->horizon);
    if (!(cfg->calibration >= 0 && cfg->calibration < 1))
        return pdm_err(errstr, errlen, "--calibration must be in [0, 1)");
    r->calibrated = 0;
    if (cfg->calibration > 0) {
        r->calib_cutoff = pdm_split_cutoff(r->train.first, r->train.last, 1.0 - cfg->calibration);
        if (split_block(&r->train, r->fr.nfeat, r->calib_cutoff, &r->fit, &r->calib, errstr,
                        errlen))
            return -1;
        r->calibrated = failures(&r->fit) > 0 && failures(&r->calib) > 0;
        pdm_time_format(r->calib_cutoff, r->calib_when);
        if (!r->calibrated) {
            pdm_log(PDM_LOG_WARN,
                    "the calibration slice from %s has %zu failure rows and the rows before it "
                    "%zu: training on all training rows, thresholds from their in-sample "
                    "scores",
                    r->calib_when, failures(&r->calib), failures(&r->fit));
            free_block(&r->fit);
            free_block(&r->calib);
        }
    }
    if (!r->calibrated) {
        r->fit = r->train;
        r->fit.own_rows = NULL, r->fit.own_labels = NULL;
        r->fit.own_ts = NULL, r->fit.own_machine = NULL;
        memset(&r->calib, 0, sizeof r->calib);
    }
    pdm_log(PDM_LOG_INFO,
            "split at %s: %zu training rows (%zu with a failure; %zu fit the booster, %zu choose "
            "the thresholds), %zu test rows (%zu with a failure)",
            r->when, r->train.n, failures(&r->train), r->fit.n, r->calib.n, r->test.n,
            failures(&r->test));
    return 0;
}
