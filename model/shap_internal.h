/* shap_internal.h: the explainer's layout (struct pdm_shap, its trees,
 * splits, leaves and slots) and the weighted elementary symmetric sums,
 * shared by the table builder (shap_build.c) and the evaluator (shap.c).
 * See shap.c for the derivation. */
#ifndef PDM_MODEL_SHAP_INTERNAL_H
#define PDM_MODEL_SHAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "shap.h"

#define MAX_PATH 64 /* splits on a root-to-leaf path (masks are 64-bit) */
#define DEFAULT_LEFT 0x80000000u
#define NO_TABLE UINT32_MAX

typedef struct {
    float threshold;
    uint32_t feature; /* | DEFAULT_LEFT when NaN goes left */
    uint32_t node;    /* its number in the tree's preorder */
} shap_split;

/* Node i > 0 of a tree's preorder: (its parent's number) << 7 | slot << 1 |
 * (it is the left child), the slot being the position of the parent's
 * feature among the distinct features of the path. */
typedef uint32_t shap_node;

typedef struct {
    uint32_t feature;
    /* [0] cold: -1 (its value is -F(H)); [1] hot: c = (1 - z) / z (its
     * value is c F(H \ {k})); both read from F(H & ~bit), branch-free */
    float coef[2];
} shap_slot;

typedef struct {
    uint32_t table; /* offset in tables, or NO_TABLE: computed per row */
    uint32_t first_slot;
    uint32_t n_slots;
    uint32_t node; /* its number in the tree's preorder */
} shap_leaf;

typedef struct {
    uint32_t first_split, n_splits;
    uint32_t first_node, n_nodes; /* nodes[first_node] is the root's (unused) */
    uint32_t first_leaf, n_leaves;
    uint32_t output;
} shap_tree;

struct pdm_shap {
    size_t nfeat, nclass;
    double *bias; /* nclass */
    shap_tree *trees;
    size_t ntrees;
    shap_split *splits;
    size_t nsplits, max_nodes;
    shap_node *nodes;
    size_t nnodes;
    shap_leaf *leaves;
    double *leaf_value;
    size_t nleaves;
    shap_slot *slots;
    double *slot_z; /* z_k of each slot (leaves computed per row) */
    size_t nslots;
    float *tables;
    size_t ntables;
    size_t max_path_features, table_leaves;
    double weight[MAX_PATH + 1][MAX_PATH]; /* weight[p][s] = s! (p - s - 1)! / p! */
};

/* ---- the sums ---------------------------------------------------------------- */

/* E(T) for T = mask over the p slots with fractions z: the elementary
 * symmetric sums of z_T weighted by w(s, p), s < p (T = P itself is never
 * used for a value: it has no cold feature and no hot one outside it). */
static inline double pdm_shap_e_sum(const double *z, uint64_t mask, unsigned p, const double *w)
{
    double e[MAX_PATH + 1];
    unsigned t = 0;
    e[0] = 1.0;
    for (unsigned k = 0; k < p; k++) {
        if (!(mask >> k & 1))
            continue;
        e[t + 1] = 0.0;
        for (unsigned i = t + 1; i > 0; i--)
            e[i] += z[k] * e[i - 1];
        t++;
    }
    double sum = 0.0;
    for (unsigned s = 0; s <= t && s < p; s++)
        sum += w[s] * e[t - s];
    return sum;
}

#endif
