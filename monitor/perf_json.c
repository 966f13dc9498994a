/* perf_json.c: the JSON form of the live-performance figures (pdm_perf_to_json),
 * apart from perf.c's tracker: it reads only the copy pdm_perf_get made. */
#include <math.h>

#include <cjson/cJSON.h>

#include "pdm_monitor.h"

/* A number, or null for NaN (JSON has no NaN). */
static int add_number(cJSON *obj, const char *name, double v)
{
    return isnan(v) ? cJSON_AddNullToObject(obj, name) != NULL
                    : cJSON_AddNumberToObject(obj, name, v) != NULL;
}

static cJSON *counts_json(const pdm_perf_counts *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddNumberToObject(o, "tp", (double)c->tp) ||
        !cJSON_AddNumberToObject(o, "fp", (double)c->fp) ||
        !cJSON_AddNumberToObject(o, "caught", (double)c->caught) ||
        !cJSON_AddNumberToObject(o, "missed", (double)c->missed) ||
        !add_number(o, "precision", c->precision) || !add_number(o, "recall", c->recall)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *pdm_perf_to_json(const pdm_perf_stats *s)
{
    cJSON *root = cJSON_CreateObject(), *ret = NULL;
    if (!root ||
        !cJSON_AddNumberToObject(root, "horizon_hours",
                                 (double)s->horizon_ms / (double)PDM_MS_PER_HOUR) ||
        !cJSON_AddNumberToObject(root, "window_days", s->window_days) ||
        !cJSON_AddNumberToObject(root, "machines", (double)s->machines) ||
        !cJSON_AddNumberToObject(root, "machines_evicted", (double)s->evicted) ||
        !cJSON_AddNumberToObject(root, "alerts", (double)s->alerts) ||
        !cJSON_AddNumberToObject(root, "failures", (double)s->failures) ||
        !cJSON_AddNumberToObject(root, "pending", (double)s->pending))
        goto out;
    if (s->event_time_ms != INT64_MIN) {
        char ts[32];
        if (!cJSON_AddStringToObject(root, "event_time", pdm_time_format(s->event_time_ms, ts)))
            goto out;
    } else if (!cJSON_AddNullToObject(root, "event_time")) {
        goto out;
    }
    cJSON *all = counts_json(&s->all);
    if (!all)
        goto out;
    cJSON_AddItemToObject(root, "all", all);
    cJSON *rolling = counts_json(&s->rolling);
    if (!rolling)
        goto out;
    cJSON_AddItemToObject(root, "rolling", rolling);
    cJSON *lead = cJSON_AddObjectToObject(root, "lead_time_hours");
    if (!lead || !cJSON_AddNumberToObject(lead, "caught", (double)s->lead_times) ||
        !add_number(lead, "mean", s->lead_time_mean_hours) ||
        !add_number(lead, "median", s->lead_time_median_hours))
        goto out;
    ret = root;
    root = NULL;
out:
    cJSON_Delete(root);
    return ret;
}
