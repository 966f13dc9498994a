/* scorer_output.h (internal to consumer/): what a batch sends out: its
 * RiskEvents to the risk topic (keyed by machine, event_id
 * machine-ts-model_version), its dead letters to the DLQ topic (original key
 * and payload, headers naming the reason and the source, cut to fit the
 * producer's message.max.bytes), the MachineSilence events of the silence
 * tracker's changes (risk topic, keyed by machine), and its feature rows to the
 * --dump-features file. Delivery is awaited by the loop (scorer_kafka.h).
 */
#ifndef PDM_SCORER_OUTPUT_H
#define PDM_SCORER_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "pdm_scorer.h"
#include "pdm_schemas.h"
#include "scorer_batch.h"
#include "scorer_incidents.h"
#include "scorer_kafka.h"
#include "scorer_metrics.h"
#include "scorer_silence.h"

typedef struct {
    const pdm_scorer_config *cfg;
    scorer_kafka *kafka;
    scorer_metrics *metrics;
    pdm_codec *codec;
    FILE *dump; /* NULL without --dump-features */
} scorer_output;

/* Opens the codec and the dump file (with its header). */
int scorer_output_open(scorer_output *o, const pdm_scorer_config *cfg, scorer_kafka *kafka,
                       scorer_metrics *metrics, char *errstr, size_t errlen);
void scorer_output_close(scorer_output *o);

/* Step 7: produces one MachineSilence event per change, keyed by machine
 * like RiskEvents, to the risk topic. */
void scorer_output_silence(scorer_output *o, const scorer_silence_change *changes, size_t n);

/* Step 7: produces the batch's dead letters and the RiskEvents of its
 * emitted rows, in message order, and dumps its feature rows. Returns the
 * number of RiskEvents produced. */
size_t scorer_output_batch(scorer_output *o, const scorer_batch *b);

/* Step 7: the RiskEvents of incidents resolved by silence
 * (scorer_incidents_silence). Returns the number produced. */
size_t scorer_output_silent_risks(scorer_output *o, const scorer_silent_risks *s);

#endif
