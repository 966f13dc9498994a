/* redis_cluster_internal.h: what the files of the cluster client share
 * (redis_cluster.c: seeds, nodes, the slot map; redis_cluster_pipe.c: the
 * pipeline, redirects, WAIT, the epoch; redis_cluster_fence.c: the epoch
 * fence of loads and writes). Internal to consumer/. */
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
    int has_script;  /* ran the fence's script on this connection: EVALSHA will do */
} cl_node;

/* What a queued command is: the caller's, or one the fence adds (after the
 * caller's, never returned by pdm_cluster_next_reply). */
typedef enum {
    CL_CMD_USER = 0,
    CL_CMD_FENCE_GET, /* a fenced load's GET pdm:epoch:{t} of a slot it reads */
    CL_CMD_FENCE_EVAL /* a fenced write: one slot's commands in one script */
} cl_cmd_kind;

typedef struct {
    size_t off, len; /* the command in RESP, in the batch's arena */
    cl_cmd_kind kind;
    size_t group, n_group; /* CL_CMD_FENCE_EVAL: its commands, cl->order[group ..] */
    int split;             /* CL_CMD_FENCE_EVAL: its slot is migrating, its commands sent alone */
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
    int epoch_adopted;                /* an epoch check succeeded once: the fence is on */
    /* The fence (redis_cluster_fence.c). */
    size_t n_user;         /* the caller's commands: cmds[0 .. n_user) */
    int fenced;            /* this pipeline is a fenced load or write */
    int in_epoch_check;    /* the epoch check's own pipelines are not fenced */
    int epoch_lost;        /* the last fenced load found a slot without its epoch key */
    char script_sha[41];   /* the fence script's SHA-1 (EVALSHA) */
    char (*fence_ref)[40]; /* per slot: its epoch key's value at its last load */
    unsigned *ref_gen;     /* per slot: the write generation fence_ref was read in */
    unsigned write_gen;    /* fenced writes so far: a load counts for the next write only */
    unsigned *slot_mark;   /* per slot: the pipeline that last saw it (distinct slots) */
    unsigned mark;
    size_t *order; /* a fenced write's commands sorted by slot */
    size_t cap_order;
    pdm_buf scratch;
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
/* Appends argv in RESP to out (what redisAppendCommandArgv makes). */
int cl_format_command(pdm_buf *out, int argc, const char **argv, const size_t *lens);
/* Appends an empty command of the given kind for slot; its index, or -1 out of memory. */
long cl_cmd_new(pdm_cluster *cl, cl_cmd_kind kind, int slot);

/* ---- the fence (redis_cluster_fence.c) ---- */
/* Before a pipeline is sent: a fenced load gets a GET of the epoch key of
 * each slot it reads; a fenced write's commands go as one script per slot
 * that runs them only while the slot's epoch key holds the value its load
 * saw. 0, or -1 out of memory. */
int cl_fence_prepare(pdm_cluster *cl, char *errstr, size_t errlen);
/* After every reply is in: the load's epoch values kept (epoch_lost when a
 * slot had none); the write's script replies handed to its commands. 0, 1
 * (a script found its slot's epoch changed and wrote nothing), -1. */
int cl_fence_finish(pdm_cluster *cl, char *errstr, size_t errlen);
/* A script answered ASK or TRYAGAIN (its slot is migrating, its keys on two
 * nodes or some missing): its commands are sent alone from the next round,
 * as without the fence. */
void cl_fence_split(pdm_cluster *cl, cl_cmd *script);
/* Appends script (queued as EVAL with the body) to a node's output as
 * EVALSHA, for a node that has run it; non-zero out of memory. */
int cl_fence_append_evalsha(const pdm_cluster *cl, redisContext *c, const cl_cmd *script);

#endif
