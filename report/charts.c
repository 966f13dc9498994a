/* charts.c: the report's five kinds of chart, each one SVG document drawn
 * from the plain data in pdm_report_data.
 *
 * Choices that make them readable rather than merely correct:
 * - the confusion matrix is shaded by the share of its row (recall per true
 *   class), not by raw count, because "none" outnumbers every failure class
 *   by orders of magnitude and would otherwise be the only dark cell;
 * - feature importance is shown as a share of the total gain, sorted, so the
 *   bars compare features rather than XGBoost's unit-less gain sums;
 * - each machine gets its own small chart with the same axes, colours and
 *   threshold bands, so that risk rising before a failure is seen at a glance.
 */
#include "report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CURVE_W 440.0
#define CURVE_H 372.0
#define TEXT_CHAR_W 6.4 /* average glyph width at 11px, for layout only */

static const plot_frame unit_frame = {60, 14, 360, 300, 0, 1, 0, 1};

/* A legend: a white box with one line swatch (or dot) per entry, in the
 * bottom corner of the frame where the curve usually is not: bottom-right
 * for ROC, bottom-left for precision-recall. */
typedef struct {
    const char *color;
    const char *dash; /* NULL: solid */
    int dot;          /* 1: a marker instead of a line */
    const char *text;
} legend_entry;

static int legend(pdm_buf *b, const plot_frame *f, int at_left, const legend_entry *e, int n)
{
    double width = 0;
    for (int i = 0; i < n; i++) {
        double w = 34 + TEXT_CHAR_W * (double)strlen(e[i].text);
        if (w > width)
            width = w;
    }
    double height = 8 + 17.0 * n, bottom = f->top + f->height;
    double x = at_left ? f->left + 8 : f->left + f->width - width - 8, y = bottom - height - 8;
    int rc = pdm_buf_printf(b,
                            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"4\" "
                            "fill=\"#FFFFFF\" fill-opacity=\"0.92\" stroke=\"" COLOR_GRID "\"/>\n",
                            x, y, width, height);
    for (int i = 0; i < n; i++) {
        double ly = y + 14 + 17.0 * i;
        if (e[i].dot)
            rc |= pdm_buf_printf(b,
                                 "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\" "
                                 "stroke=\"#FFFFFF\"/>\n",
                                 x + 17, ly - 4, e[i].color);
        else
            rc |= pdm_buf_printf(b,
                                 "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                                 "stroke=\"%s\" stroke-width=\"2\"%s%s%s/>\n",
                                 x + 7, ly - 4, x + 27, ly - 4, e[i].color,
                                 e[i].dash ? " stroke-dasharray=\"" : "",
                                 e[i].dash ? e[i].dash : "", e[i].dash ? "\"" : "");
        rc |= svg_text(b, x + 33, ly, "start", 11, COLOR_TEXT, NULL, e[i].text);
    }
    return rc ? -1 : 0;
}

static int unit_axes(pdm_buf *b, const plot_frame *f, const char *xtitle, const char *ytitle)
{
    double ticks[8];
    int n = nice_ticks(0, 1, 5, ticks, 8);
    return svg_linear_axes(b, f, ticks, n, "%.1f", ticks, n, "%.1f", xtitle, ytitle);
}

static int finite_points(const pdm_report_curve *c)
{
    if (!c->x || !c->y)
        return 0;
    for (size_t i = 0; i < c->n; i++)
        if (isfinite(c->x[i]) && isfinite(c->y[i]))
            return 1;
    return 0;
}

int chart_roc(pdm_buf *b, const pdm_report_data *d)
{
    const plot_frame *f = &unit_frame;
    int rc = svg_open(b, CURVE_W, CURVE_H, "ROC curve of the any-failure risk");
    rc |= unit_axes(b, f, "false positive rate", "true positive rate (recall)");
    rc |= pdm_buf_printf(
        b,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" COLOR_REFERENCE
        "\" stroke-dasharray=\"5 4\"/>\n",
        frame_x(f, 0), frame_y(f, 0), frame_x(f, 1), frame_y(f, 1));
    if (!finite_points(&d->roc)) {
        rc |= svg_no_data(b, f, "no ROC curve (needs failures and non-failures)");
    } else {
        char auc[32], text[64];
        rc |= svg_data_path(b, f, d->roc.x, d->roc.y, d->roc.n, COLOR_RISK, 2.2, NULL);
        report_format_value(d->roc.auc, auc, sizeof auc);
        snprintf(text, sizeof text, "any failure, AUC %s", auc);
        legend_entry e[] = {{COLOR_RISK, NULL, 0, text}, {COLOR_REFERENCE, "5 4", 0, "chance"}};
        rc |= legend(b, f, 0, e, 2);
    }
    rc |= svg_close(b);
    return rc ? -1 : 0;
}

static int operating_point(pdm_buf *b, const plot_frame *f, double recall, double precision,
                           const char *color, const char *name, double threshold)
{
    if (!isfinite(recall) || !isfinite(precision))
        return 0;
    double x = frame_x(f, fmin(fmax(recall, 0), 1)), y = frame_y(f, fmin(fmax(precision, 0), 1));
    char th[32], text[64];
    report_format_value(threshold, th, sizeof th);
    snprintf(text, sizeof text, "%s %s", name, th);
    int rc = pdm_buf_printf(b,
                            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\" "
                            "stroke=\"#FFFFFF\" stroke-width=\"1.5\"/>\n",
                            x, y, color);
    /* label on the side with room */
    int left = x > f->left + f->width * 0.7;
    rc |= svg_label(b, left ? x - 8 : x + 8, y - 7, left ? "end" : "start", 11, color, text);
    return rc;
}

int chart_pr(pdm_buf *b, const pdm_report_data *d)
{
    const plot_frame *f = &unit_frame;
    int rc = svg_open(b, CURVE_W, CURVE_H, "Precision-recall curve of the any-failure risk");
    rc |= unit_axes(b, f, "recall", "precision");
    legend_entry e[4];
    int ne = 0;
    char auc[32], text[64], base_text[64];
    int has_baseline = isfinite(d->pr_baseline) && d->pr_baseline >= 0 && d->pr_baseline <= 1;
    if (has_baseline) {
        double y = frame_y(f, d->pr_baseline);
        rc |= pdm_buf_printf(b,
                             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                             "stroke=\"" COLOR_REFERENCE "\" stroke-dasharray=\"5 4\"/>\n",
                             f->left, y, f->left + f->width, y);
    }
    if (!finite_points(&d->pr)) {
        rc |= svg_no_data(b, f, "no precision-recall curve (needs failures)");
    } else {
        rc |= svg_data_path(b, f, d->pr.x, d->pr.y, d->pr.n, COLOR_RISK, 2.2, NULL);
        rc |= operating_point(b, f, d->warn_recall, d->warn_precision, COLOR_WARN, "WARN", d->warn);
        rc |= operating_point(b, f, d->critical_recall, d->critical_precision, COLOR_CRITICAL,
                              "CRITICAL", d->critical);
        report_format_value(d->pr.auc, auc, sizeof auc);
        snprintf(text, sizeof text, "any failure, AP %s", auc);
        e[ne++] = (legend_entry){COLOR_RISK, NULL, 0, text};
        if (isfinite(d->warn_recall) && isfinite(d->warn_precision))
            e[ne++] = (legend_entry){COLOR_WARN, NULL, 1, "WARN threshold"};
        if (isfinite(d->critical_recall) && isfinite(d->critical_precision))
            e[ne++] = (legend_entry){COLOR_CRITICAL, NULL, 1, "CRITICAL threshold"};
        if (has_baseline) {
            char rate[32];
            report_format_value(d->pr_baseline, rate, sizeof rate);
            snprintf(base_text, sizeof base_text, "no skill (%s)", rate);
            e[ne++] = (legend_entry){COLOR_REFERENCE, "5 4", 0, base_text};
        }
        rc |= legend(b, f, 1, e, ne);
    }
    rc |= svg_close(b);
    return rc ? -1 : 0;
}

/* Sequential blues for a share in [0, 1]. */
static void blue_for(double share, char out[8])
{
    static const double stops[3][3] = {{247, 251, 255}, {107, 174, 214}, {8, 48, 107}};
    double s = fmin(fmax(share, 0), 1) * 2;
    int i = s >= 1 ? 1 : 0;
    double t = s - i;
    int rgb[3];
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(stops[i][c] + (stops[i + 1][c] - stops[i][c]) * t);
    snprintf(out, 8, "#%02X%02X%02X", rgb[0], rgb[1], rgb[2]);
}

int chart_confusion(pdm_buf *b, const pdm_report_data *d)
{
    enum { K = PDM_REPORT_N_CLASSES };
    const double cell = 56, left = 104, top = 44;
    const double side = cell * K;
    int rc = svg_open(b, CURVE_W, CURVE_H, "Confusion matrix, true class by predicted class");
    size_t total = 0, right = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) {
            total += d->confusion[i][j];
            right += i == j ? d->confusion[i][j] : 0;
        }
    rc |= svg_text(b, left + side / 2, 14, "middle", 12, COLOR_TEXT, NULL, "predicted class");
    for (int j = 0; j < K; j++)
        rc |= svg_text(b, left + cell * (j + 0.5), top - 8, "middle", 11, COLOR_AXIS, NULL,
                       report_class_name(d, j));
    rc |= pdm_buf_printf(b, "<g transform=\"rotate(-90 18 %.1f)\">", top + side / 2);
    rc |= svg_text(b, 18, top + side / 2, "middle", 12, COLOR_TEXT, NULL, "true class");
    rc |= pdm_buf_printf(b, "</g>\n");
    for (int i = 0; i < K; i++) {
        size_t row = 0;
        for (int j = 0; j < K; j++)
            row += d->confusion[i][j];
        rc |= svg_text(b, left - 8, top + cell * (i + 0.5) + 4, "end", 11, COLOR_AXIS, NULL,
                       report_class_name(d, i));
        for (int j = 0; j < K; j++) {
            size_t c = d->confusion[i][j];
            double share = row ? (double)c / (double)row : 0;
            char fill[8], count[32], pct[32];
            blue_for(share, fill);
            double x = left + cell * j, y = top + cell * i;
            rc |= pdm_buf_printf(b,
                                 "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                 "fill=\"%s\" stroke=\"#FFFFFF\" stroke-width=\"2\"/>\n",
                                 x, y, cell, cell, fill);
            const char *ink = share > 0.45 ? "#FFFFFF" : COLOR_TEXT;
            report_format_count((double)c, count, sizeof count);
            rc |= svg_text(b, x + cell / 2, y + cell / 2 - 1, "middle", 12, ink, "600", count);
            if (row) {
                snprintf(pct, sizeof pct, "%.1f%%", 100 * share);
                rc |= svg_text(b, x + cell / 2, y + cell / 2 + 14, "middle", 10, ink, NULL, pct);
            }
        }
    }
    /* the diagonal, outlined */
    for (int i = 0; i < K; i++)
        rc |= pdm_buf_printf(b,
                             "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                             "fill=\"none\" stroke=\"" COLOR_AXIS "\" stroke-width=\"1\"/>\n",
                             left + cell * i + 1, top + cell * i + 1, cell - 2, cell - 2);
    char acc[32], n[32], text[128];
    report_format_value(total ? (double)right / (double)total : NAN, acc, sizeof acc);
    report_format_count((double)total, n, sizeof n);
    snprintf(text, sizeof text, "accuracy %s of %s rows; shading: share of the true class's row",
             acc, n);
    rc |= svg_text(b, left + side / 2, top + side + 24, "middle", 11, COLOR_AXIS, NULL, text);
    rc |= svg_close(b);
    return rc ? -1 : 0;
}

typedef struct {
    const char *name;
    double value;
} ranked_feature;

static int by_value_desc(const void *a, const void *b)
{
    const ranked_feature *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return strcmp(x->name, y->name);
}

int chart_importance(pdm_buf *b, const pdm_report_data *d)
{
    size_t n = d->importance && d->feature_names ? d->n_features : 0;
    size_t shown = n < PDM_REPORT_MAX_FEATURES ? n : PDM_REPORT_MAX_FEATURES;
    const double row = 20, top = 8;
    double height = top + row * (double)(shown ? shown : 4) + 62;
    ranked_feature *ranked = n ? calloc(n, sizeof *ranked) : NULL;
    if (n && !ranked)
        return -1;
    double total = 0;
    size_t longest = 8;
    for (size_t i = 0; i < n; i++) {
        double v = d->importance[i];
        ranked[i].name = d->feature_names[i] ? d->feature_names[i] : "?";
        ranked[i].value = isfinite(v) && v > 0 ? v : 0;
        total += ranked[i].value;
    }
    if (n)
        qsort(ranked, n, sizeof *ranked, by_value_desc);
    for (size_t i = 0; i < shown; i++)
        if (strlen(ranked[i].name) > longest)
            longest = strlen(ranked[i].name);
    double left = fmin(fmax(12 + TEXT_CHAR_W * (double)longest, 90), 230);
    plot_frame f = {left, top, CURVE_W - left - 52, row * (double)shown, 0, 1, 0, 1};
    int rc = svg_open(b, CURVE_W, height, "Feature importance by gain, share of the total");
    if (shown == 0 || total <= 0) {
        f.height = row * 4;
        rc |= svg_no_data(b, &f, "no feature importance");
        rc |= svg_close(b);
        free(ranked);
        return rc ? -1 : 0;
    }
    double max_share = ranked[0].value / total;
    double ticks[8];
    int nt = nice_ticks(0, max_share, 4, ticks, 8);
    f.xmax = nt > 0 && ticks[nt - 1] >= max_share ? ticks[nt - 1] : max_share;
    for (int i = 0; i < nt; i++)
        ticks[i] *= 100; /* labels in percent */
    plot_frame pct = f;
    pct.xmax = f.xmax * 100;
    rc |= svg_linear_axes(b, &pct, ticks, nt, "%g%%", NULL, 0, "%g", "share of total gain", NULL);
    for (size_t i = 0; i < shown; i++) {
        double share = ranked[i].value / total;
        double y = top + row * (double)i;
        double w = frame_x(&f, share) - f.left;
        char label[32];
        snprintf(label, sizeof label, "%.1f%%", 100 * share);
        rc |= svg_text(b, left - 8, y + row / 2 + 4, "end", 11, COLOR_TEXT, NULL, ranked[i].name);
        rc |= pdm_buf_printf(b,
                             "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                             "fill=\"%s\"/>\n",
                             left, y + 3, fmax(w, 0.5), row - 6,
                             i < 3 ? COLOR_RISK : COLOR_RISK_LIGHT);
        rc |= svg_text(b, left + fmax(w, 0.5) + 4, y + row / 2 + 4, "start", 10, COLOR_AXIS, NULL,
                       label);
    }
    if (n > shown) {
        char more[64];
        snprintf(more, sizeof more, "%zu more features not shown", n - shown);
        rc |= svg_text(b, left, height - 6, "start", 11, COLOR_AXIS, NULL, more);
    }
    rc |= svg_close(b);
    free(ranked);
    return rc ? -1 : 0;
}

/* ---- risk over time ------------------------------------------------------------ */

#define SERIES_W 440.0
#define SERIES_H 214.0

static int threshold_line(pdm_buf *b, const plot_frame *f, double value, const char *color,
                          const char *name)
{
    if (!isfinite(value) || value < 0 || value > 1)
        return 0;
    double y = frame_y(f, value);
    char v[32], text[64];
    report_format_value(value, v, sizeof v);
    snprintf(text, sizeof text, "%s %s", name, v);
    int rc = pdm_buf_printf(b,
                            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                            "stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n",
                            f->left, y, f->left + f->width, y, color);
    rc |= svg_label(b, f->left + f->width - 2, y - 4, "end", 10, color, text);
    return rc;
}

int chart_series(pdm_buf *b, const pdm_report_data *d, const pdm_report_series *s)
{
    char title[256];
    snprintf(title, sizeof title, "Risk over time, %s", s->machine ? s->machine : "?");
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < s->n; i++) {
        lo = s->ts_ms[i] < lo ? s->ts_ms[i] : lo;
        hi = s->ts_ms[i] > hi ? s->ts_ms[i] : hi;
    }
    for (size_t i = 0; i < s->n_failures; i++) {
        lo = s->failure_ms[i] < lo ? s->failure_ms[i] : lo;
        hi = s->failure_ms[i] > hi ? s->failure_ms[i] : hi;
    }
    plot_frame f = {48, 22, SERIES_W - 48 - 14, 148, 0, 1, 0, 1};
    int rc = svg_open(b, SERIES_W, SERIES_H, title);
    if (lo > hi) {
        rc |= svg_no_data(b, &f, "no scores for this machine");
        rc |= svg_close(b);
        return rc ? -1 : 0;
    }
    if (hi - lo < PDM_MS_PER_HOUR) {
        lo -= PDM_MS_PER_HOUR / 2;
        hi += PDM_MS_PER_HOUR / 2;
    }
    f.xmin = (double)lo;
    f.xmax = (double)hi;
    /* threshold bands under everything */
    if (isfinite(d->critical) && d->critical >= 0 && d->critical <= 1)
        rc |= pdm_buf_printf(b,
                             "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                             "fill=\"" COLOR_CRITICAL "\" fill-opacity=\"0.07\"/>\n",
                             f.left, f.top, f.width, frame_y(&f, d->critical) - f.top);
    if (isfinite(d->warn) && d->warn >= 0 && d->warn <= 1) {
        double upper =
            isfinite(d->critical) && d->critical > d->warn && d->critical <= 1 ? d->critical : 1;
        rc |= pdm_buf_printf(b,
                             "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                             "fill=\"" COLOR_WARN "\" fill-opacity=\"0.08\"/>\n",
                             f.left, frame_y(&f, upper), f.width,
                             frame_y(&f, d->warn) - frame_y(&f, upper));
    }
    double yt[6];
    int ny = nice_ticks(0, 1, 4, yt, 6);
    rc |= svg_linear_axes(b, &f, NULL, 0, "%g", yt, ny, "%g", NULL, "risk");
    int64_t xt[16], step = PDM_MS_PER_HOUR;
    int nx = time_ticks(lo, hi, 5, xt, 16, &step);
    char prev_date[32] = "";
    double bottom = f.top + f.height;
    for (int i = 0; i < nx; i++) {
        char label[32], date[32];
        double x = frame_x(&f, (double)xt[i]);
        time_tick_label(xt[i], step, label, sizeof label, date, sizeof date);
        rc |= pdm_buf_printf(b,
                             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                             "stroke=\"" COLOR_GRID "\"/>\n",
                             x, f.top, x, bottom);
        rc |= pdm_buf_printf(b,
                             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                             "stroke=\"" COLOR_AXIS "\"/>\n",
                             x, bottom, x, bottom + 4);
        rc |= svg_text(b, x, bottom + 16, "middle", 11, COLOR_AXIS, NULL, label);
        if (date[0] && strcmp(date, prev_date) != 0) {
            rc |= svg_text(b, x, bottom + 29, "middle", 10, COLOR_AXIS, NULL, date);
            snprintf(prev_date, sizeof prev_date, "%s", date);
        }
    }
    rc |= threshold_line(b, &f, d->warn, COLOR_WARN, "WARN");
    rc |= threshold_line(b, &f, d->critical, COLOR_CRITICAL, "CRITICAL");
    /* the risk line: x as double ms for the shared path writer */
    double *xs = s->n ? malloc(s->n * sizeof *xs) : NULL;
    if (s->n && !xs)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        xs[i] = (double)s->ts_ms[i];
    rc |= svg_data_path(b, &f, xs, s->risk, s->n, COLOR_RISK, 1.6, NULL);
    free(xs);
    for (size_t i = 0; i < s->n_failures; i++) {
        double x = frame_x(&f, (double)s->failure_ms[i]);
        int k = s->failure_class ? s->failure_class[i] : -1;
        const char *label =
            k >= 1 && k < PDM_REPORT_N_CLASSES ? report_class_name(d, k) : "failure";
        rc |= pdm_buf_printf(b,
                             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                             "stroke=\"" COLOR_FAILURE "\" stroke-width=\"1.6\"/>\n",
                             x, f.top - 2, x, bottom);
        rc |= pdm_buf_printf(b, "<path d=\"M%.1f %.1fl-4 -6h8z\" fill=\"" COLOR_FAILURE "\"/>\n", x,
                             f.top - 2);
        rc |= svg_text(b, x, f.top - 10, x > f.left + f.width - 30 ? "end" : "middle", 10,
                       COLOR_FAILURE, "600", label);
    }
    rc |= svg_close(b);
    return rc ? -1 : 0;
}

/* ---- lead times ------------------------------------------------------------------ */

#define LEAD_BINS_MAX 12

/* A bin width in hours (1, 2, 3, 6, 12, 24, 48, ...) giving at most
 * LEAD_BINS_MAX bins up to max. */
static double lead_bin_width(double max)
{
    static const double widths[] = {1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 672};
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
        if (max / widths[i] < LEAD_BINS_MAX)
            return widths[i];
    return ceil(max / LEAD_BINS_MAX);
}

static void lead_counts(const double *v, size_t n, double width, int nbins, double *count)
{
    for (size_t i = 0; i < n; i++) {
        int k = isfinite(v[i]) && v[i] > 0 ? (int)floor(v[i] / width) : 0;
        count[k < nbins ? k : nbins - 1] += 1;
    }
}

/* A histogram of the lead times of the failures the incidents caught
 * beside those --emit changes caught: grouped bars per bin. */
int chart_lead_times(pdm_buf *b, const pdm_report_alerting *a)
{
    double max = 0, count[2][LEAD_BINS_MAX + 1] = {{0}}, ymax = 1;
    const double *v[2] = {a->lead_hours, a->changes_lead_hours};
    size_t n[2] = {a->lead_hours ? a->n_lead : 0, a->changes_lead_hours ? a->n_changes_lead : 0};
    const char *color[2] = {COLOR_RISK, COLOR_REFERENCE};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < n[s]; i++)
            max = isfinite(v[s][i]) && v[s][i] > max ? v[s][i] : max;
    double width = lead_bin_width(max);
    int nbins = (int)floor(max / width) + 1;
    nbins = nbins > LEAD_BINS_MAX ? LEAD_BINS_MAX : nbins;
    plot_frame f = {52, 30, CURVE_W - 52 - 16, 200, 0, width * nbins, 0, 1};
    int rc = svg_open(b, CURVE_W, 280, "Lead time of caught failures, hours");
    if (n[0] + n[1] == 0) {
        rc |= svg_no_data(b, &f, "no failure caught");
        rc |= svg_close(b);
        return rc ? -1 : 0;
    }
    for (int s = 0; s < 2; s++) {
        lead_counts(v[s], n[s], width, nbins, count[s]);
        for (int k = 0; k < nbins; k++)
            ymax = count[s][k] > ymax ? count[s][k] : ymax;
    }
    double xt[LEAD_BINS_MAX + 1], yt[8];
    for (int k = 0; k <= nbins; k++)
        xt[k] = width * k;
    int ny = nice_ticks(0, ymax, 4, yt, 8);
    f.ymax = ny > 0 && yt[ny - 1] >= ymax ? yt[ny - 1] : ymax;
    rc |=
        svg_linear_axes(b, &f, xt, nbins + 1, "%g", yt, ny, "%g", "lead time (hours)", "failures");
    double bw = (frame_x(&f, width) - frame_x(&f, 0)) * 0.4;
    for (int s = 0; s < 2; s++) {
        for (int k = 0; k < nbins; k++) {
            if (count[s][k] <= 0)
                continue;
            double x = frame_x(&f, width * k) + bw * (0.25 + s), y = frame_y(&f, count[s][k]);
            rc |= pdm_buf_printf(b,
                                 "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                 "fill=\"%s\"/>\n",
                                 x, y, bw, frame_y(&f, 0) - y, color[s]);
        }
    }
    char legend[2][64];
    snprintf(legend[0], sizeof legend[0], "incidents (%zu caught)", n[0]);
    snprintf(legend[1], sizeof legend[1], "--emit changes (%zu caught)", n[1]);
    for (int s = 0; s < 2; s++) {
        double x = f.left + 8 + 200 * s;
        rc |= pdm_buf_printf(b,
                             "<rect x=\"%.1f\" y=\"10\" width=\"10\" height=\"10\" "
                             "fill=\"%s\"/>\n",
                             x, color[s]);
        rc |= svg_text(b, x + 14, 19, "start", 11, COLOR_TEXT, NULL, legend[s]);
    }
    rc |= svg_close(b);
    return rc ? -1 : 0;
}
