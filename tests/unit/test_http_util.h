/* test_http_util.h: the server under test of the http/ tests (test_http.c,
 * test_http_limits.c): its handlers, access log, start and stop on
 * 127.0.0.1 with an ephemeral port, and the raw-socket client of
 * http_test_client.h. Include it first. */
#ifndef TEST_HTTP_UTIL_H
#define TEST_HTTP_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>

#include "pdm_http.h"

#define TOKEN "s3cret-T0ken"

#include "http_test_client.h"

/* ==== the server under test ================================================ */

typedef struct {
    pthread_mutex_t lock;
    int calls;
    int last_status;
    char last_path[256];
} access_log;

static inline void log_access(void *ctx, const char *method, const char *path, int status,
                              double seconds)
{
    access_log *l = ctx;
    pthread_mutex_lock(&l->lock);
    l->calls++;
    l->last_status = status;
    snprintf(l->last_path, sizeof l->last_path, "%s %s", method, path);
    pthread_mutex_unlock(&l->lock);
}

static inline int h_health(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    const char *ok = "{\"ok\":true}";
    return pdm_http_response_text(resp, 200, NULL, ok, strlen(ok));
}

static inline int h_machine(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    int32_t id;
    if (pdm_http_parse_id(req->rest, &id))
        return pdm_http_response_error(resp, 400, "machine id must be a number");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "machine_id", id);
    int rc = pdm_http_response_json(resp, 200, o);
    cJSON_Delete(o);
    return rc;
}

static inline int h_echo_post(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    cJSON *doc;
    if (pdm_http_parse_json(req, &doc, resp))
        return 0; /* the 400 is written */
    int rc = pdm_http_response_json(resp, 201, doc);
    cJSON_Delete(doc);
    return rc;
}

static inline int h_echo_get(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    cJSON *o = cJSON_CreateObject();
    const char *x = pdm_http_request_arg(req, "x");
    const char *ua = pdm_http_request_header(req, "x-test");
    cJSON_AddStringToObject(o, "method", req->method);
    cJSON_AddStringToObject(o, "path", req->path);
    cJSON_AddStringToObject(o, "query", req->query);
    cJSON_AddStringToObject(o, "x", x ? x : "(none)");
    cJSON_AddStringToObject(o, "header", ua ? ua : "(none)");
    int rc = pdm_http_response_json(resp, 200, o) ||
             pdm_http_response_header(resp, "Cache-Control", "no-store");
    cJSON_Delete(o);
    return rc;
}

static inline int h_size(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    char out[64];
    int n = snprintf(out, sizeof out, "{\"bytes\":%zu}", req->body_len);
    return pdm_http_response_text(resp, 200, NULL, out, (size_t)n);
}

static inline int h_fail(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    pdm_http_response_text(resp, 200, NULL, "half-written", 12);
    return -1;
}

static inline int h_metrics(void *ctx, const pdm_http_request *req, pdm_http_response *resp)
{
    const char *m = "# HELP up Up.\n# TYPE up gauge\nup 1\n";
    return pdm_http_response_text(resp, 200, "text/plain; version=0.0.4", m, strlen(m));
}

typedef struct {
    pdm_http *srv;
    unsigned port;
    access_log log;
} fixture;

static inline void start_server(fixture *f, pdm_http_config *cfg)
{
    char err[PDM_ERRSTR_SIZE];
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->log.lock, NULL);
    cfg->bind = "127.0.0.1:0";
    cfg->access_log = log_access;
    cfg->access_log_ctx = &f->log;
    f->srv = pdm_http_new(cfg, err, sizeof err);
    assert_non_null(f->srv);
    assert_int_equal(pdm_http_route(f->srv, "GET", "/health", 0, h_health, NULL), 0);
    assert_int_equal(pdm_http_route(f->srv, "GET", "/v1/machines/", 1, h_machine, NULL), 0);
    assert_int_equal(pdm_http_route(f->srv, "POST", "/v1/echo", 0, h_echo_post, NULL), 0);
    assert_int_equal(pdm_http_route(f->srv, "GET", "/v1/echo", 0, h_echo_get, NULL), 0);
    assert_int_equal(pdm_http_route(f->srv, "POST", "/v1/size", 0, h_size, NULL), 0);
    assert_int_equal(pdm_http_route(f->srv, "GET", "/v1/fail", 0, h_fail, NULL), 0);
    assert_int_equal(pdm_http_route(f->srv, "GET", "/metrics", 0, h_metrics, NULL), 0);
    assert_int_equal(pdm_http_port(f->srv), 0);
    if (pdm_http_start(f->srv, err, sizeof err))
        fail_msg("start: %s", err);
    f->port = pdm_http_port(f->srv);
    assert_true(f->port > 0);
    /* Routes are fixed once serving. */
    assert_int_equal(pdm_http_route(f->srv, "GET", "/late", 0, h_health, NULL), -1);
}

static inline void stop_server(fixture *f)
{
    pdm_http_destroy(f->srv);
    pthread_mutex_destroy(&f->log.lock);
}

#define AUTH "Bearer " TOKEN

#endif
