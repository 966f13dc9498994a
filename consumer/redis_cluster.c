/* redis_cluster.c: a Redis Cluster client over hiredis 0.14 (see redis_cluster.h): the seed
 * list, connections per node (made and authenticated as a single node's: redis_connect.h),
 * the slot map, PING. The pipeline that spreads a batch's commands over the nodes and follows
 * redirects is redis_cluster_pipe.c's; the pure rules (hash slot, redirect parsing) are
 * redis_slot.c's. */
#include "redis_cluster_internal.h"
#include "redis_connect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

pdm_cluster *pdm_cluster_new(const char *url, const char *password, double timeout_s, char *errstr,
                             size_t errlen)
{
    pdm_cluster *cl = calloc(1, sizeof *cl);
    if (!cl) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    if (password && *password && !(cl->password = strdup(password))) {
        pdm_err(errstr, errlen, "out of memory");
        pdm_cluster_destroy(cl);
        return NULL;
    }
    if (parse_url(cl, url, errstr, errlen)) {
        pdm_cluster_destroy(cl);
        return NULL;
    }
    cl->timeout_s = timeout_s > 0 ? timeout_s : 5.0;
    memset(cl->owner, -1, sizeof cl->owner);
    size_t used = (size_t)snprintf(cl->desc, sizeof cl->desc, "cluster ");
    for (int i = 0; i < cl->n_seeds && used < sizeof cl->desc; i++)
        used += (size_t)snprintf(cl->desc + used, sizeof cl->desc - used, "%s%s:%d", i ? "," : "",
                                 cl->seeds[i].host, cl->seeds[i].port);
    return cl;
}

static void node_drop(cl_node *n)
{
    if (n->c)
        redisFree(n->c);
    n->c = NULL;
    n->has_script = 0; /* a new connection may reach a new process */
}

void pdm_cluster_drop(pdm_cluster *cl)
{
    for (int i = 0; i < cl->n_nodes; i++)
        node_drop(&cl->nodes[i]);
    for (int i = 0; i < cl->n_seeds; i++)
        node_drop(&cl->seeds[i]);
    cl->have_map = 0;
    cl->open = 0; /* a pipeline being queued is abandoned: the next add starts afresh */
}

void pdm_cluster_destroy(pdm_cluster *cl)
{
    if (!cl)
        return;
    pdm_cluster_drop(cl);
    cl_pipeline_clear(cl);
    free(cl->cmds);
    free(cl->nodes);
    free(cl->tags);
    free(cl->fence_ref);
    free(cl->ref_gen);
    free(cl->slot_mark);
    free(cl->order);
    pdm_buf_free(&cl->arena);
    pdm_buf_free(&cl->scratch);
    pdm_secret_free(cl->password);
    free(cl);
}

const char *pdm_cluster_describe(const pdm_cluster *cl)
{
    return cl->desc;
}

int pdm_cluster_connected(const pdm_cluster *cl)
{
    return cl->have_map;
}

/* Connects and authenticates n if it is not connected. */
int cl_node_connect(pdm_cluster *cl, cl_node *n, char *errstr, size_t errlen)
{
    if (n->c)
        return 0;
    char desc[300];
    snprintf(desc, sizeof desc, "%s:%d", n->host, n->port);
    n->c = pdm_redis_open(n->host, n->port, desc, cl->timeout_s, cl->user, cl->password, errstr,
                          errlen);
    return n->c ? 0 : -1;
}

/* The index of the node host:port, added if new; -1 out of memory. */
int cl_node_index(pdm_cluster *cl, const char *host, int port)
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
    if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
        m->element[0]->type != REDIS_REPLY_STRING || m->element[1]->type != REDIS_REPLY_INTEGER)
        return -1;
    long long lo = e->element[0]->integer, hi = e->element[1]->integer;
    if (lo < 0 || hi >= PDM_REDIS_SLOTS || lo > hi)
        return -1;
    const char *host = m->element[0]->str;
    if (!host[0] || strcmp(host, "?") == 0)
        host = from->host;
    int idx = cl_node_index(cl, host, (int)m->element[1]->integer);
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
    if (cl_node_connect(cl, n, errstr, errlen))
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
            rc = pdm_err(errstr, errlen, "redis %s:%d: CLUSTER SLOTS: unexpected reply", from.host,
                         from.port);
    if (rc == 0)
        memcpy(cl->owner, map, sizeof cl->owner);
    free(map);
    freeReplyObject(reply);
    return rc;
}

/* The slot map from the first node that gives one: known nodes, then seeds. */
int cl_map_refresh(pdm_cluster *cl, char *errstr, size_t errlen)
{
    /* Connected nodes first: a dead host that sends no reset would cost a
     * connect timeout on every refresh (each epoch check makes one). */
    for (int connected = 1; connected >= 0; connected--)
        for (int i = 0; i < cl->n_nodes; i++)
            if ((cl->nodes[i].c != NULL) == connected &&
                map_from(cl, &cl->nodes[i], errstr, errlen) == 0)
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
    if (cl_map_refresh(cl, errstr, errlen))
        return -1;
    for (int i = 0; i < cl->n_nodes; i++) {
        if (!owns_slot(cl, i)) {
            node_drop(&cl->nodes[i]);
        } else if (cl_node_connect(cl, &cl->nodes[i], errstr, errlen)) {
            cl->have_map = 0;
            return -1;
        }
    }
    return 0;
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
        if (cl_node_connect(cl, n, errstr, errlen)) {
            pdm_cluster_drop(cl);
            return -1;
        }
        redisReply *reply = redisCommand(n->c, "PING");
        if (!reply) {
            pdm_err(errstr, errlen, "redis %s:%d: %s", n->host, n->port, n->c->errstr);
            pdm_cluster_drop(cl);
            return -1;
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
