/* native_sample.c: the sample of rows the native evaluator is checked on
 * against XGBoost before it serves (pdm_native_sample, see native.h): every
 * threshold in its variants (the float itself, its neighbours, a double
 * that rounds to it, a tie), rows that reach each tree's split nodes, and
 * rows of special values (NaN, infinities, huge, tiny); and the comparison
 * of the two predictors' outputs (pdm_native_compare). It reads the trees'
 * linked layout only (native_internal.h). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "native_internal.h"
#include "pdm_common.h"

static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The variants of a threshold the sample puts rows on. */
#define N_VARIANTS 5
static double threshold_variant(float thr, int variant)
{
    float below = nextafterf(thr, -INFINITY);
    switch (variant) {
    case 0:
        return thr;
    case 1:
        return below;
    case 2:
        return nextafterf(thr, INFINITY);
    case 3:
        return nextafter((double)thr, -INFINITY); /* rounds to thr as a float */
    default:
        return ((double)below + (double)thr) / 2; /* a tie: rounds to the even one */
    }
}

typedef struct {
    native_linked nat;
    const split_point *splits;
    const size_t *first, *count; /* per feature: range in splits */
    const double *edges;
    size_t n_edges;
    uint64_t seed;
} sampler;

/* A value of feature j: specials (NaN, infinities, huge, zero, tiny) with
 * share `special` (of 16), else a data edge or a threshold variant. */
static double sample_value(sampler *s, size_t j, int special)
{
    uint64_t h = mix(&s->seed);
    unsigned kind = (unsigned)(h % 16);
    int sign = (h >> 8) & 1 ? -1 : 1;
    if ((int)kind < special) {
        static const double specials[] = {NAN,     NAN,    NAN, INFINITY, 1e300,
                                          FLT_MAX, 3.5e38, 0.0, 1e-45,    1e-310};
        unsigned which = (unsigned)((h >> 16) % (sizeof specials / sizeof *specials));
        double v = specials[which];
        return isnan(v) ? v : sign * v;
    }
    if (s->edges && (h >> 20) % 2 == 0) {
        double e = s->edges[j * s->n_edges + (h >> 24) % s->n_edges];
        if (!isnan(e))
            return e;
    }
    if (s->count[j] > 0) {
        float thr = s->splits[s->first[j] + (h >> 32) % s->count[j]].thr;
        return threshold_variant(thr, (int)((h >> 40) % N_VARIANTS));
    }
    return (double)(int64_t)((h >> 44) % 2001) / 10.0 - 100.0;
}

/* A row reaching split node `target` of tree t: each ancestor's condition is
 * met by narrowing its feature's interval [lo, hi) (and whether missing may
 * take that way); the target's feature goes on its threshold or missing. */
static void path_row(sampler *s, size_t t, uint32_t target, int variant, double *row,
                     uint32_t *parent, double *lo, double *hi, unsigned char *nan_ok)
{
    const native_linked *nat = &s->nat;
    const native_node *tn = nat->nodes + nat->trees[t].first;
    uint32_t n = nat->trees[t].n_nodes;
    for (uint32_t i = 0; i < n; i++)
        parent[i] = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (tn[i].child[0] != i) {
            parent[tn[i].child[0]] = i;
            parent[tn[i].child[1]] = i;
        }
    for (size_t j = 0; j < nat->nfeat; j++) {
        row[j] = sample_value(s, j, 3);
        lo[j] = -INFINITY;
        hi[j] = INFINITY;
        nan_ok[j] = 1;
    }
    for (uint32_t c = target; parent[c] != UINT32_MAX; c = parent[c]) {
        const native_node *p = &tn[parent[c]];
        uint32_t f = p->feat & FEAT_MASK;
        int left = p->child[0] == c, dl = (p->feat & DEFAULT_LEFT) != 0;
        if (left)
            hi[f] = hi[f] < p->thr ? hi[f] : p->thr;
        else
            lo[f] = lo[f] > p->thr ? lo[f] : p->thr;
        nan_ok[f] &= (unsigned char)(left == dl);
    }
    const native_node *tg = &tn[target];
    uint32_t ft = tg->feat & FEAT_MASK;
    double want = variant == 1 ? NAN : threshold_variant(tg->thr, variant == 0 ? 0 : 3);
    if (isnan(want) ? nan_ok[ft] : (float)want >= lo[ft] && (float)want < hi[ft])
        row[ft] = want, lo[ft] = -INFINITY, hi[ft] = INFINITY, nan_ok[ft] = 1;
    for (size_t j = 0; j < nat->nfeat; j++) {
        float f = (float)row[j];
        int ok = isnan(f) ? nan_ok[j] : f >= lo[j] && f < hi[j];
        if (ok)
            continue;
        if (isfinite(lo[j]) && lo[j] < hi[j])
            row[j] = lo[j];
        else if (isfinite(hi[j]) && lo[j] < hi[j])
            row[j] = nextafterf((float)hi[j], -INFINITY);
        else if (nan_ok[j])
            row[j] = NAN;
    }
}

int pdm_native_sample(const pdm_native *native, const double *edges, size_t n_edges,
                      double **rows, size_t *n, char *errstr, size_t errlen)
{
    const native_linked linked = native_linked_of(native), *nat = &linked;
    const size_t nf = nat->nfeat;
    split_point *splits = NULL;
    size_t *first = NULL, *count = NULL, n_splits = 0, max_nodes = 1;
    uint32_t *parent = NULL;
    double *lo = NULL, *hi = NULL, *out = NULL;
    unsigned char *nan_ok = NULL;
    int rc = -1;

    *rows = NULL;
    *n = 0;
    for (size_t t = 0; t < nat->ntrees; t++)
        max_nodes = nat->trees[t].n_nodes > max_nodes ? nat->trees[t].n_nodes : max_nodes;
    if (native_collect_splits(nat, &splits, &n_splits))
        goto oom;
    first = calloc(nf, sizeof *first);
    count = calloc(nf, sizeof *count);
    parent = malloc(max_nodes * sizeof *parent);
    lo = malloc(nf * sizeof *lo);
    hi = malloc(nf * sizeof *hi);
    nan_ok = malloc(nf);
    if (!first || !count || !parent || !lo || !hi || !nan_ok)
        goto oom;
    size_t max_per_feature = 0;
    for (size_t i = 0; i < n_splits; i++) {
        if (count[splits[i].feat]++ == 0)
            first[splits[i].feat] = i;
        if (count[splits[i].feat] > max_per_feature)
            max_per_feature = count[splits[i].feat];
    }

    /* Part A: every threshold of every feature in each variant (several
     * features per row); B: two rows per tree reaching a split node; C:
     * mixed rows with specials. */
    size_t n_a = max_per_feature * N_VARIANTS;
    if (n_a > 20000)
        n_a = 20000;
    size_t n_b = 2 * nat->ntrees, n_c = 1024, total = n_a + n_b + n_c;
    out = malloc(total * nf * sizeof *out);
    if (!out)
        goto oom;
    sampler s = {linked, splits, first, count, edges, n_edges, 0x5eed0fd15ea5edull};
    for (size_t r = 0; r < n_a; r++) {
        for (size_t j = 0; j < nf; j++) {
            double *v = &out[r * nf + j];
            if (count[j] == 0) {
                *v = sample_value(&s, j, 4);
                continue;
            }
            size_t idx = (r + j * 7919) % count[j];
            int variant = (int)((r / count[j]) % N_VARIANTS);
            *v = threshold_variant(splits[first[j] + idx].thr, variant);
        }
    }
    for (size_t t = 0; t < nat->ntrees; t++) {
        const native_node *tn = nat->nodes + nat->trees[t].first;
        uint32_t nn = nat->trees[t].n_nodes;
        for (int pass = 0; pass < 2; pass++) {
            double *row = out + (n_a + 2 * t + (size_t)pass) * nf;
            uint32_t target = UINT32_MAX;
            uint32_t start = (uint32_t)((t * 2654435761u + (size_t)pass * 40503u) % nn);
            for (uint32_t q = 0; q < nn && target == UINT32_MAX; q++) {
                uint32_t i = (start + q) % nn;
                if (tn[i].child[0] != i)
                    target = i;
            }
            if (target == UINT32_MAX) {
                for (size_t j = 0; j < nf; j++)
                    row[j] = sample_value(&s, j, 4);
                continue;
            }
            path_row(&s, t, target, (int)((t + (size_t)pass) % 3), row, parent, lo, hi, nan_ok);
        }
    }
    for (size_t r = n_a + n_b; r < total; r++)
        for (size_t j = 0; j < nf; j++)
            out[r * nf + j] = sample_value(&s, j, 6);
    *rows = out;
    *n = total;
    out = NULL;
    rc = 0;
    goto out;
oom:
    pdm_err(errstr, errlen, "out of memory for the check's sample");
out:
    free(splits);
    free(first);
    free(count);
    free(parent);
    free(lo);
    free(hi);
    free(nan_ok);
    free(out);
    return rc;
}

void pdm_native_compare(const double *native, const double *reference, size_t n, size_t n_outputs,
                        pdm_native_diff *out)
{
    memset(out, 0, sizeof *out);
    out->rows = n;
    for (size_t i = 0; i < n * n_outputs; i++) {
        double a = native[i], b = reference[i], d;
        if (isnan(a) && isnan(b))
            d = 0;
        else if (isnan(a) || isnan(b))
            d = INFINITY;
        else
            d = fabs(a - b);
        if (memcmp(&a, &b, sizeof a) == 0)
            out->identical++;
        if (i == 0 || d > out->max_abs_diff) {
            out->max_abs_diff = d;
            out->worst_row = i / n_outputs;
            out->worst_output = i % n_outputs;
            out->native_value = a;
            out->reference_value = b;
        }
    }
}
