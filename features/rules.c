/* rules.c: the stream rules shared by the trainer's store and the scorer
 * (see pdm_rules.h). */
#include "pdm_rules.h"

#include <math.h>

#include "pdm_features.h"

int pdm_rule_is_late(pdm_event_type type, int64_t ts, int64_t newest, int64_t lateness_ms)
{
    if (type == PDM_EV_MACHINE || newest == INT64_MIN || lateness_ms < 0 || ts >= newest)
        return 0;
    /* newest - ts, exact in unsigned arithmetic for any ts < newest. */
    return (uint64_t)newest - (uint64_t)ts > (uint64_t)lateness_ms;
}

int64_t pdm_rule_trim_horizon(int64_t newest, int64_t lateness_ms)
{
    if (newest == INT64_MIN || lateness_ms < 0)
        return INT64_MIN;
    if (lateness_ms > INT64_MAX - PDM_FEATURES_LONG_WINDOW_MS)
        return INT64_MIN; /* beyond any event time */
    int64_t back = PDM_FEATURES_LONG_WINDOW_MS + lateness_ms;
    return newest < INT64_MIN + back ? INT64_MIN : newest - back;
}

/* Floor division (event times may be before 1970). */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

int pdm_rule_trim_due(int64_t base, int64_t newest)
{
    if (base == INT64_MIN || newest == INT64_MIN)
        return 0;
    return floor_div(newest, PDM_RULE_TRIM_EVERY_MS) != floor_div(base, PDM_RULE_TRIM_EVERY_MS);
}

pdm_level pdm_rule_level(double risk, double warn, double critical)
{
    if (risk >= critical)
        return PDM_LEVEL_CRITICAL;
    if (risk >= warn)
        return PDM_LEVEL_WARN;
    return PDM_LEVEL_OK;
}

int pdm_rule_thresholds_check(double warn, double critical, char *errstr, size_t errlen)
{
    const struct {
        const char *name;
        double v;
    } t[] = {{"warn", warn}, {"critical", critical}};
    for (int i = 0; i < 2; i++)
        if (!isnan(t[i].v) && !(t[i].v >= 0.0 && t[i].v <= 1.0))
            return pdm_err(errstr, errlen, "--%s must be a risk from 0 to 1, not %g", t[i].name,
                           t[i].v);
    if (!isnan(warn) && !isnan(critical) && warn > critical)
        return pdm_err(errstr, errlen, "--warn %g is above --critical %g (WARN must come first)",
                       warn, critical);
    return 0;
}

int pdm_rule_emit(pdm_emit_mode mode, int64_t renotify_ms, pdm_emit_state *st, pdm_level level,
                  int64_t ts)
{
    int emit = 0;
    switch (mode) {
    case PDM_EMIT_ALL:
        emit = 1;
        break;
    case PDM_EMIT_ALERTS:
        emit = level != PDM_LEVEL_OK;
        break;
    case PDM_EMIT_CHANGES:
        if ((int)level != st->level)
            emit = st->level >= 0 || level != PDM_LEVEL_OK;
        else if (level == PDM_LEVEL_CRITICAL && renotify_ms > 0)
            emit = st->notified_at == INT64_MIN || ts - st->notified_at >= renotify_ms;
        break;
    case PDM_EMIT_INCIDENTS:
        break; /* the alert state machine decides (pdm_alerts.h), not a rule */
    }
    st->level = (int)level;
    if (emit)
        st->notified_at = ts;
    return emit;
}

int pdm_rule_stream_rank(pdm_event_type type)
{
    static const int rank[PDM_EV_COUNT] = {
        [PDM_EV_MACHINE] = 0, [PDM_EV_MAINTENANCE] = 1, [PDM_EV_ERROR] = 2,
        [PDM_EV_FAILURE] = 3, [PDM_EV_TELEMETRY] = 4,   [PDM_EV_RISK] = 5,
        [PDM_EV_SILENCE] = 5,
    };
    return (int)type >= 0 && type < PDM_EV_COUNT ? rank[type] : 5;
}

/* a - b > limit, for any int64 values (limit >= 0). */
static int ahead_by_more(int64_t a, int64_t b, int64_t limit)
{
    return a > b && (uint64_t)a - (uint64_t)b > (uint64_t)limit;
}

int pdm_rule_is_spike(int64_t ts, int64_t prev, int64_t next, int64_t limit_ms)
{
    if (limit_ms < 0 || ts == INT64_MIN || next == INT64_MIN)
        return 0;
    return (prev == INT64_MIN || ahead_by_more(ts, prev, limit_ms)) &&
           ahead_by_more(ts, next, limit_ms);
}

int pdm_rule_spike_needs_next(int64_t ts, int64_t prev, int64_t limit_ms)
{
    if (limit_ms < 0 || ts == INT64_MIN)
        return 0;
    return prev == INT64_MIN || ahead_by_more(ts, prev, limit_ms);
}

int pdm_rule_pairs_later(pdm_event_type type)
{
    return type == PDM_EV_MAINTENANCE;
}

int pdm_rule_pair_last_rank(void)
{
    return pdm_rule_stream_rank(PDM_EV_FAILURE);
}
