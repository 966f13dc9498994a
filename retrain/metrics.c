/* metrics.c: pdm-retrain's metrics as a Prometheus text-format document
 * (pdm-retrain --metrics-textfile writes it for node_exporter's textfile
 * collector; README, "The retraining loop"). A pure function of what the
 * state remembers, so every evaluation, even one with nothing due, writes
 * the same figures again with a new evaluation time. */
#include <math.h>
#include <string.h>

#include "pdm_retrain.h"

static const char *const decisions[] = {"promoted", "kept",     "failed",
                                        "on_trial", "rejected", "rolled_back"};

static int gauge(pdm_buf *b, const char *name, const char *help, double v)
{
    return pdm_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name,
                          v);
}

/* Label values here are versions and fixed words; a quote or a backslash
 * (never in a version directory's name the trainer makes) is dropped. */
static int label_value(pdm_buf *b, const char *v)
{
    for (; *v; v++)
        if (*v != '"' && *v != '\\' && *v != '\n' && pdm_buf_append(b, v, 1))
            return -1;
    return 0;
}

int pdm_retrain_metrics_text(const pdm_retrain_metrics *m, pdm_buf *out)
{
    int rc = gauge(out, "pdm_retrain_last_evaluation_timestamp_seconds",
                   "When pdm-retrain last evaluated its triggers (Unix time).",
                   (double)m->now_ms / 1000);
    if (m->last_run_ms != INT64_MIN)
        rc |= gauge(out, "pdm_retrain_last_run_timestamp_seconds",
                    "When pdm-retrain last trained a candidate or failed to (Unix time).",
                    (double)m->last_run_ms / 1000);
    if (m->last_success_ms != INT64_MIN)
        rc |= gauge(out, "pdm_retrain_last_success_timestamp_seconds",
                    "When pdm-retrain last trained a candidate and decided on it (Unix time).",
                    (double)m->last_success_ms / 1000);
    rc |= gauge(out, "pdm_retrain_consecutive_failures",
                "Training runs in a row that failed (0 after one that did not).",
                (double)m->failures_in_row);
    if (m->model_trained_ms != INT64_MIN) {
        rc |= gauge(out, "pdm_retrain_model_trained_timestamp_seconds",
                    "When the current model was trained (its model.json's time; Unix time).",
                    (double)m->model_trained_ms / 1000);
        rc |= pdm_buf_printf(
            out, "# HELP pdm_retrain_model_info The current model (MODELS_DIR/current).\n"
                 "# TYPE pdm_retrain_model_info gauge\npdm_retrain_model_info{version=\"");
        rc |= label_value(out, m->current_version);
        rc |= pdm_buf_printf(out, "\"} 1\n");
    }
    rc |= pdm_buf_printf(
        out, "# HELP pdm_retrain_last_decision The last decision (1 for it, 0 for the others).\n"
             "# TYPE pdm_retrain_last_decision gauge\n");
    for (size_t i = 0; i < sizeof decisions / sizeof *decisions; i++)
        rc |= pdm_buf_printf(out, "pdm_retrain_last_decision{decision=\"%s\"} %d\n", decisions[i],
                             strcmp(m->last_decision, decisions[i]) == 0);
    const struct {
        const char *name, *help;
        double v;
    } scores[] = {
        {"pdm_retrain_candidate_pr_auc", "The last candidate's PR AUC on its held-out days.",
         m->candidate_pr_auc},
        {"pdm_retrain_current_pr_auc", "The then current model's PR AUC on the same days.",
         m->current_pr_auc},
        {"pdm_retrain_candidate_warn_precision",
         "The last candidate's precision at its WARN threshold on its held-out days.",
         m->candidate_warn_precision},
        {"pdm_retrain_current_warn_precision",
         "The then current model's precision at its WARN threshold on the same days.",
         m->current_warn_precision},
    };
    for (size_t i = 0; i < sizeof scores / sizeof *scores; i++)
        if (isfinite(scores[i].v))
            rc |= gauge(out, scores[i].name, scores[i].help, scores[i].v);
    return rc ? -1 : 0;
}
