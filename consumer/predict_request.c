/* predict_request.c: parsing and checking the body of POST /v1/predict, and
 * the input checks shared with the stream (see predict_request.h). */
#include "predict_request.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "pdm_common.h"

#define MIN_EVENT_TS INT64_C(946684800000) /* 2000-01-01 */
#define MAX_FUTURE_MS (24 * PDM_MS_PER_HOUR)

static int finite_in(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

const char *pdm_input_validate(const pdm_event *ev, int64_t now, char *detail, size_t len)
{
    if (ev->machine_id <= 0) {
        snprintf(detail, len, "machine_id %d is not positive", (int)ev->machine_id);
        return "invalid_machine";
    }
    if (ev->type == PDM_EV_RISK || ev->type == PDM_EV_SILENCE) {
        snprintf(detail, len, "a %s is output, not input",
                 ev->type == PDM_EV_RISK ? "RiskEvent" : "MachineSilence");
        return "unexpected_type";
    }
    if (ev->ts < MIN_EVENT_TS || ev->ts > now + MAX_FUTURE_MS) {
        char t[32];
        snprintf(detail, len, "timestamp %s is before 2000 or more than a day ahead",
                 pdm_time_format(ev->ts, t));
        return "invalid_timestamp";
    }
    if (ev->type == PDM_EV_TELEMETRY) {
        static const char *names[] = {"volt", "rotate", "pressure", "vibration"};
        static const double hi[] = {1000.0, 10000.0, 1000.0, 1000.0};
        double vals[4] = {ev->u.telemetry.volt, ev->u.telemetry.rotate, ev->u.telemetry.pressure,
                          ev->u.telemetry.vibration};
        for (int i = 0; i < 4; i++) {
            if (!finite_in(vals[i], 0.0, hi[i])) {
                snprintf(detail, len, "%s %g is outside [0, %g]", names[i], vals[i], hi[i]);
                return "invalid_value";
            }
        }
    }
    if (ev->type == PDM_EV_MACHINE && (ev->u.machine.age < 0 || ev->u.machine.age > 200)) {
        snprintf(detail, len, "age %d is outside [0, 200]", ev->u.machine.age);
        return "invalid_value";
    }
    return NULL;
}

static int feature_index(const char *name)
{
    for (size_t i = 0; i < PDM_N_FEATURES; i++)
        if (strcmp(pdm_feature_name(i), name) == 0)
            return (int)i;
    return -1;
}

/* A positive machine id that is an integer JSON number. */
static int parse_machine_id(const cJSON *j, int32_t *out, char *errstr, size_t errlen)
{
    if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble) || j->valuedouble != floor(j->valuedouble) ||
        j->valuedouble < 1 || j->valuedouble > INT32_MAX)
        return pdm_err(errstr, errlen, "\"machine_id\" must be an integer from 1 to %d",
                       INT32_MAX);
    *out = (int32_t)j->valuedouble;
    return 0;
}

static int parse_ts(const cJSON *j, int64_t *out, char *errstr, size_t errlen)
{
    if (cJSON_IsString(j) && pdm_time_parse(j->valuestring, strlen(j->valuestring), out) == 0)
        return 0;
    if (cJSON_IsNumber(j) && isfinite(j->valuedouble) && fabs(j->valuedouble) < 9e15 &&
        j->valuedouble == floor(j->valuedouble)) {
        *out = (int64_t)j->valuedouble;
        return 0;
    }
    return pdm_err(errstr, errlen,
                   "\"ts\" must be a time such as \"2015-03-01T06:00:00Z\" or integer "
                   "milliseconds since the epoch");
}

static int parse_features(const cJSON *obj, double *row, char *errstr, size_t errlen)
{
    if (!cJSON_IsObject(obj))
        return pdm_err(errstr, errlen, "\"features\" must be an object of feature: number");
    for (size_t i = 0; i < PDM_N_FEATURES; i++)
        row[i] = NAN;
    for (const cJSON *f = obj->child; f; f = f->next) {
        int k = feature_index(f->string);
        if (k < 0)
            return pdm_err(errstr, errlen, "unknown feature \"%.64s\" (GET /v1/model lists them)",
                           f->string);
        if (cJSON_IsNull(f))
            continue;
        if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble))
            return pdm_err(errstr, errlen, "feature \"%s\" must be a finite number or null",
                           f->string);
        row[k] = f->valuedouble;
    }
    return 0;
}

static int parse_history(const cJSON *events, int32_t machine_id, int has_ts, int64_t ts,
                         pdm_predict_instance *inst, char *errstr, size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE], detail[160];
    int n = cJSON_GetArraySize(events), rc = -1, i = 0;
    if (!cJSON_IsArray(events) || n == 0)
        return pdm_err(errstr, errlen, "\"events\" must be a non-empty array of events");
    if (n > PDM_PREDICT_MAX_EVENTS)
        return pdm_err(errstr, errlen, "at most %d events per history, got %d",
                       PDM_PREDICT_MAX_EVENTS, n);
    pdm_machine_state *st = pdm_machine_state_new();
    if (!st)
        return pdm_err(errstr, errlen, "out of memory");
    int64_t now = pdm_now_ms(), newest = INT64_MIN;
    for (const cJSON *e = events->child; e; e = e->next, i++) {
        if (!cJSON_IsObject(e)) {
            pdm_err(errstr, errlen, "events[%d] is not an object", i);
            goto out;
        }
        char *text = cJSON_PrintUnformatted(e);
        if (!text) {
            pdm_err(errstr, errlen, "out of memory");
            goto out;
        }
        pdm_event ev;
        int bad = pdm_event_from_json(text, &ev, msg, sizeof msg);
        free(text);
        if (bad) {
            pdm_err(errstr, errlen, "events[%d]: %s", i, msg);
            goto out;
        }
        const char *reason = pdm_input_validate(&ev, now, detail, sizeof detail);
        if (reason) {
            pdm_err(errstr, errlen, "events[%d]: %s: %s", i, reason, detail);
            goto out;
        }
        if (ev.machine_id != machine_id) {
            pdm_err(errstr, errlen, "events[%d] is for machine %d, not %d", i,
                    (int)ev.machine_id, (int)machine_id);
            goto out;
        }
        int arc = pdm_machine_state_apply(st, &ev);
        if (arc) {
            pdm_err(errstr, errlen, "events[%d]: %s", i,
                    arc == PDM_FEATURES_EINVAL ? "error id or component out of range"
                                               : "out of memory");
            goto out;
        }
        if (ev.type == PDM_EV_TELEMETRY && ev.ts > newest)
            newest = ev.ts;
    }
    if (!has_ts) {
        if (newest == INT64_MIN) {
            pdm_err(errstr, errlen, "the events hold no telemetry: give \"ts\" to score at");
            goto out;
        }
        ts = newest;
    }
    pdm_machine_view view;
    pdm_machine_state_view(st, &view);
    pdm_features_compute(&view, ts, inst->row);
    inst->machine_id = machine_id;
    inst->ts = ts;
    rc = 0;
out:
    pdm_machine_state_destroy(st);
    return rc;
}

static int parse_instance(const cJSON *obj, pdm_predict_instance *inst, char *errstr, size_t errlen)
{
    const cJSON *features = NULL, *events = NULL, *machine = NULL, *ts = NULL;
    if (!cJSON_IsObject(obj))
        return pdm_err(errstr, errlen, "a prediction request must be a JSON object");
    for (const cJSON *k = obj->child; k; k = k->next) {
        if (strcmp(k->string, "features") == 0)
            features = k;
        else if (strcmp(k->string, "events") == 0)
            events = k;
        else if (strcmp(k->string, "machine_id") == 0)
            machine = k;
        else if (strcmp(k->string, "ts") == 0)
            ts = k;
        else
            return pdm_err(errstr, errlen,
                           "unknown key \"%.64s\" (expected \"features\", or \"machine_id\" and "
                           "\"events\", or \"instances\")",
                           k->string);
    }
    inst->machine_id = 0;
    inst->ts = INT64_MIN;
    if (machine && parse_machine_id(machine, &inst->machine_id, errstr, errlen))
        return -1;
    int64_t t = INT64_MIN;
    if (ts && parse_ts(ts, &t, errstr, errlen))
        return -1;
    if (features && events)
        return pdm_err(errstr, errlen, "give either \"features\" or \"events\", not both");
    if (features) {
        inst->ts = t;
        return parse_features(features, inst->row, errstr, errlen);
    }
    if (events) {
        if (!machine)
            return pdm_err(errstr, errlen, "\"events\" needs \"machine_id\"");
        return parse_history(events, inst->machine_id, ts != NULL, t, inst, errstr, errlen);
    }
    return pdm_err(errstr, errlen,
                   "expected \"features\", or \"machine_id\" and \"events\", or \"instances\"");
}

int pdm_predict_request_parse(const cJSON *root, pdm_predict_request *req, char *errstr,
                              size_t errlen)
{
    memset(req, 0, sizeof *req);
    const cJSON *instances = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "instances")
                                                  : NULL;
    if (!instances) {
        req->items = calloc(1, sizeof *req->items);
        if (!req->items)
            return pdm_err(errstr, errlen, "out of memory");
        req->n = 1;
        if (parse_instance(root, &req->items[0], errstr, errlen)) {
            pdm_predict_request_free(req);
            return -1;
        }
        return 0;
    }
    if (cJSON_GetArraySize(root) != 1)
        return pdm_err(errstr, errlen, "\"instances\" must be the only key");
    int n = cJSON_GetArraySize(instances);
    if (!cJSON_IsArray(instances) || n == 0)
        return pdm_err(errstr, errlen, "\"instances\" must be a non-empty array");
    if (n > PDM_PREDICT_MAX_INSTANCES)
        return pdm_err(errstr, errlen, "at most %d instances per request, got %d",
                       PDM_PREDICT_MAX_INSTANCES, n);
    req->items = calloc((size_t)n, sizeof *req->items);
    if (!req->items)
        return pdm_err(errstr, errlen, "out of memory");
    req->batch = 1;
    char msg[PDM_ERRSTR_SIZE];
    for (const cJSON *e = instances->child; e; e = e->next) {
        if (parse_instance(e, &req->items[req->n], msg, sizeof msg)) {
            pdm_err(errstr, errlen, "instances[%zu]: %s", req->n, msg);
            pdm_predict_request_free(req);
            return -1;
        }
        req->n++;
    }
    return 0;
}

int pdm_predict_request_parse_text(const char *text, size_t len, pdm_predict_request *req,
                                   char *errstr, size_t errlen)
{
    memset(req, 0, sizeof *req);
    if (pdm_json_has_escaped_nul(text, len))
        return pdm_err(errstr, errlen, PDM_PREDICT_NUL_MESSAGE);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return pdm_err(errstr, errlen, "malformed JSON");
    int rc = pdm_predict_request_parse(root, req, errstr, errlen);
    cJSON_Delete(root);
    return rc;
}

int pdm_json_has_escaped_nul(const char *text, size_t len)
{
    int in_string = 0;
    if (memchr(text, '\0', len))
        return 1;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!in_string) {
            in_string = c == '"';
            continue;
        }
        if (c == '"') {
            in_string = 0;
        } else if (c == '\\' && i + 1 < len) {
            i++; /* the escaped character */
            if (text[i] == 'u' && i + 4 < len && !memcmp(text + i + 1, "0000", 4))
                return 1;
        }
    }
    return 0;
}

void pdm_predict_request_free(pdm_predict_request *req)
{
    free(req->items);
    memset(req, 0, sizeof *req);
}
