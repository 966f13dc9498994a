/* fuzz_dataset: the PdM CSV loader (pdm_dataset_load) on an arbitrary file.
 *
 * Input: byte 0 chooses the file (bits 0-2, modulo 5: telemetry, errors,
 * maint, failures, machines) and the options (bit 3 skip_bad_rows, bit 4
 * require_machines, bit 5 with the machines file chosen: delete it); the
 * rest is that file's content. The four other files hold a small valid data
 * set, written once into a directory under $TMPDIR.
 *
 * The loader maps files, so ASan cannot see a read just past a file's end
 * inside its last page; fuzz_csv_fields covers the field parsers with
 * exact-size buffers for that. Here the checks are the loader's promises:
 * events in replay order (ts, then type rank), every event valid, and per
 * file rows_read == rows_kept + bad_rows + duplicates, with no bad rows
 * unless skip_bad_rows.
 */
#include "fuzz.h"

#include <stdio.h>
#include <unistd.h>

#include "pdm_common.h"
#include "pdm_dataset.h"

static char dir[4096];
static char paths[PDM_FILE_COUNT][4200];

static const char *const base_files[PDM_FILE_COUNT] = {
    "datetime,machineID,volt,rotate,pressure,vibration\n"
    "2015-01-01 06:00:00,1,176.217853015625,418.504078221616,113.077935462083,45.0876857639276\n"
    "2015-01-01 07:00:00,1,162.87922289706,402.747489565395,95.4605253823187,43.4139726834815\n"
    "2015-01-01 06:00:00,2,176.558913315001,527.349825452291,75.2379048586662,34.1788471214451\n",
    "datetime,machineID,errorID\n2015-01-01 06:00:00,1,error1\n2015-01-01 07:00:00,2,error3\n",
    "datetime,machineID,comp\n2014-06-01 06:00:00,1,comp2\n2015-01-01 06:00:00,2,comp4\n",
    "datetime,machineID,failure\n2015-01-01 07:00:00,1,comp2\n",
    "machineID,model,age\n1,model3,18\n2,model4,7\n",
};

static int write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = size ? fwrite(data, 1, size, f) : 0;
    return fclose(f) == 0 && n == size ? 0 : -1;
}

static void remove_dir(void)
{
    for (int i = 0; i < PDM_FILE_COUNT; i++)
        unlink(paths[i]);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/pdm-fuzz-dataset.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
    for (int i = 0; i < PDM_FILE_COUNT; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, pdm_dataset_file_name(i));
        FUZZ_CHECK(write_file(paths[i], base_files[i], strlen(base_files[i])) == 0, "write %s",
                   paths[i]);
    }
    atexit(remove_dir);
    return 0;
}

static int rank(pdm_event_type t)
{
    switch (t) {
    case PDM_EV_MACHINE: return 0;
    case PDM_EV_MAINTENANCE: return 1;
    case PDM_EV_ERROR: return 2;
    case PDM_EV_FAILURE: return 3;
    case PDM_EV_TELEMETRY: return 4;
    default: return 99;
    }
}

static void check_dataset(const pdm_dataset *ds, const pdm_dataset_options *opts)
{
    size_t n = 0, total_kept = 0;
    const pdm_event *ev = pdm_dataset_events(ds, &n);
    const pdm_dataset_stats *st = pdm_dataset_get_stats(ds);
    char summary[1024];

    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(ev[i].machine_id > 0, "event %zu: machine_id %d", i, (int)ev[i].machine_id);
        FUZZ_CHECK(rank(ev[i].type) < 99, "event %zu: type %d", i, (int)ev[i].type);
        if (i > 0)
            FUZZ_CHECK(ev[i - 1].ts < ev[i].ts ||
                           (ev[i - 1].ts == ev[i].ts && rank(ev[i - 1].type) <= rank(ev[i].type)),
                       "events %zu and %zu out of replay order", i - 1, i);
        switch (ev[i].type) {
        case PDM_EV_ERROR:
            FUZZ_CHECK(ev[i].u.error.error_id >= 1 && ev[i].u.error.error_id <= PDM_N_ERRORS,
                       "error%d", ev[i].u.error.error_id);
            break;
        case PDM_EV_MAINTENANCE:
        case PDM_EV_FAILURE:
            FUZZ_CHECK(ev[i].u.failure.component >= 1 &&
                           ev[i].u.failure.component <= PDM_N_COMPONENTS,
                       "comp%d", ev[i].u.failure.component);
            break;
        case PDM_EV_MACHINE:
            FUZZ_CHECK(ev[i].u.machine.model >= 1 &&
                           ev[i].u.machine.model <= PDM_DATASET_MAX_MODEL,
                       "model%d", ev[i].u.machine.model);
            break;
        default:
            break;
        }
    }
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        const pdm_dataset_file_stats *fs = &st->files[f];
        size_t of_type = 0;
        pdm_dataset_events_of_type(ds, pdm_dataset_file_event_type(f), &of_type);
        FUZZ_CHECK(of_type == fs->rows_kept, "%s: %zu events, %zu rows kept",
                   pdm_dataset_file_name(f), of_type, fs->rows_kept);
        FUZZ_CHECK(fs->rows_read == fs->rows_kept + fs->bad_rows + fs->duplicates,
                   "%s: read %zu != kept %zu + bad %zu + duplicates %zu",
                   pdm_dataset_file_name(f), fs->rows_read, fs->rows_kept, fs->bad_rows,
                   fs->duplicates);
        FUZZ_CHECK(opts->skip_bad_rows || fs->bad_rows == 0, "bad rows without skip_bad_rows");
        total_kept += fs->rows_kept;
    }
    FUZZ_CHECK(total_kept == n, "%zu events, %zu rows kept", n, total_kept);
    FUZZ_CHECK(st->n_reasons >= 0 && st->n_reasons <= PDM_DATASET_MAX_REASONS, "n_reasons %d",
               st->n_reasons);
    for (int i = 0; i < st->n_reasons; i++)
        FUZZ_CHECK(memchr(st->reasons[i], '\0', PDM_DATASET_REASON_SIZE) != NULL,
                   "reason %d is not terminated", i);
    FUZZ_CHECK(pdm_dataset_summary(ds, summary, sizeof summary) >= 0, "summary");
    int64_t first, last;
    if (pdm_dataset_telemetry_range(ds, &first, &last) == 0)
        FUZZ_CHECK(first <= last, "telemetry range %lld > %lld", (long long)first,
                   (long long)last);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_dataset *ds = NULL;
    if (size < 1)
        return 0;
    int file = (data[0] & 7) % PDM_FILE_COUNT;
    pdm_dataset_options opts = {0};
    opts.skip_bad_rows = (data[0] >> 3) & 1;
    opts.require_machines = (data[0] >> 4) & 1;
    if (file == PDM_FILE_MACHINES && (data[0] & 0x20))
        unlink(paths[file]);
    else
        FUZZ_CHECK(write_file(paths[file], data + 1, size - 1) == 0, "write %s", paths[file]);

    err[0] = '\0';
    if (pdm_dataset_load(dir, &opts, &ds, err, sizeof err) == 0) {
        FUZZ_CHECK(ds != NULL, "success without a data set");
        check_dataset(ds, &opts);
    } else {
        FUZZ_CHECK(ds == NULL, "failure with a data set");
        FUZZ_CHECK(err[0] != '\0', "a failed load has no message");
    }
    pdm_dataset_destroy(ds);
    /* The next input may choose another file: put this one back. */
    FUZZ_CHECK(write_file(paths[file], base_files[file], strlen(base_files[file])) == 0,
               "restore %s", paths[file]);
    return 0;
}
