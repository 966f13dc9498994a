/* rules.c: pdm-retrain's decisions as pure functions (pdm_retrain.h): the
 * triggers, the promotion rule, the shadow gate and the archive's day range.
 * No I/O: the program feeds them what it observed. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pdm_archive.h"
#include "pdm_common.h"
#include "pdm_retrain.h"

const char *pdm_retrain_trigger_name(pdm_retrain_trigger t)
{
    switch (t) {
    case PDM_RETRAIN_RECALL:
        return "recall";
    case PDM_RETRAIN_DRIFT:
        return "drift";
    case PDM_RETRAIN_SCHEDULE:
        return "schedule";
    case PDM_RETRAIN_FORCED:
        return "forced";
    case PDM_RETRAIN_NONE:
        break;
    }
    return "none";
}

int pdm_retrain_schedule_due(int64_t now_ms, int64_t model_ms, int64_t last_run_ms,
                             int64_t interval_ms, char *reason, size_t reason_len)
{
    char when[32];
    if (interval_ms <= 0) {
        snprintf(reason, reason_len, "schedule: off");
        return 0;
    }
    int64_t since = model_ms > last_run_ms ? model_ms : last_run_ms;
    if (since == INT64_MIN) {
        snprintf(reason, reason_len, "schedule: no current model and no earlier run");
        return 1;
    }
    const char *what = since == model_ms ? "the current model was trained" : "the last run";
    double hours = (double)(now_ms - since) / (double)PDM_MS_PER_HOUR;
    int due = now_ms - since >= interval_ms;
    snprintf(reason, reason_len, "schedule: %s at %s, %.2f h ago (every %.2f h): %s", what,
             pdm_time_format(since, when), hours, (double)interval_ms / (double)PDM_MS_PER_HOUR,
             due ? "due" : "not due");
    return due;
}

static double json_number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void view_reset(pdm_retrain_scorer_view *v)
{
    memset(v, 0, sizeof *v);
    v->max_psi = v->recall = v->precision = NAN;
}

static int parse_features(const cJSON *feats, double psi_level, pdm_retrain_scorer_view *out)
{
    const cJSON *f;
    if (!feats)
        return 0;
    if (!cJSON_IsArray(feats))
        return -1;
    cJSON_ArrayForEach(f, feats)
    {
        double psi = json_number(f, "psi");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
        if (isnan(psi))
            continue;
        if (psi > psi_level)
            out->features_above++;
        if (isnan(out->max_psi) || psi > out->max_psi) {
            out->max_psi = psi;
            snprintf(out->worst_feature, sizeof out->worst_feature, "%s",
                     cJSON_IsString(name) ? name->valuestring : "?");
        }
    }
    return 0;
}

int pdm_retrain_parse_drift(const char *json, double psi_level, pdm_retrain_scorer_view *out,
                            char *errstr, size_t errlen)
{
    int rc = -1;
    view_reset(out);
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        pdm_err(errstr, errlen, "/v1/drift: not a JSON object");
        goto out;
    }
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "model_version");
    if (cJSON_IsString(version))
        snprintf(out->model_version, sizeof out->model_version, "%s", version->valuestring);
    const cJSON *drift = cJSON_GetObjectItemCaseSensitive(root, "drift");
    if (cJSON_IsObject(drift)) {
        out->drift_ready = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(drift, "ready"));
        double w = json_number(drift, "windows");
        out->windows = isfinite(w) && w > 0 ? (uint64_t)w : 0;
        if (parse_features(cJSON_GetObjectItemCaseSensitive(drift, "features"), psi_level, out)) {
            pdm_err(errstr, errlen, "/v1/drift: drift.features is not an array");
            goto out;
        }
    } else if (drift && !cJSON_IsNull(drift)) {
        pdm_err(errstr, errlen, "/v1/drift: drift is not an object");
        goto out;
    }
    const cJSON *perf = cJSON_GetObjectItemCaseSensitive(root, "performance");
    const cJSON *rolling = cJSON_GetObjectItemCaseSensitive(perf, "rolling");
    if (cJSON_IsObject(rolling)) {
        out->recall = json_number(rolling, "recall");
        out->precision = json_number(rolling, "precision");
        double caught = json_number(rolling, "caught"), missed = json_number(rolling, "missed");
        if (isfinite(caught) && isfinite(missed) && caught >= 0 && missed >= 0)
            out->failures_resolved = (uint64_t)caught + (uint64_t)missed;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int pdm_retrain_drift_record(pdm_retrain_drift_history *h, const pdm_retrain_scorer_view *v)
{
    if (!v->drift_ready || v->windows == 0)
        return 0;
    if (strcmp(h->model_version, v->model_version) != 0 ||
        (h->n > 0 && v->windows < h->window[h->n - 1])) {
        memset(h, 0, sizeof *h);
        snprintf(h->model_version, sizeof h->model_version, "%s", v->model_version);
    }
    if (h->n > 0 && h->window[h->n - 1] == v->windows)
        return 0;
    if (h->n == PDM_RETRAIN_DRIFT_HISTORY) {
        memmove(h->window, h->window + 1, (h->n - 1) * sizeof *h->window);
        memmove(h->above, h->above + 1, (h->n - 1) * sizeof *h->above);
        h->n--;
    }
    h->window[h->n] = v->windows;
    h->above[h->n] = v->features_above;
    h->n++;
    return 1;
}

int pdm_retrain_drift_due(const pdm_retrain_drift_history *h, int features, int windows,
                          char *reason, size_t reason_len)
{
    if (features <= 0 || windows <= 0) {
        snprintf(reason, reason_len, "drift: off");
        return 0;
    }
    if (windows > PDM_RETRAIN_DRIFT_HISTORY)
        windows = PDM_RETRAIN_DRIFT_HISTORY;
    size_t run = 0; /* newest windows in a row with enough features above */
    while (run < h->n && h->above[h->n - 1 - run] >= features)
        run++;
    int due = run >= (size_t)windows;
    snprintf(reason, reason_len,
             "drift: %zu window(s) seen of model %s, the last %zu in a row with >= %d feature(s) "
             "above the PSI level (need %d): %s",
             h->n, h->model_version[0] ? h->model_version : "(none)", run, features, windows,
             due ? "due" : "not due");
    return due;
}

int pdm_retrain_recall_due(const pdm_retrain_scorer_view *v, double min_recall,
                           uint64_t min_failures, char *reason, size_t reason_len)
{
    if (!(min_recall > 0)) {
        snprintf(reason, reason_len, "recall: off");
        return 0;
    }
    if (v->failures_resolved < min_failures || isnan(v->recall)) {
        snprintf(reason, reason_len,
                 "recall: %llu failure(s) resolved in the scorer's window, need %llu to judge",
                 (unsigned long long)v->failures_resolved, (unsigned long long)min_failures);
        return 0;
    }
    int due = v->recall < min_recall;
    snprintf(reason, reason_len, "recall: live %.4f over %llu failure(s) vs level %.4f: %s",
             v->recall, (unsigned long long)v->failures_resolved, min_recall,
             due ? "due" : "not due");
    return due;
}

pdm_retrain_trigger pdm_retrain_first_due(int forced, int recall_due, int drift_due,
                                          int schedule_due)
{
    if (forced)
        return PDM_RETRAIN_FORCED;
    if (recall_due)
        return PDM_RETRAIN_RECALL;
    if (drift_due)
        return PDM_RETRAIN_DRIFT;
    if (schedule_due)
        return PDM_RETRAIN_SCHEDULE;
    return PDM_RETRAIN_NONE;
}

void pdm_retrain_promotion_options_init(pdm_retrain_promotion_options *o)
{
    o->min_pr_auc_gain = 0.01;
    o->max_precision_loss = 0.02;
}

int pdm_retrain_promotion_decide(const pdm_eval *candidate, const pdm_eval *current,
                                 const pdm_retrain_promotion_options *o, char *reason,
                                 size_t reason_len)
{
    if (isnan(candidate->pr_auc)) {
        snprintf(reason, reason_len,
                 "no failure in the held-out rows (PR AUC undefined): keep the current model");
        return 0;
    }
    double cur_auc = isnan(current->pr_auc) ? 0 : current->pr_auc;
    int auc_ok = candidate->pr_auc >= cur_auc + o->min_pr_auc_gain;
    int prec_ok;
    if (isnan(current->warn_precision))
        prec_ok = 1;
    else if (isnan(candidate->warn_precision))
        prec_ok = 0;
    else
        prec_ok = candidate->warn_precision >= current->warn_precision - o->max_precision_loss;
    snprintf(reason, reason_len,
             "PR AUC %.4f vs current %.4f (need +%.4f: %s), WARN precision %.4f vs current %.4f "
             "(may drop %.4f: %s): %s",
             candidate->pr_auc, current->pr_auc, o->min_pr_auc_gain, auc_ok ? "ok" : "not enough",
             candidate->warn_precision, current->warn_precision, o->max_precision_loss,
             prec_ok ? "ok" : "worse", auc_ok && prec_ok ? "promote" : "keep the current model");
    return auc_ok && prec_ok;
}

/* A live figure of the shadow model below the current model's. */
static int below(double shadow, double current)
{
    return !isnan(current) && (isnan(shadow) || shadow < current);
}

pdm_retrain_shadow_verdict pdm_retrain_shadow_decide(double required_hours,
                                                     const pdm_retrain_shadow *s,
                                                     const char *candidate_version, char *reason,
                                                     size_t reason_len)
{
    if (!(required_hours > 0)) {
        snprintf(reason, reason_len, "shadow: not required");
        return PDM_RETRAIN_SHADOW_PROMOTE;
    }
    if (!s->available) {
        snprintf(reason, reason_len,
                 "shadow: %.1f h required but the scorer reports no shadow model (GET /v1/models; "
                 "run it with --shadow-model MODELS_DIR/shadow): hold",
                 required_hours);
        return PDM_RETRAIN_SHADOW_HOLD;
    }
    if (strcmp(s->version, candidate_version) != 0) {
        snprintf(reason, reason_len, "shadow: the scorer shadows %s, not the candidate %s: hold",
                 s->version[0] ? s->version : "(none)", candidate_version);
        return PDM_RETRAIN_SHADOW_HOLD;
    }
    if (!(s->hours >= required_hours)) {
        snprintf(reason, reason_len, "shadow: %.1f h of %.1f h required: hold",
                 isnan(s->hours) ? 0.0 : s->hours, required_hours);
        return PDM_RETRAIN_SHADOW_HOLD;
    }
    int worse = below(s->recall, s->current_recall) || below(s->precision, s->current_precision);
    snprintf(reason, reason_len,
             "shadow: %.1f h, recall %.4f vs current %.4f, precision %.4f vs current %.4f: %s",
             s->hours, s->recall, s->current_recall, s->precision, s->current_precision,
             worse ? "worse, rejected" : "ok");
    return worse ? PDM_RETRAIN_SHADOW_REJECT : PDM_RETRAIN_SHADOW_PROMOTE;
}

int pdm_retrain_shadow_ok(double required_hours, const pdm_retrain_shadow *s,
                          const char *candidate_version, char *reason, size_t reason_len)
{
    return pdm_retrain_shadow_decide(required_hours, s, candidate_version, reason, reason_len) ==
           PDM_RETRAIN_SHADOW_PROMOTE;
}

/* The "all" figures of a /v1/models model's performance. */
static void model_figures(const cJSON *model, double *precision, double *recall)
{
    const cJSON *perf = cJSON_GetObjectItemCaseSensitive(model, "performance");
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(perf, "all");
    *precision = json_number(all, "precision");
    *recall = json_number(all, "recall");
}

int pdm_retrain_parse_models(const char *json, pdm_retrain_shadow *out, char *errstr,
                             size_t errlen)
{
    int rc = -1;
    memset(out, 0, sizeof *out);
    out->hours = out->precision = out->recall = NAN;
    out->current_precision = out->current_recall = NAN;
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        pdm_err(errstr, errlen, "/v1/models: not a JSON object");
        goto out;
    }
    const cJSON *shadow = cJSON_GetObjectItemCaseSensitive(root, "shadow");
    if (!shadow || cJSON_IsNull(shadow)) {
        rc = 0;
        goto out;
    }
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(shadow, "version");
    const cJSON *current = cJSON_GetObjectItemCaseSensitive(root, "current");
    if (!cJSON_IsObject(shadow) || !cJSON_IsString(version) || !cJSON_IsObject(current)) {
        pdm_err(errstr, errlen, "/v1/models: shadow is not an object with a version beside "
                                "a current object");
        goto out;
    }
    out->available = 1;
    snprintf(out->version, sizeof out->version, "%s", version->valuestring);
    out->hours = json_number(shadow, "hours");
    model_figures(shadow, &out->precision, &out->recall);
    model_figures(current, &out->current_precision, &out->current_recall);
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int pdm_retrain_days(const char *newest, int days, int holdout_days, char *from_day,
                     char *split_day, char *errstr, size_t errlen)
{
    int64_t end;
    if (!newest || pdm_archive_day_parse(newest, &end))
        return pdm_err(errstr, errlen, "'%s' is not a day (YYYY-MM-DD)", newest ? newest : "");
    if (days < 1)
        return pdm_err(errstr, errlen, "--days must be at least 1");
    if (holdout_days >= days)
        return pdm_err(errstr, errlen, "--holdout-days (%d) must be below --days (%d)",
                       holdout_days, days);
    pdm_archive_day_name(end - (int64_t)(days - 1) * PDM_MS_PER_DAY, from_day);
    if (holdout_days > 0)
        pdm_archive_day_name(end - (int64_t)(holdout_days - 1) * PDM_MS_PER_DAY, split_day);
    else
        split_day[0] = '\0';
    return 0;
}
