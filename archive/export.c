/* export.c: a range of an archive's days as one PdM data set, for
 * `pdm-train --data` (or any reader of the public files).
 *
 * Consistent while pdm-archive runs: the state file is read once and every
 * file is read up to the size it commits (bytes after it belong to a batch
 * in progress); files only grow between opens, so those bytes stay as they
 * are. A day that retention removes during the export makes it fail (run it
 * again) rather than come out short. */
#include "archive_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const arc_file *f;
} file_ref;

static int by_day(const void *x, const void *y)
{
    const arc_file *a = ((const file_ref *)x)->f, *b = ((const file_ref *)y)->f;
    return (a->day > b->day) - (a->day < b->day);
}

/* Appends the committed rows of one archive file (its header line skipped). */
static int copy_rows(const char *dir, const arc_file *f, FILE *out, char *errstr, size_t errlen)
{
    int rc = -1;
    char path[4096];
    char *data = NULL;
    int fd = -1;
    size_t size = (size_t)f->size, got = 0;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, f->name) >= sizeof path)
        return pdm_err(errstr, errlen, "%s: path too long", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    data = malloc(size ? size : 1);
    if (fd < 0 || !data) {
        pdm_err(errstr, errlen, "cannot read %s: %s", path,
                fd < 0 ? strerror(errno) : "out of memory");
        goto out;
    }
    while (got < size) {
        ssize_t r = pread(fd, data + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            pdm_err(errstr, errlen,
                    "%s ends before its %zu committed bytes (removed by retention?)", path, size);
            goto out;
        }
        got += (size_t)r;
    }
    const char *nl = memchr(data, '\n', size);
    size_t start = nl ? (size_t)(nl - data) + 1 : size;
    if (fwrite(data + start, 1, size - start, out) != size - start) {
        pdm_err(errstr, errlen, "cannot write the export: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(data);
    return rc;
}

static int in_range(const arc_file *f, pdm_dataset_file type, int64_t from, int64_t to)
{
    if (type == PDM_FILE_MACHINES)
        return f->day == INT64_MIN;
    if (f->day == INT64_MIN || f->day > to)
        return 0;
    return type == PDM_FILE_MAINT || f->day >= from;
}

/* Writes one output file of type from the archive's files in range. */
static int export_type(const char *dir, const arc_state *st, pdm_dataset_file type, int64_t from,
                       int64_t to, const char *tmp, char *errstr, size_t errlen)
{
    int rc = -1;
    const char *base = pdm_dataset_file_name(type);
    size_t n = 0, blen = strlen(base);
    file_ref *refs = malloc((st->nfiles ? st->nfiles : 1) * sizeof *refs);
    FILE *out = fopen(tmp, "wb");

    if (!refs || !out) {
        pdm_err(errstr, errlen, "cannot create %s: %s", tmp,
                out ? "out of memory" : strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        const char *name = st->files[i].name;
        size_t len = strlen(name);
        if (len >= blen && !strcmp(name + len - blen, base) &&
            in_range(&st->files[i], type, from, to))
            refs[n++].f = &st->files[i];
    }
    qsort(refs, n, sizeof *refs, by_day);
    fprintf(out, "%s\n", pdm_dataset_file_header(type));
    for (size_t i = 0; i < n; i++)
        if (copy_rows(dir, refs[i].f, out, errstr, errlen))
            goto out;
    if (fflush(out) || fsync(fileno(out))) {
        pdm_err(errstr, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (out && fclose(out) && rc == 0)
        rc = pdm_err(errstr, errlen, "cannot write %s: %s", tmp, strerror(errno));
    free(refs);
    return rc;
}

static int cmp_day(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* The distinct days of st's day files within [lo, hi]. */
static int count_days(const arc_state *st, int64_t lo, int64_t hi, int *days)
{
    size_t n = 0;
    int64_t *d = malloc((st->nfiles ? st->nfiles : 1) * sizeof *d);
    if (!d)
        return -1;
    for (size_t i = 0; i < st->nfiles; i++)
        if (st->files[i].day != INT64_MIN && st->files[i].day >= lo && st->files[i].day <= hi)
            d[n++] = st->files[i].day;
    qsort(d, n, sizeof *d, cmp_day);
    *days = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || d[i] != d[i - 1])
            (*days)++;
    free(d);
    return 0;
}

static int parse_bound(const char *day, int64_t dflt, int64_t *out, char *errstr, size_t errlen)
{
    if (!day || !*day) {
        *out = dflt;
        return 0;
    }
    if (pdm_archive_day_parse(day, out))
        return pdm_err(errstr, errlen, "not a day (YYYY-MM-DD): \"%s\"", day);
    return 0;
}

int pdm_archive_export(const char *dir, const char *from, const char *to, const char *out_dir,
                       int *days, char *errstr, size_t errlen)
{
    int rc = -1, have, created[PDM_FILE_COUNT] = {0};
    char tmp[PDM_FILE_COUNT][4096], final[PDM_FILE_COUNT][4096];
    int64_t lo, hi;
    arc_state st;

    arc_state_init(&st);
    if (parse_bound(from, INT64_MIN, &lo, errstr, errlen) ||
        parse_bound(to, INT64_MAX, &hi, errstr, errlen))
        goto out;
    if (lo > hi) {
        pdm_err(errstr, errlen, "--from %s is after --to %s", from, to);
        goto out;
    }
    have = arc_state_read(dir, &st, errstr, errlen);
    if (have <= 0) {
        if (have == 0)
            pdm_err(errstr, errlen, "%s is not an archive (no %s)", dir, ARC_STATE_FILE);
        goto out;
    }
    if (pdm_mkdirs(out_dir, errstr, errlen))
        goto out;
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        const char *name = pdm_dataset_file_name((pdm_dataset_file)f);
        if ((size_t)snprintf(final[f], sizeof final[f], "%s/%s", out_dir, name) >=
                sizeof final[f] ||
            (size_t)snprintf(tmp[f], sizeof tmp[f], "%s.tmp.%ld", final[f], (long)getpid()) >=
                sizeof tmp[f]) {
            pdm_err(errstr, errlen, "%s: path too long", out_dir);
            goto out;
        }
        created[f] = 1;
        if (export_type(dir, &st, (pdm_dataset_file)f, lo, hi, tmp[f], errstr, errlen))
            goto out;
    }
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        if (rename(tmp[f], final[f])) {
            pdm_err(errstr, errlen, "cannot rename %s: %s", tmp[f], strerror(errno));
            goto out;
        }
        created[f] = 0;
    }
    if (days && count_days(&st, lo, hi, days)) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    rc = arc_fsync_dir(out_dir, errstr, errlen);
out:
    for (int f = 0; f < PDM_FILE_COUNT; f++)
        if (created[f])
            unlink(tmp[f]);
    arc_state_clear(&st);
    return rc;
}
