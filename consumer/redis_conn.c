/* redis_conn.c: the connection behind pdm_redis. Parses the redis:// URL
 * (credentials never appear in a message: redacted, and "host:port/db" for
 * logs), connects with a timeout, authenticates and selects the database.
 * pdm_redis_open (redis_connect.h), the connect and AUTH, is also how the
 * cluster client reaches each of its nodes.
 * The connection is dropped on any I/O error and made again by the next call
 * that needs it; the state I/O over it is in redis_state.c. */
#include "redis_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_common.h"
#include "redis_connect.h"

/* The URL for messages: any user:password@ part replaced by "***@". The
 * last '@' of the whole URL ends it, not the last before the first '/': a
 * password may hold an unencoded '/' (which is why such a URL fails to
 * parse), and hiding too much of a bad URL costs nothing. */
static const char *redacted(const char *url, char *buf, size_t len)
{
    const char *scheme = strstr(url, "://");
    const char *from = scheme ? scheme + 3 : url;
    const char *at = strrchr(from, '@');
    if (!at)
        snprintf(buf, len, "%s", url);
    else
        snprintf(buf, len, "%.*s***%s", (int)(from - url), url, at);
    return buf;
}

static int parse_url(pdm_redis *r, const char *url, char *errstr, size_t errlen)
{
    const char *p = url;
    char shown[512];
    if (strncmp(p, "redis://", 8) != 0)
        return pdm_err(errstr, errlen,
                       "redis URL must start with redis:// (or redis+cluster://): '%s'",
                       redacted(url, shown, sizeof shown));
    p += 8;
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            snprintf(r->user, sizeof r->user, "%.*s", (int)(colon - p), p);
            if (!r->password && at > colon + 1)
                r->password = strndup(colon + 1, (size_t)(at - colon - 1));
        } else if (!r->password && at > p) {
            r->password = strndup(p, (size_t)(at - p));
        }
        p = at + 1;
    }
    const char *host_end;
    const char *port_sep;
    if (*p == '[') { /* [::1]:6379 */
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            return pdm_err(errstr, errlen, "redis URL: unclosed '[' in host");
        snprintf(r->host, sizeof r->host, "%.*s", (int)(close - p - 1), p + 1);
        host_end = close + 1;
        port_sep = host_end < end && *host_end == ':' ? host_end : NULL;
    } else {
        port_sep = memchr(p, ':', (size_t)(end - p));
        host_end = port_sep ? port_sep : end;
        snprintf(r->host, sizeof r->host, "%.*s", (int)(host_end - p), p);
    }
    if (!r->host[0])
        snprintf(r->host, sizeof r->host, "127.0.0.1");
    r->port = 6379;
    if (port_sep) {
        char *e;
        long port = strtol(port_sep + 1, &e, 10);
        if (e != end || port <= 0 || port > 65535)
            return pdm_err(errstr, errlen, "redis URL: bad port in '%s'",
                           redacted(url, shown, sizeof shown));
        r->port = (int)port;
    }
    if (slash && slash[1]) {
        char *e;
        long db = strtol(slash + 1, &e, 10);
        if (*e || db < 0 || db > 100000)
            return pdm_err(errstr, errlen, "redis URL: bad database number in '%s'",
                           redacted(url, shown, sizeof shown));
        r->db = (int)db;
    }
    return 0;
}

pdm_redis *pdm_redis_new(const char *url, const char *password, double timeout_s, char *errstr,
                         size_t errlen)
{
    pdm_redis *r = calloc(1, sizeof *r);
    if (!r) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    if (strncmp(url, "redis+cluster://", 16) == 0) {
        r->cluster = pdm_cluster_new(url, password, timeout_s, errstr, errlen);
        if (!r->cluster) {
            free(r);
            return NULL;
        }
        snprintf(r->desc, sizeof r->desc, "%s", pdm_cluster_describe(r->cluster));
        return r;
    }
    if (password && *password)
        r->password = strdup(password);
    if (parse_url(r, url, errstr, errlen)) {
        pdm_redis_destroy(r);
        return NULL;
    }
    r->timeout_s = timeout_s > 0 ? timeout_s : 5.0;
    snprintf(r->desc, sizeof r->desc, "%s:%d/%d", r->host, r->port, r->db);
    return r;
}

void pdm_redis_drop(pdm_redis *r)
{
    if (r->cluster)
        pdm_cluster_drop(r->cluster);
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
    r->watching = 0;
}

void pdm_redis_destroy(pdm_redis *r)
{
    if (!r)
        return;
    pdm_redis_drop(r);
    pdm_cluster_destroy(r->cluster);
    pdm_secret_free(r->password);
    free(r);
}

const char *pdm_redis_describe(const pdm_redis *r)
{
    return r->desc;
}

int pdm_redis_connected(const pdm_redis *r)
{
    return r->cluster ? pdm_cluster_connected(r->cluster) : r->c != NULL;
}

/* Runs one command and checks for an error reply; consumes the reply. */
static int simple(pdm_redis *r, int argc, const char **argv, char *errstr, size_t errlen)
{
    redisReply *reply = redisCommandArgv(r->c, argc, argv, NULL);
    if (!reply) {
        pdm_err(errstr, errlen, "redis %s: %s", r->desc, r->c->errstr);
        pdm_redis_drop(r);
        return -1;
    }
    int rc = 0;
    if (reply->type == REDIS_REPLY_ERROR)
        rc = pdm_err(errstr, errlen, "redis %s: %s: %s", r->desc, argv[0], reply->str);
    freeReplyObject(reply);
    return rc;
}

redisContext *pdm_redis_open(const char *host, int port, const char *desc, double timeout_s,
                             const char *user, const char *password, char *errstr, size_t errlen)
{
    struct timeval tv = {(time_t)timeout_s,
                         (suseconds_t)((timeout_s - (double)(time_t)timeout_s) * 1e6)};
    redisReply *reply = NULL;
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c) {
        pdm_err(errstr, errlen, "redis %s: out of memory", desc);
        return NULL;
    }
    if (c->err) {
        pdm_err(errstr, errlen, "redis %s: %s", desc, c->errstr);
        goto fail;
    }
    redisSetTimeout(c, tv);
    redisEnableKeepAlive(c);
    if (password) {
        int acl_user = user && user[0];
        const char *argv[3] = {"AUTH", acl_user ? user : password, password};
        reply = redisCommandArgv(c, acl_user ? 3 : 2, argv, NULL);
        if (!reply || reply->type == REDIS_REPLY_ERROR) { /* never the password in a message */
            pdm_err(errstr, errlen, "redis %s: AUTH failed: %s", desc,
                    reply ? reply->str : c->errstr);
            goto fail;
        }
        freeReplyObject(reply);
    }
    return c;
fail:
    if (reply)
        freeReplyObject(reply);
    redisFree(c);
    return NULL;
}

int pdm_redis_connect(pdm_redis *r, char *errstr, size_t errlen)
{
    if (r->cluster)
        return pdm_cluster_connect(r->cluster, errstr, errlen);
    pdm_redis_drop(r);
    r->c = pdm_redis_open(r->host, r->port, r->desc, r->timeout_s, r->user, r->password, errstr,
                          errlen);
    if (!r->c)
        return -1;
    if (r->db) {
        char db[16];
        snprintf(db, sizeof db, "%d", r->db);
        const char *argv[2] = {"SELECT", db};
        if (simple(r, 2, argv, errstr, errlen)) {
            pdm_redis_drop(r);
            return -1;
        }
    }
    return 0;
}

int pdm_redis_ping(pdm_redis *r, char *errstr, size_t errlen)
{
    if (r->cluster)
        return pdm_cluster_ping(r->cluster, errstr, errlen);
    if (!r->c && pdm_redis_connect(r, errstr, errlen))
        return -1;
    const char *argv[1] = {"PING"};
    return simple(r, 1, argv, errstr, errlen);
}
