/* paths.c: the store's paths and files, and the names MLflow accepts as
 * keys (run tracking in tracking.c, experiments in experiment.c, artifacts
 * in artifacts.c). */
#include "pdm_tracking.h"

#include "pdm_common.h"
#include "tracking_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_KEY_LEN 250

/* malloc'ed printf, NULL if out of memory. */
char *pdm_tracking_str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Creates the directories leading to path (a file path). */
static int make_parent_dirs(const char *path, char *errstr, size_t errlen)
{
    char *dir = strdup(path);
    if (!dir)
        return pdm_err(errstr, errlen, "out of memory");
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = pdm_mkdirs(dir, errstr, errlen);
    }
    free(dir);
    return rc;
}

int pdm_tracking_write_file(const char *path, const char *data, size_t len, int flags, char *errstr,
                            size_t errlen)
{
    if (make_parent_dirs(path, errstr, errlen))
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (fd < 0)
        return pdm_err(errstr, errlen, "open %s: %s", path, strerror(errno));
    int rc = pdm_write_all(fd, data, len);
    if (close(fd))
        rc = -1;
    if (rc)
        return pdm_err(errstr, errlen, "write %s: %s", path, strerror(errno));
    return 0;
}

/* pathlib.Path(path).as_uri(): file:// and the path percent-encoded, '/'
 * and the unreserved characters kept. */
char *pdm_tracking_file_uri(const char *path)
{
    pdm_buf b = {0};
    int rc = pdm_buf_append(&b, "file://", 7);
    for (const unsigned char *p = (const unsigned char *)path; *p && rc == 0; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("/_.-~", *p))
            rc = pdm_buf_append(&b, p, 1);
        else
            rc = pdm_buf_printf(&b, "%%%02X", *p);
    }
    if (rc) {
        pdm_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* 1 if rel is a relative path that posixpath.normpath leaves unchanged and
 * that does not start with "..": no leading or trailing '/', no empty,
 * "." or ".." component. */
int pdm_tracking_path_is_normal(const char *rel)
{
    if (*rel == '\0' || *rel == '/' || strncmp(rel, "..", 2) == 0)
        return 0;
    const char *c = rel;
    for (;;) {
        const char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        if (!slash)
            return 1;
        c = slash + 1;
    }
}

int pdm_tracking_key_validate(const char *key, char *errstr, size_t errlen)
{
    if (!key || !*key)
        return pdm_err(errstr, errlen, "a key name must be provided");
    size_t len = strlen(key);
    if (len > MAX_KEY_LEN)
        return pdm_err(errstr, errlen, "key '%.40s...' has %zu bytes, more than %d", key, len,
                       MAX_KEY_LEN);
    for (const char *p = key; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ' ' || c == '/'))
            return pdm_err(errstr, errlen,
                           "invalid key '%s': names may only contain alphanumerics, underscores "
                           "(_), dashes (-), periods (.), spaces ( ), and slashes (/)",
                           key);
    }
    if (!pdm_tracking_path_is_normal(key))
        return pdm_err(errstr, errlen,
                       "invalid key '%s': names are file paths and must not resolve to other "
                       "names (no leading, trailing or double '/', no '.' or '..' component)",
                       key);
    return 0;
}
