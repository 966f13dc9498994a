/* http_test_client.h: a tiny raw-socket HTTP client for the http module's
 * unit tests (no libcurl), so that tests send exactly the bytes a
 * misbehaving client would. Included by one test program each. */
#ifndef PDM_HTTP_TEST_CLIENT_H
#define PDM_HTTP_TEST_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>

/* ==== a tiny client ======================================================== */

typedef struct {
    int status; /* 0: no response */
    int closed; /* the server closed the connection */
    char head[4096];
    char body[65536];
    size_t body_len;
} reply;

static inline int connect_to(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static inline void send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the server may have closed early: reading tells */
        p += n;
        len -= (size_t)n;
    }
}

/* Waits up to ms for fd to be readable (or closed). */
static inline int readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) > 0;
}

static inline const char *header_of(const reply *r, const char *name)
{
    static _Thread_local char value[512];
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ')
                v++;
            size_t k = strcspn(v, "\r\n");
            snprintf(value, sizeof value, "%.*s", (int)k, v);
            return value;
        }
    }
    return NULL;
}

/* Reads one response (head, then Content-Length bytes of body), waiting up
 * to ms. Extra bytes of a next response stay in *carry. */
static inline void read_reply_from(int fd, reply *r, int ms, char *carry, size_t *carry_len)
{
    memset(r, 0, sizeof *r);
    static _Thread_local char buf[1 << 17];
    size_t len = 0;
    if (carry && *carry_len) {
        memcpy(buf, carry, *carry_len);
        len = *carry_len;
        *carry_len = 0;
    }
    size_t head_len = 0, want = 0;
    int have_head = 0;
    for (;;) {
        if (!have_head) {
            char *end = NULL;
            for (size_t i = 0; i + 4 <= len && !end; i++)
                if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
                    end = buf + i;
            if (end) {
                head_len = (size_t)(end - buf) + 4;
                snprintf(r->head, sizeof r->head, "%.*s", (int)head_len, buf);
                have_head = 1;
                sscanf(r->head, "HTTP/1.%*d %d", &r->status);
                const char *cl = header_of(r, "Content-Length");
                want = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
            }
        }
        if (have_head && len - head_len >= want)
            break;
        if (!readable(fd, ms))
            break;
        ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
        if (n <= 0) {
            r->closed = 1;
            break;
        }
        len += (size_t)n;
    }
    if (!have_head)
        return;
    size_t avail = len - head_len < want ? len - head_len : want;
    memcpy(r->body, buf + head_len, avail < sizeof r->body - 1 ? avail : sizeof r->body - 1);
    r->body_len = avail;
    if (carry && len > head_len + want) {
        *carry_len = len - head_len - want;
        memcpy(carry, buf + head_len + want, *carry_len);
    }
}

/* One request on a new connection. */
static inline void request_raw(unsigned port, const char *raw, size_t len, reply *r)
{
    int fd = connect_to(port);
    send_all(fd, raw, len);
    read_reply_from(fd, r, 5000, NULL, NULL);
    close(fd);
}

static inline void request(unsigned port, const char *method, const char *path, const char *auth,
                           const char *body, reply *r)
{
    char raw[8192];
    int n = snprintf(raw, sizeof raw,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, auth ? "Authorization: " : "", auth ? auth : "",
                     auth ? "\r\n" : "", body ? strlen(body) : 0, body ? body : "");
    assert_true(n > 0 && (size_t)n < sizeof raw);
    request_raw(port, raw, (size_t)n, r);
}

/* The body is a JSON object {"error": "..."}; returns the message. */
static inline const char *error_message(const reply *r)
{
    static _Thread_local char msg[512];
    cJSON *j = cJSON_Parse(r->body);
    if (!j)
        fail_msg("error body is not JSON: %s", r->body);
    cJSON *e = cJSON_GetObjectItem(j, "error");
    if (!cJSON_IsString(e))
        fail_msg("no \"error\" string in %s", r->body);
    snprintf(msg, sizeof msg, "%s", e->valuestring);
    cJSON_Delete(j);
    assert_non_null(strstr(r->head, "application/json"));
    return msg;
}

#endif
