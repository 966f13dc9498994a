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
 * The experiment lookup reads the files back with libyaml's parser.
 */
#include "tracking_internal.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- writing ------------------------------------------------------------- */

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

/* ---- reading ------------------------------------------------------------- */

int pdm_yaml_get(const char *doc, const char *key, char **out)
{
    yaml_parser_t p;
    yaml_event_t ev;
    size_t klen = strlen(key);
    int rc = 1, depth = 0, at_key = 1, matched = 0, done = 0;

    *out = NULL;
    if (!yaml_parser_initialize(&p))
        return -1;
    yaml_parser_set_input_string(&p, (const unsigned char *)doc, strlen(doc));
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = p.error == YAML_MEMORY_ERROR ? -1 : 1; /* not YAML: no such key */
            break;
        }
        yaml_event_type_t t = ev.type;
        if (depth == 1 && matched) {
            /* The key's value: a scalar, unless it is null (empty plain). */
            if (t == YAML_SCALAR_EVENT &&
                (ev.data.scalar.length > 0 || ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)) {
                *out = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
                rc = *out ? 0 : -1;
            }
            done = 1;
        } else if (depth == 1 && at_key && t == YAML_SCALAR_EVENT) {
            matched = ev.data.scalar.length == klen && memcmp(ev.data.scalar.value, key, klen) == 0;
        }
        if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT)
            depth++;
        else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT)
            depth--;
        /* A node of the top mapping is complete: keys and values alternate. */
        if (depth == 1 && (t == YAML_SCALAR_EVENT || t == YAML_ALIAS_EVENT ||
                           t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT))
            at_key = !at_key;
        /* Only the first document's top-level mapping is searched. */
        if (t == YAML_DOCUMENT_END_EVENT || t == YAML_STREAM_END_EVENT ||
            (depth == 0 && (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT)))
            done = 1;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}
