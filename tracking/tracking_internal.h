/* tracking_internal.h: the YAML scalar writer and reader behind the
 * meta.yaml files (exposed for the unit tests, not part of the API). */
#ifndef PDM_TRACKING_INTERNAL_H
#define PDM_TRACKING_INTERNAL_H

#include "pdm_common.h"

/* Appends s (UTF-8) as PyYAML's safe_dump writes a str in block context:
 * plain when plain text would read back as the same string, '...' when
 * quotes suffice, "..." with escapes for control characters and breaks.
 * Returns 0, or -1 if out of memory. */
int pdm_yaml_scalar_append(pdm_buf *b, const char *s);

/* Finds the top-level "key: value" line of a block-mapping document and
 * decodes its scalar (plain, single- or double-quoted, possibly continued
 * on indented lines). Returns 0 with *out malloc'ed, 1 if the key is absent
 * or its value is not a scalar, -1 if out of memory. */
int pdm_yaml_get(const char *doc, const char *key, char **out);

#endif
