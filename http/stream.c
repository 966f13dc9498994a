/* stream.c: the requests of one connection, checked as they stream from
 * the client to libmicrohttpd (by the gate, gate.c). libmicrohttpd 0.9.75
 * answers some malformed requests itself, in HTML without a Content-Type
 * (bad lengths with the status line twice), with no hook to change that,
 * so nothing it would refuse may reach it: every head is checked whole
 * (http_check_head) before a byte of it goes on, a Content-Length body is
 * passed as it comes and the next head starts after it, and a chunked
 * body is decoded here and passed whole with a Content-Length, so a
 * malformed chunk is refused before its request's head went on (the way
 * proxies such as nginx buffer request bodies). That costs up to max_body
 * per connection, which the daemon would buffer anyway. The daemon never
 * sees such a request's "Expect: 100-continue" (its head waits for the
 * body): http_stream_take_continue tells the gate to answer it.
 *
 * A refusal is not answered here: earlier pipelined requests may still be
 * owed their answers, in order. The gate sends instead a request that only
 * it can make (a header with a random nonce), which the daemon answers
 * with the refusal's JSON in its turn, then closes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"

#define CHUNK_LINE_MAX 1024 /* a chunk-size line or a trailer line */

enum phase {
    IN_HEAD,       /* collecting a head */
    IN_LENGTH,     /* passing a Content-Length body */
    IN_CHUNK_SIZE, /* a chunk-size line */
    IN_CHUNK_DATA, /* chunk bytes */
    IN_CHUNK_END,  /* the CRLF after the chunk's bytes */
    IN_TRAILER,    /* trailer lines up to the blank one */
    REFUSED
};

struct http_stream {
    enum phase phase;
    size_t max_body;
    pdm_buf head;                 /* the head being collected, or the chunked request's */
    unsigned long long remaining; /* of a Content-Length body or a chunk */
    pdm_buf body;                 /* a chunked request's decoded body */
    char line[CHUNK_LINE_MAX + 1];
    size_t line_len;
    int saw_cr; /* IN_CHUNK_END: the CR came */
    int refused_status;
    int wants_continue; /* a held chunked HTTP/1.1 head asked for 100 Continue */
};

http_stream *http_stream_new(size_t max_body)
{
    http_stream *s = calloc(1, sizeof *s);
    if (s)
        s->max_body = max_body;
    return s;
}

void http_stream_destroy(http_stream *s)
{
    if (!s)
        return;
    pdm_buf_free(&s->head);
    pdm_buf_free(&s->body);
    free(s);
}

int http_stream_between(const http_stream *s)
{
    return s->phase == IN_HEAD && s->head.len == 0;
}

static int refuse(http_stream *s, int *status, int code, char *why, size_t whylen,
                  const char *text)
{
    s->phase = REFUSED;
    s->refused_status = code;
    *status = code;
    if (text)
        pdm_err(why, whylen, "%s", text);
    return -1;
}

/* The header line [p, eol) is named name. */
static int line_named(const char *p, const char *eol, const char *name)
{
    size_t n = strlen(name);
    return (size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':';
}

/* The held chunked head, without Transfer-Encoding and Expect (the body
 * is all here: nothing to continue), with the decoded body's length. */
static int emit_chunked(http_stream *s, pdm_buf *out)
{
    const char *p = s->head.data, *end = p + s->head.len;
    int first = 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl + 1 : end;
        int blank = (eol - p == 1) || (eol - p == 2 && p[0] == '\r');
        if (blank && !first) {
            if (pdm_buf_printf(out, "Content-Length: %zu\r\n\r\n", s->body.len) ||
                (s->body.len && pdm_buf_append(out, s->body.data, s->body.len)))
                return -1;
            break;
        }
        if (!blank)
            first = 0; /* blank lines before the request line stay as sent */
        if (!line_named(p, eol, "Transfer-Encoding") && !line_named(p, eol, "Expect") &&
            pdm_buf_append(out, p, (size_t)(eol - p)))
            return -1;
        p = eol;
    }
    s->head.len = 0;
    s->body.len = 0;
    return 0;
}

/* An HTTP/1.1 head with Expect: 100-continue (the only expectation). */
static int expects_continue(const char *head, size_t len)
{
    const char *p = head, *end = head + len;
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl || nl - p < 8 || memcmp(nl - 8 - (nl[-1] == '\r'), "HTTP/1.1", 8) != 0)
        return 0;
    for (p = nl + 1; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        if (!line_named(p, nl, "Expect"))
            continue;
        const char *v = p + 7, *vend = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
        while (v < vend && (*v == ' ' || *v == '\t'))
            v++;
        while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        return vend - v == 12 && strncasecmp(v, "100-continue", 12) == 0;
    }
    return 0;
}

int http_stream_take_continue(http_stream *s)
{
    int w = s->wants_continue;
    s->wants_continue = 0;
    return w;
}

/* Collects head bytes; *used gets how many of in[0..n) were taken. */
static int feed_head(http_stream *s, const char *in, size_t n, size_t *used, pdm_buf *out,
                     int *status, char *why, size_t whylen)
{
    const http_head_limits lim = {HTTP_GATE_MAX_URI, HTTP_GATE_MAX_HEAD};
    size_t room = HTTP_GATE_MAX_HEAD + 1 - s->head.len;
    size_t take = n < room ? n : room;
    http_head_info info;
    if (pdm_buf_append(&s->head, in, take))
        return refuse(s, status, 500, why, whylen, "out of memory");
    int rc = http_check_head(s->head.data, s->head.len, &lim, &info, status, why, whylen);
    if (rc < 0)
        return refuse(s, status, *status, why, whylen, NULL);
    if (rc == 0) {
        if (s->head.len > HTTP_GATE_MAX_HEAD)
            return refuse(s, status, 431, why, whylen, "request head too large");
        *used = take;
        return 0;
    }
    /* The head ends within what was just taken: the rest is the body's. */
    *used = take - (s->head.len - info.head_len);
    s->head.len = info.head_len;
    if (info.chunked) {
        s->phase = IN_CHUNK_SIZE;
        s->line_len = 0;
        s->wants_continue = expects_continue(s->head.data, s->head.len);
        return 0; /* held until the body is whole */
    }
    if (pdm_buf_append(out, s->head.data, s->head.len))
        return refuse(s, status, 500, why, whylen, "out of memory");
    s->head.len = 0;
    s->remaining = info.has_length ? info.length : 0;
    s->phase = s->remaining ? IN_LENGTH : IN_HEAD;
    return 0;
}

/* A whole chunk-size line (without its line break): the size, or -1. */
static int chunk_size(const char *line, size_t len, unsigned long long *size)
{
    size_t i = 0;
    unsigned long long v = 0;
    while (i < len && isxdigit((unsigned char)line[i])) {
        if (v >> 60)
            return -1; /* over 2^64 */
        int c = (unsigned char)line[i];
        v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
        i++;
    }
    if (i == 0)
        return -1;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i < len && line[i] != ';')
        return -1;
    for (; i < len; i++)
        if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
            return -1;
    *size = v;
    return 0;
}

/* Collects a line into s->line: 1 when whole (break stripped), 0 not yet,
 * -1 too long. *used gets the bytes taken. */
static int take_line(http_stream *s, const char *in, size_t n, size_t *used)
{
    const char *nl = memchr(in, '\n', n);
    size_t part = nl ? (size_t)(nl - in) : n;
    if (s->line_len + part > CHUNK_LINE_MAX)
        return -1;
    memcpy(s->line + s->line_len, in, part);
    s->line_len += part;
    *used = nl ? part + 1 : part;
    if (!nl)
        return 0;
    if (s->line_len && s->line[s->line_len - 1] == '\r')
        s->line_len--;
    return 1;
}

/* One step of a chunked body; *used gets the bytes taken. */
static int feed_chunked(http_stream *s, const char *in, size_t n, size_t *used, pdm_buf *out,
                        int *status, char *why, size_t whylen)
{
    if (s->phase == IN_CHUNK_DATA) {
        size_t take = n < s->remaining ? n : (size_t)s->remaining;
        if (pdm_buf_append(&s->body, in, take))
            return refuse(s, status, 500, why, whylen, "out of memory");
        s->remaining -= take;
        *used = take;
        if (!s->remaining) {
            s->phase = IN_CHUNK_END;
            s->saw_cr = 0;
        }
        return 0;
    }
    if (s->phase == IN_CHUNK_END) {
        *used = 1;
        if (in[0] == '\r' && !s->saw_cr) {
            s->saw_cr = 1;
            return 0;
        }
        if (in[0] != '\n')
            return refuse(s, status, 400, why, whylen, "a chunk's data is not followed by CRLF");
        s->phase = IN_CHUNK_SIZE;
        s->line_len = 0;
        return 0;
    }
    int rc = take_line(s, in, n, used);
    if (rc < 0)
        return refuse(s, status, 400, why, whylen,
                      s->phase == IN_TRAILER ? "a trailer line is too long"
                                             : "a chunk-size line is too long");
    if (rc == 0)
        return 0;
    size_t len = s->line_len;
    s->line_len = 0;
    if (s->phase == IN_TRAILER) {
        if (len > 0)
            return 0; /* a trailer field: dropped */
        s->phase = IN_HEAD;
        if (emit_chunked(s, out))
            return refuse(s, status, 500, why, whylen, "out of memory");
        return 0;
    }
    unsigned long long size;
    if (chunk_size(s->line, len, &size))
        return refuse(s, status, 400, why, whylen, "a chunk size is not hexadecimal digits");
    if (size > s->max_body || s->body.len + size > s->max_body) {
        pdm_err(why, whylen, "request body is over the limit of %zu bytes", s->max_body);
        return refuse(s, status, 413, why, whylen, NULL);
    }
    s->remaining = size;
    s->phase = size ? IN_CHUNK_DATA : IN_TRAILER;
    return 0;
}

int http_stream_feed(http_stream *s, const char *in, size_t n, pdm_buf *out, int *status,
                     char *why, size_t whylen)
{
    while (n > 0) {
        size_t used = 0;
        int rc = 0;
        switch (s->phase) {
        case REFUSED:
            return refuse(s, status, s->refused_status, why, whylen,
                          "the connection's stream was refused before");
        case IN_HEAD:
            rc = feed_head(s, in, n, &used, out, status, why, whylen);
            break;
        case IN_LENGTH:
            used = n < s->remaining ? n : (size_t)s->remaining;
            if (pdm_buf_append(out, in, used))
                return refuse(s, status, 500, why, whylen, "out of memory");
            s->remaining -= used;
            if (!s->remaining)
                s->phase = IN_HEAD;
            break;
        default:
            rc = feed_chunked(s, in, n, &used, out, status, why, whylen);
            break;
        }
        if (rc)
            return -1;
        in += used;
        n -= used;
    }
    return s->phase == REFUSED ? -1 : 0;
}

int http_refusal_request(pdm_buf *out, const char *nonce, int status, const char *why)
{
    char clean[200];
    size_t k = 0;
    for (const char *p = why ? why : ""; *p && k + 1 < sizeof clean; p++)
        clean[k++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    clean[k] = '\0';
    return pdm_buf_printf(out,
                          "GET / HTTP/1.1\r\nHost: gate\r\n" HTTP_REFUSAL_HEADER
                          ": %s %d %s\r\nConnection: close\r\n\r\n",
                          nonce, status, clean);
}

int http_refusal_parse(const char *value, const char *nonce, int *status, char *why,
                       size_t whylen)
{
    size_t n = strlen(nonce);
    if (!value || n == 0 || strncmp(value, nonce, n) != 0 || value[n] != ' ')
        return -1;
    const char *p = value + n + 1;
    int code = 0, digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
        code = code * 10 + (*p - '0');
    if (digits != 3 || code < 400 || code > 599 || (*p != ' ' && *p != '\0'))
        return -1;
    *status = code;
    snprintf(why, whylen, "%s", *p ? p + 1 : "bad request");
    return 0;
}
