/* guard.c: the request deadline. libmicrohttpd's connection timeout is an
 * idle timeout: every byte restarts it, so a client that sends one header
 * byte every few seconds holds its connection (and, with enough of them,
 * every connection slot) forever. The guard gives each connection a
 * deadline by which the request it is reading (TLS handshake, head and
 * body) must be complete: from the connection's start, then again from the
 * end of each answer on a kept-alive connection. While an answer is being
 * made and sent the connection is exempt (a slow handler is not the
 * client's fault; the idle timeout still covers a client that stops
 * reading).
 *
 * A thread wakes every GUARD_TICK_MS and shuts down (shutdown(2), never
 * close) the socket of every connection past its deadline: libmicrohttpd
 * then reads end-of-file and closes the connection itself, through its own
 * cleanup. The socket cannot have been closed and its number reused
 * meanwhile: libmicrohttpd reports NOTIFY_CLOSED, which removes the entry
 * under the same lock, before it closes the socket.
 *
 * The same thread runs the server's periodic work (a TLS reload asked for
 * from a signal handler) through the tick callback.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "http_internal.h"

#define GUARD_TICK_MS 100
#define GUARD_FDS 4096 /* sockets numbered below this can carry an accept time */

struct guard_conn {
    struct guard_conn *prev, *next;
    struct MHD_Connection *conn;
    int fd;
    struct sockaddr_storage addr; /* the client's, for per-address limits */
    double deadline; /* monotonic seconds */
    int answering;   /* exempt from the deadline */
    int cut;
};

struct http_guard {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    double request_timeout_s;
    struct guard_conn *head;
    size_t open;     /* connections the daemon holds */
    size_t handing;  /* handed to the daemon by the gate, not yet started there */
    double *accepted_at; /* by socket number: when the gate accepted it, 0 if unknown */
    unsigned long long cut_total;
    int stop;
    int running;
    pthread_t thread;
    void (*tick)(void *);
    void *tick_ctx;
};

http_guard *http_guard_new(unsigned request_timeout_ms)
{
    http_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->wake, &ca);
    pthread_condattr_destroy(&ca);
    g->request_timeout_s = request_timeout_ms / 1000.0;
    if (!(g->accepted_at = calloc(GUARD_FDS, sizeof *g->accepted_at))) {
        http_guard_destroy(g);
        return NULL;
    }
    return g;
}

void http_guard_destroy(http_guard *g)
{
    if (!g)
        return;
    http_guard_stop(g);
    struct guard_conn *c = g->head;
    while (c) {
        struct guard_conn *next = c->next;
        free(c);
        c = next;
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g->accepted_at);
    free(g);
}

/* Cuts the connections past their deadline. Called with the lock held. */
static void cut_overdue(http_guard *g, double now)
{
    for (struct guard_conn *c = g->head; c; c = c->next) {
        if (c->answering || c->cut || now < c->deadline || c->fd < 0)
            continue;
        shutdown(c->fd, SHUT_RDWR);
        c->cut = 1;
        g->cut_total++;
    }
}

static void *guard_main(void *arg)
{
    http_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += GUARD_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->wake, &g->lock, &ts);
        if (g->stop)
            break;
        cut_overdue(g, pdm_monotonic_s());
        if (g->tick) {
            pthread_mutex_unlock(&g->lock);
            g->tick(g->tick_ctx);
            pthread_mutex_lock(&g->lock);
        }
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

int http_guard_start(http_guard *g, void (*tick)(void *), void *tick_ctx)
{
    g->tick = tick;
    g->tick_ctx = tick_ctx;
    g->stop = 0;
    if (pthread_create(&g->thread, NULL, guard_main, g) != 0)
        return -1;
    g->running = 1;
    return 0;
}

void http_guard_stop(http_guard *g)
{
    if (!g || !g->running)
        return;
    pthread_mutex_lock(&g->lock);
    g->stop = 1;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->thread, NULL);
    g->running = 0;
}

void http_guard_opened(http_guard *g, struct MHD_Connection *conn, void **socket_context)
{
    struct guard_conn *c = calloc(1, sizeof *c);
    *socket_context = c;
    if (!c)
        return; /* unguarded: the idle timeout still applies */
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    c->conn = conn;
    c->fd = info ? info->connect_fd : -1;
    const union MHD_ConnectionInfo *peer =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (peer && peer->client_addr) {
        size_t len = peer->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                              : sizeof(struct sockaddr_in);
        memcpy(&c->addr, peer->client_addr, len);
    }
    pthread_mutex_lock(&g->lock);
    double start = pdm_monotonic_s();
    if (c->fd >= 0 && c->fd < GUARD_FDS && g->accepted_at[c->fd] > 0) {
        start = g->accepted_at[c->fd]; /* the gate held its head: one bound in all */
        g->accepted_at[c->fd] = 0;
        g->handing--;
    }
    c->deadline = start + g->request_timeout_s;
    c->next = g->head;
    if (g->head)
        g->head->prev = c;
    g->head = c;
    g->open++;
    pthread_mutex_unlock(&g->lock);
}

void http_guard_closed(http_guard *g, void **socket_context)
{
    struct guard_conn *c = *socket_context;
    if (!c)
        return;
    pthread_mutex_lock(&g->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    g->open--;
    pthread_mutex_unlock(&g->lock);
    free(c);
    *socket_context = NULL;
}

static struct guard_conn *entry_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

void http_guard_answering(http_guard *g, struct MHD_Connection *conn)
{
    struct guard_conn *c = entry_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&g->lock);
    c->answering = 1;
    pthread_mutex_unlock(&g->lock);
}

void http_guard_answered(http_guard *g, struct MHD_Connection *conn)
{
    struct guard_conn *c = entry_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&g->lock);
    c->answering = 0;
    c->deadline = pdm_monotonic_s() + g->request_timeout_s;
    pthread_mutex_unlock(&g->lock);
}

unsigned long long http_guard_cut_total(http_guard *g)
{
    pthread_mutex_lock(&g->lock);
    unsigned long long n = g->cut_total;
    pthread_mutex_unlock(&g->lock);
    return n;
}

void http_guard_count_cut(http_guard *g)
{
    pthread_mutex_lock(&g->lock);
    g->cut_total++;
    pthread_mutex_unlock(&g->lock);
}

void http_guard_accepted(http_guard *g, int fd, double accepted_at)
{
    if (fd < 0 || fd >= GUARD_FDS)
        return;
    pthread_mutex_lock(&g->lock);
    if (g->accepted_at[fd] == 0)
        g->handing++;
    g->accepted_at[fd] = accepted_at;
    pthread_mutex_unlock(&g->lock);
}

void http_guard_handover_failed(http_guard *g, int fd)
{
    if (fd < 0 || fd >= GUARD_FDS)
        return;
    pthread_mutex_lock(&g->lock);
    if (g->accepted_at[fd] > 0) {
        g->accepted_at[fd] = 0;
        g->handing--;
    }
    pthread_mutex_unlock(&g->lock);
}

int http_same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return 0;
}
