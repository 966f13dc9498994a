/* native_columns.c: the native evaluator's layout for shallow trees.
 *
 * Boosters trained on real data are often mostly single leaves and stumps
 * (the public PdM set's 200-round model: 803 of its 1,000 trees are one
 * leaf, 191 one split, none deeper than 3), where walking each row through
 * each tree wastes the work of a full-depth walk. Here the rows go through
 * a tree a vector at a time instead (16 rows with AVX-512), one row per
 * lane: a block's rows are first turned into columns (each feature the
 * trees split on, as floats), and a tree of depth D, padded to a complete
 * tree of its own
 * depth (a leaf above the last level repeats its value), is evaluated by
 * 2^D - 1 compares of a column with a threshold and as many blends, from
 * the leaves up: the value of a split is its right child's where the row
 * goes right, its left child's elsewhere. A stump costs a compare, a blend
 * and the add, for a vector of rows; a single leaf only the add.
 *
 * Exactness. A row goes left iff float(value) < threshold, as in XGBoost;
 * a missing value (NaN) compares false and so goes right, which is the
 * default of most splits; for a split whose missing values go left, the
 * column is a second copy of the feature with NaN replaced by -inf, which
 * is below every threshold but -inf and NaN (boosters with such a split
 * take another layout). Each output's margin starts at the base margin and
 * adds its trees' leaves in tree order in float, lane by lane, so the sums
 * are XGBoost's bits. An output's leading single leaves are added at load
 * (the same float additions, done once); later ones cannot be folded
 * (a + b + c is not a + (b + c) in float) and stay one add each.
 *
 * Order of work. Outputs one after the other, each through its own trees
 * in tree order, four vectors of rows at a time (with AVX-512 a block of
 * 64), so four independent chains of adds overlap. The code is written
 * once with GCC vector types (native_columns_kernel.h) and compiled three
 * times: AVX-512 (F, BW, DQ, VL: 16 lanes), AVX2 (8) and the baseline
 * (SSE2 on x86-64: 4), chosen from the CPU at load. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "native_internal.h"

/* Deepest tree the layout takes; cost grows as 2^D per tree. */
#define COLUMNS_MAX_DEPTH 5
#define LANES 16 /* a call of up to 16 rows fills this many lanes; more, the block */

enum columns_code { CODE_PORTABLE, CODE_AVX2, CODE_AVX512 };

/* A split of a padded tree: its column's offset in the block's columns
 * (column index x COLUMNS_BLOCK floats) and its threshold. */
typedef struct {
    uint32_t col;
    float thr;
} column_split;

struct native_columns {
    size_t nfeat, nout, ncols;
    uint32_t *col_feat;          /* per column: its feature */
    unsigned char *col_nan_left; /* per column: missing values go left (stored as -inf) */
    float *start;                /* per output: the base margin + its leading single leaves */
    /* Per output k, its other trees in tree order: depth[tree_first[k] ..
     * tree_first[k + 1]), their 2^D - 1 splits (heap order) from
     * split_first[k] and 2^D leaves from leaf_first[k], tree after tree. */
    size_t *tree_first, *split_first, *leaf_first;
    unsigned char *depth;
    column_split *splits;
    float *leaves;
    size_t ntrees, nsplits, nleaves;
    size_t cost; /* of a vector of rows, in compares (see native_columns_cost) */
    enum columns_code code;
};

/* ---- building --------------------------------------------------------------------- */

/* Tree `tn` node i padded to depth `depth` from heap slot h (children 2h+1,
 * 2h+2) at level d: splits in sp[0 .. 2^depth - 1), leaves in lv. */
static void fill_padded(const native_node *tn, uint32_t i, const int32_t *col_of, column_split *sp,
                        float *lv, uint32_t h, uint32_t d, uint32_t depth)
{
    const native_node *nd = &tn[i];
    if (d == depth) {
        lv[h - ((1u << depth) - 1)] = nd->thr;
        return;
    }
    int leaf = nd->child[0] == i && nd->child[1] == i;
    if (leaf) {
        sp[h] = (column_split){0, 0.0f}; /* any column: both sides hold the same leaf */
    } else {
        uint32_t key = (nd->feat & FEAT_MASK) * 2 + ((nd->feat & DEFAULT_LEFT) != 0);
        sp[h] = (column_split){(uint32_t)col_of[key] * COLUMNS_BLOCK, nd->thr};
    }
    fill_padded(tn, leaf ? i : nd->child[0], col_of, sp, lv, 2 * h + 1, d + 1, depth);
    fill_padded(tn, leaf ? i : nd->child[1], col_of, sp, lv, 2 * h + 2, d + 1, depth);
}

/* Whether the trees qualify: at most COLUMNS_MAX_DEPTH deep, no split that
 * sends missing values left at a threshold of -inf or NaN; and their
 * columns (col_of, one per feature and default side used, -1 if unused). */
static int qualify(const native_node *nodes, const native_tree *trees, size_t ntrees, size_t nfeat,
                   int32_t *col_of, size_t *ncols)
{
    *ncols = 0;
    for (size_t j = 0; j < 2 * nfeat; j++)
        col_of[j] = -1;
    for (size_t t = 0; t < ntrees; t++) {
        if (trees[t].depth > COLUMNS_MAX_DEPTH)
            return 0;
        const native_node *tn = nodes + trees[t].first;
        for (uint32_t i = 0; i < trees[t].n_nodes; i++) {
            if (tn[i].child[0] == i && tn[i].child[1] == i)
                continue;
            int left = (tn[i].feat & DEFAULT_LEFT) != 0;
            if (left && !(tn[i].thr > -INFINITY))
                return 0;
            uint32_t key = (tn[i].feat & FEAT_MASK) * 2 + (uint32_t)left;
            if (col_of[key] < 0)
                col_of[key] = (int32_t)(*ncols)++;
        }
    }
    return 1;
}

static int cpu_code(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return CODE_AVX512;
    if (__builtin_cpu_supports("avx2"))
        return CODE_AVX2;
#endif
    return CODE_PORTABLE;
}

int native_columns_build(const native_node *nodes, const native_tree *trees, size_t ntrees,
                         size_t nfeat, size_t nout, float base_margin, native_columns **out)
{
    int32_t *col_of = NULL;
    uint32_t *by_output = NULL;
    size_t *first = NULL;
    native_columns *c = NULL;
    size_t ncols;
    int rc = -1;

    *out = NULL;
    if (nfeat > UINT16_MAX || nout == 0)
        return 0;
    col_of = malloc(2 * nfeat * sizeof *col_of);
    if (!col_of)
        goto out;
    if (!qualify(nodes, trees, ntrees, nfeat, col_of, &ncols)) {
        rc = 0;
        goto out;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        goto out;
    c->nfeat = nfeat;
    c->nout = nout;
    c->ncols = ncols;
    c->code = (enum columns_code)cpu_code();
    c->col_feat = malloc((ncols ? ncols : 1) * sizeof *c->col_feat);
    c->col_nan_left = malloc(ncols ? ncols : 1);
    c->start = malloc(nout * sizeof *c->start);
    c->tree_first = calloc(nout + 1, sizeof *c->tree_first);
    c->split_first = calloc(nout + 1, sizeof *c->split_first);
    c->leaf_first = calloc(nout + 1, sizeof *c->leaf_first);
    c->depth = malloc(ntrees ? ntrees : 1);
    if (!c->col_feat || !c->col_nan_left || !c->start || !c->tree_first || !c->split_first ||
        !c->leaf_first || !c->depth)
        goto out;
    for (size_t key = 0; key < 2 * nfeat; key++)
        if (col_of[key] >= 0) {
            c->col_feat[col_of[key]] = (uint32_t)(key / 2);
            c->col_nan_left[col_of[key]] = (unsigned char)(key % 2);
        }
    /* The trees of each output in tree order (a counting sort), then each
     * output's start (its leading single leaves folded in) and its other
     * trees: first their counts, then their bytes. */
    by_output = malloc((ntrees ? ntrees : 1) * sizeof *by_output);
    first = calloc(nout + 1, sizeof *first);
    if (!by_output || !first)
        goto out;
    for (size_t t = 0; t < ntrees; t++)
        first[trees[t].output + 1]++;
    for (size_t k = 0; k < nout; k++)
        first[k + 1] += first[k];
    for (size_t t = 0, *at = c->tree_first; t < ntrees; t++) /* tree_first: a cursor for now */
        by_output[first[trees[t].output] + at[trees[t].output]++] = (uint32_t)t;
    for (size_t k = 0; k < nout; k++) {
        size_t i = first[k];
        float m = base_margin;
        for (; i < first[k + 1] && trees[by_output[i]].depth == 0; i++)
            m += nodes[trees[by_output[i]].first].thr;
        c->start[k] = m;
        c->tree_first[k] = c->ntrees;
        c->split_first[k] = c->nsplits;
        c->leaf_first[k] = c->nleaves;
        for (; i < first[k + 1]; i++) {
            uint32_t d = trees[by_output[i]].depth;
            by_output[c->ntrees] = by_output[i]; /* c->ntrees <= i */
            c->depth[c->ntrees++] = (unsigned char)d;
            c->cost += ((size_t)2 << d) - 1; /* 2^D - 1 compares and blends, an add */
            c->nsplits += ((size_t)1 << d) - 1;
            c->nleaves += (size_t)1 << d;
        }
    }
    c->tree_first[nout] = c->ntrees;
    c->split_first[nout] = c->nsplits;
    c->leaf_first[nout] = c->nleaves;
    c->splits = malloc((c->nsplits ? c->nsplits : 1) * sizeof *c->splits);
    c->leaves = malloc((c->nleaves ? c->nleaves : 1) * sizeof *c->leaves);
    if (!c->splits || !c->leaves)
        goto out;
    column_split *sp = c->splits;
    float *lv = c->leaves;
    for (size_t p = 0; p < c->ntrees; p++) {
        const native_tree *tr = &trees[by_output[p]];
        fill_padded(nodes + tr->first, 0, col_of, sp, lv, 0, 0, tr->depth);
        sp += ((size_t)1 << tr->depth) - 1;
        lv += (size_t)1 << tr->depth;
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    free(col_of);
    free(by_output);
    free(first);
    native_columns_free(c);
    return rc;
}

void native_columns_free(native_columns *c)
{
    if (!c)
        return;
    free(c->col_feat);
    free(c->col_nan_left);
    free(c->start);
    free(c->tree_first);
    free(c->split_first);
    free(c->leaf_first);
    free(c->depth);
    free(c->splits);
    free(c->leaves);
    free(c);
}

size_t native_columns_bytes(const native_columns *c)
{
    return sizeof *c + c->ncols * (sizeof *c->col_feat + 1) + c->nout * sizeof *c->start +
           3 * (c->nout + 1) * sizeof(size_t) + c->ntrees + c->nsplits * sizeof *c->splits +
           c->nleaves * sizeof *c->leaves;
}

size_t native_columns_cost(const native_columns *c)
{
    return c->cost;
}

size_t native_columns_scratch(const native_columns *c)
{
    return (c->ncols ? c->ncols : 1) * COLUMNS_BLOCK;
}

/* ---- evaluation ------------------------------------------------------------------- */

#define KERNEL_LANES 4
#define KERNEL(name) name##_portable
#define KERNEL_TARGET
#include "native_columns_kernel.h"
#undef KERNEL_LANES
#undef KERNEL
#undef KERNEL_TARGET

#if defined(__x86_64__) && defined(__GNUC__)
#define KERNEL_LANES 8
#define KERNEL(name) name##_avx2
#define KERNEL_TARGET __attribute__((target("avx2")))
#include "native_columns_kernel.h"
#undef KERNEL_LANES
#undef KERNEL
#undef KERNEL_TARGET

#define KERNEL_LANES 16
#define KERNEL(name) name##_avx512
#define KERNEL_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))
#include "native_columns_kernel.h"
#undef KERNEL_LANES
#undef KERNEL
#undef KERNEL_TARGET
#endif

void native_columns_margins(const native_columns *c, const double *rows, size_t n, float *acc,
                            float *scratch)
{
    const size_t nf = c->nfeat, lanes = n <= LANES ? LANES : COLUMNS_BLOCK;
    /* row after row, so that each row's values are read once, in order */
    for (size_t r = 0; r < n; r++) {
        const double *x = rows + r * nf;
        for (size_t q = 0; q < c->ncols; q++)
            scratch[q * COLUMNS_BLOCK + r] = (float)x[c->col_feat[q]];
    }
    for (size_t q = 0; q < c->ncols; q++) {
        float *col = scratch + q * COLUMNS_BLOCK;
        if (c->col_nan_left[q])
            for (size_t r = 0; r < n; r++)
                col[r] = col[r] != col[r] ? -INFINITY : col[r];
        for (size_t r = n; r < lanes; r++)
            col[r] = 0.0f;
    }
#if defined(__x86_64__) && defined(__GNUC__)
    if (c->code == CODE_AVX512) {
        block_margins_avx512(c, scratch, n, lanes, acc);
        return;
    }
    if (c->code == CODE_AVX2) {
        block_margins_avx2(c, scratch, n, lanes, acc);
        return;
    }
#endif
    block_margins_portable(c, scratch, n, lanes, acc);
}

const char *native_columns_code(const native_columns *c)
{
    return c->code == CODE_AVX512 ? "avx512" : c->code == CODE_AVX2 ? "avx2" : "portable";
}

void native_columns_use_avx2(native_columns *c)
{
    if (c->code == CODE_AVX512)
        c->code = CODE_AVX2;
}

void native_columns_use_portable(native_columns *c)
{
    c->code = CODE_PORTABLE;
}
