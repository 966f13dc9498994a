/* redis_slot.h (internal to consumer/): the pure rules of the Redis Cluster
 * protocol (cluster specification, "Redis Cluster client" section): a key's
 * hash slot, the redirect errors, a key name in any wanted slot, and a
 * script's SHA-1 name. No I/O,
 * so that unit tests reach every rule. */
#ifndef PDM_REDIS_SLOT_H
#define PDM_REDIS_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define PDM_REDIS_SLOTS 16384

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), the cluster's hash. */
uint16_t pdm_redis_crc16(const void *data, size_t len);

/* The slot of a key: CRC16 of the hash tag (what is between the first '{'
 * and the first '}' after it, when that is not empty), else of the whole
 * key, modulo 16384. */
int pdm_redis_key_slot(const void *key, size_t len);

/* An error reply that sends the command elsewhere or asks to wait. */
typedef enum {
    PDM_REDIS_REPLY_OTHER = 0, /* not a redirect: the command's own error */
    PDM_REDIS_MOVED,           /* the slot lives on host:port now (refresh the map) */
    PDM_REDIS_ASK,             /* this once, ASKING then the command at host:port */
    PDM_REDIS_TRYAGAIN,        /* slot being migrated: the same node, later */
    PDM_REDIS_CLUSTERDOWN      /* the cluster cannot serve: later */
} pdm_redis_redirect_kind;

typedef struct {
    pdm_redis_redirect_kind kind;
    int slot;       /* MOVED, ASK */
    char host[256]; /* MOVED, ASK ("" when the reply names no host: the node
                     * that answered, per Redis 7's cluster-preferred-endpoint-type) */
    int port;
} pdm_redis_redirect;

/* Parses an error reply's text ("MOVED 3999 127.0.0.1:6381", "ASK 3999
 * [::1]:6381", "TRYAGAIN ...", "CLUSTERDOWN ..."). A malformed MOVED or ASK
 * is PDM_REDIS_REPLY_OTHER: a command error, not a route. */
pdm_redis_redirect_kind pdm_redis_parse_redirect(const char *err, size_t len,
                                                 pdm_redis_redirect *out);

/* For every slot s, tags[s] = the smallest decimal number whose text
 * hashes to s (so a key "...{tags[s]}..." lives in slot s). One pass of
 * about 110,000 hashes (the last slot is reached at 109,757). */
#define PDM_REDIS_TAG_SIZE 8
void pdm_redis_slot_tags(char (*tags)[PDM_REDIS_TAG_SIZE]);

/* SHA-1 of data in lowercase hex (40 digits and a NUL): the name Redis
 * gives a script (EVALSHA), so that a client can call one it has sent once
 * without asking for its name. */
void pdm_redis_sha1_hex(const void *data, size_t len, char out[41]);

#endif
