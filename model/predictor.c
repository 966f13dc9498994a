/* predictor.c: choosing between XGBoost and the native evaluator.
 *
 * The native evaluator is only ever trusted after it has scored a fixed
 * sample with the same results as XGBoost on this very model (native.c
 * builds the sample around the model's own thresholds, where a `<` against a
 * `<=`, a double compared without the float conversion, or a wrong default
 * direction would show). A refusal leaves the model on its previous
 * predictor and says why; nothing is silently approximated. */
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

static const char *const class_names[PDM_MODEL_N_CLASSES] = {"none", "comp1", "comp2", "comp3",
                                                             "comp4"};

int pdm_predictor_parse(const char *name, pdm_predictor *out)
{
    if (name && strcmp(name, "xgboost") == 0)
        *out = PDM_PREDICTOR_XGBOOST;
    else if (name && strcmp(name, "native") == 0)
        *out = PDM_PREDICTOR_NATIVE;
    else
        return -1;
    return 0;
}

const char *pdm_predictor_name(pdm_predictor p)
{
    return p == PDM_PREDICTOR_NATIVE ? "native" : "xgboost";
}

pdm_predictor pdm_model_predictor(const pdm_model *m)
{
    return m->predictor;
}

const pdm_predictor_check *pdm_model_predictor_check(const pdm_model *m)
{
    return &m->check;
}

int pdm_model_native_build(pdm_model *m, pdm_native **out, char *errstr, size_t errlen)
{
    int rc;
    if (m->model_bytes)
        return pdm_native_from_ubj(m->model_bytes, m->model_len, out, errstr, errlen);
    bst_ulong len;
    const char *bytes;
    pthread_mutex_lock(&m->lock);
    if (XGBoosterSaveModelToBuffer(m->booster, "{\"format\":\"ubj\"}", &len, &bytes))
        rc = pdm_err(errstr, errlen, "xgboost: serialise model: %s", XGBGetLastError());
    else
        rc = pdm_native_from_ubj(bytes, len, out, errstr, errlen);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* "f0=1.5 f1=nan ..." of a row, cut to fit. */
static void describe_row(const pdm_model *m, const double *row, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t j = 0; j < m->nfeat && used + 1 < len; j++) {
        int w = snprintf(buf + used, len - used, "%s%s=%.9g", j ? " " : "", m->feature_names[j],
                         row[j]);
        if (w < 0 || (size_t)w >= len - used) {
            buf[used] = '\0';
            break;
        }
        used += (size_t)w;
    }
}

/* model.json "predictor": which predictor the trainer evaluated with and
 * the native check's result. */
static int record_check(pdm_model *m, pdm_predictor p, char *errstr, size_t errlen)
{
    cJSON *pred = cJSON_GetObjectItemCaseSensitive(m->meta, "predictor");
    if (m->sealed || !cJSON_IsObject(pred))
        return 0;
    cJSON *check = NULL, *with = cJSON_CreateString(pdm_predictor_name(p));
    if (m->check.checked) {
        check = cJSON_CreateObject();
        if (check) {
            cJSON_AddBoolToObject(check, "passed", m->check.passed);
            cJSON_AddNumberToObject(check, "rows", (double)m->check.rows);
            cJSON_AddNumberToObject(check, "values", (double)m->check.values);
            cJSON_AddNumberToObject(check, "identical", (double)m->check.identical);
            cJSON_AddItemToObject(check, "max_abs_diff", pdm_json_number(m->check.max_abs_diff));
            cJSON_AddNumberToObject(check, "tolerance", PDM_PREDICTOR_TOLERANCE);
            if (!m->check.passed)
                cJSON_AddStringToObject(check, "reason", m->check.reason);
        }
    }
    cJSON_DeleteItemFromObjectCaseSensitive(pred, "evaluated_with");
    cJSON_DeleteItemFromObjectCaseSensitive(pred, "native_check");
    int ok = with && cJSON_AddItemToObject(pred, "evaluated_with", with) && !(with = NULL);
    ok = ok && (!m->check.checked ||
                (check && cJSON_AddItemToObject(pred, "native_check", check) && !(check = NULL)));
    cJSON_Delete(with);
    cJSON_Delete(check);
    return ok ? 0 : pdm_err(errstr, errlen, "out of memory for the predictor metadata");
}

int pdm_model_native_install(pdm_model *m, pdm_native *nat, char *errstr, size_t errlen)
{
    enum { K = PDM_MODEL_N_CLASSES };
    double *rows = NULL, *edges = NULL, *ref = NULL, *got = NULL;
    size_t n = 0;
    pdm_native_diff d;
    int rc = -1;
    double t0 = pdm_monotonic_s();
    pdm_predictor_check *c = &m->check;

    memset(c, 0, sizeof *c);
    if (pdm_native_n_features(nat) != m->nfeat || pdm_native_n_outputs(nat) != K) {
        snprintf(c->reason, sizeof c->reason,
                 "the native evaluator has %zu features and %zu outputs, the model %zu and %d",
                 pdm_native_n_features(nat), pdm_native_n_outputs(nat), m->nfeat, K);
        goto out;
    }
    if (m->feature_hist) {
        edges = malloc(m->nfeat * (PDM_MODEL_HIST_BINS + 1) * sizeof *edges);
        if (!edges) {
            snprintf(c->reason, sizeof c->reason, "out of memory");
            goto out;
        }
        for (size_t j = 0; j < m->nfeat; j++)
            memcpy(edges + j * (PDM_MODEL_HIST_BINS + 1), m->feature_hist[j].edges,
                   (PDM_MODEL_HIST_BINS + 1) * sizeof *edges);
    }
    if (pdm_native_sample(nat, edges, PDM_MODEL_HIST_BINS + 1, &rows, &n, c->reason,
                          sizeof c->reason))
        goto out;
    ref = malloc(n * K * sizeof *ref);
    got = malloc(n * K * sizeof *got);
    if (!ref || !got) {
        snprintf(c->reason, sizeof c->reason, "out of memory for %zu sample rows", n);
        goto out;
    }
    if (pdm_model_predict_xgboost(m, rows, n, ref, c->reason, sizeof c->reason) ||
        pdm_native_predict(nat, rows, n, got, c->reason, sizeof c->reason))
        goto out;
    pdm_native_compare(got, ref, n, K, &d);
    c->checked = 1;
    c->rows = n;
    c->values = n * K;
    c->identical = d.identical;
    c->max_abs_diff = d.max_abs_diff;
    if (!(d.max_abs_diff <= PDM_PREDICTOR_TOLERANCE)) {
        char row[PDM_ERRSTR_SIZE / 2];
        describe_row(m, rows + d.worst_row * m->nfeat, row, sizeof row);
        snprintf(c->reason, sizeof c->reason,
                 "P(%s) of sample row %zu of %zu differs: native %.9g, xgboost %.9g (|diff| %.3g "
                 "> %g; %zu of %zu values identical); row: %s",
                 class_names[d.worst_output], d.worst_row, n, d.native_value, d.reference_value,
                 d.max_abs_diff, PDM_PREDICTOR_TOLERANCE, d.identical, c->values, row);
        goto out;
    }
    c->passed = 1;
    pdm_native_destroy(m->native);
    m->native = nat;
    nat = NULL;
    m->predictor = PDM_PREDICTOR_NATIVE;
    rc = 0;
out:
    c->seconds = pdm_monotonic_s() - t0;
    if (rc) {
        char ignored[PDM_ERRSTR_SIZE];
        pdm_err(errstr, errlen, "native predictor refused: %s", c->reason);
        record_check(m, m->predictor, ignored, sizeof ignored);
    } else if (record_check(m, PDM_PREDICTOR_NATIVE, errstr, errlen)) {
        rc = -1;
    }
    pdm_native_destroy(nat);
    free(rows);
    free(edges);
    free(ref);
    free(got);
    return rc;
}

int pdm_model_set_predictor(pdm_model *m, pdm_predictor p, char *errstr, size_t errlen)
{
    pdm_native *nat = NULL;
    if (p == PDM_PREDICTOR_XGBOOST) {
        m->predictor = p;
        return record_check(m, p, errstr, errlen);
    }
    if (p != PDM_PREDICTOR_NATIVE)
        return pdm_err(errstr, errlen, "unknown predictor %d", (int)p);
    if (m->native && m->check.passed) {
        m->predictor = p;
        return record_check(m, p, errstr, errlen);
    }
    if (pdm_model_native_build(m, &nat, m->check.reason, sizeof m->check.reason)) {
        char why[PDM_ERRSTR_SIZE];
        snprintf(why, sizeof why, "%s", m->check.reason);
        memset(&m->check, 0, sizeof m->check);
        snprintf(m->check.reason, sizeof m->check.reason, "%s", why);
        return pdm_err(errstr, errlen, "native predictor refused: %s", why);
    }
    return pdm_model_native_install(m, nat, errstr, errlen);
}
