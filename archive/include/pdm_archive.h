/* pdm_archive.h: the input stream kept as the trainer's own files.
 *
 * An archive is a directory of daily PdM CSV data sets (event time, UTC):
 *
 *   DIR/archive.state              what is committed (below)
 *   DIR/PdM_machines.csv           the machines table, every MachineInfo in stream order
 *   DIR/2015-01-03/PdM_telemetry.csv, PdM_errors.csv, PdM_maint.csv, PdM_failures.csv
 *
 * in exactly the format pdm_dataset_load reads (same names, headers, number
 * and time formats), rows appended in stream order. A day directory is a
 * data set by itself (machines optional); pdm_archive_export joins a range of
 * days and the machines table into one directory for `pdm-train --data`.
 *
 * Idempotence: the archive's state file is the commit point. It records,
 * written atomically (temporary file, fsync, rename, fsync of DIR) after
 * the data files are written and fsynced, every file's committed size and
 * every source partition's next offset. Opening an archive truncates each
 * file to its committed size and removes files the state does not list (the
 * rows of a batch that was being written when the process died); the
 * consumer starts each partition at the state's offset, not Kafka's commit,
 * which may lag behind the state by one batch. So a batch consumed again
 * after a SIGKILL is written once.
 *
 * Retention (keep_days > 0): a day older than the keep_days newest days up
 * to the stream's day (the newest event day written, capped by the wall
 * clock's day) is removed after a commit; events for a removed day are
 * skipped. The machines table is never removed.
 *
 * One process writes an archive at a time (an flock on DIR/archive.lock);
 * readers (pdm_archive_export) need no lock: they read the committed sizes.
 */
#ifndef PDM_ARCHIVE_H
#define PDM_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_schemas.h"

#define PDM_MS_PER_DAY INT64_C(86400000)
#define PDM_ARCHIVE_DAY_SIZE 11 /* "YYYY-MM-DD" and its NUL */

/* Events before this (2000-01-01) or more than a day ahead of the wall clock
 * are not archived (the scorer refuses them too, as invalid_timestamp). */
#define PDM_ARCHIVE_MIN_TS INT64_C(946684800000)

/* ---- pure rules (unit-tested) ------------------------------------------ */

/* The UTC day of ts as "YYYY-MM-DD" into day (PDM_ARCHIVE_DAY_SIZE bytes). */
void pdm_archive_day_name(int64_t ts_ms, char *day);
/* The start (ms) of the day a name "YYYY-MM-DD" says. Returns 0 or -1 if
 * the name is not exactly such a day. */
int pdm_archive_day_parse(const char *name, int64_t *day_start_ms);
/* The file of an event type relative to the archive: "YYYY-MM-DD/PdM_telemetry.csv"
 * for stream types (the day of ts), "PdM_machines.csv" for machine info.
 * Returns the length, or -1 for an output type or a too small buffer. */
int pdm_archive_file_name(pdm_event_type type, int64_t ts_ms, char *buf, size_t len);

/* Why an event cannot be archived (the loader would refuse its row, or its
 * time is outside what the archive keeps). */
typedef enum {
    PDM_ARCHIVE_ROW_OK = 0,
    PDM_ARCHIVE_SKIP_UNDECODABLE, /* not an event (decoder error) */
    PDM_ARCHIVE_SKIP_OUTPUT_TYPE, /* a RiskEvent or MachineSilence on an input topic */
    PDM_ARCHIVE_SKIP_INVALID,     /* machine_id <= 0, a reading not finite, model > 4, age */
    PDM_ARCHIVE_SKIP_SUBSECOND,   /* ts not a whole second: the CSV time has no fraction */
    PDM_ARCHIVE_SKIP_TIME,        /* before 2000-01-01 or more than a day ahead of now */
    PDM_ARCHIVE_SKIP_EXPIRED,     /* its day is past the retention */
    PDM_ARCHIVE_SKIP_COUNT
} pdm_archive_skip;

/* "undecodable", "output_type", "invalid", "subsecond", "time", "expired". */
const char *pdm_archive_skip_name(pdm_archive_skip why);

/* Formats ev as its CSV row (with its line end) into buf. Numbers are the
 * shortest of "%.15g", "%.16g", "%.17g" that reads back as the same double
 * (the public files and pdm-sim write 15 digits, which this reproduces).
 * Returns the length, or -(pdm_archive_skip) when the row cannot be written,
 * judged against now_ms for the time rule. buf needs 192 bytes. */
int pdm_archive_format_row(const pdm_event *ev, int64_t now_ms, char *buf, size_t len);

/* What opening an archive does with one of its files: the state lists it
 * (listed) with a committed size (recorded) and it has actual bytes. */
typedef enum {
    PDM_ARCHIVE_KEEP = 0, /* listed, and as long as recorded */
    PDM_ARCHIVE_TRUNCATE, /* listed, longer: rows of a batch never committed */
    PDM_ARCHIVE_REMOVE,   /* not listed: created by a batch never committed */
    PDM_ARCHIVE_CORRUPT,  /* listed, shorter: changed outside the archive (an error) */
} pdm_archive_recovery;
pdm_archive_recovery pdm_archive_recovery_action(int listed, int64_t recorded, int64_t actual);

/* The first day kept (its start, ms): the keep_days newest days up to
 * min(stream time, now). INT64_MIN when nothing expires (keep_days <= 0 or
 * no stream time yet: stream_ms == INT64_MIN). */
int64_t pdm_archive_retention_start(int64_t stream_ms, int64_t now_ms, int keep_days);

/* ---- the writer ------------------------------------------------------------ */

typedef struct pdm_archive pdm_archive;

typedef struct {
    uint64_t rows[PDM_EV_COUNT];              /* appended, by event type */
    uint64_t skipped[PDM_ARCHIVE_SKIP_COUNT]; /* by reason */
    uint64_t commits;
    uint64_t recovered_bytes; /* truncated at open: an uncommitted batch's rows */
    uint64_t recovered_files; /* removed at open */
    uint64_t missing_files;   /* listed but gone at open (a day removed by hand): dropped */
    uint64_t expired_days;    /* removed by retention */
    int64_t stream_ms;        /* newest event time written; INT64_MIN none */
} pdm_archive_stats;

/* Opens (creating it if needed) the archive in dir, takes its lock and
 * recovers it to the last commit (see above). A directory that holds day
 * directories or a machines file but no state is refused (its state was
 * lost: recovery would remove everything). Returns NULL with errstr. */
pdm_archive *pdm_archive_open(const char *dir, int keep_days, char *errstr, size_t errlen);
void pdm_archive_destroy(pdm_archive *a);

/* The next offset the archive expects from a partition: 1 with *offset set
 * when it has written (or skipped) messages of it, else 0. */
int pdm_archive_next_offset(const pdm_archive *a, const char *topic, int32_t partition,
                            int64_t *offset);

/* Takes one message of a partition: ev the decoded event, or NULL when it did
 * not decode (skipped, counted). A message below the partition's next offset
 * is already in the archive and changes nothing (returns 1). The row goes to
 * a pending buffer; nothing is durable before pdm_archive_commit. Returns
 * 0 taken (written or counted as skipped), 1 already archived, -1 with
 * errstr (out of memory). */
int pdm_archive_add(pdm_archive *a, const char *topic, int32_t partition, int64_t offset,
                    const pdm_event *ev, int64_t now_ms, char *errstr, size_t errlen);

/* Makes what was added durable: appends the pending rows to their files,
 * fsyncs them, writes the state (the commit point), then applies retention.
 * Returns 0, or -1 with errstr (the archive must then be reopened: the
 * state on disk is the last commit). */
int pdm_archive_commit(pdm_archive *a, int64_t now_ms, char *errstr, size_t errlen);
/* 1 when rows or offsets are pending. */
int pdm_archive_pending(const pdm_archive *a);

/* The committed next offset of every partition, for a Kafka commit: calls
 * fn for each. */
void pdm_archive_each_offset(const pdm_archive *a,
                             void (*fn)(void *ctx, const char *topic, int32_t partition,
                                        int64_t next_offset),
                             void *ctx);

const pdm_archive_stats *pdm_archive_get_stats(const pdm_archive *a);

/* ---- reading ---------------------------------------------------------------- */

/* Writes one PdM data set to out_dir (created if needed; files written
 * under temporary names and renamed): telemetry, errors and failures of the
 * days from..to (inclusive, "YYYY-MM-DD"; NULL: the first / last day
 * archived), maintenance of every day up to `to` (the hours-since-maintenance
 * features need the history), and the machines table. Reads each file up to
 * its committed size, so it may run while pdm-archive writes. *days (if not
 * NULL) gets the number of days exported. Returns 0 or -1 with errstr. */
int pdm_archive_export(const char *dir, const char *from, const char *to, const char *out_dir,
                       int *days, char *errstr, size_t errlen);

#endif
