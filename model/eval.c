/* eval.c: evaluation of a model on labelled rows and the choice of alert
 * thresholds (pdm_eval_*; monitor/'s pdm_metric_* are Prometheus metrics).
 *
 * Class metrics use the argmax class; the any-failure metrics use the risk
 * score 1 - P(none). Ranking metrics treat tied scores as one threshold (an
 * alert fires for all of them or none), which is what a threshold on the
 * score can do: ROC AUC counts a tied positive/negative pair as one half, and
 * average precision takes one step per distinct score. Undefined values are
 * NaN (null in JSON), never a made-up 0 or 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "pdm_model.h"

typedef struct {
    double score;
    unsigned char positive;
} scored;

/* Distinct scores in decreasing order with the cumulative counts of the rows
 * scoring at least that much. */
typedef struct {
    double threshold;
    size_t tp, fp;
} step;

static int by_score_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x < y) - (x > y);
}

/* Fills *steps (malloc'ed, *nsteps entries) and the totals. */
static int ranking_steps(const double *score, const unsigned char *positive, size_t n, step **steps,
                         size_t *nsteps, size_t *npos, char *errstr, size_t errlen)
{
    int rc = -1;
    scored *rows = NULL;
    step *out = NULL;
    size_t k = 0, tp = 0, fp = 0;

    *steps = NULL;
    *nsteps = 0;
    *npos = 0;
    rows = malloc((n ? n : 1) * sizeof *rows);
    out = malloc((n ? n : 1) * sizeof *out);
    if (!rows || !out) {
        pdm_err(errstr, errlen, "out of memory for %zu scores", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (isnan(score[i])) {
            pdm_err(errstr, errlen, "score %zu is NaN", i);
            goto out;
        }
        rows[i].score = score[i];
        rows[i].positive = positive[i] != 0;
    }
    qsort(rows, n, sizeof *rows, by_score_desc);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && rows[j].score == rows[i].score) {
            tp += rows[j].positive;
            fp += !rows[j].positive;
            j++;
        }
        out[k].threshold = rows[i].score;
        out[k].tp = tp;
        out[k].fp = fp;
        k++;
        i = j;
    }
    *steps = out;
    *nsteps = k;
    *npos = tp;
    out = NULL;
    rc = 0;
out:
    free(rows);
    free(out);
    return rc;
}

int pdm_eval_auc(const double *score, const unsigned char *positive, size_t n, double *roc_auc,
                 double *pr_auc, char *errstr, size_t errlen)
{
    step *steps = NULL;
    size_t nsteps, npos;

    *roc_auc = NAN;
    *pr_auc = NAN;
    if (ranking_steps(score, positive, n, &steps, &nsteps, &npos, errstr, errlen))
        return -1;
    size_t nneg = n - npos;
    double area = 0, ap = 0;
    size_t prev_tp = 0, prev_fp = 0;
    for (size_t i = 0; i < nsteps; i++) {
        area += (double)(steps[i].fp - prev_fp) * (double)(steps[i].tp + prev_tp) / 2.0;
        if (steps[i].tp > prev_tp)
            ap += (double)(steps[i].tp - prev_tp) *
                  ((double)steps[i].tp / (double)(steps[i].tp + steps[i].fp));
        prev_tp = steps[i].tp;
        prev_fp = steps[i].fp;
    }
    if (npos > 0 && nneg > 0)
        *roc_auc = area / ((double)npos * (double)nneg);
    if (npos > 0)
        *pr_auc = ap / (double)npos;
    free(steps);
    return 0;
}

static double ratio(size_t num, size_t den)
{
    return den ? (double)num / (double)den : NAN;
}

int pdm_thresholds_choose(const double *risk, const unsigned char *positive, size_t n,
                          pdm_thresholds *out, char *errstr, size_t errlen)
{
    step *steps = NULL;
    size_t nsteps, npos;

    if (ranking_steps(risk, positive, n, &steps, &nsteps, &npos, errstr, errlen))
        return -1;
    if (npos == 0) {
        free(steps);
        return pdm_err(errstr, errlen,
                       "cannot choose thresholds: no failure among the %zu training rows", n);
    }
    /* Walking down the scores, a strictly better F1 is needed to move the
     * warn threshold lower, so ties keep the higher threshold. */
    size_t w = 0;
    double best_f1 = -1;
    for (size_t i = 0; i < nsteps; i++) {
        double f1 = 2.0 * (double)steps[i].tp / (double)(steps[i].tp + steps[i].fp + npos);
        if (f1 > best_f1) {
            best_f1 = f1;
            w = i;
        }
    }
    double warn_precision = ratio(steps[w].tp, steps[w].tp + steps[w].fp);
    double target = (1.0 + warn_precision) / 2.0;
    if (target < 0.8)
        target = 0.8;
    size_t c = w;
    int reached = 0;
    double best_precision;
    /* Steps 0..w-1 are the thresholds above warn, highest first. */
    for (size_t i = w; i-- > 0;) {
        double p = ratio(steps[i].tp, steps[i].tp + steps[i].fp);
        if (p >= target) {
            c = i;
            reached = 1;
            break;
        }
    }
    if (!reached) {
        /* the most precise threshold above warn (lower on ties), if it is
         * more precise than warn at all */
        best_precision = warn_precision;
        for (size_t i = w; i-- > 0;) {
            double p = ratio(steps[i].tp, steps[i].tp + steps[i].fp);
            if (p > best_precision) {
                best_precision = p;
                c = i;
            }
        }
    }
    out->warn = steps[w].threshold;
    out->warn_precision = warn_precision;
    out->warn_recall = ratio(steps[w].tp, npos);
    out->critical = steps[c].threshold;
    out->critical_precision = ratio(steps[c].tp, steps[c].tp + steps[c].fp);
    out->critical_recall = ratio(steps[c].tp, npos);
    free(steps);
    return 0;
}

static void alert_quality(const double *risk, const unsigned char *positive, size_t n, double t,
                          double *precision, double *recall)
{
    size_t tp = 0, alerts = 0, npos = 0;
    for (size_t i = 0; i < n; i++) {
        npos += positive[i];
        if (risk[i] >= t) {
            alerts++;
            tp += positive[i];
        }
    }
    *precision = ratio(tp, alerts);
    *recall = ratio(tp, npos);
}

int pdm_eval_compute(const int *labels, const double *probs, size_t n, double warn, double critical,
                     pdm_eval *out, char *errstr, size_t errlen)
{
    enum { K = PDM_MODEL_N_CLASSES };
    int rc = -1;
    double *risk = NULL;
    unsigned char *positive = NULL;
    size_t predicted[K] = {0}, correct = 0;

    memset(out, 0, sizeof *out);
    out->n = n;
    risk = malloc((n ? n : 1) * sizeof *risk);
    positive = malloc(n ? n : 1);
    if (!risk || !positive) {
        pdm_err(errstr, errlen, "out of memory for %zu rows", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const double *p = probs + i * K;
        if (labels[i] < 0 || labels[i] >= K) {
            pdm_err(errstr, errlen, "row %zu: label %d is not a class (0..%d)", i, labels[i],
                    K - 1);
            goto out;
        }
        int best = 0;
        for (int k = 1; k < K; k++)
            if (p[k] > p[best])
                best = k;
        out->confusion[labels[i]][best]++;
        out->support[labels[i]]++;
        predicted[best]++;
        correct += best == labels[i];
        risk[i] = pdm_model_risk_of(p);
        positive[i] = labels[i] != 0;
        out->n_positive += positive[i];
    }
    int present = 0;
    double f1_sum = 0;
    for (int k = 0; k < K; k++) {
        size_t tp = out->confusion[k][k];
        /* zero when undefined, as scikit-learn's zero_division=0 */
        out->precision[k] = predicted[k] ? (double)tp / (double)predicted[k] : 0.0;
        out->recall[k] = out->support[k] ? (double)tp / (double)out->support[k] : 0.0;
        double s = out->precision[k] + out->recall[k];
        out->f1[k] = s > 0 ? 2 * out->precision[k] * out->recall[k] / s : 0.0;
        if (out->support[k] || predicted[k]) {
            present++;
            f1_sum += out->f1[k];
        }
    }
    out->macro_f1 = present ? f1_sum / present : NAN;
    out->accuracy = ratio(correct, n);
    out->positive_rate = ratio(out->n_positive, n);
    if (pdm_eval_auc(risk, positive, n, &out->roc_auc, &out->pr_auc, errstr, errlen))
        goto out;
    out->warn = warn;
    out->critical = critical;
    alert_quality(risk, positive, n, warn, &out->warn_precision, &out->warn_recall);
    alert_quality(risk, positive, n, critical, &out->critical_precision, &out->critical_recall);
    rc = 0;
out:
    free(risk);
    free(positive);
    return rc;
}

static const char *const class_names[PDM_MODEL_N_CLASSES] = {"none", "comp1", "comp2", "comp3",
                                                             "comp4"};

static int add_num(cJSON *obj, const char *key, double v)
{
    cJSON *item = isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
    return item && cJSON_AddItemToObject(obj, key, item) ? 0 : -1;
}

cJSON *pdm_eval_to_json(const pdm_eval *m)
{
    enum { K = PDM_MODEL_N_CLASSES };
    int failed = 0;
    cJSON *root = cJSON_CreateObject();
    cJSON *classes = cJSON_AddObjectToObject(root, "classes");
    cJSON *confusion = cJSON_AddArrayToObject(root, "confusion");
    cJSON *any = cJSON_AddObjectToObject(root, "any_failure");
    if (!root || !classes || !confusion || !any)
        goto fail;
    failed |= add_num(root, "rows", (double)m->n);
    failed |= add_num(root, "macro_f1", m->macro_f1);
    failed |= add_num(root, "accuracy", m->accuracy);
    failed |= add_num(root, "roc_auc", m->roc_auc);
    failed |= add_num(root, "pr_auc", m->pr_auc);
    for (int k = 0; k < K; k++) {
        cJSON *c = cJSON_AddObjectToObject(classes, class_names[k]);
        if (!c)
            goto fail;
        failed |= add_num(c, "precision", m->precision[k]);
        failed |= add_num(c, "recall", m->recall[k]);
        failed |= add_num(c, "f1", m->f1[k]);
        failed |= add_num(c, "support", (double)m->support[k]);
        cJSON *row = cJSON_CreateArray();
        if (!row || !cJSON_AddItemToArray(confusion, row))
            goto fail;
        for (int j = 0; j < K; j++) {
            cJSON *v = cJSON_CreateNumber((double)m->confusion[k][j]);
            if (!v || !cJSON_AddItemToArray(row, v))
                goto fail;
        }
    }
    failed |= add_num(any, "positives", (double)m->n_positive);
    failed |= add_num(any, "positive_rate", m->positive_rate);
    failed |= add_num(any, "roc_auc", m->roc_auc);
    failed |= add_num(any, "pr_auc", m->pr_auc);
    failed |= add_num(any, "warn_threshold", m->warn);
    failed |= add_num(any, "warn_precision", m->warn_precision);
    failed |= add_num(any, "warn_recall", m->warn_recall);
    failed |= add_num(any, "critical_threshold", m->critical);
    failed |= add_num(any, "critical_precision", m->critical_precision);
    failed |= add_num(any, "critical_recall", m->critical_recall);
    if (failed)
        goto fail;
    return root;
fail:
    cJSON_Delete(root);
    return NULL;
}

int pdm_eval_format(const pdm_eval *m, pdm_buf *out)
{
    enum { K = PDM_MODEL_N_CLASSES };
    int rc = 0;
    rc |= pdm_buf_printf(out, "%-8s %10s %10s %10s %10s\n", "class", "precision", "recall", "f1",
                         "support");
    for (int k = 0; k < K; k++)
        rc |= pdm_buf_printf(out, "%-8s %10.4f %10.4f %10.4f %10zu\n", class_names[k],
                             m->precision[k], m->recall[k], m->f1[k], m->support[k]);
    rc |= pdm_buf_printf(out, "macro F1 %.4f   accuracy %.4f   rows %zu\n", m->macro_f1,
                         m->accuracy, m->n);
    rc |= pdm_buf_printf(out,
                         "any failure (risk = 1 - P(none)): positives %zu (rate %.4f)   "
                         "ROC AUC %.4f   PR AUC %.4f\n",
                         m->n_positive, m->positive_rate, m->roc_auc, m->pr_auc);
    rc |= pdm_buf_printf(out, "  WARN     >= %.4f: precision %.4f recall %.4f\n", m->warn,
                         m->warn_precision, m->warn_recall);
    rc |= pdm_buf_printf(out, "  CRITICAL >= %.4f: precision %.4f recall %.4f\n", m->critical,
                         m->critical_precision, m->critical_recall);
    rc |= pdm_buf_printf(out, "confusion (rows true, columns predicted):\n%-8s", "");
    for (int j = 0; j < K; j++)
        rc |= pdm_buf_printf(out, " %9s", class_names[j]);
    rc |= pdm_buf_printf(out, "\n");
    for (int k = 0; k < K; k++) {
        rc |= pdm_buf_printf(out, "%-8s", class_names[k]);
        for (int j = 0; j < K; j++)
            rc |= pdm_buf_printf(out, " %9zu", m->confusion[k][j]);
        rc |= pdm_buf_printf(out, "\n");
    }
    return rc ? -1 : 0;
}
