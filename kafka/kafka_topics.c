/* kafka_topics.c: creating the product's topics with the Admin API before a
 * program writes to them, instead of leaving it to the broker's
 * auto-creation, which knows nothing of what a topic is for: pdm.machines
 * is a table keyed by machine (the latest MachineInfo per machine is all a
 * reader needs), so it is created compacted, and the partition count can be
 * chosen. Creation is apart from the data path and happens once, at start.
 *
 * librdkafka's admin requests go to the cluster's controller. A cluster that
 * names no controller among its brokers (librdkafka 2.0.2's mock cluster,
 * which pdm-broker runs, offers neither CreateTopics nor DescribeConfigs)
 * would make them wait for their whole timeout, so that is checked first
 * and reported as "no admin API": the caller falls back to auto-creation. */
#include "pdm_kafka.h"

#include <stdio.h>
#include <string.h>

/* 1 if the metadata's controller is one of its brokers. */
static int has_controller(rd_kafka_t *rk, const struct rd_kafka_metadata *md, int timeout_ms)
{
    int32_t id = rd_kafka_controllerid(rk, timeout_ms);
    for (int i = 0; id >= 0 && i < md->broker_cnt; i++)
        if (md->brokers[i].id == id)
            return 1;
    return 0;
}

static int topic_exists(const struct rd_kafka_metadata *md, const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, name) == 0 &&
            md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            return 1;
    return 0;
}

/* Waits for the result of an admin request on q: the event (to destroy), or
 * NULL with errstr. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, int timeout_ms, const char *what,
                                    char *errstr, size_t errlen)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
    if (!ev) {
        pdm_err(errstr, errlen, "%s: no answer in %d ms", what, timeout_ms);
        return NULL;
    }
    if (rd_kafka_event_error(ev)) {
        pdm_err(errstr, errlen, "%s: %s", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

static rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op,
                                              int timeout_ms)
{
    char msg[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    if (o) {
        rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, msg, sizeof msg);
        if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS)
            rd_kafka_AdminOptions_set_operation_timeout(o, timeout_ms, msg, sizeof msg);
    }
    return o;
}

/* CreateTopics for the specs whose status says NOT_CREATED. Per-topic
 * outcomes into status; -1 with errstr if the request as a whole failed. */
static int create_missing(rd_kafka_t *rk, const pdm_topic_spec *specs, size_t n, int timeout_ms,
                          pdm_topic_status *status, char *errstr, size_t errlen)
{
    rd_kafka_NewTopic_t *nt[PDM_TOPIC_SPECS_MAX];
    size_t idx[PDM_TOPIC_SPECS_MAX], k = 0;
    char msg[256];
    int rc = -1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout_ms);
    rd_kafka_event_t *ev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (status[i].outcome != PDM_TOPIC_NOT_CREATED)
            continue;
        nt[k] = rd_kafka_NewTopic_new(
            specs[i].name, specs[i].partitions > 0 ? specs[i].partitions : -1,
            specs[i].replication_factor > 0 ? specs[i].replication_factor : -1, msg, sizeof msg);
        if (!nt[k]) {
            snprintf(status[i].detail, sizeof status[i].detail, "%s", msg);
            continue;
        }
        if (specs[i].compact)
            rd_kafka_NewTopic_set_config(nt[k], "cleanup.policy", "compact");
        idx[k++] = i;
    }
    if (k == 0) {
        rc = 0;
        goto out;
    }
    if (!q || !opts) {
        pdm_err(errstr, errlen, "out of memory");
        goto out;
    }
    rd_kafka_CreateTopics(rk, nt, k, opts, q);
    ev = admin_wait(q, timeout_ms, "CreateTopics", errstr, errlen);
    if (!ev)
        goto out;
    size_t nres = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &nres);
    for (size_t r = 0; r < nres; r++) {
        for (size_t j = 0; j < k; j++) {
            pdm_topic_status *s = &status[idx[j]];
            if (strcmp(rd_kafka_topic_result_name(res[r]), specs[idx[j]].name) != 0)
                continue;
            rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[r]);
            const char *why = rd_kafka_topic_result_error_string(res[r]);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                s->outcome = PDM_TOPIC_CREATED;
            else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                s->outcome = PDM_TOPIC_EXISTED; /* created by someone else meanwhile */
            else
                snprintf(s->detail, sizeof s->detail, "%s",
                         why && *why ? why : rd_kafka_err2str(err));
        }
    }
    rc = 0;
out:
    for (size_t j = 0; j < k; j++)
        rd_kafka_NewTopic_destroy(nt[j]);
    if (ev)
        rd_kafka_event_destroy(ev);
    if (opts)
        rd_kafka_AdminOptions_destroy(opts);
    if (q)
        rd_kafka_queue_destroy(q);
    return rc;
}

/* DescribeConfigs of the existing topics that should be compacted: their
 * cleanup.policy into status[i].compacted (left -1 when unknown). */
static void check_compaction(rd_kafka_t *rk, const pdm_topic_spec *specs, size_t n, int timeout_ms,
                             pdm_topic_status *status)
{
    rd_kafka_ConfigResource_t *res[PDM_TOPIC_SPECS_MAX];
    size_t k = 0;
    char msg[256];
    for (size_t i = 0; i < n; i++)
        if (specs[i].compact && status[i].outcome == PDM_TOPIC_EXISTED)
            res[k++] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, specs[i].name);
    if (k == 0)
        return;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts =
        admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout_ms);
    rd_kafka_event_t *ev = NULL;
    if (q) {
        rd_kafka_DescribeConfigs(rk, res, k, opts, q);
        ev = admin_wait(q, timeout_ms, "DescribeConfigs", msg, sizeof msg);
    }
    size_t nres = 0;
    const rd_kafka_ConfigResource_t **out =
        ev ? rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev),
                                                       &nres)
           : NULL;
    for (size_t r = 0; r < nres; r++) {
        if (rd_kafka_ConfigResource_error(out[r]))
            continue;
        size_t ne = 0;
        const rd_kafka_ConfigEntry_t **e = rd_kafka_ConfigResource_configs(out[r], &ne);
        for (size_t j = 0; j < ne; j++) {
            const char *v = rd_kafka_ConfigEntry_value(e[j]);
            if (strcmp(rd_kafka_ConfigEntry_name(e[j]), "cleanup.policy") != 0)
                continue;
            for (size_t i = 0; i < n; i++)
                if (strcmp(specs[i].name, rd_kafka_ConfigResource_name(out[r])) == 0)
                    status[i].compacted = v && strstr(v, "compact") ? 1 : 0;
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    if (opts)
        rd_kafka_AdminOptions_destroy(opts);
    if (q)
        rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy_array(res, k);
}

int pdm_kafka_create_topics(rd_kafka_t *rk, const pdm_topic_spec *specs, size_t n, int timeout_ms,
                            pdm_topic_status *status, char *errstr, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    if (n > PDM_TOPIC_SPECS_MAX)
        return pdm_err(errstr, errlen, "at most %d topics at once", PDM_TOPIC_SPECS_MAX);
    for (size_t i = 0; i < n; i++) {
        status[i].outcome = PDM_TOPIC_NOT_CREATED;
        status[i].compacted = -1;
        status[i].detail[0] = '\0';
    }
    /* All topics: asking for the missing ones by name would auto-create them. */
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (err) {
        for (size_t i = 0; i < n; i++)
            snprintf(status[i].detail, sizeof status[i].detail, "no metadata");
        return pdm_err(errstr, errlen, "cannot read the cluster's topics: %s",
                       rd_kafka_err2str(err));
    }
    for (size_t i = 0; i < n; i++)
        if (topic_exists(md, specs[i].name))
            status[i].outcome = PDM_TOPIC_EXISTED;
    int admin = has_controller(rk, md, timeout_ms);
    rd_kafka_metadata_destroy(md);
    if (!admin) {
        for (size_t i = 0; i < n; i++)
            if (status[i].outcome == PDM_TOPIC_NOT_CREATED)
                snprintf(status[i].detail, sizeof status[i].detail, "no admin API");
        return pdm_err(errstr, errlen,
                       "the cluster names no controller among its brokers: no admin API "
                       "(CreateTopics, DescribeConfigs), as on librdkafka's mock cluster");
    }
    if (create_missing(rk, specs, n, timeout_ms, status, errstr, errlen))
        return -1;
    check_compaction(rk, specs, n, timeout_ms, status);
    return 0;
}
