/* redis_state.h (internal to consumer/): the scorer's per-machine state in Redis.
 *
 * Keys are hash-tagged by machine so that a Redis Cluster shards them and all
 * keys of one machine live in one slot:
 *   pdm:{42}:tel    ZSET  score ts, member = ts (8 bytes BE) + 4 doubles  telemetry
 *   pdm:{42}:err    ZSET  score ts, member = ts (8 bytes BE) + error id   errors
 *   pdm:{42}:maint  ZSET  score ts, member = ts (8 bytes BE) + component  maintenance
 *   pdm:{42}:meta   HASH  model, age, newest, base, src, level, ...       bookkeeping
 *                         (alert and base_alert: the alert state's text,
 *                         pdm_alert_state_encode, with --emit incidents)
 *                         and ver, a counter every batch write increments
 *                         (HINCRBY): the scorer's in-process copy of a
 *                         machine is valid while ver is what its own write
 *                         made it (state_cache.h)
 *   pdm:epoch       STRING written once; its loss reveals a FLUSHALL, and
 *                   loads and writes are fenced by it (pdm_rs_epoch_check);
 *                   on a Redis Cluster one key per slot, pdm:epoch:{t}, and
 *                   no fence (pdm_cluster_epoch_check in redis_cluster.h)
 *   pdm:incidents   ZSET  the machines with an open incident (--emit
 *                         incidents), member = machine id, score =
 *                         pdm_rs_incident_rank (CRITICAL first, then by
 *                         id): the fleet's open incidents for GET
 *                         /v1/alerts and pdm_incidents_open, whichever
 *                         scorer owns the machine; written in the batch's
 *                         pipeline when a machine's incident level changes
 * With a TTL, every batch that writes a machine ends its commands for that
 * machine with PEXPIREAT (pdm_rs_batch_expire), and all keys of a machine
 * always share one absolute deadline: a machine that stops reporting leaves
 * Redis on its own, its keys at the same instant. pdm_rs_expiry says which
 * keys a batch must touch to keep that so. Loads read the meta hash last, so
 * a load that finds it finds every other key too (whatever expired had
 * expired before the earlier reads); a load that finds data but no meta ran
 * across that instant (see pdm_state_cache_may_keep).
 * Every write is idempotent (set semantics keyed by ts; a telemetry point at
 * an existing ts replaces it), so re-applying any suffix of the stream leaves
 * the same state. Reads and writes are pipelined: one round trip to load the
 * state of a whole batch's machines, one to write the batch back.
 */
#ifndef PDM_REDIS_STATE_H
#define PDM_REDIS_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "pdm_schemas.h"

typedef struct pdm_redis pdm_redis;

/* url: redis://[[user]:password@]host[:port][/db], or a Redis Cluster's
 * seeds: redis+cluster://[[user]:password@]host:port[,host:port...] (then
 * every call below speaks the cluster protocol, redis_cluster.h). password
 * (may be NULL) overrides the URL's. Does not connect yet. */
pdm_redis *pdm_redis_new(const char *url, const char *password, double timeout_s, char *errstr,
                         size_t errlen);
void pdm_redis_destroy(pdm_redis *r);
/* Connects (or reconnects), authenticates and selects the database. */
int pdm_redis_connect(pdm_redis *r, char *errstr, size_t errlen);
int pdm_redis_connected(const pdm_redis *r);
/* PING; 0 when Redis answers. */
int pdm_redis_ping(pdm_redis *r, char *errstr, size_t errlen);
/* "host:port/db" without credentials, for logs. */
const char *pdm_redis_describe(const pdm_redis *r);

/* Where a machine's events came from: the last offset applied from one
 * topic partition (replay detection after a crash). Each input topic maps a
 * machine to one partition (key = machine_id), so a machine has one source
 * per input topic. */
typedef struct {
    const char *topic; /* interned (pdm_rs_topic): shared, never freed */
    int32_t partition;
    int64_t offset;
} pdm_rs_source;

#define PDM_RS_MAX_SOURCES 8

/* The one copy of a topic name that every pdm_rs_source points to, made
 * on first use and kept for the process's life: a fleet of 100,000
 * machines loads (and cached states copy) a machine's sources for most
 * events, which was a strdup and a free each. Thread-safe. NULL when out
 * of memory or past PDM_RS_MAX_TOPICS distinct names. */
#define PDM_RS_MAX_TOPICS 4096
const char *pdm_rs_topic(const char *name);

/* Room for an alert state's text and its NUL (>= PDM_ALERT_TEXT_MAX). */
#define PDM_RS_ALERT_TEXT 128

/* The stored state of one machine, as loaded for a batch. */
typedef struct {
    int64_t ts;
    double v[4]; /* volt, rotate, pressure, vibration */
} pdm_rs_telemetry;

typedef struct {
    int64_t ts;
    int id; /* error id 1..5 or component 1..4 */
} pdm_rs_mark;

typedef struct {
    int32_t machine_id;
    int exists;            /* any key of this machine was found */
    int has_info;
    int model, age;
    int64_t newest;        /* newest telemetry ts applied, INT64_MIN if none */
    int64_t base;          /* newest before the last batch that touched it */
    pdm_rs_source src[PDM_RS_MAX_SOURCES]; /* meta fields "src:TOPIC:PARTITION" */
    size_t n_src;
    int level;             /* last level emitted (changes mode), -1 if none */
    int base_level;
    int64_t notified_at;   /* event time of the last emitted notification */
    int64_t base_notified_at;
    /* The alert state (--emit incidents) as pdm_alert_state_encode's text,
     * "" if none; kept as text here so that Redis I/O knows nothing of
     * alerts, and fixed size so that copies of the struct carry it. */
    char alert[PDM_RS_ALERT_TEXT];
    char base_alert[PDM_RS_ALERT_TEXT];
    int64_t version;       /* the meta hash's ver counter, 0 if none */
    int64_t expire_at;     /* deadline its keys share (ms), 0 unknown: known only
                            * to the scorer that set it (state_cache.h), never loaded */
    pdm_rs_telemetry *tel;
    size_t n_tel;
    pdm_rs_mark *err;
    size_t n_err;
    pdm_rs_mark *maint;
    size_t n_maint;
} pdm_rs_machine;

void pdm_rs_machine_clear(pdm_rs_machine *m);
/* The stored offset of a source, or -1 if the machine has none from it. */
int64_t pdm_rs_source_offset(const pdm_rs_machine *m, const char *topic, int32_t partition);
/* Records offset as the last applied from (topic, partition). At most
 * PDM_RS_MAX_SOURCES are kept: a new source beyond that replaces the one
 * of the same topic (a repartitioned topic) or else the last one.
 * Returns 0 or -1 (out of memory). */
int pdm_rs_source_set(pdm_rs_machine *m, const char *topic, int32_t partition, int64_t offset);

/* Loads, in one pipelined round trip, the state of n machines: telemetry and
 * errors with ts > from_ts[i], every maintenance record, and the meta hash.
 * out[i] must be zeroed or cleared; it is filled (arrays malloc'ed).
 * With version_only (may be NULL) non-zero for machine i, only its ver
 * counter is read (into out[i].version; 0 if none). */
int pdm_rs_load(pdm_redis *r, const int32_t *machines, const int64_t *from_ts,
                const unsigned char *version_only, size_t n, pdm_rs_machine *out, char *errstr,
                size_t errlen);

/* A batch of writes, appended then sent in one pipelined round trip. */
typedef struct pdm_rs_batch pdm_rs_batch;

pdm_rs_batch *pdm_rs_batch_new(void);
void pdm_rs_batch_destroy(pdm_rs_batch *b);
void pdm_rs_batch_reset(pdm_rs_batch *b);
/* The commands the batch will send (flushing the readings it holds back:
 * see pdm_rs_batch_event). */
size_t pdm_rs_batch_commands(pdm_rs_batch *b);
/* Records an input event (telemetry, error, maintenance, machine info).
 * newest != 0 says a telemetry event is newer than every reading applied
 * to the machine before it (in stream order, counting from the batch's
 * replay base): then no reading at its ts can need replacing, and it costs
 * one command instead of two. */
int pdm_rs_batch_event(pdm_rs_batch *b, const pdm_event *ev, int newest);
/* Drops telemetry and errors with ts < horizon, and the maintenance members
 * listed (already superseded records older than the horizon). */
int pdm_rs_batch_trim(pdm_rs_batch *b, int32_t machine_id, int64_t horizon,
                      const pdm_rs_mark *drop_maint, size_t n_drop);
/* Writes the bookkeeping of a machine after its batch and increments its
 * ver counter; *version_slot (may be NULL) names the counter's new value
 * for pdm_rs_batch_version once the batch is executed. */
int pdm_rs_batch_meta(pdm_rs_batch *b, const pdm_rs_machine *m, size_t *version_slot);

/* A machine's keys, as bits. */
#define PDM_RS_TEL 1u
#define PDM_RS_ERR 2u
#define PDM_RS_MAINT 4u
#define PDM_RS_META 8u
#define PDM_RS_ALL_KEYS 15u
/* The key of an event type's state (PDM_RS_TEL for telemetry, ...), 0 for
 * types that are not state. */
unsigned pdm_rs_key_of(pdm_event_type t);

/* A refresh moves a machine's deadline only when it would move by more than
 * ttl / PDM_RS_TTL_SLACK: the keys expire between ttl - ttl/100 and ttl
 * after the last write. */
#define PDM_RS_TTL_SLACK 100
/* The deadline a batch sets on a machine's keys, and which keys (*keys): all
 * four at now + ttl, when known_at (the deadline they share, 0 unknown) is
 * unknown or would move by more than the slack (either way: a clock set
 * back moves it too); else known_at again on the
 * keys the batch wrote (written), since a key it created or emptied and
 * refilled has no TTL, while the others keep theirs. Either way every key of
 * the machine ends with the same deadline. ttl_ms > 0. */
int64_t pdm_rs_expiry(int64_t known_at, int64_t now_ms, int64_t ttl_ms, unsigned written,
                      unsigned *keys);
/* PEXPIREAT at_ms (Unix time in ms, the scorer's clock) on the machine's
 * keys (bits), after the machine's writes in the batch. A key that does not
 * exist is left alone. */
int pdm_rs_batch_expire(pdm_rs_batch *b, int32_t machine_id, int64_t at_ms, unsigned keys);
/* Sends every command and checks every reply (0, -1, or
 * PDM_RS_EPOCH_CHANGED: see pdm_rs_epoch_check). */
int pdm_rs_batch_exec(pdm_redis *r, pdm_rs_batch *b, char *errstr, size_t errlen);
/* The same in two halves, so that the caller works while Redis executes:
 * _send writes the commands to the socket; _wait reads and checks the
 * replies. Between them, nothing else may use the connection. On an error
 * the connection is dropped and the whole batch may be executed again. */
int pdm_rs_batch_send(pdm_redis *r, pdm_rs_batch *b, char *errstr, size_t errlen);
int pdm_rs_batch_wait(pdm_redis *r, pdm_rs_batch *b, char *errstr, size_t errlen);
/* A ver counter's value after the executed batch (slot from _meta). */
int64_t pdm_rs_batch_version(const pdm_rs_batch *b, size_t slot);

/* ---- the open-incident index (pdm:incidents) ---------------------------------- */

#define PDM_RS_INCIDENTS_KEY "pdm:incidents"

/* The index's score of a machine's open incident at level (1 WARN, 2
 * CRITICAL): CRITICAL ones rank first, each level by machine id, so that a
 * level is one score range and (rank) is a stable keyset cursor. Exact in
 * a double (< 2^33). */
int64_t pdm_rs_incident_rank(int level, int32_t machine_id);
/* The score range [*lo, *hi] of a level (1 or 2), or of both (0). */
void pdm_rs_incident_ranks(int level, int64_t *lo, int64_t *hi);
/* Records in the batch that the machine's open incident is at level (1 or
 * 2: ZADD), or that it has none (0: ZREM). Idempotent. */
int pdm_rs_batch_incident(pdm_rs_batch *b, int32_t machine_id, int level);

/* One round trip: up to cap index entries with after < rank <= hi, by rank
 * (ZRANGEBYSCORE ... WITHSCORES LIMIT). Fills ids and ranks; *n their
 * count. 0, or -1 with errstr. */
int pdm_rs_incidents_range(pdm_redis *r, int64_t after, int64_t hi, size_t cap, int32_t *ids,
                           int64_t *ranks, size_t *n, char *errstr, size_t errlen);
/* One round trip: the open incidents at each level (ZCOUNT). */
int pdm_rs_incidents_count(pdm_redis *r, uint64_t *warn, uint64_t *critical, char *errstr,
                           size_t errlen);
/* One round trip: each machine's alert state text (meta field alert; ""
 * when the machine or the field is gone). 0, or -1 with errstr. */
int pdm_rs_alert_texts(pdm_redis *r, const int32_t *ids, size_t n, char (*texts)[PDM_RS_ALERT_TEXT],
                       char *errstr, size_t errlen);

/* The epoch fence against a FLUSHALL (redis_state.c). pdm:epoch holds a
 * value written once; pdm_rs_epoch_check writes one if it is absent and
 * adopts the value it finds: 0 if it is the one adopted before (or the
 * first), 1 if it changed since (the state was lost: FLUSHALL, a new empty
 * server), -1 on error. Once a client has adopted an epoch, pdm_rs_load
 * also WATCHes pdm:epoch and answers PDM_RS_EPOCH_CHANGED (every out[]
 * filled, to be discarded) when its value is not the adopted one; a write
 * batch then goes as one MULTI ... EXEC under that watch, and _exec or
 * _wait answer PDM_RS_EPOCH_CHANGED, nothing written, when the epoch
 * changed after the load (or, on a connection opened since, before the
 * write). Check the epoch again, then load again. A client that never
 * adopted one (the HTTP API's reads) is not fenced. */
#define PDM_RS_EPOCH_CHANGED 1
int pdm_rs_epoch_check(pdm_redis *r, char *errstr, size_t errlen);

#endif
