/* codec_validate.c: the validator every message body passes before avro-c
 * reads it.
 *
 * avro-c trusts lengths it reads (a string length of 2^62 becomes a malloc of
 * that size), so every body is first walked by a small validator compiled
 * from the schema's canonical form: it checks that every length, index and
 * count fits in the bytes that are there, and tells a truncated body from a
 * malformed one. Only a body that passes is handed to avro_value_read
 * (avro-c's memory reader does stop at the end of its buffer; the lengths
 * and counts it would allocate for are what it does not check). An enum index
 * past the symbols is an invalid value rather than a malformed body. */
#include <stdlib.h>
#include <string.h>

#include "codec_internal.h"

void vnode_free(vnode *v)
{
    if (!v)
        return;
    if (v->child)
        for (size_t i = 0; i < (v->kind == V_ARRAY ? 1 : v->n); i++)
            vnode_free(v->child[i]);
    free(v->child);
    free(v);
}

vnode *vnode_compile(const cJSON *s)
{
    vnode *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    if (cJSON_IsArray(s)) { /* a union: its branches */
        const cJSON *b;
        size_t i = 0;
        v->kind = V_UNION;
        v->n = (size_t)cJSON_GetArraySize(s);
        v->child = calloc(v->n ? v->n : 1, sizeof *v->child);
        if (!v->child)
            goto fail;
        cJSON_ArrayForEach(b, s)
        {
            if (!(v->child[i++] = vnode_compile(b)))
                goto fail;
        }
        return v;
    }
    const char *t = cJSON_IsString(s)
                        ? s->valuestring
                        : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "type"));
    if (!t)
        goto fail;
    if (!strcmp(t, "null"))
        v->kind = V_NULL;
    else if (!strcmp(t, "boolean"))
        v->kind = V_BOOL;
    else if (!strcmp(t, "int"))
        v->kind = V_INT;
    else if (!strcmp(t, "long"))
        v->kind = V_LONG;
    else if (!strcmp(t, "float"))
        v->kind = V_FLOAT;
    else if (!strcmp(t, "double"))
        v->kind = V_DOUBLE;
    else if (!strcmp(t, "string") || !strcmp(t, "bytes"))
        v->kind = V_STRING;
    else if (!strcmp(t, "enum")) {
        v->kind = V_ENUM;
        v->n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s, "symbols"));
    } else if (!strcmp(t, "array")) {
        v->kind = V_ARRAY;
        v->child = calloc(1, sizeof *v->child);
        if (!v->child ||
            !(v->child[0] = vnode_compile(cJSON_GetObjectItemCaseSensitive(s, "items"))))
            goto fail;
    } else if (!strcmp(t, "record")) {
        const cJSON *fields = cJSON_GetObjectItemCaseSensitive(s, "fields");
        v->kind = V_RECORD;
        v->n = (size_t)cJSON_GetArraySize(fields);
        v->child = calloc(v->n ? v->n : 1, sizeof *v->child);
        if (!v->child)
            goto fail;
        size_t i = 0;
        const cJSON *f;
        cJSON_ArrayForEach(f, fields)
        {
            if (!(v->child[i++] = vnode_compile(cJSON_GetObjectItemCaseSensitive(f, "type"))))
                goto fail;
        }
    } else {
        goto fail; /* not used by pdm's schemas */
    }
    return v;
fail:
    vnode_free(v);
    return NULL;
}

int64_t read_varint(vcursor *c)
{
    uint64_t u = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (c->p >= c->end) {
            c->status = PDM_DECODE_TRUNCATED;
            return 0;
        }
        unsigned char b = *c->p++;
        if (shift == 63 && (b & 0x7e)) {
            c->status = PDM_DECODE_MALFORMED;
            return 0;
        }
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return (int64_t)((u >> 1) ^ (0 - (u & 1)));
    }
    c->status = PDM_DECODE_MALFORMED;
    return 0;
}

static void skip(vcursor *c, uint64_t n)
{
    if ((uint64_t)(c->end - c->p) < n) {
        c->status = PDM_DECODE_TRUNCATED;
        c->p = c->end;
    } else {
        c->p += n;
    }
}

void validate(const vnode *v, vcursor *c, int depth)
{
    if (c->status || depth > 32)
        return;
    switch (v->kind) {
    case V_NULL:
        return;
    case V_BOOL:
        if (c->p >= c->end)
            c->status = PDM_DECODE_TRUNCATED;
        else if (*c->p++ > 1)
            c->status = PDM_DECODE_MALFORMED;
        return;
    case V_INT: {
        int64_t x = read_varint(c);
        if (!c->status && (x < INT32_MIN || x > INT32_MAX))
            c->status = PDM_DECODE_MALFORMED;
        return;
    }
    case V_LONG:
        read_varint(c);
        return;
    case V_FLOAT:
        skip(c, 4);
        return;
    case V_DOUBLE:
        skip(c, 8);
        return;
    case V_STRING: {
        int64_t len = read_varint(c);
        if (c->status)
            return;
        if (len < 0)
            c->status = PDM_DECODE_MALFORMED;
        else
            skip(c, (uint64_t)len);
        return;
    }
    case V_ENUM: {
        int64_t i = read_varint(c);
        if (!c->status && (i < 0 || (uint64_t)i >= v->n))
            c->bad_enum = 1; /* avro-c would refuse it; keep walking to see the rest */
        return;
    }
    case V_RECORD:
        for (size_t i = 0; i < v->n && !c->status; i++)
            validate(v->child[i], c, depth + 1);
        return;
    case V_ARRAY:
        for (;;) {
            int64_t count = read_varint(c);
            if (c->status || count == 0)
                return;
            if (count < 0) { /* a negative count is followed by the block's size */
                if (count == INT64_MIN) {
                    c->status = PDM_DECODE_MALFORMED;
                    return;
                }
                count = -count;
                int64_t size = read_varint(c);
                if (!c->status && size < 0)
                    c->status = PDM_DECODE_MALFORMED;
                if (c->status)
                    return;
            }
            /* Every item of pdm's arrays takes at least one byte. */
            if ((uint64_t)count > (uint64_t)(c->end - c->p)) {
                c->status = PDM_DECODE_TRUNCATED;
                return;
            }
            for (int64_t i = 0; i < count && !c->status; i++)
                validate(v->child[0], c, depth + 1);
            if (c->status)
                return;
        }
    case V_UNION: {
        int64_t i = read_varint(c);
        if (c->status)
            return;
        if (i < 0 || (uint64_t)i >= v->n)
            c->status = PDM_DECODE_MALFORMED; /* no branch to read the rest by */
        else
            validate(v->child[i], c, depth + 1);
        return;
    }
    }
}
