/* fuzz_http_head: the request-head checks that run on raw client bytes
 * before libmicrohttpd sees them (http_check_head, by the plain-HTTP gate)
 * and on the headers it parsed (http_check_framing).
 *
 * Input: the bytes a client sent so far (not NUL-terminated: the copy is
 * exactly that long, so ASan sees a read past it). Small limits (max_uri
 * 64, max_head 256) so that the fuzzer reaches the 414 and 431 paths.
 * Checks:
 * - a refusal has one of the statuses the gate answers (400, 413, 414, 431,
 *   505) and a reason;
 * - a sound head is complete (it holds a blank line), and the verdict is
 *   stable as bytes come in: every shorter prefix of a sound head is
 *   "incomplete", never refused, and the head alone (without what follows
 *   its blank line) is sound too;
 * - http_check_framing, on the input split into NAME: VALUE lines, never
 *   accepts two Content-Length lines or one with Transfer-Encoding.
 */
#include "fuzz.h"

#include <strings.h>

#include "http_internal.h"

static const http_head_limits LIM = {64, 256};

static http_head_info info;

static int check(const uint8_t *data, size_t len, int *status)
{
    char why[256];
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return 0;
    if (len)
        memcpy(copy, data, len);
    why[0] = '\0';
    int rc = http_check_head(copy, len, &LIM, &info, status, why, sizeof why);
    free(copy);
    FUZZ_CHECK(rc >= -1 && rc <= 1, "rc %d", rc);
    if (rc < 0)
        FUZZ_CHECK((*status == 400 || *status == 413 || *status == 414 || *status == 431 ||
                    *status == 501 || *status == 505) && why[0],
                   "refused with status %d, reason \"%s\"", *status, why);
    return rc;
}

/* Offset just past the head's blank line, or 0 if none. */
static size_t head_end(const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n && (d[i] == '\r' || d[i] == '\n'))
        i++;
    for (; i < n; i++) {
        if (d[i] != '\n')
            continue;
        size_t j = i + 1;
        if (j < n && d[j] == '\r')
            j++;
        if (j < n && d[j] == '\n')
            return j + 1;
    }
    return 0;
}

static void check_framing_lines(const uint8_t *data, size_t size)
{
    const char *names[8], *values[8];
    char *text = fuzz_strndup(data, size);
    size_t n = 0, lengths = 0, encodings = 0;
    if (!text)
        return;
    for (char *line = strtok(text, "\n"); line && n < 8; line = strtok(NULL, "\n")) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        names[n] = line;
        values[n] = colon + 1;
        lengths += strcasecmp(line, "Content-Length") == 0;
        encodings += strcasecmp(line, "Transfer-Encoding") == 0;
        n++;
    }
    char why[128];
    if (http_check_framing(n, names, values, why, sizeof why) == 0)
        FUZZ_CHECK(lengths <= 1 && !(lengths && encodings), "accepted %zu lengths, %zu encodings",
                   lengths, encodings);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int status = 0;
    int rc = check(data, size, &status);
    if (rc == 1) {
        size_t end = head_end(data, size);
        FUZZ_CHECK(end > 0, "sound without a blank line");
        FUZZ_CHECK(info.head_len == end, "head length %zu, its blank line ends at %zu",
                   info.head_len, end);
        FUZZ_CHECK(!(info.chunked && info.has_length), "chunked with a length");
        int s2;
        FUZZ_CHECK(check(data, end, &s2) == 1, "the head alone is not sound");
        for (size_t cut = 0; cut < end; cut += 1 + cut / 8) {
            int rc2 = check(data, cut, &s2);
            FUZZ_CHECK(rc2 == 0, "prefix of %zu bytes of a sound head gives %d (status %d)", cut,
                       rc2, s2);
        }
    }
    check_framing_lines(data, size);
    return 0;
}
