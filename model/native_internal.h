/* native_internal.h: what the native evaluator's files share (native.c reads
 * boosters and owns the other layouts; native_columns.c is the layout for
 * shallow trees). Internal to the model module. */
#ifndef PDM_MODEL_NATIVE_INTERNAL_H
#define PDM_MODEL_NATIVE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define FEAT_MASK 0x7fffffffu
#define DEFAULT_LEFT 0x80000000u

/* A node of the linked layout: a tree is a range of these, root first in
 * breadth-first order; a leaf holds its value in thr and both children
 * point at itself. */
typedef struct {
    float thr; /* split: value < thr goes left; leaf: the leaf value */
    uint32_t feat;
    uint32_t child[2]; /* left, right, relative to the tree's first node */
} native_node;

typedef struct {
    uint32_t first; /* index of the root in nodes */
    uint32_t n_nodes;
    uint32_t depth; /* steps from the root to the deepest leaf */
    uint32_t output;
} native_tree;

/* ---- the linked layout as a whole (native.c), for native_sample.c ---------------- */

struct pdm_native;

typedef struct {
    const native_node *nodes;
    const native_tree *trees;
    size_t nnodes, ntrees, nfeat;
} native_linked;

native_linked native_linked_of(const struct pdm_native *nat);

/* A split's feature and threshold. */
typedef struct {
    uint32_t feat;
    float thr;
} split_point;

/* The distinct (feature, threshold) pairs of all splits, sorted (malloc'ed
 * into *out). Returns 0, or -1 out of memory. */
int native_collect_splits(const native_linked *l, split_point **out, size_t *n);

/* ---- the columns layout (native_columns.c) --------------------------------------- */

/* Rows a call of native_columns_margins takes at most. */
#define COLUMNS_BLOCK 64

typedef struct native_columns native_columns;

/* The columns layout of the trees, or *out NULL when they do not qualify
 * (see native_columns.c). Returns 0, or -1 out of memory. */
int native_columns_build(const native_node *nodes, const native_tree *trees, size_t ntrees,
                         size_t nfeat, size_t nout, float base_margin, native_columns **out);
void native_columns_free(native_columns *c);
size_t native_columns_bytes(const native_columns *c);
/* The work of one vector of 16 rows, in compares: a tree of depth D >= 1
 * takes 2^D - 1 compares, as many blends and an add (2^(D+1) - 1), a
 * single leaf one add (none at an output's start, where it is folded
 * in). On the Zen 5 development machine a compare here costs about a
 * quarter of a ranked walk's tree per row. */
size_t native_columns_cost(const native_columns *c);

/* Floats of scratch a call needs (64-byte aligned). */
size_t native_columns_scratch(const native_columns *c);
/* The margins of n <= COLUMNS_BLOCK rows (n x nfeat doubles) into acc
 * (n x nout): the base margin plus every tree's leaf, each output's in tree
 * order, in float. */
void native_columns_margins(const native_columns *c, const double *rows, size_t n, float *acc,
                            float *scratch);

/* The code the margins run: "avx512", "avx2" or "portable" (the test hooks
 * step it down). */
const char *native_columns_code(const native_columns *c);
void native_columns_use_avx2(native_columns *c);
void native_columns_use_portable(native_columns *c);

#endif
