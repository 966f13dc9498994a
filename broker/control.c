/* control.c: the broker's fault-injection language and the Unix-domain
 * socket that serves it (see pdm_broker.h for the commands).
 *
 * Why a socket and a line language: a test script must break the cluster
 * while its clients run, from bash, without linking anything. A Unix-domain
 * stream socket gives each command a reply (a FIFO would not), so the
 * script knows the fault is in place before it goes on; permissions on the
 * socket file keep other users out, and nothing listens on the network.
 * One thread serves one client at a time: commands are rare and quick
 * (each is one operation on the mock cluster's thread).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "pdm_broker.h"

#define MAX_WORDS 8
#define LINE_MAX_BYTES 1024
#define CLIENT_IDLE_S 10

/* ---- the command language ---------------------------------------------------- */

static const struct {
    const char *name;
    int16_t key;
} api_names[] = {
    {"Produce", 0},          {"Fetch", 1},           {"ListOffsets", 2},
    {"Metadata", 3},         {"OffsetCommit", 8},    {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},      {"Heartbeat", 12},
    {"LeaveGroup", 13},      {"SyncGroup", 14},      {"DescribeGroups", 15},
    {"ListGroups", 16},      {"SaslHandshake", 17},  {"ApiVersions", 18},
    {"CreateTopics", 19},    {"DeleteTopics", 20},   {"InitProducerId", 22},
    {"OffsetForLeaderEpoch", 23}, {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25},
    {"EndTxn", 26},          {"TxnOffsetCommit", 28}, {"SaslAuthenticate", 36},
};

/* Parses a whole decimal integer in [lo, hi]. */
static int parse_int(const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_api(const char *text, int16_t *key)
{
    long v;
    if (parse_int(text, 0, 32767, &v) == 0) {
        *key = (int16_t)v;
        return 0;
    }
    for (size_t i = 0; i < sizeof api_names / sizeof *api_names; i++) {
        if (strcasecmp(text, api_names[i].name) == 0) {
            *key = api_names[i].key;
            return 0;
        }
    }
    return -1;
}

/* An error name as rd_kafka_err2name() spells it (case-insensitive, with or
 * without the RD_KAFKA_RESP_ERR_ prefix) or its number. */
static int parse_error(const char *text, int *code)
{
    long v;
    if (parse_int(text, -1000, 1000, &v) == 0) {
        *code = (int)v;
        return 0;
    }
    if (strncasecmp(text, "RD_KAFKA_RESP_ERR_", 18) == 0)
        text += 18;
    const struct rd_kafka_err_desc *descs;
    size_t n;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && strcasecmp(text, descs[i].name) == 0) {
            *code = descs[i].code;
            return 0;
        }
    }
    return -1;
}

/* A broker id, or "all" / -1 for every broker when allowed. */
static int parse_broker_id(const char *text, int allow_all, int32_t *id)
{
    long v;
    if (allow_all && strcasecmp(text, "all") == 0) {
        *id = -1;
        return 0;
    }
    if (parse_int(text, allow_all ? -1 : 1, 1000, &v))
        return -1;
    *id = (int32_t)v;
    return 0;
}

static const char help_text[] =
    "commands: down ID|all; up ID|all; rtt ID|all MS; errors API COUNT ERR [ID]; "
    "pending ID API; clear API; leader TOPIC PARTITION ID; coordinator group GROUP ID; "
    "brokers; ping; help";

int pdm_broker_command(pdm_broker *broker, const char *line, char *reply, size_t replylen)
{
    char buf[LINE_MAX_BYTES], err[PDM_ERRSTR_SIZE] = "";
    char *w[MAX_WORDS + 1];
    int nw = 0, rc = -1;
    char *save = NULL;

    if (snprintf(buf, sizeof buf, "%s", line) >= (int)sizeof buf) {
        snprintf(reply, replylen, "error: command longer than %d bytes", LINE_MAX_BYTES - 1);
        return -1;
    }
    for (char *t = strtok_r(buf, " \t\r\n", &save); t && nw <= MAX_WORDS;
         t = strtok_r(NULL, " \t\r\n", &save))
        w[nw++] = t;
    if (nw == 0) {
        snprintf(reply, replylen, "error: empty command (try help)");
        return -1;
    }
    if (nw > MAX_WORDS) {
        snprintf(reply, replylen, "error: too many words");
        return -1;
    }

    const char *cmd = w[0];
    int32_t id;
    long v;
    int16_t api;
    if (!strcmp(cmd, "ping") && nw == 1) {
        snprintf(reply, replylen, "ok pong");
        return 0;
    } else if (!strcmp(cmd, "help") && nw == 1) {
        snprintf(reply, replylen, "ok %s", help_text);
        return 0;
    } else if (!strcmp(cmd, "brokers") && nw == 1) {
        snprintf(reply, replylen, "ok %d", pdm_broker_count(broker));
        return 0;
    } else if ((!strcmp(cmd, "down") || !strcmp(cmd, "up")) && nw == 2) {
        if (parse_broker_id(w[1], 1, &id))
            pdm_err(err, sizeof err, "bad broker id '%s'", w[1]);
        else if (cmd[0] == 'd')
            rc = pdm_broker_set_down(broker, id, err, sizeof err);
        else
            rc = pdm_broker_set_up(broker, id, err, sizeof err);
    } else if (!strcmp(cmd, "rtt") && nw == 3) {
        if (parse_broker_id(w[1], 1, &id))
            pdm_err(err, sizeof err, "bad broker id '%s'", w[1]);
        else if (parse_int(w[2], 0, 600000, &v))
            pdm_err(err, sizeof err, "bad rtt '%s' (ms, 0..600000)", w[2]);
        else
            rc = pdm_broker_set_rtt(broker, id, (int)v, err, sizeof err);
    } else if (!strcmp(cmd, "errors") && (nw == 4 || nw == 5)) {
        int code;
        id = -1;
        if (parse_api(w[1], &api))
            pdm_err(err, sizeof err, "unknown request type '%s'", w[1]);
        else if (parse_int(w[2], 1, 1000000, &v))
            pdm_err(err, sizeof err, "bad count '%s' (1..1000000)", w[2]);
        else if (parse_error(w[3], &code))
            pdm_err(err, sizeof err, "unknown error '%s'", w[3]);
        else if (nw == 5 && parse_broker_id(w[4], 0, &id))
            pdm_err(err, sizeof err, "bad broker id '%s'", w[4]);
        else
            rc = pdm_broker_push_errors(broker, id, api, (size_t)v, code, err, sizeof err);
    } else if (!strcmp(cmd, "pending") && nw == 3) {
        size_t count = 0;
        if (parse_broker_id(w[1], 0, &id))
            pdm_err(err, sizeof err, "bad broker id '%s'", w[1]);
        else if (parse_api(w[2], &api))
            pdm_err(err, sizeof err, "unknown request type '%s'", w[2]);
        else if (pdm_broker_pending_errors(broker, id, api, &count, err, sizeof err) == 0) {
            snprintf(reply, replylen, "ok %zu", count);
            return 0;
        }
    } else if (!strcmp(cmd, "clear") && nw == 2) {
        if (parse_api(w[1], &api))
            pdm_err(err, sizeof err, "unknown request type '%s'", w[1]);
        else {
            pdm_broker_clear_errors(broker, api);
            rc = 0;
        }
    } else if (!strcmp(cmd, "leader") && nw == 4) {
        if (parse_int(w[2], 0, 100000, &v))
            pdm_err(err, sizeof err, "bad partition '%s'", w[2]);
        else if (parse_broker_id(w[3], 0, &id))
            pdm_err(err, sizeof err, "bad broker id '%s'", w[3]);
        else
            rc = pdm_broker_set_leader(broker, w[1], (int32_t)v, id, err, sizeof err);
    } else if (!strcmp(cmd, "coordinator") && nw == 4) {
        if (parse_broker_id(w[3], 0, &id))
            pdm_err(err, sizeof err, "bad broker id '%s'", w[3]);
        else
            rc = pdm_broker_set_coordinator(broker, w[1], w[2], id, err, sizeof err);
    } else {
        pdm_err(err, sizeof err, "unknown command or wrong arguments: '%s' (%s)", line, help_text);
    }
    if (rc == 0)
        snprintf(reply, replylen, "ok");
    else
        snprintf(reply, replylen, "error: %s", err);
    return rc;
}

/* ---- the socket ---------------------------------------------------------------- */

struct pdm_broker_control {
    pdm_broker *broker;
    int listen_fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    pthread_t thread;
    int started;
    atomic_int stop;
};

/* Serves one client until it closes, goes idle or sends a line too long. */
static void serve_client(pdm_broker_control *c, int fd)
{
    char in[LINE_MAX_BYTES], reply[PDM_ERRSTR_SIZE + 64];
    size_t len = 0;
    struct timeval idle = {.tv_sec = 1};
    int idle_s = 0;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    while (!atomic_load(&c->stop)) {
        ssize_t r = recv(fd, in + len, sizeof in - 1 - len, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (++idle_s >= CLIENT_IDLE_S)
                return;
            continue;
        }
        if (r <= 0)
            return;
        idle_s = 0;
        len += (size_t)r;
        char *nl;
        while ((nl = memchr(in, '\n', len)) != NULL) {
            *nl = '\0';
            pdm_broker_command(c->broker, in, reply, sizeof reply - 1);
            size_t rl = strlen(reply);
            reply[rl++] = '\n';
            if (pdm_write_all(fd, reply, rl))
                return;
            size_t used = (size_t)(nl + 1 - in);
            memmove(in, nl + 1, len - used);
            len -= used;
        }
        if (len == sizeof in - 1) {
            pdm_write_all(fd, "error: line too long\n", 21);
            return;
        }
    }
}

static void *control_thread(void *arg)
{
    pdm_broker_control *c = arg;
    while (!atomic_load(&c->stop)) {
        struct pollfd p = {.fd = c->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int fd = accept(c->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_client(c, fd);
        close(fd);
    }
    return NULL;
}

pdm_broker_control *pdm_broker_control_new(pdm_broker *broker, const char *path, char *errstr,
                                           size_t errlen)
{
    pdm_broker_control *c = calloc(1, sizeof *c);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct stat st;

    if (!c) {
        pdm_err(errstr, errlen, "out of memory");
        goto fail;
    }
    c->broker = broker;
    c->listen_fd = -1;
    if (strlen(path) >= sizeof addr.sun_path) {
        pdm_err(errstr, errlen, "control socket path longer than %zu bytes: %s",
                sizeof addr.sun_path - 1, path);
        goto fail;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            pdm_err(errstr, errlen, "%s exists and is not a socket", path);
            goto fail;
        }
        unlink(path); /* left by a broker that was killed */
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->listen_fd < 0) {
        pdm_err(errstr, errlen, "socket: %s", strerror(errno));
        goto fail;
    }
    if (bind(c->listen_fd, (struct sockaddr *)&addr, sizeof addr)) {
        pdm_err(errstr, errlen, "bind %s: %s", path, strerror(errno));
        goto fail;
    }
    snprintf(c->path, sizeof c->path, "%s", path); /* ours to remove from now on */
    /* No connection can be accepted before listen(), so the mode is set in
     * time for every client. */
    if (chmod(path, 0600) || listen(c->listen_fd, 4)) {
        pdm_err(errstr, errlen, "control socket %s: %s", path, strerror(errno));
        goto fail;
    }
    if (pthread_create(&c->thread, NULL, control_thread, c)) {
        pdm_err(errstr, errlen, "cannot start the control thread");
        goto fail;
    }
    c->started = 1;
    return c;
fail:
    pdm_broker_control_destroy(c);
    return NULL;
}

void pdm_broker_control_destroy(pdm_broker_control *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, 1);
    if (c->started)
        pthread_join(c->thread, NULL);
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    if (c->path[0])
        unlink(c->path);
    free(c);
}
