/* test_redis_resp.c: the scorer's RESP formatting gives hiredis's bytes
 * (redisFormatCommandArgv) for any arguments, and refuses what does not fit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "redis_resp.h"

static void assert_like_hiredis(int argc, const char **argv, const size_t *lens)
{
    char out[4096];
    char *want = NULL;
    int wn = redisFormatCommandArgv(&want, argc, argv, lens);
    assert_true(wn > 0);
    size_t n = pdm_resp_format(argc, argv, lens, out, sizeof out);
    assert_int_equal(n, (size_t)wn);
    assert_memory_equal(out, want, n);
    /* every buffer one byte short refuses */
    for (size_t cap = 0; cap < n; cap++)
        assert_int_equal(pdm_resp_format(argc, argv, lens, out, cap), 0);
    free(want);
}

static void test_like_hiredis(void **state)
{
    (void)state;
    const char *zadd[] = {"ZADD", "pdm:{42}:tel", "1420070400000", "\0\r\n\xff binary"};
    size_t zadd_len[] = {4, 12, 13, 12};
    assert_like_hiredis(4, zadd, zadd_len);
    const char *empty[] = {"SET", "", ""};
    size_t empty_len[] = {3, 0, 0};
    assert_like_hiredis(3, empty, empty_len);
    const char *one[] = {"EXEC"};
    size_t one_len[] = {4};
    assert_like_hiredis(1, one, one_len);
    assert_like_hiredis(3, zadd, NULL); /* C strings: "ZADD", the key, the score */
    /* random arguments, lengths across the digit boundaries */
    static char pool[2048];
    uint64_t x = 0x2545f4914f6cdd1dULL;
    for (size_t i = 0; i < sizeof pool; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        pool[i] = (char)x;
    }
    for (int round = 0; round < 2000; round++) {
        const char *argv[12];
        size_t lens[12];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int argc = 1 + (int)(x % 12);
        size_t total = 0;
        for (int a = 0; a < argc; a++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            lens[a] = (size_t)(x % (a == 0 ? 20 : 300));
            if (total + lens[a] > 3000)
                lens[a] = 0;
            total += lens[a];
            argv[a] = pool + (x >> 20) % (sizeof pool - lens[a]);
        }
        assert_like_hiredis(argc, argv, lens);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_like_hiredis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
