/* labels.c: the training label of a row (m, t), the component of m that
 * fails first within (t, t + horizon].
 *
 * Failures are copied and sorted by (machine, ts, component) once; a row's
 * label is then one binary search for the first failure of m after t, and
 * the lowest component at that instant comes first by the sort order.
 */
#include "pdm_features.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    int32_t machine_id;
    int component;
    int64_t ts;
} failure;

static int failure_cmp(const void *pa, const void *pb)
{
    const failure *a = pa, *b = pb;
    if (a->machine_id != b->machine_id)
        return a->machine_id < b->machine_id ? -1 : 1;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return (a->component > b->component) - (a->component < b->component);
}

int pdm_labels_compute(const pdm_event *events, size_t n_events, const int32_t *machine_id,
                       const int64_t *ts, size_t n_rows, double horizon_hours, int *labels,
                       char *errstr, size_t errlen)
{
    int rc = -1;
    failure *f = NULL;
    size_t nf = 0;

    if (!(horizon_hours >= 0.0) || horizon_hours > 24.0 * 366 * 100) {
        pdm_err(errstr, errlen, "label horizon %g h is not in [0, 100 years]", horizon_hours);
        goto out;
    }
    int64_t horizon = llround(horizon_hours * (double)PDM_MS_PER_HOUR);

    for (size_t i = 0; i < n_events; i++)
        nf += events[i].type == PDM_EV_FAILURE;
    if (nf && !(f = malloc(nf * sizeof *f))) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    nf = 0;
    for (size_t i = 0; i < n_events; i++) {
        const pdm_event *ev = &events[i];
        if (ev->type != PDM_EV_FAILURE)
            continue;
        if (ev->u.failure.component < 1 || ev->u.failure.component > PDM_N_COMPONENTS) {
            pdm_err(errstr, errlen, "failure event %zu (machine %d) has component %d, not 1..%d", i,
                    (int)ev->machine_id, ev->u.failure.component, PDM_N_COMPONENTS);
            goto out;
        }
        f[nf].machine_id = ev->machine_id;
        f[nf].component = ev->u.failure.component;
        f[nf].ts = ev->ts;
        nf++;
    }
    if (nf > 1)
        qsort(f, nf, sizeof *f, failure_cmp);

    for (size_t r = 0; r < n_rows; r++) {
        int32_t m = machine_id[r];
        int64_t t = ts[r];
        /* First failure ordered after (m, t). */
        size_t lo = 0, hi = nf;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (f[mid].machine_id < m || (f[mid].machine_id == m && f[mid].ts <= t))
                lo = mid + 1;
            else
                hi = mid;
        }
        labels[r] =
            lo < nf && f[lo].machine_id == m && f[lo].ts - t <= horizon ? f[lo].component : 0;
    }
    rc = 0;
out:
    free(f);
    return rc;
}
