/* scorer_output.h (internal to consumer/): what a batch sends out: its
 * RiskEvents to the risk topic (keyed by machine, event_id
 * machine-ts-model_version), its dead letters to the DLQ topic (original key
 * and payload, headers naming the reason and the source, cut to fit the
 * producer's message.max.bytes), the MachineSilence events of the silence
 * tracker's changes (risk topic, keyed by machine), and its feature rows to the
 * --dump-features file. Delivery is awaited by the loop (scorer_kafka.h).
 * The dump is written a batch at a time with write(2); a failed write (a
 * full disk) cuts the file back to its last complete batch and is an error
 * that stops the scorer before the batch has any other effect.
 */
#ifndef PDM_SCORER_OUTPUT_H
#define PDM_SCORER_OUTPUT_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

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
    int dump_fd;      /* -1 without --dump-features */
    off_t dump_size;  /* bytes written: the end of the last complete batch */
    size_t dump_rows; /* rows written */
} scorer_output;

/* Opens the codec and the dump file, writing its header (an unwritable
 * file, such as /dev/full, fails here). */
int scorer_output_open(scorer_output *o, const pdm_scorer_config *cfg, scorer_kafka *kafka,
                       scorer_metrics *metrics, char *errstr, size_t errlen);
void scorer_output_close(scorer_output *o);

/* Step 7: produces one MachineSilence event per change, keyed by machine
 * like RiskEvents, to the risk topic. */
void scorer_output_silence(scorer_output *o, const scorer_silence_change *changes, size_t n);

/* Step 6, before the batch's writes: appends its feature rows to the dump
 * file. 0 (also without --dump-features), or -1 with errstr when the write
 * failed (the file then ends at the previous batch). */
int scorer_output_dump(scorer_output *o, const scorer_batch *b, char *errstr, size_t errlen);

/* Step 7: produces the batch's dead letters and the RiskEvents of its
 * emitted rows, in message order. Returns the number of RiskEvents
 * produced. */
size_t scorer_output_batch(scorer_output *o, const scorer_batch *b);

/* One RiskEvent of machine_id at ts to topic: a row's (scored != 0), or a
 * resolution that is not a score (its event_id names the resolution);
 * counted != 0: in pdm_risk_events_total (the main model's). 0, or -1
 * (encoding or producing failed: counted as a delivery failure). */
int scorer_output_risk(scorer_output *o, const char *topic, int32_t machine_id, int64_t ts,
                       int scored, const pdm_risk *risk, int counted);

/* Step 7: the RiskEvents of incidents resolved by silence
 * (scorer_incidents_silence). Returns the number produced. */
size_t scorer_output_silent_risks(scorer_output *o, const scorer_silent_risks *s);

#endif
