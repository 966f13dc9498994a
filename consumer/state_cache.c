/* state_cache.c: the bounded, version-checked copy of the machines' Redis
 * state (see state_cache.h). A chained hash of machine id to entry, and a
 * least-recently-used list for eviction by bytes. */
#include "state_cache.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    pdm_rs_machine st;
    int64_t cover;
    int64_t version;
    size_t bytes;
    struct entry *next_in_bucket;
    struct entry *newer, *older; /* LRU list: head is the newest */
} entry;

struct pdm_state_cache {
    entry **buckets;
    size_t n_buckets; /* a power of two */
    size_t n, bytes, max_bytes;
    uint64_t evicted; /* entries dropped for room (least recently used) */
    entry *newest, *oldest;
};

static size_t bucket_of(const pdm_state_cache *c, int32_t id)
{
    return ((uint32_t)id * 2654435761u) & (c->n_buckets - 1);
}

static size_t entry_bytes(const pdm_rs_machine *st)
{
    return sizeof(entry) + st->n_tel * sizeof *st->tel + st->n_err * sizeof *st->err +
           st->n_maint * sizeof *st->maint;
}

pdm_state_cache *pdm_state_cache_new(size_t max_bytes)
{
    pdm_state_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->n_buckets = 1024;
    c->buckets = calloc(c->n_buckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->max_bytes = max_bytes;
    return c;
}

static entry *find(const pdm_state_cache *c, int32_t id)
{
    for (entry *e = c->buckets[bucket_of(c, id)]; e; e = e->next_in_bucket)
        if (e->st.machine_id == id)
            return e;
    return NULL;
}

static void lru_unlink(pdm_state_cache *c, entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(pdm_state_cache *c, entry *e)
{
    e->newer = NULL;
    e->older = c->newest;
    if (c->newest)
        c->newest->newer = e;
    c->newest = e;
    if (!c->oldest)
        c->oldest = e;
}

static void remove_entry(pdm_state_cache *c, entry *e)
{
    entry **p = &c->buckets[bucket_of(c, e->st.machine_id)];
    while (*p != e)
        p = &(*p)->next_in_bucket;
    *p = e->next_in_bucket;
    lru_unlink(c, e);
    c->n--;
    c->bytes -= e->bytes;
    pdm_rs_machine_clear(&e->st);
    free(e);
}

void pdm_state_cache_clear(pdm_state_cache *c)
{
    while (c && c->oldest)
        remove_entry(c, c->oldest);
}

void pdm_state_cache_destroy(pdm_state_cache *c)
{
    if (!c)
        return;
    pdm_state_cache_clear(c);
    free(c->buckets);
    free(c);
}

int pdm_state_cache_may_keep(int loaded_exists, int64_t loaded_version, int64_t written_version)
{
    if (loaded_exists && loaded_version == 0)
        return 0;
    return written_version == loaded_version + 1;
}

void pdm_state_cache_drop(pdm_state_cache *c, int32_t id)
{
    entry *e = find(c, id);
    if (e)
        remove_entry(c, e);
}

size_t pdm_state_cache_machines(const pdm_state_cache *c)
{
    return c->n;
}
size_t pdm_state_cache_bytes(const pdm_state_cache *c)
{
    return c->bytes;
}

int pdm_state_cache_peek(const pdm_state_cache *c, int32_t id, int64_t from_ts, int64_t *version)
{
    const entry *e = find(c, id);
    if (!e || from_ts < e->cover)
        return 0;
    *version = e->version;
    return 1;
}

/* Copies the marks with ts > from (all if from is INT64_MIN). */
static int copy_marks(const pdm_rs_mark *src, size_t n, int64_t from, pdm_rs_mark **out,
                      size_t *n_out)
{
    size_t i = 0;
    while (i < n && src[i].ts <= from)
        i++;
    *n_out = 0;
    *out = NULL;
    if (i == n)
        return 0;
    *out = malloc((n - i) * sizeof **out);
    if (!*out)
        return -1;
    memcpy(*out, src + i, (n - i) * sizeof **out);
    *n_out = n - i;
    return 0;
}

/* A copy of the bookkeeping (the sources' topic names are interned,
 * pdm_rs_topic), no arrays. */
static void copy_meta(const pdm_rs_machine *src, pdm_rs_machine *out)
{
    *out = *src;
    out->tel = NULL;
    out->err = NULL;
    out->maint = NULL;
    out->n_tel = out->n_err = out->n_maint = 0;
}

int pdm_state_cache_get(pdm_state_cache *c, int32_t id, int64_t from_ts, pdm_rs_machine *out)
{
    entry *e = find(c, id);
    if (!e || from_ts < e->cover)
        return 0;
    const pdm_rs_machine *st = &e->st;
    copy_meta(st, out);
    size_t i = 0;
    while (i < st->n_tel && st->tel[i].ts <= from_ts)
        i++;
    if (i < st->n_tel) {
        out->tel = malloc((st->n_tel - i) * sizeof *out->tel);
        if (!out->tel)
            goto oom;
        memcpy(out->tel, st->tel + i, (st->n_tel - i) * sizeof *out->tel);
        out->n_tel = st->n_tel - i;
    }
    if (copy_marks(st->err, st->n_err, from_ts, &out->err, &out->n_err) ||
        copy_marks(st->maint, st->n_maint, INT64_MIN, &out->maint, &out->n_maint))
        goto oom;
    lru_unlink(c, e);
    lru_push(c, e);
    return 1;
oom:
    pdm_rs_machine_clear(out);
    return -1;
}

/* Drops the telemetry and errors with ts <= cover, in place. */
static void drop_covered(pdm_rs_machine *st, int64_t cover)
{
    size_t i = 0;
    while (i < st->n_tel && st->tel[i].ts <= cover)
        i++;
    if (i) /* (tel may be NULL when there is none) */
        memmove(st->tel, st->tel + i, (st->n_tel - i) * sizeof *st->tel);
    st->n_tel -= i;
    i = 0;
    while (i < st->n_err && st->err[i].ts <= cover)
        i++;
    if (i)
        memmove(st->err, st->err + i, (st->n_err - i) * sizeof *st->err);
    st->n_err -= i;
}

static int grow_buckets(pdm_state_cache *c)
{
    size_t nb = c->n_buckets * 2;
    entry **b = calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < c->n_buckets; i++) {
        entry *e = c->buckets[i];
        while (e) {
            entry *next = e->next_in_bucket;
            size_t h = ((uint32_t)e->st.machine_id * 2654435761u) & (nb - 1);
            e->next_in_bucket = b[h];
            b[h] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->n_buckets = nb;
    return 0;
}

int pdm_state_cache_put(pdm_state_cache *c, pdm_rs_machine *st, int64_t cover, int64_t version)
{
    pdm_state_cache_drop(c, st->machine_id);
    drop_covered(st, cover);
    size_t bytes = entry_bytes(st);
    if (bytes > c->max_bytes) {
        pdm_rs_machine_clear(st);
        return 0;
    }
    entry *e = calloc(1, sizeof *e);
    if (!e || (c->n >= c->n_buckets && grow_buckets(c))) {
        free(e);
        pdm_rs_machine_clear(st);
        return -1;
    }
    e->st = *st;
    e->st.version = version;
    memset(st, 0, sizeof *st);
    e->cover = cover;
    e->version = version;
    e->bytes = bytes;
    size_t h = bucket_of(c, e->st.machine_id);
    e->next_in_bucket = c->buckets[h];
    c->buckets[h] = e;
    lru_push(c, e);
    c->n++;
    c->bytes += bytes;
    while (c->bytes > c->max_bytes && c->oldest) {
        remove_entry(c, c->oldest);
        c->evicted++;
    }
    return 0;
}

uint64_t pdm_state_cache_evicted(const pdm_state_cache *c)
{
    return c ? c->evicted : 0;
}

/* ---- the state after a batch ------------------------------------------------------- */

static int cmp_tel(const pdm_rs_telemetry *a, const pdm_rs_telemetry *b)
{
    return (a->ts > b->ts) - (a->ts < b->ts);
}

static int cmp_mark(const pdm_rs_mark *a, const pdm_rs_mark *b)
{
    if (a->ts != b->ts)
        return (a->ts > b->ts) - (a->ts < b->ts);
    return ((unsigned char)a->id > (unsigned char)b->id) -
           ((unsigned char)a->id < (unsigned char)b->id);
}

/* A stable insertion sort (a later reading at a ts must stay after an
 * earlier one): the input is a sorted run followed by a batch's events,
 * nearly in order, so this is about linear. Marks need no stability (equal
 * marks are the same mark) and go through qsort. */
static void sort_tel(pdm_rs_telemetry *t, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        pdm_rs_telemetry x = t[i];
        size_t j = i;
        while (j > 0 && cmp_tel(&t[j - 1], &x) > 0) {
            t[j] = t[j - 1];
            j--;
        }
        t[j] = x;
    }
}

static int cmp_mark_qsort(const void *a, const void *b)
{
    return cmp_mark(a, b);
}

/* Sorted marks without duplicates, minus the dropped ones, minus ts < horizon. */
static size_t settle_marks(pdm_rs_mark *m, size_t n, int64_t horizon, const pdm_rs_mark *drop,
                           size_t n_drop)
{
    if (n > 1)
        qsort(m, n, sizeof *m, cmp_mark_qsort);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (m[i].ts < horizon || (k > 0 && cmp_mark(&m[k - 1], &m[i]) == 0))
            continue;
        int dropped = 0;
        for (size_t d = 0; d < n_drop && !dropped; d++)
            dropped = cmp_mark(&drop[d], &m[i]) == 0;
        if (!dropped)
            m[k++] = m[i];
    }
    return k;
}

int pdm_state_merge(const pdm_rs_machine *before, const pdm_event *const *events, size_t n_events,
                    int64_t horizon, const pdm_rs_mark *drop, size_t n_drop, pdm_rs_machine *after)
{
    size_t n_tel = before->n_tel, n_err = before->n_err, n_maint = before->n_maint;
    for (size_t i = 0; i < n_events; i++) {
        n_tel += events[i]->type == PDM_EV_TELEMETRY;
        n_err += events[i]->type == PDM_EV_ERROR;
        n_maint += events[i]->type == PDM_EV_MAINTENANCE;
    }
    copy_meta(before, after);
    after->exists = 1;
    if ((n_tel && !(after->tel = malloc(n_tel * sizeof *after->tel))) ||
        (n_err && !(after->err = malloc(n_err * sizeof *after->err))) ||
        (n_maint && !(after->maint = malloc(n_maint * sizeof *after->maint))))
        goto oom;
    if (before->n_tel)
        memcpy(after->tel, before->tel, before->n_tel * sizeof *after->tel);
    if (before->n_err)
        memcpy(after->err, before->err, before->n_err * sizeof *after->err);
    if (before->n_maint)
        memcpy(after->maint, before->maint, before->n_maint * sizeof *after->maint);
    after->n_tel = before->n_tel;
    after->n_err = before->n_err;
    after->n_maint = before->n_maint;
    for (size_t i = 0; i < n_events; i++) {
        const pdm_event *ev = events[i];
        if (ev->type == PDM_EV_TELEMETRY) {
            pdm_rs_telemetry *t = &after->tel[after->n_tel++];
            t->ts = ev->ts;
            t->v[0] = ev->u.telemetry.volt;
            t->v[1] = ev->u.telemetry.rotate;
            t->v[2] = ev->u.telemetry.pressure;
            t->v[3] = ev->u.telemetry.vibration;
        } else if (ev->type == PDM_EV_ERROR) {
            after->err[after->n_err++] = (pdm_rs_mark){ev->ts, ev->u.error.error_id};
        } else if (ev->type == PDM_EV_MAINTENANCE) {
            after->maint[after->n_maint++] = (pdm_rs_mark){ev->ts, ev->u.maintenance.component};
        }
    }
    /* Telemetry: one reading per ts, the last written wins (stable sort
     * keeps stream order among equal ts). */
    sort_tel(after->tel, after->n_tel);
    size_t k = 0;
    for (size_t i = 0; i < after->n_tel; i++) {
        if (after->tel[i].ts < horizon)
            continue;
        if (k > 0 && after->tel[k - 1].ts == after->tel[i].ts)
            k--;
        after->tel[k++] = after->tel[i];
    }
    after->n_tel = k;
    after->n_err = settle_marks(after->err, after->n_err, horizon, NULL, 0);
    after->n_maint = settle_marks(after->maint, after->n_maint, INT64_MIN, drop, n_drop);
    return 0;
oom:
    pdm_rs_machine_clear(after);
    return -1;
}
