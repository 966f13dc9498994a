/* redis_resp.c: commands in RESP (redis_resp.h). */
#include "redis_resp.h"

#include <stdint.h>
#include <string.h>

#include "pdm_common.h"

/* c, then n in decimal, then CRLF; advances *at, or returns -1 when the
 * 24 bytes it may need are not there. */
static int put_header(char c, size_t n, char **at, const char *end)
{
    if (end - *at < 24)
        return -1;
    char *p = *at;
    *p++ = c;
    p += pdm_fmt_i64(p, (int64_t)n);
    *p++ = '\r';
    *p++ = '\n';
    *at = p;
    return 0;
}

size_t pdm_resp_format(int argc, const char **argv, const size_t *lens, char *out, size_t cap)
{
    char *p = out;
    const char *end = out + cap;
    if (argc < 0 || put_header('*', (size_t)argc, &p, end))
        return 0;
    for (int i = 0; i < argc; i++) {
        size_t len = lens ? lens[i] : strlen(argv[i]);
        if (put_header('$', len, &p, end) || (size_t)(end - p) < len + 2)
            return 0;
        memcpy(p, argv[i], len);
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    return (size_t)(p - out);
}
