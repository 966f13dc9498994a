/* scorer_shadow.c: shadow scoring (see scorer_shadow.h). */
#include "scorer_shadow.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_alerts.h"
#include "pdm_rules.h"

/* One machine's emission state for the shadow model. */
typedef struct {
    int32_t id; /* 0 with used == 0: empty slot */
    int used;
    pdm_emit_state emit;    /* --emit changes / alerts / all */
    pdm_alert_state alert;  /* --emit incidents */
} shadow_machine;

struct scorer_shadow {
    const pdm_scorer_config *cfg;
    pdm_scorer_config shadow_cfg; /* cfg with model_dir = the shadow's, no overrides */
    scorer_model *model;
    scorer_model *main; /* the main holder: its version for the side-by-side */
    pthread_mutex_t lock; /* trackers, version, since: read by HTTP handlers */
    pdm_perf *perf_shadow, *perf_current;
    char version[PDM_MODEL_VERSION_LEN + 1];
    char current_version[PDM_MODEL_VERSION_LEN + 1]; /* the main model's at the trial's start */
    int64_t since_wall_ms, first_event_ms, last_event_ms;
    uint64_t rows, events[3];
    /* per-machine state, open addressing, grown at 1/2 load */
    shadow_machine *map;
    size_t map_cap, map_n;
    /* the last batch's decisions */
    size_t cap;
    pdm_risk *risks;    /* per row */
    pdm_risk *world;    /* resolutions by the world */
    int *item_emit;     /* per item: 0, 1 + row, or -(1 + world index) */
    unsigned char *alert_shadow, *alert_current;
    double *explain_rows;
    pdm_risk *explain;
    /* metrics */
    pdm_metric *m_precision, *m_recall, *m_alerts, *m_caught, *m_lead, *m_events;
};

double scorer_shadow_hours(int64_t from_ms, int64_t to_ms)
{
    if (from_ms == INT64_MIN || to_ms == INT64_MIN || to_ms < from_ms)
        return NAN;
    return (double)(to_ms - from_ms) / (double)PDM_MS_PER_HOUR;
}

/* ---- per-machine map ------------------------------------------------------- */

static size_t slot_of(int32_t id, size_t cap)
{
    return ((uint32_t)id * 2654435761u) & (cap - 1);
}

static int map_grow(scorer_shadow *sh)
{
    size_t cap = sh->map_cap ? sh->map_cap * 2 : 1024;
    shadow_machine *m = calloc(cap, sizeof *m);
    if (!m)
        return -1;
    for (size_t i = 0; i < sh->map_cap; i++) {
        if (!sh->map[i].used)
            continue;
        size_t j = slot_of(sh->map[i].id, cap);
        while (m[j].used)
            j = (j + 1) & (cap - 1);
        m[j] = sh->map[i];
    }
    free(sh->map);
    sh->map = m;
    sh->map_cap = cap;
    return 0;
}

/* The machine's state, created empty; NULL out of memory. Past
 * --max-machines the map starts afresh (a bounded memory beats exact
 * shadow emission for machines long gone). */
static shadow_machine *machine_state(scorer_shadow *sh, int32_t id)
{
    size_t max = sh->cfg->max_machines ? sh->cfg->max_machines : PDM_SCORER_MAX_MACHINES;
    if (sh->map_n >= max) {
        memset(sh->map, 0, sh->map_cap * sizeof *sh->map);
        sh->map_n = 0;
    }
    if ((sh->map_n + 1) * 2 > sh->map_cap && map_grow(sh))
        return NULL;
    size_t j = slot_of(id, sh->map_cap);
    while (sh->map[j].used && sh->map[j].id != id)
        j = (j + 1) & (sh->map_cap - 1);
    shadow_machine *m = &sh->map[j];
    if (!m->used) {
        m->used = 1;
        m->id = id;
        m->emit.level = PDM_LEVEL_OK;
        m->emit.notified_at = INT64_MIN;
        pdm_alert_state_init(&m->alert);
        sh->map_n++;
    }
    return m;
}

/* ---- trackers and version --------------------------------------------------- */

static pdm_perf *perf_for(const pdm_model *m, size_t max_machines)
{
    pdm_perf_options po;
    char msg[PDM_ERRSTR_SIZE];
    pdm_perf_options_init(&po);
    double horizon = pdm_model_horizon_hours(m);
    if (isfinite(horizon) && horizon > 0)
        po.horizon_ms = (int64_t)(horizon * PDM_MS_PER_HOUR);
    if (max_machines)
        po.max_machines = max_machines;
    return pdm_perf_new(&po, msg, sizeof msg);
}

/* A new shadow version (or the first): both trackers and the emission
 * state start afresh. Loop thread. -1 out of memory. */
static int restart_trial(scorer_shadow *sh, scorer_model *main)
{
    pdm_model *m = scorer_model_get(sh->model);
    pdm_perf *ps = perf_for(m, sh->cfg->max_machines);
    pdm_perf *pc = perf_for(scorer_model_get(main), sh->cfg->max_machines);
    if (!ps || !pc) {
        pdm_perf_destroy(ps);
        pdm_perf_destroy(pc);
        return -1;
    }
    pthread_mutex_lock(&sh->lock);
    pdm_perf_destroy(sh->perf_shadow);
    pdm_perf_destroy(sh->perf_current);
    sh->perf_shadow = ps;
    sh->perf_current = pc;
    snprintf(sh->version, sizeof sh->version, "%s", pdm_model_version(m));
    snprintf(sh->current_version, sizeof sh->current_version, "%s",
             pdm_model_version(scorer_model_get(main)));
    sh->since_wall_ms = pdm_now_ms();
    sh->first_event_ms = sh->last_event_ms = INT64_MIN;
    sh->rows = 0;
    memset(sh->events, 0, sizeof sh->events);
    pthread_mutex_unlock(&sh->lock);
    if (sh->map)
        memset(sh->map, 0, sh->map_cap * sizeof *sh->map);
    sh->map_n = 0;
    return 0;
}

/* A trial compares two versions: a new one on either side (the shadow
 * reloaded, or the main model replaced, e.g. by the promotion of the
 * shadow) starts it afresh. Called after the main model's refresh. */
int scorer_shadow_refresh(scorer_shadow *sh)
{
    int n = scorer_model_refresh(sh->model);
    const char *v = pdm_model_version(scorer_model_get(sh->model));
    const char *cur = pdm_model_version(scorer_model_get(sh->main));
    if ((strcmp(v, sh->version) != 0 || strcmp(cur, sh->current_version) != 0) &&
        restart_trial(sh, sh->main))
        pdm_log(PDM_LOG_ERROR, "shadow model %s: out of memory; its figures are not reset", v);
    return n;
}

/* ---- scoring and deciding --------------------------------------------------- */

/* One item through the machine's --emit incidents state. */
static int decide_incident(scorer_shadow *sh, const scorer_batch *b, size_t i, shadow_machine *m,
                           size_t *n_world, char *errstr, size_t errlen)
{
    const scorer_item *it = &b->items[i];
    pdm_incident inc;
    if (it->row >= 0) {
        pdm_risk *r = &sh->risks[it->row];
        pdm_alert_score row = {it->ev.ts, r->risk, scorer_risk_component(r)};
        if (pdm_alert_step(&m->alert, scorer_model_alert_policy(sh->model), it->ev.machine_id,
                           &row, &inc, errstr, errlen))
            return -1;
        pdm_risk_no_incident(r);
        if (inc.emit != PDM_ALERT_NONE) {
            scorer_risk_set_incident(r, &inc);
            sh->item_emit[i] = 1 + it->row;
        }
    } else if (it->ev.type == PDM_EV_MAINTENANCE || it->ev.type == PDM_EV_FAILURE) {
        /* A maintenance followed at its own time by a failure of the same
         * component is that failure's repair (pdm_alert_repair_of, as
         * scorer_batch.c's world_event): the incident was met by the failure. */
        const pdm_event *ev = &it->ev;
        for (int j = it->next_event; ev == &it->ev && j >= 0 && b->items[j].ev.ts == it->ev.ts;
             j = b->items[j].next_event)
            if (pdm_alert_repair_of(&it->ev, &b->items[j].ev))
                ev = &b->items[j].ev;
        if (pdm_alert_world(&m->alert, ev, &inc) != PDM_ALERT_RESOLVED)
            return 0;
        pdm_risk *r = &sh->world[*n_world];
        memset(r, 0, sizeof *r);
        snprintf(r->model_version, sizeof r->model_version, "%s", sh->version);
        r->level = PDM_LEVEL_OK;
        scorer_risk_set_incident(r, &inc);
        sh->item_emit[i] = -(int)(1 + (*n_world)++);
    }
    return 0;
}

/* The emission decisions, item by item in stream order (each machine's
 * items are in its stream order within the batch). */
static int decide(scorer_shadow *sh, const scorer_batch *b, char *errstr, size_t errlen)
{
    size_t n_world = 0;
    int incidents = sh->cfg->emit == PDM_EMIT_INCIDENTS;
    for (size_t i = 0; i < b->n; i++) {
        const scorer_item *it = &b->items[i];
        sh->item_emit[i] = 0;
        if (it->machine < 0 || it->bad_reason || (!incidents && it->row < 0))
            continue;
        shadow_machine *m = machine_state(sh, it->ev.machine_id);
        if (!m)
            return pdm_err(errstr, errlen, "out of memory");
        if (incidents) {
            if (decide_incident(sh, b, i, m, &n_world, errstr, errlen))
                return -1;
        } else if (pdm_rule_emit(sh->cfg->emit, sh->cfg->renotify_ms, &m->emit,
                                 sh->risks[it->row].level, it->ev.ts)) {
            sh->item_emit[i] = 1 + it->row;
        }
    }
    return 0;
}

/* Does item i's RiskEvent carry reasons? As scorer_batch.c's explained():
 * alerts do; with incidents, the firing ones (whatever the score's level). */
static int explained(const scorer_shadow *sh, size_t i)
{
    int row = sh->item_emit[i] - 1;
    if (row < 0)
        return 0;
    if (sh->cfg->emit == PDM_EMIT_INCIDENTS)
        return sh->risks[row].status == PDM_INCIDENT_FIRING;
    return sh->risks[row].level != PDM_LEVEL_OK;
}

/* Reasons for the emitted alerts only (as the main model). */
static int explain(scorer_shadow *sh, const scorer_batch *b, char *errstr, size_t errlen)
{
    size_t n = 0;
    char msg[PDM_ERRSTR_SIZE];
    for (size_t i = 0; i < b->n; i++) {
        int row = sh->item_emit[i] - 1;
        if (!explained(sh, i))
            continue;
        memcpy(sh->explain_rows + n * PDM_N_FEATURES, b->rows + (size_t)row * PDM_N_FEATURES,
               PDM_N_FEATURES * sizeof *b->rows);
        sh->explain[n++] = sh->risks[row];
    }
    if (n && pdm_model_explain(scorer_model_get(sh->model), sh->explain_rows, n, sh->explain, msg,
                               sizeof msg))
        return pdm_err(errstr, errlen, "shadow model: explaining alerts failed: %s", msg);
    for (size_t i = 0, e = 0; i < b->n && e < n; i++) {
        if (explained(sh, i))
            sh->risks[sh->item_emit[i] - 1] = sh->explain[e++];
    }
    return 0;
}

/* Rows [from, to) to both trackers, each with its model's alert flag. */
static void observe_rows(scorer_shadow *sh, const scorer_batch *b, size_t from, size_t to)
{
    if (to <= from)
        return;
    pdm_perf_observe_batch(sh->perf_shadow, b->row_machine + from, b->row_ts + from,
                           sh->alert_shadow + from, to - from);
    pdm_perf_observe_batch(sh->perf_current, b->row_machine + from, b->row_ts + from,
                           sh->alert_current + from, to - from);
}

/* Both trackers, in stream order: the rows before each failure, then the
 * failure (so a failure claims the batch's earlier alerts), and every
 * WARN/CRITICAL score of each model is an alert. */
static void observe(scorer_shadow *sh, const scorer_batch *b)
{
    int64_t oldest = INT64_MAX, newest = INT64_MIN;
    for (size_t r = 0; r < b->n_rows; r++) {
        sh->alert_shadow[r] = sh->risks[r].level != PDM_LEVEL_OK;
        sh->alert_current[r] = b->risks[r].level != PDM_LEVEL_OK;
        if (b->row_ts[r] > newest)
            newest = b->row_ts[r];
        if (b->row_ts[r] < oldest)
            oldest = b->row_ts[r];
    }
    pthread_mutex_lock(&sh->lock);
    size_t next_row = 0;
    for (size_t i = 0; i < b->n; i++) {
        const scorer_item *it = &b->items[i];
        if (it->ev.type != PDM_EV_FAILURE || it->machine < 0 || it->bad_reason)
            continue;
        size_t upto = next_row;
        while (upto < b->n_rows && (size_t)b->row_item[upto] < i)
            upto++;
        observe_rows(sh, b, next_row, upto);
        next_row = upto;
        pdm_perf_failure(sh->perf_shadow, it->ev.machine_id, it->ev.ts);
        pdm_perf_failure(sh->perf_current, it->ev.machine_id, it->ev.ts);
    }
    observe_rows(sh, b, next_row, b->n_rows);
    if (newest != INT64_MIN) {
        if (sh->first_event_ms == INT64_MIN || oldest < sh->first_event_ms)
            sh->first_event_ms = oldest;
        if (newest > sh->last_event_ms)
            sh->last_event_ms = newest;
    }
    sh->rows += b->n_rows;
    pthread_mutex_unlock(&sh->lock);
}

int scorer_shadow_score(scorer_shadow *sh, const scorer_batch *b, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    double warn, critical;
    pdm_model *m = scorer_model_get(sh->model);
    memset(sh->item_emit, 0, b->n * sizeof *sh->item_emit);
    if (b->n_rows && pdm_model_score_ex(m, b->rows, b->n_rows, sh->risks, 0, msg, sizeof msg))
        return pdm_err(errstr, errlen, "shadow model %s: scoring failed: %s", sh->version, msg);
    scorer_model_thresholds(sh->model, &warn, &critical);
    for (size_t r = 0; r < b->n_rows; r++)
        sh->risks[r].level = pdm_rule_level(sh->risks[r].risk, warn, critical);
    if (decide(sh, b, errstr, errlen) ||
        (sh->cfg->shadow_reasons && explain(sh, b, errstr, errlen)))
        return -1;
    observe(sh, b);
    return 0;
}

size_t scorer_shadow_produce(scorer_shadow *sh, scorer_output *o, const scorer_batch *b)
{
    size_t n = 0;
    uint64_t by_level[3] = {0, 0, 0};
    for (size_t i = 0; i < b->n; i++) {
        int e = sh->item_emit[i];
        if (!e)
            continue;
        const scorer_item *it = &b->items[i];
        const pdm_risk *r = e > 0 ? &sh->risks[e - 1] : &sh->world[-e - 1];
        if (scorer_output_risk(o, sh->cfg->shadow_topic, it->ev.machine_id, it->ev.ts, e > 0, r,
                               0) == 0) {
            by_level[r->level]++;
            n++;
        }
    }
    pthread_mutex_lock(&sh->lock);
    for (int l = 0; l < 3; l++)
        sh->events[l] += by_level[l];
    pthread_mutex_unlock(&sh->lock);
    return n;
}

/* ---- read side -------------------------------------------------------------- */

void scorer_shadow_request_reload(scorer_shadow *sh)
{
    if (sh)
        scorer_model_request_reload(sh->model);
}

static cJSON *iso_or_null(int64_t ms)
{
    char buf[32];
    return ms == INT64_MIN ? cJSON_CreateNull() : cJSON_CreateString(pdm_time_format_iso(ms, buf));
}

static cJSON *number_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

cJSON *scorer_shadow_describe(scorer_shadow *sh)
{
    cJSON *o = cJSON_CreateObject(), *cur = cJSON_CreateObject(), *sha = cJSON_CreateObject();
    pdm_perf_stats ps, pc;
    if (!o || !cur || !sha) {
        cJSON_Delete(o), cJSON_Delete(cur), cJSON_Delete(sha);
        return NULL;
    }
    pthread_mutex_lock(&sh->lock);
    cJSON_AddStringToObject(cur, "version", sh->current_version);
    pdm_perf_get(sh->perf_shadow, &ps);
    pdm_perf_get(sh->perf_current, &pc);
    cJSON_AddStringToObject(sha, "version", sh->version);
    cJSON_AddStringToObject(sha, "topic", sh->cfg->shadow_topic);
    cJSON_AddItemToObject(sha, "since_wall_time", iso_or_null(sh->since_wall_ms));
    cJSON_AddItemToObject(sha, "since_event_time", iso_or_null(sh->first_event_ms));
    cJSON_AddItemToObject(sha, "event_time", iso_or_null(sh->last_event_ms));
    cJSON_AddItemToObject(sha, "hours",
                          number_or_null(scorer_shadow_hours(sh->first_event_ms,
                                                             sh->last_event_ms)));
    cJSON_AddItemToObject(sha, "wall_hours",
                          number_or_null(scorer_shadow_hours(sh->since_wall_ms, pdm_now_ms())));
    cJSON_AddNumberToObject(sha, "rows", (double)sh->rows);
    cJSON *ev = cJSON_AddObjectToObject(sha, "risk_events");
    if (ev) {
        cJSON_AddNumberToObject(ev, "ok", (double)sh->events[0]);
        cJSON_AddNumberToObject(ev, "warn", (double)sh->events[1]);
        cJSON_AddNumberToObject(ev, "critical", (double)sh->events[2]);
    }
    pthread_mutex_unlock(&sh->lock);
    cJSON_AddItemToObject(sha, "performance", pdm_perf_to_json(&ps));
    cJSON_AddItemToObject(cur, "performance", pdm_perf_to_json(&pc));
    cJSON_AddStringToObject(o, "alerts_counted",
                            "every WARN/CRITICAL score of each model, since the shadow version "
                            "was installed");
    cJSON_AddItemToObject(o, "current", cur);
    cJSON_AddItemToObject(o, "shadow", sha);
    return o;
}

static void collect_one(scorer_shadow *sh, const char *role, const char *version,
                        const pdm_perf_stats *p)
{
    const char *v[] = {role, version};
    pdm_metric_set(pdm_metric_with(sh->m_precision, v), p->all.precision);
    pdm_metric_set(pdm_metric_with(sh->m_recall, v), p->all.recall);
    pdm_metric_set(pdm_metric_with(sh->m_alerts, v), (double)p->alerts);
    pdm_metric_set(pdm_metric_with(sh->m_caught, v), (double)p->all.caught);
    pdm_metric_set(pdm_metric_with(sh->m_lead, v), p->lead_time_median_hours);
}

void scorer_shadow_collect(scorer_shadow *sh)
{
    if (!sh)
        return;
    char cur[PDM_MODEL_VERSION_LEN + 1], shv[PDM_MODEL_VERSION_LEN + 1];
    pdm_perf_stats ps, pc;
    uint64_t events[3];
    pthread_mutex_lock(&sh->lock);
    snprintf(cur, sizeof cur, "%s", sh->current_version);
    pdm_perf_get(sh->perf_shadow, &ps);
    pdm_perf_get(sh->perf_current, &pc);
    snprintf(shv, sizeof shv, "%s", sh->version);
    memcpy(events, sh->events, sizeof events);
    pthread_mutex_unlock(&sh->lock);
    collect_one(sh, "current", cur, &pc);
    collect_one(sh, "shadow", shv, &ps);
    static const char *const levels[] = {"ok", "warn", "critical"};
    for (int l = 0; l < 3; l++) {
        const char *v[] = {shv, levels[l]};
        pdm_metric_set(pdm_metric_with(sh->m_events, v), (double)events[l]);
    }
}

/* ---- life ------------------------------------------------------------------- */

static int register_metrics(scorer_shadow *sh, pdm_registry *r, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    const char *rv[] = {"role", "version"}, *vl[] = {"version", "level"};
    sh->m_precision = pdm_registry_gauge(
        r, "pdm_trial_precision",
        "Live alert precision of each model since the shadow version was installed (every "
        "WARN/CRITICAL score is an alert); role current or shadow.",
        rv, 2, msg, sizeof msg);
    sh->m_recall = pdm_registry_gauge(
        r, "pdm_trial_recall", "Live failure recall of each model over the same rows and period.",
        rv, 2, msg, sizeof msg);
    sh->m_alerts = pdm_registry_gauge(r, "pdm_trial_alerts",
                                      "Alerts (WARN/CRITICAL scores) of each model in the trial.",
                                      rv, 2, msg, sizeof msg);
    sh->m_caught = pdm_registry_gauge(r, "pdm_trial_failures_caught",
                                      "Failures each model alerted on within its horizon.", rv, 2,
                                      msg, sizeof msg);
    sh->m_lead = pdm_registry_gauge(r, "pdm_trial_lead_time_hours",
                                    "Median lead time of the failures each model caught, from "
                                    "its earliest alert before each (to the hour; NaN: none).",
                                    rv, 2, msg, sizeof msg);
    sh->m_events = pdm_registry_gauge(r, "pdm_shadow_risk_events",
                                      "RiskEvents the shadow model produced to --shadow-topic.",
                                      vl, 2, msg, sizeof msg);
    if (!sh->m_precision || !sh->m_recall || !sh->m_alerts || !sh->m_caught || !sh->m_lead ||
        !sh->m_events)
        return pdm_err(errstr, errlen, "metrics: %s", msg);
    return 0;
}

int scorer_shadow_new(const pdm_scorer_config *cfg, scorer_model *main, pdm_registry *registry,
                      scorer_shadow **out, char *errstr, size_t errlen)
{
    *out = NULL;
    if (!cfg->shadow_model_dir || !cfg->shadow_model_dir[0])
        return 0;
    scorer_shadow *sh = calloc(1, sizeof *sh);
    if (!sh)
        return pdm_err(errstr, errlen, "out of memory");
    pthread_mutex_init(&sh->lock, NULL);
    sh->cfg = cfg;
    sh->shadow_cfg = *cfg;
    sh->shadow_cfg.model_dir = cfg->shadow_model_dir;
    sh->shadow_cfg.warn = sh->shadow_cfg.critical = NAN; /* the overrides are the main model's */
    sh->main = main;
    size_t cap = (size_t)(cfg->batch_size > 0 ? cfg->batch_size : 2000);
    sh->cap = cap;
    sh->risks = calloc(cap, sizeof *sh->risks);
    sh->world = calloc(cap, sizeof *sh->world);
    sh->item_emit = calloc(cap, sizeof *sh->item_emit);
    sh->alert_shadow = calloc(cap, 1);
    sh->alert_current = calloc(cap, 1);
    sh->explain_rows = calloc(cap * PDM_N_FEATURES, sizeof *sh->explain_rows);
    sh->explain = calloc(cap, sizeof *sh->explain);
    if (!sh->risks || !sh->world || !sh->item_emit || !sh->alert_shadow || !sh->alert_current ||
        !sh->explain_rows || !sh->explain) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    char msg[PDM_ERRSTR_SIZE];
    sh->model = scorer_model_new(&sh->shadow_cfg, NULL, NULL, NULL, msg, sizeof msg);
    if (!sh->model) {
        pdm_err(errstr, errlen, "--shadow-model: %s", msg);
        goto fail;
    }
    if (register_metrics(sh, registry, errstr, errlen))
        goto fail;
    if (restart_trial(sh, main)) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    pdm_log(PDM_LOG_INFO, "shadow model %s: its RiskEvents go to %s only", sh->version,
            cfg->shadow_topic);
    *out = sh;
    return 0;
fail:
    scorer_shadow_destroy(sh);
    return -1;
}

void scorer_shadow_destroy(scorer_shadow *sh)
{
    if (!sh)
        return;
    scorer_model_destroy(sh->model);
    pdm_perf_destroy(sh->perf_shadow);
    pdm_perf_destroy(sh->perf_current);
    free(sh->map);
    free(sh->risks);
    free(sh->world);
    free(sh->item_emit);
    free(sh->alert_shadow);
    free(sh->alert_current);
    free(sh->explain_rows);
    free(sh->explain);
    pthread_mutex_destroy(&sh->lock);
    free(sh);
}
