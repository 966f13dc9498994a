/* redis_server.h: a real redis-server for C tests, started by the test on
 * 127.0.0.1 with a free port and its own temporary directory, and stopped
 * by pid (header-only, test code). */
#ifndef PDM_TEST_REDIS_SERVER_H
#define PDM_TEST_REDIS_SERVER_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int port;
    char dir[64];
    char url[64];
} test_redis;

static int test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void test_redis_stop(test_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    if (r->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", r->dir);
        r->dir[0] = '\0';
    }
}

/* Starts redis-server; returns 0 once it answers PING. */
static int test_redis_start(test_redis *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/pdm-redis-XXXXXX");
    if (!mkdtemp(r->dir))
        return -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        r->port = test_free_port();
        char port[16];
        snprintf(port, sizeof port, "%d", r->port);
        r->pid = fork();
        if (r->pid == 0) {
            int null = open("/dev/null", 1);
            if (null >= 0) {
                dup2(null, 1);
                dup2(null, 2);
            }
            execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--dir",
                   r->dir, "--save", "", "--appendonly", "no", (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 100; i++) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
                r->pid = 0;
                break; /* exited: the port was taken; try another */
            }
            redisContext *c = redisConnect("127.0.0.1", r->port);
            if (c && !c->err) {
                redisReply *rep = redisCommand(c, "PING");
                int ok = rep && rep->type == REDIS_REPLY_STATUS;
                if (rep)
                    freeReplyObject(rep);
                redisFree(c);
                if (ok) {
                    snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d", r->port);
                    return 0;
                }
            } else if (c) {
                redisFree(c);
            }
        }
        if (r->pid > 0) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, NULL, 0);
            r->pid = 0;
        }
    }
    test_redis_stop(r);
    return -1;
}

/* ---- a cmocka group fixture for the scorer's Redis state tests ----------- */
#ifdef PDM_REDIS_STATE_H

/* The group's server: started once by test_redis_group_setup. */
static test_redis test_server;

static inline int test_redis_group_setup(void **state)
{
    (void)state;
    return test_redis_start(&test_server);
}

static inline int test_redis_group_teardown(void **state)
{
    (void)state;
    test_redis_stop(&test_server);
    return 0;
}

/* A connected pdm_redis to the group's server (the test fails otherwise). */
static inline pdm_redis *test_redis_connect(void)
{
    char err[PDM_ERRSTR_SIZE];
    pdm_redis *r = pdm_redis_new(test_server.url, NULL, 2.0, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(pdm_redis_connect(r, err, sizeof err), 0);
    return r;
}

#endif
#endif
