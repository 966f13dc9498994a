/* listener.c: the listening socket, opened by us rather than by
 * libmicrohttpd so that any IPv4/IPv6 address and port 0 work and the bound
 * port can be read back; the daemon owns and closes it once started. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_internal.h"

/* Splits "ADDR:PORT" / "[ADDR]:PORT" ("*" or "" = any IPv4 address) and
 * opens a listening socket. Returns the fd or -1 with errstr. */
int http_open_listener(const char *bind_spec, unsigned *port_out, char *errstr, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(bind_spec, ':');
    if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
        strlen(colon + 1) > 5 || atoi(colon + 1) > 65535)
        return pdm_err(errstr, errlen, "http: bind address \"%s\" is not ADDR:PORT", bind_spec);
    size_t hlen = (size_t)(colon - bind_spec);
    const char *h = bind_spec;
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= sizeof host)
        return pdm_err(errstr, errlen, "http: bind address \"%s\" is too long", bind_spec);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (hlen == 0 || strcmp(host, "*") == 0)
        snprintf(host, sizeof host, "0.0.0.0");

    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    int gai = getaddrinfo(host, colon + 1, &hints, &ai);
    if (gai != 0)
        return pdm_err(errstr, errlen, "http: bind address \"%s\": %s", bind_spec,
                       gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        pdm_err(errstr, errlen, "http: socket: %s", strerror(errno));
        goto fail;
    }
    int one = 1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        pdm_err(errstr, errlen, "http: cannot listen on %s: %s", bind_spec, strerror(errno));
        goto fail;
    }
    *port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(ai);
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return -1;
}
