/* numfmt.c: decimal numbers as the PdM files write them ("%.15g").
 *
 * Parsing uses the exact fast path (Clinger): a decimal of at most 15
 * significant digits and at most 22 fraction digits is an integer below 2^53
 * divided by an exactly representable power of ten, and one IEEE division
 * rounds that correctly. Anything else goes to strtod. No allocation, no
 * locale-dependent fast path: this runs for every field of ~900k rows. */
#include "dataset_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#define P15 UINT64_C(1000000000000000)
#define P14 UINT64_C(100000000000000)

int pdm_ds_type_rank(int type)
{
    /* pdm_event_type order is telemetry, error, maintenance, failure, machine. */
    static const int rank[] = {4, 2, 1, 3, 0};
    return type >= 0 && type < 5 ? rank[type] : 5;
}

/* For v in [1, 1e15): the k (fraction digits) and q (15-digit integer) such
 * that q / 10^k is v rounded to 15 significant digits. */
static void grid_of(double v, int *k_out, uint64_t *q_out)
{
    int intdigits = 1;
    while (intdigits < 15 && v >= pow10_exact[intdigits])
        intdigits++;
    int k = 15 - intdigits;
    uint64_t q = (uint64_t)(v * pow10_exact[k] + 0.5);
    if (q >= P15 && k > 0) { /* rounded up to the next power of ten */
        k--;
        q = (uint64_t)(v * pow10_exact[k] + 0.5);
    }
    *k_out = k;
    *q_out = q;
}

double pdm_ds_quantize(double v)
{
    if (!(v >= 1.0 && v < 1e15))
        return v;
    int k;
    uint64_t q;
    grid_of(v, &k, &q);
    return (double)q / pow10_exact[k];
}

size_t pdm_ds_format_num(double v, char *out)
{
    int k;
    uint64_t q;
    if (v >= 1.0 && v < 1e15) {
        grid_of(v, &k, &q);
        /* Only when v is the double nearest to q / 10^k is q exactly what
         * %.15g prints (the 15-digit grid is 10x coarser than the doubles). */
        if (q >= P14 / 10 && q < P15 && (double)q / pow10_exact[k] == v) {
            char digits[20];
            int nd = 0;
            for (uint64_t x = q; x; x /= 10)
                digits[nd++] = (char)('0' + x % 10);
            /* digits[] is little-endian; the integer part is its top nd-k digits. */
            int end = 0; /* lowest fraction digit that is not a trailing zero */
            while (end < k && digits[end] == '0')
                end++;
            size_t n = 0;
            for (int i = nd - 1; i >= k; i--)
                out[n++] = digits[i];
            if (end < k) {
                out[n++] = '.';
                for (int i = k - 1; i >= end; i--)
                    out[n++] = i < nd ? digits[i] : '0';
            }
            return n;
        }
    }
    int n = snprintf(out, 32, "%.15g", v);
    return n > 0 ? (size_t)n : 0;
}

static int parse_slow(const char *s, size_t len, double *out)
{
    char tmp[64];
    if (len == 0 || len >= sizeof tmp)
        return -1;
    /* strtod also takes leading blanks and hexadecimal; the files never do. */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == 'x' || c == 'X')
            return -1;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (end != tmp + len)
        return -1;
    if (!isfinite(v))
        return -2;
    *out = v;
    return 0;
}

int pdm_ds_parse_num(const char *s, size_t len, double *out)
{
    size_t i = 0;
    int neg = 0, digits = 0, frac = 0, any = 0;
    uint64_t mant = 0;

    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        any = 1;
        if (mant == 0 && s[i] == '0')
            continue;
        if (++digits > 15)
            return parse_slow(s, len, out);
        mant = mant * 10 + (uint64_t)(s[i] - '0');
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            any = 1;
            frac++;
            if (mant == 0 && s[i] == '0')
                continue;
            if (++digits > 15)
                return parse_slow(s, len, out);
            mant = mant * 10 + (uint64_t)(s[i] - '0');
        }
    }
    if (i != len || !any || frac > 22)
        return parse_slow(s, len, out);
    double v = (double)mant / pow10_exact[frac];
    *out = neg ? -v : v;
    return 0;
}
