/* trainer.c: the pdm-train flow (train/: program code over the dataset,
 * features, model, tracking and report libraries).
 *
 *   load CSVs (dataset) -> features of every telemetry row in replay order
 *   and labels (features) -> time split -> train -> thresholds on training
 *   rows -> evaluate on test rows -> reference histograms -> package
 *   (+ promotion, MLflow run, report) -> timings.
 *
 * The split is by time only, never random: a random split would leak the
 * future (rows of the same failure on both sides) and overstate the model.
 * Rows come in replay order, so training rows are a prefix of the matrix and
 * need no copy; an out-of-order input is gathered into copies instead.
 *
 * Thresholds are chosen on training rows only, but not on the rows the
 * booster fit: in-sample scores are overconfident (on a small fleet the
 * F1-best in-sample WARN threshold caught no test failure at all). The last
 * --calibration share (default 20%) of the training time range is held out
 * of boosting and the thresholds are chosen on its scores, which behave
 * like live ones. Without a failure on both sides of that cut the booster
 * fits all training rows and the thresholds come from in-sample scores; the
 * package says which (thresholds_source).
 *
 * Evaluation rows are scored with --predictor (default native: the trees
 * evaluated natively once they scored the check sample exactly as XGBoost
 * does; a refusal is logged and the run evaluates with XGBoost). The
 * package's "predictor" entry records which one was used and the check.
 *
 * Decision for tiny data (e.g. two machines of the public data set): the
 * trainer runs as long as the training rows hold at least one failure row
 * and there is at least one test row; metrics that the test rows cannot
 * define (no failure among them) are reported as null. Otherwise it fails
 * with a message saying what is missing. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "alert_eval.h"
#include "pdm_dataset.h"
#include "pdm_features.h"
#include "pdm_model.h"
#include "pdm_report.h"
#include "pdm_tracking.h"
#include "trainer.h"

enum { K = PDM_MODEL_N_CLASSES };

/* The data set and every telemetry row's features and label. */
typedef struct {
    pdm_dataset *ds;
    pdm_feature_rows rows; /* x, machine_id, ts */
    int *labels;
    size_t nfeat;
    const char *const *names;
} feature_rows;

/* A contiguous block of rows: a view into feature_rows or owned copies. */
typedef struct {
    size_t n;
    const double *rows;
    const int *labels;
    const int64_t *ts;
    const int32_t *machine;
    int64_t first, last;
    size_t count[K];
    double *own_rows;
    int *own_labels;
    int64_t *own_ts;
    int32_t *own_machine;
} row_block;

typedef struct {
    double load, features, train, evaluate, write;
} timings;

static void free_block(row_block *b)
{
    free(b->own_rows);
    free(b->own_labels);
    free(b->own_ts);
    free(b->own_machine);
}

/* JSON has no NaN: undefined metrics are null. */
static cJSON *json_num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* ---- data ------------------------------------------------------------------ */

#define LABEL_RULE                                                                                 \
    "class K (1..4) if the earliest failure of the machine with t < f <= t + horizon is of "       \
    "compK (the lowest K when several fail at that f), else 0 (none)"

static void free_features(feature_rows *fr)
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
static int load_features(const train_config *cfg, feature_rows *fr, timings *tm, char *errstr,
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

/* ---- split ------------------------------------------------------------------- */

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

static cJSON *block_json(const row_block *b)
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

/* ---- promotion ----------------------------------------------------------------- */

typedef struct {
    int requested;
    int has_current;
    int comparable;
    int promote;
    char current_version[PDM_MODEL_VERSION_LEN + 1];
    char reason[512];
    pdm_eval current;
} promotion;

/* Switches a model to the --predictor; a refused native predictor is logged
 * and the model stays on XGBoost (the package records the refusal). */
static int choose_predictor(pdm_model *m, const char *name, const char *which, char *errstr,
                            size_t errlen)
{
    pdm_predictor p = PDM_PREDICTOR_NATIVE;
    char err[PDM_ERRSTR_SIZE];
    if (name && pdm_predictor_parse(name, &p))
        return pdm_err(errstr, errlen, "--predictor: '%s' is not native or xgboost", name);
    if (pdm_model_set_predictor(m, p, err, sizeof err)) {
        pdm_log(PDM_LOG_WARN, "%s: %s; evaluating with xgboost", which, err);
        return 0;
    }
    const pdm_predictor_check *c = pdm_model_predictor_check(m);
    if (p == PDM_PREDICTOR_NATIVE)
        pdm_log(PDM_LOG_INFO,
                "%s: native predictor checked against xgboost on %zu rows: max |diff| %.3g, "
                "%zu of %zu values identical (%.3f s)",
                which, c->rows, c->max_abs_diff, c->identical, c->values, c->seconds);
    return 0;
}

/* Scores the current model (if any) on the candidate's test rows. */
static int compare_with_current(const train_config *cfg, const pdm_model *candidate,
                                const pdm_eval *cand_metrics, const row_block *test, promotion *p,
                                char *errstr, size_t errlen)
{
    char dir[4096], err[PDM_ERRSTR_SIZE];
    pdm_model *cur = NULL;
    double *probs = NULL;
    int rc = -1;

    memset(p, 0, sizeof *p);
    p->requested = 1;
    int found = pdm_model_current(cfg->promote, dir, sizeof dir, err, sizeof err);
    if (found < 0) {
        pdm_err(errstr, errlen, "--promote: %s", err);
        goto out;
    }
    if (found == 1) {
        p->promote = 1;
        snprintf(p->reason, sizeof p->reason,
                 "no current model in %s: the candidate becomes current", cfg->promote);
        rc = 0;
        goto out;
    }
    p->has_current = 1;
    if (pdm_model_load(dir, &cur, err, sizeof err)) {
        pdm_err(errstr, errlen, "--promote: the current model: %s", err);
        goto out;
    }
    snprintf(p->current_version, sizeof p->current_version, "%s", pdm_model_version(cur));
    if (choose_predictor(cur, cfg->predictor, "the current model", errstr, errlen))
        goto out;
    int same = pdm_model_n_features(cur) == pdm_model_n_features(candidate) &&
               strcmp(pdm_model_feature_set(cur), pdm_model_feature_set(candidate)) == 0;
    for (size_t j = 0; same && j < pdm_model_n_features(cur); j++)
        same = strcmp(pdm_model_feature_name(cur, j), pdm_model_feature_name(candidate, j)) == 0;
    if (!same) {
        /* Its scores on these rows would mean nothing: never swap blindly. */
        snprintf(p->reason, sizeof p->reason,
                 "the current model %s uses other features (set \"%s\"): not comparable, "
                 "keeping it",
                 p->current_version, pdm_model_feature_set(cur));
        rc = 0;
        goto out;
    }
    p->comparable = 1;
    probs = malloc((test->n ? test->n : 1) * K * sizeof *probs);
    if (!probs) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    double warn, critical;
    pdm_model_thresholds(cur, &warn, &critical);
    if (pdm_model_predict(cur, test->rows, test->n, probs, errstr, errlen) ||
        pdm_eval_compute(test->labels, probs, test->n, warn, critical, &p->current, errstr, errlen))
        goto out;
    if (cfg->promotion_rule)
        p->promote = cfg->promotion_rule(cfg->promotion_ctx, cand_metrics, &p->current, p->reason,
                                         sizeof p->reason);
    else
        p->promote =
            pdm_model_promotion_decide(cand_metrics, &p->current, p->reason, sizeof p->reason);
    rc = 0;
out:
    free(probs);
    pdm_model_destroy(cur);
    return rc;
}

static cJSON *promotion_json(const promotion *p, const char *candidate_version,
                             const pdm_eval *cand, const char *models_dir, const char *rule)
{
    char now[32];
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "models_dir", models_dir);
    cJSON_AddStringToObject(j, "candidate", candidate_version);
    if (p->has_current)
        cJSON_AddStringToObject(j, "current", p->current_version);
    else
        cJSON_AddNullToObject(j, "current");
    cJSON_AddStringToObject(j, "rule",
                            rule ? rule
                                 : "promote if not worse than the current model on macro F1 and "
                                   "on PR AUC over the same test rows");
    cJSON *c = cJSON_AddObjectToObject(j, "candidate_metrics");
    cJSON_AddItemToObject(c, "macro_f1", json_num(cand->macro_f1));
    cJSON_AddItemToObject(c, "pr_auc", json_num(cand->pr_auc));
    if (p->comparable) {
        cJSON *cur = cJSON_AddObjectToObject(j, "current_metrics");
        cJSON_AddItemToObject(cur, "macro_f1", json_num(p->current.macro_f1));
        cJSON_AddItemToObject(cur, "pr_auc", json_num(p->current.pr_auc));
    }
    cJSON_AddBoolToObject(j, "promoted", p->promote);
    cJSON_AddStringToObject(j, "reason", p->reason);
    pdm_time_format(pdm_now_ms(), now);
    cJSON_AddStringToObject(j, "decided_at", now);
    return j;
}

/* ---- report and MLflow ------------------------------------------------------------ */

/* Risk over the test period of up to PDM_REPORT_MAX_SERIES machines that
 * fail in it, in order of their first failure. */
typedef struct {
    pdm_report_series s[PDM_REPORT_MAX_SERIES];
    char names[PDM_REPORT_MAX_SERIES][32];
    size_t n;
} report_series;

static void free_series(report_series *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free((void *)rs->s[i].ts_ms);
        free((void *)rs->s[i].risk);
        free((void *)rs->s[i].failure_ms);
        free((void *)rs->s[i].failure_class);
    }
}

static int build_series(const pdm_dataset *ds, const row_block *test, const double *probs,
                        report_series *rs)
{
    size_t nf;
    const pdm_event *fail = pdm_dataset_events_of_type(ds, PDM_EV_FAILURE, &nf);
    int32_t chosen[PDM_REPORT_MAX_SERIES];
    memset(rs, 0, sizeof *rs);
    for (size_t i = 0; i < nf && rs->n < PDM_REPORT_MAX_SERIES; i++) {
        if (fail[i].ts < test->first || fail[i].ts > test->last)
            continue;
        int seen = 0;
        for (size_t c = 0; c < rs->n; c++)
            seen |= chosen[c] == fail[i].machine_id;
        if (!seen)
            chosen[rs->n++] = fail[i].machine_id;
    }
    for (size_t c = 0; c < rs->n; c++) {
        pdm_report_series *s = &rs->s[c];
        size_t rows = 0, fails = 0;
        for (size_t i = 0; i < test->n; i++)
            rows += test->machine[i] == chosen[c];
        for (size_t i = 0; i < nf; i++)
            fails += fail[i].machine_id == chosen[c] && fail[i].ts >= test->first &&
                     fail[i].ts <= test->last;
        int64_t *ts = malloc((rows ? rows : 1) * sizeof *ts);
        double *risk = malloc((rows ? rows : 1) * sizeof *risk);
        int64_t *fts = malloc((fails ? fails : 1) * sizeof *fts);
        int *fclass = malloc((fails ? fails : 1) * sizeof *fclass);
        s->ts_ms = ts;
        s->risk = risk;
        s->failure_ms = fts;
        s->failure_class = fclass;
        if (!ts || !risk || !fts || !fclass)
            return -1;
        for (size_t i = 0; i < test->n; i++) {
            if (test->machine[i] != chosen[c])
                continue;
            ts[s->n] = test->ts[i];
            risk[s->n++] = pdm_model_risk_of(probs + i * K);
        }
        for (size_t i = 0; i < nf; i++) {
            if (fail[i].machine_id != chosen[c] || fail[i].ts < test->first ||
                fail[i].ts > test->last)
                continue;
            fts[s->n_failures] = fail[i].ts;
            fclass[s->n_failures++] = fail[i].u.failure.component;
        }
        snprintf(rs->names[c], sizeof rs->names[c], "machine %d", (int)chosen[c]);
        s->machine = rs->names[c];
    }
    return 0;
}

/* Renders report.html into files[*nfiles]. */
static int add_report(const train_config *cfg, pdm_model *model, const pdm_eval *m,
                      const row_block *train, const row_block *test, const double *test_probs,
                      const pdm_dataset *ds, const char *cutoff,
                      const pdm_report_alerting *alerting, pdm_model_file *files, size_t *nfiles,
                      char *errstr, size_t errlen)
{
    pdm_report_data d;
    pdm_report_points roc = {0}, pr = {0};
    report_series rs = {0};
    double importance[PDM_N_FEATURES], *risk = NULL;
    unsigned char *pos = NULL;
    char *html = NULL, buf[8][64];
    size_t len;
    int rc = -1;

    pdm_report_data_init(&d);
    d.title = "pdm failure model: training report";
    d.model_version = pdm_model_version(model);
    pdm_report_split splits[2] = {
        {"train", train->first, train->last, train->n, train->n - train->count[0]},
        {"test", test->first, test->last, test->n, test->n - test->count[0]},
    };
    d.splits = splits;
    d.n_splits = 2;
    snprintf(buf[0], sizeof buf[0], "%g h", cfg->horizon);
    snprintf(buf[1], sizeof buf[1], "%lld", cfg->rounds);
    snprintf(buf[2], sizeof buf[2], "%lld", cfg->max_depth);
    snprintf(buf[3], sizeof buf[3], "%g", cfg->eta);
    snprintf(buf[4], sizeof buf[4], "%g", cfg->class_weight_cap);
    pdm_report_kv info[] = {
        {"feature set", PDM_FEATURE_SET},
        {"horizon", buf[0]},
        {"split at", cutoff},
        {"rounds", buf[1]},
        {"max depth", buf[2]},
        {"eta", buf[3]},
        {"class weight cap", buf[4]},
        {"data", cfg->data},
    };
    d.info = info;
    d.n_info = sizeof info / sizeof *info;
    pdm_report_metric metrics[] = {
        {"macro F1", m->macro_f1},
        {"accuracy", m->accuracy},
        {"ROC AUC (any failure)", m->roc_auc},
        {"PR AUC (any failure)", m->pr_auc},
        {"positive rate", m->positive_rate},
        {"WARN threshold", m->warn},
        {"CRITICAL threshold", m->critical},
    };
    d.metrics = metrics;
    d.n_metrics = sizeof metrics / sizeof *metrics;
    d.warn = m->warn;
    d.critical = m->critical;
    d.warn_precision = m->warn_precision;
    d.warn_recall = m->warn_recall;
    d.critical_precision = m->critical_precision;
    d.critical_recall = m->critical_recall;
    memcpy(d.confusion, m->confusion, sizeof d.confusion);

    risk = malloc((test->n ? test->n : 1) * sizeof *risk);
    pos = malloc(test->n ? test->n : 1);
    if (!risk || !pos) {
        pdm_err(errstr, errlen, "out of memory for the report");
        goto out;
    }
    for (size_t i = 0; i < test->n; i++) {
        risk[i] = pdm_model_risk_of(test_probs + i * K);
        pos[i] = test->labels[i] != 0;
    }
    /* Curves need positives and negatives among the test rows. */
    if (m->n_positive > 0 && m->n_positive < m->n &&
        pdm_report_curves_from_scores(risk, pos, test->n, &roc, &pr, errstr, errlen) == 0) {
        d.roc = (pdm_report_curve){roc.x, roc.y, roc.n, m->roc_auc};
        d.pr = (pdm_report_curve){pr.x, pr.y, pr.n, m->pr_auc};
        d.pr_baseline = m->positive_rate;
    }
    if (pdm_model_feature_importance(model, "gain", importance, errstr, errlen))
        goto out;
    d.feature_names = pdm_feature_names();
    d.importance = importance;
    d.n_features = PDM_N_FEATURES;
    if (build_series(ds, test, test_probs, &rs)) {
        pdm_err(errstr, errlen, "out of memory for the report");
        goto out;
    }
    d.series = rs.s;
    d.n_series = rs.n;
    d.alerting = *alerting;
    if (pdm_report_render_html(&d, &html, &len, errstr, errlen))
        goto out;
    files[*nfiles].name = "report.html";
    files[*nfiles].data = html;
    files[*nfiles].len = len;
    (*nfiles)++;
    html = NULL;
    rc = 0;
out:
    free(html);
    free(risk);
    free(pos);
    pdm_report_points_free(&roc);
    pdm_report_points_free(&pr);
    free_series(&rs);
    return rc;
}

/* Records the run in the MLflow file store: parameters, test metrics,
 * timings so far, and the package as artifacts under "model". Its id goes
 * to run_id (33 bytes). */
static int record_run(const train_config *cfg, pdm_model *model, const pdm_eval *m,
                      const alert_eval *al, const timings *tm, const char *cutoff,
                      const char *package_dir, int promoted, char *run_id, char *errstr,
                      size_t errlen)
{
    pdm_tracking_run *run = NULL;
    char v[12][48], err[PDM_ERRSTR_SIZE];
    int rc = -1;

    if (pdm_tracking_run_start(cfg->mlruns, cfg->experiment, NULL, &run, err, sizeof err)) {
        pdm_err(errstr, errlen, "--mlruns: %s", err);
        goto out;
    }
    snprintf(v[0], sizeof v[0], "%lld", cfg->rounds);
    snprintf(v[1], sizeof v[1], "%lld", cfg->max_depth);
    snprintf(v[2], sizeof v[2], "%g", cfg->eta);
    snprintf(v[3], sizeof v[3], "%g", cfg->subsample);
    snprintf(v[4], sizeof v[4], "%g", cfg->colsample);
    snprintf(v[5], sizeof v[5], "%g", cfg->min_child_weight);
    snprintf(v[6], sizeof v[6], "%g", cfg->class_weight_cap);
    snprintf(v[7], sizeof v[7], "%lld", cfg->seed);
    snprintf(v[8], sizeof v[8], "%g", cfg->horizon);
    const char *params[][2] = {
        {"rounds", v[0]},
        {"max_depth", v[1]},
        {"eta", v[2]},
        {"subsample", v[3]},
        {"colsample_bytree", v[4]},
        {"min_child_weight", v[5]},
        {"class_weight_cap", v[6]},
        {"seed", v[7]},
        {"horizon_hours", v[8]},
        {"split", cutoff},
        {"feature_set", PDM_FEATURE_SET},
        {"objective", "multi:softprob"},
        {"tree_method", "hist"},
    };
    for (size_t i = 0; i < sizeof params / sizeof *params; i++)
        if (pdm_tracking_log_param(run, params[i][0], params[i][1], err, sizeof err))
            goto fail;
    static const char *const class_names[K] = {"none", "comp1", "comp2", "comp3", "comp4"};
    struct {
        const char *key;
        double value;
    } metrics[8 + K] = {
        {"macro_f1", m->macro_f1},
        {"accuracy", m->accuracy},
        {"roc_auc", m->roc_auc},
        {"pr_auc", m->pr_auc},
        {"warn_threshold", m->warn},
        {"critical_threshold", m->critical},
        {"warn_precision", m->warn_precision},
        {"warn_recall", m->warn_recall},
    };
    char f1_keys[K][16];
    for (int k = 0; k < K; k++) {
        snprintf(f1_keys[k], sizeof f1_keys[k], "f1_%s", class_names[k]);
        metrics[8 + k].key = f1_keys[k];
        metrics[8 + k].value = m->f1[k];
    }
    for (size_t i = 0; i < sizeof metrics / sizeof *metrics; i++)
        if (isfinite(metrics[i].value) &&
            pdm_tracking_log_metric(run, metrics[i].key, metrics[i].value, 0, err, sizeof err))
            goto fail;
    const alert_outcome *ip = &al->policy, *ch = &al->changes;
    const struct {
        const char *key;
        double value;
    } alert_metrics[] = {
        {"alert_incidents", (double)ip->incidents},
        {"alert_incidents_per_machine_week", (double)ip->incidents / al->machine_weeks},
        {"alert_false_incidents", (double)ip->false_incidents},
        {"alert_caught_share", (double)ip->caught / (double)ip->failures},
        {"alert_notifications_per_caught", (double)ip->notifications / (double)ip->caught},
        {"alert_lead_median_hours", alert_percentile(ip->lead_ms, ip->caught, 0.5) / 3.6e6},
        {"alert_lead_p10_hours", alert_percentile(ip->lead_ms, ip->caught, 0.1) / 3.6e6},
        {"changes_caught_share", (double)ch->caught / (double)ch->failures},
        {"changes_notifications_per_caught", (double)ch->notifications / (double)ch->caught},
    };
    for (size_t i = 0; i < sizeof alert_metrics / sizeof *alert_metrics; i++)
        if (isfinite(alert_metrics[i].value) &&
            pdm_tracking_log_metric(run, alert_metrics[i].key, alert_metrics[i].value, 0, err,
                                    sizeof err))
            goto fail;
    const double secs[] = {tm->load, tm->features, tm->train, tm->evaluate};
    const char *sec_keys[] = {"time_load_s", "time_features_s", "time_train_s", "time_evaluate_s"};
    for (int i = 0; i < 4; i++)
        if (pdm_tracking_log_metric(run, sec_keys[i], secs[i], 0, err, sizeof err))
            goto fail;
    if (pdm_tracking_set_tag(run, "pdm.model_version", pdm_model_version(model), err, sizeof err) ||
        pdm_tracking_set_tag(run, "pdm.promoted", promoted ? "true" : "false", err, sizeof err) ||
        pdm_tracking_log_artifacts(run, package_dir, "model", err, sizeof err) ||
        pdm_tracking_run_end(run, PDM_RUN_FINISHED, err, sizeof err))
        goto fail;
    snprintf(run_id, 33, "%s", pdm_tracking_run_id(run));
    rc = 0;
    goto out;
fail:
    pdm_err(errstr, errlen, "--mlruns: %s", err);
out:
    pdm_tracking_run_destroy(run);
    return rc;
}

/* ---- run ------------------------------------------------------------------------ */

static int json_file(cJSON *j, pdm_model_file *f, const char *name)
{
    char *text = j ? cJSON_Print(j) : NULL;
    if (!text)
        return -1;
    size_t len = strlen(text);
    char *with_nl = realloc(text, len + 2);
    if (!with_nl) {
        free(text);
        return -1;
    }
    with_nl[len] = '\n';
    with_nl[len + 1] = '\0';
    f->name = name;
    f->data = with_nl;
    f->len = len + 1;
    return 0;
}

/* Everything one run holds, released by run_free. */
typedef struct {
    const train_config *cfg;
    feature_rows fr;
    row_block all, train, test;
    row_block fit, calib; /* train split again: boosting rows, threshold rows */
    int calibrated;       /* thresholds come from calib (else in-sample from fit) */
    pdm_model *model;
    double *fit_probs, *calib_probs, *test_probs;
    pdm_thresholds th;
    pdm_eval metrics;
    pdm_alert_policy alert;   /* recorded in the package */
    alert_clear_choice clear; /* how its clear thresholds were chosen */
    int clear_fixed;          /* --alert-clear given */
    alert_eval alerting;      /* the policy and --emit changes on the test rows */
    promotion promo;
    timings tm;
    int64_t cutoff, calib_cutoff;
    char when[32], calib_when[32];
    char version_dir[4200];
    char run_id[33]; /* the MLflow run, "" without --mlruns */
    pdm_model_file files[4];
    size_t nfiles;
} run_state;

static void run_free(run_state *r)
{
    for (size_t i = 0; i < r->nfiles; i++)
        free((void *)r->files[i].data);
    free(r->fit_probs);
    free(r->calib_probs);
    free(r->test_probs);
    alert_eval_free(&r->alerting);
    free_block(&r->fit);
    free_block(&r->calib);
    free_block(&r->train);
    free_block(&r->test);
    pdm_model_destroy(r->model);
    free_features(&r->fr);
}

static size_t failures(const row_block *b)
{
    return b->n - b->count[0];
}

/* Test split, then the threshold-calibration slice at the end of the
 * training rows. */
static int split_data(run_state *r, char *errstr, size_t errlen)
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

static int fit_model(run_state *r, char *errstr, size_t errlen)
{
    const train_config *cfg = r->cfg;
    pdm_train_params params;
    pdm_train_params_init(&params);
    if (cfg->rounds < 1 || cfg->rounds > 100000 || cfg->max_depth < 1 || cfg->max_depth > 64)
        return pdm_err(errstr, errlen, "--rounds must be 1..100000 and --max-depth 1..64");
    params.rounds = (int)cfg->rounds;
    params.max_depth = (int)cfg->max_depth;
    params.eta = cfg->eta;
    params.subsample = cfg->subsample;
    params.colsample = cfg->colsample;
    params.min_child_weight = cfg->min_child_weight;
    params.class_weight_cap = cfg->class_weight_cap;
    params.nthread = (int)cfg->nthread;
    params.seed = cfg->seed;
    r->fit_probs = r->calibrated ? NULL : malloc(r->fit.n * K * sizeof *r->fit_probs);
    if (!r->calibrated && !r->fit_probs)
        return pdm_err(errstr, errlen, "out of memory for predictions");
    pdm_log(PDM_LOG_INFO, "training %d rounds on %zu x %zu", params.rounds, r->fit.n, r->fr.nfeat);
    if (pdm_model_train(r->fit.rows, r->fit.labels, r->fit.n, r->fr.nfeat, r->fr.names,
                        PDM_FEATURE_SET, &params, &r->model, r->fit_probs, errstr, errlen))
        return -1;
    return choose_predictor(r->model, cfg->predictor, "the candidate", errstr, errlen);
}

/* Risk scores and positives of a block's probabilities (malloc'ed). */
static int risk_of(const row_block *b, const double *probs, double **risk, unsigned char **pos)
{
    *risk = malloc((b->n ? b->n : 1) * sizeof **risk);
    *pos = malloc(b->n ? b->n : 1);
    if (!*risk || !*pos)
        return -1;
    for (size_t i = 0; i < b->n; i++) {
        (*risk)[i] = pdm_model_risk_of(probs + i * K);
        (*pos)[i] = b->labels[i] != 0;
    }
    return 0;
}

static cJSON *thresholds_source_json(const run_state *r)
{
    cJSON *j = cJSON_CreateObject();
    const pdm_thresholds *th = &r->th;
    if (!j)
        return NULL;
    if (r->calibrated) {
        cJSON_AddStringToObject(j, "rows", "calibration");
        cJSON_AddStringToObject(
            j, "why",
            "the last training days, held out of boosting so that their scores are "
            "like live ones (in-sample scores are overconfident)");
    } else {
        cJSON_AddStringToObject(j, "rows", "fit (in-sample)");
        cJSON_AddStringToObject(j, "why", "no failure in a calibration slice (or --calibration 0)");
    }
    cJSON_AddItemToObject(j, "warn_precision", json_num(th->warn_precision));
    cJSON_AddItemToObject(j, "warn_recall", json_num(th->warn_recall));
    cJSON_AddItemToObject(j, "critical_precision", json_num(th->critical_precision));
    cJSON_AddItemToObject(j, "critical_recall", json_num(th->critical_recall));
    return j;
}

/* ---- alerting ------------------------------------------------------------------------- */

/* The replay's silence: the scorer's default --silence-after (6 h), so a
 * gap in a machine's telemetry resolves its incident as the scorer would. */
#define ALERT_SILENCE_MS (6 * PDM_MS_PER_HOUR)
/* The baseline's --renotify: the scorer's default (6 h), whatever the
 * policy's --alert-renotify. */
#define CHANGES_RENOTIFY_MS (6 * PDM_MS_PER_HOUR)

/* "100ms", "90s", "30m", "6h", "2d" or plain seconds, as the scorer's
 * durations, into milliseconds. */

/* The policy from the options over the chosen thresholds; the clear
 * thresholds are the default ratio until alert_choose_clear. */
static int alert_policy_from_options(const train_config *cfg, const pdm_thresholds *th,
                                     pdm_alert_policy *p, char *errstr, size_t errlen)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_alert_policy_init(p, th->warn, th->critical);
    /* The hold follows the horizon: an incident says "a failure within
     * the horizon", so a failure it predicted finds it still open. */
    p->min_hold_ms = (int64_t)(cfg->horizon * PDM_MS_PER_HOUR);
    /* So does the renotification: an incident says "a failure within the
     * horizon", and the crew acting on it learns nothing new from a repeat
     * inside that horizon (on the demo's fleet a 6 h repeat was 3 of every
     * 4 notifications); a CRITICAL incident that outlives a whole horizon
     * has outlived its claim, and that is worth repeating. */
    p->renotify_ms = p->min_hold_ms;
    if (cfg->alert_confirm &&
        pdm_alert_confirm_parse(cfg->alert_confirm, &p->confirm_m, &p->confirm_n, err, sizeof err))
        return pdm_err(errstr, errlen, "--alert-confirm: %s", err);
    if (cfg->alert_hold && pdm_duration_parse(cfg->alert_hold, &p->min_hold_ms))
        return pdm_err(errstr, errlen, "--alert-hold: '%s' is not a duration (e.g. 24h)",
                       cfg->alert_hold);
    if (cfg->alert_renotify && pdm_duration_parse(cfg->alert_renotify, &p->renotify_ms))
        return pdm_err(errstr, errlen, "--alert-renotify: '%s' is not a duration (e.g. 6h, 0)",
                       cfg->alert_renotify);
    return 0;
}

/* A block's scored rows for the alert evaluation (malloc'ed): risk and the
 * most likely failing component (its largest class probability). */
static alert_eval_row *alert_rows(const row_block *b, const double *probs)
{
    alert_eval_row *rows = malloc((b->n ? b->n : 1) * sizeof *rows);
    if (!rows)
        return NULL;
    for (size_t i = 0; i < b->n; i++) {
        const double *pr = probs + i * K;
        int comp = 1;
        for (int k = 2; k < K; k++)
            comp = pr[k] > pr[comp] ? k : comp;
        rows[i] = (alert_eval_row){b->machine[i], b->ts[i], pdm_model_risk_of(pr), comp};
    }
    return rows;
}

static int alert_fleet_of(const run_state *r, const row_block *b, const double *probs,
                          alert_fleet *f, char *errstr, size_t errlen)
{
    size_t n_events;
    const pdm_event *events = pdm_dataset_events(r->fr.ds, &n_events);
    alert_eval_row *rows = alert_rows(b, probs);
    if (!rows)
        return pdm_err(errstr, errlen, "out of memory for the alert evaluation");
    int rc = alert_fleet_build(rows, b->n, events, n_events, f, errstr, errlen);
    free(rows);
    return rc;
}

#define CLEAR_RULE                                                                                 \
    "warn_clear = r * warn, critical_clear = r * critical; r the highest of 1.0, 0.9, ..., 0.1 "   \
    "maximising caught failures - false incidents - overstay / horizon of the policy replayed on " \
    "the threshold rows (overstay: incident time beyond the horizon); with fewer than 5 "          \
    "failures there, or with --alert-clear, a fixed r"

/* The alert policy: options, clear thresholds chosen on the threshold rows
 * (thr, scored by thr_probs), recorded in the package. */
static int alert_choose_policy(run_state *r, const row_block *thr, const double *thr_probs,
                               char *errstr, size_t errlen)
{
    const train_config *cfg = r->cfg;
    alert_fleet f = {0};
    int64_t horizon_ms = (int64_t)(cfg->horizon * PDM_MS_PER_HOUR);
    int rc = -1;
    if (alert_policy_from_options(cfg, &r->th, &r->alert, errstr, errlen))
        goto out;
    if (alert_fleet_of(r, thr, thr_probs, &f, errstr, errlen) ||
        alert_clear_choose(&f, &r->alert, horizon_ms, ALERT_SILENCE_MS, &r->clear, errstr, errlen))
        goto out;
    if (cfg->alert_clear) {
        char *end;
        double ratio = strtod(cfg->alert_clear, &end);
        if (end == cfg->alert_clear || *end || !(ratio > 0 && ratio <= 1)) {
            pdm_err(errstr, errlen, "--alert-clear: '%s' is not a ratio in (0, 1]",
                    cfg->alert_clear);
            goto out;
        }
        r->clear_fixed = 1;
        r->clear.ratio = ratio;
        r->alert.warn_clear = ratio * r->alert.warn;
        r->alert.critical_clear = ratio * r->alert.critical;
    }
    if (pdm_model_set_alert_policy(r->model, &r->alert, CLEAR_RULE, errstr, errlen))
        goto out;
    pdm_log(PDM_LOG_INFO,
            "alert policy: clear thresholds %.4g / %.4g (ratio %g, %s), confirm %d/%d, hold "
            "%g h, renotify %g h",
            r->alert.warn_clear, r->alert.critical_clear, r->clear.ratio,
            r->clear_fixed     ? "--alert-clear"
            : r->clear.by_data ? "chosen on the threshold rows"
                               : "default: too few failures to choose",
            r->alert.confirm_m, r->alert.confirm_n, (double)r->alert.min_hold_ms / PDM_MS_PER_HOUR,
            (double)r->alert.renotify_ms / PDM_MS_PER_HOUR);
    rc = 0;
out:
    alert_fleet_free(&f);
    return rc;
}

/* The policy and --emit changes replayed over the test rows. */
static int alert_evaluate(run_state *r, char *errstr, size_t errlen)
{
    alert_fleet f = {0};
    int64_t horizon_ms = (int64_t)(r->cfg->horizon * PDM_MS_PER_HOUR);
    int rc = alert_fleet_of(r, &r->test, r->test_probs, &f, errstr, errlen);
    if (rc == 0)
        rc = alert_eval_run(&f, &r->alert, horizon_ms, ALERT_SILENCE_MS, CHANGES_RENOTIFY_MS,
                            &r->alerting, errstr, errlen);
    alert_fleet_free(&f);
    return rc;
}

static double ratio_of(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

static double hours(double ms)
{
    return ms / PDM_MS_PER_HOUR;
}

static cJSON *outcome_json(const alert_outcome *o, const alert_eval *e, int policy)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *lead = cJSON_CreateArray();
    if (!j || !lead) {
        cJSON_Delete(j);
        cJSON_Delete(lead);
        return NULL;
    }
    cJSON_AddNumberToObject(j, "notifications", (double)o->notifications);
    cJSON_AddNumberToObject(j, policy ? "incidents" : "alert_episodes", (double)o->incidents);
    cJSON_AddItemToObject(j, policy ? "incidents_per_machine_week" : "episodes_per_machine_week",
                          json_num(ratio_of((double)o->incidents, e->machine_weeks)));
    if (policy) {
        const pdm_alert_replay_stats *s = &e->policy_stats;
        cJSON_AddNumberToObject(j, "escalated", (double)s->escalated);
        cJSON_AddNumberToObject(j, "renotified", (double)s->renotified);
        cJSON *res = cJSON_AddObjectToObject(j, "resolved");
        for (int k = 1; k < PDM_ALERT_N_RESOLUTIONS; k++)
            cJSON_AddNumberToObject(res, pdm_alert_resolution_name((pdm_alert_resolution)k),
                                    (double)s->resolved[k]);
        cJSON_AddNumberToObject(res, "open_at_end", (double)s->resolved[PDM_RESOLUTION_NONE]);
        cJSON_AddNumberToObject(j, "false_incidents", (double)o->false_incidents);
        cJSON_AddNumberToObject(j, "overstay_hours", o->overstay_hours);
    }
    cJSON_AddNumberToObject(j, "failures", (double)o->failures);
    cJSON_AddNumberToObject(j, "caught", (double)o->caught);
    cJSON_AddItemToObject(j, "caught_share",
                          json_num(ratio_of((double)o->caught, (double)o->failures)));
    cJSON_AddItemToObject(j, "notifications_per_caught",
                          json_num(ratio_of((double)o->notifications, (double)o->caught)));
    cJSON_AddItemToObject(j, "lead_time_median_hours",
                          json_num(hours(alert_percentile(o->lead_ms, o->caught, 0.5))));
    cJSON_AddItemToObject(j, "lead_time_p10_hours",
                          json_num(hours(alert_percentile(o->lead_ms, o->caught, 0.1))));
    for (size_t i = 0; i < o->caught; i++)
        cJSON_AddItemToArray(lead, cJSON_CreateNumber(hours((double)o->lead_ms[i])));
    cJSON_AddItemToObject(j, "lead_times_hours", lead);
    return j;
}

/* The "alerting" entry of metrics.json and model.json. */
static cJSON *alerting_json(const run_state *r)
{
    const alert_eval *e = &r->alerting;
    const pdm_alert_policy *p = &r->alert;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON *pol = cJSON_AddObjectToObject(j, "policy");
    cJSON_AddNumberToObject(pol, "warn", p->warn);
    cJSON_AddNumberToObject(pol, "critical", p->critical);
    cJSON_AddNumberToObject(pol, "warn_clear", p->warn_clear);
    cJSON_AddNumberToObject(pol, "critical_clear", p->critical_clear);
    cJSON_AddNumberToObject(pol, "confirm_m", p->confirm_m);
    cJSON_AddNumberToObject(pol, "confirm_n", p->confirm_n);
    cJSON_AddNumberToObject(pol, "min_hold_hours", hours((double)p->min_hold_ms));
    cJSON_AddNumberToObject(pol, "renotify_hours", hours((double)p->renotify_ms));
    cJSON *cl = cJSON_AddObjectToObject(j, "clear_choice");
    cJSON_AddStringToObject(cl, "rule", CLEAR_RULE);
    cJSON_AddStringToObject(cl, "source",
                            r->clear_fixed     ? "--alert-clear"
                            : r->clear.by_data ? "chosen"
                                               : "default (too few failures)");
    cJSON_AddStringToObject(cl, "rows", r->calibrated ? "calibration" : "fit (in-sample)");
    cJSON_AddNumberToObject(cl, "failures", (double)r->clear.failures);
    cJSON_AddNumberToObject(cl, "ratio", r->clear.ratio);
    cJSON *cands = cJSON_AddArrayToObject(cl, "candidates");
    for (int c = 0; c < ALERT_CLEAR_N; c++) {
        const alert_clear_candidate *k = &r->clear.cand[c];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "ratio", k->ratio);
        cJSON_AddNumberToObject(o, "score", k->score);
        cJSON_AddNumberToObject(o, "caught", (double)k->caught);
        cJSON_AddNumberToObject(o, "false_incidents", (double)k->false_incidents);
        cJSON_AddNumberToObject(o, "overstay_hours", k->overstay_hours);
        cJSON_AddNumberToObject(o, "notifications", (double)k->notifications);
        cJSON_AddItemToArray(cands, o);
    }
    cJSON *t = cJSON_AddObjectToObject(j, "test");
    cJSON_AddNumberToObject(t, "machines", (double)e->machines);
    cJSON_AddNumberToObject(t, "machine_weeks", e->machine_weeks);
    cJSON_AddNumberToObject(t, "horizon_hours", r->cfg->horizon);
    cJSON_AddNumberToObject(t, "silence_hours", hours(ALERT_SILENCE_MS));
    cJSON_AddStringToObject(
        t, "rule",
        "policy: each machine's test rows and its maintenance and failures (first row < ts <= "
        "last row) through pdm_alert_replay, a failure caught by an incident open within the "
        "horizon before it; changes: --emit changes on the same rows, notifications = changes "
        "to WARN/CRITICAL and CRITICAL renotifies, a failure caught by a WARN/CRITICAL row "
        "within the horizon before it");
    cJSON_AddItemToObject(t, "incidents", outcome_json(&e->policy, e, 1));
    cJSON_AddItemToObject(t, "changes", outcome_json(&e->changes, e, 0));
    double per_p = ratio_of((double)e->policy.notifications, (double)e->policy.caught);
    double per_c = ratio_of((double)e->changes.notifications, (double)e->changes.caught);
    cJSON_AddItemToObject(t, "notifications_per_caught_reduction", json_num(per_c / per_p));
    cJSON_AddItemToObject(
        t, "caught_points_vs_changes",
        json_num(100 * (ratio_of((double)e->policy.caught, (double)e->policy.failures) -
                        ratio_of((double)e->changes.caught, (double)e->changes.failures))));
    return j;
}

/* Thresholds on training rows, reference histograms, test metrics,
 * metadata and the comparison with the current model. */
static int evaluate(run_state *r, char *errstr, size_t errlen)
{
    const train_config *cfg = r->cfg;
    const row_block *thr = r->calibrated ? &r->calib : &r->fit;
    double *risk = NULL;
    unsigned char *pos = NULL;
    int rc = -1;

    r->test_probs = malloc(r->test.n * K * sizeof *r->test_probs);
    if (r->calibrated)
        r->calib_probs = malloc(r->calib.n * K * sizeof *r->calib_probs);
    if (!r->test_probs || (r->calibrated && !r->calib_probs)) {
        pdm_err(errstr, errlen, "out of memory for predictions");
        goto out;
    }
    double t0 = pdm_monotonic_s();
    if (r->calibrated &&
        pdm_model_predict(r->model, r->calib.rows, r->calib.n, r->calib_probs, errstr, errlen))
        goto out;
    pdm_log(PDM_LOG_DEBUG, "evaluate: calibration predictions %.3f s", pdm_monotonic_s() - t0);
    if (risk_of(thr, r->calibrated ? r->calib_probs : r->fit_probs, &risk, &pos)) {
        pdm_err(errstr, errlen, "out of memory for predictions");
        goto out;
    }
    /* Feature references from all training rows; the risk reference from
     * the scores of rows the booster did not fit, when there are some. */
    t0 = pdm_monotonic_s();
    if (pdm_thresholds_choose(risk, pos, thr->n, &r->th, errstr, errlen) ||
        pdm_model_set_thresholds(r->model, r->th.warn, r->th.critical, PDM_THRESHOLDS_RULE, errstr,
                                 errlen) ||
        pdm_model_set_horizon(r->model, cfg->horizon, errstr, errlen))
        goto out;
    if (alert_choose_policy(r, thr, r->calibrated ? r->calib_probs : r->fit_probs, errstr, errlen))
        goto out;
    pdm_log(PDM_LOG_DEBUG, "evaluate: thresholds %.3f s", pdm_monotonic_s() - t0);
    t0 = pdm_monotonic_s();
    if (pdm_model_set_reference(r->model, r->train.rows, r->train.n, risk, thr->n, errstr, errlen))
        goto out;
    pdm_log(PDM_LOG_DEBUG, "evaluate: histograms %.3f s", pdm_monotonic_s() - t0);
    t0 = pdm_monotonic_s();
    if (pdm_model_predict(r->model, r->test.rows, r->test.n, r->test_probs, errstr, errlen))
        goto out;
    pdm_log(PDM_LOG_DEBUG, "evaluate: test predictions %.3f s", pdm_monotonic_s() - t0);
    t0 = pdm_monotonic_s();
    if (pdm_eval_compute(r->test.labels, r->test_probs, r->test.n, r->th.warn, r->th.critical,
                         &r->metrics, errstr, errlen))
        goto out;
    pdm_log(PDM_LOG_DEBUG, "evaluate: metrics %.3f s", pdm_monotonic_s() - t0);
    t0 = pdm_monotonic_s();
    if (alert_evaluate(r, errstr, errlen))
        goto out;
    pdm_log(PDM_LOG_DEBUG, "evaluate: alert policy %.3f s", pdm_monotonic_s() - t0);

    cJSON *split = cJSON_CreateObject();
    if (split) {
        cJSON_AddStringToObject(split, "cutoff", r->when);
        cJSON_AddStringToObject(split, "cutoff_source", cfg->split ? "--split" : "default");
        cJSON_AddStringToObject(split, "rule",
                                "by time only: rows with t < cutoff train, the others test; "
                                "default cutoff: midnight UTC of the day at 75% of the data's "
                                "time range. Within the training rows, rows from the "
                                "calibration cutoff on (midnight of the day at 1 - "
                                "calibration share of their range) choose the thresholds and "
                                "the others fit the booster");
        cJSON_AddNumberToObject(split, "calibration_share", cfg->calibration);
        if (r->calibrated)
            cJSON_AddStringToObject(split, "calibration_cutoff", r->calib_when);
        else
            cJSON_AddNullToObject(split, "calibration_cutoff");
    }
    if (pdm_model_set_info(r->model, "label_rule", cJSON_CreateString(LABEL_RULE), errstr,
                           errlen) ||
        pdm_model_set_info(r->model, "split", split, errstr, errlen) ||
        pdm_model_set_info(r->model, "train", block_json(&r->train), errstr, errlen) ||
        pdm_model_set_info(r->model, "fit", block_json(&r->fit), errstr, errlen) ||
        pdm_model_set_info(r->model, "calibration",
                           r->calibrated ? block_json(&r->calib) : cJSON_CreateNull(), errstr,
                           errlen) ||
        pdm_model_set_info(r->model, "test", block_json(&r->test), errstr, errlen) ||
        pdm_model_set_info(r->model, "thresholds_source", thresholds_source_json(r), errstr,
                           errlen) ||
        pdm_model_set_info(r->model, "metrics", pdm_eval_to_json(&r->metrics), errstr, errlen) ||
        pdm_model_set_info(r->model, "alerting", alerting_json(r), errstr, errlen))
        goto out;
    if (cfg->promote &&
        compare_with_current(cfg, r->model, &r->metrics, &r->test, &r->promo, errstr, errlen))
        goto out;
    rc = 0;
out:
    free(risk);
    free(pos);
    return rc;
}

/* The report's alerting section (its arrays owned here). */
typedef struct {
    pdm_report_alerting section;
    pdm_report_alert_figure figures[9];
    double *lead[2]; /* hours: policy, changes */
    char policy[512];
} report_alert;

static int report_alerting(const run_state *r, report_alert *ra)
{
    const alert_eval *e = &r->alerting;
    const alert_outcome *o[2] = {&e->policy, &e->changes};
    double v[2][7];
    for (int s = 0; s < 2; s++) {
        ra->lead[s] = malloc((o[s]->caught ? o[s]->caught : 1) * sizeof(double));
        if (!ra->lead[s])
            return -1;
        for (size_t i = 0; i < o[s]->caught; i++)
            ra->lead[s][i] = hours((double)o[s]->lead_ms[i]);
        v[s][0] = (double)o[s]->notifications;
        v[s][1] = (double)o[s]->incidents;
        v[s][2] = ratio_of((double)o[s]->incidents, e->machine_weeks);
        v[s][3] = (double)o[s]->caught;
        v[s][4] = 100 * ratio_of((double)o[s]->caught, (double)o[s]->failures);
        v[s][5] = ratio_of((double)o[s]->notifications, (double)o[s]->caught);
        v[s][6] = hours(alert_percentile(o[s]->lead_ms, o[s]->caught, 0.5));
    }
    static const char *const names[] = {
        "alerting notifications",  "incidents / alert episodes", "per machine-week",
        "failures caught",         "% of failures caught",       "notifications per caught failure",
        "median lead time (hours)"};
    for (int i = 0; i < 7; i++)
        ra->figures[i] = (pdm_report_alert_figure){names[i], v[0][i], v[1][i]};
    ra->figures[7] =
        (pdm_report_alert_figure){"10th percentile lead time (hours)",
                                  hours(alert_percentile(o[0]->lead_ms, o[0]->caught, 0.1)),
                                  hours(alert_percentile(o[1]->lead_ms, o[1]->caught, 0.1))};
    ra->figures[8] =
        (pdm_report_alert_figure){"false incidents", (double)e->policy.false_incidents, NAN};
    snprintf(ra->policy, sizeof ra->policy,
             "%zu failures on %zu machines over %.1f machine-weeks. Policy: confirm %d/%d, hold "
             "%g h, renotify %g h, clear thresholds %.4g / %.4g (%g of WARN / CRITICAL); "
             "changes: a notification per change to WARN or CRITICAL and per CRITICAL renotify.",
             e->policy.failures, e->machines, e->machine_weeks, r->alert.confirm_m,
             r->alert.confirm_n, hours((double)r->alert.min_hold_ms),
             hours((double)r->alert.renotify_ms), r->alert.warn_clear, r->alert.critical_clear,
             r->clear.ratio);
    ra->section = (pdm_report_alerting){ra->policy,   ra->figures, 9,           ra->lead[0],
                                        o[0]->caught, ra->lead[1], o[1]->caught};
    return 0;
}

/* metrics.json, promotion.json, report.html; the package(s); the link swap;
 * the MLflow run. */
static int write_outputs(run_state *r, char *errstr, size_t errlen)
{
    const train_config *cfg = r->cfg;
    cJSON *metrics_doc = NULL, *promo_doc = NULL;
    report_alert ra = {0};
    int rc = -1;

    if (pdm_model_seal(r->model, errstr, errlen))
        goto out;
    const char *version = pdm_model_version(r->model);
    metrics_doc = cJSON_CreateObject();
    if (!metrics_doc)
        goto oom;
    cJSON_AddStringToObject(metrics_doc, "version", version);
    cJSON_AddStringToObject(metrics_doc, "split", r->when);
    cJSON_AddItemToObject(metrics_doc, "test", pdm_eval_to_json(&r->metrics));
    cJSON_AddItemToObject(metrics_doc, "alerting", alerting_json(r));
    cJSON_AddItemToObject(
        metrics_doc, "thresholds_source",
        cJSON_Duplicate(cJSON_GetObjectItem(pdm_model_metadata(r->model), "thresholds_source"), 1));
    if (r->promo.requested) {
        promo_doc =
            promotion_json(&r->promo, version, &r->metrics, cfg->promote, cfg->promotion_rule_text);
        if (!promo_doc)
            goto oom;
        cJSON_AddItemToObject(metrics_doc, "promotion", cJSON_Duplicate(promo_doc, 1));
        if (json_file(promo_doc, &r->files[r->nfiles++], "promotion.json"))
            goto oom;
    }
    if (json_file(metrics_doc, &r->files[r->nfiles++], "metrics.json"))
        goto oom;
    if (report_alerting(r, &ra) ||
        add_report(cfg, r->model, &r->metrics, &r->train, &r->test, r->test_probs, r->fr.ds,
                   r->when, &ra.section, r->files, &r->nfiles, errstr, errlen))
        goto out;
    if (cfg->out && pdm_model_save(r->model, cfg->out, r->files, r->nfiles, errstr, errlen))
        goto out;
    if (cfg->promote) {
        snprintf(r->version_dir, sizeof r->version_dir, "%s/%s", cfg->promote, version);
        if (pdm_model_save(r->model, r->version_dir, r->files, r->nfiles, errstr, errlen))
            goto out;
        if (r->promo.promote && pdm_model_make_current(cfg->promote, version, errstr, errlen))
            goto out;
    }
    if (cfg->mlruns && record_run(cfg, r->model, &r->metrics, &r->alerting, &r->tm, r->when,
                                  cfg->out ? cfg->out : r->version_dir, r->promo.promote, r->run_id,
                                  errstr, errlen))
        goto out;
    rc = 0;
    goto out;
oom:
    pdm_err(errstr, errlen, "out of memory");
out:
    cJSON_Delete(metrics_doc);
    cJSON_Delete(promo_doc);
    free(ra.lead[0]);
    free(ra.lead[1]);
    return rc;
}

static void print_outcome(FILE *out, const char *name, const alert_outcome *o, const char *what)
{
    fprintf(out,
            "  %-9s %5zu notifications, %5zu %s, caught %zu of %zu failures (%.1f%%): %.2f "
            "notifications per caught failure; lead time median %.1f h, 10th percentile %.1f h\n",
            name, o->notifications, o->incidents, what, o->caught, o->failures,
            100 * ratio_of((double)o->caught, (double)o->failures),
            ratio_of((double)o->notifications, (double)o->caught),
            hours(alert_percentile(o->lead_ms, o->caught, 0.5)),
            hours(alert_percentile(o->lead_ms, o->caught, 0.1)));
}

static void print_alerting(const run_state *r, FILE *out)
{
    const alert_eval *e = &r->alerting;
    const pdm_alert_policy *p = &r->alert;
    fprintf(out,
            "alerting on the test rows (%zu machines, %.1f machine-weeks): policy confirm %d/%d, "
            "hold %g h, renotify %g h, clear %.4g / %.4g (ratio %g, %s)\n",
            e->machines, e->machine_weeks, p->confirm_m, p->confirm_n,
            hours((double)p->min_hold_ms), hours((double)p->renotify_ms), p->warn_clear,
            p->critical_clear, r->clear.ratio,
            r->clear_fixed     ? "--alert-clear"
            : r->clear.by_data ? "chosen"
                               : "default: too few failures");
    print_outcome(out, "incidents", &e->policy, "incidents");
    fprintf(out,
            "            %zu opened, %zu escalated, %zu renotified; %.2f incidents per "
            "machine-week, %zu false incidents\n",
            e->policy_stats.incidents, e->policy_stats.escalated, e->policy_stats.renotified,
            ratio_of((double)e->policy.incidents, e->machine_weeks), e->policy.false_incidents);
    print_outcome(out, "changes", &e->changes, "episodes");
    /* Issue 15's measure: notifications per caught failure, changes over
     * incidents, and the difference in the share of failures caught. */
    double per_policy = ratio_of((double)e->policy.notifications, (double)e->policy.caught);
    double per_changes = ratio_of((double)e->changes.notifications, (double)e->changes.caught);
    fprintf(out,
            "  incidents: %.2fx fewer notifications per caught failure than changes, caught "
            "%+.1f points\n",
            ratio_of(per_changes, per_policy),
            100 * (ratio_of((double)e->policy.caught, (double)e->policy.failures) -
                   ratio_of((double)e->changes.caught, (double)e->changes.failures)));
}

static int print_summary(const run_state *r, FILE *out, double total)
{
    const pdm_thresholds *th = &r->th;
    pdm_buf table = {0};
    if (pdm_eval_format(&r->metrics, &table))
        return -1;
    fprintf(out, "model %s: %zu features (set %s), horizon %g h\n", pdm_model_version(r->model),
            r->fr.nfeat, PDM_FEATURE_SET, r->cfg->horizon);
    fprintf(out,
            "split at %s: training rows %zu (%zu with a failure), test rows %zu (%zu with a "
            "failure)\n",
            r->when, r->train.n, failures(&r->train), r->test.n, failures(&r->test));
    if (r->calibrated)
        fprintf(out,
                "booster fit on %zu rows before %s; thresholds chosen on the %zu training "
                "rows from then on (%zu with a failure)\n",
                r->fit.n, r->calib_when, r->calib.n, failures(&r->calib));
    else
        fprintf(out,
                "booster fit on all %zu training rows; thresholds chosen on their in-sample "
                "scores\n",
                r->fit.n);
    fprintf(out,
            "thresholds: WARN %.4f (precision %.3f, recall %.3f there), CRITICAL %.4f "
            "(precision %.3f, recall %.3f there)\n",
            th->warn, th->warn_precision, th->warn_recall, th->critical, th->critical_precision,
            th->critical_recall);
    const pdm_predictor_check *c = pdm_model_predictor_check(r->model);
    if (pdm_model_predictor(r->model) == PDM_PREDICTOR_NATIVE)
        fprintf(out,
                "predictor: native (checked against xgboost on %zu rows: max |diff| %.3g, %zu of "
                "%zu values identical)\n",
                c->rows, c->max_abs_diff, c->identical, c->values);
    else if (c->checked || c->reason[0])
        fprintf(out, "predictor: xgboost (native refused: %s)\n", c->reason);
    else
        fprintf(out, "predictor: xgboost\n");
    fprintf(out, "test metrics:\n%s", table.data);
    print_alerting(r, out);
    if (r->cfg->out)
        fprintf(out, "package: %s\n", r->cfg->out);
    if (r->promo.requested)
        fprintf(out, "promotion: %s: %s (%s)\n", r->promo.promote ? "PROMOTED" : "NOT PROMOTED",
                r->promo.reason, r->version_dir);
    fprintf(out,
            "timings (s): load %.3f  features %.3f  train %.3f  evaluate %.3f  write %.3f  "
            "total %.3f\n",
            r->tm.load, r->tm.features, r->tm.train, r->tm.evaluate, r->tm.write, total);
    fflush(out);
    pdm_buf_free(&table);
    return 0;
}

static void fill_result(const run_state *r, train_result *res)
{
    memset(res, 0, sizeof *res);
    snprintf(res->version, sizeof res->version, "%s", pdm_model_version(r->model));
    snprintf(res->package_dir, sizeof res->package_dir, "%s",
             r->cfg->out ? r->cfg->out : r->version_dir);
    res->promote_requested = r->promo.requested;
    res->has_current = r->promo.has_current;
    res->comparable = r->promo.comparable;
    res->promoted = r->promo.promote;
    snprintf(res->current_version, sizeof res->current_version, "%s", r->promo.current_version);
    res->candidate = r->metrics;
    res->current = r->promo.current;
    snprintf(res->split, sizeof res->split, "%s", r->when);
    snprintf(res->reason, sizeof res->reason, "%s", r->promo.reason);
    snprintf(res->run_id, sizeof res->run_id, "%s", r->run_id);
}

int trainer_run(const train_config *cfg, FILE *out, char *errstr, size_t errlen)
{
    return trainer_run_result(cfg, NULL, out, errstr, errlen);
}

int trainer_run_result(const train_config *cfg, train_result *result, FILE *out, char *errstr,
                       size_t errlen)
{
    run_state r = {0};
    double t0, t_all = pdm_monotonic_s();
    int rc = -1;

    r.cfg = cfg;
    if (!(cfg->horizon > 0))
        return pdm_err(errstr, errlen, "--horizon must be > 0 hours");
    if (load_features(cfg, &r.fr, &r.tm, errstr, errlen))
        goto out;
    t0 = pdm_monotonic_s();
    if (split_data(&r, errstr, errlen))
        goto out;
    r.tm.evaluate = pdm_monotonic_s() - t0;
    t0 = pdm_monotonic_s();
    if (fit_model(&r, errstr, errlen))
        goto out;
    r.tm.train = pdm_monotonic_s() - t0;
    t0 = pdm_monotonic_s();
    if (evaluate(&r, errstr, errlen))
        goto out;
    r.tm.evaluate += pdm_monotonic_s() - t0;
    t0 = pdm_monotonic_s();
    if (write_outputs(&r, errstr, errlen))
        goto out;
    r.tm.write = pdm_monotonic_s() - t0;
    if (print_summary(&r, out, pdm_monotonic_s() - t_all)) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    if (result)
        fill_result(&r, result);
    rc = 0;
out:
    run_free(&r);
    return rc;
}
