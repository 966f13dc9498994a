/* sim_csv.c: writes a simulated fleet as the five PdM CSV files.
 *
 * Same layout as the public files: LF line ends, the same headers, each
 * file listed machine after machine and in time order within a machine,
 * numbers as "%.15g" prints them. Every file is first written under a
 * temporary name in the target directory and all five are renamed only once
 * all are complete, so a reader never finds a half-written data set (a crash
 * can leave *.tmp.PID files behind, never a truncated PdM_*.csv).
 * Telemetry dominates (a line per machine-hour): lines are assembled by hand
 * into a large buffer, with the hour stamps formatted once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset_internal.h"
#include "pdm_common.h"
#include "pdm_dataset.h"

#define OUT_BUF_SIZE (1 << 18)

typedef struct {
    FILE *f;
    char *buf;
    size_t n;
    int failed;
} out_file;

static void out_flush(out_file *o)
{
    if (o->n && fwrite(o->buf, 1, o->n, o->f) != o->n)
        o->failed = 1;
    o->n = 0;
}

/* Room for one line (lines are well under 256 bytes). */
static char *out_reserve(out_file *o)
{
    if (o->n + 256 > OUT_BUF_SIZE)
        out_flush(o);
    return o->buf + o->n;
}

static size_t put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return n;
}

static size_t put_uint(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
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

static void write_telemetry(pdm_sim *sim, out_file *o, const char (*stamps)[20])
{
    int64_t hours = pdm_sim_hours(sim);
    for (int m = 0; m < pdm_sim_machines(sim); m++) {
        for (int64_t h = 0; h < hours; h++) {
            pdm_event ev;
            pdm_sim_machine_telemetry(sim, m, h, &ev);
            if (!pdm_sim_machine_active(sim, m, h))
                continue;
            char *p = out_reserve(o), *start = p;
            memcpy(p, stamps[h], 19);
            p += 19;
            *p++ = ',';
            p += put_uint(p, (uint64_t)ev.machine_id);
            *p++ = ',';
            p += pdm_ds_format_num(ev.u.telemetry.volt, p);
            *p++ = ',';
            p += pdm_ds_format_num(ev.u.telemetry.rotate, p);
            *p++ = ',';
            p += pdm_ds_format_num(ev.u.telemetry.pressure, p);
            *p++ = ',';
            p += pdm_ds_format_num(ev.u.telemetry.vibration, p);
            *p++ = '\n';
            o->n += (size_t)(p - start);
        }
    }
}

/* Errors, maintenance or failures: "datetime,machineID,<prefix>K". */
static void write_named(const pdm_sim *sim, out_file *o, pdm_event_type type, const char *prefix)
{
    char stamp[32];
    for (int m = 0; m < pdm_sim_machines(sim); m++) {
        size_t n;
        const pdm_event *ev = pdm_sim_machine_events(sim, m, &n);
        for (size_t i = 0; i < n; i++) {
            if (ev[i].type != type)
                continue;
            char *p = out_reserve(o), *start = p;
            p += put_str(p, pdm_time_format(ev[i].ts, stamp));
            *p++ = ',';
            p += put_uint(p, (uint64_t)ev[i].machine_id);
            *p++ = ',';
            p += put_str(p, prefix);
            p += put_uint(p, (uint64_t)event_name(&ev[i]));
            *p++ = '\n';
            o->n += (size_t)(p - start);
        }
    }
}

static void write_machines(const pdm_sim *sim, out_file *o)
{
    for (int m = 0; m < pdm_sim_machines(sim); m++) {
        const pdm_event *ev = pdm_sim_machine_info(sim, m);
        char *p = out_reserve(o), *start = p;
        p += put_uint(p, (uint64_t)ev->machine_id);
        p += put_str(p, ",model");
        p += put_uint(p, (uint64_t)ev->u.machine.model);
        *p++ = ',';
        p += put_uint(p, (uint64_t)ev->u.machine.age);
        *p++ = '\n';
        o->n += (size_t)(p - start);
    }
}

int pdm_sim_write_csv(const pdm_sim_params *params, const char *dir, char *errstr, size_t errlen)
{
    int rc = -1, created[PDM_FILE_COUNT] = {0};
    char tmp[PDM_FILE_COUNT][4096], final[PDM_FILE_COUNT][4096], stamp[32];
    char(*stamps)[20] = NULL;
    out_file o = {0};
    pdm_sim *sim = pdm_sim_new(params, errstr, errlen);

    if (!sim)
        goto out;
    if (pdm_mkdirs(dir, errstr, errlen))
        goto out;
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        const char *name = pdm_dataset_file_name((pdm_dataset_file)f);
        if ((size_t)snprintf(final[f], sizeof final[f], "%s/%s", dir, name) >= sizeof final[f] ||
            (size_t)snprintf(tmp[f], sizeof tmp[f], "%s.tmp.%ld", final[f], (long)getpid()) >=
                sizeof tmp[f]) {
            pdm_err(errstr, errlen, "%s: path too long", dir);
            goto out;
        }
    }
    stamps = malloc((size_t)params->hours * sizeof *stamps);
    o.buf = malloc(OUT_BUF_SIZE);
    if (!stamps || !o.buf) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    for (int64_t h = 0; h < params->hours; h++)
        memcpy(stamps[h], pdm_time_format(params->start_ms + h * PDM_MS_PER_HOUR, stamp), 20);

    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        o.f = fopen(tmp[f], "wb");
        if (!o.f) {
            pdm_err(errstr, errlen, "cannot create %s: %s", tmp[f], strerror(errno));
            goto out;
        }
        created[f] = 1;
        o.n = 0;
        o.failed = 0;
        char *p = out_reserve(&o);
        o.n += (size_t)sprintf(p, "%s\n", pdm_dataset_file_header((pdm_dataset_file)f));
        switch (f) {
        case PDM_FILE_TELEMETRY:
            write_telemetry(sim, &o, (const char(*)[20])stamps);
            break;
        case PDM_FILE_ERRORS:
            write_named(sim, &o, PDM_EV_ERROR, "error");
            break;
        case PDM_FILE_MAINT:
            write_named(sim, &o, PDM_EV_MAINTENANCE, "comp");
            break;
        case PDM_FILE_FAILURES:
            write_named(sim, &o, PDM_EV_FAILURE, "comp");
            break;
        default:
            write_machines(sim, &o);
            break;
        }
        out_flush(&o);
        int failed = o.failed | (fflush(o.f) != 0);
        int saved = errno;
        failed |= fclose(o.f) != 0;
        o.f = NULL;
        if (failed) {
            pdm_err(errstr, errlen, "cannot write %s: %s", tmp[f], strerror(saved ? saved : errno));
            goto out;
        }
    }
    for (int f = 0; f < PDM_FILE_COUNT; f++) {
        if (rename(tmp[f], final[f])) {
            pdm_err(errstr, errlen, "cannot rename %s to %s: %s", tmp[f], final[f],
                    strerror(errno));
            goto out;
        }
        created[f] = 0;
    }
    rc = 0;
out:
    if (o.f)
        fclose(o.f);
    for (int f = 0; f < PDM_FILE_COUNT; f++)
        if (created[f])
            unlink(tmp[f]);
    free(o.buf);
    free(stamps);
    pdm_sim_destroy(sim);
    return rc;
}
