/* scorer_state.c: the scorer's state layer (see scorer_state.h). */
#include "scorer_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdm_rules.h"

/* The state cache keeps a machine's telemetry and errors this far behind
 * its window (late events within it are still served from the cache). */
#define CACHE_SLACK_MS (3 * PDM_MS_PER_HOUR)

int scorer_state_open(scorer_state *st, const pdm_scorer_config *cfg, size_t batch_cap,
                      const atomic_int *stop, scorer_metrics *metrics, char *errstr, size_t errlen)
{
    memset(st, 0, sizeof *st);
    st->stop = stop;
    st->metrics = metrics;
    st->lateness_ms = cfg->lateness_ms;
    st->ttl_ms = cfg->state_ttl_ms;
    st->redis = pdm_redis_new(cfg->redis_url, cfg->redis_password, 5.0, errstr, errlen);
    if (!st->redis)
        return -1;
    st->writes = pdm_rs_batch_new();
    st->updates = calloc(batch_cap, sizeof *st->updates);
    if (cfg->state_cache_bytes)
        st->cache = pdm_state_cache_new(cfg->state_cache_bytes);
    if (!st->writes || !st->updates || (cfg->state_cache_bytes && !st->cache))
        return pdm_err(errstr, errlen, "out of memory");
    return 0;
}

void scorer_state_close(scorer_state *st)
{
    for (size_t i = 0; i < st->n_updates; i++)
        pdm_rs_machine_clear(&st->updates[i].st);
    free(st->updates);
    pdm_rs_batch_destroy(st->writes);
    pdm_state_cache_destroy(st->cache);
    pdm_redis_destroy(st->redis);
    memset(st, 0, sizeof *st);
}

/* ---- retrying --------------------------------------------------------------- */

/* Waits 50 ms .. 6.4 s, in 50 ms slices so that a stop request is heard at
 * once: a signal need not land on this thread, so usleep is not cut short. */
static void backoff_sleep(const scorer_state *st, int attempt)
{
    int slices = 1 << (attempt < 7 ? attempt : 7);
    for (int i = 0; i < slices && !atomic_load(st->stop); i++)
        usleep(50 * 1000);
}

/* One Redis step: 0, or -1 with errstr. attempt counts from 0. */
typedef int (*redis_step)(scorer_state *st, void *ctx, int attempt, char *errstr, size_t errlen);

/* Runs a step until it succeeds (0) or the scorer is asked to stop (-1);
 * logs once when Redis goes away and once when it is back. */
static int retry(scorer_state *st, redis_step step, void *ctx)
{
    char err[PDM_ERRSTR_SIZE];
    for (int attempt = 0;; attempt++) {
        if (step(st, ctx, attempt, err, sizeof err) == 0) {
            if (!atomic_exchange(&st->up, 1))
                pdm_log(PDM_LOG_INFO, "redis %s is back", pdm_redis_describe(st->redis));
            return 0;
        }
        pdm_metric_add(st->metrics->redis_errors, 1);
        if (atomic_exchange(&st->up, 0))
            pdm_log(PDM_LOG_ERROR, "redis unavailable, retrying: %s", err);
        if (atomic_load(st->stop))
            return -1;
        backoff_sleep(st, attempt);
    }
}

void scorer_state_start(scorer_state *st)
{
    char err[PDM_ERRSTR_SIZE];
    int epoch = -1;
    for (int attempt = 0; epoch < 0 && !atomic_load(st->stop); attempt++) {
        epoch = pdm_rs_epoch_check(st->redis, err, sizeof err);
        if (epoch < 0) {
            if (attempt == 0)
                pdm_log(PDM_LOG_ERROR, "redis unavailable, retrying: %s", err);
            backoff_sleep(st, attempt);
        }
    }
    atomic_store(&st->up, epoch >= 0);
}

/* The epoch changed: what this scorer knew of Redis is gone. */
static void note_lost(scorer_state *st)
{
    pdm_state_cache_clear(st->cache); /* its versions no longer match anyway */
    pdm_metric_add(st->metrics->state_lost, 1);
    pdm_log(PDM_LOG_ERROR, "redis state was lost (pdm:epoch vanished: FLUSHALL or a new empty "
                           "server); features rebuild from the events that arrive from now on");
}

int scorer_state_lost(scorer_state *st)
{
    char err[PDM_ERRSTR_SIZE];
    int e = pdm_rs_epoch_check(st->redis, err, sizeof err);
    if (e == 1)
        note_lost(st);
    return e;
}

static int epoch_step(scorer_state *st, void *ctx, int attempt, char *errstr, size_t errlen)
{
    (void)attempt;
    int e = pdm_rs_epoch_check(st->redis, errstr, errlen);
    *(int *)ctx = e;
    return e < 0 ? -1 : 0;
}

/* A load or a write found the epoch changed: adopt the new one (retried
 * like any step). -1 on a stop request. */
static int renew_epoch(scorer_state *st)
{
    int changed = 0;
    if (retry(st, epoch_step, &changed))
        return -1;
    if (changed)
        note_lost(st);
    return 0;
}

/* ---- writes ----------------------------------------------------------------- */

/* The writes: waited for on the first attempt if they were sent, executed
 * (again) otherwise. */
static int settle_step(scorer_state *st, void *ctx, int attempt, char *errstr, size_t errlen)
{
    int *fenced = ctx;
    double t0 = pdm_monotonic_s();
    int rc;
    if (attempt > 0 || !st->writes_sent) {
        rc = pdm_rs_batch_exec(st->redis, st->writes, errstr, errlen);
    } else {
        rc = pdm_rs_batch_wait(st->redis, st->writes, errstr, errlen);
        if (rc >= 0) /* what was left to wait of the round trip */
            pdm_metric_observe(st->metrics->redis_rtt, pdm_monotonic_s() - t0);
    }
    *fenced = rc == PDM_RS_EPOCH_CHANGED;
    return rc < 0 ? -1 : 0;
}

int scorer_state_settle(scorer_state *st)
{
    if (!st->writes_in_flight)
        return 0;
    int fenced = 0;
    if (retry(st, settle_step, &fenced))
        return -1;
    st->writes_in_flight = 0;
    if (fenced) {
        /* Redis was flushed after the batch's state was loaded: its writes
         * were not made (they would resurrect what the flush removed). */
        for (size_t i = 0; i < st->n_updates; i++)
            pdm_rs_machine_clear(&st->updates[i].st);
        st->n_updates = 0;
        return renew_epoch(st);
    }
    for (size_t i = 0; i < st->n_updates; i++) {
        scorer_cache_update *u = &st->updates[i];
        int64_t v = pdm_rs_batch_version(st->writes, u->version_slot);
        if (pdm_state_cache_may_keep(u->loaded_exists, u->loaded_version, v)) {
            if (pdm_state_cache_put(st->cache, &u->st, u->cover, v))
                pdm_log(PDM_LOG_DEBUG, "state cache: out of memory for machine %d",
                        (int)u->st.machine_id);
        } else {
            /* another writer came in between, or the keys expired */
            pdm_state_cache_drop(st->cache, u->st.machine_id);
            pdm_rs_machine_clear(&u->st);
        }
    }
    st->n_updates = 0;
    if (st->cache)
        pdm_metric_set(st->metrics->cache_machines, (double)pdm_state_cache_machines(st->cache));
    return 0;
}

/* The maintenance records a trim may drop: per component, those older than
 * the horizon except the latest of them (hours_since_maint needs it). */
static size_t superseded_maint(const pdm_rs_machine *st, int64_t horizon, pdm_rs_mark *drop)
{
    size_t n = 0;
    for (int c = 1; c <= PDM_N_COMPONENTS; c++) {
        int64_t keep = INT64_MIN;
        for (size_t i = 0; i < st->n_maint; i++)
            if (st->maint[i].id == c && st->maint[i].ts < horizon && st->maint[i].ts > keep)
                keep = st->maint[i].ts;
        for (size_t i = 0; i < st->n_maint; i++)
            if (st->maint[i].id == c && st->maint[i].ts < keep)
                drop[n++] = st->maint[i];
    }
    return n;
}

/* With the cache: the machine's state as Redis will hold it after the
 * writes, kept once Redis acknowledges them (scorer_state_settle). */
static void note_cache_update(scorer_state *st, const scorer_batch *b, const scorer_machine *m,
                              int64_t horizon, const pdm_rs_mark *drop, size_t nd, size_t slot,
                              int64_t expire_at)
{
    const pdm_rs_machine *stored = &m->stored;
    size_t ne = 0;
    for (int j = m->first_event; j >= 0; j = b->items[j].next_event)
        b->machine_events[ne++] = &b->items[j].ev;
    scorer_cache_update *u = &st->updates[st->n_updates];
    memset(&u->st, 0, sizeof u->st);
    if (pdm_state_merge(stored, b->machine_events, ne, horizon, drop, nd, &u->st)) {
        pdm_state_cache_drop(st->cache, m->id);
        return;
    }
    int64_t cover = m->from;
    if (horizon != INT64_MIN && horizon - 1 > cover)
        cover = horizon - 1;
    if (stored->newest != INT64_MIN &&
        stored->newest - PDM_FEATURES_LONG_WINDOW_MS - CACHE_SLACK_MS > cover)
        cover = stored->newest - PDM_FEATURES_LONG_WINDOW_MS - CACHE_SLACK_MS;
    u->cover = cover;
    u->st.expire_at = expire_at;
    u->loaded_exists = stored->exists;
    u->loaded_version = stored->version;
    u->version_slot = slot;
    st->n_updates++;
}

/* One machine's bookkeeping, trim and cache update. -1 out of memory. */
static int write_machine(scorer_state *st, const scorer_batch *b, scorer_machine *m)
{
    pdm_rs_machine *stored = &m->stored;
    for (size_t k = 0; k < m->n_src; k++)
        if (pdm_rs_source_set(stored, m->src[k].topic, m->src[k].partition, m->src[k].last))
            return -1;
    /* Trim relative to the newest telemetry before this batch, so that a
     * replay of this batch still finds every window it needs; and only
     * when the trim is due (pdm_rule_trim_due). */
    int64_t horizon = INT64_MIN;
    pdm_rs_mark *drop = NULL;
    size_t nd = 0, slot = 0;
    int rc = -1;
    if (pdm_rule_trim_due(stored->base, stored->newest)) {
        horizon = pdm_rule_trim_horizon(stored->base, st->lateness_ms);
        drop = stored->n_maint ? malloc(stored->n_maint * sizeof *drop) : NULL;
        nd = drop ? superseded_maint(stored, horizon, drop) : 0;
        if (pdm_rs_batch_trim(st->writes, m->id, horizon, drop, nd))
            goto out;
    }
    if (pdm_rs_batch_meta(st->writes, stored, &slot))
        goto out;
    if (m->incident_before != m->incident_after &&
        pdm_rs_batch_incident(st->writes, m->id, m->incident_after))
        goto out;
    int64_t expire_at = 0;
    if (st->ttl_ms > 0) {
        unsigned written = 0, keys;
        for (int j = m->first_event; j >= 0; j = b->items[j].next_event)
            written |= pdm_rs_key_of(b->items[j].ev.type);
        expire_at = pdm_rs_expiry(stored->expire_at, st->now_ms, st->ttl_ms, written, &keys);
        if (pdm_rs_batch_expire(st->writes, m->id, expire_at, keys))
            goto out;
    }
    if (st->cache)
        note_cache_update(st, b, m, horizon, drop, nd, slot, expire_at);
    rc = 0;
out:
    free(drop);
    return rc;
}

int scorer_state_write(scorer_state *st, scorer_batch *b)
{
    st->now_ms = pdm_now_ms();
    for (size_t i = 0; i < b->n_machines; i++)
        if (write_machine(st, b, &b->machines[i]))
            return pdm_err(NULL, 0, "out of memory");
    if (!pdm_rs_batch_commands(st->writes))
        return 0;
    char err[PDM_ERRSTR_SIZE];
    st->writes_in_flight = 1;
    st->writes_sent = pdm_rs_batch_send(st->redis, st->writes, err, sizeof err) == 0;
    /* Not sent (Redis away): retried here, before any output, as a failed
     * load would be. */
    return st->writes_sent ? 0 : scorer_state_settle(st);
}

/* ---- loads ------------------------------------------------------------------ */

typedef struct {
    const int32_t *ids;
    const int64_t *from;
    const unsigned char *version_only;
    size_t n;
    pdm_rs_machine *out;
    int epoch_changed; /* the load found pdm:epoch changed: out is to be discarded */
} load_request;

static int load_step(scorer_state *st, void *ctx, int attempt, char *errstr, size_t errlen)
{
    (void)attempt;
    load_request *q = ctx;
    double t0 = pdm_monotonic_s();
    int rc = pdm_rs_load(st->redis, q->ids, q->from, q->version_only, q->n, q->out, errstr, errlen);
    q->epoch_changed = rc == PDM_RS_EPOCH_CHANGED;
    if (rc) {
        for (size_t i = 0; i < q->n; i++)
            pdm_rs_machine_clear(&q->out[i]);
        return rc < 0 ? -1 : 0;
    }
    pdm_metric_observe(st->metrics->redis_rtt, pdm_monotonic_s() - t0);
    return 0;
}

/* The stored state of the batch's machines: from the state cache where
 * Redis confirms the machine's ver counter, else loaded in full. One round
 * trip, two when a cached machine turns out stale. 0, -1 (stop requested,
 * out of memory), or 1: pdm:epoch changed (Redis was flushed), some
 * machines' stored state may be filled and is to be discarded. */
static int load_stored(scorer_state *st, scorer_batch *b)
{
    enum { HIT, STALE, MISS };
    size_t n = b->n_machines, counts[3] = {0, 0, 0}, n_stale = 0;
    int32_t *ids = malloc(n * sizeof *ids);
    int64_t *from = malloc(n * sizeof *from);
    int64_t *cached = malloc(n * sizeof *cached);
    unsigned char *version_only = calloc(n, 1);
    pdm_rs_machine *out = calloc(n, sizeof *out);
    int rc = -1;
    if (!ids || !from || !cached || !version_only || !out)
        goto out;
    for (size_t i = 0; i < n; i++) {
        scorer_machine *m = &b->machines[i];
        ids[i] = m->id;
        from[i] = m->min_ts == INT64_MAX ? INT64_MAX / 2 : m->min_ts - PDM_FEATURES_LONG_WINDOW_MS;
        m->from = from[i];
        version_only[i] = st->cache && pdm_state_cache_peek(st->cache, ids[i], from[i], &cached[i]);
    }
    load_request q = {ids, from, version_only, n, out, 0};
    if (retry(st, load_step, &q))
        goto out;
    if (q.epoch_changed) {
        rc = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        scorer_machine *m = &b->machines[i];
        if (!version_only[i]) {
            m->stored = out[i];
            memset(&out[i], 0, sizeof out[i]);
            counts[MISS]++;
            continue;
        }
        int got = 0;
        if (out[i].version == cached[i]) {
            got = pdm_state_cache_get(st->cache, ids[i], from[i], &m->stored);
            if (got < 0)
                goto out;
        }
        counts[got ? HIT : STALE]++;
        if (!got) {
            pdm_state_cache_drop(st->cache, ids[i]);
            ids[n_stale] = ids[i];
            from[n_stale] = from[i];
            cached[n_stale] = (int64_t)i; /* where it goes */
            n_stale++;
        }
        pdm_rs_machine_clear(&out[i]);
    }
    if (n_stale) {
        load_request again = {ids, from, NULL, n_stale, out, 0};
        if (retry(st, load_step, &again))
            goto out;
        if (again.epoch_changed) {
            memset(counts, 0, sizeof counts); /* counted when loaded again */
            rc = 1;
            goto out;
        }
        for (size_t k = 0; k < n_stale; k++) {
            b->machines[cached[k]].stored = out[k];
            memset(&out[k], 0, sizeof out[k]);
        }
    }
    rc = 0;
out:
    if (st->cache)
        for (int k = 0; k < 3; k++)
            if (counts[k])
                pdm_metric_add(st->metrics->cache_lookups[k], (double)counts[k]);
    for (size_t i = 0; out && i < n; i++)
        pdm_rs_machine_clear(&out[i]);
    free(ids);
    free(from);
    free(cached);
    free(version_only);
    free(out);
    return rc;
}

/* Was this batch (partly) applied before a crash? Then the machine starts
 * from the bookkeeping as it was before that batch (its base), else that
 * base becomes what it is now. */
static void start_from_base(scorer_machine *m)
{
    pdm_rs_machine *stored = &m->stored;
    int replay = 0;
    for (size_t k = 0; k < m->n_src; k++)
        if (m->src[k].first <= pdm_rs_source_offset(stored, m->src[k].topic, m->src[k].partition))
            replay = 1;
    if (replay) {
        stored->newest = stored->base;
        stored->level = stored->base_level;
        stored->notified_at = stored->base_notified_at;
        memcpy(stored->alert, stored->base_alert, sizeof stored->alert);
    } else {
        stored->base = stored->newest;
        stored->base_level = stored->level;
        stored->base_notified_at = stored->notified_at;
        memcpy(stored->base_alert, stored->alert, sizeof stored->base_alert);
    }
}

int scorer_state_load(scorer_state *st, scorer_batch *b)
{
    /* The previous batch's writes, if not yet answered, count as writing. */
    scorer_stages_enter(st->stages, SCORER_STAGE_WRITE);
    if (scorer_state_settle(st))
        return -1;
    scorer_stages_enter(st->stages, SCORER_STAGE_LOAD);
    pdm_rs_batch_reset(st->writes);
    int rc = 0;
    /* A batch is computed only from state loaded under the epoch its
     * writes are fenced by (redis_state.h). */
    while (b->n_machines && (rc = load_stored(st, b)) == 1) {
        for (size_t i = 0; i < b->n_machines; i++)
            pdm_rs_machine_clear(&b->machines[i].stored);
        if (renew_epoch(st))
            return -1;
    }
    if (b->n_machines && rc)
        return -1;
    for (size_t i = 0; i < b->n_machines; i++) {
        scorer_machine *m = &b->machines[i];
        start_from_base(m);
        if (scorer_state_restore(&m->stored, m->id, &m->state))
            return pdm_err(NULL, 0, "out of memory");
    }
    return 0;
}

int scorer_state_restore(const pdm_rs_machine *st, int32_t id, pdm_machine_state **out)
{
    pdm_machine_state *state = pdm_machine_state_new();
    *out = NULL;
    if (!state)
        return -1;
    pdm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.machine_id = id;
    int rc = 0;
    if (st->has_info) {
        ev.type = PDM_EV_MACHINE;
        ev.ts = 0;
        ev.u.machine.model = st->model;
        ev.u.machine.age = st->age;
        rc |= pdm_machine_state_apply(state, &ev);
    }
    for (size_t i = 0; i < st->n_maint && !rc; i++) {
        ev.type = PDM_EV_MAINTENANCE;
        ev.ts = st->maint[i].ts;
        ev.u.maintenance.component = st->maint[i].id;
        rc |= pdm_machine_state_apply(state, &ev);
    }
    for (size_t i = 0; i < st->n_err && !rc; i++) {
        ev.type = PDM_EV_ERROR;
        ev.ts = st->err[i].ts;
        ev.u.error.error_id = st->err[i].id;
        rc |= pdm_machine_state_apply(state, &ev);
    }
    for (size_t i = 0; i < st->n_tel && !rc; i++) {
        ev.type = PDM_EV_TELEMETRY;
        ev.ts = st->tel[i].ts;
        ev.u.telemetry.volt = st->tel[i].v[0];
        ev.u.telemetry.rotate = st->tel[i].v[1];
        ev.u.telemetry.pressure = st->tel[i].v[2];
        ev.u.telemetry.vibration = st->tel[i].v[3];
        rc |= pdm_machine_state_apply(state, &ev);
    }
    if (rc) {
        pdm_machine_state_destroy(state);
        return -1;
    }
    *out = state;
    return 0;
}
