/* fuzz_http_request: what the HTTP module parses from clients before a
 * handler trusts it: JSON bodies (pdm_http_parse_json: UTF-8, NUL bytes,
 * nesting limit, then cJSON), UTF-8 (pdm_http_utf8_valid) and numeric path
 * segments (pdm_http_parse_id).
 *
 * Input: byte 0 modulo 3 chooses the parser; the rest is the body or the
 * text. Checks:
 * - parse_json: a refusal is a 400 with a JSON {"error": "..."} body; an
 *   accepted body is valid UTF-8 without NUL, and the document cJSON prints
 *   back is accepted too;
 * - utf8_valid agrees with a reference decoder written here from RFC 3629;
 * - parse_id accepts exactly 1..10 ASCII digits of value <= INT32_MAX and
 *   returns that value;
 * - the same text, percent-decoded as the server decodes paths
 *   (pdm_http_unescape), never gains a NUL: its returned length is its
 *   strlen, it is no longer than the text, a text without '%' is unchanged,
 *   and every "%00" of the text survives.
 */
#include "fuzz.h"

#include <cjson/cJSON.h>

#include "pdm_http.h"

static void check_json(const uint8_t *data, size_t size)
{
    char *body = fuzz_strndup(data, size);
    pdm_http_request req = {"POST", "/v1/fuzz", "", "", body, size, NULL};
    pdm_http_response resp;
    cJSON *doc = NULL;
    if (!body)
        return;
    memset(&resp, 0, sizeof resp);
    if (pdm_http_parse_json(&req, &doc, &resp) == 0) {
        FUZZ_CHECK(doc != NULL, "success without a document");
        FUZZ_CHECK(strlen(body) == size, "accepted a body with a NUL byte");
        FUZZ_CHECK(pdm_http_utf8_valid(body, size), "accepted invalid UTF-8");
        char *printed = cJSON_PrintUnformatted(doc);
        if (printed) {
            pdm_http_request again = req;
            cJSON *doc2 = NULL;
            pdm_http_response resp2;
            memset(&resp2, 0, sizeof resp2);
            again.body = printed;
            again.body_len = strlen(printed);
            FUZZ_CHECK(pdm_http_parse_json(&again, &doc2, &resp2) == 0,
                       "cJSON's own output is refused: %s", printed);
            cJSON_Delete(doc2);
            pdm_buf_free(&resp2.body);
            cJSON_free(printed);
        }
    } else {
        FUZZ_CHECK(doc == NULL, "failure with a document");
        FUZZ_CHECK(resp.status == 400, "refused with status %d", resp.status);
        FUZZ_CHECK(resp.body.data != NULL, "refused without a body");
        cJSON *err = cJSON_ParseWithLength(resp.body.data, resp.body.len);
        FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(err, "error")),
                   "error body is not {\"error\": ...}: %.*s", (int)resp.body.len,
                   resp.body.data);
        cJSON_Delete(err);
    }
    cJSON_Delete(doc);
    pdm_buf_free(&resp.body);
    for (size_t i = 0; i < resp.n_headers; i++) {
        free(resp.header_name[i]);
        free(resp.header_value[i]);
    }
    free(body);
}

/* RFC 3629 well-formedness, decoded code point by code point. */
static int reference_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t extra;
        if (s[i] < 0x80) {
            i++;
            continue;
        } else if ((s[i] & 0xE0) == 0xC0) {
            cp = s[i] & 0x1Fu, extra = 1;
        } else if ((s[i] & 0xF0) == 0xE0) {
            cp = s[i] & 0x0Fu, extra = 2;
        } else if ((s[i] & 0xF8) == 0xF0) {
            cp = s[i] & 0x07u, extra = 3;
        } else {
            return 0;
        }
        if (i + extra >= n)
            return 0;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        static const uint32_t min_for[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += extra + 1;
    }
    return 1;
}

static void check_utf8(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return;
    if (size)
        memcpy(copy, data, size);
    int got = pdm_http_utf8_valid(copy, size), want = reference_utf8(data, size);
    FUZZ_CHECK(got == want, "utf8_valid says %d, the reference %d", got, want);
    free(copy);
}

static void check_id(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    if (!text)
        return;
    size_t len = strlen(text), digits = strspn(text, "0123456789");
    int want = len >= 1 && len <= 10 && digits == len && strtoll(text, NULL, 10) <= INT32_MAX;
    /* Leading zeros: "00000000042" has 11 digits but is 42; the module
     * takes any number of digits, so compare values, not lengths, there. */
    if (len > 10 && digits == len) {
        size_t z = strspn(text, "0");
        want = len - z <= 10 && strtoll(text + z, NULL, 10) <= INT32_MAX;
    }
    int32_t id = -1;
    int got = pdm_http_parse_id(text, &id) == 0;
    FUZZ_CHECK(got == want, "parse_id(\"%s\") %s", text, got ? "accepted" : "refused");
    if (got)
        FUZZ_CHECK(id == (int32_t)strtoll(text, NULL, 10), "parse_id(\"%s\") = %d", text,
                   (int)id);
    char *decoded = strdup(text);
    if (decoded) {
        size_t n = pdm_http_unescape(decoded), nuls = 0, kept = 0;
        FUZZ_CHECK(n == strlen(decoded) && n <= len, "unescape(\"%s\"): length %zu", text, n);
        if (!strchr(text, '%'))
            FUZZ_CHECK(strcmp(decoded, text) == 0, "unescape changed \"%s\"", text);
        for (const char *p = text; (p = strstr(p, "%00")); p += 3)
            nuls++;
        for (const char *p = decoded; (p = strstr(p, "%00")); p++)
            kept++;
        FUZZ_CHECK(kept >= nuls, "unescape(\"%s\") dropped a %%00", text);
        free(decoded);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: check_json(data + 1, size - 1); break;
    case 1: check_utf8(data + 1, size - 1); break;
    default: check_id(data + 1, size - 1); break;
    }
    return 0;
}
