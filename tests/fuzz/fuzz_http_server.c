/* fuzz_http_server: whole HTTP requests, as raw bytes from a client, sent
 * over loopback to a pdm_http server running in this process (so ASan and
 * UBSan watch the server's threads and the coverage guides the fuzzer):
 * libmicrohttpd's request parsing, then pdm_http's routing, bearer token,
 * body limits and the request helpers, up to handlers like the scorer's.
 *
 * Routes: GET /healthz; GET /v1/machines/<id> (prefix; parses the id, reads
 * a header, a query argument and the body as the C string the API promises);
 * POST /v1/echo (JSON body back); POST /v1/fail (handler error: a 500).
 * The token is "fuzz-token"; the body limit 4 KiB.
 *
 * Checks: every answer is an HTTP/1.x status line with a status from 100 to
 * 599; a 2xx answer from a /v1/ handler (marked by its X-Handler header)
 * only follows a request whose Authorization header carries "Bearer" and
 * the right token, as the server reads it: the token anywhere else (the
 * path, the query, another header, the body) must not open a handler.
 */
#define _GNU_SOURCE /* strcasestr */
#include "fuzz.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pdm_http.h"

#define TOKEN "fuzz-token"

static pdm_http *server;
static unsigned port;

static int h_health(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    return pdm_http_response_text(resp, 200, "text/plain", "ok\n", 3);
}

static int h_machine(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    int32_t id;
    const char *ua = pdm_http_request_header(req, "User-Agent");
    const char *fields = pdm_http_request_arg(req, "fields");
    size_t body_len = strlen(req->body); /* the body is promised NUL-terminated */
    if (pdm_http_parse_id(req->rest, &id))
        return pdm_http_response_error(resp, 400, "machine id '%s' is not a number", req->rest);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return -1;
    cJSON_AddNumberToObject(o, "machine_id", id);
    cJSON_AddStringToObject(o, "path", req->path);
    cJSON_AddStringToObject(o, "query", req->query);
    cJSON_AddStringToObject(o, "fields", fields ? fields : "");
    cJSON_AddStringToObject(o, "user_agent", ua ? ua : "");
    cJSON_AddNumberToObject(o, "body_len", (double)body_len);
    int rc = pdm_http_response_json(resp, 200, o);
    cJSON_Delete(o);
    if (rc == 0)
        rc = pdm_http_response_header(resp, "X-Handler", "machines");
    return rc;
}

static int h_echo(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    cJSON *doc = NULL;
    if (pdm_http_parse_json(req, &doc, resp))
        return 0;
    int rc = pdm_http_response_json(resp, 201, doc);
    cJSON_Delete(doc);
    if (rc == 0)
        rc = pdm_http_response_header(resp, "X-Handler", "echo");
    return rc;
}

static int h_fail(void *ctx, const pdm_http_request *req, pdm_http_response *resp) { return -1; }

static void stop_server(void) { pdm_http_destroy(server); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_http_config cfg;
    pdm_http_config_init(&cfg);
    cfg.bind = "127.0.0.1:0";
    cfg.token = TOKEN;
    cfg.max_body = 4096;
    cfg.timeout_s = 2;
    server = pdm_http_new(&cfg, err, sizeof err);
    FUZZ_CHECK(server != NULL, "pdm_http_new: %s", err);
    FUZZ_CHECK(pdm_http_route(server, "GET", "/healthz", 0, h_health, NULL) == 0 &&
                   pdm_http_route(server, "GET", "/v1/machines/", 1, h_machine, NULL) == 0 &&
                   pdm_http_route(server, "POST", "/v1/echo", 0, h_echo, NULL) == 0 &&
                   pdm_http_route(server, "POST", "/v1/fail", 0, h_fail, NULL) == 0,
               "routes");
    FUZZ_CHECK(pdm_http_start(server, err, sizeof err) == 0, "pdm_http_start: %s", err);
    port = pdm_http_port(server);
    atexit(stop_server);
    return 0;
}

/* Sends the request, half-closes, reads the answer (up to cap bytes). */
static size_t exchange(const uint8_t *data, size_t size, char *answer, size_t cap)
{
    struct sockaddr_in a;
    struct timeval tv = {5, 0};
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FUZZ_CHECK(fd >= 0, "socket: %s", strerror(errno));
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    /* libFuzzer's own timers interrupt system calls (EINTR): an interrupted
     * connect goes on in the background, so wait for it to finish. */
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        FUZZ_CHECK(errno == EINTR, "connect: %s", strerror(errno));
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int err = 0, pr;
        socklen_t len = sizeof err;
        while ((pr = poll(&pfd, 1, 5000)) < 0 && errno == EINTR)
            ;
        FUZZ_CHECK(pr == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0,
                   "connect (after EINTR): %s", strerror(err ? err : errno));
    }
    for (size_t off = 0; off < size;) {
        ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the server may close early (413, 431, bad request) */
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    for (;;) {
        ssize_t n = recv(fd, answer + got, cap - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == cap - 1)
            break;
    }
    answer[got] = '\0';
    close(fd);
    return got;
}

/* Finds the next line of [*p, end): sets *line and *len (without CR LF or
 * LF) and moves *p past it. Returns 0 at the end. A NUL ends the line's
 * text: libmicrohttpd accepts one and reads the line as a C string (a
 * line of NULs is an empty line to it). */
static int next_line(const char **p, const char *end, const char **line, size_t *len)
{
    if (*p >= end)
        return 0;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    *line = *p;
    *len = (size_t)(stop - *p);
    if (*len > 0 && (*line)[*len - 1] == '\r')
        (*len)--;
    *len = strnlen(*line, *len);
    *p = nl ? nl + 1 : end;
    return 1;
}

/* 1 if VALUE (folded lines joined by SP) is "Bearer" and the token, in any
 * case for "Bearer" and with any blanks around them: a little more lenient
 * than the server, never stricter. */
static int bearer_value_ok(const char *value, size_t len)
{
    const char *p = value, *end = value + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (end - p < 6 || strncasecmp(p, "Bearer", 6) != 0)
        return 0;
    p += 6;
    if (p == end || (*p != ' ' && *p != '\t'))
        return 0;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    size_t tlen = strlen(TOKEN);
    if ((size_t)(end - p) < tlen || memcmp(p, TOKEN, tlen) != 0)
        return 0;
    for (p += tlen; p < end; p++)
        if (*p != ' ' && *p != '\t')
            return 0;
    return 1;
}

/* 1 if the first request of DATA has the right bearer token in one of its
 * Authorization headers: the head is the request line and the header lines
 * up to the first empty line; blank lines before the request line are
 * skipped, header names compare in any case (blanks before the colon
 * allowed). libmicrohttpd decides which of several Authorization headers
 * its lookup returns and how it treats a folded line (one that starts with
 * a blank), so any header counts, its value taken with or without its
 * folded lines. Independent of the server's code: lenient on where in the
 * head the header sits, strict that it is an Authorization header. */
static int first_request_has_token(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size, *line;
    size_t len;
    char value[8192];
    size_t vlen = 0;
    int in_auth = 0;
    do {
        if (!next_line(&p, end, &line, &len))
            return 0;
    } while (len == 0); /* the request line */
    while (next_line(&p, end, &line, &len) && len > 0) {
        if (line[0] == ' ' || line[0] == '\t') { /* obs-fold */
            if (in_auth && vlen + 1 + len < sizeof value) {
                value[vlen++] = ' ';
                memcpy(value + vlen, line, len);
                vlen += len;
            }
            continue;
        }
        if (in_auth && bearer_value_ok(value, vlen))
            return 1;
        in_auth = 0;
        const char *colon = memchr(line, ':', len);
        if (!colon)
            continue;
        size_t nlen = (size_t)(colon - line);
        while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
            nlen--;
        if (nlen != 13 || strncasecmp(line, "Authorization", 13) != 0)
            continue;
        vlen = len - (size_t)(colon + 1 - line);
        if (vlen >= sizeof value)
            continue;
        memcpy(value, colon + 1, vlen);
        if (bearer_value_ok(value, vlen))
            return 1; /* without its folded lines */
        in_auth = 1;
    }
    return in_auth && bearer_value_ok(value, vlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char answer[65536];
    size_t n = exchange(data, size, answer, sizeof answer);
    if (n == 0)
        return 0; /* closed without an answer (malformed request line, ...) */
    int status = 0;
    FUZZ_CHECK(n >= 12 && (!strncmp(answer, "HTTP/1.1 ", 9) || !strncmp(answer, "HTTP/1.0 ", 9)),
               "not a status line: %.40s", answer);
    status = atoi(answer + 9);
    FUZZ_CHECK(status >= 100 && status <= 599, "status %d", status);
    /* The first final answer (after any 100 Continue) is the first request's:
     * a 2xx from a /v1/ handler needs the token in that request's
     * Authorization header. Only that answer's head is read, so a later
     * pipelined request's answer or a body cannot stand in for it. */
    char *head = answer;
    while (status >= 100 && status < 200) {
        char *blank = strstr(head, "\r\n\r\n");
        if (!blank || strncmp(blank + 4, "HTTP/1.", 7) != 0)
            return 0;
        head = blank + 4;
        status = atoi(head + 9);
    }
    char *head_end = strstr(head, "\r\n\r\n");
    if (head_end)
        *head_end = '\0';
    if (status >= 200 && status < 300 && strcasestr(head, "\r\nX-Handler:")) {
        FUZZ_CHECK(first_request_has_token(data, size),
                   "a /v1/ handler answered %d without the token in the Authorization header",
                   status);
    }
    return 0;
}
