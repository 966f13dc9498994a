/* tail_format.c: pdm-tail's text lines (see tail_format.h). The open
 * incidents seen are kept by machine (a machine has at most one open) in
 * an open-addressing table, removed at their resolution. */
#include "tail_format.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t machine; /* 0: empty */
    int64_t opened_at;
    pdm_level level; /* as last seen */
} seen;

struct tail_incidents {
    seen *slots;
    size_t cap, n; /* cap a power of two */
};

tail_incidents *tail_incidents_new(void)
{
    tail_incidents *t = calloc(1, sizeof *t);
    if (t && !(t->slots = calloc(t->cap = 64, sizeof *t->slots))) {
        free(t);
        return NULL;
    }
    return t;
}

void tail_incidents_destroy(tail_incidents *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t);
}

static size_t home(const tail_incidents *t, int32_t machine)
{
    return ((uint32_t)machine * 2654435761u) & (t->cap - 1);
}

static seen *find(tail_incidents *t, int32_t machine)
{
    for (size_t h = home(t, machine); t->slots[h].machine; h = (h + 1) & (t->cap - 1))
        if (t->slots[h].machine == machine)
            return &t->slots[h];
    return NULL;
}

/* Deletes by backward shift, so that no tombstones pile up. */
static void forget(tail_incidents *t, seen *s)
{
    size_t i = (size_t)(s - t->slots), mask = t->cap - 1;
    for (size_t j = (i + 1) & mask; t->slots[j].machine; j = (j + 1) & mask) {
        size_t k = home(t, t->slots[j].machine);
        /* j's entry may move to i if its home is not in (i, j]. */
        if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].machine = 0;
    t->n--;
}

static int remember(tail_incidents *t, int32_t machine, int64_t opened_at, pdm_level level)
{
    seen *s = find(t, machine);
    if (!s) {
        if (2 * (t->n + 1) > t->cap) {
            tail_incidents bigger = {calloc(2 * t->cap, sizeof *t->slots), 2 * t->cap, 0};
            if (!bigger.slots)
                return -1;
            for (size_t i = 0; i < t->cap; i++)
                if (t->slots[i].machine)
                    remember(&bigger, t->slots[i].machine, t->slots[i].opened_at,
                             t->slots[i].level);
            free(t->slots);
            *t = bigger;
        }
        size_t h = home(t, machine);
        while (t->slots[h].machine)
            h = (h + 1) & (t->cap - 1);
        s = &t->slots[h];
        s->machine = machine;
        t->n++;
    }
    s->opened_at = opened_at;
    s->level = level;
    return 0;
}

const char *tail_incident_kind(tail_incidents *t, int32_t machine, int64_t ts, const pdm_risk *r)
{
    if (!r->incident_id[0])
        return NULL;
    seen *s = find(t, machine);
    if (s && s->opened_at != r->opened_at) {
        forget(t, s); /* an incident whose resolution was not seen */
        s = NULL;
    }
    if (r->status == PDM_INCIDENT_RESOLVED) {
        if (s)
            forget(t, s);
        return "RESOLVED";
    }
    const char *kind;
    pdm_level level = r->level;
    if (r->opened_at == ts)
        kind = "OPENED";
    else if (r->level != PDM_LEVEL_CRITICAL)
        kind = "RENOTIFIED", level = PDM_LEVEL_CRITICAL; /* only CRITICAL ones repeat */
    else if (!s)
        kind = "FIRING";
    else
        kind = s->level == PDM_LEVEL_WARN ? "ESCALATED" : "RENOTIFIED";
    remember(t, machine, r->opened_at, level); /* out of memory: FIRING next time */
    return kind;
}

static void append_reasons(pdm_buf *out, const pdm_risk *r)
{
    for (int k = 0; k < r->n_reasons; k++)
        pdm_buf_printf(out, "%s%s=%.4g", k ? ", " : "  because ", r->reasons[k].feature,
                       r->reasons[k].value);
}

/* "27 h", or "45 min" under an hour. */
static void append_duration(pdm_buf *out, int64_t ms)
{
    if (ms < PDM_MS_PER_HOUR)
        pdm_buf_printf(out, "%lld min", (long long)(ms / 60000));
    else
        pdm_buf_printf(out, "%.3g h", (double)ms / (double)PDM_MS_PER_HOUR);
}

static void format_risk(tail_incidents *t, const pdm_event *ev, pdm_buf *out)
{
    const pdm_risk *r = ev->u.risk;
    char when[32];
    pdm_time_format(ev->ts, when);
    when[16] = '\0';
    pdm_buf_printf(out, "%s  machine %4d  ", when, (int)ev->machine_id);
    const char *kind = tail_incident_kind(t, ev->machine_id, ev->ts, r);
    if (!kind) {
        int best = 0;
        for (int c = 1; c < PDM_N_COMPONENTS; c++)
            if (r->component_prob[c] > r->component_prob[best])
                best = c;
        pdm_buf_printf(out, "%-10s  risk %.3g  (most likely comp%d %.3g)", pdm_level_name(r->level),
                       r->risk, best + 1, r->component_prob[best]);
        append_reasons(out, r);
    } else if (r->status == PDM_INCIDENT_RESOLVED) {
        static const char *const why[] = {"", "cleared", "repaired", "failed", "silent"};
        int64_t open = r->opened_at != INT64_MIN ? ev->ts - r->opened_at : 0;
        pdm_buf_printf(out, "%-10s  %s after ", kind,
                       r->resolution < PDM_ALERT_N_RESOLUTIONS ? why[r->resolution] : "?");
        append_duration(out, open);
        if (r->resolution == PDM_RESOLUTION_FAILED) {
            pdm_buf_printf(out, " (lead time ");
            append_duration(out, open);
            pdm_buf_printf(out, ")");
        }
        pdm_buf_printf(out, "  peak %.3g", r->peak_risk);
        if (r->component)
            pdm_buf_printf(out, " comp%d", r->component);
        pdm_buf_printf(out, "  incident %s", r->incident_id);
    } else {
        pdm_buf_printf(out, "%-10s  %-8s  risk %.3g", kind, pdm_level_name(r->level), r->risk);
        if (r->component)
            pdm_buf_printf(out, "  comp%d", r->component);
        pdm_buf_printf(out, "  incident %s", r->incident_id);
        append_reasons(out, r);
    }
    pdm_buf_printf(out, "\n");
}

int tail_format_text(tail_incidents *t, const pdm_event *ev, pdm_buf *out)
{
    size_t before = out->len;
    char when[32], seen_at[32];
    if (ev->type == PDM_EV_RISK) {
        format_risk(t, ev, out);
    } else if (ev->type == PDM_EV_SILENCE) {
        pdm_time_format(ev->ts, when);
        pdm_time_format(ev->u.silence.last_seen, seen_at);
        when[16] = seen_at[16] = '\0';
        pdm_buf_printf(out, "%s  machine %4d  %-10s  last seen %s\n", when, (int)ev->machine_id,
                       ev->u.silence.silent ? "SILENT" : "BACK", seen_at);
    } else {
        return 1;
    }
    return out->len > before ? 0 : -1;
}
