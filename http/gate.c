/* gate.c: the server's front door, for each connection's whole life.
 * libmicrohttpd 0.9.75 answers some bad requests itself, before any
 * callback of ours runs, with an HTML body and no Content-Type (a URI or
 * head over its buffer: 414/431, an unknown version such as the HTTP/2
 * preface: 505, a malformed header line or Content-Length: 400, the
 * latter with its status line sent twice), and has no hook to change
 * that. So the gate accepts every connection itself, terminates TLS
 * (GnuTLS, tls.c) when configured, checks every request as it streams
 * through (stream.c: pipelined and kept-alive requests too), and relays
 * the checked bytes to the daemon over a socketpair, whose end the daemon
 * is given (MHD_add_connection, with the client's address) when the first
 * request is sound; the daemon's answers come back the same way. A
 * refused request is replaced by one the daemon answers, in its turn, with
 * the refusal's JSON before it closes (see stream.c).
 *
 * One thread, epoll (level-triggered), non-blocking sockets; a slow TLS
 * handshake is a slow client like any other. Limits: at most
 * connection_limit connections in all (then the gate stops accepting, and
 * new ones wait in the listen backlog), at most per_ip_limit from one
 * address (over it closed at once). Until the daemon has a connection
 * (handshake and first head), the gate holds it to the request deadline
 * from its accept and the idle timeout between bytes; from then on the
 * daemon's idle timeout and the request guard (guard.c) apply to its end,
 * and whatever closes that end closes the client's.
 *
 * Cost: every byte is copied once more (and, under TLS, encrypted here
 * rather than on the daemon's threads); README "HTTP API" has the
 * measured figures.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_internal.h"

#define LINGER_S 2.0           /* how long a finished client may go on sending */
#define BUF_HIGH (256 * 1024)  /* stop reading a side while this much waits for the other */
#define IO_CHUNK 16384

typedef struct gate_conn gate_conn;

typedef struct {
    gate_conn *c;
    int daemon; /* this tag is the daemon's side */
} side;

struct gate_conn {
    gate_conn *prev, *next;
    side client_tag, daemon_tag;
    int fd;   /* the client's socket */
    int peer; /* our end of the socketpair, -1 before the hand-over and after the daemon's end */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    gnutls_session_t tls; /* NULL: plain HTTP */
    int handshaken;
    size_t tls_inflight; /* a record send that said "again" */
    http_stream *stream;
    pdm_buf up, down; /* checked bytes for the daemon / its answers for the client */
    size_t up_off, down_off;
    double deadline;      /* before the hand-over: the first request whole; closing: the end */
    double idle_deadline; /* before the hand-over: the next byte */
    double accepted_at;
    int handed, refused, client_eof, daemon_eof, up_shut, closing, dead;
    int gone; /* dropped: freed once the current batch of events is done */
    unsigned client_mask, daemon_mask; /* epoll interest now (~0u: not registered) */
};

struct http_gate {
    int listen_fd, epoll_fd, wake_fd;
    int listening; /* the listening socket is in the epoll set */
    struct MHD_Daemon *daemon;
    http_guard *guard;
    http_tls *tls;
    const char *nonce;
    unsigned limit, per_ip_limit;
    size_t max_body;
    double timeout_s, idle_s;
    gate_conn *head;
    gate_conn *gone; /* dropped, not yet freed (a batch may still name them) */
    size_t n_conns;
    pthread_t thread;
    int running;
    atomic_int stop;
    char buf[IO_CHUNK];
};

static size_t pending(const pdm_buf *b, size_t off)
{
    return b->len - off;
}

static void consumed(pdm_buf *b, size_t *off, size_t n)
{
    *off += n;
    if (*off == b->len)
        b->len = *off = 0;
}

static void drop(http_gate *g, gate_conn *c)
{
    epoll_ctl(g->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->peer >= 0) {
        epoll_ctl(g->epoll_fd, EPOLL_CTL_DEL, c->peer, NULL);
        close(c->peer);
    }
    if (c->tls)
        gnutls_deinit(c->tls);
    c->tls = NULL;
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    g->n_conns--;
    c->gone = 1;
    c->next = g->gone;
    g->gone = c;
}

static void free_gone(http_gate *g)
{
    while (g->gone) {
        gate_conn *c = g->gone;
        g->gone = c->next;
        http_stream_destroy(c->stream);
        pdm_buf_free(&c->up);
        pdm_buf_free(&c->down);
        free(c);
    }
}

/* Gives the daemon its end of a new socketpair. 0 or -1. */
static int hand_over(http_gate *g, gate_conn *c)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    c->peer = sv[0];
    c->daemon_mask = ~0u;
    c->handed = 1;
    http_guard_accepted(g->guard, sv[1], c->accepted_at);
    /* The daemon owns sv[1] from here, and closes it on failure. */
    if (MHD_add_connection(g->daemon, sv[1], (const struct sockaddr *)&c->addr, c->addr_len) !=
        MHD_YES) {
        http_guard_handover_failed(g->guard, sv[1]);
        return -1;
    }
    return 0;
}

/* The daemon's end is closed (its socket is out of the epoll set): what
 * it answered must reach the client within the idle timeout. */
static void daemon_gone(http_gate *g, gate_conn *c)
{
    if (c->peer >= 0)
        close(c->peer);
    c->peer = -1;
    c->daemon_eof = 1;
    c->deadline = pdm_monotonic_s() + g->idle_s;
}

/* The daemon would not take the connection (out of descriptors or
 * memory): nothing was answered on it yet, so the gate answers itself, as
 * JSON, and the connection ends after it. */
static void answer_busy(http_gate *g, gate_conn *c)
{
    static const char body[] = "{\"error\":\"the server is busy, try again\"}";
    c->up.len = c->up_off = 0;
    c->refused = 1; /* what else the client sends is dropped */
    daemon_gone(g, c);
    if (pdm_buf_printf(&c->down,
                       "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                       sizeof body - 1, body))
        c->dead = 1;
}

/* The TLS handshake, one step. 1 progress, 0 waiting, -1 failed. */
static int handshake(http_gate *g, gate_conn *c)
{
    int rc = gnutls_handshake(c->tls);
    if (rc == GNUTLS_E_SUCCESS) {
        c->handshaken = 1;
        return http_tls_peer_verified(g->tls, c->tls) ? 1 : -1;
    }
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
        return 0;
    return gnutls_error_is_fatal(rc) ? -1 : 1;
}

/* Client bytes through the stream check into up. 1 progress, else 0. */
static int read_client(http_gate *g, gate_conn *c)
{
    if (c->client_eof || pending(&c->up, c->up_off) > BUF_HIGH)
        return 0;
    ssize_t n;
    if (c->tls) {
        n = gnutls_record_recv(c->tls, g->buf, sizeof g->buf);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
            return 0;
        if (n < 0 && !gnutls_error_is_fatal((int)n))
            return 1;
        if (n < 0 && n != GNUTLS_E_PREMATURE_TERMINATION) {
            c->dead = 1;
            return 1;
        }
        n = n < 0 ? 0 : n;
    } else {
        n = recv(c->fd, g->buf, sizeof g->buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return 0;
        if (n < 0) {
            c->dead = 1;
            return 1;
        }
    }
    if (n == 0) {
        c->client_eof = 1;
        return 1;
    }
    c->idle_deadline = pdm_monotonic_s() + g->idle_s;
    if (c->refused)
        return 1; /* the daemon is answering the refusal: the rest is dropped */
    int status = 400;
    char why[200];
    if (http_stream_feed(c->stream, g->buf, (size_t)n, &c->up, &status, why, sizeof why)) {
        c->refused = 1;
        if (http_refusal_request(&c->up, g->nonce, status, why))
            c->dead = 1;
    } else if (http_stream_take_continue(c->stream) && !c->handed &&
               !pending(&c->up, c->up_off) &&
               pdm_buf_printf(&c->down, "HTTP/1.1 100 Continue\r\n\r\n")) {
        c->dead = 1; /* (out of memory) nothing is owed yet: the interim answer may go */
    }
    if (!c->handed && pending(&c->up, c->up_off) && hand_over(g, c))
        answer_busy(g, c);
    return 1;
}

static int write_daemon(gate_conn *c)
{
    if (c->peer < 0 || !pending(&c->up, c->up_off))
        return 0;
    ssize_t n = send(c->peer, c->up.data + c->up_off, pending(&c->up, c->up_off),
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n < 0) { /* the daemon closed: its answers, if any, are still to read */
        c->up.len = c->up_off = 0;
        c->up_shut = 1;
        return 1;
    }
    consumed(&c->up, &c->up_off, (size_t)n);
    return 1;
}

static int read_daemon(http_gate *g, gate_conn *c)
{
    if (c->peer < 0 || c->daemon_eof || pending(&c->down, c->down_off) > BUF_HIGH)
        return 0;
    if (pdm_buf_reserve(&c->down, IO_CHUNK)) {
        c->dead = 1;
        return 1;
    }
    ssize_t n = recv(c->peer, c->down.data + c->down.len, IO_CHUNK, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n <= 0) { /* the daemon is done with the connection */
        epoll_ctl(g->epoll_fd, EPOLL_CTL_DEL, c->peer, NULL);
        daemon_gone(g, c);
        return 1;
    }
    c->down.len += (size_t)n;
    return 1;
}

static int write_client(gate_conn *c)
{
    size_t len = pending(&c->down, c->down_off);
    if (!len)
        return 0;
    ssize_t n;
    if (c->tls) {
        if (c->tls_inflight)
            n = gnutls_record_send(c->tls, NULL, 0);
        else
            n = gnutls_record_send(c->tls, c->down.data + c->down_off,
                                   len < IO_CHUNK ? len : IO_CHUNK);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            if (!c->tls_inflight)
                c->tls_inflight = len < IO_CHUNK ? len : IO_CHUNK;
            return 0;
        }
        c->tls_inflight = 0;
    } else {
        n = send(c->fd, c->down.data + c->down_off, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return 0;
    }
    if (n <= 0) {
        c->dead = 1; /* the client is gone */
        return 1;
    }
    consumed(&c->down, &c->down_off, (size_t)n);
    return 1;
}

/* Reads and drops what a finished client sends (up to 1 MiB a turn, so
 * one client cannot hold the gate): closing at once with unread input
 * would reset the connection and could destroy the answer before the
 * client reads it. */
static void drain(http_gate *g, gate_conn *c)
{
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(c->fd, g->buf, sizeof g->buf, MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        c->dead = 1; /* the client is done (or gone) */
        return;
    }
}

/* The daemon's last answer is out: end our side, then linger. */
static void finish(gate_conn *c)
{
    if (c->tls)
        gnutls_bye(c->tls, GNUTLS_SHUT_WR); /* best effort: the socket does not wait */
    shutdown(c->fd, SHUT_WR);
    c->closing = 1;
    c->deadline = pdm_monotonic_s() + LINGER_S;
}

static void watch(http_gate *g, int fd, unsigned *now, unsigned want, side *tag)
{
    if (*now == want)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = tag};
    epoll_ctl(g->epoll_fd, *now == ~0u ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
    *now = want;
}

/* Moves what can move, both ways, then sets what to wait for. */
static void pump(http_gate *g, gate_conn *c)
{
    for (int round = 0; round < 64 && !c->dead && !c->closing; round++) {
        int progress = 0;
        if (c->tls && !c->handshaken) {
            int rc = handshake(g, c);
            if (rc < 0)
                c->dead = 1;
            if (rc <= 0)
                break;
            progress = 1;
        }
        progress |= read_client(g, c);
        progress |= write_daemon(c);
        progress |= read_daemon(g, c);
        progress |= write_client(c);
        if (!progress)
            break;
    }
    if (c->closing && !c->dead)
        drain(g, c);
    if (!c->dead && !c->closing) {
        if (c->daemon_eof && !pending(&c->down, c->down_off))
            finish(c);
        else if (c->client_eof && !c->handed)
            c->dead = 1; /* gone before a whole request: nothing is owed */
        else if (c->client_eof && !c->refused && !c->up_shut && c->peer >= 0 &&
                 !pending(&c->up, c->up_off)) {
            shutdown(c->peer, SHUT_WR); /* as if the client spoke to the daemon */
            c->up_shut = 1;
        }
    }
    if (c->dead) {
        drop(g, c);
        return;
    }
    /* Level-triggered: a hang-up already seen would be reported again and
     * again, so it is asked for only until seen. */
    unsigned want = c->client_eof ? 0 : EPOLLRDHUP;
    if (c->closing)
        want |= EPOLLIN;
    else if (c->tls && !c->handshaken)
        want |= gnutls_record_get_direction(c->tls) ? EPOLLOUT : EPOLLIN;
    else {
        if (!c->client_eof && pending(&c->up, c->up_off) <= BUF_HIGH)
            want |= EPOLLIN;
        if (pending(&c->down, c->down_off))
            want |= EPOLLOUT;
    }
    watch(g, c->fd, &c->client_mask, want, &c->client_tag);
    if (c->peer >= 0) {
        want = 0;
        if (pending(&c->down, c->down_off) <= BUF_HIGH)
            want |= EPOLLIN;
        if (pending(&c->up, c->up_off))
            want |= EPOLLOUT;
        watch(g, c->peer, &c->daemon_mask, want, &c->daemon_tag);
    }
}

static int over_address_limit(http_gate *g, const struct sockaddr_storage *addr)
{
    if (!g->per_ip_limit)
        return 0;
    size_t same = 0;
    for (gate_conn *c = g->head; c; c = c->next)
        same += !c->closing && http_same_address(&c->addr, addr);
    return same >= g->per_ip_limit;
}

static gate_conn *conn_new(http_gate *g, int fd)
{
    gate_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->stream = http_stream_new(g->max_body)) ||
        (g->tls && http_tls_session_new(g->tls, fd, &c->tls))) {
        if (c)
            http_stream_destroy(c->stream);
        free(c);
        return NULL;
    }
    c->fd = fd;
    c->peer = -1;
    c->client_tag = (side){c, 0};
    c->daemon_tag = (side){c, 1};
    c->client_mask = c->daemon_mask = ~0u;
    c->accepted_at = pdm_monotonic_s();
    c->deadline = c->accepted_at + g->timeout_s;
    c->idle_deadline = c->accepted_at + g->idle_s;
    return c;
}

static void accept_new(http_gate *g)
{
    while (g->n_conns < g->limit) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept4(g->listen_fd, (struct sockaddr *)&addr, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or an aborted connection */
        gate_conn *c = over_address_limit(g, &addr) ? NULL : conn_new(g, fd);
        if (!c) {
            close(fd);
            continue;
        }
        int one = 1; /* answers go out as they come, not held for the next ACK */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->addr = addr;
        c->addr_len = len;
        c->next = g->head;
        if (g->head)
            g->head->prev = c;
        g->head = c;
        g->n_conns++;
        pump(g, c); /* registers it; the request may be there already */
    }
}

/* The listening socket is watched only while there is room. */
static void watch_listener(http_gate *g)
{
    int want = g->n_conns < g->limit;
    if (want == g->listening)
        return;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &g->listen_fd};
    epoll_ctl(g->epoll_fd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, g->listen_fd, &ev);
    g->listening = want;
}

static void on_event(http_gate *g, side *s, unsigned events)
{
    gate_conn *c = s->c;
    if (c->gone)
        return;
    /* A client that reset, or closed while nothing reads it: none to answer. */
    if (!s->daemon && (events & EPOLLERR || (events & EPOLLHUP && c->client_eof)))
        c->dead = 1;
    pump(g, c);
}

/* Deadlines of what the daemon does not hold (yet, or any more): the
 * first request, the last answer's delivery, the linger. Also pumps again
 * what TLS holds decrypted that epoll cannot see (left when a pump hit its
 * round limit). Returns 1 if such a connection is still left. */
static int expire(http_gate *g)
{
    double now = pdm_monotonic_s();
    int left = 0;
    gate_conn *c = g->head;
    while (c) {
        gate_conn *next = c->next;
        if ((c->closing || c->daemon_eof) && now >= c->deadline) {
            drop(g, c);
        } else if (!c->handed && (now >= c->deadline || now >= c->idle_deadline)) {
            if (now >= c->deadline)
                http_guard_count_cut(g->guard);
            drop(g, c);
        } else if (c->tls && c->handshaken && !c->closing && !c->client_eof && !c->refused &&
                   pending(&c->up, c->up_off) <= BUF_HIGH &&
                   gnutls_record_check_pending(c->tls) > 0) {
            pump(g, c);
            left |= !c->gone && gnutls_record_check_pending(c->tls) > 0;
        }
        c = next;
    }
    return left;
}

static void *gate_main(void *arg)
{
    http_gate *g = arg;
    struct epoll_event evs[64];
    int again = 0;
    while (!atomic_load(&g->stop)) {
        watch_listener(g);
        int n = epoll_wait(g->epoll_fd, evs, 64, again ? 0 : 100);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &g->listen_fd)
                accept_new(g);
            else if (evs[i].data.ptr != &g->wake_fd)
                on_event(g, evs[i].data.ptr, evs[i].events);
        }
        again = expire(g);
        free_gone(g);
    }
    return NULL;
}

http_gate *http_gate_new(int listen_fd, const http_gate_config *cfg, http_guard *guard)
{
    http_gate *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->listen_fd = g->epoll_fd = g->wake_fd = -1;
    g->limit = cfg->limit;
    g->per_ip_limit = cfg->per_ip_limit;
    g->timeout_s = cfg->request_timeout_ms / 1000.0;
    g->idle_s = cfg->idle_timeout_s;
    g->max_body = cfg->max_body;
    g->tls = cfg->tls;
    g->nonce = cfg->nonce;
    g->guard = guard;
    g->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    g->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &g->wake_fd};
    if (g->epoll_fd < 0 || g->wake_fd < 0 ||
        epoll_ctl(g->epoll_fd, EPOLL_CTL_ADD, g->wake_fd, &ev) != 0) {
        http_gate_destroy(g); /* the listening socket stays the caller's */
        return NULL;
    }
    g->listen_fd = listen_fd;
    return g;
}

int http_gate_start(http_gate *g, struct MHD_Daemon *daemon)
{
    g->daemon = daemon;
    if (pthread_create(&g->thread, NULL, gate_main, g) != 0)
        return -1;
    g->running = 1;
    return 0;
}

void http_gate_destroy(http_gate *g)
{
    if (!g)
        return;
    if (g->running) {
        atomic_store(&g->stop, 1);
        uint64_t one = 1;
        if (write(g->wake_fd, &one, sizeof one) < 0) {
            /* the 100 ms epoll timeout wakes it anyway */
        }
        pthread_join(g->thread, NULL);
    }
    while (g->head)
        drop(g, g->head);
    free_gone(g);
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    if (g->epoll_fd >= 0)
        close(g->epoll_fd);
    if (g->wake_fd >= 0)
        close(g->wake_fd);
    free(g);
}
