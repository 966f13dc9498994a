/* test_features_util.h: what the feature library's tests share
 * (test_features.c, test_features_random.c): the naive reference of
 * test_features_ref.c, event builders, features after a stream, float and
 * view comparisons. Include it first. */
#ifndef TEST_FEATURES_UTIL_H
#define TEST_FEATURES_UTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pdm_features.h"

void ref_features(const pdm_event *ev, size_t n, int32_t m, int64_t t, double out[27]);
int ref_label(const pdm_event *ev, size_t n, int32_t m, int64_t t, int64_t horizon_ms);
int ref_close(double a, double b);

#define H(h) ((int64_t)((h)*3600000.0))
#define MIN_MS INT64_C(60000)
#define T0 INT64_C(1420070400000) /* 2015-01-01 00:00:00 UTC */

/* ---- helpers ----------------------------------------------------------------- */

static inline pdm_event tel(int32_t m, int64_t ts, double volt, double rotate, double pressure,
                            double vibration)
{
    pdm_event e;
    memset(&e, 0, sizeof e);
    e.type = PDM_EV_TELEMETRY;
    e.machine_id = m;
    e.ts = ts;
    e.u.telemetry.volt = volt;
    e.u.telemetry.rotate = rotate;
    e.u.telemetry.pressure = pressure;
    e.u.telemetry.vibration = vibration;
    return e;
}

static inline pdm_event tel1(int32_t m, int64_t ts, double volt)
{
    return tel(m, ts, volt, 0, 0, 0);
}

static inline pdm_event mark(pdm_event_type type, int32_t m, int64_t ts, int id)
{
    pdm_event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.machine_id = m;
    e.ts = ts;
    if (type == PDM_EV_ERROR)
        e.u.error.error_id = id;
    else if (type == PDM_EV_MAINTENANCE)
        e.u.maintenance.component = id;
    else
        e.u.failure.component = id;
    return e;
}

static inline pdm_event info(int32_t m, int model, int age)
{
    pdm_event e;
    memset(&e, 0, sizeof e);
    e.type = PDM_EV_MACHINE;
    e.machine_id = m;
    e.ts = T0 - H(24 * 365);
    e.u.machine.model = model;
    e.u.machine.age = age;
    return e;
}

/* Applies events to a fresh state and computes the row at t. */
static inline void features_after(const pdm_event *ev, size_t n, int64_t t,
                                  double out[PDM_N_FEATURES])
{
    pdm_machine_state *st = pdm_machine_state_new();
    assert_non_null(st);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pdm_machine_state_apply(st, &ev[i]), 0);
    pdm_machine_view v;
    pdm_machine_state_view(st, &v);
    assert_int_equal(pdm_machine_view_check(&v, NULL, 0), 0);
    pdm_features_compute(&v, t, out);
    pdm_machine_state_destroy(st);
}

static inline void assert_close(double got, double want, int feature)
{
    if (!ref_close(got, want))
        fail_msg("feature %d (%s): got %.17g, want %.17g", feature + 1, pdm_feature_name(feature),
                 got, want);
}

static inline int same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static inline void assert_views_equal(const pdm_machine_view *a, const pdm_machine_view *b)
{
    assert_int_equal(a->n_tel, b->n_tel);
    assert_int_equal(a->n_err, b->n_err);
    assert_int_equal(a->n_maint, b->n_maint);
    if (a->n_tel)
        assert_memory_equal(a->tel, b->tel, a->n_tel * sizeof *a->tel);
    for (size_t i = 0; i < a->n_err; i++) {
        assert_int_equal(a->err[i].ts, b->err[i].ts);
        assert_int_equal(a->err[i].error_id, b->err[i].error_id);
    }
    for (size_t i = 0; i < a->n_maint; i++) {
        assert_int_equal(a->maint[i].ts, b->maint[i].ts);
        assert_int_equal(a->maint[i].component, b->maint[i].component);
    }
    assert_int_equal(a->has_info, b->has_info);
    if (a->has_info) {
        assert_int_equal(a->model, b->model);
        assert_int_equal(a->age, b->age);
    }
}

#endif
