/* Unit tests of http/ against hostile clients, over real sockets on
 * loopback: the request deadline (head and body dribbled byte by byte
 * slower than any idle timeout would notice, on more connections than the
 * server has slots), the per-address limit, ambiguous framing refused with
 * a JSON 400 and one status line, scoped tokens (read vs admin). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "pdm_http.h"

#include "http_test_client.h"

#define READ_TOKEN "read-T0ken-1"
#define ADMIN_TOKEN "admin-T0ken-2"

static int h_ok(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    const char *ok = "{\"ok\":true}";
    return pdm_http_response_text(resp, 200, NULL, ok, strlen(ok));
}

/* A handler slower than the request deadline: answering is not reading. */
static int h_slow(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    usleep(1500 * 1000);
    return h_ok(ctx, req, resp);
}

static int h_size(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    char out[64];
    int n = snprintf(out, sizeof out, "{\"bytes\":%zu}", req->body_len);
    return pdm_http_response_text(resp, 200, NULL, out, (size_t)n);
}

static pdm_http *start(pdm_http_config *cfg, unsigned *port)
{
    char err[PDM_ERRSTR_SIZE];
    cfg->bind = "127.0.0.1:0";
    pdm_http *s = pdm_http_new(cfg, err, sizeof err);
    if (!s)
        fail_msg("new: %s", err);
    assert_int_equal(pdm_http_route(s, "GET", "/health", 0, h_ok, NULL), 0);
    assert_int_equal(pdm_http_route(s, "GET", "/slow", 0, h_slow, NULL), 0);
    assert_int_equal(pdm_http_route(s, "POST", "/size", 0, h_size, NULL), 0);
    assert_int_equal(pdm_http_route(s, "GET", "/v1/model", 0, h_ok, NULL), 0);
    assert_int_equal(pdm_http_route(s, "POST", "/v1/admin/reload", 0, h_ok, NULL), 0);
    assert_int_equal(pdm_http_route(s, "GET", "/metrics", 0, h_ok, NULL), 0);
    if (pdm_http_start(s, err, sizeof err))
        fail_msg("start: %s", err);
    *port = pdm_http_port(s);
    return s;
}

/* A TCP connection to 127.0.0.1:port from the loopback address src. */
static int connect_from(unsigned port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in me = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, src, &me.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof me), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* ==== slow clients ========================================================= */

typedef struct {
    unsigned port;
    double latency; /* seconds until the answer, -1 for none */
} probe;

static void *health_probe(void *p)
{
    probe *pr = p;
    reply *r = malloc(sizeof *r);
    double t0 = pdm_monotonic_s();
    request(pr->port, "GET", "/health", NULL, NULL, r);
    pr->latency = r->status == 200 ? pdm_monotonic_s() - t0 : -1;
    free(r);
    return NULL;
}

#define DRIBBLERS 24

/* Sends one more byte of msg on every open fd every gap_ms until each is
 * closed by the server or give_up_s passes; closed_at[i] gets the time (s
 * since t0) of the close, -1 if still open. */
static void dribble(int *fds, size_t n, const char *msg, int gap_ms, double give_up_s,
                    double t0, double *closed_at)
{
    size_t sent = 0, open = n, len = strlen(msg);
    for (size_t i = 0; i < n; i++)
        closed_at[i] = -1;
    while (open > 0 && pdm_monotonic_s() - t0 < give_up_s) {
        for (size_t i = 0; i < n; i++) {
            if (closed_at[i] >= 0)
                continue;
            char buf[512];
            int gone = 0;
            if (readable(fds[i], 0)) {
                ssize_t got = recv(fds[i], buf, sizeof buf, MSG_DONTWAIT);
                gone = got <= 0; /* an answer would be a failure too: none is due */
                if (got > 0)
                    fail_msg("a slow client got an answer: %.*s", (int)got, buf);
            }
            if (!gone && send(fds[i], msg + sent % len, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
                errno != EAGAIN)
                gone = 1;
            if (gone) {
                closed_at[i] = pdm_monotonic_s() - t0;
                open--;
            }
        }
        sent++;
        usleep((useconds_t)gap_ms * 1000);
    }
}

/* More slow clients than slots, each sending a header byte every 250 ms
 * (the idle timeout is 10 s and never fires): each is closed once its
 * request is 1.5 s old, so /health gets a slot within about that. */
static void test_slow_headers_are_cut(void **state)
{
    pdm_http_config cfg;
    pdm_http_config_init(&cfg);
    cfg.connection_limit = 16;
    cfg.timeout_s = 10;
    cfg.request_timeout_ms = 1500;
    unsigned port;
    pdm_http *s = start(&cfg, &port);

    int fds[DRIBBLERS];
    double closed_at[DRIBBLERS];
    double t0 = pdm_monotonic_s();
    for (int i = 0; i < DRIBBLERS; i++)
        fds[i] = connect_to(port);
    probe pr = {port, -1};
    pthread_t th;
    usleep(100 * 1000); /* the dribblers hold every slot first */
    assert_int_equal(pthread_create(&th, NULL, health_probe, &pr), 0);
    dribble(fds, DRIBBLERS, "GET /health HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa", 250, 8.0,
            t0, closed_at);
    pthread_join(th, NULL);
    double last = 0;
    for (int i = 0; i < DRIBBLERS; i++) {
        if (closed_at[i] < 0)
            fail_msg("slow connection %d still open after 8 s (deadline 1.5 s)", i);
        /* The first 16 got a slot at once: cut at 1.5 s (+ the 100 ms
         * tick and the 250 ms dribble step). The others waited for a slot
         * in the backlog, then got their own 1.5 s. */
        if (i < 16 && (closed_at[i] < 1.3 || closed_at[i] > 2.3))
            fail_msg("connection %d closed after %.2f s, not about 1.5 s", i, closed_at[i]);
        last = closed_at[i] > last ? closed_at[i] : last;
        close(fds[i]);
    }
    print_message("slow connections closed by %.2f s; /health answered after %.2f s\n", last,
                  pr.latency);
    assert_true(last < 4.5);
    assert_true(pr.latency > 0 && pr.latency < 2.5);
    assert_true(pdm_http_slow_closed(s) >= DRIBBLERS);
    pdm_http_destroy(s);
}

/* With a per-address limit, slow clients from one address cannot take the
 * slots another address needs: /health from 127.0.0.1 answers at once. */
static void test_per_address_limit(void **state)
{
    pdm_http_config cfg;
    pdm_http_config_init(&cfg);
    cfg.connection_limit = 16;
    cfg.per_ip_limit = 4;
    cfg.request_timeout_ms = 5000;
    unsigned port;
    pdm_http *s = start(&cfg, &port);
    int fds[12];
    for (int i = 0; i < 12; i++) {
        fds[i] = connect_from(port, "127.0.0.2");
        send_all(fds[i], "GET /hea", 8);
    }
    usleep(200 * 1000);
    int refused = 0;
    for (int i = 0; i < 12; i++) {
        char c;
        if (readable(fds[i], 0) && recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0)
            refused++;
    }
    assert_int_equal(refused, 8);
    for (int i = 0; i < 5; i++) {
        probe pr = {port, -1};
        health_probe(&pr);
        assert_true(pr.latency > 0 && pr.latency < 0.5);
    }
    for (int i = 0; i < 12; i++)
        close(fds[i]);
    usleep(200 * 1000);
    /* Served (kept-alive) connections count too, not only waiting heads. */
    const char *get = "GET /health HTTP/1.1\r\nHost: h\r\n\r\n";
    for (int i = 0; i < 4; i++) {
        reply r;
        fds[i] = connect_from(port, "127.0.0.3");
        send_all(fds[i], get, strlen(get));
        read_reply_from(fds[i], &r, 2000, NULL, NULL);
        assert_int_equal(r.status, 200);
    }
    int fifth = connect_from(port, "127.0.0.3");
    send_all(fifth, "GET /hea", 8);
    char c;
    assert_true(readable(fifth, 1000));
    assert_true(recv(fifth, &c, 1, 0) <= 0);
    close(fifth);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    pdm_http_destroy(s);
}

/* A body dribbled after a complete head is cut too; a slow handler is not
 * (its time is not the client's); on a kept-alive connection each request
 * gets its own deadline. */
static void test_slow_body_and_exemptions(void **state)
{
    pdm_http_config cfg;
    pdm_http_config_init(&cfg);
    cfg.request_timeout_ms = 1000;
    unsigned port;
    pdm_http *s = start(&cfg, &port);
    reply r;

    int fd = connect_to(port);
    const char *head = "POST /size HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n";
    double t0 = pdm_monotonic_s();
    send_all(fd, head, strlen(head));
    double closed_at;
    dribble(&fd, 1, "x", 200, 5.0, t0, &closed_at);
    print_message("slow body cut after %.2f s\n", closed_at);
    assert_true(closed_at > 0.8 && closed_at < 1.8);
    close(fd);

    double t = pdm_monotonic_s();
    request(port, "GET", "/slow", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(pdm_monotonic_s() - t > 1.4);

    pdm_http_destroy(s);

    /* Each request of a kept-alive connection its own deadline: a longer
     * one here, so that a loaded machine's late wake-ups (the suite runs
     * in parallel) fit in the margin between a request's 1.2 s and it. */
    cfg.request_timeout_ms = 2000;
    s = start(&cfg, &port);
    fd = connect_to(port);
    const char *get = "GET /health HTTP/1.1\r\nHost: h\r\n\r\n";
    for (int i = 0; i < 3; i++) {
        usleep(1200 * 1000); /* 3.6 s on one connection, 1.2 s per request */
        send_all(fd, get, strlen(get));
        read_reply_from(fd, &r, 3000, NULL, NULL);
        assert_int_equal(r.status, 200);
    }
    close(fd);
    pdm_http_destroy(s);
}

/* A burst of more sound requests than slots, on a thread pool: every one
 * is answered (the gate holds the excess until a slot frees; none is handed
 * to a full daemon, which would close it unanswered). */
static void test_burst_over_the_limit(void **state)
{
    pdm_http_config cfg;
    pdm_http_config_init(&cfg);
    cfg.threads = 3;
    cfg.connection_limit = 4;
    unsigned port;
    pdm_http *s = start(&cfg, &port);
    enum { N = 48 };
    pthread_t th[N];
    probe pr[N];
    for (int i = 0; i < N; i++) {
        pr[i] = (probe){port, -1};
        assert_int_equal(pthread_create(&th[i], NULL, health_probe, &pr[i]), 0);
    }
    int answered = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        answered += pr[i].latency >= 0;
    }
    assert_int_equal(answered, N);
    pdm_http_destroy(s);
}

/* ==== framing ================================================================ */

/* Lines that start like a status line ("HTTP/1.x NNN"). */
static int status_lines(const char *raw)
{
    int n = 0;
    for (const char *p = raw; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        int code;
        n += sscanf(p, "HTTP/1.%*1[01] %3d", &code) == 1;
    }
    return n;
}

/* Reads everything until the server closes (at most 3 s). */
static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap && readable(fd, 3000)) {
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

static void test_ambiguous_framing_refused(void **state)
{
    pdm_http_config cfg;
    pdm_http_config_init(&cfg);
    unsigned port;
    pdm_http *s = start(&cfg, &port);
    const struct {
        const char *raw, *why;
    } cases[] = {
        {"POST /size HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}abc",
         "conflicting Content-Length"},
        {"POST /size HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
         "more than once"},
        {"POST /size HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
         "\r\n0\r\n\r\n",
         "Transfer-Encoding"},
        {"POST /size HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n"
         "\r\n0\r\n\r\n",
         "Transfer-Encoding"},
    };
    static char raw[16384];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int fd = connect_to(port);
        send_all(fd, cases[i].raw, strlen(cases[i].raw));
        read_all(fd, raw, sizeof raw);
        close(fd);
        reply r = {0};
        const char *body = strstr(raw, "\r\n\r\n");
        assert_non_null(body);
        snprintf(r.head, sizeof r.head, "%.*s", (int)(body - raw + 4), raw);
        snprintf(r.body, sizeof r.body, "%s", body + 4);
        sscanf(raw, "HTTP/1.%*d %d", &r.status);
        if (r.status != 400)
            fail_msg("case %zu: status %d, not 400: %s", i, r.status, raw);
        assert_int_equal(status_lines(raw), 1);
        assert_string_equal(header_of(&r, "Content-Type"), "application/json");
        assert_string_equal(header_of(&r, "Connection"), "close");
        assert_non_null(strstr(error_message(&r), cases[i].why));
    }
    /* One Content-Length is fine, on the same server. */
    reply r;
    request(port, "POST", "/size", NULL, "{\"a\":1}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"bytes\":7}");
    pdm_http_destroy(s);
}

/* Reads one whole answer from a raw exchange and checks it is a single
 * JSON error with the status wanted. */
#define GOOD_REQUEST "GET /health HTTP/1.1\r\nHost: h\r\n\r\n"

/* how: 0 the connection's first request; 1 the second, after a good one
 * was answered on the same kept-alive connection; 2 pipelined behind a
 * good one in the same write. The good one gets its 200 first. */
static void expect_json_error_as(unsigned port, const char *raw, size_t len, int want,
                                 const char *label, int how)
{
    static char got[16384];
    static char both[128 * 1024];
    int fd = connect_to(port);
    if (how == 1) {
        reply ok;
        send_all(fd, GOOD_REQUEST, strlen(GOOD_REQUEST));
        read_reply_from(fd, &ok, 3000, NULL, NULL);
        assert_int_equal(ok.status, 200);
    }
    if (how == 2) {
        assert_true(len + strlen(GOOD_REQUEST) <= sizeof both);
        memcpy(both, GOOD_REQUEST, strlen(GOOD_REQUEST));
        memcpy(both + strlen(GOOD_REQUEST), raw, len);
        send_all(fd, both, len + strlen(GOOD_REQUEST));
    } else {
        send_all(fd, raw, len);
    }
    size_t carried = 0;
    if (how == 2) { /* what came after the 200 is the answer's start */
        reply ok;
        read_reply_from(fd, &ok, 3000, got, &carried);
        assert_int_equal(ok.status, 200);
    }
    read_all(fd, got + carried, sizeof got - carried);
    close(fd);
    reply r = {0};
    const char *body = strstr(got, "\r\n\r\n");
    if (!body)
        fail_msg("%s: no answer (%zu bytes): %s", label, strlen(got), got);
    snprintf(r.head, sizeof r.head, "%.*s", (int)(body - got + 4), got);
    snprintf(r.body, sizeof r.body, "%s", body + 4);
    sscanf(got, "HTTP/1.%*d %d", &r.status);
    if (r.status != want)
        fail_msg("%s: status %d, want %d: %s", label, r.status, want, got);
    if (status_lines(got) != 1)
        fail_msg("%s: %d status lines: %s", label, status_lines(got), got);
    const char *ct = header_of(&r, "Content-Type");
    if (!ct || strcmp(ct, "application/json") != 0)
        fail_msg("%s: Content-Type %s", label, ct ? ct : "(none)");
    const char *cl = header_of(&r, "Content-Length");
    assert_non_null(cl);
    assert_int_equal(strtoul(cl, NULL, 10), strlen(r.body));
    if (how == 0)
        print_message("%s: %d %s\n", label, want, error_message(&r));
}

/* The same as the first request, the second of a kept-alive connection and
 * pipelined behind a good one. */
static void expect_json_error(unsigned port, const char *raw, size_t len, int want,
                              const char *label)
{
    for (int how = 0; how < 3; how++)
        expect_json_error_as(port, raw, len, want, label, how);
}

/* What libmicrohttpd would answer itself in HTML (or with two status
 * lines) is answered as JSON, before the daemon sees the request, on a
 * connection's first request and on later ones (kept alive, pipelined). */
static void test_protocol_errors_are_json(void **state)
{
    pdm_http_config cfg;
    pdm_http_config_init(&cfg);
    unsigned port;
    pdm_http *s = start(&cfg, &port);
    size_t big = 100 * 1024;
    char *raw = malloc(big + 256);
    assert_non_null(raw);

    int n = snprintf(raw, 64, "GET /");
    memset(raw + n, 'a', big);
    n += (int)big;
    n += snprintf(raw + n, 64, " HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_json_error(port, raw, (size_t)n, 414, "100 KB URI");

    n = snprintf(raw, 64, "GET /health HTTP/1.1\r\nHost: h\r\nX-Big: ");
    memset(raw + n, 'b', big);
    n += (int)big;
    n += snprintf(raw + n, 64, "\r\n\r\n");
    expect_json_error(port, raw, (size_t)n, 431, "100 KB header");

    const char h2[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    expect_json_error(port, h2, sizeof h2 - 1, 505, "HTTP/2 preface");
    const struct {
        const char *raw;
        int status;
        const char *label;
    } cases[] = {
        {"POST /size HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, "length -1"},
        {"POST /size HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", 400, "length 1x"},
        {"POST /size HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 413,
         "length 10^20"},
        {"POST /size HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
         400, "two lengths"},
        {"GET /health HTTP/1.1\r\nHost: h\r\nno colon here\r\n\r\n", 400, "no colon"},
        {"GET /health HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400, "folded line"},
        {"GET /health HTTP/3.0\r\nHost: h\r\n\r\n", 505, "HTTP/3.0"},
        {"GARBAGE\r\n\r\n", 400, "no request line"},
        {"POST /size HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", 400,
         "bad chunk size"},
        {"POST /size HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef",
         400, "chunk without CRLF"},
        {"POST /size HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br\r\n\r\n", 501,
         "unknown coding"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_json_error(port, cases[i].raw, strlen(cases[i].raw), cases[i].status,
                          cases[i].label);
    /* Sound requests still pass, HTTP/1.0 without Host included. */
    reply r;
    const char ok10[] = "GET /health HTTP/1.0\r\n\r\n";
    request_raw(port, ok10, sizeof ok10 - 1, &r);
    assert_int_equal(r.status, 200);
    free(raw);
    pdm_http_destroy(s);
}

/* Bodies larger than what the gate buffers each way at once (256 KiB) are
 * relayed whole, with a Content-Length and chunked (decoded by the gate),
 * kept alive and pipelined. */
static void test_large_bodies_relayed(void **state)
{
    pdm_http_config cfg;
    pdm_http_config_init(&cfg);
    unsigned port;
    pdm_http *s = start(&cfg, &port);
    enum { BODY = 900 * 1000 };
    static char raw[2 * BODY + 4096];
    int fd = connect_to(port);
    int n = snprintf(raw, 128, "POST /size HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n",
                     BODY);
    memset(raw + n, 'x', BODY);
    n += BODY;
    n += snprintf(raw + n, 128, "POST /size HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int left = BODY; left > 0;) {
        int k = left > 70000 ? 70000 : left;
        n += snprintf(raw + n, 32, "%x\r\n", k);
        memset(raw + n, 'y', (size_t)k);
        n += k;
        n += snprintf(raw + n, 8, "\r\n");
        left -= k;
    }
    n += snprintf(raw + n, 8, "0\r\n\r\n");
    send_all(fd, raw, (size_t)n);
    static char carry[1 << 17];
    size_t carried = 0;
    for (int i = 0; i < 2; i++) {
        reply r;
        read_reply_from(fd, &r, 5000, carry, &carried);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "{\"bytes\":900000}");
    }
    close(fd);
    pdm_http_destroy(s);
}

/* A chunked upload that expects 100-continue: the gate holds its head
 * until the body is whole, so it tells the client to go on itself, at
 * once, when no answer is owed before it; behind a pipelined request the
 * client waits its own timeout instead (a 100 must not come first). */
static void test_expect_continue_chunked(void **state)
{
    pdm_http_config cfg;
    pdm_http_config_init(&cfg);
    unsigned port;
    pdm_http *s = start(&cfg, &port);
    const char *head = "POST /size HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                       "Expect: 100-continue\r\n\r\n";
    const char *body = "4\r\nabcd\r\n0\r\n\r\n";
    char got[256];
    int fd = connect_to(port);
    send_all(fd, head, strlen(head));
    assert_true(readable(fd, 1000));
    ssize_t n = recv(fd, got, sizeof got - 1, 0);
    assert_true(n > 0);
    got[n] = '\0';
    assert_string_equal(got, "HTTP/1.1 100 Continue\r\n\r\n");
    send_all(fd, body, strlen(body));
    reply r;
    read_reply_from(fd, &r, 3000, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"bytes\":4}");
    close(fd);

    fd = connect_to(port);
    send_all(fd, GOOD_REQUEST, strlen(GOOD_REQUEST));
    send_all(fd, head, strlen(head));
    read_reply_from(fd, &r, 3000, NULL, NULL);
    assert_int_equal(r.status, 200); /* the GET's answer, no 100 before it */
    assert_false(readable(fd, 300));  /* and no 100 after it either */
    send_all(fd, body, strlen(body));
    read_reply_from(fd, &r, 3000, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"bytes\":4}");
    close(fd);
    pdm_http_destroy(s);
}

/* ==== scoped tokens ========================================================== */

#define RB "Bearer " READ_TOKEN
#define AB "Bearer " ADMIN_TOKEN

static void test_scoped_tokens(void **state)
{
    pdm_http_config cfg;
    pdm_http_config_init(&cfg);
    cfg.token = READ_TOKEN;
    cfg.admin_token = ADMIN_TOKEN;
    cfg.auth_metrics = 1;
    unsigned port;
    pdm_http *s = start(&cfg, &port);
    reply r;

    request(port, "GET", "/v1/model", RB, NULL, &r);
    assert_int_equal(r.status, 200);
    request(port, "GET", "/v1/model", AB, NULL, &r); /* admin reaches everything */
    assert_int_equal(r.status, 200);
    request(port, "GET", "/metrics", AB, NULL, &r);
    assert_int_equal(r.status, 200);
    request(port, "POST", "/v1/admin/reload", AB, NULL, &r);
    assert_int_equal(r.status, 200);
    /* The read token does not reach admin paths, however spelled. */
    const char *admin_paths[] = {"/v1/admin/reload", "/v1/%61dmin/reload", "/v1/admin/other"};
    for (size_t i = 0; i < 3; i++) {
        request(port, "POST", admin_paths[i], RB, NULL, &r);
        if (r.status != 403)
            fail_msg("%s with the read token: %d", admin_paths[i], r.status);
        assert_non_null(strstr(error_message(&r), "admin token"));
        assert_non_null(strstr(header_of(&r, "WWW-Authenticate"), "insufficient_scope"));
        assert_null(strstr(r.body, READ_TOKEN));
    }
    request(port, "POST", "/v1/admin/reload", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    request(port, "POST", "/v1/admin/reload", "Bearer " ADMIN_TOKEN "x", NULL, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(error_message(&r), "invalid bearer token"));
    request(port, "GET", "/v1/model", "Bearer nope", NULL, &r);
    assert_int_equal(r.status, 403);
    pdm_http_destroy(s);

    /* Only an admin token: reading is open, admin is not. */
    pdm_http_config_init(&cfg);
    cfg.admin_token = ADMIN_TOKEN;
    s = start(&cfg, &port);
    request(port, "GET", "/v1/model", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    request(port, "POST", "/v1/admin/reload", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    request(port, "POST", "/v1/admin/reload", AB, NULL, &r);
    assert_int_equal(r.status, 200);
    pdm_http_destroy(s);

    /* Only a read token: it reaches admin paths too, as before scopes. */
    pdm_http_config_init(&cfg);
    cfg.token = READ_TOKEN;
    s = start(&cfg, &port);
    request(port, "POST", "/v1/admin/reload", RB, NULL, &r);
    assert_int_equal(r.status, 200);
    pdm_http_destroy(s);

    /* The same text for both scopes would make them one: refused. */
    char err[PDM_ERRSTR_SIZE];
    pdm_http_config_init(&cfg);
    cfg.token = READ_TOKEN;
    cfg.admin_token = READ_TOKEN;
    assert_null(pdm_http_new(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "differ"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_headers_are_cut),
        cmocka_unit_test(test_per_address_limit),
        cmocka_unit_test(test_slow_body_and_exemptions),
        cmocka_unit_test(test_burst_over_the_limit),
        cmocka_unit_test(test_ambiguous_framing_refused),
        cmocka_unit_test(test_protocol_errors_are_json),
        cmocka_unit_test(test_large_bodies_relayed),
        cmocka_unit_test(test_expect_continue_chunked),
        cmocka_unit_test(test_scoped_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
