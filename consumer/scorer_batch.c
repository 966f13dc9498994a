/* scorer_batch.c: the batch object and its network-free steps (see
 * scorer_batch.h). */
#include "scorer_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_alerts.h"
#include "predict_request.h"

_Static_assert(PDM_RS_ALERT_TEXT >= PDM_ALERT_TEXT_MAX, "room for the alert state's text");

scorer_batch *scorer_batch_new(size_t cap)
{
    scorer_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->cap = cap;
    b->items = calloc(cap, sizeof *b->items);
    b->rows = malloc(cap * PDM_N_FEATURES * sizeof *b->rows);
    b->risks = malloc(cap * sizeof *b->risks);
    b->world = malloc(cap * sizeof *b->world);
    b->row_item = malloc(cap * sizeof *b->row_item);
    b->explain_rows = malloc(cap * PDM_N_FEATURES * sizeof *b->explain_rows);
    b->explain = malloc(cap * sizeof *b->explain);
    b->row_risk = malloc(cap * sizeof *b->row_risk);
    b->row_machine = malloc(cap * sizeof *b->row_machine);
    b->row_ts = malloc(cap * sizeof *b->row_ts);
    b->row_alert = malloc(cap * sizeof *b->row_alert);
    b->machine_events = malloc(cap * sizeof *b->machine_events);
    b->hash_cap = 1;
    while (b->hash_cap < 4 * cap)
        b->hash_cap <<= 1;
    b->hash = calloc(b->hash_cap, sizeof *b->hash);
    if (!b->items || !b->rows || !b->risks || !b->world || !b->row_item || !b->explain_rows ||
        !b->explain || !b->row_risk || !b->row_machine || !b->row_ts || !b->row_alert ||
        !b->machine_events || !b->hash) {
        scorer_batch_destroy(b);
        return NULL;
    }
    return b;
}

void scorer_batch_reset(scorer_batch *b)
{
    for (size_t i = 0; i < b->n_machines; i++) {
        pdm_rs_machine_clear(&b->machines[i].stored);
        pdm_machine_state_destroy(b->machines[i].state);
        b->machines[i].state = NULL;
    }
    b->n_machines = 0;
    memset(b->hash, 0, b->hash_cap * sizeof *b->hash);
    b->n_rows = 0;
    b->n_world = 0;
    memset(b->events, 0, sizeof b->events);
}

void scorer_batch_destroy(scorer_batch *b)
{
    if (!b)
        return;
    if (b->hash)
        scorer_batch_reset(b);
    free(b->machines);
    free(b->items);
    free(b->rows);
    free(b->risks);
    free(b->world);
    free(b->row_item);
    free(b->explain_rows);
    free(b->explain);
    free(b->row_risk);
    free(b->row_machine);
    free(b->row_ts);
    free(b->row_alert);
    free(b->machine_events);
    free(b->hash);
    free(b);
}

/* Notes that machine m has a message at offset of (topic, partition). */
static void machine_source(scorer_machine *m, const char *topic, int32_t partition, int64_t offset)
{
    for (size_t i = 0; i < m->n_src; i++) {
        if (m->src[i].partition == partition && strcmp(m->src[i].topic, topic) == 0) {
            m->src[i].last = offset;
            return;
        }
    }
    /* Input topics are at most PDM_RS_MAX_SOURCES (checked at start) and a
     * key maps to one partition per topic, so there is room. */
    if (m->n_src < PDM_RS_MAX_SOURCES) {
        m->src[m->n_src].topic = topic;
        m->src[m->n_src].partition = partition;
        m->src[m->n_src].first = offset;
        m->src[m->n_src].last = offset;
        m->n_src++;
    }
}

/* The batch's machine of this id (added if new), with msg as one of its
 * sources; -1 out of memory. */
static int machine_slot(scorer_batch *b, int32_t id, const rd_kafka_message_t *msg)
{
    size_t mask = b->hash_cap - 1;
    size_t h = ((uint32_t)id * 2654435761u) & mask;
    const char *topic = rd_kafka_topic_name(msg->rkt);
    while (b->hash[h]) {
        scorer_machine *m = &b->machines[b->hash[h] - 1];
        if (m->id == id) {
            machine_source(m, topic, msg->partition, msg->offset);
            return b->hash[h] - 1;
        }
        h = (h + 1) & mask;
    }
    if (b->n_machines == b->cap_machines) {
        size_t cap = b->cap_machines ? b->cap_machines * 2 : 256;
        scorer_machine *m = realloc(b->machines, cap * sizeof *m);
        if (!m)
            return -1;
        b->machines = m;
        b->cap_machines = cap;
    }
    scorer_machine *m = &b->machines[b->n_machines];
    memset(m, 0, sizeof *m);
    m->id = id;
    machine_source(m, topic, msg->partition, msg->offset);
    m->min_ts = INT64_MAX;
    m->last_row = -1;
    m->first_event = m->last_event = -1;
    b->hash[h] = (int32_t)++b->n_machines;
    return (int)(b->n_machines - 1);
}

int scorer_batch_decode(scorer_batch *b, pdm_codec *codec, int64_t now_ms)
{
    scorer_batch_reset(b);
    for (size_t i = 0; i < b->n; i++) {
        scorer_item *it = &b->items[i];
        rd_kafka_message_t *msg = it->msg;
        it->machine = -1;
        it->row = -1;
        it->emit = 0;
        it->world = -1;
        it->incident = 0;
        it->bad_reason = NULL;
        int st = pdm_codec_decode(codec, msg->payload, msg->len, &it->ev, it->bad_detail,
                                  sizeof it->bad_detail);
        if (st != PDM_DECODE_OK) {
            it->bad_reason = pdm_decode_status_name((pdm_decode_status)st);
            continue;
        }
        it->bad_reason = pdm_input_validate(&it->ev, now_ms, it->bad_detail, sizeof it->bad_detail);
        if (!it->bad_reason && it->spike) {
            char t[32];
            snprintf(it->bad_detail, sizeof it->bad_detail,
                     "timestamp %s is far ahead of the messages before and after it on its "
                     "partition (a clock set wrong?)",
                     pdm_time_format(it->ev.ts, t));
            it->bad_reason = "invalid_timestamp";
        }
        if (it->bad_reason)
            continue;
        int slot = machine_slot(b, it->ev.machine_id, msg);
        if (slot < 0)
            return -1;
        it->machine = slot;
        if (it->ev.type != PDM_EV_MACHINE && it->ev.ts < b->machines[slot].min_ts)
            b->machines[slot].min_ts = it->ev.ts;
    }
    return 0;
}

int scorer_batch_find(const scorer_batch *b, int32_t id)
{
    size_t mask = b->hash_cap - 1;
    for (size_t h = ((uint32_t)id * 2654435761u) & mask; b->hash[h]; h = (h + 1) & mask)
        if (b->machines[b->hash[h] - 1].id == id)
            return b->hash[h] - 1;
    return -1;
}

/* Appends item i to its machine's applied events and to the state it will
 * write; the stored bookkeeping follows (machine info, newest telemetry). */
static int apply_one(scorer_batch *b, size_t i, pdm_rs_batch *writes, pdm_perf *perf)
{
    scorer_item *it = &b->items[i];
    scorer_machine *m = &b->machines[it->machine];
    pdm_rs_machine *st = &m->stored;
    int newest = it->ev.type == PDM_EV_TELEMETRY && it->ev.ts > st->newest;
    if (pdm_machine_state_apply(m->state, &it->ev) || pdm_rs_batch_event(writes, &it->ev, newest))
        return -1;
    it->next_event = -1;
    if (m->last_event >= 0)
        b->items[m->last_event].next_event = (int)i;
    else
        m->first_event = (int)i;
    m->last_event = (int)i;
    b->events[it->ev.type]++;
    if (it->ev.type == PDM_EV_FAILURE && perf)
        pdm_perf_failure(perf, it->ev.machine_id, it->ev.ts);
    if (it->ev.type == PDM_EV_MACHINE) {
        st->has_info = 1;
        st->model = it->ev.u.machine.model;
        st->age = it->ev.u.machine.age;
    }
    if (newest)
        st->newest = it->ev.ts;
    return 0;
}

/* The machines table's row for m, applied before its events when its
 * stored info is missing or different. */
static int apply_table_row(scorer_machine *m, scorer_table_row *row, pdm_rs_batch *writes)
{
    pdm_rs_machine *st = &m->stored;
    if (st->has_info && (!row->pending || (st->model == row->model && st->age == row->age))) {
        row->pending = 0;
        return 0;
    }
    pdm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = PDM_EV_MACHINE;
    ev.machine_id = m->id;
    ev.u.machine.model = row->model;
    ev.u.machine.age = row->age;
    if (pdm_machine_state_apply(m->state, &ev) || pdm_rs_batch_event(writes, &ev, 0))
        return -1;
    st->has_info = 1;
    st->model = row->model;
    st->age = row->age;
    row->pending = 0;
    return 0;
}

int scorer_batch_apply(scorer_batch *b, scorer_table *table, int64_t lateness_ms,
                       pdm_rs_batch *writes, pdm_perf *perf)
{
    for (size_t i = 0; table && i < b->n_machines; i++) {
        scorer_table_row *row = scorer_table_find(table, b->machines[i].id);
        if (row && apply_table_row(&b->machines[i], row, writes))
            return -1;
    }
    for (size_t i = 0; i < b->n; i++) {
        scorer_item *it = &b->items[i];
        if (it->machine < 0)
            continue;
        scorer_machine *m = &b->machines[it->machine];
        if (pdm_rule_is_late(it->ev.type, it->ev.ts, m->stored.newest, lateness_ms)) {
            char t[32], newest[32];
            snprintf(it->bad_detail, sizeof it->bad_detail,
                     "event at %s is more than the allowed lateness behind %s",
                     pdm_time_format(it->ev.ts, t), pdm_time_format(m->stored.newest, newest));
            it->bad_reason = "late";
            continue;
        }
        if (apply_one(b, i, writes, perf))
            return -1;
        if (it->ev.type != PDM_EV_TELEMETRY)
            continue;
        double *row = b->rows + b->n_rows * PDM_N_FEATURES;
        pdm_machine_view view;
        pdm_machine_state_view(m->state, &view);
        pdm_features_compute(&view, it->ev.ts, row);
        it->row = (int)b->n_rows;
        b->row_item[b->n_rows++] = (int)i;
    }
    return 0;
}

/* ---- incidents ------------------------------------------------------------------ */

/* The machine's stored alert state: a fresh one when there is none, or when
 * the stored text does not decode (a corrupt field must not stop the
 * stream; the machine confirms afresh). */
static void alert_load(const scorer_machine *m, pdm_alert_state *st)
{
    char msg[PDM_ERRSTR_SIZE];
    const char *text = m->stored.alert;
    pdm_alert_state_init(st);
    if (text[0] && pdm_alert_state_decode(text, strlen(text), st, msg, sizeof msg)) {
        pdm_log(PDM_LOG_WARN, "machine %d: stored alert state '%s' ignored: %s", (int)m->id, text,
                msg);
        pdm_alert_state_init(st);
    }
}

int scorer_risk_component(const pdm_risk *r)
{
    int best = 0;
    for (int k = 1; k < PDM_N_COMPONENTS; k++)
        if (r->component_prob[k] > r->component_prob[best])
            best = k;
    return best + 1;
}

void scorer_risk_set_incident(pdm_risk *r, const pdm_incident *inc)
{
    snprintf(r->incident_id, sizeof r->incident_id, "%s", inc->incident_id);
    r->status = inc->status;
    r->opened_at = inc->opened_at;
    r->peak_risk = inc->peak_risk;
    r->component = inc->component;
    r->resolution = inc->resolution;
}

/* The RiskEvent of a resolution by the world (see scorer_batch_incidents). */
static void world_risk(scorer_batch *b, scorer_item *it, const pdm_incident *inc,
                       const char *model_version)
{
    pdm_risk *r = &b->world[b->n_world];
    memset(r, 0, sizeof *r);
    snprintf(r->model_version, sizeof r->model_version, "%s", model_version);
    r->level = PDM_LEVEL_OK;
    scorer_risk_set_incident(r, inc);
    it->world = (int)b->n_world++;
    it->emit = 1;
}

/* The world event an applied non-telemetry item stands for: itself, except
 * a maintenance record followed in the batch, at its own time, by a failure
 * of the same component: that record is the failure's repair
 * (pdm_alert_repair_of, the rule pdm_alert_replay applies too), so the
 * incident it resolves was met by the failure. */
static const pdm_event *world_event(const scorer_batch *b, const scorer_item *it, pdm_event *copy)
{
    if (it->ev.type != PDM_EV_MAINTENANCE)
        return &it->ev;
    for (int j = it->next_event; j >= 0 && b->items[j].ev.ts == it->ev.ts;
         j = b->items[j].next_event) {
        const pdm_event *next = &b->items[j].ev;
        if (pdm_alert_repair_of(&it->ev, next)) {
            *copy = *next;
            return copy;
        }
    }
    return &it->ev;
}

/* One machine's applied events through its alert state, in stream order. */
static int machine_incidents(scorer_batch *b, scorer_machine *m, const pdm_alert_policy *policy,
                             const char *model_version, char *errstr, size_t errlen)
{
    pdm_alert_state st;
    pdm_incident inc;
    pdm_event ev;
    alert_load(m, &st);
    m->incident_before = st.level;
    for (int j = m->first_event; j >= 0; j = b->items[j].next_event) {
        scorer_item *it = &b->items[j];
        it->emit = 0;
        if (it->row >= 0) {
            pdm_risk *r = &b->risks[it->row];
            pdm_alert_score row = {it->ev.ts, r->risk, scorer_risk_component(r)};
            if (pdm_alert_step(&st, policy, m->id, &row, &inc, errstr, errlen))
                return -1;
            pdm_risk_no_incident(r);
            it->incident = inc.emit;
            if (inc.emit != PDM_ALERT_NONE) {
                scorer_risk_set_incident(r, &inc);
                it->emit = 1;
            }
        } else if (pdm_alert_world(&st, world_event(b, it, &ev), &inc) == PDM_ALERT_RESOLVED) {
            it->incident = PDM_ALERT_RESOLVED;
            world_risk(b, it, &inc, model_version);
        }
    }
    m->incident_after = st.level;
    if (pdm_alert_state_encode(&st, m->stored.alert, sizeof m->stored.alert) < 0)
        return pdm_err(errstr, errlen, "machine %d: alert state too long", (int)m->id);
    return 0;
}

int scorer_batch_incidents(scorer_batch *b, const pdm_alert_policy *policy,
                           const char *model_version, char *errstr, size_t errlen)
{
    b->n_world = 0;
    for (size_t i = 0; i < b->n_machines; i++)
        if (machine_incidents(b, &b->machines[i], policy, model_version, errstr, errlen))
            return -1;
    return 0;
}

/* ---- scoring ------------------------------------------------------------------- */

/* Does row r's RiskEvent carry reasons? Alerts do; with incidents, the
 * firing ones (opened, escalated, renotified). */
static int explained(const scorer_batch *b, size_t r, pdm_emit_mode emit)
{
    const scorer_item *it = &b->items[b->row_item[r]];
    if (!it->emit)
        return 0;
    if (emit == PDM_EMIT_INCIDENTS)
        return b->risks[r].status == PDM_INCIDENT_FIRING;
    return b->risks[r].level != PDM_LEVEL_OK;
}

/* The emission decision of the modes pdm_rule_emit decides. */
static void rule_emission(scorer_batch *b, pdm_emit_mode emit, int64_t renotify_ms)
{
    for (size_t r = 0; r < b->n_rows; r++) {
        scorer_item *it = &b->items[b->row_item[r]];
        pdm_rs_machine *st = &b->machines[it->machine].stored;
        pdm_emit_state es = {st->level, st->notified_at};
        it->emit = pdm_rule_emit(emit, renotify_ms, &es, b->risks[r].level, it->ev.ts);
        st->level = es.level;
        st->notified_at = es.notified_at;
    }
}

int scorer_batch_score(scorer_batch *b, pdm_model *model, double warn, double critical,
                       pdm_emit_mode emit, int64_t renotify_ms, const pdm_alert_policy *policy,
                       char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    scorer_stages_enter(b->stages, SCORER_STAGE_SCORE);
    if (b->n_rows && pdm_model_score_ex(model, b->rows, b->n_rows, b->risks, 0, msg, sizeof msg))
        return pdm_err(errstr, errlen, "scoring failed: %s", msg);
    scorer_stages_enter(b->stages, SCORER_STAGE_DECIDE);
    /* Threshold overrides apply to the level. */
    for (size_t r = 0; r < b->n_rows; r++)
        b->risks[r].level = pdm_rule_level(b->risks[r].risk, warn, critical);
    if (emit == PDM_EMIT_INCIDENTS) {
        /* Even without rows: a maintenance or failure may resolve one. */
        if (scorer_batch_incidents(b, policy, pdm_model_version(model), errstr, errlen))
            return -1;
    } else {
        rule_emission(b, emit, renotify_ms);
    }
    size_t n_explain = 0;
    scorer_stages_enter(b->stages, SCORER_STAGE_EXPLAIN);
    for (size_t r = 0; r < b->n_rows; r++) {
        if (!explained(b, r, emit))
            continue;
        memcpy(b->explain_rows + n_explain * PDM_N_FEATURES, b->rows + r * PDM_N_FEATURES,
               PDM_N_FEATURES * sizeof *b->rows);
        b->explain[n_explain++] = b->risks[r];
    }
    if (n_explain &&
        pdm_model_explain(model, b->explain_rows, n_explain, b->explain, msg, sizeof msg))
        return pdm_err(errstr, errlen, "explaining alerts failed: %s", msg);
    for (size_t r = 0, e = 0; r < b->n_rows && e < n_explain; r++)
        if (explained(b, r, emit))
            b->risks[r] = b->explain[e++];
    return 0;
}

void scorer_batch_offsets(const scorer_batch *b, int next, rd_kafka_topic_partition_list_t *list)
{
    for (size_t i = 0; i < b->n; i++) {
        const rd_kafka_message_t *m = b->items[i].msg;
        if (m->err)
            continue;
        const char *topic = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(list, topic, m->partition);
        if (!p) {
            p = rd_kafka_topic_partition_list_add(list, topic, m->partition);
            p->offset = next ? m->offset + 1 : m->offset;
        } else if (next && m->offset + 1 > p->offset) {
            p->offset = m->offset + 1;
        }
    }
}
