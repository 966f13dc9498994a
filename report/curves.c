/* curves.c: ROC and precision-recall points from scores and labels, for
 * callers that have predictions but no curve yet (pdm-train). One point per
 * distinct score, so tied scores move both rates at once and the curves are
 * the ones the AUC and average precision are defined on. */
#include "pdm_report.h"

#include "pdm_common.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double score;
    unsigned char positive;
} scored;

static int by_score_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return x > y ? -1 : x < y ? 1 : 0;
}

void pdm_report_points_free(pdm_report_points *p)
{
    if (!p)
        return;
    free(p->x);
    free(p->y);
    p->x = p->y = NULL;
    p->n = 0;
}

static int points_alloc(pdm_report_points *p, size_t n)
{
    p->x = malloc(n * sizeof *p->x);
    p->y = malloc(n * sizeof *p->y);
    p->n = 0;
    return p->x && p->y ? 0 : -1;
}

int pdm_report_curves_from_scores(const double *score, const unsigned char *positive, size_t n,
                                  pdm_report_points *roc, pdm_report_points *pr, char *errstr,
                                  size_t errlen)
{
    int rc = -1;
    size_t m = 0, npos = 0;
    scored *rows = malloc((n ? n : 1) * sizeof *rows);
    roc->x = roc->y = pr->x = pr->y = NULL;
    roc->n = pr->n = 0;
    if (!rows) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (isnan(score[i]))
            continue;
        rows[m].score = score[i];
        rows[m].positive = positive[i] != 0;
        npos += rows[m].positive;
        m++;
    }
    if (npos == 0 || npos == m) {
        pdm_err(errstr, errlen, "curves need positive and negative rows (%zu of %zu positive)",
                npos, m);
        goto out;
    }
    qsort(rows, m, sizeof *rows, by_score_desc);
    if (points_alloc(roc, m + 1) || points_alloc(pr, m + 1)) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    double P = (double)npos, N = (double)(m - npos);
    size_t tp = 0, fp = 0;
    roc->x[0] = roc->y[0] = 0;
    roc->n = 1;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        for (; j < m && rows[j].score == rows[i].score; j++) {
            tp += rows[j].positive;
            fp += !rows[j].positive;
        }
        i = j;
        roc->x[roc->n] = (double)fp / N;
        roc->y[roc->n] = (double)tp / P;
        roc->n++;
        double recall = (double)tp / P, precision = (double)tp / (double)(tp + fp);
        if (pr->n == 0) { /* the curve starts at recall 0 with the top group's precision */
            pr->x[0] = 0;
            pr->y[0] = precision;
            pr->n = 1;
        }
        pr->x[pr->n] = recall;
        pr->y[pr->n] = precision;
        pr->n++;
    }
    rc = 0;
out:
    free(rows);
    if (rc) {
        pdm_report_points_free(roc);
        pdm_report_points_free(pr);
    }
    return rc;
}
