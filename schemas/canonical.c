/* canonical.c: the Avro specification's Parsing Canonical Form and the
 * CRC-64-AVRO fingerprint, which avro-c does not provide.
 *
 * Canonical form rules (Avro 1.11 specification, "Parsing Canonical Form for
 * Schemas"): PRIMITIVES (a primitive schema in its simple form: "long", also
 * for {"type":"long","logicalType":...} since logicalType is stripped),
 * FULLNAMES (names of records, enums and fixed, and references to them, as
 * full names), STRIP (keep only type, name, fields, symbols, items, values,
 * size), ORDER (name, type, fields, symbols, items, values, size), STRINGS
 * and INTEGERS (JSON text as cJSON prints it), WHITESPACE (none).
 * A named type appears in full once; later references are its full name. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pdm_common.h"
#include "pdm_schemas.h"

#define CRC64_EMPTY UINT64_C(0xc15d213aa4d7a795)

/* The byte table of the reflected polynomial, built once per process (a
 * constant, so the one piece of static state; pthread_once keeps codecs on
 * several threads safe). */
static uint64_t crc64_table[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void)
{
    for (int i = 0; i < 256; i++) {
        uint64_t fp = (uint64_t)i;
        for (int j = 0; j < 8; j++)
            fp = (fp >> 1) ^ (CRC64_EMPTY & (0 - (fp & 1)));
        crc64_table[i] = fp;
    }
}

uint64_t pdm_avro_crc64(const void *data, size_t len)
{
    pthread_once(&crc64_once, crc64_init);
    const uint64_t *table = crc64_table;
    const unsigned char *p = data;
    uint64_t fp = CRC64_EMPTY;
    for (size_t i = 0; i < len; i++)
        fp = (fp >> 8) ^ table[(fp ^ p[i]) & 0xff];
    return fp;
}

static const char *const primitives[] = {"null",  "boolean", "int",   "long",
                                         "float", "double",  "bytes", "string"};

static int is_primitive(const char *s)
{
    for (size_t i = 0; i < sizeof primitives / sizeof *primitives; i++)
        if (strcmp(s, primitives[i]) == 0)
            return 1;
    return 0;
}

typedef struct {
    char **names; /* full names already written out in full */
    size_t n;
    char *errstr;
    size_t errlen;
} canon_ctx;

static char *full_name(const char *name, const char *ns)
{
    if (strchr(name, '.') || !ns || !*ns)
        return strdup(name);
    size_t len = strlen(ns) + strlen(name) + 2;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s.%s", ns, name);
    return s;
}

static int seen(canon_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->names[i], name) == 0)
            return 1;
    return 0;
}

static cJSON *canon(canon_ctx *c, const cJSON *s, const char *ns);

static cJSON *canon_named_ref(canon_ctx *c, const char *name, const char *ns)
{
    char *full = full_name(name, ns);
    if (!full)
        return NULL;
    cJSON *out = cJSON_CreateString(full);
    free(full);
    return out;
}

static cJSON *canon_object(canon_ctx *c, const cJSON *s, const char *ns)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
    if (!cJSON_IsString(type) && !cJSON_IsObject(type) && !cJSON_IsArray(type)) {
        pdm_err(c->errstr, c->errlen, "schema object without a type");
        return NULL;
    }
    if (!cJSON_IsString(type))
        return canon(c, type, ns); /* {"type": {...}} wraps another schema */
    const char *t = type->valuestring;
    if (is_primitive(t))
        return cJSON_CreateString(t);

    cJSON *out = cJSON_CreateObject();
    char *full = NULL;
    const char *inner_ns = ns;
    if (!out)
        return NULL;
    if (!strcmp(t, "record") || !strcmp(t, "error") || !strcmp(t, "enum") || !strcmp(t, "fixed")) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
        const cJSON *nsp = cJSON_GetObjectItemCaseSensitive(s, "namespace");
        if (!cJSON_IsString(name)) {
            pdm_err(c->errstr, c->errlen, "named type '%s' without a name", t);
            goto fail;
        }
        full = full_name(name->valuestring, cJSON_IsString(nsp) ? nsp->valuestring : ns);
        if (!full)
            goto fail;
        if (seen(c, full)) { /* a second definition is a reference */
            cJSON_Delete(out);
            out = cJSON_CreateString(full);
            free(full);
            return out;
        }
        char **names = realloc(c->names, (c->n + 1) * sizeof *names);
        if (!names)
            goto fail;
        c->names = names;
        c->names[c->n++] = strdup(full);
        /* Names inside take the namespace of this full name. */
        const char *dot = strrchr(full, '.');
        inner_ns = dot ? strndup(full, (size_t)(dot - full)) : strdup("");
        if (!inner_ns) {
            inner_ns = ns;
            goto fail;
        }
        cJSON_AddStringToObject(out, "name", full);
    }
    cJSON_AddStringToObject(out, "type", t);
    if (!strcmp(t, "record") || !strcmp(t, "error")) {
        const cJSON *fields = cJSON_GetObjectItemCaseSensitive(s, "fields");
        if (!cJSON_IsArray(fields)) {
            pdm_err(c->errstr, c->errlen, "record '%s' without fields", full);
            goto fail;
        }
        cJSON *arr = cJSON_AddArrayToObject(out, "fields");
        const cJSON *f;
        cJSON_ArrayForEach(f, fields)
        {
            const cJSON *fname = cJSON_GetObjectItemCaseSensitive(f, "name");
            const cJSON *ftype = cJSON_GetObjectItemCaseSensitive(f, "type");
            if (!cJSON_IsString(fname) || !ftype) {
                pdm_err(c->errstr, c->errlen, "field of '%s' without name or type", full);
                goto fail;
            }
            cJSON *cf = cJSON_CreateObject();
            cJSON_AddItemToArray(arr, cf);
            cJSON_AddStringToObject(cf, "name", fname->valuestring);
            cJSON *ct = canon(c, ftype, inner_ns);
            if (!ct)
                goto fail;
            cJSON_AddItemToObject(cf, "type", ct);
        }
    } else if (!strcmp(t, "enum")) {
        const cJSON *symbols = cJSON_GetObjectItemCaseSensitive(s, "symbols");
        if (!cJSON_IsArray(symbols)) {
            pdm_err(c->errstr, c->errlen, "enum '%s' without symbols", full);
            goto fail;
        }
        cJSON_AddItemToObject(out, "symbols", cJSON_Duplicate(symbols, 1));
    } else if (!strcmp(t, "array") || !strcmp(t, "map")) {
        const char *key = t[0] == 'a' ? "items" : "values";
        const cJSON *sub = cJSON_GetObjectItemCaseSensitive(s, key);
        if (!sub) {
            pdm_err(c->errstr, c->errlen, "%s without %s", t, key);
            goto fail;
        }
        cJSON *cs = canon(c, sub, ns);
        if (!cs)
            goto fail;
        cJSON_AddItemToObject(out, key, cs);
    } else if (!strcmp(t, "fixed")) {
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(s, "size");
        if (!cJSON_IsNumber(size)) {
            pdm_err(c->errstr, c->errlen, "fixed '%s' without size", full);
            goto fail;
        }
        cJSON_AddNumberToObject(out, "size", size->valuedouble);
    } else {
        /* A reference to a named type, written as {"type": "Name"}. */
        cJSON_Delete(out);
        if (inner_ns != ns)
            free((char *)inner_ns);
        free(full);
        return canon_named_ref(c, t, ns);
    }
    if (inner_ns != ns)
        free((char *)inner_ns);
    free(full);
    return out;
fail:
    if (inner_ns != ns)
        free((char *)inner_ns);
    free(full);
    cJSON_Delete(out);
    return NULL;
}

static cJSON *canon(canon_ctx *c, const cJSON *s, const char *ns)
{
    if (cJSON_IsString(s))
        return is_primitive(s->valuestring) ? cJSON_CreateString(s->valuestring)
                                            : canon_named_ref(c, s->valuestring, ns);
    if (cJSON_IsArray(s)) { /* a union */
        cJSON *out = cJSON_CreateArray();
        const cJSON *b;
        cJSON_ArrayForEach(b, s)
        {
            cJSON *cb = canon(c, b, ns);
            if (!cb) {
                cJSON_Delete(out);
                return NULL;
            }
            cJSON_AddItemToArray(out, cb);
        }
        return out;
    }
    if (cJSON_IsObject(s))
        return canon_object(c, s, ns);
    pdm_err(c->errstr, c->errlen, "not a schema");
    return NULL;
}

int pdm_avro_canonical_form(const char *schema_json, char **out, char *errstr, size_t errlen)
{
    canon_ctx c = {NULL, 0, errstr, errlen};
    int rc = -1;
    *out = NULL;
    cJSON *doc = cJSON_Parse(schema_json);
    if (!doc)
        return pdm_err(errstr, errlen, "schema is not valid JSON");
    cJSON *cf = canon(&c, doc, NULL);
    if (cf) {
        *out = cJSON_PrintUnformatted(cf);
        rc = *out ? 0 : pdm_err(errstr, errlen, "out of memory");
    }
    cJSON_Delete(cf);
    cJSON_Delete(doc);
    for (size_t i = 0; i < c.n; i++)
        free(c.names[i]);
    free(c.names);
    return rc;
}
