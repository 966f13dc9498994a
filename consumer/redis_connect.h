/* redis_connect.h (internal to consumer/): one Redis node's connection,
 * made the same way for a single node (redis_conn.c) and for every node of
 * a cluster (redis_cluster.c): connect with a timeout that is also the I/O
 * timeout, TCP keepalive on, then AUTH when a password is set. */
#ifndef PDM_REDIS_CONNECT_H
#define PDM_REDIS_CONNECT_H

#include <hiredis/hiredis.h>
#include <stddef.h>

/* Connects to host:port and authenticates: AUTH user password (an ACL
 * user) or AUTH password (user NULL or ""); password NULL: no AUTH. desc
 * names the node in messages ("redis <desc>: ..."; the password never
 * appears). Returns the connection, or NULL with errstr. */
redisContext *pdm_redis_open(const char *host, int port, const char *desc, double timeout_s,
                             const char *user, const char *password, char *errstr, size_t errlen);

#endif
