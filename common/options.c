/* options.c: one table of options drives defaults, environment variables,
 * the command line and --help, so the three can never disagree.
 * Precedence: default < environment < command line. Secrets (PDM_OPT_SECRET)
 * may also come from a file (--NAME-file PATH or the env var + "_FILE") and
 * are never printed. A key=value list (PDM_OPT_KV, e.g. -X) also takes
 * "@PATH", a properties file of key=value lines, so that Kafka secrets need
 * not appear on the command line; its values are never quoted in errors. */
#include "pdm_common.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void *field(const pdm_option *o, void *cfg) { return (char *)cfg + o->offset; }

static int read_secret_file(const char *path, char **out, char *errstr, size_t errlen)
{
    pdm_buf b = {0};
    if (pdm_read_file(path, &b, errstr, errlen)) {
        pdm_buf_free(&b);
        return -1;
    }
    /* The secret is the first line, without its line end. */
    size_t n = b.data ? strcspn(b.data, "\r\n") : 0;
    char *s = strndup(b.data ? b.data : "", n);
    pdm_buf_free(&b);
    if (!s)
        return pdm_err(errstr, errlen, "out of memory");
    *out = s;
    return 0;
}

/* Keys whose values must never be quoted in a message. */
static int key_looks_secret(const char *key)
{
    static const char *const words[] = {"password", "secret", "sasl.oauthbearer.config",
                                        "ssl.key.pem", "ssl_key", "keytab", "token"};
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t n = strlen(words[w]);
        for (const char *p = key; *p; p++)
            if (!strncasecmp(p, words[w], n))
                return 1;
    }
    return 0;
}

static void trim(const char **start, const char **end)
{
    while (*start < *end && isspace((unsigned char)**start))
        (*start)++;
    while (*end > *start && isspace((unsigned char)(*end)[-1]))
        (*end)--;
}

/* Appends the pairs of a properties file (kcat -F style: "key=value" lines,
 * '#' comments and blank lines skipped, whitespace around key and value
 * trimmed, values may contain '=') to list, in file order. */
static int kv_add_file(pdm_kvlist *list, const char *path, char *errstr, size_t errlen)
{
    int rc = -1;
    pdm_buf b = {0};
    pdm_buf kv = {0};
    if (!*path) {
        pdm_err(errstr, errlen, "'@' must be followed by a properties file path");
        goto out;
    }
    if (pdm_read_file(path, &b, errstr, errlen))
        goto out;
    const char *p = b.data ? b.data : "";
    const char *data_end = p + b.len;
    for (size_t lineno = 1; p < data_end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(data_end - p));
        const char *start = p, *end = nl ? nl : data_end;
        p = nl ? nl + 1 : data_end;
        trim(&start, &end);
        if (start == end || *start == '#')
            continue;
        if (memchr(start, '\0', (size_t)(end - start))) {
            pdm_err(errstr, errlen, "%s:%zu: NUL byte in line", path, lineno);
            goto out;
        }
        const char *eq = memchr(start, '=', (size_t)(end - start));
        if (!eq) {
            /* The line is not shown: it may be a bare secret. */
            pdm_err(errstr, errlen, "%s:%zu: expected key=value", path, lineno);
            goto out;
        }
        const char *kstart = start, *kend = eq, *vstart = eq + 1, *vend = end;
        trim(&kstart, &kend);
        trim(&vstart, &vend);
        if (kstart == kend) {
            pdm_err(errstr, errlen, "%s:%zu: empty key before '='", path, lineno);
            goto out;
        }
        kv.len = 0;
        if (pdm_buf_printf(&kv, "%.*s=%.*s", (int)(kend - kstart), kstart, (int)(vend - vstart),
                           vstart)) {
            pdm_err(errstr, errlen, "out of memory");
            goto out;
        }
        if (pdm_kvlist_add(list, kv.data, NULL, 0)) {
            pdm_err(errstr, errlen, "%s:%zu: out of memory", path, lineno);
            goto out;
        }
    }
    rc = 0;
out:
    if (kv.data)
        memset(kv.data, 0, kv.cap);
    if (b.data)
        memset(b.data, 0, b.cap);
    pdm_buf_free(&kv);
    pdm_buf_free(&b);
    return rc;
}

/* Adds "key=value" or, for "@PATH", every pair of that properties file. */
static int kv_add(pdm_kvlist *list, const char *value, char *errstr, size_t errlen)
{
    if (value[0] == '@')
        return kv_add_file(list, value + 1, errstr, errlen);
    const char *eq = strchr(value, '=');
    if (!eq || eq == value) {
        if (eq || key_looks_secret(value))
            return pdm_err(errstr, errlen, "expected KEY=VALUE or @FILE (argument not shown)");
        return pdm_err(errstr, errlen, "expected KEY=VALUE or @FILE, got '%s'", value);
    }
    return pdm_kvlist_add(list, value, errstr, errlen);
}

static int set_value(const pdm_option *o, void *cfg, const char *value, const char *source,
                     char *errstr, size_t errlen)
{
    char *end;
    switch (o->type) {
    case PDM_OPT_STRING: {
        char **p = field(o, cfg);
        char *copy = strdup(value);
        if (!copy)
            return pdm_err(errstr, errlen, "out of memory");
        free(*p);
        *p = copy;
        return 0;
    }
    case PDM_OPT_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end)
            return pdm_err(errstr, errlen, "%s: --%s expects an integer, got '%s'", source,
                           o->name, value);
        *(long long *)field(o, cfg) = v;
        return 0;
    }
    case PDM_OPT_DOUBLE: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end)
            return pdm_err(errstr, errlen, "%s: --%s expects a number, got '%s'", source,
                           o->name, value);
        *(double *)field(o, cfg) = v;
        return 0;
    }
    case PDM_OPT_BOOL: {
        int v;
        if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes"))
            v = 1;
        else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no"))
            v = 0;
        else
            return pdm_err(errstr, errlen, "%s: --%s expects true or false, got '%s'", source,
                           o->name, value);
        *(int *)field(o, cfg) = v;
        return 0;
    }
    case PDM_OPT_KV: {
        char msg[PDM_ERRSTR_SIZE];
        if (kv_add(field(o, cfg), value, msg, sizeof msg))
            return pdm_err(errstr, errlen, "%s: --%s: %s", source, o->name, msg);
        return 0;
    }
    }
    return pdm_err(errstr, errlen, "internal: bad option type");
}

static int set_secret_from_file(const pdm_option *o, void *cfg, const char *path, char *errstr,
                                size_t errlen)
{
    char *s = NULL;
    if (read_secret_file(path, &s, errstr, errlen))
        return -1;
    char **p = field(o, cfg);
    free(*p);
    *p = s;
    return 0;
}

static const pdm_option *find_long(const pdm_option *t, const char *name, size_t len, int *is_file)
{
    for (; t->name; t++) {
        size_t n = strlen(t->name);
        if (n == len && !strncmp(t->name, name, len)) {
            *is_file = 0;
            return t;
        }
        if ((t->flags & PDM_OPT_SECRET) && len == n + 5 && !strncmp(t->name, name, n) &&
            !strncmp(name + n, "-file", 5)) {
            *is_file = 1;
            return t;
        }
    }
    return NULL;
}

static const pdm_option *find_short(const pdm_option *t, char c)
{
    for (; t->name; t++)
        if (t->short_name && t->short_name == c)
            return t;
    return NULL;
}

int pdm_options_parse(const pdm_option *table, void *cfg, int argc, char **argv, int *npos,
                      int *help, char *errstr, size_t errlen)
{
    const pdm_option *o;
    int positional = 0;

    if (help)
        *help = 0;
    for (o = table; o->name; o++) {
        if (o->def && set_value(o, cfg, o->def, "default", errstr, errlen))
            return -1;
    }
    for (o = table; o->name; o++) {
        if (!o->env)
            continue;
        const char *v = getenv(o->env);
        if (v && *v && set_value(o, cfg, v, o->env, errstr, errlen))
            return -1;
        if (o->flags & PDM_OPT_SECRET) {
            char fenv[256];
            snprintf(fenv, sizeof fenv, "%s_FILE", o->env);
            const char *path = getenv(fenv);
            if (v && *v && path && *path)
                return pdm_err(errstr, errlen, "%s and %s are both set: give the secret one way",
                               o->env, fenv);
            if (path && *path && set_secret_from_file(o, cfg, path, errstr, errlen))
                return -1;
        } else if (o->type == PDM_OPT_KV) {
            /* NAME_FILE names a properties file, as "@PATH" would. */
            char fenv[256], msg[PDM_ERRSTR_SIZE];
            snprintf(fenv, sizeof fenv, "%s_FILE", o->env);
            const char *path = getenv(fenv);
            if (path && *path && kv_add_file(field(o, cfg), path, msg, sizeof msg))
                return pdm_err(errstr, errlen, "%s: %s", fenv, msg);
        }
    }
    /* The secret options given on the command line, by value (bit 0) or by
     * file (bit 1): both is an error, not a silent choice. */
    unsigned char given[PDM_OPTIONS_MAX] = {0};
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        const char *value = NULL;
        int is_file = 0;

        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            if (help)
                *help = 1;
            break;
        }
        if (!strcmp(arg, "--")) {
            while (++i < argc)
                argv[++positional] = argv[i];
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            argv[++positional] = arg;
            continue;
        }
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(table, name, len, &is_file);
            if (!o)
                return pdm_err(errstr, errlen, "unknown option --%.*s (see --help)", (int)len,
                               name);
            if (eq)
                value = eq + 1;
        } else {
            o = find_short(table, arg[1]);
            if (!o)
                return pdm_err(errstr, errlen, "unknown option -%c (see --help)", arg[1]);
            if (arg[2])
                value = arg + 2; /* -Xkey=value, as kcat takes it */
        }
        if (o->type == PDM_OPT_BOOL && !is_file && !value) {
            *(int *)field(o, cfg) = 1;
            continue;
        }
        if (!value) {
            if (i + 1 >= argc)
                return pdm_err(errstr, errlen, "option --%s needs a value", o->name);
            value = argv[++i];
        }
        if ((o->flags & PDM_OPT_SECRET) && o - table < PDM_OPTIONS_MAX) {
            given[o - table] |= (unsigned char)(is_file ? 2 : 1);
            if (given[o - table] == 3)
                return pdm_err(errstr, errlen,
                               "--%s and --%s-file are both given: give the secret one way",
                               o->name, o->name);
        }
        if (is_file) {
            if (set_secret_from_file(o, cfg, value, errstr, errlen))
                return -1;
        } else if (set_value(o, cfg, value, "command line", errstr, errlen)) {
            return -1;
        }
    }
    if (npos)
        *npos = positional;
    return 0;
}

void pdm_options_help(FILE *out, const char *usage, const pdm_option *table)
{
    fprintf(out, "%s\n\nOptions:\n", usage);
    for (const pdm_option *o = table; o->name; o++) {
        char flags[128];
        const char *arg = o->arg_name ? o->arg_name : (o->type == PDM_OPT_BOOL ? NULL : "VALUE");
        if (o->short_name)
            snprintf(flags, sizeof flags, "-%c, --%s%s%s", o->short_name, o->name, arg ? " " : "",
                     arg ? arg : "");
        else
            snprintf(flags, sizeof flags, "    --%s%s%s", o->name, arg ? " " : "", arg ? arg : "");
        fprintf(out, "  %s\n      %s\n", flags, o->help ? o->help : "");
        if (o->flags & PDM_OPT_SECRET)
            fprintf(out, "      (secret: never printed; also --%s-file PATH%s%s%s)\n", o->name,
                    o->env ? " or " : "", o->env ? o->env : "", o->env ? "_FILE" : "");
        if (o->type == PDM_OPT_KV)
            fprintf(out,
                    "      (or @FILE: a properties file of KEY=VALUE lines, '#' comments, added in "
                    "place; values are never printed%s%s%s)\n",
                    o->env ? "; env " : "", o->env ? o->env : "", o->env ? "_FILE names one" : "");
        if (o->env || (o->def && !(o->flags & PDM_OPT_SECRET))) {
            fprintf(out, "      ");
            if (o->env)
                fprintf(out, "env %s", o->env);
            if (o->def && !(o->flags & PDM_OPT_SECRET))
                fprintf(out, "%sdefault: %s", o->env ? "; " : "", o->def);
            fprintf(out, "\n");
        }
    }
    fprintf(out, "  -h, --help\n      Show this help.\n");
}

void pdm_options_free(const pdm_option *table, void *cfg)
{
    for (const pdm_option *o = table; o->name; o++) {
        if (o->type == PDM_OPT_STRING) {
            char **p = field(o, cfg);
            free(*p);
            *p = NULL;
        } else if (o->type == PDM_OPT_KV) {
            pdm_kvlist_clear(field(o, cfg));
        }
    }
}

int pdm_program_start(const pdm_program *p, void *cfg, int argc, char **argv, int *npos,
                      int *status)
{
    char err[PDM_ERRSTR_SIZE];
    int help = 0, n = 0;
    pdm_log_set_program(p->name);
    if (pdm_options_parse(p->options, cfg, argc, argv, &n, &help, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", p->name, err);
        *status = 2;
        return -1;
    }
    if (help) {
        pdm_options_help(stdout, p->usage, p->options);
        *status = 0;
        return -1;
    }
    if (p->max_positional >= 0 && n > p->max_positional) {
        fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", p->name,
                argv[p->max_positional + 1]);
        *status = 2;
        return -1;
    }
    if (p->log_level_offset != PDM_NO_LOG_LEVEL) {
        const char *name = *(const char **)((const char *)cfg + p->log_level_offset);
        pdm_log_level level;
        if (!name || pdm_log_level_parse(name, &level)) {
            fprintf(stderr, "%s: --log-level: unknown level '%s' (debug, info, warn or error)\n",
                    p->name, name ? name : "");
            *status = 2;
            return -1;
        }
        pdm_log_set_level(level);
    }
    if (npos)
        *npos = n;
    return 0;
}
