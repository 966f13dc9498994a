/* io.c: writing whole buffers to descriptors and replacing files atomically,
 * shared by the modules that did each on their own (tracking, pdm-retrain's
 * state, the broker's control socket, pdm-retrain's HTTP request). */
#include "pdm_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int pdm_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    int socket_fd = 1; /* until send() says otherwise */
    while (len > 0) {
        /* send() on a socket, so that a peer gone away is an EPIPE error
         * and not a SIGPIPE that kills the process; write() on the rest */
        ssize_t w = socket_fd ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
        if (w < 0 && socket_fd && errno == ENOTSOCK) {
            socket_fd = 0;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int pdm_write_file_atomic(const char *path, const void *data, size_t len, char *errstr,
                          size_t errlen)
{
    int rc = -1, fd = -1;
    size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    char *tmp = malloc(n);
    if (!tmp)
        return pdm_err(errstr, errlen, "out of memory");
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        pdm_err(errstr, errlen, "create %s: %s", tmp, strerror(errno));
        tmp[0] = '\0'; /* nothing to remove */
        goto out;
    }
    if (fchmod(fd, 0644) || pdm_write_all(fd, data, len) || fsync(fd)) {
        pdm_err(errstr, errlen, "write %s: %s", tmp, strerror(errno));
        goto out;
    }
    int closed = close(fd);
    fd = -1;
    if (closed) {
        pdm_err(errstr, errlen, "close %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path)) {
        pdm_err(errstr, errlen, "rename %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc && tmp[0])
        unlink(tmp);
    free(tmp);
    return rc;
}
