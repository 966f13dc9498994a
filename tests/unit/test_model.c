/* Unit tests of model/ without XGBoost: metrics against hand-computed cases
 * (ties included), the threshold rule, reference histograms, the version
 * digest (SHA-256), the default split cutoff and the promotion rule and link. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "pdm_model.h"

#define EPS 1e-12

/* ---- ranking metrics ------------------------------------------------------ */

static void test_auc_with_ties(void **state)
{
    /* Pairs (positive, negative): 0.9 beats 3; 0.8 ties one, beats 2 (2.5);
     * 0.7 beats 2; 0.5 ties one, beats 1 (1.5): 9 of 12.
     * AP: steps at 0.9 (R .25, P 1), 0.8 (R .5, P 2/3), 0.7 (R .75, P 3/4),
     * 0.5 (R 1, P 4/6): .25 * (1 + 2/3 + 3/4 + 2/3). */
    const double score[] = {0.9, 0.8, 0.8, 0.7, 0.5, 0.5, 0.3};
    const unsigned char pos[] = {1, 1, 0, 1, 0, 1, 0};
    double roc, pr;
    char err[PDM_ERRSTR_SIZE];
    assert_int_equal(pdm_eval_auc(score, pos, 7, &roc, &pr, err, sizeof err), 0);
    assert_float_equal(roc, 0.75, EPS);
    assert_float_equal(pr, 0.25 * (1 + 2.0 / 3 + 0.75 + 2.0 / 3), EPS);

    /* Order of the input does not matter. */
    const double score2[] = {0.5, 0.3, 0.8, 0.9, 0.5, 0.7, 0.8};
    const unsigned char pos2[] = {1, 0, 0, 1, 0, 1, 1};
    double roc2, pr2;
    assert_int_equal(pdm_eval_auc(score2, pos2, 7, &roc2, &pr2, err, sizeof err), 0);
    assert_float_equal(roc2, 0.75, EPS);
    assert_float_equal(pr2, pr, EPS);
}

static void test_auc_all_tied_and_degenerate(void **state)
{
    double score[10], roc, pr;
    unsigned char pos[10];
    char err[PDM_ERRSTR_SIZE];
    for (int i = 0; i < 10; i++) {
        score[i] = 0.4;
        pos[i] = i < 3;
    }
    /* One threshold: every pair is a tie, precision is the positive rate. */
    assert_int_equal(pdm_eval_auc(score, pos, 10, &roc, &pr, err, sizeof err), 0);
    assert_float_equal(roc, 0.5, EPS);
    assert_float_equal(pr, 0.3, EPS);

    memset(pos, 0, sizeof pos);
    assert_int_equal(pdm_eval_auc(score, pos, 10, &roc, &pr, err, sizeof err), 0);
    assert_true(isnan(roc));
    assert_true(isnan(pr));

    memset(pos, 1, sizeof pos);
    assert_int_equal(pdm_eval_auc(score, pos, 10, &roc, &pr, err, sizeof err), 0);
    assert_true(isnan(roc));
    assert_float_equal(pr, 1.0, EPS);

    /* Perfect and reversed rankings. */
    for (int i = 0; i < 10; i++) {
        score[i] = i;
        pos[i] = i >= 6;
    }
    assert_int_equal(pdm_eval_auc(score, pos, 10, &roc, &pr, err, sizeof err), 0);
    assert_float_equal(roc, 1.0, EPS);
    assert_float_equal(pr, 1.0, EPS);
    for (int i = 0; i < 10; i++)
        pos[i] = i < 4;
    assert_int_equal(pdm_eval_auc(score, pos, 10, &roc, &pr, err, sizeof err), 0);
    assert_float_equal(roc, 0.0, EPS);
    /* positives at ranks 7..10: precisions 1/7, 2/8, 3/9, 4/10 */
    assert_float_equal(pr, (1.0 / 7 + 2.0 / 8 + 3.0 / 9 + 4.0 / 10) / 4, EPS);

    score[2] = NAN;
    assert_int_equal(pdm_eval_auc(score, pos, 10, &roc, &pr, err, sizeof err), -1);
    assert_non_null(strstr(err, "NaN"));
}

/* ---- class metrics -------------------------------------------------------- */

static void set_probs(double *p, int best)
{
    /* probabilities with argmax `best`; the rest spread evenly */
    for (int k = 0; k < PDM_MODEL_N_CLASSES; k++)
        p[k] = (1.0 - 0.6) / (PDM_MODEL_N_CLASSES - 1);
    p[best] = 0.6;
}

static void test_metrics_f1_confusion(void **state)
{
    /* true:  0 0 1 1 2 0 ; argmax: 0 1 1 0 2 0 */
    const int labels[] = {0, 0, 1, 1, 2, 0};
    const int argmax[] = {0, 1, 1, 0, 2, 0};
    double probs[6 * PDM_MODEL_N_CLASSES];
    pdm_eval m;
    char err[PDM_ERRSTR_SIZE];
    for (int i = 0; i < 6; i++)
        set_probs(probs + i * PDM_MODEL_N_CLASSES, argmax[i]);
    assert_int_equal(pdm_eval_compute(labels, probs, 6, 0.5, 0.95, &m, err, sizeof err), 0);
    assert_int_equal(m.confusion[0][0], 2);
    assert_int_equal(m.confusion[0][1], 1);
    assert_int_equal(m.confusion[1][0], 1);
    assert_int_equal(m.confusion[1][1], 1);
    assert_int_equal(m.confusion[2][2], 1);
    assert_int_equal(m.support[0], 3);
    assert_int_equal(m.support[1], 2);
    assert_int_equal(m.support[3], 0);
    assert_float_equal(m.precision[0], 2.0 / 3, EPS);
    assert_float_equal(m.recall[0], 2.0 / 3, EPS);
    assert_float_equal(m.f1[0], 2.0 / 3, EPS);
    assert_float_equal(m.precision[1], 0.5, EPS);
    assert_float_equal(m.recall[1], 0.5, EPS);
    assert_float_equal(m.f1[2], 1.0, EPS);
    assert_float_equal(m.f1[3], 0.0, EPS);
    /* classes 3 and 4 are neither true nor predicted: left out of the mean */
    assert_float_equal(m.macro_f1, (2.0 / 3 + 0.5 + 1.0) / 3, EPS);
    assert_float_equal(m.accuracy, 4.0 / 6, EPS);
    assert_int_equal(m.n_positive, 3);
    assert_float_equal(m.positive_rate, 0.5, EPS);
    /* risk = 1 - P(none): 0.9 where argmax is a failure, 0.4 elsewhere.
     * At 0.9: positives 2, 4 and negative 1; at 0.4: positive 3, negatives
     * 0, 5. Pairs: 2 x 0.5 (tied) + 2 x 2 + 0 + 2 x 0.5 (tied) = 6 of 9. */
    assert_float_equal(m.roc_auc, 6.0 / 9, EPS);
    assert_float_equal(m.warn_precision, 2.0 / 3, EPS);
    assert_float_equal(m.warn_recall, 2.0 / 3, EPS);
    assert_true(isnan(m.critical_precision)); /* no risk reaches 0.95: undefined */
    assert_float_equal(m.critical_recall, 0.0, EPS);

    /* A class predicted but absent from the labels counts, with F1 0. */
    const int labels2[] = {0, 0, 1, 1, 1, 0};
    assert_int_equal(pdm_eval_compute(labels2, probs, 6, 0.5, 0.9, &m, err, sizeof err), 0);
    assert_int_equal(m.support[2], 0);
    assert_float_equal(m.precision[2], 0.0, EPS);
    assert_float_equal(m.macro_f1, (m.f1[0] + m.f1[1] + 0.0) / 3, EPS);

    const int bad[] = {0, 7, 0, 0, 0, 0};
    assert_int_equal(pdm_eval_compute(bad, probs, 6, 0.5, 0.9, &m, err, sizeof err), -1);
}

static void test_metrics_roc_on_risk(void **state)
{
    /* risk values and labels chosen so that the AUC is hand-computable:
     * positives at risk 0.8 and 0.3, negatives at 0.5 and 0.3 (a tie):
     * pairs: 0.8 beats both (2), 0.3 loses to 0.5, ties 0.3 (0.5): 2.5 / 4. */
    const int labels[] = {3, 0, 1, 0};
    const double risk[] = {0.8, 0.5, 0.3, 0.3};
    double probs[4 * PDM_MODEL_N_CLASSES] = {0};
    pdm_eval m;
    char err[PDM_ERRSTR_SIZE];
    for (int i = 0; i < 4; i++) {
        probs[i * PDM_MODEL_N_CLASSES] = 1.0 - risk[i];
        probs[i * PDM_MODEL_N_CLASSES + 4] = risk[i];
    }
    assert_int_equal(pdm_eval_compute(labels, probs, 4, 0.5, 0.8, &m, err, sizeof err), 0);
    assert_float_equal(m.roc_auc, 2.5 / 4, EPS);
    /* AP: at 0.8 R .5 P 1; at 0.5 no new positive; at 0.3 R 1 P 2/4 */
    assert_float_equal(m.pr_auc, 0.5 * 1 + 0.5 * 0.5, EPS);
    assert_float_equal(m.warn_precision, 0.5, EPS); /* risk >= 0.5: rows 0, 1 */
    assert_float_equal(m.warn_recall, 0.5, EPS);
    assert_float_equal(m.critical_precision, 1.0, EPS);

    cJSON *j = pdm_eval_to_json(&m);
    assert_non_null(j);
    assert_float_equal(cJSON_GetObjectItem(j, "pr_auc")->valuedouble, m.pr_auc, EPS);
    assert_non_null(cJSON_GetObjectItem(j, "macro_f1"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "confusion")), 5);
    cJSON_Delete(j);
    pdm_buf table = {0};
    assert_int_equal(pdm_eval_format(&m, &table), 0);
    assert_non_null(strstr(table.data, "macro F1"));
    assert_non_null(strstr(table.data, "comp4"));
    pdm_buf_free(&table);
}

/* ---- thresholds ----------------------------------------------------------- */

static void test_thresholds_rule(void **state)
{
    /* F1 by threshold: .9 .4, .8 .667, .7 .571, .6 .75 (max), .5 .667, .4 .6,
     * .3 .727, .2 .667 -> warn .6 (precision .75). Critical needs precision
     * >= max(.8, .875): above .6 that is .8 (precision 1) and .9; lowest .8. */
    const double risk[] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2};
    const unsigned char pos[] = {1, 1, 0, 1, 0, 0, 1, 0};
    pdm_thresholds t;
    char err[PDM_ERRSTR_SIZE];
    assert_int_equal(pdm_thresholds_choose(risk, pos, 8, &t, err, sizeof err), 0);
    assert_float_equal(t.warn, 0.6, EPS);
    assert_float_equal(t.warn_precision, 0.75, EPS);
    assert_float_equal(t.warn_recall, 0.75, EPS);
    assert_float_equal(t.critical, 0.8, EPS);
    assert_float_equal(t.critical_precision, 1.0, EPS);
    assert_float_equal(t.critical_recall, 0.5, EPS);
}

static void test_thresholds_ties_and_fallbacks(void **state)
{
    pdm_thresholds t;
    char err[PDM_ERRSTR_SIZE];
    /* F1 .667 at .9 and at .6: the higher wins; precision 1 there, nothing
     * above: critical = warn. */
    const double r1[] = {0.9, 0.8, 0.7, 0.6};
    const unsigned char p1[] = {1, 0, 0, 1};
    assert_int_equal(pdm_thresholds_choose(r1, p1, 4, &t, err, sizeof err), 0);
    assert_float_equal(t.warn, 0.9, EPS);
    assert_float_equal(t.critical, 0.9, EPS);

    /* warn .5 (F1 .75, precision .6); above it precisions .5 .333 .5 0 are
     * all below warn's: critical = warn. */
    const double r2[] = {0.9, 0.8, 0.7, 0.6, 0.5};
    const unsigned char p2[] = {0, 1, 0, 1, 1};
    assert_int_equal(pdm_thresholds_choose(r2, p2, 5, &t, err, sizeof err), 0);
    assert_float_equal(t.warn, 0.5, EPS);
    assert_float_equal(t.warn_precision, 0.6, EPS);
    assert_float_equal(t.critical, 0.5, EPS);
    assert_float_equal(t.critical_precision, 0.6, EPS);

    /* F1: .9 0, .8 .333, .7 .571, .6 .5, .5 .444, .4 .4, .3 .545, .2 .667:
     * warn .2 (precision .5), target .8; above it the best precision is
     * .667 at .7 (also 0.5 at .6 and .8): not .8, but better than warn. */
    const double r3[] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2};
    const unsigned char p3[] = {0, 1, 1, 0, 0, 0, 1, 1};
    assert_int_equal(pdm_thresholds_choose(r3, p3, 8, &t, err, sizeof err), 0);
    assert_float_equal(t.warn, 0.2, EPS);
    assert_float_equal(t.warn_precision, 0.5, EPS);
    assert_float_equal(t.critical, 0.7, EPS);
    assert_float_equal(t.critical_precision, 2.0 / 3, EPS);
    assert_float_equal(t.critical_recall, 0.5, EPS);

    const unsigned char none[] = {0, 0, 0, 0, 0};
    assert_int_equal(pdm_thresholds_choose(r2, none, 5, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "no failure"));
}

/* ---- histograms ----------------------------------------------------------- */

static void test_histogram_quantiles_and_missing(void **state)
{
    /* Column 1 of a 2-column matrix: 0..100 shuffled, then 9 NaN. */
    enum { N = 110 };
    double rows[N * 2];
    pdm_histogram h;
    char err[PDM_ERRSTR_SIZE];
    for (int i = 0; i < N; i++) {
        rows[2 * i] = -1;
        rows[2 * i + 1] = i < 101 ? (double)((i * 37) % 101) : NAN;
    }
    assert_int_equal(pdm_histogram_build(rows + 1, N, 2, &h, err, sizeof err), 0);
    for (int k = 0; k <= PDM_MODEL_HIST_BINS; k++)
        assert_float_equal(h.edges[k], 10.0 * k, EPS);
    double total = h.missing;
    for (int k = 0; k < PDM_MODEL_HIST_BINS; k++) {
        assert_float_equal(h.share[k], (k < 9 ? 10.0 : 11.0) / N, EPS);
        total += h.share[k];
    }
    assert_float_equal(h.missing, 9.0 / N, EPS);
    assert_float_equal(total, 1.0, EPS);
    assert_int_equal(h.count, N);
    assert_int_equal(pdm_histogram_bin(&h, 9.99), 0);
    assert_int_equal(pdm_histogram_bin(&h, 10), 1);
    assert_int_equal(pdm_histogram_bin(&h, -50), 0);
    assert_int_equal(pdm_histogram_bin(&h, 100), 9);
    assert_int_equal(pdm_histogram_bin(&h, 1e9), 9);
    assert_int_equal(pdm_histogram_bin(&h, NAN), -1);
}

static void test_histogram_tied_edges(void **state)
{
    /* 80 zeros and 20 ones: edges k/10 at positions 9.9k of the sorted data:
     * 0 up to k = 7, 0.2 at k = 8 (79.2), 1 after. */
    double v[100];
    pdm_histogram h;
    char err[PDM_ERRSTR_SIZE];
    for (int i = 0; i < 100; i++)
        v[i] = i % 5 == 0 ? 1.0 : 0.0;
    assert_int_equal(pdm_histogram_build(v, 100, 1, &h, err, sizeof err), 0);
    for (int k = 0; k <= 7; k++)
        assert_float_equal(h.edges[k], 0.0, EPS);
    assert_float_equal(h.edges[8], 0.2, EPS);
    assert_float_equal(h.edges[9], 1.0, EPS);
    assert_float_equal(h.edges[10], 1.0, EPS);
    assert_float_equal(h.share[7], 0.8, EPS);
    assert_float_equal(h.share[9], 0.2, EPS);
    assert_float_equal(h.share[0] + h.share[8], 0.0, EPS);
    assert_float_equal(h.missing, 0.0, EPS);

    for (int i = 0; i < 100; i++)
        v[i] = NAN;
    assert_int_equal(pdm_histogram_build(v, 100, 1, &h, err, sizeof err), 0);
    assert_float_equal(h.missing, 1.0, EPS);
    assert_true(isnan(h.edges[0]));
    assert_float_equal(h.share[0], 0.0, EPS);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_histogram_matches_sorted_reference(void **state)
{
    /* Negative, positive, tiny and huge values: the radix sort must agree
     * with qsort on every order statistic the edges use. */
    enum { N = 5003 };
    double *v = malloc(N * sizeof *v), *sorted = malloc(N * sizeof *sorted);
    pdm_histogram h;
    char err[PDM_ERRSTR_SIZE];
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0;
        v[i] = (i % 3 == 0 ? -1 : 1) * u * pow(10, (double)(i % 11) - 5);
        sorted[i] = v[i];
    }
    qsort(sorted, N, sizeof *sorted, cmp_double);
    assert_int_equal(pdm_histogram_build(v, N, 1, &h, err, sizeof err), 0);
    for (int k = 0; k <= PDM_MODEL_HIST_BINS; k++) {
        double pos = (double)(N - 1) * k / PDM_MODEL_HIST_BINS;
        size_t lo = (size_t)pos;
        double want = sorted[lo];
        if (lo + 1 < N)
            want += (pos - (double)lo) * (sorted[lo + 1] - sorted[lo]);
        assert_float_equal(h.edges[k], want, fabs(want) * 1e-15);
    }
    double total = 0;
    for (int k = 0; k < PDM_MODEL_HIST_BINS; k++) {
        assert_true(h.share[k] > 0.09 && h.share[k] < 0.11);
        total += h.share[k];
    }
    assert_float_equal(total, 1.0, 1e-12);
    free(v);
    free(sorted);
}

/* ---- version: SHA-256 (FIPS 180-2 examples) -------------------------------- */

/* The version is the first 12 hex digits of SHA-256(model || metadata): the
 * standard's examples, split between the two parts, give their digests. */
static void test_content_version_vectors(void **state)
{
    char v[PDM_MODEL_VERSION_LEN + 1], err[PDM_ERRSTR_SIZE];

    assert_int_equal(pdm_model_content_version("", 0, "", v, err, sizeof err), 0);
    assert_string_equal(v, "e3b0c44298fc"); /* e3b0c44298fc1c149afbf4c8996fb924... */

    assert_int_equal(pdm_model_content_version("ab", 2, "c", v, err, sizeof err), 0);
    assert_string_equal(v, "ba7816bf8f01"); /* ba7816bf8f01cfea414140de5dae2223... */
    assert_int_equal(pdm_model_content_version("", 0, "abc", v, err, sizeof err), 0);
    assert_string_equal(v, "ba7816bf8f01");

    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(pdm_model_content_version(two, 5, two + 5, v, err, sizeof err), 0);
    assert_string_equal(v, "248d6a61d206"); /* 248d6a61d20638b8e5c026930c3e6039... */

    size_t million = 1000000;
    char *as = malloc(million);
    assert_non_null(as);
    memset(as, 'a', million);
    assert_int_equal(pdm_model_content_version(as, million, "", v, err, sizeof err), 0);
    assert_string_equal(v, "cdc76e5c9914"); /* cdc76e5c9914fb9281a1c7e284d73e67... */
    free(as);
}

/* ---- split ---------------------------------------------------------------- */

static int64_t at(const char *s)
{
    int64_t ms = 0;
    assert_int_equal(pdm_time_parse(s, strlen(s), &ms), 0);
    return ms;
}

static void test_split_default_cutoff(void **state)
{
    /* 365 days from 2015-01-01 06:00: 75% is 273 d 18 h later, 2015-10-02
     * 00:00 exactly; one hour less lands on 2015-10-01 23:15 -> midnight. */
    assert_true(pdm_split_cutoff(at("2015-01-01 06:00:00"), at("2016-01-01 06:00:00"), 0.75) ==
                at("2015-10-02 00:00:00"));
    assert_true(pdm_split_cutoff(at("2015-01-01 06:00:00"), at("2016-01-01 05:00:00"), 0.75) ==
                at("2015-10-01 00:00:00"));
    assert_true(pdm_split_cutoff(at("1969-12-30 00:00:00"), at("1969-12-31 12:00:00"), 0.75) ==
                at("1969-12-31 00:00:00"));
}

/* ---- promotion ------------------------------------------------------------ */

static void test_promotion_rule(void **state)
{
    pdm_eval cand = {0}, cur = {0};
    char why[256];
    cand.macro_f1 = 0.5;
    cand.pr_auc = 0.4;
    cur.macro_f1 = 0.5;
    cur.pr_auc = 0.4;
    assert_int_equal(pdm_model_promotion_decide(&cand, &cur, why, sizeof why), 1);
    cand.macro_f1 = 0.49;
    assert_int_equal(pdm_model_promotion_decide(&cand, &cur, why, sizeof why), 0);
    assert_non_null(strstr(why, "worse"));
    cand.macro_f1 = 0.6;
    cand.pr_auc = 0.39;
    assert_int_equal(pdm_model_promotion_decide(&cand, &cur, why, sizeof why), 0);
    cand.pr_auc = 0.41;
    assert_int_equal(pdm_model_promotion_decide(&cand, &cur, why, sizeof why), 1);
    cur.pr_auc = NAN;
    assert_int_equal(pdm_model_promotion_decide(&cand, &cur, why, sizeof why), 1);
    cur.pr_auc = 0.1;
    cand.pr_auc = NAN;
    assert_int_equal(pdm_model_promotion_decide(&cand, &cur, why, sizeof why), 0);
}

static void test_current_link_swap(void **state)
{
    char dir[] = "/tmp/pdm-test-model-XXXXXX", path[4096], link[4200], target[64];
    char err[PDM_ERRSTR_SIZE];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(pdm_model_current(dir, path, sizeof path, err, sizeof err), 1);
    snprintf(path, sizeof path, "%s/aaa", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/bbb", dir);
    assert_int_equal(mkdir(path, 0755), 0);

    assert_int_equal(pdm_model_make_current(dir, "aaa", err, sizeof err), 0);
    assert_int_equal(pdm_model_current(dir, path, sizeof path, err, sizeof err), 0);
    snprintf(link, sizeof link, "%s/aaa", dir);
    assert_string_equal(path, link);
    assert_int_equal(pdm_model_make_current(dir, "bbb", err, sizeof err), 0);
    assert_int_equal(pdm_model_current(dir, path, sizeof path, err, sizeof err), 0);
    snprintf(link, sizeof link, "%s/current", dir);
    ssize_t n = readlink(link, target, sizeof target - 1);
    assert_true(n == 3);
    target[n] = '\0';
    assert_string_equal(target, "bbb"); /* relative: the directory can move */

    assert_int_equal(pdm_model_make_current(dir, "missing", err, sizeof err), -1);
    assert_int_equal(pdm_model_make_current(dir, "../etc", err, sizeof err), -1);
    /* a failed swap leaves the old link */
    assert_int_equal(pdm_model_current(dir, path, sizeof path, err, sizeof err), 0);
    assert_non_null(strstr(path, "/bbb"));

    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auc_with_ties),
        cmocka_unit_test(test_auc_all_tied_and_degenerate),
        cmocka_unit_test(test_metrics_f1_confusion),
        cmocka_unit_test(test_metrics_roc_on_risk),
        cmocka_unit_test(test_thresholds_rule),
        cmocka_unit_test(test_thresholds_ties_and_fallbacks),
        cmocka_unit_test(test_histogram_quantiles_and_missing),
        cmocka_unit_test(test_histogram_tied_edges),
        cmocka_unit_test(test_histogram_matches_sorted_reference),
        cmocka_unit_test(test_content_version_vectors),
        cmocka_unit_test(test_split_default_cutoff),
        cmocka_unit_test(test_promotion_rule),
        cmocka_unit_test(test_current_link_swap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
