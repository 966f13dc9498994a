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
 * 599; a 2xx answer from a /v1/ handler only follows a request carrying the
 * right token.
 */
#define _GNU_SOURCE /* memmem */
#include "fuzz.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
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
        rc = pdm_http_response_header(resp, "X-Echo", "1");
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
    /* Only the right token gets a handler's success under /v1/. */
    if (status >= 200 && status < 300 && strstr(answer, "\"machine_id\"")) {
        FUZZ_CHECK(memmem(data, size, TOKEN, strlen(TOKEN)) != NULL,
                   "a /v1/ handler answered %d without the token", status);
    }
    return 0;
}
