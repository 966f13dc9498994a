/* state_cache.h (internal to consumer/): the scorer's in-process copy of the
 * per-machine state it last wrote to Redis.
 *
 * Loading a batch's machines from Redis is most of a small batch's time (a
 * machine's 24 h window is about 1 KB of replies), yet in steady state the
 * scorer reads back exactly what it wrote one batch earlier. The cache keeps
 * that state, as Redis holds it after the write, for a bounded number of
 * bytes. Redis stays the source of truth: every entry carries the value of
 * the machine's `ver` counter (HINCRBY by every writer, see redis_state.h)
 * that the scorer's own write produced; a batch asks Redis for the counters
 * only (one small command per machine) and uses an entry only if its
 * counter is unchanged. Another scorer's write (a rebalance, a co-partition
 * mismatch between input topics), a FLUSHALL, a restarted empty Redis or
 * the machine's keys expiring (--state-ttl) all change or remove the
 * counter, and the machine is loaded in full.
 *
 * An entry is exact for telemetry and errors with ts > its `cover` and for
 * every maintenance record and bookkeeping field. Not thread-safe: the loop
 * thread alone uses it.
 */
#ifndef PDM_STATE_CACHE_H
#define PDM_STATE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_schemas.h"
#include "redis_state.h"

typedef struct pdm_state_cache pdm_state_cache;

/* max_bytes bounds the entries' memory (least recently used go first). */
pdm_state_cache *pdm_state_cache_new(size_t max_bytes);
void pdm_state_cache_destroy(pdm_state_cache *c);

/* 1 if the machine is cached exactly for ts > from_ts (*version set), else 0. */
int pdm_state_cache_peek(const pdm_state_cache *c, int32_t id, int64_t from_ts, int64_t *version);
/* Copies the entry into out (zeroed or cleared), telemetry and errors with
 * ts > from_ts only, as pdm_rs_load would return them; the entry becomes the
 * most recently used. Returns 1 on a copy, 0 if not cached (or not covering
 * from_ts), -1 out of memory. */
int pdm_state_cache_get(pdm_state_cache *c, int32_t id, int64_t from_ts, pdm_rs_machine *out);
/* Stores st as the machine's state, exact for ts > cover, at version: takes
 * its arrays (st is left zeroed) and drops telemetry and errors with
 * ts <= cover. Evicts least recently used entries beyond max_bytes (an entry
 * larger than that is not kept). Returns 0, or -1 out of memory (nothing
 * kept for the machine; st is cleared either way). */
int pdm_state_cache_put(pdm_state_cache *c, pdm_rs_machine *st, int64_t cover, int64_t version);
/* May the state a batch wrote for a machine be cached, given the machine as
 * the batch loaded it (loaded_exists: any of its keys was found;
 * loaded_version: its ver counter, 0 if none) and the ver counter its write
 * produced? Only if no
 * one else changed the machine in between: the counter moved by exactly one
 * (not another writer, not keys that expired or were deleted meanwhile, which
 * restart the counter at 1), and the load was not torn by an expiry (data
 * found but no meta hash: the keys read first were there, the meta hash had
 * expired, so the rest is gone from Redis too). 1 or 0. */
int pdm_state_cache_may_keep(int loaded_exists, int64_t loaded_version, int64_t written_version);
void pdm_state_cache_drop(pdm_state_cache *c, int32_t id);
void pdm_state_cache_clear(pdm_state_cache *c);
size_t pdm_state_cache_machines(const pdm_state_cache *c);
/* Entries evicted for room so far (least recently used first); 0 for NULL. */
uint64_t pdm_state_cache_evicted(const pdm_state_cache *c);
size_t pdm_state_cache_bytes(const pdm_state_cache *c);

/* The state Redis holds for a machine after a batch's writes, computed
 * without asking it: `before` as loaded for the batch (telemetry and errors
 * with ts > from, every maintenance record) with its bookkeeping fields as
 * the batch leaves them, plus the batch's accepted events of this machine
 * in stream order (a telemetry reading replaces one at the same ts; errors
 * and maintenance are sets of (ts, id)), minus the trim: telemetry and
 * errors with ts < horizon (INT64_MIN: no trim) and the maintenance records
 * in drop. Arrays come out in Redis' order (by ts, then id). *after must be
 * zeroed; returns 0 or -1 (out of memory, *after cleared). */
int pdm_state_merge(const pdm_rs_machine *before, const pdm_event *const *events, size_t n_events,
                    int64_t horizon, const pdm_rs_mark *drop, size_t n_drop,
                    pdm_rs_machine *after);

#endif
