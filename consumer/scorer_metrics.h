/* scorer_metrics.h (internal to consumer/): the scorer's Prometheus metric
 * families in the registry, and the children the loop updates, looked up
 * once. The registry is the scorer's one set of counters: its "stopped:"
 * summary reads them back too.
 */
#ifndef PDM_SCORER_METRICS_H
#define PDM_SCORER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_monitor.h"
#include "pdm_schemas.h"
#include "scorer_stages.h"

/* pdm_incidents_total's outcomes: what an incident's RiskEvent says. */
enum {
    SCORER_OUTCOME_OPENED,
    SCORER_OUTCOME_ESCALATED,
    SCORER_OUTCOME_RENOTIFIED,
    SCORER_OUTCOME_CLEARED,
    SCORER_OUTCOME_REPAIRED,
    SCORER_OUTCOME_FAILED,
    SCORER_OUTCOME_SILENT,
    SCORER_N_OUTCOMES
};
extern const char *const scorer_outcome_labels[SCORER_N_OUTCOMES];

/* The bounded per-machine structures in memory (--max-machines; the state
 * cache by bytes), as pdm_machines_{held,evicted_total}{structure} label. */
typedef enum {
    SCORER_STATE_CACHE,
    SCORER_SILENCE,
    SCORER_PERF,
    SCORER_TABLE,
    SCORER_STRUCTURES
} scorer_structure;

typedef struct {
    pdm_metric *bad, *psi, *missing, *machine_risk, *machine_level, *lag, *model_info;
    pdm_metric *events_by_type, *risk_by_level, *cache_by_result, *silence_by_event;
    pdm_metric *incidents_by_outcome, *incidents_by_level;
    pdm_metric_child *messages, *events[PDM_EV_COUNT];
    pdm_metric_child *dlq, *rows, *redis_errors, *reloads, *state_lost, *commits, *delivery_errors;
    pdm_metric_child *risk_events[3];
    pdm_metric_child *silence_events[2]; /* came back, went silent */
    /* --emit incidents: notifications and resolutions produced, by
     * SCORER_OUTCOME_*; open incidents (fleet-wide, from Redis) by level
     * (warn, critical); lead times of incidents resolved by a failure */
    pdm_metric_child *incidents[SCORER_N_OUTCOMES];
    pdm_metric_child *incidents_open[2];
    pdm_metric_child *lead_time;
    pdm_metric_child *machines_silent;
    pdm_metric_child *batch_size, *latency, *redis_rtt;
    pdm_metric_child *cache_lookups[3]; /* hit, stale, miss */
    pdm_metric_child *cache_machines;
    pdm_metric *evicted_by_structure, *held_by_structure;
    pdm_metric_child *machines_evicted[SCORER_STRUCTURES], *machines_held[SCORER_STRUCTURES];
    pdm_metric_child *ready, *event_lag, *risk_psi, *precision, *recall;
    /* assigned partitions librdkafka is not fetching, and for how many
     * statistics in a row; when that was last logged */
    pdm_metric_child *not_fetching;
    int not_fetching_turns;
    double not_fetching_said;
    pdm_metric_child *tp, *fp, *caught, *missed;
    pdm_metric *stage_wall_by_stage, *stage_cpu_by_stage;
    pdm_metric_child *stage_wall[SCORER_STAGES], *stage_cpu[SCORER_STAGES];
    double stage_wall_published[SCORER_STAGES], stage_cpu_published[SCORER_STAGES];
    size_t machines_cap;                  /* per-machine series for at most this many */
    int32_t *exported;                    /* machine ids with their own series (a hash set) */
    pdm_metric_child **exported_children; /* per slot: its risk and level series */
    size_t exported_cap, machines_exported;
} scorer_metrics;

/* Registers every family in r (which outlives m). */
int scorer_metrics_init(scorer_metrics *m, pdm_registry *r, size_t machines_cap, char *errstr,
                        size_t errlen);
void scorer_metrics_destroy(scorer_metrics *m);

/* The per-machine risk and level gauges (loop thread). */
void scorer_metrics_machine(scorer_metrics *m, int32_t machine_id, const pdm_risk *r);
/* A structure's machines now and its evictions so far (a monotonic count
 * kept by the structure). */
void scorer_metrics_structure(scorer_metrics *m, scorer_structure s, size_t held, uint64_t evicted);
/* The loop's stage clock into pdm_loop_{,cpu_}seconds_total (what it
 * gained since the last call; loop thread). */
void scorer_metrics_stages(scorer_metrics *m, const scorer_stages *c);
/* pdm_model_info: 1 for version, 0 for old_version ("" or NULL: none). */
void scorer_metrics_model(scorer_metrics *m, const char *version, const char *old_version);
/* Consumer lag per partition from librdkafka's statistics JSON, and the
 * assigned partitions it is not fetching (a fetch state other than active:
 * logged as a warning once three statistics in a row have some, at most
 * every minute). */
void scorer_metrics_kafka_stats(scorer_metrics *m, const char *json, size_t len);
/* Render time: the live-performance counters and gauges from the tracker,
 * and the latest drift window when d is not NULL. */
void scorer_metrics_collect(scorer_metrics *m, int ready, const pdm_drift_result *d,
                            pdm_perf *perf);
/* Counter values as whole numbers (the summary at exit). */
uint64_t scorer_metrics_count(const pdm_metric_child *c);

#endif
