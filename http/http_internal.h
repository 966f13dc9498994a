/* http_internal.h: what the http module's files share (not public). */
#ifndef PDM_HTTP_INTERNAL_H
#define PDM_HTTP_INTERNAL_H

#include <sys/socket.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "pdm_http.h"

/* ---- auth.c: scoped bearer tokens -------------------------------------------- */

typedef struct {
    char *text; /* NULL: none */
    size_t len;
} http_secret;

/* Copies text (NULL or "": none). 0 or -1 (out of memory). */
int http_secret_set(http_secret *sec, const char *text);
/* Wipes and frees. */
void http_secret_clear(http_secret *sec);

typedef struct {
    http_secret read, admin;
    const char *auth_prefix, *admin_prefix;
    int auth_metrics;
} http_tokens;

/* May a request for path with this Authorization header (NULL if none)
 * go on? 0 yes, else 401 or 403 with why, and *www the WWW-Authenticate
 * variant: 1 plain challenge, 2 invalid_token, 3 insufficient_scope. */
int http_auth_check(const http_tokens *t, const char *path, const char *authorization, int *www,
                    char *why, size_t whylen);

/* ---- response.c, listener.c ------------------------------------------------- */

void http_response_init(pdm_http_response *resp);
void http_response_clear(pdm_http_response *resp);
/* Opens a listening socket on "ADDR:PORT" / "[ADDR]:PORT". fd or -1. */
int http_open_listener(const char *bind_spec, unsigned *port_out, char *errstr, size_t errlen);

/* ---- guard.c: the request deadline --------------------------------------- */

typedef struct http_guard http_guard;

http_guard *http_guard_new(unsigned request_timeout_ms);
void http_guard_destroy(http_guard *g);
/* Starts the thread that cuts overdue connections and calls tick (may be
 * NULL) about every 100 ms. 0 or -1. */
int http_guard_start(http_guard *g, void (*tick)(void *), void *tick_ctx);
void http_guard_stop(http_guard *g);
/* From MHD_OPTION_NOTIFY_CONNECTION: a connection starts / is closed. */
void http_guard_opened(http_guard *g, struct MHD_Connection *conn, void **socket_context);
void http_guard_closed(http_guard *g, void **socket_context);
/* An answer is being made and sent (no deadline) / was sent (the next
 * request's deadline starts). */
void http_guard_answering(http_guard *g, struct MHD_Connection *conn);
void http_guard_answered(http_guard *g, struct MHD_Connection *conn);
unsigned long long http_guard_cut_total(http_guard *g);
/* The gate accepted socket fd at accepted_at (monotonic s) and hands it to
 * the daemon now: its first request's deadline counts from then. */
void http_guard_accepted(http_guard *g, int fd, double accepted_at);
/* The daemon refused (and closed) socket fd the gate handed it. */
void http_guard_handover_failed(http_guard *g, int fd);
/* 1 if a and b are the same IPv4 or IPv6 address (ports aside). */
int http_same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* Counts a connection cut elsewhere (by the gate) in cut_total. */
void http_guard_count_cut(http_guard *g);


/* ---- tls.c: certificates ---------------------------------------------------- */

typedef struct http_tls http_tls;

/* Loads the pair (and the client CA, if given). NULL with errstr. */
http_tls *http_tls_new(const char *cert_file, const char *key_file, const char *client_ca_file,
                       char *errstr, size_t errlen);
void http_tls_destroy(http_tls *t);
/* Loads the files again; the new pair serves from the next handshake on.
 * On error the running pair stays. 0 or -1 with errstr. */
int http_tls_reload(http_tls *t, char *errstr, size_t errlen);
/* Async-signal-safe: ask for a reload; taken (and cleared) by the guard. */
void http_tls_request_reload(http_tls *t);
int http_tls_take_reload_request(http_tls *t);
/* SHA-256 fingerprint of the serving certificate, hex (65 bytes). */
int http_tls_fingerprint(http_tls *t, char *out, size_t outlen);
/* A non-blocking server session on socket fd serving the current pair and
 * requiring a client certificate that verifies when a client CA is
 * configured. 0 or -1. */
int http_tls_session_new(http_tls *t, int fd, gnutls_session_t *out);
/* 1 if no client CA is configured or the peer's certificate verified. */
int http_tls_peer_verified(http_tls *t, gnutls_session_t session);

/* ---- gate.c: the front door, TLS and every request checked --------------- */

typedef struct http_gate http_gate;

typedef struct {
    unsigned limit;              /* connections in all */
    unsigned per_ip_limit;       /* from one address, 0 = no limit */
    unsigned request_timeout_ms; /* handshake and first request, before the hand-over */
    unsigned idle_timeout_s;     /* between bytes, before the hand-over */
    size_t max_body;             /* of a chunked body (decoded here) */
    http_tls *tls;               /* NULL: plain HTTP */
    const char *nonce;           /* marks refusals (kept by the caller) */
} http_gate_config;

/* Takes listen_fd (non-blocking, listening) on success. NULL on failure. */
http_gate *http_gate_new(int listen_fd, const http_gate_config *cfg, http_guard *guard);
/* Starts accepting and handing sound connections to daemon. 0 or -1. */
int http_gate_start(http_gate *g, struct MHD_Daemon *daemon);
/* Stops the thread, closes what waits and the listening socket. */
void http_gate_destroy(http_gate *g);

/* ---- request.c: framing checks ------------------------------------------------ */

/* The request's framing headers are unambiguous: Content-Length, if any,
 * is digits only and every copy of it says the same, and a body is not
 * framed by both Content-Length and Transfer-Encoding. 0, or -1 with the
 * reason in why (a 400). Pure: names and values as the client sent them. */
int http_check_framing(size_t n, const char *const *names, const char *const *values, char *why,
                       size_t whylen);
/* http_check_framing on the headers libmicrohttpd parsed (every copy of
 * each: it frames the body by the first Content-Length alone). */
int http_check_connection_framing(struct MHD_Connection *conn, char *why, size_t whylen);

typedef struct {
    size_t max_uri;  /* longer: 414 */
    size_t max_head; /* request line and headers; larger: 431 */
} http_head_limits;

/* What a sound head says about itself. */
typedef struct {
    size_t head_len;           /* bytes up to and with its blank line */
    int has_length;            /* a Content-Length was sent */
    unsigned long long length; /* its value */
    int chunked;               /* Transfer-Encoding: chunked */
} http_head_info;

/* Checks a request head as received so far (buf[0..len), not
 * NUL-terminated): 0 incomplete (wait for more), 1 complete and sound
 * (info, if not NULL, filled), -1 refused with *status (400, 413, 414,
 * 431, 501, 505) and why. Sound means: a request line METHOD TARGET
 * HTTP/1.0|1.1, header lines NAME: VALUE without folding or control
 * characters, http_check_framing, and no transfer coding but chunked.
 * Pure. */
int http_check_head(const char *buf, size_t len, const http_head_limits *lim,
                    http_head_info *info, int *status, char *why, size_t whylen);

/* ---- stream.c: every request of a connection, checked as it streams -------- */

#define HTTP_GATE_MAX_URI 8192
#define HTTP_GATE_MAX_HEAD 16384

typedef struct http_stream http_stream;

/* A checker for one connection's requests; chunked bodies over max_body
 * are refused (413). NULL when out of memory. */
http_stream *http_stream_new(size_t max_body);
void http_stream_destroy(http_stream *s);
/* Takes n more bytes from the client and appends to out what may go on to
 * the daemon: each sound head with its Content-Length body as sent, and a
 * chunked request, once whole, rewritten with its decoded body and a
 * Content-Length (Transfer-Encoding, Expect and trailers dropped), so the
 * daemon never meets a request it would answer itself. Returns 0, or -1
 * once a request is refused (*status and why; out holds what came before
 * it; every later call returns -1 too). Pure. */
int http_stream_feed(http_stream *s, const char *in, size_t n, pdm_buf *out, int *status,
                     char *why, size_t whylen);
/* 1 if no request is partly received. */
int http_stream_between(const http_stream *s);
/* 1 (once) if the chunked HTTP/1.1 request being collected asked for
 * "Expect: 100-continue": its head is held (and the expectation dropped),
 * so only the gate can tell the client to go on, and only when no earlier
 * answer is owed on the connection. */
int http_stream_take_continue(http_stream *s);

#define HTTP_REFUSAL_HEADER "X-Pdm-Gate-Refusal"

/* Appends the request that asks the daemon to answer a refusal: GET / with
 * HTTP_REFUSAL_HEADER "NONCE STATUS WHY" (why cleaned to printable ASCII)
 * and Connection: close. 0 or -1 (out of memory). */
int http_refusal_request(pdm_buf *out, const char *nonce, int status, const char *why);
/* Reads such a header's value: 0 with status and why if it carries nonce
 * and a status from 400 to 599, else -1. Pure. */
int http_refusal_parse(const char *value, const char *nonce, int *status, char *why,
                       size_t whylen);

#endif
