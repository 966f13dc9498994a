/* response.c: building answers (status, content type, body, headers);
 * every error answer the module makes is {"error": "..."} as JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http_internal.h"

void http_response_init(pdm_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->status = 200;
    snprintf(resp->content_type, sizeof resp->content_type, "application/json");
}

void http_response_clear(pdm_http_response *resp)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        free(resp->header_name[i]);
        free(resp->header_value[i]);
    }
    pdm_buf_free(&resp->body);
    http_response_init(resp);
}

int pdm_http_response_header(pdm_http_response *resp, const char *name, const char *value)
{
    if (resp->n_headers >= PDM_HTTP_MAX_HEADERS || !name || !value || strpbrk(name, "\r\n:") ||
        strpbrk(value, "\r\n"))
        return -1;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    resp->header_name[resp->n_headers] = n;
    resp->header_value[resp->n_headers] = v;
    resp->n_headers++;
    return 0;
}

int pdm_http_response_text(pdm_http_response *resp, int status, const char *content_type,
                           const char *text, size_t len)
{
    resp->status = status;
    if (content_type)
        snprintf(resp->content_type, sizeof resp->content_type, "%s", content_type);
    resp->body.len = 0;
    if (pdm_buf_reserve(&resp->body, len))
        return -1;
    return pdm_buf_append(&resp->body, text, len);
}

int pdm_http_response_json(pdm_http_response *resp, int status, const cJSON *item)
{
    char *text = cJSON_PrintUnformatted(item);
    if (!text)
        return -1;
    int rc = pdm_http_response_text(resp, status, "application/json", text, strlen(text));
    cJSON_free(text);
    return rc;
}

int pdm_http_response_error(pdm_http_response *resp, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    int rc = -1;
    if (o && cJSON_AddStringToObject(o, "error", msg))
        rc = pdm_http_response_json(resp, status, o);
    cJSON_Delete(o);
    return rc;
}
