/* features.c: the v1 math, from a machine view and a time t to one row.
 *
 * This is the only place the features are defined; the trainer (in-memory
 * state) and the scorer (state read back from Redis) both call
 * pdm_features_compute on a pdm_machine_view.
 *
 * Speed: rows are almost always computed at or near the machine's newest
 * point, so window bounds are found by galloping back from the end of the
 * sorted arrays (O(log window), not O(log history)). Accuracy: mean and std
 * use the corrected two-pass algorithm (sum of deviations from a first-pass
 * mean, with the rounding of that mean compensated), which matches an exact
 * computation to a few ulps whatever the offset of the values.
 */
#include "pdm_features.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static const char *const feature_names[PDM_N_FEATURES] = {
    "volt_mean_3h",
    "rotate_mean_3h",
    "pressure_mean_3h",
    "vibration_mean_3h",
    "volt_std_3h",
    "rotate_std_3h",
    "pressure_std_3h",
    "vibration_std_3h",
    "volt_mean_24h",
    "rotate_mean_24h",
    "pressure_mean_24h",
    "vibration_mean_24h",
    "volt_std_24h",
    "rotate_std_24h",
    "pressure_std_24h",
    "vibration_std_24h",
    "error1_count_24h",
    "error2_count_24h",
    "error3_count_24h",
    "error4_count_24h",
    "error5_count_24h",
    "comp1_hours_since_maint",
    "comp2_hours_since_maint",
    "comp3_hours_since_maint",
    "comp4_hours_since_maint",
    "model_id",
    "age",
};

const char *pdm_feature_name(size_t i)
{
    return i < PDM_N_FEATURES ? feature_names[i] : NULL;
}

const char *const *pdm_feature_names(void)
{
    return feature_names;
}

/* ---- window bounds ------------------------------------------------------- */

/* The number of leading elements of a sorted array with ts <= x (the index
 * of the first ts > x), searched only in [0, hi): gallop back from hi, then
 * bisect. Written once per point type by this macro. */
#define DEFINE_COUNT_UP_TO(fname, type)                                                            \
    static size_t fname(const type *p, size_t hi, int64_t x)                                       \
    {                                                                                              \
        size_t lo = 0, step = 1;                                                                   \
        while (step <= hi) {                                                                       \
            size_t probe = hi - step;                                                              \
            if (p[probe].ts <= x) {                                                                \
                lo = probe + 1;                                                                    \
                break;                                                                             \
            }                                                                                      \
            hi = probe;                                                                            \
            step *= 2;                                                                             \
        }                                                                                          \
        while (lo < hi) {                                                                          \
            size_t mid = lo + (hi - lo) / 2;                                                       \
            if (p[mid].ts <= x)                                                                    \
                lo = mid + 1;                                                                      \
            else                                                                                   \
                hi = mid;                                                                          \
        }                                                                                          \
        return lo;                                                                                 \
    }

DEFINE_COUNT_UP_TO(tel_count_up_to, pdm_telemetry_point)
DEFINE_COUNT_UP_TO(err_count_up_to, pdm_error_point)
DEFINE_COUNT_UP_TO(maint_count_up_to, pdm_maint_point)

/* ---- the math ------------------------------------------------------------ */

/* mean and sample std of each signal over p[lo, hi). */
static void window_stats(const pdm_telemetry_point *p, size_t lo, size_t hi,
                         double mean[PDM_N_SIGNALS], double sd[PDM_N_SIGNALS])
{
    size_t n = hi - lo;
    if (n == 0) {
        for (int k = 0; k < PDM_N_SIGNALS; k++) {
            mean[k] = NAN;
            sd[k] = 0.0;
        }
        return;
    }
    if (n == 1) {
        for (int k = 0; k < PDM_N_SIGNALS; k++) {
            mean[k] = p[lo].v[k];
            sd[k] = 0.0;
        }
        return;
    }
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = lo; i < hi; i++) {
        s0 += p[i].v[0];
        s1 += p[i].v[1];
        s2 += p[i].v[2];
        s3 += p[i].v[3];
    }
    double dn = (double)n;
    double m[PDM_N_SIGNALS] = {s0 / dn, s1 / dn, s2 / dn, s3 / dn};
    double d[PDM_N_SIGNALS] = {0, 0, 0, 0}, q[PDM_N_SIGNALS] = {0, 0, 0, 0};
    for (size_t i = lo; i < hi; i++) {
        for (int k = 0; k < PDM_N_SIGNALS; k++) {
            double e = p[i].v[k] - m[k];
            d[k] += e;
            q[k] += e * e;
        }
    }
    for (int k = 0; k < PDM_N_SIGNALS; k++) {
        mean[k] = m[k] + d[k] / dn;
        double var = (q[k] - d[k] * d[k] / dn) / (dn - 1.0);
        sd[k] = var > 0.0 ? sqrt(var) : 0.0;
    }
}

void pdm_features_compute(const pdm_machine_view *v, int64_t t, double out[PDM_N_FEATURES])
{
    /* Telemetry: both windows end at the same index. */
    size_t hi = tel_count_up_to(v->tel, v->n_tel, t);
    size_t lo24 = tel_count_up_to(v->tel, hi, t - PDM_FEATURES_LONG_WINDOW_MS);
    /* (no telemetry: tel may be NULL, and NULL + 0 is undefined in C) */
    size_t lo3 = hi == lo24 ? lo24
                            : lo24 + tel_count_up_to(v->tel + lo24, hi - lo24,
                                                     t - PDM_FEATURES_SHORT_WINDOW_MS);
    window_stats(v->tel, lo3, hi, out + PDM_F_MEAN_3H, out + PDM_F_STD_3H);
    window_stats(v->tel, lo24, hi, out + PDM_F_MEAN_24H, out + PDM_F_STD_24H);

    /* Errors in (t - 24h, t]; the view holds each (ts, id) once. */
    size_t ehi = err_count_up_to(v->err, v->n_err, t);
    size_t elo = err_count_up_to(v->err, ehi, t - PDM_FEATURES_LONG_WINDOW_MS);
    int counts[PDM_N_ERRORS] = {0};
    for (size_t i = elo; i < ehi; i++) {
        int id = v->err[i].error_id;
        if (id >= 1 && id <= PDM_N_ERRORS)
            counts[id - 1]++;
    }
    for (int k = 0; k < PDM_N_ERRORS; k++)
        out[PDM_F_ERROR_COUNT_24H + k] = (double)counts[k];

    /* Latest maintenance of each component at or before t: walk back. */
    int found = 0;
    for (int k = 0; k < PDM_N_COMPONENTS; k++)
        out[PDM_F_HOURS_SINCE_MAINT + k] = NAN;
    for (size_t i = maint_count_up_to(v->maint, v->n_maint, t); i > 0 && found < PDM_N_COMPONENTS;
         i--) {
        int c = v->maint[i - 1].component;
        if (c < 1 || c > PDM_N_COMPONENTS || !isnan(out[PDM_F_HOURS_SINCE_MAINT + c - 1]))
            continue;
        out[PDM_F_HOURS_SINCE_MAINT + c - 1] =
            (double)(t - v->maint[i - 1].ts) / (double)PDM_MS_PER_HOUR;
        found++;
    }

    out[PDM_F_MODEL_ID] = v->has_info ? (double)v->model : NAN;
    out[PDM_F_AGE] = v->has_info ? (double)v->age : NAN;
}

int pdm_machine_view_check(const pdm_machine_view *v, char *errstr, size_t errlen)
{
    char a[32];
    for (size_t i = 1; i < v->n_tel; i++)
        if (v->tel[i].ts <= v->tel[i - 1].ts)
            return pdm_err(errstr, errlen, "telemetry %zu at %s is not after the previous point", i,
                           pdm_time_format(v->tel[i].ts, a));
    for (size_t i = 0; i < v->n_err; i++) {
        const pdm_error_point *e = &v->err[i];
        if (e->error_id < 1 || e->error_id > PDM_N_ERRORS)
            return pdm_err(errstr, errlen, "error %zu has id %d, not 1..%d", i, e->error_id,
                           PDM_N_ERRORS);
        if (i > 0 && (e->ts < e[-1].ts || (e->ts == e[-1].ts && e->error_id <= e[-1].error_id)))
            return pdm_err(errstr, errlen, "error %zu (%s, error%d) is not after the previous one",
                           i, pdm_time_format(e->ts, a), e->error_id);
    }
    for (size_t i = 0; i < v->n_maint; i++) {
        const pdm_maint_point *m = &v->maint[i];
        if (m->component < 1 || m->component > PDM_N_COMPONENTS)
            return pdm_err(errstr, errlen, "maintenance %zu has component %d, not 1..%d", i,
                           m->component, PDM_N_COMPONENTS);
        if (i > 0 && (m->ts < m[-1].ts || (m->ts == m[-1].ts && m->component <= m[-1].component)))
            return pdm_err(errstr, errlen,
                           "maintenance %zu (%s, comp%d) is not after the previous one", i,
                           pdm_time_format(m->ts, a), m->component);
    }
    return 0;
}

/* ---- CSV dump ------------------------------------------------------------ */

int pdm_features_dump_header(FILE *out)
{
    fputs("machineID,datetime", out);
    for (size_t i = 0; i < PDM_N_FEATURES; i++) {
        fputc(',', out);
        fputs(feature_names[i], out);
    }
    fputs(",label\n", out);
    return ferror(out) ? -1 : 0;
}

int pdm_features_dump_row(FILE *out, int32_t machine_id, int64_t ts, const double *row, int label)
{
    /* 27 values of at most 24 characters each, plus id, time and label. */
    char line[PDM_N_FEATURES * 26 + 96], when[32];
    int len = snprintf(line, sizeof line, "%" PRId32 ",%s", machine_id, pdm_time_format(ts, when));
    for (size_t i = 0; i < PDM_N_FEATURES; i++) {
        line[len++] = ',';
        if (!isnan(row[i]))
            len += snprintf(line + len, sizeof line - (size_t)len, "%.17g", row[i]);
    }
    if (label >= 0)
        len += snprintf(line + len, sizeof line - (size_t)len, ",%d\n", label);
    else
        len += snprintf(line + len, sizeof line - (size_t)len, ",\n");
    if (fwrite(line, 1, (size_t)len, out) != (size_t)len)
        return -1;
    return 0;
}
