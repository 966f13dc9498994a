/* ubj.c: the UBJSON cursor reader (see ubj.h). */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ubj.h"

static int fixed_size(unsigned char m)
{
    switch (m) {
    case 'Z':
    case 'N':
    case 'T':
    case 'F':
        return 0;
    case 'i':
    case 'U':
    case 'C':
        return 1;
    case 'I':
        return 2;
    case 'l':
    case 'd':
        return 4;
    case 'L':
    case 'D':
        return 8;
    default:
        return -1;
    }
}

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The number at p of fixed-size type m (booleans count as 0/1). */
static int number_at(const unsigned char *p, unsigned char m, double *v)
{
    switch (m) {
    case 'i':
        *v = (int8_t)p[0];
        return 0;
    case 'U':
        *v = p[0];
        return 0;
    case 'I':
        *v = (int16_t)be(p, 2);
        return 0;
    case 'l':
        *v = (int32_t)be(p, 4);
        return 0;
    case 'L':
        *v = (double)(int64_t)be(p, 8);
        return 0;
    case 'd': {
        uint32_t bits = (uint32_t)be(p, 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        *v = f;
        return 0;
    }
    case 'D': {
        uint64_t bits = be(p, 8);
        memcpy(v, &bits, sizeof *v);
        return 0;
    }
    case 'T':
        *v = 1;
        return 0;
    case 'F':
        *v = 0;
        return 0;
    default:
        return -1;
    }
}

static int take(ubj_cur *c, size_t n, const unsigned char **at)
{
    if ((size_t)(c->end - c->p) < n)
        return -1;
    if (at)
        *at = c->p;
    c->p += n;
    return 0;
}

/* A length: an integer value with its own marker. */
static int read_len(ubj_cur *c, size_t *n)
{
    const unsigned char *m, *p;
    double v;
    int size;
    if (take(c, 1, &m) || (size = fixed_size(*m)) <= 0 || *m == 'd' || *m == 'D' || *m == 'C' ||
        take(c, (size_t)size, &p) || number_at(p, *m, &v) || v < 0 ||
        v > (double)(c->end - c->p) * 8 + 8)
        return -1;
    *n = (size_t)v;
    return 0;
}

/* After '[' or '{': the optional element type ('$') and count ('#'). */
static int container_header(ubj_cur *c, unsigned char *type, size_t *count, int *counted)
{
    *type = 0;
    *counted = 0;
    if (c->p < c->end && *c->p == '$') {
        c->p++;
        if (take(c, 1, NULL))
            return -1;
        *type = c->p[-1];
        if (c->p >= c->end || *c->p != '#')
            return -1; /* a type needs a count */
    }
    if (c->p < c->end && *c->p == '#') {
        c->p++;
        if (read_len(c, count))
            return -1;
        *counted = 1;
    }
    return 0;
}

static int skip_value(ubj_cur *c, unsigned char m, int depth);

int ubj_iter_open(const ubj_val *v, ubj_iter *it, int depth)
{
    if ((v->m != '[' && v->m != '{') || depth > 64)
        return -1;
    it->c = v->c;
    it->object = v->m == '{';
    it->depth = depth;
    return container_header(&it->c, &it->type, &it->left, &it->counted);
}

int ubj_iter_next(ubj_iter *it, const unsigned char **key, size_t *key_len, ubj_val *v)
{
    *key = NULL;
    *key_len = 0;
    if (it->counted) {
        if (it->left == 0)
            return 0;
        it->left--;
    } else {
        if (it->c.p >= it->c.end)
            return -1;
        if (*it->c.p == (it->object ? '}' : ']')) {
            it->c.p++;
            return 0;
        }
    }
    if (it->object && (read_len(&it->c, key_len) || take(&it->c, *key_len, key)))
        return -1;
    if (it->type) {
        v->m = it->type;
    } else {
        if (take(&it->c, 1, NULL))
            return -1;
        v->m = it->c.p[-1];
    }
    v->c = it->c;
    return skip_value(&it->c, v->m, it->depth + 1) ? -1 : 1;
}

static int skip_value(ubj_cur *c, unsigned char m, int depth)
{
    int size = fixed_size(m);
    size_t n;
    if (size >= 0)
        return take(c, (size_t)size, NULL);
    if (m == 'S' || m == 'H')
        return read_len(c, &n) || take(c, n, NULL) ? -1 : 0;
    if (m != '[' && m != '{')
        return -1;
    ubj_val v = {m, *c};
    ubj_iter it;
    if (ubj_iter_open(&v, &it, depth))
        return -1;
    int esize = it.type ? fixed_size(it.type) : -1;
    if (it.counted && !it.object && esize >= 0) { /* a typed array: jump over it */
        if (it.left > SIZE_MAX / 8 || take(&it.c, it.left * (size_t)esize, NULL))
            return -1;
    } else {
        const unsigned char *key;
        size_t key_len;
        ubj_val e;
        int r;
        while ((r = ubj_iter_next(&it, &key, &key_len, &e)) == 1)
            ;
        if (r < 0)
            return -1;
    }
    *c = it.c;
    return 0;
}

/* obj[key], or -1. */
int ubj_get(const ubj_val *obj, const char *key, ubj_val *out)
{
    ubj_iter it;
    const unsigned char *k = NULL;
    size_t klen = 0, want = strlen(key);
    ubj_val v;
    int r;
    if (obj->m != '{' || ubj_iter_open(obj, &it, 0))
        return -1;
    while ((r = ubj_iter_next(&it, &k, &klen, &v)) == 1) {
        if (klen == want && memcmp(k, key, want) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int ubj_string(const ubj_val *v, char *buf, size_t len)
{
    ubj_cur c = v->c;
    size_t n;
    const unsigned char *p;
    if (v->m != 'S' || read_len(&c, &n) || take(&c, n, &p) || n >= len)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 0;
}

static int ubj_number(const ubj_val *v, double *out)
{
    int size = fixed_size(v->m);
    if (size < 0 || (size_t)(v->c.end - v->c.p) < (size_t)size)
        return -1;
    return number_at(v->c.p, v->m, out);
}

/* The n numbers of an array (typed or not) into out; -1 unless it holds
 * exactly n numbers. */
int ubj_numbers(const ubj_val *arr, double *out, size_t n)
{
    ubj_iter it;
    const unsigned char *k;
    size_t klen, i = 0;
    ubj_val v;
    int r;
    if (arr->m != '[' || ubj_iter_open(arr, &it, 0))
        return -1;
    int esize = it.type ? fixed_size(it.type) : -1;
    if (it.counted && esize > 0) {
        if (it.left != n || (size_t)(it.c.end - it.c.p) / (size_t)esize < n)
            return -1;
        for (i = 0; i < n; i++)
            if (number_at(it.c.p + i * (size_t)esize, it.type, &out[i]))
                return -1;
        return 0;
    }
    while ((r = ubj_iter_next(&it, &k, &klen, &v)) == 1) {
        if (i >= n || ubj_number(&v, &out[i++]))
            return -1;
    }
    return r == 0 && i == n ? 0 : -1;
}

size_t ubj_count(const ubj_val *arr)
{
    ubj_iter it;
    const unsigned char *k;
    size_t klen, n = 0;
    ubj_val v;
    if (arr->m != '[' || ubj_iter_open(arr, &it, 0))
        return SIZE_MAX;
    if (it.counted)
        return it.left;
    int r;
    while ((r = ubj_iter_next(&it, &k, &klen, &v)) == 1)
        n++;
    return r == 0 ? n : SIZE_MAX;
}

/* A path of keys, e.g. "learner", "learner_model_param", NULL. */
int ubj_path(const ubj_val *root, ubj_val *out, ...)
{
    va_list ap;
    ubj_val cur = *root;
    const char *key;
    int rc = 0;
    va_start(ap, out);
    while (rc == 0 && (key = va_arg(ap, const char *)) != NULL)
        rc = ubj_get(&cur, key, &cur);
    va_end(ap);
    if (rc == 0)
        *out = cur;
    return rc;
}

/* A string parameter parsed as a number (XGBoost stores them as text). */
int ubj_param_number(const ubj_val *obj, const char *key, double *v)
{
    ubj_val s;
    char buf[64], *end;
    if (ubj_get(obj, key, &s) || ubj_string(&s, buf, sizeof buf))
        return -1;
    *v = strtod(buf, &end);
    return end == buf || *end ? -1 : 0;
}

/* The same as a float, parsed as XGBoost parses float parameters (NaN if
 * absent or malformed). */
float ubj_param_float(const ubj_val *obj, const char *key)
{
    ubj_val s;
    char buf[64], *end;
    if (ubj_get(obj, key, &s) || ubj_string(&s, buf, sizeof buf))
        return NAN;
    float v = strtof(buf, &end);
    return end == buf || *end ? NAN : v;
}
