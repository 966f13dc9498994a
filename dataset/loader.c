/* loader.c: reads the five PdM CSV files into events in replay order.
 *
 * Each file is mapped into memory and parsed in place: fields are (pointer,
 * length) ranges of the line, numbers go through the exact fast path of
 * numfmt.c, timestamps through pdm_time_parse; nothing is allocated per row
 * or per field. A file's rows are then ordered by sorting 24-byte keys
 * (ts, machine, name, row) rather than the events themselves, duplicates
 * are dropped on the sorted keys, and the events are gathered once.
 * The public files list each machine's rows in time order, machine after
 * machine; a file is "unsorted" (a warning) only when some machine's rows go
 * back in time, which a per-machine last-timestamp table detects while
 * parsing. The per-type arrays are finally merged into replay order. */
#include "pdm_dataset.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset_internal.h"
#include "pdm_common.h"

#define MAX_FIELDS 6

struct pdm_dataset {
    pdm_event *by_type[PDM_EV_COUNT];
    size_t n_by_type[PDM_EV_COUNT];
    pdm_event *all;
    size_t n_all;
    pdm_dataset_stats stats;
};

static const char *const file_names[PDM_FILE_COUNT] = {
    "PdM_telemetry.csv", "PdM_errors.csv", "PdM_maint.csv", "PdM_failures.csv", "PdM_machines.csv"};
static const char *const file_headers[PDM_FILE_COUNT] = {
    "datetime,machineID,volt,rotate,pressure,vibration", "datetime,machineID,errorID",
    "datetime,machineID,comp", "datetime,machineID,failure", "machineID,model,age"};
static const pdm_event_type file_types[PDM_FILE_COUNT] = {
    PDM_EV_TELEMETRY, PDM_EV_ERROR, PDM_EV_MAINTENANCE, PDM_EV_FAILURE, PDM_EV_MACHINE};
static const int file_nfields[PDM_FILE_COUNT] = {6, 3, 3, 3, 3};

const char *pdm_dataset_file_name(pdm_dataset_file f)
{
    return f >= 0 && f < PDM_FILE_COUNT ? file_names[f] : "?";
}

const char *pdm_dataset_file_header(pdm_dataset_file f)
{
    return f >= 0 && f < PDM_FILE_COUNT ? file_headers[f] : "";
}

pdm_event_type pdm_dataset_file_event_type(pdm_dataset_file f)
{
    return f >= 0 && f < PDM_FILE_COUNT ? file_types[f] : PDM_EV_COUNT;
}

/* ---- fields ------------------------------------------------------------ */

typedef struct {
    const char *p;
    size_t n;
} field;

static field unquote(field f)
{
    if (f.n >= 2 && f.p[0] == '"' && f.p[f.n - 1] == '"') {
        f.p++;
        f.n -= 2;
    }
    return f;
}

/* Splits a line at commas into at most MAX_FIELDS fields; returns the
 * number of fields the line has (which may be more). */
static int split(const char *line, size_t len, field *fields)
{
    int n = 0;
    const char *p = line, *end = line + len;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (n < MAX_FIELDS)
            fields[n] = unquote((field){p, (size_t)(stop - p)});
        n++;
        if (!comma)
            return n;
        p = comma + 1;
    }
}

static int field_is(field f, const char *s)
{
    size_t n = strlen(s);
    return f.n == n && memcmp(f.p, s, n) == 0;
}

/* A positive decimal integer of at most INT32_MAX, no sign, no blanks. */
static int parse_id(field f, int32_t *out)
{
    int64_t v = 0;
    if (f.n == 0 || f.n > 10)
        return -1;
    for (size_t i = 0; i < f.n; i++) {
        if (f.p[i] < '0' || f.p[i] > '9')
            return -1;
        v = v * 10 + (f.p[i] - '0');
    }
    if (v <= 0 || v > INT32_MAX)
        return -1;
    *out = (int32_t)v;
    return 0;
}

/* "<prefix>N" with N in 1..max. */
static int parse_name(field f, const char *prefix, int max, int *out)
{
    size_t pn = strlen(prefix);
    int v = 0;
    if (f.n <= pn || f.n > pn + 3 || memcmp(f.p, prefix, pn) != 0)
        return -1;
    for (size_t i = pn; i < f.n; i++) {
        if (f.p[i] < '0' || f.p[i] > '9')
            return -1;
        v = v * 10 + (f.p[i] - '0');
    }
    if (v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ---- per-machine last timestamp (detects unsorted files) ---------------- */

typedef struct {
    int32_t *keys; /* 0 = empty slot (machine ids are positive) */
    int64_t *last;
    size_t cap, used;
} ts_table;

static void ts_table_free(ts_table *t)
{
    free(t->keys);
    free(t->last);
    memset(t, 0, sizeof *t);
}

static size_t ts_slot(const ts_table *t, int32_t key)
{
    size_t i = ((uint32_t)key * UINT32_C(2654435761)) & (t->cap - 1);
    while (t->keys[i] && t->keys[i] != key)
        i = (i + 1) & (t->cap - 1);
    return i;
}

static int ts_table_grow(ts_table *t)
{
    ts_table bigger = {0};
    bigger.cap = t->cap ? t->cap * 2 : 256;
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.last = calloc(bigger.cap, sizeof *bigger.last);
    if (!bigger.keys || !bigger.last) {
        ts_table_free(&bigger);
        return -1;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->keys[i])
            continue;
        size_t j = ts_slot(&bigger, t->keys[i]);
        bigger.keys[j] = t->keys[i];
        bigger.last[j] = t->last[i];
    }
    bigger.used = t->used;
    ts_table_free(t);
    *t = bigger;
    return 0;
}

/* Records ts for machine; sets *backwards when it is before the machine's
 * previous row. Returns -1 on out of memory. */
static int ts_table_note(ts_table *t, int32_t machine, int64_t ts, int *backwards)
{
    if ((t->used + 1) * 2 > t->cap && ts_table_grow(t))
        return -1;
    size_t i = ts_slot(t, machine);
    if (!t->keys[i]) {
        t->keys[i] = machine;
        t->last[i] = ts;
        t->used++;
        return 0;
    }
    if (ts < t->last[i])
        *backwards = 1;
    t->last[i] = ts;
    return 0;
}

/* ---- sorting ----------------------------------------------------------- */

typedef struct {
    int64_t ts;
    int32_t machine;
    int32_t name; /* error id / component, 0 for telemetry and machines */
    uint32_t row; /* index in file order */
    uint32_t pad;
} sort_key;

static inline int key_less(const sort_key *a, const sort_key *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts;
    if (a->machine != b->machine)
        return a->machine < b->machine;
    if (a->name != b->name)
        return a->name < b->name;
    return a->row < b->row;
}

/* Bottom-up merge sort seeded with the input's natural runs: a file listed
 * machine after machine is 100 sorted runs, an already sorted one is one. */
static int sort_keys(sort_key *keys, size_t n)
{
    int rc = -1;
    size_t *runs = NULL, nruns = 0;
    sort_key *tmp = NULL;

    if (n < 2)
        return 0;
    size_t i = 1;
    while (i < n && !key_less(&keys[i], &keys[i - 1]))
        i++;
    if (i == n)
        return 0;
    runs = malloc((n + 1) * sizeof *runs);
    tmp = malloc(n * sizeof *tmp);
    if (!runs || !tmp)
        goto out;
    runs[nruns++] = 0;
    for (i = 1; i < n; i++)
        if (key_less(&keys[i], &keys[i - 1]))
            runs[nruns++] = i;
    runs[nruns] = n;

    sort_key *src = keys, *dst = tmp;
    while (nruns > 1) {
        size_t out_runs = 0;
        for (size_t r = 0; r < nruns; r += 2) {
            /* runs[nruns] == n, so a last run without a partner merges with nothing. */
            size_t lo = runs[r], mid = runs[r + 1];
            size_t hi = r + 2 <= nruns ? runs[r + 2] : runs[nruns];
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi)
                dst[o++] = key_less(&src[b], &src[a]) ? src[b++] : src[a++];
            while (a < mid)
                dst[o++] = src[a++];
            while (b < hi)
                dst[o++] = src[b++];
            runs[out_runs++] = lo;
        }
        runs[out_runs] = n;
        nruns = out_runs;
        sort_key *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != keys)
        memcpy(keys, src, n * sizeof *keys);
    rc = 0;
out:
    free(runs);
    free(tmp);
    return rc;
}

/* ---- one file ---------------------------------------------------------- */

typedef struct {
    const char *dir;
    const pdm_dataset_options *opts;
    pdm_dataset_stats *stats;
    pdm_dataset_file file;
    char *errstr;
    size_t errlen;
} load_ctx;

/* A malformed row: an error, or with skip_bad_rows a counted reason. */
static int bad_row(load_ctx *c, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_row(load_ctx *c, size_t line, const char *fmt, ...)
{
    char reason[PDM_DATASET_REASON_SIZE];
    int n = snprintf(reason, sizeof reason, "%s:%zu: ", file_names[c->file], line);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof reason)
        vsnprintf(reason + n, sizeof reason - (size_t)n, fmt, ap);
    va_end(ap);
    if (!c->opts->skip_bad_rows)
        return pdm_err(c->errstr, c->errlen, "%s", reason);
    c->stats->files[c->file].bad_rows++;
    c->stats->bad_rows++;
    if (c->stats->n_reasons < PDM_DATASET_MAX_REASONS)
        memcpy(c->stats->reasons[c->stats->n_reasons++], reason, sizeof reason);
    return 0;
}

/* Shown in messages: at most 40 bytes of a field. */
#define SHOW(f) (int)((f).n > 40 ? 40 : (f).n), (f).p

static const char *const telemetry_names[4] = {"volt", "rotate", "pressure", "vibration"};

/* Fills ev from one row's fields. Returns 0, or -1 with the reason in why. */
static int parse_row(pdm_dataset_file file, const field *f, pdm_event *ev, char *why, size_t whylen)
{
    memset(ev, 0, sizeof *ev);
    ev->type = file_types[file];
    if (file == PDM_FILE_MACHINES) {
        double age;
        if (parse_id(f[0], &ev->machine_id))
            return pdm_err(why, whylen, "machineID is not a positive integer: \"%.*s\"",
                           SHOW(f[0]));
        if (parse_name(f[1], "model", PDM_DATASET_MAX_MODEL, &ev->u.machine.model))
            return pdm_err(why, whylen, "model is not model1..model%d: \"%.*s\"",
                           PDM_DATASET_MAX_MODEL, SHOW(f[1]));
        /* range first: (int) of a value out of int's range is undefined */
        if (pdm_ds_parse_num(f[2].p, f[2].n, &age) || !(age >= 0 && age <= 200) ||
            age != (double)(int)age)
            return pdm_err(why, whylen, "age is not a whole number of years 0..200: \"%.*s\"",
                           SHOW(f[2]));
        ev->u.machine.age = (int)age;
        return 0;
    }
    if (pdm_time_parse(f[0].p, f[0].n, &ev->ts))
        return pdm_err(why, whylen, "datetime is not a valid YYYY-MM-DD HH:MM:SS: \"%.*s\"",
                       SHOW(f[0]));
    if (parse_id(f[1], &ev->machine_id))
        return pdm_err(why, whylen, "machineID is not a positive integer: \"%.*s\"", SHOW(f[1]));
    switch (file) {
    case PDM_FILE_TELEMETRY: {
        double v[4];
        for (int i = 0; i < 4; i++) {
            int st = pdm_ds_parse_num(f[2 + i].p, f[2 + i].n, &v[i]);
            if (st)
                return pdm_err(why, whylen, "%s is not %s: \"%.*s\"", telemetry_names[i],
                               st == -2 ? "finite" : "a number", SHOW(f[2 + i]));
        }
        ev->u.telemetry.volt = v[0];
        ev->u.telemetry.rotate = v[1];
        ev->u.telemetry.pressure = v[2];
        ev->u.telemetry.vibration = v[3];
        return 0;
    }
    case PDM_FILE_ERRORS:
        if (parse_name(f[2], "error", PDM_N_ERRORS, &ev->u.error.error_id))
            return pdm_err(why, whylen, "errorID is not error1..error%d: \"%.*s\"", PDM_N_ERRORS,
                           SHOW(f[2]));
        return 0;
    case PDM_FILE_MAINT:
        if (parse_name(f[2], "comp", PDM_N_COMPONENTS, &ev->u.maintenance.component))
            return pdm_err(why, whylen, "comp is not comp1..comp%d: \"%.*s\"", PDM_N_COMPONENTS,
                           SHOW(f[2]));
        return 0;
    case PDM_FILE_FAILURES:
        if (parse_name(f[2], "comp", PDM_N_COMPONENTS, &ev->u.failure.component))
            return pdm_err(why, whylen, "failure is not comp1..comp%d: \"%.*s\"", PDM_N_COMPONENTS,
                           SHOW(f[2]));
        return 0;
    default:
        return pdm_err(why, whylen, "unknown file");
    }
}

static int event_name(const pdm_event *ev)
{
    switch (ev->type) {
    case PDM_EV_ERROR:
        return ev->u.error.error_id;
    case PDM_EV_MAINTENANCE:
        return ev->u.maintenance.component;
    case PDM_EV_FAILURE:
        return ev->u.failure.component;
    default:
        return 0;
    }
}

static int check_header(load_ctx *c, const char *line, size_t len)
{
    field f[MAX_FIELDS];
    char expected[64];
    const char *h = file_headers[c->file];
    int n = split(line, len, f), ok = n == file_nfields[c->file];
    for (int i = 0; ok && i < n; i++) {
        size_t w = strcspn(h, ",");
        memcpy(expected, h, w);
        expected[w] = '\0';
        ok = field_is(f[i], expected);
        h += w + (h[w] == ',');
    }
    if (ok)
        return 0;
    return pdm_err(c->errstr, c->errlen, "%s:1: wrong header: expected \"%s\", found \"%.*s\"",
                   file_names[c->file], file_headers[c->file], (int)(len > 80 ? 80 : len), line);
}

/* Parses a file's rows (file order) into *rows. */
static int parse_file(load_ctx *c, const char *data, size_t size, pdm_event **rows_out,
                      size_t *nrows_out)
{
    int rc = -1, backwards = 0;
    size_t cap = 1, nrows = 0, line = 0;
    pdm_event *rows = NULL;
    ts_table last_ts = {0};
    pdm_dataset_file_stats *fs = &c->stats->files[c->file];
    const char *p = data, *end = data + size;

    for (const char *q = data; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        cap++;
    rows = malloc(cap * sizeof *rows);
    if (!rows) {
        pdm_err(c->errstr, c->errlen, "%s: out of memory", file_names[c->file]);
        goto out;
    }
    if (size >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t len = (size_t)(stop - p);
        const char *text = p;
        p = nl ? nl + 1 : end;
        line++;
        if (len && text[len - 1] == '\r')
            len--;
        if (line == 1) {
            if (check_header(c, text, len))
                goto out;
            continue;
        }
        if (len == 0) {
            const char *rest = p;
            while (rest < end && (*rest == '\r' || *rest == '\n'))
                rest++;
            if (rest == end)
                break; /* trailing blank lines */
            fs->rows_read++;
            if (bad_row(c, line, "empty line"))
                goto out;
            continue;
        }
        fs->rows_read++;
        field f[MAX_FIELDS];
        int nf = split(text, len, f);
        if (nf != file_nfields[c->file]) {
            if (bad_row(c, line, "expected %d fields, found %d", file_nfields[c->file], nf))
                goto out;
            continue;
        }
        char why[PDM_DATASET_REASON_SIZE];
        if (parse_row(c->file, f, &rows[nrows], why, sizeof why)) {
            if (bad_row(c, line, "%s", why))
                goto out;
            continue;
        }
        if (c->file != PDM_FILE_MACHINES &&
            ts_table_note(&last_ts, rows[nrows].machine_id, rows[nrows].ts, &backwards)) {
            pdm_err(c->errstr, c->errlen, "%s: out of memory", file_names[c->file]);
            goto out;
        }
        nrows++;
    }
    if (line == 0) {
        pdm_err(c->errstr, c->errlen, "%s: empty file, expected the header \"%s\"",
                file_names[c->file], file_headers[c->file]);
        goto out;
    }
    fs->was_unsorted = backwards;
    *rows_out = rows;
    *nrows_out = nrows;
    rows = NULL;
    rc = 0;
out:
    free(rows);
    ts_table_free(&last_ts);
    return rc;
}

/* Orders a file's rows (ts, machine, file order), drops duplicates, and
 * returns the kept events in a new array. */
static int order_rows(load_ctx *c, const pdm_event *rows, size_t nrows, pdm_event **out,
                      size_t *nout)
{
    int rc = -1;
    sort_key *keys = malloc((nrows ? nrows : 1) * sizeof *keys);
    pdm_event *events = NULL;
    size_t kept = 0, dups = 0;
    int keep_last = c->file == PDM_FILE_TELEMETRY || c->file == PDM_FILE_MACHINES;

    if (!keys)
        goto oom;
    for (size_t i = 0; i < nrows; i++) {
        keys[i] = (sort_key){rows[i].ts, rows[i].machine_id, event_name(&rows[i]), (uint32_t)i, 0};
    }
    if (sort_keys(keys, nrows))
        goto oom;
    /* Duplicates share (ts, machine, name) and are now adjacent. */
    for (size_t i = 0; i < nrows; i++) {
        if (kept && keys[kept - 1].ts == keys[i].ts && keys[kept - 1].machine == keys[i].machine &&
            keys[kept - 1].name == keys[i].name) {
            dups++;
            if (keep_last)
                keys[kept - 1] = keys[i];
            continue;
        }
        keys[kept++] = keys[i];
    }
    /* Rows of one machine at one hour with different names go back to file
     * order: an insertion sort by row within each (ts, machine) group. */
    for (size_t i = 1; i < kept; i++) {
        sort_key k = keys[i];
        size_t j = i;
        while (j > 0 && keys[j - 1].ts == k.ts && keys[j - 1].machine == k.machine &&
               keys[j - 1].row > k.row) {
            keys[j] = keys[j - 1];
            j--;
        }
        keys[j] = k;
    }
    events = malloc((kept ? kept : 1) * sizeof *events);
    if (!events)
        goto oom;
    for (size_t i = 0; i < kept; i++)
        events[i] = rows[keys[i].row];
    c->stats->files[c->file].duplicates = dups;
    c->stats->files[c->file].rows_kept = kept;
    c->stats->duplicates += dups;
    *out = events;
    *nout = kept;
    events = NULL;
    rc = 0;
    goto out;
oom:
    pdm_err(c->errstr, c->errlen, "%s: out of memory", file_names[c->file]);
out:
    free(keys);
    free(events);
    return rc;
}

/* Maps the file (an empty file needs no mapping). Sets *missing when it does
 * not exist. */
static int map_file(const char *path, const char **data, size_t *size, int *missing, char *errstr,
                    size_t errlen)
{
    int rc = -1;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *missing = 0;
    if (fd < 0) {
        *missing = errno == ENOENT;
        return pdm_err(errstr, errlen, "%s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st)) {
        pdm_err(errstr, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        pdm_err(errstr, errlen, "%s: not a regular file", path);
        goto out;
    }
    *size = (size_t)st.st_size;
    *data = "";
    if (*size) {
        void *m = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            pdm_err(errstr, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        madvise(m, *size, MADV_SEQUENTIAL);
        *data = m;
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

static int load_file(load_ctx *c, pdm_event **events, size_t *n)
{
    int rc = -1, missing = 0;
    char path[4096];
    const char *data = NULL;
    size_t size = 0, nrows = 0;
    pdm_event *rows = NULL;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", c->dir, file_names[c->file]) >= sizeof path)
        return pdm_err(c->errstr, c->errlen, "%s: path too long", file_names[c->file]);
    if (map_file(path, &data, &size, &missing, c->errstr, c->errlen)) {
        if (missing && c->file == PDM_FILE_MACHINES && !c->opts->require_machines) {
            *events = NULL;
            *n = 0;
            return 0;
        }
        return -1;
    }
    c->stats->files[c->file].present = 1;
    if (parse_file(c, data, size, &rows, &nrows))
        goto out;
    if (size) {
        munmap((void *)data, size);
        size = 0;
    }
    if (order_rows(c, rows, nrows, events, n))
        goto out;
    rc = 0;
out:
    if (size)
        munmap((void *)data, size);
    free(rows);
    return rc;
}

/* ---- the data set ------------------------------------------------------ */

/* Merges the per-type arrays (each in ts, machine, file order) into replay
 * order: at equal ts the type's rank decides. */
static int merge_replay(pdm_dataset *ds)
{
    size_t total = 0, pos[PDM_EV_COUNT] = {0};
    for (int t = 0; t < PDM_EV_COUNT; t++)
        total += ds->n_by_type[t];
    ds->all = malloc((total ? total : 1) * sizeof *ds->all);
    if (!ds->all)
        return -1;
    for (size_t o = 0; o < total; o++) {
        int best = -1;
        for (int t = 0; t < PDM_EV_COUNT; t++) {
            if (pos[t] >= ds->n_by_type[t])
                continue;
            if (best < 0) {
                best = t;
                continue;
            }
            const pdm_event *a = &ds->by_type[t][pos[t]], *b = &ds->by_type[best][pos[best]];
            if (a->ts < b->ts || (a->ts == b->ts && pdm_ds_type_rank(t) < pdm_ds_type_rank(best)))
                best = t;
        }
        ds->all[o] = ds->by_type[best][pos[best]++];
    }
    ds->n_all = total;
    return 0;
}

int pdm_dataset_load(const char *dir, const pdm_dataset_options *opts, pdm_dataset **out,
                     char *errstr, size_t errlen)
{
    int rc = -1;
    pdm_dataset_options defaults = {0};
    pdm_dataset *ds = calloc(1, sizeof *ds);
    load_ctx c = {dir, opts ? opts : &defaults, NULL, 0, errstr, errlen};

    *out = NULL;
    if (!ds)
        return pdm_err(errstr, errlen, "out of memory");
    c.stats = &ds->stats;
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        c.file = (pdm_dataset_file)f;
        pdm_event_type t = file_types[f];
        if (load_file(&c, &ds->by_type[t], &ds->n_by_type[t]))
            goto out;
    }
    /* Machine info comes first: it carries the earliest timestamp. */
    int64_t first = 0;
    int have = 0;
    for (int t = 0; t < PDM_EV_COUNT; t++) {
        if (t == PDM_EV_MACHINE || ds->n_by_type[t] == 0)
            continue;
        if (!have || ds->by_type[t][0].ts < first)
            first = ds->by_type[t][0].ts;
        have = 1;
    }
    for (size_t i = 0; i < ds->n_by_type[PDM_EV_MACHINE]; i++)
        ds->by_type[PDM_EV_MACHINE][i].ts = first;
    if (merge_replay(ds)) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    *out = ds;
    ds = NULL;
    rc = 0;
out:
    pdm_dataset_destroy(ds);
    return rc;
}

void pdm_dataset_destroy(pdm_dataset *ds)
{
    if (!ds)
        return;
    for (int t = 0; t < PDM_EV_COUNT; t++)
        free(ds->by_type[t]);
    free(ds->all);
    free(ds);
}

const pdm_event *pdm_dataset_events(const pdm_dataset *ds, size_t *count)
{
    *count = ds->n_all;
    return ds->all;
}

const pdm_event *pdm_dataset_events_of_type(const pdm_dataset *ds, pdm_event_type type,
                                            size_t *count)
{
    if (type < 0 || type >= PDM_EV_COUNT) {
        *count = 0;
        return NULL;
    }
    *count = ds->n_by_type[type];
    return ds->by_type[type];
}

int pdm_dataset_telemetry_range(const pdm_dataset *ds, int64_t *first, int64_t *last)
{
    size_t n = ds->n_by_type[PDM_EV_TELEMETRY];
    if (n == 0)
        return -1;
    *first = ds->by_type[PDM_EV_TELEMETRY][0].ts;
    *last = ds->by_type[PDM_EV_TELEMETRY][n - 1].ts;
    return 0;
}

const pdm_dataset_stats *pdm_dataset_get_stats(const pdm_dataset *ds)
{
    return &ds->stats;
}

int pdm_dataset_summary(const pdm_dataset *ds, char *buf, size_t len)
{
    static const char *const short_names[PDM_FILE_COUNT] = {"telemetry", "errors", "maint",
                                                            "failures", "machines"};
    const pdm_dataset_stats *s = &ds->stats;
    pdm_buf b = {0};
    int rc = -1;

    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        if (!s->files[f].present)
            pdm_buf_printf(&b, "%s%s absent", f ? ", " : "", short_names[f]);
        else
            pdm_buf_printf(&b, "%s%s %zu", f ? ", " : "", short_names[f], s->files[f].rows_kept);
    }
    pdm_buf_printf(&b, " rows");
    if (s->bad_rows)
        pdm_buf_printf(&b, "; %zu bad rows skipped", s->bad_rows);
    if (s->duplicates)
        pdm_buf_printf(&b, "; %zu duplicates dropped", s->duplicates);
    for (int f = 0; f < PDM_FILE_COUNT; f++)
        if (s->files[f].was_unsorted)
            pdm_buf_printf(&b, "; %s was out of time order (sorted)", file_names[f]);
    if (b.data)
        rc = snprintf(buf, len, "%s", b.data);
    else if (len)
        buf[0] = '\0';
    pdm_buf_free(&b);
    return rc;
}
