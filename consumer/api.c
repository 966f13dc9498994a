/* api.c: what the scorer shows the outside world: its Prometheus metrics and
 * its HTTP API (health, readiness, machines, predictions, model, reload,
 * drift). Handlers run on libmicrohttpd's threads; what they share with the
 * loop is described in scorer_internal.h. They score with the loaded model
 * under model_lock held for reading (the model serialises its own XGBoost
 * calls), and read Redis through their own connection, so an HTTP request
 * never waits for a batch nor a batch for a request (except for the model's
 * lock, per call).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "predict_request.h"
#include "scorer_internal.h"

/* How long POST /v1/admin/reload waits for the loop to install the model. */
#define RELOAD_WAIT_S 5.0

static const char *const level_labels[] = {"ok", "warn", "critical"};

/* ---- metrics --------------------------------------------------------------- */

static void collect(void *ctx, pdm_registry *r);

int scorer_metrics_init(pdm_scorer *s, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    pdm_registry *r = s->registry;
    scorer_metrics *m = &s->m;
    static const char *const type_label[] = {"type"}, *const reason_label[] = {"reason"},
                             *const level_label[] = {"level"}, *const feature_label[] = {"feature"},
                             *const machine_label[] = {"machine_id"},
                             *const lag_labels[] = {"topic", "partition"},
                             *const version_label[] = {"version"},
                             *const result_label[] = {"result"};
    static const double batch_buckets[] = {1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000};
    static const double latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10};
    static const double rtt_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                         0.01,   0.025,   0.05,   0.1,   0.25,   1};
    pdm_metric *events = NULL, *risk = NULL, *f;
#define COUNTER(var, name, help, labels, n)                                                        \
    if (!((var) = pdm_registry_counter(r, name, help, labels, n, msg, sizeof msg)))                \
    goto fail
#define GAUGE(var, name, help, labels, n)                                                          \
    if (!((var) = pdm_registry_gauge(r, name, help, labels, n, msg, sizeof msg)))                  \
    goto fail
#define HISTOGRAM(var, name, help, buckets)                                                        \
    if (!((var) = pdm_registry_histogram(r, name, help, NULL, 0, buckets,                          \
                                         sizeof buckets / sizeof *buckets, msg, sizeof msg)))      \
    goto fail
#define ONE(var, fam) (var) = pdm_metric_with((fam), NULL)

    COUNTER(events, "pdm_events_consumed_total", "Input events accepted, by type.", type_label, 1);
    for (int t = 0; t < PDM_EV_RISK; t++) { /* a RiskEvent is never input */
        const char *v[] = {pdm_event_type_name((pdm_event_type)t)};
        m->events[t] = pdm_metric_with(events, v);
    }
    COUNTER(m->bad, "pdm_bad_messages_total", "Messages sent to the dead-letter topic, by reason.",
            reason_label, 1);
    COUNTER(f, "pdm_dlq_messages_total", "Dead letters produced.", NULL, 0);
    ONE(m->dlq, f);
    COUNTER(f, "pdm_rows_scored_total", "Telemetry rows featurised and scored.", NULL, 0);
    ONE(m->rows, f);
    COUNTER(risk, "pdm_risk_events_total", "RiskEvents produced, by level.", level_label, 1);
    for (int l = 0; l < 3; l++) {
        const char *v[] = {level_labels[l]};
        m->risk_events[l] = pdm_metric_with(risk, v);
    }
    COUNTER(f, "pdm_redis_errors_total", "Failed Redis round trips (each retried).", NULL, 0);
    ONE(m->redis_errors, f);
    COUNTER(f, "pdm_model_reloads_total", "Models installed after the first.", NULL, 0);
    ONE(m->reloads, f);
    COUNTER(f, "pdm_state_lost_total",
            "Times the Redis state was found lost (FLUSHALL or an empty server).", NULL, 0);
    ONE(m->state_lost, f);
    COUNTER(f, "pdm_alerts_true_positive_total",
            "Alerts followed by a failure of the machine within the horizon.", NULL, 0);
    ONE(m->tp, f);
    COUNTER(f, "pdm_alerts_false_positive_total",
            "Alerts whose horizon passed without a failure of the machine.", NULL, 0);
    ONE(m->fp, f);
    COUNTER(f, "pdm_failures_caught_total", "Failures preceded by an alert within the horizon.",
            NULL, 0);
    ONE(m->caught, f);
    COUNTER(f, "pdm_failures_missed_total", "Failures without an alert within the horizon.",
            NULL, 0);
    ONE(m->missed, f);
    HISTOGRAM(f, "pdm_scoring_batch_size", "Messages per processed batch.", batch_buckets);
    ONE(m->batch_size, f);
    HISTOGRAM(f, "pdm_processing_latency_seconds",
              "From a batch's messages being received to its RiskEvents being delivered, per "
              "RiskEvent.",
              latency_buckets);
    ONE(m->latency, f);
    HISTOGRAM(f, "pdm_redis_roundtrip_seconds",
              "Pipelined Redis round trips of the loop: a batch's state load, and what is left "
              "to wait of its write's (sent before the batch's output is produced).",
              rtt_buckets);
    ONE(m->redis_rtt, f);
    COUNTER(f, "pdm_state_cache_lookups_total",
            "Machines of a batch by where their state came from: hit (the in-process copy, "
            "its version confirmed by Redis), stale (copy outdated, loaded) or miss (loaded).",
            result_label, 1);
    {
        static const char *const results[] = {"hit", "stale", "miss"};
        for (int k = 0; k < 3; k++)
            m->cache_lookups[k] = pdm_metric_with(f, &results[k]);
    }
    GAUGE(f, "pdm_state_cache_machines", "Machines in the in-process state cache.", NULL, 0);
    ONE(m->cache_machines, f);
    GAUGE(f, "pdm_ready", "1 when Redis answers, a model is loaded and the group is joined.",
          NULL, 0);
    ONE(m->ready, f);
    GAUGE(f, "pdm_event_time_lag_seconds",
          "Wall clock minus the newest event time of the last scored batch.", NULL, 0);
    ONE(m->event_lag, f);
    GAUGE(m->lag, "pdm_consumer_lag_messages",
          "Messages behind the partition's end (librdkafka statistics).", lag_labels, 2);
    GAUGE(m->model_info, "pdm_model_info", "1 for the model version in use, 0 for earlier ones.",
          version_label, 1);
    GAUGE(m->psi, "pdm_feature_psi",
          "Population Stability Index of the feature's latest window against training.",
          feature_label, 1);
    GAUGE(f, "pdm_risk_psi", "Population Stability Index of the risk score against training.",
          NULL, 0);
    ONE(m->risk_psi, f);
    pdm_metric_set(m->risk_psi, NAN); /* unknown until a drift window is evaluated */
    GAUGE(m->missing, "pdm_feature_missing_ratio",
          "Share of missing values of the feature in the latest drift window.", feature_label, 1);
    GAUGE(f, "pdm_alert_precision",
          "Rolling share of resolved alerts followed by a failure within the horizon.", NULL, 0);
    ONE(m->precision, f);
    GAUGE(f, "pdm_alert_recall", "Rolling share of failures preceded by an alert.", NULL, 0);
    ONE(m->recall, f);
    GAUGE(m->machine_risk, "pdm_machine_risk", "The machine's latest risk score.", machine_label,
          1);
    GAUGE(m->machine_level, "pdm_machine_level",
          "The machine's latest level: 0 OK, 1 WARN, 2 CRITICAL.", machine_label, 1);
#undef COUNTER
#undef GAUGE
#undef HISTOGRAM
#undef ONE
    pdm_registry_set_collector(r, collect, s);
    return 0;
fail:
    return pdm_err(errstr, errlen, "metrics: %s", msg);
}

/* The machine's own series (risk and level) if it has or may now get them:
 * the first cfg.metrics_machines machines seen do, to bound the label
 * cardinality. Looked up once per machine, then kept beside its id (a
 * registry lookup compares label strings child by child). */
static pdm_metric_child **machine_series(scorer_metrics *m, size_t cap, int32_t id)
{
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

void scorer_export_machine(pdm_scorer *s, int32_t machine_id, const pdm_risk *r)
{
    pdm_metric_child **series = machine_series(&s->m, s->cfg.metrics_machines, machine_id);
    if (!series)
        return;
    pdm_metric_set(series[0], r->risk);
    pdm_metric_set(series[1], (double)r->level);
}

void scorer_api_model_changed(pdm_scorer *s, const char *old_version)
{
    if (old_version && *old_version) {
        const char *v[] = {old_version};
        pdm_metric_set(pdm_metric_with(s->m.model_info, v), 0);
    }
    const char *v[] = {pdm_model_version(s->model)};
    pdm_metric_set(pdm_metric_with(s->m.model_info, v), 1);
}

/* Counters mirroring a monotonic count kept elsewhere. */
static void counter_to(pdm_metric_child *c, uint64_t value)
{
    double d = (double)value - pdm_metric_value(c);
    if (d > 0)
        pdm_metric_add(c, d);
}

static int is_ready(pdm_scorer *s)
{
    pthread_rwlock_rdlock(&s->model_lock);
    int model = s->model != NULL;
    pthread_rwlock_unlock(&s->model_lock);
    return model && atomic_load(&s->joined) && atomic_load(&s->redis_up);
}

/* Render time: gauges computed from the loop's state. */
static void collect(void *ctx, pdm_registry *r)
{
    pdm_scorer *s = ctx;
    (void)r;
    pdm_metric_set(s->m.ready, is_ready(s));
    pdm_drift_result d;
    int have_drift = 0;
    pthread_rwlock_rdlock(&s->model_lock);
    if (s->drift) {
        pdm_drift_get(s->drift, &d);
        have_drift = d.ready;
    }
    pthread_rwlock_unlock(&s->model_lock);
    if (have_drift) {
        for (size_t i = 0; i < PDM_N_FEATURES; i++) {
            const char *v[] = {pdm_feature_name(i)};
            pdm_metric_set(pdm_metric_with(s->m.psi, v), d.feature[i].psi);
            pdm_metric_set(pdm_metric_with(s->m.missing, v), d.feature[i].missing);
        }
        pdm_metric_set(s->m.risk_psi, d.risk.psi);
    }
    if (s->perf) {
        pdm_perf_stats p;
        pdm_perf_get(s->perf, &p);
        counter_to(s->m.tp, p.all.tp);
        counter_to(s->m.fp, p.all.fp);
        counter_to(s->m.caught, p.all.caught);
        counter_to(s->m.missed, p.all.missed);
        pdm_metric_set(s->m.precision, p.rolling.precision);
        pdm_metric_set(s->m.recall, p.rolling.recall);
    }
}

void scorer_api_stats(pdm_scorer *s, const char *json, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *topics = cJSON_GetObjectItemCaseSensitive(root, "topics");
    for (const cJSON *t = topics ? topics->child : NULL; t; t = t->next) {
        const cJSON *parts = cJSON_GetObjectItemCaseSensitive(t, "partitions");
        for (const cJSON *p = parts ? parts->child : NULL; p; p = p->next) {
            const cJSON *lag = cJSON_GetObjectItemCaseSensitive(p, "consumer_lag");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "partition");
            /* -1: unassigned, the internal UA partition, or not known yet. */
            if (!cJSON_IsNumber(lag) || !cJSON_IsNumber(id) || id->valueint < 0 ||
                lag->valuedouble < 0)
                continue;
            char part[16];
            snprintf(part, sizeof part, "%d", id->valueint);
            const char *v[] = {t->string, part};
            pdm_metric_set(pdm_metric_with(s->m.lag, v), lag->valuedouble);
        }
    }
    cJSON_Delete(root);
}

/* ---- scoring for requests ------------------------------------------------------ */

static cJSON *time_json(int64_t ts)
{
    char buf[32];
    return ts == INT64_MIN ? cJSON_CreateNull() : cJSON_CreateString(pdm_time_format_iso(ts, buf));
}

static cJSON *number_json(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *prediction_json(const pdm_predict_instance *in, const pdm_risk *r)
{
    cJSON *o = cJSON_CreateObject(), *probs = cJSON_CreateObject(), *reasons = cJSON_CreateArray(),
          *features = cJSON_CreateObject();
    if (!o || !probs || !reasons || !features)
        goto fail;
    if (in->machine_id > 0)
        cJSON_AddNumberToObject(o, "machine_id", in->machine_id);
    if (in->ts != INT64_MIN)
        cJSON_AddItemToObject(o, "ts", time_json(in->ts));
    cJSON_AddItemToObject(o, "risk", number_json(r->risk));
    cJSON_AddStringToObject(o, "level", pdm_level_name(r->level));
    for (int c = 0; c < PDM_N_COMPONENTS; c++) {
        char name[8];
        snprintf(name, sizeof name, "comp%d", c + 1);
        cJSON_AddItemToObject(probs, name, number_json(r->component_prob[c]));
    }
    cJSON_AddItemToObject(o, "component_prob", probs);
    probs = NULL;
    for (int k = 0; k < r->n_reasons; k++) {
        cJSON *x = cJSON_CreateObject();
        if (!x)
            goto fail;
        cJSON_AddStringToObject(x, "feature", r->reasons[k].feature);
        cJSON_AddItemToObject(x, "value", number_json(r->reasons[k].value));
        cJSON_AddItemToObject(x, "contribution", number_json(r->reasons[k].contribution));
        cJSON_AddItemToArray(reasons, x);
    }
    cJSON_AddItemToObject(o, "reasons", reasons);
    reasons = NULL;
    cJSON_AddStringToObject(o, "model_version", r->model_version);
    for (size_t i = 0; i < PDM_N_FEATURES; i++)
        cJSON_AddItemToObject(features, pdm_feature_name(i), number_json(in->row[i]));
    cJSON_AddItemToObject(o, "features", features);
    return o;
fail:
    cJSON_Delete(o);
    cJSON_Delete(probs);
    cJSON_Delete(reasons);
    cJSON_Delete(features);
    return NULL;
}

/* Scores n instances with the loaded model and the scorer's thresholds;
 * WARN and CRITICAL rows get their reasons. 0, or -1 with errstr (503:
 * no model). */
static int score_instances(pdm_scorer *s, const pdm_predict_instance *in, size_t n, pdm_risk *out,
                           char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    int rc = -1;
    double *rows = malloc(n * PDM_N_FEATURES * sizeof *rows);
    size_t *alert = malloc(n * sizeof *alert);
    double *alert_rows = malloc(n * PDM_N_FEATURES * sizeof *alert_rows);
    pdm_risk *explained = malloc(n * sizeof *explained);
    if (!rows || !alert || !alert_rows || !explained) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(rows + i * PDM_N_FEATURES, in[i].row, sizeof in[i].row);
    pthread_rwlock_rdlock(&s->model_lock);
    if (!s->model) {
        pdm_err(errstr, errlen, "no model loaded");
    } else if (pdm_model_score_ex(s->model, rows, n, out, 0, msg, sizeof msg)) {
        pdm_err(errstr, errlen, "scoring failed: %s", msg);
    } else {
        size_t na = 0;
        for (size_t i = 0; i < n; i++) {
            out[i].level = out[i].risk >= s->critical ? PDM_LEVEL_CRITICAL
                           : out[i].risk >= s->warn   ? PDM_LEVEL_WARN
                                                      : PDM_LEVEL_OK;
            out[i].n_reasons = 0;
            if (out[i].level != PDM_LEVEL_OK) {
                memcpy(alert_rows + na * PDM_N_FEATURES, in[i].row, sizeof in[i].row);
                explained[na] = out[i];
                alert[na++] = i;
            }
        }
        if (na && pdm_model_explain(s->model, alert_rows, na, explained, msg, sizeof msg)) {
            pdm_err(errstr, errlen, "explaining failed: %s", msg);
        } else {
            for (size_t k = 0; k < na; k++)
                out[alert[k]] = explained[k];
            rc = 0;
        }
    }
    pthread_rwlock_unlock(&s->model_lock);
out:
    free(rows);
    free(alert);
    free(alert_rows);
    free(explained);
    return rc;
}

/* ---- handlers ---------------------------------------------------------------------- */

static int respond_json(pdm_http_response *resp, int status, cJSON *body)
{
    if (!body)
        return -1; /* out of memory: a 500 */
    int rc = pdm_http_response_json(resp, status, body);
    cJSON_Delete(body);
    return rc;
}

static int handle_healthz(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    (void)ctx;
    (void)req;
    cJSON *o = cJSON_CreateObject();
    if (o)
        cJSON_AddStringToObject(o, "status", "ok");
    return respond_json(resp, 200, o);
}

/* PINGs Redis on the HTTP threads' connection (reconnecting if needed). */
static int redis_answers(pdm_scorer *s, char *errstr, size_t errlen)
{
    pthread_mutex_lock(&s->http_redis_lock);
    int rc = 0;
    if (!pdm_redis_connected(s->http_redis))
        rc = pdm_redis_connect(s->http_redis, errstr, errlen);
    if (rc == 0)
        rc = pdm_redis_ping(s->http_redis, errstr, errlen);
    pthread_mutex_unlock(&s->http_redis_lock);
    return rc;
}

static int handle_readyz(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    pdm_scorer *s = ctx;
    (void)req;
    char msg[PDM_ERRSTR_SIZE] = "";
    int redis = redis_answers(s, msg, sizeof msg) == 0;
    pthread_rwlock_rdlock(&s->model_lock);
    char version[PDM_MODEL_VERSION_LEN + 1] = "";
    if (s->model)
        snprintf(version, sizeof version, "%s", pdm_model_version(s->model));
    pthread_rwlock_unlock(&s->model_lock);
    int joined = atomic_load(&s->joined);
    int ready = redis && *version && joined;
    cJSON *o = cJSON_CreateObject(), *checks = cJSON_CreateObject(), *missing = cJSON_CreateArray();
    if (!o || !checks || !missing) {
        cJSON_Delete(o);
        cJSON_Delete(checks);
        cJSON_Delete(missing);
        return -1;
    }
    cJSON_AddBoolToObject(o, "ready", ready);
    cJSON_AddBoolToObject(checks, "redis", redis);
    cJSON_AddBoolToObject(checks, "model", *version != 0);
    cJSON_AddBoolToObject(checks, "consumer_group", joined);
    cJSON_AddItemToObject(o, "checks", checks);
    if (!redis)
        cJSON_AddItemToArray(missing, cJSON_CreateString("redis"));
    if (!*version)
        cJSON_AddItemToArray(missing, cJSON_CreateString("model"));
    if (!joined)
        cJSON_AddItemToArray(missing, cJSON_CreateString("consumer_group"));
    cJSON_AddItemToObject(o, "missing", missing);
    if (!redis)
        cJSON_AddStringToObject(o, "redis_error", msg);
    if (*version)
        cJSON_AddStringToObject(o, "model_version", version);
    return respond_json(resp, ready ? 200 : 503, o);
}

static int handle_metrics(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    pdm_scorer *s = ctx;
    (void)req;
    pdm_buf out = {0};
    if (pdm_registry_render(s->registry, &out)) {
        pdm_buf_free(&out);
        return -1;
    }
    int rc = pdm_http_response_text(resp, 200, PDM_METRICS_CONTENT_TYPE, out.data ? out.data : "",
                                    out.len);
    pdm_buf_free(&out);
    return rc;
}

static int handle_machine(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    pdm_scorer *s = ctx;
    char msg[PDM_ERRSTR_SIZE];
    int32_t id;
    if (pdm_http_parse_id(req->rest, &id) || id == 0)
        return pdm_http_response_error(resp, 400,
                                       "machine id must be an integer from 1 to 2147483647");
    pdm_rs_machine st;
    memset(&st, 0, sizeof st);
    pdm_machine_state *state = NULL;
    int rc = 0;
    /* Two reads: the bookkeeping first (nothing but meta and maintenance,
     * from = far future), then the windows behind the newest telemetry. */
    int64_t from = INT64_MAX / 2;
    pthread_mutex_lock(&s->http_redis_lock);
    int err = !pdm_redis_connected(s->http_redis) &&
              pdm_redis_connect(s->http_redis, msg, sizeof msg);
    if (!err)
        err = pdm_rs_load(s->http_redis, &id, &from, NULL, 1, &st, msg, sizeof msg);
    if (!err && st.exists && st.newest != INT64_MIN) {
        from = st.newest - WINDOW_MS;
        pdm_rs_machine_clear(&st);
        memset(&st, 0, sizeof st);
        err = pdm_rs_load(s->http_redis, &id, &from, NULL, 1, &st, msg, sizeof msg);
    }
    pthread_mutex_unlock(&s->http_redis_lock);
    if (err) {
        rc = pdm_http_response_error(resp, 503, "redis unavailable: %s", msg);
        goto out;
    }
    if (!st.exists) {
        rc = pdm_http_response_error(resp, 404, "machine %d is unknown", (int)id);
        goto out;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        rc = -1;
        goto out;
    }
    cJSON_AddNumberToObject(o, "machine_id", id);
    cJSON_AddItemToObject(o, "latest_telemetry", time_json(st.newest));
    if (st.has_info) {
        cJSON_AddNumberToObject(o, "model", st.model);
        cJSON_AddNumberToObject(o, "age", st.age);
    }
    if (st.newest == INT64_MIN) {
        /* Known (machine info, errors or maintenance) but never measured. */
        cJSON_AddNullToObject(o, "prediction");
        rc = respond_json(resp, 200, o);
        goto out;
    }
    pdm_predict_instance in = {.machine_id = id, .ts = st.newest};
    pdm_risk risk;
    pdm_machine_view view;
    if (scorer_restore_state(&st, id, &state)) {
        cJSON_Delete(o);
        rc = -1;
        goto out;
    }
    pdm_machine_state_view(state, &view);
    pdm_features_compute(&view, st.newest, in.row);
    if (score_instances(s, &in, 1, &risk, msg, sizeof msg)) {
        cJSON_Delete(o);
        rc = pdm_http_response_error(resp, 503, "%s", msg);
        goto out;
    }
    cJSON *p = prediction_json(&in, &risk);
    if (!p) {
        cJSON_Delete(o);
        rc = -1;
        goto out;
    }
    cJSON_AddItemToObject(o, "prediction", p);
    rc = respond_json(resp, 200, o);
out:
    pdm_machine_state_destroy(state);
    pdm_rs_machine_clear(&st);
    return rc;
}

static int handle_predict(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    pdm_scorer *s = ctx;
    char msg[PDM_ERRSTR_SIZE];
    cJSON *root = NULL, *out = NULL;
    pdm_predict_request pr = {0};
    pdm_risk *risks = NULL;
    int rc = 0;
    if (pdm_http_parse_json(req, &root, resp))
        return 0; /* the 400 is written */
    if (pdm_predict_request_parse(root, &pr, msg, sizeof msg)) {
        rc = pdm_http_response_error(resp, 400, "%s", msg);
        goto out;
    }
    risks = calloc(pr.n, sizeof *risks);
    if (!risks) {
        rc = -1;
        goto out;
    }
    if (score_instances(s, pr.items, pr.n, risks, msg, sizeof msg)) {
        rc = pdm_http_response_error(resp, 503, "%s", msg);
        goto out;
    }
    if (pr.batch) {
        out = cJSON_CreateObject();
        cJSON *list = cJSON_AddArrayToObject(out, "predictions");
        if (!list) {
            rc = -1;
            goto out;
        }
        for (size_t i = 0; i < pr.n; i++) {
            cJSON *p = prediction_json(&pr.items[i], &risks[i]);
            if (!p) {
                rc = -1;
                goto out;
            }
            cJSON_AddItemToArray(list, p);
        }
    } else {
        out = prediction_json(&pr.items[0], &risks[0]);
    }
    rc = respond_json(resp, 200, out);
    out = NULL;
out:
    cJSON_Delete(root);
    cJSON_Delete(out);
    pdm_predict_request_free(&pr);
    free(risks);
    return rc;
}

static int handle_model(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    pdm_scorer *s = ctx;
    (void)req;
    pthread_rwlock_rdlock(&s->model_lock);
    cJSON *o = NULL;
    if (s->model) {
        o = cJSON_CreateObject();
        cJSON *meta = cJSON_Duplicate(pdm_model_metadata(s->model), 1);
        cJSON *th = cJSON_CreateObject();
        if (o && meta && th) {
            cJSON_AddStringToObject(o, "version", pdm_model_version(s->model));
            cJSON_AddStringToObject(o, "path", s->model_path);
            cJSON_AddStringToObject(o, "predictor",
                                    pdm_predictor_name(pdm_model_predictor(s->model)));
            cJSON_AddStringToObject(o, "contributions", pdm_model_contributions_engine(s->model));
            const pdm_predictor_check *ck = pdm_model_predictor_check(s->model);
            if (ck && ck->checked) {
                cJSON *c = cJSON_AddObjectToObject(o, "native_check");
                cJSON_AddBoolToObject(c, "passed", ck->passed);
                cJSON_AddNumberToObject(c, "rows", (double)ck->rows);
                cJSON_AddItemToObject(c, "max_abs_diff", number_json(ck->max_abs_diff));
                if (ck->reason[0])
                    cJSON_AddStringToObject(c, "reason", ck->reason);
            }
            cJSON_AddItemToObject(th, "warn", number_json(s->warn));
            cJSON_AddItemToObject(th, "critical", number_json(s->critical));
            cJSON_AddItemToObject(o, "thresholds_in_use", th);
            cJSON_AddItemToObject(o, "metadata", meta);
        } else {
            cJSON_Delete(meta);
            cJSON_Delete(th);
            cJSON_Delete(o);
            o = NULL;
        }
    }
    int loaded = s->model != NULL;
    pthread_rwlock_unlock(&s->model_lock);
    if (!loaded)
        return pdm_http_response_error(resp, 503, "no model loaded");
    return respond_json(resp, 200, o);
}

/* Loads the package --model names on this thread (the loop keeps scoring),
 * hands it to the loop and waits a little for it to be installed. */
static int handle_reload(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    pdm_scorer *s = ctx;
    (void)req;
    char path[4096], msg[PDM_ERRSTR_SIZE];
    double warn, critical;
    pdm_model *m;
    if (scorer_prepare_model(&s->cfg, &m, path, sizeof path, &warn, &critical, msg, sizeof msg)) {
        pdm_log(PDM_LOG_ERROR, "reload requested over HTTP failed: %s", msg);
        return pdm_http_response_error(resp, 409, "reload failed, the running model is kept: %s",
                                       msg);
    }
    char version[PDM_MODEL_VERSION_LEN + 1];
    snprintf(version, sizeof version, "%s", pdm_model_version(m));
    pending_model *p = &s->pending;
    pthread_mutex_lock(&p->lock);
    pdm_model_destroy(p->model); /* an older request not installed yet */
    p->model = m;
    snprintf(p->path, sizeof p->path, "%s", path);
    p->warn = warn;
    p->critical = critical;
    int gen = atomic_load(&p->installed_gen);
    pthread_mutex_unlock(&p->lock);
    double deadline = pdm_monotonic_s() + RELOAD_WAIT_S;
    while (atomic_load(&p->installed_gen) == gen && pdm_monotonic_s() < deadline)
        usleep(20000);
    int installed = atomic_load(&p->installed_gen) != gen;
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "version", version);
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddBoolToObject(o, "installed", installed);
        if (!installed)
            cJSON_AddStringToObject(o, "note",
                                    "loaded; the scorer installs it between batches (it is busy "
                                    "or waiting for Redis or Kafka)");
    }
    return respond_json(resp, installed ? 200 : 202, o);
}

static int handle_drift(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    pdm_scorer *s = ctx;
    (void)req;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return -1;
    pdm_drift_result d;
    int have = 0;
    pthread_rwlock_rdlock(&s->model_lock);
    if (s->drift) {
        pdm_drift_get(s->drift, &d);
        have = 1;
    }
    if (s->model)
        cJSON_AddStringToObject(o, "model_version", pdm_model_version(s->model));
    pthread_rwlock_unlock(&s->model_lock);
    cJSON_AddItemToObject(o, "drift", have ? pdm_drift_to_json(&d) : cJSON_CreateNull());
    pdm_perf_stats p;
    pdm_perf_get(s->perf, &p);
    cJSON_AddItemToObject(o, "performance", pdm_perf_to_json(&p));
    return respond_json(resp, 200, o);
}

/* ---- server ------------------------------------------------------------------------ */

static void access_log(void *ctx, const char *method, const char *path, int status, double seconds)
{
    (void)ctx;
    pdm_log(PDM_LOG_DEBUG, "http %s %s %d %.1f ms", method, path, status, seconds * 1e3);
}

int scorer_api_start(pdm_scorer *s, char *errstr, size_t errlen)
{
    const char *bind = s->cfg.http_bind;
    if (!bind || !*bind || strcmp(bind, "off") == 0)
        return 0;
    char msg[PDM_ERRSTR_SIZE];
    pdm_http_config hc;
    pdm_http_config_init(&hc);
    hc.bind = bind;
    hc.threads = s->cfg.http_threads ? s->cfg.http_threads : 2;
    if (s->cfg.http_max_body)
        hc.max_body = s->cfg.http_max_body;
    hc.token = s->cfg.http_token;
    hc.auth_metrics = s->cfg.http_auth_metrics;
    hc.access_log = access_log;
    s->http = pdm_http_new(&hc, msg, sizeof msg);
    if (!s->http)
        return pdm_err(errstr, errlen, "http: %s", msg);
    struct {
        const char *method, *path;
        int prefix;
        pdm_http_handler fn;
    } routes[] = {
        {"GET", "/healthz", 0, handle_healthz},
        {"GET", "/readyz", 0, handle_readyz},
        {"GET", "/metrics", 0, handle_metrics},
        {"GET", "/v1/machines/", 1, handle_machine},
        {"POST", "/v1/predict", 0, handle_predict},
        {"GET", "/v1/model", 0, handle_model},
        {"POST", "/v1/admin/reload", 0, handle_reload},
        {"GET", "/v1/drift", 0, handle_drift},
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (pdm_http_route(s->http, routes[i].method, routes[i].path, routes[i].prefix,
                           routes[i].fn, s))
            return pdm_err(errstr, errlen, "http: cannot route %s", routes[i].path);
    if (pdm_http_start(s->http, msg, sizeof msg))
        return pdm_err(errstr, errlen, "http %s: %s", bind, msg);
    pdm_log(PDM_LOG_INFO, "http listening on port %u (%s)%s", pdm_http_port(s->http), bind,
            s->cfg.http_token && *s->cfg.http_token ? ", /v1/ needs the bearer token" : "");
    return 0;
}

void scorer_api_stop(pdm_scorer *s)
{
    if (s->http)
        pdm_http_stop(s->http);
    pdm_http_destroy(s->http);
    s->http = NULL;
}

unsigned pdm_scorer_http_port(const pdm_scorer *s) { return s->http ? pdm_http_port(s->http) : 0; }
