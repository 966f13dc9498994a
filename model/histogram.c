/* histogram.c: reference histograms for drift monitoring.
 *
 * The scorer compares the live distribution of each feature (and of the risk)
 * with these training-time bins, so the binning rule here is the one the
 * scorer must use (pdm_histogram_bin). Edges are quantiles, so each bin holds
 * about a tenth of the training rows and a population stability index over
 * them weighs every part of the distribution alike. Missing values are a
 * share of their own: a feature going missing is drift too.
 *
 * The values are sorted with an LSD radix sort on order-preserving 64-bit
 * keys: 27 columns of ~700 k training rows sort in a few tens of ms, where
 * qsort took seconds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_model.h"

/* Maps a double to an unsigned key with the same order (no NaN here). */
static uint64_t order_key(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return (u & UINT64_C(0x8000000000000000)) ? ~u : u | UINT64_C(0x8000000000000000);
}

static double from_order_key(uint64_t u)
{
    double v;
    u = (u & UINT64_C(0x8000000000000000)) ? u & ~UINT64_C(0x8000000000000000) : ~u;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Sorts keys[0..n) using tmp (n entries); the result is in keys. */
static void radix_sort(uint64_t *keys, uint64_t *tmp, size_t n)
{
    size_t count[8][256] = {{0}};
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            count[b][(keys[i] >> (8 * b)) & 0xff]++;
    uint64_t *src = keys, *dst = tmp;
    for (int b = 0; b < 8; b++) {
        size_t *c = count[b];
        if (n == 0 || c[(src[0] >> (8 * b)) & 0xff] == n)
            continue; /* every key has the same byte here */
        size_t pos = 0;
        for (int v = 0; v < 256; v++) {
            size_t k = c[v];
            c[v] = pos;
            pos += k;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i] >> (8 * b)) & 0xff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != keys)
        memcpy(keys, src, n * sizeof *keys);
}

int pdm_histogram_bin(const pdm_histogram *h, double v)
{
    if (isnan(v))
        return -1;
    int bin = 0;
    for (int k = 1; k < PDM_MODEL_HIST_BINS; k++)
        if (h->edges[k] <= v)
            bin = k;
    return bin;
}

/* First index of keys[0..m) (sorted) that is >= key. */
static size_t lower_bound(const uint64_t *keys, size_t m, uint64_t key)
{
    size_t lo = 0, hi = m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The histogram of m non-missing values (as order keys, sorted in place
 * with tmp) out of n rows. */
static void histogram_from_keys(uint64_t *keys, uint64_t *tmp, size_t m, size_t n,
                                pdm_histogram *out)
{
    enum { B = PDM_MODEL_HIST_BINS };
    memset(out, 0, sizeof *out);
    radix_sort(keys, tmp, m);
    out->count = n;
    out->missing = n ? (double)(n - m) / (double)n : 0.0;
    for (int k = 0; k <= B; k++) {
        if (m == 0) {
            out->edges[k] = NAN;
            continue;
        }
        double h = (double)(m - 1) * k / B;
        size_t lo = (size_t)h;
        double x = from_order_key(keys[lo]);
        if (lo + 1 < m && h > (double)lo)
            x += (h - (double)lo) * (from_order_key(keys[lo + 1]) - x);
        out->edges[k] = x;
    }
    if (m == 0)
        return;
    /* A value's bin is the number of interior edges at or below it, so the
     * values from bin k up are those >= edges[k]: counts come from k lower
     * bounds in the sorted keys (the same rule as pdm_histogram_bin). */
    size_t start[B + 1];
    start[0] = 0;
    for (int k = 1; k < B; k++)
        start[k] = lower_bound(keys, m, order_key(out->edges[k]));
    start[B] = m;
    for (int k = 0; k < B; k++)
        out->share[k] = (double)(start[k + 1] - start[k]) / (double)n;
}

int pdm_histogram_build(const double *values, size_t n, size_t stride, pdm_histogram *out,
                        char *errstr, size_t errlen)
{
    return pdm_histogram_build_columns(values, n, stride, 1, out, errstr, errlen);
}

/* Columns are gathered a few at a time so that the row-major matrix is read
 * a few times, not once per column (each read of a column touches every
 * cache line of the matrix). */
enum { COLUMNS_PER_PASS = 8 };

int pdm_histogram_build_columns(const double *rows, size_t n, size_t stride, size_t ncols,
                                pdm_histogram *out, char *errstr, size_t errlen)
{
    size_t group = ncols < COLUMNS_PER_PASS ? ncols : COLUMNS_PER_PASS;
    size_t per = n ? n : 1;
    uint64_t *keys = malloc(group * per * sizeof *keys);
    uint64_t *tmp = malloc(per * sizeof *tmp);
    if (!keys || !tmp) {
        free(keys);
        free(tmp);
        return pdm_err(errstr, errlen, "out of memory for histograms of %zu values", n);
    }
    for (size_t c0 = 0; c0 < ncols; c0 += group) {
        size_t g = ncols - c0 < group ? ncols - c0 : group;
        size_t m[COLUMNS_PER_PASS] = {0};
        for (size_t i = 0; i < n; i++) {
            const double *row = rows + i * stride + c0;
            for (size_t c = 0; c < g; c++)
                if (!isnan(row[c]))
                    keys[c * per + m[c]++] = order_key(row[c]);
        }
        for (size_t c = 0; c < g; c++)
            histogram_from_keys(keys + c * per, tmp, m[c], n, &out[c0 + c]);
    }
    free(keys);
    free(tmp);
    return 0;
}
