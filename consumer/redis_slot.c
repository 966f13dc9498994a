/* redis_slot.c: the cluster's key hashing and redirect parsing (see
 * redis_slot.h); pure functions. */
#include "redis_slot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint16_t pdm_redis_crc16(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

int pdm_redis_key_slot(const void *key, size_t len)
{
    const char *k = key;
    const char *open = memchr(k, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open - k) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1) {
            k = open + 1;
            len = (size_t)(close - open - 1);
        }
    }
    return pdm_redis_crc16(k, len) & (PDM_REDIS_SLOTS - 1);
}

/* "host:port" or "[v6]:port" (or ":port", an empty host) ending at end. */
static int parse_endpoint(const char *s, const char *end, pdm_redis_redirect *out)
{
    const char *colon = NULL;
    for (const char *q = s; q < end; q++)
        if (*q == ':')
            colon = q;
    if (!colon || colon + 1 >= end)
        return -1;
    const char *h = s, *h_end = colon;
    if (h < h_end && *h == '[' && h_end[-1] == ']') {
        h++;
        h_end--;
    }
    if ((size_t)(h_end - h) >= sizeof out->host)
        return -1;
    char digits[8];
    size_t nd = (size_t)(end - colon - 1);
    if (nd >= sizeof digits)
        return -1;
    memcpy(digits, colon + 1, nd);
    digits[nd] = '\0';
    char *e;
    long port = strtol(digits, &e, 10);
    if (*e || port <= 0 || port > 65535)
        return -1;
    memcpy(out->host, h, (size_t)(h_end - h));
    out->host[h_end - h] = '\0';
    out->port = (int)port;
    return 0;
}

static int starts_with_word(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len >= n && memcmp(s, word, n) == 0 && (len == n || s[n] == ' ');
}

pdm_redis_redirect_kind pdm_redis_parse_redirect(const char *err, size_t len,
                                                 pdm_redis_redirect *out)
{
    memset(out, 0, sizeof *out);
    if (starts_with_word(err, len, "TRYAGAIN"))
        return out->kind = PDM_REDIS_TRYAGAIN;
    if (starts_with_word(err, len, "CLUSTERDOWN"))
        return out->kind = PDM_REDIS_CLUSTERDOWN;
    pdm_redis_redirect_kind kind;
    const char *p;
    if (starts_with_word(err, len, "MOVED")) {
        kind = PDM_REDIS_MOVED;
        p = err + 6;
    } else if (starts_with_word(err, len, "ASK")) {
        kind = PDM_REDIS_ASK;
        p = err + 4;
    } else {
        return PDM_REDIS_REPLY_OTHER;
    }
    const char *end = err + len;
    const char *space = p < end ? memchr(p, ' ', (size_t)(end - p)) : NULL;
    if (!space || space == p || space - p > 5)
        return PDM_REDIS_REPLY_OTHER;
    int slot = 0;
    for (const char *q = p; q < space; q++) {
        if (*q < '0' || *q > '9')
            return PDM_REDIS_REPLY_OTHER;
        slot = slot * 10 + (*q - '0');
    }
    if (slot >= PDM_REDIS_SLOTS || parse_endpoint(space + 1, end, out)) {
        memset(out, 0, sizeof *out);
        return PDM_REDIS_REPLY_OTHER;
    }
    out->slot = slot;
    return out->kind = kind;
}

void pdm_redis_slot_tags(char (*tags)[PDM_REDIS_TAG_SIZE])
{
    int left = PDM_REDIS_SLOTS;
    for (int s = 0; s < PDM_REDIS_SLOTS; s++)
        tags[s][0] = '\0';
    for (long t = 0; left > 0; t++) {
        char buf[PDM_REDIS_TAG_SIZE];
        int len = snprintf(buf, sizeof buf, "%ld", t);
        int s = pdm_redis_crc16(buf, (size_t)len) % PDM_REDIS_SLOTS;
        if (!tags[s][0]) {
            memcpy(tags[s], buf, (size_t)len + 1);
            left--;
        }
    }
}

/* ---- SHA-1 (FIPS 180-4), the name Redis gives a script -------------------- */

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

/* One 64-byte block into h. */
static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
    for (int t = 16; t < 80; t++)
        w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20)
            f = (b & c) | (~b & d), k = 0x5A827999;
        else if (t < 40)
            f = b ^ c ^ d, k = 0x6ED9EBA1;
        else if (t < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
        else
            f = b ^ c ^ d, k = 0xCA62C1D6;
        uint32_t tmp = rol(a, 5) + f + e + k + w[t];
        e = d, d = c, c = rol(b, 30), b = a, a = tmp;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

void pdm_redis_sha1_hex(const void *data, size_t len, char out[41])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const unsigned char *p = data;
    size_t n = len;
    for (; n >= 64; n -= 64, p += 64)
        sha1_block(h, p);
    /* The rest, 0x80, zeros, and the length in bits (big-endian) in one or
     * two blocks. */
    unsigned char tail[128] = {0};
    memcpy(tail, p, n);
    tail[n] = 0x80;
    size_t blocks = n < 56 ? 1 : 2;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[blocks * 64 - 1 - (size_t)i] = (unsigned char)(bits >> (8 * i));
    for (size_t b = 0; b < blocks; b++)
        sha1_block(h, tail + 64 * b);
    for (int i = 0; i < 5; i++)
        snprintf(out + 8 * i, 9, "%08x", (unsigned)h[i]);
}
