/* redis_state.c: pipelined, idempotent I/O of per-machine state in Redis
 * (layout in redis_state.h): the loads here, the write batches in
 * redis_batch.c. Round trips, not commands, are what cost on Redis (about
 * 20 k/s unpipelined against over 1 M commands/s pipelined), so a batch is
 * one round trip to load and one to write, whatever its size.
 * On any I/O error the connection is dropped; the caller retries the whole
 * batch after reconnecting, which is safe because every write is idempotent.
 * The connection itself (URL, connect, AUTH) is redis_conn.c's, the fence
 * against a FLUSHALL (pdm:epoch) redis_epoch.c's. */
#include "redis_internal.h"

#include <stdio.h>
#include <pthread.h>
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

static int64_t get_be64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | p[i];
    return (int64_t)u;
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
int rs_key(char *buf, size_t cap, int32_t machine, const char *kind)
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

static pthread_mutex_t topics_lock = PTHREAD_MUTEX_INITIALIZER;
static char **topics; /* the interned names */
static size_t n_topics, cap_topics;

const char *pdm_rs_topic(const char *name)
{
    const char *found = NULL;
    pthread_mutex_lock(&topics_lock);
    for (size_t i = 0; i < n_topics && !found; i++)
        if (strcmp(topics[i], name) == 0)
            found = topics[i];
    if (!found && n_topics < PDM_RS_MAX_TOPICS) {
        if (n_topics == cap_topics) {
            size_t cap = cap_topics ? 2 * cap_topics : 8;
            char **t = realloc(topics, cap * sizeof *t);
            if (t) {
                topics = t;
                cap_topics = cap;
            }
        }
        char *copy = n_topics < cap_topics ? strdup(name) : NULL;
        if (copy)
            found = topics[n_topics++] = copy;
    }
    pthread_mutex_unlock(&topics_lock);
    return found;
}

void pdm_rs_machine_clear(pdm_rs_machine *m)
{
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
        const char *t = pdm_rs_topic(topic);
        if (!t)
            return -1;
        if (slot == m->n_src)
            m->n_src++;
        m->src[slot].topic = t;
    }
    m->src[slot].partition = partition;
    m->src[slot].offset = offset;
    return 0;
}

/* A "src:TOPIC:PARTITION" field of a meta hash into m->src (ignored
 * without a partition). -1: out of memory. */
static int load_source(const redisReply *k, const redisReply *v, pdm_rs_machine *m)
{
    const char *colon = strrchr(k->str, ':');
    size_t topic_len = (size_t)(colon - k->str) - 4;
    char topic[256];
    if (colon == k->str + 3 || topic_len >= sizeof topic)
        return 0;
    memcpy(topic, k->str + 4, topic_len);
    topic[topic_len] = '\0';
    return pdm_rs_source_set(m, topic, (int32_t)strtol(colon + 1, NULL, 10),
                             strtoll(v->str, NULL, 10));
}

/* A text field into out (size bytes), "" if too long (a text cut short
 * would not decode anyway). */
static void meta_text(const redisReply *v, char *out, size_t size)
{
    out[0] = '\0';
    if (v->len < size) {
        memcpy(out, v->str, v->len);
        out[v->len] = '\0';
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
 * where it has none. One pass over the fields: a fleet of 100,000 machines
 * loads a meta hash for most events. -1: out of memory. */
static int load_meta(redisReply *meta, pdm_rs_machine *m)
{
    int has_meta = meta->type == REDIS_REPLY_ARRAY && meta->elements > 0;
    m->exists = has_meta || m->n_tel || m->n_err || m->n_maint;
    int64_t model = 0, age = 0, level = -1, base_level = -1;
    m->newest = INT64_MIN;
    m->base = INT64_MIN;
    m->notified_at = INT64_MIN;
    m->base_notified_at = INT64_MIN;
    m->alert[0] = m->base_alert[0] = '\0';
    if (has_meta)
        m->version = 0;
    const struct {
        const char *name;
        size_t len;
        int64_t *to;
    } ints[] = {{"model", 5, &model},          {"age", 3, &age},
                {"newest", 6, &m->newest},     {"base", 4, &m->base},
                {"level", 5, &level},          {"base_level", 10, &base_level},
                {"notified", 8, &m->notified_at}, {"base_notified", 13, &m->base_notified_at},
                {"ver", 3, &m->version}};
    for (size_t i = 0; has_meta && i + 1 < meta->elements; i += 2) {
        const redisReply *k = meta->element[i], *v = meta->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (k->len > 4 && memcmp(k->str, "src:", 4) == 0) {
            if (load_source(k, v, m))
                return -1;
            continue;
        }
        if (k->len == 5 && memcmp(k->str, "alert", 5) == 0) {
            meta_text(v, m->alert, sizeof m->alert);
            continue;
        }
        if (k->len == 10 && memcmp(k->str, "base_alert", 10) == 0) {
            meta_text(v, m->base_alert, sizeof m->base_alert);
            continue;
        }
        for (size_t f = 0; f < sizeof ints / sizeof ints[0]; f++)
            if (k->len == ints[f].len && memcmp(k->str, ints[f].name, k->len) == 0) {
                *ints[f].to = strtoll(v->str, NULL, 10);
                break;
            }
    }
    if (has_meta) {
        m->has_info = model > 0;
        m->model = (int)model;
        m->age = (int)age;
    }
    m->level = (int)level;
    m->base_level = (int)base_level;
    return 0;
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
    rs_key(k4, sizeof k4, machine, "meta");
    if (version_only) {
        const char *a[3] = {"HGET", k4, "ver"};
        fail = pdm_redis_append(r, 3, a, NULL);
    } else {
        rs_key(k1, sizeof k1, machine, "tel");
        rs_key(k2, sizeof k2, machine, "err");
        rs_key(k3, sizeof k3, machine, "maint");
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
