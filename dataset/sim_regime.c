/* sim_regime.c: regime changes of a simulated fleet, for drift and
 * retraining tests: signal shifts from a point in time (pdm-sim --shift) and
 * machines that join and leave (--churn). Both are decided from the seed
 * alone, on random streams of their own, so that a fleet without them is
 * the fleet of the same seed draw for draw, and one with them differs only
 * where they act. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "pdm_dataset.h"
#include "sim_internal.h"

static const char *const signal_names[SIM_N_SIGNALS] = {"volt", "rotate", "pressure", "vibration"};

static int parse_double(const char *s, size_t len, double *out)
{
    char buf[64], *end;
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    *out = strtod(buf, &end);
    return *end || errno || !isfinite(*out) ? -1 : 0;
}

static int parse_id(const char *s, size_t len, int32_t *out)
{
    double v;
    if (parse_double(s, len, &v) || v < 1 || v > PDM_SIM_MAX_MACHINES || v != floor(v))
        return -1;
    *out = (int32_t)v;
    return 0;
}

/* MACHINES: "A-B", "N" or "P%". */
static int parse_machines(const char *s, size_t len, pdm_sim_shift *sh)
{
    const char *dash = memchr(s, '-', len);
    if (len > 1 && s[len - 1] == '%') {
        double pct;
        if (parse_double(s, len - 1, &pct) || pct <= 0 || pct > 100)
            return -1;
        sh->share = pct / 100;
        return 0;
    }
    if (!dash) {
        if (parse_id(s, len, &sh->first_machine))
            return -1;
        sh->last_machine = sh->first_machine;
        return 0;
    }
    if (parse_id(s, (size_t)(dash - s), &sh->first_machine) ||
        parse_id(dash + 1, len - (size_t)(dash + 1 - s), &sh->last_machine) ||
        sh->last_machine < sh->first_machine)
        return -1;
    return 0;
}

/* One AT:SIGNAL:AMOUNT[@MACHINES] of len bytes. */
static int parse_one(const char *s, size_t len, pdm_sim_shift *sh, char *errstr, size_t errlen)
{
    memset(sh, 0, sizeof *sh);
    sh->scale = 1;
    const char *at_sign = memchr(s, '@', len);
    size_t main_len = at_sign ? (size_t)(at_sign - s) : len;
    if (at_sign && parse_machines(at_sign + 1, len - main_len - 1, sh))
        return pdm_err(errstr, errlen,
                       "--shift '%.*s': machines are A-B, N or P%% (1..%d, 0 < P <= 100)", (int)len,
                       s, PDM_SIM_MAX_MACHINES);
    /* AT holds colons itself: SIGNAL and AMOUNT are the last two fields. */
    const char *amount = NULL, *signal = NULL;
    for (size_t i = main_len; i-- > 0;) {
        if (s[i] != ':')
            continue;
        if (!amount)
            amount = s + i + 1;
        else {
            signal = s + i + 1;
            break;
        }
    }
    if (!signal)
        return pdm_err(errstr, errlen, "--shift '%.*s' is not AT:SIGNAL:AMOUNT[@MACHINES]",
                       (int)len, s);
    size_t at_len = (size_t)(signal - 1 - s), sig_len = (size_t)(amount - 1 - signal),
           amount_len = main_len - (size_t)(amount - s);
    if (pdm_time_parse(s, at_len, &sh->at_ms))
        return pdm_err(errstr, errlen, "--shift '%.*s': '%.*s' is not a UTC time", (int)len, s,
                       (int)at_len, s);
    sh->signal = -1;
    for (int k = 0; k < SIM_N_SIGNALS; k++)
        if (strlen(signal_names[k]) == sig_len && !memcmp(signal_names[k], signal, sig_len))
            sh->signal = k;
    if (sh->signal < 0)
        return pdm_err(errstr, errlen,
                       "--shift '%.*s': the signal is volt, rotate, pressure or vibration",
                       (int)len, s);
    int bad = amount_len < 2;
    if (!bad && amount[0] == 'x')
        bad = parse_double(amount + 1, amount_len - 1, &sh->scale) || !(sh->scale > 0);
    else if (!bad && (amount[0] == '+' || amount[0] == '-'))
        bad = parse_double(amount, amount_len, &sh->offset);
    else
        bad = 1;
    if (bad)
        return pdm_err(errstr, errlen,
                       "--shift '%.*s': the amount is +N or -N (an offset) or xF (a factor > 0)",
                       (int)len, s);
    return 0;
}

int pdm_sim_shifts_parse(const char *spec, pdm_sim_params *p, char *errstr, size_t errlen)
{
    pdm_sim_shift parsed[PDM_SIM_MAX_SHIFTS];
    int n = 0;
    const char *s = spec ? spec : "";
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (p->n_shifts + n == PDM_SIM_MAX_SHIFTS)
            return pdm_err(errstr, errlen, "--shift: at most %d shifts", PDM_SIM_MAX_SHIFTS);
        if (parse_one(s, len, &parsed[n], errstr, errlen))
            return -1;
        n++;
        s += len + (comma != NULL);
    }
    memcpy(p->shifts + p->n_shifts, parsed, (size_t)n * sizeof *parsed);
    p->n_shifts += n;
    return 0;
}

int sim_regime_check(const pdm_sim_params *p, char *errstr, size_t errlen)
{
    if (!(p->churn >= 0 && p->churn <= 1))
        return pdm_err(errstr, errlen, "churn must be a share in [0, 1], got %g", p->churn);
    if (p->n_shifts < 0 || p->n_shifts > PDM_SIM_MAX_SHIFTS)
        return pdm_err(errstr, errlen, "at most %d shifts", PDM_SIM_MAX_SHIFTS);
    for (int i = 0; i < p->n_shifts; i++) {
        const pdm_sim_shift *sh = &p->shifts[i];
        if (sh->signal < 0 || sh->signal >= SIM_N_SIGNALS || !(sh->scale > 0) ||
            !isfinite(sh->scale) || !isfinite(sh->offset) || !(sh->share >= 0 && sh->share <= 1) ||
            sh->first_machine < 0 || sh->last_machine < sh->first_machine)
            return pdm_err(errstr, errlen, "shift %d is not valid", i + 1);
    }
    return 0;
}

unsigned sim_shift_mask(const pdm_sim_params *p, int32_t id)
{
    unsigned mask = 0;
    for (int i = 0; i < p->n_shifts; i++) {
        const pdm_sim_shift *sh = &p->shifts[i];
        int in;
        if (sh->share > 0) {
            sim_rng r;
            sim_rng_seed(&r, p->seed, (uint64_t)id, 16 + (uint64_t)i);
            in = sim_rng_unit(&r) < sh->share;
        } else {
            in = sh->first_machine == 0 || (id >= sh->first_machine && id <= sh->last_machine);
        }
        mask |= (unsigned)in << i;
    }
    return mask;
}

void sim_churn_interval(const pdm_sim_params *p, int32_t id, int64_t *join_h, int64_t *leave_h)
{
    sim_rng r;
    int64_t half = p->hours / 2;
    *join_h = 0;
    *leave_h = p->hours;
    if (!(p->churn > 0) || half < 1)
        return;
    sim_rng_seed(&r, p->seed, (uint64_t)id, 4);
    double u_join = sim_rng_unit(&r), at_join = sim_rng_unit(&r);
    double u_leave = sim_rng_unit(&r), at_leave = sim_rng_unit(&r);
    if (u_join < p->churn)
        *join_h = (int64_t)(at_join * (double)half);
    if (u_leave < p->churn)
        *leave_h = half + 1 + (int64_t)(at_leave * (double)(p->hours - half - 1));
}

void sim_churn_filter(sim_machine *m, int64_t start_ms, int64_t join_h, int64_t leave_h)
{
    int64_t join_ms = start_ms + join_h * PDM_MS_PER_HOUR;
    int64_t leave_ms = start_ms + leave_h * PDM_MS_PER_HOUR;
    size_t kept = 0, first_in_range = 0;
    for (size_t i = 0; i < m->n_events; i++) {
        const pdm_event *ev = &m->events[i];
        if (ev->ts >= leave_ms ||
            (ev->ts >= start_ms && ev->ts < join_ms && ev->type != PDM_EV_MAINTENANCE))
            continue;
        first_in_range += ev->ts < start_ms;
        m->events[kept++] = *ev;
    }
    m->n_events = kept;
    m->first_in_range = m->cursor = first_in_range;
}
