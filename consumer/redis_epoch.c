/* redis_epoch.c: the epoch fence against a FLUSHALL, used by the loads
 * and the write batches of redis_state.c (contract in redis_state.h,
 * pdm_rs_epoch_check).
 *
 * pdm:epoch holds a value written once (SET NX); a FLUSHALL (or a new empty
 * server) removes it, and the next check writes a new one. A client that has
 * adopted a value (pdm_rs_epoch_check) fences its state with it: every load
 * starts with WATCH pdm:epoch and GET pdm:epoch, and the batch written after
 * it goes in MULTI ... EXEC. A FLUSHALL after the WATCH (it touches every
 * watched key that existed) or a changed value makes EXEC write nothing, so
 * a batch computed from state loaded before a flush never writes after it.
 * Cost: five commands per batch (UNWATCH, WATCH, GET; MULTI, EXEC) in the
 * same two round trips, whatever the batch's size. */

#include "redis_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pdm_common.h"

#define EPOCH_KEY "pdm:epoch"

/* Reads n replies (all, or none: on an I/O error the connection is dropped
 * and -1 returned with errstr). */
int rs_read_replies(pdm_redis *r, redisReply **rep, int n, char *errstr, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        if (redisGetReply(r->c, (void **)&rep[i]) != REDIS_OK) {
            pdm_err(errstr, errlen, "redis %s: %s", r->desc, r->c->errstr);
            for (int k = 0; k < i; k++)
                freeReplyObject(rep[k]);
            pdm_redis_drop(r);
            return -1;
        }
    }
    return 0;
}

/* Is a GET pdm:epoch reply the epoch this client adopted? */
static int epoch_is(const pdm_redis *r, const redisReply *get)
{
    return get->type == REDIS_REPLY_STRING && strlen(r->epoch) == get->len &&
           memcmp(r->epoch, get->str, get->len) == 0;
}

int pdm_rs_epoch_check(pdm_redis *r, char *errstr, size_t errlen)
{
    if (!r->c && pdm_redis_connect(r, errstr, errlen))
        return -1;
    /* A value no other writer picks: the time in ns and the process. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char token[sizeof r->epoch];
    snprintf(token, sizeof token, "%lld.%09ld-%ld", (long long)now.tv_sec, (long)now.tv_nsec,
             (long)getpid());
    const char *set[4] = {"SET", EPOCH_KEY, token, "NX"};
    const char *get[2] = {"GET", EPOCH_KEY};
    if (redisAppendCommandArgv(r->c, 4, set, NULL) || redisAppendCommandArgv(r->c, 2, get, NULL)) {
        pdm_redis_drop(r);
        return pdm_err(errstr, errlen, "redis %s: out of memory", r->desc);
    }
    redisReply *rep[2];
    if (rs_read_replies(r, rep, 2, errstr, errlen))
        return -1;
    int rc;
    if (rep[0]->type == REDIS_REPLY_ERROR || rep[1]->type == REDIS_REPLY_ERROR)
        rc = pdm_err(errstr, errlen, "redis %s: %s: %s", r->desc, EPOCH_KEY,
                     (rep[0]->type == REDIS_REPLY_ERROR ? rep[0] : rep[1])->str);
    else if (rep[1]->type != REDIS_REPLY_STRING || rep[1]->len >= sizeof r->epoch)
        rc = pdm_err(errstr, errlen, "redis %s: %s: unexpected value (flushed meanwhile?)", r->desc,
                     EPOCH_KEY);
    else {
        rc = r->epoch[0] && !epoch_is(r, rep[1]);
        memcpy(r->epoch, rep[1]->str, rep[1]->len);
        r->epoch[rep[1]->len] = '\0';
    }
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    return rc;
}

/* Appends UNWATCH, WATCH pdm:epoch, GET pdm:epoch (a fresh watch: UNWATCH
 * also forgets a flush seen by a watch no EXEC ended). */
int rs_append_watch(pdm_redis *r)
{
    const char *unwatch[1] = {"UNWATCH"};
    const char *watch[2] = {"WATCH", EPOCH_KEY};
    const char *get[2] = {"GET", EPOCH_KEY};
    return redisAppendCommandArgv(r->c, 1, unwatch, NULL) ||
           redisAppendCommandArgv(r->c, 2, watch, NULL) ||
           redisAppendCommandArgv(r->c, 2, get, NULL);
}

/* Reads append_watch's replies: 0 (watching, the epoch is ours),
 * PDM_RS_EPOCH_CHANGED, or -1 with errstr. */
int rs_watch_replies(pdm_redis *r, char *errstr, size_t errlen)
{
    redisReply *rep[3];
    if (rs_read_replies(r, rep, 3, errstr, errlen))
        return -1;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        if (rep[i]->type == REDIS_REPLY_ERROR)
            rc = pdm_err(errstr, errlen, "redis %s: %s", r->desc, rep[i]->str);
    if (rc == 0 && !epoch_is(r, rep[2]))
        rc = PDM_RS_EPOCH_CHANGED;
    r->watching = rc == 0;
    for (int i = 0; i < 3; i++)
        freeReplyObject(rep[i]);
    return rc;
}

/* A fenced client's write goes only on a connection that WATCHes the epoch
 * since it was confirmed: the load's, or (a new connection, a retry) one
 * more round trip here. 0, PDM_RS_EPOCH_CHANGED, or -1 with errstr. */
int rs_ensure_watch(pdm_redis *r, char *errstr, size_t errlen)
{
    if (r->watching)
        return 0;
    if (rs_append_watch(r)) {
        pdm_redis_drop(r);
        return pdm_err(errstr, errlen, "redis %s: out of memory", r->desc);
    }
    return rs_watch_replies(r, errstr, errlen);
}
