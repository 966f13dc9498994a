/* store.c: the in-memory state store (machine id -> pdm_machine_state) and
 * the featurizer that turns a stream of events into feature rows.
 *
 * This is the trainer's and the tests' store; the streaming scorer keeps the
 * same per-machine state in Redis and builds pdm_machine_views from it, so
 * both meet in pdm_features_compute.
 *
 * Lateness and memory follow the stream rules the scorer applies too
 * (pdm_rules.h): an event older than the machine's newest telemetry minus
 * the allowed lateness is rejected, so no accepted row ever needs state
 * older than the trim horizon (newest - 24 h - lateness), and that much is
 * trimmed. A machine is trimmed once per (24 h + lateness) of its event
 * time, so trimming costs O(1) amortized per point and a machine never
 * holds more than about twice that span.
 */
#include "pdm_features.h"
#include "pdm_rules.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t id;
    pdm_machine_state *st;
    int64_t next_trim; /* trim when newest reaches this; INT64_MIN: no telemetry yet */
} store_entry;

struct pdm_feature_store {
    pdm_feature_store_options opts;
    store_entry *entries; /* in order of first appearance */
    size_t n, cap;
    uint32_t *slots; /* open addressing, linear probing: entry index + 1, 0 = empty */
    size_t n_slots;  /* a power of two, at least 2 * n */
};

void pdm_feature_store_options_init(pdm_feature_store_options *o)
{
    memset(o, 0, sizeof *o);
    o->lateness_ms = PDM_FEATURES_DEFAULT_LATENESS_MS;
}

pdm_feature_store *pdm_feature_store_new(const pdm_feature_store_options *opts, char *errstr,
                                         size_t errlen)
{
    pdm_feature_store *s = calloc(1, sizeof *s);
    if (!s) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    if (opts)
        s->opts = *opts;
    else
        pdm_feature_store_options_init(&s->opts);
    /* Ages beyond a century mean "unlimited" without risking overflow. */
    if (s->opts.lateness_ms > 100 * 366 * 24 * PDM_MS_PER_HOUR)
        s->opts.lateness_ms = -1;
    return s;
}

void pdm_feature_store_destroy(pdm_feature_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        pdm_machine_state_destroy(s->entries[i].st);
    free(s->entries);
    free(s->slots);
    free(s);
}

static size_t slot_of(int32_t id, size_t n_slots)
{
    uint32_t h = (uint32_t)id * UINT32_C(0x9E3779B1);
    h ^= h >> 15;
    return h & (n_slots - 1);
}

static store_entry *find(const pdm_feature_store *s, int32_t id)
{
    if (!s->n_slots)
        return NULL;
    for (size_t i = slot_of(id, s->n_slots);; i = (i + 1) & (s->n_slots - 1)) {
        uint32_t e = s->slots[i];
        if (!e)
            return NULL;
        if (s->entries[e - 1].id == id)
            return &s->entries[e - 1];
    }
}

static int rehash(pdm_feature_store *s, size_t n_slots)
{
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = slot_of(s->entries[k].id, n_slots);
        while (slots[i])
            i = (i + 1) & (n_slots - 1);
        slots[i] = (uint32_t)(k + 1);
    }
    free(s->slots);
    s->slots = slots;
    s->n_slots = n_slots;
    return 0;
}

static store_entry *find_or_add(pdm_feature_store *s, int32_t id)
{
    store_entry *e = find(s, id);
    if (e)
        return e;
    if (s->n >= UINT32_MAX - 1)
        return NULL;
    if (2 * (s->n + 1) > s->n_slots && rehash(s, s->n_slots ? 2 * s->n_slots : 64))
        return NULL;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? 2 * s->cap : 32;
        store_entry *p = realloc(s->entries, ncap * sizeof *p);
        if (!p)
            return NULL;
        s->entries = p;
        s->cap = ncap;
    }
    pdm_machine_state *st = pdm_machine_state_new();
    if (!st)
        return NULL;
    e = &s->entries[s->n];
    e->id = id;
    e->st = st;
    e->next_trim = INT64_MIN;
    size_t i = slot_of(id, s->n_slots);
    while (s->slots[i])
        i = (i + 1) & (s->n_slots - 1);
    s->slots[i] = (uint32_t)(++s->n);
    return e;
}

/* Applies ev; on PDM_APPLY_OK, *entry is the machine's entry. */
static int store_apply(pdm_feature_store *s, const pdm_event *ev, store_entry **entry)
{
    if (ev->type != PDM_EV_TELEMETRY && ev->type != PDM_EV_ERROR &&
        ev->type != PDM_EV_MAINTENANCE && ev->type != PDM_EV_MACHINE)
        return PDM_APPLY_IGNORED;
    store_entry *e = find_or_add(s, ev->machine_id);
    if (!e)
        return PDM_FEATURES_ENOMEM;
    int64_t lateness = s->opts.lateness_ms;
    if (pdm_rule_is_late(ev->type, ev->ts, pdm_machine_state_newest(e->st), lateness))
        return PDM_APPLY_LATE;
    int rc = pdm_machine_state_apply(e->st, ev);
    if (rc)
        return rc;
    if (lateness >= 0 && ev->type == PDM_EV_TELEMETRY) {
        /* Trimmed to the horizon once per (24 h + lateness) of event time. */
        int64_t newest = pdm_machine_state_newest(e->st);
        int64_t span = PDM_FEATURES_LONG_WINDOW_MS + lateness;
        if (e->next_trim == INT64_MIN) {
            e->next_trim = newest + span;
        } else if (newest >= e->next_trim) {
            pdm_machine_state_trim(e->st, pdm_rule_trim_horizon(newest, lateness));
            e->next_trim = newest + span;
        }
    }
    *entry = e;
    return PDM_APPLY_OK;
}

int pdm_feature_store_apply(pdm_feature_store *s, const pdm_event *ev)
{
    store_entry *e;
    return store_apply(s, ev, &e);
}

int pdm_feature_store_view(const pdm_feature_store *s, int32_t machine_id, pdm_machine_view *out)
{
    const store_entry *e = find(s, machine_id);
    if (!e) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    pdm_machine_state_view(e->st, out);
    return 0;
}

size_t pdm_feature_store_size(const pdm_feature_store *s)
{
    return s->n;
}

int32_t pdm_feature_store_at(const pdm_feature_store *s, size_t i, pdm_machine_view *out)
{
    pdm_machine_state_view(s->entries[i].st, out);
    return s->entries[i].id;
}

size_t pdm_feature_store_memory(const pdm_feature_store *s)
{
    size_t bytes = sizeof *s + s->cap * sizeof *s->entries + s->n_slots * sizeof *s->slots;
    for (size_t i = 0; i < s->n; i++)
        bytes += pdm_machine_state_memory(s->entries[i].st);
    return bytes;
}

/* ---- rows ------------------------------------------------------------------ */

int pdm_feature_rows_reserve(pdm_feature_rows *r, size_t extra)
{
    if (r->n + extra <= r->cap)
        return 0;
    size_t ncap = r->cap ? r->cap : 1024;
    while (ncap < r->n + extra)
        ncap *= 2;
    double *x = realloc(r->x, ncap * PDM_N_FEATURES * sizeof *x);
    if (!x)
        return -1;
    r->x = x;
    int32_t *id = realloc(r->machine_id, ncap * sizeof *id);
    if (!id)
        return -1;
    r->machine_id = id;
    int64_t *ts = realloc(r->ts, ncap * sizeof *ts);
    if (!ts)
        return -1;
    r->ts = ts;
    r->cap = ncap;
    return 0;
}

void pdm_feature_rows_free(pdm_feature_rows *r)
{
    free(r->x);
    free(r->machine_id);
    free(r->ts);
    memset(r, 0, sizeof *r);
}

/* ---- featurizer ------------------------------------------------------------ */

struct pdm_featurizer {
    pdm_feature_store *store;
    pdm_featurizer_stats stats;
};

pdm_featurizer *pdm_featurizer_new(const pdm_feature_store_options *opts, char *errstr,
                                   size_t errlen)
{
    pdm_featurizer *f = calloc(1, sizeof *f);
    if (!f) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    f->store = pdm_feature_store_new(opts, errstr, errlen);
    if (!f->store) {
        free(f);
        return NULL;
    }
    return f;
}

void pdm_featurizer_destroy(pdm_featurizer *f)
{
    if (!f)
        return;
    pdm_feature_store_destroy(f->store);
    free(f);
}

const pdm_feature_store *pdm_featurizer_store(const pdm_featurizer *f)
{
    return f->store;
}

void pdm_featurizer_get_stats(const pdm_featurizer *f, pdm_featurizer_stats *out)
{
    *out = f->stats;
}

/* Applies one event; returns 1 with *e set when it made a row, 0 when not,
 * -1 with errstr on failure. */
static int feed_one(pdm_featurizer *f, const pdm_event *ev, size_t index, store_entry **e,
                    char *errstr, size_t errlen)
{
    f->stats.events++;
    int rc = store_apply(f->store, ev, e);
    switch (rc) {
    case PDM_APPLY_OK:
        return ev->type == PDM_EV_TELEMETRY;
    case PDM_APPLY_IGNORED:
        f->stats.ignored++;
        return 0;
    case PDM_APPLY_LATE:
        f->stats.late++;
        return 0;
    case PDM_FEATURES_EINVAL:
        return pdm_err(errstr, errlen, "event %zu (%s of machine %d): id out of range", index,
                       ev->type == PDM_EV_ERROR ? "error" : "maintenance", (int)ev->machine_id);
    default:
        return pdm_err(errstr, errlen, "out of memory");
    }
}

int pdm_featurizer_feed(pdm_featurizer *f, const pdm_event *ev, size_t n, pdm_feature_rows *rows,
                        char *errstr, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        store_entry *e;
        int rc = feed_one(f, &ev[i], i, &e, errstr, errlen);
        if (rc < 0)
            return -1;
        if (!rc)
            continue;
        if (pdm_feature_rows_reserve(rows, 1))
            return pdm_err(errstr, errlen, "out of memory");
        pdm_machine_view v;
        pdm_machine_state_view(e->st, &v);
        pdm_features_compute(&v, ev[i].ts, rows->x + rows->n * PDM_N_FEATURES);
        rows->machine_id[rows->n] = ev[i].machine_id;
        rows->ts[rows->n] = ev[i].ts;
        rows->n++;
        f->stats.rows++;
    }
    return 0;
}

int pdm_featurizer_feed_fn(pdm_featurizer *f, const pdm_event *ev, size_t n, pdm_feature_row_fn fn,
                           void *ctx, char *errstr, size_t errlen)
{
    double row[PDM_N_FEATURES];
    for (size_t i = 0; i < n; i++) {
        store_entry *e;
        int rc = feed_one(f, &ev[i], i, &e, errstr, errlen);
        if (rc < 0)
            return -1;
        if (!rc)
            continue;
        pdm_machine_view v;
        pdm_machine_state_view(e->st, &v);
        pdm_features_compute(&v, ev[i].ts, row);
        f->stats.rows++;
        if (fn(ctx, ev[i].machine_id, ev[i].ts, row))
            return pdm_err(errstr, errlen, "stopped by the row callback at event %zu", i);
    }
    return 0;
}
