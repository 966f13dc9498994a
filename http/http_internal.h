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
/* Connections the daemon holds now, or is being handed by the gate. */
size_t http_guard_open_count(http_guard *g);
/* The gate accepted socket fd at accepted_at (monotonic s) and hands it to
 * the daemon now: its first request's deadline counts from then. */
void http_guard_accepted(http_guard *g, int fd, double accepted_at);
/* The daemon refused (and closed) socket fd the gate handed it. */
void http_guard_handover_failed(http_guard *g, int fd);
/* Connections the daemon holds from the client address addr. */
size_t http_guard_count_address(http_guard *g, const struct sockaddr_storage *addr);
/* 1 if a and b are the same IPv4 or IPv6 address (ports aside). */
int http_same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* Counts a connection cut elsewhere (by the gate) in cut_total. */
void http_guard_count_cut(http_guard *g);

/* ---- gate.c: first request heads of plain HTTP ------------------------------- */

typedef struct http_gate http_gate;

/* Takes listen_fd (non-blocking, listening) on success. NULL on failure. */
http_gate *http_gate_new(int listen_fd, unsigned limit, unsigned per_ip_limit,
                         unsigned request_timeout_ms, unsigned idle_timeout_s, http_guard *guard);
/* Starts accepting and handing sound connections to daemon. 0 or -1. */
int http_gate_start(http_gate *g, struct MHD_Daemon *daemon);
/* Stops the thread, closes what waits and the listening socket. */
void http_gate_destroy(http_gate *g);

/* ---- tls.c: certificates ---------------------------------------------------- */

typedef struct http_tls http_tls;

/* Loads the pair (and the client CA, if given) after checking that this
 * libmicrohttpd has TLS. NULL with errstr. */
http_tls *http_tls_new(const char *cert_file, const char *key_file, const char *client_ca_file,
                       char *errstr, size_t errlen);
void http_tls_destroy(http_tls *t);
/* The client CA's PEM text for MHD_OPTION_HTTPS_MEM_TRUST, or NULL. */
const char *http_tls_client_ca_pem(const http_tls *t);
/* Loads the files again; the new pair serves from the next handshake on.
 * On error the running pair stays. 0 or -1 with errstr. */
int http_tls_reload(http_tls *t, char *errstr, size_t errlen);
/* Async-signal-safe: ask for a reload; taken (and cleared) by the guard. */
void http_tls_request_reload(http_tls *t);
int http_tls_take_reload_request(http_tls *t);
/* SHA-256 fingerprint of the serving certificate, hex (65 bytes). */
int http_tls_fingerprint(http_tls *t, char *out, size_t outlen);
/* MHD_OPTION_HTTPS_CERT_CALLBACK. */
int http_tls_retrieve_cert(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                           const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                           gnutls_pcert_st **pcert, unsigned int *pcert_length,
                           gnutls_privkey_t *pkey);
/* At a connection's start: ties the session to t, requires a client
 * certificate when a client CA is configured. */
void http_tls_session_start(http_tls *t, struct MHD_Connection *conn);
/* 1 if no client CA is configured or the client's certificate verified. */
int http_tls_client_verified(http_tls *t, struct MHD_Connection *conn);

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

/* Checks a request head as received so far (buf[0..len), not
 * NUL-terminated): 0 incomplete (wait for more), 1 complete and sound, -1
 * refused with *status (400, 413, 414, 431, 505) and why. Sound means: a
 * request line METHOD TARGET HTTP/1.0|1.1, header lines NAME: VALUE
 * without folding or control characters, and http_check_framing. Pure. */
int http_check_head(const char *buf, size_t len, const http_head_limits *lim, int *status,
                    char *why, size_t whylen);

#endif
