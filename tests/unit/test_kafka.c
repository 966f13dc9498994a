/* Unit tests of kafka/: the static group member id (--instance-id) as a
 * broker would accept it, given or read from an environment variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pdm_kafka.h"

static void test_instance_id_accepts_broker_ids(void **state)
{
    char id[256], err[PDM_ERRSTR_SIZE];
    const char *good[] = {"pdm-scorer-0", "a", "host.example_1", "...", "A-Z.a_z-09"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_int_equal(pdm_kafka_instance_id_resolve(good[i], id, sizeof id, err, sizeof err), 0);
        assert_string_equal(id, good[i]);
    }
    char longest[250];
    memset(longest, 'x', 249);
    longest[249] = '\0';
    assert_int_equal(pdm_kafka_instance_id_resolve(longest, id, sizeof id, err, sizeof err), 0);
    assert_string_equal(id, longest);
}

static void test_instance_id_rejects(void **state)
{
    char id[256] = "unchanged", err[PDM_ERRSTR_SIZE];
    char too_long[251];
    memset(too_long, 'x', 250);
    too_long[250] = '\0';
    const char *bad[] = {"", ".", "..", "pod 0", "pod/0", "pöd", "a:b", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_equal(pdm_kafka_instance_id_resolve(bad[i], id, sizeof id, err, sizeof err), -1);
        assert_non_null(strstr(err, "is not 1..249 of [A-Za-z0-9._-]"));
    }
    assert_string_equal(id, "unchanged");
    /* A valid id that does not fit the caller's buffer. */
    char small[4];
    assert_int_equal(pdm_kafka_instance_id_resolve("pod-0", small, sizeof small, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than 3 characters"));
}

static void test_instance_id_from_environment(void **state)
{
    char id[256], err[PDM_ERRSTR_SIZE];
    setenv("PDM_TEST_POD_NAME", "pdm-scorer-2", 1);
    assert_int_equal(pdm_kafka_instance_id_resolve("env:PDM_TEST_POD_NAME", id, sizeof id, err,
                                                   sizeof err), 0);
    assert_string_equal(id, "pdm-scorer-2");
    /* The variable's value is checked like a given id. */
    setenv("PDM_TEST_POD_NAME", "two words", 1);
    assert_int_equal(pdm_kafka_instance_id_resolve("env:PDM_TEST_POD_NAME", id, sizeof id, err,
                                                   sizeof err), -1);
    assert_non_null(strstr(err, "'two words' is not"));
    setenv("PDM_TEST_POD_NAME", "", 1);
    assert_int_equal(pdm_kafka_instance_id_resolve("env:PDM_TEST_POD_NAME", id, sizeof id, err,
                                                   sizeof err), -1);
    assert_non_null(strstr(err, "environment variable PDM_TEST_POD_NAME is empty"));
    unsetenv("PDM_TEST_POD_NAME");
    assert_int_equal(pdm_kafka_instance_id_resolve("env:PDM_TEST_POD_NAME", id, sizeof id, err,
                                                   sizeof err), -1);
    assert_non_null(strstr(err, "environment variable PDM_TEST_POD_NAME is not set"));
    /* "env" without the colon is an id like any other. */
    assert_int_equal(pdm_kafka_instance_id_resolve("env", id, sizeof id, err, sizeof err), 0);
    assert_string_equal(id, "env");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instance_id_accepts_broker_ids),
        cmocka_unit_test(test_instance_id_rejects),
        cmocka_unit_test(test_instance_id_from_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
