/* archive_rules.c: the archive's pure decisions: which file a row goes to,
 * how it is written, what opening an archive does with a file it finds, and
 * which days retention keeps. No I/O here, so the unit tests reach every
 * rule directly; archive.c applies them.
 *
 * Rows are written the way pdm_dataset_load reads them: the loader refuses
 * a row whose numbers are not finite, whose machine is not positive, whose
 * model is not model1..model4 or whose age is not 0..200, and its times
 * have no fraction of a second; such events are skipped here (counted by
 * reason) instead of making the archive unreadable. */
#include "archive_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "pdm_dataset.h"

static const char *const skip_names[PDM_ARCHIVE_SKIP_COUNT] = {
    "ok", "undecodable", "output_type", "invalid", "subsecond", "time", "expired"};

const char *pdm_archive_skip_name(pdm_archive_skip why)
{
    return why >= 0 && why < PDM_ARCHIVE_SKIP_COUNT ? skip_names[why] : "?";
}

void pdm_archive_day_name(int64_t ts_ms, char *day)
{
    char stamp[32];
    pdm_time_format(ts_ms, stamp);
    memcpy(day, stamp, 10);
    day[10] = '\0';
}

int pdm_archive_day_parse(const char *name, int64_t *day_start_ms)
{
    size_t n = strlen(name);
    /* pdm_time_parse also takes times; a day directory is the date alone. */
    if (n != 10 || pdm_time_parse(name, n, day_start_ms))
        return -1;
    return 0;
}

int64_t arc_day_start(int64_t ts_ms)
{
    return ts_ms / PDM_MS_PER_DAY * PDM_MS_PER_DAY -
           (ts_ms % PDM_MS_PER_DAY < 0 ? PDM_MS_PER_DAY : 0);
}

/* The dataset file an event type's rows go to; PDM_FILE_COUNT for none. */
pdm_dataset_file arc_file_of_type(pdm_event_type type)
{
    switch (type) {
    case PDM_EV_TELEMETRY:
        return PDM_FILE_TELEMETRY;
    case PDM_EV_ERROR:
        return PDM_FILE_ERRORS;
    case PDM_EV_MAINTENANCE:
        return PDM_FILE_MAINT;
    case PDM_EV_FAILURE:
        return PDM_FILE_FAILURES;
    case PDM_EV_MACHINE:
        return PDM_FILE_MACHINES;
    default:
        return PDM_FILE_COUNT;
    }
}

int pdm_archive_file_name(pdm_event_type type, int64_t ts_ms, char *buf, size_t len)
{
    pdm_dataset_file f = arc_file_of_type(type);
    char day[PDM_ARCHIVE_DAY_SIZE];
    int n;
    if (f == PDM_FILE_COUNT)
        return -1;
    if (f == PDM_FILE_MACHINES) {
        n = snprintf(buf, len, "%s", pdm_dataset_file_name(f));
    } else {
        pdm_archive_day_name(ts_ms, day);
        n = snprintf(buf, len, "%s/%s", day, pdm_dataset_file_name(f));
    }
    return n < 0 || (size_t)n >= len ? -1 : n;
}

int arc_valid_file_name(const char *name, int64_t *day_start_ms)
{
    char day[PDM_ARCHIVE_DAY_SIZE];
    *day_start_ms = INT64_MIN;
    if (!strcmp(name, pdm_dataset_file_name(PDM_FILE_MACHINES)))
        return 1;
    if (strlen(name) < 12 || name[10] != '/')
        return 0;
    memcpy(day, name, 10);
    day[10] = '\0';
    if (pdm_archive_day_parse(day, day_start_ms))
        return 0;
    for (int f = 0; f < PDM_FILE_MACHINES; f++)
        if (!strcmp(name + 11, pdm_dataset_file_name((pdm_dataset_file)f)))
            return 1;
    return 0;
}

/* The shortest of %.15g..%.17g that strtod reads back as v (17 always does). */
static size_t put_number(char *p, double v)
{
    int n = 0;
    for (int digits = 15; digits <= 17; digits++) {
        n = snprintf(p, 32, "%.*g", digits, v);
        if (strtod(p, NULL) == v)
            break;
    }
    return n > 0 ? (size_t)n : 0;
}

static pdm_archive_skip check_event(const pdm_event *ev, int64_t now_ms)
{
    if (ev->type == PDM_EV_RISK || ev->type == PDM_EV_SILENCE)
        return PDM_ARCHIVE_SKIP_OUTPUT_TYPE;
    if (arc_file_of_type(ev->type) == PDM_FILE_COUNT || ev->machine_id <= 0)
        return PDM_ARCHIVE_SKIP_INVALID;
    switch (ev->type) {
    case PDM_EV_MACHINE:
        /* A table row: the loader gives it no time of its own. */
        if (ev->u.machine.model < 1 || ev->u.machine.model > PDM_DATASET_MAX_MODEL ||
            ev->u.machine.age < 0 || ev->u.machine.age > 200)
            return PDM_ARCHIVE_SKIP_INVALID;
        return PDM_ARCHIVE_ROW_OK;
    case PDM_EV_TELEMETRY:
        if (!isfinite(ev->u.telemetry.volt) || !isfinite(ev->u.telemetry.rotate) ||
            !isfinite(ev->u.telemetry.pressure) || !isfinite(ev->u.telemetry.vibration))
            return PDM_ARCHIVE_SKIP_INVALID;
        break;
    case PDM_EV_ERROR:
        if (ev->u.error.error_id < 1 || ev->u.error.error_id > PDM_N_ERRORS)
            return PDM_ARCHIVE_SKIP_INVALID;
        break;
    default: /* maintenance, failure */
        if (ev->u.maintenance.component < 1 || ev->u.maintenance.component > PDM_N_COMPONENTS)
            return PDM_ARCHIVE_SKIP_INVALID;
        break;
    }
    if (ev->ts < PDM_ARCHIVE_MIN_TS || ev->ts > now_ms + PDM_MS_PER_DAY)
        return PDM_ARCHIVE_SKIP_TIME;
    if (ev->ts % 1000)
        return PDM_ARCHIVE_SKIP_SUBSECOND;
    return PDM_ARCHIVE_ROW_OK;
}

int pdm_archive_format_row(const pdm_event *ev, int64_t now_ms, char *buf, size_t len)
{
    char tmp[ARC_ROW_MAX], stamp[32], *p = tmp;
    pdm_archive_skip why = check_event(ev, now_ms);
    if (why != PDM_ARCHIVE_ROW_OK)
        return -(int)why;
    if (ev->type == PDM_EV_MACHINE) {
        p += sprintf(p, "%d,model%d,%d\n", (int)ev->machine_id, ev->u.machine.model,
                     ev->u.machine.age);
    } else {
        p += sprintf(p, "%s,%d,", pdm_time_format(ev->ts, stamp), (int)ev->machine_id);
        switch (ev->type) {
        case PDM_EV_TELEMETRY:
            p += put_number(p, ev->u.telemetry.volt);
            *p++ = ',';
            p += put_number(p, ev->u.telemetry.rotate);
            *p++ = ',';
            p += put_number(p, ev->u.telemetry.pressure);
            *p++ = ',';
            p += put_number(p, ev->u.telemetry.vibration);
            *p++ = '\n';
            break;
        case PDM_EV_ERROR:
            p += sprintf(p, "error%d\n", ev->u.error.error_id);
            break;
        default: /* maintenance and failure rows name the component alike */
            p += sprintf(p, "comp%d\n", ev->u.maintenance.component);
            break;
        }
    }
    size_t n = (size_t)(p - tmp);
    if (n >= len)
        return -(int)PDM_ARCHIVE_SKIP_INVALID;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return (int)n;
}

pdm_archive_recovery pdm_archive_recovery_action(int listed, int64_t recorded, int64_t actual)
{
    if (!listed)
        return PDM_ARCHIVE_REMOVE;
    if (actual < recorded)
        return PDM_ARCHIVE_CORRUPT;
    return actual > recorded ? PDM_ARCHIVE_TRUNCATE : PDM_ARCHIVE_KEEP;
}

int64_t pdm_archive_retention_start(int64_t stream_ms, int64_t now_ms, int keep_days)
{
    if (keep_days <= 0 || stream_ms == INT64_MIN)
        return INT64_MIN;
    /* A clock spike in the stream must not expire the real days: the stream's
     * time counts only up to the wall clock. */
    int64_t newest = stream_ms < now_ms ? stream_ms : now_ms;
    return arc_day_start(newest) - (int64_t)(keep_days - 1) * PDM_MS_PER_DAY;
}
