/* Unit tests of the gate's request stream (http/stream.c): what it passes
 * on to libmicrohttpd, byte for byte, for sound pipelined requests, bodies
 * and chunked requests (decoded and given a Content-Length), the refusals
 * (status and where the stream stops), feeding byte by byte, and the
 * refusal request that only the gate can make. Pure functions, no sockets. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

typedef struct {
    int rc, status;
    char why[200];
    pdm_buf out;
    int between;
} fed;

/* Feeds text to a new stream in pieces of step bytes (0: at once). */
static void feed(const char *text, size_t len, size_t step, size_t max_body, fed *f)
{
    memset(f, 0, sizeof *f);
    http_stream *s = http_stream_new(max_body);
    assert_non_null(s);
    size_t off = 0;
    while (off < len && f->rc == 0) {
        size_t n = step && len - off > step ? step : len - off;
        f->rc = http_stream_feed(s, text + off, n, &f->out, &f->status, f->why, sizeof f->why);
        off += n;
    }
    f->between = http_stream_between(s);
    if (f->rc) { /* refused: every later call too */
        int again = 0;
        char why[64];
        assert_int_equal(http_stream_feed(s, "x", 1, &f->out, &again, why, sizeof why), -1);
        assert_int_equal(again, f->status);
    }
    http_stream_destroy(s);
}

static void assert_out(const fed *f, const char *want)
{
    if (f->out.len != strlen(want) || (f->out.len && memcmp(f->out.data, want, f->out.len) != 0))
        fail_msg("passed on %zu bytes \"%.*s\", want \"%s\"", f->out.len, (int)f->out.len,
                 f->out.data ? f->out.data : "", want);
}

static void test_sound_requests_pass_unchanged(void **state)
{
    const char *in = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                     "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 19\r\n\r\n"
                     "PRI * HTTP/2.0\r\n\r\nX" /* a body is not a head */
                     "\r\nGET /c HTTP/1.0\r\n\r\n";
    size_t steps[] = {0, 1, 7};
    for (size_t i = 0; i < 3; i++) {
        fed f;
        feed(in, strlen(in), steps[i], 1000, &f);
        assert_int_equal(f.rc, 0);
        assert_out(&f, in);
        assert_true(f.between);
        pdm_buf_free(&f.out);
    }
    /* Half a head: nothing passed yet, not between requests. */
    fed f;
    feed("GET /a HTTP/1.1\r\nHo", 19, 0, 1000, &f);
    assert_int_equal(f.rc, 0);
    assert_int_equal(f.out.len, 0);
    assert_false(f.between);
    pdm_buf_free(&f.out);
}

static void test_chunked_is_decoded(void **state)
{
    const char *in = "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                     "Expect: 100-continue\r\nX-After: 1\r\n\r\n"
                     "5\r\nhello\r\n3;name=v\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n"
                     "GET /next HTTP/1.1\r\n\r\n";
    const char *want = "POST /p HTTP/1.1\r\nHost: h\r\nX-After: 1\r\nContent-Length: 8\r\n\r\n"
                       "helloabc"
                       "GET /next HTTP/1.1\r\n\r\n";
    size_t steps[] = {0, 1, 5};
    for (size_t i = 0; i < 3; i++) {
        fed f;
        feed(in, strlen(in), steps[i], 8, &f);
        assert_int_equal(f.rc, 0);
        assert_out(&f, want);
        pdm_buf_free(&f.out);
    }
    /* Until its last chunk, nothing of a chunked request goes on. */
    fed f;
    feed(in, 90, 0, 8, &f);
    assert_int_equal(f.rc, 0);
    assert_int_equal(f.out.len, 0);
    assert_false(f.between);
    pdm_buf_free(&f.out);
}

/* A held chunked head that expects 100-continue is reported once (the
 * gate answers it when nothing is owed); HTTP/1.0 or other expectations
 * are not. */
static void test_expect_continue(void **state)
{
    const struct {
        const char *head;
        int wants;
    } cases[] = {
        {"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-Continue \r\n\r\n", 1},
        {"\r\nPOST /p HTTP/1.1\nExpect:100-continue\nTransfer-Encoding: chunked\n\n", 1},
        {"POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n", 0},
        {"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue, x\r\n\r\n", 0},
        {"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0},
        {"POST /p HTTP/1.1\r\nContent-Length: 13\r\nExpect: 100-continue\r\n\r\n", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_stream *s = http_stream_new(100);
        pdm_buf out = {0};
        int status;
        char why[100];
        assert_int_equal(http_stream_feed(s, cases[i].head, strlen(cases[i].head), &out, &status,
                                          why, sizeof why),
                         0);
        if (http_stream_take_continue(s) != cases[i].wants)
            fail_msg("case %zu: wants_continue is not %d", i, cases[i].wants);
        assert_int_equal(http_stream_take_continue(s), 0); /* once */
        const char *rest = "3\r\nabc\r\n0\r\n\r\n";
        assert_int_equal(http_stream_feed(s, rest, strlen(rest), &out, &status, why, sizeof why), 0);
        /* Dropped from a chunked head (the body is all there), kept with a
         * length (libmicrohttpd answers it). */
        int has_length = i == sizeof cases / sizeof *cases - 1;
        assert_true((memmem(out.data, out.len, "Expect", 6) != NULL) == has_length);
        pdm_buf_free(&out);
        http_stream_destroy(s);
    }
}

static void test_refusals(void **state)
{
    static char big[100 * 1024 + 64];
    int n = snprintf(big, 64, "GET /");
    memset(big + n, 'a', 100 * 1024);
    n += 100 * 1024;
    n += snprintf(big + n, 64, " HTTP/1.1\r\n\r\n");
    const char *good = "GET / HTTP/1.1\r\n\r\n";
    const struct {
        const char *text;
        int status;
        const char *says;
    } cases[] = {
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/1.0 and HTTP/1.1"},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "decimal"},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "conflicting"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "chunked"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         501, "chunked"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "hexadecimal"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX", 400, "CRLF"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n", 413, "limit of 8"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n4\r\n", 413,
         "limit of 8"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", 400,
         "hexadecimal"},
        {big, 414, "longer than"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* As the first request, and after a good one (byte by byte too). */
        for (int after = 0; after < 2; after++) {
            pdm_buf in = {0};
            if (after)
                assert_int_equal(pdm_buf_append(&in, good, strlen(good)), 0);
            assert_int_equal(pdm_buf_append(&in, cases[i].text, strlen(cases[i].text)), 0);
            fed f;
            feed(in.data, in.len, after ? 1 : 0, 8, &f);
            if (f.rc != -1 || f.status != cases[i].status || !strstr(f.why, cases[i].says))
                fail_msg("case %zu (after %d): rc %d status %d \"%s\", want %d \"%s\"", i, after,
                         f.rc, f.status, f.why, cases[i].status, cases[i].says);
            assert_out(&f, after ? good : ""); /* nothing of the bad request passed */
            pdm_buf_free(&f.out);
            pdm_buf_free(&in);
        }
    }
    /* A 100 KB header line, fed in pieces: 431 without buffering it all. */
    n = snprintf(big, 64, "GET / HTTP/1.1\r\nX-Big: ");
    memset(big + n, 'b', 100 * 1024);
    fed f;
    feed(big, (size_t)n + 100 * 1024, 4096, 8, &f);
    assert_int_equal(f.rc, -1);
    assert_int_equal(f.status, 431);
    pdm_buf_free(&f.out);
}

static void test_refusal_request(void **state)
{
    const char *nonce = "0123456789abcdef0123456789abcdef";
    pdm_buf b = {0};
    assert_int_equal(http_refusal_request(&b, nonce, 431, "bad\r\nX-Injected: 1"), 0);
    assert_int_equal(pdm_buf_append(&b, "", 1), 0);
    /* It is a sound request itself, with the header on one line. */
    const http_head_limits lim = {HTTP_GATE_MAX_URI, HTTP_GATE_MAX_HEAD};
    http_head_info info;
    int status;
    char why[200];
    assert_int_equal(http_check_head(b.data, b.len - 1, &lim, &info, &status, why, sizeof why), 1);
    assert_null(strstr(b.data, "\r\nX-Injected"));
    const char *value = strstr(b.data, HTTP_REFUSAL_HEADER ": ");
    assert_non_null(value);
    value += strlen(HTTP_REFUSAL_HEADER ": ");
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(value, "\r\n"), value);
    assert_int_equal(http_refusal_parse(line, nonce, &status, why, sizeof why), 0);
    assert_int_equal(status, 431);
    assert_string_equal(why, "bad??X-Injected: 1");
    /* Anyone else's value is not a refusal. */
    assert_int_equal(http_refusal_parse(line, "0123456789abcdef0123456789abcdee", &status, why,
                                        sizeof why),
                     -1);
    assert_int_equal(http_refusal_parse("", nonce, &status, why, sizeof why), -1);
    snprintf(line, sizeof line, "%s 200 fine", nonce);
    assert_int_equal(http_refusal_parse(line, nonce, &status, why, sizeof why), -1);
    snprintf(line, sizeof line, "%s 4000 x", nonce);
    assert_int_equal(http_refusal_parse(line, nonce, &status, why, sizeof why), -1);
    pdm_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sound_requests_pass_unchanged),
        cmocka_unit_test(test_chunked_is_decoded),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_refusal_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
