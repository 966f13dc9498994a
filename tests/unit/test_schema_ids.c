/* test_schema_ids.c: --schema-ids (schemas/include/pdm_schemas.h), the
 * configuration of Confluent Schema Registry framing that the README's
 * "decoded when ids are configured" needs: the list's checks, and a codec so
 * configured decodes a message framed with a configured id while any other
 * id stays unknown_schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pdm_common.h"
#include "pdm_schemas.h"

static void test_lists_parse(void **state)
{
    (void)state;
    char err[PDM_ERRSTR_SIZE];
    int32_t ids[PDM_EV_COUNT];
    assert_int_equal(pdm_schema_ids_parse(" telemetry=7, error=8 ,machine=2147483647", ids, err,
                                          sizeof err),
                     0);
    assert_int_equal(ids[PDM_EV_TELEMETRY], 7);
    assert_int_equal(ids[PDM_EV_ERROR], 8);
    assert_int_equal(ids[PDM_EV_MACHINE], INT32_MAX);
    assert_int_equal(ids[PDM_EV_FAILURE], 0);
    assert_int_equal(pdm_schema_ids_parse(NULL, ids, err, sizeof err), 0);
    assert_int_equal(pdm_schema_ids_parse("", ids, err, sizeof err), 0);
    assert_int_equal(ids[PDM_EV_TELEMETRY], 0);
    struct {
        const char *list, *says;
    } bad[] = {
        {"telemetry", "not TYPE=ID"},         {"sensor=3", "unknown type 'sensor'"},
        {"telemetry=0", "1..2147483647"},     {"telemetry=-4", "1..2147483647"},
        {"telemetry=2147483648", "1..2147483647"}, {"telemetry=7x", "1..2147483647"},
        {"telemetry=7,telemetry=8", "given twice"}, {"telemetry=7,error=7", "id 7 is given"},
        {"telemetry=7,,error=8", "expected TYPE=ID"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        if (pdm_schema_ids_parse(bad[i].list, ids, err, sizeof err) == 0)
            fail_msg("'%s' accepted", bad[i].list);
        if (!strstr(err, bad[i].says))
            fail_msg("'%s': \"%s\" does not say '%s'", bad[i].list, err, bad[i].says);
    }
}

static void test_a_configured_id_decodes_and_others_do_not(void **state)
{
    (void)state;
    char err[PDM_ERRSTR_SIZE];
    unsigned char buf[PDM_MAX_ENCODED];
    pdm_codec *writer = pdm_codec_new(err, sizeof err), *reader = pdm_codec_new(err, sizeof err),
              *plain = pdm_codec_new(err, sizeof err);
    assert_non_null(writer);
    assert_non_null(reader);
    assert_non_null(plain);
    pdm_event ev = {.type = PDM_EV_TELEMETRY, .machine_id = 5, .ts = INT64_C(1420092000000)};
    ev.u.telemetry.volt = 170.5;
    ev.u.telemetry.rotate = 450;
    ev.u.telemetry.pressure = 100;
    ev.u.telemetry.vibration = 40;
    assert_int_equal(pdm_codec_set_schema_ids(writer, "telemetry=7", err, sizeof err), 0);
    int len = pdm_codec_encode(writer, &ev, PDM_WIRE_CONFLUENT, buf, sizeof buf, err, sizeof err);
    assert_true(len > 5);
    assert_int_equal(buf[0], 0x00);
    assert_int_equal(buf[4], 7);

    pdm_event out;
    /* Without ids: unknown. */
    assert_int_equal(pdm_codec_decode(plain, buf, (size_t)len, &out, err, sizeof err),
                     PDM_DECODE_UNKNOWN_SCHEMA);
    /* With the id: decodes as telemetry. */
    assert_int_equal(pdm_codec_set_schema_ids(reader, "error=8,telemetry=7", err, sizeof err), 0);
    assert_int_equal(pdm_codec_decode(reader, buf, (size_t)len, &out, err, sizeof err),
                     PDM_DECODE_OK);
    assert_int_equal(out.type, PDM_EV_TELEMETRY);
    assert_int_equal(out.machine_id, 5);
    assert_true(out.u.telemetry.volt == 170.5);
    /* Another id: still unknown. */
    buf[4] = 9;
    assert_int_equal(pdm_codec_decode(reader, buf, (size_t)len, &out, err, sizeof err),
                     PDM_DECODE_UNKNOWN_SCHEMA);
    assert_non_null(strstr(err, "9"));
    /* A bad list leaves an error, not a half-configured success. */
    assert_int_equal(pdm_codec_set_schema_ids(plain, "telemetry=7,bogus=1", err, sizeof err), -1);
    pdm_codec_destroy(writer);
    pdm_codec_destroy(reader);
    pdm_codec_destroy(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists_parse),
        cmocka_unit_test(test_a_configured_id_decodes_and_others_do_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
