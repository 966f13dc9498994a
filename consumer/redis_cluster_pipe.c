/* redis_cluster_pipe.c: the cluster client's pipeline (see redis_cluster.h):
 * commands queued in RESP, routed by slot to their nodes, written to all
 * nodes before any reply is read, MOVED/ASK/TRYAGAIN/CLUSTERDOWN followed
 * round by round, writes confirmed on a replica (WAIT); and the epoch
 * check over every master. The fence a pipeline may carry is
 * redis_cluster_fence.c's. */
#include "redis_cluster_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Rounds of redirects or TRYAGAIN/CLUSTERDOWN one pipeline follows before
 * it fails (and the caller retries it whole, with its own backoff); the
 * waits between rounds add up to about 1.3 s. */
#define MAX_ROUNDS 8
/* How long a write pipeline waits for a replica of each master it wrote to
 * (WAIT 1 WAIT_MS) before it goes on without one. */
#define WAIT_MS 100

void cl_pipeline_clear(pdm_cluster *cl)
{
    for (int i = 0; i < cl->n_nodes; i++)
        cl->nodes[i].touched = cl->nodes[i].wait_sent = 0;
    for (size_t i = 0; i < cl->n_cmds; i++)
        if (cl->cmds[i].reply)
            freeReplyObject(cl->cmds[i].reply);
    cl->n_cmds = cl->next_reply = cl->n_user = 0;
    cl->fenced = 0;
    cl->arena.len = 0;
}

/* ---- the pipeline --------------------------------------------------------- */

/* Appends "<prefix><n>\r\n" (a RESP header) without printf: this runs for
 * every argument of every command of a batch. */
static int put_header(pdm_buf *out, char prefix, size_t n)
{
    char buf[24];
    size_t i = sizeof buf;
    buf[--i] = '\n';
    buf[--i] = '\r';
    do
        buf[--i] = (char)('0' + n % 10);
    while ((n /= 10) > 0);
    buf[--i] = prefix;
    return pdm_buf_append(out, buf + i, sizeof buf - i);
}

int cl_format_command(pdm_buf *out, int argc, const char **argv, const size_t *lens)
{
    if (put_header(out, '*', (size_t)argc))
        return -1;
    for (int a = 0; a < argc; a++) {
        size_t len = lens ? lens[a] : strlen(argv[a]);
        if (put_header(out, '$', len) || pdm_buf_append(out, argv[a], len) ||
            pdm_buf_append(out, "\r\n", 2))
            return -1;
    }
    return 0;
}

long cl_cmd_new(pdm_cluster *cl, cl_cmd_kind kind, int slot)
{
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
    c->kind = kind;
    c->slot = slot;
    c->ask_node = -1;
    c->off = cl->arena.len;
    return (long)cl->n_cmds++;
}

int pdm_cluster_add(pdm_cluster *cl, int argc, const char **argv, const size_t *lens)
{
    if (!cl->open) {
        cl_pipeline_clear(cl);
        cl->open = 1;
    }
    if (argc < 2)
        return -1; /* every command here has a key */
    long i =
        cl_cmd_new(cl, CL_CMD_USER, pdm_redis_key_slot(argv[1], lens ? lens[1] : strlen(argv[1])));
    if (i < 0 || cl_format_command(&cl->arena, argc, argv, lens))
        return -1;
    cl->cmds[i].len = cl->arena.len - cl->cmds[i].off;
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
        return pdm_err(errstr, errlen, "redis %s: slot %d is served by no node", cl->desc, c->slot);
    cl_node *n = &cl->nodes[node];
    if (cl_node_connect(cl, n, errstr, errlen))
        return -1;
    c->node = node;
    n->touched = 1;
    c->asked = c->ask_node >= 0;
    int sha = c->kind == CL_CMD_FENCE_EVAL && n->has_script;
    if ((c->asked && redisAppendCommand(n->c, "ASKING") != REDIS_OK) ||
        (sha ? cl_fence_append_evalsha(cl, n->c, c)
             : redisAppendFormattedCommand(n->c, cl->arena.data + c->off, c->len) != REDIS_OK))
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
                return pdm_err(errstr, errlen, "redis %s:%d: %s", n->host, n->port, n->c->errstr);
    }
    return 0;
}

/* A write pipeline ends, on every master it wrote to that has a replica,
 * with WAIT 1 WAIT_MS: the writes acknowledged (and then committed to Kafka
 * as applied) are on a replica too, which a failover promotes. The WAIT
 * goes out with the writes, so the replica's acknowledgement overlaps what
 * the caller does before it reads the replies. A master whose replica does
 * not confirm within WAIT_MS is logged (once, until it confirms again) and
 * the map read again (the cluster drops a failed replica from it); the
 * writes stand: waiting for a replica that is gone would stop the scorer,
 * not protect the state. */
static int append_waits(pdm_cluster *cl, char *errstr, size_t errlen)
{
    for (int i = 0; i < cl->n_nodes; i++) {
        cl_node *n = &cl->nodes[i];
        if (n->touched && n->replicas > 0 && n->c) {
            if (redisAppendCommand(n->c, "WAIT 1 %d", WAIT_MS) != REDIS_OK)
                return pdm_err(errstr, errlen, "redis %s:%d: out of memory", n->host, n->port);
            n->wait_sent = 1;
        }
        n->touched = 0;
    }
    return 0;
}

/* The WAIT replies, after each node's other replies of the round. */
static int read_waits(pdm_cluster *cl, char *errstr, size_t errlen)
{
    int refresh = 0;
    for (int i = 0; i < cl->n_nodes; i++) {
        cl_node *n = &cl->nodes[i];
        if (!n->wait_sent)
            continue;
        n->wait_sent = 0;
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
        cl_map_refresh(cl, ignored, sizeof ignored);
    return 0;
}

/* Routes every command without a reply (and a write pipeline's WAITs),
 * then flushes every node's output (blocking sockets; Redis buffers the
 * replies nobody reads yet, so writing all before reading any cannot
 * deadlock). */
static int send_pending(pdm_cluster *cl, char *errstr, size_t errlen)
{
    for (size_t i = 0; i < cl->n_cmds; i++)
        if (!cl->cmds[i].done && route(cl, &cl->cmds[i], errstr, errlen))
            return -1;
    if (cl->writes && append_waits(cl, errstr, errlen))
        return -1;
    return flush_all(cl, errstr, errlen);
}

int pdm_cluster_send(pdm_cluster *cl, int writes, char *errstr, size_t errlen)
{
    if (!cl->open)
        cl_pipeline_clear(cl); /* nothing queued since the last pipeline */
    cl->open = 0;
    cl->writes = writes;
    cl->n_user = cl->n_cmds;
    cl->fenced = cl->epoch_adopted && !cl->in_epoch_check;
    if (cl->fenced && cl_fence_prepare(cl, errstr, errlen))
        return pipeline_fail(cl);
    if (!cl->have_map && pdm_cluster_connect(cl, errstr, errlen))
        return pipeline_fail(cl);
    if (send_pending(cl, errstr, errlen))
        return pipeline_fail(cl);
    return 0;
}

/* Reads the replies of the commands sent, in the order queued (each node's
 * replies come in the order it got the commands). A redirect leaves the
 * command without a reply, to be sent again: *moved, *asked and *later say
 * that some were (*moved: read the map again, *later: wait first). */
static int read_replies(pdm_cluster *cl, int *moved, int *asked, int *later, char *last,
                        size_t last_len, char *errstr, size_t errlen)
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
                return pdm_err(errstr, errlen, "redis %s:%d: %s", n->host, n->port, n->c->errstr);
        }
        c->sent = 0;
        if (c->kind == CL_CMD_FENCE_EVAL && reply->type == REDIS_REPLY_ERROR &&
            strncmp(reply->str, "NOSCRIPT", 8) == 0) { /* its script cache was emptied */
            n->has_script = 0;
            freeReplyObject(reply);
            *asked = 1; /* sent again with the script's body */
            continue;
        }
        pdm_redis_redirect r;
        pdm_redis_redirect_kind kind = PDM_REDIS_REPLY_OTHER;
        if (reply->type == REDIS_REPLY_ERROR)
            kind = pdm_redis_parse_redirect(reply->str, reply->len, &r);
        if (kind == PDM_REDIS_REPLY_OTHER) {
            n->has_script |= c->kind == CL_CMD_FENCE_EVAL; /* it ran (Redis keeps it) */
            c->reply = reply;
            c->done = 1;
            continue;
        }
        snprintf(last, last_len, "%s", reply->str);
        freeReplyObject(reply);
        if (c->kind == CL_CMD_FENCE_EVAL && kind != PDM_REDIS_MOVED &&
            kind != PDM_REDIS_CLUSTERDOWN) {
            cl_fence_split(cl, c);
            *asked = 1; /* its commands go out in the next round */
            continue;
        }
        if (kind == PDM_REDIS_MOVED || kind == PDM_REDIS_ASK) {
            if (!r.host[0]) /* the node that answered (node_index may move n) */
                snprintf(r.host, sizeof r.host, "%s", n->host);
            int to = cl_node_index(cl, r.host, r.port);
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
        if (read_replies(cl, &moved, &asked, &later, last, sizeof last, errstr, errlen) ||
            read_waits(cl, errstr, errlen))
            return pipeline_fail(cl);
        if (!moved && !asked && !later)
            return cl->fenced ? cl_fence_finish(cl, errstr, errlen) : 0;
        if (round + 1 == MAX_ROUNDS) {
            pdm_err(errstr, errlen, "redis %s: still redirected after %d rounds: %s", cl->desc,
                    MAX_ROUNDS, last);
            cl_pipeline_clear(cl);
            return -1;
        }
        if (later)
            usleep((useconds_t)(10000 << round)); /* 10 ms .. 1.3 s */
        /* A MOVED: the slot's new owner is known already; the whole map
         * is read again so that the rest of a reshard's moves is too. Not
         * having it is no error: the MOVED replies route meanwhile. */
        char why[PDM_ERRSTR_SIZE] = "";
        if (moved && cl_map_refresh(cl, why, sizeof why) == 0)
            pdm_log(PDM_LOG_INFO, "redis %s: slot map read again after %s", cl->desc, last);
        else if (moved)
            pdm_log(PDM_LOG_INFO, "redis %s: slot map not read again after %s (%s); following "
                                  "the redirects", cl->desc, last, why);
        if (send_pending(cl, errstr, errlen))
            return pipeline_fail(cl);
    }
}

redisReply *pdm_cluster_next_reply(pdm_cluster *cl)
{
    if (cl->next_reply >= cl->n_user)
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

/* Sends the epoch check's queued commands (never fenced) and checks them. */
static int run(pdm_cluster *cl, char *errstr, size_t errlen)
{
    cl->in_epoch_check = 1;
    int failed = pdm_cluster_send(cl, 1, errstr, errlen) || pdm_cluster_wait(cl, errstr, errlen);
    cl->in_epoch_check = 0;
    if (failed)
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
    /* The map read again each time (one CLUSTER SLOTS every few seconds):
     * replicas that came back or were added are known (their masters'
     * writes are confirmed again), and a change that caused no redirect
     * yet. */
    if (pdm_cluster_connect(cl, errstr, errlen))
        return -1;
    if (!cl->tags) {
        cl->tags = malloc(PDM_REDIS_SLOTS * sizeof *cl->tags);
        if (!cl->tags)
            return pdm_err(errstr, errlen, "out of memory");
        pdm_redis_slot_tags(cl->tags);
    }
    /* A value no other writer picks (the fence compares it): the time in
     * ns and the process. */
    char now[40];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(now, sizeof now, "%lld.%09ld-%ld", (long long)ts.tv_sec, ts.tv_nsec, (long)getpid());
    int first[PDM_REDIS_SLOTS];
    int n = masters(cl, first);
    if (add_epoch_sets(cl, first, n, now))
        return pdm_err(errstr, errlen, "out of memory");
    if (run(cl, errstr, errlen))
        return -1;
    int kept = 1;
    for (size_t i = 0; i < cl->n_cmds; i++)
        kept &= cl->cmds[i].reply->type == REDIS_REPLY_NIL;
    int adopted_before = cl->epoch_adopted;
    cl->epoch_adopted = 1;
    if (kept)
        return 0;
    /* A master without its key lost its data (or is new and empty): every
     * slot gets its key again, so that each master holds its slots' keys. */
    if (add_epoch_sets(cl, NULL, PDM_REDIS_SLOTS, now))
        return pdm_err(errstr, errlen, "out of memory");
    if (run(cl, errstr, errlen))
        return -1;
    return adopted_before;
}
