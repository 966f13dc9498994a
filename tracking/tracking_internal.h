/* tracking_internal.h: the YAML writer and reader behind the meta.yaml
 * files (exposed for the unit tests, not part of the API). */
#ifndef PDM_TRACKING_INTERNAL_H
#define PDM_TRACKING_INTERNAL_H

#include "pdm_common.h"

typedef enum {
    PDM_YAML_STR,       /* a string: reads back as this same string */
    PDM_YAML_PLAIN,     /* another scalar (an integer, null), written plain as given */
    PDM_YAML_EMPTY_LIST /* [] (value unused) */
} pdm_yaml_kind;

/* One "key: value" line of a flat meta.yaml mapping. */
typedef struct {
    const char *key;
    pdm_yaml_kind kind;
    const char *value;
} pdm_yaml_field;

/* Appends the block mapping of fields, in their order (sorted by key, as
 * MLflow's sort_keys=True writes them), as PyYAML's safe_dump with
 * allow_unicode writes it. Keys and values are UTF-8. Returns 0, or -1 with
 * errstr (not UTF-8, out of memory). */
int pdm_yaml_write_mapping(pdm_buf *b, const pdm_yaml_field *fields, size_t n, char *errstr,
                           size_t errlen);

/* 1 if s written as a plain scalar would be read back by a YAML 1.1 loader
 * (PyYAML's safe_load) as something other than a string (a bool, number,
 * null, timestamp, merge or value key), so that it must be quoted; else 0. */
int pdm_yaml_plain_is_non_string(const char *s);

/* The value of key in the top-level mapping of a YAML document, as text
 * (any scalar style, escapes and folding decoded). Returns 0 with *out
 * malloc'ed, 1 if the key is absent, its value is not a scalar (null, a
 * collection, an alias) or doc is not YAML, -1 if out of memory. */
int pdm_yaml_get(const char *doc, const char *key, char **out);

#endif
