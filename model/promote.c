/* promote.c: which model is current, and the rule for replacing it.
 *
 * MODELS_DIR/current is a relative symlink to a version directory inside
 * MODELS_DIR, so the whole directory can be moved or mounted elsewhere. It
 * is replaced by creating the new link under a temporary name and renaming
 * it over "current": rename() is atomic, so a reader (the scorer reloading
 * its model) always finds the old or the new package, never nothing. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pdm_model.h"

#define CURRENT_LINK "current"

/* A metric may not drop by more than rounding noise. */
static int not_worse(double candidate, double current)
{
    if (isnan(current))
        return 1;
    return !isnan(candidate) && candidate >= current - 1e-12;
}

int pdm_model_promotion_decide(const pdm_eval *candidate, const pdm_eval *current, char *reason,
                               size_t reason_len)
{
    int f1_ok = not_worse(candidate->macro_f1, current->macro_f1);
    int pr_ok = not_worse(candidate->pr_auc, current->pr_auc);
    snprintf(reason, reason_len,
             "macro F1 %.4f vs current %.4f (%s), PR AUC %.4f vs current %.4f (%s): %s",
             candidate->macro_f1, current->macro_f1, f1_ok ? "not worse" : "worse",
             candidate->pr_auc, current->pr_auc, pr_ok ? "not worse" : "worse",
             f1_ok && pr_ok ? "promote" : "keep the current model");
    return f1_ok && pr_ok;
}

int pdm_model_current(const char *models_dir, char *path, size_t path_len, char *errstr,
                      size_t errlen)
{
    char link[4096], target[4096];
    struct stat st;

    if ((size_t)snprintf(link, sizeof link, "%s/%s", models_dir, CURRENT_LINK) >= sizeof link)
        return pdm_err(errstr, errlen, "path too long: %s", models_dir);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) {
        if (errno == ENOENT)
            return 1;
        return pdm_err(errstr, errlen, "%s: %s", link,
                       errno == EINVAL ? "not a symbolic link" : strerror(errno));
    }
    target[n] = '\0';
    int written = target[0] == '/' ? snprintf(path, path_len, "%s", target)
                                   : snprintf(path, path_len, "%s/%s", models_dir, target);
    if (written < 0 || (size_t)written >= path_len)
        return pdm_err(errstr, errlen, "path too long: %s -> %s", link, target);
    if (stat(path, &st))
        return pdm_err(errstr, errlen,
                       "%s points to %s, which %s (a dangling link: point it at a package, e.g. "
                       "with pdm-model-rollback)",
                       link, target, errno == ENOENT ? "does not exist" : strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return pdm_err(errstr, errlen, "%s points to %s, which is not a directory", link, target);
    return 0;
}

int pdm_model_make_current(const char *models_dir, const char *version_dir, char *errstr,
                           size_t errlen)
{
    return pdm_model_make_link(models_dir, CURRENT_LINK, version_dir, errstr, errlen);
}

int pdm_model_make_link(const char *models_dir, const char *name, const char *version_dir,
                        char *errstr, size_t errlen)
{
    char link[4096], tmp[4096], dir[4096];
    struct stat st;

    if (!version_dir[0] || strchr(version_dir, '/') || version_dir[0] == '.')
        return pdm_err(errstr, errlen, "'%s' is not a directory name inside %s", version_dir,
                       models_dir);
    if ((size_t)snprintf(link, sizeof link, "%s/%s", models_dir, name) >= sizeof link ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.tmp-%ld", models_dir, name,
                         (long)getpid()) >= sizeof tmp ||
        (size_t)snprintf(dir, sizeof dir, "%s/%s", models_dir, version_dir) >= sizeof dir)
        return pdm_err(errstr, errlen, "path too long: %s", models_dir);
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return pdm_err(errstr, errlen, "%s is not a directory", dir);
    unlink(tmp); /* left over by a crashed run */
    if (symlink(version_dir, tmp))
        return pdm_err(errstr, errlen, "cannot create link %s: %s", tmp, strerror(errno));
    if (rename(tmp, link)) {
        int e = errno;
        unlink(tmp);
        return pdm_err(errstr, errlen, "cannot replace %s: %s", link, strerror(e));
    }
    int fd = open(models_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return 0;
}
