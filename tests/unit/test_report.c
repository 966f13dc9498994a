/* Unit tests of report/: a report written from synthetic data must be one
 * self-contained, well-formed document (every <svg> closed, no script, no
 * external resource, no NaN or inf in any coordinate, all text escaped)
 * that shows what it was given (titles, AUCs, counts, sorted importance,
 * the six machines, their failures and thresholds); the curve helper must
 * agree with an independent pairwise AUC; ticks, time ticks, escaping and
 * the per-pixel thinning of long lines are checked on their own. Where
 * python3 is installed it parses the whole file as strict XML and checks
 * every numeric attribute. Set PDM_TEST_REPORT_OUT=path to keep a copy of
 * the synthetic report for looking at. */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "pdm_report.h"
#include "report_internal.h"

#define NROWS 4000
#define NFEAT 30
#define NSERIES 8
#define HOURS (30 * 24)
#define T0 INT64_C(1704067200000) /* 2024-01-01 00:00 UTC, a Monday */

static const char *const title = "Fleet <A&B> \"test\" 'report'";
static const char *const title_escaped = "Fleet &lt;A&amp;B&gt; &quot;test&quot; &#39;report&#39;";

typedef struct {
    char dir[64];
    uint64_t rng;
    double score[NROWS];
    unsigned char positive[NROWS];
    pdm_report_points roc, pr;
    char names[NFEAT][32];
    const char *name_ptrs[NFEAT];
    double gain[NFEAT];
    int64_t ts[NSERIES][HOURS];
    double risk[NSERIES][HOURS];
    int64_t failures[NSERIES][3];
    int failure_class[NSERIES][3];
    char machine[NSERIES][64];
    pdm_report_series series[NSERIES];
    pdm_report_split splits[2];
    pdm_report_metric metrics[4];
    pdm_report_kv info[2];
    pdm_report_data d;
} fixture;

static double uniform(fixture *f)
{
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return (double)(f->rng >> 11) / 9007199254740992.0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/pdm-test-report-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->rng = 0x9E3779B97F4A7C15ULL;
    /* scores: 6% positives scoring higher on average, in steps of 0.01 so
     * that ties occur */
    for (int i = 0; i < NROWS; i++) {
        f->positive[i] = uniform(f) < 0.06;
        double s = f->positive[i] ? 0.35 + 0.65 * uniform(f) : 0.7 * pow(uniform(f), 2);
        f->score[i] = floor(s * 100) / 100;
    }
    char err[PDM_ERRSTR_SIZE];
    if (pdm_report_curves_from_scores(f->score, f->positive, NROWS, &f->roc, &f->pr, err,
                                      sizeof err))
        return -1;
    for (int j = 0; j < NFEAT; j++) {
        snprintf(f->names[j], sizeof f->names[j], "feature_%02d_mean_24h", j);
        f->name_ptrs[j] = f->names[j];
        f->gain[j] = 5 + 1000 * uniform(f);
    }
    for (int m = 0; m < NSERIES; m++) {
        snprintf(f->machine[m], sizeof f->machine[m],
                 m == 2 ? "<script>alert(%d)</script>" : "machine %d", 10 + m);
        int nf = 1 + m % 3;
        for (int k = 0; k < nf; k++) {
            f->failures[m][k] = T0 + (int64_t)(100 + 220 * k + 7 * m) * PDM_MS_PER_HOUR;
            f->failure_class[m][k] = 1 + (m + k) % 4;
        }
        for (int h = 0; h < HOURS; h++) {
            f->ts[m][h] = T0 + h * PDM_MS_PER_HOUR;
            double r = 0.05 + 0.05 * uniform(f);
            for (int k = 0; k < nf; k++) {
                double before = (double)(f->failures[m][k] - f->ts[m][h]) / PDM_MS_PER_HOUR;
                if (before >= 0 && before < 48)
                    r += 0.9 * (1 - before / 48);
            }
            f->risk[m][h] = m == 1 && h > 300 && h < 320 ? NAN : fmin(r, 1);
        }
        f->series[m] =
            (pdm_report_series){f->machine[m],       f->ts[m],  f->risk[m], HOURS, f->failures[m],
                                f->failure_class[m], (size_t)nf};
    }
    f->splits[0] =
        (pdm_report_split){"train", T0 - 300 * 24 * PDM_MS_PER_HOUR, T0 - 1, 123456, 2345};
    f->splits[1] = (pdm_report_split){"test", T0, T0 + HOURS * PDM_MS_PER_HOUR, NROWS, 240};
    f->metrics[0] = (pdm_report_metric){"macro F1", 0.61234};
    f->metrics[1] = (pdm_report_metric){"ROC AUC", 0.9321};
    f->metrics[2] = (pdm_report_metric){"PR AUC", 0.5};
    f->metrics[3] = (pdm_report_metric){"undefined metric", NAN};
    f->info[0] = (pdm_report_kv){"horizon", "24 h"};
    f->info[1] = (pdm_report_kv){"rounds", "200"};

    pdm_report_data *d = &f->d;
    pdm_report_data_init(d);
    d->title = title;
    d->model_version = "v20240101-abc";
    d->generated_ms = T0 + 1000;
    d->splits = f->splits;
    d->n_splits = 2;
    d->info = f->info;
    d->n_info = 2;
    d->metrics = f->metrics;
    d->n_metrics = 4;
    d->roc = (pdm_report_curve){f->roc.x, f->roc.y, f->roc.n, 0.9321};
    d->pr = (pdm_report_curve){f->pr.x, f->pr.y, f->pr.n, 0.5};
    d->pr_baseline = 0.06;
    d->warn = 0.31;
    d->critical = 0.62;
    d->warn_precision = 0.4;
    d->warn_recall = 0.8;
    d->critical_precision = 0.85;
    d->critical_recall = 0.45;
    static const size_t confusion[5][5] = {{12345, 20, 10, 5, 3},
                                           {7, 60, 2, 1, 0},
                                           {9, 1, 55, 0, 2},
                                           {4, 0, 3, 40, 1},
                                           {0, 0, 0, 0, 0}};
    memcpy(d->confusion, confusion, sizeof confusion);
    d->feature_names = f->name_ptrs;
    d->importance = f->gain;
    d->n_features = NFEAT;
    d->series = f->series;
    d->n_series = NSERIES;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    pdm_report_points_free(&f->roc);
    pdm_report_points_free(&f->pr);
    free(f);
    return rc;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static char *render(const pdm_report_data *d)
{
    char err[PDM_ERRSTR_SIZE], *html = NULL;
    size_t len = 0;
    if (pdm_report_render_html(d, &html, &len, err, sizeof err))
        fail_msg("render: %s", err);
    assert_int_equal(strlen(html), len);
    return html;
}

/* ---- the whole report -------------------------------------------------------- */

static void test_report_content(void **state)
{
    fixture *f = *state;
    char *html = render(&f->d);

    /* structure: 4 charts + 6 machines, every one closed and titled */
    assert_int_equal(strncmp(html, "<!DOCTYPE html>", 15), 0);
    assert_int_equal(count(html, "<svg "), 4 + PDM_REPORT_MAX_SERIES);
    assert_int_equal(count(html, "</svg>"), 4 + PDM_REPORT_MAX_SERIES);
    assert_int_equal(count(html, "<title>"), 1 + 4 + PDM_REPORT_MAX_SERIES);
    assert_non_null(strstr(html, "</html>\n"));

    /* self-contained and script-free, names included */
    assert_null(strcasestr(html, "<script"));
    assert_null(strcasestr(html, "src="));
    assert_null(strcasestr(html, "href="));
    assert_null(strcasestr(html, "url("));
    assert_null(strcasestr(html, "@import"));
    assert_int_equal(count(html, "http"), count(html, "http://www.w3.org/2000/svg"));
    assert_non_null(strstr(html, "<h3>&lt;script&gt;alert(12)&lt;/script&gt;<span"));
    assert_non_null(strstr(html, "<h3>machine 10<span"));

    /* the header */
    assert_non_null(strstr(html, title_escaped));
    assert_null(strstr(html, "<A&B>"));
    assert_non_null(strstr(html, "v20240101-abc"));
    assert_non_null(strstr(html, "generated 2024-01-01 00:00 UTC"));
    assert_non_null(strstr(html, "<td class=\"num\">123,456</td>"));
    assert_non_null(strstr(html, "2023-03-07 00:00")); /* train from: T0 - 300 days */
    assert_non_null(strstr(html, "<td>macro F1</td><td class=\"num\">0.6123</td>"));
    assert_non_null(strstr(html, "<td>undefined metric</td><td class=\"num\">n/a</td>"));
    assert_null(strstr(html, "<td>WARN threshold</td>")); /* metrics are shown as given */
    assert_non_null(strstr(html, "<td>horizon</td><td>24 h</td>"));

    /* curves: AUCs in the legends, operating points */
    assert_non_null(strstr(html, "any failure, AUC 0.9321"));
    assert_non_null(strstr(html, "any failure, AP 0.5000"));
    assert_non_null(strstr(html, "no skill (0.0600)"));
    assert_non_null(strstr(html, ">WARN 0.3100</text>"));
    assert_non_null(strstr(html, ">CRITICAL 0.6200</text>"));

    /* confusion matrix counts and the per-class table derived from it:
     * comp1 precision = 60 / (20 + 60 + 1) */
    assert_non_null(strstr(html, ">12,345</text>"));
    char expect[256];
    snprintf(expect, sizeof expect,
             "<td>comp1</td><td class=\"num\">70</td><td class=\"num\">81</td>"
             "<td class=\"num\">%.4f</td><td class=\"num\">%.4f</td>",
             60.0 / 81, 60.0 / 70);
    assert_non_null(strstr(html, expect));
    assert_non_null(strstr(html, "<td>comp4</td><td class=\"num\">0</td><td class=\"num\">6</td>"
                                 "<td class=\"num\">0.0000</td><td class=\"num\">n/a</td>"));

    /* importance: the top 27 of 30, in decreasing order of gain */
    int order[NFEAT];
    for (int j = 0; j < NFEAT; j++)
        order[j] = j;
    for (int i = 1; i < NFEAT; i++)
        for (int j = i; j > 0 && f->gain[order[j]] > f->gain[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    const char *prev = html;
    for (int i = 0; i < NFEAT; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, ">%s</text>", f->names[order[i]]);
        const char *at = strstr(html, needle);
        if (i < PDM_REPORT_MAX_FEATURES) {
            if (!at || at < prev)
                fail_msg("feature %s (rank %d) missing or out of order", f->names[order[i]], i);
            prev = at;
        } else {
            assert_null(at);
        }
    }
    assert_non_null(strstr(html, "3 more features not shown"));

    /* machines: six shown, each failure a line, each threshold a dashed line */
    assert_non_null(strstr(html, "2 more machines with failures not shown."));
    size_t failures = 0;
    for (int m = 0; m < PDM_REPORT_MAX_SERIES; m++)
        failures += f->series[m].n_failures;
    assert_int_equal(count(html, "stroke=\"" COLOR_FAILURE "\" stroke-width=\"1.6\""), failures);
    assert_int_equal(count(html, "stroke-dasharray=\"6 4\""), 2 * PDM_REPORT_MAX_SERIES);
    assert_non_null(strstr(html, ">comp2</text>"));
    assert_non_null(strstr(html, ">Jan 08</text>")); /* weekly ticks on Mondays */
    assert_null(strstr(html, "machine 16"));         /* the seventh is not drawn */

    /* no NaN or inf anywhere outside the "n/a" text */
    assert_null(strcasestr(html, "nan"));
    assert_null(strcasestr(html, "inf\""));
    assert_null(strstr(html, "=\"-inf"));
    free(html);
}

static void test_write_and_python(void **state)
{
    fixture *f = *state;
    char err[PDM_ERRSTR_SIZE], path[128];
    snprintf(path, sizeof path, "%s/report.html", f->dir);
    assert_int_equal(pdm_report_write_html(&f->d, path, err, sizeof err), 0);
    pdm_buf file = {0};
    assert_int_equal(pdm_read_file(path, &file, err, sizeof err), 0);
    char *html = render(&f->d);
    assert_string_equal(file.data, html);
    free(html);
    pdm_buf_free(&file);
    /* nothing else left in the directory (the temporary file was renamed) */
    DIR *dir = opendir(f->dir);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(dir)) != NULL)
        entries += e->d_name[0] != '.';
    closedir(dir);
    assert_int_equal(entries, 1);
    assert_int_equal(pdm_report_write_html(&f->d, "/nonexistent/dir/r.html", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/dir"));

    const char *keep = getenv("PDM_TEST_REPORT_OUT");
    if (keep && *keep)
        assert_int_equal(pdm_report_write_html(&f->d, keep, err, sizeof err), 0);

    if (system("python3 -c 'import xml.etree.ElementTree' >/dev/null 2>&1") != 0) {
        print_message("python3 not available: strict XML check skipped\n");
        return;
    }
    /* Strict XML parse of the whole page; every SVG titled; every numeric
     * attribute made of numbers and path commands only. */
    char cmd[3072];
    snprintf(cmd, sizeof cmd,
             "python3 -c '\n"
             "import re, sys, xml.etree.ElementTree as ET\n"
             "root = ET.parse(sys.argv[1]).getroot()\n"
             "SVG = \"{http://www.w3.org/2000/svg}\"\n"
             "svgs = [e for e in root.iter() if e.tag == SVG + \"svg\"]\n"
             "assert len(svgs) == 10, len(svgs)\n"
             "numeric = {\"x\", \"y\", \"x1\", \"y1\", \"x2\", \"y2\", \"cx\", \"cy\", \"r\",\n"
             "           \"width\", \"height\", \"d\", \"viewBox\", \"transform\", \"font-size\",\n"
             "           \"stroke-width\", \"stroke-dasharray\", \"fill-opacity\", \"rx\"}\n"
             "ok = re.compile(r\"^(rotate\\()?[-0-9., MLHVlhvz]*\\)?$\")\n"
             "checked = 0\n"
             "for s in svgs:\n"
             "    assert s.find(SVG + \"title\") is not None\n"
             "    for e in s.iter():\n"
             "        assert e.tag.startswith(SVG), e.tag\n"
             "        for k, v in e.attrib.items():\n"
             "            if k in numeric:\n"
             "                assert ok.match(v) and \"nan\" not in v.lower(), (e.tag, k, v)\n"
             "                checked += 1\n"
             "assert checked > 1000, checked\n"
             "tags = {e.tag for e in root.iter()}\n"
             "assert not any(t.lower().endswith(\"script\") for t in tags)\n"
             "assert not any(k in (\"src\", \"href\") or k.startswith(\"on\")\n"
             "               for e in root.iter() for k in e.attrib)\n"
             "text = \"\".join(root.itertext())\n"
             "assert \"Fleet <A&B> \\\"test\\\" \\x27report\\x27\" in text\n"
             "assert \"<script>alert(12)</script>\" in text\n"
             "paths = [e for e in root.iter() if e.tag == SVG + \"path\" and\n"
             "         e.get(\"stroke\") == \"#0072B2\"]\n"
             "assert len(paths) == 8, len(paths)\n"
             "' '%s'",
             path);
    assert_int_equal(system(cmd), 0);
}

static void test_empty_report(void **state)
{
    (void)state;
    pdm_report_data d;
    pdm_report_data_init(&d);
    char *html = render(&d);
    assert_int_equal(count(html, "<svg "), 4);
    assert_int_equal(count(html, "</svg>"), 4);
    assert_non_null(strstr(html, "no ROC curve"));
    assert_non_null(strstr(html, "no precision-recall curve"));
    assert_non_null(strstr(html, "no feature importance"));
    assert_non_null(strstr(html, "No test machine had a failure."));
    assert_non_null(strstr(html, "Training report"));
    assert_null(strcasestr(html, "nan"));
    free(html);

    /* a machine with no scores, only a failure; one with a single score */
    int64_t ts = T0, fail = T0 + 5 * PDM_MS_PER_HOUR;
    double r = 0.5;
    pdm_report_series s[2] = {{"a", NULL, NULL, 0, &fail, NULL, 1},
                              {"b", &ts, &r, 1, NULL, NULL, 0}};
    d.series = s;
    d.n_series = 2;
    html = render(&d);
    assert_int_equal(count(html, "<svg "), 6);
    assert_non_null(strstr(html, ">failure</text>"));
    assert_null(strcasestr(html, "nan"));
    free(html);
}

/* ---- the pieces ---------------------------------------------------------------- */

static void test_curves_from_scores(void **state)
{
    fixture *f = *state;
    /* ROC area by trapezoids equals the pairwise (Mann-Whitney) AUC */
    double area = 0;
    for (size_t i = 1; i < f->roc.n; i++)
        area += (f->roc.x[i] - f->roc.x[i - 1]) * (f->roc.y[i] + f->roc.y[i - 1]) / 2;
    double wins = 0, pairs = 0;
    for (int i = 0; i < NROWS; i++) {
        if (!f->positive[i])
            continue;
        for (int j = 0; j < NROWS; j++) {
            if (f->positive[j])
                continue;
            pairs++;
            wins += f->score[i] > f->score[j] ? 1 : f->score[i] == f->score[j] ? 0.5 : 0;
        }
    }
    assert_float_equal(area, wins / pairs, 1e-9);
    assert_float_equal(f->roc.x[0], 0, 0);
    assert_float_equal(f->roc.y[0], 0, 0);
    assert_float_equal(f->roc.x[f->roc.n - 1], 1, 1e-12);
    assert_float_equal(f->roc.y[f->roc.n - 1], 1, 1e-12);
    /* at most 101 distinct scores: 102 ROC points */
    assert_true(f->roc.n <= 102);
    size_t npos = 0;
    for (int i = 0; i < NROWS; i++)
        npos += f->positive[i];
    assert_float_equal(f->pr.x[0], 0, 0);
    assert_float_equal(f->pr.x[f->pr.n - 1], 1, 1e-12);
    assert_float_equal(f->pr.y[f->pr.n - 1], (double)npos / NROWS, 1e-12);
    for (size_t i = 1; i < f->pr.n; i++)
        assert_true(f->pr.x[i] >= f->pr.x[i - 1]);

    /* tiny exact case: scores 0.9(+) 0.8(-) 0.8(+) 0.1(-) NaN(+) */
    double s[] = {0.9, 0.8, 0.8, 0.1, NAN};
    unsigned char p[] = {1, 0, 1, 0, 1};
    pdm_report_points roc, pr;
    char err[PDM_ERRSTR_SIZE];
    assert_int_equal(pdm_report_curves_from_scores(s, p, 5, &roc, &pr, err, sizeof err), 0);
    double rx[] = {0, 0, 0.5, 1}, ry[] = {0, 0.5, 1, 1};
    double px[] = {0, 0.5, 1, 1}, py[] = {1, 1, 2.0 / 3, 0.5};
    assert_int_equal(roc.n, 4);
    assert_int_equal(pr.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_float_equal(roc.x[i], rx[i], 1e-12);
        assert_float_equal(roc.y[i], ry[i], 1e-12);
        assert_float_equal(pr.x[i], px[i], 1e-12);
        assert_float_equal(pr.y[i], py[i], 1e-12);
    }
    pdm_report_points_free(&roc);
    pdm_report_points_free(&pr);
    unsigned char all[] = {1, 1, 1, 1, 1};
    assert_int_equal(pdm_report_curves_from_scores(s, all, 5, &roc, &pr, err, sizeof err), -1);
    assert_null(roc.x);
}

static void test_ticks(void **state)
{
    (void)state;
    double t[16];
    int n = nice_ticks(0, 1, 5, t, 16);
    assert_int_equal(n, 6);
    for (int i = 0; i < n; i++)
        assert_float_equal(t[i], 0.2 * i, 1e-12);
    n = nice_ticks(0, 0.37, 4, t, 16);
    assert_int_equal(n, 4);
    assert_float_equal(t[3], 0.3, 1e-12);
    n = nice_ticks(3, 3, 4, t, 16);
    assert_int_equal(n, 1);
    assert_int_equal(nice_ticks(NAN, 1, 4, t, 16), 0);

    int64_t ts[32], step = 0;
    char label[32], date[32];
    /* 30 days: weekly, on Mondays 00:00 */
    n = time_ticks(T0 + 1, T0 + 30 * 24 * PDM_MS_PER_HOUR, 5, ts, 32, &step);
    assert_int_equal(step, 7 * 24 * PDM_MS_PER_HOUR);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) {
        time_t sec = (time_t)(ts[i] / 1000);
        struct tm tm;
        gmtime_r(&sec, &tm);
        assert_int_equal(tm.tm_wday, 1);
        assert_int_equal(tm.tm_hour, 0);
    }
    time_tick_label(ts[0], step, label, sizeof label, date, sizeof date);
    assert_string_equal(label, "Jan 08");
    assert_string_equal(date, "");
    /* 36 hours: every 12 h, with a date line */
    n = time_ticks(T0, T0 + 36 * PDM_MS_PER_HOUR, 5, ts, 32, &step);
    assert_int_equal(step, 12 * PDM_MS_PER_HOUR);
    assert_int_equal(n, 4);
    time_tick_label(ts[1], step, label, sizeof label, date, sizeof date);
    assert_string_equal(label, "12:00");
    assert_string_equal(date, "Jan 01");
    /* two years: half-years, on Jan 1 and Jul 1 */
    n = time_ticks(T0 - 1, T0 + 2 * 366 * 24 * PDM_MS_PER_HOUR, 5, ts, 32, &step);
    assert_int_equal(n, 5);
    char full[32];
    pdm_time_format(ts[1], full);
    assert_string_equal(full, "2024-07-01 00:00:00");
    time_tick_label(ts[0], step, label, sizeof label, date, sizeof date);
    assert_string_equal(label, "Jan 2024");
}

static void test_escape_and_values(void **state)
{
    (void)state;
    pdm_buf b = {0};
    assert_int_equal(report_escape(&b, "a<b>&\"c'\x01\x7f\tü\xff\xc3(z\xed\xa0\x80"), 0);
    assert_string_equal(b.data, "a&lt;b&gt;&amp;&quot;c&#39;\tü\xEF\xBF\xBD\xEF\xBF\xBD(z"
                                "\xEF\xBF\xBD");
    pdm_buf_free(&b);
    char v[48];
    report_format_count(1234567, v, sizeof v);
    assert_string_equal(v, "1,234,567");
    report_format_count(-1000, v, sizeof v);
    assert_string_equal(v, "-1,000");
    report_format_count(0, v, sizeof v);
    assert_string_equal(v, "0");
    report_format_value(0, v, sizeof v);
    assert_string_equal(v, "0.0000");
    report_format_value(1, v, sizeof v);
    assert_string_equal(v, "1.0000");
    report_format_value(240, v, sizeof v);
    assert_string_equal(v, "240");
    report_format_value(1234.5, v, sizeof v);
    assert_string_equal(v, "1234.5");
    report_format_value(0.123456, v, sizeof v);
    assert_string_equal(v, "0.1235");
    report_format_value(0.0000123, v, sizeof v);
    assert_string_equal(v, "1.23e-05");
    report_format_value(NAN, v, sizeof v);
    assert_string_equal(v, "n/a");
}

static void test_line_thinning(void **state)
{
    (void)state;
    enum { N = 100000 };
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++) {
        x[i] = i;
        y[i] = 0.1;
    }
    y[54321] = 1.0; /* one spike must survive */
    y[70000] = NAN; /* a gap: a new subpath */
    plot_frame f = {0, 0, 300, 100, 0, N - 1, 0, 1};
    pdm_buf b = {0};
    assert_int_equal(svg_data_path(&b, &f, x, y, N, "#000", 1, NULL), 0);
    size_t points = count(b.data, "L") + count(b.data, "M");
    assert_true(points <= 4 * 302);
    assert_true(points >= 300);
    assert_int_equal(count(b.data, "M"), 2);
    char spike[32];
    snprintf(spike, sizeof spike, "%.1f 0.0", frame_x(&f, 54321));
    assert_non_null(strstr(b.data, spike));
    pdm_buf_free(&b);
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_and_python, setup, teardown),
        cmocka_unit_test(test_empty_report),
        cmocka_unit_test_setup_teardown(test_curves_from_scores, setup, teardown),
        cmocka_unit_test(test_ticks),
        cmocka_unit_test(test_escape_and_values),
        cmocka_unit_test(test_line_thinning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
