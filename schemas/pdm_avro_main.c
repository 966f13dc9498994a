/* pdm-avro: encode, decode and describe pdm's Avro messages.
 *   pdm-avro encode [--format single|confluent] [--schema-id N] [--id TYPE=N]... [--json TEXT]
 *                   [--out FILE]
 *   pdm-avro decode [--id TYPE=N]... FILE...
 *   pdm-avro schemas */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "pdm_schemas.h"

typedef struct {
    char *format;
    long long schema_id;
    char *json;
    char *out;
    pdm_kvlist ids;
} avro_options;

#define O(f) offsetof(avro_options, f)
static const pdm_option options[] = {
    {"format", 'f', "PDM_WIRE_FORMAT", PDM_OPT_STRING, O(format), "single", "FORMAT",
     "encode: single (Avro single-object encoding) or confluent (schema registry framing).", 0},
    {"schema-id", 0, "PDM_SCHEMA_ID", PDM_OPT_INT, O(schema_id), "0", "N",
     "encode --format confluent: the registry id of the event's schema.", 0},
    {"json", 'j', NULL, PDM_OPT_STRING, O(json), NULL, "TEXT",
     "encode: this one event instead of JSON lines on stdin.", 0},
    {"out", 'o', NULL, PDM_OPT_STRING, O(out), NULL, "FILE",
     "encode: write the message(s) here instead of stdout.", 0},
    {"id", 'i', NULL, PDM_OPT_KV, O(ids), NULL, "TYPE=N",
     "Schema registry id of a type (e.g. telemetry=3), for confluent framing; repeatable.", 0},
    PDM_OPTIONS_END,
};

static const char *usage =
    "usage: pdm-avro encode [--format single|confluent] [--schema-id N] [--id TYPE=N]...\n"
    "                       [--json TEXT] [--out FILE]\n"
    "       pdm-avro decode [--id TYPE=N]... FILE...\n"
    "       pdm-avro schemas\n\n"
    "encode reads one JSON event per line (or --json) and writes the encoded messages;\n"
    "decode prints each file's message as JSON (non-zero exit if any does not decode);\n"
    "schemas lists each type's schema versions (the current one, then the earlier ones\n"
    "still decoded), with fingerprint and Parsing Canonical Form.";

static int encode_one(pdm_codec *codec, const char *json, pdm_wire_format fmt, long long id,
                      FILE *out, int line)
{
    char err[PDM_ERRSTR_SIZE], buf[PDM_MAX_ENCODED];
    pdm_event ev;
    pdm_risk risk;
    if (pdm_event_from_json_with_risk(json, &ev, &risk, err, sizeof err)) {
        fprintf(stderr, "pdm-avro: line %d: %s\n", line, err);
        return -1;
    }
    if (fmt == PDM_WIRE_CONFLUENT && id != 0 &&
        pdm_codec_set_schema_id(codec, ev.type, (int32_t)id)) {
        fprintf(stderr, "pdm-avro: --schema-id %lld is not a usable id for %s\n", id,
                pdm_event_type_name(ev.type));
        return -1;
    }
    int len = pdm_codec_encode(codec, &ev, fmt, buf, sizeof buf, err, sizeof err);
    if (len < 0) {
        fprintf(stderr, "pdm-avro: line %d: %s\n", line, err);
        return -1;
    }
    return fwrite(buf, 1, (size_t)len, out) == (size_t)len ? 0 : -1;
}

static int cmd_encode(pdm_codec *codec, const avro_options *o)
{
    pdm_wire_format fmt;
    if (!strcmp(o->format, "single"))
        fmt = PDM_WIRE_SINGLE_OBJECT;
    else if (!strcmp(o->format, "confluent"))
        fmt = PDM_WIRE_CONFLUENT;
    else {
        fprintf(stderr, "pdm-avro: --format must be single or confluent\n");
        return 2;
    }
    FILE *out = o->out ? fopen(o->out, "wb") : stdout;
    if (!out) {
        perror(o->out);
        return 1;
    }
    int rc = 0;
    if (o->json) {
        rc = encode_one(codec, o->json, fmt, o->schema_id, out, 1) ? 1 : 0;
    } else {
        char *line = NULL;
        size_t cap = 0;
        int n = 0;
        while (getline(&line, &cap, stdin) > 0) {
            n++;
            if (strspn(line, " \t\r\n") == strlen(line))
                continue;
            if (encode_one(codec, line, fmt, o->schema_id, out, n))
                rc = 1;
        }
        free(line);
    }
    if (o->out && fclose(out))
        rc = 1;
    return rc;
}

static int cmd_decode(pdm_codec *codec, int n, char **files)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        pdm_buf b = {0};
        char err[PDM_ERRSTR_SIZE];
        pdm_event ev;
        if (pdm_read_file(files[i], &b, err, sizeof err)) {
            fprintf(stderr, "pdm-avro: %s\n", err);
            rc = 1;
            continue;
        }
        int st = pdm_codec_decode(codec, b.data, b.len, &ev, err, sizeof err);
        if (st) {
            fprintf(stderr, "pdm-avro: %s: %s: %s\n", files[i],
                    pdm_decode_status_name((pdm_decode_status)st), err);
            rc = 1;
        } else {
            char *json = pdm_event_to_json(&ev);
            printf("%s\n", json ? json : "null");
            free(json);
        }
        pdm_buf_free(&b);
    }
    return rc;
}

/* Every version the codec decodes, the current one (what encode writes)
 * first: earlier versions stay readable after a schema evolves. */
static int cmd_schemas(pdm_codec *codec)
{
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        int current = pdm_event_schema_version((pdm_event_type)t);
        for (int v = current; v >= 1; v--) {
            char *canonical = NULL, err[PDM_ERRSTR_SIZE];
            uint64_t fp = pdm_codec_fingerprint_version(codec, (pdm_event_type)t, v);
            if (pdm_avro_canonical_form(pdm_event_schema_json_version((pdm_event_type)t, v),
                                        &canonical, err, sizeof err)) {
                fprintf(stderr, "pdm-avro: %s\n", err);
                return 1;
            }
            printf("%-12s %-24s v%-2d fingerprint %016llx  wire C3 01",
                   pdm_event_type_name((pdm_event_type)t), pdm_event_schema_name((pdm_event_type)t),
                   v, (unsigned long long)fp);
            for (int i = 0; i < 8; i++)
                printf(" %02X", (unsigned)(fp >> (8 * i)) & 0xff);
            printf("%s\n  %s\n", v == current ? "" : "  (earlier version: decoded, not written)",
                   canonical);
            free(canonical);
        }
    }
    return 0;
}

/* Applies --id TYPE=N. Returns 0 or -1 (message printed). */
static int set_ids(pdm_codec *codec, const pdm_kvlist *ids)
{
    for (size_t i = 0; i < ids->count; i++) {
        pdm_event_type t;
        char *end;
        long long id = strtoll(ids->values[i], &end, 10);
        if (pdm_event_type_parse(ids->keys[i], &t) || end == ids->values[i] || *end || id <= 0 ||
            id > INT32_MAX || pdm_codec_set_schema_id(codec, t, (int32_t)id)) {
            fprintf(stderr, "pdm-avro: --id %s=%s: need a type and a positive id unique per type\n",
                    ids->keys[i], ids->values[i]);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    avro_options o = {0};
    char err[PDM_ERRSTR_SIZE];
    int npos = 0, help = 0, rc = 2;
    pdm_codec *codec = NULL;
    if (pdm_options_parse(options, &o, argc, argv, &npos, &help, err, sizeof err)) {
        fprintf(stderr, "pdm-avro: %s\n", err);
        goto out;
    }
    if (help || npos == 0) {
        pdm_options_help(help ? stdout : stderr, usage, options);
        rc = help ? 0 : 2;
        goto out;
    }
    codec = pdm_codec_new(err, sizeof err);
    if (!codec) {
        fprintf(stderr, "pdm-avro: %s\n", err);
        rc = 1;
        goto out;
    }
    if (set_ids(codec, &o.ids)) {
        rc = 2;
        goto out;
    }
    if (!strcmp(argv[1], "encode"))
        rc = cmd_encode(codec, &o);
    else if (!strcmp(argv[1], "decode"))
        rc = cmd_decode(codec, npos - 1, argv + 2);
    else if (!strcmp(argv[1], "schemas"))
        rc = cmd_schemas(codec);
    else
        fprintf(stderr, "pdm-avro: unknown command '%s' (see --help)\n", argv[1]);
out:
    pdm_codec_destroy(codec);
    pdm_options_free(options, &o);
    return rc;
}
