/* fuzz_codec: the Avro decoder (pdm_codec_decode) on arbitrary bytes, in
 * both framings: single-object (0xC3 0x01 + fingerprint) and Confluent
 * (0x00 + schema id; ids 1..6 are set for the six types, as the seeds use).
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks what the
 * codec promises:
 * - a failure is one of the named pdm_decode_status values, with a message;
 * - a decoded event encodes again in the same framing (the decoder refuses
 *   what the encoder would refuse), that encoding decodes to the same event
 *   (compared as pdm_event_to_json text), and encoding is deterministic;
 * - the direct decoder (schemas/decode_direct.c) and avro-c's path give the
 *   same status, message and event, byte for byte.
 */
#include "fuzz.h"

#include "encode_direct.h"
#include "pdm_common.h"
#include "pdm_schemas.h"

static pdm_codec *codec;

/* Freed at exit so that LeakSanitizer's final check sees only real leaks. */
static void destroy_codec(void) { pdm_codec_destroy(codec); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[PDM_ERRSTR_SIZE];
    codec = pdm_codec_new(err, sizeof err);
    FUZZ_CHECK(codec != NULL, "pdm_codec_new: %s", err);
    for (int t = 0; t < PDM_EV_COUNT; t++)
        FUZZ_CHECK(pdm_codec_set_schema_id(codec, (pdm_event_type)t, t + 1) == 0, "schema id");
    atexit(destroy_codec);
    return 0;
}

/* Decodes msg and returns its JSON text (malloc'ed), or NULL if it does not
 * decode; *ev gets the event (a risk event points into the codec). */
static char *decode_json(const void *msg, size_t len, pdm_event *ev, int *status)
{
    char err[PDM_ERRSTR_SIZE];
    err[0] = '\0';
    *status = pdm_codec_decode(codec, msg, len, ev, err, sizeof err);
    if (*status != PDM_DECODE_OK) {
        FUZZ_CHECK(*status <= PDM_DECODE_EMPTY && *status >= PDM_DECODE_INVALID_VALUE,
                   "status %d", *status);
        FUZZ_CHECK(err[0] != '\0', "a failed decode (%s) has no message",
                   pdm_decode_status_name(*status));
        return NULL;
    }
    char *json = pdm_event_to_json(ev);
    FUZZ_CHECK(json != NULL, "pdm_event_to_json");
    return json;
}

/* The input decoded again through avro-c (the direct decoder off): what
 * the direct path gave (status st, message err, event ev) must be what
 * avro-c gives. */
static void check_avro_c_alike(const uint8_t *data, size_t size, int st, const char *err,
                               const pdm_event *ev)
{
    pdm_risk risk;
    pdm_event other;
    char other_err[PDM_ERRSTR_SIZE];
    other_err[0] = '\0';
    if (st == PDM_DECODE_OK && ev->type == PDM_EV_RISK)
        risk = *ev->u.risk; /* the next decode writes over it */
    pdm_codec_use_direct(codec, 0);
    int other_st = pdm_codec_decode(codec, data, size, &other, other_err, sizeof other_err);
    pdm_codec_use_direct(codec, 1);
    FUZZ_CHECK(other_st == st, "status: direct %s (%s), avro-c %s (%s)",
               pdm_decode_status_name((pdm_decode_status)st), err,
               pdm_decode_status_name((pdm_decode_status)other_st), other_err);
    FUZZ_CHECK(strcmp(err, other_err) == 0, "message: direct '%s', avro-c '%s'", err, other_err);
    if (st != PDM_DECODE_OK)
        return;
    FUZZ_CHECK(memcmp(ev, &other, sizeof other) == 0, "the event differs (type %d)",
               (int)ev->type);
    if (ev->type == PDM_EV_RISK)
        FUZZ_CHECK(memcmp(&risk, other.u.risk, sizeof risk) == 0, "the risk event differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pdm_event ev, again;
    int status;
    char err[PDM_ERRSTR_SIZE];
    unsigned char first[PDM_MAX_ENCODED], second[PDM_MAX_ENCODED];
    err[0] = '\0';
    check_avro_c_alike(data, size, pdm_codec_decode(codec, data, size, &ev, err, sizeof err), err,
                       &ev);
    char *json = decode_json(data, size, &ev, &status);
    char *json2 = NULL;
    if (!json)
        return 0;

    pdm_wire_format fmt = data[0] == 0x00 ? PDM_WIRE_CONFLUENT : PDM_WIRE_SINGLE_OBJECT;
    int n1 = pdm_codec_encode(codec, &ev, fmt, first, sizeof first, err, sizeof err);
    FUZZ_CHECK(n1 > 0, "a decoded event does not encode: %s: %s", err, json);
    FUZZ_CHECK((size_t)n1 <= PDM_MAX_ENCODED, "encoded %d bytes", n1);

    json2 = decode_json(first, (size_t)n1, &again, &status);
    FUZZ_CHECK(json2 != NULL, "its encoding does not decode (%s): %s",
               pdm_decode_status_name(status), json);
    FUZZ_CHECK(strcmp(json, json2) == 0, "round trip changed the event:\n  %s\n  %s", json,
               json2);

    int n2 = pdm_codec_encode(codec, &again, fmt, second, sizeof second, err, sizeof err);
    FUZZ_CHECK(n2 == n1 && memcmp(first, second, (size_t)n1) == 0,
               "encoding is not deterministic: %s", json);
    free(json);
    free(json2);
    return 0;
}
