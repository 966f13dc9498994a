/* redis_batch.c: a batch's writes to the per-machine state in Redis
 * (layout in redis_state.h; the loads are redis_state.c's): commands built
 * into one arena, a machine's newest readings grouped into ZADDs, sent as
 * one pipeline (in MULTI ... EXEC under the epoch fence) and answered
 * later, so that the round trip overlaps the caller's work. Every write is
 * idempotent: a batch applied twice leaves Redis as once. */
#include "redis_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"

static void put_be64(unsigned char *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--, u >>= 8)
        p[i] = (unsigned char)u;
}

static void put_double(unsigned char *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    for (int i = 0; i < 8; i++, u >>= 8)
        p[i] = (unsigned char)u;
}

/* ---- write batches -------------------------------------------------------- */

/* A machine's readings in a row go out as one ZADD of up to this many
 * (score, member) pairs: one command for Redis to parse, queue and answer
 * instead of one per reading (same result: ZADD adds each pair). */
#define TEL_PAIRS 32
#define MAX_ARGS (2 + 2 * TEL_PAIRS) /* >= the meta HSET's 20 + 2 * PDM_RS_MAX_SOURCES */

/* A command: its arguments are args[first .. first + argc) of the batch
 * (a command's arguments are appended together, right after it is made).
 * Commands are many (a batch of new machines: eight or more each), so they
 * hold no fixed room for MAX_ARGS arguments: that made a 2,000-machine
 * batch's command array 10 MB. */
typedef struct {
    int argc;
    int keep_reply; /* a HINCRBY ver: its integer reply goes to `reply` */
    int64_t reply;
    size_t first;
} rs_cmd;

/* A newest reading held back to share a ZADD with its machine's others. */
typedef struct {
    int32_t machine;
    uint32_t seq; /* arrival order: a machine's readings keep theirs */
    int64_t ts;
    unsigned char member[TEL_MEMBER];
} rs_reading;

struct pdm_rs_batch {
    int transaction; /* sent in MULTI ... EXEC (the epoch fence) */
    rs_cmd *cmds;
    size_t n, cap;
    size_t *arg_off, *arg_len; /* every command's arguments: arena offset, length */
    size_t n_args, cap_args;
    pdm_buf arena;
    rs_reading *held; /* newest readings not yet made commands */
    size_t n_held, cap_held;
};

pdm_rs_batch *pdm_rs_batch_new(void) { return calloc(1, sizeof(pdm_rs_batch)); }

void pdm_rs_batch_destroy(pdm_rs_batch *b)
{
    if (!b)
        return;
    free(b->cmds);
    free(b->arg_off);
    free(b->arg_len);
    free(b->held);
    pdm_buf_free(&b->arena);
    free(b);
}

void pdm_rs_batch_reset(pdm_rs_batch *b)
{
    b->n = 0;
    b->n_args = 0;
    b->arena.len = 0;
    b->n_held = 0;
}

static int flush_held(pdm_rs_batch *b);

size_t pdm_rs_batch_commands(pdm_rs_batch *b)
{
    /* Out of memory while flushing: the batch then fails to send. */
    return flush_held(b) ? b->n + 1 : b->n;
}

static rs_cmd *cmd_new(pdm_rs_batch *b)
{
    if (flush_held(b))
        return NULL;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        rs_cmd *c = realloc(b->cmds, cap * sizeof *c);
        if (!c)
            return NULL;
        b->cmds = c;
        b->cap = cap;
    }
    rs_cmd *c = &b->cmds[b->n++];
    c->argc = 0;
    c->keep_reply = 0;
    c->reply = 0;
    c->first = b->n_args;
    return c;
}

static int arg(pdm_rs_batch *b, rs_cmd *c, const void *data, size_t len)
{
    /* Only the newest command takes arguments (they must stay together). */
    if (c->argc == MAX_ARGS || c != &b->cmds[b->n - 1])
        return -1;
    if (b->n_args == b->cap_args) {
        size_t cap = b->cap_args ? b->cap_args * 2 : 1024;
        size_t *off = realloc(b->arg_off, cap * sizeof *off);
        if (!off)
            return -1;
        b->arg_off = off;
        size_t *lens = realloc(b->arg_len, cap * sizeof *lens);
        if (!lens)
            return -1;
        b->arg_len = lens;
        b->cap_args = cap;
    }
    b->arg_off[b->n_args] = b->arena.len;
    b->arg_len[b->n_args] = len;
    b->n_args++;
    c->argc++;
    return pdm_buf_append(&b->arena, data, len);
}

static int args(pdm_rs_batch *b, rs_cmd *c, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const char *s = va_arg(ap, const char *);
        rc = arg(b, c, s, strlen(s));
    }
    va_end(ap);
    return rc;
}

/* ---- readings held back ----------------------------------------------------
 * A batch's readings arrive in stream order, its machines interleaved, one
 * ZADD each. A newest reading (see pdm_rs_batch_event) is held back
 * instead, and the held ones go out grouped by machine, up to TEL_PAIRS to
 * a ZADD, before any other command enters the batch (or it is sent): so
 * every command that may depend on them (a replacement's ZREMRANGEBYSCORE,
 * a trim, an expiry, which needs the key to exist) still follows them,
 * and each machine's readings keep their order. The result in Redis is
 * that of one ZADD per reading, for a fraction of the commands. */

static int hold(pdm_rs_batch *b, int32_t machine, int64_t ts, const unsigned char *member)
{
    if (b->n_held == b->cap_held) {
        size_t cap = b->cap_held ? 2 * b->cap_held : 256;
        rs_reading *h = realloc(b->held, cap * sizeof *h);
        if (!h)
            return -1;
        b->held = h;
        b->cap_held = cap;
    }
    rs_reading *r = &b->held[b->n_held];
    r->machine = machine;
    r->seq = (uint32_t)b->n_held++;
    r->ts = ts;
    memcpy(r->member, member, TEL_MEMBER);
    return 0;
}

static int by_machine(const void *pa, const void *pb)
{
    const rs_reading *a = pa, *b = pb;
    if (a->machine != b->machine)
        return a->machine < b->machine ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int flush_held(pdm_rs_batch *b)
{
    size_t n = b->n_held;
    if (!n)
        return 0;
    b->n_held = 0; /* cmd_new and arg below must not flush again */
    qsort(b->held, n, sizeof *b->held, by_machine);
    for (size_t i = 0; i < n;) {
        char k[64];
        rs_key(k, sizeof k, b->held[i].machine, "tel");
        rs_cmd *c = cmd_new(b);
        if (!c || arg(b, c, "ZADD", 4) || arg(b, c, k, strlen(k)))
            return -1;
        size_t end = i;
        while (end < n && end - i < TEL_PAIRS && b->held[end].machine == b->held[i].machine)
            end++;
        for (; i < end; i++) {
            char score[24];
            size_t len = pdm_fmt_i64(score, b->held[i].ts);
            if (arg(b, c, score, len) || arg(b, c, b->held[i].member, TEL_MEMBER))
                return -1;
        }
    }
    return 0;
}

int pdm_rs_batch_event(pdm_rs_batch *b, const pdm_event *ev, int newest)
{
    char k[64], score[32];
    unsigned char member[TEL_MEMBER];
    score[pdm_fmt_i64(score, ev->ts)] = '\0';
    put_be64(member, ev->ts);
    rs_cmd *c;
    switch (ev->type) {
    case PDM_EV_TELEMETRY:
        rs_key(k, sizeof k, ev->machine_id, "tel");
        put_double(member + 8, ev->u.telemetry.volt);
        put_double(member + 16, ev->u.telemetry.rotate);
        put_double(member + 24, ev->u.telemetry.pressure);
        put_double(member + 32, ev->u.telemetry.vibration);
        /* The later reading at a ts replaces the earlier one; a reading
         * newer than any applied has nothing to replace (a replayed one
         * re-adds its identical member). */
        if (newest)
            return hold(b, ev->machine_id, ev->ts, member);
        if (flush_held(b) ||
            !(c = cmd_new(b)) || args(b, c, 4, "ZREMRANGEBYSCORE", k, score, score))
            return -1;
        if (!(c = cmd_new(b)) || args(b, c, 3, "ZADD", k, score) ||
            arg(b, c, member, TEL_MEMBER))
            return -1;
        return 0;
    case PDM_EV_ERROR:
    case PDM_EV_MAINTENANCE:
        rs_key(k, sizeof k, ev->machine_id, ev->type == PDM_EV_ERROR ? "err" : "maint");
        member[8] = (unsigned char)(ev->type == PDM_EV_ERROR ? ev->u.error.error_id
                                                             : ev->u.maintenance.component);
        if (!(c = cmd_new(b)) || args(b, c, 3, "ZADD", k, score) ||
            arg(b, c, member, MARK_MEMBER))
            return -1;
        return 0;
    case PDM_EV_MACHINE: {
        char model[16], age[16];
        rs_key(k, sizeof k, ev->machine_id, "meta");
        snprintf(model, sizeof model, "%d", ev->u.machine.model);
        snprintf(age, sizeof age, "%d", ev->u.machine.age);
        if (!(c = cmd_new(b)) || args(b, c, 6, "HSET", k, "model", model, "age", age))
            return -1;
        return 0;
    }
    default:
        return 0; /* failures and risk events are not state */
    }
}

int pdm_rs_batch_trim(pdm_rs_batch *b, int32_t machine_id, int64_t horizon,
                      const pdm_rs_mark *drop_maint, size_t n_drop)
{
    char k[64], max[32];
    rs_cmd *c;
    snprintf(max, sizeof max, "(%lld", (long long)horizon);
    rs_key(k, sizeof k, machine_id, "tel");
    if (!(c = cmd_new(b)) || args(b, c, 4, "ZREMRANGEBYSCORE", k, "-inf", max))
        return -1;
    rs_key(k, sizeof k, machine_id, "err");
    if (!(c = cmd_new(b)) || args(b, c, 4, "ZREMRANGEBYSCORE", k, "-inf", max))
        return -1;
    rs_key(k, sizeof k, machine_id, "maint");
    for (size_t i = 0; i < n_drop; i++) {
        unsigned char member[MARK_MEMBER];
        put_be64(member, drop_maint[i].ts);
        member[8] = (unsigned char)drop_maint[i].id;
        if (!(c = cmd_new(b)) || args(b, c, 2, "ZREM", k) || arg(b, c, member, MARK_MEMBER))
            return -1;
    }
    return 0;
}

/* Appends name and the decimal v as the command's next field and value. */
static int int_field(pdm_rs_batch *b, rs_cmd *c, const char *name, int64_t v)
{
    char digits[20];
    size_t len = pdm_fmt_i64(digits, v);
    return arg(b, c, name, strlen(name)) || arg(b, c, digits, len) ? -1 : 0;
}

int pdm_rs_batch_meta(pdm_rs_batch *b, const pdm_rs_machine *m, size_t *version_slot)
{
    char k[64];
    rs_cmd *c;
    rs_key(k, sizeof k, m->machine_id, "meta");
    /* Written for every machine of every batch: no snprintf (a fleet of
     * 100,000 machines spent 6 % of the scorer's CPU formatting these). */
    if (!(c = cmd_new(b)) || args(b, c, 2, "HSET", k) || int_field(b, c, "newest", m->newest) ||
        int_field(b, c, "base", m->base) || int_field(b, c, "level", m->level) ||
        int_field(b, c, "base_level", m->base_level) ||
        int_field(b, c, "notified", m->notified_at) ||
        int_field(b, c, "base_notified", m->base_notified_at))
        return -1;
    /* Only a scorer keeping alert states writes them: other modes' writes
     * stay as they were. */
    if (m->alert[0] || m->base_alert[0])
        if (args(b, c, 4, "alert", m->alert, "base_alert", m->base_alert))
            return -1;
    for (size_t i = 0; i < m->n_src; i++) {
        /* "src:TOPIC:PARTITION" (a topic name is at most 249 bytes) */
        char name[300];
        size_t topic_len = strlen(m->src[i].topic);
        if (topic_len > sizeof name - 4 - 21)
            return -1;
        memcpy(name, "src:", 4);
        memcpy(name + 4, m->src[i].topic, topic_len);
        size_t len = 4 + topic_len;
        name[len++] = ':';
        len += pdm_fmt_i64(name + len, m->src[i].partition);
        name[len] = '\0';
        if (int_field(b, c, name, m->src[i].offset))
            return -1;
    }
    if (!(c = cmd_new(b)) || args(b, c, 4, "HINCRBY", k, "ver", "1"))
        return -1;
    c->keep_reply = 1;
    if (version_slot)
        *version_slot = b->n - 1;
    return 0;
}

int64_t pdm_rs_incident_rank(int level, int32_t machine_id)
{
    return (level >= 2 ? 0 : INT64_C(1) << 31) + machine_id;
}

void pdm_rs_incident_ranks(int level, int64_t *lo, int64_t *hi)
{
    *lo = pdm_rs_incident_rank(level == 1 ? 1 : 2, 1);
    *hi = pdm_rs_incident_rank(level == 2 ? 2 : 1, INT32_MAX);
}

int pdm_rs_batch_incident(pdm_rs_batch *b, int32_t machine_id, int level)
{
    char id[16], rank[32];
    rs_cmd *c;
    snprintf(id, sizeof id, "%d", (int)machine_id);
    snprintf(rank, sizeof rank, "%lld", (long long)pdm_rs_incident_rank(level, machine_id));
    if (level <= 0)
        return !(c = cmd_new(b)) || args(b, c, 3, "ZREM", PDM_RS_INCIDENTS_KEY, id) ? -1 : 0;
    return !(c = cmd_new(b)) || args(b, c, 4, "ZADD", PDM_RS_INCIDENTS_KEY, rank, id) ? -1 : 0;
}

unsigned pdm_rs_key_of(pdm_event_type t)
{
    switch (t) {
    case PDM_EV_TELEMETRY:
        return PDM_RS_TEL;
    case PDM_EV_ERROR:
        return PDM_RS_ERR;
    case PDM_EV_MAINTENANCE:
        return PDM_RS_MAINT;
    case PDM_EV_MACHINE:
        return PDM_RS_META;
    default:
        return 0;
    }
}

int64_t pdm_rs_expiry(int64_t known_at, int64_t now_ms, int64_t ttl_ms, unsigned written,
                      unsigned *keys)
{
    int64_t fresh = now_ms + ttl_ms;
    int64_t move = fresh > known_at ? fresh - known_at : known_at - fresh;
    if (known_at > 0 && move <= ttl_ms / PDM_RS_TTL_SLACK) {
        *keys = written;
        return known_at;
    }
    *keys = PDM_RS_ALL_KEYS;
    return fresh;
}

/* One absolute deadline, not a relative PEXPIRE: that would give each key
 * the time Redis runs it, and the keys would not expire together. */
int pdm_rs_batch_expire(pdm_rs_batch *b, int32_t machine_id, int64_t at_ms, unsigned keys)
{
    static const char *const kinds[] = {"tel", "err", "maint", "meta"};
    char k[64], at[32];
    rs_cmd *c;
    snprintf(at, sizeof at, "%lld", (long long)at_ms);
    for (unsigned i = 0; i < 4; i++) {
        if (!(keys & 1u << i))
            continue;
        rs_key(k, sizeof k, machine_id, kinds[i]);
        if (!(c = cmd_new(b)) || args(b, c, 3, "PEXPIREAT", k, at))
            return -1;
    }
    return 0;
}

int64_t pdm_rs_batch_version(const pdm_rs_batch *b, size_t slot)
{
    return slot < b->n && b->cmds[slot].keep_reply ? b->cmds[slot].reply : 0;
}

static int append_cmd(pdm_redis *r, const pdm_rs_batch *b, const rs_cmd *c)
{
    const char *argv[MAX_ARGS];
    for (int a = 0; a < c->argc; a++)
        argv[a] = b->arena.data + b->arg_off[c->first + (size_t)a];
    return pdm_redis_append(r, c->argc, argv, b->arg_len + c->first);
}

int pdm_rs_batch_send(pdm_redis *r, pdm_rs_batch *b, char *errstr, size_t errlen)
{
    if (flush_held(b))
        return pdm_err(errstr, errlen, "redis %s: out of memory", r->desc);
    if (!pdm_redis_connected(r) && pdm_redis_connect(r, errstr, errlen))
        return -1;
    b->transaction = r->epoch[0] != '\0';
    if (b->transaction) {
        int rc = rs_ensure_watch(r, errstr, errlen);
        if (rc)
            return rc;
    }
    const char *words[2] = {"MULTI", "EXEC"};
    static const size_t lens[2] = {5, 4};
    int fail = 0;
    if (b->transaction)
        fail = redisAppendCommandArgv(r->c, 1, &words[0], &lens[0]);
    for (size_t i = 0; i < b->n && !fail; i++)
        fail = append_cmd(r, b, &b->cmds[i]);
    if (b->transaction && !fail) {
        fail = redisAppendCommandArgv(r->c, 1, &words[1], &lens[1]);
        r->watching = 0; /* EXEC ends the watch */
    }
    if (fail) {
        pdm_err(errstr, errlen, "redis %s: out of memory", r->desc);
        pdm_redis_drop(r);
        return -1;
    }
    if (r->cluster)
        return pdm_cluster_send(r->cluster, 1, errstr, errlen);
    /* Flush the whole output buffer now (blocking socket): Redis starts on
     * the commands while the caller goes on. Redis never blocks on replies
     * nobody reads yet (it buffers them), so this cannot deadlock. */
    int done = 0;
    while (!done) {
        if (redisBufferWrite(r->c, &done) != REDIS_OK) {
            pdm_err(errstr, errlen, "redis %s: %s", r->desc, r->c->errstr);
            pdm_redis_drop(r);
            return -1;
        }
    }
    return 0;
}

/* One command's reply: the first error into rc (with errstr), an integer
 * kept where the command asks for it. */
static void take_reply(pdm_redis *r, rs_cmd *c, const redisReply *reply, int *rc, char *errstr,
                       size_t errlen)
{
    if (reply->type == REDIS_REPLY_ERROR && *rc == 0)
        *rc = pdm_err(errstr, errlen, "redis %s: %s", r->desc, reply->str);
    else if (c->keep_reply && reply->type == REDIS_REPLY_INTEGER)
        c->reply = reply->integer;
}

/* The replies of MULTI, each QUEUED and EXEC: EXEC's array holds the
 * commands' replies; a nil one says the watch saw the epoch change (nothing
 * ran). A command refused while queued (unknown, not permitted) aborts the
 * whole transaction: its error is the one reported. */
static int wait_transaction(pdm_redis *r, pdm_rs_batch *b, char *errstr, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < b->n + 2; i++) {
        redisReply *reply;
        if (rs_read_replies(r, &reply, 1, errstr, errlen))
            return -1;
        if (i < b->n + 1) {
            if (reply->type == REDIS_REPLY_ERROR && rc == 0)
                rc = pdm_err(errstr, errlen, "redis %s: %s%s", r->desc, reply->str,
                             i ? "" : " (MULTI)");
        } else if (reply->type == REDIS_REPLY_NIL) {
            rc = rc ? rc : PDM_RS_EPOCH_CHANGED;
        } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == b->n) {
            for (size_t k = 0; k < b->n; k++)
                take_reply(r, &b->cmds[k], reply->element[k], &rc, errstr, errlen);
        } else if (rc == 0) {
            rc = pdm_err(errstr, errlen, "redis %s: EXEC: %s", r->desc,
                         reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        }
        freeReplyObject(reply);
    }
    return rc;
}

int pdm_rs_batch_wait(pdm_redis *r, pdm_rs_batch *b, char *errstr, size_t errlen)
{
    if (!pdm_redis_connected(r))
        return pdm_err(errstr, errlen, "redis %s: not connected", r->desc);
    if (r->cluster) { /* 1: PDM_RS_EPOCH_CHANGED (redis_cluster_fence.c) */
        int rc = pdm_cluster_wait(r->cluster, errstr, errlen);
        if (rc)
            return rc < 0 ? -1 : PDM_RS_EPOCH_CHANGED;
    }
    if (b->transaction)
        return wait_transaction(r, b, errstr, errlen);
    int rc = 0;
    for (size_t i = 0; i < b->n; i++) {
        redisReply *reply;
        if (pdm_redis_next_reply(r, &reply, errstr, errlen))
            return -1;
        take_reply(r, &b->cmds[i], reply, &rc, errstr, errlen);
        freeReplyObject(reply);
    }
    return rc;
}

int pdm_rs_batch_exec(pdm_redis *r, pdm_rs_batch *b, char *errstr, size_t errlen)
{
    int rc = pdm_rs_batch_send(r, b, errstr, errlen);
    return rc ? rc : pdm_rs_batch_wait(r, b, errstr, errlen);
}
