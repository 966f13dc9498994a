/* http.c: the server: listening socket, libmicrohttpd daemon, routing,
 * authentication, body limits and the JSON error answers.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * with the headers, once per chunk of body, once more at the end. The
 * first call decides everything that does not need the body (token, route,
 * method, declared length), so a refused request costs no body buffering;
 * the last call runs the handler. An answer decided early is queued at
 * once when the client announced a body (libmicrohttpd then refuses the
 * body and closes the connection), and at the last call otherwise, which
 * keeps the connection alive.
 *
 * We open the listening socket ourselves (any IPv4/IPv6 address, port 0
 * allowed, the bound port read back with getsockname) and hand it to the
 * daemon, which owns and closes it from then on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "pdm_http.h"

typedef struct {
    char *method;
    char *path;
    int prefix;
    pdm_http_handler handler;
    void *ctx;
} route;

struct pdm_http {
    pdm_http_config cfg; /* strings below are our copies */
    char *bind;
    char *token;
    size_t token_len;
    char *auth_prefix;
    route *routes;
    size_t n_routes, cap_routes;
    struct MHD_Daemon *daemon;
    unsigned port;
};

/* One request's state, created by the URI callback (which sees the raw
 * URI with its query) and freed when libmicrohttpd reports completion. */
typedef struct {
    char *uri;
    char *path; /* copy for the access log */
    char *method;
    int started;
    const route *route;
    const char *rest;
    int early_status; /* an answer decided from the headers, 0 if none */
    char early_msg[160];
    int early_auth;  /* add WWW-Authenticate: 1 for 401, 2 for 403 */
    char allow[128]; /* for 405 */
    int has_body;    /* the client announced one */
    pdm_buf body;
    int too_large;
    size_t discarded;
    int status; /* sent, for the access log */
    double t0;
} request_state;

#define DEFAULT_BIND "127.0.0.1:8080"

void pdm_http_config_init(pdm_http_config *c)
{
    memset(c, 0, sizeof *c);
    c->bind = DEFAULT_BIND;
    c->connection_limit = 64;
    c->timeout_s = 10;
    c->max_body = 1024 * 1024;
    c->auth_prefix = "/v1/";
}

pdm_http *pdm_http_new(const pdm_http_config *cfg, char *errstr, size_t errlen)
{
    pdm_http_config def;
    if (!cfg) {
        pdm_http_config_init(&def);
        cfg = &def;
    }
    if (cfg->connection_limit == 0 || cfg->max_body == 0 || cfg->timeout_s == 0) {
        pdm_err(errstr, errlen, "http: connection limit, body limit and timeout must be positive");
        return NULL;
    }
    pdm_http *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->cfg = *cfg;
    s->bind = strdup(cfg->bind ? cfg->bind : DEFAULT_BIND);
    s->auth_prefix = strdup(cfg->auth_prefix ? cfg->auth_prefix : "/v1/");
    if (!s->bind || !s->auth_prefix)
        goto oom;
    if (cfg->token && *cfg->token) {
        if (!(s->token = strdup(cfg->token)))
            goto oom;
        s->token_len = strlen(s->token);
    }
    s->cfg.bind = s->bind;
    s->cfg.token = s->token;
    s->cfg.auth_prefix = s->auth_prefix;
    return s;
oom:
    pdm_http_destroy(s);
    pdm_err(errstr, errlen, "http: out of memory");
    return NULL;
}

void pdm_http_destroy(pdm_http *s)
{
    if (!s)
        return;
    pdm_http_stop(s);
    for (size_t i = 0; i < s->n_routes; i++) {
        free(s->routes[i].method);
        free(s->routes[i].path);
    }
    free(s->routes);
    if (s->token) {
        memset(s->token, 0, s->token_len); /* do not leave the secret in freed memory */
        free(s->token);
    }
    free(s->bind);
    free(s->auth_prefix);
    free(s);
}

int pdm_http_route(pdm_http *s, const char *method, const char *path, int prefix,
                   pdm_http_handler handler, void *ctx)
{
    if (s->daemon || !method || !*method || !path || path[0] != '/' || !handler)
        return -1;
    if (s->n_routes == s->cap_routes) {
        size_t cap = s->cap_routes ? 2 * s->cap_routes : 8;
        route *r = realloc(s->routes, cap * sizeof *r);
        if (!r)
            return -1;
        s->routes = r;
        s->cap_routes = cap;
    }
    route *r = &s->routes[s->n_routes];
    r->method = strdup(method);
    r->path = strdup(path);
    if (!r->method || !r->path) {
        free(r->method);
        free(r->path);
        return -1;
    }
    r->prefix = prefix != 0;
    r->handler = handler;
    r->ctx = ctx;
    s->n_routes++;
    return 0;
}

/* ---- responses ------------------------------------------------------------ */

static void response_init(pdm_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->status = 200;
    snprintf(resp->content_type, sizeof resp->content_type, "application/json");
}

static void response_clear(pdm_http_response *resp)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        free(resp->header_name[i]);
        free(resp->header_value[i]);
    }
    pdm_buf_free(&resp->body);
    response_init(resp);
}

int pdm_http_response_header(pdm_http_response *resp, const char *name, const char *value)
{
    if (resp->n_headers >= PDM_HTTP_MAX_HEADERS || !name || !value || strpbrk(name, "\r\n:") ||
        strpbrk(value, "\r\n"))
        return -1;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    resp->header_name[resp->n_headers] = n;
    resp->header_value[resp->n_headers] = v;
    resp->n_headers++;
    return 0;
}

int pdm_http_response_text(pdm_http_response *resp, int status, const char *content_type,
                           const char *text, size_t len)
{
    resp->status = status;
    if (content_type)
        snprintf(resp->content_type, sizeof resp->content_type, "%s", content_type);
    resp->body.len = 0;
    if (pdm_buf_reserve(&resp->body, len))
        return -1;
    return pdm_buf_append(&resp->body, text, len);
}

int pdm_http_response_json(pdm_http_response *resp, int status, const cJSON *item)
{
    char *text = cJSON_PrintUnformatted(item);
    if (!text)
        return -1;
    int rc = pdm_http_response_text(resp, status, "application/json", text, strlen(text));
    cJSON_free(text);
    return rc;
}

int pdm_http_response_error(pdm_http_response *resp, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    int rc = -1;
    if (o && cJSON_AddStringToObject(o, "error", msg))
        rc = pdm_http_response_json(resp, status, o);
    cJSON_Delete(o);
    return rc;
}

/* Queues resp on conn. Returns MHD_YES or MHD_NO. */
static enum MHD_Result send_response(struct MHD_Connection *conn, request_state *st,
                                     const pdm_http_response *resp)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        resp->body.len, resp->body.len ? resp->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    enum MHD_Result ret = MHD_YES;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type) != MHD_YES)
        ret = MHD_NO;
    for (size_t i = 0; i < resp->n_headers && ret == MHD_YES; i++)
        if (MHD_add_response_header(r, resp->header_name[i], resp->header_value[i]) != MHD_YES)
            ret = MHD_NO;
    if (ret == MHD_YES)
        ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    if (ret == MHD_YES)
        st->status = resp->status;
    return ret;
}

static enum MHD_Result send_early(struct MHD_Connection *conn, request_state *st)
{
    pdm_http_response resp;
    response_init(&resp);
    enum MHD_Result ret = MHD_NO;
    if (pdm_http_response_error(&resp, st->early_status, "%s", st->early_msg))
        goto out;
    if (st->early_auth == 1 &&
        pdm_http_response_header(&resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"pdm\""))
        goto out;
    if (st->early_auth == 2 &&
        pdm_http_response_header(&resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                 "Bearer realm=\"pdm\", error=\"invalid_token\""))
        goto out;
    if (st->early_status == 405 &&
        pdm_http_response_header(&resp, MHD_HTTP_HEADER_ALLOW, st->allow))
        goto out;
    ret = send_response(conn, st, &resp);
out:
    response_clear(&resp);
    return ret;
}

static void set_early(request_state *st, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_early(request_state *st, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->early_msg, sizeof st->early_msg, fmt, ap);
    va_end(ap);
    st->early_status = status;
}

/* ---- decisions from the headers -------------------------------------------- */

/* Compares in time that depends on the expected token's length only. */
static int token_equal(const char *given, size_t glen, const char *token, size_t tlen)
{
    volatile unsigned char diff = glen != tlen;
    for (size_t i = 0; i < tlen; i++) {
        unsigned char g = i < glen ? (unsigned char)given[i] : 0;
        diff |= g ^ (unsigned char)token[i];
    }
    return diff == 0;
}

static int needs_auth(const pdm_http *s, const char *path)
{
    if (!s->token)
        return 0;
    if (strncmp(path, s->auth_prefix, strlen(s->auth_prefix)) == 0)
        return 1;
    return s->cfg.auth_metrics && strcmp(path, "/metrics") == 0;
}

/* Sets the early answer (401 or 403) unless the right token came. */
static void check_auth(const pdm_http *s, struct MHD_Connection *conn, request_state *st)
{
    const char *h =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        set_early(st, 401, "missing bearer token: send \"Authorization: Bearer <token>\"");
        st->early_auth = 1;
        return;
    }
    const char *given = h + 7;
    while (*given == ' ')
        given++;
    size_t glen = strlen(given);
    while (glen > 0 && given[glen - 1] == ' ')
        glen--;
    if (!token_equal(given, glen, s->token, s->token_len)) {
        set_early(st, 403, "invalid bearer token");
        st->early_auth = 2;
    }
}

static int method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* The route for (method, path), or NULL with the early answer set (404 or
 * 405 with the Allow list). */
static const route *find_route(const pdm_http *s, const char *method, const char *path,
                               request_state *st)
{
    /* The best pattern: an exact route, else the longest matching prefix. */
    const char *best = NULL;
    int best_prefix = 1;
    size_t best_len = 0;
    for (size_t i = 0; i < s->n_routes; i++) {
        const route *r = &s->routes[i];
        size_t n = strlen(r->path);
        if (!r->prefix) {
            if (strcmp(r->path, path) == 0) {
                best = r->path;
                best_prefix = 0;
                break;
            }
        } else if (strncmp(r->path, path, n) == 0 && (!best || n > best_len)) {
            best = r->path;
            best_len = n;
        }
    }
    if (!best) {
        set_early(st, 404, "no such resource");
        return NULL;
    }
    size_t allow_len = 0;
    int has_get = 0;
    st->allow[0] = '\0';
    for (size_t i = 0; i < s->n_routes; i++) {
        const route *r = &s->routes[i];
        if (r->prefix != best_prefix || strcmp(r->path, best) != 0)
            continue;
        if (method_matches(r->method, method)) {
            st->rest = best_prefix ? path + strlen(best) : "";
            return r;
        }
        has_get |= strcmp(r->method, "GET") == 0;
        int n = snprintf(st->allow + allow_len, sizeof st->allow - allow_len, "%s%s",
                         allow_len ? ", " : "", r->method);
        if (n > 0 && (size_t)n < sizeof st->allow - allow_len)
            allow_len += (size_t)n;
    }
    if (has_get && allow_len + 6 < sizeof st->allow)
        snprintf(st->allow + allow_len, sizeof st->allow - allow_len, ", HEAD");
    set_early(st, 405, "method %s not allowed here (allowed: %s)", method, st->allow);
    return NULL;
}

static void decide(pdm_http *s, struct MHD_Connection *conn, const char *url, const char *method,
                   request_state *st)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
    st->has_body = declared > 0 || te != NULL;
    if (needs_auth(s, url)) {
        check_auth(s, conn, st);
        if (st->early_status)
            return;
    }
    st->route = find_route(s, method, url, st);
    if (!st->route)
        return;
    if (declared > s->cfg.max_body)
        set_early(st, 413, "request body of %llu bytes is over the limit of %zu bytes", declared,
                  s->cfg.max_body);
}

/* ---- libmicrohttpd callbacks ------------------------------------------------ */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    request_state *st = calloc(1, sizeof *st);
    if (st && !(st->uri = strdup(uri))) {
        free(st);
        st = NULL;
    }
    return st;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    pdm_http *s = cls;
    request_state *st = *con_cls;
    if (!st)
        return;
    if (s->cfg.access_log && st->started)
        s->cfg.access_log(s->cfg.access_log_ctx, st->method ? st->method : "-",
                          st->path ? st->path : "-", st->status, pdm_monotonic_s() - st->t0);
    free(st->uri);
    free(st->path);
    free(st->method);
    pdm_buf_free(&st->body);
    free(st);
    *con_cls = NULL;
}

static enum MHD_Result run_handler(pdm_http *s, struct MHD_Connection *conn, const char *url,
                                   const char *method, request_state *st)
{
    const char *q = strchr(st->uri, '?');
    if (pdm_buf_reserve(&st->body, 0))
        return MHD_NO;
    st->body.data[st->body.len] = '\0'; /* also when no body came: handlers get "" */
    pdm_http_request req = {
        .method = method,
        .path = url,
        .rest = st->rest ? st->rest : "",
        .query = q ? q + 1 : "",
        .body = st->body.data,
        .body_len = st->body.len,
        .conn = conn,
    };
    pdm_http_response resp;
    response_init(&resp);
    int rc = st->route->handler(st->route->ctx, &req, &resp);
    if (rc != 0 || resp.status < 100 || resp.status > 599) {
        response_clear(&resp);
        if (pdm_http_response_error(&resp, 500, "internal error while handling the request")) {
            response_clear(&resp);
            return MHD_NO;
        }
    }
    enum MHD_Result ret = send_response(conn, st, &resp);
    response_clear(&resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    pdm_http *s = cls;
    request_state *st = *con_cls;
    if (!st)
        return MHD_NO; /* out of memory in on_uri */
    if (!st->started) {
        st->started = 1;
        st->t0 = pdm_monotonic_s();
        st->method = strdup(method);
        st->path = strdup(url);
        decide(s, conn, url, method, st);
        if (st->early_status && st->has_body)
            return send_early(conn, st); /* the body is refused unread */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->early_status)
            return MHD_YES; /* not expected (answered early), but never kept */
        if (!st->too_large && st->body.len + n <= s->cfg.max_body) {
            if (pdm_buf_append(&st->body, upload_data, n))
                return MHD_NO;
            return MHD_YES;
        }
        /* A body without a declared length went over: drop what we have,
         * read on to answer 413 at its end, but not forever. */
        if (!st->too_large) {
            st->too_large = 1;
            st->discarded = st->body.len;
            pdm_buf_free(&st->body);
        }
        st->discarded += n;
        if (st->discarded > 2 * s->cfg.max_body + 65536)
            return MHD_NO;
        return MHD_YES;
    }
    if (st->early_status)
        return send_early(conn, st);
    if (st->too_large) {
        set_early(st, 413, "request body is over the limit of %zu bytes", s->cfg.max_body);
        return send_early(conn, st);
    }
    return run_handler(s, conn, url, method, st);
}

static void quiet_logger(void *cls, const char *fmt, va_list ap)
{
    /* libmicrohttpd's own messages are dropped: libraries do not print. */
}

/* ---- lifecycle ------------------------------------------------------------ */

/* Splits "ADDR:PORT" / "[ADDR]:PORT" ("*" or "" = any IPv4 address) and
 * opens a listening socket. Returns the fd or -1 with errstr. */
static int open_listener(const char *bind_spec, unsigned *port_out, char *errstr, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(bind_spec, ':');
    if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
        strlen(colon + 1) > 5 || atoi(colon + 1) > 65535)
        return pdm_err(errstr, errlen, "http: bind address \"%s\" is not ADDR:PORT", bind_spec);
    size_t hlen = (size_t)(colon - bind_spec);
    const char *h = bind_spec;
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= sizeof host)
        return pdm_err(errstr, errlen, "http: bind address \"%s\" is too long", bind_spec);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (hlen == 0 || strcmp(host, "*") == 0)
        snprintf(host, sizeof host, "0.0.0.0");

    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    int gai = getaddrinfo(host, colon + 1, &hints, &ai);
    if (gai != 0)
        return pdm_err(errstr, errlen, "http: bind address \"%s\": %s", bind_spec,
                       gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        pdm_err(errstr, errlen, "http: socket: %s", strerror(errno));
        goto fail;
    }
    int one = 1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        pdm_err(errstr, errlen, "http: cannot listen on %s: %s", bind_spec, strerror(errno));
        goto fail;
    }
    *port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(ai);
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return -1;
}

/* Paths and query arguments decoded without ever making a NUL. */
static size_t on_unescape(void *cls, struct MHD_Connection *conn, char *text)
{
    (void)cls;
    (void)conn;
    return pdm_http_unescape(text);
}

int pdm_http_start(pdm_http *s, char *errstr, size_t errlen)
{
    if (s->daemon)
        return pdm_err(errstr, errlen, "http: already started");
    unsigned port = 0;
    int fd = open_listener(s->bind, &port, errstr, errlen);
    if (fd < 0)
        return -1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)s->cfg.connection_limit, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)s->cfg.timeout_s, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, s},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)on_unescape, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)quiet_logger, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)s->cfg.per_ip_limit, NULL},
        {s->cfg.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         (intptr_t)s->cfg.threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        close(fd);
        return pdm_err(errstr, errlen, "http: libmicrohttpd failed to start on %s", s->bind);
    }
    s->port = port;
    return 0;
}

unsigned pdm_http_port(const pdm_http *s)
{
    return s->daemon ? s->port : 0;
}

void pdm_http_stop(pdm_http *s)
{
    if (!s || !s->daemon)
        return;
    MHD_stop_daemon(s->daemon); /* closes the listening socket too */
    s->daemon = NULL;
    s->port = 0;
}
