/* artifacts.c: copying files and directory trees into a run's artifacts
 * directory (pdm_tracking_log_artifact(s)). */
#include "pdm_tracking.h"

#include "pdm_common.h"
#include "tracking_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_COPY_DEPTH 64

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* An artifact subpath: relative, normalised, no control characters. */
static int artifact_subpath_validate(const char *sub, char *errstr, size_t errlen)
{
    for (const unsigned char *p = (const unsigned char *)sub; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return pdm_err(errstr, errlen, "artifact path has a control character");
    if (!pdm_tracking_path_is_normal(sub))
        return pdm_err(errstr, errlen,
                       "invalid artifact path '%s': must be relative, without '.', '..' or "
                       "empty components",
                       sub);
    return 0;
}

static int copy_file(const char *src, const char *dst, mode_t mode, char *errstr, size_t errlen)
{
    int rc = -1, in = -1, out_fd = -1;
    char buf[65536];
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        pdm_err(errstr, errlen, "open %s: %s", src, strerror(errno));
        goto out;
    }
    out_fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 0777);
    if (out_fd < 0) {
        pdm_err(errstr, errlen, "create %s: %s", dst, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            pdm_err(errstr, errlen, "read %s: %s", src, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        if (pdm_write_all(out_fd, buf, (size_t)r)) {
            pdm_err(errstr, errlen, "write %s: %s", dst, strerror(errno));
            goto out;
        }
    }
    if (close(out_fd)) {
        out_fd = -1;
        pdm_err(errstr, errlen, "close %s: %s", dst, strerror(errno));
        goto out;
    }
    out_fd = -1;
    rc = 0;
out:
    if (in >= 0)
        close(in);
    if (out_fd >= 0)
        close(out_fd);
    return rc;
}

static int copy_tree(const char *src, const char *dst, int depth, char *errstr, size_t errlen)
{
    if (depth > MAX_COPY_DEPTH)
        return pdm_err(errstr, errlen, "%s: deeper than %d levels (a symlink loop?)", src,
                       MAX_COPY_DEPTH);
    if (pdm_mkdirs(dst, errstr, errlen))
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return pdm_err(errstr, errlen, "opendir %s: %s", src, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *s = pdm_tracking_str_printf("%s/%s", src, e->d_name);
        char *t = pdm_tracking_str_printf("%s/%s", dst, e->d_name);
        struct stat st;
        if (!s || !t)
            rc = pdm_err(errstr, errlen, "out of memory");
        else if (stat(s, &st))
            rc = pdm_err(errstr, errlen, "stat %s: %s", s, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = copy_tree(s, t, depth + 1, errstr, errlen);
        else if (S_ISREG(st.st_mode))
            rc = copy_file(s, t, st.st_mode, errstr, errlen);
        /* sockets, fifos and devices are not artifacts: skipped */
        free(s);
        free(t);
    }
    closedir(d);
    return rc;
}

static char *artifact_dest(const pdm_tracking_run *run, const char *sub, char *errstr,
                           size_t errlen)
{
    if (sub && *sub && artifact_subpath_validate(sub, errstr, errlen))
        return NULL;
    char *dst = sub && *sub ? pdm_tracking_str_printf("%s/artifacts/%s", run->run_dir, sub)
                            : pdm_tracking_str_printf("%s/artifacts", run->run_dir);
    if (!dst)
        pdm_err(errstr, errlen, "out of memory");
    return dst;
}

int pdm_tracking_log_artifacts(pdm_tracking_run *run, const char *src_dir,
                               const char *artifact_subpath, char *errstr, size_t errlen)
{
    if (pdm_tracking_run_check_active(run, errstr, errlen))
        return -1;
    if (!src_dir || !is_dir(src_dir))
        return pdm_err(errstr, errlen, "%s: not a directory", src_dir ? src_dir : "(null)");
    char *dst = artifact_dest(run, artifact_subpath, errstr, errlen);
    if (!dst)
        return -1;
    int rc = copy_tree(src_dir, dst, 0, errstr, errlen);
    free(dst);
    return rc;
}

int pdm_tracking_log_artifact(pdm_tracking_run *run, const char *src_file,
                              const char *artifact_subpath, char *errstr, size_t errlen)
{
    struct stat st;
    if (pdm_tracking_run_check_active(run, errstr, errlen))
        return -1;
    if (!src_file || stat(src_file, &st) || !S_ISREG(st.st_mode))
        return pdm_err(errstr, errlen, "%s: not a regular file", src_file ? src_file : "(null)");
    char *dir = artifact_dest(run, artifact_subpath, errstr, errlen);
    if (!dir)
        return -1;
    const char *base = strrchr(src_file, '/');
    base = base ? base + 1 : src_file;
    char *dst = pdm_tracking_str_printf("%s/%s", dir, base);
    int rc = -1;
    if (!dst)
        pdm_err(errstr, errlen, "out of memory");
    else if (pdm_mkdirs(dir, errstr, errlen) == 0)
        rc = copy_file(src_file, dst, st.st_mode, errstr, errlen);
    free(dst);
    free(dir);
    return rc;
}
