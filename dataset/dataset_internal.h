/* dataset_internal.h: what the loader, the simulator and the CSV writer
 * share inside the dataset module (not part of its API).
 *
 * Numbers in the PdM files are written as printf's "%.15g" would write them.
 * The simulator keeps its values on that grid (pdm_ds_quantize), so that the
 * text it writes parses back to the very same doubles, and formats them with
 * integer arithmetic, which is several times faster than snprintf. */
#ifndef PDM_DATASET_INTERNAL_H
#define PDM_DATASET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_schemas.h"

/* Replay rank of an event type at equal timestamps: machine info 0,
 * maintenance 1, errors 2, failures 3, telemetry 4. */
int pdm_ds_type_rank(int type);

/* The double nearest to v rounded to 15 significant digits, for v in
 * [1, 1e15); other values are returned unchanged. */
double pdm_ds_quantize(double v);

/* Writes v as "%.15g" would (no NUL) and returns the length; out must hold
 * 32 bytes. Fast for values pdm_ds_quantize returned. */
size_t pdm_ds_format_num(double v, char *out);

/* Parses a decimal number of exactly len bytes. Returns 0, -1 if it is not
 * a number, -2 if it is one but not finite ("nan", "inf", overflow). */
int pdm_ds_parse_num(const char *s, size_t len, double *out);

/* ---- simulator internals, for the CSV writer (sim_csv.c) ------------- */

struct pdm_sim;
int pdm_sim_machines(const struct pdm_sim *sim);
int64_t pdm_sim_hours(const struct pdm_sim *sim);
int64_t pdm_sim_start(const struct pdm_sim *sim);
/* Machine m's (0-based) info event. */
const pdm_event *pdm_sim_machine_info(const struct pdm_sim *sim, int m);
/* Machine m's maintenance, errors and failures (history before the start
 * included), ordered by ts, then type rank, then name. */
const pdm_event *pdm_sim_machine_events(const struct pdm_sim *sim, int m, size_t *n);
/* Machine m's telemetry at hour h; each machine's hours must be asked for in
 * order 0, 1, 2, ... (its noise is one sequential stream), also the hours
 * it is not in the fleet (drawn and dropped). */
void pdm_sim_machine_telemetry(struct pdm_sim *sim, int m, int64_t h, pdm_event *out);
/* Whether machine m is in the fleet at hour h (pdm-sim --churn). */
int pdm_sim_machine_active(const struct pdm_sim *sim, int m, int64_t h);

#endif
