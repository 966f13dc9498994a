/* scorer_table.h (internal to consumer/): the machines table.
 *
 * pdm.machines (--machines-topic) is a table, not a stream: each machine's
 * latest MachineInfo. Every scorer reads all of its partitions (not a
 * share, as with the stream topics: a global table in Kafka Streams'
 * words), to its end before the scorer joins its group, and then keeps
 * reading what arrives between batches; so no telemetry is scored without
 * its machine's info only because of the order topics were consumed in.
 * The batch applies a machine's row before its events when the machine has
 * no info stored, or when the row is new to this process (read at start, or
 * changed since) and differs from what is stored (scorer_batch_apply), so
 * Redis holds it too. MachineInfo in the stream topics is still applied in
 * stream order, and stays until the table's row changes.
 *
 * Its own consumer, no group and no commits: it is read from the beginning
 * at every start (a compacted topic keeps that short). Loop thread only.
 */
#ifndef PDM_SCORER_TABLE_H
#define PDM_SCORER_TABLE_H

#include <stdatomic.h>
#include <stdint.h>

#include "pdm_schemas.h"
#include "pdm_scorer.h"

typedef struct scorer_table scorer_table;

/* A machine's row: its model and age (years). */
typedef struct {
    int32_t machine_id;
    int model, age;
    int pending; /* not yet applied by a batch since it was read or changed */
} scorer_table_row;

/* Opens the table's consumer on cfg->machines_topic; *out is NULL (and 0
 * is returned) when there is none. -1 with errstr. */
int scorer_table_open(scorer_table **out, const pdm_scorer_config *cfg, char *errstr,
                      size_t errlen);
void scorer_table_close(scorer_table *t);

/* Reads every partition to its end (the topic may not exist yet: then the
 * table is empty). Waits as long as that takes, logging every few seconds;
 * returns -1 only when stop was requested. */
int scorer_table_load(scorer_table *t, const pdm_codec *codec, const atomic_int *stop);
/* Applies what has arrived since, without waiting (and, every few seconds,
 * takes up partitions the topic gained or the topic once it exists). */
void scorer_table_poll(scorer_table *t, const pdm_codec *codec);

/* The machine's row, or NULL. t may be NULL. */
scorer_table_row *scorer_table_find(const scorer_table *t, int32_t machine_id);
/* Rows held. */
size_t scorer_table_size(const scorer_table *t);

/* ---- the rows alone (no client: the unit tests use these) ------------------ */

/* An empty table without a consumer. NULL out of memory. */
scorer_table *scorer_table_new_rows(void);
/* Sets a machine's row (the later message wins). 0, or -1 out of memory.
 * At the bound (scorer_table_set_max) a new machine's row first evicts an
 * eighth of the rows: rows a batch has applied first (their info is in
 * Redis; a machine whose keys are lost later gets its info again when its
 * row changes or at the next start, which reads the whole topic), then
 * rows not applied yet (a flood of bogus ids on the table's topic). */
int scorer_table_set(scorer_table *t, int32_t machine_id, int model, int age);
/* The bound on rows (0: none, the default of scorer_table_new_rows). */
void scorer_table_set_max(scorer_table *t, size_t max_rows);
/* Rows evicted at the bound so far; 0 for NULL. */
uint64_t scorer_table_evicted(const scorer_table *t);

#endif
