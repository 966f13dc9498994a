/* yaml.c: the meta.yaml files of MLflow's file store.
 *
 * MLflow writes them with PyYAML (safe_dump, block style, sorted keys,
 * allow_unicode) and reads them with safe_load. They are written here with
 * libyaml's emitter, the one PyYAML's C dumper uses, so the layout, the
 * quoting and the escapes are PyYAML's. One decision is the dumper's and
 * not the emitter's: whether a string may be written plain. PyYAML's
 * serializer asks its resolver whether the plain text would read back as a
 * str (implicit[0]); a string that would read as a number, bool, null or
 * date ("0", "yes", "") must be quoted. pdm_yaml_plain_is_non_string() is
 * that question, with PyYAML's YAML 1.1 implicit resolvers (resolver.py)
 * as regular expressions; everything else (indicators, spaces, breaks,
 * non-printable characters, folding at 80 columns) the emitter decides.
 * Where libyaml 0.2.5 and PyYAML's pure-Python emitter (what safe_dump
 * runs) differ, the text differs but loads to the same string: libyaml
 * escapes characters beyond U+FFFF and U+0085 in double quotes, where
 * PyYAML writes them as they are, and folds a long double-quoted line at
 * a space, where PyYAML may fold anywhere with an escaped break.
 * The reader only needs the scalars of a flat mapping, which is all the
 * experiment lookup reads back.
 */
#include "tracking_internal.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* The YAML 1.1 types PyYAML's resolver gives a plain scalar other than str
 * (resolver.py: bool, float, int, merge, null, timestamp, value). */
static const char *const implicit_patterns[] = {
    /* bool */
    "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    /* float */
    "^([-+]?[0-9][0-9_]*\\.[0-9_]*([eE][-+][0-9]+)?|\\.[0-9][0-9_]*([eE][-+][0-9]+)?"
    "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
    /* int */
    "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    "|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
    /* merge */
    "^<<$",
    /* null (the empty scalar included) */
    "^(~|null|Null|NULL|)$",
    /* timestamp */
    "^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?([Tt]|[ \t]+)[0-9][0-9]?"
    ":[0-9]{2}:[0-9]{2}(\\.[0-9]*)?([ \t]*(Z|[-+][0-9][0-9]?(:[0-9]{2})?))?)$",
    /* value */
    "^=$",
};

int pdm_yaml_plain_is_non_string(const char *s)
{
    for (size_t i = 0; i < sizeof implicit_patterns / sizeof implicit_patterns[0]; i++) {
        regex_t re;
        if (regcomp(&re, implicit_patterns[i], REG_EXTENDED | REG_NOSUB))
            return 1; /* cannot tell: quoting is always safe */
        int hit = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
        if (hit)
            return 1;
    }
    return 0;
}

static int buf_output(void *data, unsigned char *buffer, size_t size)
{
    return pdm_buf_append(data, buffer, size) == 0;
}

/* A scalar event. A string may be plain only if it reads back as a string
 * (PyYAML's implicit[0]); quoted it always does. Any other value is
 * written plain as given. */
static int emit_scalar(yaml_emitter_t *e, const char *s, int is_string)
{
    yaml_event_t ev;
    int plain_implicit = !is_string || !pdm_yaml_plain_is_non_string(s);
    return yaml_scalar_event_initialize(
               &ev, NULL, NULL, (yaml_char_t *)s, -1, plain_implicit, is_string,
               is_string ? YAML_ANY_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE) &&
           yaml_emitter_emit(e, &ev);
}

static int emit_value(yaml_emitter_t *e, const pdm_yaml_field *f)
{
    yaml_event_t ev;
    switch (f->kind) {
    case PDM_YAML_STR:
        return emit_scalar(e, f->value, 1);
    case PDM_YAML_PLAIN:
        return emit_scalar(e, f->value, 0);
    case PDM_YAML_EMPTY_LIST:
    default:
        return yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_SEQUENCE_STYLE) &&
               yaml_emitter_emit(e, &ev) && yaml_sequence_end_event_initialize(&ev) &&
               yaml_emitter_emit(e, &ev);
    }
}

int pdm_yaml_write_mapping(pdm_buf *b, const pdm_yaml_field *fields, size_t n, char *errstr,
                           size_t errlen)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    size_t i = 0;

    if (!yaml_emitter_initialize(&e))
        return pdm_err(errstr, errlen, "out of memory");
    yaml_emitter_set_output(&e, buf_output, b);
    yaml_emitter_set_unicode(&e, 1);
    int ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
             yaml_emitter_emit(&e, &ev) &&
             yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
             yaml_emitter_emit(&e, &ev) &&
             yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) &&
             yaml_emitter_emit(&e, &ev);
    for (; ok && i < n; i++)
        ok = emit_scalar(&e, fields[i].key, 1) && emit_value(&e, &fields[i]);
    ok = ok && yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(&e, &ev) &&
         yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&e, &ev) &&
         yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&e, &ev);
    int rc = 0;
    if (!ok) {
        if (e.error == YAML_MEMORY_ERROR || e.error == YAML_WRITER_ERROR)
            rc = pdm_err(errstr, errlen, "out of memory");
        else if (e.error != YAML_NO_ERROR)
            rc = pdm_err(errstr, errlen, "YAML emitter: %s", e.problem ? e.problem : "error");
        else /* an event libyaml would not make: the text is not UTF-8 */
            rc = pdm_err(errstr, errlen, "%s: not valid UTF-8 (or out of memory)",
                         i > 0 ? fields[i - 1].key : "YAML");
    }
    yaml_emitter_delete(&e);
    return rc;
}

/* YAML's short escapes in double quotes. */
static const struct {
    unsigned long cp;
    const char *text;
} short_escapes[] = {
    {0x00, "\\0"},   {0x07, "\\a"},   {0x08, "\\b"}, {0x09, "\\t"}, {0x0A, "\\n"},  {0x0B, "\\v"},
    {0x0C, "\\f"},   {0x0D, "\\r"},   {0x1B, "\\e"}, {'"', "\\\""}, {'\\', "\\\\"}, {0x85, "\\N"},
    {0x2028, "\\L"}, {0x2029, "\\P"}, {' ', "\\ "},  {'/', "\\/"},  {0xA0, "\\_"},  {'\t', "\\\t"},
};

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
