/* pdm-scorer: the streaming scorer daemon (see pdm_scorer.h). */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "pdm_kafka.h"
#include "pdm_rules.h"
#include "pdm_scorer.h"

typedef struct {
    char *brokers;
    char *redis;
    char *redis_password;
    char *model;
    char *group;
    char *instance_id;
    char *topics;
    char *machines_topic;
    char *risk_topic;
    char *shadow_model;
    char *shadow_topic;
    int shadow_reasons;
    char *dlq_topic;
    char *emit;
    char *renotify;
    char *lateness;
    char *silence_after;
    char *silence_forget;
    double warn;
    double critical;
    long long batch_size;
    long long model_threads;
    long long score_threads;
    char *predictor;
    char *dump_features;
    char *schema_ids;
    int exit_at_end;
    char *max_wait;
    char *max_idle;
    char *http;
    char *http_token;
    char *http_admin_token;
    int http_auth_metrics;
    char *http_request_timeout;
    long long http_per_ip_limit;
    char *http_tls_cert;
    char *http_tls_key;
    char *http_tls_client_ca;
    long long http_threads;
    long long http_max_body;
    long long drift_rows;
    char *drift_window;
    long long metrics_machines;
    long long state_cache_mb;
    long long max_machines;
    char *state_ttl;
    char *log_level;
    pdm_kvlist props;
} scorer_options;

#define O(f) offsetof(scorer_options, f)
static const pdm_option options[] = {
    {"brokers", 'b', "PDM_BROKERS", PDM_OPT_STRING, O(brokers), "localhost:9092", "HOSTS", "Kafka bootstrap servers.", 0},
    {"redis", 'r', "PDM_REDIS_URL", PDM_OPT_STRING, O(redis), "redis://127.0.0.1:6379", "URL", "Redis holding the per-machine state: redis://[[user]:password@]host[:port][/db], or a Redis Cluster: redis+cluster://[[user]:password@]host:port[,host:port...] (seed nodes).", 0},
    {"redis-password", 0, "PDM_REDIS_PASSWORD", PDM_OPT_STRING, O(redis_password), NULL, "PASSWORD", "Redis AUTH password (overrides the URL's).", PDM_OPT_SECRET},
    {"model", 'm', "PDM_MODEL", PDM_OPT_STRING, O(model), NULL, "DIR", "Model package, or a models directory whose `current` link names one (watched: a new link is loaded).", 0},
    {"shadow-model", 0, "PDM_SHADOW_MODEL", PDM_OPT_STRING, O(shadow_model), NULL, "DIR", "A second model (a package, or a models directory with a `current` link, watched and reloaded like --model) that scores every row too: its RiskEvents go only to --shadow-topic, with its own emission state in memory; GET /v1/models and the pdm_trial_* metrics compare both models' live performance. Unset: no shadow, no cost.", 0},
    {"shadow-topic", 0, "PDM_SHADOW_TOPIC", PDM_OPT_STRING, O(shadow_topic), "pdm.risk.shadow", "TOPIC", "Output topic of the shadow model's RiskEvents (must differ from --risk-topic).", 0},
    {"shadow-reasons", 0, "PDM_SHADOW_REASONS", PDM_OPT_BOOL, O(shadow_reasons), "false", NULL, "Give the shadow model's alerts their top_reasons too (TreeSHAP, the costliest step of scoring: off by default, so a trial costs little; the comparison does not need them).", 0},
    {"group", 'g', "PDM_GROUP", PDM_OPT_STRING, O(group), "pdm-scorer", "ID", "Kafka consumer group id.", 0},
    {"instance-id", 0, "PDM_INSTANCE_ID", PDM_OPT_STRING, O(instance_id), NULL, "ID|env:NAME", "Static group membership (group.instance.id, brokers >= 2.3): a member that restarts within session.timeout.ms gets its partitions back without a rebalance, but one that stops keeps them unserved until that timeout (static members do not leave the group). Unique per live process: a second process with the same id fences the first. env:NAME takes the id from that variable (e.g. env:POD_NAME in a StatefulSet). Unset: dynamic membership.", 0},
    {"topics", 't', "PDM_TOPICS", PDM_OPT_STRING, O(topics), "pdm.telemetry,pdm.errors,pdm.maintenance,pdm.failures", "LIST", "Input stream topics, comma-separated (messages name their own schema, so one topic may carry all types). Several topics must be co-partitioned (same partition count, keyed by machine): partition p of each is merged in event time (see --max-idle).", 0},
    {"machines-topic", 0, "PDM_MACHINES_TOPIC", PDM_OPT_STRING, O(machines_topic), "pdm.machines", "TOPIC", "The machines table (MachineInfo, best a compacted topic): every scorer reads all of it to its end before scoring, and keeps reading it. \"\" for none (machine info then comes in the stream topics).", 0},
    {"risk-topic", 0, "PDM_RISK_TOPIC", PDM_OPT_STRING, O(risk_topic), "pdm.risk", "TOPIC", "Output topic of RiskEvents.", 0},
    {"dlq-topic", 0, "PDM_DLQ_TOPIC", PDM_OPT_STRING, O(dlq_topic), "pdm.dlq", "TOPIC", "Dead-letter topic for bad messages (headers name the reason and the source).", 0},
    {"emit", 'e', "PDM_EMIT", PDM_OPT_STRING, O(emit), "incidents", "MODE", "incidents: an incident's opening, escalation, renotification and resolution (the alert state machine, by the model package's alert policy with --warn/--critical applied; silence resolves an incident); changes: when a machine's level changes (and every --renotify while CRITICAL); alerts: every WARN/CRITICAL score; all: every score.", 0},
    {"renotify", 0, "PDM_RENOTIFY", PDM_OPT_STRING, O(renotify), "6h", "DURATION", "With --emit changes, repeat CRITICAL after this much event time (0 = never); e.g. 30m, 6h.", 0},
    {"lateness", 0, "PDM_LATENESS", PDM_OPT_STRING, O(lateness), "48h", "DURATION", "Allowed lateness behind the machine's newest telemetry; later events go to the DLQ.", 0},
    {"silence-after", 0, "PDM_SILENCE_AFTER", PDM_OPT_STRING, O(silence_after), "6h", "DURATION", "A machine whose newest telemetry is more than this much event time behind the stream's (the newest telemetry applied) is silent: one MachineSilence event on the risk topic when it goes silent and one when it reports again, counted in pdm_machines_silent. 6h: six missed hourly readings, far beyond the jitter of a live stream yet well inside the 24 h feature window, so a dead sensor or gateway is noticed the same shift; 0: not tracked.", 0},
    {"silence-forget", 0, "PDM_SILENCE_FORGET", PDM_OPT_STRING, O(silence_forget), "7d", "DURATION", "A silent machine whose newest telemetry is this much event time behind the stream's is forgotten (no event): it leaves pdm_machines_silent, so a decommissioned machine does not hold an alert open forever (a later reading makes it a new machine, without a back event).", 0},
    {"warn", 0, "PDM_WARN", PDM_OPT_DOUBLE, O(warn), "nan", "RISK", "Override the model's WARN threshold (0..1, at most --critical).", 0},
    {"critical", 0, "PDM_CRITICAL", PDM_OPT_DOUBLE, O(critical), "nan", "RISK", "Override the model's CRITICAL threshold (0..1).", 0},
    {"batch-size", 0, "PDM_BATCH_SIZE", PDM_OPT_INT, O(batch_size), "2000", "N", "Messages per batch (one Redis round trip each way, one model call).", 0},
    {"model-threads", 0, "PDM_MODEL_THREADS", PDM_OPT_INT, O(model_threads), "1", "N", "XGBoost threads for scoring (0 = all cores).", 0},
    {"score-threads", 0, "PDM_SCORE_THREADS", PDM_OPT_INT, O(score_threads), "0", "N", "Threads the native evaluator and the native TreeSHAP split each batch's rows over, the loop's own included (results are the same for any count); 0: two where the machine has two cores or more, else one.", 0},
    {"predictor", 0, "PDM_PREDICTOR", PDM_OPT_STRING, O(predictor), "native", "NAME", "native: the project's tree evaluator, used once it scores a check sample exactly as XGBoost (else XGBoost serves, logged); xgboost: XGBoost's predictor. Reasons (SHAP), with either: the native TreeSHAP once it matches XGBoost's pred_contribs on the first alerts' rows and a check sample, else XGBoost's pred_contribs (GET /v1/model says which).", 0},
    {"dump-features", 0, "PDM_DUMP_FEATURES", PDM_OPT_STRING, O(dump_features), NULL, "FILE", "Write every scored row's features as CSV (the trainer's dump format), a batch at a time. A failed write (a full disk) cuts the file back to its last complete batch and stops the scorer with an error, that batch uncommitted.", 0},
    {"schema-ids", 0, "PDM_SCHEMA_IDS", PDM_OPT_STRING, O(schema_ids), NULL, "TYPE=ID,...", "Confluent Schema Registry ids of the event types, TYPE=ID[,TYPE=ID...] (e.g. telemetry=7,error=8,maintenance=9,failure=10,machine=11): a message framed by the registry serializers (byte 0x00, then the 4-byte big-endian id) with one of these ids decodes as that type; any other id goes to the DLQ as unknown_schema. Single-object messages (0xC3 0x01) decode either way.", 0},
    {"exit-at-end", 0, "PDM_EXIT_AT_END", PDM_OPT_BOOL, O(exit_at_end), "false", NULL, "Exit 0 once every assigned partition is consumed to its end.", 0},
    {"max-wait", 0, "PDM_MAX_WAIT", PDM_OPT_STRING, O(max_wait), "0ms", "DURATION", "How long a batch waits to fill once its first message is there. 0: a batch is what has arrived by the time the loop is ready for it, so batches grow with the load on their own (a backlog fills them at once) and a live stream is not held; more: fewer, larger batches on a slow stream, each event held up to this long.", 0},
    {"max-idle", 0, "PDM_MAX_IDLE", PDM_OPT_STRING, O(max_idle), "2s", "DURATION", "With several input topics (one per event type), partition p of each is merged in event time; when one of them has nothing buffered and more to come, its task waits up to this long before going on without it (events that arrive later may then be out of order or late). Caught-up partitions are never waited for, so a live stream is not held; the wait covers a slow fetch, not an outage.", 0},
    {"http", 0, "PDM_HTTP", PDM_OPT_STRING, O(http), "0.0.0.0:8000", "ADDR:PORT", "HTTP API and /metrics (port 0: any free port, logged; \"off\": none).", 0},
    {"http-token", 0, "PDM_HTTP_TOKEN", PDM_OPT_STRING, O(http_token), NULL, "TOKEN", "Read token required on /v1/ (and /metrics with --http-auth-metrics); it reaches /v1/admin/ too unless --http-admin-token is set; unset: no authentication (of what the admin token does not guard).", PDM_OPT_SECRET},
    {"http-admin-token", 0, "PDM_HTTP_ADMIN_TOKEN", PDM_OPT_STRING, O(http_admin_token), NULL, "TOKEN", "Bearer token that alone reaches /v1/admin/ (and everything the --http-token reaches); the --http-token then no longer reaches /v1/admin/. Unset: /v1/admin/ takes the --http-token.", PDM_OPT_SECRET},
    {"http-request-timeout", 0, "PDM_HTTP_REQUEST_TIMEOUT", PDM_OPT_STRING, O(http_request_timeout), "10s", "DURATION", "A request (TLS handshake, headers and body) must arrive whole within this long of its connection's start or of the previous answer, however the client paces its bytes; else the connection is closed. Idle connections are closed after 10 s too.", 0},
    {"http-per-ip-limit", 0, "PDM_HTTP_PER_IP_LIMIT", PDM_OPT_INT, O(http_per_ip_limit), "0", "N", "Connections one client address may hold at once (more are closed at once); 0 = no limit. The server holds 64 in all.", 0},
    {"http-tls-cert", 0, "PDM_HTTP_TLS_CERT", PDM_OPT_STRING, O(http_tls_cert), NULL, "FILE", "PEM certificate chain (server certificate first): serve HTTPS only. Reloaded with --http-tls-key on SIGHUP (a bad pair is refused and logged, the running one kept).", 0},
    {"http-tls-key", 0, "PDM_HTTP_TLS_KEY", PDM_OPT_STRING, O(http_tls_key), NULL, "FILE", "PEM private key of the --http-tls-cert certificate (unencrypted; keep it mode 0600).", 0},
    {"http-tls-client-ca", 0, "PDM_HTTP_TLS_CLIENT_CA", PDM_OPT_STRING, O(http_tls_client_ca), NULL, "FILE", "PEM CA certificate(s): every client must present a certificate signed by one (mutual TLS; read at start).", 0},
    {"http-auth-metrics", 0, "PDM_HTTP_AUTH_METRICS", PDM_OPT_BOOL, O(http_auth_metrics), "false", NULL, "Require the token on /metrics too.", 0},
    {"http-threads", 0, "PDM_HTTP_THREADS", PDM_OPT_INT, O(http_threads), "2", "N", "HTTP worker threads.", 0},
    {"http-max-body", 0, "PDM_HTTP_MAX_BODY", PDM_OPT_INT, O(http_max_body), "1048576", "BYTES", "Largest request body (bigger: 413).", 0},
    {"drift-rows", 0, "PDM_DRIFT_ROWS", PDM_OPT_INT, O(drift_rows), "10000", "N", "Compare the input with the training data every N scored rows ...", 0},
    {"drift-window", 0, "PDM_DRIFT_WINDOW", PDM_OPT_STRING, O(drift_window), "5m", "DURATION", "... or after this long (with at least 100 rows).", 0},
    {"state-cache", 0, "PDM_STATE_CACHE", PDM_OPT_INT, O(state_cache_mb), "4", "MIB", "Keep up to MIB MiB of the machines' state as last written to Redis (about 1.5 KB a machine with a 24 h window; size it to the machines of the scorer's partitions), so that a batch reads only a version counter per machine instead of its whole window (checked against Redis every batch; 0: load everything every batch).", 0},
    {"state-ttl", 0, "PDM_STATE_TTL", PDM_OPT_STRING, O(state_ttl), "30d", "DURATION", "A machine's Redis keys expire this long (wall-clock time) after the scorer last wrote them, so a machine that stops reporting leaves Redis on its own; every write sets it again (e.g. 30d, 720h; at least 1s; 0 = keys never expire, but a TTL set earlier stays until its keys are written with a TTL again or PERSISTed).", 0},
    {"max-machines", 0, "PDM_MAX_MACHINES", PDM_OPT_INT, O(max_machines), "1000000", "N", "Machines the scorer keeps in memory at most in each per-machine structure (the silence tracker, the live-performance tracker, the machines table); ids come from untrusted producers and any positive int32 is valid. Beyond it the least recently seen are evicted (counted in pdm_machines_evicted_total{structure}); about 200 bytes a machine over the three. The state cache is bounded by --state-cache, the per-machine series by --metrics-machines.", 0},
    {"metrics-machines", 0, "PDM_METRICS_MACHINES", PDM_OPT_INT, O(metrics_machines), "1000", "N", "Export pdm_machine_risk/level for at most N machines (the first seen).", 0},
    {"log-level", 0, "PDM_LOG_LEVEL", PDM_OPT_STRING, O(log_level), "info", "LEVEL", "debug, info, warn or error.", 0},
    {"property", 'X', "PDM_KAFKA_CONFIG", PDM_OPT_KV, O(props), NULL, "KEY=VALUE", "librdkafka property (repeatable), e.g. -X security.protocol=SASL_SSL; each goes to the client librdkafka says it is for: consumer-only ones (fetch.wait.max.ms) to the consumer, producer-only ones (linger.ms) to the producer, the rest to both.", 0},
    PDM_OPTIONS_END,
};

static pdm_scorer *running;

static void on_stop(int sig) { pdm_scorer_stop(running); }
static void on_hup(int sig) { pdm_scorer_request_reload(running); }


/* The duration options, each refused by its own name. */
static int parse_durations(const scorer_options *o, pdm_scorer_config *cfg, char *err,
                           size_t errlen)
{
    const struct {
        const char *name, *text;
        int64_t *out;
    } durations[] = {
        {"renotify", o->renotify, &cfg->renotify_ms},
        {"lateness", o->lateness, &cfg->lateness_ms},
        {"silence-after", o->silence_after, &cfg->silence_after_ms},
        {"silence-forget", o->silence_forget, &cfg->silence_forget_ms},
        {"max-wait", o->max_wait, &cfg->max_wait_ms},
        {"max-idle", o->max_idle, &cfg->max_idle_ms},
        {"drift-window", o->drift_window, &cfg->drift_window_ms},
        {"state-ttl", o->state_ttl, &cfg->state_ttl_ms},
    };
    for (size_t i = 0; i < sizeof durations / sizeof *durations; i++)
        if (pdm_duration_parse(durations[i].text, durations[i].out))
            return pdm_err(err, errlen, "--%s takes a duration such as 100ms, 30m or 48h, not '%s'",
                           durations[i].name, durations[i].text);
    return 0;
}

/* The integer options' ranges, each refused by its own name. */
static int check_ranges(const scorer_options *o, char *err, size_t errlen)
{
    const struct {
        const char *name;
        long long value, lo, hi;
    } ranges[] = {
        {"batch-size", o->batch_size, 1, 100000},
        {"http-threads", o->http_threads, 1, 64},
        {"http-max-body", o->http_max_body, 1024, LLONG_MAX},
        {"drift-rows", o->drift_rows, 1, LLONG_MAX},
        {"metrics-machines", o->metrics_machines, 0, LLONG_MAX},
        {"state-cache", o->state_cache_mb, 0, 1048576},
        {"model-threads", o->model_threads, 0, 1024},
        {"score-threads", o->score_threads, 0, 64},
        {"max-machines", o->max_machines, 8, 100000000},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++) {
        if (ranges[i].value >= ranges[i].lo && ranges[i].value <= ranges[i].hi)
            continue;
        if (ranges[i].hi == LLONG_MAX)
            return pdm_err(err, errlen, "--%s must be at least %lld, not %lld", ranges[i].name,
                           ranges[i].lo, ranges[i].value);
        return pdm_err(err, errlen, "--%s must be %lld..%lld, not %lld", ranges[i].name,
                       ranges[i].lo, ranges[i].hi, ranges[i].value);
    }
    return 0;
}

/* The scorer's configuration from the checked options (topics apart).
 * 0, or -1 with the usage error in err. */
static int to_config(const scorer_options *o, pdm_scorer_config *cfg, char *err, size_t errlen)
{
    if (!o->model)
        return pdm_err(err, errlen, "--model DIR is required (see --help)");
    if (!strcmp(o->emit, "changes"))
        cfg->emit = PDM_EMIT_CHANGES;
    else if (!strcmp(o->emit, "alerts"))
        cfg->emit = PDM_EMIT_ALERTS;
    else if (!strcmp(o->emit, "all"))
        cfg->emit = PDM_EMIT_ALL;
    else if (!strcmp(o->emit, "incidents"))
        cfg->emit = PDM_EMIT_INCIDENTS;
    else
        return pdm_err(err, errlen, "--emit must be changes, alerts, all or incidents, not '%s'",
                       o->emit);
    if (parse_durations(o, cfg, err, errlen))
        return -1;
    if (cfg->silence_after_ms > 0 && cfg->silence_forget_ms < cfg->silence_after_ms)
        return pdm_err(err, errlen, "--silence-forget must be at least --silence-after");
    if (cfg->state_ttl_ms > 0 && cfg->state_ttl_ms < 1000)
        return pdm_err(err, errlen, "--state-ttl must be 0 (never) or at least 1s");
    if (pdm_rule_thresholds_check(o->warn, o->critical, err, errlen))
        return -1;
    int32_t ids[PDM_EV_COUNT];
    if (pdm_schema_ids_parse(o->schema_ids, ids, err, errlen))
        return -1;
    if (!*o->group)
        return pdm_err(err, errlen, "--group must name a consumer group (it is empty)");
    if (check_ranges(o, err, errlen))
        return -1;
    if (strcmp(o->predictor, "native") && strcmp(o->predictor, "xgboost"))
        return pdm_err(err, errlen, "--predictor must be native or xgboost, not '%s'",
                       o->predictor);
    int64_t request_timeout_ms = 0;
    if (pdm_duration_parse(o->http_request_timeout, &request_timeout_ms) ||
        request_timeout_ms < 100 || request_timeout_ms > 3600000)
        return pdm_err(err, errlen, "--http-request-timeout must be a duration of 100ms..1h");
    if (o->http_per_ip_limit < 0 || o->http_per_ip_limit > 64)
        return pdm_err(err, errlen, "--http-per-ip-limit must be 0..64");
    if (!o->http_tls_cert != !o->http_tls_key)
        return pdm_err(err, errlen, "--http-tls-cert and --http-tls-key go together");
    if (o->http_tls_client_ca && !o->http_tls_cert)
        return pdm_err(err, errlen, "--http-tls-client-ca needs --http-tls-cert and --http-tls-key");
    if (o->http_token && o->http_admin_token && !strcmp(o->http_token, o->http_admin_token))
        return pdm_err(err, errlen, "--http-admin-token must differ from --http-token");
    cfg->native_predictor = strcmp(o->predictor, "native") == 0;
    cfg->brokers = o->brokers;
    cfg->machines_topic = o->machines_topic;
    cfg->group = o->group;
    cfg->risk_topic = o->risk_topic;
    cfg->dlq_topic = o->dlq_topic;
    cfg->kafka_props = &o->props;
    cfg->redis_url = o->redis;
    cfg->redis_password = o->redis_password;
    cfg->model_dir = o->model;
    cfg->shadow_model_dir = o->shadow_model && o->shadow_model[0] ? o->shadow_model : NULL;
    cfg->shadow_topic = o->shadow_topic;
    cfg->shadow_reasons = o->shadow_reasons;
    if (cfg->shadow_model_dir && (!o->shadow_topic || !o->shadow_topic[0] ||
                                  !strcmp(o->shadow_topic, o->risk_topic)))
        return pdm_err(err, errlen, "--shadow-topic must be set and differ from --risk-topic");
    cfg->warn = o->warn;
    cfg->critical = o->critical;
    cfg->batch_size = (int)o->batch_size;
    cfg->exit_at_end = o->exit_at_end;
    cfg->dump_features = o->dump_features;
    cfg->schema_ids = o->schema_ids;
    cfg->model_threads = (int)o->model_threads;
    cfg->score_threads = (int)o->score_threads;
    cfg->http_bind = o->http;
    cfg->http_token = o->http_token;
    cfg->http_auth_metrics = o->http_auth_metrics;
    cfg->http_admin_token = o->http_admin_token;
    cfg->http_request_timeout_ms = (unsigned)request_timeout_ms;
    cfg->http_per_ip_limit = (unsigned)o->http_per_ip_limit;
    cfg->http_tls_cert = o->http_tls_cert;
    cfg->http_tls_key = o->http_tls_key;
    cfg->http_tls_client_ca = o->http_tls_client_ca;
    cfg->http_threads = (unsigned)o->http_threads;
    cfg->http_max_body = (size_t)o->http_max_body;
    cfg->drift_rows = (size_t)o->drift_rows;
    cfg->metrics_machines = (size_t)o->metrics_machines;
    cfg->max_machines = (size_t)o->max_machines;
    cfg->state_cache_bytes = (size_t)o->state_cache_mb << 20;
    return 0;
}

/* --instance-id into id (its "env:NAME" form read), or "" without it.
 * 0, or -1 with the usage error in err. */
static int resolve_instance_id(const scorer_options *o, char *id, size_t idlen, char *err,
                               size_t errlen)
{
    id[0] = '\0';
    if (!o->instance_id)
        return 0;
    for (size_t i = 0; i < o->props.count; i++)
        if (strcmp(o->props.keys[i], "group.instance.id") == 0)
            return pdm_err(err, errlen, "give --instance-id or -X group.instance.id, not both");
    return pdm_kafka_instance_id_resolve(o->instance_id, id, idlen, err, errlen);
}

/* Creates the scorer and runs it until a signal stops it. 0 on a clean stop. */
static int serve(const pdm_scorer_config *cfg, const scorer_options *o)
{
    char err[PDM_ERRSTR_SIZE];
    int rc = 1;
    pdm_scorer *s = pdm_scorer_new(cfg, err, sizeof err);
    if (!s) {
        pdm_log(PDM_LOG_ERROR, "%s", err);
        return 1;
    }
    running = s;
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    pdm_log(PDM_LOG_INFO, "consuming %s from %s as group %s", o->topics, o->brokers, o->group);
    if (pdm_scorer_run(s, err, sizeof err))
        pdm_log(PDM_LOG_ERROR, "%s", err);
    else
        rc = 0;
    pdm_scorer_destroy(s);
    return rc;
}

int main(int argc, char **argv)
{
    scorer_options o = {0};
    pdm_scorer_config cfg = {0};
    pdm_topic_list topics = {0};
    const char **topic_names = NULL;
    char err[PDM_ERRSTR_SIZE], instance_id[256];
    int rc = 2;
    const pdm_program program = {
        "pdm-scorer",
        "usage: pdm-scorer --brokers B --redis URL --model DIR [--group ID] "
        "[--http ADDR:PORT] [--emit changes|alerts|all|incidents] "
        "[--dump-features FILE] [--exit-at-end]",
        options, 0, offsetof(scorer_options, log_level)};

    if (pdm_program_start(&program, &o, argc, argv, NULL, &rc))
        goto out;
    if (to_config(&o, &cfg, err, sizeof err) ||
        resolve_instance_id(&o, instance_id, sizeof instance_id, err, sizeof err))
        goto usage;
    cfg.instance_id = instance_id[0] ? instance_id : NULL;
    if (pdm_topic_list_add_csv(&topics, o.topics, err, sizeof err)) {
        fprintf(stderr, "pdm-scorer: --topics: %s\n", err);
        goto out;
    }
    rc = 1;
    topic_names = calloc(topics.count + 1, sizeof *topic_names);
    if (!topic_names)
        goto out;
    for (size_t i = 0, n = 0; i < topics.count; i++) {
        if (cfg.machines_topic && strcmp(topics.names[i], cfg.machines_topic) == 0) {
            pdm_log(PDM_LOG_INFO, "%s is the machines table (--machines-topic), read whole "
                                  "rather than as a stream topic", topics.names[i]);
            continue;
        }
        topic_names[n++] = topics.names[i];
    }
    if (!topic_names[0]) {
        fprintf(stderr, "pdm-scorer: --topics names no stream topic besides the machines table\n");
        rc = 2;
        goto out;
    }
    cfg.topics = topic_names;
    rc = serve(&cfg, &o);
    goto out;
usage:
    fprintf(stderr, "pdm-scorer: %s\n", err);
out:
    free(topic_names);
    pdm_topic_list_clear(&topics);
    pdm_options_free(options, &o);
    return rc;
}
