/* machine_state.c: one machine's growable state, kept in the form of a
 * pdm_machine_view (sorted arrays) so that viewing it costs nothing.
 *
 * Every update is idempotent and order-independent, like the Redis state it
 * mirrors: telemetry is keyed by ts (a second point at a ts replaces the
 * first), errors and maintenance are sets of (ts, id), machine info is
 * last-writer-wins. In-order arrivals append in O(1); late ones are inserted
 * by binary search and memmove. Trimming keeps exactly what features at
 * t >= horizon read.
 */
#include "pdm_features.h"

#include <stdlib.h>
#include <string.h>

struct pdm_machine_state {
    pdm_telemetry_point *tel;
    size_t n_tel, cap_tel;
    pdm_error_point *err;
    size_t n_err, cap_err;
    pdm_maint_point *maint;
    size_t n_maint, cap_maint;
    int has_info, model, age;
    int64_t newest;
};

pdm_machine_state *pdm_machine_state_new(void)
{
    pdm_machine_state *st = calloc(1, sizeof *st);
    if (st)
        st->newest = INT64_MIN;
    return st;
}

void pdm_machine_state_destroy(pdm_machine_state *st)
{
    if (!st)
        return;
    free(st->tel);
    free(st->err);
    free(st->maint);
    free(st);
}

/* Makes room for one more element. Returns 0 or -1. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem, size_t first_cap)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : first_cap;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Gives memory back after a trim left an array mostly empty. */
static void shrink(void **arr, size_t *cap, size_t n, size_t elem, size_t first_cap)
{
    if (*cap <= first_cap * 4 || n >= *cap / 4)
        return;
    size_t ncap = *cap / 2;
    void *p = realloc(*arr, ncap * elem);
    if (p) {
        *arr = p;
        *cap = ncap;
    }
}

/* Inserts at index i of an array of n elements (capacity already there). */
static void insert_at(void *arr, size_t n, size_t i, size_t elem, const void *value)
{
    char *base = arr;
    memmove(base + (i + 1) * elem, base + i * elem, (n - i) * elem);
    memcpy(base + i * elem, value, elem);
}

static int apply_telemetry(pdm_machine_state *st, const pdm_event *ev)
{
    pdm_telemetry_point p = {ev->ts,
                             {ev->u.telemetry.volt, ev->u.telemetry.rotate,
                              ev->u.telemetry.pressure, ev->u.telemetry.vibration}};
    if (ev->ts > st->newest)
        st->newest = ev->ts;
    size_t n = st->n_tel;
    size_t i = n;
    if (n > 0 && st->tel[n - 1].ts >= p.ts) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (st->tel[mid].ts < p.ts)
                lo = mid + 1;
            else
                hi = mid;
        }
        i = lo;
        if (st->tel[i].ts == p.ts) {
            st->tel[i] = p;
            return 0;
        }
    }
    if (grow((void **)&st->tel, &st->cap_tel, n, sizeof *st->tel, 32))
        return PDM_FEATURES_ENOMEM;
    insert_at(st->tel, n, i, sizeof p, &p);
    st->n_tel++;
    return 0;
}

/* (ts, id) order shared by errors and maintenance. */
static int mark_before(int64_t ts_a, int id_a, int64_t ts_b, int id_b)
{
    return ts_a < ts_b || (ts_a == ts_b && id_a < id_b);
}

static int apply_error(pdm_machine_state *st, int64_t ts, int id)
{
    size_t n = st->n_err, i = n;
    if (n > 0 && !mark_before(st->err[n - 1].ts, st->err[n - 1].error_id, ts, id)) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (mark_before(st->err[mid].ts, st->err[mid].error_id, ts, id))
                lo = mid + 1;
            else
                hi = mid;
        }
        i = lo;
        if (st->err[i].ts == ts && st->err[i].error_id == id)
            return 0;
    }
    if (grow((void **)&st->err, &st->cap_err, n, sizeof *st->err, 8))
        return PDM_FEATURES_ENOMEM;
    pdm_error_point p = {ts, id};
    insert_at(st->err, n, i, sizeof p, &p);
    st->n_err++;
    return 0;
}

static int apply_maintenance(pdm_machine_state *st, int64_t ts, int comp)
{
    size_t n = st->n_maint, i = n;
    if (n > 0 && !mark_before(st->maint[n - 1].ts, st->maint[n - 1].component, ts, comp)) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (mark_before(st->maint[mid].ts, st->maint[mid].component, ts, comp))
                lo = mid + 1;
            else
                hi = mid;
        }
        i = lo;
        if (st->maint[i].ts == ts && st->maint[i].component == comp)
            return 0;
    }
    if (grow((void **)&st->maint, &st->cap_maint, n, sizeof *st->maint, 8))
        return PDM_FEATURES_ENOMEM;
    pdm_maint_point p = {ts, comp};
    insert_at(st->maint, n, i, sizeof p, &p);
    st->n_maint++;
    return 0;
}

int pdm_machine_state_apply(pdm_machine_state *st, const pdm_event *ev)
{
    switch (ev->type) {
    case PDM_EV_TELEMETRY:
        return apply_telemetry(st, ev);
    case PDM_EV_ERROR:
        if (ev->u.error.error_id < 1 || ev->u.error.error_id > PDM_N_ERRORS)
            return PDM_FEATURES_EINVAL;
        return apply_error(st, ev->ts, ev->u.error.error_id);
    case PDM_EV_MAINTENANCE:
        if (ev->u.maintenance.component < 1 || ev->u.maintenance.component > PDM_N_COMPONENTS)
            return PDM_FEATURES_EINVAL;
        return apply_maintenance(st, ev->ts, ev->u.maintenance.component);
    case PDM_EV_MACHINE:
        st->has_info = 1;
        st->model = ev->u.machine.model;
        st->age = ev->u.machine.age;
        return 0;
    default: /* failures are labels; risk events are output */
        return 0;
    }
}

void pdm_machine_state_trim(pdm_machine_state *st, int64_t horizon)
{
    size_t k = 0;
    while (k < st->n_tel && st->tel[k].ts < horizon)
        k++;
    if (k) {
        memmove(st->tel, st->tel + k, (st->n_tel - k) * sizeof *st->tel);
        st->n_tel -= k;
        shrink((void **)&st->tel, &st->cap_tel, st->n_tel, sizeof *st->tel, 32);
    }

    k = 0;
    while (k < st->n_err && st->err[k].ts < horizon)
        k++;
    if (k) {
        memmove(st->err, st->err + k, (st->n_err - k) * sizeof *st->err);
        st->n_err -= k;
        shrink((void **)&st->err, &st->cap_err, st->n_err, sizeof *st->err, 8);
    }

    /* Maintenance: per component, the latest record at or before the
     * horizon is what hours_since_maint reads until a newer one; older ones
     * can go. */
    int64_t keep[PDM_N_COMPONENTS + 1];
    for (int c = 0; c <= PDM_N_COMPONENTS; c++)
        keep[c] = INT64_MIN;
    for (size_t i = 0; i < st->n_maint && st->maint[i].ts <= horizon; i++)
        keep[st->maint[i].component] = st->maint[i].ts;
    size_t w = 0;
    for (size_t i = 0; i < st->n_maint; i++) {
        const pdm_maint_point *m = &st->maint[i];
        if (m->ts >= horizon || m->ts == keep[m->component])
            st->maint[w++] = *m;
    }
    st->n_maint = w;
    shrink((void **)&st->maint, &st->cap_maint, st->n_maint, sizeof *st->maint, 8);
}

void pdm_machine_state_view(const pdm_machine_state *st, pdm_machine_view *out)
{
    out->tel = st->tel;
    out->n_tel = st->n_tel;
    out->err = st->err;
    out->n_err = st->n_err;
    out->maint = st->maint;
    out->n_maint = st->n_maint;
    out->has_info = st->has_info;
    out->model = st->model;
    out->age = st->age;
}

int64_t pdm_machine_state_newest(const pdm_machine_state *st)
{
    return st->newest;
}

size_t pdm_machine_state_memory(const pdm_machine_state *st)
{
    return sizeof *st + st->cap_tel * sizeof *st->tel + st->cap_err * sizeof *st->err +
           st->cap_maint * sizeof *st->maint;
}
