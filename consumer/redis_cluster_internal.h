/* redis_cluster_internal.h: what the two files of the cluster client share
 * (redis_cluster.c: seeds, nodes, the slot map; redis_cluster_pipe.c: the
 * pipeline, redirects, WAIT, the epoch). Internal to consumer/. */
#ifndef PDM_REDIS_CLUSTER_INTERNAL_H
#define PDM_REDIS_CLUSTER_INTERNAL_H

#include "pdm_common.h"
#include "redis_cluster.h"
#include "redis_slot.h"

#define MAX_SEEDS 16

typedef struct {
    char host[256];
    int port;
    redisContext *c; /* NULL while disconnected */
    int replicas;    /* as the slot map lists them (failed ones are not) */
    int touched;     /* got writes since its last WAIT (a write pipeline) */
    int wait_sent;   /* a WAIT's reply is to be read */
    int unconfirmed; /* its last WAIT saw no replica take the writes */
} cl_node;

typedef struct {
    size_t off, len; /* the command in RESP, in the batch's arena */
    int slot;
    int node;     /* where it was sent */
    int ask_node; /* -1, or the node an ASK named: send ASKING first */
    int sent;     /* its reply is to be read */
    int asked;    /* an ASKING reply comes before it */
    int done;     /* its reply is in (and maybe taken already) */
    redisReply *reply;
} cl_cmd;

struct pdm_cluster {
    cl_node seeds[MAX_SEEDS];
    int n_seeds;
    cl_node *nodes;
    int n_nodes, cap_nodes;
    short owner[PDM_REDIS_SLOTS]; /* node index per slot, -1 none */
    int have_map;
    char user[128];
    char *password;
    double timeout_s;
    char desc[300];
    cl_cmd *cmds;
    size_t n_cmds, cap_cmds, next_reply;
    int open;   /* a pipeline is being queued */
    int writes; /* the pipeline writes: confirmed on a replica (WAIT) */
    pdm_buf arena;
    char (*tags)[PDM_REDIS_TAG_SIZE]; /* per slot, made at the first epoch check */
    int epoch_adopted;                /* an epoch check succeeded once */
};

/* Connects and authenticates n if it is not connected. */
int cl_node_connect(pdm_cluster *cl, cl_node *n, char *errstr, size_t errlen);
/* The index of the node host:port, added if new; -1 out of memory. */
int cl_node_index(pdm_cluster *cl, const char *host, int port);
/* The slot map from the first node that gives one: connected nodes, other
 * known nodes, then seeds. */
int cl_map_refresh(pdm_cluster *cl, char *errstr, size_t errlen);
/* Frees the replies and empties the command queue. */
void cl_pipeline_clear(pdm_cluster *cl);

#endif
