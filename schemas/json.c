/* json.c: the JSON form of events, for tools (pdm-avro, pdm-tail), HTTP
 * bodies and logs. Field names are the Avro schemas' own; "type" names the
 * event type; ts as "YYYY-MM-DDTHH:MM:SS.mmmZ"; NaN as null. A RiskEvent's
 * incident fields are always written, and optional when parsed (absent, they
 * take the schema's defaults, as a version 1 message does). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pdm_common.h"
#include "pdm_schemas.h"

static void add_time(cJSON *o, const char *name, int64_t ms)
{
    char buf[32];
    cJSON_AddStringToObject(o, name, pdm_time_format_iso(ms, buf));
}

/* cJSON prints doubles with 15 digits (0.30000000000000004 becomes 0.3), so
 * write the shortest text that reads back as the same double. */
static void add_num(cJSON *o, const char *name, double v)
{
    char buf[32];
    if (!isfinite(v)) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    cJSON_AddRawToObject(o, name, buf);
}

static void add_named(cJSON *o, const char *name, const char *prefix, int n)
{
    char s[32];
    snprintf(s, sizeof s, "%s%d", prefix, n);
    cJSON_AddStringToObject(o, name, s);
}

static void add_incident(cJSON *o, const pdm_risk *r)
{
    cJSON_AddStringToObject(o, "incident_id", r->incident_id);
    cJSON_AddStringToObject(o, "status", pdm_incident_status_symbol(r->status));
    if (r->opened_at == INT64_MIN)
        cJSON_AddNullToObject(o, "opened_at");
    else
        add_time(o, "opened_at", r->opened_at);
    add_num(o, "peak_risk", r->peak_risk);
    if (r->component)
        add_named(o, "component", "comp", r->component);
    else
        cJSON_AddStringToObject(o, "component", "");
    cJSON_AddStringToObject(o, "resolution", pdm_resolution_symbol(r->resolution));
}

char *pdm_event_to_json(const pdm_event *ev)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "type", pdm_event_type_name(ev->type));
    if (ev->type == PDM_EV_RISK && ev->u.risk)
        cJSON_AddStringToObject(o, "event_id", ev->u.risk->event_id);
    cJSON_AddNumberToObject(o, "machine_id", ev->machine_id);
    add_time(o, "ts", ev->ts);
    switch (ev->type) {
    case PDM_EV_TELEMETRY:
        add_num(o, "volt", ev->u.telemetry.volt);
        add_num(o, "rotate", ev->u.telemetry.rotate);
        add_num(o, "pressure", ev->u.telemetry.pressure);
        add_num(o, "vibration", ev->u.telemetry.vibration);
        break;
    case PDM_EV_ERROR:
        add_named(o, "error_id", "error", ev->u.error.error_id);
        break;
    case PDM_EV_MAINTENANCE:
    case PDM_EV_FAILURE:
        add_named(o, "component", "comp", ev->u.maintenance.component);
        break;
    case PDM_EV_MACHINE:
        add_named(o, "model", "model", ev->u.machine.model);
        cJSON_AddNumberToObject(o, "age", ev->u.machine.age);
        break;
    case PDM_EV_SILENCE:
        add_time(o, "last_seen", ev->u.silence.last_seen);
        cJSON_AddBoolToObject(o, "silent", ev->u.silence.silent);
        break;
    case PDM_EV_RISK: {
        const pdm_risk *r = ev->u.risk;
        if (!r)
            break;
        add_time(o, "scored_at", r->scored_at);
        cJSON_AddStringToObject(o, "model_version", r->model_version);
        add_num(o, "risk", r->risk);
        cJSON *comps = cJSON_AddArrayToObject(o, "components");
        for (int k = 0; k < PDM_N_COMPONENTS; k++) {
            cJSON *c = cJSON_CreateObject();
            add_named(c, "component", "comp", k + 1);
            add_num(c, "probability", r->component_prob[k]);
            cJSON_AddItemToArray(comps, c);
        }
        cJSON_AddStringToObject(o, "level", pdm_level_name(r->level));
        cJSON *reasons = cJSON_AddArrayToObject(o, "top_reasons");
        for (int k = 0; k < r->n_reasons && k < PDM_N_REASONS; k++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "feature", r->reasons[k].feature);
            add_num(c, "value", r->reasons[k].value);
            add_num(c, "contribution", r->reasons[k].contribution);
            cJSON_AddItemToArray(reasons, c);
        }
        add_incident(o, r);
        break;
    }
    default:
        break;
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* ---- parsing ---------------------------------------------------------------- */

static int need_num(const cJSON *o, const char *name, double *out, int allow_null, char *errstr,
                    size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (allow_null && cJSON_IsNull(v)) {
        *out = NAN;
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return pdm_err(errstr, errlen, "\"%s\" must be a number", name);
    *out = v->valuedouble;
    return 0;
}

static int need_int(const cJSON *o, const char *name, int32_t *out, char *errstr, size_t errlen)
{
    double d = 0;
    if (need_num(o, name, &d, 0, errstr, errlen))
        return -1;
    if (d != floor(d) || d < INT32_MIN || d > INT32_MAX)
        return pdm_err(errstr, errlen, "\"%s\" must be a 32-bit integer", name);
    *out = (int32_t)d;
    return 0;
}

static int need_time(const cJSON *o, const char *name, int64_t *out, char *errstr, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsNumber(v)) {
        if (v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 9e15)
            return pdm_err(errstr, errlen, "\"%s\" must be whole milliseconds", name);
        *out = (int64_t)v->valuedouble;
        return 0;
    }
    if (!cJSON_IsString(v))
        return pdm_err(errstr, errlen, "\"%s\" must be a timestamp", name);
    const char *s = v->valuestring;
    size_t len = strlen(s);
    int64_t ms = 0, frac = 0;
    /* Optional ".mmm" before the final Z. */
    const char *dot = strchr(s, '.');
    if (dot && len >= 24 && dot - s == 19 && s[len - 1] == 'Z') {
        for (const char *p = dot + 1; p < s + len - 1; p++) {
            if (*p < '0' || *p > '9' || p - dot > 3)
                return pdm_err(errstr, errlen, "\"%s\": bad fraction in '%s'", name, s);
            frac = frac * 10 + (*p - '0');
        }
        for (int i = (int)(s + len - 1 - dot - 1); i < 3; i++)
            frac *= 10;
        len = 19;
    }
    if (pdm_time_parse(s, len, &ms))
        return pdm_err(errstr, errlen, "\"%s\": '%s' is not YYYY-MM-DD[T ]HH:MM:SS[.mmm][Z]", name,
                       s);
    *out = ms + frac;
    return 0;
}

static int need_named(const cJSON *o, const char *name, const char *prefix, int max, int *out,
                      char *errstr, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    size_t pl = strlen(prefix);
    if (!cJSON_IsString(v) || strncmp(v->valuestring, prefix, pl) != 0)
        return pdm_err(errstr, errlen, "\"%s\" must be %s1..%s%d", name, prefix, prefix, max);
    const char *digits = v->valuestring + pl;
    char *end = NULL;
    long n = (*digits >= '0' && *digits <= '9') ? strtol(digits, &end, 10) : -1;
    if (n < 1 || *end || n > max)
        return pdm_err(errstr, errlen, "\"%s\": '%s' is not %s1..%s%d", name, v->valuestring,
                       prefix, prefix, max);
    *out = (int)n;
    return 0;
}

static int need_str(const cJSON *o, const char *name, char *dst, size_t cap, char *errstr,
                    size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v))
        return pdm_err(errstr, errlen, "\"%s\" must be a string", name);
    if (strlen(v->valuestring) >= cap)
        return pdm_err(errstr, errlen, "\"%s\" is longer than %zu bytes", name, cap - 1);
    strcpy(dst, v->valuestring);
    return 0;
}

/* An enum symbol among n names (by index); absent keeps *out. */
static int opt_symbol(const cJSON *o, const char *name, const char *(*symbol)(int), int n, int *out,
                      char *errstr, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v)
        return 0;
    for (int i = 0; cJSON_IsString(v) && i < n; i++)
        if (!strcmp(v->valuestring, symbol(i))) {
            *out = i;
            return 0;
        }
    return pdm_err(errstr, errlen, "\"%s\" must be %s .. %s", name, symbol(0), symbol(n - 1));
}

static const char *status_symbol(int i)
{
    return pdm_incident_status_symbol((pdm_incident_status)i);
}

static const char *resolution_symbol(int i)
{
    return pdm_resolution_symbol((pdm_alert_resolution)i);
}

/* The incident fields, each optional with the schema's default. */
static int opt_incident(const cJSON *o, pdm_risk *r, char *errstr, size_t errlen)
{
    int status = PDM_INCIDENT_FIRING, resolution = PDM_RESOLUTION_NONE;
    const cJSON *v;
    pdm_risk_no_incident(r);
    if (cJSON_GetObjectItemCaseSensitive(o, "incident_id") &&
        need_str(o, "incident_id", r->incident_id, sizeof r->incident_id, errstr, errlen))
        return -1;
    if (opt_symbol(o, "status", status_symbol, PDM_INCIDENT_RESOLVED + 1, &status, errstr,
                   errlen) ||
        opt_symbol(o, "resolution", resolution_symbol, PDM_ALERT_N_RESOLUTIONS, &resolution, errstr,
                   errlen))
        return -1;
    r->status = (pdm_incident_status)status;
    r->resolution = (pdm_alert_resolution)resolution;
    v = cJSON_GetObjectItemCaseSensitive(o, "opened_at");
    if (v && !cJSON_IsNull(v) && need_time(o, "opened_at", &r->opened_at, errstr, errlen))
        return -1;
    v = cJSON_GetObjectItemCaseSensitive(o, "peak_risk");
    if (v && need_num(o, "peak_risk", &r->peak_risk, 1, errstr, errlen))
        return -1;
    v = cJSON_GetObjectItemCaseSensitive(o, "component");
    if (v && !(cJSON_IsString(v) && !v->valuestring[0]) &&
        need_named(o, "component", "comp", PDM_N_COMPONENTS, &r->component, errstr, errlen))
        return -1;
    return 0;
}

static int need_risk(const cJSON *o, pdm_risk *r, char *errstr, size_t errlen)
{
    const cJSON *level = cJSON_GetObjectItemCaseSensitive(o, "level");
    const cJSON *comps = cJSON_GetObjectItemCaseSensitive(o, "components");
    const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(o, "top_reasons");
    const cJSON *item;
    unsigned seen = 0;
    if (need_str(o, "event_id", r->event_id, sizeof r->event_id, errstr, errlen) ||
        need_time(o, "scored_at", &r->scored_at, errstr, errlen) ||
        need_str(o, "model_version", r->model_version, sizeof r->model_version, errstr, errlen) ||
        need_num(o, "risk", &r->risk, 1, errstr, errlen))
        return -1;
    if (!cJSON_IsArray(comps) || cJSON_GetArraySize(comps) != PDM_N_COMPONENTS)
        return pdm_err(errstr, errlen, "\"components\" must list comp1..comp%d", PDM_N_COMPONENTS);
    cJSON_ArrayForEach(item, comps)
    {
        int k;
        double p = 0;
        if (need_named(item, "component", "comp", PDM_N_COMPONENTS, &k, errstr, errlen) ||
            need_num(item, "probability", &p, 1, errstr, errlen))
            return -1;
        if (seen & (1u << k))
            return pdm_err(errstr, errlen, "\"components\" lists comp%d twice", k);
        seen |= 1u << k;
        r->component_prob[k - 1] = p;
    }
    if (!cJSON_IsString(level))
        return pdm_err(errstr, errlen, "\"level\" must be OK, WARN or CRITICAL");
    int found = 0;
    for (int l = PDM_LEVEL_OK; l <= PDM_LEVEL_CRITICAL; l++)
        if (!strcmp(level->valuestring, pdm_level_name((pdm_level)l))) {
            r->level = (pdm_level)l;
            found = 1;
        }
    if (!found)
        return pdm_err(errstr, errlen, "\"level\": '%s' is not OK, WARN or CRITICAL",
                       level->valuestring);
    if (reasons && !cJSON_IsNull(reasons)) {
        if (!cJSON_IsArray(reasons) || cJSON_GetArraySize(reasons) > PDM_N_REASONS)
            return pdm_err(errstr, errlen, "\"top_reasons\" must be an array of at most %d",
                           PDM_N_REASONS);
        cJSON_ArrayForEach(item, reasons)
        {
            pdm_reason *re = &r->reasons[r->n_reasons++];
            if (need_str(item, "feature", re->feature, sizeof re->feature, errstr, errlen) ||
                need_num(item, "value", &re->value, 1, errstr, errlen) ||
                need_num(item, "contribution", &re->contribution, 1, errstr, errlen))
                return -1;
        }
    }
    return opt_incident(o, r, errstr, errlen);
}

int pdm_event_from_json_with_risk(const char *json, pdm_event *out, pdm_risk *risk, char *errstr,
                                  size_t errlen)
{
    int rc = -1;
    cJSON *o = cJSON_Parse(json);
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(o)) {
        pdm_err(errstr, errlen, "not a JSON object");
        goto out;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (!cJSON_IsString(type) || pdm_event_type_parse(type->valuestring, &out->type)) {
        pdm_err(errstr, errlen,
                "\"type\" must be telemetry, error, maintenance, failure, machine, risk or "
                "silence");
        goto out;
    }
    if (out->type == PDM_EV_RISK && !risk) {
        /* The caller reads input events only: say so in its terms (never a
         * function name: this message may reach an HTTP client). */
        pdm_err(errstr, errlen, "a risk event is output, not input");
        goto out;
    }
    if (need_int(o, "machine_id", &out->machine_id, errstr, errlen) ||
        need_time(o, "ts", &out->ts, errstr, errlen))
        goto out;
    switch (out->type) {
    case PDM_EV_TELEMETRY:
        /* null stands for NaN, as pdm_event_to_json writes it. */
        if (need_num(o, "volt", &out->u.telemetry.volt, 1, errstr, errlen) ||
            need_num(o, "rotate", &out->u.telemetry.rotate, 1, errstr, errlen) ||
            need_num(o, "pressure", &out->u.telemetry.pressure, 1, errstr, errlen) ||
            need_num(o, "vibration", &out->u.telemetry.vibration, 1, errstr, errlen))
            goto out;
        break;
    case PDM_EV_ERROR:
        if (need_named(o, "error_id", "error", PDM_N_ERRORS, &out->u.error.error_id, errstr,
                       errlen))
            goto out;
        break;
    case PDM_EV_MAINTENANCE:
    case PDM_EV_FAILURE:
        if (need_named(o, "component", "comp", PDM_N_COMPONENTS, &out->u.maintenance.component,
                       errstr, errlen))
            goto out;
        break;
    case PDM_EV_MACHINE: {
        int32_t age = 0;
        if (need_named(o, "model", "model", 999999, &out->u.machine.model, errstr, errlen) ||
            need_int(o, "age", &age, errstr, errlen))
            goto out;
        out->u.machine.age = age;
        break;
    }
    case PDM_EV_SILENCE: {
        const cJSON *silent = cJSON_GetObjectItemCaseSensitive(o, "silent");
        if (need_time(o, "last_seen", &out->u.silence.last_seen, errstr, errlen))
            goto out;
        if (!cJSON_IsBool(silent)) {
            pdm_err(errstr, errlen, "\"silent\" must be true or false");
            goto out;
        }
        out->u.silence.silent = cJSON_IsTrue(silent);
        break;
    }
    case PDM_EV_RISK:
        memset(risk, 0, sizeof *risk);
        out->u.risk = risk;
        if (need_risk(o, risk, errstr, errlen))
            goto out;
        break;
    default:
        break;
    }
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}

int pdm_event_from_json(const char *json, pdm_event *out, char *errstr, size_t errlen)
{
    return pdm_event_from_json_with_risk(json, out, NULL, errstr, errlen);
}
