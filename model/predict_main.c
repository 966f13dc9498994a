/* pdm-predict: score a feature dump offline with a model package.
 *   pdm-predict --model DIR --features FILE.csv
 * Reads the trainer's dump format (machineID,datetime,<27 features>,label)
 * and prints machineID,datetime,risk,comp1,comp2,comp3,comp4,level: the
 * risk, each component's probability of failing first within the horizon
 * (a RiskEvent's `components`, the same doubles) and the level. The offline
 * side of the online/offline parity check, and a batch scorer for
 * backfills. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdm_common.h"
#include "pdm_model.h"

typedef struct {
    char *model;
    char *features;
    long long batch;
    char *predictor;
} predict_options;

#define O(f) offsetof(predict_options, f)
static const pdm_option options[] = {
    {"model", 'm', "PDM_MODEL", PDM_OPT_STRING, O(model), NULL, "DIR",
     "Model package, or a models directory with a `current` link.", 0},
    {"features", 'f', NULL, PDM_OPT_STRING, O(features), NULL, "FILE",
     "Feature dump CSV (pdm-train --dump-features or pdm-scorer --dump-features).", 0},
    {"batch", 0, NULL, PDM_OPT_INT, O(batch), "4096", "N", "Rows per model call.", 0},
    {"predictor", 0, "PDM_PREDICTOR", PDM_OPT_STRING, O(predictor), "native", "NAME",
     "native (the trees evaluated natively, after a check against XGBoost; on any difference "
     "it warns and uses XGBoost) or xgboost.",
     0},
    PDM_OPTIONS_END,
};

/* Splits a CSV line (no quoting in dumps) in place; returns the field count. */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

/* Every score printed so far reached standard output (a full disk or a
 * closed pipe is an error, not a short file). 0, or -1 with errstr. */
static int stdout_ok(char *errstr, size_t errlen)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    return pdm_err(errstr, errlen, "writing the scores to standard output failed: %s",
                   strerror(errno ? errno : EIO));
}

static int flush_batch(pdm_model *m, double *rows, size_t n, int32_t *ids, char (*ts)[32],
                       char *errstr, size_t errlen)
{
    pdm_risk *out = malloc((n ? n : 1) * sizeof *out);
    if (!out)
        return pdm_err(errstr, errlen, "out of memory");
    int rc = pdm_model_score(m, rows, n, out, errstr, errlen);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const double *c = out[i].component_prob;
        printf("%d,%s,%.17g,%.17g,%.17g,%.17g,%.17g,%s\n", (int)ids[i], ts[i], out[i].risk, c[0],
               c[1], c[2], c[3], pdm_level_name(out[i].level));
    }
    free(out);
    return rc ? rc : stdout_ok(errstr, errlen);
}

int main(int argc, char **argv)
{
    predict_options o = {0};
    char err[PDM_ERRSTR_SIZE], path[4096];
    int help = 0, rc = 2;
    pdm_model *m = NULL;
    FILE *in = NULL;
    char *line = NULL;
    size_t cap = 0;
    double *rows = NULL;
    int32_t *ids = NULL;
    char(*ts)[32] = NULL;

    if (pdm_options_parse(options, &o, argc, argv, NULL, &help, err, sizeof err)) {
        fprintf(stderr, "pdm-predict: %s\n", err);
        goto out;
    }
    if (help || !o.model || !o.features) {
        pdm_options_help(help ? stdout : stderr,
                         "usage: pdm-predict --model DIR --features FILE.csv", options);
        rc = help ? 0 : 2;
        goto out;
    }
    pdm_predictor predictor;
    if (pdm_predictor_parse(o.predictor, &predictor)) {
        fprintf(stderr, "pdm-predict: --predictor: '%s' is not native or xgboost\n", o.predictor);
        goto out;
    }
    rc = 1;
    int current = pdm_model_current(o.model, path, sizeof path, err, sizeof err);
    if (current < 0 || pdm_model_load(current == 0 ? path : o.model, &m, err, sizeof err)) {
        fprintf(stderr, "pdm-predict: %s\n", err);
        goto out;
    }
    if (pdm_model_set_predictor(m, predictor, err, sizeof err))
        fprintf(stderr, "pdm-predict: warning: %s; scoring with xgboost\n", err);
    size_t nf = pdm_model_n_features(m), batch = o.batch > 0 ? (size_t)o.batch : 4096, n = 0;
    in = fopen(o.features, "r");
    rows = malloc(batch * nf * sizeof *rows);
    ids = malloc(batch * sizeof *ids);
    ts = malloc(batch * sizeof *ts);
    if (!in || !rows || !ids || !ts) {
        fprintf(stderr, "pdm-predict: %s: cannot read\n", o.features);
        goto out;
    }
    printf("machineID,datetime,risk,comp1,comp2,comp3,comp4,level\n");
    if (stdout_ok(err, sizeof err))
        goto fail;
    long lineno = 0;
    char *fields[64];
    while (getline(&line, &cap, in) > 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1 || !line[0])
            continue; /* header */
        int nfld = split(line, fields, 64);
        if (nfld < (int)nf + 2) {
            fprintf(stderr, "pdm-predict: %s:%ld: %d fields, expected %zu\n", o.features, lineno,
                    nfld, nf + 3);
            goto out;
        }
        ids[n] = (int32_t)strtol(fields[0], NULL, 10);
        snprintf(ts[n], sizeof ts[n], "%s", fields[1]);
        for (size_t j = 0; j < nf; j++)
            rows[n * nf + j] = fields[2 + j][0] ? strtod(fields[2 + j], NULL) : NAN;
        if (++n == batch) {
            if (flush_batch(m, rows, n, ids, ts, err, sizeof err))
                goto fail;
            n = 0;
        }
    }
    if (ferror(in)) {
        pdm_err(err, sizeof err, "%s: read failed: %s", o.features, strerror(errno));
        goto fail;
    }
    if (n && flush_batch(m, rows, n, ids, ts, err, sizeof err))
        goto fail;
    if (fclose(stdout) != 0) {
        pdm_err(err, sizeof err, "writing the scores to standard output failed: %s",
                strerror(errno));
        goto fail;
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "pdm-predict: %s\n", err);
out:
    if (in)
        fclose(in);
    free(line);
    free(rows);
    free(ids);
    free(ts);
    pdm_model_destroy(m);
    pdm_options_free(options, &o);
    return rc;
}
