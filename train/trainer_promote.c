/* trainer_promote.c: --predictor for a model, and --promote's comparison of
 * the candidate with the current model on the same test rows (the rule is
 * pdm_model_promotion_decide or the caller's, e.g. pdm-retrain's margin). */
#include <stdlib.h>
#include <string.h>

#include "trainer_internal.h"

/* Switches a model to the --predictor; a refused native predictor is logged
 * and the model stays on XGBoost (the package records the refusal). */
int choose_predictor(pdm_model *m, const char *name, const char *which, char *errstr, size_t errlen)
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
int compare_with_current(const train_config *cfg, const pdm_model *candidate,
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

cJSON *promotion_json(const promotion *p, const char *candidate_version, const pdm_eval *cand,
                      const char *models_dir, const char *rule)
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
