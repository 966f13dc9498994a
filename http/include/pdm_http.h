/* pdm_http.h: a small HTTP/1.1 server for the scorer's API and /metrics,
 * over libmicrohttpd.
 *
 * The caller registers routes (method + exact path or path prefix) with a
 * handler, then starts the server. The wrapper answers by itself, always
 * with a JSON body {"error": "..."}:
 *   400 ambiguous framing: Content-Length not digits, two Content-Length
 *       headers, or Content-Length with Transfer-Encoding (the connection
 *       is closed after the answer: no request smuggling),
 *   401 no bearer token / 403 wrong token (on paths that need one; the
 *       comparison takes the same time whatever the token sent), or a
 *       read token on an admin path,
 *   404 no route for the path, 405 a route for the path but not for the
 *       method (with an Allow header),
 *   413 a body over max_body (refused from Content-Length before reading
 *       it; a chunked body is never buffered past the limit),
 *   500 a handler that returns non-zero.
 * pdm_http_parse_json gives handlers the 400 answers for JSON bodies.
 *
 * Malformed requests, on every request of a connection (kept-alive and
 * pipelined ones too) and under TLS alike: the server's own front door
 * (the gate) accepts each connection, terminates TLS, checks every request
 * head as it streams through and relays the checked bytes to
 * libmicrohttpd, so a malformed request is refused with JSON, one status
 * line and Connection: close, in its turn after the answers owed to the
 * requests before it: 400 (request line, header line, Content-Length,
 * a malformed chunked body), 413 (a length of 20 digits or more, a chunked
 * body over max_body), 414 (URI over 8 KiB), 431 (head over 16 KiB), 501
 * (a transfer coding other than chunked), 505 (not HTTP/1.0 or 1.1, the
 * HTTP/2 preface included). libmicrohttpd 0.9.75 would answer those itself
 * in HTML without a Content-Type (bad lengths with the status line twice)
 * and has no hook to change that: it never sees them. A chunked body is
 * decoded by the gate and reaches libmicrohttpd whole with a
 * Content-Length; if it asked for 100-continue, the gate answers the 100
 * itself when no earlier answer is owed on the connection (else the client
 * waits its own timeout, curl 1 s, before sending the body). If libmicrohttpd
 * cannot take a new connection the gate answers 503 itself.
 *
 * Tokens: `token` reaches every path under auth_prefix (and /metrics with
 * auth_metrics); `admin_token`, when set, is the only one that reaches
 * paths under admin_prefix and reaches everything the read token does.
 * With only `token`, admin paths take it too; with only `admin_token`,
 * only admin paths need a token.
 *
 * Slow clients: each request (TLS handshake, head and body) must arrive
 * within request_timeout_ms of the connection's start or of the previous
 * answer, whatever the client sends byte by byte; past it the connection
 * is closed. timeout_s is the idle timeout (every byte restarts it; once
 * the first request has been passed on, bytes the gate holds back, such
 * as a chunked body being collected, do not).
 *
 * TLS: with tls_cert_file and tls_key_file (PEM) the server speaks HTTPS
 * only (GnuTLS, in the gate's thread; handshakes never block it);
 * pdm_http_tls_reload swaps in the files' new contents for the next
 * handshakes without closing a connection. With tls_client_ca_file every
 * client must present a certificate signed by that CA (handshake refused
 * otherwise).
 *
 * Handlers run on the server's threads (several at once with a thread
 * pool), so what they touch must be thread-safe. The server never logs by
 * itself; the optional access log callback gets method, path, status and
 * duration only (never headers, so never the token).
 */
#ifndef PDM_HTTP_H
#define PDM_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_common.h"

struct cJSON;

typedef struct {
    const char *method; /* "GET", ... */
    const char *path;   /* percent-decoded, without the query */
    const char *rest;   /* for a prefix route, path after the prefix; else "" */
    const char *query;  /* raw text after '?', "" if none */
    const char *body;   /* NUL-terminated ("" without a body) */
    size_t body_len;
    void *conn; /* internal: for the lookup functions below */
} pdm_http_request;

/* A header of the request (case-insensitive name) or NULL. */
const char *pdm_http_request_header(const pdm_http_request *req, const char *name);
/* A query argument, percent-decoded, or NULL. */
const char *pdm_http_request_arg(const pdm_http_request *req, const char *name);

#define PDM_HTTP_MAX_HEADERS 8

typedef struct {
    int status;            /* default 200 */
    char content_type[96]; /* default "application/json" */
    pdm_buf body;
    size_t n_headers;
    char *header_name[PDM_HTTP_MAX_HEADERS];
    char *header_value[PDM_HTTP_MAX_HEADERS];
} pdm_http_response;

/* Adds a response header (copied). Returns 0 or -1. */
int pdm_http_response_header(pdm_http_response *resp, const char *name, const char *value);
/* Sets status and content type and replaces the body with text. 0 or -1. */
int pdm_http_response_text(pdm_http_response *resp, int status, const char *content_type,
                           const char *text, size_t len);
/* Sets status and the body to the compact JSON of item (not taken). */
int pdm_http_response_json(pdm_http_response *resp, int status, const struct cJSON *item);
/* Sets status and the body to {"error": message}. Returns 0 or -1. */
int pdm_http_response_error(pdm_http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns 0 to send resp, non-zero for a 500. */
typedef int (*pdm_http_handler)(void *ctx, const pdm_http_request *req, pdm_http_response *resp);

typedef void (*pdm_http_access_log_fn)(void *ctx, const char *method, const char *path, int status,
                                       double seconds);

/* Server events worth a log line (a TLS reload's outcome); level is
 * PDM_LOG_INFO or PDM_LOG_ERROR. */
typedef void (*pdm_http_notice_fn)(void *ctx, int level, const char *message);

typedef struct {
    const char *bind;          /* "ADDR:PORT", "[V6ADDR]:PORT"; port 0: any free port */
    unsigned threads;          /* 0 or 1: one internal polling thread; more: a pool */
    unsigned connection_limit; /* default 64, open connections in all (the gate keeps it).
                                * At the limit new connections wait in the listen
                                * backlog until a slot frees (they are not refused). */
    unsigned per_ip_limit;     /* connections per client address (served or with a head
                                * still arriving), 0 = no limit (default); over it a
                                * connection is closed at once */
    unsigned timeout_s;        /* a connection idle this long is closed, default 10 */
    unsigned request_timeout_ms; /* a request must arrive whole within this, default 10000 */
    size_t max_body;           /* default 1 MiB */
    const char *token;         /* bearer token (copied); NULL or "": no authentication */
    const char *auth_prefix;   /* paths needing the token, default "/v1/" */
    const char *admin_token;   /* (copied) NULL or "": admin paths take `token` */
    const char *admin_prefix;  /* paths needing the admin token, default "/v1/admin/" */
    const char *tls_cert_file; /* PEM certificate chain, server first; NULL: plain HTTP */
    const char *tls_key_file;  /* PEM private key of its first certificate */
    const char *tls_client_ca_file; /* PEM CA(s) client certificates must chain to */
    int auth_metrics;          /* also on /metrics */
    pdm_http_access_log_fn access_log;
    void *access_log_ctx;
    pdm_http_notice_fn notice;
    void *notice_ctx;
} pdm_http_config;

/* Defaults: bind "127.0.0.1:8080", the values above, no TLS. */
void pdm_http_config_init(pdm_http_config *c);

typedef struct pdm_http pdm_http;

/* Checks the configuration and keeps a copy; nothing listens yet. */
pdm_http *pdm_http_new(const pdm_http_config *cfg, char *errstr, size_t errlen);
/* Stops the server if running, then frees it. */
void pdm_http_destroy(pdm_http *s);

/* Registers a handler for method on path (prefix != 0: every path starting
 * with it; the longest matching prefix wins, an exact route beats a prefix).
 * A GET route also answers HEAD. Only before pdm_http_start. 0 or -1. */
int pdm_http_route(pdm_http *s, const char *method, const char *path, int prefix,
                   pdm_http_handler handler, void *ctx);

/* Binds, listens and starts serving. Returns 0 or -1 with errstr. */
int pdm_http_start(pdm_http *s, char *errstr, size_t errlen);
/* The bound port (useful with port 0), 0 before start. */
unsigned pdm_http_port(const pdm_http *s);
/* Stops accepting, closes connections and joins the threads. Idempotent. */
void pdm_http_stop(pdm_http *s);

/* Loads the TLS certificate and key files again and serves the new pair
 * from the next handshake on; on error (unreadable, not PEM, key not of
 * the certificate) the running pair stays. 0 or -1 with errstr. */
int pdm_http_tls_reload(pdm_http *s, char *errstr, size_t errlen);
/* Async-signal-safe: the same, done within ~100 ms by the server's own
 * thread, which reports the outcome through notice. No-op without TLS. */
void pdm_http_request_tls_reload(pdm_http *s);
/* SHA-256 fingerprint (hex) of the certificate being served. 0 or -1. */
int pdm_http_tls_fingerprint(pdm_http *s, char *out, size_t outlen);
/* Connections closed so far for not sending a request within
 * request_timeout_ms. */
unsigned long long pdm_http_slow_closed(const pdm_http *s);

/* ---- helpers for handlers ------------------------------------------------- */

#define PDM_HTTP_MAX_JSON_DEPTH 64

/* Parses req's body as JSON into *out (free with cJSON_Delete). On an empty
 * body, invalid UTF-8, nesting deeper than PDM_HTTP_MAX_JSON_DEPTH or a
 * parse error, writes a 400 with the reason into resp and returns -1. */
int pdm_http_parse_json(const pdm_http_request *req, struct cJSON **out, pdm_http_response *resp);

/* 1 if s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF), else 0. */
int pdm_http_utf8_valid(const char *s, size_t len);

/* Percent-decodes s in place, as the server does for paths and query
 * arguments, except "%00": a NUL would end the C string and cut what the
 * handler sees ("/v1/machines/1%00" would read as machine 1), so "%00" stays
 * as those three characters and the handler refuses it as it would any odd
 * text. Malformed escapes stay as written. Returns the new length. */
size_t pdm_http_unescape(char *s);

/* A path segment as a non-negative int32: digits only (no sign, not empty),
 * at most INT32_MAX. Returns 0 or -1. */
int pdm_http_parse_id(const char *segment, int32_t *out);

#endif
