/* scorer_silence.c: the silent-machine tracker (see scorer_silence.h).
 *
 * Machines live in slots (reused through a free stack), found by id through
 * an open-addressing table (linear probing, deletion by backward shift, so
 * no tombstones pile up as machines are forgotten). Each slot sits in one
 * of two indexed min-heaps on (newest telemetry, id): REPORTING or SILENT;
 * its place in the heap is kept in the slot so that an observation moves it
 * in O(log n). The id breaks ties so that a sweep's order is the same on
 * every run.
 */
#include "scorer_silence.h"

#include <stdlib.h>
#include <string.h>

enum { REPORTING = 0, SILENT = 1 };

typedef struct {
    int32_t id; /* 0: a free slot */
    int32_t partition;
    int64_t newest;
    uint32_t pos; /* index in its heap */
    int silent;
} slot;

typedef struct {
    uint32_t *at; /* slot indices */
    size_t n, cap;
} heap;

struct scorer_silence {
    scorer_silence_config cfg;
    int64_t stream; /* the stream's event time, INT64_MIN before any */
    slot *slots;
    size_t n_slots, cap_slots;
    uint32_t *free_slots; /* a stack of free slot indices */
    size_t n_free;
    uint32_t *table;      /* slot index + 1, 0 empty */
    size_t table_cap;     /* a power of two */
    unsigned table_shift; /* 32 - log2(table_cap) */
    heap heaps[2];
    size_t tracked, silent;
    uint64_t forgotten, evicted;
};

int scorer_silence_rule(int64_t newest, int64_t stream, int64_t after_ms)
{
    /* Compared as a difference only once it cannot overflow. */
    return stream != INT64_MIN && newest != INT64_MIN && stream > newest &&
           (uint64_t)stream - (uint64_t)newest > (uint64_t)after_ms;
}

/* ---- the heaps ------------------------------------------------------------ */

static int earlier(const scorer_silence *t, uint32_t a, uint32_t b)
{
    const slot *x = &t->slots[a], *y = &t->slots[b];
    return x->newest < y->newest || (x->newest == y->newest && x->id < y->id);
}

static void heap_set(scorer_silence *t, heap *h, size_t pos, uint32_t s)
{
    h->at[pos] = s;
    t->slots[s].pos = (uint32_t)pos;
}

static void sift_up(scorer_silence *t, heap *h, size_t pos)
{
    uint32_t s = h->at[pos];
    while (pos > 0 && earlier(t, s, h->at[(pos - 1) / 2])) {
        heap_set(t, h, pos, h->at[(pos - 1) / 2]);
        pos = (pos - 1) / 2;
    }
    heap_set(t, h, pos, s);
}

static void sift_down(scorer_silence *t, heap *h, size_t pos)
{
    uint32_t s = h->at[pos];
    for (;;) {
        size_t c = 2 * pos + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && earlier(t, h->at[c + 1], h->at[c]))
            c++;
        if (!earlier(t, h->at[c], s))
            break;
        heap_set(t, h, pos, h->at[c]);
        pos = c;
    }
    heap_set(t, h, pos, s);
}

/* A slot's key changed, or another slot was put at pos: if it went up,
 * what came down to pos is no later than pos's children, and sift_down
 * leaves it. */
static void heap_fix(scorer_silence *t, heap *h, size_t pos)
{
    sift_up(t, h, pos);
    sift_down(t, h, pos);
}

static int heap_push(scorer_silence *t, heap *h, uint32_t s)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        uint32_t *at = realloc(h->at, cap * sizeof *at);
        if (!at)
            return -1;
        h->at = at;
        h->cap = cap;
    }
    heap_set(t, h, h->n++, s);
    sift_up(t, h, h->n - 1);
    return 0;
}

static void heap_remove(scorer_silence *t, heap *h, size_t pos)
{
    uint32_t last = h->at[--h->n];
    if (pos == h->n)
        return;
    heap_set(t, h, pos, last);
    heap_fix(t, h, pos);
}

/* ---- the table ------------------------------------------------------------ */

/* Fibonacci hashing: the product's top bits, which every bit of the id
 * reaches (the low bits alone would put ids 1024 apart in one place). */
static size_t home(const scorer_silence *t, int32_t id)
{
    return (uint32_t)((uint32_t)id * 2654435761u) >> t->table_shift;
}

/* The table position of id, or of the empty place where it would go. */
static size_t table_find(const scorer_silence *t, int32_t id)
{
    size_t mask = t->table_cap - 1;
    size_t h = home(t, id);
    while (t->table[h] && t->slots[t->table[h] - 1].id != id)
        h = (h + 1) & mask;
    return h;
}

/* Keeps the table at most half full: probes stay short. */
static int table_grow(scorer_silence *t)
{
    if (2 * (t->tracked + 1) <= t->table_cap)
        return 0;
    size_t cap = t->table_cap ? 2 * t->table_cap : 64;
    uint32_t *table = calloc(cap, sizeof *table);
    if (!table)
        return -1;
    free(t->table);
    t->table = table;
    t->table_cap = cap;
    t->table_shift = 32;
    while ((size_t)1 << (32 - t->table_shift) < cap)
        t->table_shift--;
    for (size_t s = 0; s < t->n_slots; s++)
        if (t->slots[s].id)
            t->table[table_find(t, t->slots[s].id)] = (uint32_t)s + 1;
    return 0;
}

/* Removes the entry at h, shifting back the entries after it that would
 * otherwise no longer be found from their home. */
static void table_delete(scorer_silence *t, size_t h)
{
    size_t mask = t->table_cap - 1;
    for (size_t j = (h + 1) & mask; t->table[j]; j = (j + 1) & mask) {
        size_t k = home(t, t->slots[t->table[j] - 1].id);
        int stays = h <= j ? (h < k && k <= j) : (h < k || k <= j);
        if (stays)
            continue;
        t->table[h] = t->table[j];
        h = j;
    }
    t->table[h] = 0;
}

/* ---- slots ------------------------------------------------------------------ */

/* A new slot for id in the REPORTING heap; -1 out of memory. */
static int slot_add(scorer_silence *t, int32_t id, int32_t partition, int64_t ts)
{
    if (table_grow(t))
        return -1;
    uint32_t s;
    if (t->n_free) {
        s = t->free_slots[--t->n_free];
    } else {
        if (t->n_slots == t->cap_slots) {
            size_t cap = t->cap_slots ? 2 * t->cap_slots : 64;
            slot *slots = realloc(t->slots, cap * sizeof *slots);
            if (!slots)
                return -1;
            t->slots = slots;
            uint32_t *fs = realloc(t->free_slots, cap * sizeof *fs);
            if (!fs)
                return -1;
            t->free_slots = fs;
            t->cap_slots = cap;
        }
        s = (uint32_t)t->n_slots++;
    }
    t->slots[s] = (slot){.id = id, .partition = partition, .newest = ts};
    if (heap_push(t, &t->heaps[REPORTING], s)) {
        t->slots[s].id = 0;
        t->free_slots[t->n_free++] = s;
        return -1;
    }
    t->table[table_find(t, id)] = s + 1;
    t->tracked++;
    return 0;
}

static void slot_forget(scorer_silence *t, uint32_t s)
{
    slot *x = &t->slots[s];
    heap_remove(t, &t->heaps[x->silent], x->pos);
    table_delete(t, table_find(t, x->id));
    if (x->silent)
        t->silent--;
    t->tracked--;
    x->id = 0;
    t->free_slots[t->n_free++] = s;
}

/* At max_machines: makes room for a new machine whose reading is at ts by
 * forgetting (without an event) the machine whose newest telemetry is the
 * oldest: the one silent longest, else the reporting one heard from longest
 * ago. A new machine older than that one is not tracked instead. Either
 * way one machine is evicted. 0 when there is room now, -1 if not. */
static int evict_for(scorer_silence *t, int64_t ts)
{
    heap *h = t->heaps[SILENT].n ? &t->heaps[SILENT] : &t->heaps[REPORTING];
    t->evicted++;
    if (!h->n || t->slots[h->at[0]].newest > ts)
        return -1;
    slot_forget(t, h->at[0]);
    return 0;
}

/* ---- the tracker -------------------------------------------------------------- */

scorer_silence *scorer_silence_new(const scorer_silence_config *cfg)
{
    if (cfg->silence_after_ms <= 0 || cfg->forget_after_ms < cfg->silence_after_ms ||
        cfg->max_machines == 0 || cfg->max_machines > UINT32_MAX / 4)
        return NULL;
    scorer_silence *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cfg = *cfg;
    t->stream = INT64_MIN;
    return t;
}

void scorer_silence_destroy(scorer_silence *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t->free_slots);
    free(t->table);
    free(t->heaps[0].at);
    free(t->heaps[1].at);
    free(t);
}

int scorer_silence_observe(scorer_silence *t, int32_t machine, int32_t partition, int64_t ts,
                           scorer_silence_change *back)
{
    size_t h = t->table_cap ? table_find(t, machine) : 0;
    if (!t->table_cap || !t->table[h]) {
        if (t->tracked >= t->cfg.max_machines && evict_for(t, ts))
            return -1;
        return slot_add(t, machine, partition, ts);
    }
    uint32_t s = t->table[h] - 1;
    slot *x = &t->slots[s];
    x->partition = partition;
    if (ts <= x->newest)
        return 0;
    int64_t before = x->newest;
    x->newest = ts;
    if (!x->silent || scorer_silence_rule(ts, t->stream, t->cfg.silence_after_ms)) {
        heap_fix(t, &t->heaps[x->silent], x->pos); /* a backfill leaves it silent */
        return 0;
    }
    heap_remove(t, &t->heaps[SILENT], x->pos);
    x->silent = 0;
    t->silent--;
    if (heap_push(t, &t->heaps[REPORTING], s)) {
        /* Out of memory: forgotten rather than left in no heap (its
         * next reading makes it a new machine). */
        t->free_slots[t->n_free++] = s;
        table_delete(t, table_find(t, machine));
        x->id = 0;
        t->tracked--;
        return -1;
    }
    *back = (scorer_silence_change){machine, ts > t->stream ? ts : t->stream, before, 0};
    return 1;
}

void scorer_silence_advance(scorer_silence *t, int64_t ts)
{
    if (ts > t->stream)
        t->stream = ts;
}

size_t scorer_silence_sweep(scorer_silence *t, scorer_silence_change *out, size_t cap)
{
    heap *rep = &t->heaps[REPORTING], *sil = &t->heaps[SILENT];
    size_t n = 0;
    while (n < cap && rep->n &&
           scorer_silence_rule(t->slots[rep->at[0]].newest, t->stream, t->cfg.silence_after_ms)) {
        uint32_t s = rep->at[0];
        heap_remove(t, rep, 0);
        if (heap_push(t, sil, s)) { /* out of memory: tried again next sweep */
            heap_push(t, rep, s);   /* it had its place: no allocation */
            break;
        }
        t->slots[s].silent = 1;
        t->silent++;
        out[n++] = (scorer_silence_change){t->slots[s].id, t->stream, t->slots[s].newest, 1};
    }
    while (sil->n &&
           scorer_silence_rule(t->slots[sil->at[0]].newest, t->stream, t->cfg.forget_after_ms)) {
        slot_forget(t, sil->at[0]);
        t->forgotten++;
    }
    return n;
}

void scorer_silence_retain(scorer_silence *t, int (*keep)(void *ctx, int32_t partition), void *ctx)
{
    for (size_t s = 0; s < t->n_slots; s++)
        if (t->slots[s].id && !keep(ctx, t->slots[s].partition))
            slot_forget(t, (uint32_t)s);
}

int64_t scorer_silence_stream_time(const scorer_silence *t)
{
    return t->stream;
}
size_t scorer_silence_silent(const scorer_silence *t)
{
    return t->silent;
}
size_t scorer_silence_tracked(const scorer_silence *t)
{
    return t->tracked;
}
uint64_t scorer_silence_forgotten(const scorer_silence *t)
{
    return t->forgotten;
}
uint64_t scorer_silence_evicted(const scorer_silence *t)
{
    return t->evicted;
}
