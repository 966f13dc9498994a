/* trainer_alerting.c: the alert policy the package records (options over
 * the chosen thresholds, clear thresholds chosen on the threshold rows), and
 * its replay against --emit changes on the test rows (alert_eval.c), as
 * JSON for metrics.json and model.json and as the summary's lines. */
#include <stdlib.h>

#include "trainer_internal.h"

/* The replay's silence: the scorer's default --silence-after (6 h), so a
 * gap in a machine's telemetry resolves its incident as the scorer would. */
#define ALERT_SILENCE_MS (6 * PDM_MS_PER_HOUR)

/* The baseline's --renotify: the scorer's default (6 h), whatever the
 * policy's --alert-renotify. */
#define CHANGES_RENOTIFY_MS (6 * PDM_MS_PER_HOUR)

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
int alert_choose_policy(run_state *r, const row_block *thr, const double *thr_probs, char *errstr,
                        size_t errlen)
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
int alert_evaluate(run_state *r, char *errstr, size_t errlen)
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
cJSON *alerting_json(const run_state *r)
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

void print_alerting(const run_state *r, FILE *out)
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
