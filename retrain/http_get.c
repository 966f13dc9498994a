/* http_get.c: the one HTTP request pdm-retrain makes, GET of a scorer API
 * path over plain HTTP/1.1 (Connection: close, the body read to the end
 * and cut at its Content-Length). The scorer's API answers with a
 * Content-Length and no chunking; an API behind TLS is reached through a
 * local proxy (README, "The retraining loop"). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "retrain_internal.h"

#define MAX_RESPONSE (8u << 20)

/* "http://HOST:PORT[/...]" into host and port. */
static int split_url(const char *url, char *host, size_t hlen, char *port, size_t plen,
                     char *errstr, size_t errlen)
{
    static const char scheme[] = "http://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return pdm_err(errstr, errlen, "--scorer: '%s' is not an http:// URL", url);
    const char *h = url + sizeof scheme - 1;
    size_t n = strcspn(h, "/");
    const char *colon = memchr(h, ':', n);
    size_t hn = colon ? (size_t)(colon - h) : n;
    size_t pn = colon ? n - hn - 1 : 2;
    if (hn == 0 || hn >= hlen || pn == 0 || pn >= plen)
        return pdm_err(errstr, errlen, "--scorer: '%s' has no HOST[:PORT]", url);
    memcpy(host, h, hn);
    host[hn] = '\0';
    if (colon) {
        memcpy(port, colon + 1, pn);
        port[pn] = '\0';
    } else {
        snprintf(port, plen, "80");
    }
    return 0;
}

static int connect_to(const char *host, const char *port, int timeout_ms, char *errstr,
                      size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int e = getaddrinfo(host, port, &hints, &res);
    if (e)
        return pdm_err(errstr, errlen, "%s:%s: %s", host, port, gai_strerror(e));
    int fd = -1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen)) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return pdm_err(errstr, errlen, "cannot connect to %s:%s: %s", host, port, strerror(e));
    return fd;
}

/* Splits a whole response into status and body (moved to the front). */
static int parse_response(pdm_buf *b, int *status, char *errstr, size_t errlen)
{
    char *end = strstr(b->data, "\r\n\r\n");
    if (!end || sscanf(b->data, "HTTP/1.%*d %d", status) != 1)
        return pdm_err(errstr, errlen, "not an HTTP response");
    *end = '\0';
    const char *body = end + 4;
    size_t body_len = b->len - (size_t)(body - b->data);
    for (char *line = strstr(b->data, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, "Transfer-Encoding:", 18) == 0)
            return pdm_err(errstr, errlen, "chunked responses are not read");
        unsigned long long cl;
        if (strncasecmp(h, "Content-Length:", 15) == 0 && sscanf(h + 15, " %llu", &cl) == 1) {
            if (cl > body_len)
                return pdm_err(errstr, errlen, "the body ends early (%zu of %llu bytes)", body_len,
                               cl);
            body_len = (size_t)cl;
        }
    }
    memmove(b->data, body, body_len);
    b->len = body_len;
    b->data[body_len] = '\0';
    return 0;
}

int retrain_http_get(const char *base_url, const char *path, const char *token, int timeout_ms,
                     int *status, pdm_buf *body, char *errstr, size_t errlen)
{
    char host[256], port[16], err[PDM_ERRSTR_SIZE];
    pdm_buf req = {0};
    int fd = -1, rc = -1;

    body->len = 0;
    if (split_url(base_url, host, sizeof host, port, sizeof port, errstr, errlen))
        goto out;
    if (pdm_buf_printf(&req, "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n", path, host,
                       port) ||
        (token && token[0] && pdm_buf_printf(&req, "Authorization: Bearer %s\r\n", token)) ||
        pdm_buf_printf(&req, "\r\n")) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    fd = connect_to(host, port, timeout_ms, err, sizeof err);
    if (fd < 0) {
        pdm_err(errstr, errlen, "GET %s%s: %s", base_url, path, err);
        goto out;
    }
    if (pdm_write_all(fd, req.data, req.len)) {
        pdm_err(errstr, errlen, "GET %s%s: send: %s", base_url, path, strerror(errno));
        goto out;
    }
    for (;;) {
        if (pdm_buf_reserve(body, 4096)) {
            pdm_err(errstr, errlen, "out of memory");
            goto out;
        }
        ssize_t r = recv(fd, body->data + body->len, body->cap - body->len - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            pdm_err(errstr, errlen, "GET %s%s: %s", base_url, path,
                    errno == EAGAIN ? "timed out" : strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        body->len += (size_t)r;
        if (body->len > MAX_RESPONSE) {
            pdm_err(errstr, errlen, "GET %s%s: response above %u bytes", base_url, path,
                    MAX_RESPONSE);
            goto out;
        }
    }
    if (pdm_buf_reserve(body, 1)) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    body->data[body->len] = '\0';
    if (parse_response(body, status, err, sizeof err)) {
        pdm_err(errstr, errlen, "GET %s%s: %s", base_url, path, err);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    pdm_buf_free(&req);
    return rc;
}
