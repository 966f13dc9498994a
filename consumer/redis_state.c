/* redis_state.c: pipelined, idempotent I/O of per-machine state in Redis
 * (layout in redis_state.h). Round trips, not commands, are what cost on
 * Redis (about 20 k/s unpipelined against over 1 M commands/s pipelined), so
 * a batch is one round trip to load and one to write, whatever its size.
 * On any I/O error the connection is dropped; the caller retries the whole
 * batch after reconnecting, which is safe because every write is idempotent.
 * The connection itself (URL, connect, AUTH) is redis_conn.c's, the fence
 * against a FLUSHALL (pdm:epoch) redis_epoch.c's. */
#include "redis_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "redis_resp.h"

/* ---- one node or a cluster -------------------------------------------------- */

int pdm_redis_append(pdm_redis *r, int argc, const char **argv, const size_t *lens)
{
    if (r->cluster)
        return pdm_cluster_add(r->cluster, argc, argv, lens);
    /* Formatted here (redis_resp.h); a command too long for the buffer, by
     * hiredis. */
    char buf[4096];
    size_t n = pdm_resp_format(argc, argv, lens, buf, sizeof buf);
    return n ? redisAppendFormattedCommand(r->c, buf, n) : redisAppendCommandArgv(r->c, argc, argv, lens);
}

int pdm_redis_flush(pdm_redis *r, char *errstr, size_t errlen)
{
    if (!r->cluster)
        return 0;
    return pdm_cluster_send(r->cluster, 0, errstr, errlen) ||
                   pdm_cluster_wait(r->cluster, errstr, errlen)
               ? -1
               : 0;
}

int pdm_redis_next_reply(pdm_redis *r, redisReply **reply, char *errstr, size_t errlen)
{
    if (r->cluster) {
        *reply = pdm_cluster_next_reply(r->cluster);
        return *reply ? 0 : pdm_err(errstr, errlen, "redis %s: a reply is missing", r->desc);
    }
    if (redisGetReply(r->c, (void **)reply) == REDIS_OK)
        return 0;
    pdm_err(errstr, errlen, "redis %s: %s", r->desc, r->c->errstr);
    pdm_redis_drop(r);
    return -1;
}

/* ---- member encoding ------------------------------------------------------ */

#define TEL_MEMBER 40
#define MARK_MEMBER 9

static void put_be64(unsigned char *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--, u >>= 8)
        p[i] = (unsigned char)u;
}

static int64_t get_be64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | p[i];
    return (int64_t)u;
}

static void put_double(unsigned char *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    for (int i = 0; i < 8; i++, u >>= 8)
        p[i] = (unsigned char)u;
}

static double get_double(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | p[i];
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* "pdm:{<machine>}:<kind>" (NUL-terminated; cut short like snprintf); its
 * length. Not snprintf: two or three per event. */
static int key(char *buf, size_t cap, int32_t machine, const char *kind)
{
    char tmp[96];
    size_t n = 5, k = strnlen(kind, 64);
    memcpy(tmp, "pdm:{", 5);
    n += pdm_fmt_i64(tmp + n, machine);
    tmp[n++] = '}';
    tmp[n++] = ':';
    memcpy(tmp + n, kind, k);
    n += k;
    size_t out = n < cap ? n : cap - 1;
    memcpy(buf, tmp, out);
    buf[out] = '\0';
    return (int)n;
}

/* ---- load ----------------------------------------------------------------- */

void pdm_rs_machine_clear(pdm_rs_machine *m)
{
    for (size_t i = 0; i < m->n_src; i++)
        free(m->src[i].topic);
    free(m->tel);
    free(m->err);
    free(m->maint);
    memset(m, 0, sizeof *m);
}

static int load_marks(redisReply *rep, pdm_rs_mark **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (rep->type != REDIS_REPLY_ARRAY)
        return -1;
    if (rep->elements == 0)
        return 0;
    *out = malloc(rep->elements * sizeof **out);
    if (!*out)
        return -1;
    for (size_t i = 0; i < rep->elements; i++) {
        redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING || e->len != MARK_MEMBER)
            continue; /* not ours: ignore rather than fail the batch */
        (*out)[*n].ts = get_be64((const unsigned char *)e->str);
        (*out)[*n].id = (unsigned char)e->str[8];
        (*n)++;
    }
    return 0;
}

int64_t pdm_rs_source_offset(const pdm_rs_machine *m, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < m->n_src; i++)
        if (m->src[i].partition == partition && strcmp(m->src[i].topic, topic) == 0)
            return m->src[i].offset;
    return -1;
}

int pdm_rs_source_set(pdm_rs_machine *m, const char *topic, int32_t partition, int64_t offset)
{
    size_t slot = m->n_src;
    for (size_t i = 0; i < m->n_src; i++) {
        if (strcmp(m->src[i].topic, topic) == 0) {
            slot = i;
            if (m->src[i].partition == partition)
                break;
        }
    }
    if (slot == PDM_RS_MAX_SOURCES)
        slot = PDM_RS_MAX_SOURCES - 1;
    if (slot == m->n_src || strcmp(m->src[slot].topic, topic) != 0) {
        char *t = strdup(topic);
        if (!t)
            return -1;
        if (slot < m->n_src)
            free(m->src[slot].topic);
        else
            m->n_src++;
        m->src[slot].topic = t;
    }
    m->src[slot].partition = partition;
    m->src[slot].offset = offset;
    return 0;
}

/* The "src:TOPIC:PARTITION" fields of a meta hash into m->src. */
static int load_sources(redisReply *meta, pdm_rs_machine *m)
{
    for (size_t i = 0; i + 1 < meta->elements; i += 2) {
        redisReply *k = meta->element[i], *v = meta->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            strncmp(k->str, "src:", 4) != 0)
            continue;
        const char *colon = strrchr(k->str, ':');
        if (colon == k->str + 3)
            continue; /* no partition */
        char topic[256];
        snprintf(topic, sizeof topic, "%.*s", (int)(colon - k->str - 4), k->str + 4);
        if (pdm_rs_source_set(m, topic, (int32_t)strtol(colon + 1, NULL, 10),
                              strtoll(v->str, NULL, 10)))
            return -1;
    }
    return 0;
}

static int64_t meta_int(redisReply *meta, const char *name, int64_t dflt)
{
    for (size_t i = 0; i + 1 < meta->elements; i += 2) {
        redisReply *k = meta->element[i], *v = meta->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            strcmp(k->str, name) == 0)
            return strtoll(v->str, NULL, 10);
    }
    return dflt;
}

/* A text field of the meta hash into out (size bytes), "" if absent or too
 * long (a text cut short would not decode anyway). */
static void meta_text(redisReply *meta, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i + 1 < meta->elements; i += 2) {
        redisReply *k = meta->element[i], *v = meta->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            strcmp(k->str, name) == 0 && v->len < size) {
            memcpy(out, v->str, v->len);
            out[v->len] = '\0';
        }
    }
}

/* The telemetry members of a ZRANGEBYSCORE reply into m->tel. */
static int load_telemetry(redisReply *rep, pdm_rs_machine *m)
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0)
        return 0;
    m->tel = malloc(rep->elements * sizeof *m->tel);
    if (!m->tel)
        return -1;
    for (size_t e = 0; e < rep->elements; e++) {
        redisReply *el = rep->element[e];
        if (el->type != REDIS_REPLY_STRING || el->len != TEL_MEMBER)
            continue;
        const unsigned char *p = (const unsigned char *)el->str;
        pdm_rs_telemetry *t = &m->tel[m->n_tel++];
        t->ts = get_be64(p);
        for (int v = 0; v < 4; v++)
            t->v[v] = get_double(p + 8 + 8 * v);
    }
    return 0;
}

/* The bookkeeping of the meta hash (HGETALL reply) into m, the defaults
 * where it has none. -1: out of memory. */
static int load_meta(redisReply *meta, pdm_rs_machine *m)
{
    int rc = 0;
    int has_meta = meta->type == REDIS_REPLY_ARRAY && meta->elements > 0;
    m->exists = has_meta || m->n_tel || m->n_err || m->n_maint;
    m->newest = INT64_MIN;
    m->base = INT64_MIN;
    m->level = -1;
    m->base_level = -1;
    m->notified_at = INT64_MIN;
    m->base_notified_at = INT64_MIN;
    m->alert[0] = m->base_alert[0] = '\0';
    if (has_meta) {
        m->has_info = meta_int(meta, "model", 0) > 0;
        m->model = (int)meta_int(meta, "model", 0);
        m->age = (int)meta_int(meta, "age", 0);
        m->newest = meta_int(meta, "newest", INT64_MIN);
        m->base = meta_int(meta, "base", INT64_MIN);
        rc = load_sources(meta, m);
        m->level = (int)meta_int(meta, "level", -1);
        m->base_level = (int)meta_int(meta, "base_level", -1);
        m->notified_at = meta_int(meta, "notified", INT64_MIN);
        m->base_notified_at = meta_int(meta, "base_notified", INT64_MIN);
        meta_text(meta, "alert", m->alert, sizeof m->alert);
        meta_text(meta, "base_alert", m->base_alert, sizeof m->base_alert);
        m->version = meta_int(meta, "ver", 0);
    }
    return rc;
}

/* Appends the commands that load one machine: its ver counter alone, or its
 * telemetry and errors after from_ts, every maintenance record and the meta
 * hash. load_replies reads their replies in the same order. The meta hash
 * comes last on purpose: the four keys share one expiry deadline, so a meta
 * hash still there means the keys read before it were too. */
static int load_append(pdm_redis *r, int32_t machine, int64_t from_ts, int version_only,
                       char *errstr, size_t errlen)
{
    char k1[64], k2[64], k3[64], k4[64], from[32];
    int fail;
    key(k4, sizeof k4, machine, "meta");
    if (version_only) {
        const char *a[3] = {"HGET", k4, "ver"};
        fail = pdm_redis_append(r, 3, a, NULL);
    } else {
        key(k1, sizeof k1, machine, "tel");
        key(k2, sizeof k2, machine, "err");
        key(k3, sizeof k3, machine, "maint");
        snprintf(from, sizeof from, "(%lld", (long long)from_ts);
        const char *a1[4] = {"ZRANGEBYSCORE", k1, from, "+inf"};
        const char *a2[4] = {"ZRANGEBYSCORE", k2, from, "+inf"};
        const char *a3[4] = {"ZRANGE", k3, "0", "-1"};
        const char *a4[2] = {"HGETALL", k4};
        fail = pdm_redis_append(r, 4, a1, NULL) || pdm_redis_append(r, 4, a2, NULL) ||
               pdm_redis_append(r, 4, a3, NULL) || pdm_redis_append(r, 2, a4, NULL);
    }
    if (fail) {
        pdm_err(errstr, errlen, "redis %s: out of memory", r->desc);
        pdm_redis_drop(r);
        return -1;
    }
    return 0;
}

/* Parses the four replies of a full load (tel, err, maint, meta) into m.
 * Returns 0, or -1 with errstr on an error reply or out of memory. */
static int parse_machine(pdm_redis *r, redisReply **rep, pdm_rs_machine *m, char *errstr,
                         size_t errlen)
{
    int rc = 0;
    for (int j = 0; j < 4; j++)
        if (rep[j]->type == REDIS_REPLY_ERROR)
            rc = pdm_err(errstr, errlen, "redis %s: %s", r->desc, rep[j]->str);
    if (rc == 0 && load_telemetry(rep[0], m))
        rc = pdm_err(errstr, errlen, "out of memory");
    if (rc == 0 &&
        (load_marks(rep[1], &m->err, &m->n_err) || load_marks(rep[2], &m->maint, &m->n_maint)))
        rc = pdm_err(errstr, errlen, "redis %s: unexpected reply or out of memory", r->desc);
    if (rc == 0 && load_meta(rep[3], m))
        rc = pdm_err(errstr, errlen, "out of memory");
    return rc;
}

/* Reads the replies of one machine's commands (load_append) into m. The
 * batch's first error goes to *rc (with errstr); after it replies are still
 * read, to keep the pipeline in step, but full loads are no longer parsed.
 * Returns -1 only on an I/O error, the connection dropped. */
static int load_replies(pdm_redis *r, int32_t machine, int version_only, pdm_rs_machine *m, int *rc,
                        char *errstr, size_t errlen)
{
    redisReply *rep[4] = {0};
    int n_rep = version_only ? 1 : 4;
    for (int j = 0; j < n_rep; j++) {
        if (pdm_redis_next_reply(r, &rep[j], errstr, errlen)) {
            for (int k = 0; k < j; k++)
                freeReplyObject(rep[k]);
            return -1;
        }
    }
    m->machine_id = machine;
    if (version_only) {
        m->version = rep[0]->type == REDIS_REPLY_STRING ? strtoll(rep[0]->str, NULL, 10) : 0;
        if (*rc == 0 && rep[0]->type == REDIS_REPLY_ERROR)
            *rc = pdm_err(errstr, errlen, "redis %s: %s", r->desc, rep[0]->str);
    } else if (*rc == 0) {
        *rc = parse_machine(r, rep, m, errstr, errlen);
    }
    for (int j = 0; j < n_rep; j++)
        freeReplyObject(rep[j]);
    return 0;
}

int pdm_rs_load(pdm_redis *r, const int32_t *machines, const int64_t *from_ts,
                const unsigned char *version_only, size_t n, pdm_rs_machine *out, char *errstr,
                size_t errlen)
{
    if (!pdm_redis_connected(r) && pdm_redis_connect(r, errstr, errlen))
        return -1;
    int fenced = r->epoch[0] != '\0';
    if (fenced && rs_append_watch(r)) {
        pdm_redis_drop(r);
        return pdm_err(errstr, errlen, "redis %s: out of memory", r->desc);
    }
    for (size_t i = 0; i < n; i++)
        if (load_append(r, machines[i], from_ts[i], version_only && version_only[i], errstr,
                        errlen))
            return -1;
    if (pdm_redis_flush(r, errstr, errlen))
        return -1;
    int epoch = fenced       ? rs_watch_replies(r, errstr, errlen)
                : r->cluster ? pdm_cluster_epoch_lost(r->cluster) /* redis_cluster_fence.c */
                             : 0;
    if (epoch < 0 && !r->c)
        return -1;
    int rc = epoch < 0 ? -1 : 0; /* the first error's message stays */
    for (size_t i = 0; i < n; i++)
        if (load_replies(r, machines[i], version_only && version_only[i], &out[i], &rc, errstr,
                         errlen))
            return -1;
    return epoch ? epoch : rc;
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
        key(k, sizeof k, b->held[i].machine, "tel");
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
        key(k, sizeof k, ev->machine_id, "tel");
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
        key(k, sizeof k, ev->machine_id, ev->type == PDM_EV_ERROR ? "err" : "maint");
        member[8] = (unsigned char)(ev->type == PDM_EV_ERROR ? ev->u.error.error_id
                                                             : ev->u.maintenance.component);
        if (!(c = cmd_new(b)) || args(b, c, 3, "ZADD", k, score) ||
            arg(b, c, member, MARK_MEMBER))
            return -1;
        return 0;
    case PDM_EV_MACHINE: {
        char model[16], age[16];
        key(k, sizeof k, ev->machine_id, "meta");
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
    key(k, sizeof k, machine_id, "tel");
    if (!(c = cmd_new(b)) || args(b, c, 4, "ZREMRANGEBYSCORE", k, "-inf", max))
        return -1;
    key(k, sizeof k, machine_id, "err");
    if (!(c = cmd_new(b)) || args(b, c, 4, "ZREMRANGEBYSCORE", k, "-inf", max))
        return -1;
    key(k, sizeof k, machine_id, "maint");
    for (size_t i = 0; i < n_drop; i++) {
        unsigned char member[MARK_MEMBER];
        put_be64(member, drop_maint[i].ts);
        member[8] = (unsigned char)drop_maint[i].id;
        if (!(c = cmd_new(b)) || args(b, c, 2, "ZREM", k) || arg(b, c, member, MARK_MEMBER))
            return -1;
    }
    return 0;
}

int pdm_rs_batch_meta(pdm_rs_batch *b, const pdm_rs_machine *m, size_t *version_slot)
{
    char k[64], v[6][32];
    rs_cmd *c;
    key(k, sizeof k, m->machine_id, "meta");
    snprintf(v[0], 32, "%lld", (long long)m->newest);
    snprintf(v[1], 32, "%lld", (long long)m->base);
    snprintf(v[2], 32, "%d", m->level);
    snprintf(v[3], 32, "%d", m->base_level);
    snprintf(v[4], 32, "%lld", (long long)m->notified_at);
    snprintf(v[5], 32, "%lld", (long long)m->base_notified_at);
    if (!(c = cmd_new(b)) ||
        args(b, c, 14, "HSET", k, "newest", v[0], "base", v[1], "level", v[2], "base_level",
             v[3], "notified", v[4], "base_notified", v[5]))
        return -1;
    /* Only a scorer keeping alert states writes them: other modes' writes
     * stay as they were. */
    if (m->alert[0] || m->base_alert[0])
        if (args(b, c, 4, "alert", m->alert, "base_alert", m->base_alert))
            return -1;
    for (size_t i = 0; i < m->n_src; i++) {
        char name[300], off[32];
        int len = snprintf(name, sizeof name, "src:%s:%d", m->src[i].topic, (int)m->src[i].partition);
        snprintf(off, sizeof off, "%lld", (long long)m->src[i].offset);
        if (arg(b, c, name, (size_t)len) || arg(b, c, off, strlen(off)))
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
        key(k, sizeof k, machine_id, kinds[i]);
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
