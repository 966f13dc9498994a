/* report.c: the HTML document around the charts: header facts, tables,
 * layout and the atomic write.
 *
 * The page is meant to be looked at, top to bottom: what model and data
 * this is, how good it is (key metrics, per class), then the pictures that
 * show why. It must open offline and stay safe with any names in the data,
 * so there is no script and no external resource, every string goes through
 * report_escape, and the whole document is also well-formed XML (closed
 * tags, only XML's own entities), which lets tests parse it strictly.
 */
#include "report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char stylesheet[] =
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#F4F5F7;color:" COLOR_TEXT ";font:14px/1.45 " FONT_FAMILY "}\n"
    "main{max-width:1240px;margin:0 auto;padding:24px}\n"
    "header{background:#FFFFFF;border-radius:10px;padding:20px 24px;margin-bottom:18px;"
    "border-left:6px solid " COLOR_RISK "}\n"
    "h1{margin:0 0 4px;font-size:24px}\n"
    "h2{font-size:18px;margin:26px 0 10px}\n"
    "h3{font-size:15px;margin:0 0 8px}\n"
    ".sub{color:#555555;margin:0}\n"
    ".version{font-family:ui-monospace,'DejaVu Sans Mono',monospace;background:#EEF4FA;"
    "padding:1px 6px;border-radius:4px}\n"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:16px}\n"
    ".card{background:#FFFFFF;border-radius:10px;padding:14px 16px;"
    "box-shadow:0 1px 2px rgba(0,0,0,0.08)}\n"
    ".card svg{width:100%;height:auto;display:block}\n"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\n"
    "th,td{padding:4px 8px;border-bottom:1px solid #ECECEC;text-align:left}\n"
    "th{font-weight:600;color:#555555;font-size:12px;text-transform:uppercase;"
    "letter-spacing:0.03em}\n"
    "td.num,th.num{text-align:right}\n"
    "tr:last-child td{border-bottom:none}\n"
    ".note{color:#666666;font-size:12px;margin:8px 0 0}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:18px;margin:0 0 10px;color:#444444;font-size:13px}\n"
    ".legend span{display:inline-flex;align-items:center;gap:6px}\n"
    ".swatch{display:inline-block;width:24px;height:0;border-top:2px solid}\n"
    "footer{color:#777777;font-size:12px;margin-top:24px;text-align:center}\n";

static int escaped_cell(pdm_buf *b, const char *tag, const char *cls, const char *text)
{
    int rc = pdm_buf_printf(b, "<%s%s%s%s>", tag, cls ? " class=\"" : "", cls ? cls : "",
                            cls ? "\"" : "");
    rc |= report_escape(b, text);
    rc |= pdm_buf_printf(b, "</%s>", tag);
    return rc;
}

static int value_cell(pdm_buf *b, double v)
{
    char text[48];
    report_format_value(v, text, sizeof text);
    return escaped_cell(b, "td", "num", text);
}

static int count_cell(pdm_buf *b, size_t n)
{
    char text[48];
    report_format_count((double)n, text, sizeof text);
    return escaped_cell(b, "td", "num", text);
}

static int write_header(pdm_buf *b, const pdm_report_data *d)
{
    char when[32];
    report_format_time(d->generated_ms ? d->generated_ms : pdm_now_ms(), when, sizeof when);
    int rc = pdm_buf_printf(b, "<header><h1>");
    rc |= report_escape(b, d->title ? d->title : "Training report");
    rc |= pdm_buf_printf(b, "</h1><p class=\"sub\">model <span class=\"version\">");
    rc |= report_escape(b, d->model_version ? d->model_version : "unversioned");
    rc |= pdm_buf_printf(b, "</span> &#183; generated %s UTC</p></header>\n", when);
    return rc;
}

static int write_data_card(pdm_buf *b, const pdm_report_data *d)
{
    int rc = pdm_buf_printf(b, "<div class=\"card\"><h3>Data</h3><table><tr><th>split</th>"
                               "<th>from (UTC)</th><th>to (UTC)</th><th class=\"num\">rows</th>"
                               "<th class=\"num\">failure rows</th><th class=\"num\">rate</th>"
                               "</tr>\n");
    for (size_t i = 0; i < d->n_splits; i++) {
        const pdm_report_split *s = &d->splits[i];
        char from[32], to[32];
        report_format_time(s->from_ms, from, sizeof from);
        report_format_time(s->to_ms, to, sizeof to);
        rc |= pdm_buf_printf(b, "<tr>");
        rc |= escaped_cell(b, "td", NULL, s->name ? s->name : "");
        rc |= escaped_cell(b, "td", NULL, from);
        rc |= escaped_cell(b, "td", NULL, to);
        rc |= count_cell(b, s->rows);
        rc |= count_cell(b, s->positives);
        rc |= value_cell(b, s->rows ? (double)s->positives / (double)s->rows : NAN);
        rc |= pdm_buf_printf(b, "</tr>\n");
    }
    rc |= pdm_buf_printf(b, "</table>\n");
    if (d->n_info) {
        rc |= pdm_buf_printf(b, "<table style=\"margin-top:10px\">\n");
        for (size_t i = 0; i < d->n_info; i++) {
            rc |= pdm_buf_printf(b, "<tr>");
            rc |= escaped_cell(b, "td", NULL, d->info[i].key ? d->info[i].key : "");
            rc |= escaped_cell(b, "td", NULL, d->info[i].value ? d->info[i].value : "");
            rc |= pdm_buf_printf(b, "</tr>\n");
        }
        rc |= pdm_buf_printf(b, "</table>\n");
    }
    rc |= pdm_buf_printf(b, "</div>\n");
    return rc;
}

static int write_metrics_card(pdm_buf *b, const pdm_report_data *d)
{
    int rc = pdm_buf_printf(b, "<div class=\"card\"><h3>Key metrics</h3><table>"
                               "<tr><th>metric</th><th class=\"num\">value</th></tr>\n");
    for (size_t i = 0; i < d->n_metrics; i++) {
        rc |= pdm_buf_printf(b, "<tr>");
        rc |= escaped_cell(b, "td", NULL, d->metrics[i].name ? d->metrics[i].name : "");
        rc |= value_cell(b, d->metrics[i].value);
        rc |= pdm_buf_printf(b, "</tr>\n");
    }
    rc |= pdm_buf_printf(b, "</table></div>\n");
    return rc;
}

/* Precision, recall and F1 per class, derived from the confusion matrix. */
static int write_class_table(pdm_buf *b, const pdm_report_data *d)
{
    enum { K = PDM_REPORT_N_CLASSES };
    int rc = pdm_buf_printf(b, "<table style=\"margin-top:10px\"><tr><th>class</th>"
                               "<th class=\"num\">support</th><th class=\"num\">predicted</th>"
                               "<th class=\"num\">precision</th><th class=\"num\">recall</th>"
                               "<th class=\"num\">F1</th></tr>\n");
    for (int k = 0; k < K; k++) {
        size_t row = 0, col = 0, hit = d->confusion[k][k];
        for (int j = 0; j < K; j++) {
            row += d->confusion[k][j];
            col += d->confusion[j][k];
        }
        double p = col ? (double)hit / (double)col : NAN;
        double r = row ? (double)hit / (double)row : NAN;
        double f1 = isfinite(p) && isfinite(r) ? (p + r > 0 ? 2 * p * r / (p + r) : 0) : NAN;
        rc |= pdm_buf_printf(b, "<tr>");
        rc |= escaped_cell(b, "td", NULL, report_class_name(d, k));
        rc |= count_cell(b, row);
        rc |= count_cell(b, col);
        rc |= value_cell(b, p);
        rc |= value_cell(b, r);
        rc |= value_cell(b, f1);
        rc |= pdm_buf_printf(b, "</tr>\n");
    }
    rc |= pdm_buf_printf(b, "</table>\n");
    return rc;
}

static int write_series_section(pdm_buf *b, const pdm_report_data *d)
{
    int rc = pdm_buf_printf(b, "<h2>Risk over time: test machines with failures</h2>\n");
    size_t shown = d->n_series < PDM_REPORT_MAX_SERIES ? d->n_series : PDM_REPORT_MAX_SERIES;
    if (shown == 0 || !d->series)
        return rc | pdm_buf_printf(b, "<p class=\"note\">No test machine had a failure.</p>\n");
    rc |= pdm_buf_printf(
        b, "<div class=\"legend\">"
           "<span><i class=\"swatch\" style=\"border-color:" COLOR_RISK "\"></i>risk</span>"
           "<span><i class=\"swatch\" style=\"border-color:" COLOR_WARN
           ";border-top-style:dashed\"></i>WARN threshold</span>"
           "<span><i class=\"swatch\" style=\"border-color:" COLOR_CRITICAL
           ";border-top-style:dashed\"></i>CRITICAL threshold</span>"
           "<span><i class=\"swatch\" style=\"width:0;height:14px;border-top:none;"
           "border-left:2px solid " COLOR_FAILURE "\"></i>failure (component)</span>"
           "</div>\n<div class=\"grid\">\n");
    for (size_t i = 0; i < shown; i++) {
        const pdm_report_series *s = &d->series[i];
        char facts[96];
        snprintf(facts, sizeof facts, " \xC2\xB7 %zu failure%s \xC2\xB7 %zu scores", s->n_failures,
                 s->n_failures == 1 ? "" : "s", s->n);
        rc |= pdm_buf_printf(b, "<div class=\"card\"><h3>");
        rc |= report_escape(b, s->machine ? s->machine : "?");
        rc |= pdm_buf_printf(b, "<span class=\"sub\" style=\"font-weight:normal\">");
        rc |= report_escape(b, facts);
        rc |= pdm_buf_printf(b, "</span></h3>\n");
        rc |= chart_series(b, d, s);
        rc |= pdm_buf_printf(b, "</div>\n");
    }
    rc |= pdm_buf_printf(b, "</div>\n");
    if (d->n_series > shown)
        rc |=
            pdm_buf_printf(b, "<p class=\"note\">%zu more machines with failures not shown.</p>\n",
                           d->n_series - shown);
    return rc;
}

/* The alert policy against --emit changes: figures side by side, and the
 * lead times of the failures each caught. */
static int write_alerting_section(pdm_buf *b, const pdm_report_data *d)
{
    const pdm_report_alerting *a = &d->alerting;
    int rc = pdm_buf_printf(b, "<h2>Alerting: incidents against --emit changes (test rows)</h2>\n");
    if (a->n_figures == 0 || !a->figures)
        return rc |
               pdm_buf_printf(b, "<p class=\"note\">The alert policy was not evaluated.</p>\n");
    rc |= pdm_buf_printf(b, "<div class=\"grid\">\n<div class=\"card\"><h3>Notifications and "
                            "caught failures</h3><table><tr><th>figure</th><th class=\"num\">"
                            "incidents</th><th class=\"num\">changes</th></tr>\n");
    for (size_t i = 0; i < a->n_figures; i++) {
        rc |= pdm_buf_printf(b, "<tr>");
        rc |= escaped_cell(b, "td", NULL, a->figures[i].name ? a->figures[i].name : "");
        rc |= value_cell(b, a->figures[i].policy);
        rc |= value_cell(b, a->figures[i].changes);
        rc |= pdm_buf_printf(b, "</tr>\n");
    }
    rc |= pdm_buf_printf(b, "</table>\n<p class=\"note\">");
    rc |= report_escape(b, a->policy ? a->policy : "");
    rc |= pdm_buf_printf(b, "</p></div>\n<div class=\"card\"><h3>Lead time of caught "
                            "failures</h3>\n");
    rc |= chart_lead_times(b, a);
    rc |= pdm_buf_printf(b, "</div>\n</div>\n");
    return rc;
}

void pdm_report_data_init(pdm_report_data *d)
{
    memset(d, 0, sizeof *d);
    d->roc.auc = d->pr.auc = NAN;
    d->pr_baseline = NAN;
    d->warn = d->critical = NAN;
    d->warn_precision = d->warn_recall = NAN;
    d->critical_precision = d->critical_recall = NAN;
}

int pdm_report_render_html(const pdm_report_data *d, char **out, size_t *len, char *errstr,
                           size_t errlen)
{
    pdm_buf b = {0};
    int rc = pdm_buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                                "<meta charset=\"utf-8\"/>\n"
                                "<meta name=\"viewport\" content=\"width=device-width, "
                                "initial-scale=1\"/>\n<title>");
    rc |= report_escape(&b, d->title ? d->title : "Training report");
    rc |= pdm_buf_printf(&b, " \xC2\xB7 ");
    rc |= report_escape(&b, d->model_version ? d->model_version : "unversioned");
    rc |=
        pdm_buf_printf(&b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", stylesheet);
    rc |= write_header(&b, d);
    rc |= pdm_buf_printf(&b, "<div class=\"grid\">\n");
    rc |= write_data_card(&b, d);
    rc |= write_metrics_card(&b, d);
    rc |= pdm_buf_printf(&b, "</div>\n");

    rc |= pdm_buf_printf(&b, "<h2>Any-failure risk: ranking quality</h2>\n<div class=\"grid\">\n"
                             "<div class=\"card\"><h3>ROC curve</h3>\n");
    rc |= chart_roc(&b, d);
    rc |= pdm_buf_printf(&b, "</div>\n<div class=\"card\"><h3>Precision-recall curve</h3>\n");
    rc |= chart_pr(&b, d);
    rc |= pdm_buf_printf(&b, "</div>\n</div>\n");

    rc |= pdm_buf_printf(&b, "<h2>Components: classes and features</h2>\n<div class=\"grid\">\n"
                             "<div class=\"card\"><h3>Confusion matrix</h3>\n");
    rc |= chart_confusion(&b, d);
    rc |= write_class_table(&b, d);
    rc |= pdm_buf_printf(&b, "</div>\n<div class=\"card\"><h3>Feature importance (gain)</h3>\n");
    rc |= chart_importance(&b, d);
    rc |= pdm_buf_printf(&b, "</div>\n</div>\n");

    rc |= write_series_section(&b, d);
    rc |= write_alerting_section(&b, d);
    rc |= pdm_buf_printf(&b, "<footer>pdm training report &#183; self-contained: no scripts, "
                             "no external resources</footer>\n</main>\n</body>\n</html>\n");
    if (rc) {
        pdm_buf_free(&b);
        return pdm_err(errstr, errlen, "report: out of memory");
    }
    *out = b.data;
    *len = b.len;
    return 0;
}

int pdm_report_write_html(const pdm_report_data *d, const char *path, char *errstr, size_t errlen)
{
    char *html = NULL;
    size_t len = 0;
    if (pdm_report_render_html(d, &html, &len, errstr, errlen))
        return -1;
    int rc = pdm_write_file_atomic(path, html, len, errstr, errlen);
    free(html);
    return rc;
}
