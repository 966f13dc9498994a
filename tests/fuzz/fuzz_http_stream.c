/* fuzz_http_stream: the gate's request stream (http/stream.c), which sees
 * every byte a client sends (plain or decrypted) before libmicrohttpd.
 *
 * Input: byte 0 picks the piece size (1..32 bytes, or all at once); the
 * rest is what a client sends on one connection. Body limit 64 bytes, so
 * the fuzzer reaches the 413 of chunked bodies.
 * Checks:
 * - the verdict and what is passed on do not depend on how the bytes were
 *   cut into pieces (as they would be by the network);
 * - a refusal has one of the statuses the daemon is asked to answer (400,
 *   413, 414, 431, 501, 505) and a reason;
 * - what is passed on is itself a sound stream that passes again
 *   unchanged: no chunked coding, no ambiguous framing, no head the daemon
 *   would answer in its own HTML.
 */
#include "fuzz.h"

#include "http_internal.h"

#define MAX_BODY 64

typedef struct {
    int rc, status;
    char why[200];
    pdm_buf out;
} result;

static void run(const uint8_t *data, size_t size, size_t piece, result *r)
{
    memset(r, 0, sizeof *r);
    http_stream *s = http_stream_new(MAX_BODY);
    if (!s)
        return;
    for (size_t off = 0; off < size && r->rc == 0;) {
        size_t n = piece && size - off > piece ? piece : size - off;
        char *copy = malloc(n); /* exactly n bytes: ASan sees a read past them */
        if (!copy)
            break;
        memcpy(copy, data + off, n);
        r->rc = http_stream_feed(s, copy, n, &r->out, &r->status, r->why, sizeof r->why);
        free(copy);
        off += n;
    }
    http_stream_destroy(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = data[0] % 33;
    data++;
    size--;
    result whole, cut, again;
    run(data, size, 0, &whole);
    run(data, size, piece, &cut);
    FUZZ_CHECK(whole.rc == cut.rc && whole.status == cut.status,
               "at once: %d (%d), in pieces of %zu: %d (%d)", whole.rc, whole.status, piece,
               cut.rc, cut.status);
    FUZZ_CHECK(whole.out.len == cut.out.len &&
                   (!whole.out.len || memcmp(whole.out.data, cut.out.data, whole.out.len) == 0),
               "passed on %zu bytes at once, %zu in pieces of %zu", whole.out.len, cut.out.len,
               piece);
    if (whole.rc)
        FUZZ_CHECK((whole.status == 400 || whole.status == 413 || whole.status == 414 ||
                    whole.status == 431 || whole.status == 501 || whole.status == 505) &&
                       whole.why[0],
                   "refused with status %d, reason \"%s\"", whole.status, whole.why);
    run((const uint8_t *)whole.out.data, whole.out.len, 0, &again);
    FUZZ_CHECK(again.rc == 0, "what was passed on is refused: %d %s", again.status, again.why);
    FUZZ_CHECK(again.out.len == whole.out.len &&
                   (!again.out.len || memcmp(again.out.data, whole.out.data, again.out.len) == 0),
               "what was passed on changes when passed again (%zu -> %zu bytes)", whole.out.len,
               again.out.len);
    pdm_buf_free(&whole.out);
    pdm_buf_free(&cut.out);
    pdm_buf_free(&again.out);
    return 0;
}
