/* archive_internal.h: what the archive's files share (not its API).
 *
 * The state file's text form, one record a line:
 *
 *   pdm-archive-state 1
 *   stream <ms>|-                      newest event time written
 *   offset <topic> <partition> <next>  one per source partition
 *   file <name> <size>                 one per data file, its committed size
 *   end
 *
 * Names are relative to the archive ("PdM_machines.csv",
 * "2015-01-03/PdM_telemetry.csv") and checked on reading, so a state file
 * edited by hand cannot make recovery truncate or remove anything else.
 * The "end" line makes a file cut short an error rather than a smaller
 * archive. */
#ifndef PDM_ARCHIVE_INTERNAL_H
#define PDM_ARCHIVE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_archive.h"
#include "pdm_common.h"
#include "pdm_dataset.h"

#define ARC_ROW_MAX 192
#define ARC_NAME_MAX 40 /* "YYYY-MM-DD/PdM_telemetry.csv" and its NUL */
#define ARC_STATE_FILE "archive.state"
#define ARC_STATE_TMP "archive.state.tmp"
#define ARC_LOCK_FILE "archive.lock"

typedef struct {
    char name[ARC_NAME_MAX];
    int64_t day;     /* its day's start, ms; INT64_MIN for the machines table */
    int64_t size;    /* committed bytes; 0: not created yet */
    pdm_buf pending; /* rows added since the last commit */
    int fd;          /* -1 when closed */
} arc_file;

typedef struct {
    char *topic;
    int32_t partition;
    int64_t next;      /* after what was added */
    int64_t committed; /* after the last commit; -1 none */
} arc_offset;

typedef struct {
    int64_t stream_ms; /* INT64_MIN: none */
    arc_file *files;
    size_t nfiles, capfiles;
    arc_offset *offsets;
    size_t noffsets, capoffsets;
} arc_state;

/* ---- rules (archive_rules.c) ---- */
int64_t arc_day_start(int64_t ts_ms);
pdm_dataset_file arc_file_of_type(pdm_event_type type);
/* 1 if name is one the archive writes (see above), with its day (INT64_MIN
 * for the machines table); 0 otherwise. */
int arc_valid_file_name(const char *name, int64_t *day_start_ms);

/* ---- state (archive_state.c) ---- */
void arc_state_init(arc_state *st);
void arc_state_clear(arc_state *st); /* frees; closes no fds */
/* The entry of a file, created (size 0, fd -1) when create is set; NULL when
 * absent (or out of memory: *oom set). */
arc_file *arc_state_file(arc_state *st, const char *name, int create, int *oom);
void arc_state_remove_file(arc_state *st, size_t i);
arc_offset *arc_state_offset(arc_state *st, const char *topic, int32_t partition, int create);
/* The text form of the committed state (file sizes, committed offsets). */
int arc_state_format(const arc_state *st, pdm_buf *out);
/* Parses the text form into an empty st. Returns 0 or -1 with errstr. */
int arc_state_parse(const char *text, arc_state *st, char *errstr, size_t errlen);
/* Writes st as dir/archive.state atomically and durably. Returns 0 or -1. */
int arc_state_write(const char *dir, const arc_state *st, char *errstr, size_t errlen);
/* Reads dir/archive.state: 1 read, 0 absent, -1 error (errstr). */
int arc_state_read(const char *dir, arc_state *st, char *errstr, size_t errlen);
/* fsync of a directory, so a created, renamed or removed entry is durable. */
int arc_fsync_dir(const char *path, char *errstr, size_t errlen);

#endif
