/* test_features_ref.c: an independent, deliberately naive implementation of
 * the v1 feature and label definitions, written from the specification and
 * not from features/: for a row it scans every event of the stream prefix
 * (O(n) per row), handles "the later telemetry at a ts replaces the
 * earlier" by walking the prefix backwards, and sums in long double.
 * The feature tests compare the library against it.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "pdm_schemas.h"

#define REF_N 27
#define REF_HOUR INT64_C(3600000)

void ref_features(const pdm_event *ev, size_t n, int32_t m, int64_t t, double out[REF_N]);
int ref_label(const pdm_event *ev, size_t n, int32_t m, int64_t t, int64_t horizon_ms);
int ref_close(double a, double b);

/* Telemetry values of m in (t - w, t], latest arrival per ts, appended to
 * vals[k * cap + i]; returns the count (at most cap). */
static size_t ref_window(const pdm_event *ev, size_t n, int32_t m, int64_t t, int64_t w,
                         long double *vals, int64_t *seen, size_t cap)
{
    size_t count = 0;
    for (size_t j = n; j-- > 0;) {
        const pdm_event *e = &ev[j];
        if (e->machine_id != m || e->type != PDM_EV_TELEMETRY)
            continue;
        if (!(e->ts > t - w && e->ts <= t))
            continue;
        int dup = 0;
        for (size_t s = 0; s < count; s++)
            if (seen[s] == e->ts)
                dup = 1;
        if (dup || count == cap)
            continue;
        seen[count] = e->ts;
        vals[0 * cap + count] = e->u.telemetry.volt;
        vals[1 * cap + count] = e->u.telemetry.rotate;
        vals[2 * cap + count] = e->u.telemetry.pressure;
        vals[3 * cap + count] = e->u.telemetry.vibration;
        count++;
    }
    return count;
}

#define REF_CAP 4096

static void ref_stats(const pdm_event *ev, size_t n, int32_t m, int64_t t, int64_t w, double *mean,
                      double *sd)
{
    static long double vals[4 * REF_CAP];
    static int64_t seen[REF_CAP];
    size_t c = ref_window(ev, n, m, t, w, vals, seen, REF_CAP);
    for (int k = 0; k < 4; k++) {
        if (c == 0) {
            mean[k] = NAN;
            sd[k] = 0;
            continue;
        }
        long double sum = 0;
        for (size_t i = 0; i < c; i++)
            sum += vals[k * REF_CAP + i];
        long double mu = sum / (long double)c;
        mean[k] = (double)mu;
        if (c < 2) {
            sd[k] = 0;
            continue;
        }
        long double ss = 0;
        for (size_t i = 0; i < c; i++) {
            long double d = vals[k * REF_CAP + i] - mu;
            ss += d * d;
        }
        sd[k] = (double)sqrtl(ss / (long double)(c - 1));
    }
}

void ref_features(const pdm_event *ev, size_t n, int32_t m, int64_t t, double out[REF_N])
{
    ref_stats(ev, n, m, t, 3 * REF_HOUR, out + 0, out + 4);
    ref_stats(ev, n, m, t, 24 * REF_HOUR, out + 8, out + 12);

    /* errors: distinct (ts, id) in (t - 24h, t] */
    for (int k = 1; k <= 5; k++) {
        int count = 0;
        for (size_t j = 0; j < n; j++) {
            const pdm_event *e = &ev[j];
            if (e->machine_id != m || e->type != PDM_EV_ERROR || e->u.error.error_id != k)
                continue;
            if (!(e->ts > t - 24 * REF_HOUR && e->ts <= t))
                continue;
            int earlier_same = 0;
            for (size_t q = 0; q < j; q++)
                if (ev[q].machine_id == m && ev[q].type == PDM_EV_ERROR &&
                    ev[q].u.error.error_id == k && ev[q].ts == e->ts)
                    earlier_same = 1;
            count += !earlier_same;
        }
        out[16 + k - 1] = count;
    }

    /* hours since the latest maintenance at or before t */
    for (int k = 1; k <= 4; k++) {
        int found = 0;
        int64_t latest = 0;
        for (size_t j = 0; j < n; j++) {
            const pdm_event *e = &ev[j];
            if (e->machine_id == m && e->type == PDM_EV_MAINTENANCE &&
                e->u.maintenance.component == k && e->ts <= t && (!found || e->ts > latest)) {
                latest = e->ts;
                found = 1;
            }
        }
        out[21 + k - 1] = found ? (double)(t - latest) / 3600000.0 : NAN;
    }

    /* machine info: the last one in the stream */
    out[25] = out[26] = NAN;
    for (size_t j = 0; j < n; j++) {
        if (ev[j].machine_id == m && ev[j].type == PDM_EV_MACHINE) {
            out[25] = ev[j].u.machine.model;
            out[26] = ev[j].u.machine.age;
        }
    }
}

int ref_label(const pdm_event *ev, size_t n, int32_t m, int64_t t, int64_t horizon_ms)
{
    int64_t best_ts = 0;
    int best = 0;
    for (size_t j = 0; j < n; j++) {
        const pdm_event *e = &ev[j];
        if (e->machine_id != m || e->type != PDM_EV_FAILURE)
            continue;
        if (!(e->ts > t && e->ts <= t + horizon_ms))
            continue;
        if (!best || e->ts < best_ts || (e->ts == best_ts && e->u.failure.component < best)) {
            best = e->u.failure.component;
            best_ts = e->ts;
        }
    }
    return best;
}

/* Equal to 1e-9 relative; NaN only equals NaN. */
int ref_close(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    double scale = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= 1e-9 * scale;
}
