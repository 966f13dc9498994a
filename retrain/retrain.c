/* retrain.c: one pdm-retrain evaluation and its actions.
 *
 * Observe (state file, current model, the scorer's /v1/drift), decide with
 * the pure rules of rules.c, then act: export the archive's last days,
 * train a candidate with the trainer's library (trainer.h, the code
 * pdm-train runs) on them with `--promote MODELS_DIR`, so the candidate and
 * the current model are scored on the same held-out rows and the atomic
 * `current` link is swapped by the trainer's promotion code, with this
 * program's rule (pdm_retrain_promotion_decide) as the decision. Every run
 * that trains (or fails to) and every rollback is an MLflow run of its
 * own; the trainer records the candidate's run (params, metrics, package)
 * beside it. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pdm_archive.h"
#include "pdm_tracking.h"
#include "retrain_internal.h"

/* What one evaluation saw and did, for the report and the MLflow run. */
typedef struct {
    pdm_retrain_trigger trigger;
    char reasons[4][600];      /* schedule, drift, recall, shadow */
    char current_version[256]; /* the directory name `current` points to */
    char model_version[256];   /* the candidate, or the version rolled back to */
    char from[PDM_ARCHIVE_DAY_SIZE], to[PDM_ARCHIVE_DAY_SIZE], split[PDM_ARCHIVE_DAY_SIZE];
    int days;
    const char *decision; /* "promoted", "kept", "failed" */
    train_result result;
    int trained;
    int held_for_shadow; /* the margins let it through, the shadow gate held it */
    char error[PDM_ERRSTR_SIZE];
} run_report;

/* The promotion rule handed to the trainer: the margin rule, then the
 * shadow gate (a candidate trained just now has never been shadowed, so a
 * required shadow period always holds it: it then goes on trial as
 * MODELS/shadow, see shadow_trial). */
typedef struct {
    const retrain_config *cfg;
    pdm_retrain_promotion_options opt;
    pdm_retrain_shadow shadow;
    char *shadow_reason;
    size_t shadow_reason_len;
    int margin_ok; /* the margin rule let the candidate through */
} rule_ctx;

static int promotion_rule(void *ctx, const pdm_eval *candidate, const pdm_eval *current,
                          char *reason, size_t reason_len)
{
    rule_ctx *rc = ctx;
    char why[400];
    int ok = pdm_retrain_promotion_decide(candidate, current, &rc->opt, why, sizeof why);
    rc->margin_ok = ok;
    int shadow_ok = pdm_retrain_shadow_ok(rc->cfg->shadow_hours, &rc->shadow, "(new candidate)",
                                          rc->shadow_reason, rc->shadow_reason_len);
    if (ok && !shadow_ok)
        snprintf(reason, reason_len, "%s; but %s", why, rc->shadow_reason);
    else
        snprintf(reason, reason_len, "%s", why);
    return ok && shadow_ok;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Decides the trigger; fills r->reasons. Updates state->drift. */
static void decide(const retrain_config *cfg, retrain_state *state, int64_t model_ms, run_report *r)
{
    int drift_due = 0, recall_due = 0;
    char err[PDM_ERRSTR_SIZE];
    int sched_due = pdm_retrain_schedule_due(pdm_now_ms(), model_ms, state->last_run_ms,
                                             cfg->every_ms, r->reasons[0], sizeof r->reasons[0]);
    snprintf(r->reasons[1], sizeof r->reasons[1], "drift: off");
    snprintf(r->reasons[2], sizeof r->reasons[2], "recall: off");
    if (cfg->scorer) {
        pdm_retrain_scorer_view v;
        if (retrain_read_scorer(cfg, &v, err, sizeof err)) {
            snprintf(r->reasons[1], sizeof r->reasons[1], "drift: scorer not read: %s", err);
            snprintf(r->reasons[2], sizeof r->reasons[2], "recall: scorer not read");
        } else {
            pdm_retrain_drift_record(&state->drift, &v);
            drift_due =
                pdm_retrain_drift_due(&state->drift, (int)cfg->drift_features,
                                      (int)cfg->drift_windows, r->reasons[1], sizeof r->reasons[1]);
            if (v.drift_ready && cfg->drift_features > 0) {
                size_t n = strlen(r->reasons[1]);
                snprintf(r->reasons[1] + n, sizeof r->reasons[1] - n,
                         " (window %llu: %d feature(s) above %.3f, highest %s %.3f)",
                         (unsigned long long)v.windows, v.features_above, cfg->drift_psi,
                         v.worst_feature, v.max_psi);
            }
            recall_due = pdm_retrain_recall_due(&v, cfg->min_recall, (uint64_t)cfg->min_failures,
                                                r->reasons[2], sizeof r->reasons[2]);
        }
    }
    r->trigger = pdm_retrain_first_due(cfg->force, recall_due, drift_due, sched_due);
}

/* Exports the days, trains with --promote, fills r->result. */
static int train_candidate(const retrain_config *cfg, run_report *r, FILE *out, char *errstr,
                           size_t errlen)
{
    char tmpl[4200], split[32];
    char *export_dir = NULL;
    int rc = -1;
    rule_ctx ctx = {.cfg = cfg};

    snprintf(tmpl, sizeof tmpl, "%s/pdm-retrain-XXXXXX", cfg->work ? cfg->work : "/tmp");
    export_dir = mkdtemp(tmpl);
    if (!export_dir) {
        pdm_err(errstr, errlen, "--work: cannot create %s: %s", tmpl, strerror(errno));
        goto out;
    }
    if (pdm_archive_export(cfg->archive, r->from, r->to, export_dir, &r->days, errstr, errlen))
        goto out;
    fprintf(out, "exported %d day(s) %s..%s of %s\n", r->days, r->from, r->to, cfg->archive);
    pdm_retrain_promotion_options_init(&ctx.opt);
    ctx.opt.min_pr_auc_gain = cfg->min_gain;
    ctx.opt.max_precision_loss = cfg->max_precision_loss;
    retrain_read_shadow(cfg, &ctx.shadow);
    ctx.shadow_reason = r->reasons[3];
    ctx.shadow_reason_len = sizeof r->reasons[3];

    train_config tc = cfg->train;
    tc.data = export_dir;
    tc.out = NULL;
    tc.promote = cfg->models;
    tc.mlruns = cfg->mlruns;
    tc.experiment = cfg->train_experiment;
    snprintf(split, sizeof split, "%s", r->split);
    tc.split = split[0] ? split : NULL;
    tc.promotion_rule = promotion_rule;
    tc.promotion_ctx = &ctx;
    tc.promotion_rule_text = PDM_RETRAIN_PROMOTION_RULE;
    if (trainer_run_result(&tc, &r->result, out, errstr, errlen))
        goto out;
    r->trained = 1;
    r->held_for_shadow = !r->result.promoted && ctx.margin_ok && cfg->shadow_hours > 0;
    rc = 0;
out:
    if (export_dir)
        nftw(export_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

/* The MLflow run of one decision. Failures to record are reported, not
 * fatal to the decision already taken. */
static int record(const retrain_config *cfg, const char *run_kind, const run_report *r,
                  char *errstr, size_t errlen)
{
    pdm_tracking_run *run = NULL;
    char err[PDM_ERRSTR_SIZE], num[32];
    int rc = -1;
    const train_result *t = &r->result;

    if (!cfg->mlruns)
        return 0;
    if (pdm_tracking_run_start(cfg->mlruns, cfg->experiment, NULL, &run, err, sizeof err))
        goto fail;
    snprintf(num, sizeof num, "%d", r->days);
    const char *params[][2] = {
        {"kind", run_kind},
        {"trigger", pdm_retrain_trigger_name(r->trigger)},
        {"archive", cfg->archive ? cfg->archive : ""},
        {"from", r->from},
        {"to", r->to},
        {"days", num},
        {"split", t->split},
        {"rule", PDM_RETRAIN_PROMOTION_RULE},
    };
    for (size_t i = 0; i < sizeof params / sizeof *params; i++)
        if (params[i][1][0] &&
            pdm_tracking_log_param(run, params[i][0], params[i][1], err, sizeof err))
            goto fail;
    const struct {
        const char *key;
        double v;
        int ok;
    } metrics[] = {
        {"candidate_pr_auc", t->candidate.pr_auc, r->trained},
        {"candidate_warn_precision", t->candidate.warn_precision, r->trained},
        {"candidate_warn_recall", t->candidate.warn_recall, r->trained},
        {"current_pr_auc", t->current.pr_auc, t->comparable},
        {"current_warn_precision", t->current.warn_precision, t->comparable},
        {"current_warn_recall", t->current.warn_recall, t->comparable},
        {"promoted", t->promoted ? 1 : 0, r->trained},
    };
    for (size_t i = 0; i < sizeof metrics / sizeof *metrics; i++)
        if (metrics[i].ok && isfinite(metrics[i].v) &&
            pdm_tracking_log_metric(run, metrics[i].key, metrics[i].v, 0, err, sizeof err))
            goto fail;
    const char *tags[][2] = {
        {"pdm.retrain.decision", r->decision},
        {"pdm.retrain.trigger", pdm_retrain_trigger_name(r->trigger)},
        {"pdm.retrain.reason", r->trained ? t->reason : r->error},
        {"pdm.retrain.schedule", r->reasons[0]},
        {"pdm.retrain.drift", r->reasons[1]},
        {"pdm.retrain.recall", r->reasons[2]},
        {"pdm.retrain.shadow", r->reasons[3]},
        {"pdm.retrain.previous_version", r->current_version},
        {"pdm.model_version", r->model_version},
        {"pdm.retrain.training_run_id", t->run_id},
    };
    for (size_t i = 0; i < sizeof tags / sizeof *tags; i++)
        if (tags[i][1][0] && pdm_tracking_set_tag(run, tags[i][0], tags[i][1], err, sizeof err))
            goto fail;
    if (pdm_tracking_run_end(run, strcmp(r->decision, "failed") ? PDM_RUN_FINISHED : PDM_RUN_FAILED,
                             err, sizeof err))
        goto fail;
    rc = 0;
    goto out;
fail:
    pdm_err(errstr, errlen, "--mlruns: %s", err);
out:
    pdm_tracking_run_destroy(run);
    return rc;
}

static void print_plan(const retrain_config *cfg, const run_report *r, FILE *out)
{
    fprintf(out,
            "dry run: would export %s..%s of %s, train a candidate (held out: %s), compare it "
            "with the current model %s on the held-out rows, promote it in %s if its PR AUC "
            "is at least the current's + %g and its WARN precision at least the current's - "
            "%g%s, and record the run in %s. Nothing was changed.\n",
            r->from, r->to, cfg->archive, r->split[0] ? r->split : "the trainer's default split",
            r->current_version[0] ? r->current_version : "(none)", cfg->models, cfg->min_gain,
            cfg->max_precision_loss,
            cfg->shadow_hours > 0 ? ", after a shadow period (it would go on trial as "
                                    "MODELS/shadow first)"
                                  : "",
            cfg->mlruns ? cfg->mlruns : "no MLflow store (no --mlruns)");
}

/* The archive's day range into r; -1 with errstr when there is none. */
static int choose_days(const retrain_config *cfg, run_report *r, char *errstr, size_t errlen)
{
    int found = retrain_newest_day(cfg->archive, r->to, errstr, errlen);
    if (found == 1)
        return pdm_err(errstr, errlen, "--archive %s holds no day yet", cfg->archive);
    if (found < 0 || pdm_retrain_days(r->to, (int)cfg->days, (int)cfg->holdout_days, r->from,
                                      r->split, errstr, errlen))
        return -1;
    return 0;
}

static void print_decision(const run_report *r, FILE *out)
{
    const char *cur = r->current_version[0] ? r->current_version : "(none)";
    if (r->trained)
        fprintf(out, "decision: %s: candidate %s, current %s -> %s: %s\n", r->decision,
                r->result.version, cur, r->result.promoted ? r->result.version : cur,
                r->result.reason);
    else
        fprintf(out, "decision: failed: %s\n", r->error);
    if (r->reasons[3][0])
        fprintf(out, "%s\n", r->reasons[3]);
}

/* A candidate the margins let through but a required shadow period held:
 * MODELS/shadow points at it (the scorer's --shadow-model MODELS/shadow
 * picks it up by itself) and the state remembers it for shadow_trial. */
static void start_trial(const retrain_config *cfg, retrain_state *state, run_report *r, FILE *out)
{
    char err[PDM_ERRSTR_SIZE];
    if (pdm_model_make_link(cfg->models, "shadow", r->result.version, err, sizeof err)) {
        pdm_log(PDM_LOG_ERROR, "shadow link: %s", err);
        return;
    }
    snprintf(state->shadow_candidate, sizeof state->shadow_candidate, "%s", r->result.version);
    r->decision = "on_trial";
    fprintf(out, "shadow: %s/shadow -> %s: on trial for %.1f h of the scorer's event time\n",
            cfg->models, r->result.version, cfg->shadow_hours);
}

/* A candidate on trial (state->shadow_candidate): the scorer's figures
 * decide: promoted (current moves to it), rejected (worse over the
 * period) or still on trial. Returns 1 when it decided (the run is done:
 * no new candidate while one is on trial), 0 when the trial goes on. */
static int shadow_trial(const retrain_config *cfg, retrain_state *state, run_report *r, FILE *out)
{
    pdm_retrain_shadow sh;
    char err[PDM_ERRSTR_SIZE];
    const char *cand = state->shadow_candidate;
    retrain_read_shadow(cfg, &sh);
    pdm_retrain_shadow_verdict v = pdm_retrain_shadow_decide(cfg->shadow_hours, &sh, cand,
                                                             r->reasons[3], sizeof r->reasons[3]);
    fprintf(out, "trial of %s: %s\n", cand, r->reasons[3]);
    if (v == PDM_RETRAIN_SHADOW_HOLD || cfg->dry_run)
        return 0;
    r->trigger = PDM_RETRAIN_FORCED;
    snprintf(r->model_version, sizeof r->model_version, "%s", cand);
    if (v == PDM_RETRAIN_SHADOW_PROMOTE) {
        if (pdm_model_make_current(cfg->models, cand, err, sizeof err)) {
            pdm_log(PDM_LOG_ERROR, "promoting %s after its trial: %s", cand, err);
            return 0;
        }
        if (r->current_version[0] && strcmp(r->current_version, cand) != 0)
            snprintf(state->previous_version, sizeof state->previous_version, "%s",
                     r->current_version);
        r->decision = "promoted";
    } else {
        r->decision = "rejected";
    }
    fprintf(out, "decision: %s after its shadow period: candidate %s, current %s -> %s\n",
            r->decision, cand, r->current_version[0] ? r->current_version : "(none)",
            v == PDM_RETRAIN_SHADOW_PROMOTE ? cand : r->current_version);
    snprintf(r->error, sizeof r->error, "%.*s", (int)sizeof r->error - 1, r->reasons[3]);
    snprintf(state->last_decision, sizeof state->last_decision, "%s", r->decision);
    state->shadow_candidate[0] = '\0';
    if (record(cfg, "shadow", r, err, sizeof err))
        pdm_log(PDM_LOG_WARN, "%s", err);
    return 1;
}

/* The run's outcome as the metrics report it: failures in a row, the last
 * success and the scores it compared. */
static void remember_outcome(retrain_state *state, const run_report *r, int failed)
{
    if (failed) {
        state->failures_in_row++;
        return;
    }
    const train_result *t = &r->result;
    state->failures_in_row = 0;
    state->last_success_ms = state->last_run_ms;
    state->candidate_pr_auc = r->trained ? t->candidate.pr_auc : NAN;
    state->candidate_warn_precision = r->trained ? t->candidate.warn_precision : NAN;
    state->current_pr_auc = t->comparable ? t->current.pr_auc : NAN;
    state->current_warn_precision = t->comparable ? t->current.warn_precision : NAN;
}

/* Writes --metrics-textfile from the state (the node_exporter textfile
 * collector's format, replaced atomically so a scrape never reads half of
 * it). A failure is logged: the decision is taken already. */
static void write_metrics(const retrain_config *cfg, const retrain_state *state)
{
    char version[256], err[PDM_ERRSTR_SIZE];
    int64_t model_ms;
    pdm_buf text = {0};
    if (!cfg->metrics_textfile || !cfg->metrics_textfile[0] || cfg->dry_run)
        return;
    if (retrain_current_model(cfg->models, version, sizeof version, &model_ms, err, sizeof err) < 0)
        model_ms = INT64_MIN;
    pdm_retrain_metrics m = {
        .now_ms = pdm_now_ms(),
        .last_run_ms = state->last_run_ms,
        .last_success_ms = state->last_success_ms,
        .failures_in_row = state->failures_in_row,
        .model_trained_ms = model_ms,
        .current_version = version,
        .last_decision = state->last_decision,
        .candidate_pr_auc = state->candidate_pr_auc,
        .current_pr_auc = state->current_pr_auc,
        .candidate_warn_precision = state->candidate_warn_precision,
        .current_warn_precision = state->current_warn_precision,
    };
    if (pdm_retrain_metrics_text(&m, &text))
        pdm_log(PDM_LOG_WARN, "--metrics-textfile: out of memory");
    else if (pdm_write_file_atomic(cfg->metrics_textfile, text.data, text.len, err, sizeof err))
        pdm_log(PDM_LOG_WARN, "--metrics-textfile: %s", err);
    pdm_buf_free(&text);
}

/* Acts on a fired trigger: the plan (dry run), or training and the
 * decision, recorded (a failure too) and counted as a run in the state. */
static int act(const retrain_config *cfg, retrain_state *state, run_report *r, FILE *out,
               char *errstr, size_t errlen)
{
    char err[PDM_ERRSTR_SIZE];
    int failed = choose_days(cfg, r, err, sizeof err);
    if (cfg->dry_run) {
        if (failed)
            return pdm_err(errstr, errlen, "%s", err);
        print_plan(cfg, r, out);
        return 0;
    }
    if (!failed)
        failed = train_candidate(cfg, r, out, err, sizeof err);
    if (failed)
        snprintf(r->error, sizeof r->error, "%s", err);
    r->decision = failed ? "failed" : r->result.promoted ? "promoted" : "kept";
    snprintf(r->model_version, sizeof r->model_version, "%s", r->result.version);
    state->last_run_ms = pdm_now_ms();
    remember_outcome(state, r, failed);
    snprintf(state->last_trigger, sizeof state->last_trigger, "%s",
             pdm_retrain_trigger_name(r->trigger));
    if (!failed && r->result.promoted && r->current_version[0] &&
        strcmp(r->current_version, r->result.version) != 0)
        snprintf(state->previous_version, sizeof state->previous_version, "%s", r->current_version);
    if (!failed && r->held_for_shadow)
        start_trial(cfg, state, r, out);
    snprintf(state->last_decision, sizeof state->last_decision, "%s", r->decision);
    print_decision(r, out);
    if (record(cfg, "retrain", r, err, sizeof err))
        pdm_log(PDM_LOG_WARN, "%s", err);
    if (failed)
        return pdm_err(errstr, errlen, "no candidate: %s", r->error);
    return 0;
}

int retrain_run_once(const retrain_config *cfg, FILE *out, char *errstr, size_t errlen)
{
    retrain_state state;
    run_report *r = calloc(1, sizeof *r);
    int64_t model_ms;
    int rc = -1, lock = -1, loaded = 0;

    if (!r)
        return pdm_err(errstr, errlen, "out of memory");
    /* A dry run writes nothing, so it takes no lock (the lock file is a write). */
    if ((!cfg->dry_run && (lock = retrain_state_lock(cfg->state, errstr, errlen)) < 0) ||
        retrain_state_load(cfg->state, &state, errstr, errlen) ||
        retrain_current_model(cfg->models, r->current_version, sizeof r->current_version, &model_ms,
                              errstr, errlen) < 0)
        goto out;
    /* A candidate on trial is decided first; while it runs, no other is
     * trained (the scorer shadows one model at a time). */
    if (cfg->shadow_hours > 0 && state.shadow_candidate[0]) {
        if (shadow_trial(cfg, &state, r, out) == 0)
            fprintf(out, "trigger: none: a candidate is on trial\n");
        rc = cfg->dry_run ? 0 : retrain_state_save(cfg->state, &state, errstr, errlen);
        loaded = 1;
        goto out;
    }
    decide(cfg, &state, model_ms, r);
    for (int i = 0; i < 3; i++)
        fprintf(out, "%s\n", r->reasons[i]);
    if (r->trigger == PDM_RETRAIN_NONE) {
        fprintf(out, "trigger: none: nothing to do\n");
        rc = cfg->dry_run ? 0 : retrain_state_save(cfg->state, &state, errstr, errlen);
        loaded = 1;
        goto out;
    }
    fprintf(out, "trigger: %s\n", pdm_retrain_trigger_name(r->trigger));
    rc = act(cfg, &state, r, out, errstr, errlen);
    if (!cfg->dry_run) {
        char err[PDM_ERRSTR_SIZE];
        if (retrain_state_save(cfg->state, &state, err, sizeof err) && rc == 0)
            rc = pdm_err(errstr, errlen, "%s", err);
    }
    loaded = 1;
out:
    if (loaded)
        write_metrics(cfg, &state);
    retrain_state_unlock(lock);
    fflush(out);
    free(r);
    return rc;
}

int retrain_rollback(const retrain_config *cfg, const char *version, FILE *out, char *errstr,
                     size_t errlen)
{
    retrain_state state;
    run_report *r = calloc(1, sizeof *r);
    char dir[4200], err[PDM_ERRSTR_SIZE];
    int64_t model_ms;
    int rc = -1, lock = -1;

    if (!r)
        return pdm_err(errstr, errlen, "out of memory");
    if ((lock = retrain_state_lock(cfg->state, errstr, errlen)) < 0 ||
        retrain_state_load(cfg->state, &state, errstr, errlen) ||
        retrain_current_model(cfg->models, r->current_version, sizeof r->current_version, &model_ms,
                              errstr, errlen) < 0)
        goto out;
    if (!version || !version[0])
        version = state.previous_version;
    if (!version[0]) {
        pdm_err(errstr, errlen,
                "no earlier model recorded in %s: name the version (pdm-model-rollback %s lists "
                "them)",
                cfg->state, cfg->models);
        goto out;
    }
    snprintf(dir, sizeof dir, "%s/%s", cfg->models, version);
    pdm_model *m = NULL;
    if (pdm_model_load(dir, &m, err, sizeof err)) {
        pdm_err(errstr, errlen, "rollback: %s is not a model package: %s", dir, err);
        goto out;
    }
    pdm_model_destroy(m);
    if (pdm_model_make_current(cfg->models, version, errstr, errlen))
        goto out;
    fprintf(out, "rollback: current %s -> %s\n",
            r->current_version[0] ? r->current_version : "(none)", version);
    r->trigger = PDM_RETRAIN_FORCED;
    r->decision = "rolled_back";
    snprintf(r->model_version, sizeof r->model_version, "%s", version);
    snprintf(r->error, sizeof r->error, "rollback requested");
    if (strcmp(r->current_version, version) != 0)
        snprintf(state.previous_version, sizeof state.previous_version, "%s", r->current_version);
    snprintf(state.last_decision, sizeof state.last_decision, "rolled_back");
    if (retrain_state_save(cfg->state, &state, errstr, errlen))
        goto out;
    write_metrics(cfg, &state);
    if (record(cfg, "rollback", r, err, sizeof err))
        pdm_log(PDM_LOG_WARN, "%s", err);
    rc = 0;
out:
    retrain_state_unlock(lock);
    fflush(out);
    free(r);
    return rc;
}
