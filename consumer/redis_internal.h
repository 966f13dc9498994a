/* redis_internal.h: the pdm_redis struct, shared by the files of the Redis
 * state library only (redis_conn.c connects and drops, redis_state.c
 * pipelines the state's reads and writes over the connection). */
#ifndef PDM_REDIS_INTERNAL_H
#define PDM_REDIS_INTERNAL_H

#include <hiredis/hiredis.h>

#include "redis_cluster.h"
#include "redis_state.h"

struct pdm_redis {
    char host[256];
    int port;
    int db;
    char user[128];
    char *password;
    double timeout_s;
    redisContext *c; /* NULL while disconnected */
    char desc[300];  /* "host:port/db", for messages */
    /* The epoch fence (redis_state.c): the pdm:epoch value this client's
     * state belongs to ("" until pdm_rs_epoch_check: loads and writes are
     * then not fenced; always "" on a cluster), and whether the connection
     * WATCHes pdm:epoch since a load that found it so (cleared when the
     * connection drops and when a write's EXEC is sent). */
    char epoch[64];
    int watching;
    pdm_cluster *cluster; /* a redis+cluster:// URL: the cluster (c unused) */
};

/* Closes the connection (r->c becomes NULL); the next call reconnects. Done
 * on every I/O error: replies may be missing, so the pipeline is out of step. */
void pdm_redis_drop(pdm_redis *r);

/* A pipeline on one node or a cluster alike (redis_state.c): queue commands
 * (pdm_redis_append, whose key is argv[1]; 0 or -1 out of memory), send
 * them (pdm_redis_flush: a cluster sends to every node and reads the replies
 * back, following redirects; one node sends with the first read), then read
 * the replies in order (pdm_redis_next_reply; -1 with errstr on an I/O
 * error, the connection dropped). Connect first (pdm_redis_connected). */
int pdm_redis_append(pdm_redis *r, int argc, const char **argv, const size_t *lens);
int pdm_redis_flush(pdm_redis *r, char *errstr, size_t errlen);
int pdm_redis_next_reply(pdm_redis *r, redisReply **reply, char *errstr, size_t errlen);

/* ---- member encoding and keys (redis_state.c; redis_batch.c writes them) ---- */
#define TEL_MEMBER 40 /* a reading: its ts (8 bytes, big-endian) and 4 doubles */
#define MARK_MEMBER 9 /* an error or maintenance mark: its ts and its id */
/* "pdm:{<machine>}:<kind>" (NUL-terminated; cut short like snprintf); its
 * length. Not snprintf: two or three per event. */
int rs_key(char *buf, size_t cap, int32_t machine, const char *kind);

/* ---- the epoch fence (redis_epoch.c) ---- */
/* Reads n replies: all, or none (an I/O error: the connection dropped, -1
 * with errstr). */
int rs_read_replies(pdm_redis *r, redisReply **rep, int n, char *errstr, size_t errlen);
/* Appends UNWATCH, WATCH pdm:epoch, GET pdm:epoch; non-zero out of memory. */
int rs_append_watch(pdm_redis *r);
/* Reads their replies: 0 (r->watching: the epoch is the adopted one),
 * PDM_RS_EPOCH_CHANGED, or -1 with errstr. */
int rs_watch_replies(pdm_redis *r, char *errstr, size_t errlen);
/* Before a fenced write: 0 when the connection watches the epoch since it
 * was confirmed (else one round trip of the three commands first),
 * PDM_RS_EPOCH_CHANGED, or -1 with errstr. */
int rs_ensure_watch(pdm_redis *r, char *errstr, size_t errlen);

#endif
