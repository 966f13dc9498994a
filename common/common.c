/* common.c: errors, time, logging, buffers and files shared by every module.
 * Time is civil UTC computed by hand (days-from-civil), so parsing never
 * depends on the process's TZ or on timegm's availability. */
#include "pdm_common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int pdm_err(char *errstr, size_t errlen, const char *fmt, ...)
{
    if (errstr && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- time ------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int pdm_time_parse(const char *s, size_t len, int64_t *ms_out)
{
    static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h = 0, mi = 0, sec = 0;

    if (len < 10 || s[4] != '-' || s[7] != '-')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d))
        return -1;
    if (len > 10) {
        if (len < 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':')
            return -1;
        if (digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
            return -1;
        if (len == 20 && s[19] != 'Z')
            return -1;
        if (len > 20)
            return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 59)
        return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *ms_out = ((days * 24 + h) * 60 + mi) * INT64_C(60000) + sec * INT64_C(1000);
    return 0;
}

char *pdm_time_format(int64_t ms, char *buf)
{
    /* Floor division without negating (-INT64_MIN overflows). */
    int64_t secs = ms / 1000 - (ms % 1000 < 0);
    int64_t days = secs / 86400 - (secs % 86400 < 0);
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned hh = (unsigned)(rem / 3600) % 24u, mm = (unsigned)(rem / 60 % 60), ss = (unsigned)(rem % 60);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999; /* outside what the format can say; never in real data */
    snprintf(buf, 32, "%04u-%02u-%02u %02u:%02u:%02u", (unsigned)y % 10000u, m % 13u, d % 32u, hh,
             mm, ss);
    return buf;
}

char *pdm_time_format_iso(int64_t ms, char *buf)
{
    char t[32];
    pdm_time_format(ms, t);
    t[10] = 'T';
    int64_t frac = ms % 1000;
    snprintf(buf, 32, "%.19s.%03dZ", t, (int)(frac < 0 ? frac + 1000 : frac));
    return buf;
}

int64_t pdm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pdm_secret_free(char *s)
{
    if (!s)
        return;
    volatile char *p = s; /* not optimised away before free */
    while (*p)
        *p++ = 0;
    free(s);
}

size_t pdm_fmt_i64(char *buf, int64_t v)
{
    /* Two digits per division (event ids and scores are 13-digit times:
     * this was 2 % of the scorer's CPU one digit at a time). */
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    char tmp[20];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = sizeof tmp, len = 0;
    while (u >= 100) {
        size_t d = (size_t)(u % 100) * 2;
        u /= 100;
        tmp[--n] = pairs[d + 1];
        tmp[--n] = pairs[d];
    }
    if (u >= 10) {
        tmp[--n] = pairs[u * 2 + 1];
        tmp[--n] = pairs[u * 2];
    } else {
        tmp[--n] = (char)('0' + u);
    }
    if (v < 0)
        buf[len++] = '-';
    memcpy(buf + len, tmp + n, sizeof tmp - n);
    return len + sizeof tmp - n;
}

int pdm_duration_parse(const char *text, int64_t *ms)
{
    char *end;
    double v = strtod(text, &end), unit = 1000.0;
    if (end == text || !(v >= 0) || !isfinite(v))
        return -1;
    if (end[0] == 'm' && end[1] == 's')
        unit = 1.0, end += 2;
    else if (*end == 's')
        end++;
    else if (*end == 'm')
        unit = 60e3, end++;
    else if (*end == 'h')
        unit = 3600e3, end++;
    else if (*end == 'd')
        unit = 86400e3, end++;
    if (*end || !(v * unit < 9.2e18))
        return -1;
    *ms = (int64_t)(v * unit);
    return 0;
}

double pdm_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- logging ---------------------------------------------------------- */

static pdm_log_level log_level = PDM_LOG_INFO;
static const char *log_program = "pdm";

void pdm_log_set_level(pdm_log_level level) { log_level = level; }
void pdm_log_set_program(const char *name) { log_program = name; }

int pdm_log_level_parse(const char *name, pdm_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (pdm_log_level)i;
            return 0;
        }
    }
    return -1;
}

void pdm_log(pdm_log_level level, const char *fmt, ...)
{
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < log_level)
        return;
    char ts[32], line[2048];
    int64_t now = pdm_now_ms();
    pdm_time_format(now, ts);
    int n = snprintf(line, sizeof line, "%s.%03dZ %s %s: ", ts, (int)(now % 1000), tags[level],
                     log_program);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One write per record keeps lines whole when several threads log. */
    fprintf(stderr, "%s\n", line);
}

/* ---- key=value lists ---------------------------------------------------- */

int pdm_kvlist_add(pdm_kvlist *list, const char *kv, char *errstr, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return pdm_err(errstr, errlen, "expected key=value, got '%s'", kv);
    char **keys = realloc(list->keys, (list->count + 1) * sizeof *keys);
    if (!keys)
        return pdm_err(errstr, errlen, "out of memory");
    list->keys = keys;
    char **values = realloc(list->values, (list->count + 1) * sizeof *values);
    if (!values)
        return pdm_err(errstr, errlen, "out of memory");
    list->values = values;
    char *k = strndup(kv, (size_t)(eq - kv));
    char *v = strdup(eq + 1);
    if (!k || !v) {
        free(k);
        free(v);
        return pdm_err(errstr, errlen, "out of memory");
    }
    list->keys[list->count] = k;
    list->values[list->count] = v;
    list->count++;
    return 0;
}

void pdm_kvlist_clear(pdm_kvlist *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->keys[i]);
        free(list->values[i]);
    }
    free(list->keys);
    free(list->values);
    memset(list, 0, sizeof *list);
}

/* ---- buffers and files -------------------------------------------------- */

int pdm_buf_reserve(pdm_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int pdm_buf_append(pdm_buf *b, const void *data, size_t len)
{
    if (pdm_buf_reserve(b, len))
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int pdm_buf_printf(pdm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || pdm_buf_reserve(b, (size_t)n))
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void pdm_buf_free(pdm_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

int pdm_read_file(const char *path, pdm_buf *out, char *errstr, size_t errlen)
{
    int rc = -1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return pdm_err(errstr, errlen, "%s: %s", path, strerror(errno));
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (pdm_buf_append(out, chunk, n)) {
            pdm_err(errstr, errlen, "%s: out of memory", path);
            goto out;
        }
    }
    if (ferror(f)) {
        pdm_err(errstr, errlen, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if (pdm_buf_reserve(out, 0) == 0)
        out->data[out->len] = '\0';
    rc = 0;
out:
    fclose(f);
    return rc;
}

int pdm_mkdirs(const char *path, char *errstr, size_t errlen)
{
    char tmp[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof tmp)
        return pdm_err(errstr, errlen, "bad directory path '%s'", path);
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) && errno != EEXIST)
            return pdm_err(errstr, errlen, "mkdir %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) && errno != EEXIST)
        return pdm_err(errstr, errlen, "mkdir %s: %s", tmp, strerror(errno));
    return 0;
}
