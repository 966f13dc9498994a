/* shap.c: exact path-dependent TreeSHAP from per-leaf tables (see shap.h).
 *
 * The sum. For one tree and one row, path-dependent TreeSHAP (what XGBoost's
 * pred_contribs computes) is a sum over the leaves l of the tree. Let P be
 * the distinct features on l's root path (p = |P|); for k in P let z_k be
 * the product, over the path's splits on k, of cover(child taken) /
 * cover(node), and o_k = 1 if the row follows every one of those splits
 * (NaN takes the default child), else 0. Feature j in P gets
 *     v_l (o_j - z_j) sum_{S in P\{j}} w(|S|, p) prod_{k in S} o_k
 *                                           prod_{k in P\S\{j}} z_k
 * with the Shapley weight w(s, p) = s! (p - s - 1)! / p!. XGBoost's
 * recursion (ExtendPath / UnwindPath over a path with a neutral root
 * element) computes exactly this polynomial in the o's and z's.
 *
 * The tables. As o_k is 0 or 1, only S inside the hot set H = {k: o_k = 1}
 * count. With Zc(T) = prod_{k in P\T} z_k and, for T a subset of P,
 *     E(T) = sum_{S in T} w(|S|, p) prod_{k in T\S} z_k
 *          = sum_s w(s, p) e_{|T|-s}(z_T)   (e: elementary symmetric sums)
 * the sum becomes
 *     j cold: -v_l Zc(H) E(H)                  (the same for every cold j)
 *     j hot:   v_l (1 - z_j) Zc(H) E(H \ {j})
 * which depends on the row only through H. So each leaf gets a table of
 * F(T) = v_l Zc(T) E(T) over its 2^p subsets at load time (float), and then
 *     j cold: -F(H)      j hot: c_j F(H \ {j}),  c_j = (1 - z_j) / z_j
 * both being coef_j[hot] x F(H & ~bit_j): p lookups per leaf and row, with
 * no data-dependent branch. H itself comes from the row's direction at
 * each split, computed once per split and carried down the tree in
 * preorder (a node's H is its parent's minus the parent's feature if the
 * row does not go this way), not once per leaf. A split on a feature
 * already on the path multiplies into its z and ANDs into its o.
 *
 * Leaves without a table: c_j needs z_j > 0, and a float F underflows for
 * tiny z (zero or tiny covers), and 2^p entries must fit the table budget
 * (paths with many distinct features, much deeper trees than ours). Such
 * leaves compute Zc, E(H) and E(H \ {j}) per row from their z's, in double,
 * with no division (O(p^3), rare); the unit tests run every leaf both ways.
 *
 * The bias of class k is the base margin plus, for each tree of class k,
 * its cover-weighted mean leaf, recursively (child mean x child cover) /
 * node cover as XGBoost's FillNodeMeanValues. Splits: the value converted
 * to float goes left iff value < threshold, NaN the default way. XGBoost
 * does all of this in float; here z, E, c and the sums are double and F
 * and c are stored as floats, so the two differ by float rounding
 * (test_shap.c measures how much; pdm_shap_check compares at run time).
 *
 * Order of work: rows in blocks of 32, trees in the outer loop, so one
 * tree's splits, nodes and tables stay in cache while the block goes
 * through; within a block, four rows go through a tree's leaves together,
 * sharing the leaf's loads, their additions independent of each other.
 *
 * This file is the evaluator (and the check against XGBoost); the tables
 * are built in shap_build.c, the shared layout is in shap_internal.h. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "shap.h"
#include "shap_internal.h"

#define BLOCK 32 /* rows per block */

/* ---- evaluation ---------------------------------------------------------------- */

/* A leaf without a table: the same sums from the z's, in double. */
static void leaf_direct(const pdm_shap *s, size_t leaf, uint64_t h, double *out)
{
    const shap_leaf *l = &s->leaves[leaf];
    const shap_slot *sl = s->slots + l->first_slot;
    const double *z = s->slot_z + l->first_slot;
    unsigned p = l->n_slots;
    const double *w = s->weight[p];
    double zc = 1.0;
    for (unsigned k = 0; k < p; k++)
        zc *= h >> k & 1 ? 1.0 : z[k];
    if (zc == 0.0)
        return;
    double v = s->leaf_value[leaf] * zc;
    double cold = -v * pdm_shap_e_sum(z, h, p, w);
    for (unsigned k = 0; k < p; k++) {
        uint64_t bit = (uint64_t)1 << k;
        out[sl[k].feature] += h & bit ? v * (1.0 - z[k]) * pdm_shap_e_sum(z, h ^ bit, p, w) : cold;
    }
}

/* The hot sets of a tree's nodes for R rows (x as floats, row r at
 * x + r * nf; its masks at mask + r * stride): a node's is its parent's,
 * minus the parent's feature if the row does not go this way (preorder:
 * parents come first). The rows' chains are independent, hence R at once. */
static inline __attribute__((always_inline)) void
tree_masks(const pdm_shap *s, const shap_tree *tree, const float *x, size_t nf, uint8_t *go_left,
           uint64_t *mask, size_t stride, const unsigned R)
{
    const shap_split *sp = s->splits + tree->first_split;
    const shap_node *nd = s->nodes + tree->first_node;

    for (uint32_t i = 0; i < tree->n_splits; i++) {
        uint32_t f = sp[i].feature & ~DEFAULT_LEFT, node = sp[i].node;
        uint8_t dl = (uint8_t)(sp[i].feature >> 31);
        for (unsigned r = 0; r < R; r++) {
            float v = x[r * nf + f];
            go_left[r * stride + node] = isnan(v) ? dl : v < sp[i].threshold;
        }
    }
    for (unsigned r = 0; r < R; r++)
        mask[r * stride] = UINT64_MAX;
    for (uint32_t i = 1; i < tree->n_nodes; i++) {
        uint32_t link = nd[i], parent = link >> 7, slot = link >> 1 & 63;
        for (unsigned r = 0; r < R; r++) {
            uint64_t miss = (go_left[r * stride + parent] ^ link) & 1u;
            mask[r * stride + i] = mask[r * stride + parent] & ~(miss << slot);
        }
    }
}

/* One slot's value for one row: with a table, a cold feature's value is
 * -F(H) and a hot one's c F(H \ {k}), both coef[hot] F(H & ~bit), so there
 * is no data-dependent branch. */
#define SLOT_VALUE(f, sl, h, bit) ((double)(sl).coef[((h) & (bit)) != 0] * (f)[(h) & ~(bit)])

/* Adds one tree's contributions for one row, or for GROUP rows at once
 * (sharing the leaf's loads; their additions are independent). */
static void tree_leaves_1(const pdm_shap *s, const shap_tree *tree, const uint64_t *mask,
                          double *out)
{
    const shap_leaf *lv = s->leaves + tree->first_leaf;
    for (uint32_t i = 0; i < tree->n_leaves; i++) {
        const shap_leaf *l = &lv[i];
        uint32_t p = l->n_slots;
        uint64_t h = mask[l->node] & (p >= 64 ? UINT64_MAX : ((uint64_t)1 << p) - 1);
        if (l->table == NO_TABLE) {
            leaf_direct(s, tree->first_leaf + i, h, out);
            continue;
        }
        const float *f = s->tables + l->table;
        const shap_slot *sl = s->slots + l->first_slot;
        for (uint32_t k = 0; k < p; k++) {
            uint64_t bit = (uint64_t)1 << k;
            out[sl[k].feature] += SLOT_VALUE(f, sl[k], h, bit);
        }
    }
}

static void tree_leaves_4(const pdm_shap *s, const shap_tree *tree, const uint64_t *mask,
                          size_t stride, double *const *out)
{
    const shap_leaf *lv = s->leaves + tree->first_leaf;
    double *o0 = out[0], *o1 = out[1], *o2 = out[2], *o3 = out[3];
    for (uint32_t i = 0; i < tree->n_leaves; i++) {
        const shap_leaf *l = &lv[i];
        uint32_t p = l->n_slots;
        uint64_t full = p >= 64 ? UINT64_MAX : ((uint64_t)1 << p) - 1;
        uint64_t h0 = mask[l->node] & full, h1 = mask[stride + l->node] & full;
        uint64_t h2 = mask[2 * stride + l->node] & full, h3 = mask[3 * stride + l->node] & full;
        if (l->table == NO_TABLE) {
            leaf_direct(s, tree->first_leaf + i, h0, o0);
            leaf_direct(s, tree->first_leaf + i, h1, o1);
            leaf_direct(s, tree->first_leaf + i, h2, o2);
            leaf_direct(s, tree->first_leaf + i, h3, o3);
            continue;
        }
        const float *f = s->tables + l->table;
        const shap_slot *sl = s->slots + l->first_slot;
        for (uint32_t k = 0; k < p; k++) {
            uint64_t bit = (uint64_t)1 << k;
            uint32_t j = sl[k].feature;
            o0[j] += SLOT_VALUE(f, sl[k], h0, bit);
            o1[j] += SLOT_VALUE(f, sl[k], h1, bit);
            o2[j] += SLOT_VALUE(f, sl[k], h2, bit);
            o3[j] += SLOT_VALUE(f, sl[k], h3, bit);
        }
    }
}

#define GROUP 4 /* rows that go through a tree's leaves together */

int pdm_shap_contrib(const pdm_shap *s, const double *rows, size_t n, double *phi, char *errstr,
                     size_t errlen)
{
    size_t nf = s->nfeat, w = nf + 1, per_row = s->nclass * w;
    size_t stride = s->max_nodes ? s->max_nodes : 1;
    float *xf = malloc(BLOCK * nf * sizeof *xf);
    uint8_t *go_left = malloc(GROUP * stride);
    uint64_t *mask = malloc(GROUP * stride * sizeof *mask);
    int rc = -1;

    if (!xf || !go_left || !mask) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        size_t nb = n - i0 < BLOCK ? n - i0 : BLOCK;
        for (size_t i = 0; i < nb * nf; i++)
            xf[i] = (float)rows[i0 * nf + i];
        double *block = phi + i0 * per_row;
        memset(block, 0, nb * per_row * sizeof *block);
        for (size_t r = 0; r < nb; r++)
            for (size_t k = 0; k < s->nclass; k++)
                block[r * per_row + k * w + nf] = s->bias[k];
        for (size_t t = 0; t < s->ntrees; t++) {
            const shap_tree *tree = &s->trees[t];
            if (tree->n_splits == 0)
                continue; /* a single leaf: its value is in the bias */
            for (size_t r0 = 0; r0 < nb; r0 += GROUP) {
                unsigned g = nb - r0 < GROUP ? (unsigned)(nb - r0) : GROUP;
                double *out[GROUP];
                for (unsigned r = 0; r < g; r++)
                    out[r] = block + (r0 + r) * per_row + tree->output * w;
                if (g == GROUP) {
                    tree_masks(s, tree, xf + r0 * nf, nf, go_left, mask, stride, GROUP);
                    tree_leaves_4(s, tree, mask, stride, out);
                } else {
                    for (unsigned r = 0; r < g; r++) {
                        tree_masks(s, tree, xf + (r0 + r) * nf, nf, go_left, mask, stride, 1);
                        tree_leaves_1(s, tree, mask, out[r]);
                    }
                }
            }
        }
    }
    rc = 0;
out:
    free(xf);
    free(go_left);
    free(mask);
    return rc;
}

/* ---- the check against XGBoost ---------------------------------------------------- */

int pdm_shap_check(const pdm_shap *s, BoosterHandle booster, const double *rows, size_t n,
                   double *worst, char *errstr, size_t errlen)
{
    static const char config[] = "{\"type\":2,\"training\":false,\"iteration_begin\":0,"
                                 "\"iteration_end\":0,\"strict_shape\":true}";
    size_t w = s->nfeat + 1, per_row = s->nclass * w;
    char ai[192];
    const bst_ulong *shape;
    bst_ulong dim;
    const float *ref;
    DMatrixHandle dm = NULL;
    double *phi = malloc((n ? n : 1) * per_row * sizeof *phi);
    int rc = -1;

    *worst = 0;
    if (!phi) {
        pdm_err(errstr, errlen, "out of memory for %zu rows", n);
        goto out;
    }
    if (n == 0) {
        rc = 0;
        goto out;
    }
    if (pdm_shap_contrib(s, rows, n, phi, errstr, errlen))
        goto out;
    snprintf(ai, sizeof ai,
             "{\"data\":[%llu,true],\"shape\":[%zu,%zu],\"typestr\":\"<f8\",\"version\":3}",
             (unsigned long long)(uintptr_t)rows, n, s->nfeat);
    if (XGDMatrixCreateFromDense(ai, "{\"missing\":NaN,\"nthread\":1}", &dm) ||
        XGBoosterPredictFromDMatrix(booster, dm, config, &shape, &dim, &ref)) {
        pdm_err(errstr, errlen, "xgboost: contributions: %s", XGBGetLastError());
        goto out;
    }
    if (dim != 3 || shape[0] != n || shape[1] != s->nclass || shape[2] != w) {
        pdm_err(errstr, errlen, "xgboost: contributions of an unexpected shape");
        goto out;
    }
    size_t worst_at = 0;
    for (size_t i = 0; i < n * s->nclass; i++) {
        const double *g = phi + i * w;
        const float *r = ref + i * w;
        double scale = 0;
        for (size_t j = 0; j < w; j++)
            scale = fmax(scale, fabs((double)r[j]));
        for (size_t j = 0; j < w; j++) {
            double d = fabs(g[j] - (double)r[j]) / (scale > 0 ? scale : 1.0);
            if (!(d <= *worst)) { /* NaN counts as the worst */
                *worst = isnan(d) ? INFINITY : d;
                worst_at = i * w + j;
            }
        }
    }
    if (!(*worst <= PDM_SHAP_TOLERANCE)) {
        size_t i = worst_at / w;
        pdm_err(errstr, errlen,
                "row %zu, class %zu, column %zu: %.9g where XGBoost has %.9g (%.3g of the "
                "row's largest value, tolerance %g)",
                i / s->nclass, i % s->nclass, worst_at % w, phi[worst_at], (double)ref[worst_at],
                *worst, PDM_SHAP_TOLERANCE);
        goto out;
    }
    rc = 0;
out:
    if (dm)
        XGDMatrixFree(dm);
    free(phi);
    return rc;
}
