/* tracking_internal.h: what the module's files share (the run's struct,
 * paths and files, the experiment lookup) and the YAML writer and reader
 * behind the meta.yaml files (exposed for the unit tests, not part of the
 * API). */
#ifndef PDM_TRACKING_INTERNAL_H
#define PDM_TRACKING_INTERNAL_H

#include "pdm_common.h"
#include "pdm_tracking.h"

#include <stddef.h>
#include <stdint.h>

#define DEFAULT_EXPERIMENT_NAME "Default"
#define MAX_TAG_VALUE_LEN 5000

struct pdm_tracking_run {
    char *root; /* absolute store directory */
    char *experiment_id;
    char run_id[33];
    char *run_name;
    char *user;
    char *run_dir;
    char *artifact_uri;
    int64_t start_time;
    int ended;
};

/* ---- paths.c ---- */

/* malloc'ed printf, NULL if out of memory. */
char *pdm_tracking_str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes data to path (open flags O_TRUNC or O_APPEND), creating the
 * directories leading to it. Returns 0, or -1 with errstr. */
int pdm_tracking_write_file(const char *path, const char *data, size_t len, int flags, char *errstr,
                            size_t errlen);

/* pathlib.Path(path).as_uri(), malloc'ed; NULL if out of memory. */
char *pdm_tracking_file_uri(const char *path);

/* 1 if rel is a relative path that posixpath.normpath leaves unchanged and
 * that does not start with "..", else 0. */
int pdm_tracking_path_is_normal(const char *rel);

/* ---- tracking.c ---- */

/* 0 while run accepts logs, else -1 with errstr. */
int pdm_tracking_run_check_active(const pdm_tracking_run *run, char *errstr, size_t errlen);

/* ---- experiment.c ---- */

/* With the store locked: makes sure "Default" (0) and .trash exist, then
 * finds or creates the experiment called name. Returns 0 with *id_out
 * malloc'ed, or -1 with errstr. */
int pdm_tracking_experiment_resolve(const char *root, const char *name, char **id_out, char *errstr,
                                    size_t errlen);

/* ---- yaml.c ---- */

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
