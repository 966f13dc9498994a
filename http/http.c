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
 * The listening socket is ours (listener.c) and the gate's (gate.c), which
 * accepts, terminates TLS, checks every request (stream.c) and relays
 * each connection to the daemon over a socketpair; the request deadline is
 * guard.c's, certificates tls.c's, answers response.c's.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <gnutls/crypto.h>
#include <microhttpd.h>

#include "http_internal.h"

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
    http_tokens tokens; /* our copies of the tokens and prefixes */
    char *auth_prefix, *admin_prefix;
    route *routes;
    size_t n_routes, cap_routes;
    http_tls *tls;     /* NULL: plain HTTP */
    http_guard *guard; /* the request deadline */
    http_gate *gate;   /* accepts, terminates TLS, checks every request */
    struct MHD_Daemon *daemon;
    unsigned port;
    char nonce[33]; /* marks the gate's refusals (hex, random per start) */
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
    int early_auth;  /* add WWW-Authenticate: 1 for 401, 2 for 403, 3 wrong scope */
    int early_close; /* close the connection after the answer */
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
    c->request_timeout_ms = 10000;
    c->max_body = 1024 * 1024;
    c->auth_prefix = "/v1/";
    c->admin_prefix = "/v1/admin/";
}

static int check_config(const pdm_http_config *cfg, char *errstr, size_t errlen)
{
    if (cfg->connection_limit == 0 || cfg->max_body == 0 || cfg->timeout_s == 0 ||
        cfg->request_timeout_ms == 0)
        return pdm_err(errstr, errlen, "http: connection limit, body limit, idle and request "
                                       "timeouts must be positive");
    if (cfg->token && cfg->admin_token && *cfg->token && strcmp(cfg->token, cfg->admin_token) == 0)
        return pdm_err(errstr, errlen, "http: the admin token must differ from the read token");
    int has_cert = cfg->tls_cert_file && *cfg->tls_cert_file;
    int has_key = cfg->tls_key_file && *cfg->tls_key_file;
    if (has_cert != has_key)
        return pdm_err(errstr, errlen, "http: TLS needs both a certificate and a key file");
    if (!has_cert && cfg->tls_client_ca_file && *cfg->tls_client_ca_file)
        return pdm_err(errstr, errlen, "http: client certificates need TLS (a certificate and "
                                       "a key file)");
    return 0;
}

pdm_http *pdm_http_new(const pdm_http_config *cfg, char *errstr, size_t errlen)
{
    pdm_http_config def;
    char msg[PDM_ERRSTR_SIZE];
    if (!cfg) {
        pdm_http_config_init(&def);
        cfg = &def;
    }
    if (check_config(cfg, errstr, errlen))
        return NULL;
    pdm_http *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->cfg = *cfg;
    s->bind = strdup(cfg->bind ? cfg->bind : DEFAULT_BIND);
    s->auth_prefix = strdup(cfg->auth_prefix ? cfg->auth_prefix : "/v1/");
    s->admin_prefix = strdup(cfg->admin_prefix ? cfg->admin_prefix : "/v1/admin/");
    if (!s->bind || !s->auth_prefix || !s->admin_prefix ||
        http_secret_set(&s->tokens.read, cfg->token) ||
        http_secret_set(&s->tokens.admin, cfg->admin_token) ||
        !(s->guard = http_guard_new(cfg->request_timeout_ms)))
        goto oom;
    s->cfg.bind = s->bind;
    s->cfg.token = s->tokens.read.text;
    s->cfg.admin_token = s->tokens.admin.text;
    s->cfg.auth_prefix = s->tokens.auth_prefix = s->auth_prefix;
    s->cfg.admin_prefix = s->tokens.admin_prefix = s->admin_prefix;
    s->tokens.auth_metrics = cfg->auth_metrics;
    s->cfg.tls_cert_file = s->cfg.tls_key_file = s->cfg.tls_client_ca_file = NULL; /* in tls */
    if (cfg->tls_cert_file && *cfg->tls_cert_file &&
        !(s->tls = http_tls_new(cfg->tls_cert_file, cfg->tls_key_file, cfg->tls_client_ca_file,
                                msg, sizeof msg))) {
        pdm_err(errstr, errlen, "http: %s", msg);
        pdm_http_destroy(s);
        return NULL;
    }
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
    http_secret_clear(&s->tokens.read);
    http_secret_clear(&s->tokens.admin);
    http_tls_destroy(s->tls);
    http_guard_destroy(s->guard);
    free(s->bind);
    free(s->auth_prefix);
    free(s->admin_prefix);
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
    http_response_init(&resp);
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
    if (st->early_auth == 3 &&
        pdm_http_response_header(&resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                 "Bearer realm=\"pdm\", error=\"insufficient_scope\""))
        goto out;
    if (st->early_status == 405 &&
        pdm_http_response_header(&resp, MHD_HTTP_HEADER_ALLOW, st->allow))
        goto out;
    if (st->early_close &&
        pdm_http_response_header(&resp, MHD_HTTP_HEADER_CONNECTION, "close"))
        goto out;
    ret = send_response(conn, st, &resp);
out:
    http_response_clear(&resp);
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

/* 0 if the framing headers are unambiguous, else -1 with the early 400. */
static int check_framing(struct MHD_Connection *conn, request_state *st)
{
    if (http_check_connection_framing(conn, st->early_msg, sizeof st->early_msg) == 0)
        return 0;
    st->early_status = 400;
    return -1;
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
    int status;
    const char *refusal = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, HTTP_REFUSAL_HEADER);
    if (refusal && http_refusal_parse(refusal, s->nonce, &status, st->early_msg,
                                      sizeof st->early_msg) == 0) {
        st->early_status = status; /* a request the gate refused (stream.c) */
        st->early_close = 1;
        free(st->method);
        free(st->path);
        st->method = strdup("-");
        st->path = strdup("-");
        return;
    }
    if (check_framing(conn, st)) {
        st->early_close = 1;
        return;
    }
    const char *authorization =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    int refused = http_auth_check(&s->tokens, url, authorization, &st->early_auth,
                                  st->early_msg, sizeof st->early_msg);
    if (refused) {
        st->early_status = refused;
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
    http_guard_answered(s->guard, conn); /* the next request's deadline starts */
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
    http_response_init(&resp);
    int rc = st->route->handler(st->route->ctx, &req, &resp);
    if (rc != 0 || resp.status < 100 || resp.status > 599) {
        http_response_clear(&resp);
        if (pdm_http_response_error(&resp, 500, "internal error while handling the request")) {
            http_response_clear(&resp);
            return MHD_NO;
        }
    }
    enum MHD_Result ret = send_response(conn, st, &resp);
    http_response_clear(&resp);
    return ret;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    pdm_http *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        http_guard_opened(s->guard, conn, socket_context);
    } else {
        http_guard_closed(s->guard, socket_context);
    }
}

/* Queues the early answer or runs the handler; from here on the
 * connection is answering, not reading, and the deadline waits. */
static enum MHD_Result answer(pdm_http *s, struct MHD_Connection *conn, const char *url,
                              const char *method, request_state *st)
{
    http_guard_answering(s->guard, conn);
    if (st->early_status)
        return send_early(conn, st);
    return run_handler(s, conn, url, method, st);
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
            return answer(s, conn, url, method, st); /* the body is refused unread */
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
    if (st->too_large && !st->early_status)
        set_early(st, 413, "request body is over the limit of %zu bytes", s->cfg.max_body);
    return answer(s, conn, url, method, st);
}

static void quiet_logger(void *cls, const char *fmt, va_list ap)
{
    /* libmicrohttpd's own messages are dropped: libraries do not print. */
}

/* ---- lifecycle ------------------------------------------------------------ */

/* The guard thread's periodic work: a TLS reload asked for by a signal. */
static void on_tick(void *cls)
{
    pdm_http *s = cls;
    char err[PDM_ERRSTR_SIZE], msg[PDM_ERRSTR_SIZE + 64], fp[65];
    if (!s->tls || !http_tls_take_reload_request(s->tls))
        return;
    int rc = http_tls_reload(s->tls, err, sizeof err);
    if (rc == 0 && http_tls_fingerprint(s->tls, fp, sizeof fp) == 0)
        snprintf(msg, sizeof msg, "TLS certificate reloaded, now serving SHA-256 %s", fp);
    else if (rc == 0)
        snprintf(msg, sizeof msg, "TLS certificate reloaded");
    else
        snprintf(msg, sizeof msg, "TLS reload failed, the running certificate stays: %s", err);
    if (s->cfg.notice)
        s->cfg.notice(s->cfg.notice_ctx, rc == 0 ? PDM_LOG_INFO : PDM_LOG_ERROR, msg);
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
    int fd = http_open_listener(s->bind, &port, errstr, errlen);
    if (fd < 0)
        return -1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                     MHD_USE_NO_LISTEN_SOCKET;
    unsigned char rnd[16];
    if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd) < 0) {
        close(fd);
        return pdm_err(errstr, errlen, "http: no random bytes for the gate's nonce");
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(s->nonce + 2 * i, 3, "%02x", rnd[i]);
    const http_gate_config gc = {
        .limit = s->cfg.connection_limit,
        .per_ip_limit = s->cfg.per_ip_limit,
        .request_timeout_ms = s->cfg.request_timeout_ms,
        .idle_timeout_s = s->cfg.timeout_s,
        .max_body = s->cfg.max_body,
        .tls = s->tls,
        .nonce = s->nonce,
    };
    s->gate = http_gate_new(fd, &gc, s->guard);
    if (!s->gate) {
        close(fd);
        return pdm_err(errstr, errlen, "http: out of memory or descriptors");
    }
    struct MHD_OptionItem opts[] = {
        /* A head the gate passes (16 KiB at most) must never meet the
         * daemon's own 431, which comes near half this. */
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL},
        /* The gate keeps the limits (connections, per address); the daemon
         * gets room to spare, since a pool splits its limit among threads
         * and would refuse a connection its chosen share cannot hold, and
         * the daemon notices a connection the gate closed a moment later. */
        {MHD_OPTION_CONNECTION_LIMIT,
         (intptr_t)s->cfg.connection_limit * 2 * (s->cfg.threads > 1 ? s->cfg.threads : 1),
         NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)s->cfg.timeout_s, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, s},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)on_unescape, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s},
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)quiet_logger, NULL},
        {s->cfg.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         (intptr_t)s->cfg.threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        http_gate_destroy(s->gate); /* closes fd */
        s->gate = NULL;
        return pdm_err(errstr, errlen, "http: libmicrohttpd failed to start on %s", s->bind);
    }
    if (http_guard_start(s->guard, on_tick, s) || http_gate_start(s->gate, s->daemon)) {
        pdm_http_stop(s);
        return pdm_err(errstr, errlen, "http: cannot start the request guard thread");
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
    http_gate_destroy(s->gate); /* no more hand-overs; closes the listening socket */
    s->gate = NULL;
    http_guard_stop(s->guard);
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    s->port = 0;
}

int pdm_http_tls_reload(pdm_http *s, char *errstr, size_t errlen)
{
    if (!s->tls)
        return pdm_err(errstr, errlen, "http: TLS is not configured");
    return http_tls_reload(s->tls, errstr, errlen);
}

void pdm_http_request_tls_reload(pdm_http *s)
{
    if (s && s->tls)
        http_tls_request_reload(s->tls);
}

int pdm_http_tls_fingerprint(pdm_http *s, char *out, size_t outlen)
{
    return s->tls ? http_tls_fingerprint(s->tls, out, outlen) : -1;
}

unsigned long long pdm_http_slow_closed(const pdm_http *s)
{
    return http_guard_cut_total(s->guard);
}
