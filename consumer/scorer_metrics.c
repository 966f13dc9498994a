/* scorer_metrics.c: the scorer's metric families (see scorer_metrics.h and
 * README "HTTP API and metrics"), the bounded per-machine series, and what
 * is computed at render time. */
#include "scorer_metrics.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "pdm_features.h"

static const char *const level_labels[] = {"ok", "warn", "critical"};
static const char *const silence_labels[] = {"back", "silent"}; /* by MachineSilence.silent */
const char *const scorer_outcome_labels[SCORER_N_OUTCOMES] = {
    "opened", "escalated", "renotified", "cleared", "repaired", "failed", "silent"};
static const char *const structure_labels[] = {"state_cache", "silence", "perf", "table"};

/* The families, in the order /metrics shows them. A family without labels
 * has its one child at `child`; labelled ones keep the family at `family`
 * (children made as they are seen, or below for fixed label values). */
typedef enum { COUNTER, GAUGE, HISTOGRAM } family_kind;
typedef struct {
    family_kind kind;
    const char *name, *help;
    const char *label; /* NULL: none; "topic,partition" is the one pair */
    size_t family;     /* offset of a pdm_metric * in scorer_metrics, or NONE */
    size_t child;      /* offset of a pdm_metric_child *, or NONE */
    const double *buckets;
    size_t n_buckets;
} family_spec;

#define NONE SIZE_MAX
#define AT(field) offsetof(scorer_metrics, field)
#define BUCKETS(b) b, sizeof b / sizeof *b

static const double batch_buckets[] = {1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000};
static const double latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,  0.5,    1,     2.5,  5,     10};
/* Lead times of hours to a week, in seconds (Prometheus's base unit). */
static const double lead_buckets[] = {3600,      2 * 3600,  4 * 3600,  8 * 3600,  12 * 3600,
                                      24 * 3600, 48 * 3600, 72 * 3600, 168 * 3600};
static const double rtt_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                     0.01,   0.025,   0.05,   0.1,   0.25,   1};

static const family_spec families[] = {
    {COUNTER, "pdm_messages_consumed_total", "Messages consumed from the input topics.", NULL, NONE,
     AT(messages), NULL, 0},
    {COUNTER, "pdm_events_consumed_total", "Input events accepted, by type.", "type",
     AT(events_by_type), NONE, NULL, 0},
    {COUNTER, "pdm_bad_messages_total", "Messages sent to the dead-letter topic, by reason.",
     "reason", AT(bad), NONE, NULL, 0},
    {COUNTER, "pdm_dlq_messages_total", "Dead letters produced.", NULL, NONE, AT(dlq), NULL, 0},
    {COUNTER, "pdm_rows_scored_total", "Telemetry rows featurised and scored.", NULL, NONE,
     AT(rows), NULL, 0},
    {COUNTER, "pdm_risk_events_total", "RiskEvents produced, by level.", "level", AT(risk_by_level),
     NONE, NULL, 0},
    {COUNTER, "pdm_machine_silence_events_total",
     "MachineSilence events produced: silent (a machine's newest telemetry fell more than "
     "--silence-after behind the stream's event time) or back (it reports again).",
     "event", AT(silence_by_event), NONE, NULL, 0},
    {COUNTER, "pdm_incidents_total",
     "Incident RiskEvents produced (--emit incidents), by outcome: opened, escalated, renotified "
     "(the notifications), or resolved as cleared, repaired, failed or silent.",
     "outcome", AT(incidents_by_outcome), NONE, NULL, 0},
    {GAUGE, "pdm_incidents_open",
     "Open incidents of the whole fleet by level (warn, critical), read from Redis's index at "
     "scrape time: every scorer reports the same value (aggregate with max, not sum).",
     "level", AT(incidents_by_level), NONE, NULL, 0},
    {HISTOGRAM, "pdm_incident_lead_time_seconds",
     "Event time from an incident's opening to the failure that resolved it (resolution failed).",
     NULL, NONE, AT(lead_time), BUCKETS(lead_buckets)},
    {COUNTER, "pdm_loop_seconds_total",
     "Wall time of the scoring loop's thread by stage: wait (for messages), decode, load (the "
     "state round trip), apply (events and features), score, decide, explain (TreeSHAP), observe, "
     "shadow, finish (waiting for the previous batch's delivery), commit (its offsets), write "
     "(Redis), produce, other.",
     "stage", AT(stage_wall_by_stage), NONE, NULL, 0},
    {COUNTER, "pdm_loop_cpu_seconds_total",
     "CPU time of the scoring loop's thread by stage (see pdm_loop_seconds_total); the rest of "
     "the process's CPU is librdkafka's and the HTTP API's threads.",
     "stage", AT(stage_cpu_by_stage), NONE, NULL, 0},
    {COUNTER, "pdm_offset_commits_total", "Batches whose offsets were committed.", NULL, NONE,
     AT(commits), NULL, 0},
    {COUNTER, "pdm_delivery_failures_total",
     "Output messages (RiskEvents, dead letters) not delivered; their batch is consumed again.",
     NULL, NONE, AT(delivery_errors), NULL, 0},
    {COUNTER, "pdm_redis_errors_total", "Failed Redis round trips (each retried).", NULL, NONE,
     AT(redis_errors), NULL, 0},
    {COUNTER, "pdm_model_reloads_total", "Models installed after the first.", NULL, NONE,
     AT(reloads), NULL, 0},
    {COUNTER, "pdm_state_lost_total",
     "Times the Redis state was found lost (FLUSHALL or an empty server).", NULL, NONE,
     AT(state_lost), NULL, 0},
    {COUNTER, "pdm_alerts_true_positive_total",
     "Alerts followed by a failure of the machine within the horizon.", NULL, NONE, AT(tp), NULL,
     0},
    {COUNTER, "pdm_alerts_false_positive_total",
     "Alerts whose horizon passed without a failure of the machine.", NULL, NONE, AT(fp), NULL, 0},
    {COUNTER, "pdm_failures_caught_total", "Failures preceded by an alert within the horizon.",
     NULL, NONE, AT(caught), NULL, 0},
    {COUNTER, "pdm_failures_missed_total", "Failures without an alert within the horizon.", NULL,
     NONE, AT(missed), NULL, 0},
    {HISTOGRAM, "pdm_scoring_batch_size", "Messages per processed batch.", NULL, NONE,
     AT(batch_size), BUCKETS(batch_buckets)},
    {HISTOGRAM, "pdm_processing_latency_seconds",
     "From a batch's messages being received to its RiskEvents being delivered, per RiskEvent.",
     NULL, NONE, AT(latency), BUCKETS(latency_buckets)},
    {HISTOGRAM, "pdm_redis_roundtrip_seconds",
     "Pipelined Redis round trips of the loop: a batch's state load, and what is left to wait of "
     "its write's (sent before the batch's output is produced).",
     NULL, NONE, AT(redis_rtt), BUCKETS(rtt_buckets)},
    {COUNTER, "pdm_state_cache_lookups_total",
     "Machines of a batch by where their state came from: hit (the in-process copy, its version "
     "confirmed by Redis), stale (copy outdated, loaded) or miss (loaded).",
     "result", AT(cache_by_result), NONE, NULL, 0},
    {GAUGE, "pdm_state_cache_machines", "Machines in the in-process state cache.", NULL, NONE,
     AT(cache_machines), NULL, 0},
    {GAUGE, "pdm_machines_held",
     "Machines held in memory by a per-machine structure: state_cache (bounded by --state-cache), "
     "silence, perf (live performance) and table (the machines table), bounded by --max-machines.",
     "structure", AT(held_by_structure), NONE, NULL, 0},
    {COUNTER, "pdm_machines_evicted_total",
     "Machines evicted from a per-machine structure at its bound (the least recently seen; see "
     "--max-machines and --state-cache).",
     "structure", AT(evicted_by_structure), NONE, NULL, 0},
    {GAUGE, "pdm_ready", "1 when ready, as GET /readyz answers 200: Redis answers PING, the loop's Redis steps succeed, a model is loaded and the group is joined.", NULL,
     NONE, AT(ready), NULL, 0},
    {GAUGE, "pdm_machines_silent",
     "Machines of this scorer's partitions whose newest telemetry is more than --silence-after "
     "behind the stream's event time (the newest applied); forgotten after --silence-forget.",
     NULL, NONE, AT(machines_silent), NULL, 0},
    {GAUGE, "pdm_event_time_lag_seconds",
     "Wall clock minus the newest event time of the last scored batch.", NULL, NONE, AT(event_lag),
     NULL, 0},
    {GAUGE, "pdm_consumer_lag_messages",
     "Messages behind the partition's end (librdkafka statistics).", "topic,partition", AT(lag),
     NONE, NULL, 0},
    {GAUGE, "pdm_consumer_partitions_not_fetching",
     "Partitions assigned to this scorer that librdkafka is not fetching (a fetch state other "
     "than active in its statistics, e.g. an offset lookup that never finished).",
     NULL, NONE, AT(not_fetching), NULL, 0},
    {GAUGE, "pdm_model_info", "1 for the model version in use, 0 for earlier ones.", "version",
     AT(model_info), NONE, NULL, 0},
    {GAUGE, "pdm_feature_psi",
     "Population Stability Index of the feature's latest window against training.", "feature",
     AT(psi), NONE, NULL, 0},
    {GAUGE, "pdm_risk_psi", "Population Stability Index of the risk score against training.", NULL,
     NONE, AT(risk_psi), NULL, 0},
    {GAUGE, "pdm_feature_missing_ratio",
     "Share of missing values of the feature in the latest drift window.", "feature", AT(missing),
     NONE, NULL, 0},
    {GAUGE, "pdm_alert_precision",
     "Rolling share of resolved alerts followed by a failure within the horizon.", NULL, NONE,
     AT(precision), NULL, 0},
    {GAUGE, "pdm_alert_recall", "Rolling share of failures preceded by an alert.", NULL, NONE,
     AT(recall), NULL, 0},
    {GAUGE, "pdm_machine_risk", "The machine's latest risk score.", "machine_id", AT(machine_risk),
     NONE, NULL, 0},
    {GAUGE, "pdm_machine_level", "The machine's latest level: 0 OK, 1 WARN, 2 CRITICAL.",
     "machine_id", AT(machine_level), NONE, NULL, 0},
};

static pdm_metric *register_family(pdm_registry *r, const family_spec *f, char *msg, size_t len)
{
    static const char *const pair[] = {"topic", "partition"};
    const char *const *labels = f->label ? &f->label : NULL;
    size_t n = f->label ? 1 : 0;
    if (f->label && strcmp(f->label, "topic,partition") == 0)
        labels = pair, n = 2;
    switch (f->kind) {
    case COUNTER:
        return pdm_registry_counter(r, f->name, f->help, labels, n, msg, len);
    case GAUGE:
        return pdm_registry_gauge(r, f->name, f->help, labels, n, msg, len);
    default:
        return pdm_registry_histogram(r, f->name, f->help, labels, n, f->buckets, f->n_buckets, msg,
                                      len);
    }
}

int scorer_metrics_init(scorer_metrics *m, pdm_registry *r, size_t machines_cap, char *errstr,
                        size_t errlen)
{
    static const char *const results[] = {"hit", "stale", "miss"};
    char msg[PDM_ERRSTR_SIZE];
    memset(m, 0, sizeof *m);
    m->machines_cap = machines_cap;
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        pdm_metric *f = register_family(r, &families[i], msg, sizeof msg);
        if (!f)
            return pdm_err(errstr, errlen, "metrics: %s", msg);
        if (families[i].family != NONE)
            *(pdm_metric **)((char *)m + families[i].family) = f;
        if (families[i].child != NONE)
            *(pdm_metric_child **)((char *)m + families[i].child) = pdm_metric_with(f, NULL);
    }
    for (int t = 0; t < PDM_EV_RISK; t++) { /* output types are never input */
        const char *v[] = {pdm_event_type_name((pdm_event_type)t)};
        m->events[t] = pdm_metric_with(m->events_by_type, v);
    }
    for (int l = 0; l < 3; l++)
        m->risk_events[l] = pdm_metric_with(m->risk_by_level, &level_labels[l]);
    for (int k = 0; k < 3; k++)
        m->cache_lookups[k] = pdm_metric_with(m->cache_by_result, &results[k]);
    for (int k = 0; k < 2; k++)
        m->silence_events[k] = pdm_metric_with(m->silence_by_event, &silence_labels[k]);
    for (int k = 0; k < SCORER_N_OUTCOMES; k++)
        m->incidents[k] = pdm_metric_with(m->incidents_by_outcome, &scorer_outcome_labels[k]);
    for (int k = 0; k < 2; k++)
        m->incidents_open[k] = pdm_metric_with(m->incidents_by_level, &level_labels[k + 1]);
    for (int k = 0; k < SCORER_STRUCTURES; k++) {
        m->machines_held[k] = pdm_metric_with(m->held_by_structure, &structure_labels[k]);
        m->machines_evicted[k] = pdm_metric_with(m->evicted_by_structure, &structure_labels[k]);
    }
    for (int k = 0; k < SCORER_STAGES; k++) {
        const char *v[] = {scorer_stage_name((scorer_stage)k)};
        m->stage_wall[k] = pdm_metric_with(m->stage_wall_by_stage, v);
        m->stage_cpu[k] = pdm_metric_with(m->stage_cpu_by_stage, v);
    }
    pdm_metric_set(m->risk_psi, NAN); /* unknown until a drift window is evaluated */
    return 0;
}

/* The machine's own series (risk and level) if it has or may now get them:
 * the first cfg.metrics_machines machines seen do, to bound the label
 * cardinality. Looked up once per machine, then kept beside its id (a
 * registry lookup compares label strings child by child). */
static pdm_metric_child **machine_series(scorer_metrics *m, int32_t id)
{
    size_t cap = m->machines_cap;
    if (cap == 0)
        return NULL;
    if (!m->exported) {
        m->exported_cap = 16;
        while (m->exported_cap < 2 * cap)
            m->exported_cap <<= 1;
        m->exported = calloc(m->exported_cap, sizeof *m->exported);
        m->exported_children = calloc(2 * m->exported_cap, sizeof *m->exported_children);
        if (!m->exported || !m->exported_children) {
            free(m->exported);
            free(m->exported_children);
            m->exported = NULL;
            m->exported_children = NULL;
            return NULL;
        }
    }
    size_t mask = m->exported_cap - 1;
    for (size_t h = ((uint32_t)id * 2654435761u) & mask;; h = (h + 1) & mask) {
        pdm_metric_child **series = &m->exported_children[2 * h];
        if (m->exported[h] == id)
            return series;
        if (m->exported[h] == 0) {
            if (m->machines_exported >= cap)
                return NULL;
            char label[16];
            snprintf(label, sizeof label, "%d", (int)id);
            const char *v[] = {label};
            series[0] = pdm_metric_with(m->machine_risk, v);
            series[1] = pdm_metric_with(m->machine_level, v);
            if (!series[0] || !series[1])
                return NULL; /* out of memory: tried again next time */
            m->exported[h] = id;
            m->machines_exported++;
            return series;
        }
    }
}

void scorer_metrics_destroy(scorer_metrics *m)
{
    free(m->exported);
    free(m->exported_children);
    m->exported = NULL;
    m->exported_children = NULL;
}

void scorer_metrics_machine(scorer_metrics *m, int32_t machine_id, const pdm_risk *r)
{
    pdm_metric_child **series = machine_series(m, machine_id);
    if (!series)
        return;
    pdm_metric_set(series[0], r->risk);
    pdm_metric_set(series[1], (double)r->level);
}

void scorer_metrics_model(scorer_metrics *m, const char *version, const char *old_version)
{
    if (old_version && *old_version) {
        const char *v[] = {old_version};
        pdm_metric_set(pdm_metric_with(m->model_info, v), 0);
    }
    const char *v[] = {version};
    pdm_metric_set(pdm_metric_with(m->model_info, v), 1);
}

uint64_t scorer_metrics_count(const pdm_metric_child *c)
{
    double v = c ? pdm_metric_value(c) : 0;
    return v > 0 ? (uint64_t)llround(v) : 0;
}

/* Counters mirroring a monotonic count kept elsewhere. */
static void counter_to(pdm_metric_child *c, uint64_t value)
{
    double d = (double)value - pdm_metric_value(c);
    if (d > 0)
        pdm_metric_add(c, d);
}

void scorer_metrics_structure(scorer_metrics *m, scorer_structure s, size_t held, uint64_t evicted)
{
    pdm_metric_set(m->machines_held[s], (double)held);
    counter_to(m->machines_evicted[s], evicted);
}

void scorer_metrics_collect(scorer_metrics *m, int ready, const pdm_drift_result *d, pdm_perf *perf)
{
    pdm_metric_set(m->ready, ready);
    if (d && d->ready) {
        for (size_t i = 0; i < PDM_N_FEATURES; i++) {
            const char *v[] = {pdm_feature_name(i)};
            pdm_metric_set(pdm_metric_with(m->psi, v), d->feature[i].psi);
            pdm_metric_set(pdm_metric_with(m->missing, v), d->feature[i].missing);
        }
        pdm_metric_set(m->risk_psi, d->risk.psi);
    }
    if (perf) {
        pdm_perf_stats p;
        pdm_perf_get(perf, &p);
        counter_to(m->tp, p.all.tp);
        counter_to(m->fp, p.all.fp);
        counter_to(m->caught, p.all.caught);
        counter_to(m->missed, p.all.missed);
        pdm_metric_set(m->precision, p.rolling.precision);
        pdm_metric_set(m->recall, p.rolling.recall);
    }
}

/* Says which assigned partitions librdkafka has not been fetching, once
 * three statistics in a row (15 s at the default interval) found some, and
 * then at most every minute: a partition stuck that way is never consumed,
 * and nothing else in the scorer would show it (its lag is unknown). */
static void note_not_fetching(scorer_metrics *m, int count, const char *first)
{
    pdm_metric_set(m->not_fetching, (double)count);
    m->not_fetching_turns = count ? m->not_fetching_turns + 1 : 0;
    double now = pdm_monotonic_s();
    if (m->not_fetching_turns < 3 || now - m->not_fetching_said < 60.0)
        return;
    m->not_fetching_said = now;
    pdm_log(PDM_LOG_WARN,
            "librdkafka has not been fetching %d assigned partition(s) over its last %d "
            "statistics (%s): nothing of them is consumed",
            count, m->not_fetching_turns, first);
}

void scorer_metrics_kafka_stats(scorer_metrics *m, const char *json, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(root, "topics");
    int not_fetching = 0;
    char first[320] = "";
    for (const cJSON *t = topics ? topics->child : NULL; t; t = t->next) {
        const cJSON *parts = cJSON_GetObjectItemCaseSensitive(t, "partitions");
        for (const cJSON *p = parts ? parts->child : NULL; p; p = p->next) {
            const cJSON *lag = cJSON_GetObjectItemCaseSensitive(p, "consumer_lag");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "partition");
            const cJSON *desired = cJSON_GetObjectItemCaseSensitive(p, "desired");
            const cJSON *state = cJSON_GetObjectItemCaseSensitive(p, "fetch_state");
            if (!cJSON_IsNumber(id) || id->valueint < 0)
                continue; /* the internal UA partition */
            if (cJSON_IsTrue(desired) && cJSON_IsString(state) &&
                strcmp(state->valuestring, "active") != 0 && not_fetching++ == 0)
                snprintf(first, sizeof first, "first %s [%d] in fetch state %s", t->string,
                         id->valueint, state->valuestring);
            /* -1: unassigned, or not known yet. */
            if (!cJSON_IsNumber(lag) || lag->valuedouble < 0)
                continue;
            char part[16];
            snprintf(part, sizeof part, "%d", id->valueint);
            const char *v[] = {t->string, part};
            pdm_metric_set(pdm_metric_with(m->lag, v), lag->valuedouble);
        }
    }
    if (root && topics)
        note_not_fetching(m, not_fetching, first);
    cJSON_Delete(root);
}

void scorer_metrics_stages(scorer_metrics *m, const scorer_stages *c)
{
    for (int k = 0; k < SCORER_STAGES; k++) {
        pdm_metric_add(m->stage_wall[k], c->wall[k] - m->stage_wall_published[k]);
        pdm_metric_add(m->stage_cpu[k], c->cpu[k] - m->stage_cpu_published[k]);
        m->stage_wall_published[k] = c->wall[k];
        m->stage_cpu_published[k] = c->cpu[k];
    }
}
