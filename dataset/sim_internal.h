/* sim_internal.h: what the fleet simulator's files share (not part of the
 * dataset module's API): its random numbers, the plan of a machine, and the
 * two planners (sim_hard.c, the fleet before calibration; sim_realistic.c,
 * the fleet calibrated against the public data).
 *
 * The random numbers are static inline here: telemetry draws four Gaussians
 * per machine-hour, and a call across files would cost pdm-sim a third of
 * its speed. Gaussians use the polar method with a logarithm computed in
 * plain IEEE arithmetic (sqrt is exact by IEEE), so results do not depend on
 * the platform's libm. */
#ifndef PDM_SIM_INTERNAL_H
#define PDM_SIM_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "pdm_common.h"
#include "pdm_dataset.h"

#define SIM_DAY_MS (24 * PDM_MS_PER_HOUR)
#define SIM_N_SIGNALS 4

/* ---- random numbers: xoshiro256** seeded by splitmix64 ------------------ */

typedef struct {
    uint64_t s[4];
    double spare;
    int has_spare;
} sim_rng;

static inline uint64_t sim_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Stream `stream` of machine `machine` under `seed`. */
static inline void sim_rng_seed(sim_rng *r, uint64_t seed, uint64_t machine, uint64_t stream)
{
    uint64_t x = seed;
    x = sim_splitmix64(&x) ^ (machine * UINT64_C(0xD1B54A32D192ED03));
    x = sim_splitmix64(&x) ^ (stream * UINT64_C(0x8CB92BA72F3D8DD7));
    for (int i = 0; i < 4; i++)
        r->s[i] = sim_splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0;
}

static inline uint64_t sim_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t sim_rng_u64(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = sim_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sim_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static inline double sim_rng_unit(sim_rng *r)
{
    return (double)(sim_rng_u64(r) >> 11) * 0x1.0p-53;
}

static inline double sim_rng_range(sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sim_rng_unit(r);
}

/* Natural logarithm of x > 0 in IEEE arithmetic only: x = m 2^e with m in
 * [sqrt(1/2), sqrt(2)), ln m = 2 atanh((m-1)/(m+1)) by its series. */
static inline double sim_det_log(double x)
{
    int e;
    double m = frexp(x, &e); /* exact */
    if (m < 0.70710678118654752) {
        m *= 2;
        e--;
    }
    double z = (m - 1) / (m + 1), z2 = z * z, term = z, sum = 0;
    for (int k = 1; k <= 23; k += 2) {
        sum += term / k;
        term *= z2;
    }
    return e * 0.69314718055994530942 + 2 * sum;
}

static inline double sim_rng_gauss(sim_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2 * sim_rng_unit(r) - 1;
        v = 2 * sim_rng_unit(r) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    double f = sqrt(-2 * sim_det_log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

/* Exponential with the given mean. */
static inline double sim_rng_exp(sim_rng *r, double mean)
{
    return -mean * sim_det_log(1 - sim_rng_unit(r));
}

static inline int64_t sim_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- the plan of a machine ---------------------------------------------- */

typedef enum {
    SIM_RAMP = 0, /* grows linearly to amp at the end (the hard fleet) */
    SIM_STEP      /* amp all along (the realistic fleet) */
} sim_episode_shape;

/* A drift of one signal over hours [start_h, end_h), amp in units of the
 * profile's unit_sd. */
typedef struct {
    int64_t start_h, end_h;
    int signal;
    double amp;
    sim_episode_shape shape;
} sim_episode;

typedef struct {
    pdm_event info;
    pdm_event *events; /* history, then in range; by ts, rank, name */
    size_t n_events, cap_events, first_in_range, cursor;
    sim_episode *eps; /* by start_h */
    size_t n_eps, cap_eps, ep_lo;
    sim_rng noise;
    int64_t join_h, leave_h; /* in the fleet over hours [join_h, leave_h) */
    unsigned shift_mask;     /* bit i: p->shifts[i] applies to it */
} sim_machine;

/* How telemetry is drawn: mean + noise_sd * N(0,1), plus drifts of amp *
 * unit_sd. */
typedef struct {
    double mean[SIM_N_SIGNALS];
    double noise_sd[SIM_N_SIGNALS];
    double unit_sd[SIM_N_SIGNALS];
} sim_profile;

int sim_push_event(sim_machine *m, const pdm_event *ev);
int sim_push_episode(sim_machine *m, int64_t start_h, int64_t end_h, int signal, double amp,
                     sim_episode_shape shape);
pdm_event sim_make_event(pdm_event_type type, int32_t machine, int64_t ts, int name);
/* Orders a planned machine's events and drifts, drops same-hour repeats
 * (the loader would count them as duplicates) and finds its first event at
 * or after start_ms. */
void sim_finish_machine(sim_machine *m, int64_t start_ms);

/* The planners: fill machine idx (0-based) of p's fleet (info, events,
 * drifts) and seed its noise stream. Return 0, or -1 when out of memory. */
int sim_plan_hard(const pdm_sim_params *p, sim_machine *m, int idx);
int sim_plan_realistic(const pdm_sim_params *p, sim_machine *m, int idx);
/* Their telemetry profiles. */
void sim_profile_hard(sim_profile *out);
void sim_profile_realistic(sim_profile *out);

/* ---- regime changes (sim_regime.c) -------------------------------------- */

/* Checks p's shifts and churn; 0, or -1 with errstr. */
int sim_regime_check(const pdm_sim_params *p, char *errstr, size_t errlen);
/* Bit i set when p->shifts[i] applies to machine id. */
unsigned sim_shift_mask(const pdm_sim_params *p, int32_t id);
/* Machine id's hours in the fleet, [*join_h, *leave_h), under p->churn. */
void sim_churn_interval(const pdm_sim_params *p, int32_t id, int64_t *join_h, int64_t *leave_h);
/* Drops the planned events of a machine outside its hours: everything from
 * leave_h on, and all but maintenance before join_h (the parts it came
 * with). */
void sim_churn_filter(sim_machine *m, int64_t start_ms, int64_t join_h, int64_t leave_h);

#endif
