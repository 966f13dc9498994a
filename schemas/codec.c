/* codec.c: events to and from Avro messages, with avro-c doing the binary
 * encoding: the codec object (this file), the body validator
 * (codec_validate.c), encoding (codec_encode.c, encode_direct.c) and
 * decoding (codec_decode.c, decode_direct.c). The current schema versions
 * are written and read by the direct files, the same bytes and events as
 * avro-c's (their tests compare the two); older versions go through avro-c.
 * Every body is validated before either reads it (codec_validate.c says
 * why). Values, readers and writers are created once per codec and reused;
 * decoding a string through avro-c still allocates inside it.
 *
 * Schema evolution: besides each type's current schema the codec keeps the
 * earlier versions in schemas/history/, each with its own value, validator
 * and fingerprint. A message is decoded with the version its fingerprint
 * names, so a version 1 RiskEvent is read with the version 1 layout and the
 * fields it lacks take their defaults; encoding always writes the current
 * version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <cjson/cJSON.h>

#include "codec_internal.h"
#include "encode_direct.h"
#include "pdm_common.h"
#include "pdm_schemas.h"

void pdm_codec_destroy(pdm_codec *c)
{
    if (!c)
        return;
    for (size_t t = 0; c->types && t < c->n_types; t++) {
        codec_type *ct = &c->types[t];
        if (ct->has_value)
            avro_value_decref(&ct->value);
        if (ct->iface)
            avro_value_iface_decref(ct->iface);
        if (ct->schema)
            avro_schema_decref(ct->schema);
        vnode_free(ct->validator);
    }
    if (c->reader)
        avro_reader_free(c->reader);
    if (c->writer)
        avro_writer_free(c->writer);
    free(c->types);
    free(c);
}

/* Parses one schema version into *ct: avro-c value, validator, fingerprint. */
static int codec_type_init(codec_type *ct, pdm_event_type t, int version, const char *json,
                           char *errstr, size_t errlen)
{
    char *canonical = NULL, msg[PDM_ERRSTR_SIZE];
    ct->type = t;
    ct->version = version;
    if (avro_schema_from_json_length(json, strlen(json), &ct->schema))
        return pdm_err(errstr, errlen, "schema %s v%d: %s", pdm_event_schema_name(t), version,
                       avro_strerror());
    ct->iface = avro_generic_class_from_schema(ct->schema);
    if (!ct->iface || avro_generic_value_new(ct->iface, &ct->value))
        return pdm_err(errstr, errlen, "schema %s v%d: %s", pdm_event_schema_name(t), version,
                       avro_strerror());
    ct->has_value = 1;
    if (pdm_avro_canonical_form(json, &canonical, msg, sizeof msg))
        return pdm_err(errstr, errlen, "schema %s v%d: %s", pdm_event_schema_name(t), version, msg);
    ct->fingerprint = pdm_avro_crc64(canonical, strlen(canonical));
    for (int i = 0; i < 8; i++)
        ct->fp_le[i] = (unsigned char)(ct->fingerprint >> (8 * i));
    cJSON *doc = cJSON_Parse(canonical);
    free(canonical);
    ct->validator = doc ? vnode_compile(doc) : NULL;
    cJSON_Delete(doc);
    if (!ct->validator)
        return pdm_err(errstr, errlen, "schema %s v%d: cannot compile validator",
                       pdm_event_schema_name(t), version);
    return 0;
}

int pdm_codec_direct(const pdm_codec *c, pdm_event_type t)
{
    return (unsigned)t < PDM_EV_COUNT && c->types[t].direct;
}

void pdm_codec_use_direct(pdm_codec *c, int on)
{
    for (int t = 0; t < PDM_EV_COUNT; t++)
        c->types[t].direct =
            on && c->types[t].fingerprint == pdm_direct_fingerprint((pdm_event_type)t);
}

pdm_codec *pdm_codec_new(char *errstr, size_t errlen)
{
    static const char empty[1];
    pdm_codec *c = calloc(1, sizeof *c);
    if (!c) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    size_t n = 0;
    for (int t = 0; t < PDM_EV_COUNT; t++)
        n += (size_t)pdm_event_schema_version((pdm_event_type)t);
    c->types = calloc(n, sizeof *c->types);
    if (!c->types) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    c->n_types = n; /* zeroed entries are safe to destroy */
    /* The current versions first (indexed by type), then the earlier ones. */
    size_t i = PDM_EV_COUNT;
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        int current = pdm_event_schema_version((pdm_event_type)t);
        if (codec_type_init(&c->types[t], (pdm_event_type)t, current,
                            pdm_event_schema_json((pdm_event_type)t), errstr, errlen))
            goto fail;
        for (int v = 1; v < current; v++) {
            const char *json = pdm_event_schema_json_version((pdm_event_type)t, v);
            if (!json) {
                pdm_err(errstr, errlen, "schema %s v%d is not kept", pdm_event_schema_name(t), v);
                goto fail;
            }
            if (codec_type_init(&c->types[i++], (pdm_event_type)t, v, json, errstr, errlen))
                goto fail;
        }
    }
    pdm_codec_use_direct(c, 1);
    c->reader = avro_reader_memory(empty, 0);
    c->writer = avro_writer_memory(empty, 0);
    if (!c->reader || !c->writer) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    return c;
fail:
    pdm_codec_destroy(c);
    return NULL;
}

uint64_t pdm_codec_fingerprint(const pdm_codec *c, pdm_event_type t)
{
    return (unsigned)t < PDM_EV_COUNT ? c->types[t].fingerprint : 0;
}

uint64_t pdm_codec_fingerprint_version(const pdm_codec *c, pdm_event_type t, int version)
{
    for (size_t i = 0; i < c->n_types; i++)
        if (c->types[i].type == t && c->types[i].version == version)
            return c->types[i].fingerprint;
    return 0;
}

int pdm_codec_set_schema_id(pdm_codec *c, pdm_event_type t, int32_t id)
{
    if ((unsigned)t >= PDM_EV_COUNT || id <= 0)
        return -1;
    for (int i = 0; i < PDM_EV_COUNT; i++)
        if (i != (int)t && c->types[i].schema_id == id)
            return -1; /* ids must tell types apart */
    c->types[t].schema_id = id;
    return 0;
}

int pdm_schema_ids_parse(const char *list, int32_t ids[PDM_EV_COUNT], char *errstr,
                         size_t errlen)
{
    memset(ids, 0, PDM_EV_COUNT * sizeof *ids);
    for (const char *p = list ? list : ""; *p;) {
        size_t n = strcspn(p, ",");
        char entry[64], *eq, *end;
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        if (n == 0 || n >= sizeof entry)
            return pdm_err(errstr, errlen, "--schema-ids: expected TYPE=ID[,TYPE=ID...], got '%s'",
                           list);
        memcpy(entry, p, n);
        entry[n] = '\0';
        p += n + (p[n] == ',');
        while (n && (entry[n - 1] == ' ' || entry[n - 1] == '\t'))
            entry[--n] = '\0';
        pdm_event_type t;
        if (!(eq = strchr(entry, '=')))
            return pdm_err(errstr, errlen, "--schema-ids: '%s' is not TYPE=ID", entry);
        *eq = '\0';
        if (pdm_event_type_parse(entry, &t))
            return pdm_err(errstr, errlen,
                           "--schema-ids: unknown type '%s' (telemetry, error, maintenance, "
                           "failure, machine, risk, silence)",
                           entry);
        long long id = strtoll(eq + 1, &end, 10);
        if (end == eq + 1 || *end || id <= 0 || id > INT32_MAX)
            return pdm_err(errstr, errlen, "--schema-ids: %s=%s: the id must be 1..%d", entry,
                           eq + 1, INT32_MAX);
        if (ids[t])
            return pdm_err(errstr, errlen, "--schema-ids: %s is given twice", entry);
        for (int u = 0; u < PDM_EV_COUNT; u++)
            if (ids[u] == id)
                return pdm_err(errstr, errlen, "--schema-ids: id %lld is given to %s and to %s",
                               id, pdm_event_type_name((pdm_event_type)u), entry);
        ids[t] = (int32_t)id;
    }
    return 0;
}

int pdm_codec_set_schema_ids(pdm_codec *c, const char *list, char *errstr, size_t errlen)
{
    int32_t ids[PDM_EV_COUNT];
    if (pdm_schema_ids_parse(list, ids, errstr, errlen))
        return -1;
    for (int t = 0; t < PDM_EV_COUNT; t++)
        if (ids[t] && pdm_codec_set_schema_id(c, (pdm_event_type)t, ids[t]))
            return pdm_err(errstr, errlen, "--schema-ids: id %d cannot be set for %s", (int)ids[t],
                           pdm_event_type_name((pdm_event_type)t));
    return 0;
}
