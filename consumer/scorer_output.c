/* scorer_output.c: a batch's RiskEvents, dead letters and feature dump (see
 * scorer_output.h). */
#include "scorer_output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdm_alerts.h"
#include "pdm_features.h"
#include "scorer_incidents.h"

/* Room left in a dead letter for its headers and the record's framing. */
#define DLQ_OVERHEAD 4096

/* Writes all of data to the dump file, or cuts the file back to where it
 * stood (the end of the last complete batch): a full disk never leaves
 * half a row. 0, or -1 with errstr. */
static int dump_write(scorer_output *o, const char *data, size_t len, char *errstr, size_t errlen)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(o->dump_fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            int cut = ftruncate(o->dump_fd, o->dump_size) == 0 &&
                      lseek(o->dump_fd, o->dump_size, SEEK_SET) == o->dump_size;
            return pdm_err(errstr, errlen,
                           "--dump-features %s: write failed: %s (%s %lld bytes, %llu complete "
                           "rows)",
                           o->cfg->dump_features, strerror(e),
                           cut ? "the file is cut back to its last complete batch:"
                               : "could not cut the file back to its last complete batch at",
                           (long long)o->dump_size, (unsigned long long)o->dump_rows);
        }
        done += (size_t)w;
    }
    o->dump_size += (off_t)len;
    return 0;
}

/* Formats what print_rows prints into memory, then writes it in one go. */
typedef int (*dump_printer)(FILE *out, const scorer_batch *b, size_t *rows);

static int dump_print(scorer_output *o, dump_printer print_rows, const scorer_batch *b,
                      char *errstr, size_t errlen)
{
    char *text = NULL;
    size_t len = 0, rows = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return pdm_err(errstr, errlen, "--dump-features: out of memory");
    int bad = print_rows(mem, b, &rows);
    bad |= fclose(mem) != 0;
    int rc = bad ? pdm_err(errstr, errlen, "--dump-features: out of memory")
                 : dump_write(o, text, len, errstr, errlen);
    if (rc == 0)
        o->dump_rows += rows;
    free(text);
    return rc;
}

static int print_header(FILE *out, const scorer_batch *b, size_t *rows)
{
    (void)b;
    (void)rows;
    return pdm_features_dump_header(out) < 0;
}

static int print_batch_rows(FILE *out, const scorer_batch *b, size_t *rows)
{
    int bad = 0;
    for (size_t i = 0; i < b->n; i++) {
        const scorer_item *it = &b->items[i];
        if (it->row < 0)
            continue;
        bad |= pdm_features_dump_row(out, it->ev.machine_id, it->ev.ts,
                                     b->rows + (size_t)it->row * PDM_N_FEATURES, -1) < 0;
        (*rows)++;
    }
    return bad;
}

int scorer_output_open(scorer_output *o, const pdm_scorer_config *cfg, scorer_kafka *kafka,
                       scorer_metrics *metrics, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE];
    memset(o, 0, sizeof *o);
    o->cfg = cfg;
    o->kafka = kafka;
    o->metrics = metrics;
    o->dump_fd = -1;
    o->codec = pdm_codec_new(msg, sizeof msg);
    if (!o->codec)
        return pdm_err(errstr, errlen, "codec: %s", msg);
    if (pdm_codec_set_schema_ids(o->codec, cfg->schema_ids, errstr, errlen))
        return -1;
    if (cfg->dump_features) {
        o->dump_fd = open(cfg->dump_features, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (o->dump_fd < 0)
            return pdm_err(errstr, errlen, "--dump-features %s: %s", cfg->dump_features,
                           strerror(errno));
        /* The header now: a file that cannot be written fails at start. */
        return dump_print(o, print_header, NULL, errstr, errlen);
    }
    return 0;
}

void scorer_output_close(scorer_output *o)
{
    pdm_codec_destroy(o->codec);
    if (o->dump_fd >= 0 && close(o->dump_fd) != 0)
        pdm_log(PDM_LOG_ERROR, "--dump-features %s: %s", o->cfg->dump_features, strerror(errno));
    memset(o, 0, sizeof *o);
    o->dump_fd = -1;
}

int scorer_output_dump(scorer_output *o, const scorer_batch *b, char *errstr, size_t errlen)
{
    if (o->dump_fd < 0)
        return 0;
    return dump_print(o, print_batch_rows, b, errstr, errlen);
}

/* A dead letter carries the original key and payload, except that a payload
 * too large for our producer (the input topic may allow larger messages than
 * message.max.bytes) is cut to fit, with its size in pdm.truncated: sending
 * it whole would fail on every retry and block the partition for good. */
static void dead_letter(scorer_output *o, const scorer_item *it)
{
    const rd_kafka_message_t *msg = it->msg;
    size_t max = o->kafka->max_message;
    rd_kafka_headers_t *h = rd_kafka_headers_new(6);
    char part[16], off[32], size[32];
    snprintf(part, sizeof part, "%d", (int)msg->partition);
    snprintf(off, sizeof off, "%lld", (long long)msg->offset);
    pdm_metric_add(o->metrics->dlq, 1);
    const char *labels[] = {it->bad_reason};
    pdm_metric_add(pdm_metric_with(o->metrics->bad, labels), 1);
    rd_kafka_header_add(h, "pdm.reason", -1, it->bad_reason, -1);
    rd_kafka_header_add(h, "pdm.detail", -1, it->bad_detail, -1);
    rd_kafka_header_add(h, "pdm.source.topic", -1, rd_kafka_topic_name(msg->rkt), -1);
    rd_kafka_header_add(h, "pdm.source.partition", -1, part, -1);
    rd_kafka_header_add(h, "pdm.source.offset", -1, off, -1);
    size_t len = msg->len;
    if (max > DLQ_OVERHEAD + msg->key_len && len > max - DLQ_OVERHEAD - msg->key_len) {
        len = max - DLQ_OVERHEAD - msg->key_len;
        snprintf(size, sizeof size, "%zu", msg->len);
        rd_kafka_header_add(h, "pdm.truncated", -1, size, -1);
    }
    scorer_kafka_produce(o->kafka, o->cfg->dlq_topic, msg->key, msg->key_len, msg->payload, len, h);
}

/* "<machine>-<ts>-<model version>[-<resolution>]" into id (cap bytes,
 * cut short and NUL-terminated like snprintf), without snprintf: one per
 * RiskEvent. */
static void event_id(char *id, size_t cap, int32_t machine_id, int64_t ts, const char *version,
                     const char *resolution)
{
    char buf[200]; /* 11 + 1 + 20 + 2 x (1 + 64) */
    size_t n = pdm_fmt_i64(buf, machine_id);
    buf[n++] = '-';
    n += pdm_fmt_i64(buf + n, ts);
    const char *parts[2] = {version, resolution};
    for (int p = 0; p < 2 && parts[p]; p++) {
        size_t len = strnlen(parts[p], 64);
        buf[n++] = '-';
        memcpy(buf + n, parts[p], len);
        n += len;
    }
    if (n >= cap)
        n = cap - 1;
    memcpy(id, buf, n);
    id[n] = '\0';
}

/* A RiskEvent of machine_id at ts: a row's (scored != 0), or a resolution
 * that is not a score (by the world or silence), whose ts may be a row's
 * too: its event_id names its resolution. */
int scorer_output_risk(scorer_output *o, const char *topic, int32_t machine_id, int64_t ts,
                       int scored, const pdm_risk *risk, int counted)
{
    char buf[PDM_MAX_ENCODED], err[PDM_ERRSTR_SIZE], key[16];
    pdm_risk r = *risk;
    event_id(r.event_id, sizeof r.event_id, machine_id, ts, r.model_version,
             scored ? NULL : pdm_alert_resolution_name(r.resolution));
    r.scored_at = pdm_now_ms();
    pdm_event out = {.type = PDM_EV_RISK, .machine_id = machine_id, .ts = ts};
    out.u.risk = &r;
    int len =
        pdm_codec_encode(o->codec, &out, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err, sizeof err);
    if (len < 0) {
        pdm_log(PDM_LOG_ERROR, "encode RiskEvent: %s", err);
        atomic_fetch_add(&o->kafka->delivery_failures, 1);
        return -1;
    }
    size_t klen = pdm_fmt_i64(key, machine_id);
    if (scorer_kafka_produce(o->kafka, topic, key, klen, buf, (size_t)len, NULL))
        return -1;
    if (counted)
        pdm_metric_add(o->metrics->risk_events[r.level], 1);
    return 0;
}

static int emit_risk(scorer_output *o, int32_t machine_id, int64_t ts, int scored,
                     const pdm_risk *risk)
{
    return scorer_output_risk(o, o->cfg->risk_topic, machine_id, ts, scored, risk, 1);
}

size_t scorer_output_silent_risks(scorer_output *o, const scorer_silent_risks *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        const scorer_silent_risk *x = &s->items[i];
        if (emit_risk(o, x->machine_id, x->ts, 0, &x->risk) == 0) {
            scorer_incidents_count(o->metrics, PDM_ALERT_RESOLVED, &x->risk, x->ts);
            n++;
        }
    }
    return n;
}

void scorer_output_silence(scorer_output *o, const scorer_silence_change *changes, size_t n)
{
    char buf[PDM_MAX_ENCODED], err[PDM_ERRSTR_SIZE], key[16];
    for (size_t i = 0; i < n; i++) {
        const scorer_silence_change *c = &changes[i];
        pdm_event ev = {.type = PDM_EV_SILENCE, .machine_id = c->machine_id, .ts = c->stream_time};
        ev.u.silence.last_seen = c->last_seen;
        ev.u.silence.silent = c->silent;
        int len = pdm_codec_encode(o->codec, &ev, PDM_WIRE_SINGLE_OBJECT, buf, sizeof buf, err,
                                   sizeof err);
        if (len < 0) {
            pdm_log(PDM_LOG_ERROR, "encode MachineSilence: %s", err);
            atomic_fetch_add(&o->kafka->delivery_failures, 1);
            continue;
        }
        int klen = snprintf(key, sizeof key, "%d", (int)c->machine_id);
        if (scorer_kafka_produce(o->kafka, o->cfg->risk_topic, key, (size_t)klen, buf, (size_t)len,
                                 NULL) == 0)
            pdm_metric_add(o->metrics->silence_events[c->silent != 0], 1);
    }
}

size_t scorer_output_batch(scorer_output *o, const scorer_batch *b)
{
    size_t n_emitted = 0;
    for (size_t i = 0; i < b->n; i++) {
        const scorer_item *it = &b->items[i];
        if (it->bad_reason) {
            dead_letter(o, it);
        } else if (it->emit && (it->row >= 0 || it->world >= 0)) {
            const pdm_risk *r = it->row >= 0 ? &b->risks[it->row] : &b->world[it->world];
            if (emit_risk(o, it->ev.machine_id, it->ev.ts, it->row >= 0, r) == 0 && it->incident)
                scorer_incidents_count(o->metrics, it->incident, r, it->ev.ts);
            n_emitted++;
        }
    }
    return n_emitted;
}
