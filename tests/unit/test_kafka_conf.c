/* test_kafka_conf.c: -X properties go to the client they are for
 * (kafka/include/pdm_kafka.h): librdkafka's own table says which client a
 * property belongs to, and a program with a consumer and a producer gives
 * each only its own, so that the README's `-X fetch.wait.max.ms=...` no
 * longer makes the producer log a CONFWARN on every start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pdm_common.h"
#include "pdm_kafka.h"

static void test_scopes_come_from_librdkafkas_table(void **state)
{
    (void)state;
    assert_int_equal(pdm_kafka_property_scope("fetch.wait.max.ms"), 'C');
    assert_int_equal(pdm_kafka_property_scope("group.id"), 'C');
    assert_int_equal(pdm_kafka_property_scope("auto.offset.reset"), 'C'); /* a topic property */
    assert_int_equal(pdm_kafka_property_scope("linger.ms"), 'P');
    assert_int_equal(pdm_kafka_property_scope("enable.idempotence"), 'P');
    assert_int_equal(pdm_kafka_property_scope("acks"), 'P'); /* a topic property */
    assert_int_equal(pdm_kafka_property_scope("client.id"), '*');
    assert_int_equal(pdm_kafka_property_scope("security.protocol"), '*');
    assert_int_equal(pdm_kafka_property_scope("fetch"), '*'); /* a prefix is no name */
    assert_int_equal(pdm_kafka_property_scope("no.such.property"), '*');
}

/* The value a configuration holds for name. */
static const char *value_of(rd_kafka_conf_t *conf, const char *name, char *buf, size_t size)
{
    size_t len = size;
    assert_int_equal(rd_kafka_conf_get(conf, name, buf, &len), RD_KAFKA_CONF_OK);
    return buf;
}

static void test_each_client_gets_its_own_properties(void **state)
{
    (void)state;
    char err[PDM_ERRSTR_SIZE], v[64];
    pdm_kvlist props = {0};
    assert_int_equal(pdm_kvlist_add(&props, "fetch.wait.max.ms=10", err, sizeof err), 0);
    assert_int_equal(pdm_kvlist_add(&props, "linger.ms=7", err, sizeof err), 0);
    assert_int_equal(pdm_kvlist_add(&props, "socket.timeout.ms=12345", err, sizeof err), 0);

    rd_kafka_conf_t *c = pdm_kafka_conf_new_for(PDM_KAFKA_CONSUMER, "127.0.0.1:1", "t", &props,
                                                err, sizeof err);
    assert_non_null(c);
    assert_string_equal(value_of(c, "fetch.wait.max.ms", v, sizeof v), "10");
    assert_string_not_equal(value_of(c, "linger.ms", v, sizeof v), "7");
    assert_string_equal(value_of(c, "socket.timeout.ms", v, sizeof v), "12345");
    rd_kafka_conf_destroy(c);

    rd_kafka_conf_t *p = pdm_kafka_conf_new_for(PDM_KAFKA_PRODUCER, "127.0.0.1:1", "t", &props,
                                                err, sizeof err);
    assert_non_null(p);
    assert_string_not_equal(value_of(p, "fetch.wait.max.ms", v, sizeof v), "10");
    assert_string_equal(value_of(p, "linger.ms", v, sizeof v), "7");
    assert_string_equal(value_of(p, "socket.timeout.ms", v, sizeof v), "12345");
    rd_kafka_conf_destroy(p);

    rd_kafka_conf_t *any = pdm_kafka_conf_new("127.0.0.1:1", "t", &props, err, sizeof err);
    assert_non_null(any);
    assert_string_equal(value_of(any, "fetch.wait.max.ms", v, sizeof v), "10");
    assert_string_equal(value_of(any, "linger.ms", v, sizeof v), "7");
    rd_kafka_conf_destroy(any);
    pdm_kvlist_clear(&props);
}

static void test_a_bad_value_is_still_an_error(void **state)
{
    (void)state;
    char err[PDM_ERRSTR_SIZE];
    pdm_kvlist props = {0};
    assert_int_equal(pdm_kvlist_add(&props, "fetch.wait.max.ms=soon", err, sizeof err), 0);
    assert_null(pdm_kafka_conf_new_for(PDM_KAFKA_CONSUMER, NULL, NULL, &props, err, sizeof err));
    assert_non_null(strstr(err, "fetch.wait.max.ms"));
    pdm_kvlist_clear(&props);
    assert_int_equal(pdm_kvlist_add(&props, "no.such.property=1", err, sizeof err), 0);
    assert_null(pdm_kafka_conf_new_for(PDM_KAFKA_PRODUCER, NULL, NULL, &props, err, sizeof err));
    pdm_kvlist_clear(&props);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scopes_come_from_librdkafkas_table),
        cmocka_unit_test(test_each_client_gets_its_own_properties),
        cmocka_unit_test(test_a_bad_value_is_still_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
