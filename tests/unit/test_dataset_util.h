/* test_dataset_util.h: helpers shared by the dataset module's tests
 * (temporary directories, copying fixtures, reading files back; times and
 * simulator parameters). Include it after <cmocka.h>. */
#ifndef TEST_DATASET_UTIL_H
#define TEST_DATASET_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pdm_common.h"
#include "pdm_dataset.h"

/* $PDM_SOURCE_DIR/<rel>, or ../<rel> from the build tree when unset. */
static inline void source_path(char *out, size_t len, const char *rel)
{
    const char *src = getenv("PDM_SOURCE_DIR");
    snprintf(out, len, "%s/%s", src ? src : "..", rel);
}

/* A UTC time ("YYYY-MM-DD[ HH:MM:SS]") in ms; fails the test if it is not one. */
static inline int64_t ts_of(const char *text)
{
    int64_t ms = 0;
    assert_int_equal(pdm_time_parse(text, strlen(text), &ms), 0);
    return ms;
}

/* The simulator's defaults with a fleet of machines x hours from seed. */
static inline pdm_sim_params sim_params(int machines, int64_t hours, uint64_t seed)
{
    pdm_sim_params p;
    pdm_sim_params_init(&p);
    p.machines = machines;
    p.hours = hours;
    p.seed = seed;
    return p;
}

/* Removes a directory and everything in it (no symlinks followed). */
static inline void remove_tree(const char *dir)
{
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d)
        return;
    struct dirent *e;
    char path[4096];
    struct stat st;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path)
            continue;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Fixtures giving a test a scratch directory in *state; cmocka runs the
 * teardown, which removes it with its content, even when the test fails. */
static inline int scratch_setup(void **state)
{
    char tmpl[] = "/tmp/pdm-dataset-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    *state = d ? strdup(d) : NULL;
    return *state ? 0 : -1;
}

static inline int scratch_teardown(void **state)
{
    remove_tree(*state);
    free(*state);
    return 0;
}

/* Creates <scratch>/<name> and returns its path (malloc'ed). */
static inline char *scratch_subdir(void **state, const char *name)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", (const char *)*state, name) >= sizeof path ||
        mkdir(path, 0755))
        return NULL;
    return strdup(path);
}

/* Reads dir/name whole; NULL if it cannot. The caller frees. */
static inline char *read_whole(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    pdm_buf b = {0};
    char err[PDM_ERRSTR_SIZE];
    if (len)
        *len = 0;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return NULL;
    if (pdm_read_file(path, &b, err, sizeof err)) {
        pdm_buf_free(&b);
        return NULL;
    }
    if (len)
        *len = b.len;
    if (!b.data)
        return strdup("");
    return b.data;
}

static inline int write_whole(const char *dir, const char *name, const char *data, size_t len)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return -1;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int bad = fwrite(data, 1, len, f) != len;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

static inline size_t count_lines(const char *data, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += data[i] == '\n';
    return n;
}

#endif
