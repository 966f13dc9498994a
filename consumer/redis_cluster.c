/* redis_cluster.c: a Redis Cluster client over hiredis 0.14 (see
 * redis_cluster.h): the seed list, the slot map, connections per node with
 * AUTH on each, and the pipeline that spreads a batch's commands over the
 * nodes and follows redirects. The pure rules (hash slot, redirect parsing)
 * are redis_slot.c's. */
#include "redis_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdm_common.h"
#include "redis_slot.h"

#define MAX_SEEDS 16
/* Rounds of redirects or TRYAGAIN/CLUSTERDOWN one pipeline follows before
 * it fails (and the caller retries it whole, with its own backoff); the
 * waits between rounds add up to about 1.3 s. */
#define MAX_ROUNDS 8
/* How long a write pipeline waits for a replica of each master it wrote to
 * (WAIT 1 WAIT_MS) before it goes on without one. */
#define WAIT_MS 100

typedef struct {
    char host[256];
    int port;
    redisContext *c;  /* NULL while disconnected */
    int replicas;     /* as the slot map lists them (failed ones are not) */
    int touched;      /* got commands in the current pipeline */
    int unconfirmed;  /* its last WAIT saw no replica take the writes */
} cl_node;

typedef struct {
    size_t off, len; /* the command in RESP, in the batch's arena */
    int slot;
    int node;        /* where it was sent */
    int ask_node;    /* -1, or the node an ASK named: send ASKING first */
    int sent;        /* its reply is to be read */
    int asked;       /* an ASKING reply comes before it */
    int done;        /* its reply is in (and maybe taken already) */
    redisReply *reply;
} cl_cmd;

struct pdm_cluster {
    cl_node seeds[MAX_SEEDS];
    int n_seeds;
    cl_node *nodes;
    int n_nodes, cap_nodes;
    short owner[PDM_REDIS_SLOTS]; /* node index per slot, -1 none */
    int have_map;
    char user[128];
    char *password;
    double timeout_s;
    char desc[300];
    cl_cmd *cmds;
    size_t n_cmds, cap_cmds, next_reply;
    int open;   /* a pipeline is being queued */
    int writes; /* the pipeline writes: confirmed on a replica (WAIT) */
    pdm_buf arena;
    char (*tags)[PDM_REDIS_TAG_SIZE]; /* per slot, made at the first epoch check */
};

/* ---- seeds and nodes ---------------------------------------------------- */

/* "host:port" or "[v6]:port" of length len into n. */
static int parse_seed(const char *s, size_t len, cl_node *n)
{
    const char *end = s + len, *colon = NULL;
    for (const char *q = s; q < end; q++)
        if (*q == ':')
            colon = q;
    const char *h = s, *h_end = colon ? colon : end;
    if (*h == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return -1;
        h++;
        h_end = close;
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
    }
    n->port = 6379;
    if (colon) {
        char *e;
        long port = strtol(colon + 1, &e, 10);
        if (e != end || port <= 0 || port > 65535)
            return -1;
        n->port = (int)port;
    }
    if (h_end <= h || (size_t)(h_end - h) >= sizeof n->host)
        return -1;
    snprintf(n->host, sizeof n->host, "%.*s", (int)(h_end - h), h);
    return 0;
}

static int parse_url(pdm_cluster *cl, const char *url, char *errstr, size_t errlen)
{
    const char *p = url + strlen("redis+cluster://");
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        if (colon)
            snprintf(cl->user, sizeof cl->user, "%.*s", (int)(colon - p), p);
        if (!cl->password && at > pw && !(cl->password = strndup(pw, (size_t)(at - pw))))
            return pdm_err(errstr, errlen, "out of memory");
        p = at + 1;
    }
    if (slash && slash[1] && strcmp(slash, "/0") != 0)
        return pdm_err(errstr, errlen, "redis cluster URL: a cluster has database 0 only");
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *seed_end = comma ? comma : end;
        if (cl->n_seeds == MAX_SEEDS)
            return pdm_err(errstr, errlen, "redis cluster URL: more than %d seed nodes", MAX_SEEDS);
        if (parse_seed(p, (size_t)(seed_end - p), &cl->seeds[cl->n_seeds]))
            return pdm_err(errstr, errlen, "redis cluster URL: bad seed node '%.*s'",
                           (int)(seed_end - p), p);
        cl->n_seeds++;
        p = comma ? comma + 1 : end;
    }
    if (!cl->n_seeds)
        return pdm_err(errstr, errlen, "redis cluster URL: no seed node");
    return 0;
}

pdm_cluster *pdm_cluster_new(const char *url, const char *password, double timeout_s,
                             char *errstr, size_t errlen)
{
    pdm_cluster *cl = calloc(1, sizeof *cl);
    if (!cl) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    if ((password && *password && !(cl->password = strdup(password))) ||
        parse_url(cl, url, errstr, errlen)) {
        if (!errstr || !*errstr)
            pdm_err(errstr, errlen, "out of memory");
        pdm_cluster_destroy(cl);
        return NULL;
    }
    cl->timeout_s = timeout_s > 0 ? timeout_s : 5.0;
    memset(cl->owner, -1, sizeof cl->owner);
    size_t used = (size_t)snprintf(cl->desc, sizeof cl->desc, "cluster ");
    for (int i = 0; i < cl->n_seeds && used < sizeof cl->desc; i++)
        used += (size_t)snprintf(cl->desc + used, sizeof cl->desc - used, "%s%s:%d",
                                 i ? "," : "", cl->seeds[i].host, cl->seeds[i].port);
    return cl;
}

static void node_drop(cl_node *n)
{
    if (n->c)
        redisFree(n->c);
    n->c = NULL;
}

void pdm_cluster_drop(pdm_cluster *cl)
{
    for (int i = 0; i < cl->n_nodes; i++)
        node_drop(&cl->nodes[i]);
    for (int i = 0; i < cl->n_seeds; i++)
        node_drop(&cl->seeds[i]);
    cl->have_map = 0;
}

static void pipeline_clear(pdm_cluster *cl)
{
    for (int i = 0; i < cl->n_nodes; i++)
        cl->nodes[i].touched = 0;
    for (size_t i = 0; i < cl->n_cmds; i++)
        if (cl->cmds[i].reply)
            freeReplyObject(cl->cmds[i].reply);
    cl->n_cmds = cl->next_reply = 0;
    cl->arena.len = 0;
}

void pdm_cluster_destroy(pdm_cluster *cl)
{
    if (!cl)
        return;
    pdm_cluster_drop(cl);
    pipeline_clear(cl);
    free(cl->cmds);
    free(cl->nodes);
    free(cl->tags);
    pdm_buf_free(&cl->arena);
    if (cl->password) {
        memset(cl->password, 0, strlen(cl->password));
        free(cl->password);
    }
    free(cl);
}

const char *pdm_cluster_describe(const pdm_cluster *cl) { return cl->desc; }

int pdm_cluster_connected(const pdm_cluster *cl) { return cl->have_map; }

/* Connects and authenticates n if it is not connected. */
static int node_connect(pdm_cluster *cl, cl_node *n, char *errstr, size_t errlen)
{
    if (n->c)
        return 0;
    struct timeval tv = {(time_t)cl->timeout_s,
                         (suseconds_t)((cl->timeout_s - (double)(time_t)cl->timeout_s) * 1e6)};
    n->c = redisConnectWithTimeout(n->host, n->port, tv);
    if (!n->c)
        return pdm_err(errstr, errlen, "redis %s:%d: out of memory", n->host, n->port);
    if (n->c->err) {
        pdm_err(errstr, errlen, "redis %s:%d: %s", n->host, n->port, n->c->errstr);
        node_drop(n);
        return -1;
    }
    redisSetTimeout(n->c, tv);
    redisEnableKeepAlive(n->c);
    if (cl->password) {
        const char *argv[3] = {"AUTH", cl->user[0] ? cl->user : cl->password, cl->password};
        redisReply *reply = redisCommandArgv(n->c, cl->user[0] ? 3 : 2, argv, NULL);
        int bad = !reply || reply->type == REDIS_REPLY_ERROR;
        if (bad) /* never the password in a message */
            pdm_err(errstr, errlen, "redis %s:%d: AUTH failed: %s", n->host, n->port,
                    reply ? reply->str : n->c->errstr);
        if (reply)
            freeReplyObject(reply);
        if (bad) {
            node_drop(n);
            return -1;
        }
    }
    return 0;
}

/* The index of the node host:port, added if new; -1 out of memory. */
static int node_index(pdm_cluster *cl, const char *host, int port)
{
    for (int i = 0; i < cl->n_nodes; i++)
        if (cl->nodes[i].port == port && strcmp(cl->nodes[i].host, host) == 0)
            return i;
    if (cl->n_nodes == cl->cap_nodes) {
        int cap = cl->cap_nodes ? cl->cap_nodes * 2 : 8;
        if (cap > PDM_REDIS_SLOTS)
            return -1;
        cl_node *nodes = realloc(cl->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return -1;
        cl->nodes = nodes;
        cl->cap_nodes = cap;
    }
    cl_node *n = &cl->nodes[cl->n_nodes];
    memset(n, 0, sizeof *n);
    snprintf(n->host, sizeof n->host, "%s", host);
    n->port = port;
    return cl->n_nodes++;
}

/* ---- the slot map -------------------------------------------------------- */

/* One CLUSTER SLOTS entry ([start, end, [host, port, id], replicas...]) into
 * the map; from is the node that answered (for an empty host). */
static int map_range(pdm_cluster *cl, const redisReply *e, const cl_node *from, short *owner)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
        e->element[0]->type != REDIS_REPLY_INTEGER || e->element[1]->type != REDIS_REPLY_INTEGER)
        return -1;
    const redisReply *m = e->element[2];
    if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 || m->element[0]->type != REDIS_REPLY_STRING ||
        m->element[1]->type != REDIS_REPLY_INTEGER)
        return -1;
    long long lo = e->element[0]->integer, hi = e->element[1]->integer;
    if (lo < 0 || hi >= PDM_REDIS_SLOTS || lo > hi)
        return -1;
    const char *host = m->element[0]->str;
    if (!host[0] || strcmp(host, "?") == 0)
        host = from->host;
    int idx = node_index(cl, host, (int)m->element[1]->integer);
    if (idx < 0)
        return -1;
    for (long long s = lo; s <= hi; s++)
        owner[s] = (short)idx;
    cl->nodes[idx].replicas = (int)(e->elements - 3);
    return 0;
}

/* CLUSTER SLOTS from node n into the map. */
static int map_from(pdm_cluster *cl, cl_node *n, char *errstr, size_t errlen)
{
    if (node_connect(cl, n, errstr, errlen))
        return -1;
    const char *argv[2] = {"CLUSTER", "SLOTS"};
    redisReply *reply = redisCommandArgv(n->c, 2, argv, NULL);
    if (!reply) {
        pdm_err(errstr, errlen, "redis %s:%d: %s", n->host, n->port, n->c->errstr);
        node_drop(n);
        return -1;
    }
    int rc = 0;
    short *map = malloc(sizeof cl->owner);
    if (!map)
        rc = pdm_err(errstr, errlen, "out of memory");
    else if (reply->type != REDIS_REPLY_ARRAY)
        rc = pdm_err(errstr, errlen, "redis %s:%d: CLUSTER SLOTS: %s", n->host, n->port,
                     reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
    if (map)
        memset(map, -1, sizeof cl->owner);
    cl_node from = *n; /* n may move when nodes grow */
    for (int i = 0; i < cl->n_nodes; i++)
        cl->nodes[i].replicas = 0;
    for (size_t i = 0; rc == 0 && i < reply->elements; i++)
        if (map_range(cl, reply->element[i], &from, map))
            rc = pdm_err(errstr, errlen, "redis %s:%d: CLUSTER SLOTS: unexpected reply",
                         from.host, from.port);
    if (rc == 0)
        memcpy(cl->owner, map, sizeof cl->owner);
    free(map);
    freeReplyObject(reply);
    return rc;
}

/* The slot map from the first node that gives one: known nodes, then seeds. */
static int map_refresh(pdm_cluster *cl, char *errstr, size_t errlen)
{
    for (int i = 0; i < cl->n_nodes; i++)
        if (map_from(cl, &cl->nodes[i], errstr, errlen) == 0)
            goto found;
    for (int i = 0; i < cl->n_seeds; i++) {
        int rc = map_from(cl, &cl->seeds[i], errstr, errlen);
        node_drop(&cl->seeds[i]); /* a seed's connection serves only this */
        if (rc == 0)
            goto found;
    }
    return -1;
found:
    cl->have_map = 1;
    return 0;
}

/* Does node i own a slot? (A demoted or removed master does not.) */
static int owns_slot(const pdm_cluster *cl, int i)
{
    for (int s = 0; s < PDM_REDIS_SLOTS; s++)
        if (cl->owner[s] == i)
            return 1;
    return 0;
}

int pdm_cluster_connect(pdm_cluster *cl, char *errstr, size_t errlen)
{
    if (map_refresh(cl, errstr, errlen))
        return -1;
    for (int i = 0; i < cl->n_nodes; i++) {
        if (!owns_slot(cl, i)) {
            node_drop(&cl->nodes[i]);
        } else if (node_connect(cl, &cl->nodes[i], errstr, errlen)) {
            cl->have_map = 0;
            return -1;
        }
    }
    return 0;
}

/* ---- the pipeline --------------------------------------------------------- */

/* Appends argv in RESP to the arena (what redisAppendCommandArgv makes). */
static int format_command(pdm_buf *out, int argc, const char **argv, const size_t *lens)
{
    if (pdm_buf_printf(out, "*%d\r\n", argc))
        return -1;
    for (int a = 0; a < argc; a++) {
        size_t len = lens ? lens[a] : strlen(argv[a]);
        if (pdm_buf_printf(out, "$%zu\r\n", len) || pdm_buf_append(out, argv[a], len) ||
            pdm_buf_append(out, "\r\n", 2))
            return -1;
    }
    return 0;
}

int pdm_cluster_add(pdm_cluster *cl, int argc, const char **argv, const size_t *lens)
{
    if (!cl->open) {
        pipeline_clear(cl);
        cl->open = 1;
    }
    if (argc < 2)
        return -1; /* every command here has a key */
    if (cl->n_cmds == cl->cap_cmds) {
        size_t cap = cl->cap_cmds ? cl->cap_cmds * 2 : 256;
        cl_cmd *cmds = realloc(cl->cmds, cap * sizeof *cmds);
        if (!cmds)
            return -1;
        cl->cmds = cmds;
        cl->cap_cmds = cap;
    }
    cl_cmd *c = &cl->cmds[cl->n_cmds];
    memset(c, 0, sizeof *c);
    c->off = cl->arena.len;
    if (format_command(&cl->arena, argc, argv, lens))
        return -1;
    c->len = cl->arena.len - c->off;
    c->slot = pdm_redis_key_slot(argv[1], lens ? lens[1] : strlen(argv[1]));
    c->ask_node = -1;
    cl->n_cmds++;
    return 0;
}

/* Fails the pipeline: every connection closed (replies may be missing, so
 * the pipelines are out of step), the map read again next time. */
static int pipeline_fail(pdm_cluster *cl)
{
    pdm_cluster_drop(cl);
    cl->open = 0;
    return -1;
}

/* Appends command i to its node (the ASK target with ASKING, else the
 * slot's owner), connecting to a node not connected yet. */
static int route(pdm_cluster *cl, cl_cmd *c, char *errstr, size_t errlen)
{
    int node = c->ask_node >= 0 ? c->ask_node : cl->owner[c->slot];
    if (node < 0)
        return pdm_err(errstr, errlen, "redis %s: slot %d is served by no node", cl->desc,
                       c->slot);
    cl_node *n = &cl->nodes[node];
    if (node_connect(cl, n, errstr, errlen))
        return -1;
    c->node = node;
    n->touched = 1;
    c->asked = c->ask_node >= 0;
    if ((c->asked && redisAppendCommand(n->c, "ASKING") != REDIS_OK) ||
        redisAppendFormattedCommand(n->c, cl->arena.data + c->off, c->len) != REDIS_OK)
        return pdm_err(errstr, errlen, "redis %s:%d: out of memory", n->host, n->port);
    c->sent = 1;
    c->ask_node = -1;
    return 0;
}

/* Writes out every node's output buffer. */
static int flush_all(pdm_cluster *cl, char *errstr, size_t errlen)
{
    for (int i = 0; i < cl->n_nodes; i++) {
        cl_node *n = &cl->nodes[i];
        int done = 0;
        while (n->c && !done)
            if (redisBufferWrite(n->c, &done) != REDIS_OK)
                return pdm_err(errstr, errlen, "redis %s:%d: %s", n->host, n->port,
                               n->c->errstr);
    }
    return 0;
}

/* Routes every command without a reply, then flushes every node's output
 * (blocking sockets; Redis buffers the replies nobody reads yet, so
 * writing all before reading any cannot deadlock). */
static int send_pending(pdm_cluster *cl, char *errstr, size_t errlen)
{
    for (size_t i = 0; i < cl->n_cmds; i++)
        if (!cl->cmds[i].done && route(cl, &cl->cmds[i], errstr, errlen))
            return -1;
    return flush_all(cl, errstr, errlen);
}

int pdm_cluster_send(pdm_cluster *cl, int writes, char *errstr, size_t errlen)
{
    if (!cl->open)
        pipeline_clear(cl); /* nothing queued since the last pipeline */
    cl->open = 0;
    cl->writes = writes;
    if (!cl->have_map && pdm_cluster_connect(cl, errstr, errlen))
        return pipeline_fail(cl);
    if (send_pending(cl, errstr, errlen))
        return pipeline_fail(cl);
    return 0;
}

/* After a write pipeline: WAIT 1 on every master it wrote to that has a
 * replica, so that writes acknowledged (and then committed to Kafka as
 * applied) are on a replica too, which a failover promotes. A master
 * whose replica does not confirm within WAIT_MS is logged (once, until it
 * confirms again) and the map read again (the cluster drops a failed
 * replica from it); the writes stand: waiting for a replica that is gone
 * would stop the scorer, not protect the state. */
static int confirm_writes(pdm_cluster *cl, char *errstr, size_t errlen)
{
    int refresh = 0;
    for (int i = 0; i < cl->n_nodes; i++) {
        cl_node *n = &cl->nodes[i];
        if (n->touched && n->replicas > 0 && n->c &&
            redisAppendCommand(n->c, "WAIT 1 %d", WAIT_MS) != REDIS_OK)
            return pdm_err(errstr, errlen, "redis %s:%d: out of memory", n->host, n->port);
    }
    if (flush_all(cl, errstr, errlen)) /* every WAIT out before any is read */
        return -1;
    for (int i = 0; i < cl->n_nodes; i++) {
        cl_node *n = &cl->nodes[i];
        if (!n->touched || n->replicas <= 0 || !n->c)
            continue;
        redisReply *reply;
        if (redisGetReply(n->c, (void **)&reply) != REDIS_OK)
            return pdm_err(errstr, errlen, "redis %s:%d: %s", n->host, n->port, n->c->errstr);
        int confirmed = reply->type == REDIS_REPLY_INTEGER && reply->integer >= 1;
        if (!confirmed && !n->unconfirmed)
            pdm_log(PDM_LOG_WARN,
                    "redis %s:%d: no replica confirmed the writes within %d ms (%s): a "
                    "failover now could lose them",
                    n->host, n->port, WAIT_MS,
                    reply->type == REDIS_REPLY_ERROR ? reply->str : "WAIT");
        else if (confirmed && n->unconfirmed)
            pdm_log(PDM_LOG_INFO, "redis %s:%d: a replica confirms the writes again", n->host,
                    n->port);
        n->unconfirmed = !confirmed;
        refresh |= !confirmed;
        freeReplyObject(reply);
    }
    char ignored[PDM_ERRSTR_SIZE];
    if (refresh)
        map_refresh(cl, ignored, sizeof ignored);
    return 0;
}

/* Reads the replies of the commands sent, in the order queued (each node's
 * replies come in the order it got the commands). A redirect leaves the
 * command without a reply, to be sent again: *moved, *asked and *later say
 * that some were (*moved: read the map again, *later: wait first). */
static int read_replies(pdm_cluster *cl, int *moved, int *asked, int *later, char *last, size_t last_len,
                        char *errstr, size_t errlen)
{
    for (size_t i = 0; i < cl->n_cmds; i++) {
        cl_cmd *c = &cl->cmds[i];
        if (!c->sent)
            continue;
        cl_node *n = &cl->nodes[c->node];
        redisReply *reply = NULL;
        for (int k = c->asked ? 2 : 1; k > 0; k--) {
            if (reply)
                freeReplyObject(reply); /* ASKING's +OK */
            if (redisGetReply(n->c, (void **)&reply) != REDIS_OK)
                return pdm_err(errstr, errlen, "redis %s:%d: %s", n->host, n->port,
                               n->c->errstr);
        }
        c->sent = 0;
        pdm_redis_redirect r;
        pdm_redis_redirect_kind kind = PDM_REDIS_REPLY_OTHER;
        if (reply->type == REDIS_REPLY_ERROR)
            kind = pdm_redis_parse_redirect(reply->str, reply->len, &r);
        if (kind == PDM_REDIS_REPLY_OTHER) {
            c->reply = reply;
            c->done = 1;
            continue;
        }
        snprintf(last, last_len, "%s", reply->str);
        freeReplyObject(reply);
        if (kind == PDM_REDIS_MOVED || kind == PDM_REDIS_ASK) {
            if (!r.host[0]) /* the node that answered (node_index may move n) */
                snprintf(r.host, sizeof r.host, "%s", n->host);
            int to = node_index(cl, r.host, r.port);
            if (to < 0)
                return pdm_err(errstr, errlen, "out of memory");
            if (kind == PDM_REDIS_MOVED) {
                cl->owner[r.slot] = (short)to;
                *moved = 1;
            } else {
                c->ask_node = to;
                *asked = 1;
            }
        } else {
            *later = 1;
        }
    }
    return 0;
}

int pdm_cluster_wait(pdm_cluster *cl, char *errstr, size_t errlen)
{
    cl->open = 0;
    char last[256] = "";
    for (int round = 0;; round++) {
        int moved = 0, asked = 0, later = 0;
        if (read_replies(cl, &moved, &asked, &later, last, sizeof last, errstr, errlen))
            return pipeline_fail(cl);
        if (!moved && !asked && !later)
            return cl->writes && confirm_writes(cl, errstr, errlen) ? pipeline_fail(cl) : 0;
        if (round + 1 == MAX_ROUNDS) {
            pdm_err(errstr, errlen, "redis %s: still redirected after %d rounds: %s", cl->desc,
                    MAX_ROUNDS, last);
            pipeline_clear(cl);
            return -1;
        }
        if (later)
            usleep((useconds_t)(10000 << round)); /* 10 ms .. 1.3 s */
        /* A MOVED: the slot's new owner is known already; the whole map
         * is read again so that the rest of a reshard's moves is too. Not
         * having it is no error: the MOVED replies route meanwhile. */
        char ignored[PDM_ERRSTR_SIZE];
        if (moved && map_refresh(cl, ignored, sizeof ignored) == 0)
            pdm_log(PDM_LOG_INFO, "redis %s: slot map read again after %s", cl->desc, last);
        if (send_pending(cl, errstr, errlen))
            return pipeline_fail(cl);
    }
}

redisReply *pdm_cluster_next_reply(pdm_cluster *cl)
{
    if (cl->next_reply >= cl->n_cmds)
        return NULL;
    redisReply *r = cl->cmds[cl->next_reply].reply;
    cl->cmds[cl->next_reply++].reply = NULL;
    return r;
}

/* ---- whole-cluster commands ---------------------------------------------- */

/* The first slot of every master, into first[] (a node's index per entry);
 * returns how many masters. */
static int masters(const pdm_cluster *cl, int *first_slot)
{
    int n = 0;
    for (int s = 0; s < PDM_REDIS_SLOTS; s++) {
        int o = cl->owner[s], seen = 0;
        for (int k = 0; k < n && !seen; k++)
            seen = cl->owner[first_slot[k]] == o;
        if (o >= 0 && !seen)
            first_slot[n++] = s;
    }
    return n;
}

static int run(pdm_cluster *cl, char *errstr, size_t errlen)
{
    if (pdm_cluster_send(cl, 1, errstr, errlen) || pdm_cluster_wait(cl, errstr, errlen))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < cl->n_cmds; i++)
        if (cl->cmds[i].reply->type == REDIS_REPLY_ERROR && rc == 0)
            rc = pdm_err(errstr, errlen, "redis %s: %s", cl->desc, cl->cmds[i].reply->str);
    return rc;
}

/* Queues, for each slot listed, SET pdm:epoch:{tag} now NX. */
static int add_epoch_sets(pdm_cluster *cl, const int *slots, int n, const char *now)
{
    for (int i = 0; i < n; i++) {
        char k[32];
        snprintf(k, sizeof k, "pdm:epoch:{%s}", cl->tags[slots ? slots[i] : i]);
        const char *argv[4] = {"SET", k, now, "NX"};
        if (pdm_cluster_add(cl, 4, argv, NULL))
            return -1;
    }
    return 0;
}

int pdm_cluster_epoch_check(pdm_cluster *cl, char *errstr, size_t errlen)
{
    if (!cl->have_map && pdm_cluster_connect(cl, errstr, errlen))
        return -1;
    if (!cl->tags) {
        cl->tags = malloc(PDM_REDIS_SLOTS * sizeof *cl->tags);
        if (!cl->tags)
            return pdm_err(errstr, errlen, "out of memory");
        pdm_redis_slot_tags(cl->tags);
    }
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)pdm_now_ms());
    int first[PDM_REDIS_SLOTS];
    int n = masters(cl, first);
    if (add_epoch_sets(cl, first, n, now))
        return pdm_err(errstr, errlen, "out of memory");
    if (run(cl, errstr, errlen))
        return -1;
    int kept = 1;
    for (size_t i = 0; i < cl->n_cmds; i++)
        kept &= cl->cmds[i].reply->type == REDIS_REPLY_NIL;
    if (kept)
        return 1;
    /* A master without its key lost its data (or is new and empty): every
     * slot gets its key again, so that each master holds its slots' keys. */
    if (add_epoch_sets(cl, NULL, PDM_REDIS_SLOTS, now))
        return pdm_err(errstr, errlen, "out of memory");
    return run(cl, errstr, errlen) ? -1 : 0;
}

int pdm_cluster_ping(pdm_cluster *cl, char *errstr, size_t errlen)
{
    if (!cl->have_map && pdm_cluster_connect(cl, errstr, errlen))
        return -1;
    int rc = 0;
    for (int i = 0; i < cl->n_nodes && rc == 0; i++) {
        cl_node *n = &cl->nodes[i];
        if (!owns_slot(cl, i))
            continue;
        if (node_connect(cl, n, errstr, errlen))
            return pipeline_fail(cl);
        redisReply *reply = redisCommand(n->c, "PING");
        if (!reply) {
            pdm_err(errstr, errlen, "redis %s:%d: %s", n->host, n->port, n->c->errstr);
            return pipeline_fail(cl);
        }
        if (reply->type == REDIS_REPLY_ERROR)
            rc = pdm_err(errstr, errlen, "redis %s:%d: PING: %s", n->host, n->port, reply->str);
        freeReplyObject(reply);
    }
    /* Every slot served, as a batch needs. */
    for (int s = 0; s < PDM_REDIS_SLOTS && rc == 0; s++)
        if (cl->owner[s] < 0)
            rc = pdm_err(errstr, errlen, "redis %s: slot %d is served by no node", cl->desc, s);
    return rc;
}
