/* native.c: the native tree evaluator (see native.h for what it promises).
 *
 * Reading. The booster comes as UBJSON, the binary JSON XGBoost writes: a
 * small cursor reader (ubj.c) walks it without building a document (typed
 * arrays such as split_conditions are read straight from the buffer), so
 * loading a 1,000-tree model allocates little more than the result.
 *
 * Layouts. Every tree is first read into a linked layout: one array of
 * 16-byte nodes shared by all trees, a tree being a range of it, root first
 * in breadth-first order. A split node holds its float threshold, its
 * feature (bit 31: missing goes left) and the indexes of its two children;
 * a leaf holds its value in the threshold slot and points both children at
 * itself, so a walk is exactly `depth` steps with no "is this a leaf" test.
 * When no tree is deeper than 10 (depth 6 is the default) the trees are
 * also laid out complete, which is what predictions then use: every tree
 * padded to the same depth D, 2^D - 1 eight-byte splits in heap order
 * (children of h at 2h+1, 2h+2) and 2^D leaves; a leaf above the last
 * level becomes dummy splits whose leaves all hold its value. A step is
 * then a load, a compare and an add, with no child index to fetch and no
 * data-dependent branch. Rows without missing values (known when they are
 * converted) take a step without the NaN test, as XGBoost itself does.
 *
 * Ranks. When the complete trees are at most 6 deep, with at most 64
 * features of at most 255 distinct thresholds each, they are also laid out
 * ranked: a split `x < thr` is the same test as `rank(x) <= k`, where k is
 * thr's index among its feature's sorted distinct thresholds and rank(x)
 * the number of those thresholds <= x (all float compares, so exact). A
 * row's ranks are computed once per call, 27 short searches, into a
 * 128-byte table (a missing value has rank 255 in the first half and 0 in
 * the second, so a split's table index, its feature + 64 when missing goes
 * left, sends it its default way with no test); a tree is then 64 byte
 * slots of feature and 64 of rank, two cache lines. With AVX-512 VBMI one
 * byte permute and one compare evaluate all 63 splits of a tree at once
 * into 64 bits, and the walk down those bits is register arithmetic, eight
 * trees to a vector (see ranked_leaves_avx512); without it, a portable
 * walk over the same bytes. Predictions take this layout one row at a
 * time (portably: fewer than eight rows).
 *
 * Columns. Shallow trees (at most 5 deep; boosters trained on real data
 * are mostly single leaves and stumps) are also laid out for a vector of
 * rows at a time (16 with AVX-512), one per lane, each tree padded only to
 * its own depth (native_columns.c). Predictions take that layout first
 * when its estimated cost (native_columns_cost) is at most half the
 * ranked walks', for calls of at least cols_min_rows rows.
 *
 * Order of work. Rows are taken in blocks of 64, converted to float once
 * (as XGBoost does), and the trees are walked tree by tree over the block,
 * eight rows interleaved, so a tree's nodes are fetched once per block and
 * stay in L1 while the block goes through them. A single row instead goes
 * through eight trees at a time, whose walks are independent. Each output's
 * margin starts at the base margin and adds its trees' leaves in tree order
 * in float, which is XGBoost's order and precision, so the sums are the
 * same bits (the ranked walks gather a chunk of leaves first and add them
 * in that order, a vector lane per output). Tried and dropped on the Zen 5
 * development machine (one row through 1,000 depth-6 trees; the kept code
 * takes 1.3 us): AVX-512 gathers of float nodes over 16 trees or rows
 * (slower than the scalar walks); leaves added straight into the margins
 * in memory (a store-load chain per output: 2.6 us where collecting them
 * first gave 2.2); the walk down the 64 bits in general registers, by
 * shifts, bt/adc or a pext table (1.7-2.6 us); bits or leaf indexes read
 * back from memory right after being stored (store forwarding stalls, up
 * to 3 us); leaves loaded by scalar indexes instead of the gather (1.4
 * us); one gather of 16 leaves instead of two of 8 (1.4 us); adding each
 * round of leaves as soon as it is fetched (1.6 us). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "native_internal.h"
#include "ubj.h"
#include "pdm_common.h"

#define BLOCK 64
#define MAX_DEPTH 1024
#define HEAP_MAX_DEPTH 10
#define RANK_MAX_DEPTH 6
#define RANK_SLOTS 64 /* heap slots per tree, and features per row table */
#define RANK_MAX_CUTS 255
#define RANK_CHUNK 240 /* trees whose leaves are fetched before they are added */
/* A ranked walk's cost per tree and row in the columns layout's units (its
 * compares, see native_columns_cost): about 1.3 ns a tree against 0.3 ns. */
#define RANKED_TREE_COST 4

/* A split of the complete layout: node h's children are 2h+1 and 2h+2. */
typedef struct {
    float thr;
    uint16_t feat;
    uint16_t default_left;
} heap_node;

/* The ranked layout of the complete trees (D = depth <= RANK_MAX_DEPTH):
 * tree t's splits are the slots n = 1 .. 2^D - 1 of a 1-based heap
 * (children 2n and 2n + 1) in nodes[t 128 ..]: bytes 0..63 the feature
 * (+ 64 if a missing value goes left), bytes 64..127 the threshold's rank k
 * among its feature's distinct thresholds. A value x goes right iff
 * rank(x) > k, rank(x) being the number of thresholds t <= x. */
typedef struct {
    uint32_t depth;
    uint8_t *nodes;
    uint32_t *output;   /* per tree: its output (a copy of trees[].output) */
    float *cuts;        /* feature j's sorted distinct thresholds from cut_first[j], in
                         * blocks of 16 padded with NaN (never <= anything) */
    float *block_first; /* 16 per feature: the first threshold of its blocks 1, 2, ..., NaN
                         * after its last block */
    uint32_t *cut_first;
    int round_robin; /* tree t belongs to output t % K, and K divides the trees */
    size_t chunk;    /* trees per chunk of leaves: RANK_CHUNK rounded to a multiple of K */
    int avx512;      /* walks with AVX-512 VBMI (checked at load) */
} ranked_layout;

enum transform { T_IDENTITY, T_SIGMOID, T_SOFTMAX };

struct pdm_native {
    size_t nfeat, nout, ntrees, nnodes;
    enum transform transform;
    float base_margin;
    native_node *nodes;
    native_tree *trees;
    /* The complete layout, when no tree is deeper than HEAP_MAX_DEPTH: with
     * D = heap_depth, tree t has 2^D - 1 splits from heap[t (2^D - 1)] and
     * 2^D leaves from leaves[t 2^D]; a leaf above the last level is padded
     * with dummy splits whose leaves all hold its value. Children are found
     * by arithmetic, so a step loads no child index, and every walk has the
     * same length. */
    heap_node *heap;
    float *leaves;
    uint32_t heap_depth;
    size_t heap_len, leaves_len;
    /* The ranked layout (over the complete layout's leaves) when the trees
     * are at most RANK_MAX_DEPTH deep, there are at most RANK_SLOTS
     * features and none has more than RANK_MAX_CUTS distinct thresholds. */
    ranked_layout *rk;
    size_t rk_bytes;
    /* The columns layout (native_columns.c) when the trees are shallow
     * enough for it to take at most half the ranked walks' time on a block
     * of rows: calls of at least cols_min_rows rows take it (fewer rows
     * still pay for a whole vector, and the ranked layout is faster there
     * unless the trees are mostly stumps and leaves). The estimate is
     * AVX-512's against AVX-512's; without it both layouts' portable code
     * is slower, the columns' less so (bench/README.md). */
    native_columns *cols;
    size_t cols_min_rows;
};

/* ---- building --------------------------------------------------------------- */

typedef struct {
    double *left, *right, *split, *cond, *dleft, *stype;
    int32_t *queue, *newid, *depth;
    size_t cap;
} tree_scratch;

static void scratch_free(tree_scratch *s)
{
    free(s->left);
    free(s->right);
    free(s->split);
    free(s->cond);
    free(s->dleft);
    free(s->stype);
    free(s->queue);
    free(s->newid);
    free(s->depth);
}

static int scratch_reserve(tree_scratch *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    double **d[] = {&s->left, &s->right, &s->split, &s->cond, &s->dleft, &s->stype};
    int32_t **i[] = {&s->queue, &s->newid, &s->depth};
    for (size_t k = 0; k < sizeof d / sizeof *d; k++) {
        double *p = realloc(*d[k], n * sizeof **d[k]);
        if (!p)
            return -1;
        *d[k] = p;
    }
    for (size_t k = 0; k < sizeof i / sizeof *i; k++) {
        int32_t *p = realloc(*i[k], n * sizeof **i[k]);
        if (!p)
            return -1;
        *i[k] = p;
    }
    s->cap = n;
    return 0;
}

static int grow_nodes(pdm_native *nat, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    native_node *p = realloc(nat->nodes, c * sizeof *p);
    if (!p)
        return -1;
    nat->nodes = p;
    *cap = c;
    return 0;
}

/* Reads tree t (a UBJ object) into nat->trees[t] and appends its reachable
 * nodes in breadth-first order. */
static int load_tree(pdm_native *nat, size_t t, const ubj_val *tree, tree_scratch *s,
                     size_t *node_cap, char *errstr, size_t errlen)
{
    ubj_val tp, v;
    double num_nodes;
    if (ubj_get(tree, "tree_param", &tp) || ubj_param_number(&tp, "num_nodes", &num_nodes) ||
        !(num_nodes >= 1 && num_nodes < (double)(1u << 30)))
        return pdm_err(errstr, errlen, "tree %zu: no valid tree_param.num_nodes", t);
    size_t n = (size_t)num_nodes;
    /* Each node takes at least two bytes in each of its arrays: a count
     * beyond that is a corrupt file, not a reason to allocate gigabytes. */
    if (n > (size_t)(tree->c.end - tree->c.p) / 2)
        return pdm_err(errstr, errlen, "tree %zu: %zu nodes do not fit in the model bytes", t, n);
    if (ubj_get(&tp, "size_leaf_vector", &v) == 0) {
        double slv;
        if (ubj_param_number(&tp, "size_leaf_vector", &slv) || slv != 0)
            return pdm_err(errstr, errlen, "tree %zu: vector leaves are not supported", t);
    }
    if (scratch_reserve(s, n))
        return pdm_err(errstr, errlen, "out of memory reading tree %zu", t);
    struct {
        const char *key;
        double *dst;
        int optional;
    } arrays[] = {
        {"left_children", s->left, 0},  {"right_children", s->right, 0},
        {"split_indices", s->split, 0}, {"split_conditions", s->cond, 0},
        {"default_left", s->dleft, 0},  {"split_type", s->stype, 1},
    };
    for (size_t k = 0; k < sizeof arrays / sizeof *arrays; k++) {
        if (ubj_get(tree, arrays[k].key, &v)) {
            if (arrays[k].optional) {
                memset(arrays[k].dst, 0, n * sizeof(double));
                continue;
            }
            return pdm_err(errstr, errlen, "tree %zu: no %s", t, arrays[k].key);
        }
        if (ubj_numbers(&v, arrays[k].dst, n))
            return pdm_err(errstr, errlen, "tree %zu: %s is not %zu numbers", t, arrays[k].key, n);
    }
    if (ubj_get(tree, "categories_nodes", &v) == 0 && ubj_count(&v) != 0)
        return pdm_err(errstr, errlen, "tree %zu: categorical splits are not supported", t);

    /* Breadth-first from the root: new ids, depth, and checks that every
     * reachable node is reached once (a tree, not a graph). */
    for (size_t i = 0; i < n; i++)
        s->newid[i] = -1;
    size_t head = 0, tail = 0;
    uint32_t max_depth = 0;
    s->queue[tail++] = 0;
    s->newid[0] = 0;
    s->depth[0] = 0;
    while (head < tail) {
        int32_t i = s->queue[head++];
        double l = s->left[i], r = s->right[i];
        if (l == -1 && r == -1) {
            if ((uint32_t)s->depth[i] > max_depth)
                max_depth = (uint32_t)s->depth[i];
            continue;
        }
        if (s->stype[i] != 0)
            return pdm_err(errstr, errlen, "tree %zu node %d: categorical split", t, i);
        if (!(s->split[i] >= 0 && s->split[i] < (double)nat->nfeat))
            return pdm_err(errstr, errlen, "tree %zu node %d: feature %g out of 0..%zu", t, i,
                           s->split[i], nat->nfeat - 1);
        double kids[2] = {l, r};
        for (int k = 0; k < 2; k++) {
            double c = kids[k];
            if (!(c >= 1 && c < (double)n) || s->newid[(size_t)c] != -1)
                return pdm_err(errstr, errlen, "tree %zu node %d: bad child %g", t, i, c);
            if (s->depth[i] + 1 > MAX_DEPTH)
                return pdm_err(errstr, errlen, "tree %zu: deeper than %d", t, MAX_DEPTH);
            s->newid[(size_t)c] = (int32_t)tail;
            s->depth[(size_t)c] = s->depth[i] + 1;
            s->queue[tail++] = (int32_t)c;
        }
    }
    if (nat->nnodes + tail > UINT32_MAX)
        return pdm_err(errstr, errlen, "model: more than %u nodes", UINT32_MAX);
    if (grow_nodes(nat, node_cap, nat->nnodes + tail))
        return pdm_err(errstr, errlen, "out of memory for tree %zu", t);
    native_node *out = nat->nodes + nat->nnodes;
    for (size_t q = 0; q < tail; q++) {
        int32_t i = s->queue[q];
        native_node *nd = &out[q];
        nd->thr = (float)s->cond[i]; /* exact: the UBJ holds floats */
        if (s->left[i] == -1) {
            nd->feat = 0;
            nd->child[0] = nd->child[1] = (uint32_t)q;
        } else {
            nd->feat = (uint32_t)s->split[i] | (s->dleft[i] != 0 ? DEFAULT_LEFT : 0);
            nd->child[0] = (uint32_t)s->newid[(size_t)s->left[i]];
            nd->child[1] = (uint32_t)s->newid[(size_t)s->right[i]];
        }
    }
    nat->trees[t].first = (uint32_t)nat->nnodes;
    nat->trees[t].n_nodes = (uint32_t)tail;
    nat->trees[t].depth = max_depth;
    nat->nnodes += tail;
    return 0;
}

static int cmp_split(const void *a, const void *b)
{
    const split_point *x = a, *y = b;
    if (x->feat != y->feat)
        return x->feat < y->feat ? -1 : 1;
    return x->thr < y->thr ? -1 : x->thr > y->thr;
}

native_linked native_linked_of(const pdm_native *nat)
{
    native_linked l = {nat->nodes, nat->trees, nat->nnodes, nat->ntrees, nat->nfeat};
    return l;
}

int native_collect_splits(const native_linked *l, split_point **out, size_t *n)
{
    split_point *splits = malloc((l->nnodes ? l->nnodes : 1) * sizeof *splits);
    size_t n_splits = 0, w = 0;
    *out = splits;
    *n = 0;
    if (!splits)
        return -1;
    for (size_t t = 0; t < l->ntrees; t++) {
        const native_node *tn = l->nodes + l->trees[t].first;
        for (uint32_t i = 0; i < l->trees[t].n_nodes; i++)
            if (tn[i].child[0] != i)
                splits[n_splits++] = (split_point){tn[i].feat & FEAT_MASK, tn[i].thr};
    }
    qsort(splits, n_splits, sizeof *splits, cmp_split);
    for (size_t i = 0; i < n_splits; i++)
        if (w == 0 || splits[i].feat != splits[w - 1].feat || splits[i].thr != splits[w - 1].thr)
            splits[w++] = splits[i];
    *n = w;
    return 0;
}

static void fill_heap(const native_node *tn, uint32_t i, heap_node *heap, float *leaves, uint32_t h,
                      uint32_t d, uint32_t depth)
{
    const native_node *nd = &tn[i];
    if (d == depth) {
        leaves[h - ((1u << depth) - 1)] = nd->thr;
        return;
    }
    int leaf = nd->child[0] == i;
    heap[h] = leaf ? (heap_node){0.0f, 0, 0}
                   : (heap_node){nd->thr, (uint16_t)(nd->feat & FEAT_MASK),
                                 (uint16_t)((nd->feat & DEFAULT_LEFT) != 0)};
    fill_heap(tn, leaf ? i : nd->child[0], heap, leaves, 2 * h + 1, d + 1, depth);
    fill_heap(tn, leaf ? i : nd->child[1], heap, leaves, 2 * h + 2, d + 1, depth);
}

/* The complete layout of every tree, all padded to the deepest one's depth,
 * if that is at most HEAP_MAX_DEPTH. */
static int build_heap(pdm_native *nat)
{
    uint32_t depth = 0;
    for (size_t t = 0; t < nat->ntrees; t++)
        depth = nat->trees[t].depth > depth ? nat->trees[t].depth : depth;
    if (depth > HEAP_MAX_DEPTH || nat->nfeat > UINT16_MAX)
        return 0;
    size_t hn_per = ((size_t)1 << depth) - 1, lv_per = (size_t)1 << depth;
    size_t nh = nat->ntrees * hn_per;
    nat->heap = malloc((nh > 0 ? nh : 1) * sizeof *nat->heap);
    nat->leaves = malloc((nat->ntrees ? nat->ntrees : 1) * lv_per * sizeof *nat->leaves);
    if (!nat->heap || !nat->leaves)
        return -1;
    nat->heap_depth = depth;
    nat->heap_len = nat->ntrees * hn_per;
    nat->leaves_len = nat->ntrees * lv_per;
    for (size_t t = 0; t < nat->ntrees; t++)
        fill_heap(nat->nodes + nat->trees[t].first, 0, nat->heap + t * hn_per,
                  nat->leaves + t * lv_per, 0, 0, depth);
    return 0;
}

static void ranked_free(ranked_layout *rk)
{
    if (!rk)
        return;
    free(rk->nodes);
    free(rk->output);
    free(rk->cuts);
    free(rk->block_first);
    free(rk->cut_first);
    free(rk);
}

static int cpu_has_avx512vbmi(void);

/* The ranked layout of nat's complete layout, if it qualifies (see
 * ranked_layout). Returns 0 (with or without it), or -1 out of memory. */
static int build_ranked(pdm_native *nat)
{
    const size_t nf = nat->nfeat;
    split_point *splits = NULL;
    size_t n_splits = 0, *count = NULL;
    ranked_layout *rk = NULL;
    int rc = -1;

    ranked_free(nat->rk);
    nat->rk = NULL;
    nat->rk_bytes = 0;
    if (!nat->heap || nat->heap_depth > RANK_MAX_DEPTH || nf > RANK_SLOTS)
        return 0;
    native_linked linked = native_linked_of(nat);
    if (native_collect_splits(&linked, &splits, &n_splits) ||
        !(count = calloc(nf, sizeof *count)))
        goto out;
    for (size_t i = 0; i < n_splits; i++)
        if (isnan(splits[i].thr) || ++count[splits[i].feat] > RANK_MAX_CUTS) {
            rc = 0; /* ranks cannot express it: the complete layout serves */
            goto out;
        }
    size_t n_cuts = 0;
    for (size_t j = 0; j < nf; j++)
        n_cuts += 16 * (count[j] ? (count[j] + 15) / 16 : 1);
    rk = calloc(1, sizeof *rk);
    if (!rk)
        goto out;
    rk->depth = nat->heap_depth;
    rk->nodes = calloc(nat->ntrees ? nat->ntrees : 1, 2 * RANK_SLOTS);
    rk->output = malloc((nat->ntrees ? nat->ntrees : 1) * sizeof *rk->output);
    rk->cuts = malloc(n_cuts * sizeof *rk->cuts);
    rk->block_first = malloc(nf * 16 * sizeof *rk->block_first);
    rk->cut_first = malloc(nf * sizeof *rk->cut_first);
    if (!rk->nodes || !rk->output || !rk->cuts || !rk->block_first || !rk->cut_first)
        goto out;
    size_t at = 0, i = 0;
    for (size_t j = 0; j < nf; j++) {
        size_t blocks = count[j] ? (count[j] + 15) / 16 : 1;
        const split_point *sp = splits + i;
        rk->cut_first[j] = (uint32_t)at;
        for (size_t q = 0; q < 16 * blocks; q++)
            rk->cuts[at + q] = q < count[j] ? sp[q].thr : NAN;
        for (size_t b = 0; b < 16; b++)
            rk->block_first[j * 16 + b] = b + 1 < blocks ? sp[16 * (b + 1)].thr : NAN;
        at += 16 * blocks;
        i += count[j];
    }
    const size_t hn_per = ((size_t)1 << nat->heap_depth) - 1;
    for (size_t t = 0; t < nat->ntrees; t++) {
        const heap_node *hn = nat->heap + t * hn_per;
        uint8_t *feat = rk->nodes + t * 2 * RANK_SLOTS, *rank = feat + RANK_SLOTS;
        rk->output[t] = nat->trees[t].output;
        for (size_t h = 0; h < hn_per; h++) {
            /* k = the number of thresholds below thr: thr's own index for a
             * real split; anything for a padding split (same leaves). */
            const float *c = rk->cuts + rk->cut_first[hn[h].feat];
            size_t k = 0, len = count[hn[h].feat];
            while (len > 0) {
                size_t half = len / 2;
                if (c[k + half] < hn[h].thr) {
                    k += half + 1;
                    len -= half + 1;
                } else {
                    len = half;
                }
            }
            feat[h + 1] = (uint8_t)(hn[h].feat + (hn[h].default_left ? RANK_SLOTS : 0));
            rank[h + 1] = (uint8_t)(k < RANK_MAX_CUTS ? k : RANK_MAX_CUTS - 1);
        }
    }
    rk->round_robin = nat->ntrees % nat->nout == 0;
    for (size_t t = 0; t < nat->ntrees; t++)
        rk->round_robin &= rk->output[t] == t % nat->nout;
    rk->chunk = nat->nout <= RANK_CHUNK ? RANK_CHUNK / nat->nout * nat->nout : RANK_CHUNK;
    rk->avx512 = cpu_has_avx512vbmi();
    nat->rk = rk;
    nat->rk_bytes = nat->ntrees * (2 * RANK_SLOTS + sizeof *rk->output) +
                    (n_cuts + nf * 16) * sizeof(float) + nf * sizeof *rk->cut_first;
    rk = NULL;
    rc = 0;
out:
    ranked_free(rk);
    free(splits);
    free(count);
    return rc;
}

/* The columns layout, if the trees qualify and it is worth it (see
 * pdm_native.cols). Returns 0 (with or without it), or -1 out of memory. */
static int build_columns(pdm_native *nat)
{
    native_columns_free(nat->cols);
    nat->cols = NULL;
    if (native_columns_build(nat->nodes, nat->trees, nat->ntrees, nat->nfeat, nat->nout,
                             nat->base_margin, &nat->cols))
        return -1;
    if (!nat->cols)
        return 0;
    size_t per_vector = native_columns_cost(nat->cols), per_row = RANKED_TREE_COST * nat->ntrees;
    if (per_vector > 8 * per_row) { /* 16 rows: more than half the ranked walks' time */
        native_columns_free(nat->cols);
        nat->cols = NULL;
        return 0;
    }
    nat->cols_min_rows = per_row ? per_vector / per_row + 1 : 1;
    return 0;
}

int pdm_native_from_ubj(const void *ubj, size_t len, pdm_native **out, char *errstr, size_t errlen)
{
    const unsigned char *b = ubj;
    ubj_val root, learner, mparam, objective, booster, model, info, trees, v;
    tree_scratch scratch = {0};
    double *groups = NULL;
    char name[64];
    double num_feature, num_class, base_score, num_target = 1;
    size_t node_cap = 0;
    int rc = -1;

    *out = NULL;
    pdm_native *nat = calloc(1, sizeof *nat);
    if (!nat)
        return pdm_err(errstr, errlen, "out of memory");
    if (len < 1 || b[0] != '{') {
        pdm_err(errstr, errlen, "not an XGBoost UBJSON model");
        goto out;
    }
    root.m = '{';
    root.c.p = b + 1;
    root.c.end = b + len;
    if (ubj_get(&root, "learner", &learner) ||
        ubj_path(&learner, &mparam, "learner_model_param", NULL) ||
        ubj_param_number(&mparam, "num_feature", &num_feature) ||
        ubj_param_number(&mparam, "num_class", &num_class) ||
        ubj_param_number(&mparam, "base_score", &base_score)) {
        pdm_err(errstr, errlen,
                "model: no learner_model_param (num_feature, num_class, "
                "base_score)");
        goto out;
    }
    if (ubj_get(&mparam, "num_target", &v) == 0 &&
        ubj_param_number(&mparam, "num_target", &num_target)) {
        pdm_err(errstr, errlen, "model: bad num_target");
        goto out;
    }
    if (!(num_feature >= 1 && num_feature < 2147483647.0) || !(num_class >= 0 && num_class < 1e6) ||
        num_target != 1) {
        pdm_err(errstr, errlen, "model: unsupported shape (%g features, %g classes, %g targets)",
                num_feature, num_class, num_target);
        goto out;
    }
    nat->nfeat = (size_t)num_feature;
    if (ubj_path(&learner, &objective, "objective", "name", NULL) ||
        ubj_string(&objective, name, sizeof name)) {
        pdm_err(errstr, errlen, "model: no objective name");
        goto out;
    }
    /* The base margin as XGBoost 1.7 derives it from base_score (a float
     * parameter): ProbToMargin of the objective, in float. */
    float bs = ubj_param_float(&mparam, "base_score");
    if (strcmp(name, "multi:softprob") == 0) {
        if (num_class < 2) {
            pdm_err(errstr, errlen, "model: multi:softprob with %g classes", num_class);
            goto out;
        }
        nat->transform = T_SOFTMAX;
        nat->nout = (size_t)num_class;
        nat->base_margin = bs;
    } else if (strcmp(name, "binary:logistic") == 0 || strcmp(name, "reg:logistic") == 0) {
        if (!(bs > 0.0f && bs < 1.0f)) {
            pdm_err(errstr, errlen, "model: base_score %g is not a probability", (double)bs);
            goto out;
        }
        nat->transform = T_SIGMOID;
        nat->nout = 1;
        nat->base_margin = -logf(1.0f / bs - 1.0f);
    } else if (strcmp(name, "binary:logitraw") == 0 || strcmp(name, "reg:squarederror") == 0) {
        nat->transform = T_IDENTITY;
        nat->nout = 1;
        nat->base_margin = bs;
    } else {
        pdm_err(errstr, errlen, "model: objective %s is not supported by the native evaluator",
                name);
        goto out;
    }
    if (ubj_path(&learner, &booster, "gradient_booster", "name", NULL) ||
        ubj_string(&booster, name, sizeof name) || strcmp(name, "gbtree") != 0) {
        pdm_err(errstr, errlen, "model: only the gbtree booster is supported");
        goto out;
    }
    if (ubj_path(&learner, &model, "gradient_booster", "model", NULL) ||
        ubj_get(&model, "tree_info", &info) || ubj_get(&model, "trees", &trees)) {
        pdm_err(errstr, errlen, "model: no gradient_booster.model trees and tree_info");
        goto out;
    }
    size_t ntrees = ubj_count(&trees);
    if (ntrees == SIZE_MAX || ntrees != ubj_count(&info) || ntrees > (1u << 24)) {
        pdm_err(errstr, errlen, "model: trees and tree_info disagree");
        goto out;
    }
    nat->ntrees = ntrees;
    nat->trees = calloc(ntrees ? ntrees : 1, sizeof *nat->trees);
    groups = malloc((ntrees ? ntrees : 1) * sizeof *groups);
    if (!nat->trees || !groups) {
        pdm_err(errstr, errlen, "out of memory for %zu trees", ntrees);
        goto out;
    }
    if (ubj_numbers(&info, groups, ntrees)) {
        pdm_err(errstr, errlen, "model: bad tree_info");
        goto out;
    }
    ubj_iter it;
    const unsigned char *k;
    size_t klen, t = 0;
    int r;
    if (ubj_iter_open(&trees, &it, 0)) {
        pdm_err(errstr, errlen, "model: bad trees");
        goto out;
    }
    while ((r = ubj_iter_next(&it, &k, &klen, &v)) == 1) {
        if (v.m != '{' || t >= ntrees) {
            pdm_err(errstr, errlen, "model: tree %zu is not an object", t);
            goto out;
        }
        if (!(groups[t] >= 0 && groups[t] < (double)nat->nout)) {
            pdm_err(errstr, errlen, "model: tree %zu belongs to output %g of %zu", t, groups[t],
                    nat->nout);
            goto out;
        }
        nat->trees[t].output = (uint32_t)groups[t];
        if (load_tree(nat, t, &v, &scratch, &node_cap, errstr, errlen))
            goto out;
        t++;
    }
    if (r < 0 || t != ntrees) {
        pdm_err(errstr, errlen, "model: malformed trees array");
        goto out;
    }
    if (build_heap(nat) || build_ranked(nat) || build_columns(nat)) {
        pdm_err(errstr, errlen, "out of memory for the tree layouts");
        goto out;
    }
    *out = nat;
    nat = NULL;
    rc = 0;
out:
    scratch_free(&scratch);
    free(groups);
    pdm_native_destroy(nat);
    return rc;
}

void pdm_native_destroy(pdm_native *nat)
{
    if (!nat)
        return;
    free(nat->nodes);
    free(nat->trees);
    free(nat->heap);
    free(nat->leaves);
    ranked_free(nat->rk);
    native_columns_free(nat->cols);
    free(nat);
}

size_t pdm_native_n_features(const pdm_native *nat)
{
    return nat->nfeat;
}

size_t pdm_native_n_outputs(const pdm_native *nat)
{
    return nat->nout;
}

size_t pdm_native_n_trees(const pdm_native *nat)
{
    return nat->ntrees;
}

size_t pdm_native_size(const pdm_native *nat)
{
    return nat->nnodes * sizeof *nat->nodes + nat->ntrees * sizeof *nat->trees +
           nat->heap_len * sizeof *nat->heap + nat->leaves_len * sizeof *nat->leaves +
           nat->rk_bytes + (nat->cols ? native_columns_bytes(nat->cols) : 0);
}

/* ---- evaluation ------------------------------------------------------------- */

/* One step down a tree: XGBoost's rule, missing (NaN) to the default child,
 * else left iff f < threshold. */
static inline uint32_t step(const native_node *tree, uint32_t i, const float *x)
{
    const native_node *nd = &tree[i];
    float f = x[nd->feat & FEAT_MASK];
    uint32_t right = (uint32_t) !(f < nd->thr) & (uint32_t) !((nd->feat >> 31) & (f != f));
    return nd->child[right];
}

static inline uint32_t heap_step(const heap_node *tree, uint32_t h, const float *x)
{
    const heap_node *nd = &tree[h];
    float f = x[nd->feat];
    uint32_t right = (uint32_t) !(f < nd->thr) & (uint32_t) !(nd->default_left & (f != f));
    return 2 * h + 1 + right;
}

/* The same for a row without missing values, where !(f < thr) is f >= thr. */
static inline uint32_t heap_step_present(const heap_node *tree, uint32_t h, const float *x)
{
    const heap_node *nd = &tree[h];
    return 2 * h + 1 + (uint32_t)(x[nd->feat] >= nd->thr);
}

/* walk_block over the complete layout (every tree padded to heap_depth). */
static void walk_block_heap(const pdm_native *nat, const float *x, const unsigned char *missing,
                            size_t nb, float *acc)
{
    enum { CHUNK = 256 };
    const size_t nf = nat->nfeat, K = nat->nout;
    const uint32_t depth = nat->heap_depth;
    const size_t hn_per = ((size_t)1 << depth) - 1, lv_per = (size_t)1 << depth;
    const native_tree *trees = nat->trees;
    if (nb < 8) {
        /* Few rows: a row goes through CHUNK trees at a time, eight walks
         * interleaved in registers (with missing values: all CHUNK level by
         * level), so independent walks overlap; the leaves are then added
         * in tree order. */
        uint32_t idx[CHUNK];
        for (size_t r = 0; r < nb; r++) {
            const float *xr = x + r * nf;
            float *a = acc + r * K;
            for (size_t t0 = 0; t0 < nat->ntrees; t0 += CHUNK) {
                size_t tn = nat->ntrees - t0 < CHUNK ? nat->ntrees - t0 : CHUNK;
                const heap_node *h0 = nat->heap + t0 * hn_per;
                for (size_t q = 0; q < tn; q++)
                    idx[q] = 0;
                if (missing[r]) {
                    for (uint32_t s = 0; s < depth; s++)
                        for (size_t q = 0; q < tn; q++)
                            idx[q] = heap_step(h0 + q * hn_per, idx[q], xr);
                } else {
                    size_t q = 0;
                    for (; q + 8 <= tn; q += 8) {
                        const heap_node *hq = h0 + q * hn_per;
                        uint32_t i[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                        for (uint32_t s = 0; s < depth; s++)
                            for (int k = 0; k < 8; k++)
                                i[k] = heap_step_present(hq + (size_t)k * hn_per, i[k], xr);
                        for (int k = 0; k < 8; k++)
                            idx[q + (size_t)k] = i[k];
                    }
                    for (; q < tn; q++) {
                        uint32_t i0 = 0;
                        for (uint32_t s = 0; s < depth; s++)
                            i0 = heap_step_present(h0 + q * hn_per, i0, xr);
                        idx[q] = i0;
                    }
                }
                const float *l0 = nat->leaves + t0 * lv_per;
                for (size_t q = 0; q < tn; q++)
                    a[trees[t0 + q].output] += l0[q * lv_per + (idx[q] - hn_per)];
            }
        }
        return;
    }
    for (size_t t = 0; t < nat->ntrees; t++) {
        const heap_node *hn = nat->heap + t * hn_per;
        const float *lv = nat->leaves + t * lv_per; /* walks end at hn_per.. */
        float *a = acc + trees[t].output;
        size_t r = 0;
        for (; r + 8 <= nb; r += 8) {
            const float *x0 = x + r * nf;
            uint32_t i[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            if (missing[r / 8 + nb]) {
                for (uint32_t s = 0; s < depth; s++)
                    for (int q = 0; q < 8; q++)
                        i[q] = heap_step(hn, i[q], x0 + (size_t)q * nf);
            } else {
                for (uint32_t s = 0; s < depth; s++)
                    for (int q = 0; q < 8; q++)
                        i[q] = heap_step_present(hn, i[q], x0 + (size_t)q * nf);
            }
            for (int q = 0; q < 8; q++)
                a[(r + (size_t)q) * K] += lv[i[q] - hn_per];
        }
        for (; r < nb; r++) {
            uint32_t i0 = 0;
            for (uint32_t s = 0; s < depth; s++)
                i0 = heap_step(hn, i0, x + r * nf);
            a[r * K] += lv[i0 - hn_per];
        }
    }
}

/* Adds every tree's leaf to the margins acc (nb x nout) of the float rows x. */
static void walk_block(const pdm_native *nat, const float *x, size_t nb, float *acc)
{
    const size_t nf = nat->nfeat, K = nat->nout;
    const native_tree *trees = nat->trees;
    if (nb < 4) {
        /* Few rows: interleave four trees per row instead. Leaves are added
         * in tree order, so each margin sums in XGBoost's order. */
        for (size_t r = 0; r < nb; r++) {
            const float *xr = x + r * nf;
            float *a = acc + r * K;
            size_t t = 0;
            for (; t + 4 <= nat->ntrees; t += 4) {
                const native_node *n0 = nat->nodes + trees[t].first;
                const native_node *n1 = nat->nodes + trees[t + 1].first;
                const native_node *n2 = nat->nodes + trees[t + 2].first;
                const native_node *n3 = nat->nodes + trees[t + 3].first;
                uint32_t d = trees[t].depth;
                for (int q = 1; q < 4; q++)
                    d = trees[t + q].depth > d ? trees[t + q].depth : d;
                uint32_t i0 = 0, i1 = 0, i2 = 0, i3 = 0;
                for (uint32_t s = 0; s < d; s++) {
                    i0 = step(n0, i0, xr);
                    i1 = step(n1, i1, xr);
                    i2 = step(n2, i2, xr);
                    i3 = step(n3, i3, xr);
                }
                a[trees[t].output] += n0[i0].thr;
                a[trees[t + 1].output] += n1[i1].thr;
                a[trees[t + 2].output] += n2[i2].thr;
                a[trees[t + 3].output] += n3[i3].thr;
            }
            for (; t < nat->ntrees; t++) {
                const native_node *n0 = nat->nodes + trees[t].first;
                uint32_t i0 = 0;
                for (uint32_t s = 0; s < trees[t].depth; s++)
                    i0 = step(n0, i0, xr);
                a[trees[t].output] += n0[i0].thr;
            }
        }
        return;
    }
    for (size_t t = 0; t < nat->ntrees; t++) {
        const native_node *tn = nat->nodes + trees[t].first;
        const uint32_t depth = trees[t].depth;
        float *a = acc + trees[t].output;
        size_t r = 0;
        for (; r + 4 <= nb; r += 4) {
            const float *x0 = x + r * nf;
            uint32_t i0 = 0, i1 = 0, i2 = 0, i3 = 0;
            for (uint32_t s = 0; s < depth; s++) {
                i0 = step(tn, i0, x0);
                i1 = step(tn, i1, x0 + nf);
                i2 = step(tn, i2, x0 + 2 * nf);
                i3 = step(tn, i3, x0 + 3 * nf);
            }
            a[r * K] += tn[i0].thr;
            a[(r + 1) * K] += tn[i1].thr;
            a[(r + 2) * K] += tn[i2].thr;
            a[(r + 3) * K] += tn[i3].thr;
        }
        for (; r < nb; r++) {
            uint32_t i0 = 0;
            for (uint32_t s = 0; s < depth; s++)
                i0 = step(tn, i0, x + r * nf);
            a[r * K] += tn[i0].thr;
        }
    }
}

/* ---- the ranked walk (one row) ---------------------------------------------- */

/* The row's rank table: tab[j] the rank of feature j's float value (the
 * number of its thresholds <= it; see ranked_layout), tab[64 + j] the
 * same; for a missing value 255 and 0, which send it right and left at
 * every split (k <= 254), so a node's feature byte, + 64 when missing goes
 * left, picks its default way with no test. The rank: the blocks of 16
 * whose first threshold is <= x say which block x falls in, and that
 * block's thresholds <= x the rest (NaN compares false everywhere). */
static void rank_row(const ranked_layout *rk, size_t nf, const double *row, uint8_t *tab)
{
    memset(tab, 0, 2 * RANK_SLOTS);
    for (size_t j = 0; j < nf; j++) {
        float f = (float)row[j];
        const float *bf = rk->block_first + 16 * j;
        unsigned b = 0, r = 0;
        for (int i = 0; i < 16; i++)
            b += bf[i] <= f;
        const float *c = rk->cuts + rk->cut_first[j] + 16 * b;
        for (int i = 0; i < 16; i++)
            r += c[i] <= f;
        r += 16 * b;
        tab[j] = (uint8_t)(f != f ? 255 : r);
        tab[RANK_SLOTS + j] = (uint8_t)r;
    }
}

/* The leaf slot (2^D .. 2^(D+1) - 1) a walk of D steps ends in, bit n of
 * `right` saying whether slot n sends the row right. */
static inline __attribute__((always_inline)) uint32_t ranked_leaf(uint64_t right, uint32_t depth)
{
    uint32_t n = 1;
    for (uint32_t s = 0; s < depth; s++)
        n = 2 * n + (uint32_t)(right >> n & 1);
    return n;
}

/* The leaves v[0..n) of trees t0.. for the rank table tab, portably: eight
 * walks interleaved. */
static void ranked_leaves(const pdm_native *nat, const uint8_t *tab, size_t t0, size_t n, float *v)
{
    const ranked_layout *rk = nat->rk;
    const uint32_t depth = rk->depth;
    const size_t lv = (size_t)1 << depth;
    const uint8_t *tn = rk->nodes + t0 * 2 * RANK_SLOTS;
    const float *leaves = nat->leaves + t0 * lv;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint8_t *ti = tn + i * 2 * RANK_SLOTS;
        uint32_t s8[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        for (uint32_t s = 0; s < depth; s++)
            for (int q = 0; q < 8; q++) {
                const uint8_t *nq = ti + q * 2 * RANK_SLOTS;
                s8[q] = 2 * s8[q] + (tab[nq[s8[q]]] > nq[RANK_SLOTS + s8[q]]);
            }
        for (int q = 0; q < 8; q++)
            v[i + (size_t)q] = leaves[(i + (size_t)q) * lv + s8[q] - lv];
    }
    for (; i < n; i++) {
        const uint8_t *ti = tn + i * 2 * RANK_SLOTS;
        uint32_t s1 = 1;
        for (uint32_t s = 0; s < depth; s++)
            s1 = 2 * s1 + (tab[ti[s1]] > ti[RANK_SLOTS + s1]);
        v[i] = leaves[i * lv + s1 - lv];
    }
}

/* Adds the leaves v[0..n) of trees t0.. (t0 a multiple of the outputs) to
 * acc, each output's in tree order. Boosters of K outputs hold one tree
 * per output per round, in output order; then the K margins go up as one
 * vector per round (lane k is output k's own sum, so the same float adds). */
static void add_leaves(const pdm_native *nat, size_t t0, size_t n, const float *v, float *acc)
{
    typedef float v8f __attribute__((vector_size(32)));
    const ranked_layout *rk = nat->rk;
    const size_t K = nat->nout;
    size_t i = 0;
    if (rk->round_robin && K == 1) {
        float a = acc[0];
        for (; i < n; i++)
            a += v[i];
        acc[0] = a;
        return;
    }
    if (rk->round_robin && K <= 8) {
        v8f a = {0};
        memcpy(&a, acc, K * sizeof *acc);
        for (; i + K <= n; i += K) {
            v8f x;
            memcpy(&x, v + i, sizeof x); /* v has 8 more; lanes >= K unused */
            a += x;
        }
        memcpy(acc, &a, K * sizeof *acc);
    }
    for (; i < n; i++)
        acc[rk->output[t0 + i]] += v[i];
}

/* Adds every tree's leaf for the rank table tab to acc, portably. */
static void walk_ranked(const pdm_native *nat, const uint8_t *tab, float *acc)
{
    float v[RANK_CHUNK + 8];
    const size_t chunk = nat->rk->chunk;
    for (size_t t0 = 0; t0 < nat->ntrees; t0 += chunk) {
        size_t n = nat->ntrees - t0 < chunk ? nat->ntrees - t0 : chunk;
        ranked_leaves(nat, tab, t0, n, v);
        memset(v + n, 0, 8 * sizeof *v); /* add_leaves reads whole vectors */
        add_leaves(nat, t0, n, v, acc);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512_TARGET                                                                              \
    __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vl,avx512dq,avx2,popcnt")))
#define RANK_LAG 4      /* groups of eight trees between their bits and their walks */
#define RANK_PREFETCH 8 /* trees ahead whose nodes are prefetched */

static int cpu_has_avx512vbmi(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("popcnt");
}

/* rank_row with one compare of 16 thresholds per step. */
AVX512_TARGET static void rank_row_avx512(const ranked_layout *rk, size_t nf, const double *row,
                                          uint8_t *tab)
{
    _mm512_store_si512(tab, _mm512_setzero_si512());
    _mm512_store_si512(tab + RANK_SLOTS, _mm512_setzero_si512());
    for (size_t j = 0; j < nf; j++) {
        float f = (float)row[j];
        __m512 x = _mm512_set1_ps(f);
        unsigned b = (unsigned)__builtin_popcount(
            _mm512_cmp_ps_mask(_mm512_loadu_ps(rk->block_first + 16 * j), x, _CMP_LE_OQ));
        const float *c = rk->cuts + rk->cut_first[j] + 16 * b;
        unsigned r = 16 * b + (unsigned)__builtin_popcount(
                                  _mm512_cmp_ps_mask(_mm512_loadu_ps(c), x, _CMP_LE_OQ));
        tab[j] = (uint8_t)(f != f ? 255 : r);
        tab[RANK_SLOTS + j] = (uint8_t)r;
    }
}

/* The leaves v[0..n) of trees t0.. with AVX-512, and when `vec` (outputs
 * round robin, K <= 16) their sum into the margins `a` (lane k output k,
 * one vector add per round: each lane adds its own output's leaves in
 * tree order, the same float adds). Per tree, one two-table byte permute
 * fetches its 64 slots' ranks (each slot's default way's entry) and one
 * compare gives the 64 bits of where the row goes; this part is bound by
 * the two cache lines a tree takes. Eight trees' bits then go down their
 * trees as one vector, a shift per level, and one gather fetches their
 * leaves. The walks trail the bits by RANK_LAG groups: the bits come back
 * from memory (eight stores read back at once would stall the forward)
 * while the next groups' loads are under way. */
AVX512_TARGET static inline __attribute__((always_inline)) __m512
ranked_leaves_avx512(const pdm_native *nat, __m512i lo, __m512i hi, size_t t0, size_t n, float *v,
                     uint32_t depth, __m512 a, int vec)
{
    const ranked_layout *rk = nat->rk;
    const size_t lv = (size_t)1 << depth, K = nat->nout, ng = n / 8;
    const uint8_t *tn = rk->nodes + t0 * 2 * RANK_SLOTS;
    const float *leaves = nat->leaves + t0 * lv;
    const __mmask16 all = vec ? (__mmask16)((1u << K) - 1) : 0;
    const __m512i one = _mm512_set1_epi64(1);
    const __m512i lane = _mm512_slli_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), depth);
    uint64_t right[RANK_CHUNK] __attribute__((aligned(64)));

    for (size_t g = 0; g < ng + RANK_LAG; g++) {
        if (g < ng) {
            for (size_t i = 8 * g; i < 8 * g + 8; i++) {
                const uint8_t *ti = tn + i * 2 * RANK_SLOTS;
                _mm_prefetch((const char *)(ti + RANK_PREFETCH * 2 * RANK_SLOTS), _MM_HINT_T0);
                _mm_prefetch((const char *)(ti + RANK_PREFETCH * 2 * RANK_SLOTS + RANK_SLOTS),
                             _MM_HINT_T0);
                __m512i ranks = _mm512_permutex2var_epi8(lo, _mm512_loadu_si512(ti), hi);
                right[i] = _cvtmask64_u64(
                    _mm512_cmpgt_epu8_mask(ranks, _mm512_loadu_si512(ti + RANK_SLOTS)));
            }
        }
        if (g < RANK_LAG)
            continue;
        size_t i = 8 * (g - RANK_LAG);
        __m512i bits = _mm512_load_si512(right + i), s = one;
        for (uint32_t d = 0; d < depth; d++) /* s = 2 s + bit s */
            s = _mm512_ternarylogic_epi64(_mm512_slli_epi64(s, 1), _mm512_srlv_epi64(bits, s), one,
                                          0xF8);
        __m512i at = _mm512_add_epi64(_mm512_add_epi64(s, lane),
                                      _mm512_set1_epi64((long long)(i * lv) - (long long)lv));
        _mm256_storeu_ps(v + i, _mm256_i32gather_ps(leaves, _mm512_cvtepi64_epi32(at), 4));
    }
    for (size_t i = 8 * ng; i < n; i++) {
        const uint8_t *ti = tn + i * 2 * RANK_SLOTS;
        __m512i ranks = _mm512_permutex2var_epi8(lo, _mm512_loadu_si512(ti), hi);
        uint64_t bits =
            _cvtmask64_u64(_mm512_cmpgt_epu8_mask(ranks, _mm512_loadu_si512(ti + RANK_SLOTS)));
        v[i] = leaves[i * lv + ranked_leaf(bits, depth) - lv];
    }
    for (size_t i = 0; vec && i < n; i += K) /* whole rounds (see round_robin) */
        a = _mm512_mask_add_ps(a, all, a, _mm512_maskz_loadu_ps(all, v + i));
    return a;
}

/* walk_ranked with AVX-512. */
AVX512_TARGET static void walk_ranked_avx512(const pdm_native *nat, const uint8_t *tab, float *acc)
{
    float v[RANK_CHUNK + 8] __attribute__((aligned(64)));
    const ranked_layout *rk = nat->rk;
    const __m512i lo = _mm512_load_si512(tab), hi = _mm512_load_si512(tab + RANK_SLOTS);
    const int vec = rk->round_robin && nat->nout <= 16;
    const __mmask16 all = vec ? (__mmask16)((1u << nat->nout) - 1) : 0;
    __m512 a = _mm512_maskz_loadu_ps(all, acc);
    for (size_t t0 = 0; t0 < nat->ntrees; t0 += rk->chunk) {
        size_t n = nat->ntrees - t0 < rk->chunk ? nat->ntrees - t0 : rk->chunk;
        if (rk->depth == 6) /* the default max_depth: its walk unrolled */
            a = ranked_leaves_avx512(nat, lo, hi, t0, n, v, 6, a, vec);
        else
            a = ranked_leaves_avx512(nat, lo, hi, t0, n, v, rk->depth, a, vec);
        if (!vec) {
            memset(v + n, 0, 8 * sizeof *v);
            add_leaves(nat, t0, n, v, acc);
        }
    }
    _mm512_mask_storeu_ps(acc, all, a);
}
#else
static int cpu_has_avx512vbmi(void)
{
    return 0;
}
#endif

/* Adds every tree's leaf for one row to acc (the ranked layout). */
static void predict_row_ranked(const pdm_native *nat, const double *row, float *acc)
{
    uint8_t tab[2 * RANK_SLOTS] __attribute__((aligned(64)));
#if defined(__x86_64__) && defined(__GNUC__)
    if (nat->rk->avx512) {
        rank_row_avx512(nat->rk, nat->nfeat, row, tab);
        walk_ranked_avx512(nat, tab, acc);
        return;
    }
#endif
    rank_row(nat->rk, nat->nfeat, row, tab);
    walk_ranked(nat, tab, acc);
}

/* XGBoost's output transforms, in its precisions. */
static void transform_row(const pdm_native *nat, float *m, double *out)
{
    const size_t K = nat->nout;
    switch (nat->transform) {
    case T_SOFTMAX: {
        float wmax = m[0];
        for (size_t k = 1; k < K; k++)
            wmax = fmaxf(m[k], wmax);
        double wsum = 0.0;
        for (size_t k = 0; k < K; k++) {
            m[k] = expf(m[k] - wmax);
            wsum += m[k];
        }
        for (size_t k = 0; k < K; k++)
            out[k] = (double)(m[k] / (float)wsum);
        break;
    }
    case T_SIGMOID:
        out[0] = (double)(1.0f / (1.0f + expf(-m[0])));
        break;
    case T_IDENTITY:
        out[0] = (double)m[0];
        break;
    }
}

/* pdm_native_predict over the columns layout: blocks of COLUMNS_BLOCK rows. */
static int predict_columns(const pdm_native *nat, const double *rows, size_t n, double *out,
                           char *errstr, size_t errlen)
{
    const size_t nf = nat->nfeat, K = nat->nout;
    float stack[4096] __attribute__((aligned(64)));
    /* the columns first (64-byte aligned), then the margins */
    size_t n_cols = native_columns_scratch(nat->cols);
    size_t need = n_cols + COLUMNS_BLOCK * K + 16;
    float *buf = stack, *cols, *acc;
    if (need > sizeof stack / sizeof *stack) {
        buf = malloc(need * sizeof *buf);
        if (!buf)
            return pdm_err(errstr, errlen, "out of memory for %zu rows", n);
    }
    cols = buf + (16 - ((uintptr_t)buf / sizeof *buf) % 16) % 16;
    acc = cols + n_cols;
    for (size_t r0 = 0; r0 < n; r0 += COLUMNS_BLOCK) {
        size_t nb = n - r0 < COLUMNS_BLOCK ? n - r0 : COLUMNS_BLOCK;
        native_columns_margins(nat->cols, rows + r0 * nf, nb, acc, cols);
        for (size_t r = 0; r < nb; r++)
            transform_row(nat, acc + r * K, out + (r0 + r) * K);
    }
    if (buf != stack)
        free(buf);
    return 0;
}

int pdm_native_predict(const pdm_native *nat, const double *rows, size_t n, double *out,
                       char *errstr, size_t errlen)
{
    const size_t nf = nat->nfeat, K = nat->nout;
    float stack[4096];
    float *buf = stack, *x, *acc;
    /* missing[r]: row r of the block has a NaN; missing[nb + g]: a row of
     * the group of eight g has one. */
    unsigned char missing[BLOCK + BLOCK / 8 + 1];
    size_t nb_max = n < BLOCK ? n : BLOCK;
    size_t need = nb_max * (nf + K);

    /* Rows one at a time through the ranked layout: always with AVX-512
     * (faster than the blocks as well), portably for a few rows only (from
     * eight rows on, the blocks' tree-major order is faster). */
    const int by_row = nat->rk && (nat->rk->avx512 || n < 8);

    if (n == 0)
        return 0;
    if (nat->cols && (n >= nat->cols_min_rows || !nat->rk))
        return predict_columns(nat, rows, n, out, errstr, errlen);
    if (by_row)
        need = K;
    if (need > sizeof stack / sizeof *stack) {
        buf = malloc(need * sizeof *buf);
        if (!buf)
            return pdm_err(errstr, errlen, "out of memory for %zu rows", nb_max);
    }
    if (by_row) {
        for (size_t r = 0; r < n; r++) {
            for (size_t k = 0; k < K; k++)
                buf[k] = nat->base_margin;
            predict_row_ranked(nat, rows + r * nf, buf);
            transform_row(nat, buf, out + r * K);
        }
        goto out;
    }
    x = buf;
    acc = buf + nb_max * nf;
    for (size_t r0 = 0; r0 < n; r0 += BLOCK) {
        size_t nb = n - r0 < BLOCK ? n - r0 : BLOCK;
        const double *src = rows + r0 * nf;
        memset(missing, 0, sizeof missing);
        for (size_t r = 0; r < nb; r++) {
            unsigned char nan = 0;
            for (size_t j = 0; j < nf; j++) {
                x[r * nf + j] = (float)src[r * nf + j];
                nan |= isnan(src[r * nf + j]);
            }
            missing[r] = nan;
            missing[nb + r / 8] |= nan;
        }
        for (size_t i = 0; i < nb * K; i++)
            acc[i] = nat->base_margin;
        if (nat->heap)
            walk_block_heap(nat, x, missing, nb, acc);
        else
            walk_block(nat, x, nb, acc);
        for (size_t r = 0; r < nb; r++)
            transform_row(nat, acc + r * K, out + (r0 + r) * K);
    }
out:
    if (buf != stack)
        free(buf);
    return 0;
}

int pdm_native_debug_nudge_root(pdm_native *nat, size_t tree, int ulps)
{
    if (tree >= nat->ntrees)
        return -1;
    native_node *root = nat->nodes + nat->trees[tree].first;
    if (root->child[0] == 0)
        return -1;
    for (int i = 0; i < abs(ulps); i++)
        root->thr = nextafterf(root->thr, ulps > 0 ? INFINITY : -INFINITY);
    if (nat->heap)
        nat->heap[tree * (((size_t)1 << nat->heap_depth) - 1)].thr = root->thr;
    if (nat->cols && build_columns(nat))
        return -1;
    return build_ranked(nat);
}

void pdm_native_debug_ranked_layout(pdm_native *nat)
{
    native_columns_free(nat->cols);
    nat->cols = NULL;
}

void pdm_native_debug_linked_layout(pdm_native *nat)
{
    pdm_native_debug_ranked_layout(nat);
    ranked_free(nat->rk);
    nat->rk = NULL;
    nat->rk_bytes = 0;
    free(nat->heap);
    free(nat->leaves);
    nat->heap = NULL;
    nat->leaves = NULL;
    nat->heap_len = nat->leaves_len = 0;
}

void pdm_native_debug_complete_layout(pdm_native *nat)
{
    pdm_native_debug_ranked_layout(nat);
    ranked_free(nat->rk);
    nat->rk = NULL;
    nat->rk_bytes = 0;
}

void pdm_native_debug_portable(pdm_native *nat)
{
    if (nat->cols)
        native_columns_use_portable(nat->cols);
    if (nat->rk)
        nat->rk->avx512 = 0;
}

size_t pdm_native_debug_columns_min_rows(const pdm_native *nat)
{
    return nat->cols ? (nat->rk ? nat->cols_min_rows : 1) : 0;
}

void pdm_native_debug_avx2(pdm_native *nat)
{
    if (nat->cols)
        native_columns_use_avx2(nat->cols);
}

const char *pdm_native_debug_path(const pdm_native *nat)
{
    if (nat->cols) {
        const char *code = native_columns_code(nat->cols);
        return strcmp(code, "avx512") == 0 ? "columns-avx512"
               : strcmp(code, "avx2") == 0 ? "columns-avx2"
                                           : "columns";
    }
    if (nat->rk)
        return nat->rk->avx512 ? "ranked-avx512" : "ranked";
    return nat->heap ? "complete" : "linked";
}
