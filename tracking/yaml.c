/* yaml.c: just enough YAML for MLflow's meta.yaml files.
 *
 * MLflow writes them with PyYAML (safe_dump, block style, sorted keys) and
 * reads them with safe_load, so a string must be written so that it reads
 * back as that same string, never as a number, bool, null or date: "0"
 * must be '0', "" must be ''. The writer follows PyYAML's own choice of
 * style (emitter.analyze_scalar plus the implicit resolvers of YAML 1.1,
 * copied here as POSIX regular expressions) so that our files look like
 * MLflow's; the reader only needs the scalars of a flat mapping, which is
 * all the experiment lookup reads back. PyYAML folds plain lines longer
 * than 80 columns; we never do, which reads back the same.
 */
#include "tracking_internal.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* The YAML 1.1 implicit types a plain scalar could be mistaken for
 * (PyYAML's resolver.py: bool, float, int, merge, null, timestamp, value). */
static const char *const implicit_patterns[] = {
    "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    "^([-+]?[0-9][0-9_]*\\.[0-9_]*([eE][-+][0-9]+)?|\\.[0-9][0-9_]*([eE][-+][0-9]+)?"
    "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
    "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    "|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
    "^<<$",
    "^(~|null|Null|NULL)$",
    "^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?([Tt]|[ \t]+)[0-9][0-9]?"
    ":[0-9]{2}:[0-9]{2}(\\.[0-9]*)?([ \t]*(Z|[-+][0-9][0-9]?(:[0-9]{2})?))?)$",
    "^=$",
};

/* 1 if plain text s would be read back as something other than a string
 * (or if a pattern fails to compile, which then errs on quoting). */
static int resolves_to_non_string(const char *s)
{
    for (size_t i = 0; i < sizeof implicit_patterns / sizeof implicit_patterns[0]; i++) {
        regex_t re;
        if (regcomp(&re, implicit_patterns[i], REG_EXTENDED | REG_NOSUB))
            return 1;
        int hit = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
        if (hit)
            return 1;
    }
    return 0;
}

/* Decodes one UTF-8 code point at s; returns its length (1..4), or 0 for an
 * invalid sequence (the byte is then taken as is). */
static size_t utf8_decode(const unsigned char *s, unsigned long *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n = (s[0] & 0xE0) == 0xC0   ? 2
               : (s[0] & 0xF0) == 0xE0 ? 3
               : (s[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    if (n == 0)
        return 0;
    unsigned long v = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    static const unsigned long min_of_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min_of_len[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

/* Characters PyYAML writes as they are inside quotes (allow_unicode). */
static int printable(unsigned long cp)
{
    return (cp >= 0x20 && cp <= 0x7E) || (cp >= 0xA0 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

static int is_break(unsigned long cp)
{
    return cp == '\n' || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

typedef enum { STYLE_PLAIN, STYLE_SINGLE, STYLE_DOUBLE } scalar_style;

static scalar_style choose_style(const char *s)
{
    size_t len = strlen(s);
    if (len == 0)
        return STYLE_SINGLE; /* plain "" would read back as null */
    int block_indicators = strncmp(s, "---", 3) == 0 || strncmp(s, "...", 3) == 0;
    int special = 0, breaks = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned long cp;
        size_t n = utf8_decode(u + i, &cp);
        if (n == 0) {
            special = 1;
            i++;
            continue;
        }
        int followed_by_space = i + n >= len || strchr(" \t\r\n", s[i + n]);
        int preceded_by_space = i == 0 || strchr(" \t\r\n", s[i - 1]);
        if (i == 0) {
            if (cp < 0x80 && strchr("#,[]{}&*!|>'\"%@`", (int)cp))
                block_indicators = 1;
            if ((cp == '?' || cp == ':' || cp == '-') && followed_by_space)
                block_indicators = 1;
        } else {
            if (cp == ':' && followed_by_space)
                block_indicators = 1;
            if (cp == '#' && preceded_by_space)
                block_indicators = 1;
        }
        if (is_break(cp))
            breaks = 1;
        else if (!printable(cp))
            special = 1;
        i += n;
    }
    /* A break is written escaped in double quotes, where PyYAML would fold
     * single quotes; both read back the same. */
    if (special || breaks)
        return STYLE_DOUBLE;
    if (s[0] == ' ' || s[len - 1] == ' ' || block_indicators || resolves_to_non_string(s))
        return STYLE_SINGLE;
    return STYLE_PLAIN;
}

/* YAML's short escapes in double quotes. The writer uses the first
 * N_WRITTEN_ESCAPES, as PyYAML does; the reader accepts them all. */
static const struct {
    unsigned long cp;
    const char *text;
} short_escapes[] = {
    {0x00, "\\0"},   {0x07, "\\a"},   {0x08, "\\b"}, {0x09, "\\t"}, {0x0A, "\\n"},  {0x0B, "\\v"},
    {0x0C, "\\f"},   {0x0D, "\\r"},   {0x1B, "\\e"}, {'"', "\\\""}, {'\\', "\\\\"}, {0x85, "\\N"},
    {0x2028, "\\L"}, {0x2029, "\\P"}, {' ', "\\ "},  {'/', "\\/"},  {0xA0, "\\_"},  {'\t', "\\\t"},
};
#define N_WRITTEN_ESCAPES 14

static int append_double_quoted(pdm_buf *b, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (pdm_buf_append(b, "\"", 1))
        return -1;
    for (size_t i = 0; u[i];) {
        unsigned long cp;
        size_t n = utf8_decode(u + i, &cp);
        int rc;
        if (n == 0) {
            rc = pdm_buf_printf(b, "\\x%02X", u[i]);
            n = 1;
        } else {
            const char *esc = NULL;
            for (size_t e = 0; e < N_WRITTEN_ESCAPES && !esc; e++)
                if (short_escapes[e].cp == cp)
                    esc = short_escapes[e].text;
            if (esc)
                rc = pdm_buf_append(b, esc, strlen(esc));
            else if (printable(cp))
                rc = pdm_buf_append(b, s + i, n);
            else if (cp <= 0xFF)
                rc = pdm_buf_printf(b, "\\x%02lX", cp);
            else if (cp <= 0xFFFF)
                rc = pdm_buf_printf(b, "\\u%04lX", cp);
            else
                rc = pdm_buf_printf(b, "\\U%08lX", cp);
        }
        if (rc)
            return -1;
        i += n;
    }
    return pdm_buf_append(b, "\"", 1);
}

int pdm_yaml_scalar_append(pdm_buf *b, const char *s)
{
    switch (choose_style(s)) {
    case STYLE_PLAIN:
        return pdm_buf_append(b, s, strlen(s));
    case STYLE_SINGLE:
        if (pdm_buf_append(b, "'", 1))
            return -1;
        for (const char *p = s; *p; p++) {
            if (pdm_buf_append(b, p, 1) || (*p == '\'' && pdm_buf_append(b, "'", 1)))
                return -1;
        }
        return pdm_buf_append(b, "'", 1);
    case STYLE_DOUBLE:
    default:
        return append_double_quoted(b, s);
    }
}

/* ---- reading ------------------------------------------------------------- */

static int append_utf8(pdm_buf *b, unsigned long cp)
{
    char t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return pdm_buf_append(b, t, n);
}

/* At a line break inside a flow scalar: folds it as YAML does (one break
 * becomes a space, each further empty line a newline), drops the next
 * line's indentation, and returns the position after it. */
static const char *fold_break(pdm_buf *b, const char *p, int *rc)
{
    size_t empty = 0;
    while (*p == '\n') {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\n')
            empty++;
    }
    for (size_t i = 0; i < empty && *rc == 0; i++)
        *rc = pdm_buf_append(b, "\n", 1);
    if (empty == 0 && *rc == 0)
        *rc = pdm_buf_append(b, " ", 1);
    return p;
}

static void trim_trailing_blanks(pdm_buf *b)
{
    while (b->len > 0 && (b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
        b->data[--b->len] = '\0';
}

static int hex_value(const char *p, int digits, unsigned long *out)
{
    unsigned long v = 0;
    for (int i = 0; i < digits; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + (unsigned long)d;
    }
    *out = v;
    return 0;
}

/* Decodes the scalar text starting at p (everything up to the end of its
 * indented continuation lines) into b. Returns 0, 1 if not a scalar, -1. */
static int decode_scalar(const char *p, pdm_buf *b)
{
    int rc = 0;
    if (*p == '\'') {
        for (p++; *p && rc == 0; p++) {
            if (*p == '\'') {
                if (p[1] != '\'')
                    return 0;
                rc = pdm_buf_append(b, "'", 1);
                p++;
            } else if (*p == '\n') {
                trim_trailing_blanks(b);
                p = fold_break(b, p, &rc) - 1;
            } else {
                rc = pdm_buf_append(b, p, 1);
            }
        }
        return rc ? -1 : 1; /* unterminated */
    }
    if (*p == '"') {
        for (p++; *p && rc == 0; p++) {
            if (*p == '"')
                return 0;
            if (*p == '\n') {
                trim_trailing_blanks(b);
                p = fold_break(b, p, &rc) - 1;
            } else if (*p != '\\') {
                rc = pdm_buf_append(b, p, 1);
            } else if (p[1] == '\n') { /* escaped break: join without a space */
                p++;
                while (p[1] == ' ' || p[1] == '\t')
                    p++;
            } else {
                const char *hit = NULL;
                unsigned long cp = 0;
                for (size_t e = 0; e < sizeof short_escapes / sizeof short_escapes[0]; e++)
                    if (p[1] && short_escapes[e].text[1] == p[1]) {
                        hit = short_escapes[e].text;
                        cp = short_escapes[e].cp;
                    }
                int digits = p[1] == 'x' ? 2 : p[1] == 'u' ? 4 : p[1] == 'U' ? 8 : 0;
                if (hit) {
                    rc = append_utf8(b, cp);
                    p++;
                } else if (digits && hex_value(p + 2, digits, &cp) == 0) {
                    rc = append_utf8(b, cp);
                    p += 1 + digits;
                } else {
                    return 1;
                }
            }
        }
        return rc ? -1 : 1;
    }
    if (*p == '\0' || strchr("[{|>&*!", *p))
        return 1; /* null, a collection, a block scalar or a node property */
    for (; *p && rc == 0; p++) {
        if (*p == '\n') {
            trim_trailing_blanks(b);
            p = fold_break(b, p, &rc) - 1;
        } else if (*p == '#' && b->len > 0 && (p[-1] == ' ' || p[-1] == '\t')) {
            while (*p && *p != '\n') /* a comment ends this line's text */
                p++;
            p--;
        } else {
            rc = pdm_buf_append(b, p, 1);
        }
    }
    trim_trailing_blanks(b);
    return rc ? -1 : 0;
}

int pdm_yaml_get(const char *doc, const char *key, char **out)
{
    size_t klen = strlen(key);
    const char *line = doc;
    *out = NULL;
    while (line && *line) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
            (line[klen + 1] == ' ' || line[klen + 1] == '\n' || line[klen + 1] == '\0'))
            break;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    if (!line || !*line)
        return 1;
    const char *start = line + klen + 1;
    while (*start == ' ' || *start == '\t')
        start++;
    /* The scalar runs over the following lines while they are indented
     * (or empty and followed by an indented one). */
    const char *end = strchr(start, '\n');
    while (end) {
        const char *next = end + 1;
        while (*next == '\n')
            next++;
        if (*next != ' ' && *next != '\t')
            break;
        end = strchr(next, '\n');
    }
    size_t len = end ? (size_t)(end - start) : strlen(start);
    char *text = malloc(len + 1);
    if (!text)
        return -1;
    memcpy(text, start, len);
    text[len] = '\0';
    const char *p = text;
    while (*p == '\n' || *p == ' ' || *p == '\t') /* value on the next line */
        p++;
    pdm_buf b = {0};
    int rc = decode_scalar(p, &b);
    free(text);
    if (rc == 0 && pdm_buf_reserve(&b, 0))
        rc = -1;
    if (rc == 0) {
        b.data[b.len] = '\0';
        *out = b.data;
    } else
        pdm_buf_free(&b);
    return rc;
}
