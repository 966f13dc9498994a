/* Unit tests of the TreeSHAP tables (model/shap.c) against XGBoost's own
 * exact contributions (pred_contribs, type 2, strict_shape) on boosters
 * trained here with the XGBoost C API: 5-class multi:softprob of depths
 * 1..8, binary:logistic and reg:squarederror with a base_score that is not
 * 0.5, hist and exact tree methods, data with NaN and values on a grid (so
 * rows sit on split thresholds), plus rows built from the model's
 * thresholds (the threshold itself, the next float either side) and NaN.
 * Over more than 10,000 rows every value must agree with XGBoost within TOL
 * of the row's largest |phi|, and each row's values must sum to XGBoost's
 * margin within SUM_TOL.
 *
 * Why TOL = 2e-5: XGBoost computes each tree's values in float (covers,
 * fractions, path weights) and adds trees in float; this module works in
 * double with float tables. The largest difference measured here is
 * printed by every test: 2e-7 to 2.4e-6 of the row's largest |phi| (5e-7
 * on the 100-round bench model); 2e-5 leaves room for longer models
 * without hiding a wrong path (mutations tried on shap.c: `<=` for `<` and
 * a flipped default direction fail at 0.19 and 3.6 of the row's largest).
 *
 * Also: leaves computed without tables give the same values; zero and tiny
 * covers; unsupported models (dart, wrong shapes, categorical splits, too
 * deep, no cover, bad JSON) are refused with a message; pdm_shap_check;
 * infinities; threads share one explainer; batches equal one-row calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <xgboost/c_api.h>

#include "pdm_common.h"
#include "shap.h"

enum { NFEAT = 8, NTRAIN = 3000 };

#define TOL PDM_SHAP_TOLERANCE /* 2e-5 */
#define SUM_TOL 1e-5

static size_t rows_compared;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* Grid values (on thresholds), small integers, heavy tails, 30% missing,
 * a constant, continuous; labels from rules plus noise, in nclass classes. */
static void make_rows(double *x, float *label, size_t n, int nclass, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        double *r = x + i * NFEAT;
        r[0] = floor(uniform(&s) * 40) / 4 - 5;
        r[1] = uniform(&s) < 0.1 ? NAN : floor(uniform(&s) * 40) / 4 - 5;
        r[2] = (double)(rng_next(&s) % 10);
        r[3] = exp(uniform(&s) * 12 - 6);
        r[4] = uniform(&s) < 0.3 ? NAN : uniform(&s) * 3;
        r[5] = 7.0;
        r[6] = uniform(&s) * 2 - 1;
        r[7] = uniform(&s) < 0.05 ? NAN : uniform(&s);
        int y = 0;
        if (r[0] > 1.5 && r[2] >= 5)
            y = 1;
        else if (r[1] < -2 && (isnan(r[4]) || r[4] > 1))
            y = 2;
        else if (r[3] > 50)
            y = 3;
        else if (r[6] + r[0] / 5 > 0.9)
            y = 4;
        if (rng_next(&s) % 10 == 0)
            y = (int)(rng_next(&s) % 5);
        if (label)
            label[i] = (float)(nclass == 1 ? y > 0 : y % nclass);
    }
}

static DMatrixHandle dmatrix(const double *x, size_t n)
{
    char ai[160];
    DMatrixHandle dm;
    snprintf(ai, sizeof ai,
             "{\"data\":[%llu,true],\"shape\":[%zu,%d],\"typestr\":\"<f8\",\"version\":3}",
             (unsigned long long)(uintptr_t)x, n, NFEAT);
    assert_int_equal(XGDMatrixCreateFromDense(ai, "{\"missing\":NaN,\"nthread\":1}", &dm), 0);
    return dm;
}

typedef struct {
    const char *objective, *tree_method, *booster, *base_score, *min_child_weight;
    int nclass, depth, rounds;
    uint64_t seed;
} train_spec;

static BoosterHandle train(const train_spec *t)
{
    double *x = malloc(NTRAIN * NFEAT * sizeof *x);
    float *y = malloc(NTRAIN * sizeof *y);
    char v[32];
    BoosterHandle b;
    assert_non_null(x);
    assert_non_null(y);
    make_rows(x, y, NTRAIN, t->nclass, t->seed);
    DMatrixHandle dm = dmatrix(x, NTRAIN);
    assert_int_equal(XGDMatrixSetFloatInfo(dm, "label", y, NTRAIN), 0);
    assert_int_equal(XGBoosterCreate(&dm, 1, &b), 0);
    XGBoosterSetParam(b, "verbosity", "0");
    XGBoosterSetParam(b, "nthread", "1");
    XGBoosterSetParam(b, "objective", t->objective);
    if (t->nclass > 1) {
        snprintf(v, sizeof v, "%d", t->nclass);
        XGBoosterSetParam(b, "num_class", v);
    }
    snprintf(v, sizeof v, "%d", t->depth);
    XGBoosterSetParam(b, "max_depth", v);
    XGBoosterSetParam(b, "tree_method", t->tree_method ? t->tree_method : "hist");
    XGBoosterSetParam(b, "booster", t->booster ? t->booster : "gbtree");
    XGBoosterSetParam(b, "base_score", t->base_score ? t->base_score : "0.5");
    XGBoosterSetParam(b, "min_child_weight", t->min_child_weight ? t->min_child_weight : "0.5");
    XGBoosterSetParam(b, "subsample", "0.9");
    XGBoosterSetParam(b, "colsample_bytree", "0.9");
    snprintf(v, sizeof v, "%llu", (unsigned long long)t->seed);
    XGBoosterSetParam(b, "seed", v);
    for (int it = 0; it < t->rounds; it++)
        assert_int_equal(XGBoosterUpdateOneIter(b, it, dm), 0);
    XGDMatrixFree(dm);
    free(x);
    free(y);
    return b;
}

static char *model_json(BoosterHandle b, size_t *len)
{
    bst_ulong l;
    const char *buf;
    assert_int_equal(XGBoosterSaveModelToBuffer(b, "{\"format\":\"json\"}", &l, &buf), 0);
    char *copy = malloc(l + 1);
    assert_non_null(copy);
    memcpy(copy, buf, l);
    copy[l] = '\0';
    *len = (size_t)l;
    return copy;
}

/* learner.gradient_booster.model.trees of a JSON model. */
static cJSON *model_trees(const cJSON *root)
{
    cJSON *trees = cJSON_GetObjectItem(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(root, "learner"), "gradient_booster"), "model"),
        "trees");
    assert_non_null(trees);
    return trees;
}

/* XGBoost's contributions (n x nclass x (NFEAT + 1)) and margins (n x nclass). */
static void xgb_reference(BoosterHandle b, const double *x, size_t n, int nclass, double *phi,
                          double *margin)
{
    static const char config[] = "{\"type\":%d,\"training\":false,\"iteration_begin\":0,"
                                 "\"iteration_end\":0,\"strict_shape\":true}";
    char cfg[160];
    const bst_ulong *shape;
    bst_ulong dim;
    const float *res;
    DMatrixHandle dm = dmatrix(x, n);
    size_t w = NFEAT + 1;
    snprintf(cfg, sizeof cfg, config, 2);
    assert_int_equal(XGBoosterPredictFromDMatrix(b, dm, cfg, &shape, &dim, &res), 0);
    assert_int_equal(dim, 3);
    assert_int_equal(shape[0], n);
    assert_int_equal(shape[1], nclass);
    assert_int_equal(shape[2], w);
    for (size_t i = 0; i < n * nclass * w; i++)
        phi[i] = res[i];
    snprintf(cfg, sizeof cfg, config, 1);
    assert_int_equal(XGBoosterPredictFromDMatrix(b, dm, cfg, &shape, &dim, &res), 0);
    assert_int_equal(dim, 2);
    assert_int_equal(shape[1], nclass);
    for (size_t i = 0; i < n * nclass; i++)
        margin[i] = res[i];
    XGDMatrixFree(dm);
}

/* Rows on the model's split thresholds: fresh data rows, a third of them
 * with one feature moved onto a threshold of the model (the float itself or
 * the next float either side) and a sixth with one more value NaN. */
static double *eval_rows(const char *json, size_t n, int nclass, uint64_t seed)
{
    cJSON *root = cJSON_Parse(json);
    double *x = malloc(n * NFEAT * sizeof *x);
    size_t cap = 1024, nthr = 0;
    double *thr = malloc(cap * sizeof *thr);
    int *feat = malloc(cap * sizeof *feat);
    uint64_t s = seed;
    assert_non_null(root);
    assert_non_null(x);
    const cJSON *trees = model_trees(root);
    const cJSON *t;
    cJSON_ArrayForEach(t, trees)
    {
        const cJSON *lc = cJSON_GetObjectItem(t, "left_children")->child;
        const cJSON *sc = cJSON_GetObjectItem(t, "split_conditions")->child;
        const cJSON *si = cJSON_GetObjectItem(t, "split_indices")->child;
        for (; lc && sc && si; lc = lc->next, sc = sc->next, si = si->next) {
            if (lc->valuedouble < 0)
                continue;
            if (nthr == cap) {
                cap *= 2;
                thr = realloc(thr, cap * sizeof *thr);
                feat = realloc(feat, cap * sizeof *feat);
                assert_non_null(thr);
                assert_non_null(feat);
            }
            thr[nthr] = (float)sc->valuedouble;
            feat[nthr++] = (int)si->valuedouble;
        }
    }
    make_rows(x, NULL, n, nclass, seed ^ 0x5eed);
    for (size_t i = 0; nthr && i < n; i++) {
        double *r = x + i * NFEAT;
        if (i % 3 == 0) {
            size_t k = rng_next(&s) % nthr;
            float f = (float)thr[k];
            int side = (int)(rng_next(&s) % 3);
            r[feat[k]] = side == 0 ? f : nextafterf(f, side == 1 ? -INFINITY : INFINITY);
        }
        if (i % 6 == 1)
            r[rng_next(&s) % NFEAT] = NAN;
    }
    free(thr);
    free(feat);
    cJSON_Delete(root);
    return x;
}

typedef struct {
    double worst_rel, worst_sum;
} compare_result;

/* Every value within TOL of the row's largest |phi| (per class), and every
 * row's sum within SUM_TOL x max(1, |margin|) of XGBoost's margin. */
static void compare(const double *got, const double *ref, const double *margin, size_t n,
                    int nclass, compare_result *res)
{
    size_t w = NFEAT + 1;
    res->worst_rel = res->worst_sum = 0;
    for (size_t i = 0; i < n * (size_t)nclass; i++) {
        const double *g = got + i * w, *r = ref + i * w;
        double scale = 0, sum = 0;
        for (size_t j = 0; j < w; j++)
            if (fabs(r[j]) > scale)
                scale = fabs(r[j]);
        if (scale == 0)
            scale = 1;
        for (size_t j = 0; j < w; j++) {
            double rel = fabs(g[j] - r[j]) / scale;
            if (!(rel <= TOL))
                fail_msg("row %zu class %zu feature %zu: %.9g, xgboost %.9g (%.3g of the row's "
                         "largest)",
                         i / nclass, i % nclass, j, g[j], r[j], rel);
            if (rel > res->worst_rel)
                res->worst_rel = rel;
            sum += g[j];
        }
        double d = fabs(sum - margin[i]) / fmax(1.0, fabs(margin[i]));
        if (!(d <= SUM_TOL))
            fail_msg("row %zu class %zu: sum %.9g, margin %.9g", i / nclass, i % nclass, sum,
                     margin[i]);
        if (d > res->worst_sum)
            res->worst_sum = d;
    }
    rows_compared += n;
}

/* Trains, explains n rows and compares with XGBoost; returns the worst
 * relative difference. */
static double check_model(const train_spec *t, size_t n, size_t budget)
{
    char err[PDM_ERRSTR_SIZE];
    size_t len, w = NFEAT + 1;
    BoosterHandle b = train(t);
    char *json = model_json(b, &len);
    pdm_shap *s = pdm_shap_from_json(json, len, NFEAT, t->nclass, budget, err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    double *x = eval_rows(json, n, t->nclass, t->seed);
    double *got = malloc(n * t->nclass * w * sizeof *got);
    double *ref = malloc(n * t->nclass * w * sizeof *ref);
    double *margin = malloc(n * t->nclass * sizeof *margin);
    assert_non_null(got);
    assert_non_null(ref);
    assert_non_null(margin);
    assert_int_equal(pdm_shap_contrib(s, x, n, got, err, sizeof err), 0);
    xgb_reference(b, x, n, t->nclass, ref, margin);
    compare_result cr;
    compare(got, ref, margin, n, t->nclass, &cr);
    pdm_shap_info info;
    pdm_shap_get_info(s, &info);
    print_message("%s %s depth %d x %d rounds: %zu rows, %zu leaves (%zu direct), up to %zu "
                  "features a path, %zu KiB; worst |diff| %.2g of the row's largest, sum %.2g\n",
                  t->objective, t->tree_method ? t->tree_method : "hist", t->depth, t->rounds, n,
                  info.leaves, info.direct_leaves, info.max_path_features,
                  pdm_shap_memory(s) / 1024, cr.worst_rel, cr.worst_sum);
    if (budget == 0)
        assert_int_equal(info.direct_leaves, info.leaves);
    pdm_shap_destroy(s);
    XGBoosterFree(b);
    free(json);
    free(x);
    free(got);
    free(ref);
    free(margin);
    return cr.worst_rel;
}

static void test_multiclass_depths(void **state)
{
    for (int depth = 1; depth <= 8; depth++) {
        train_spec t = {.objective = "multi:softprob",
                        .nclass = 5,
                        .depth = depth,
                        .rounds = 6,
                        .seed = 100 + (uint64_t)depth,
                        .tree_method = depth % 3 == 2 ? "exact" : "hist"};
        check_model(&t, 1500, PDM_SHAP_TABLE_BUDGET);
    }
}

static void test_one_output(void **state)
{
    static const int depths[] = {1, 3, 6, 8};
    for (size_t i = 0; i < sizeof depths / sizeof *depths; i++) {
        train_spec t = {.objective = "binary:logistic",
                        .nclass = 1,
                        .depth = depths[i],
                        .rounds = 10,
                        .seed = 7 + i,
                        .base_score = "0.3",
                        .tree_method = i % 2 ? "exact" : "hist"};
        check_model(&t, 1500, PDM_SHAP_TABLE_BUDGET);
    }
    /* an identity objective: the base margin is base_score itself */
    train_spec reg = {.objective = "reg:squarederror",
                      .nclass = 1,
                      .depth = 5,
                      .rounds = 8,
                      .seed = 17,
                      .base_score = "0.2"};
    check_model(&reg, 1000, PDM_SHAP_TABLE_BUDGET);
}

/* A longer model with small leaves: float rounding in XGBoost grows with
 * the trees, the values must stay within TOL. */
static void test_longer_model(void **state)
{
    train_spec t = {.objective = "multi:softprob",
                    .nclass = 5,
                    .depth = 6,
                    .rounds = 40,
                    .seed = 3,
                    .min_child_weight = "0.01"};
    check_model(&t, 2003, PDM_SHAP_TABLE_BUDGET);
}

/* Leaves without tables (computed per row) give XGBoost's values too, and
 * a small budget mixes both kinds in one model. */
static void test_without_tables(void **state)
{
    train_spec t = {
        .objective = "multi:softprob", .nclass = 5, .depth = 7, .rounds = 3, .seed = 11};
    check_model(&t, 800, 0);
    check_model(&t, 800, 4096);
    train_spec bin = {
        .objective = "binary:logistic", .nclass = 1, .depth = 8, .rounds = 4, .seed = 12};
    check_model(&bin, 800, 0);
}

/* ---- refusals ------------------------------------------------------------------- */

static void expect_refused(const char *json, size_t nfeat, int nclass, const char *what)
{
    char err[PDM_ERRSTR_SIZE] = "";
    pdm_shap *s = pdm_shap_from_json(json, strlen(json), nfeat, nclass, PDM_SHAP_TABLE_BUDGET, err,
                                     sizeof err);
    if (s)
        fail_msg("accepted a model that should be refused (%s)", what);
    if (!strstr(err, what))
        fail_msg("refused with \"%s\", expected a message with \"%s\"", err, what);
}

/* A model of one tree that is a chain of `depth` splits on feature
 * depth % nfeat, node covers as given. */
static char *chain_model(int depth, double leaf_cover)
{
    cJSON *root = cJSON_CreateObject(), *learner = cJSON_AddObjectToObject(root, "learner");
    cJSON *mp = cJSON_AddObjectToObject(learner, "learner_model_param");
    cJSON_AddStringToObject(mp, "base_score", "5E-1");
    cJSON_AddStringToObject(mp, "num_class", "0");
    cJSON_AddStringToObject(mp, "num_feature", "8");
    cJSON_AddStringToObject(mp, "num_target", "1");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(learner, "objective"), "name",
                            "binary:logistic");
    cJSON *gb = cJSON_AddObjectToObject(learner, "gradient_booster");
    cJSON_AddStringToObject(gb, "name", "gbtree");
    cJSON *model = cJSON_AddObjectToObject(gb, "model");
    int zero = 0;
    cJSON_AddItemToObject(model, "tree_info", cJSON_CreateIntArray(&zero, 1));
    cJSON *tree = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(model, "trees"), tree);
    int n = 2 * depth + 1;
    cJSON *lc = cJSON_AddArrayToObject(tree, "left_children");
    cJSON *rc = cJSON_AddArrayToObject(tree, "right_children");
    cJSON *si = cJSON_AddArrayToObject(tree, "split_indices");
    cJSON *dl = cJSON_AddArrayToObject(tree, "default_left");
    cJSON *sc = cJSON_AddArrayToObject(tree, "split_conditions");
    cJSON *sh = cJSON_AddArrayToObject(tree, "sum_hessian");
    cJSON *st = cJSON_AddArrayToObject(tree, "split_type");
    cJSON_AddArrayToObject(tree, "categories");
    /* node 2i is the i-th split (i < depth), 2i+1 its right leaf; the last
     * node the deepest left leaf */
    for (int i = 0; i < n; i++) {
        int split = i % 2 == 0 && i < 2 * depth;
        cJSON_AddItemToArray(lc, cJSON_CreateNumber(split ? i + 2 : -1));
        cJSON_AddItemToArray(rc, cJSON_CreateNumber(split ? i + 1 : -1));
        cJSON_AddItemToArray(si, cJSON_CreateNumber(split ? (i / 2) % 8 : 0));
        cJSON_AddItemToArray(dl, cJSON_CreateNumber(1));
        cJSON_AddItemToArray(sc, cJSON_CreateNumber(split ? 0.5 : 0.01 * i));
        double cover = split || i == n - 1 ? 1000.0 - i : leaf_cover;
        cJSON_AddItemToArray(sh, cJSON_CreateNumber(cover));
        cJSON_AddItemToArray(st, cJSON_CreateNumber(0));
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    assert_non_null(text);
    return text;
}

static void test_refuses_unsupported(void **state)
{
    size_t len;
    train_spec t = {.objective = "multi:softprob", .nclass = 5, .depth = 3, .rounds = 2, .seed = 5};
    BoosterHandle b = train(&t);
    char *json = model_json(b, &len);
    char err[PDM_ERRSTR_SIZE];

    /* the booster itself is accepted, with its own shape only */
    pdm_shap *s = pdm_shap_new(b, NFEAT, 5, err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    pdm_shap_destroy(s);
    pdm_shap_destroy(NULL);
    expect_refused(json, NFEAT, 4, "outputs");
    expect_refused(json, NFEAT - 1, 5, "features");
    expect_refused("{\"learner\":", NFEAT, 5, "not JSON");
    expect_refused("{}", NFEAT, 5, "learner_model_param");
    /* a categorical split */
    cJSON *root = cJSON_Parse(json);
    cJSON *tree0 = model_trees(root)->child;
    cJSON_ReplaceItemInArray(cJSON_GetObjectItem(tree0, "split_type"), 0, cJSON_CreateNumber(1));
    char *cat = cJSON_PrintUnformatted(root);
    expect_refused(cat, NFEAT, 5, "categorical");
    /* a split node with no cover */
    cJSON_ReplaceItemInArray(cJSON_GetObjectItem(tree0, "split_type"), 0, cJSON_CreateNumber(0));
    cJSON_ReplaceItemInArray(cJSON_GetObjectItem(tree0, "sum_hessian"), 0, cJSON_CreateNumber(0));
    char *nocover = cJSON_PrintUnformatted(root);
    expect_refused(nocover, NFEAT, 5, "cover");
    cJSON_Delete(root);
    free(cat);
    free(nocover);
    XGBoosterFree(b);
    free(json);

    /* dart */
    train_spec d = t;
    d.booster = "dart";
    b = train(&d);
    json = model_json(b, &len);
    expect_refused(json, NFEAT, 5, "dart");
    assert_null(pdm_shap_new(b, NFEAT, 5, err, sizeof err));
    XGBoosterFree(b);
    free(json);

    /* a path of 65 splits; 64 is accepted */
    char *deep = chain_model(65, 1.0);
    expect_refused(deep, NFEAT, 1, "deeper than 64");
    free(deep);
    deep = chain_model(64, 1.0);
    s = pdm_shap_from_json(deep, strlen(deep), NFEAT, 1, PDM_SHAP_TABLE_BUDGET, err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    pdm_shap_destroy(s);
    free(deep);
}

static void chain_check(const char *json, size_t budget)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_shap *s = pdm_shap_from_json(json, strlen(json), NFEAT, 1, budget, err, sizeof err);
    if (!s)
        fail_msg("%s", err);
    double x[4][NFEAT], phi[4][NFEAT + 1];
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < NFEAT; j++)
            x[r][j] = r == 0 ? 0.0 : r == 1 ? 1.0 : r == 2 ? NAN : (j % 2 ? 0.0 : 1.0);
    assert_int_equal(pdm_shap_contrib(s, &x[0][0], 4, &phi[0][0], err, sizeof err), 0);
    for (int r = 0; r < 4; r++) {
        /* the margin: walk the chain (left iff x < 0.5 or NaN) */
        int node = 0, depth = 40;
        double margin = 0.0;
        while (node < 2 * depth && node % 2 == 0) {
            double v = x[r][(node / 2) % 8];
            node = isnan(v) || v < 0.5 ? node + 2 : node + 1;
        }
        margin += (float)(0.01 * node);
        double sum = 0;
        for (int j = 0; j <= NFEAT; j++) {
            assert_true(isfinite(phi[r][j]));
            sum += phi[r][j];
        }
        /* double throughout without tables; float tables round to ~1e-7 */
        if (fabs(sum - margin) > (budget ? 1e-6 : 1e-12))
            fail_msg("row %d: sum %.12g, margin %.12g (budget %zu)", r, sum, margin, budget);
    }
    pdm_shap_destroy(s);
}

/* A chain of 40 splits over 8 features (each repeated 5 times on a path)
 * whose right leaves have zero cover, where XGBoost's float recursion
 * divides by zero: with and without tables, the values are finite and sum
 * to the margin, computed here by walking the chain. */
static void test_zero_cover_and_deep_chain(void **state)
{
    char *json = chain_model(40, 0.0);
    for (int budget = 0; budget < 2; budget++)
        chain_check(json, budget ? PDM_SHAP_TABLE_BUDGET : 0);
    free(json);
}

/* The JSON text of a model whose every tree has its first leaf's cover set
 * to 0 and its second leaf's to 1e-30 (XGBoost's writer is compact: each
 * tree's "sum_hessian":[...] is rewritten in place, numbers with an
 * exponent so that XGBoost reads them as floats). */
static char *with_tiny_covers(const char *json)
{
    static const char key[] = "\"sum_hessian\":[";
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    const cJSON *tree = model_trees(root)->child;
    size_t cap = strlen(json) * 2 + 1, used = 0;
    char *out = malloc(cap);
    const char *p = json;
    assert_non_null(out);
    for (; tree; tree = tree->next) {
        const char *at = strstr(p, key), *end;
        assert_non_null(at);
        at += strlen(key);
        end = strchr(at, ']');
        assert_non_null(end);
        memcpy(out + used, p, (size_t)(at - p));
        used += (size_t)(at - p);
        const cJSON *lc = cJSON_GetObjectItem(tree, "left_children")->child;
        const cJSON *sh = cJSON_GetObjectItem(tree, "sum_hessian")->child;
        int leaves = 0, first = 1;
        for (; lc && sh; lc = lc->next, sh = sh->next, first = 0) {
            double v = sh->valuedouble;
            if (lc->valuedouble < 0 && leaves < 2)
                v = leaves++ == 0 ? 0.0 : 1e-30;
            assert_true(used + 40 < cap);
            used += (size_t)snprintf(out + used, cap - used, "%s%.9e", first ? "" : ",", v);
        }
        p = end;
    }
    size_t rest = strlen(p);
    assert_true(used + rest < cap);
    memcpy(out + used, p, rest + 1);
    cJSON_Delete(root);
    return out;
}

/* Leaves of zero and tiny cover (z = 0 on their paths, never a division
 * here): XGBoost's values on the same edited model. */
static void test_zero_cover_leaves(void **state)
{
    enum { N = 1500 };
    size_t len, w = NFEAT + 1;
    char err[PDM_ERRSTR_SIZE];
    train_spec t = {
        .objective = "multi:softprob", .nclass = 5, .depth = 5, .rounds = 4, .seed = 31};
    BoosterHandle trained = train(&t), b;
    char *json = model_json(trained, &len);
    char *edited = with_tiny_covers(json);
    assert_int_equal(XGBoosterCreate(NULL, 0, &b), 0);
    if (XGBoosterLoadModelFromBuffer(b, edited, strlen(edited)))
        fail_msg("xgboost: %s", XGBGetLastError());
    for (int budget = 0; budget < 2; budget++) {
        pdm_shap *s = pdm_shap_from_json(edited, strlen(edited), NFEAT, 5,
                                         budget ? PDM_SHAP_TABLE_BUDGET : 0, err, sizeof err);
        if (!s)
            fail_msg("%s", err);
        double *x = eval_rows(edited, N, 5, 77);
        double *got = malloc(N * 5 * w * sizeof *got), *ref = malloc(N * 5 * w * sizeof *ref);
        double *margin = malloc(N * 5 * sizeof *margin);
        assert_non_null(got);
        assert_non_null(ref);
        assert_non_null(margin);
        assert_int_equal(pdm_shap_contrib(s, x, N, got, err, sizeof err), 0);
        xgb_reference(b, x, N, 5, ref, margin);
        compare_result cr;
        compare(got, ref, margin, N, 5, &cr);
        print_message("zero and 1e-30 covers, %s: worst |diff| %.2g of the row's largest\n",
                      budget ? "tables" : "no tables", cr.worst_rel);
        pdm_shap_destroy(s);
        free(x);
        free(got);
        free(ref);
        free(margin);
    }
    XGBoosterFree(b);
    XGBoosterFree(trained);
    free(json);
    free(edited);
}

/* pdm_shap_check accepts the explainer of its own booster and refuses one
 * of another booster of the same shape, naming the worst value. */
static void test_check(void **state)
{
    enum { N = 300 };
    size_t len;
    char err[PDM_ERRSTR_SIZE];
    double worst;
    train_spec t = {
        .objective = "multi:softprob", .nclass = 5, .depth = 6, .rounds = 5, .seed = 41};
    BoosterHandle b = train(&t);
    t.seed = 42;
    BoosterHandle other = train(&t);
    char *json = model_json(b, &len);
    pdm_shap *s = pdm_shap_new(b, NFEAT, 5, err, sizeof err);
    assert_non_null(s);
    double *x = eval_rows(json, N, 5, 3);
    if (pdm_shap_check(s, b, x, N, &worst, err, sizeof err))
        fail_msg("%s", err);
    assert_true(worst <= TOL);
    assert_int_equal(pdm_shap_check(s, other, x, N, &worst, err, sizeof err), -1);
    assert_true(worst > TOL);
    assert_non_null(strstr(err, "where XGBoost has"));
    assert_int_equal(pdm_shap_check(s, b, x, 0, &worst, err, sizeof err), 0);
    pdm_shap_destroy(s);
    XGBoosterFree(b);
    XGBoosterFree(other);
    free(json);
    free(x);
}

/* XGBoost's DMatrix refuses infinities, its predictor sends them right
 * (-inf left) like any value beyond the threshold: here +-inf and values
 * that overflow a float give the values of +-FLT_MAX. */
static void test_infinities(void **state)
{
    size_t len, w = 5 * (NFEAT + 1);
    char err[PDM_ERRSTR_SIZE];
    train_spec t = {
        .objective = "multi:softprob", .nclass = 5, .depth = 6, .rounds = 3, .seed = 51};
    BoosterHandle b = train(&t);
    char *json = model_json(b, &len);
    pdm_shap *s = pdm_shap_new(b, NFEAT, 5, err, sizeof err);
    assert_non_null(s);
    double *x = eval_rows(json, 8, 5, 4), y[8 * NFEAT], big[8 * NFEAT];
    for (size_t i = 0; i < 8 * NFEAT; i++) {
        int kind = (int)(i % 5);
        y[i] = kind == 0 ? INFINITY : kind == 1 ? -INFINITY : kind == 2 ? 1e300 : x[i];
        big[i] = kind == 0 || kind == 2 ? FLT_MAX : kind == 1 ? -FLT_MAX : x[i];
    }
    double *p1 = malloc(8 * w * sizeof *p1), *p2 = malloc(8 * w * sizeof *p2);
    assert_non_null(p1);
    assert_non_null(p2);
    assert_int_equal(pdm_shap_contrib(s, y, 8, p1, err, sizeof err), 0);
    assert_int_equal(pdm_shap_contrib(s, big, 8, p2, err, sizeof err), 0);
    assert_memory_equal(p1, p2, 8 * w * sizeof *p1);
    pdm_shap_destroy(s);
    XGBoosterFree(b);
    free(json);
    free(x);
    free(p1);
    free(p2);
}

/* ---- threads -------------------------------------------------------------------- */

typedef struct {
    const pdm_shap *s;
    const double *x;
    size_t n;
    double *phi;
    int rc;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    char err[PDM_ERRSTR_SIZE];
    for (int rep = 0; rep < 3 && j->rc == 0; rep++)
        j->rc = pdm_shap_contrib(j->s, j->x, j->n, j->phi, err, sizeof err);
    return NULL;
}

static void test_threads_share(void **state)
{
    enum { N = 403, T = 3 }; /* 403: blocks of 32 rows, groups of 4, and a remainder */
    size_t len, w = 5 * (NFEAT + 1);
    char err[PDM_ERRSTR_SIZE];
    train_spec t = {
        .objective = "multi:softprob", .nclass = 5, .depth = 6, .rounds = 4, .seed = 21};
    BoosterHandle b = train(&t);
    char *json = model_json(b, &len);
    pdm_shap *s = pdm_shap_new(b, NFEAT, 5, err, sizeof err);
    assert_non_null(s);
    double *x = eval_rows(json, N, 5, 9);
    double *one = malloc(N * w * sizeof *one), *out[T];
    assert_non_null(one);
    assert_int_equal(pdm_shap_contrib(s, x, N, one, err, sizeof err), 0);
    pthread_t th[T];
    job jobs[T];
    for (int i = 0; i < T; i++) {
        out[i] = malloc(N * w * sizeof *out[i]);
        assert_non_null(out[i]);
        jobs[i] = (job){s, x, N, out[i], 0};
        assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].rc, 0);
        assert_memory_equal(out[i], one, N * w * sizeof *one);
        free(out[i]);
    }
    /* one row per call gives the same values as the batch */
    for (size_t i = 0; i < N; i += 37) {
        double row[5 * (NFEAT + 1)];
        assert_int_equal(pdm_shap_contrib(s, x + i * NFEAT, 1, row, err, sizeof err), 0);
        assert_memory_equal(row, one + i * w, sizeof row);
    }
    assert_int_equal(pdm_shap_contrib(s, x, 0, one, err, sizeof err), 0);
    pdm_shap_destroy(s);
    XGBoosterFree(b);
    free(json);
    free(x);
    free(one);
}

static void test_rows_total(void **state)
{
    print_message("rows compared with XGBoost: %zu\n", rows_compared);
    assert_true(rows_compared >= 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multiclass_depths),
        cmocka_unit_test(test_one_output),
        cmocka_unit_test(test_longer_model),
        cmocka_unit_test(test_without_tables),
        cmocka_unit_test(test_refuses_unsupported),
        cmocka_unit_test(test_zero_cover_and_deep_chain),
        cmocka_unit_test(test_zero_cover_leaves),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_infinities),
        cmocka_unit_test(test_threads_share),
        cmocka_unit_test(test_rows_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
