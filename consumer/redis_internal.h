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

#endif
