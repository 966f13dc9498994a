/* archive.c: the archive writer: open and recover, add rows, commit,
 * expire days (the rules are in archive_rules.c, the state file in
 * archive_state.c; pdm_archive.h says why it is built this way).
 *
 * Invariants: on disk, every file the state lists is at least as long as
 * its committed size, and bytes past it (or files it does not list) belong
 * to a batch that never committed; in memory, a file's pending buffer holds
 * rows not yet written (with the header first when the file is new), and a
 * partition's `next` counts the messages added, `committed` those the state
 * on disk covers. A commit writes and fsyncs the data files before the
 * state, so the state never covers a byte that is not durable. */
#include "archive_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct pdm_archive {
    char *dir;
    int keep_days;
    int lock_fd;
    arc_state st;
    size_t last_file[PDM_FILE_COUNT]; /* index of the file each type used last (a hint) */
    size_t last_offset;               /* the same for partitions */
    int pending;
    pdm_archive_stats stats;
};

static int path_of(const pdm_archive *a, const char *name, char *buf, size_t len)
{
    return (size_t)snprintf(buf, len, "%s/%s", a->dir, name) >= len ? -1 : 0;
}

/* ---- opening and recovery ------------------------------------------------------------- */

static int take_lock(pdm_archive *a, char *errstr, size_t errlen)
{
    char path[4096];
    if (path_of(a, ARC_LOCK_FILE, path, sizeof path))
        return pdm_err(errstr, errlen, "%s: path too long", a->dir);
    a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (a->lock_fd < 0)
        return pdm_err(errstr, errlen, "cannot open %s: %s", path, strerror(errno));
    if (flock(a->lock_fd, LOCK_EX | LOCK_NB))
        return pdm_err(errstr, errlen, "%s is in use by another pdm-archive (%s is locked)", a->dir,
                       path);
    return 0;
}

/* Calls fn for every data file found on disk (the machines table and the
 * PdM files of day directories); stops at fn's first non-zero return. */
static int scan_files(pdm_archive *a, int (*fn)(pdm_archive *, const char *name, void *), void *ctx,
                      char *errstr, size_t errlen)
{
    int rc = 0;
    char path[4096], name[ARC_NAME_MAX + 8];
    int64_t day;
    DIR *top = opendir(a->dir);
    if (!top)
        return pdm_err(errstr, errlen, "cannot read %s: %s", a->dir, strerror(errno));
    for (struct dirent *e; !rc && (e = readdir(top)) != NULL;) {
        if (arc_valid_file_name(e->d_name, &day)) {
            rc = fn(a, e->d_name, ctx);
            continue;
        }
        if (pdm_archive_day_parse(e->d_name, &day) || path_of(a, e->d_name, path, sizeof path))
            continue;
        DIR *sub = opendir(path);
        if (!sub)
            continue; /* a file named like a day: not ours */
        for (struct dirent *f; !rc && (f = readdir(sub)) != NULL;) {
            if ((size_t)snprintf(name, sizeof name, "%s/%s", e->d_name, f->d_name) < sizeof name &&
                arc_valid_file_name(name, &day))
                rc = fn(a, name, ctx);
        }
        closedir(sub);
    }
    closedir(top);
    return rc;
}

static int count_file(pdm_archive *a, const char *name, void *ctx)
{
    (void)a;
    (void)name;
    ++*(int *)ctx;
    return 0;
}

/* A file on disk the state does not list: written by a batch that never
 * committed. */
static int remove_unlisted(pdm_archive *a, const char *name, void *ctx)
{
    char path[4096];
    if (arc_state_file(&a->st, name, 0, NULL) || path_of(a, name, path, sizeof path))
        return 0;
    if (unlink(path) && errno != ENOENT) {
        return pdm_err(ctx, PDM_ERRSTR_SIZE, "cannot remove %s: %s", path, strerror(errno));
    }
    a->stats.recovered_files++;
    return 0;
}

/* Removes the day directories left empty (by recovery or retention). */
static void remove_empty_days(pdm_archive *a)
{
    char path[4096];
    int64_t day;
    DIR *top = opendir(a->dir);
    if (!top)
        return;
    for (struct dirent *e; (e = readdir(top)) != NULL;)
        if (!pdm_archive_day_parse(e->d_name, &day) && !path_of(a, e->d_name, path, sizeof path))
            rmdir(path); /* fails, as it should, unless empty */
    closedir(top);
}

/* Brings every listed file back to its committed size; a listed file that
 * is gone (a day removed by hand) is dropped from the state. */
static int recover_listed(pdm_archive *a, int *changed, char *errstr, size_t errlen)
{
    char path[4096];
    for (size_t i = 0; i < a->st.nfiles;) {
        arc_file *f = &a->st.files[i];
        struct stat sb;
        if (path_of(a, f->name, path, sizeof path))
            return pdm_err(errstr, errlen, "%s: path too long", a->dir);
        if (stat(path, &sb)) {
            if (errno != ENOENT)
                return pdm_err(errstr, errlen, "%s: %s", path, strerror(errno));
            arc_state_remove_file(&a->st, i);
            a->stats.missing_files++;
            *changed = 1;
            continue;
        }
        switch (pdm_archive_recovery_action(1, f->size, (int64_t)sb.st_size)) {
        case PDM_ARCHIVE_CORRUPT:
            return pdm_err(errstr, errlen,
                           "%s has %lld bytes, fewer than the %lld committed: it was changed "
                           "outside pdm-archive; restore it or remove its day",
                           path, (long long)sb.st_size, (long long)f->size);
        case PDM_ARCHIVE_TRUNCATE: {
            int fd = open(path, O_WRONLY | O_CLOEXEC);
            if (fd < 0 || ftruncate(fd, f->size) || fsync(fd)) {
                int e = errno;
                if (fd >= 0)
                    close(fd);
                return pdm_err(errstr, errlen, "cannot truncate %s: %s", path, strerror(e));
            }
            close(fd);
            a->stats.recovered_bytes += (uint64_t)(sb.st_size - f->size);
            break;
        }
        default:
            break;
        }
        i++;
    }
    return 0;
}

static int recover(pdm_archive *a, char *errstr, size_t errlen)
{
    char why[PDM_ERRSTR_SIZE] = "", path[4096];
    int changed = 0, found = 0;
    int have = arc_state_read(a->dir, &a->st, errstr, errlen);

    if (have < 0)
        return -1;
    if (!have) {
        if (scan_files(a, count_file, &found, errstr, errlen))
            return -1;
        if (found)
            return pdm_err(errstr, errlen,
                           "%s holds %d archive file(s) but no %s: its state is lost (recovery "
                           "would remove every file); move the files away or restore the state",
                           a->dir, found, ARC_STATE_FILE);
        return arc_state_write(a->dir, &a->st, errstr, errlen);
    }
    if (path_of(a, ARC_STATE_TMP, path, sizeof path) == 0)
        unlink(path); /* a state write that never renamed */
    if (recover_listed(a, &changed, errstr, errlen))
        return -1;
    if (scan_files(a, remove_unlisted, why, errstr, errlen))
        return pdm_err(errstr, errlen, "%s", why);
    remove_empty_days(a);
    if (arc_fsync_dir(a->dir, errstr, errlen))
        return -1;
    return changed ? arc_state_write(a->dir, &a->st, errstr, errlen) : 0;
}

pdm_archive *pdm_archive_open(const char *dir, int keep_days, char *errstr, size_t errlen)
{
    pdm_archive *a = calloc(1, sizeof *a);
    if (!a) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    a->lock_fd = -1;
    a->keep_days = keep_days;
    arc_state_init(&a->st);
    if (!(a->dir = strdup(dir))) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    if (pdm_mkdirs(dir, errstr, errlen) || take_lock(a, errstr, errlen) ||
        recover(a, errstr, errlen))
        goto fail;
    a->stats.stream_ms = a->st.stream_ms;
    return a;
fail:
    pdm_archive_destroy(a);
    return NULL;
}

void pdm_archive_destroy(pdm_archive *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->st.nfiles; i++)
        if (a->st.files[i].fd >= 0)
            close(a->st.files[i].fd);
    arc_state_clear(&a->st);
    if (a->lock_fd >= 0)
        close(a->lock_fd); /* releases the flock */
    free(a->dir);
    free(a);
}

/* ---- adding rows -------------------------------------------------------------------- */

int pdm_archive_next_offset(const pdm_archive *a, const char *topic, int32_t partition,
                            int64_t *offset)
{
    arc_offset *o = arc_state_offset((arc_state *)&a->st, topic, partition, 0);
    if (!o || o->next < 0)
        return 0;
    *offset = o->next;
    return 1;
}

static arc_offset *find_offset(pdm_archive *a, const char *topic, int32_t partition)
{
    size_t i = a->last_offset;
    if (i < a->st.noffsets && a->st.offsets[i].partition == partition &&
        !strcmp(a->st.offsets[i].topic, topic))
        return &a->st.offsets[i];
    arc_offset *o = arc_state_offset(&a->st, topic, partition, 1);
    if (o)
        a->last_offset = (size_t)(o - a->st.offsets);
    return o;
}

/* A new file's entry, its header pending. */
static arc_file *new_file(pdm_archive *a, pdm_dataset_file type, const char *name, int *oom)
{
    arc_file *f = arc_state_file(&a->st, name, 1, oom);
    if (f && f->size == 0 && f->pending.len == 0 &&
        pdm_buf_printf(&f->pending, "%s\n", pdm_dataset_file_header(type))) {
        *oom = 1;
        return NULL;
    }
    return f;
}

/* The file a row of type goes to. A day's four files are created together,
 * so that every day directory is a data set pdm_dataset_load reads alone. */
static arc_file *find_file(pdm_archive *a, pdm_dataset_file type, const char *name, int *oom)
{
    char sibling[ARC_NAME_MAX];
    size_t i = a->last_file[type];
    if (i < a->st.nfiles && !strcmp(a->st.files[i].name, name))
        return &a->st.files[i];
    if (type != PDM_FILE_MACHINES && !arc_state_file(&a->st, name, 0, NULL)) {
        for (int t = 0; t < PDM_FILE_MACHINES; t++) {
            snprintf(sibling, sizeof sibling, "%.10s/%s", name,
                     pdm_dataset_file_name((pdm_dataset_file)t));
            if (!new_file(a, (pdm_dataset_file)t, sibling, oom))
                return NULL;
        }
    }
    arc_file *f = new_file(a, type, name, oom);
    if (f)
        a->last_file[type] = (size_t)(f - a->st.files);
    return f;
}

int pdm_archive_add(pdm_archive *a, const char *topic, int32_t partition, int64_t offset,
                    const pdm_event *ev, int64_t now_ms, char *errstr, size_t errlen)
{
    char row[ARC_ROW_MAX], name[ARC_NAME_MAX];
    int oom = 0;
    arc_offset *o = find_offset(a, topic, partition);
    if (!o)
        return pdm_err(errstr, errlen, "out of memory");
    if (o->next >= 0 && offset < o->next)
        return 1;
    o->next = offset + 1;
    a->pending = 1;

    int n = ev ? pdm_archive_format_row(ev, now_ms, row, sizeof row)
               : -(int)PDM_ARCHIVE_SKIP_UNDECODABLE;
    if (n > 0 && ev->type != PDM_EV_MACHINE &&
        arc_day_start(ev->ts) < pdm_archive_retention_start(a->st.stream_ms, now_ms, a->keep_days))
        n = -(int)PDM_ARCHIVE_SKIP_EXPIRED;
    if (n <= 0) {
        a->stats.skipped[-n]++;
        return 0;
    }
    pdm_dataset_file type = arc_file_of_type(ev->type);
    if (pdm_archive_file_name(ev->type, ev->ts, name, sizeof name) < 0)
        return pdm_err(errstr, errlen, "no file for a %s event", pdm_event_type_name(ev->type));
    arc_file *f = find_file(a, type, name, &oom);
    if (!f || pdm_buf_append(&f->pending, row, (size_t)n))
        return pdm_err(errstr, errlen, "out of memory");
    if (ev->type != PDM_EV_MACHINE && (a->st.stream_ms == INT64_MIN || ev->ts > a->st.stream_ms))
        a->st.stream_ms = ev->ts;
    a->stats.rows[ev->type]++;
    return 0;
}

int pdm_archive_pending(const pdm_archive *a)
{
    return a->pending;
}

/* ---- committing ------------------------------------------------------------------ */

/* Appends and fsyncs a file's pending rows, creating it (and its day
 * directory) when new. Directory entries are made durable by the caller,
 * once per directory per commit (sync_created_dirs): a backfill creates
 * hundreds of files in one commit. */
static int write_pending(pdm_archive *a, arc_file *f, int *top_changed, char *errstr, size_t errlen)
{
    char path[4096];
    int created = f->size == 0;
    if (path_of(a, f->name, path, sizeof path))
        return pdm_err(errstr, errlen, "%s: path too long", a->dir);
    if (created) {
        *top_changed = 1; /* a new day directory, or the machines table */
        if (f->day != INT64_MIN) {
            char *slash = strrchr(path, '/');
            *slash = '\0';
            if (mkdir(path, 0755) && errno != EEXIST)
                return pdm_err(errstr, errlen, "cannot create %s: %s", path, strerror(errno));
            *slash = '/';
        }
    }
    if (f->fd < 0) {
        f->fd =
            open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (created ? O_TRUNC : 0), 0644);
        if (f->fd < 0)
            return pdm_err(errstr, errlen, "cannot open %s: %s", path, strerror(errno));
    }
    if (pdm_write_all(f->fd, f->pending.data, f->pending.len) || fsync(f->fd))
        return pdm_err(errstr, errlen, "cannot write %s: %s", path, strerror(errno));
    f->size += (int64_t)f->pending.len;
    f->pending.len = 0;
    return 0;
}

/* fsyncs each day directory a commit created files in (marked by created,
 * parallel to the files), then the archive's directory if it changed. */
static int sync_created_dirs(pdm_archive *a, const unsigned char *created, int top_changed,
                             char *errstr, size_t errlen)
{
    char path[4096];
    int64_t synced = INT64_MIN; /* a day's files are created together: adjacent */
    for (size_t i = 0; i < a->st.nfiles; i++) {
        arc_file *f = &a->st.files[i];
        if (!created[i] || f->day == INT64_MIN || f->day == synced)
            continue;
        snprintf(path, sizeof path, "%s/%.10s", a->dir, f->name);
        if (arc_fsync_dir(path, errstr, errlen))
            return -1;
        synced = f->day;
    }
    return top_changed ? arc_fsync_dir(a->dir, errstr, errlen) : 0;
}

/* Retention: drops the expired days from the state, commits that, then
 * removes their files (a crash in between leaves unlisted files, which the
 * next open removes). */
static int expire(pdm_archive *a, int64_t now_ms, char *errstr, size_t errlen)
{
    char path[4096];
    int64_t start = pdm_archive_retention_start(a->st.stream_ms, now_ms, a->keep_days);
    pdm_buf gone = {0}; /* NUL-separated names */
    int rc = -1, n = 0;
    int64_t last_day = INT64_MIN;

    if (start == INT64_MIN)
        return 0;
    for (size_t i = 0; i < a->st.nfiles;) {
        arc_file *f = &a->st.files[i];
        if (f->day == INT64_MIN || f->day >= start || f->pending.len) {
            i++;
            continue;
        }
        if (pdm_buf_append(&gone, f->name, strlen(f->name) + 1)) {
            pdm_err(errstr, errlen, "out of memory");
            goto out;
        }
        if (f->day != last_day)
            a->stats.expired_days++;
        last_day = f->day;
        if (f->fd >= 0)
            close(f->fd);
        arc_state_remove_file(&a->st, i);
        n++;
    }
    memset(a->last_file, 0xff, sizeof a->last_file); /* indexes moved */
    if (n == 0) {
        rc = 0;
        goto out;
    }
    if (arc_state_write(a->dir, &a->st, errstr, errlen))
        goto out;
    for (size_t off = 0; off < gone.len; off += strlen(gone.data + off) + 1)
        if (!path_of(a, gone.data + off, path, sizeof path))
            unlink(path);
    remove_empty_days(a);
    rc = arc_fsync_dir(a->dir, errstr, errlen);
out:
    pdm_buf_free(&gone);
    return rc;
}

int pdm_archive_commit(pdm_archive *a, int64_t now_ms, char *errstr, size_t errlen)
{
    int top_changed = 0;
    unsigned char *created;
    if (!a->pending)
        return 0;
    created = calloc(a->st.nfiles ? a->st.nfiles : 1, 1);
    if (!created)
        return pdm_err(errstr, errlen, "out of memory");
    for (size_t i = 0; i < a->st.nfiles; i++) {
        arc_file *f = &a->st.files[i];
        if (f->pending.len) {
            created[i] = f->size == 0;
            if (write_pending(a, f, &top_changed, errstr, errlen))
                goto fail;
        } else if (f->fd >= 0) { /* idle: keep open only the files in use */
            close(f->fd);
            f->fd = -1;
        }
    }
    if (sync_created_dirs(a, created, top_changed, errstr, errlen))
        goto fail;
    free(created);
    for (size_t i = 0; i < a->st.noffsets; i++)
        a->st.offsets[i].committed = a->st.offsets[i].next;
    if (arc_state_write(a->dir, &a->st, errstr, errlen))
        return -1;
    a->pending = 0;
    a->stats.commits++;
    a->stats.stream_ms = a->st.stream_ms;
    return expire(a, now_ms, errstr, errlen);
fail:
    free(created);
    return -1;
}

void pdm_archive_each_offset(const pdm_archive *a,
                             void (*fn)(void *ctx, const char *topic, int32_t partition,
                                        int64_t next_offset),
                             void *ctx)
{
    for (size_t i = 0; i < a->st.noffsets; i++)
        if (a->st.offsets[i].committed >= 0)
            fn(ctx, a->st.offsets[i].topic, a->st.offsets[i].partition, a->st.offsets[i].committed);
}

const pdm_archive_stats *pdm_archive_get_stats(const pdm_archive *a)
{
    return &a->stats;
}
