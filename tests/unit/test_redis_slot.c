/* Unit tests of the Redis Cluster rules (consumer/redis_slot.c): CRC16 and
 * key slots against the cluster specification's vectors and the slots a
 * real redis-server 7.0 gives (CLUSTER KEYSLOT), the hash-tag rules, redirect
 * parsing (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, and malformed ones), the
 * epoch's per-slot tags, a script's SHA-1 name (FIPS 180 vectors and the
 * padding's edges), and redis+cluster:// URLs (no server needed: the client
 * connects only when first used). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_slot.h"
#include "redis_state.h"

static int slot_of(const char *key)
{
    return pdm_redis_key_slot(key, strlen(key));
}

static void test_crc16_vector(void **state)
{
    (void)state;
    assert_int_equal(pdm_redis_crc16("123456789", 9), 0x31C3); /* the spec's check value */
    assert_int_equal(pdm_redis_crc16("", 0), 0);
    assert_int_equal(slot_of("123456789"), 0x31C3 % 16384);
}

/* Slots as redis-server 7.0's CLUSTER KEYSLOT answers them. */
static void test_slots_match_redis(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        int slot;
    } known[] = {
        {"123456789", 12739},
        {"{user1000}.following", 3443},
        {"{user1000}.followers", 3443},
        {"user1000", 3443},
        {"foo{}{bar}", 8363},
        {"foo{{bar}}zap", 4015},
        {"foo{bar}{zap}", 5061},
        {"pdm:{42}:tel", 8000},
        {"pdm:{42}:meta", 8000},
        {"a{", 14311},
        {"{}", 15257},
        {"}{x}", 16287},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (slot_of(known[i].key) != known[i].slot)
            fail_msg("slot of '%s': %d, redis says %d", known[i].key, slot_of(known[i].key),
                     known[i].slot);
    }
}

/* The spec's hash-tag rules, as relations between keys. */
static void test_hash_tags(void **state)
{
    (void)state;
    /* the tag alone is hashed */
    assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
    assert_int_equal(slot_of("{user1000}.followers"), slot_of("{user1000}.following"));
    /* an empty tag: the whole key */
    assert_int_equal(slot_of("foo{}{bar}"), pdm_redis_crc16("foo{}{bar}", 10) % 16384);
    assert_int_not_equal(slot_of("foo{}{bar}"), slot_of("bar"));
    /* from the first '{' to the first '}' after it */
    assert_int_equal(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    assert_int_equal(slot_of("foo{{bar}}zap"), pdm_redis_crc16("{bar", 4) % 16384);
    assert_int_equal(slot_of("foo{bar}{zap}"), slot_of("bar"));
    /* no '}' after the '{': the whole key */
    assert_int_equal(slot_of("foo{bar"), pdm_redis_crc16("foo{bar", 7) % 16384);
    /* every key of one machine in one slot */
    assert_int_equal(slot_of("pdm:{42}:tel"), slot_of("pdm:{42}:maint"));
    assert_int_equal(slot_of("pdm:{42}:err"), slot_of("42"));
    /* binary keys: the length counts, not a NUL */
    assert_int_equal(pdm_redis_key_slot("a\0b", 3), pdm_redis_crc16("a\0b", 3) % 16384);
    assert_int_not_equal(pdm_redis_key_slot("a\0b", 3), slot_of("a"));
}

static pdm_redis_redirect_kind parse(const char *s, pdm_redis_redirect *r)
{
    return pdm_redis_parse_redirect(s, strlen(s), r);
}

static void test_redirects(void **state)
{
    (void)state;
    pdm_redis_redirect r;
    assert_int_equal(parse("MOVED 3999 127.0.0.1:6381", &r), PDM_REDIS_MOVED);
    assert_int_equal(r.kind, PDM_REDIS_MOVED);
    assert_int_equal(r.slot, 3999);
    assert_string_equal(r.host, "127.0.0.1");
    assert_int_equal(r.port, 6381);
    assert_int_equal(parse("ASK 16383 [::1]:7002", &r), PDM_REDIS_ASK);
    assert_int_equal(r.slot, 16383);
    assert_string_equal(r.host, "::1");
    assert_int_equal(r.port, 7002);
    /* Redis 7 with an unknown endpoint: ":port", the node that answered */
    assert_int_equal(parse("MOVED 0 :7005", &r), PDM_REDIS_MOVED);
    assert_string_equal(r.host, "");
    assert_int_equal(r.port, 7005);
    assert_int_equal(parse("MOVED 12 redis-2.example.net:6379", &r), PDM_REDIS_MOVED);
    assert_string_equal(r.host, "redis-2.example.net");
    assert_int_equal(parse("TRYAGAIN Multiple keys request during rehashing of slot", &r),
                     PDM_REDIS_TRYAGAIN);
    assert_int_equal(parse("CLUSTERDOWN The cluster is down", &r), PDM_REDIS_CLUSTERDOWN);
    assert_int_equal(parse("CLUSTERDOWN", &r), PDM_REDIS_CLUSTERDOWN);
    /* the command's own errors, and malformed redirects, are no route */
    static const char *const other[] = {
        "WRONGTYPE Operation against a key holding the wrong kind of value",
        "ERR unknown command",
        "MOVED",
        "MOVED 3999",
        "MOVED 3999 127.0.0.1",
        "MOVED 16384 127.0.0.1:6381",
        "MOVED -1 127.0.0.1:6381",
        "MOVED 12x 127.0.0.1:6381",
        "MOVED 3999 127.0.0.1:0",
        "MOVED 3999 127.0.0.1:65536",
        "MOVED 3999 127.0.0.1:63a",
        "ASKING",
        "MOVEDX 1 h:1",
        "TRYAGAINX",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        if (parse(other[i], &r) != PDM_REDIS_REPLY_OTHER)
            fail_msg("'%s' parsed as a redirect", other[i]);
        assert_int_equal(r.kind, PDM_REDIS_REPLY_OTHER);
    }
    /* the length bounds the text (a reply is not NUL-terminated for us) */
    assert_int_equal(pdm_redis_parse_redirect("MOVED 1 h:12345", 13, &r), PDM_REDIS_MOVED);
    assert_int_equal(r.port, 123);
}

static void test_slot_tags(void **state)
{
    (void)state;
    char(*tags)[PDM_REDIS_TAG_SIZE] = malloc(PDM_REDIS_SLOTS * sizeof *tags);
    assert_non_null(tags);
    pdm_redis_slot_tags(tags);
    for (int s = 0; s < PDM_REDIS_SLOTS; s++) {
        char key[32];
        snprintf(key, sizeof key, "pdm:epoch:{%s}", tags[s]);
        if (slot_of(key) != s)
            fail_msg("tag '%s' for slot %d lands in %d", tags[s], s, slot_of(key));
    }
    free(tags);
}

static void test_cluster_urls(void **state)
{
    (void)state;
    char err[256] = "";
    pdm_redis *r = pdm_redis_new("redis+cluster://pdm:s3cret@10.0.0.1:7000,[::1]:7001,node-3", NULL,
                                 1, err, sizeof err);
    assert_non_null(r);
    /* the seeds, a default port, never the credentials */
    assert_string_equal(pdm_redis_describe(r), "cluster 10.0.0.1:7000,::1:7001,node-3:6379");
    assert_false(pdm_redis_connected(r));
    pdm_redis_destroy(r);
    r = pdm_redis_new("redis+cluster://127.0.0.1:7000/0", "pw", 1, err, sizeof err);
    assert_non_null(r);
    pdm_redis_destroy(r);
    static const char *const bad[] = {
        "redis+cluster://",                  /* no seed */
        "redis+cluster://u:s3cret@",         /* no seed */
        "redis+cluster://h:0",               /* port */
        "redis+cluster://h:65536",           /* port */
        "redis+cluster://h:7000x",           /* port */
        "redis+cluster://a:1,,b:2",          /* an empty seed */
        "redis+cluster://u:s3cret@h:7000/1", /* a cluster has db 0 only */
        "redis+cluster://[::1:7000",         /* unclosed [ */
        "redis+cluster://1:1,2:2,3:3,4:4,5:5,6:6,7:7,8:8,9:9,10:10,11:11,12:12,13:13,14:14,"
        "15:15,16:16,17:17", /* more than 16 seeds */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (pdm_redis_new(bad[i], NULL, 1, err, sizeof err))
            fail_msg("'%s' accepted", bad[i]);
        assert_true(err[0] != '\0');
        if (strstr(err, "s3cret"))
            fail_msg("the password in the message: %s", err);
    }
}

/* SHA-1 against FIPS 180's examples and Python's hashlib at the lengths
 * where the padding takes one block or two (55, 56, 64 bytes). */
static void test_sha1(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t repeat; /* text is one character repeated, when non-zero */
        const char *hex;
    } known[] = {
        {"", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", 0, "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0,
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {"a", 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
        {"a", 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
        {"a", 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
        {"a", 1000, "291e9a6c66994949b57ba5e650361e98fc36b1ba"},
    };
    char buf[1000], hex[41];
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        size_t len = known[i].repeat ? known[i].repeat : strlen(known[i].text);
        if (known[i].repeat)
            memset(buf, known[i].text[0], len);
        else
            memcpy(buf, known[i].text, len);
        pdm_redis_sha1_hex(buf, len, hex);
        assert_string_equal(hex, known[i].hex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_vector), cmocka_unit_test(test_slots_match_redis),
        cmocka_unit_test(test_hash_tags),    cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_slot_tags),    cmocka_unit_test(test_cluster_urls),
        cmocka_unit_test(test_sha1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
