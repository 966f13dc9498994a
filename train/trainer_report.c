/* trainer_report.c: what the trainer hands to the report module
 * (report.html: data, metrics, curves, importance, risk series of failing
 * test machines, the alerting section) and to the MLflow run record. */
#include <stdlib.h>
#include <string.h>

#include "pdm_tracking.h"
#include "trainer_internal.h"

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
int add_report(const train_config *cfg, pdm_model *model, const pdm_eval *m, const row_block *train,
               const row_block *test, const double *test_probs, const pdm_dataset *ds,
               const char *cutoff, const pdm_report_alerting *alerting, pdm_model_file *files,
               size_t *nfiles, char *errstr, size_t errlen)
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
int record_run(const train_config *cfg, pdm_model *model, const pdm_eval *m, const alert_eval *al,
               const timings *tm, const char *cutoff, const char *package_dir, int promoted,
               char *run_id, char *errstr, size_t errlen)
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

int report_alerting(const run_state *r, report_alert *ra)
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
