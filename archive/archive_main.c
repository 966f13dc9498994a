/* pdm-archive: keeps the input topics as the trainer's daily PdM CSV files.
 *   pdm-archive [run] --brokers B --dir DIR [--keep-days N] [--group ID]
 *   pdm-archive export --dir DIR --out DATA_DIR [--from DAY] [--to DAY]
 *
 * run: a consumer group member that decodes every message of the input
 * topics and adds its row to the archive (pdm_archive.h), committing the
 * archive every --batch-size messages or --max-wait, then Kafka's offsets
 * (for lag monitoring: the archive's own state says where each partition
 * resumes, so a SIGKILL between the two writes no row twice). At a
 * rebalance the archive is committed before its partitions go, and each
 * partition it gets starts at the archive's next offset for it (Kafka's
 * committed offset, or the earliest message, for a partition it has never
 * seen). A write error stops the process (exit 1) after logging it: nothing
 * after the last commit is lost, and the restart resumes there.
 *
 * export: a range of days as one data set for `pdm-train --data`. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_archive.h"
#include "pdm_common.h"
#include "pdm_kafka.h"
#include "pdm_schemas.h"

enum { EXIT_USAGE = 2 };
#define MAX_BATCH 100000

typedef struct {
    char *brokers;
    char *dir;
    char *group;
    char *topics;
    long long keep_days;
    long long batch_size;
    char *max_wait;
    int exit_at_end;
    char *from;
    char *to;
    char *out;
    char *log_level;
    pdm_kvlist props;
} archive_cfg;

#define O(f) offsetof(archive_cfg, f)
static const pdm_option options[] = {
    {"brokers", 'b', "PDM_BROKERS", PDM_OPT_STRING, O(brokers), "localhost:9092", "HOSTS",
     "run: Kafka bootstrap servers.", 0},
    {"dir", 'd', "PDM_ARCHIVE_DIR", PDM_OPT_STRING, O(dir), NULL, "DIR",
     "The archive (required): DIR/YYYY-MM-DD/PdM_*.csv per day of event time, "
     "DIR/PdM_machines.csv, DIR/archive.state.",
     0},
    {"group", 'g', "PDM_ARCHIVE_GROUP", PDM_OPT_STRING, O(group), "pdm-archive", "ID",
     "run: consumer group (its committed offsets show the archive's lag).", 0},
    {"topics", 't', "PDM_ARCHIVE_TOPICS", PDM_OPT_STRING, O(topics),
     "pdm.telemetry,pdm.errors,pdm.maintenance,pdm.failures,pdm.machines", "T,...",
     "run: topics to archive (any may carry any input event type; each message names its "
     "schema).",
     0},
    {"keep-days", 0, "PDM_ARCHIVE_KEEP_DAYS", PDM_OPT_INT, O(keep_days), "0", "N",
     "run: keep the N newest days up to the stream's event time (capped by the wall clock); "
     "older days are removed after a commit and their late events skipped. 0: keep all. "
     "The machines table is always kept.",
     0},
    {"batch-size", 0, "PDM_ARCHIVE_BATCH_SIZE", PDM_OPT_INT, O(batch_size), "10000", "N",
     "run: commit (write, fsync, state) at most every N messages.", 0},
    {"max-wait", 0, "PDM_ARCHIVE_MAX_WAIT", PDM_OPT_STRING, O(max_wait), "1s", "DURATION",
     "run: commit what has arrived at least this often (a live stream's rows are durable "
     "within it).",
     0},
    {"exit-at-end", 'e', "PDM_ARCHIVE_EXIT_AT_END", PDM_OPT_BOOL, O(exit_at_end), "false", NULL,
     "run: commit and exit once every assigned partition is at its end (tests, backfills).", 0},
    {"from", 0, "PDM_ARCHIVE_FROM", PDM_OPT_STRING, O(from), NULL, "YYYY-MM-DD",
     "export: first day (default: the first archived).", 0},
    {"to", 0, "PDM_ARCHIVE_TO", PDM_OPT_STRING, O(to), NULL, "YYYY-MM-DD",
     "export: last day, inclusive (default: the last archived).", 0},
    {"out", 'o', "PDM_ARCHIVE_OUT", PDM_OPT_STRING, O(out), NULL, "DIR",
     "export: where to write the five PdM CSV files.", 0},
    {"log-level", 0, "PDM_LOG_LEVEL", PDM_OPT_STRING, O(log_level), "info", "LEVEL",
     "debug, info, warn or error.", 0},
    {"property", 'X', "PDM_KAFKA_CONFIG", PDM_OPT_KV, O(props), NULL, "KEY=VALUE",
     "run: librdkafka consumer property (repeatable).", 0},
    PDM_OPTIONS_END,
};

static const char usage[] =
    "usage: pdm-archive [run] --brokers B --dir DIR [--keep-days N] [--group ID]\n"
    "       pdm-archive export --dir DIR --out DATA_DIR [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
    "Keeps the input topics as daily PdM CSV files (the format pdm-train --data reads).";

static volatile sig_atomic_t stop_requested;
static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct {
    char *topic;
    int32_t partition;
    int at_end;
} assigned_part;

typedef struct {
    const archive_cfg *cfg;
    rd_kafka_t *rk;
    pdm_archive *archive;
    pdm_codec *codec;
    assigned_part *parts;
    int nparts;
    int failed; /* a commit failed: stop */
    uint64_t logged_skips[PDM_ARCHIVE_SKIP_COUNT];
    uint64_t logged_below; /* messages below a partition's next offset */
} runner;

/* ---- committing ------------------------------------------------------------------- */

typedef struct {
    runner *r;
    rd_kafka_topic_partition_list_t *list;
} offsets_ctx;

static void add_offset(void *ctx, const char *topic, int32_t partition, int64_t next)
{
    offsets_ctx *c = ctx;
    for (int i = 0; i < c->r->nparts; i++) /* only partitions this member owns */
        if (c->r->parts[i].partition == partition && !strcmp(c->r->parts[i].topic, topic))
            rd_kafka_topic_partition_list_add(c->list, topic, partition)->offset = next;
}

/* The archive first (the commit point), then Kafka's offsets. */
static int commit(runner *r)
{
    char errstr[PDM_ERRSTR_SIZE];
    double t0 = pdm_monotonic_s();
    if (!pdm_archive_pending(r->archive))
        return 0;
    if (pdm_archive_commit(r->archive, pdm_now_ms(), errstr, sizeof errstr)) {
        pdm_log(PDM_LOG_ERROR, "archive commit failed: %s", errstr);
        r->failed = 1;
        return -1;
    }
    offsets_ctx c = {r, rd_kafka_topic_partition_list_new(r->nparts ? r->nparts : 1)};
    pdm_archive_each_offset(r->archive, add_offset, &c);
    if (c.list->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_commit(r->rk, c.list, 0);
        if (err) /* the archive's state is what counts: Kafka's offsets only show the lag */
            pdm_log(PDM_LOG_WARN, "kafka commit: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(c.list);
    pdm_log(PDM_LOG_DEBUG, "commit: %.1f ms (archive and Kafka)", (pdm_monotonic_s() - t0) * 1000);
    return 0;
}

/* ---- the group ---------------------------------------------------------------------- */

static void forget_parts(runner *r)
{
    for (int i = 0; i < r->nparts; i++)
        free(r->parts[i].topic);
    free(r->parts);
    r->parts = NULL;
    r->nparts = 0;
}

/* Drops the revoked partitions (all of them with the eager protocol, some
 * with the cooperative one). */
static void drop_parts(runner *r, const rd_kafka_topic_partition_list_t *revoked)
{
    int kept = 0;
    for (int i = 0; i < r->nparts; i++) {
        if (rd_kafka_topic_partition_list_find(revoked, r->parts[i].topic, r->parts[i].partition)) {
            free(r->parts[i].topic);
            continue;
        }
        r->parts[kept++] = r->parts[i];
    }
    r->nparts = kept;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    runner *r = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        commit(r); /* what was read of them is archived before they go */
        if (cooperative)
            rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
        else
            rd_kafka_assign(rk, NULL);
        drop_parts(r, parts);
        pdm_log(PDM_LOG_INFO, "revoked %d partitions", parts->cnt);
        return;
    }
    assigned_part *grown = realloc(r->parts, (size_t)(r->nparts + parts->cnt) * sizeof *grown);
    if (!grown) {
        pdm_log(PDM_LOG_ERROR, "assignment: out of memory");
        r->failed = 1;
        return;
    }
    r->parts = grown;
    int resumed = 0;
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t next;
        if (pdm_archive_next_offset(r->archive, tp->topic, tp->partition, &next)) {
            tp->offset = next; /* the archive, not Kafka's commit, says where it is */
            resumed++;
        }
        r->parts[r->nparts++] = (assigned_part){strdup(tp->topic), tp->partition, 0};
    }
    if (cooperative)
        rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
    else
        rd_kafka_assign(rk, parts);
    pdm_log(PDM_LOG_INFO, "assigned %d partitions (%d resumed at the archive's offsets)",
            parts->cnt, resumed);
}

static rd_kafka_t *consumer_new(runner *r, char *errstr, size_t errlen)
{
    const archive_cfg *cfg = r->cfg;
    const char *defaults[][2] = {
        {"group.id", cfg->group},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"auto.offset.reset", "earliest"}, /* a new archive starts at the oldest message kept */
    };
    char msg[PDM_ERRSTR_SIZE];
    rd_kafka_t *rk = NULL;
    rd_kafka_conf_t *conf = pdm_kafka_conf_new(cfg->brokers, "pdm-archive", NULL, errstr, errlen);

    if (!conf)
        return NULL;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (rd_kafka_conf_set(conf, defaults[i][0], defaults[i][1], msg, sizeof msg)) {
            pdm_err(errstr, errlen, "%s: %s", defaults[i][0], msg);
            goto out;
        }
    if (pdm_kafka_conf_apply(conf, &cfg->props, errstr, errlen))
        goto out;
    rd_kafka_conf_set_opaque(conf, r);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, msg, sizeof msg);
    if (!rk) {
        pdm_err(errstr, errlen, "cannot create the consumer: %s", msg);
        goto out;
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(rk);
out:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* ---- the loop ------------------------------------------------------------------------ */

static void note_end(runner *r, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    for (int i = 0; i < r->nparts; i++)
        if (r->parts[i].partition == m->partition && !strcmp(r->parts[i].topic, topic))
            r->parts[i].at_end = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
}

static int all_at_end(const runner *r)
{
    for (int i = 0; i < r->nparts; i++)
        if (!r->parts[i].at_end)
            return 0;
    return r->nparts > 0;
}

/* Decodes one message and adds it; the first skip of each reason is logged. */
static int take(runner *r, const rd_kafka_message_t *m)
{
    char errstr[PDM_ERRSTR_SIZE] = "";
    pdm_event ev;
    const char *topic = rd_kafka_topic_name(m->rkt);
    int st =
        pdm_codec_decode(r->codec, m->payload, m->payload ? m->len : 0, &ev, errstr, sizeof errstr);
    const pdm_archive_stats *s = pdm_archive_get_stats(r->archive);
    uint64_t before[PDM_ARCHIVE_SKIP_COUNT];
    memcpy(before, s->skipped, sizeof before);
    if (pdm_archive_add(r->archive, topic, m->partition, m->offset,
                        st == PDM_DECODE_OK ? &ev : NULL, pdm_now_ms(), errstr,
                        sizeof errstr) < 0) {
        pdm_log(PDM_LOG_ERROR, "%s", errstr);
        return -1;
    }
    for (int k = 1; k < PDM_ARCHIVE_SKIP_COUNT; k++)
        if (s->skipped[k] != before[k] && r->logged_skips[k]++ == 0)
            pdm_log(PDM_LOG_WARN,
                    "skipped %s [%d] offset %lld: %s%s%s (first of its kind; all are "
                    "counted)",
                    topic, (int)m->partition, (long long)m->offset,
                    pdm_archive_skip_name((pdm_archive_skip)k), st ? ": " : "", st ? errstr : "");
    return 0;
}

static void log_progress(const runner *r, const char *what)
{
    const pdm_archive_stats *s = pdm_archive_get_stats(r->archive);
    char stream[32] = "-", reasons[256] = "";
    uint64_t skipped = 0;
    size_t n = 0;
    for (int k = 1; k < PDM_ARCHIVE_SKIP_COUNT; k++) {
        skipped += s->skipped[k];
        if (s->skipped[k] && n < sizeof reasons)
            n += (size_t)snprintf(reasons + n, sizeof reasons - n, "%s%s %llu", n ? ", " : " (",
                                  pdm_archive_skip_name((pdm_archive_skip)k),
                                  (unsigned long long)s->skipped[k]);
    }
    if (n && n < sizeof reasons - 1)
        strcat(reasons, ")");
    if (s->stream_ms != INT64_MIN)
        pdm_time_format(s->stream_ms, stream);
    pdm_log(PDM_LOG_INFO,
            "%s: rows telemetry %llu, errors %llu, maintenance %llu, failures %llu, machines %llu; "
            "skipped %llu%s; %llu commits; days expired %llu; stream time %s",
            what, (unsigned long long)s->rows[PDM_EV_TELEMETRY],
            (unsigned long long)s->rows[PDM_EV_ERROR],
            (unsigned long long)s->rows[PDM_EV_MAINTENANCE],
            (unsigned long long)s->rows[PDM_EV_FAILURE],
            (unsigned long long)s->rows[PDM_EV_MACHINE], (unsigned long long)skipped, reasons,
            (unsigned long long)s->commits, (unsigned long long)s->expired_days, stream);
}

static int consume(runner *r, int64_t max_wait_ms)
{
    rd_kafka_message_t *msgs[512];
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(r->rk);
    long long taken = 0;
    double batch_start = pdm_monotonic_s(), last_log = batch_start;
    int rc = 0;

    while (!stop_requested && !r->failed) {
        double now = pdm_monotonic_s();
        int wait_ms = (int)(max_wait_ms - (now - batch_start) * 1000);
        wait_ms = wait_ms < 0 ? 0 : wait_ms > 100 ? 100 : wait_ms;
        size_t want = sizeof msgs / sizeof msgs[0];
        if ((long long)want > r->cfg->batch_size - taken)
            want = (size_t)(r->cfg->batch_size - taken);
        ssize_t n = rd_kafka_consume_batch_queue(q, wait_ms, msgs, want);
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                note_end(r, m);
            } else if (m->err) {
                pdm_log(PDM_LOG_WARN, "%s", rd_kafka_message_errstr(m));
            } else {
                note_end(r, m);
                if (take(r, m))
                    rc = -1, r->failed = 1;
                taken++;
            }
            rd_kafka_message_destroy(m);
        }
        now = pdm_monotonic_s();
        int at_end = all_at_end(r);
        /* A live stream is at its end after almost every fetch: only
         * --exit-at-end commits there, the others wait for a full batch or
         * --max-wait (each commit costs an fsync per file it touches). */
        if (taken >= r->cfg->batch_size || (now - batch_start) * 1000 >= max_wait_ms ||
            (at_end && r->cfg->exit_at_end)) {
            if (!r->failed && commit(r))
                rc = -1;
            taken = 0;
            batch_start = now;
        }
        if (now - last_log >= 10) {
            log_progress(r, "progress");
            last_log = now;
        }
        if (r->cfg->exit_at_end && at_end && !pdm_archive_pending(r->archive))
            break;
    }
    if (!r->failed && commit(r))
        rc = -1;
    rd_kafka_queue_destroy(q);
    return r->failed ? -1 : rc;
}

static int run(const archive_cfg *cfg)
{
    char errstr[PDM_ERRSTR_SIZE];
    int64_t max_wait_ms;
    pdm_topic_list topics = {0};
    rd_kafka_topic_partition_list_t *sub = NULL;
    runner r = {.cfg = cfg};
    int rc = 1;

    /* Both checked by check_cfg. */
    if (pdm_duration_parse(cfg->max_wait, &max_wait_ms) ||
        pdm_topic_list_add_csv(&topics, cfg->topics, errstr, sizeof errstr))
        goto fail;
    r.archive = pdm_archive_open(cfg->dir, (int)cfg->keep_days, errstr, sizeof errstr);
    if (!r.archive)
        goto fail;
    const pdm_archive_stats *s = pdm_archive_get_stats(r.archive);
    if (s->recovered_bytes || s->recovered_files || s->missing_files)
        pdm_log(PDM_LOG_INFO,
                "recovered %s to its last commit: %llu bytes truncated, %llu files "
                "removed (an interrupted batch), %llu listed files missing",
                cfg->dir, (unsigned long long)s->recovered_bytes,
                (unsigned long long)s->recovered_files, (unsigned long long)s->missing_files);
    if (!(r.codec = pdm_codec_new(errstr, sizeof errstr)) ||
        !(r.rk = consumer_new(&r, errstr, sizeof errstr)))
        goto fail;
    sub = rd_kafka_topic_partition_list_new((int)topics.count);
    for (size_t i = 0; i < topics.count; i++)
        rd_kafka_topic_partition_list_add(sub, topics.names[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(r.rk, sub);
    if (err) {
        pdm_err(errstr, sizeof errstr, "cannot subscribe: %s", rd_kafka_err2str(err));
        goto fail;
    }
    pdm_log(PDM_LOG_INFO, "archiving %s into %s (group %s, keep %lld days)", cfg->topics, cfg->dir,
            cfg->group, cfg->keep_days);
    rc = consume(&r, max_wait_ms) ? 1 : 0;
    log_progress(&r, rc ? "stopped on an error" : "stopped");
    rd_kafka_consumer_close(r.rk); /* revokes: the rebalance callback commits what is left */
    goto out;
fail:
    pdm_log(PDM_LOG_ERROR, "%s", errstr);
out:
    if (sub)
        rd_kafka_topic_partition_list_destroy(sub);
    if (r.rk)
        rd_kafka_destroy(r.rk);
    forget_parts(&r);
    pdm_codec_destroy(r.codec);
    pdm_archive_destroy(r.archive);
    pdm_topic_list_clear(&topics);
    return rc;
}

static int export_days(const archive_cfg *cfg)
{
    char errstr[PDM_ERRSTR_SIZE];
    int days = 0;
    if (!cfg->out || !*cfg->out) {
        fprintf(stderr, "pdm-archive: export needs --out DIR\n");
        return EXIT_USAGE;
    }
    if (pdm_archive_export(cfg->dir, cfg->from, cfg->to, cfg->out, &days, errstr, sizeof errstr)) {
        pdm_log(PDM_LOG_ERROR, "export: %s", errstr);
        return 1;
    }
    pdm_log(PDM_LOG_INFO, "exported %d day(s) of %s to %s", days, cfg->dir, cfg->out);
    return 0;
}

/* Prints what is wrong with the options, if anything. Returns 0 or -1. */
static int check_cfg(const archive_cfg *cfg)
{
    const char *why = NULL;
    int64_t ms;
    char errstr[PDM_ERRSTR_SIZE];
    pdm_topic_list topics = {0};

    if (!cfg->dir || !*cfg->dir)
        why = "--dir (or PDM_ARCHIVE_DIR) is required";
    else if (cfg->keep_days < 0 || cfg->keep_days > 100000)
        why = "--keep-days must be 0..100000";
    else if (cfg->batch_size < 1 || cfg->batch_size > MAX_BATCH)
        why = "--batch-size must be 1..100000";
    else if (pdm_duration_parse(cfg->max_wait, &ms) || ms > 3600000)
        why = "--max-wait is not a duration up to 1h (100ms, 1s, ...)";
    else if (pdm_topic_list_add_csv(&topics, cfg->topics, errstr, sizeof errstr))
        why = errstr;
    else if (!topics.count)
        why = "--topics names no topic";
    if (why)
        fprintf(stderr, "pdm-archive: %s\n", why);
    pdm_topic_list_clear(&topics);
    return why ? -1 : 0;
}

int main(int argc, char **argv)
{
    archive_cfg cfg = {0};
    int npos = 0, rc = EXIT_USAGE;
    const pdm_program program = {"pdm-archive", usage, options, 1,
                                 offsetof(archive_cfg, log_level)};

    if (pdm_program_start(&program, &cfg, argc, argv, &npos, &rc))
        goto out;
    int is_export = npos == 1 && !strcmp(argv[1], "export");
    if (npos == 1 && !is_export && strcmp(argv[1], "run")) {
        fprintf(stderr, "pdm-archive: unknown command '%s' (run or export)\n%s\n", argv[1], usage);
        goto out;
    }
    if (check_cfg(&cfg))
        goto out;
    if (is_export) {
        rc = export_days(&cfg);
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = run(&cfg);
out:
    pdm_options_free(options, &cfg);
    return rc;
}
