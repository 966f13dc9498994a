/* report_internal.h: what the report's files share: escaping, number and
 * time formatting, the colour palette and the SVG plotting primitives
 * (frames, ticks, axes, decimated lines). Not part of the API. */
#ifndef PDM_REPORT_INTERNAL_H
#define PDM_REPORT_INTERNAL_H

#include "pdm_common.h"
#include "pdm_report.h"

/* One palette for every chart (Okabe-Ito, readable with colour blindness). */
#define COLOR_RISK "#0072B2"
#define COLOR_RISK_LIGHT "#56B4E9"
#define COLOR_WARN "#E69F00"
#define COLOR_CRITICAL "#D55E00"
#define COLOR_FAILURE "#222222"
#define COLOR_REFERENCE "#999999"
#define COLOR_GRID "#E6E6E6"
#define COLOR_AXIS "#555555"
#define COLOR_TEXT "#222222"
#define FONT_FAMILY "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"

/* Appends s with & < > " ' escaped, control characters other than tab and
 * newline dropped and invalid UTF-8 replaced by U+FFFD, so the result is
 * safe as HTML/XML text or attribute value. NULL appends nothing. */
int report_escape(pdm_buf *b, const char *s);

/* A measured value: "n/a" for NaN, 4 decimals (3 significant digits below
 * 0.001, 1 decimal from 1000), whole numbers from 2 up as counts. */
void report_format_value(double v, char *buf, size_t len);
/* A count, rounded, with thousands separators: 12,345. */
void report_format_count(double v, char *buf, size_t len);
/* "YYYY-MM-DD HH:MM" UTC. */
void report_format_time(int64_t ms, char *buf, size_t len);
const char *report_class_name(const pdm_report_data *d, int k);

/* A plot: a pixel rectangle and the data domain mapped onto it. */
typedef struct {
    double left, top, width, height;
    double xmin, xmax, ymin, ymax;
} plot_frame;

double frame_x(const plot_frame *f, double x);
double frame_y(const plot_frame *f, double y);

/* "Nice" ticks (1, 2, 5 x 10^k) covering [lo, hi]: at most max values,
 * about target of them. Returns the count. */
int nice_ticks(double lo, double hi, int target, double *ticks, int max);
/* Calendar ticks (hours, days, weeks, months, years, UTC) within [lo, hi];
 * returns the count and sets *step_ms (months count as 30 days). */
int time_ticks(int64_t lo, int64_t hi, int target, int64_t *ticks, int max, int64_t *step_ms);
/* The tick label for a time tick at this step ("%H:%M", "%b %d", "%b %Y"),
 * and the date line under the hour labels ("" when not needed). */
void time_tick_label(int64_t ms, int64_t step_ms, char *label, size_t len, char *date_line,
                     size_t date_len);

/* <svg> root with a viewBox, a title and the shared font; svg_close ends it. */
int svg_open(pdm_buf *b, double width, double height, const char *title);
int svg_close(pdm_buf *b);
/* Text at (x, y): anchor "start", "middle" or "end", escaped content. */
int svg_text(pdm_buf *b, double x, double y, const char *anchor, double size, const char *fill,
             const char *weight, const char *text);
/* The same with a white halo, for labels drawn over lines. */
int svg_label(pdm_buf *b, double x, double y, const char *anchor, double size, const char *fill,
              const char *text);
/* Grid lines, axes, tick labels (formatted with printf format fmt, "%g"
 * style, for linear axes) and axis titles. */
int svg_linear_axes(pdm_buf *b, const plot_frame *f, const double *xt, int nx, const char *xfmt,
                    const double *yt, int ny, const char *yfmt, const char *xtitle,
                    const char *ytitle);
/* A line through (x[i], y[i]) as one <path>: non-finite points leave gaps,
 * and runs of points within one pixel column are reduced to their first,
 * lowest, highest and last, so that 100k points draw as ~4 per pixel. */
int svg_data_path(pdm_buf *b, const plot_frame *f, const double *x, const double *y, size_t n,
                  const char *stroke, double stroke_width, const char *dash);
/* A "no data" placeholder in the middle of the frame. */
int svg_no_data(pdm_buf *b, const plot_frame *f, const char *why);

/* The charts (charts.c). */
int chart_roc(pdm_buf *b, const pdm_report_data *d);
int chart_pr(pdm_buf *b, const pdm_report_data *d);
int chart_confusion(pdm_buf *b, const pdm_report_data *d);
int chart_importance(pdm_buf *b, const pdm_report_data *d);
int chart_series(pdm_buf *b, const pdm_report_data *d, const pdm_report_series *s);
int chart_lead_times(pdm_buf *b, const pdm_report_alerting *a);

#endif
