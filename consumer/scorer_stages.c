/* scorer_stages.c: the loop's per-stage clock (scorer_stages.h). */
#include "scorer_stages.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const names[SCORER_STAGES] = {
    "wait",    "decode", "load",   "apply",  "score", "decide",  "explain",
    "observe", "shadow", "finish", "commit", "write", "produce", "other",
};

const char *scorer_stage_name(scorer_stage s)
{
    return (unsigned)s < SCORER_STAGES ? names[s] : "?";
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void scorer_stages_start(scorer_stages *c)
{
    memset(c, 0, sizeof *c);
    c->current = SCORER_STAGE_OTHER;
    c->at_wall = clock_s(CLOCK_MONOTONIC);
    c->at_cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
}

scorer_stage scorer_stages_enter(scorer_stages *c, scorer_stage next)
{
    if (!c)
        return SCORER_STAGE_OTHER;
    double wall = clock_s(CLOCK_MONOTONIC), cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
    scorer_stage left = c->current;
    c->wall[left] += wall - c->at_wall;
    c->cpu[left] += cpu - c->at_cpu;
    c->at_wall = wall;
    c->at_cpu = cpu;
    c->current = next;
    return left;
}

int scorer_stages_format(const scorer_stages *c, char *buf, size_t len)
{
    double wall = 0, cpu = 0;
    size_t used = 0;
    int total = 0;
    for (int s = 0; s < SCORER_STAGES; s++) {
        int n = snprintf(used < len ? buf + used : NULL, used < len ? len - used : 0,
                         "%s %.3f/%.3f ", names[s], c->wall[s], c->cpu[s]);
        total += n;
        used += (size_t)n;
        wall += c->wall[s];
        cpu += c->cpu[s];
    }
    total += snprintf(used < len ? buf + used : NULL, used < len ? len - used : 0,
                      "total %.3f/%.3f (wall/cpu s)", wall, cpu);
    return total;
}
