/* proxy_addr — proxy_pass addresses; see the header. */
#include "proxy_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

static int proxy_addr_port(const char *p, size_t len, uint16_t *port)
{
    if (len == 0 || len > 5)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int proxy_addr_parse(const char *text, size_t len, struct sockaddr_storage *addr,
                     socklen_t *addr_len, char *err, size_t errlen)
{
    memset(addr, 0, sizeof *addr);
    if (len > 5 && memcmp(text, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)addr;
        size_t plen = len - 5;
        if (text[5] != '/' || plen >= sizeof un->sun_path) {
            snprintf(err, errlen, "unix: needs an absolute path of at most %zu bytes",
                     sizeof un->sun_path - 1);
            return -1;
        }
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, text + 5, plen);
        *addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
        return 0;
    }
    char host[64];
    const char *colon;
    size_t hlen;
    if (len > 0 && text[0] == '[') {
        const char *close = memchr(text, ']', len);
        if (!close || close + 1 >= text + len || close[1] != ':') {
            snprintf(err, errlen, "expected [IPv6]:PORT");
            return -1;
        }
        hlen = (size_t)(close - text) - 1;
        if (hlen >= sizeof host)
            goto bad;
        memcpy(host, text + 1, hlen);
        colon = close + 1;
    } else {
        colon = NULL;
        for (size_t i = len; i > 0; i--)
            if (text[i - 1] == ':') {
                colon = text + i - 1;
                break;
            }
        if (!colon)
            goto bad;
        hlen = (size_t)(colon - text);
        if (hlen >= sizeof host)
            goto bad;
        memcpy(host, text, hlen);
    }
    host[hlen] = '\0';
    uint16_t port;
    if (proxy_addr_port(colon + 1, len - (size_t)(colon + 1 - text), &port) < 0) {
        snprintf(err, errlen, "expected a port 1..65535 after ':'");
        return -1;
    }
    if (text[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            goto bad;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *addr_len = sizeof *a6;
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        goto bad;
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    *addr_len = sizeof *a4;
    return 0;
bad:
    snprintf(err, errlen, "'%.*s' is not IPv4:PORT, [IPv6]:PORT or unix:/PATH (numeric "
             "addresses only)", (int)(len < 80 ? len : 80), text);
    return -1;
}

int proxy_addr_check_list(const char *value, char *err, size_t errlen)
{
    size_t count = 0;
    const char *p = value;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct sockaddr_storage addr;
        socklen_t addr_len;
        if (proxy_addr_parse(p, len, &addr, &addr_len, err, errlen) < 0)
            return -1;
        if (++count > PROXY_ADDR_MAX) {
            snprintf(err, errlen, "at most %d upstreams", PROXY_ADDR_MAX);
            return -1;
        }
        if (!end)
            return 0;
        p = end + 1;
    }
}
