/* Unit tests of common/: time parsing and formatting, the option table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

    /* The value and the file together is an error naming both, in either
     * order, not a silent choice of one. */
    char *both[][5] = {{"prog", "--token", "other", "--token-file", path},
                       {"prog", "--token-file", path, "--token=other", NULL}};
    int both_argc[] = {5, 4};
    for (int i = 0; i < 2; i++) {
        memset(&cfg, 0, sizeof cfg);
        err[0] = '\0';
        assert_int_equal(
            pdm_options_parse(test_options, &cfg, both_argc[i], both[i], NULL, NULL, err, sizeof err),
            -1);
        assert_non_null(strstr(err, "--token and --token-file"));
        assert_null(strstr(err, "other"));
        pdm_options_free(test_options, &cfg);
    }
    setenv("PDM_TEST_TOKEN", "other", 1);
    setenv("PDM_TEST_TOKEN_FILE", path, 1);
    char *plain[] = {"prog", NULL};
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(pdm_options_parse(test_options, &cfg, 1, plain, NULL, NULL, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "PDM_TEST_TOKEN and PDM_TEST_TOKEN_FILE"));
    pdm_options_free(test_options, &cfg);
    unsetenv("PDM_TEST_TOKEN");
    unsetenv("PDM_TEST_TOKEN_FILE");
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

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *help_text(const pdm_option *table)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    pdm_options_help(mem, "usage: prog", table);
    fclose(mem);
    return text;
}

static void test_options_kv_file(void **state)
{
    test_cfg cfg = {0};
    char err[PDM_ERRSTR_SIZE];
    char path[] = "/tmp/pdm-test-props-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "# Kafka client\n"
                     "\n"
                     "  security.protocol = SASL_SSL  \n"
                     "sasl.password=pa ss=word\r\n"
                     "   # indented comment\n"
                     "sasl.username=\tpdm\n"
                     "empty.value=");
    char xarg[64];
    snprintf(xarg, sizeof xarg, "-X@%s", path);
    char *argv[] = {"prog", "-X", "acks=1", xarg, "-X", "sasl.username=cli", NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 6, argv, NULL, NULL, err, sizeof err), 0);
    /* The file's pairs come in place and in order; a later -X comes after
     * them, so it wins when the list is applied in order. */
    const char *keys[] = {"acks", "security.protocol", "sasl.password", "sasl.username",
                          "empty.value", "sasl.username"};
    const char *values[] = {"1", "SASL_SSL", "pa ss=word", "pdm", "", "cli"};
    assert_int_equal(cfg.props.count, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(cfg.props.keys[i], keys[i]);
        assert_string_equal(cfg.props.values[i], values[i]);
    }
    pdm_options_free(test_options, &cfg);

    /* The long form with '=' and a space-separated value work the same. */
    char longarg[64];
    snprintf(longarg, sizeof longarg, "--property=@%s", path);
    char *argv2[] = {"prog", longarg, NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 2, argv2, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.props.count, 4);
    pdm_options_free(test_options, &cfg);
    unlink(path);
}

static void test_options_kv_file_errors(void **state)
{
    test_cfg cfg = {0};
    char err[PDM_ERRSTR_SIZE];
    char path[] = "/tmp/pdm-test-props-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char xarg[64];
    snprintf(xarg, sizeof xarg, "@%s", path);
    char *argv[] = {"prog", "-X", xarg, NULL};

    /* A line without '=' names the file and line, but not the line. */
    write_file(path, "# comment\nsasl.username=u\nHunter2Secret\nacks=1\n");
    assert_int_equal(pdm_options_parse(test_options, &cfg, 3, argv, NULL, NULL, err, sizeof err), -1);
    char where[96];
    snprintf(where, sizeof where, "%s:3:", path);
    assert_non_null(strstr(err, where));
    assert_null(strstr(err, "Hunter2Secret"));
    pdm_options_free(test_options, &cfg);

    write_file(path, "sasl.password=Hunter2Secret\n  = orphan value\n");
    assert_int_equal(pdm_options_parse(test_options, &cfg, 3, argv, NULL, NULL, err, sizeof err), -1);
    snprintf(where, sizeof where, "%s:2:", path);
    assert_non_null(strstr(err, where));
    assert_non_null(strstr(err, "empty key"));
    assert_null(strstr(err, "Hunter2Secret"));
    assert_null(strstr(err, "orphan"));
    pdm_options_free(test_options, &cfg);

    /* A file that cannot be read: the path and the reason. */
    unlink(path);
    assert_int_equal(pdm_options_parse(test_options, &cfg, 3, argv, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, strerror(ENOENT)));
    pdm_options_free(test_options, &cfg);

    char *argv2[] = {"prog", "-X", "@", NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 3, argv2, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "path"));
    pdm_options_free(test_options, &cfg);

    /* Malformed command-line values that may hold a secret are not echoed. */
    char *argv3[] = {"prog", "-X", "=Hunter2Secret", NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 3, argv3, NULL, NULL, err, sizeof err), -1);
    assert_null(strstr(err, "Hunter2Secret"));
    pdm_options_free(test_options, &cfg);
    char *argv4[] = {"prog", "-X", "sasl.passwordHunter2Secret", NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 3, argv4, NULL, NULL, err, sizeof err), -1);
    assert_null(strstr(err, "Hunter2Secret"));
    pdm_options_free(test_options, &cfg);
    /* ...but a harmless one is, to help the user. */
    char *argv5[] = {"prog", "-X", "lingerms", NULL};
    assert_int_equal(pdm_options_parse(test_options, &cfg, 3, argv5, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "lingerms"));
    pdm_options_free(test_options, &cfg);
}

typedef struct {
    pdm_kvlist props;
} kv_env_cfg;

static const pdm_option kv_env_options[] = {
    {"property", 'X', "PDM_TEST_KAFKA", PDM_OPT_KV, offsetof(kv_env_cfg, props), NULL, "KEY=VALUE", "Kafka property.", 0},
    PDM_OPTIONS_END,
};

static void test_options_kv_env(void **state)
{
    kv_env_cfg cfg = {0};
    char err[PDM_ERRSTR_SIZE];
    char path[] = "/tmp/pdm-test-props-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "sasl.username=env-file\nsasl.password=from-file\n");
    setenv("PDM_TEST_KAFKA_FILE", path, 1);
    setenv("PDM_TEST_KAFKA", "acks=all", 1);
    char *argv[] = {"prog", "-X", "sasl.username=cli", NULL};
    assert_int_equal(pdm_options_parse(kv_env_options, &cfg, 3, argv, NULL, NULL, err, sizeof err), 0);
    /* Environment first (E, then E_FILE), command line after: it wins. */
    assert_int_equal(cfg.props.count, 4);
    assert_string_equal(cfg.props.keys[0], "acks");
    assert_string_equal(cfg.props.values[1], "env-file");
    assert_string_equal(cfg.props.values[2], "from-file");
    assert_string_equal(cfg.props.keys[3], "sasl.username");
    assert_string_equal(cfg.props.values[3], "cli");
    pdm_options_free(kv_env_options, &cfg);

    /* The env var itself may name a file with '@'. */
    unsetenv("PDM_TEST_KAFKA_FILE");
    char at[64];
    snprintf(at, sizeof at, "@%s", path);
    setenv("PDM_TEST_KAFKA", at, 1);
    assert_int_equal(pdm_options_parse(kv_env_options, &cfg, 1, argv, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(cfg.props.count, 2);
    pdm_options_free(kv_env_options, &cfg);

    /* An unreadable file named by E_FILE: the error names the variable. */
    unlink(path);
    unsetenv("PDM_TEST_KAFKA");
    setenv("PDM_TEST_KAFKA_FILE", path, 1);
    assert_int_equal(pdm_options_parse(kv_env_options, &cfg, 1, argv, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "PDM_TEST_KAFKA_FILE"));
    assert_non_null(strstr(err, path));
    pdm_options_free(kv_env_options, &cfg);
    unsetenv("PDM_TEST_KAFKA_FILE");

    char *text = help_text(kv_env_options);
    assert_non_null(strstr(text, "@FILE"));
    assert_non_null(strstr(text, "PDM_TEST_KAFKA_FILE"));
    free(text);
    text = help_text(test_options);
    assert_non_null(strstr(text, "@FILE"));
    free(text);
}

/* Durations: every unit, decimals, plain seconds; refused: empty, negative,
 * unknown units, trailing text, NaN and values that overflow int64 ms. */
typedef struct {
    char *log_level;
    long long partitions;
} program_cfg;

static const pdm_option program_options[] = {
    {"log-level", 0, NULL, PDM_OPT_STRING, offsetof(program_cfg, log_level), "info", "LEVEL", "Log level.", 0},
    {"partitions", 'p', NULL, PDM_OPT_INT, offsetof(program_cfg, partitions), "4", "N", "Partitions.", 0},
    PDM_OPTIONS_END,
};

/* What a pdm_program_start call wrote to fd (1 or 2), as a string to free;
 * *rc its return value, *status and *npos what it set. */
static char *program_start_output(int fd, int argc, char **argv, int max_positional, int *rc,
                                  int *status, int *npos)
{
    const pdm_program p = {"prog-x", "usage: prog-x [run]", program_options, max_positional,
                           offsetof(program_cfg, log_level)};
    program_cfg cfg = {0};
    char path[] = "/tmp/pdm-test-start-XXXXXX";
    int out = mkstemp(path);
    assert_true(out >= 0);
    fflush(fd == 1 ? stdout : stderr);
    int saved = dup(fd);
    dup2(out, fd);
    *status = -7;
    *npos = -7;
    *rc = pdm_program_start(&p, &cfg, argc, argv, npos, status);
    /* A message logged now shows whether the level was set. */
    pdm_log(PDM_LOG_WARN, "a warning");
    pdm_log(PDM_LOG_ERROR, "an error");
    fflush(fd == 1 ? stdout : stderr);
    dup2(saved, fd);
    close(saved);
    if (*rc == 0)
        assert_int_equal(cfg.partitions, 9);
    pdm_options_free(program_options, &cfg);
    pdm_buf text = {0};
    assert_int_equal(pdm_read_file(path, &text, NULL, 0), 0);
    assert_int_equal(pdm_buf_append(&text, "", 1), 0); /* a string */
    close(out);
    unlink(path);
    return text.data;
}

static void test_program_start(void **state)
{
    int rc, status, npos;
    char *help[] = {"prog", "--help", NULL};
    char *text = program_start_output(1, 2, help, 0, &rc, &status, &npos);
    assert_int_equal(rc, -1);
    assert_int_equal(status, 0);
    assert_non_null(strstr(text, "usage: prog-x [run]"));
    assert_non_null(strstr(text, "--partitions"));
    free(text);

    char *surplus[] = {"prog", "run", "-p", "9", "again", NULL};
    text = program_start_output(2, 5, surplus, 1, &rc, &status, &npos);
    assert_int_equal(rc, -1);
    assert_int_equal(status, 2);
    assert_non_null(strstr(text, "prog-x: unexpected argument 'again' (see --help)"));
    free(text);

    char *level[] = {"prog", "--log-level", "loud", NULL};
    text = program_start_output(2, 3, level, 0, &rc, &status, &npos);
    assert_int_equal(rc, -1);
    assert_int_equal(status, 2);
    assert_non_null(strstr(text, "prog-x: --log-level: unknown level 'loud'"));
    free(text);

    char *bad[] = {"prog", "--partitions", "many", NULL};
    text = program_start_output(2, 3, bad, 0, &rc, &status, &npos);
    assert_int_equal(rc, -1);
    assert_int_equal(status, 2);
    assert_non_null(strstr(text, "prog-x: "));
    assert_non_null(strstr(text, "integer"));
    free(text);

    /* Runs on: the positional argument moved to argv[1], the level set
     * (the warning is not logged, the error is, under the program's name). */
    char *good[] = {"prog", "-p", "9", "--log-level", "error", "run", NULL};
    text = program_start_output(2, 6, good, 1, &rc, &status, &npos);
    assert_int_equal(rc, 0);
    assert_int_equal(status, -7); /* untouched: the program's own */
    assert_int_equal(npos, 1);
    assert_string_equal(good[1], "run");
    assert_null(strstr(text, "a warning"));
    assert_non_null(strstr(text, "an error"));
    assert_non_null(strstr(text, "prog-x"));
    free(text);

    /* Any number of positional arguments with -1. */
    char *any[] = {"prog", "a", "b", "c", "-p", "9", NULL};
    text = program_start_output(2, 6, any, -1, &rc, &status, &npos);
    assert_int_equal(rc, 0);
    assert_int_equal(npos, 3);
    free(text);
    pdm_log_set_level(PDM_LOG_INFO);
}

static void test_duration_parse(void **state)
{
    (void)state;
    struct {
        const char *text;
        int ok;
        int64_t ms;
    } cases[] = {
        {"100ms", 1, 100},   {"90s", 1, 90000},        {"30m", 1, 1800000},
        {"6h", 1, 21600000}, {"2d", 1, 172800000},      {"1.5s", 1, 1500},
        {"0", 1, 0},         {"2", 1, 2000},            {"0ms", 1, 0},
        {"", 0, 0},          {"-1s", 0, 0},             {"5w", 0, 0},
        {"1hx", 0, 0},       {"nan", 0, 0},             {"inf", 0, 0},
        {"1e15d", 0, 0},     {"1e17", 0, 0},            {"ms", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t ms = -7;
        int rc = pdm_duration_parse(cases[i].text, &ms);
        if (rc != (cases[i].ok ? 0 : -1))
            fail_msg("'%s': rc %d", cases[i].text, rc);
        if (cases[i].ok)
            assert_true(ms == cases[i].ms);
        else
            assert_true(ms == -7); /* untouched */
    }
}

/* pdm_fmt_i64 writes what snprintf("%lld") writes, at the edges and between. */
static void test_fmt_i64(void **state)
{
    (void)state;
    const int64_t edges[] = {0, 1, -1, 9, 10, -10, 99, 100, 1420070400000LL, INT64_MAX,
                             INT64_MIN, INT64_MIN + 1, INT32_MAX, INT32_MIN};
    char got[24], want[24];
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        size_t n = pdm_fmt_i64(got, edges[i]);
        int w = snprintf(want, sizeof want, "%lld", (long long)edges[i]);
        assert_int_equal(n, (size_t)w);
        assert_memory_equal(got, want, n);
    }
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t v = (int64_t)(x >> (x % 64));
        if (x & 1)
            v = -v;
        size_t n = pdm_fmt_i64(got, v);
        int w = snprintf(want, sizeof want, "%lld", (long long)v);
        assert_int_equal(n, (size_t)w);
        assert_memory_equal(got, want, n);
    }
}

/* Entries of dir (without . and ..). */
static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_write_file_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/pdm-test-common-XXXXXX", path[128], missing[160], err[PDM_ERRSTR_SIZE];
    pdm_buf text = {0};
    struct stat st;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.json", dir);

    /* creates, then replaces: the content is the last one, mode 0644, and
     * no temporary file is left beside it */
    assert_int_equal(pdm_write_file_atomic(path, "first, longer content\n", 22, err, sizeof err), 0);
    assert_int_equal(pdm_write_file_atomic(path, "second\n", 7, err, sizeof err), 0);
    assert_int_equal(pdm_read_file(path, &text, err, sizeof err), 0);
    assert_int_equal(text.len, 7);
    assert_string_equal(text.data, "second\n");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(count_entries(dir), 1);

    /* a directory that does not exist: an error naming the file, nothing made */
    snprintf(missing, sizeof missing, "%s/nosuch/state.json", dir);
    assert_int_equal(pdm_write_file_atomic(missing, "x", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "nosuch/state.json"));
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(count_entries(dir), 1);

    pdm_buf_free(&text);
    unlink(path);
    rmdir(dir);
}

static void test_write_all_socket_and_file(void **state)
{
    (void)state;
    int sv[2];
    char got[16] = {0}, path[] = "/tmp/pdm-test-common-XXXXXX";
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(pdm_write_all(sv[0], "hello", 5), 0);
    assert_int_equal(read(sv[1], got, sizeof got), 5);
    assert_memory_equal(got, "hello", 5);
    /* the peer gone: EPIPE, and no SIGPIPE (the default action would kill
     * this test) */
    close(sv[1]);
    errno = 0;
    assert_int_equal(pdm_write_all(sv[0], "hello", 5), -1);
    assert_int_equal(errno, EPIPE);
    close(sv[0]);

    /* a regular file: written whole through write() */
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(pdm_write_all(fd, "file data", 9), 0);
    assert_int_equal(pread(fd, got, sizeof got, 0), 9);
    assert_memory_equal(got, "file data", 9);
    close(fd);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_write_file_atomic),
        cmocka_unit_test(test_write_all_socket_and_file),
        cmocka_unit_test(test_time_parse_known_values),
        cmocka_unit_test(test_time_parse_rejects),
        cmocka_unit_test(test_time_matches_libc),
        cmocka_unit_test(test_options_precedence),
        cmocka_unit_test(test_options_errors),
        cmocka_unit_test(test_options_secret_file_and_help),
        cmocka_unit_test(test_options_kv_file),
        cmocka_unit_test(test_options_kv_file_errors),
        cmocka_unit_test(test_options_kv_env),
        cmocka_unit_test(test_fmt_i64),
        cmocka_unit_test(test_program_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
