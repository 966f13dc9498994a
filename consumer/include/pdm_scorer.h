/* pdm_scorer.h: the streaming scorer (pdm-scorer's library).
 *
 * Consumes the input topics in a Kafka consumer group, keeps each machine's
 * rolling-window state in Redis, computes the v1 features of every telemetry
 * event, scores them in batches with the loaded model and publishes
 * RiskEvents. A batch's offsets are committed only after its Redis writes are
 * acknowledged and its output (risk events and dead letters) is delivered:
 * output is at-least-once, state updates are idempotent, so features are
 * effectively-once.
 */
#ifndef PDM_SCORER_H
#define PDM_SCORER_H

#include <stdint.h>

#include "pdm_common.h"
#include "pdm_rules.h" /* pdm_emit_mode */

typedef struct {
    const char *brokers;
    const char *group;
    const char *instance_id;   /* group.instance.id (static membership); NULL: dynamic */
    const char *const *topics; /* input topics, NULL-terminated */
    int64_t max_idle_ms;       /* how long a task waits for an input partition (merge) */
    const char *machines_topic; /* the machines table, read whole; NULL or "": none */
    const char *risk_topic;
    const char *dlq_topic;
    const pdm_kvlist *kafka_props; /* -X, applied to consumer and producer */
    const char *redis_url;
    const char *redis_password;    /* may be NULL */
    const char *model_dir;         /* a package, or a directory with a `current` link */
    const char *shadow_model_dir;  /* --shadow-model, like model_dir; NULL or "": no shadow */
    const char *shadow_topic;      /* the shadow model's RiskEvents go here only */
    int shadow_reasons;            /* TreeSHAP top_reasons on the shadow's alerts too */
    pdm_emit_mode emit;
    int64_t renotify_ms;           /* re-emit CRITICAL after this much event time */
    int64_t lateness_ms;           /* allowed lateness behind the machine's newest telemetry */
    int64_t silence_after_ms;      /* silent past this much event time; 0: not tracked */
    int64_t silence_forget_ms;     /* forgotten once silent this long (>= silence_after_ms) */
    double warn, critical;         /* threshold overrides; NaN: the model's */
    int batch_size;
    int exit_at_end;
    const char *dump_features;     /* CSV path or NULL */
    const char *schema_ids;        /* --schema-ids: Confluent registry ids, or NULL */
    int model_threads;
    int score_threads;             /* native evaluator / TreeSHAP threads per batch; 0: auto */
    int native_predictor;          /* score with the native evaluator once proven */
    int64_t max_wait_ms;           /* how long a batch waits to fill */
    /* HTTP API and /metrics (see README "HTTP API") */
    const char *http_bind;         /* "ADDR:PORT"; NULL, "" or "off": no server */
    const char *http_token;        /* bearer token for /v1/ (NULL or "": none) */
    int http_auth_metrics;         /* the token also guards /metrics */
    unsigned http_threads;
    size_t http_max_body;
    const char *http_admin_token;  /* the only token reaching /v1/admin/ (NULL: http_token) */
    unsigned http_request_timeout_ms; /* a request must arrive whole within this (0: 10 s) */
    unsigned http_per_ip_limit;    /* connections per client address (0: no limit) */
    const char *http_tls_cert;     /* PEM files: HTTPS when set (reloaded on SIGHUP) */
    const char *http_tls_key;
    const char *http_tls_client_ca; /* require client certificates signed by this CA */
    size_t drift_rows;             /* evaluate drift every N scored rows ... */
    int64_t drift_window_ms;       /* ... or after this long */
    size_t metrics_machines;       /* per-machine risk gauges for at most this many */
    size_t state_cache_bytes;      /* in-process copy of the machines' state; 0: none */
    int64_t state_ttl_ms;          /* a machine's Redis keys expire this long after its last write; 0: never */
    size_t max_machines;           /* per-machine structures in memory hold at most this many
                                    * (silence and performance trackers, machines table);
                                    * 0: PDM_SCORER_MAX_MACHINES */
} pdm_scorer_config;

#define PDM_SCORER_MAX_MACHINES 1000000

typedef struct pdm_scorer pdm_scorer;

pdm_scorer *pdm_scorer_new(const pdm_scorer_config *cfg, char *errstr, size_t errlen);
/* Runs until pdm_scorer_stop (or, with exit_at_end, until every assigned
 * partition is consumed to its end). Returns 0 on a clean stop. */
int pdm_scorer_run(pdm_scorer *s, char *errstr, size_t errlen);
/* Async-signal-safe: ask the loop to finish its batch and stop. */
void pdm_scorer_stop(pdm_scorer *s);
/* The HTTP server's bound port (0 without one). */
unsigned pdm_scorer_http_port(const pdm_scorer *s);
/* Async-signal-safe: ask the loop to reload the model at the next batch,
 * and the HTTP server its TLS certificate and key files. */
void pdm_scorer_request_reload(pdm_scorer *s);
void pdm_scorer_destroy(pdm_scorer *s);

#endif
