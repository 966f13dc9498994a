/* scorer_table.c: the machines table (see scorer_table.h). Rows in an
 * open-addressing hash by machine id; the consumer uses librdkafka's
 * partition API (consume_start_queue per partition into one queue), which
 * needs no group. */
#include "scorer_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "pdm_kafka.h"

/* How often the topic's partition count is asked again (a topic created
 * later, partitions added). */
#define REFRESH_S 10.0
#define MAX_PARTITIONS 1024

struct scorer_table {
    scorer_table_row *rows; /* machine_id 0: empty slot */
    size_t cap, n;
    size_t max_rows;  /* 0: unbounded */
    uint64_t evicted; /* rows evicted at max_rows */
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    rd_kafka_queue_t *queue;
    char topic[256];
    int partitions;       /* started so far */
    int at_end[MAX_PARTITIONS];
    double last_refresh;
    uint64_t bad;         /* messages that are not a valid MachineInfo */
};

/* ---- rows ------------------------------------------------------------------- */

scorer_table *scorer_table_new_rows(void)
{
    scorer_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cap = 1024;
    t->rows = calloc(t->cap, sizeof *t->rows);
    if (!t->rows) {
        free(t);
        return NULL;
    }
    return t;
}

static size_t slot_of(const scorer_table *t, int32_t id)
{
    size_t mask = t->cap - 1, h = ((uint32_t)id * 2654435761u) & mask;
    while (t->rows[h].machine_id && t->rows[h].machine_id != id)
        h = (h + 1) & mask;
    return h;
}

static int grow(scorer_table *t)
{
    scorer_table_row *old = t->rows;
    size_t old_cap = t->cap;
    t->rows = calloc(old_cap * 2, sizeof *t->rows);
    if (!t->rows) {
        t->rows = old;
        return -1;
    }
    t->cap = old_cap * 2;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].machine_id)
            t->rows[slot_of(t, old[i].machine_id)] = old[i];
    free(old);
    return 0;
}

/* At max_rows: evicts an eighth of the rows (at least one), those a batch
 * has applied first (Redis holds their info), then pending ones; the
 * slots are rebuilt. -1 out of memory (nothing evicted). */
static int evict_rows(scorer_table *t)
{
    size_t goal = t->max_rows / 8 ? t->max_rows / 8 : 1, gone = 0;
    scorer_table_row *old = t->rows;
    t->rows = calloc(t->cap, sizeof *t->rows);
    if (!t->rows) {
        t->rows = old;
        return -1;
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < t->cap && gone < goal; i++)
            if (old[i].machine_id && old[i].pending == pass) {
                old[i].machine_id = 0;
                gone++;
            }
    for (size_t i = 0; i < t->cap; i++)
        if (old[i].machine_id)
            t->rows[slot_of(t, old[i].machine_id)] = old[i];
    free(old);
    t->n -= gone;
    t->evicted += gone;
    return 0;
}

int scorer_table_set(scorer_table *t, int32_t machine_id, int model, int age)
{
    if (machine_id <= 0)
        return -1;
    if (t->max_rows && t->n >= t->max_rows && !t->rows[slot_of(t, machine_id)].machine_id &&
        evict_rows(t))
        return -1;
    if (2 * (t->n + 1) > t->cap && grow(t))
        return -1;
    scorer_table_row *r = &t->rows[slot_of(t, machine_id)];
    if (!r->machine_id)
        t->n++;
    else if (r->model == model && r->age == age)
        return 0; /* the same row again (a compacted topic's replay): nothing new */
    *r = (scorer_table_row){machine_id, model, age, 1};
    return 0;
}

scorer_table_row *scorer_table_find(const scorer_table *t, int32_t machine_id)
{
    if (!t || machine_id <= 0)
        return NULL;
    scorer_table_row *r = &t->rows[slot_of(t, machine_id)];
    return r->machine_id ? r : NULL;
}

size_t scorer_table_size(const scorer_table *t)
{
    return t ? t->n : 0;
}

void scorer_table_set_max(scorer_table *t, size_t max_rows)
{
    t->max_rows = max_rows;
}

uint64_t scorer_table_evicted(const scorer_table *t)
{
    return t ? t->evicted : 0;
}

/* ---- the consumer ----------------------------------------------------------- */

int scorer_table_open(scorer_table **out, const pdm_scorer_config *cfg, char *errstr,
                      size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    *out = NULL;
    if (!cfg->machines_topic || !*cfg->machines_topic)
        return 0;
    scorer_table *t = scorer_table_new_rows();
    if (!t)
        return pdm_err(errstr, errlen, "out of memory");
    scorer_table_set_max(t, cfg->max_machines ? cfg->max_machines : PDM_SCORER_MAX_MACHINES);
    snprintf(t->topic, sizeof t->topic, "%s", cfg->machines_topic);
    rd_kafka_conf_t *conf =
        pdm_kafka_conf_new_for(PDM_KAFKA_CONSUMER, cfg->brokers, "pdm-scorer-table",
                               cfg->kafka_props, msg, sizeof msg);
    if (!conf || rd_kafka_conf_set(conf, "enable.partition.eof", "true", msg, sizeof msg) ||
        !(t->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, msg, sizeof msg))) {
        if (conf && !t->rk)
            rd_kafka_conf_destroy(conf);
        scorer_table_close(t);
        return pdm_err(errstr, errlen, "machines table consumer: %s", msg);
    }
    t->rkt = rd_kafka_topic_new(t->rk, t->topic, NULL);
    t->queue = rd_kafka_queue_new(t->rk);
    if (!t->rkt || !t->queue) {
        scorer_table_close(t);
        return pdm_err(errstr, errlen, "machines table consumer: cannot create its topic/queue");
    }
    *out = t;
    return 0;
}

void scorer_table_close(scorer_table *t)
{
    if (!t)
        return;
    for (int p = 0; p < t->partitions; p++)
        rd_kafka_consume_stop(t->rkt, p);
    if (t->queue)
        rd_kafka_queue_destroy(t->queue);
    if (t->rkt)
        rd_kafka_topic_destroy(t->rkt);
    if (t->rk)
        rd_kafka_destroy(t->rk);
    free(t->rows);
    free(t);
}

/* Starts reading the partitions the topic has gained (all of them the
 * first time), from the beginning. */
static void refresh_partitions(scorer_table *t)
{
    const struct rd_kafka_metadata *md = NULL;
    t->last_refresh = pdm_monotonic_s();
    if (rd_kafka_metadata(t->rk, 0, t->rkt, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    int cnt = md->topic_cnt == 1 && !md->topics[0].err ? md->topics[0].partition_cnt : 0;
    rd_kafka_metadata_destroy(md);
    if (cnt > MAX_PARTITIONS)
        cnt = MAX_PARTITIONS;
    for (int p = t->partitions; p < cnt; p++) {
        if (rd_kafka_consume_start_queue(t->rkt, p, RD_KAFKA_OFFSET_BEGINNING, t->queue) < 0) {
            pdm_log(PDM_LOG_ERROR, "machines table %s [%d]: %s", t->topic, p,
                    rd_kafka_err2str(rd_kafka_last_error()));
            break;
        }
        t->at_end[p] = 0;
        t->partitions = p + 1;
    }
}

static void apply_message(scorer_table *t, const pdm_codec *codec, const rd_kafka_message_t *m)
{
    char detail[160];
    pdm_event ev;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (m->partition >= 0 && m->partition < t->partitions)
            t->at_end[m->partition] = 1;
        return;
    }
    if (m->err) {
        pdm_log(PDM_LOG_WARN, "machines table: %s", rd_kafka_message_errstr(m));
        return;
    }
    if (m->partition >= 0 && m->partition < t->partitions)
        t->at_end[m->partition] = 0;
    /* The decoder is the stream's; a MachineInfo is all a table row can be. */
    if (pdm_codec_decode((pdm_codec *)codec, m->payload, m->len, &ev, detail, sizeof detail)) {
        if (t->bad++ == 0)
            pdm_log(PDM_LOG_WARN, "machines table %s [%d] offset %lld: %s (ignored; counted)",
                    t->topic, (int)m->partition, (long long)m->offset, detail);
        return;
    }
    if (ev.type != PDM_EV_MACHINE || ev.machine_id <= 0) {
        if (t->bad++ == 0)
            pdm_log(PDM_LOG_WARN, "machines table %s [%d] offset %lld: a %s event (ignored)",
                    t->topic, (int)m->partition, (long long)m->offset,
                    pdm_event_type_name(ev.type));
        return;
    }
    if (scorer_table_set(t, ev.machine_id, ev.u.machine.model, ev.u.machine.age))
        pdm_log(PDM_LOG_ERROR, "machines table: out of memory");
}

/* Applies what the queue holds; waits up to wait_ms for the first. */
static size_t drain(scorer_table *t, const pdm_codec *codec, int wait_ms)
{
    rd_kafka_message_t *msgs[512];
    ssize_t got = rd_kafka_consume_batch_queue(t->queue, wait_ms, msgs, 512);
    for (ssize_t i = 0; i < got; i++) {
        apply_message(t, codec, msgs[i]);
        rd_kafka_message_destroy(msgs[i]);
    }
    return got > 0 ? (size_t)got : 0;
}

static int all_at_end(const scorer_table *t)
{
    for (int p = 0; p < t->partitions; p++)
        if (!t->at_end[p])
            return 0;
    return 1;
}

int scorer_table_load(scorer_table *t, const pdm_codec *codec, const atomic_int *stop)
{
    double start = pdm_monotonic_s(), said = start;
    refresh_partitions(t);
    while (!all_at_end(t)) {
        if (atomic_load(stop))
            return -1;
        drain(t, codec, 100);
        if (pdm_monotonic_s() - said > 5.0) {
            said = pdm_monotonic_s();
            pdm_log(PDM_LOG_INFO, "reading the machines table %s: %zu machines so far", t->topic,
                    t->n);
        }
    }
    pdm_log(PDM_LOG_INFO, "machines table %s: %zu machines from %d partitions in %.1f s%s",
            t->topic, t->n, t->partitions, pdm_monotonic_s() - start,
            t->partitions ? "" : " (no such topic yet: read when it appears)");
    return 0;
}

void scorer_table_poll(scorer_table *t, const pdm_codec *codec)
{
    if (!t)
        return;
    if (pdm_monotonic_s() - t->last_refresh > REFRESH_S)
        refresh_partitions(t);
    while (drain(t, codec, 0) == 512)
        ;
}
