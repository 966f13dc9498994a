/* redis_cluster_fence.c: the epoch fence on a Redis Cluster (redis_cluster.h).
 *
 * On one node a batch's writes go in MULTI ... EXEC under a WATCH of
 * pdm:epoch taken at its load (redis_epoch.c), so a FLUSHALL between the
 * load and the writes makes EXEC write nothing. That cannot span a cluster:
 * a transaction runs on one node and every key in it must hash to one slot
 * (the cluster specification; EXEC answers CROSSSLOT otherwise), and EXEC
 * forgets every WATCH of the connection, so one node cannot hold a batch's
 * per-slot transactions under watches taken at the load either.
 *
 * The rule here, per slot: each slot t has its epoch key pdm:epoch:{tag(t)}
 * (pdm_cluster_epoch_check writes it; it lives on t's master and moves with
 * t). A fenced load also reads the epoch key of every slot it reads (one
 * GET per distinct slot, in the same pipeline) and keeps the values. A
 * fenced write sends each slot's commands as one script (EVAL, keys: the
 * epoch key and every key of the commands, all in slot t) that first reads
 * the epoch key and runs the commands only if it still holds the value a
 * load since the previous write saw (any value, for a slot no such load
 * read: a value read for an older batch may be older than a loss the
 * scorer has since noticed and adopted). A script runs
 * atomically on the node that owns t, so the check and the writes see the
 * same data: a FLUSHALL (or a failover to an empty node, a restart without
 * persistence) after the load removes the key, and a re-created key holds
 * another value (time in ns and the writer's pid), so a batch loaded before
 * a flush of its master writes nothing there after it. Slots on other
 * masters keep their writes (their state was not lost); the caller treats
 * the batch as fenced (pdm_cluster_wait answers 1) as on one node.
 *
 * Cost: one GET per distinct slot in a load; one script per distinct slot
 * in a write instead of its plain commands: EVAL with the body (269 bytes)
 * the first time on a connection, EVALSHA (its SHA-1, computed here) once
 * the node has run it; a NOSCRIPT (the node's script cache emptied: SCRIPT
 * FLUSH, a restart behind the same connection) sends it again with the body
 * in the next round. Round trips: none added.
 *
 * While a slot is being migrated its keys may be on two nodes, and Redis
 * answers a script over several keys of it TRYAGAIN (some of its keys
 * exist here, some not: also keys that exist nowhere yet) or ASK (none
 * here) until the migration ends; a script cannot span two nodes. Such a
 * slot's commands are then sent alone, as without the fence, each
 * following its own ASK (cl_fence_split): for that slot and that batch the
 * fence is open. A FLUSHALL of a master in the window between a batch's
 * load and its writes, while one of the batch's slots migrates, can then
 * still be written over for that slot's machines. */
#include "redis_cluster_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ARGV[1]: the epoch value the load saw ("": any); ARGV[2]: how many
 * commands; then each command as its argument count and its arguments.
 * Returns nil (fenced: nothing ran) or every command's reply in order
 * (pcall: an error reply stays that command's, as in a pipeline). */
static const char FENCE_SCRIPT[] =
    "local e = redis.call('GET', KEYS[1])\n"
    "if not e or (ARGV[1] ~= '' and e ~= ARGV[1]) then return false end\n"
    "local out, i = {}, 3\n"
    "for c = 1, tonumber(ARGV[2]) do\n"
    "  local n = tonumber(ARGV[i])\n"
    "  out[c] = redis.pcall(unpack(ARGV, i + 1, i + n))\n"
    "  i = i + n + 1\n"
    "end\n"
    "return out\n";

/* Per-slot tables, made at the first fenced pipeline. */
static int ensure_tables(pdm_cluster *cl)
{
    if (!cl->fence_ref && !(cl->fence_ref = calloc(PDM_REDIS_SLOTS, sizeof *cl->fence_ref)))
        return -1;
    if (!cl->slot_mark && !(cl->slot_mark = calloc(PDM_REDIS_SLOTS, sizeof *cl->slot_mark)))
        return -1;
    if (!cl->ref_gen && !(cl->ref_gen = calloc(PDM_REDIS_SLOTS, sizeof *cl->ref_gen)))
        return -1;
    if (!cl->script_sha[0])
        pdm_redis_sha1_hex(FENCE_SCRIPT, sizeof FENCE_SCRIPT - 1, cl->script_sha);
    if (++cl->mark == 0) { /* wrapped: forget every old mark */
        memset(cl->slot_mark, 0, PDM_REDIS_SLOTS * sizeof *cl->slot_mark);
        cl->mark = 1;
    }
    return 0;
}

static int epoch_key(const pdm_cluster *cl, int slot, char *key, size_t len)
{
    return snprintf(key, len, "pdm:epoch:{%s}", cl->tags[slot]);
}

/* A fenced load: GET the epoch key of each distinct slot it reads. */
static int add_reads(pdm_cluster *cl)
{
    for (size_t i = 0; i < cl->n_user; i++) {
        int slot = cl->cmds[i].slot;
        if (cl->slot_mark[slot] == cl->mark)
            continue;
        cl->slot_mark[slot] = cl->mark;
        char key[32];
        epoch_key(cl, slot, key, sizeof key);
        const char *argv[2] = {"GET", key};
        long k = cl_cmd_new(cl, CL_CMD_FENCE_GET, slot);
        if (k < 0 || cl_format_command(&cl->arena, 2, argv, NULL))
            return -1;
        cl->cmds[k].len = cl->arena.len - cl->cmds[k].off;
    }
    return 0;
}

/* ---- RESP of a queued command ---------------------------------------- */

/* The number after a '*' or '$' header at p, and the byte after its CRLF. */
static size_t header(const char *p, const char **next)
{
    size_t n = 0;
    for (p++; *p != '\r'; p++)
        n = n * 10 + (size_t)(*p - '0');
    *next = p + 2;
    return n;
}

/* A queued command's argument count, its arguments (RESP, after the
 * array header) and its key (the second argument). */
typedef struct {
    size_t argc;
    const char *args;
    size_t args_len;
    const char *key;
    size_t key_len;
} cmd_view;

static cmd_view view(const pdm_cluster *cl, const cl_cmd *c)
{
    cmd_view v;
    const char *p = cl->arena.data + c->off, *end = p + c->len;
    v.argc = header(p, &v.args);
    v.args_len = (size_t)(end - v.args);
    const char *q;
    size_t name = header(v.args, &q); /* the command's name */
    v.key_len = header(q + name + 2, &v.key);
    return v;
}

static int bulk(pdm_buf *out, const char *s, size_t len)
{
    char h[24];
    int n = snprintf(h, sizeof h, "$%zu\r\n", len);
    return pdm_buf_append(out, h, (size_t)n) || pdm_buf_append(out, s, len) ||
           pdm_buf_append(out, "\r\n", 2);
}

static int bulk_num(pdm_buf *out, size_t v)
{
    char s[24];
    int n = snprintf(s, sizeof s, "%zu", v);
    return bulk(out, s, (size_t)n);
}

/* Is the key of command order[i] also that of an earlier one of the group? */
static int key_seen(const pdm_cluster *cl, const cmd_view *v, size_t from, size_t i)
{
    for (size_t k = from; k < i; k++) {
        cmd_view w = view(cl, &cl->cmds[cl->order[k]]);
        if (w.key_len == v->key_len && memcmp(w.key, v->key, v->key_len) == 0)
            return 1;
    }
    return 0;
}

/* The script of one slot's commands order[from .. to) into cl->scratch. */
static int format_eval(pdm_cluster *cl, size_t from, size_t to)
{
    pdm_buf *out = &cl->scratch;
    out->len = 0;
    int slot = cl->cmds[cl->order[from]].slot;
    size_t n_keys = 1, n_args = 0;
    for (size_t i = from; i < to; i++) {
        cmd_view v = view(cl, &cl->cmds[cl->order[i]]);
        n_keys += !key_seen(cl, &v, from, i);
        n_args += 1 + v.argc;
    }
    char key[32], h[24];
    int key_len = epoch_key(cl, slot, key, sizeof key);
    int n = snprintf(h, sizeof h, "*%zu\r\n", 3 + n_keys + 2 + n_args);
    if (pdm_buf_append(out, h, (size_t)n) || bulk(out, "EVAL", 4) ||
        bulk(out, FENCE_SCRIPT, sizeof FENCE_SCRIPT - 1) || bulk_num(out, n_keys) ||
        bulk(out, key, (size_t)key_len))
        return -1;
    for (size_t i = from; i < to; i++) {
        cmd_view v = view(cl, &cl->cmds[cl->order[i]]);
        if (!key_seen(cl, &v, from, i) && bulk(out, v.key, v.key_len))
            return -1;
    }
    /* The value this batch's load saw; a slot it did not read (one read
     * for an earlier batch only, or never: the incidents index) needs the
     * key to exist. */
    const char *ref = cl->ref_gen[slot] == cl->write_gen ? cl->fence_ref[slot] : "";
    if (bulk(out, ref, strlen(ref)) || bulk_num(out, to - from))
        return -1;
    for (size_t i = from; i < to; i++) {
        cmd_view v = view(cl, &cl->cmds[cl->order[i]]);
        if (bulk_num(out, v.argc) || pdm_buf_append(out, v.args, v.args_len))
            return -1;
    }
    return 0;
}

static const pdm_cluster *sort_cl; /* qsort has no context argument */

static int by_slot(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int si = sort_cl->cmds[i].slot, sj = sort_cl->cmds[j].slot;
    return si != sj ? (si > sj) - (si < sj) : (i > j) - (i < j);
}

/* A fenced write: the caller's commands sorted by slot (queue order within
 * one), each slot's run sent as one script; the commands themselves are
 * not sent (done, their replies handed over by cl_fence_finish). */
static int add_scripts(pdm_cluster *cl)
{
    if (cl->n_user > cl->cap_order) {
        size_t *order = realloc(cl->order, cl->n_user * sizeof *order);
        if (!order)
            return -1;
        cl->order = order;
        cl->cap_order = cl->n_user;
    }
    for (size_t i = 0; i < cl->n_user; i++)
        cl->order[i] = i;
    sort_cl = cl;
    qsort(cl->order, cl->n_user, sizeof *cl->order, by_slot);
    for (size_t from = 0, to; from < cl->n_user; from = to) {
        int slot = cl->cmds[cl->order[from]].slot;
        for (to = from + 1; to < cl->n_user && cl->cmds[cl->order[to]].slot == slot; to++)
            ;
        if (format_eval(cl, from, to))
            return -1;
        long k = cl_cmd_new(cl, CL_CMD_FENCE_EVAL, slot);
        if (k < 0 || pdm_buf_append(&cl->arena, cl->scratch.data, cl->scratch.len))
            return -1;
        cl->cmds[k].len = cl->arena.len - cl->cmds[k].off;
        cl->cmds[k].group = from;
        cl->cmds[k].n_group = to - from;
    }
    for (size_t i = 0; i < cl->n_user; i++)
        cl->cmds[i].done = 1;
    return 0;
}

int cl_fence_prepare(pdm_cluster *cl, char *errstr, size_t errlen)
{
    if (!cl->tags || ensure_tables(cl))
        return pdm_err(errstr, errlen, "out of memory");
    if (cl->writes ? add_scripts(cl) : add_reads(cl))
        return pdm_err(errstr, errlen, "out of memory");
    return 0;
}

int cl_fence_append_evalsha(const pdm_cluster *cl, redisContext *c, const cl_cmd *script)
{
    /* The queued EVAL is "*N", then EVAL and the body as bulk strings,
     * then the rest: the same with EVALSHA and the body's SHA-1. */
    const char *p = cl->arena.data + script->off, *end = p + script->len;
    const char *rest;
    header(p, &rest);
    size_t head = (size_t)(rest - p);
    for (int arg = 0; arg < 2; arg++) { /* skip EVAL and the body */
        const char *data;
        size_t len = header(rest, &data);
        rest = data + len + 2;
    }
    static const char command[] = "EVALSHA";
    char sha[64];
    int n = snprintf(sha, sizeof sha, "$%zu\r\n%s\r\n$40\r\n%s\r\n", sizeof command - 1, command,
                     cl->script_sha);
    return redisAppendFormattedCommand(c, p, head) != REDIS_OK ||
           redisAppendFormattedCommand(c, sha, (size_t)n) != REDIS_OK ||
           redisAppendFormattedCommand(c, rest, (size_t)(end - rest)) != REDIS_OK;
}

void cl_fence_split(pdm_cluster *cl, cl_cmd *script)
{
    script->split = 1;
    script->done = 1; /* no reply of its own */
    for (size_t k = 0; k < script->n_group; k++)
        cl->cmds[cl->order[script->group + k]].done = 0;
}

/* A script's reply: the commands' replies handed to them (0), nil (1:
 * fenced), or an error (-1). */
static int take_script(pdm_cluster *cl, cl_cmd *e, char *errstr, size_t errlen)
{
    redisReply *r = e->reply;
    if (r->type == REDIS_REPLY_NIL)
        return 1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != e->n_group)
        return pdm_err(errstr, errlen, "redis %s: the fenced write of slot %d: %s", cl->desc,
                       e->slot, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    for (size_t k = 0; k < e->n_group; k++) {
        cl->cmds[cl->order[e->group + k]].reply = r->element[k];
        r->element[k] = NULL; /* now the command's */
    }
    return 0;
}

int cl_fence_finish(pdm_cluster *cl, char *errstr, size_t errlen)
{
    int rc = 0;
    if (!cl->writes)
        cl->epoch_lost = 0;
    for (size_t i = cl->n_user; i < cl->n_cmds; i++) {
        cl_cmd *c = &cl->cmds[i];
        if (c->kind == CL_CMD_FENCE_GET) {
            redisReply *r = c->reply;
            int have = r->type == REDIS_REPLY_STRING && r->len < sizeof cl->fence_ref[0];
            if (have)
                memcpy(cl->fence_ref[c->slot], r->str, r->len + 1);
            else
                cl->fence_ref[c->slot][0] = '\0';
            cl->ref_gen[c->slot] = cl->write_gen;
            cl->epoch_lost |= !have;
        } else if (c->kind == CL_CMD_FENCE_EVAL && !c->split) {
            int s = take_script(cl, c, errstr, errlen);
            if (s < 0 || (s > 0 && rc == 0))
                rc = s;
            if (s < 0)
                break;
        }
    }
    /* A write that ran (or was fenced) ends its batch: the next write needs
     * loads of its own. One that failed is retried with the same. */
    if (cl->writes && rc >= 0 && ++cl->write_gen == 0) {
        memset(cl->ref_gen, 0, PDM_REDIS_SLOTS * sizeof *cl->ref_gen);
        cl->write_gen = 1; /* wrapped: every old load forgotten */
    }
    if (rc) /* fenced or failed: no command's reply is handed out */
        for (size_t i = 0; i < cl->n_user; i++)
            if (cl->cmds[i].reply) {
                freeReplyObject(cl->cmds[i].reply);
                cl->cmds[i].reply = NULL;
            }
    return rc;
}

int pdm_cluster_epoch_lost(const pdm_cluster *cl)
{
    return cl->epoch_lost;
}
