/* shap_build.c: building the TreeSHAP explainer (shap.h) from XGBoost's
 * JSON model: the trees' splits, nodes and leaves in preorder, each leaf's
 * slots, the per-leaf tables F(T) within the budget, the Shapley weights
 * and the bias. The derivation and the evaluator are in shap.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "pdm_common.h"
#include "shap.h"
#include "shap_internal.h"

#define MAX_TABLE_SLOTS 16 /* distinct features of a tabulated leaf: 2^16 entries */
#define MIN_TABLE_Z 1e-20  /* smaller z (tiny covers) would underflow float tables */

/* ---- growing arrays ---------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Gives back the spare capacity (best effort: the block stays if it fails). */
static void shrink(void **p, size_t n, size_t size)
{
    void *q = *p && n ? realloc(*p, n * size) : NULL;
    if (q)
        *p = q;
}

/* ---- building from the JSON model ---------------------------------------------- */

typedef struct {
    size_t n;
    int *left, *right;
    uint32_t *feature;
    unsigned char *default_left;
    float *cond, *cover;
    unsigned char *seen;
} json_tree;

typedef struct {
    pdm_shap *s;
    size_t cap_splits, cap_nodes, cap_leaves, cap_values, cap_slots, cap_z;
    size_t model_nfeat;
    /* the distinct features of the current path and their z */
    uint32_t slot_feature[MAX_PATH];
    double slot_z[MAX_PATH];
    unsigned n_slots;
    char *errstr;
    size_t errlen;
    size_t tree_no;
} builder;

static void json_tree_free(json_tree *t)
{
    free(t->left);
    free(t->right);
    free(t->feature);
    free(t->default_left);
    free(t->cond);
    free(t->cover);
    free(t->seen);
    memset(t, 0, sizeof *t);
}

/* A numeric array of exactly n entries as doubles into out (n entries). */
static int json_numbers(const cJSON *tree, const char *name, size_t n, double *out)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(tree, name), *v;
    size_t i = 0;
    if (!cJSON_IsArray(a))
        return -1;
    cJSON_ArrayForEach(v, a)
    {
        if (i >= n || !cJSON_IsNumber(v))
            return -1;
        out[i++] = v->valuedouble;
    }
    return i == n ? 0 : -1;
}

static int json_tree_read(const cJSON *j, json_tree *t, char *errstr, size_t errlen, size_t no)
{
    const cJSON *lc = cJSON_GetObjectItemCaseSensitive(j, "left_children");
    double *tmp = NULL;
    int rc = -1;
    size_t n = (size_t)cJSON_GetArraySize(lc);

    memset(t, 0, sizeof *t);
    if (!cJSON_IsArray(lc) || n == 0 || n > (1u << 24)) {
        pdm_err(errstr, errlen, "model: tree %zu: no nodes", no);
        goto out;
    }
    t->n = n;
    tmp = malloc(n * sizeof *tmp);
    t->left = malloc(n * sizeof *t->left);
    t->right = malloc(n * sizeof *t->right);
    t->feature = malloc(n * sizeof *t->feature);
    t->default_left = malloc(n);
    t->cond = malloc(n * sizeof *t->cond);
    t->cover = malloc(n * sizeof *t->cover);
    t->seen = calloc(n, 1);
    if (!tmp || !t->left || !t->right || !t->feature || !t->default_left || !t->cond || !t->cover ||
        !t->seen) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    static const char *const fields[] = {"left_children", "right_children",   "split_indices",
                                         "default_left",  "split_conditions", "sum_hessian",
                                         "split_type"};
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
        if (json_numbers(j, fields[f], n, tmp)) {
            pdm_err(errstr, errlen, "model: tree %zu: %s is not %zu numbers", no, fields[f], n);
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            double v = tmp[i];
            switch (f) {
            case 0:
            case 1:
                if (!(v >= -1 && v < (double)n) || v != floor(v)) {
                    pdm_err(errstr, errlen, "model: tree %zu: bad child %g", no, v);
                    goto out;
                }
                (f == 0 ? t->left : t->right)[i] = (int)v;
                break;
            case 2:
                if (!(v >= 0 && v < 2147483647.0) || v != floor(v)) {
                    pdm_err(errstr, errlen, "model: tree %zu: bad split index %g", no, v);
                    goto out;
                }
                t->feature[i] = (uint32_t)v;
                break;
            case 3:
                t->default_left[i] = v != 0;
                break;
            case 4:
                t->cond[i] = (float)v;
                break;
            case 5:
                t->cover[i] = (float)v;
                break;
            case 6:
                if (v != 0) {
                    pdm_err(errstr, errlen, "model: tree %zu: categorical splits are not supported",
                            no);
                    goto out;
                }
                break;
            }
        }
    }
    rc = 0;
out:
    free(tmp);
    if (rc)
        json_tree_free(t);
    return rc;
}

static int add_leaf(builder *b, double value, uint32_t node)
{
    pdm_shap *s = b->s;
    if (grow((void **)&s->leaves, &b->cap_leaves, s->nleaves + 1, sizeof *s->leaves) ||
        grow((void **)&s->leaf_value, &b->cap_values, s->nleaves + 1, sizeof *s->leaf_value) ||
        grow((void **)&s->slots, &b->cap_slots, s->nslots + b->n_slots, sizeof *s->slots) ||
        grow((void **)&s->slot_z, &b->cap_z, s->nslots + b->n_slots, sizeof *s->slot_z))
        return pdm_err(b->errstr, b->errlen, "out of memory");
    shap_leaf *l = &s->leaves[s->nleaves];
    s->leaf_value[s->nleaves++] = value;
    l->table = NO_TABLE;
    l->first_slot = (uint32_t)s->nslots;
    l->n_slots = b->n_slots;
    l->node = node;
    for (unsigned k = 0; k < b->n_slots; k++) {
        double z = b->slot_z[k];
        s->slots[s->nslots + k].feature = b->slot_feature[k];
        s->slots[s->nslots + k].coef[0] = -1.0f;
        s->slots[s->nslots + k].coef[1] = z > 0 ? (float)((1.0 - z) / z) : 0.0f;
        s->slot_z[s->nslots + k] = z;
    }
    s->nslots += b->n_slots;
    if (b->n_slots > s->max_path_features)
        s->max_path_features = b->n_slots;
    return 0;
}

/* Walks the subtree of node (depth splits below the root; link: its
 * shap_node), numbering its nodes in preorder and appending them, its
 * splits, and its leaves with their distinct features; *mean: its
 * cover-weighted mean leaf value. */
static int walk(builder *b, const json_tree *t, shap_tree *tree, int node, unsigned depth,
                uint32_t link, double *mean)
{
    pdm_shap *s = b->s;
    uint32_t number = tree->n_nodes;
    if (t->seen[node])
        return pdm_err(b->errstr, b->errlen, "model: tree %zu: node %d is reached twice",
                       b->tree_no, node);
    t->seen[node] = 1;
    if (number >= (1u << 24))
        return pdm_err(b->errstr, b->errlen, "model: tree %zu is too large", b->tree_no);
    if (grow((void **)&s->nodes, &b->cap_nodes, s->nnodes + 1, sizeof *s->nodes))
        return pdm_err(b->errstr, b->errlen, "out of memory");
    s->nodes[s->nnodes++] = link;
    tree->n_nodes++;
    if (t->left[node] < 0) {
        *mean = t->cond[node];
        return add_leaf(b, t->cond[node], number);
    }
    int child[2] = {t->left[node], t->right[node]};
    uint32_t f = t->feature[node];
    double cover = t->cover[node];
    if (child[1] < 0)
        return pdm_err(b->errstr, b->errlen, "model: tree %zu: node %d has one child", b->tree_no,
                       node);
    if (depth >= MAX_PATH)
        return pdm_err(b->errstr, b->errlen,
                       "model: tree %zu is deeper than %d splits: not supported", b->tree_no,
                       MAX_PATH);
    if (f >= b->model_nfeat || f >= s->nfeat)
        return pdm_err(b->errstr, b->errlen, "model: tree %zu: split on feature %u of %zu",
                       b->tree_no, f, s->nfeat);
    if (!(cover > 0) || !isfinite(cover) || !(t->cover[child[0]] >= 0) ||
        !(t->cover[child[1]] >= 0) || !isfinite(t->cover[child[0]]) ||
        !isfinite(t->cover[child[1]]))
        return pdm_err(b->errstr, b->errlen,
                       "model: tree %zu: split node %d has a cover of %g (children %g, %g): "
                       "its contributions are undefined",
                       b->tree_no, node, cover, (double)t->cover[child[0]],
                       (double)t->cover[child[1]]);
    if (grow((void **)&s->splits, &b->cap_splits, s->nsplits + 1, sizeof *s->splits))
        return pdm_err(b->errstr, b->errlen, "out of memory");
    s->splits[s->nsplits].threshold = t->cond[node];
    s->splits[s->nsplits].feature = f | (t->default_left[node] ? DEFAULT_LEFT : 0);
    s->splits[s->nsplits].node = number;
    s->nsplits++;
    tree->n_splits++;

    unsigned slot = 0;
    while (slot < b->n_slots && b->slot_feature[slot] != f)
        slot++;
    int new_slot = slot == b->n_slots;
    double z0 = new_slot ? 1.0 : b->slot_z[slot];
    double sum = 0.0;
    if (new_slot) {
        b->slot_feature[slot] = f;
        b->n_slots++;
    }
    for (int c = 0; c < 2; c++) {
        double m;
        b->slot_z[slot] = z0 * ((double)t->cover[child[c]] / cover);
        if (walk(b, t, tree, child[c], depth + 1, number << 7 | slot << 1 | (c == 0), &m))
            return -1;
        sum += m * t->cover[child[c]];
    }
    b->slot_z[slot] = z0;
    if (new_slot)
        b->n_slots--;
    *mean = sum / cover;
    return 0;
}

/* Whether a leaf can use a table: F(T) below holds z_k as factors, and
 * c_k = (1 - z_k) / z_k needs z_k > 0 (tiny z would underflow floats). */
static int tabulable(const pdm_shap *s, const shap_leaf *l, unsigned max_slots)
{
    if (l->n_slots > max_slots)
        return 0;
    for (uint32_t k = 0; k < l->n_slots; k++)
        if (!(s->slot_z[l->first_slot + k] >= MIN_TABLE_Z))
            return 0;
    return 1;
}

/* The tables: for each tabulated leaf and each subset T of its p slots,
 *     F(T) = v E(T) prod_{k not in T} z_k
 * so that a cold feature's value is -F(H) and a hot one's c_k F(H \ {k}).
 * Leaves get one as long as they fit the budget, fewest slots first. */
static int build_tables(pdm_shap *s, size_t budget, char *errstr, size_t errlen)
{
    size_t count[MAX_TABLE_SLOTS + 1] = {0}, total = 0;
    unsigned m = 0;
    for (size_t i = 0; i < s->nleaves; i++)
        if (tabulable(s, &s->leaves[i], MAX_TABLE_SLOTS))
            count[s->leaves[i].n_slots]++;
    for (unsigned p = 0; p <= MAX_TABLE_SLOTS; p++) {
        size_t add = count[p] * ((size_t)1 << p);
        if (count[p] && ((total + add) * sizeof(float) > budget || total + add >= UINT32_MAX))
            break;
        total += add;
        m = p;
    }
    if (budget == 0)
        total = 0;
    s->tables = malloc((total ? total : 1) * sizeof *s->tables);
    if (!s->tables)
        return pdm_err(errstr, errlen, "out of memory for %zu table entries", total);
    size_t off = 0;
    for (size_t i = 0; i < s->nleaves && total; i++) {
        shap_leaf *l = &s->leaves[i];
        if (!tabulable(s, l, m))
            continue;
        const double *z = s->slot_z + l->first_slot;
        const double *w = s->weight[l->n_slots];
        uint64_t n = (uint64_t)1 << l->n_slots;
        l->table = (uint32_t)off;
        for (uint64_t mask = 0; mask < n; mask++) {
            double zc = 1.0;
            for (uint32_t k = 0; k < l->n_slots; k++)
                if (!(mask >> k & 1))
                    zc *= z[k];
            s->tables[off + mask] =
                (float)(s->leaf_value[i] * zc * pdm_shap_e_sum(z, mask, l->n_slots, w));
        }
        off += n;
        s->table_leaves++;
    }
    s->ntables = off;
    return 0;
}

static int param_number(const cJSON *obj, const char *name, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    char *end;
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return 0;
    }
    if (!cJSON_IsString(v))
        return -1;
    *out = strtod(v->valuestring, &end);
    return end == v->valuestring || *end ? -1 : 0;
}

/* The base margin as XGBoost 1.7 derives it from the base_score parameter
 * (a float): the objective's ProbToMargin. *nout: its outputs. */
static int base_margin(const char *objective, double num_class, float base_score, float *margin,
                       size_t *nout, char *errstr, size_t errlen)
{
    if (strcmp(objective, "multi:softprob") == 0 || strcmp(objective, "multi:softmax") == 0) {
        if (!(num_class >= 2 && num_class < 1e6))
            return pdm_err(errstr, errlen, "model: %s with %g classes", objective, num_class);
        *nout = (size_t)num_class;
        *margin = base_score;
    } else if (strcmp(objective, "binary:logistic") == 0 ||
               strcmp(objective, "reg:logistic") == 0) {
        if (!(base_score > 0.0f && base_score < 1.0f))
            return pdm_err(errstr, errlen, "model: base_score %g is not a probability",
                           (double)base_score);
        *nout = 1;
        *margin = -logf(1.0f / base_score - 1.0f);
    } else if (strcmp(objective, "binary:logitraw") == 0 ||
               strcmp(objective, "reg:squarederror") == 0) {
        *nout = 1;
        *margin = base_score;
    } else {
        return pdm_err(errstr, errlen, "model: objective %s is not supported", objective);
    }
    return 0;
}

pdm_shap *pdm_shap_from_json(const char *json, size_t len, size_t nfeat, int nclass,
                             size_t table_budget, char *errstr, size_t errlen)
{
    cJSON *root = NULL;
    pdm_shap *s = NULL;
    json_tree jt = {0};
    builder b = {0};
    int ok = 0;

    if (nfeat == 0 || nfeat >= (1u << 31) || nclass < 1) {
        pdm_err(errstr, errlen, "bad shape: %zu features, %d classes", nfeat, nclass);
        goto out;
    }
    if (!(s = calloc(1, sizeof *s)) || !(s->bias = calloc((size_t)nclass, sizeof *s->bias)) ||
        !(root = cJSON_ParseWithLength(json, len))) {
        pdm_err(errstr, errlen, s && s->bias ? "model: not JSON" : "out of memory");
        goto out;
    }
    s->nfeat = nfeat;
    s->nclass = (size_t)nclass;
    for (unsigned p = 1; p <= MAX_PATH; p++) {
        double c = 1.0; /* C(p - 1, k) */
        for (unsigned k = 0; k < p; k++) {
            s->weight[p][k] = 1.0 / ((double)p * c);
            c = c * (double)(p - 1 - k) / (double)(k + 1);
        }
    }

    const cJSON *learner = cJSON_GetObjectItemCaseSensitive(root, "learner");
    const cJSON *mparam = cJSON_GetObjectItemCaseSensitive(learner, "learner_model_param");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(learner, "objective");
    const cJSON *objname = cJSON_GetObjectItemCaseSensitive(obj, "name");
    const cJSON *gb = cJSON_GetObjectItemCaseSensitive(learner, "gradient_booster");
    const cJSON *gbname = cJSON_GetObjectItemCaseSensitive(gb, "name");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(gb, "model");
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(model, "tree_info");
    const cJSON *trees = cJSON_GetObjectItemCaseSensitive(model, "trees");
    double num_feature, num_class, base_score, num_target = 1;
    if (param_number(mparam, "num_feature", &num_feature) ||
        param_number(mparam, "num_class", &num_class) ||
        param_number(mparam, "base_score", &base_score) || !cJSON_IsString(objname)) {
        pdm_err(errstr, errlen, "model: no learner_model_param or objective");
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(mparam, "num_target") &&
        param_number(mparam, "num_target", &num_target)) {
        pdm_err(errstr, errlen, "model: bad num_target");
        goto out;
    }
    if (!cJSON_IsString(gbname) || strcmp(gbname->valuestring, "gbtree") != 0) {
        pdm_err(errstr, errlen, "model: booster %s is not supported (gbtree only)",
                cJSON_IsString(gbname) ? gbname->valuestring : "?");
        goto out;
    }
    float margin = 0.0f;
    size_t nout = 0;
    if (base_margin(objname->valuestring, num_class, (float)base_score, &margin, &nout, errstr,
                    errlen))
        goto out;
    if (num_target != 1 || nout != (size_t)nclass || !(num_feature >= 1) ||
        num_feature > (double)nfeat) {
        pdm_err(errstr, errlen,
                "model: %g features, %zu outputs, %g targets; expected at most %zu features and "
                "%d outputs",
                num_feature, nout, num_target, nfeat, nclass);
        goto out;
    }
    b.model_nfeat = (size_t)num_feature;
    for (size_t k = 0; k < s->nclass; k++)
        s->bias[k] = margin;

    size_t ntrees = (size_t)cJSON_GetArraySize(trees);
    if (!cJSON_IsArray(trees) || !cJSON_IsArray(info) ||
        (size_t)cJSON_GetArraySize(info) != ntrees) {
        pdm_err(errstr, errlen, "model: no trees and tree_info of the same length");
        goto out;
    }
    if (!(s->trees = calloc(ntrees ? ntrees : 1, sizeof *s->trees))) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    b.s = s;
    b.errstr = errstr;
    b.errlen = errlen;
    const cJSON *tj = trees->child, *ij = info->child;
    for (size_t t = 0; t < ntrees; t++, tj = tj->next, ij = ij->next) {
        shap_tree *tree = &s->trees[t];
        const cJSON *cats = cJSON_GetObjectItemCaseSensitive(tj, "categories");
        if (!cJSON_IsNumber(ij) || !(ij->valuedouble >= 0 && ij->valuedouble < (double)nclass)) {
            pdm_err(errstr, errlen, "model: tree %zu: bad class in tree_info", t);
            goto out;
        }
        if (cJSON_GetArraySize(cats) > 0) {
            pdm_err(errstr, errlen, "model: tree %zu: categorical splits are not supported", t);
            goto out;
        }
        if (json_tree_read(tj, &jt, errstr, errlen, t))
            goto out;
        tree->output = (uint32_t)ij->valuedouble;
        tree->first_split = (uint32_t)s->nsplits;
        tree->first_leaf = (uint32_t)s->nleaves;
        tree->first_node = (uint32_t)s->nnodes;
        b.tree_no = t;
        b.n_slots = 0;
        double mean;
        if (walk(&b, &jt, tree, 0, 0, 0, &mean))
            goto out;
        tree->n_leaves = (uint32_t)(s->nleaves - tree->first_leaf);
        if (tree->n_nodes > s->max_nodes)
            s->max_nodes = tree->n_nodes;
        s->bias[tree->output] += mean;
        s->ntrees++;
        json_tree_free(&jt);
        if (s->nsplits >= UINT32_MAX / 2 || s->nnodes >= UINT32_MAX / 2 ||
            s->nslots >= UINT32_MAX / 2) {
            pdm_err(errstr, errlen, "model: too many nodes");
            goto out;
        }
    }
    if (build_tables(s, table_budget, errstr, errlen))
        goto out;
    shrink((void **)&s->splits, s->nsplits, sizeof *s->splits);
    shrink((void **)&s->nodes, s->nnodes, sizeof *s->nodes);
    shrink((void **)&s->leaves, s->nleaves, sizeof *s->leaves);
    shrink((void **)&s->leaf_value, s->nleaves, sizeof *s->leaf_value);
    shrink((void **)&s->slots, s->nslots, sizeof *s->slots);
    shrink((void **)&s->slot_z, s->nslots, sizeof *s->slot_z);
    ok = 1;
out:
    json_tree_free(&jt);
    cJSON_Delete(root);
    if (!ok) {
        pdm_shap_destroy(s);
        s = NULL;
    }
    return s;
}

pdm_shap *pdm_shap_new(BoosterHandle booster, size_t nfeat, int nclass, char *errstr, size_t errlen)
{
    bst_ulong len;
    const char *json;
    if (XGBoosterSaveModelToBuffer(booster, "{\"format\":\"json\"}", &len, &json)) {
        pdm_err(errstr, errlen, "xgboost: save model: %s", XGBGetLastError());
        return NULL;
    }
    return pdm_shap_from_json(json, (size_t)len, nfeat, nclass, PDM_SHAP_TABLE_BUDGET, errstr,
                              errlen);
}

void pdm_shap_destroy(pdm_shap *s)
{
    if (!s)
        return;
    free(s->bias);
    free(s->trees);
    free(s->splits);
    free(s->nodes);
    free(s->leaves);
    free(s->leaf_value);
    free(s->slots);
    free(s->slot_z);
    free(s->tables);
    free(s);
}

size_t pdm_shap_memory(const pdm_shap *s)
{
    return sizeof *s + s->nclass * sizeof *s->bias + s->ntrees * sizeof *s->trees +
           s->nsplits * sizeof *s->splits + s->nnodes * sizeof *s->nodes +
           s->nleaves * (sizeof *s->leaves + sizeof *s->leaf_value) +
           s->nslots * (sizeof *s->slots + sizeof *s->slot_z) + s->ntables * sizeof *s->tables;
}

void pdm_shap_get_info(const pdm_shap *s, pdm_shap_info *out)
{
    out->trees = s->ntrees;
    out->leaves = s->nleaves;
    out->table_leaves = s->table_leaves;
    out->direct_leaves = s->nleaves - s->table_leaves;
    out->max_path_features = s->max_path_features;
    out->table_bytes = s->ntables * sizeof *s->tables;
}
