/* scorer.c: creating and destroying the scorer (the parts are described in
 * scorer.h, the loop in scorer_loop.c). Creation goes from the ground up:
 * metrics, the model, the live-performance tracker, the state layer, the
 * output, the Kafka clients, and last the HTTP API, which needs all of
 * them; destruction stops the API first, so that no handler sees the rest
 * go away.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scorer.h"

static void model_changed(void *ctx, const char *version, const char *old_version)
{
    pdm_scorer *s = ctx;
    scorer_metrics_model(&s->metrics, version, old_version);
}

static void kafka_stats(void *ctx, const char *json, size_t len)
{
    pdm_scorer *s = ctx;
    scorer_metrics_kafka_stats(&s->metrics, json, len);
}

/* The live-performance tracker, over the model's horizon. */
static pdm_perf *perf_new(scorer_model *model, size_t max_machines, char *errstr, size_t errlen)
{
    pdm_perf_options po;
    pdm_perf_options_init(&po);
    double horizon = pdm_model_horizon_hours(scorer_model_get(model));
    if (isfinite(horizon) && horizon > 0)
        po.horizon_ms = (int64_t)(horizon * PDM_MS_PER_HOUR);
    po.max_machines = max_machines;
    return pdm_perf_new(&po, errstr, errlen);
}

/* The configuration with its defaults filled in and checked. */
static int take_config(pdm_scorer *s, const pdm_scorer_config *cfg, char *errstr, size_t errlen)
{
    s->cfg = *cfg;
    size_t n_topics = 0;
    while (cfg->topics && cfg->topics[n_topics])
        n_topics++;
    if (n_topics == 0 || n_topics > PDM_RS_MAX_SOURCES)
        return pdm_err(errstr, errlen, "give 1 to %d input topics, not %zu", PDM_RS_MAX_SOURCES,
                       n_topics);
    if (s->cfg.batch_size <= 0)
        s->cfg.batch_size = 2000;
    if (s->cfg.max_machines == 0)
        s->cfg.max_machines = PDM_SCORER_MAX_MACHINES;
    pdm_drift_options_init(&s->drift_opts);
    if (cfg->drift_rows)
        s->drift_opts.window_rows = cfg->drift_rows;
    if (cfg->drift_window_ms > 0)
        s->drift_opts.window_ms = cfg->drift_window_ms;
    return 0;
}

pdm_scorer *pdm_scorer_new(const pdm_scorer_config *cfg, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    pdm_scorer *s = calloc(1, sizeof *s);
    if (!s) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    if (take_config(s, cfg, errstr, errlen))
        goto fail;
    s->registry = pdm_registry_new(PDM_REGISTRY_PROCESS_METRICS, msg, sizeof msg);
    if (!s->registry) {
        pdm_err(errstr, errlen, "metrics: %s", msg);
        goto fail;
    }
    /* Metrics before the model: installing it sets the model info. */
    if (scorer_metrics_init(&s->metrics, s->registry, s->cfg.metrics_machines, errstr, errlen))
        goto fail;
    s->model = scorer_model_new(&s->cfg, &s->drift_opts, model_changed, s, errstr, errlen);
    if (!s->model || !(s->perf = perf_new(s->model, s->cfg.max_machines, errstr, errlen)))
        goto fail;
    if (scorer_shadow_new(&s->cfg, s->model, s->registry, &s->shadow, errstr, errlen))
        goto fail;
    atomic_store(&s->stream_time, INT64_MIN);
    if (s->cfg.silence_after_ms > 0) {
        scorer_silence_config sc = {s->cfg.silence_after_ms, s->cfg.silence_forget_ms,
                                    s->cfg.max_machines};
        if (sc.forget_after_ms < sc.silence_after_ms)
            sc.forget_after_ms = sc.silence_after_ms;
        if (!(s->silence = scorer_silence_new(&sc))) {
            pdm_err(errstr, errlen, "out of memory");
            goto fail;
        }
    }
    s->batch = scorer_batch_new((size_t)s->cfg.batch_size);
    if (!s->batch) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    scorer_kafka_hooks hooks = {scorer_loop_before_revoke, kafka_stats, s};
    scorer_api_deps api = {&s->cfg,          s->model,     s->registry,     &s->metrics, s->perf,
                           &s->kafka.joined, &s->state.up, &s->stream_time, s->shadow};
    if (scorer_state_open(&s->state, &s->cfg, s->batch->cap, &s->stop, &s->metrics, errstr,
                          errlen) ||
        scorer_output_open(&s->output, &s->cfg, &s->kafka, &s->metrics, errstr, errlen) ||
        scorer_kafka_open(&s->kafka, &s->cfg, &s->stop, &hooks, errstr, errlen) ||
        scorer_table_open(&s->table, &s->cfg, errstr, errlen) ||
        scorer_api_start(&api, &s->api, errstr, errlen))
        goto fail;
    return s;
fail:
    pdm_scorer_destroy(s);
    return NULL;
}

void pdm_scorer_stop(pdm_scorer *s)
{
    atomic_store(&s->stop, 1);
}
void pdm_scorer_request_reload(pdm_scorer *s)
{
    scorer_model_request_reload(s->model);
    scorer_shadow_request_reload(s->shadow);
    scorer_api_request_tls_reload(s->api);
}
unsigned pdm_scorer_http_port(const pdm_scorer *s)
{
    return scorer_api_port(s->api);
}

void pdm_scorer_destroy(pdm_scorer *s)
{
    if (!s)
        return;
    scorer_api_stop(s->api); /* no HTTP thread may see what follows go away */
    scorer_kafka_close(&s->kafka);
    scorer_table_close(s->table);
    scorer_loop_pending_clear(s);
    scorer_output_close(&s->output);
    scorer_state_close(&s->state);
    scorer_batch_destroy(s->batch);
    scorer_silence_destroy(s->silence);
    free(s->silence_changes);
    free(s->silent_risks.items);
    pdm_perf_destroy(s->perf);
    scorer_shadow_destroy(s->shadow);
    scorer_model_destroy(s->model);
    scorer_metrics_destroy(&s->metrics);
    pdm_registry_destroy(s->registry);
    free(s);
}
