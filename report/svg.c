/* svg.c: the plotting primitives every chart of the report is made of.
 *
 * Charts are SVG drawn in a fixed viewBox (CSS scales them), so all the
 * geometry here is in viewBox pixels. Two invariants keep the output
 * well-formed and small: every coordinate written is finite (non-finite
 * data are gaps, never NaN in an attribute), and long series are thinned
 * per pixel column before they are written, which keeps spikes visible.
 */
#include "report_internal.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* ---- text ------------------------------------------------------------------ */

int report_escape(pdm_buf *b, const char *s)
{
    if (!s)
        return 0;
    const unsigned char *u = (const unsigned char *)s;
    int rc = 0;
    for (size_t i = 0; u[i] && rc == 0;) {
        unsigned char c = u[i];
        if (c < 0x80) {
            switch (c) {
            case '&':
                rc = pdm_buf_append(b, "&amp;", 5);
                break;
            case '<':
                rc = pdm_buf_append(b, "&lt;", 4);
                break;
            case '>':
                rc = pdm_buf_append(b, "&gt;", 4);
                break;
            case '"':
                rc = pdm_buf_append(b, "&quot;", 6);
                break;
            case '\'':
                rc = pdm_buf_append(b, "&#39;", 5);
                break;
            default: /* other controls and DEL are not allowed in XML text */
                if ((c >= 0x20 && c != 0x7F) || c == '\t' || c == '\n')
                    rc = pdm_buf_append(b, &c, 1);
                break;
            }
            i++;
            continue;
        }
        /* a valid multi-byte sequence is copied, anything else is U+FFFD */
        size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        unsigned long cp = n ? c & (0x7F >> n) : 0;
        size_t k = 1;
        for (; n && k < n; k++) {
            if ((u[i + k] & 0xC0) != 0x80)
                break;
            cp = (cp << 6) | (u[i + k] & 0x3F);
        }
        static const unsigned long min_of_len[5] = {0, 0, 0x80, 0x800, 0x10000};
        int valid = n && k == n && cp >= min_of_len[n] && cp <= 0x10FFFF &&
                    !(cp >= 0xD800 && cp <= 0xDFFF) && cp != 0xFFFE && cp != 0xFFFF &&
                    !(cp >= 0x80 && cp <= 0x9F);
        if (valid) {
            rc = pdm_buf_append(b, u + i, n);
            i += n;
        } else {
            rc = pdm_buf_append(b, "\xEF\xBF\xBD", 3);
            i += k > 1 ? k : 1;
        }
    }
    return rc;
}

void report_format_count(double v, char *buf, size_t len)
{
    if (!isfinite(v) || fabs(v) >= 1e15) {
        report_format_value(v, buf, len);
        return;
    }
    char digits[32], tmp[48];
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t nd = strlen(digits), o = 0;
    if (v <= -0.5)
        tmp[o++] = '-';
    for (size_t i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            tmp[o++] = ',';
        tmp[o++] = digits[i];
    }
    tmp[o] = '\0';
    snprintf(buf, len, "%s", tmp);
}

void report_format_value(double v, char *buf, size_t len)
{
    double a = fabs(v);
    if (!isfinite(v))
        snprintf(buf, len, "%s", isnan(v) ? "n/a" : v > 0 ? "inf" : "-inf");
    else if (a >= 2 && a < 1e15 && v == floor(v))
        report_format_count(v, buf, len);
    else if (a >= 1000)
        snprintf(buf, len, "%.1f", v);
    else if (a < 0.001 && a > 0)
        snprintf(buf, len, "%.3g", v);
    else
        snprintf(buf, len, "%.4f", v);
}

void report_format_time(int64_t ms, char *buf, size_t len)
{
    char full[32];
    pdm_time_format(ms, full);
    snprintf(buf, len, "%.16s", full);
}

const char *report_class_name(const pdm_report_data *d, int k)
{
    static const char *const defaults[PDM_REPORT_N_CLASSES] = {"none", "comp1", "comp2", "comp3",
                                                               "comp4"};
    return d->class_names[k] ? d->class_names[k] : defaults[k];
}

/* ---- scales and ticks -------------------------------------------------------- */

double frame_x(const plot_frame *f, double x)
{
    double span = f->xmax - f->xmin;
    return f->left + (span > 0 ? (x - f->xmin) / span : 0.5) * f->width;
}

double frame_y(const plot_frame *f, double y)
{
    double span = f->ymax - f->ymin;
    return f->top + f->height - (span > 0 ? (y - f->ymin) / span : 0.5) * f->height;
}

int nice_ticks(double lo, double hi, int target, double *ticks, int max)
{
    if (!isfinite(lo) || !isfinite(hi) || hi < lo || target < 1 || max < 1)
        return 0;
    if (hi == lo) {
        ticks[0] = lo;
        return 1;
    }
    double rough = (hi - lo) / target;
    double mag = pow(10, floor(log10(rough)));
    double step = mag;
    static const double mult[] = {1, 2, 2.5, 5, 10};
    for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++) {
        step = mult[i] * mag;
        if (step >= rough)
            break;
    }
    int n = 0;
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9 && n < max; t += step)
        ticks[n++] = fabs(t) < step * 1e-9 ? 0.0 : t;
    return n;
}

#define HOUR_MS INT64_C(3600000)
#define DAY_MS (24 * HOUR_MS)

static int64_t month_start(int year, int month)
{
    while (month > 12) {
        month -= 12;
        year++;
    }
    char text[40];
    snprintf(text, sizeof text, "%04d-%02d-01", year, month);
    int64_t ms = 0;
    pdm_time_parse(text, strlen(text), &ms);
    return ms;
}

int time_ticks(int64_t lo, int64_t hi, int target, int64_t *ticks, int max, int64_t *step_ms)
{
    static const int64_t fixed[] = {HOUR_MS, 2 * HOUR_MS, 3 * HOUR_MS, 6 * HOUR_MS, 12 * HOUR_MS,
                                    DAY_MS,  2 * DAY_MS,  7 * DAY_MS,  14 * DAY_MS};
    static const int months[] = {1, 2, 3, 6, 12, 24, 60};
    int n = 0;
    if (hi < lo || target < 1 || max < 1)
        return 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if ((hi - lo) / fixed[i] > target)
            continue;
        *step_ms = fixed[i];
        /* weeks start on Monday: the epoch was a Thursday */
        int64_t offset = fixed[i] == 7 * DAY_MS || fixed[i] == 14 * DAY_MS ? 4 * DAY_MS : 0;
        int64_t first = lo - offset;
        first = (first / fixed[i] + (first % fixed[i] > 0)) * fixed[i] + offset;
        if (first < lo) /* negative times */
            first += fixed[i];
        for (int64_t t = first; t <= hi && n < max; t += fixed[i])
            ticks[n++] = t;
        return n;
    }
    time_t t0 = (time_t)(lo / 1000);
    struct tm tm;
    gmtime_r(&t0, &tm);
    for (size_t i = 0; i < sizeof months / sizeof months[0]; i++) {
        int step = months[i];
        if (i + 1 < sizeof months / sizeof months[0] &&
            (double)(hi - lo) / (30.44 * (double)DAY_MS * step) > target)
            continue;
        *step_ms = (int64_t)step * 30 * DAY_MS;
        int year = tm.tm_year + 1900, month = tm.tm_mon + 1;
        month = ((month - 1) / step) * step + 1; /* align to the step */
        if (step >= 12) {
            year -= year % (step / 12);
            month = 1;
        }
        for (int64_t t = month_start(year, month); t <= hi && n < max;) {
            if (t >= lo)
                ticks[n++] = t;
            month += step;
            t = month_start(year, month);
        }
        return n;
    }
    return n;
}

void time_tick_label(int64_t ms, int64_t step_ms, char *label, size_t len, char *date_line,
                     size_t date_len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    date_line[0] = '\0';
    if (step_ms < DAY_MS) {
        strftime(label, len, "%H:%M", &tm);
        strftime(date_line, date_len, "%b %d", &tm);
    } else if (step_ms < 30 * DAY_MS) {
        strftime(label, len, "%b %d", &tm);
    } else {
        strftime(label, len, "%b %Y", &tm);
    }
}

/* ---- SVG --------------------------------------------------------------------- */

int svg_open(pdm_buf *b, double width, double height, const char *title)
{
    int rc = pdm_buf_printf(b,
                            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
                            "width=\"%.0f\" height=\"%.0f\" role=\"img\" font-family=\"%s\" "
                            "aria-label=\"",
                            width, height, width, height, FONT_FAMILY);
    rc |= report_escape(b, title);
    rc |= pdm_buf_printf(b, "\"><title>");
    rc |= report_escape(b, title);
    rc |= pdm_buf_printf(b, "</title>\n");
    return rc ? -1 : 0;
}

int svg_close(pdm_buf *b)
{
    return pdm_buf_printf(b, "</svg>\n");
}

int svg_text(pdm_buf *b, double x, double y, const char *anchor, double size, const char *fill,
             const char *weight, const char *text)
{
    int rc = pdm_buf_printf(b,
                            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%.0f\" "
                            "fill=\"%s\"%s%s%s>",
                            x, y, anchor, size, fill, weight ? " font-weight=\"" : "",
                            weight ? weight : "", weight ? "\"" : "");
    rc |= report_escape(b, text);
    rc |= pdm_buf_printf(b, "</text>\n");
    return rc ? -1 : 0;
}

int svg_label(pdm_buf *b, double x, double y, const char *anchor, double size, const char *fill,
              const char *text)
{
    int rc = pdm_buf_printf(b,
                            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%.0f\" "
                            "fill=\"%s\" font-weight=\"600\" stroke=\"#FFFFFF\" "
                            "stroke-width=\"3\" stroke-linejoin=\"round\" "
                            "paint-order=\"stroke\">",
                            x, y, anchor, size, fill);
    rc |= report_escape(b, text);
    rc |= pdm_buf_printf(b, "</text>\n");
    return rc ? -1 : 0;
}

int svg_linear_axes(pdm_buf *b, const plot_frame *f, const double *xt, int nx, const char *xfmt,
                    const double *yt, int ny, const char *yfmt, const char *xtitle,
                    const char *ytitle)
{
    int rc = 0;
    char label[64];
    double bottom = f->top + f->height, right = f->left + f->width;
    for (int i = 0; i < ny; i++) {
        double y = frame_y(f, yt[i]);
        rc |= pdm_buf_printf(b,
                             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                             "stroke=\"" COLOR_GRID "\"/>\n",
                             f->left, y, right, y);
        snprintf(label, sizeof label, yfmt, yt[i]);
        rc |= svg_text(b, f->left - 6, y + 4, "end", 11, COLOR_AXIS, NULL, label);
    }
    for (int i = 0; i < nx; i++) {
        double x = frame_x(f, xt[i]);
        rc |= pdm_buf_printf(b,
                             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                             "stroke=\"" COLOR_GRID "\"/>\n",
                             x, f->top, x, bottom);
        rc |= pdm_buf_printf(b,
                             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                             "stroke=\"" COLOR_AXIS "\"/>\n",
                             x, bottom, x, bottom + 4);
        snprintf(label, sizeof label, xfmt, xt[i]);
        rc |= svg_text(b, x, bottom + 16, "middle", 11, COLOR_AXIS, NULL, label);
    }
    rc |= pdm_buf_printf(
        b, "<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"" COLOR_AXIS "\"/>\n", f->left,
        f->top, bottom, right);
    if (xtitle)
        rc |= svg_text(b, f->left + f->width / 2, bottom + 34, "middle", 12, COLOR_TEXT, NULL,
                       xtitle);
    if (ytitle) {
        double cx = f->left - 40, cy = f->top + f->height / 2;
        rc |= pdm_buf_printf(b, "<g transform=\"rotate(-90 %.1f %.1f)\">", cx, cy);
        rc |= svg_text(b, cx, cy, "middle", 12, COLOR_TEXT, NULL, ytitle);
        rc |= pdm_buf_printf(b, "</g>\n");
    }
    return rc ? -1 : 0;
}

typedef struct {
    double x, y;
    size_t i;
} screen_point;

/* Writes the points kept of one pixel column's run, in data order. */
static int flush_run(pdm_buf *b, screen_point kept[4], int *pen_down)
{
    for (int i = 1; i < 4; i++) /* insertion sort by index: 4 items */
        for (int j = i; j > 0 && kept[j].i < kept[j - 1].i; j--) {
            screen_point t = kept[j];
            kept[j] = kept[j - 1];
            kept[j - 1] = t;
        }
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        if (i > 0 && kept[i].i == kept[i - 1].i)
            continue;
        rc |= pdm_buf_printf(b, "%s%.1f %.1f", *pen_down ? "L" : "M", kept[i].x, kept[i].y);
        *pen_down = 1;
    }
    return rc;
}

int svg_data_path(pdm_buf *b, const plot_frame *f, const double *x, const double *y, size_t n,
                  const char *stroke, double stroke_width, const char *dash)
{
    int rc = pdm_buf_printf(b,
                            "<path fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
                            "stroke-linejoin=\"round\"%s%s%s d=\"",
                            stroke, stroke_width, dash ? " stroke-dasharray=\"" : "",
                            dash ? dash : "", dash ? "\"" : "");
    int pen_down = 0, in_run = 0;
    long column = 0;
    screen_point kept[4]; /* first, lowest, highest, last of the current run */
    for (size_t i = 0; i <= n && rc == 0; i++) {
        int gap = i < n && !(isfinite(x[i]) && isfinite(y[i]));
        screen_point p = {0, 0, i};
        if (i < n && !gap) {
            /* far-off values stay drawable and their numbers finite */
            p.x = fmin(fmax(frame_x(f, x[i]), -1e5), 1e5);
            p.y = fmin(fmax(frame_y(f, y[i]), -1e5), 1e5);
        }
        if (in_run && (i == n || gap || (long)floor(p.x) != column)) {
            rc |= flush_run(b, kept, &pen_down);
            in_run = 0;
        }
        if (i == n)
            break;
        if (gap) {
            pen_down = 0;
            continue;
        }
        if (!in_run) {
            in_run = 1;
            column = (long)floor(p.x);
            kept[0] = kept[1] = kept[2] = p;
        }
        if (p.y > kept[1].y) /* screen y grows downwards: lowest value */
            kept[1] = p;
        if (p.y < kept[2].y)
            kept[2] = p;
        kept[3] = p;
    }
    rc |= pdm_buf_printf(b, "\"/>\n");
    return rc ? -1 : 0;
}

int svg_no_data(pdm_buf *b, const plot_frame *f, const char *why)
{
    int rc = pdm_buf_printf(b,
                            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                            "fill=\"#FAFAFA\" stroke=\"" COLOR_GRID "\"/>\n",
                            f->left, f->top, f->width, f->height);
    rc |= svg_text(b, f->left + f->width / 2, f->top + f->height / 2, "middle", 13, COLOR_REFERENCE,
                   NULL, why);
    return rc ? -1 : 0;
}
