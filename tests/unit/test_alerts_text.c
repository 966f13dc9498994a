/* test_alerts_text.c: the alert state machine's clock and invalid rows,
 * stable ids (also across an encode/decode in the middle of an incident),
 * the state's text form and its refusal of garbage. */
#include "test_alerts_util.h"

/* ---- the clock, invalid rows, ids --------------------------------------------------- */

static void test_clock(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(2, 3, H(24), H(6));
    pdm_alert_state st, before;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    feed(&st, &p, 5, R_WARN, 1, &inc);
    before = st;
    /* The same row again, and an older one, change nothing: without the
     * rule the repeated WARN would make "2 of 3" and open. */
    assert_int_equal(feed(&st, &p, 5, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_int_equal(feed(&st, &p, 4, R_WARN, 1, &inc), PDM_ALERT_NONE);
    assert_memory_equal(&st, &before, sizeof st);
    assert_int_equal(feed(&st, &p, 6, R_WARN, 1, &inc), PDM_ALERT_OPENED);
}

static void test_invalid_rows(void **state)
{
    (void)state;
    pdm_alert_policy p = policy(1, 1, 0, 0);
    pdm_alert_state st, before;
    pdm_incident inc;
    char err[PDM_ERRSTR_SIZE];
    pdm_alert_state_init(&st);
    feed(&st, &p, 0, R_WARN, 1, &inc);
    before = st;
    pdm_alert_score bad[] = {
        {T0 + H(1), NAN, 1},  {T0 + H(1), 1.5, 1},   {T0 + H(1), -0.1, 1},
        {T0 + H(1), R_OK, 5}, {T0 + H(1), R_OK, -1}, {INT64_MIN, R_OK, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(pdm_alert_step(&st, &p, MACHINE, &bad[i], &inc, err, sizeof err), -1);
        assert_true(err[0] != '\0');
        assert_memory_equal(&st, &before, sizeof st);
    }
}

/* A scripted history touching every transition; decisions into emits[] and
 * ids[]. With split_at >= 0 the state goes through its text form before
 * row split_at, as a restart reading it from Redis would. */
#define SCRIPT_LEN 40
static void run_script(int split_at, pdm_alert_emit *emits, char ids[][PDM_ALERT_ID_SIZE])
{
    pdm_alert_policy p = policy(2, 3, H(6), H(4));
    pdm_alert_state st;
    pdm_incident inc;
    pdm_alert_state_init(&st);
    for (int i = 0; i < SCRIPT_LEN; i++) {
        if (i == split_at) {
            char text[PDM_ALERT_TEXT_MAX], err[PDM_ERRSTR_SIZE];
            int n = pdm_alert_state_encode(&st, text, sizeof text);
            assert_true(n > 0);
            memset(&st, 0xa5, sizeof st); /* nothing survives but the text */
            assert_int_equal(pdm_alert_state_decode(text, (size_t)n, &st, err, sizeof err), 0);
        }
        /* Risk rises over rows 2..14, falls, repair at row 20, rises again. */
        double risk = i < 2    ? R_OK
                      : i < 8  ? R_WARN
                      : i < 15 ? R_CRIT
                      : i < 20 ? R_BETWEEN
                      : i < 30 ? R_WARN
                               : R_OK;
        int comp = 1 + i % 2;
        if (i == 20) {
            pdm_event ev = world_event(PDM_EV_MAINTENANCE, i - 0.5, st.component);
            pdm_alert_world(&st, &ev, &inc);
            assert_int_equal(inc.emit, PDM_ALERT_RESOLVED);
        }
        emits[i] = feed(&st, &p, i, risk, comp, &inc);
        strcpy(ids[i], inc.incident_id);
    }
}

static void test_ids_stable(void **state)
{
    (void)state;
    pdm_alert_emit a[SCRIPT_LEN], b[SCRIPT_LEN];
    char ida[SCRIPT_LEN][PDM_ALERT_ID_SIZE], idb[SCRIPT_LEN][PDM_ALERT_ID_SIZE];
    run_script(-1, a, ida);
    /* The script does open, escalate, renotify and resolve. */
    int seen[5] = {0};
    for (int i = 0; i < SCRIPT_LEN; i++)
        seen[a[i]]++;
    assert_int_equal(seen[PDM_ALERT_OPENED], 2);
    assert_true(seen[PDM_ALERT_ESCALATED] >= 1 && seen[PDM_ALERT_RENOTIFIED] >= 1);
    assert_int_equal(seen[PDM_ALERT_RESOLVED], 1); /* the second, cleared; the first repaired */
    /* Every decision of one incident carries the id of its opening row. */
    char open_id[PDM_ALERT_ID_SIZE] = "";
    for (int i = 0; i < SCRIPT_LEN; i++) {
        if (a[i] == PDM_ALERT_OPENED) {
            snprintf(open_id, sizeof open_id, "%d-%lld", MACHINE, (long long)(T0 + H(i)));
            assert_string_equal(ida[i], open_id);
        } else if (a[i] != PDM_ALERT_NONE) {
            assert_string_equal(ida[i], open_id);
        }
    }
    /* The same rows again, and with a restart through the text form before
     * every row: the same decisions and the same ids. */
    for (int split = -1; split < SCRIPT_LEN; split++) {
        run_script(split, b, idb);
        for (int i = 0; i < SCRIPT_LEN; i++) {
            assert_int_equal(a[i], b[i]);
            assert_string_equal(ida[i], idb[i]);
        }
    }
    char id[PDM_ALERT_ID_SIZE];
    pdm_alert_incident_id(INT32_MAX, INT64_MIN + 1, id);
    assert_string_equal(id, "2147483647--9223372036854775807"); /* the longest fits */
}

/* ---- text form ---------------------------------------------------------------- */

static void assert_state_equal(const pdm_alert_state *a, const pdm_alert_state *b)
{
    assert_int_equal(a->above_enter, b->above_enter);
    assert_int_equal(a->above_clear, b->above_clear);
    assert_true(a->last_ts == b->last_ts);
    assert_int_equal(a->level, b->level);
    assert_int_equal(a->component, b->component);
    assert_true(a->opened_at == b->opened_at);
    assert_true(a->notified_at == b->notified_at);
    assert_int_equal(a->notified_level, b->notified_level);
    assert_memory_equal(&a->peak_risk, &b->peak_risk, sizeof a->peak_risk); /* bit for bit */
}

static void test_text_round_trip(void **state)
{
    (void)state;
    char text[PDM_ALERT_TEXT_MAX], err[PDM_ERRSTR_SIZE];
    pdm_alert_state a, b;
    pdm_alert_state_init(&a);
    int len = pdm_alert_state_encode(&a, text, sizeof text);
    assert_string_equal(text, "a2 0 0 - 0 0 - - 0 0");
    assert_int_equal(len, (int)strlen(text));

    pdm_alert_state cases[4];
    pdm_alert_state_init(&cases[0]);
    cases[0].above_enter = 0x5;
    cases[0].above_clear = 0x7;
    cases[0].last_ts = T0;
    /* Open, every field at an extreme. */
    cases[1] = (pdm_alert_state){UINT32_MAX,    UINT32_MAX, INT64_MAX, PDM_LEVEL_CRITICAL, 4,
                                 INT64_MIN + 1, INT64_MAX,  1.0,       PDM_LEVEL_CRITICAL};
    cases[2] =
        (pdm_alert_state){0x80000000u, 1,     -H(5),     PDM_LEVEL_WARN,    0,
                          -H(10),      -H(7), 0.1 + 0.2, PDM_LEVEL_CRITICAL}; /* before 1970, a
                                                 peak with 17 digits, dropped from CRITICAL */
    cases[3] = (pdm_alert_state){0, 0, T0 + 1, PDM_LEVEL_WARN, 1, T0, T0, 4.9e-324, PDM_LEVEL_WARN};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = pdm_alert_state_encode(&cases[i], text, sizeof text);
        assert_true(n > 0 && n < PDM_ALERT_TEXT_MAX);
        memset(&b, 0, sizeof b);
        assert_int_equal(pdm_alert_state_decode(text, (size_t)n, &b, err, sizeof err), 0);
        assert_state_equal(&cases[i], &b);
        /* And a buffer one byte short is refused, not cut. */
        assert_int_equal(pdm_alert_state_encode(&cases[i], text, (size_t)n), -1);
    }
}

static void test_text_refuses_garbage(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "a1",
        "a3 0 0 - 0 0 - - 0 0", /* another version */
        "a2 0 0 - 0 0 - - 0",   /* a2 without its notified level */
        "a2 0 0 - 0 0 - - 0 0 0",
        "a2 0 0 - 0 0 - - 0 3",   /* notified level out of range */
        "a2 0 0 - 0 0 - - 0 -",   /* notified level has no "none" */
        "a2 0 0 5 0 0 - - 0 1",   /* notified level without incident */
        "a2 0 0 5 2 2 4 5 0.5 1", /* CRITICAL but told only WARN */
        "a2 0 0 5 1 2 4 5 0.5 0", /* open but told nothing */
        "A1 0 0 - 0 0 - - 0",
        "a1 0 0 - 0 0 - -",     /* a field missing */
        "a1 0 0 - 0 0 - - 0 0", /* one too many */
        "a1 0 0 - 0 0 - - 0 ",  /* trailing space */
        " a1 0 0 - 0 0 - - 0",
        "a1 0  0 - 0 0 - - 0", /* empty field */
        "a1 0 0 - 0 0 - - 0\n",
        "a1 G 0 - 0 0 - - 0", /* not hex */
        "a1 A 0 - 0 0 - - 0", /* uppercase */
        "a1 0x1 0 - 0 0 - - 0",
        "a1 100000000 0 - 0 0 - - 0", /* more than 32 bits */
        "a1 0 0 x 0 0 - - 0",
        "a1 0 0 1e3 0 0 - - 0",
        "a1 0 0 99999999999999999999 0 0 - - 0", /* overflow */
        "a1 0 0 -9223372036854775808 0 0 - - 0", /* INT64_MIN is spelled "-" */
        "a1 0 0 +5 0 0 - - 0",
        "a1 0 0 - - 0 - - 0", /* level has no "none" */
        "a1 0 0 - 3 0 - - 0", /* level out of range */
        "a1 0 0 - -1 0 - - 0",
        "a1 0 0 - 0 5 - - 0", /* component out of range */
        "a1 0 0 - 0 0 - - nan",
        "a1 0 0 - 0 0 - - inf",
        "a1 0 0 - 0 0 - - 0x1p-3",
        "a1 0 0 - 0 0 - - 1e999",
        "a1 0 0 - 0 0 - - .",
        "a1 0 0 5 1 2 - - 0.5", /* open without opening time */
        "a1 0 0 5 0 2 - - 0",   /* component without incident */
        "a1 0 0 5 0 0 3 3 0",   /* times without incident */
        "a1 0 0 5 0 0 - - 0.5", /* peak without incident */
        "a1 0 0 5 1 2 4 3 0.5", /* notified before opened */
        "a1 0 0 5 1 2 4 6 0.5", /* notified after the last score */
        "a1 0 0 5 1 2 4 5 1.5", /* peak above 1 */
        "a1 0 0 5 1 2 4 5 -0.5",
    };
    char err[PDM_ERRSTR_SIZE];
    pdm_alert_state st, sentinel;
    memset(&sentinel, 0x5a, sizeof sentinel);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st = sentinel;
        err[0] = '\0';
        if (pdm_alert_state_decode(bad[i], strlen(bad[i]), &st, err, sizeof err) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(err[0] != '\0');
        assert_memory_equal(&st, &sentinel, sizeof st); /* untouched */
    }
    /* A valid text with a NUL inside its length, and too long a text. */
    static const char with_nul[] = "a1 0 0 - 0 0 - - 0\0";
    assert_int_equal(pdm_alert_state_decode(with_nul, sizeof with_nul - 1, &st, err, sizeof err),
                     -1);
    char longer[PDM_ALERT_TEXT_MAX + 8];
    memset(longer, '0', sizeof longer);
    memcpy(longer, "a2 0 0 - 0 0 - - 0 ", 19);
    assert_int_equal(pdm_alert_state_decode(longer, sizeof longer, &st, err, sizeof err), -1);
    /* The valid controls decode, so the refusals above are the edits'; an
     * a1 text (an older scorer's) takes its level as the level notified. */
    const char *good = "a1 0 0 5 1 2 4 5 0.5";
    assert_int_equal(pdm_alert_state_decode(good, strlen(good), &st, err, sizeof err), 0);
    assert_int_equal(st.level, PDM_LEVEL_WARN);
    assert_int_equal(st.notified_level, PDM_LEVEL_WARN);
    good = "a1 0 0 5 2 2 4 5 0.5";
    assert_int_equal(pdm_alert_state_decode(good, strlen(good), &st, err, sizeof err), 0);
    assert_int_equal(st.notified_level, PDM_LEVEL_CRITICAL);
    good = "a2 0 0 5 1 2 4 5 0.5 2";
    assert_int_equal(pdm_alert_state_decode(good, strlen(good), &st, err, sizeof err), 0);
    assert_int_equal(st.level, PDM_LEVEL_WARN);
    assert_int_equal(st.notified_level, PDM_LEVEL_CRITICAL);
    /* Every cut of a valid text before its last field is refused. */
    char text[PDM_ALERT_TEXT_MAX];
    int n = pdm_alert_state_encode(&(pdm_alert_state){7, 7, T0 + 9, PDM_LEVEL_CRITICAL, 3, T0,
                                                      T0 + 2, 0.75, PDM_LEVEL_CRITICAL},
                                   text, sizeof text);
    const char *last_space = strrchr(text, ' ');
    for (int len = 0; len <= (int)(last_space - text); len++)
        assert_int_equal(pdm_alert_state_decode(text, (size_t)len, &st, err, sizeof err), -1);
    assert_int_equal(pdm_alert_state_decode(text, (size_t)n, &st, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_invalid_rows),
        cmocka_unit_test(test_ids_stable),
        cmocka_unit_test(test_text_round_trip),
        cmocka_unit_test(test_text_refuses_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
