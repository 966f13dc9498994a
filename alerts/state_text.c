/* state_text.c: the alert state's text form, for a field of the machine's
 * Redis hash (pdm_alert_state_encode / _decode). Text rather than bytes so
 * that redis-cli shows it; versioned ("a2"; "a1", without the notified
 * level, is still read) so that a later format can read or refuse this
 * one; parsed strictly, because a state that decodes wrongly would open or
 * close incidents nobody asked for. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_alerts.h"

#define TEXT_VERSION "a2"
#define TEXT_FIELDS 9    /* after the version */
#define TEXT_FIELDS_V1 8 /* "a1": without notified_level */

/* "-" for INT64_MIN (none), else the decimal value. */
static void format_ts(int64_t ts, char *buf, size_t len)
{
    if (ts == INT64_MIN)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%" PRId64, ts);
}

int pdm_alert_state_encode(const pdm_alert_state *st, char *buf, size_t len)
{
    char last[24], opened[24], notified[24];
    format_ts(st->last_ts, last, sizeof last);
    format_ts(st->opened_at, opened, sizeof opened);
    format_ts(st->notified_at, notified, sizeof notified);
    int n = snprintf(buf, len, TEXT_VERSION " %" PRIx32 " %" PRIx32 " %s %d %d %s %s %.17g %d",
                     st->above_enter, st->above_clear, last, (int)st->level, st->component, opened,
                     notified, st->peak_risk, (int)st->notified_level);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

/* ---- decoding ------------------------------------------------------------ */

/* The fields of the text, split at single spaces, each NUL-terminated in a
 * copy: no empty field, no leading or trailing space. */
typedef struct {
    char copy[PDM_ALERT_TEXT_MAX];
    char *field[TEXT_FIELDS + 1];
} fields;

/* Returns the number of fields after the version, or -1. */
static int split(const char *text, size_t len, fields *f)
{
    if (len == 0 || len >= sizeof f->copy || memchr(text, '\0', len))
        return -1;
    memcpy(f->copy, text, len);
    f->copy[len] = '\0';
    int n = 0;
    for (char *s = f->copy;; s++) {
        if (n == TEXT_FIELDS + 1 || *s == ' ' || *s == '\0')
            return -1; /* too many fields, or an empty one */
        f->field[n++] = s;
        s = strchr(s, ' ');
        if (!s)
            break;
        *s = '\0';
    }
    return n - 1;
}

/* Lowercase hex without prefix, up to 8 digits. */
static int parse_bits(const char *s, uint32_t *out)
{
    size_t n = strspn(s, "0123456789abcdef");
    if (n == 0 || n > 8 || s[n] != '\0')
        return -1;
    *out = (uint32_t)strtoul(s, NULL, 16);
    return 0;
}

/* An optional '-' and decimal digits, in range; or "-" alone when none_ok. */
static int parse_int64(const char *s, int none_ok, int64_t *out)
{
    if (strcmp(s, "-") == 0) {
        if (!none_ok)
            return -1;
        *out = INT64_MIN;
        return 0;
    }
    const char *digits = s + (*s == '-');
    size_t n = strspn(digits, "0123456789");
    if (n == 0 || digits[n] != '\0')
        return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || v == INT64_MIN)
        return -1; /* INT64_MIN is spelled "-" */
    *out = (int64_t)v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    /* strtod also takes "nan", "inf", hex and leading blanks: allow only
     * what %.17g writes. */
    if (strspn(s, "0123456789.eE+-") != strlen(s) || *s == '\0')
        return -1;
    /* No errno check: glibc flags a subnormal result as a range error, and
     * an overflow shows as an infinity anyway. */
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* The invariants pdm_alert_step keeps; a state breaking one was not
 * written by it. */
static const char *check_state(const pdm_alert_state *st)
{
    if (st->component < 0 || st->component > PDM_N_COMPONENTS)
        return "component out of range";
    if (!(st->peak_risk >= 0 && st->peak_risk <= 1))
        return "peak risk out of 0..1";
    if (st->level == PDM_LEVEL_OK) {
        if (st->opened_at != INT64_MIN || st->notified_at != INT64_MIN || st->component ||
            st->peak_risk != 0 || st->notified_level != PDM_LEVEL_OK)
            return "incident fields without an incident";
        return NULL;
    }
    if (st->opened_at == INT64_MIN || st->notified_at < st->opened_at ||
        st->last_ts < st->notified_at)
        return "incident times out of order";
    if (st->notified_level < st->level)
        return "incident level above the level notified";
    return NULL;
}

int pdm_alert_state_decode(const char *text, size_t len, pdm_alert_state *out, char *errstr,
                           size_t errlen)
{
    fields f;
    pdm_alert_state st;
    int64_t level, component, notified_level = -1;
    pdm_alert_state_init(&st);
    int n = split(text, len, &f);
    if (n < 0)
        return pdm_err(errstr, errlen, "alert state: not space-separated fields");
    int v1 = strcmp(f.field[0], "a1") == 0;
    if (!v1 && strcmp(f.field[0], TEXT_VERSION) != 0)
        return pdm_err(errstr, errlen, "alert state: unknown format \"%.8s\"", f.field[0]);
    if (n != (v1 ? TEXT_FIELDS_V1 : TEXT_FIELDS))
        return pdm_err(errstr, errlen, "alert state: %s needs %d fields after it, not %d",
                       f.field[0], v1 ? TEXT_FIELDS_V1 : TEXT_FIELDS, n);
    if (!v1 && parse_int64(f.field[9], 0, &notified_level))
        return pdm_err(errstr, errlen, "alert state: a malformed field");
    if (parse_bits(f.field[1], &st.above_enter) || parse_bits(f.field[2], &st.above_clear) ||
        parse_int64(f.field[3], 1, &st.last_ts) || parse_int64(f.field[4], 0, &level) ||
        parse_int64(f.field[5], 0, &component) || parse_int64(f.field[6], 1, &st.opened_at) ||
        parse_int64(f.field[7], 1, &st.notified_at) || parse_double(f.field[8], &st.peak_risk))
        return pdm_err(errstr, errlen, "alert state: a malformed field");
    if (level < PDM_LEVEL_OK || level > PDM_LEVEL_CRITICAL)
        return pdm_err(errstr, errlen, "alert state: level %" PRId64 " out of range", level);
    if (component < 0 || component > PDM_N_COMPONENTS)
        return pdm_err(errstr, errlen, "alert state: component out of range");
    if (v1)
        notified_level = level; /* what a1 could say: see pdm_alerts.h */
    if (notified_level < PDM_LEVEL_OK || notified_level > PDM_LEVEL_CRITICAL)
        return pdm_err(errstr, errlen, "alert state: notified level out of range");
    st.level = (pdm_level)level;
    st.notified_level = (pdm_level)notified_level;
    st.component = (int)component;
    const char *why = check_state(&st);
    if (why)
        return pdm_err(errstr, errlen, "alert state: %s", why);
    *out = st;
    return 0;
}
