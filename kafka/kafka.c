/* kafka.c: topic names and librdkafka configuration shared by every Kafka
 * program. The configuration is built in one place so that every program
 * treats -X the same way, and so that a secret's value cannot leak into a
 * log line through an error message: librdkafka's own message may quote the
 * value it rejected, so for secret properties that message is replaced. */
#include "pdm_kafka.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pdm_kafka_all_topics[] = {
    PDM_TOPIC_TELEMETRY, PDM_TOPIC_ERRORS, PDM_TOPIC_MAINTENANCE, PDM_TOPIC_FAILURES,
    PDM_TOPIC_MACHINES,  PDM_TOPIC_RISK,   PDM_TOPIC_DLQ,         NULL,
};

const char *const pdm_kafka_input_topics[] = {
    PDM_TOPIC_TELEMETRY, PDM_TOPIC_ERRORS,   PDM_TOPIC_MAINTENANCE,
    PDM_TOPIC_FAILURES,  PDM_TOPIC_MACHINES, NULL,
};

const char *pdm_kafka_default_topic(pdm_event_type t)
{
    switch (t) {
    case PDM_EV_TELEMETRY:
        return PDM_TOPIC_TELEMETRY;
    case PDM_EV_ERROR:
        return PDM_TOPIC_ERRORS;
    case PDM_EV_MAINTENANCE:
        return PDM_TOPIC_MAINTENANCE;
    case PDM_EV_FAILURE:
        return PDM_TOPIC_FAILURES;
    case PDM_EV_MACHINE:
        return PDM_TOPIC_MACHINES;
    case PDM_EV_RISK:
    case PDM_EV_SILENCE:
        return PDM_TOPIC_RISK;
    case PDM_EV_COUNT:
        break;
    }
    return NULL;
}

/* Case-insensitive substring test (strcasestr is a GNU extension). */
static int contains_nocase(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s; s++) {
        size_t i = 0;
        while (i < n && s[i] && tolower((unsigned char)s[i]) == word[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

int pdm_kafka_property_is_secret(const char *name)
{
    static const char *const words[] = {"password", "secret", "sasl", "key"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (contains_nocase(name, words[i]))
            return 1;
    return 0;
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                    size_t errlen)
{
    char msg[PDM_ERRSTR_SIZE] = "";
    if (rd_kafka_conf_set(conf, name, value, msg, sizeof msg) == RD_KAFKA_CONF_OK)
        return 0;
    if (pdm_kafka_property_is_secret(name) && *value && strstr(msg, value))
        return pdm_err(errstr, errlen, "Kafka property %s: invalid value (not shown: secret)",
                       name);
    return pdm_err(errstr, errlen, "Kafka property %s: %s", name, msg);
}

/* The C/P column of the row for name in librdkafka's property table
 * (markdown: "name | C/P | range | ..."), or '*'. */
static char scope_in_table(const char *table, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = table; line && *line;) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, name, n) == 0 && (line[n] == ' ' || line[n] == '|')) {
            const char *bar = memchr(line, '|', end ? (size_t)(end - line) : strlen(line));
            while (bar && (*++bar == ' '))
                ;
            if (bar && (*bar == 'C' || *bar == 'P' || *bar == '*'))
                return *bar;
        }
        line = end ? end + 1 : NULL;
    }
    return '*';
}

/* librdkafka's property table as text (malloc'ed), or NULL. */
static char *property_table(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    rd_kafka_conf_properties_show(f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

char pdm_kafka_property_scope(const char *name)
{
    char *table = property_table();
    char scope = table ? scope_in_table(table, name) : '*';
    free(table);
    return scope;
}

static int conf_apply(rd_kafka_conf_t *conf, pdm_kafka_client client, const pdm_kvlist *props,
                      char *errstr, size_t errlen)
{
    char *table = client != PDM_KAFKA_ANY_CLIENT && props && props->count ? property_table() : NULL;
    int rc = 0;
    for (size_t i = 0; props && i < props->count && rc == 0; i++) {
        char scope = table ? scope_in_table(table, props->keys[i]) : '*';
        if ((client == PDM_KAFKA_CONSUMER && scope == 'P') ||
            (client == PDM_KAFKA_PRODUCER && scope == 'C')) {
            pdm_log(PDM_LOG_DEBUG, "-X %s is a %s property: not given to the %s", props->keys[i],
                    scope == 'P' ? "producer" : "consumer",
                    client == PDM_KAFKA_CONSUMER ? "consumer" : "producer");
            continue;
        }
        rc = conf_set(conf, props->keys[i], props->values[i], errstr, errlen);
    }
    free(table);
    return rc;
}

int pdm_kafka_conf_apply(rd_kafka_conf_t *conf, const pdm_kvlist *props, char *errstr,
                         size_t errlen)
{
    return conf_apply(conf, PDM_KAFKA_ANY_CLIENT, props, errstr, errlen);
}

rd_kafka_conf_t *pdm_kafka_conf_new_for(pdm_kafka_client client, const char *bootstrap,
                                        const char *client_id, const pdm_kvlist *props,
                                        char *errstr, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        pdm_err(errstr, errlen, "out of memory");
        return NULL;
    }
    if (bootstrap && conf_set(conf, "bootstrap.servers", bootstrap, errstr, errlen))
        goto fail;
    if (client_id && conf_set(conf, "client.id", client_id, errstr, errlen))
        goto fail;
    if (conf_apply(conf, client, props, errstr, errlen))
        goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_conf_t *pdm_kafka_conf_new(const char *bootstrap, const char *client_id,
                                    const pdm_kvlist *props, char *errstr, size_t errlen)
{
    return pdm_kafka_conf_new_for(PDM_KAFKA_ANY_CLIENT, bootstrap, client_id, props, errstr,
                                  errlen);
}

/* ---- topic lists ---------------------------------------------------------- */

static int topic_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > 249)
        return 0;
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

int pdm_kafka_instance_id_resolve(const char *spec, char *out, size_t outlen, char *errstr,
                                  size_t errlen)
{
    const char *id = spec;
    if (strncmp(spec, "env:", 4) == 0) {
        id = getenv(spec + 4);
        if (!id || !*id)
            return pdm_err(errstr, errlen, "instance id: environment variable %s is %s",
                           spec + 4, id ? "empty" : "not set");
    }
    size_t len = strlen(id);
    if (!topic_name_valid(id, len))
        return pdm_err(errstr, errlen, "instance id '%.64s' is not 1..249 of [A-Za-z0-9._-] "
                                       "(nor \".\" or \"..\")", id);
    if (len >= outlen)
        return pdm_err(errstr, errlen, "instance id longer than %zu characters", outlen - 1);
    memcpy(out, id, len + 1);
    return 0;
}

static int topic_list_add(pdm_topic_list *list, const char *name, size_t len, char *errstr,
                          size_t errlen)
{
    if (!topic_name_valid(name, len))
        return pdm_err(errstr, errlen, "'%.*s' is not a valid Kafka topic name", (int)len, name);
    for (size_t i = 0; i < list->count; i++)
        if (strlen(list->names[i]) == len && !memcmp(list->names[i], name, len))
            return 0;
    char **names = realloc(list->names, (list->count + 1) * sizeof *names);
    if (!names)
        return pdm_err(errstr, errlen, "out of memory");
    list->names = names;
    char *copy = strndup(name, len);
    if (!copy)
        return pdm_err(errstr, errlen, "out of memory");
    list->names[list->count++] = copy;
    return 0;
}

int pdm_topic_list_add_csv(pdm_topic_list *list, const char *csv, char *errstr, size_t errlen)
{
    const char *p = csv;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        if (topic_list_add(list, p, len, errstr, errlen))
            return -1;
        if (!end)
            return 0;
        p = end + 1;
    }
}

int pdm_topic_list_add_all(pdm_topic_list *list, const char *const *names, char *errstr,
                           size_t errlen)
{
    for (; *names; names++)
        if (topic_list_add(list, *names, strlen(*names), errstr, errlen))
            return -1;
    return 0;
}

void pdm_topic_list_clear(pdm_topic_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->names[i]);
    free(list->names);
    memset(list, 0, sizeof *list);
}
