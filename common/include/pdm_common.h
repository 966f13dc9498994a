/* pdm_common.h: what every pdm program and library shares.
 *
 * - Errors are values: functions return 0 on success and a negative value on
 *   failure, writing a human message into a caller's errstr buffer
 *   (PDM_ERRSTR_SIZE bytes is always enough). Libraries never print or exit.
 * - Time is int64 milliseconds since the Unix epoch, UTC, everywhere.
 * - One option table per program drives parsing, environment variables
 *   (PDM_*) and --help; Kafka properties pass through as -X key=value.
 * - Logging is for programs (one line per record on stderr), not libraries.
 */
#ifndef PDM_COMMON_H
#define PDM_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PDM_ERRSTR_SIZE 512

#define PDM_MS_PER_HOUR INT64_C(3600000)

/* Writes a formatted message into errstr (if errstr != NULL) and returns -1,
 * so that error paths read `return pdm_err(errstr, len, "...", ...);`. */
int pdm_err(char *errstr, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- time ------------------------------------------------------------- */

/* Parses "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DDTHH:MM:SS[Z]" or "YYYY-MM-DD"
 * (UTC) of exactly `len` bytes into milliseconds. Returns 0, or -1 if the
 * text is not such a timestamp or names an impossible date. */
int pdm_time_parse(const char *s, size_t len, int64_t *ms_out);
/* Formats as "YYYY-MM-DD HH:MM:SS" (UTC); buf must hold 32 bytes. */
char *pdm_time_format(int64_t ms, char *buf);
/* Formats as "YYYY-MM-DDTHH:MM:SS.mmmZ" (ISO 8601, UTC); buf: 32 bytes. */
char *pdm_time_format_iso(int64_t ms, char *buf);
/* A duration: "100ms", "90s", "30m", "6h", "2d" or plain seconds (a
 * decimal number, not negative), into milliseconds. Returns 0, or -1 if the
 * text is not one or does not fit in an int64_t of milliseconds. */
int pdm_duration_parse(const char *text, int64_t *ms);
/* Wall clock, ms since the epoch. */
int64_t pdm_now_ms(void);

/* v in decimal at buf (no NUL); returns the digits written, at most 20.
 * The per-event paths' snprintf("%lld") without the format parsing. */
size_t pdm_fmt_i64(char *buf, int64_t v);

/* Overwrites a secret string (a password) with zeros and frees it; NULL is fine. */
void pdm_secret_free(char *s);
/* Monotonic clock in seconds, for durations. */
double pdm_monotonic_s(void);

/* ---- logging ---------------------------------------------------------- */

typedef enum { PDM_LOG_DEBUG = 0, PDM_LOG_INFO, PDM_LOG_WARN, PDM_LOG_ERROR } pdm_log_level;

void pdm_log_set_level(pdm_log_level level);
/* Accepts "debug", "info", "warn", "error". Returns 0 or -1. */
int pdm_log_level_parse(const char *name, pdm_log_level *out);
void pdm_log_set_program(const char *name);
void pdm_log(pdm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- key=value lists (-X Kafka properties) ----------------------------- */

typedef struct {
    size_t count;
    char **keys;
    char **values;
} pdm_kvlist;

/* Adds "key=value". Returns 0 or -1 (malformed or out of memory). */
int pdm_kvlist_add(pdm_kvlist *list, const char *key_eq_value, char *errstr, size_t errlen);
void pdm_kvlist_clear(pdm_kvlist *list);

/* ---- options ---------------------------------------------------------- */

typedef enum {
    PDM_OPT_STRING, /* char *  (malloc'ed copy; freed by pdm_options_free) */
    PDM_OPT_INT,    /* long long */
    PDM_OPT_DOUBLE, /* double */
    PDM_OPT_BOOL,   /* int; a flag: --name sets 1; env accepts 1/0/true/false */
    PDM_OPT_KV,     /* pdm_kvlist; repeatable key=value, or @PATH: a properties file
                     * (one key=value a line, '#' comments, blank lines skipped,
                     * whitespace trimmed) whose pairs are added in place; with an
                     * env var E, E takes one key=value or @PATH and E_FILE a PATH.
                     * Values are never quoted in error messages. */
} pdm_opt_type;

enum {
    /* The value is a secret: never printed; also read from --NAME-file PATH
     * or PDM_..._FILE (first line of the file). */
    PDM_OPT_SECRET = 1u << 0,
};

typedef struct {
    const char *name;       /* long option, without "--" */
    char short_name;        /* 0 for none */
    const char *env;        /* environment variable, NULL for none */
    pdm_opt_type type;
    size_t offset;          /* offsetof the field in the program's config struct */
    const char *def;        /* default as text, NULL for none */
    const char *arg_name;   /* shown in --help, e.g. "ADDR" */
    const char *help;
    unsigned flags;
} pdm_option;

/* Options in one table at most (the checks that need per-option state). */
#define PDM_OPTIONS_MAX 256

#define PDM_OPTIONS_END { NULL, 0, NULL, PDM_OPT_BOOL, 0, NULL, NULL, NULL, 0 }

/* Fills cfg from defaults, then the environment, then argv (later wins).
 * Positional arguments are moved, in order, to argv[1..*npos]. "--help" or
 * "-h" sets *help (if help != NULL) and stops. Returns 0 or -1 with errstr. */
int pdm_options_parse(const pdm_option *table, void *cfg, int argc, char **argv, int *npos,
                      int *help, char *errstr, size_t errlen);
/* Prints usage, then one block per option (flags, env, default, help). */
void pdm_options_help(FILE *out, const char *usage, const pdm_option *table);
/* Frees the strings and lists that parsing allocated in cfg. */
void pdm_options_free(const pdm_option *table, void *cfg);

/* What every program's main does first, described once per program. */
typedef struct {
    const char *name;        /* "pdm-broker": the log's program, messages' prefix */
    const char *usage;       /* --help's first lines */
    const pdm_option *options;
    int max_positional;      /* more positional arguments are refused; -1: any */
    size_t log_level_offset; /* offsetof the config's --log-level string, or
                              * PDM_NO_LOG_LEVEL */
} pdm_program;

#define PDM_NO_LOG_LEVEL ((size_t)-1)

/* Names the log's program, parses the options into cfg (pdm_options_parse),
 * prints --help to stdout, refuses surplus positional arguments and sets the
 * log level. Returns 0 to run on (*npos positional arguments in
 * argv[1..]; *status untouched), or -1 to exit at once with *status: 0
 * after --help, 2 after a usage error, said on stderr as "NAME: ...". */
int pdm_program_start(const pdm_program *p, void *cfg, int argc, char **argv, int *npos,
                      int *status);

/* ---- growable byte buffer --------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} pdm_buf;

int pdm_buf_reserve(pdm_buf *b, size_t extra);
int pdm_buf_append(pdm_buf *b, const void *data, size_t len);
int pdm_buf_printf(pdm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pdm_buf_free(pdm_buf *b);

/* Reads a whole file (NUL-terminated). Returns 0 or -1 with errstr. */
int pdm_read_file(const char *path, pdm_buf *out, char *errstr, size_t errlen);
/* Creates dir and its parents (mkdir -p). Returns 0 or -1 with errstr. */
int pdm_mkdirs(const char *path, char *errstr, size_t errlen);

/* Writes all of data to fd, a file or a socket (a socket through send()
 * with MSG_NOSIGNAL: a closed peer is an error, not a SIGPIPE), retrying
 * short writes and EINTR. Returns 0, or -1 with errno set. */
int pdm_write_all(int fd, const void *data, size_t len);
/* Replaces path with data atomically: writes path.tmp.XXXXXX (mode 0644),
 * fsyncs it and renames it over path, so a reader or a crash sees the old or
 * the new content, never a mix (the directory is not fsynced: the rename may
 * be lost in a power cut, the content never half written). Returns 0 or -1
 * with errstr naming the file; the temporary file is removed on error. */
int pdm_write_file_atomic(const char *path, const void *data, size_t len, char *errstr,
                          size_t errlen);

#endif
