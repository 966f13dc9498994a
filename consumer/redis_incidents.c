/* redis_incidents.c: the reads of the open-incident index (pdm:incidents,
 * see redis_state.h) and of machines' alert states, for the HTTP API. The
 * index is written by the loop in its batch pipeline (redis_state.c); these
 * reads run on the API's own connection, one round trip each. */
#include "redis_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"

/* A reply to one command, or NULL with errstr (the connection dropped on an
 * I/O error). */
static redisReply *command(pdm_redis *r, int argc, const char **argv, char *errstr, size_t errlen)
{
    if (!r->c && pdm_redis_connect(r, errstr, errlen))
        return NULL;
    redisReply *reply = redisCommandArgv(r->c, argc, argv, NULL);
    if (!reply) {
        pdm_err(errstr, errlen, "redis %s: %s", r->desc, r->c->errstr);
        pdm_redis_drop(r);
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        pdm_err(errstr, errlen, "redis %s: %s: %s", r->desc, argv[0], reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

int pdm_rs_incidents_range(pdm_redis *r, int64_t after, int64_t hi, size_t cap, int32_t *ids,
                           int64_t *ranks, size_t *n, char *errstr, size_t errlen)
{
    char lo_s[32], hi_s[32], cap_s[32];
    snprintf(lo_s, sizeof lo_s, "(%lld", (long long)after);
    snprintf(hi_s, sizeof hi_s, "%lld", (long long)hi);
    snprintf(cap_s, sizeof cap_s, "%zu", cap);
    const char *argv[] = {
        "ZRANGEBYSCORE", PDM_RS_INCIDENTS_KEY, lo_s, hi_s, "WITHSCORES", "LIMIT", "0", cap_s};
    *n = 0;
    redisReply *reply = command(r, 8, argv, errstr, errlen);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 || reply->elements / 2 > cap) {
        rc = pdm_err(errstr, errlen, "redis %s: unexpected reply to ZRANGEBYSCORE", r->desc);
        goto out;
    }
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        redisReply *member = reply->element[i], *score = reply->element[i + 1];
        if (member->type != REDIS_REPLY_STRING || score->type != REDIS_REPLY_STRING)
            continue;
        long long id = strtoll(member->str, NULL, 10);
        if (id <= 0 || id > INT32_MAX)
            continue; /* not ours: skipped, as loads skip foreign members */
        ids[*n] = (int32_t)id;
        ranks[*n] = (int64_t)strtod(score->str, NULL);
        (*n)++;
    }
out:
    freeReplyObject(reply);
    return rc;
}

int pdm_rs_incidents_count(pdm_redis *r, uint64_t *warn, uint64_t *critical, char *errstr,
                           size_t errlen)
{
    uint64_t *out[2] = {warn, critical};
    for (int level = 1; level <= 2; level++) {
        int64_t lo, hi;
        char lo_s[32], hi_s[32];
        pdm_rs_incident_ranks(level, &lo, &hi);
        snprintf(lo_s, sizeof lo_s, "%lld", (long long)lo);
        snprintf(hi_s, sizeof hi_s, "%lld", (long long)hi);
        const char *argv[] = {"ZCOUNT", PDM_RS_INCIDENTS_KEY, lo_s, hi_s};
        redisReply *reply = command(r, 4, argv, errstr, errlen);
        if (!reply)
            return -1;
        *out[level - 1] =
            reply->type == REDIS_REPLY_INTEGER && reply->integer > 0 ? (uint64_t)reply->integer : 0;
        freeReplyObject(reply);
    }
    return 0;
}

int pdm_rs_alert_texts(pdm_redis *r, const int32_t *ids, size_t n, char (*texts)[PDM_RS_ALERT_TEXT],
                       char *errstr, size_t errlen)
{
    if (n == 0)
        return 0;
    if (!r->c && pdm_redis_connect(r, errstr, errlen))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char k[64];
        snprintf(k, sizeof k, "pdm:{%d}:meta", (int)ids[i]);
        const char *argv[] = {"HGET", k, "alert"};
        if (redisAppendCommandArgv(r->c, 3, argv, NULL) != REDIS_OK) {
            pdm_err(errstr, errlen, "redis %s: out of memory", r->desc);
            pdm_redis_drop(r);
            return -1;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *reply = NULL;
        if (redisGetReply(r->c, (void **)&reply) != REDIS_OK) {
            pdm_err(errstr, errlen, "redis %s: %s", r->desc, r->c->errstr);
            pdm_redis_drop(r);
            return -1;
        }
        texts[i][0] = '\0';
        if (reply->type == REDIS_REPLY_STRING && reply->len < PDM_RS_ALERT_TEXT)
            memcpy(texts[i], reply->str, reply->len + 1);
        else if (reply->type == REDIS_REPLY_ERROR && rc == 0)
            rc = pdm_err(errstr, errlen, "redis %s: HGET: %s", r->desc, reply->str);
        freeReplyObject(reply);
    }
    return rc;
}
