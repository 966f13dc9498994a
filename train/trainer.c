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
 * The steps live in trainer_data.c (loading, splitting), trainer_promote.c,
 * trainer_alerting.c and trainer_report.c (trainer_internal.h lists them).
 *
 * Decision for tiny data (e.g. two machines of the public data set): the
 * trainer runs as long as the training rows hold at least one failure row
 * and there is at least one test row; metrics that the test rows cannot
 * define (no failure among them) are reported as null. Otherwise it fails
 * with a message saying what is missing. */
#include <stdlib.h>
#include <string.h>

#include "trainer_internal.h"

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
