/* redis_cluster.h (internal to consumer/): the Redis Cluster protocol over
 * hiredis (Debian 12's libhiredis 0.14 has none), behind pdm_redis when
 * --redis is a redis+cluster:// URL. A pipeline of single-key commands is
 * queued (pdm_cluster_add), written to every node holding one of their slots
 * at once (pdm_cluster_send), then read back in the order queued
 * (pdm_cluster_wait, pdm_cluster_next_reply), MOVED, ASK, TRYAGAIN and
 * CLUSTERDOWN followed on the way. Any I/O error closes every connection:
 * the caller runs the whole pipeline again (the state's writes are
 * idempotent), and the next pipeline starts from a fresh slot map. */
#ifndef PDM_REDIS_CLUSTER_H
#define PDM_REDIS_CLUSTER_H

#include <hiredis/hiredis.h>
#include <stddef.h>

typedef struct pdm_cluster pdm_cluster;

/* url: redis+cluster://[[user]:password@]host:port[,host:port...][/0], the
 * seed nodes (any of them, the rest is learned). password (may be NULL)
 * overrides the URL's. Does not connect yet. */
pdm_cluster *pdm_cluster_new(const char *url, const char *password, double timeout_s, char *errstr,
                             size_t errlen);
void pdm_cluster_destroy(pdm_cluster *cl);
/* "cluster host:port,..." (the seeds, without credentials), for logs. */
const char *pdm_cluster_describe(const pdm_cluster *cl);
/* Reads the slot map (CLUSTER SLOTS) from a known node or a seed and
 * connects to every master, authenticating on each. */
int pdm_cluster_connect(pdm_cluster *cl, char *errstr, size_t errlen);
int pdm_cluster_connected(const pdm_cluster *cl);
/* Closes every connection; the next pipeline reconnects. */
void pdm_cluster_drop(pdm_cluster *cl);

/* Queues a command whose key is argv[1] (lens may be NULL: strlen). The
 * first add after a finished or failed pipeline starts a new one. */
int pdm_cluster_add(pdm_cluster *cl, int argc, const char **argv, const size_t *lens);
/* writes != 0: the pipeline writes; it then ends, on every master it
 * writes to that has a replica, with WAIT 1 (up to 100 ms), whose reply
 * pdm_cluster_wait reads: the writes are on a replica when it returns (a
 * master whose replica does not confirm is logged, not failed). */
int pdm_cluster_send(pdm_cluster *cl, int writes, char *errstr, size_t errlen);
/* 0, -1 with errstr, or 1: a fenced write found an epoch changed (see
 * pdm_cluster_epoch_check; no reply is then handed out). */
int pdm_cluster_wait(pdm_cluster *cl, char *errstr, size_t errlen);
/* The next reply in the order the commands were queued (the caller frees
 * it), after a pdm_cluster_wait that returned 0. */
redisReply *pdm_cluster_next_reply(pdm_cluster *cl);

/* PING on every master: 0 when all answer. */
int pdm_cluster_ping(pdm_cluster *cl, char *errstr, size_t errlen);
/* pdm_rs_epoch_check on a cluster: 0 when every master still holds its
 * epoch key (or on the first check), 1 when one did not since the last
 * check (the state was lost; every slot's key is written again), -1 on
 * error. The epoch is one key per slot, pdm:epoch:{t} with t a tag of that
 * slot, so that every master holds the keys of its slots and they move with
 * them on a reshard; each check asks one key of each master. It also reads
 * the slot map again (new or returned replicas become known). Once a check
 * succeeded, pipelines are fenced (redis_cluster_fence.c): a load also
 * reads the epoch key of each slot it reads (pdm_cluster_epoch_lost: one
 * had none), and a write runs each slot's commands only while that key
 * holds the value the load saw; pdm_cluster_wait answers 1 when a slot's
 * had changed (its commands did nothing; those of other slots ran). */
int pdm_cluster_epoch_check(pdm_cluster *cl, char *errstr, size_t errlen);
/* After a fenced load's pdm_cluster_wait: 1 when a slot it read had no
 * epoch key (its master lost its data since the last check), else 0. */
int pdm_cluster_epoch_lost(const pdm_cluster *cl);

#endif
