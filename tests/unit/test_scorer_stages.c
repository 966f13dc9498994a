/* test_scorer_stages.c: the loop's per-stage clock charges each moment to
 * the stage it was spent in, wall and CPU apart, and adds up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "scorer_stages.h"

static double now_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Burns `s` seconds of this thread's CPU. */
static void spin(double s)
{
    double until = now_s(CLOCK_THREAD_CPUTIME_ID) + s;
    volatile unsigned long x = 0;
    while (now_s(CLOCK_THREAD_CPUTIME_ID) < until)
        x++;
}

static void test_charges_the_stage_left(void **state)
{
    (void)state;
    scorer_stages c;
    scorer_stages_start(&c);
    assert_int_equal(c.current, SCORER_STAGE_OTHER);
    assert_int_equal(scorer_stages_enter(&c, SCORER_STAGE_WAIT), SCORER_STAGE_OTHER);
    usleep(60 * 1000); /* waiting: wall time, next to no CPU */
    assert_int_equal(scorer_stages_enter(&c, SCORER_STAGE_SCORE), SCORER_STAGE_WAIT);
    spin(0.05); /* working: CPU time */
    scorer_stages_enter(&c, SCORER_STAGE_OTHER);

    assert_true(c.wall[SCORER_STAGE_WAIT] >= 0.06);
    assert_true(c.cpu[SCORER_STAGE_WAIT] < 0.02);
    assert_true(c.cpu[SCORER_STAGE_SCORE] >= 0.05);
    assert_true(c.wall[SCORER_STAGE_SCORE] >= c.cpu[SCORER_STAGE_SCORE] - 1e-3);
    for (int s = 0; s < SCORER_STAGES; s++)
        if (s != SCORER_STAGE_WAIT && s != SCORER_STAGE_SCORE && s != SCORER_STAGE_OTHER) {
            assert_true(c.wall[s] == 0);
            assert_true(c.cpu[s] == 0);
        }
}

static void test_stages_add_up_to_the_elapsed_time(void **state)
{
    (void)state;
    scorer_stages c;
    double t0 = now_s(CLOCK_MONOTONIC);
    scorer_stages_start(&c);
    for (int i = 0; i < 200; i++) {
        scorer_stages_enter(&c, (scorer_stage)(i % SCORER_STAGES));
        spin(0.0002);
    }
    scorer_stages_enter(&c, SCORER_STAGE_OTHER);
    double elapsed = now_s(CLOCK_MONOTONIC) - t0, sum = 0;
    for (int s = 0; s < SCORER_STAGES; s++) {
        assert_true(c.wall[s] > 0);
        sum += c.wall[s];
    }
    assert_true(sum <= elapsed);
    assert_true(sum >= elapsed - 0.005);
}

static void test_null_clock_and_format(void **state)
{
    (void)state;
    assert_int_equal(scorer_stages_enter(NULL, SCORER_STAGE_LOAD), SCORER_STAGE_OTHER);
    scorer_stages c;
    scorer_stages_start(&c);
    c.wall[SCORER_STAGE_DECODE] = 1.5;
    c.cpu[SCORER_STAGE_DECODE] = 1.25;
    c.wall[SCORER_STAGE_WRITE] = 0.5;
    char buf[768];
    int n = scorer_stages_format(&c, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(buf));
    for (int s = 0; s < SCORER_STAGES; s++)
        assert_non_null(strstr(buf, scorer_stage_name((scorer_stage)s)));
    assert_non_null(strstr(buf, "decode 1.500/1.250 "));
    assert_non_null(strstr(buf, "write 0.500/0.000 "));
    assert_non_null(strstr(buf, "total 2.000/1.250"));
    /* Cut short: never past the buffer, still the whole length. */
    char small[16];
    assert_int_equal(scorer_stages_format(&c, small, sizeof small), n);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(scorer_stages_format(&c, NULL, 0), n);
    assert_string_equal(scorer_stage_name(SCORER_STAGES), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_charges_the_stage_left),
        cmocka_unit_test(test_stages_add_up_to_the_elapsed_time),
        cmocka_unit_test(test_null_clock_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
