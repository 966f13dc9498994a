/* gate.c: the door of a plain-HTTP server. libmicrohttpd answers some bad
 * requests itself, before any callback of ours runs, with an HTML body and
 * no Content-Type (a URI or head over its buffer: 414/431, an unknown
 * version such as the HTTP/2 preface: 505, a malformed header line or
 * Content-Length: 400, the latter with its status line sent twice) and
 * has no hook to change that. So the gate accepts connections itself and
 * looks at each one's first request head without consuming it (MSG_PEEK):
 * a head that http_check_head refuses is answered here, as JSON, and the
 * connection closed; a sound one is handed to the daemon
 * (MHD_add_connection), which reads the same bytes again. Only then does
 * the connection take one of the daemon's slots; while the daemon is
 * full, sound connections wait here, as they would in the listen backlog.
 *
 * What the gate does not see: requests after the first on a kept-alive
 * connection, and anything under TLS (the bytes are encrypted), where
 * libmicrohttpd's own answers remain (see pdm_http.h).
 *
 * Waiting heads count against the same limits as served connections: at
 * most connection_limit wait (then the gate stops accepting), at most
 * per_ip_limit from one address, and each must be complete within the
 * request timeout of its accept, with no pause longer than the idle
 * timeout. epoll is edge-triggered on them, since
 * peeked bytes stay readable: an event means new bytes came.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "http_internal.h"

#define GATE_MAX_URI 8192
#define GATE_MAX_HEAD 16384
#define LINGER_S 2.0 /* how long a refused client may go on sending */

typedef struct waiting {
    struct waiting *prev, *next;
    int fd;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    double accepted_at;
    double deadline;      /* the whole head by then */
    double idle_deadline; /* the next byte by then */
    size_t seen;          /* bytes of head seen so far */
    int sound;   /* complete and sound: handed over once the daemon has room */
    int closing; /* answered: draining until the client is done */
} waiting;

struct http_gate {
    int listen_fd, epoll_fd, wake_fd;
    int listening; /* the listening socket is in the epoll set */
    struct MHD_Daemon *daemon;
    http_guard *guard;
    unsigned limit, per_ip_limit;
    double timeout_s, idle_s;
    waiting *head;
    size_t n_waiting;
    pthread_t thread;
    int running;
    atomic_int stop;
    char peek[GATE_MAX_HEAD + 1];
};

static const char *reason(int status)
{
    switch (status) {
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 505: return "HTTP Version Not Supported";
    default: return "Bad Request";
    }
}

static void forget(http_gate *g, waiting *w, int close_fd)
{
    epoll_ctl(g->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
    if (close_fd)
        close(w->fd);
    if (w->prev)
        w->prev->next = w->next;
    else
        g->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    g->n_waiting--;
    free(w);
}

/* Answers status with {"error": why}, then lets the client finish sending
 * (closing at once with unread input would reset the connection and could
 * destroy the answer before the client reads it). */
static void refuse(http_gate *g, waiting *w, int status, const char *why)
{
    char head[256];
    cJSON *o = cJSON_CreateObject();
    char *body = o && cJSON_AddStringToObject(o, "error", why) ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    const char *b = body ? body : "{\"error\":\"bad request\"}";
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason(status), strlen(b));
    if (send(w->fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE) == n)
        send(w->fd, b, strlen(b), MSG_NOSIGNAL | MSG_DONTWAIT);
    cJSON_free(body);
    shutdown(w->fd, SHUT_WR);
    w->closing = 1;
    w->deadline = pdm_monotonic_s() + LINGER_S;
}

/* Reads and drops what a refused client sends (up to 1 MiB a turn, so
 * one client cannot hold the gate); forgets it at its end. Whatever is
 * left is dropped with the connection at the linger deadline. */
static void drain(http_gate *g, waiting *w)
{
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(w->fd, g->peek, sizeof g->peek, MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        forget(g, w, 1); /* the client is done (or gone) */
        return;
    }
}

static void try_hand_over(http_gate *g, waiting *w)
{
    if (http_guard_open_count(g->guard) >= g->limit)
        return; /* retried every tick until a slot frees */
    int fd = w->fd;
    struct sockaddr_storage addr = w->addr;
    socklen_t len = w->addr_len;
    http_guard_accepted(g->guard, fd, w->accepted_at);
    forget(g, w, 0);
    /* The daemon owns the socket from here, and closes it on failure. */
    if (MHD_add_connection(g->daemon, fd, (const struct sockaddr *)&addr, len) != MHD_YES)
        http_guard_handover_failed(g->guard, fd);
}

/* Looks at what w has sent so far; hup: the client has closed its side. */
static void examine(http_gate *g, waiting *w, int hup)
{
    if (w->closing) {
        drain(g, w);
        return;
    }
    if (w->sound)
        return;
    ssize_t n = recv(w->fd, g->peek, sizeof g->peek, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        forget(g, w, 1);
        return;
    }
    if (n < 0)
        return;
    if ((size_t)n > w->seen) {
        w->seen = (size_t)n;
        w->idle_deadline = pdm_monotonic_s() + g->idle_s;
    }
    const http_head_limits lim = {GATE_MAX_URI, GATE_MAX_HEAD};
    int status;
    char why[160];
    int rc = http_check_head(g->peek, (size_t)n, &lim, &status, why, sizeof why);
    if (rc < 0) {
        refuse(g, w, status, why);
        return;
    }
    if (rc == 0 && (size_t)n == sizeof g->peek) {
        refuse(g, w, 431, "request head too large");
        return;
    }
    if (rc == 1) {
        w->sound = 1;
        try_hand_over(g, w);
    } else if (hup) {
        forget(g, w, 1); /* gone before its head was complete */
    }
}

static void accept_new(http_gate *g)
{
    while (g->n_waiting < g->limit) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept4(g->listen_fd, (struct sockaddr *)&addr, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or an aborted connection */
        size_t same = 0; /* what the address holds, waiting here or served */
        for (waiting *w = g->head; w && g->per_ip_limit; w = w->next)
            same += !w->closing && http_same_address(&w->addr, &addr);
        if (g->per_ip_limit)
            same += http_guard_count_address(g->guard, &addr);
        waiting *w = g->per_ip_limit && same >= g->per_ip_limit ? NULL : calloc(1, sizeof *w);
        if (!w) {
            close(fd);
            continue;
        }
        w->fd = fd;
        w->addr = addr;
        w->addr_len = len;
        w->accepted_at = pdm_monotonic_s();
        w->deadline = w->accepted_at + g->timeout_s;
        w->idle_deadline = pdm_monotonic_s() + g->idle_s;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = w};
        if (epoll_ctl(g->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(w);
            continue;
        }
        w->next = g->head;
        if (g->head)
            g->head->prev = w;
        g->head = w;
        g->n_waiting++;
        examine(g, w, 0); /* the head may be there already */
    }
}

/* The listening socket is watched only while there is room to wait. */
static void watch_listener(http_gate *g)
{
    int want = g->n_waiting < g->limit;
    if (want == g->listening)
        return;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &g->listen_fd};
    epoll_ctl(g->epoll_fd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, g->listen_fd, &ev);
    g->listening = want;
}

static void *gate_main(void *arg)
{
    http_gate *g = arg;
    struct epoll_event evs[64];
    while (!atomic_load(&g->stop)) {
        watch_listener(g);
        int n = epoll_wait(g->epoll_fd, evs, 64, 100);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &g->listen_fd)
                accept_new(g);
            else if (evs[i].data.ptr != &g->wake_fd)
                examine(g, evs[i].data.ptr,
                        (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
        }
        double now = pdm_monotonic_s();
        waiting *w = g->head;
        while (w) {
            waiting *next = w->next;
            if (w->sound)
                try_hand_over(g, w);
            else if (now >= w->deadline || (!w->closing && now >= w->idle_deadline)) {
                if (!w->closing && now >= w->deadline)
                    http_guard_count_cut(g->guard);
                forget(g, w, 1);
            }
            w = next;
        }
    }
    return NULL;
}

http_gate *http_gate_new(int listen_fd, unsigned limit, unsigned per_ip_limit,
                         unsigned request_timeout_ms, unsigned idle_timeout_s, http_guard *guard)
{
    http_gate *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->listen_fd = g->epoll_fd = g->wake_fd = -1;
    g->limit = limit;
    g->per_ip_limit = per_ip_limit;
    g->timeout_s = request_timeout_ms / 1000.0;
    g->idle_s = idle_timeout_s;
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
        forget(g, g->head, 1);
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    if (g->epoll_fd >= 0)
        close(g->epoll_fd);
    if (g->wake_fd >= 0)
        close(g->wake_fd);
    free(g);
}
