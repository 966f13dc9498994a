/* request.c: what handlers use to read a request safely: header and query
 * look-ups, strict UTF-8, JSON bodies with a nesting limit, numeric ids.
 *
 * The JSON checks run before cJSON sees the text: cJSON parses recursively
 * (its own limit is 1000 levels, deep enough to hurt a small thread stack)
 * and accepts some malformed UTF-8 inside strings, which would then travel
 * on into Kafka and Redis.
 */
#include <string.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "pdm_http.h"

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
