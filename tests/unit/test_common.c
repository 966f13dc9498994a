/* Unit tests of common/: time parsing and formatting, the option table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pdm_common.h"

static void test_time_parse_known_values(void **state)
{
    int64_t ms;
    assert_int_equal(pdm_time_parse("1970-01-01 00:00:00", 19, &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(pdm_time_parse("2015-01-01 06:00:00", 19, &ms), 0);
    assert_int_equal(ms, INT64_C(1420092000000));
    assert_int_equal(pdm_time_parse("2016-02-29T23:59:59Z", 20, &ms), 0);
    assert_int_equal(ms, INT64_C(1456790399000));
    assert_int_equal(pdm_time_parse("2015-01-01", 10, &ms), 0);
    assert_int_equal(ms, INT64_C(1420070400000));
    assert_int_equal(pdm_time_parse("1969-12-31 23:00:00", 19, &ms), 0);
    assert_int_equal(ms, -INT64_C(3600000));
}

static void test_time_parse_rejects(void **state)
{
    int64_t ms;
    const char *bad[] = {"2015-13-01 00:00:00", "2015-02-29 00:00:00", "2015-01-32 00:00:00",
                         "2015-01-01 24:00:00", "2015-01-01 00:60:00", "2015/01/01 00:00:00",
                         "2015-01-01 00:00",    "x015-01-01 00:00:00", "2015-01-01 00:00:00Q",
                         "",                    "2015-1-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(pdm_time_parse(bad[i], strlen(bad[i]), &ms), -1);
}

static void test_time_matches_libc(void **state)
{
    /* Every hour over 60 years round-trips and agrees with gmtime_r. */
    for (int64_t s = -86400LL * 365; s < 86400LL * 365 * 60; s += 3600 * 7 + 13) {
        char buf[32];
        pdm_time_format(s * 1000, buf);
        time_t t = (time_t)s;
        struct tm tm;
        gmtime_r(&t, &tm);
        char want[32];
        strftime(want, sizeof want, "%Y-%m-%d %H:%M:%S", &tm);
        assert_string_equal(buf, want);
        int64_t back;
        assert_int_equal(pdm_time_parse(buf, strlen(buf), &back), 0);
        assert_int_equal(back, s * 1000);
    }
}

typedef struct {
    char *brokers;
    long long partitions;
    double speed;
    int once;
    char *token;
    pdm_kvlist props;
} test_cfg;

static const pdm_option test_options[] = {
    {"brokers", 'b', "PDM_TEST_BROKERS", PDM_OPT_STRING, offsetof(test_cfg, brokers), "localhost:9092", "HOSTS", "Bootstrap brokers.", 0},
    {"partitions", 'p', "PDM_TEST_PARTITIONS", PDM_OPT_INT, offsetof(test_cfg, partitions), "4", "N", "Partitions.", 0},
    {"speed", 0, NULL, PDM_OPT_DOUBLE, offsetof(test_cfg, speed), "1.5", "X", "Speed.", 0},
    {"once", 0, "PDM_TEST_ONCE", PDM_OPT_BOOL, offsetof(test_cfg, once), "false", NULL, "Once.", 0},
    {"token", 0, "PDM_TEST_TOKEN", PDM_OPT_STRING, offsetof(test_cfg, token), NULL, "TOKEN", "Token.", PDM_OPT_SECRET},
    {"property", 'X', NULL, PDM_OPT_KV, offsetof(test_cfg, props), NULL, "KEY=VALUE", "Kafka property.", 0},
    PDM_OPTIONS_END,
};

static void test_options_precedence(void **state)
{
    test_cfg cfg = {0};
    char err[PDM_ERRSTR_SIZE];
    int npos, help;
    setenv("PDM_TEST_PARTITIONS", "8", 1);
    setenv("PDM_TEST_BROKERS", "env:1", 1);
    char *argv[] = {"prog", "replay", "--brokers=cli:2", "-X", "acks=all", "-Xlinger.ms=5",
                    "--once", "extra", NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 8, argv, &npos, &help, err, sizeof err), 0);
    assert_string_equal(cfg.brokers, "cli:2");   /* command line beats env */
    assert_int_equal(cfg.partitions, 8);          /* env beats default */
    assert_true(cfg.speed == 1.5);                /* default */
    assert_int_equal(cfg.once, 1);
    assert_null(cfg.token);
    assert_int_equal(cfg.props.count, 2);
    assert_string_equal(cfg.props.keys[1], "linger.ms");
    assert_string_equal(cfg.props.values[1], "5");
    assert_int_equal(npos, 2);
    assert_string_equal(argv[1], "replay");
    assert_string_equal(argv[2], "extra");
    assert_int_equal(help, 0);
    pdm_options_free(test_options, &cfg);
    unsetenv("PDM_TEST_PARTITIONS");
    unsetenv("PDM_TEST_BROKERS");
}

static void test_options_errors(void **state)
{
    test_cfg cfg = {0};
    char err[PDM_ERRSTR_SIZE];
    char *argv1[] = {"prog", "--partitions", "many", NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 3, argv1, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "integer"));
    pdm_options_free(test_options, &cfg);
    char *argv2[] = {"prog", "--nope", NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 2, argv2, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "--nope"));
    pdm_options_free(test_options, &cfg);
    char *argv3[] = {"prog", "-X", "novalue", NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 3, argv3, NULL, NULL, err, sizeof err), -1);
    pdm_options_free(test_options, &cfg);
    char *argv4[] = {"prog", "--speed", NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 2, argv4, NULL, NULL, err, sizeof err), -1);
    pdm_options_free(test_options, &cfg);
}

static void test_options_secret_file_and_help(void **state)
{
    test_cfg cfg = {0};
    char err[PDM_ERRSTR_SIZE];
    char path[] = "/tmp/pdm-test-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("s3cr3t\nsecond line\n", f);
    fclose(f);
    char *argv[] = {"prog", "--token-file", path, NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 3, argv, NULL, NULL, err, sizeof err), 0);
    assert_string_equal(cfg.token, "s3cr3t");
    pdm_options_free(test_options, &cfg);
    unlink(path);

    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    pdm_options_help(mem, "usage: prog", test_options);
    fclose(mem);
    assert_non_null(strstr(text, "--brokers HOSTS"));
    assert_non_null(strstr(text, "PDM_TEST_BROKERS"));
    assert_non_null(strstr(text, "default: localhost:9092"));
    assert_non_null(strstr(text, "--token-file"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse_known_values),
        cmocka_unit_test(test_time_parse_rejects),
        cmocka_unit_test(test_time_matches_libc),
        cmocka_unit_test(test_options_precedence),
        cmocka_unit_test(test_options_errors),
        cmocka_unit_test(test_options_secret_file_and_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
