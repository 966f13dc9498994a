/* scorer_api.c: the scorer's HTTP API (see scorer_api.h and README "HTTP
 * API and metrics"). Handlers run on libmicrohttpd's threads. They score
 * through the model holder (its lock taken for reading, per call) and read
 * Redis through the API's own connection, so an HTTP request never waits
 * for a batch nor a batch for a request. Readiness (/readyz, pdm_ready)
 * never touches Redis: it reads the probe's last result (scorer_ready.h),
 * and a machine read answers 503 at once while the probe says Redis does
 * not answer, so a hung Redis holds no HTTP thread for long.
 */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "pdm_http.h"
#include "predict_request.h"
#include "scorer_alerts_api.h"
#include "scorer_api.h"
#include "scorer_ready.h"
#include "scorer_silence.h"
#include "scorer_state.h"

/* How long POST /v1/admin/reload waits for the loop to install the model. */
#define RELOAD_WAIT_S 5.0
/* How long a machine read waits for the API's Redis connection (another
 * request's read holds it, for at most its connect and read timeouts). */
#define REDIS_LOCK_WAIT_S 1.0

struct scorer_api {
    scorer_api_deps d;
    pdm_http *http;
    pdm_redis *redis; /* the HTTP threads' own connection */
    pthread_mutex_t redis_lock;
    scorer_redis_probe *probe; /* readiness's view of Redis */
    scorer_alerts_ctx alerts; /* GET /v1/alerts (scorer_alerts_api.c) */
};

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

/* Scores n instances with the model in use (levels by its thresholds,
 * reasons for WARN and CRITICAL). 0, or -1 with errstr (a 503). */
static int score_instances(scorer_api *a, const pdm_predict_instance *in, size_t n, pdm_risk *out,
                           char *errstr, size_t errlen)
{
    double *rows = malloc(n * PDM_N_FEATURES * sizeof *rows);
    if (!rows)
        return pdm_err(errstr, errlen, "out of memory");
    for (size_t i = 0; i < n; i++)
        memcpy(rows + i * PDM_N_FEATURES, in[i].row, sizeof in[i].row);
    int rc = scorer_model_score(a->d.model, rows, n, out, errstr, errlen);
    free(rows);
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

/* The readiness rule (scorer_ready.h) on the scorer's state now; the
 * probe's error (or why its answer is too old) in redis_err. */
static scorer_ready_verdict readiness(scorer_api *a, char *version, size_t vlen, char *redis_err,
                                      size_t errlen)
{
    scorer_ready_inputs in;
    redis_err[0] = '\0';
    in.model_loaded = scorer_model_version(a->d.model, version, vlen) == 0 && *version;
    in.group_joined = atomic_load(a->d.joined);
    in.loop_redis_ok = atomic_load(a->d.redis_up);
    in.redis_answered = scorer_redis_probe_result(a->probe, &in.redis_age_s, redis_err, errlen);
    scorer_ready_verdict v = scorer_ready_rule(&in);
    if (in.redis_answered && !v.redis)
        pdm_err(redis_err, errlen, "redis has not answered a PING for %.1f s", in.redis_age_s);
    return v;
}

static int handle_readyz(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    scorer_api *a = ctx;
    (void)req;
    char msg[PDM_ERRSTR_SIZE];
    char version[PDM_MODEL_VERSION_LEN + 1] = "";
    scorer_ready_verdict v = readiness(a, version, sizeof version, msg, sizeof msg);
    cJSON *o = cJSON_CreateObject(), *checks = cJSON_CreateObject(), *missing = cJSON_CreateArray();
    if (!o || !checks || !missing) {
        cJSON_Delete(o);
        cJSON_Delete(checks);
        cJSON_Delete(missing);
        return -1;
    }
    cJSON_AddBoolToObject(o, "ready", v.ready);
    cJSON_AddBoolToObject(checks, "redis", v.redis);
    cJSON_AddBoolToObject(checks, "model", v.model);
    cJSON_AddBoolToObject(checks, "consumer_group", v.consumer_group);
    cJSON_AddBoolToObject(checks, "scoring_loop", v.loop);
    cJSON_AddItemToObject(o, "checks", checks);
    if (!v.redis)
        cJSON_AddItemToArray(missing, cJSON_CreateString("redis"));
    if (!v.model)
        cJSON_AddItemToArray(missing, cJSON_CreateString("model"));
    if (!v.consumer_group)
        cJSON_AddItemToArray(missing, cJSON_CreateString("consumer_group"));
    if (!v.loop)
        cJSON_AddItemToArray(missing, cJSON_CreateString("scoring_loop"));
    cJSON_AddItemToObject(o, "missing", missing);
    if (!v.redis)
        cJSON_AddStringToObject(o, "redis_error", msg);
    if (!v.loop)
        cJSON_AddStringToObject(o, "scoring_loop_error",
                                "the loop's Redis steps fail and are being retried (see the log)");
    if (v.model)
        cJSON_AddStringToObject(o, "model_version", version);
    return respond_json(resp, v.ready ? 200 : 503, o);
}

/* Render time: gauges computed from the loop's state. */
static void collect(void *ctx, pdm_registry *r)
{
    scorer_api *a = ctx;
    char version[PDM_MODEL_VERSION_LEN + 1] = "", msg[PDM_ERRSTR_SIZE];
    int ready = readiness(a, version, sizeof version, msg, sizeof msg).ready;
    pdm_drift_result d;
    int have_drift = scorer_model_drift_result(a->d.model, &d);
    scorer_metrics_collect(a->d.metrics, ready, have_drift ? &d : NULL, a->d.perf);
    scorer_shadow_collect(a->d.shadow);
    scorer_alerts_collect(&a->alerts, a->d.metrics);
}

static int handle_metrics(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    scorer_api *a = ctx;
    (void)req;
    pdm_buf out = {0};
    if (pdm_registry_render(a->d.registry, &out)) {
        pdm_buf_free(&out);
        return -1;
    }
    int rc = pdm_http_response_text(resp, 200, PDM_METRICS_CONTENT_TYPE, out.data ? out.data : "",
                                    out.len);
    pdm_buf_free(&out);
    return rc;
}

/* The silence rule (scorer_silence.h) on the machine's newest telemetry in
 * Redis and the stream's event time the loop last published: the same
 * answer as the tracker's for the machines it follows, and for the others
 * (forgotten, or another scorer's) what the rule says. null before the loop
 * has applied any telemetry, for a machine never measured, or with
 * --silence-after 0. */
static void add_silence(cJSON *o, const scorer_api *a, int64_t newest)
{
    int64_t stream = a->d.stream_time ? atomic_load(a->d.stream_time) : INT64_MIN;
    int64_t after = a->d.cfg->silence_after_ms;
    if (after <= 0 || stream == INT64_MIN || newest == INT64_MIN) {
        cJSON_AddNullToObject(o, "silent");
        cJSON_AddNullToObject(o, "hours_behind_stream");
        return;
    }
    double behind = stream > newest ? (double)(stream - newest) / (double)PDM_MS_PER_HOUR : 0.0;
    cJSON_AddBoolToObject(o, "silent", scorer_silence_rule(newest, stream, after));
    cJSON_AddNumberToObject(o, "hours_behind_stream", behind);
    cJSON_AddItemToObject(o, "stream_time", time_json(stream));
}

/* The API's Redis connection for a read (scorer_alerts_ctx.acquire): 503
 * material at once while the probe says Redis does not answer, and the lock
 * waited for at most REDIS_LOCK_WAIT_S (another read may be waiting on a
 * Redis that stopped answering since the probe's last PING). */
static int acquire_redis(void *owner, char *errstr, size_t errlen)
{
    scorer_api *a = owner;
    char version[PDM_MODEL_VERSION_LEN + 1];
    if (!readiness(a, version, sizeof version, errstr, errlen).redis)
        return -1;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)REDIS_LOCK_WAIT_S;
    if (pthread_mutex_timedlock(&a->redis_lock, &until) != 0)
        return pdm_err(errstr, errlen, "no answer within %.0f s", REDIS_LOCK_WAIT_S);
    return 0;
}

static int handle_machine(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    scorer_api *a = ctx;
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
    if (acquire_redis(a, msg, sizeof msg))
        return pdm_http_response_error(resp, 503, "redis unavailable: %s", msg);
    int err = !pdm_redis_connected(a->redis) && pdm_redis_connect(a->redis, msg, sizeof msg);
    if (!err)
        err = pdm_rs_load(a->redis, &id, &from, NULL, 1, &st, msg, sizeof msg);
    if (!err && st.exists && st.newest != INT64_MIN) {
        from = st.newest - PDM_FEATURES_LONG_WINDOW_MS;
        pdm_rs_machine_clear(&st);
        memset(&st, 0, sizeof st);
        err = pdm_rs_load(a->redis, &id, &from, NULL, 1, &st, msg, sizeof msg);
    }
    pthread_mutex_unlock(&a->redis_lock);
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
    add_silence(o, a, st.newest);
    cJSON_AddItemToObject(o, "incident", scorer_alerts_incident_json(id, st.alert));
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
    if (scorer_state_restore(&st, id, &state)) {
        cJSON_Delete(o);
        rc = -1;
        goto out;
    }
    pdm_machine_state_view(state, &view);
    pdm_features_compute(&view, st.newest, in.row);
    if (score_instances(a, &in, 1, &risk, msg, sizeof msg)) {
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
    scorer_api *a = ctx;
    char msg[PDM_ERRSTR_SIZE];
    cJSON *root = NULL, *out = NULL;
    pdm_predict_request pr = {0};
    pdm_risk *risks = NULL;
    int rc = 0;
    if (pdm_http_parse_json(req, &root, resp))
        return 0; /* the 400 is written */
    if (pdm_json_has_escaped_nul(req->body, req->body_len)) {
        rc = pdm_http_response_error(resp, 400, PDM_PREDICT_NUL_MESSAGE);
        goto out;
    }
    if (pdm_predict_request_parse(root, &pr, msg, sizeof msg)) {
        rc = pdm_http_response_error(resp, 400, "%s", msg);
        goto out;
    }
    risks = calloc(pr.n, sizeof *risks);
    if (!risks) {
        rc = -1;
        goto out;
    }
    if (score_instances(a, pr.items, pr.n, risks, msg, sizeof msg)) {
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
    scorer_api *a = ctx;
    (void)req;
    char version[PDM_MODEL_VERSION_LEN + 1];
    if (scorer_model_version(a->d.model, version, sizeof version))
        return pdm_http_response_error(resp, 503, "no model loaded");
    return respond_json(resp, 200, scorer_model_describe(a->d.model));
}

/* Both models side by side (scorer_shadow.h); without --shadow-model the
 * current one with the scorer's own live performance and "shadow": null. */
static int handle_models(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    scorer_api *a = ctx;
    (void)req;
    char version[PDM_MODEL_VERSION_LEN + 1];
    if (scorer_model_version(a->d.model, version, sizeof version))
        return pdm_http_response_error(resp, 503, "no model loaded");
    if (a->d.shadow)
        return respond_json(resp, 200, scorer_shadow_describe(a->d.shadow));
    cJSON *o = cJSON_CreateObject(), *cur = cJSON_CreateObject();
    if (!o || !cur) {
        cJSON_Delete(o);
        cJSON_Delete(cur);
        return -1;
    }
    pdm_perf_stats p;
    pdm_perf_get(a->d.perf, &p);
    cJSON_AddStringToObject(cur, "version", version);
    cJSON_AddItemToObject(cur, "performance", pdm_perf_to_json(&p));
    cJSON_AddItemToObject(o, "current", cur);
    cJSON_AddNullToObject(o, "shadow");
    return respond_json(resp, 200, o);
}

/* Loads the package --model names on this thread (the loop keeps scoring),
 * hands it to the loop and waits a little for it to be installed. */
static int handle_reload(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    scorer_api *a = ctx;
    (void)req;
    char path[PATH_MAX], msg[PDM_ERRSTR_SIZE];
    double warn, critical;
    pdm_model *m;
    if (scorer_model_prepare(a->d.cfg, &m, path, sizeof path, &warn, &critical, msg, sizeof msg)) {
        pdm_log(PDM_LOG_ERROR, "reload requested over HTTP failed: %s", msg);
        return pdm_http_response_error(resp, 409, "reload failed, the running model is kept: %s",
                                       msg);
    }
    char version[PDM_MODEL_VERSION_LEN + 1];
    snprintf(version, sizeof version, "%s", pdm_model_version(m));
    /* The shadow model reloads too, at the loop's next refresh. */
    scorer_shadow_request_reload(a->d.shadow);
    int ticket = scorer_model_offer(a->d.model, m, path, warn, critical);
    double deadline = pdm_monotonic_s() + RELOAD_WAIT_S;
    while (!scorer_model_installed(a->d.model, ticket) && pdm_monotonic_s() < deadline)
        usleep(20000);
    int installed = scorer_model_installed(a->d.model, ticket);
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
    scorer_api *a = ctx;
    (void)req;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return -1;
    pdm_drift_result d;
    char version[PDM_MODEL_VERSION_LEN + 1];
    int have = scorer_model_drift_result(a->d.model, &d);
    if (scorer_model_version(a->d.model, version, sizeof version) == 0)
        cJSON_AddStringToObject(o, "model_version", version);
    cJSON_AddItemToObject(o, "drift", have ? pdm_drift_to_json(&d) : cJSON_CreateNull());
    pdm_perf_stats p;
    pdm_perf_get(a->d.perf, &p);
    cJSON_AddItemToObject(o, "performance", pdm_perf_to_json(&p));
    return respond_json(resp, 200, o);
}

/* ---- server ------------------------------------------------------------------------ */

static void access_log(void *ctx, const char *method, const char *path, int status, double seconds)
{
    (void)ctx;
    pdm_log(PDM_LOG_DEBUG, "http %s %s %d %.1f ms", method, path, status, seconds * 1e3);
}

static void http_notice(void *ctx, int level, const char *message)
{
    (void)ctx;
    pdm_log((pdm_log_level)level, "http: %s", message);
}

static int serve(scorer_api *a, char *errstr, size_t errlen)
{
    const pdm_scorer_config *cfg = a->d.cfg;
    char msg[PDM_ERRSTR_SIZE];
    pdm_http_config hc;
    pdm_http_config_init(&hc);
    hc.bind = cfg->http_bind;
    hc.threads = cfg->http_threads ? cfg->http_threads : 2;
    if (cfg->http_max_body)
        hc.max_body = cfg->http_max_body;
    hc.token = cfg->http_token;
    hc.auth_metrics = cfg->http_auth_metrics;
    hc.access_log = access_log;
    hc.admin_token = cfg->http_admin_token;
    if (cfg->http_request_timeout_ms)
        hc.request_timeout_ms = cfg->http_request_timeout_ms;
    hc.per_ip_limit = cfg->http_per_ip_limit;
    hc.tls_cert_file = cfg->http_tls_cert;
    hc.tls_key_file = cfg->http_tls_key;
    hc.tls_client_ca_file = cfg->http_tls_client_ca;
    hc.notice = http_notice;
    a->http = pdm_http_new(&hc, msg, sizeof msg);
    if (!a->http)
        return pdm_err(errstr, errlen, "http: %s", msg);
    struct {
        const char *method, *path;
        int prefix;
        pdm_http_handler fn;
    } routes[] = {
        {"GET", "/healthz", 0, handle_healthz},         {"GET", "/readyz", 0, handle_readyz},
        {"GET", "/metrics", 0, handle_metrics},         {"GET", "/v1/machines/", 1, handle_machine},
        {"POST", "/v1/predict", 0, handle_predict},     {"GET", "/v1/model", 0, handle_model},
        {"POST", "/v1/admin/reload", 0, handle_reload}, {"GET", "/v1/drift", 0, handle_drift},
        {"GET", "/v1/models", 0, handle_models},
    };
    a->alerts = (scorer_alerts_ctx){
        .redis = a->redis, .lock = &a->redis_lock, .acquire = acquire_redis, .owner = a};
    if (pdm_http_route(a->http, "GET", "/v1/alerts", 0, scorer_alerts_handle, &a->alerts))
        return pdm_err(errstr, errlen, "http: cannot route /v1/alerts");
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (pdm_http_route(a->http, routes[i].method, routes[i].path, routes[i].prefix,
                           routes[i].fn, a))
            return pdm_err(errstr, errlen, "http: cannot route %s", routes[i].path);
    pdm_registry_set_collector(a->d.registry, collect, a);
    if (pdm_http_start(a->http, msg, sizeof msg))
        return pdm_err(errstr, errlen, "http %s: %s", cfg->http_bind, msg);
    pdm_log(PDM_LOG_INFO, "http listening on port %u (%s)%s%s%s%s", pdm_http_port(a->http),
            cfg->http_bind, cfg->http_tls_cert && *cfg->http_tls_cert ? ", HTTPS" : "",
            cfg->http_tls_client_ca && *cfg->http_tls_client_ca ? " with client certificates"
                                                                : "",
            cfg->http_token && *cfg->http_token ? ", /v1/ needs the bearer token" : "",
            cfg->http_admin_token && *cfg->http_admin_token ? ", /v1/admin/ the admin token"
                                                            : "");
    return 0;
}

int scorer_api_start(const scorer_api_deps *deps, scorer_api **out, char *errstr, size_t errlen)
{
    const char *bind = deps->cfg->http_bind;
    *out = NULL;
    if (!bind || !*bind || strcmp(bind, "off") == 0)
        return 0;
    scorer_api *a = calloc(1, sizeof *a);
    if (!a)
        return pdm_err(errstr, errlen, "out of memory");
    a->d = *deps;
    pthread_mutex_init(&a->redis_lock, NULL);
    a->redis = pdm_redis_new(deps->cfg->redis_url, deps->cfg->redis_password, 1.0, errstr, errlen);
    if (a->redis)
        a->probe = scorer_redis_probe_start(deps->cfg->redis_url, deps->cfg->redis_password,
                                            errstr, errlen);
    if (!a->redis || !a->probe || serve(a, errstr, errlen)) {
        scorer_api_stop(a);
        return -1;
    }
    *out = a;
    return 0;
}

void scorer_api_stop(scorer_api *a)
{
    if (!a)
        return;
    if (a->http) {
        pdm_http_stop(a->http);
        pdm_http_destroy(a->http);
    }
    pdm_registry_set_collector(a->d.registry, NULL, NULL);
    scorer_redis_probe_stop(a->probe);
    pdm_redis_destroy(a->redis);
    pthread_mutex_destroy(&a->redis_lock);
    free(a);
}

unsigned scorer_api_port(const scorer_api *a)
{
    return a && a->http ? pdm_http_port(a->http) : 0;
}

void scorer_api_request_tls_reload(scorer_api *a)
{
    if (a && a->http)
        pdm_http_request_tls_reload(a->http);
}
