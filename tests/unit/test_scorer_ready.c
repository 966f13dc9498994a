/* test_scorer_ready.c: the one definition of "ready" (consumer/scorer_ready.h)
 * that GET /readyz and the pdm_ready gauge share: every check must hold, a
 * probe result older than the staleness bound does not count as Redis
 * answering, and a loop whose Redis steps fail (Redis answering PING but
 * refusing the scorer's writes) is not ready. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "scorer_ready.h"

static scorer_ready_inputs all_good(void)
{
    scorer_ready_inputs in = {.model_loaded = 1,
                              .group_joined = 1,
                              .redis_answered = 1,
                              .redis_age_s = 0.2,
                              .loop_redis_ok = 1};
    return in;
}

static void test_ready_when_every_check_holds(void **state)
{
    (void)state;
    scorer_ready_inputs in = all_good();
    scorer_ready_verdict v = scorer_ready_rule(&in);
    assert_true(v.ready && v.redis && v.model && v.consumer_group && v.loop);
}

static void test_each_check_alone_makes_it_not_ready(void **state)
{
    (void)state;
    scorer_ready_inputs in = all_good();
    in.model_loaded = 0;
    scorer_ready_verdict v = scorer_ready_rule(&in);
    assert_false(v.ready);
    assert_false(v.model);
    assert_true(v.redis && v.consumer_group && v.loop);

    in = all_good();
    in.group_joined = 0;
    v = scorer_ready_rule(&in);
    assert_false(v.ready);
    assert_false(v.consumer_group);

    in = all_good();
    in.redis_answered = 0;
    v = scorer_ready_rule(&in);
    assert_false(v.ready);
    assert_false(v.redis);
    assert_true(v.loop); /* an idle loop has not noticed: the probe has */
}

static void test_a_stuck_loop_is_not_ready(void **state)
{
    (void)state;
    scorer_ready_inputs in = all_good(); /* PING answers ... */
    in.loop_redis_ok = 0;                /* ... but the writes are refused */
    scorer_ready_verdict v = scorer_ready_rule(&in);
    assert_false(v.ready);
    assert_false(v.loop);
    assert_true(v.redis);
}

static void test_an_old_probe_answer_does_not_count(void **state)
{
    (void)state;
    scorer_ready_inputs in = all_good();
    in.redis_age_s = PDM_READY_REDIS_STALE_S;
    assert_true(scorer_ready_rule(&in).ready);
    in.redis_age_s = PDM_READY_REDIS_STALE_S + 0.01;
    assert_false(scorer_ready_rule(&in).ready);
    assert_false(scorer_ready_rule(&in).redis);
    in.redis_age_s = HUGE_VAL; /* never probed */
    assert_false(scorer_ready_rule(&in).ready);
    in.redis_age_s = NAN;
    assert_false(scorer_ready_rule(&in).ready);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_when_every_check_holds),
        cmocka_unit_test(test_each_check_alone_makes_it_not_ready),
        cmocka_unit_test(test_a_stuck_loop_is_not_ready),
        cmocka_unit_test(test_an_old_probe_answer_does_not_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
