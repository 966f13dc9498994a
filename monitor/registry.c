/* registry.c: a small Prometheus registry and its text exposition.
 *
 * One mutex guards the whole registry: updates are a few instructions under
 * it and rendering (a few kB of text, tens of microseconds) holds it once,
 * so a scrape sees every family at one instant and the scorer thread waits
 * at most that long. Children are never freed before the registry, which
 * is what makes handing out raw child pointers safe.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pdm_monitor.h"

typedef enum { KIND_COUNTER = 0, KIND_GAUGE, KIND_HISTOGRAM } metric_kind;

struct pdm_metric_child {
    pdm_metric *family;
    char **values; /* family->n_labels strings */
    double value;  /* counter, gauge */
    double sum;    /* histogram */
    uint64_t count;
    uint64_t *buckets; /* per bucket (not cumulative), n_buckets + 1 with +Inf */
};

struct pdm_metric {
    pdm_registry *reg;
    metric_kind kind;
    char *name;
    char *help;
    size_t n_labels;
    char *labels[PDM_METRIC_MAX_LABELS];
    size_t n_buckets;
    double bounds[PDM_METRIC_MAX_BUCKETS];
    pdm_metric_child **children;
    size_t n_children, cap_children;
};

struct pdm_registry {
    pthread_mutex_t lock;
    unsigned flags;
    pdm_metric **families;
    size_t n_families, cap_families;
    pdm_registry_collect_fn collect;
    void *collect_ctx;
};

static const char *const kind_names[] = {"counter", "gauge", "histogram"};

pdm_registry *pdm_registry_new(unsigned flags, char *errstr, size_t errlen)
{
    pdm_registry *r = calloc(1, sizeof *r);
    if (!r) {
        pdm_err(errstr, errlen, "out of memory for a metrics registry");
        return NULL;
    }
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        pdm_err(errstr, errlen, "cannot create the registry's mutex");
        return NULL;
    }
    r->flags = flags;
    return r;
}

static void child_free(pdm_metric_child *c, size_t n_labels)
{
    if (!c)
        return;
    if (c->values)
        for (size_t i = 0; i < n_labels; i++)
            free(c->values[i]);
    free(c->values);
    free(c->buckets);
    free(c);
}

static void family_free(pdm_metric *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_children; i++)
        child_free(m->children[i], m->n_labels);
    free(m->children);
    for (size_t i = 0; i < m->n_labels; i++)
        free(m->labels[i]);
    free(m->name);
    free(m->help);
    free(m);
}

void pdm_registry_destroy(pdm_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_families; i++)
        family_free(r->families[i]);
    free(r->families);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void pdm_registry_set_collector(pdm_registry *r, pdm_registry_collect_fn fn, void *ctx)
{
    pthread_mutex_lock(&r->lock);
    r->collect = fn;
    r->collect_ctx = ctx;
    pthread_mutex_unlock(&r->lock);
}

/* ---- registration ------------------------------------------------------- */

static int is_alpha_(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int valid_metric_name(const char *s)
{
    if (!s || !*s || !(is_alpha_(*s) || *s == ':'))
        return 0;
    for (s++; *s; s++)
        if (!(is_alpha_(*s) || is_digit(*s) || *s == ':'))
            return 0;
    return 1;
}

static int valid_label_name(const char *s)
{
    if (!s || !*s || !is_alpha_(*s) || strncmp(s, "__", 2) == 0)
        return 0;
    for (s++; *s; s++)
        if (!(is_alpha_(*s) || is_digit(*s)))
            return 0;
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Names the process collector renders, which families may not take. */
static const char *const process_names[] = {
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
};

static int name_taken(const pdm_registry *r, const char *name)
{
    for (size_t i = 0; i < r->n_families; i++)
        if (strcmp(r->families[i]->name, name) == 0)
            return 1;
    if (r->flags & PDM_REGISTRY_PROCESS_METRICS)
        for (size_t i = 0; i < sizeof process_names / sizeof *process_names; i++)
            if (strcmp(process_names[i], name) == 0)
                return 1;
    return 0;
}

static pdm_metric *family_register(pdm_registry *r, metric_kind kind, const char *name,
                                   const char *help, const char *const *label_names,
                                   size_t n_labels, const double *buckets, size_t n_buckets,
                                   char *errstr, size_t errlen)
{
    pdm_metric *m = NULL, *ret = NULL;
    if (!valid_metric_name(name)) {
        pdm_err(errstr, errlen, "invalid metric name \"%s\"", name ? name : "(null)");
        return NULL;
    }
    if (!help || !*help) {
        pdm_err(errstr, errlen, "metric %s: help text required", name);
        return NULL;
    }
    if (n_labels > PDM_METRIC_MAX_LABELS || (n_labels && !label_names)) {
        pdm_err(errstr, errlen, "metric %s: at most %d label names", name, PDM_METRIC_MAX_LABELS);
        return NULL;
    }
    for (size_t i = 0; i < n_labels; i++) {
        if (!valid_label_name(label_names[i]) ||
            (kind == KIND_HISTOGRAM && strcmp(label_names[i], "le") == 0)) {
            pdm_err(errstr, errlen, "metric %s: invalid label name \"%s\"", name,
                    label_names[i] ? label_names[i] : "(null)");
            return NULL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(label_names[i], label_names[j]) == 0) {
                pdm_err(errstr, errlen, "metric %s: label \"%s\" twice", name, label_names[i]);
                return NULL;
            }
    }
    if (kind == KIND_HISTOGRAM) {
        if (n_buckets == 0 || n_buckets > PDM_METRIC_MAX_BUCKETS || !buckets) {
            pdm_err(errstr, errlen, "histogram %s: 1 to %d buckets", name, PDM_METRIC_MAX_BUCKETS);
            return NULL;
        }
        for (size_t i = 0; i < n_buckets; i++)
            if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
                pdm_err(errstr, errlen,
                        "histogram %s: buckets must be finite and strictly increasing", name);
                return NULL;
            }
    }

    m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->kind = kind;
    m->reg = r;
    if (kind == KIND_COUNTER && !ends_with(name, "_total")) {
        size_t n = strlen(name);
        m->name = malloc(n + sizeof "_total");
        if (m->name) {
            memcpy(m->name, name, n);
            memcpy(m->name + n, "_total", sizeof "_total");
        }
    } else {
        m->name = strdup(name);
    }
    m->help = strdup(help);
    if (!m->name || !m->help)
        goto oom;
    for (size_t i = 0; i < n_labels; i++) {
        if (!(m->labels[i] = strdup(label_names[i])))
            goto oom;
        m->n_labels = i + 1;
    }
    if (kind == KIND_HISTOGRAM) {
        memcpy(m->bounds, buckets, n_buckets * sizeof *buckets);
        m->n_buckets = n_buckets;
    }

    pthread_mutex_lock(&r->lock);
    if (name_taken(r, m->name)) {
        pthread_mutex_unlock(&r->lock);
        pdm_err(errstr, errlen, "metric %s registered twice", m->name);
        goto out;
    }
    if (r->n_families == r->cap_families) {
        size_t cap = r->cap_families ? 2 * r->cap_families : 16;
        pdm_metric **f = realloc(r->families, cap * sizeof *f);
        if (!f) {
            pthread_mutex_unlock(&r->lock);
            goto oom;
        }
        r->families = f;
        r->cap_families = cap;
    }
    r->families[r->n_families++] = m;
    pthread_mutex_unlock(&r->lock);
    ret = m;
    m = NULL;
    goto out;
oom:
    pdm_err(errstr, errlen, "out of memory registering metric %s", name);
out:
    family_free(m);
    return ret;
}

pdm_metric *pdm_registry_counter(pdm_registry *r, const char *name, const char *help,
                                 const char *const *label_names, size_t n_labels, char *errstr,
                                 size_t errlen)
{
    return family_register(r, KIND_COUNTER, name, help, label_names, n_labels, NULL, 0, errstr,
                           errlen);
}

pdm_metric *pdm_registry_gauge(pdm_registry *r, const char *name, const char *help,
                               const char *const *label_names, size_t n_labels, char *errstr,
                               size_t errlen)
{
    return family_register(r, KIND_GAUGE, name, help, label_names, n_labels, NULL, 0, errstr,
                           errlen);
}

pdm_metric *pdm_registry_histogram(pdm_registry *r, const char *name, const char *help,
                                   const char *const *label_names, size_t n_labels,
                                   const double *buckets, size_t n_buckets, char *errstr,
                                   size_t errlen)
{
    return family_register(r, KIND_HISTOGRAM, name, help, label_names, n_labels, buckets, n_buckets,
                           errstr, errlen);
}

/* ---- children and updates ------------------------------------------------ */

static pdm_metric_child *child_new(pdm_metric *m, const char *const *values)
{
    pdm_metric_child *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->family = m;
    if (m->n_labels) {
        c->values = calloc(m->n_labels, sizeof *c->values);
        if (!c->values)
            goto fail;
        for (size_t i = 0; i < m->n_labels; i++)
            if (!(c->values[i] = strdup(values[i])))
                goto fail;
    }
    if (m->kind == KIND_HISTOGRAM && !(c->buckets = calloc(m->n_buckets + 1, sizeof *c->buckets)))
        goto fail;
    return c;
fail:
    child_free(c, m->n_labels);
    return NULL;
}

pdm_metric_child *pdm_metric_with(pdm_metric *m, const char *const *label_values)
{
    for (size_t i = 0; i < m->n_labels; i++)
        if (!label_values || !label_values[i])
            return NULL;
    pdm_metric_child *found = NULL;
    pthread_mutex_lock(&m->reg->lock);
    for (size_t i = 0; i < m->n_children && !found; i++) {
        pdm_metric_child *c = m->children[i];
        size_t k = 0;
        while (k < m->n_labels && strcmp(c->values[k], label_values[k]) == 0)
            k++;
        if (k == m->n_labels)
            found = c;
    }
    if (!found) {
        if (m->n_children == m->cap_children) {
            size_t cap = m->cap_children ? 2 * m->cap_children : 4;
            pdm_metric_child **cs = realloc(m->children, cap * sizeof *cs);
            if (!cs)
                goto out;
            m->children = cs;
            m->cap_children = cap;
        }
        found = child_new(m, label_values);
        if (found)
            m->children[m->n_children++] = found;
    }
out:
    pthread_mutex_unlock(&m->reg->lock);
    return found;
}

void pdm_metric_add(pdm_metric_child *c, double v)
{
    if (!c || c->family->kind == KIND_HISTOGRAM || (c->family->kind == KIND_COUNTER && !(v >= 0)))
        return;
    pthread_mutex_lock(&c->family->reg->lock);
    c->value += v;
    pthread_mutex_unlock(&c->family->reg->lock);
}

void pdm_metric_set(pdm_metric_child *c, double v)
{
    if (!c || c->family->kind != KIND_GAUGE)
        return;
    pthread_mutex_lock(&c->family->reg->lock);
    c->value = v;
    pthread_mutex_unlock(&c->family->reg->lock);
}

void pdm_metric_observe(pdm_metric_child *c, double v)
{
    if (!c || c->family->kind != KIND_HISTOGRAM || isnan(v))
        return;
    const pdm_metric *m = c->family;
    size_t b = 0; /* first bucket whose bound is >= v; n_buckets is +Inf */
    while (b < m->n_buckets && v > m->bounds[b])
        b++;
    pthread_mutex_lock(&m->reg->lock);
    c->buckets[b]++;
    c->count++;
    c->sum += v;
    pthread_mutex_unlock(&m->reg->lock);
}

double pdm_metric_value(const pdm_metric_child *c)
{
    if (!c)
        return NAN;
    pthread_mutex_lock(&c->family->reg->lock);
    double v = c->family->kind == KIND_HISTOGRAM ? (double)c->count : c->value;
    pthread_mutex_unlock(&c->family->reg->lock);
    return v;
}

/* ---- rendering ------------------------------------------------------------ */

/* Shortest of %.15g / %.17g that reads back exactly; Go's spellings of the
 * special values, which Prometheus parses. buf holds 32 bytes. */
static const char *format_number(char *buf, double v)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    snprintf(buf, 32, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, 32, "%.17g", v);
    return buf;
}

static int append_number(pdm_buf *b, double v)
{
    char tmp[32];
    const char *s = format_number(tmp, v);
    return pdm_buf_append(b, s, strlen(s));
}

/* HELP text escapes \ and newline; label values also escape ". */
static int append_escaped(pdm_buf *b, const char *s, int quote)
{
    for (; *s; s++) {
        int rc;
        if (*s == '\\')
            rc = pdm_buf_append(b, "\\\\", 2);
        else if (*s == '\n')
            rc = pdm_buf_append(b, "\\n", 2);
        else if (quote && *s == '"')
            rc = pdm_buf_append(b, "\\\"", 2);
        else
            rc = pdm_buf_append(b, s, 1);
        if (rc)
            return -1;
    }
    return 0;
}

static int append_header(pdm_buf *b, const char *name, const char *help, const char *type)
{
    if (pdm_buf_printf(b, "# HELP %s ", name) || append_escaped(b, help, 0) ||
        pdm_buf_printf(b, "\n# TYPE %s %s\n", name, type))
        return -1;
    return 0;
}

/* name{labels[,le="x"]} value\n; le may be NULL. */
static int append_sample(pdm_buf *b, const pdm_metric *m, const pdm_metric_child *c,
                         const char *suffix, const char *le, double v)
{
    if (pdm_buf_printf(b, "%s%s", m->name, suffix))
        return -1;
    if (m->n_labels || le) {
        if (pdm_buf_append(b, "{", 1))
            return -1;
        for (size_t i = 0; i < m->n_labels; i++)
            if (pdm_buf_printf(b, "%s%s=\"", i ? "," : "", m->labels[i]) ||
                append_escaped(b, c->values[i], 1) || pdm_buf_append(b, "\"", 1))
                return -1;
        if (le && pdm_buf_printf(b, "%sle=\"%s\"", m->n_labels ? "," : "", le))
            return -1;
        if (pdm_buf_append(b, "}", 1))
            return -1;
    }
    if (pdm_buf_append(b, " ", 1) || append_number(b, v) || pdm_buf_append(b, "\n", 1))
        return -1;
    return 0;
}

static int render_family(pdm_buf *b, const pdm_metric *m)
{
    if (append_header(b, m->name, m->help, kind_names[m->kind]))
        return -1;
    for (size_t i = 0; i < m->n_children; i++) {
        const pdm_metric_child *c = m->children[i];
        if (m->kind != KIND_HISTOGRAM) {
            if (append_sample(b, m, c, "", NULL, c->value))
                return -1;
            continue;
        }
        uint64_t cumulative = 0;
        for (size_t k = 0; k <= m->n_buckets; k++) {
            char tmp[32];
            const char *le = k < m->n_buckets ? format_number(tmp, m->bounds[k]) : "+Inf";
            cumulative += c->buckets[k];
            if (append_sample(b, m, c, "_bucket", le, (double)cumulative))
                return -1;
        }
        if (append_sample(b, m, c, "_sum", NULL, c->sum) ||
            append_sample(b, m, c, "_count", NULL, (double)c->count))
            return -1;
    }
    return 0;
}

static int render_process(pdm_buf *b)
{
    pdm_process_stats s;
    if (pdm_process_stats_read(&s, NULL, 0))
        return 0; /* nothing to say rather than a failed scrape */
    struct {
        const char *name, *type, *help;
        double v;
    } rows[] = {
        {"process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
         s.cpu_seconds},
        {"process_open_fds", "gauge", "Number of open file descriptors.", s.open_fds},
        {"process_max_fds", "gauge", "Maximum number of open file descriptors.", s.max_fds},
        {"process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", s.virtual_bytes},
        {"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
         s.resident_bytes},
        {"process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.", s.start_time_seconds},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        if (append_header(b, rows[i].name, rows[i].help, rows[i].type) ||
            pdm_buf_printf(b, "%s ", rows[i].name) || append_number(b, rows[i].v) ||
            pdm_buf_append(b, "\n", 1))
            return -1;
    return 0;
}

int pdm_registry_render(pdm_registry *r, pdm_buf *out)
{
    pthread_mutex_lock(&r->lock);
    pdm_registry_collect_fn fn = r->collect;
    void *ctx = r->collect_ctx;
    pthread_mutex_unlock(&r->lock);
    if (fn)
        fn(ctx, r);

    int rc = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_families && rc == 0; i++)
        rc = render_family(out, r->families[i]);
    unsigned flags = r->flags;
    pthread_mutex_unlock(&r->lock);
    if (rc == 0 && (flags & PDM_REGISTRY_PROCESS_METRICS))
        rc = render_process(out);
    return rc;
}
