/* test_decode_direct.c: the direct decoder (schemas/decode_direct.c) gives,
 * for every message, what avro-c's generic reader and the codec's checks
 * give: the same status, the same message, and on success the same event
 * field by field (strings with their bytes, doubles bit for bit). Each
 * message is decoded twice by one codec, the direct path on and off
 * (pdm_codec_use_direct), over random events of every type, bodies written
 * here with what the encoder never writes (unknown names, long strings,
 * NaN payloads, multi-block arrays, non-minimal varints, out-of-range ints,
 * enum indexes and union branches), and every truncation and many
 * corruptions of them. An older writer schema (RiskEvent version 1) still
 * decodes through avro-c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "decode_direct.h"
#include "encode_direct.h"
#include "pdm_schemas.h"
#include "test_direct_util.h"

/* ---- what a decode gives, and the comparison of two -------------------------- */

typedef struct {
    int status;
    char err[256];
    pdm_event ev;
    pdm_risk risk; /* a copy of what ev.u.risk pointed at */
} decoded;

static void decode_with(pdm_codec *c, int direct, const unsigned char *msg, size_t len, decoded *d)
{
    memset(d, 0, sizeof *d);
    pdm_codec_use_direct(c, direct);
    d->status = pdm_codec_decode(c, msg, len, &d->ev, d->err, sizeof d->err);
    if (d->status == PDM_DECODE_OK && d->ev.type == PDM_EV_RISK)
        d->risk = *d->ev.u.risk;
    pdm_codec_use_direct(c, 1);
}

static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void hex(const unsigned char *p, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 3 < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%02x", p[i]);
    out[k] = '\0';
}

#define FIELD(cond, name)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("%s differs (direct vs avro-c) for message %s", name, where);                 \
    } while (0)

static void assert_same_risk(const pdm_risk *a, const pdm_risk *b, const char *where)
{
    FIELD(!strcmp(a->event_id, b->event_id), "event_id");
    FIELD(a->scored_at == b->scored_at, "scored_at");
    FIELD(!strcmp(a->model_version, b->model_version), "model_version");
    FIELD(same_double(a->risk, b->risk), "risk");
    for (int k = 0; k < PDM_N_COMPONENTS; k++)
        FIELD(same_double(a->component_prob[k], b->component_prob[k]), "component_prob");
    FIELD(a->level == b->level, "level");
    FIELD(a->n_reasons == b->n_reasons, "n_reasons");
    for (int k = 0; k < PDM_N_REASONS; k++) {
        FIELD(!memcmp(a->reasons[k].feature, b->reasons[k].feature, sizeof a->reasons[k].feature),
              "reason feature");
        FIELD(same_double(a->reasons[k].value, b->reasons[k].value), "reason value");
        FIELD(same_double(a->reasons[k].contribution, b->reasons[k].contribution),
              "reason contribution");
    }
    FIELD(!strcmp(a->incident_id, b->incident_id), "incident_id");
    FIELD(a->status == b->status, "status");
    FIELD(a->opened_at == b->opened_at, "opened_at");
    FIELD(same_double(a->peak_risk, b->peak_risk), "peak_risk");
    FIELD(a->component == b->component, "component");
    FIELD(a->resolution == b->resolution, "resolution");
    /* and every byte, for a field this list would miss */
    FIELD(!memcmp(a, b, sizeof *a), "the pdm_risk");
}

static void assert_same_event(const decoded *a, const decoded *b, const char *where)
{
    const pdm_event *x = &a->ev, *y = &b->ev;
    FIELD(x->type == y->type, "type");
    FIELD(x->machine_id == y->machine_id, "machine_id");
    FIELD(x->ts == y->ts, "ts");
    switch (x->type) {
    case PDM_EV_TELEMETRY:
        FIELD(same_double(x->u.telemetry.volt, y->u.telemetry.volt), "volt");
        FIELD(same_double(x->u.telemetry.rotate, y->u.telemetry.rotate), "rotate");
        FIELD(same_double(x->u.telemetry.pressure, y->u.telemetry.pressure), "pressure");
        FIELD(same_double(x->u.telemetry.vibration, y->u.telemetry.vibration), "vibration");
        break;
    case PDM_EV_ERROR:
        FIELD(x->u.error.error_id == y->u.error.error_id, "error_id");
        break;
    case PDM_EV_MAINTENANCE:
        FIELD(x->u.maintenance.component == y->u.maintenance.component, "component");
        break;
    case PDM_EV_FAILURE:
        FIELD(x->u.failure.component == y->u.failure.component, "component");
        break;
    case PDM_EV_MACHINE:
        FIELD(x->u.machine.model == y->u.machine.model, "model");
        FIELD(x->u.machine.age == y->u.machine.age, "age");
        break;
    case PDM_EV_SILENCE:
        FIELD(x->u.silence.last_seen == y->u.silence.last_seen, "last_seen");
        FIELD(x->u.silence.silent == y->u.silence.silent, "silent");
        break;
    case PDM_EV_RISK:
        FIELD(x->u.risk == y->u.risk, "u.risk");
        assert_same_risk(&a->risk, &b->risk, where);
        return;
    default:
        fail_msg("unknown type %d for message %s", (int)x->type, where);
    }
    FIELD(!memcmp(x, y, sizeof *x), "the pdm_event");
}

/* Counts over a test, to show that each outcome was reached. */
typedef struct {
    long decoded, by_status[8];
} tally;

/* msg decoded both ways: the same status, message and event. */
static void assert_decode_alike(pdm_codec *c, const unsigned char *msg, size_t len, tally *t)
{
    decoded a, b;
    char where[2 * 96 + 32];
    decode_with(c, 1, msg, len, &a);
    decode_with(c, 0, msg, len, &b);
    hex(msg, len < 96 ? len : 96, where, sizeof where);
    if (len > 96)
        strcat(where, "...");
    if (a.status != b.status)
        fail_msg("status: direct %s (%s), avro-c %s (%s) for message %s",
                 pdm_decode_status_name((pdm_decode_status)a.status), a.err,
                 pdm_decode_status_name((pdm_decode_status)b.status), b.err, where);
    if (strcmp(a.err, b.err) != 0)
        fail_msg("message: direct '%s', avro-c '%s' for %s", a.err, b.err, where);
    if (a.status == PDM_DECODE_OK)
        assert_same_event(&a, &b, where);
    t->decoded++;
    t->by_status[-a.status]++;
}

/* ---- Avro bodies written here, with what the encoder never writes ------------- */

typedef struct {
    unsigned char buf[4096];
    size_t n;
} body;

static void put_byte(body *w, unsigned b)
{
    if (w->n < sizeof w->buf)
        w->buf[w->n++] = (unsigned char)b;
}

/* A zigzag varint, minimal or (one time in eight) padded with 0x80 groups
 * up to the 10 bytes avro-c reads; one time in 64 a 10th byte above 1,
 * which the validator refuses. */
static void put_long(body *w, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    unsigned char b[10];
    int n = 0;
    do {
        b[n++] = (unsigned char)(z & 0x7f);
        z >>= 7;
    } while (z);
    uint64_t r = next();
    int len = r % 8 == 0 ? n + (int)((r >> 8) % (unsigned)(11 - n)) : n;
    for (int i = n; i < len; i++)
        b[i] = 0;
    if (len == 10 && (r >> 16) % 8 == 0)
        b[9] |= 0x02;
    for (int i = 0; i < len; i++)
        put_byte(w, b[i] | (i + 1 < len ? 0x80u : 0));
}

static void put_raw_double(body *w, uint64_t bits)
{
    for (int i = 0; i < 8; i++)
        put_byte(w, (unsigned)(bits >> (8 * i)) & 0xff);
}

/* Any double: the util's edge cases, or any 64 bits (NaN payloads, signs). */
static void put_any_double(body *w)
{
    if (next() % 2) {
        put_raw_double(w, next());
    } else {
        double d = any_double();
        uint64_t u;
        memcpy(&u, &d, sizeof u);
        put_raw_double(w, u);
    }
}

static void put_str(body *w, const char *s, size_t len)
{
    put_long(w, (int64_t)len);
    for (size_t i = 0; i < len; i++)
        put_byte(w, (unsigned char)s[i]);
}

/* An int field: int32 mostly, out of its range one time in 32. */
static void put_any_int(body *w)
{
    if (next() % 32 == 0)
        put_long(w, next() % 2 ? (int64_t)INT32_MAX + 1 : (int64_t)INT32_MIN - 1);
    else
        put_long(w, any_int());
}

/* A string of `len` bytes of any value, NUL included. */
static void put_random_bytes(body *w, size_t len)
{
    char s[256];
    for (size_t i = 0; i < len && i < sizeof s; i++)
        s[i] = (char)(next() % 4 ? 'a' + next() % 26 : next() & 0xff);
    put_str(w, s, len < sizeof s ? len : sizeof s);
}

/* A name field of prefix ("comp", "error", "model") with max the largest
 * known number: known names, and the near misses the checks must refuse. */
static void put_name(body *w, const char *prefix, int max)
{
    char s[64];
    uint64_t r = next();
    int n;
    switch (r % 12) {
    case 0:
        n = snprintf(s, sizeof s, "%s0", prefix);
        break;
    case 1:
        n = snprintf(s, sizeof s, "%s%d", prefix, max + 1);
        break;
    case 2:
        n = snprintf(s, sizeof s, "%s", prefix);
        break;
    case 3:
        n = snprintf(s, sizeof s, "%s000%d", prefix, 1 + (int)(next() % 3));
        break;
    case 4:
        n = snprintf(s, sizeof s, "%s1234567", prefix);
        break;
    case 5: /* an embedded NUL after a known name */
        n = snprintf(s, sizeof s, "%s1", prefix) + 2;
        s[n - 2] = '\0';
        s[n - 1] = '2';
        break;
    case 6:
        n = snprintf(s, sizeof s, "%s-1", prefix);
        break;
    case 7:
        put_random_bytes(w, (size_t)(next() % 60));
        return;
    default:
        n = snprintf(s, sizeof s, "%s%d", prefix, 1 + (int)(next() % (unsigned)max));
    }
    put_str(w, s, (size_t)n);
}

/* A string field of a pdm_risk of `cap` bytes: one that fits mostly (so
 * that the checks after it are reached), else lengths around the limit. */
static void put_sized_string(body *w, size_t cap)
{
    size_t lens[] = {0, 1, cap - 1, cap, cap + 1, 127, 128, 200};
    if (next() % 8)
        put_random_bytes(w, (size_t)(next() % cap));
    else
        put_random_bytes(w, lens[next() % (sizeof lens / sizeof *lens)]);
}

/* An array's items split in one to three blocks, some with negative counts
 * (then the block's byte size, which readers skip). item writes one item. */
static void put_array(body *w, int n, void (*item)(body *))
{
    int done = 0;
    while (done < n) {
        int k = 1 + (int)(next() % (unsigned)(n - done));
        if (next() % 3 == 0) {
            body tmp = {.n = 0};
            for (int i = 0; i < k; i++)
                item(&tmp);
            put_long(w, -(int64_t)k);
            put_long(w, (int64_t)tmp.n);
            for (size_t i = 0; i < tmp.n; i++)
                put_byte(w, tmp.buf[i]);
        } else {
            put_long(w, k);
            for (int i = 0; i < k; i++)
                item(w);
        }
        done += k;
    }
    put_long(w, 0);
}

/* The components of put_array's items: comp1..comp4 in any order
 * (`shuffled`, refilled when empty), or one time in eight any name. */
static int shuffled[PDM_N_COMPONENTS], n_shuffled;

static void put_component_risk(body *w)
{
    if (n_shuffled == 0) {
        for (int i = 0; i < PDM_N_COMPONENTS; i++)
            shuffled[i] = i + 1;
        for (int i = PDM_N_COMPONENTS - 1; i > 0; i--) {
            int j = (int)(next() % (unsigned)(i + 1)), k = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = k;
        }
        n_shuffled = PDM_N_COMPONENTS;
    }
    int k = shuffled[--n_shuffled];
    if (next() % 8 == 0) {
        put_name(w, "comp", PDM_N_COMPONENTS);
    } else {
        char s[8] = {'c', 'o', 'm', 'p', (char)('0' + k)};
        put_str(w, s, 5);
    }
    put_any_double(w);
}

static void put_reason(body *w)
{
    put_sized_string(w, sizeof((pdm_reason *)0)->feature);
    put_any_double(w);
    put_any_double(w);
}

/* An enum index of n symbols: past them one time in 16. */
static void put_enum(body *w, int n)
{
    put_long(w, next() % 16 == 0 ? n + (int64_t)(next() % 3) : (int64_t)(next() % (unsigned)n));
}

/* A RiskEvent version 2 body, each field free of the encoder's limits. */
static void put_risk_body(body *w)
{
    pdm_risk *r = NULL;
    put_sized_string(w, sizeof r->event_id);
    put_any_int(w);
    put_long(w, any_long());
    put_long(w, any_long());
    put_sized_string(w, sizeof r->model_version);
    put_any_double(w);
    n_shuffled = 0;
    /* four components mostly, so that the checks after them are reached */
    static const int counts[] = {4, 4, 4, 4, 4, 4, 0, 1, 3, 5, 6};
    put_array(w, counts[next() % (sizeof counts / sizeof *counts)], put_component_risk);
    put_enum(w, PDM_LEVEL_CRITICAL + 1);
    static const int n_reasons[] = {0, 1, 2, 3, 3, 3, 4, 5};
    put_array(w, n_reasons[next() % (sizeof n_reasons / sizeof *n_reasons)], put_reason);
    put_sized_string(w, sizeof r->incident_id);
    put_enum(w, 2);
    uint64_t branch = next() % 16;
    put_long(w, branch < 6 ? 0 : branch < 15 ? 1 : 2); /* ["null", long]; 2: no branch */
    if (branch >= 6 && branch < 15)
        put_long(w, next() % 8 ? any_long() : INT64_MIN);
    put_any_double(w);
    if (next() % 2)
        put_str(w, "", 0);
    else
        put_name(w, "comp", PDM_N_COMPONENTS);
    put_enum(w, PDM_ALERT_N_RESOLUTIONS);
}

/* A body of type t (its current version), as put_risk_body. */
static void put_body(body *w, pdm_event_type t)
{
    if (t == PDM_EV_RISK) {
        put_risk_body(w);
        return;
    }
    put_any_int(w);
    put_long(w, any_long());
    switch (t) {
    case PDM_EV_TELEMETRY:
        for (int i = 0; i < 4; i++)
            put_any_double(w);
        break;
    case PDM_EV_ERROR:
        put_name(w, "error", PDM_N_ERRORS);
        break;
    case PDM_EV_MAINTENANCE:
    case PDM_EV_FAILURE:
        put_name(w, "comp", PDM_N_COMPONENTS);
        break;
    case PDM_EV_MACHINE:
        put_name(w, "model", 999999);
        put_any_int(w);
        break;
    case PDM_EV_SILENCE:
        put_long(w, any_long());
        put_byte(w, next() % 16 ? (unsigned)(next() % 2) : 2);
        break;
    default:
        break;
    }
}

/* A message of body b under the framing of c's schema t (version v). */
static size_t frame(pdm_codec *c, pdm_event_type t, int version, const body *b, unsigned char *msg,
                    size_t cap)
{
    uint64_t fp = pdm_codec_fingerprint_version(c, t, version);
    assert_true(fp != 0 && 10 + b->n <= cap);
    msg[0] = 0xC3;
    msg[1] = 0x01;
    for (int i = 0; i < 8; i++)
        msg[2 + i] = (unsigned char)(fp >> (8 * i));
    memcpy(msg + 10, b->buf, b->n);
    return 10 + b->n;
}

static pdm_codec *new_codec(void)
{
    char err[256];
    pdm_codec *c = pdm_codec_new(err, sizeof err);
    assert_non_null(c);
    assert_int_equal(pdm_codec_set_schema_ids(c,
                                              "telemetry=1,error=2,maintenance=3,failure=4,"
                                              "machine=5,risk=6,silence=7",
                                              err, sizeof err),
                     0);
    return c;
}

/* ---- the tests ------------------------------------------------------------- */

static void test_covers_every_current_schema(void **state)
{
    (void)state;
    pdm_codec *c = new_codec();
    /* A schema change must come with this decoder's update (decode_direct.c):
     * until then its type decodes through avro-c, and this fails. */
    for (int t = 0; t < PDM_EV_COUNT; t++)
        if (!pdm_codec_direct(c, (pdm_event_type)t))
            fail_msg("%s: its current schema (fingerprint %016llx) is not the one "
                     "decode_direct.c implements (%016llx)",
                     pdm_event_schema_name((pdm_event_type)t),
                     (unsigned long long)pdm_codec_fingerprint(c, (pdm_event_type)t),
                     (unsigned long long)pdm_direct_fingerprint((pdm_event_type)t));
    pdm_codec_destroy(c);
}

/* 6,000 random events of each type, through the encoder, in both framings. */
static void test_random_events_decode_alike(void **state)
{
    (void)state;
    pdm_codec *c = new_codec();
    pdm_risk risk;
    pdm_event ev;
    tally t = {0};
    char err[256];
    for (int type = 0; type < PDM_EV_COUNT; type++)
        for (int i = 0; i < 6000; i++) {
            unsigned char msg[PDM_MAX_ENCODED];
            random_event((pdm_event_type)type, &ev, &risk);
            int n = pdm_codec_encode(c, &ev, i % 2 ? PDM_WIRE_CONFLUENT : PDM_WIRE_SINGLE_OBJECT,
                                     msg, sizeof msg, err, sizeof err);
            if (n > 0)
                assert_decode_alike(c, msg, (size_t)n, &t);
        }
    /* Most decode; the strings at their field's full size do not. */
    assert_true(t.by_status[0] > 35000);
    assert_true(t.by_status[-PDM_DECODE_INVALID_VALUE] > 100);
    pdm_codec_destroy(c);
}

/* 5,000 bodies of each type written here: unknown names, strings past their
 * field's size, NaN payloads, arrays in blocks, non-minimal varints. */
static void test_crafted_bodies_decode_alike(void **state)
{
    (void)state;
    pdm_codec *c = new_codec();
    tally t = {0};
    for (int type = 0; type < PDM_EV_COUNT; type++)
        for (int i = 0; i < 5000; i++) {
            body b = {.n = 0};
            unsigned char msg[sizeof b.buf + 10];
            put_body(&b, (pdm_event_type)type);
            assert_decode_alike(c, msg,
                                frame(c, (pdm_event_type)type,
                                      pdm_event_schema_version((pdm_event_type)type), &b, msg,
                                      sizeof msg),
                                &t);
        }
    /* Each outcome is reached many times. */
    assert_true(t.by_status[0] > 5000);
    assert_true(t.by_status[-PDM_DECODE_INVALID_VALUE] > 5000);
    assert_true(t.by_status[-PDM_DECODE_MALFORMED] > 500);
    pdm_codec_destroy(c);
}

/* Every truncation of a few hundred messages, and corruptions of them:
 * bytes changed, removed, inserted, appended. */
static void test_truncated_and_corrupted_alike(void **state)
{
    (void)state;
    pdm_codec *c = new_codec();
    tally t = {0};
    for (int type = 0; type < PDM_EV_COUNT; type++)
        for (int i = 0; i < 60; i++) {
            body b = {.n = 0};
            unsigned char msg[sizeof b.buf + 16], bad[sizeof msg];
            put_body(&b, (pdm_event_type)type);
            size_t n = frame(c, (pdm_event_type)type,
                             pdm_event_schema_version((pdm_event_type)type), &b, msg, sizeof msg);
            for (size_t cut = 0; cut <= n; cut++)
                assert_decode_alike(c, msg, cut, &t);
            for (int k = 0; k < 200; k++) {
                size_t m = n, at = 10 + (size_t)(next() % (n - 10));
                memcpy(bad, msg, n);
                switch (next() % 4) {
                case 0: /* one to three bytes changed */
                    for (int j = 0, flips = 1 + (int)(next() % 3); j < flips; j++)
                        bad[10 + next() % (n - 10)] = (unsigned char)next();
                    break;
                case 1: /* a byte removed */
                    memmove(bad + at, bad + at + 1, n - at - 1);
                    m = n - 1;
                    break;
                case 2: /* a byte inserted */
                    memmove(bad + at + 1, bad + at, n - at);
                    bad[at] = (unsigned char)next();
                    m = n + 1;
                    break;
                default: /* bytes after the body */
                    m = n + 1 + next() % 4;
                    for (size_t j = n; j < m; j++)
                        bad[j] = (unsigned char)next();
                }
                assert_decode_alike(c, bad, m, &t);
            }
        }
    assert_true(t.by_status[-PDM_DECODE_TRUNCATED] > 5000);
    assert_true(t.by_status[-PDM_DECODE_MALFORMED] > 1000);
    pdm_codec_destroy(c);
}

/* A RiskEvent of version 1 is no version the direct decoder reads: it goes
 * through avro-c, with the defaults of the fields it lacks, whichever the
 * setting; and pdm_direct_decode itself would read it as version 2. */
static void test_older_version_goes_through_avro_c(void **state)
{
    (void)state;
    pdm_codec *c = new_codec();
    pdm_risk risk;
    pdm_event ev;
    tally t = {0};
    char err[256];
    assert_true(pdm_codec_fingerprint_version(c, PDM_EV_RISK, 1) !=
                pdm_direct_fingerprint(PDM_EV_RISK));
    for (int i = 0; i < 2000; i++) {
        unsigned char msg[PDM_MAX_ENCODED];
        random_event(PDM_EV_RISK, &ev, &risk);
        risk.opened_at = INT64_MIN;
        int n = pdm_codec_encode(c, &ev, PDM_WIRE_SINGLE_OBJECT, msg, sizeof msg, err, sizeof err);
        assert_true(n > 10);
        /* The version 1 body is the version 2 body without its incident
         * fields, which the encoder wrote last: the id (a length byte and
         * its bytes), status, opened_at's null branch, peak_risk (8 bytes),
         * component ("" or "compK") and resolution. */
        size_t id_len = strnlen(risk.incident_id, sizeof risk.incident_id);
        size_t tail = 1 + id_len + 1 + 1 + 8 + (risk.component ? 6 : 1) + 1;
        assert_true((size_t)n > 10 + tail);
        uint64_t fp1 = pdm_codec_fingerprint_version(c, PDM_EV_RISK, 1);
        for (int k = 0; k < 8; k++)
            msg[2 + k] = (unsigned char)(fp1 >> (8 * k));
        size_t len = (size_t)n - tail;
        assert_decode_alike(c, msg, len, &t);
        decoded d;
        decode_with(c, 1, msg, len, &d);
        if (d.status == PDM_DECODE_OK) {
            assert_string_equal(d.risk.incident_id, "");
            assert_true(d.risk.opened_at == INT64_MIN);
            assert_int_equal(d.risk.component, 0);
            /* read as version 2, the same bytes end early */
            pdm_event out;
            pdm_risk r2;
            assert_int_equal(
                pdm_direct_decode(PDM_EV_RISK, msg + 10, len - 10, &out, &r2, err, sizeof err),
                PDM_DECODE_MALFORMED);
        }
    }
    assert_true(t.by_status[0] > 1000);
    pdm_codec_destroy(c);
}

/* The reader on its own, without the validator before it, stays inside
 * the bytes it is given and refuses what it cannot read. */
static void test_direct_reader_alone_is_bounds_safe(void **state)
{
    (void)state;
    char err[256];
    for (int type = 0; type < PDM_EV_COUNT; type++)
        for (int i = 0; i < 400; i++) {
            body b = {.n = 0};
            put_body(&b, (pdm_event_type)type);
            for (size_t cut = 0; cut <= b.n; cut++) {
                /* an exact-size copy, so that a read past it is caught under ASan */
                unsigned char *copy = test_malloc(cut ? cut : 1);
                memcpy(copy, b.buf, cut);
                pdm_event out;
                pdm_risk r;
                int st =
                    pdm_direct_decode((pdm_event_type)type, copy, cut, &out, &r, err, sizeof err);
                assert_true(st == PDM_DECODE_OK || st == PDM_DECODE_MALFORMED ||
                            st == PDM_DECODE_INVALID_VALUE);
                if (cut < b.n)
                    assert_int_not_equal(st, PDM_DECODE_OK);
                test_free(copy);
            }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_covers_every_current_schema),
        cmocka_unit_test(test_random_events_decode_alike),
        cmocka_unit_test(test_crafted_bodies_decode_alike),
        cmocka_unit_test(test_truncated_and_corrupted_alike),
        cmocka_unit_test(test_older_version_goes_through_avro_c),
        cmocka_unit_test(test_direct_reader_alone_is_bounds_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
