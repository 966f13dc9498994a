/* scorer_stages.h (internal to consumer/): where the loop thread's time
 * goes. Every moment of the loop is charged to exactly one stage: the loop
 * says which stage it enters and the clock charges the wall and thread CPU
 * time since the last switch to the stage it leaves, so the stages add up to
 * the loop's whole life. Two clock reads per switch, about fifteen switches
 * a batch: nothing next to a batch of a thousand events.
 * Read by the "stages:" line the scorer logs when it stops (bench/ reads
 * it) and by pdm_loop_seconds_total / pdm_loop_cpu_seconds_total{stage}.
 */
#ifndef PDM_SCORER_STAGES_H
#define PDM_SCORER_STAGES_H

#include <stddef.h>

typedef enum {
    SCORER_STAGE_WAIT,    /* in the consume call: waiting for messages, taking them */
    SCORER_STAGE_DECODE,  /* decoding and validating the batch's messages */
    SCORER_STAGE_LOAD,    /* the state load round trip and restoring each machine */
    SCORER_STAGE_APPLY,   /* applying the events in stream order, the features */
    SCORER_STAGE_SCORE,   /* the model on the batch's rows */
    SCORER_STAGE_DECIDE,  /* levels, the emission rule or the incidents */
    SCORER_STAGE_EXPLAIN, /* TreeSHAP reasons for the rows that carry them */
    SCORER_STAGE_OBSERVE, /* metrics, drift and live performance of the rows */
    SCORER_STAGE_SHADOW,  /* the shadow model (--shadow-model) */
    SCORER_STAGE_FINISH,  /* the previous batch: waiting for its output's delivery */
    SCORER_STAGE_COMMIT,  /* ... and for its offsets' commit */
    SCORER_STAGE_WRITE,   /* the batch's Redis writes and waiting for their answer */
    SCORER_STAGE_PRODUCE, /* silence tracking, the feature dump, encoding and producing */
    SCORER_STAGE_OTHER,   /* the rest: model reloads, polls, freeing messages */
    SCORER_STAGES
} scorer_stage;

typedef struct {
    double wall[SCORER_STAGES]; /* seconds */
    double cpu[SCORER_STAGES];  /* seconds of this thread's CPU time */
    double at_wall, at_cpu;     /* the clocks at the last switch */
    scorer_stage current;
} scorer_stages;

const char *scorer_stage_name(scorer_stage s);

/* Starts the clock (all zero) in SCORER_STAGE_OTHER, on the loop's thread. */
void scorer_stages_start(scorer_stages *c);

/* Charges the time since the last switch to the current stage and makes
 * `next` current; returns the stage left, for a caller that goes back to
 * it. A NULL clock does nothing (returns SCORER_STAGE_OTHER). */
scorer_stage scorer_stages_enter(scorer_stages *c, scorer_stage next);

/* "wait 1.20/0.01 decode 0.50/0.49 ..." (wall/CPU seconds per stage, then
 * the totals) into buf; the length snprintf would write. */
int scorer_stages_format(const scorer_stages *c, char *buf, size_t len);

#endif
