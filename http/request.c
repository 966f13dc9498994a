/* request.c: what handlers use to read a request safely: header and query
 * look-ups, strict UTF-8, JSON bodies with a nesting limit, numeric ids.
 *
 * The JSON checks run before cJSON sees the text: cJSON parses recursively
 * (its own limit is 1000 levels, deep enough to hurt a small thread stack)
 * and accepts some malformed UTF-8 inside strings, which would then travel
 * on into Kafka and Redis.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "http_internal.h"

const char *pdm_http_request_header(const pdm_http_request *req, const char *name)
{
    if (!req->conn)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *pdm_http_request_arg(const pdm_http_request *req, const char *name)
{
    if (!req->conn)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

int pdm_http_utf8_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return 0; /* continuation byte, C0/C1 or F5..FF lead */
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* Deepest nesting of [ and { outside strings, stopping once over limit. */
static int json_depth_exceeds(const char *s, size_t len, int limit)
{
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > limit)
                return 1;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

int pdm_http_parse_json(const pdm_http_request *req, cJSON **out, pdm_http_response *resp)
{
    *out = NULL;
    const char *body = req->body ? req->body : "";
    size_t len = req->body ? req->body_len : 0;
    size_t lead = strspn(body, " \t\r\n");
    if (lead >= len) {
        pdm_http_response_error(resp, 400, "request body is empty: a JSON document is expected");
        return -1;
    }
    if (strlen(body) != len) {
        pdm_http_response_error(resp, 400, "request body holds a NUL byte");
        return -1;
    }
    if (!pdm_http_utf8_valid(body, len)) {
        pdm_http_response_error(resp, 400, "request body is not valid UTF-8");
        return -1;
    }
    if (json_depth_exceeds(body, len, PDM_HTTP_MAX_JSON_DEPTH)) {
        pdm_http_response_error(resp, 400, "JSON nests deeper than %d levels",
                                PDM_HTTP_MAX_JSON_DEPTH);
        return -1;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(body, &end, 1);
    if (!doc) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        pdm_http_response_error(resp, 400, "request body is not valid JSON (error at byte %zu)",
                                at);
        return -1;
    }
    *out = doc;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t pdm_http_unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        int hi = r[0] == '%' ? hex_value(r[1]) : -1;
        int lo = hi >= 0 ? hex_value(r[2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

int pdm_http_parse_id(const char *segment, int32_t *out)
{
    if (!segment || !*segment)
        return -1;
    int64_t v = 0;
    for (const char *p = segment; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > INT32_MAX)
            return -1;
    }
    *out = (int32_t)v;
    return 0;
}

int http_check_framing(size_t n, const char *const *names, const char *const *values, char *why,
                       size_t whylen)
{
    const char *length = NULL;
    int chunked = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(names[i], "Transfer-Encoding") == 0) {
            chunked = 1;
            continue;
        }
        if (strcasecmp(names[i], "Content-Length") != 0)
            continue;
        const char *v = values[i];
        if (!*v || strspn(v, "0123456789") != strlen(v))
            return pdm_err(why, whylen, "Content-Length must be a decimal number");
        if (length && strcmp(length, v) != 0)
            return pdm_err(why, whylen, "conflicting Content-Length headers");
        if (length)
            return pdm_err(why, whylen, "Content-Length sent more than once");
        length = v;
    }
    if (length && chunked)
        return pdm_err(why, whylen, "Content-Length and Transfer-Encoding together");
    return 0;
}

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the line starting at p (its '\n'), or NULL if none before end. */
static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl;
}

/* Checks one header line [p, eol) (without the line break). 0 or -1. */
static int header_line_ok(const char *p, const char *eol, char *why, size_t whylen)
{
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (p[0] == ' ' || p[0] == '\t')
        return pdm_err(why, whylen, "folded header lines are not accepted");
    if (!colon || colon == p)
        return pdm_err(why, whylen, "a header line is not NAME: VALUE");
    for (const char *q = p; q < colon; q++)
        if (!is_tchar((unsigned char)*q))
            return pdm_err(why, whylen, "a header name holds a character names cannot hold");
    for (const char *q = colon + 1; q < eol; q++) {
        unsigned char c = (unsigned char)*q;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return pdm_err(why, whylen, "a header value holds a control character");
    }
    return 0;
}

/* The transfer coding is "chunked" alone (case-insensitive, spaces aside). */
static int only_chunked(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    if (strncasecmp(v, "chunked", 7) != 0)
        return 0;
    for (v += 7; *v; v++)
        if (*v != ' ' && *v != '\t')
            return 0;
    return 1;
}

/* The framing of a sound head for info: one length, or chunked. */
static int framing_info(size_t n, const char *const *names, const char *const *values,
                        http_head_info *info, int *status, char *why, size_t whylen)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(names[i], "Transfer-Encoding") == 0) {
            if (info->chunked || !only_chunked(values[i])) {
                *status = 501;
                return pdm_err(why, whylen, "the only transfer coding accepted is chunked");
            }
            info->chunked = 1;
        } else {
            info->has_length = 1;
            info->length = strtoull(values[i], NULL, 10);
        }
    }
    return 0;
}

int http_check_head(const char *buf, size_t len, const http_head_limits *lim,
                    http_head_info *info, int *status, char *why, size_t whylen)
{
    const char *end = buf + len, *p = buf;
    http_head_info scratch;
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    *status = 400;
    while (p < end && (*p == '\r' || *p == '\n')) /* blank lines before a request are allowed */
        p++;
    const char *eol = line_end(p, end);
    if (!eol) {
        if ((size_t)(end - p) > lim->max_uri + 64) {
            *status = 414;
            return pdm_err(why, whylen, "request line longer than %zu bytes", lim->max_uri + 64);
        }
        return 0;
    }
    size_t line_len = (size_t)(eol - p) - (eol > p && eol[-1] == '\r');
    const char *sp1 = memchr(p, ' ', line_len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', line_len - (size_t)(sp1 + 1 - p)) : NULL;
    if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1)
        return pdm_err(why, whylen, "the request line is not METHOD TARGET HTTP/1.x");
    if (sp1 - p > 32)
        return pdm_err(why, whylen, "the method is longer than 32 bytes");
    for (const char *q = p; q < sp1; q++)
        if (!is_tchar((unsigned char)*q))
            return pdm_err(why, whylen, "the method is not a token");
    if ((size_t)(sp2 - sp1 - 1) > lim->max_uri) {
        *status = 414;
        return pdm_err(why, whylen, "URI longer than %zu bytes", lim->max_uri);
    }
    for (const char *q = sp1 + 1; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f)
            return pdm_err(why, whylen, "the URI holds a space or a control character");
    size_t vlen = line_len - (size_t)(sp2 + 1 - p);
    if (vlen != 8 || (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.0", 8) != 0)) {
        *status = 505;
        return pdm_err(why, whylen, "only HTTP/1.0 and HTTP/1.1 are served");
    }
    /* Header lines up to the blank line. */
    const char *names[16], *values[16];
    char name_buf[16][24], value_buf[16][24];
    size_t n_framing = 0;
    for (p = eol + 1;; p = eol + 1) {
        eol = line_end(p, end);
        if (!eol) {
            if (len > lim->max_head) {
                *status = 431;
                return pdm_err(why, whylen, "request head larger than %zu bytes", lim->max_head);
            }
            return 0;
        }
        const char *stop = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if ((size_t)(eol + 1 - buf) > lim->max_head) {
            *status = 431;
            return pdm_err(why, whylen, "request head larger than %zu bytes", lim->max_head);
        }
        if (stop == p) { /* the blank line: the head is complete */
            info->head_len = (size_t)(eol + 1 - buf);
            break;
        }
        if (header_line_ok(p, stop, why, whylen))
            return -1;
        const char *colon = memchr(p, ':', (size_t)(stop - p));
        size_t nlen = (size_t)(colon - p);
        int framing = (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) ||
                      (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0);
        if (!framing)
            continue;
        if (n_framing == 16)
            return pdm_err(why, whylen, "too many Content-Length/Transfer-Encoding headers");
        const char *v = colon + 1, *vend = stop;
        while (v < vend && (*v == ' ' || *v == '\t'))
            v++;
        while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        snprintf(name_buf[n_framing], sizeof name_buf[n_framing], "%.*s", (int)nlen, p);
        /* A value longer than 20 bytes is no valid length: keep a marker. */
        if (vend - v > 20)
            snprintf(value_buf[n_framing], sizeof value_buf[n_framing], "x");
        else
            snprintf(value_buf[n_framing], sizeof value_buf[n_framing], "%.*s", (int)(vend - v), v);
        names[n_framing] = name_buf[n_framing];
        values[n_framing] = value_buf[n_framing];
        n_framing++;
    }
    if (http_check_framing(n_framing, names, values, why, whylen))
        return -1;
    for (size_t i = 0; i < n_framing; i++)
        if (strcasecmp(names[i], "Content-Length") == 0 && strlen(values[i]) > 19) {
            *status = 413;
            return pdm_err(why, whylen, "Content-Length is too large");
        }
    if (framing_info(n_framing, names, values, info, status, why, whylen))
        return -1;
    return 1;
}

enum { MAX_FRAMING_HEADERS = 16 };

typedef struct {
    size_t n, extra;
    const char *names[MAX_FRAMING_HEADERS], *values[MAX_FRAMING_HEADERS];
} framing_headers;

static enum MHD_Result collect_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    framing_headers *f = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0 &&
        strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) != 0)
        return MHD_YES;
    if (f->n == MAX_FRAMING_HEADERS) {
        f->extra++;
        return MHD_YES;
    }
    f->names[f->n] = key;
    f->values[f->n] = value ? value : "";
    f->n++;
    return MHD_YES;
}

int http_check_connection_framing(struct MHD_Connection *conn, char *why, size_t whylen)
{
    framing_headers f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_framing, &f);
    if (f.extra)
        return pdm_err(why, whylen, "too many Content-Length/Transfer-Encoding headers");
    return http_check_framing(f.n, f.names, f.values, why, whylen);
}
