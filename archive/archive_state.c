/* archive_state.c: the archive's commit record (see archive_internal.h for
 * its text form): the table of files with their committed sizes and of
 * source partitions with their next offsets, parsed strictly and written
 * atomically (temporary file, fsync, rename over the old one, fsync of the
 * directory), so a reader finds either the old state or the new one. */
#include "archive_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_MAGIC "pdm-archive-state 1"

void arc_state_init(arc_state *st)
{
    memset(st, 0, sizeof *st);
    st->stream_ms = INT64_MIN;
}

void arc_state_clear(arc_state *st)
{
    for (size_t i = 0; i < st->nfiles; i++)
        pdm_buf_free(&st->files[i].pending);
    for (size_t i = 0; i < st->noffsets; i++)
        free(st->offsets[i].topic);
    free(st->files);
    free(st->offsets);
    arc_state_init(st);
}

arc_file *arc_state_file(arc_state *st, const char *name, int create, int *oom)
{
    int64_t day;
    if (oom)
        *oom = 0;
    for (size_t i = st->nfiles; i-- > 0;) /* the newest days are at the end */
        if (!strcmp(st->files[i].name, name))
            return &st->files[i];
    if (!create || !arc_valid_file_name(name, &day))
        return NULL;
    if (st->nfiles == st->capfiles) {
        size_t cap = st->capfiles ? st->capfiles * 2 : 16;
        arc_file *bigger = realloc(st->files, cap * sizeof *bigger);
        if (!bigger) {
            if (oom)
                *oom = 1;
            return NULL;
        }
        st->files = bigger;
        st->capfiles = cap;
    }
    arc_file *f = &st->files[st->nfiles++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->day = day;
    f->fd = -1;
    return f;
}

void arc_state_remove_file(arc_state *st, size_t i)
{
    pdm_buf_free(&st->files[i].pending);
    memmove(&st->files[i], &st->files[i + 1], (st->nfiles - i - 1) * sizeof *st->files);
    st->nfiles--;
}

arc_offset *arc_state_offset(arc_state *st, const char *topic, int32_t partition, int create)
{
    for (size_t i = 0; i < st->noffsets; i++)
        if (st->offsets[i].partition == partition && !strcmp(st->offsets[i].topic, topic))
            return &st->offsets[i];
    if (!create)
        return NULL;
    if (st->noffsets == st->capoffsets) {
        size_t cap = st->capoffsets ? st->capoffsets * 2 : 16;
        arc_offset *bigger = realloc(st->offsets, cap * sizeof *bigger);
        if (!bigger)
            return NULL;
        st->offsets = bigger;
        st->capoffsets = cap;
    }
    char *copy = strdup(topic);
    if (!copy)
        return NULL;
    arc_offset *o = &st->offsets[st->noffsets++];
    *o = (arc_offset){copy, partition, -1, -1};
    return o;
}

int arc_state_format(const arc_state *st, pdm_buf *out)
{
    int rc = pdm_buf_printf(out, STATE_MAGIC "\n");
    if (st->stream_ms == INT64_MIN)
        rc |= pdm_buf_printf(out, "stream -\n");
    else
        rc |= pdm_buf_printf(out, "stream %" PRId64 "\n", st->stream_ms);
    for (size_t i = 0; i < st->noffsets; i++)
        if (st->offsets[i].committed >= 0)
            rc |= pdm_buf_printf(out, "offset %s %" PRId32 " %" PRId64 "\n", st->offsets[i].topic,
                                 st->offsets[i].partition, st->offsets[i].committed);
    for (size_t i = 0; i < st->nfiles; i++)
        if (st->files[i].size > 0)
            rc |=
                pdm_buf_printf(out, "file %s %" PRId64 "\n", st->files[i].name, st->files[i].size);
    rc |= pdm_buf_printf(out, "end\n");
    return rc ? -1 : 0;
}

/* A decimal integer of the whole word, >= min. */
static int parse_int(const char *word, int64_t min, int64_t *out)
{
    char *end;
    if (!*word)
        return -1;
    errno = 0;
    long long v = strtoll(word, &end, 10);
    if (errno || *end || v < min)
        return -1;
    *out = v;
    return 0;
}

static int parse_line(char *line, arc_state *st, char *errstr, size_t errlen)
{
    char *words[5];
    int n = 0;
    for (char *save = NULL, *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (n == 4)
            return pdm_err(errstr, errlen, "too many fields");
        words[n++] = w;
    }
    int64_t a, b;
    if (n == 2 && !strcmp(words[0], "stream")) {
        if (!strcmp(words[1], "-"))
            st->stream_ms = INT64_MIN;
        else if (parse_int(words[1], INT64_MIN + 1, &st->stream_ms))
            return pdm_err(errstr, errlen, "bad stream time");
        return 0;
    }
    if (n == 4 && !strcmp(words[0], "offset")) {
        if (parse_int(words[2], 0, &a) || a > INT32_MAX || parse_int(words[3], 0, &b))
            return pdm_err(errstr, errlen, "bad offset record");
        if (arc_state_offset(st, words[1], (int32_t)a, 0))
            return pdm_err(errstr, errlen, "partition listed twice");
        arc_offset *o = arc_state_offset(st, words[1], (int32_t)a, 1);
        if (!o)
            return pdm_err(errstr, errlen, "out of memory");
        o->next = o->committed = b;
        return 0;
    }
    if (n == 3 && !strcmp(words[0], "file")) {
        int oom;
        if (parse_int(words[2], 1, &a))
            return pdm_err(errstr, errlen, "bad file size");
        if (arc_state_file(st, words[1], 0, NULL))
            return pdm_err(errstr, errlen, "file listed twice");
        arc_file *f = arc_state_file(st, words[1], 1, &oom);
        if (!f)
            return pdm_err(errstr, errlen, oom ? "out of memory" : "not an archive file name");
        f->size = a;
        return 0;
    }
    return pdm_err(errstr, errlen, "unknown record");
}

int arc_state_parse(const char *text, arc_state *st, char *errstr, size_t errlen)
{
    int rc = -1, ended = 0;
    char *copy = strdup(text), *save = NULL, why[PDM_ERRSTR_SIZE];
    size_t lineno = 0;

    if (!copy)
        return pdm_err(errstr, errlen, "out of memory");
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (ended) {
            pdm_err(errstr, errlen, "line %zu: text after \"end\"", lineno);
            goto out;
        }
        if (lineno == 1) {
            if (strcmp(line, STATE_MAGIC)) {
                pdm_err(errstr, errlen, "line 1: not \"" STATE_MAGIC "\"");
                goto out;
            }
            continue;
        }
        if (!strcmp(line, "end")) {
            ended = 1;
            continue;
        }
        if (parse_line(line, st, why, sizeof why)) {
            pdm_err(errstr, errlen, "line %zu: %s", lineno, why);
            goto out;
        }
    }
    if (!ended) {
        pdm_err(errstr, errlen, "no \"end\" line: the file is cut short");
        goto out;
    }
    rc = 0;
out:
    free(copy);
    return rc;
}

int arc_fsync_dir(const char *path, char *errstr, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return pdm_err(errstr, errlen, "%s: %s", path, strerror(errno));
    int rc = fsync(fd) ? pdm_err(errstr, errlen, "fsync %s: %s", path, strerror(errno)) : 0;
    close(fd);
    return rc;
}

int arc_state_write(const char *dir, const arc_state *st, char *errstr, size_t errlen)
{
    int rc = -1, fd = -1;
    char tmp[4096], final[4096];
    pdm_buf text = {0};

    if ((size_t)snprintf(tmp, sizeof tmp, "%s/" ARC_STATE_TMP, dir) >= sizeof tmp ||
        (size_t)snprintf(final, sizeof final, "%s/" ARC_STATE_FILE, dir) >= sizeof final)
        return pdm_err(errstr, errlen, "%s: path too long", dir);
    if (arc_state_format(st, &text)) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        pdm_err(errstr, errlen, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    for (size_t done = 0; done < text.len;) {
        ssize_t w = write(fd, text.data + done, text.len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            pdm_err(errstr, errlen, "cannot write %s: %s", tmp, strerror(errno));
            goto out;
        }
        done += (size_t)w;
    }
    if (fsync(fd)) {
        pdm_err(errstr, errlen, "fsync %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, final)) {
        pdm_err(errstr, errlen, "cannot rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    rc = arc_fsync_dir(dir, errstr, errlen);
out:
    if (fd >= 0)
        close(fd);
    pdm_buf_free(&text);
    return rc;
}

int arc_state_read(const char *dir, arc_state *st, char *errstr, size_t errlen)
{
    char path[4096], why[PDM_ERRSTR_SIZE];
    pdm_buf text = {0};
    int rc;

    if ((size_t)snprintf(path, sizeof path, "%s/" ARC_STATE_FILE, dir) >= sizeof path)
        return pdm_err(errstr, errlen, "%s: path too long", dir);
    if (access(path, F_OK) && errno == ENOENT)
        return 0;
    if (pdm_read_file(path, &text, errstr, errlen))
        return -1;
    rc = arc_state_parse(text.data ? text.data : "", st, why, sizeof why);
    if (rc)
        pdm_err(errstr, errlen, "%s: %s", path, why);
    pdm_buf_free(&text);
    return rc ? -1 : 1;
}
