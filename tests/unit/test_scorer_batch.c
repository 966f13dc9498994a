/* test_scorer_batch.c: the scorer's network-free parts, without Kafka or
 * Redis: the batch object (decoding and validation into dead letters,
 * machines and their sources, events applied in stream order with the
 * lateness rule, feature rows, the writes recorded, the offsets to commit
 * and to rewind to) and the assignment. Messages are built in memory on
 * topic handles of a client that never connects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pdm_alerts.h"
#include "scorer_assignment.h"
#include "scorer_batch.h"
#include "scorer_incidents.h"
#include "scorer_state.h"

#define H(h) ((int64_t)(h)*PDM_MS_PER_HOUR)
#define T0 INT64_C(1420070400000) /* 2015-01-01 00:00:00 UTC */

typedef struct {
    rd_kafka_t *rk;
    rd_kafka_topic_t *tel, *err;
    pdm_codec *codec;
    rd_kafka_message_t msgs[16];
    unsigned char payload[16][PDM_MAX_ENCODED];
    size_t n;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char msg[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", msg, sizeof msg);
    f->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, msg, sizeof msg);
    assert_non_null(f->rk);
    f->tel = rd_kafka_topic_new(f->rk, "pdm.telemetry", NULL);
    f->err = rd_kafka_topic_new(f->rk, "pdm.errors", NULL);
    f->codec = pdm_codec_new(msg, sizeof msg);
    assert_non_null(f->codec);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pdm_codec_destroy(f->codec);
    rd_kafka_topic_destroy(f->tel);
    rd_kafka_topic_destroy(f->err);
    rd_kafka_destroy(f->rk);
    free(f);
    return 0;
}

/* Appends a message at (topic, partition, offset) carrying payload. */
static rd_kafka_message_t *add_raw(fixture *f, rd_kafka_topic_t *t, int32_t partition,
                                   int64_t offset, const void *payload, size_t len)
{
    rd_kafka_message_t *m = &f->msgs[f->n];
    memset(m, 0, sizeof *m);
    memcpy(f->payload[f->n], payload, len);
    m->rkt = t;
    m->partition = partition;
    m->offset = offset;
    m->payload = f->payload[f->n];
    m->len = len;
    f->n++;
    return m;
}

static void add_event(fixture *f, rd_kafka_topic_t *t, int32_t partition, int64_t offset,
                      const pdm_event *ev)
{
    char buf[PDM_MAX_ENCODED], err[256];
    int len =
        pdm_codec_encode(f->codec, ev, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err);
    assert_true(len > 0);
    add_raw(f, t, partition, offset, buf, (size_t)len);
}

static pdm_event tel(int32_t machine, int64_t ts)
{
    pdm_event e = {.type = PDM_EV_TELEMETRY, .machine_id = machine, .ts = ts};
    e.u.telemetry.volt = 170;
    e.u.telemetry.rotate = 450;
    e.u.telemetry.pressure = 100;
    e.u.telemetry.vibration = 40;
    return e;
}

static pdm_event error(int32_t machine, int64_t ts, int id)
{
    pdm_event e = {.type = PDM_EV_ERROR, .machine_id = machine, .ts = ts};
    e.u.error.error_id = id;
    return e;
}

/* The batch's messages, decoded, each machine starting from an empty
 * stored state (a machine Redis has never seen). */
static scorer_batch *decoded(fixture *f)
{
    scorer_batch *b = scorer_batch_new(16);
    assert_non_null(b);
    for (size_t i = 0; i < f->n; i++)
        b->items[i].msg = &f->msgs[i];
    b->n = f->n;
    assert_int_equal(scorer_batch_decode(b, f->codec, T0 + H(2)), 0);
    for (size_t i = 0; i < b->n_machines; i++) {
        scorer_machine *m = &b->machines[i];
        m->stored.machine_id = m->id;
        m->stored.newest = m->stored.base = INT64_MIN;
        m->stored.level = m->stored.base_level = -1;
        m->stored.notified_at = m->stored.base_notified_at = INT64_MIN;
        assert_int_equal(scorer_state_restore(&m->stored, m->id, &m->state), 0);
    }
    return b;
}

static void test_decode_apply(void **state)
{
    fixture *f = *state;
    pdm_event e;
    e = tel(1, T0);
    add_event(f, f->tel, 0, 10, &e); /* 0 */
    e = error(1, T0 - H(1), 2);
    add_event(f, f->err, 0, 5, &e);          /* 1: older, within the lateness */
    add_raw(f, f->tel, 0, 11, "garbage", 7); /* 2: not Avro */
    e = tel(0, T0);
    add_event(f, f->tel, 1, 3, &e); /* 3: machine 0 is invalid */
    e = tel(1, T0 + H(1));
    add_event(f, f->tel, 0, 12, &e); /* 4 */
    e = error(1, T0 + H(1) - H(48) - 1, 1);
    add_event(f, f->err, 0, 6, &e); /* 5: late behind item 4 */
    e = tel(7, T0 + H(1));
    add_event(f, f->tel, 1, 4, &e); /* 6: another machine */

    scorer_batch *b = decoded(f);
    assert_string_equal(b->items[2].bad_reason, "bad_magic");
    assert_string_equal(b->items[3].bad_reason, "invalid_machine");
    assert_int_equal(b->n_machines, 2);
    scorer_machine *m1 = &b->machines[b->items[0].machine];
    assert_int_equal(m1->id, 1);
    assert_int_equal(m1->n_src, 2); /* one source per topic partition */
    assert_true(m1->min_ts == T0 + H(1) - H(48) - 1);

    pdm_rs_batch *writes = pdm_rs_batch_new();
    pdm_perf_options po;
    pdm_perf_options_init(&po);
    pdm_perf *perf = pdm_perf_new(&po, NULL, 0);
    assert_non_null(writes);
    assert_non_null(perf);
    assert_int_equal(scorer_batch_apply(b, NULL, H(48), writes, perf), 0);

    /* Lateness is judged against the newest telemetry in stream order,
     * including this batch's own. */
    assert_null(b->items[1].bad_reason);
    assert_string_equal(b->items[5].bad_reason, "late");
    assert_non_null(strstr(b->items[5].bad_detail, "allowed lateness"));
    assert_true(m1->stored.newest == T0 + H(1));
    assert_int_equal(b->events[PDM_EV_TELEMETRY], 3);
    assert_int_equal(b->events[PDM_EV_ERROR], 1);
    assert_true(pdm_rs_batch_commands(writes) > 0);

    /* Machine 1's applied events, in stream order: items 0, 1, 4. */
    int order[3], k = 0;
    for (int j = m1->first_event; j >= 0; j = b->items[j].next_event)
        order[k++] = j;
    assert_int_equal(k, 3);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 4);

    /* A row per accepted telemetry event, featurised at its own time: the
     * error at T0 - 1 h counts in item 4's 24 h window, not the late one. */
    assert_int_equal(b->n_rows, 3);
    assert_int_equal(b->items[4].row, 1);
    const double *row = b->rows + (size_t)b->items[4].row * PDM_N_FEATURES;
    assert_true(row[PDM_F_ERROR_COUNT_24H + 1] == 1.0); /* error2 */
    assert_true(row[PDM_F_ERROR_COUNT_24H + 0] == 0.0); /* error1: late, not applied */
    assert_true(row[PDM_F_MEAN_3H] == 170.0);
    assert_int_equal(b->items[2].row, -1);

    /* Offsets: after the last message of every partition, and of its first. */
    rd_kafka_topic_partition_list_t *commit = rd_kafka_topic_partition_list_new(4);
    rd_kafka_topic_partition_list_t *rewind = rd_kafka_topic_partition_list_new(4);
    scorer_batch_offsets(b, 1, commit);
    scorer_batch_offsets(b, 0, rewind);
    assert_int_equal(commit->cnt, 3);
    assert_int_equal(rd_kafka_topic_partition_list_find(commit, "pdm.telemetry", 0)->offset, 13);
    assert_int_equal(rd_kafka_topic_partition_list_find(commit, "pdm.telemetry", 1)->offset, 5);
    assert_int_equal(rd_kafka_topic_partition_list_find(commit, "pdm.errors", 0)->offset, 7);
    assert_int_equal(rd_kafka_topic_partition_list_find(rewind, "pdm.telemetry", 0)->offset, 10);
    assert_int_equal(rd_kafka_topic_partition_list_find(rewind, "pdm.telemetry", 1)->offset, 3);
    assert_int_equal(rd_kafka_topic_partition_list_find(rewind, "pdm.errors", 0)->offset, 5);
    /* Rewinding merges: an earlier batch's start stays. */
    scorer_batch_offsets(b, 0, rewind);
    assert_int_equal(rd_kafka_topic_partition_list_find(rewind, "pdm.telemetry", 0)->offset, 10);
    rd_kafka_topic_partition_list_destroy(commit);
    rd_kafka_topic_partition_list_destroy(rewind);

    /* A reset batch forgets machines and rows. */
    scorer_batch_reset(b);
    assert_int_equal(b->n_machines, 0);
    assert_int_equal(b->n_rows, 0);
    pdm_perf_destroy(perf);
    pdm_rs_batch_destroy(writes);
    scorer_batch_destroy(b);
}

/* A stored newest telemetry (from Redis) makes older events late in the
 * next batch; machine info is never late. */
static void test_stored_newest(void **state)
{
    fixture *f = *state;
    pdm_event e = error(3, T0 - H(49), 4);
    add_event(f, f->err, 2, 1, &e);
    pdm_event info = {.type = PDM_EV_MACHINE, .machine_id = 3, .ts = T0 - H(100)};
    info.u.machine.model = 2;
    info.u.machine.age = 14;
    add_event(f, f->err, 2, 2, &info);
    scorer_batch *b = decoded(f);
    b->machines[0].stored.newest = T0;
    pdm_rs_batch *writes = pdm_rs_batch_new();
    pdm_perf *perf = pdm_perf_new(NULL, NULL, 0);
    assert_int_equal(scorer_batch_apply(b, NULL, H(48), writes, perf), 0);
    assert_string_equal(b->items[0].bad_reason, "late");
    assert_null(b->items[1].bad_reason);
    assert_int_equal(b->machines[0].stored.has_info, 1);
    assert_int_equal(b->machines[0].stored.age, 14);
    assert_int_equal(b->n_rows, 0);
    pdm_perf_destroy(perf);
    pdm_rs_batch_destroy(writes);
    scorer_batch_destroy(b);
}

/* The machines table's row is applied before a machine's events when its
 * stored info differs (and written), not when Redis has it already. */
static void test_machines_table(void **state)
{
    fixture *f = *state;
    pdm_event e = tel(4, T0);
    add_event(f, f->tel, 0, 1, &e);
    e = tel(5, T0);
    add_event(f, f->tel, 0, 2, &e);
    e = tel(6, T0);
    add_event(f, f->tel, 0, 3, &e);
    scorer_table *table = scorer_table_new_rows();
    assert_non_null(table);
    assert_int_equal(scorer_table_set(table, 4, 3, 18), 0);
    assert_int_equal(scorer_table_set(table, 5, 1, 7), 0);
    assert_int_equal(scorer_table_set(table, 5, 2, 9), 0); /* the later row wins */
    assert_int_equal(scorer_table_set(table, 0, 1, 1), -1);
    assert_int_equal(scorer_table_size(table), 2);
    for (int32_t id = 100; id < 3000; id++) /* grows */
        assert_int_equal(scorer_table_set(table, id, 1 + id % 4, id % 20), 0);
    assert_int_equal(scorer_table_find(table, 2999)->age, 2999 % 20);

    scorer_batch *b = decoded(f);
    scorer_machine *m5 = &b->machines[b->items[1].machine];
    m5->stored.has_info = 1; /* Redis has machine 5's row already */
    m5->stored.model = 2;
    m5->stored.age = 9;
    pdm_rs_batch *plain = pdm_rs_batch_new(), *writes = pdm_rs_batch_new();
    pdm_perf *perf = pdm_perf_new(NULL, NULL, 0);
    assert_int_equal(scorer_batch_apply(b, NULL, H(48), plain, perf), 0);
    scorer_batch_destroy(b);
    f->n = 3;
    b = decoded(f);
    m5 = &b->machines[b->items[1].machine];
    m5->stored.has_info = 1;
    m5->stored.model = 2;
    m5->stored.age = 9;
    assert_int_equal(scorer_batch_apply(b, table, H(48), writes, perf), 0);
    /* Machine 4's row written (one HSET more), machine 5's not, 6 has none. */
    assert_int_equal(pdm_rs_batch_commands(writes), pdm_rs_batch_commands(plain) + 1);
    const double *row4 = b->rows + (size_t)b->items[0].row * PDM_N_FEATURES;
    const double *row6 = b->rows + (size_t)b->items[2].row * PDM_N_FEATURES;
    assert_true(row4[PDM_F_MODEL_ID] == 3.0 && row4[PDM_F_AGE] == 18.0);
    assert_true(row6[PDM_F_AGE] != row6[PDM_F_AGE]); /* NaN: no info anywhere */
    assert_int_equal(b->machines[b->items[0].machine].stored.has_info, 1);
    assert_int_equal(b->machines[b->items[0].machine].stored.age, 18);
    assert_int_equal(scorer_table_find(table, 4)->pending, 0);
    /* Applied once: MachineInfo from the stream (stored 1/5) then stays,
     * until the table's row changes. */
    scorer_batch_destroy(b);
    b = decoded(f);
    scorer_machine *m4 = &b->machines[b->items[0].machine];
    m4->stored.has_info = 1;
    m4->stored.model = 1;
    m4->stored.age = 5;
    pdm_rs_batch_reset(writes);
    assert_int_equal(scorer_batch_apply(b, table, H(48), writes, perf), 0);
    assert_int_equal(m4->stored.age, 5);
    assert_int_equal(scorer_table_set(table, 4, 3, 18), 0); /* the same row: still applied */
    assert_int_equal(scorer_table_find(table, 4)->pending, 0);
    assert_int_equal(scorer_table_set(table, 4, 3, 19), 0); /* a new row */
    assert_int_equal(scorer_batch_apply(b, table, H(48), writes, perf), 0);
    assert_int_equal(m4->stored.age, 19);
    pdm_perf_destroy(perf);
    pdm_rs_batch_destroy(plain);
    pdm_rs_batch_destroy(writes);
    scorer_batch_destroy(b);
    scorer_table_close(table);
}

static void test_assignment(void **state)
{
    (void)state;
    scorer_assignment a = {0};
    assert_false(scorer_assignment_all_at_end(&a)); /* nothing assigned yet */
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(4);
    rd_kafka_topic_partition_list_add(parts, "pdm.telemetry", 0);
    rd_kafka_topic_partition_list_add(parts, "pdm.telemetry", 1);
    rd_kafka_topic_partition_list_add(parts, "pdm.errors", 0);
    assert_int_equal(scorer_assignment_add(&a, parts), 0);
    assert_int_equal(a.n, 3);
    assert_true(a.ever);
    assert_null(scorer_assignment_find(&a, "pdm.errors", 1));
    scorer_partition *p = scorer_assignment_find(&a, "pdm.telemetry", 1);
    assert_non_null(p);
    assert_int_equal(p->partition, 1);
    assert_string_equal(p->topic, "pdm.telemetry");
    for (size_t i = 0; i < a.n; i++)
        a.parts[i].eof = 1;
    assert_true(scorer_assignment_all_at_end(&a));
    scorer_assignment_find(&a, "pdm.errors", 0)->eof = 0;
    assert_false(scorer_assignment_all_at_end(&a));

    rd_kafka_topic_partition_list_t *gone = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(gone, "pdm.errors", 0);
    rd_kafka_topic_partition_list_add(gone, "pdm.unknown", 5); /* not ours: ignored */
    scorer_assignment_remove(&a, gone);
    assert_int_equal(a.n, 2);
    assert_null(scorer_assignment_find(&a, "pdm.errors", 0));
    assert_non_null(scorer_assignment_find(&a, "pdm.telemetry", 0));
    assert_true(scorer_assignment_all_at_end(&a)); /* the rest were at their end */
    /* Assigning a partition again does not duplicate it. */
    assert_int_equal(scorer_assignment_add(&a, parts), 0);
    assert_int_equal(a.n, 3);
    assert_false(scorer_assignment_all_at_end(&a)); /* the new one is not */
    scorer_assignment_remove(&a, parts);
    assert_int_equal(a.n, 0);
    assert_false(scorer_assignment_all_at_end(&a)); /* nothing left to be at an end */
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_topic_partition_list_destroy(gone);
    scorer_assignment_clear(&a);
}

/* ---- --emit incidents ---------------------------------------------------------- */

static pdm_event maintenance(int32_t machine, int64_t ts, int component)
{
    pdm_event e = {.type = PDM_EV_MAINTENANCE, .machine_id = machine, .ts = ts};
    e.u.maintenance.component = component;
    return e;
}

/* Applies the batch (no table, 48 h lateness) and scores its rows by hand:
 * risks[r] for the r-th row, component 2 the most likely, levels by warn
 * 0.3 / critical 0.6 (the policy's). */
static void apply_scored(scorer_batch *b, const double *risks)
{
    pdm_rs_batch *writes = pdm_rs_batch_new();
    pdm_perf *perf = pdm_perf_new(NULL, NULL, 0);
    assert_int_equal(scorer_batch_apply(b, NULL, H(48), writes, perf), 0);
    for (size_t r = 0; r < b->n_rows; r++) {
        pdm_risk *k = &b->risks[r];
        memset(k, 0, sizeof *k);
        snprintf(k->model_version, sizeof k->model_version, "v1");
        k->risk = risks[r];
        k->component_prob[0] = 0.1;
        k->component_prob[1] = risks[r];
        k->level = pdm_rule_level(risks[r], 0.3, 0.6);
    }
    pdm_perf_destroy(perf);
    pdm_rs_batch_destroy(writes);
}

static void policy(pdm_alert_policy *p)
{
    pdm_alert_policy_init(p, 0.3, 0.6); /* confirm 2/3, clear at half, hold 24 h */
}

/* Opened after 2 of 3 scores, escalated at once, resolved by a maintenance
 * of its component with a RiskEvent of its own; ids stable throughout. */
static void test_incidents(void **state)
{
    fixture *f = *state;
    pdm_event e;
    for (int h = 1; h <= 4; h++) {
        e = tel(1, T0 + H(h));
        add_event(f, f->tel, 0, h, &e); /* items 0..3 */
    }
    e = maintenance(1, T0 + H(4), 3);
    add_event(f, f->err, 0, 1, &e); /* 4: another component: nothing */
    e = maintenance(1, T0 + H(4), 2);
    add_event(f, f->err, 0, 2, &e); /* 5: the incident's component */
    e = tel(1, T0 + H(5));
    add_event(f, f->tel, 0, 5, &e); /* 6 */
    scorer_batch *b = decoded(f);
    const double risks[] = {0.4, 0.1, 0.4, 0.7, 0.7};
    apply_scored(b, risks);
    pdm_alert_policy p;
    policy(&p);
    char err[256], id[PDM_ALERT_ID_SIZE];
    assert_int_equal(scorer_batch_incidents(b, &p, "v1", err, sizeof err), 0);
    pdm_alert_incident_id(1, T0 + H(3), id);

    /* 1 of 3 above warn: nothing yet, and no incident on the row. */
    assert_false(b->items[0].emit);
    assert_string_equal(b->risks[0].incident_id, "");
    assert_false(b->items[1].emit);
    /* 2 of 3: opened at the row's level. */
    const pdm_risk *opened = &b->risks[b->items[2].row];
    assert_true(b->items[2].emit);
    assert_string_equal(opened->incident_id, id);
    assert_int_equal(opened->status, PDM_INCIDENT_FIRING);
    assert_true(opened->opened_at == T0 + H(3));
    assert_int_equal(opened->component, 2);
    assert_int_equal(opened->level, PDM_LEVEL_WARN);
    /* CRITICAL: escalated at once, the same incident, a new peak. */
    const pdm_risk *esc = &b->risks[b->items[3].row];
    assert_true(b->items[3].emit);
    assert_string_equal(esc->incident_id, id);
    assert_true(esc->peak_risk == 0.7);
    assert_int_equal(esc->resolution, PDM_RESOLUTION_NONE);
    /* Maintenance of component 3: nothing; of component 2: resolved. */
    assert_false(b->items[4].emit);
    assert_int_equal(b->items[4].world, -1);
    assert_true(b->items[5].emit);
    assert_int_equal(b->n_world, 1);
    const pdm_risk *res = &b->world[b->items[5].world];
    assert_string_equal(res->incident_id, id);
    assert_int_equal(res->status, PDM_INCIDENT_RESOLVED);
    assert_int_equal(res->resolution, PDM_RESOLUTION_REPAIRED);
    assert_true(res->opened_at == T0 + H(3));
    assert_true(res->peak_risk == 0.7);
    assert_int_equal(res->level, PDM_LEVEL_OK);
    assert_true(res->risk == 0.0);
    assert_string_equal(res->model_version, "v1");
    /* After a resolution a new incident needs its own confirmation. */
    assert_false(b->items[6].emit);

    /* The state went back to the stored text: no incident open. */
    pdm_alert_state st;
    const char *text = b->machines[0].stored.alert;
    assert_int_equal(pdm_alert_state_decode(text, strlen(text), &st, err, sizeof err), 0);
    assert_int_equal(st.level, PDM_LEVEL_OK);
    assert_true(st.last_ts == T0 + H(5));
    scorer_batch_destroy(b);
}

/* The alert state carries from one batch to the next through the stored
 * text, and a row re-applied (a replayed batch) counts once. */
static void test_incidents_across_batches(void **state)
{
    fixture *f = *state;
    pdm_alert_policy p;
    policy(&p);
    char err[256], id[PDM_ALERT_ID_SIZE], text[PDM_RS_ALERT_TEXT];
    pdm_event e;
    for (int h = 1; h <= 2; h++) {
        e = tel(5, T0 + H(h));
        add_event(f, f->tel, 0, h, &e);
    }
    scorer_batch *b = decoded(f);
    const double first[] = {0.4, 0.4};
    apply_scored(b, first);
    assert_int_equal(scorer_batch_incidents(b, &p, "v1", err, sizeof err), 0);
    assert_true(b->items[1].emit); /* opened at H2 */
    pdm_alert_incident_id(5, T0 + H(2), id);
    assert_string_equal(b->risks[1].incident_id, id);
    snprintf(text, sizeof text, "%s", b->machines[0].stored.alert);
    scorer_batch_destroy(b);

    /* Batch 2: H2 again (already applied), then CRITICAL at H3. */
    f->n = 0;
    for (int h = 2; h <= 3; h++) {
        e = tel(5, T0 + H(h));
        add_event(f, f->tel, 0, h, &e);
    }
    b = decoded(f);
    snprintf(b->machines[0].stored.alert, sizeof b->machines[0].stored.alert, "%s", text);
    const double second[] = {0.7, 0.7};
    apply_scored(b, second);
    assert_int_equal(scorer_batch_incidents(b, &p, "v1", err, sizeof err), 0);
    assert_false(b->items[0].emit); /* H2 is no newer than the alert clock */
    assert_true(b->items[1].emit);
    assert_string_equal(b->risks[1].incident_id, id); /* the same incident, escalated */
    assert_true(b->risks[1].opened_at == T0 + H(2));
    assert_int_equal(b->risks[1].level, PDM_LEVEL_CRITICAL);

    /* An undecodable stored text starts afresh: 1 score, nothing opens. */
    f->n = 0;
    e = tel(5, T0 + H(4));
    add_event(f, f->tel, 0, 4, &e);
    scorer_batch_destroy(b);
    b = decoded(f);
    snprintf(b->machines[0].stored.alert, sizeof b->machines[0].stored.alert, "a9 junk");
    const double third[] = {0.9};
    apply_scored(b, third);
    assert_int_equal(scorer_batch_incidents(b, &p, "v1", err, sizeof err), 0);
    assert_false(b->items[0].emit);
    assert_int_equal(strncmp(b->machines[0].stored.alert, "a2 ", 3), 0);
    scorer_batch_destroy(b);
}

static pdm_event failure(int32_t machine, int64_t ts, int component)
{
    pdm_event e = {.type = PDM_EV_FAILURE, .machine_id = machine, .ts = ts};
    e.u.failure.component = component;
    return e;
}

/* A maintenance record followed at its time by a failure of the same
 * component resolves the incident as failed (the failure's repair); of
 * another component, or alone, it does not. Then silence resolves the
 * incident still open at the end, in the batch. */
static void test_incidents_failure_and_silence(void **state)
{
    fixture *f = *state;
    pdm_event e[12] = {
        tel(1, T0 + H(1)),
        tel(1, T0 + H(2)), /* 0, 1: opened at h2 */
        maintenance(1, T0 + H(3), 3),
        failure(1, T0 + H(3), 3), /* 2, 3: another component */
        maintenance(1, T0 + H(4), 2),
        failure(1, T0 + H(4), 2), /* 4, 5: failed */
        tel(1, T0 + H(5)),
        tel(1, T0 + H(6)), /* 6, 7: opened at h6 */
        maintenance(1, T0 + H(7), 2),
        failure(1, T0 + H(8), 2), /* 8: repaired; 9: later */
        tel(1, T0 + H(9)),
        tel(1, T0 + H(10)), /* 10, 11: opened at h10 */
    };
    for (int i = 0; i < 12; i++)
        add_event(f, e[i].type == PDM_EV_TELEMETRY ? f->tel : f->err, 0, i, &e[i]);
    scorer_batch *b = decoded(f);
    const double risks[] = {0.4, 0.4, 0.4, 0.4, 0.4, 0.4};
    apply_scored(b, risks);
    pdm_alert_policy p;
    policy(&p);
    char err[256];
    assert_int_equal(scorer_batch_incidents(b, &p, "v1", err, sizeof err), 0);

    assert_int_equal(b->items[1].incident, PDM_ALERT_OPENED);
    for (int i = 2; i <= 3; i++)
        assert_false(b->items[i].emit);
    assert_true(b->items[4].emit);
    const pdm_risk *failed = &b->world[b->items[4].world];
    assert_int_equal(b->items[4].incident, PDM_ALERT_RESOLVED);
    assert_int_equal(failed->resolution, PDM_RESOLUTION_FAILED);
    assert_true(failed->opened_at == T0 + H(2));
    assert_false(b->items[5].emit); /* the failure itself: already resolved */
    assert_int_equal(b->items[7].incident, PDM_ALERT_OPENED);
    assert_int_equal(b->world[b->items[8].world].resolution, PDM_RESOLUTION_REPAIRED);
    assert_false(b->items[9].emit);
    assert_int_equal(b->items[11].incident, PDM_ALERT_OPENED);
    assert_int_equal(scorer_incident_outcome(PDM_ALERT_RESOLVED, PDM_RESOLUTION_FAILED),
                     SCORER_OUTCOME_FAILED);
    assert_int_equal(scorer_incident_outcome(PDM_ALERT_ESCALATED, PDM_RESOLUTION_NONE),
                     SCORER_OUTCOME_ESCALATED);
    assert_int_equal(scorer_incident_outcome(PDM_ALERT_NONE, PDM_RESOLUTION_NONE), -1);
    /* The index learns of the incident open at the end. */
    assert_int_equal(b->machines[0].incident_before, PDM_LEVEL_OK);
    assert_int_equal(b->machines[0].incident_after, PDM_LEVEL_WARN);

    /* Silence: "came back" and a silence before the last score change
     * nothing; going silent after its last reading resolves the incident
     * at last reading + 6 h, with the batch's state (no Redis). */
    scorer_silence_change changes[] = {
        {.machine_id = 1, .stream_time = T0 + H(20), .last_seen = T0 + H(10), .silent = 0},
        {.machine_id = 1, .stream_time = T0 + H(20), .last_seen = T0 + H(3), .silent = 1},
        {.machine_id = 1, .stream_time = T0 + H(20), .last_seen = T0 + H(10), .silent = 1},
    };
    scorer_silent_risks out = {0};
    pdm_rs_batch *writes = pdm_rs_batch_new();
    assert_int_equal(scorer_incidents_silence(NULL, writes, b, changes, 3, H(6), "v1", NULL, &out),
                     0);
    assert_int_equal(out.n, 1);
    char id[PDM_ALERT_ID_SIZE];
    pdm_alert_incident_id(1, T0 + H(10), id);
    assert_string_equal(out.items[0].risk.incident_id, id);
    assert_true(out.items[0].ts == T0 + H(16));
    assert_int_equal(out.items[0].risk.resolution, PDM_RESOLUTION_SILENT);
    assert_int_equal(out.items[0].risk.status, PDM_INCIDENT_RESOLVED);
    assert_int_equal(out.items[0].risk.level, PDM_LEVEL_OK);
    assert_int_equal(pdm_rs_batch_commands(writes), 0); /* written with the batch's machine */
    assert_int_equal(b->machines[0].incident_after, PDM_LEVEL_OK);
    pdm_alert_state st;
    const char *text = b->machines[0].stored.alert;
    assert_int_equal(pdm_alert_state_decode(text, strlen(text), &st, err, sizeof err), 0);
    assert_int_equal(st.level, PDM_LEVEL_OK);
    /* Silent again: nothing more to resolve. */
    assert_int_equal(
        scorer_incidents_silence(NULL, writes, b, changes + 2, 1, H(6), "v1", NULL, &out), 0);
    assert_int_equal(out.n, 0);
    free(out.items);
    pdm_rs_batch_destroy(writes);
    scorer_batch_destroy(b);
}

/* The machines table at its bound (--max-machines): 100,000 distinct ids
 * never make it hold more than the bound, every eviction is counted, and
 * rows a batch has applied go before rows not applied yet. */
static void test_table_bounded(void **state)
{
    (void)state;
    scorer_table *t = scorer_table_new_rows();
    assert_non_null(t);
    scorer_table_set_max(t, 16);
    for (int32_t id = 1; id <= 16; id++)
        assert_int_equal(scorer_table_set(t, id, 1, 1), 0);
    for (int32_t id = 1; id <= 8; id++)
        scorer_table_find(t, id)->pending = 0;         /* applied by a batch */
    assert_int_equal(scorer_table_set(t, 5, 1, 1), 0); /* the same row: nothing new */
    assert_int_equal(scorer_table_size(t), 16);
    assert_int_equal(scorer_table_evicted(t), 0);
    assert_int_equal(scorer_table_set(t, 17, 2, 3), 0); /* evicts 16 / 8 = 2 applied rows */
    assert_int_equal(scorer_table_size(t), 15);
    assert_int_equal(scorer_table_evicted(t), 2);
    size_t applied = 0;
    for (int32_t id = 1; id <= 8; id++)
        applied += scorer_table_find(t, id) != NULL;
    assert_int_equal(applied, 6);
    for (int32_t id = 9; id <= 17; id++)
        assert_non_null(scorer_table_find(t, id)); /* every pending row kept */
    size_t most = 0;
    for (int32_t id = 1000; id < 101000; id++) {
        assert_int_equal(scorer_table_set(t, id, 1, 1), 0);
        if (scorer_table_size(t) > most)
            most = scorer_table_size(t);
    }
    assert_int_equal(most, 16);
    assert_int_equal(scorer_table_evicted(t) + scorer_table_size(t), 17 + 100000);
    assert_non_null(scorer_table_find(t, 100999)); /* the newest row is there */
    scorer_table_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decode_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_newest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_machines_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incidents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incidents_across_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incidents_failure_and_silence, setup, teardown),
        cmocka_unit_test(test_assignment),
        cmocka_unit_test(test_table_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
