/* proxy_addr — proxy_pass addresses; see the header. */
#include "proxy_addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
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

static bool proxy_addr_is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 1123 §2.1 host name: labels of 1..63 letters, digits and hyphens, not
 * starting or ending with a hyphen, joined by dots, at most 253 bytes (one
 * trailing dot allowed: a fully qualified name). The last label is not all
 * digits: "10.1" is a malformed IPv4 address, which getaddrinfo would read
 * as 10.0.0.1, not a name. NULL, or why not. */
static const char *proxy_addr_host_name_error(const char *h, size_t len)
{
    if (len > 0 && h[len - 1] == '.')
        len--;
    if (len == 0)
        return "an empty host name";
    if (len > PROXY_HOST_NAME_MAX)
        return "a host name longer than 253 bytes"; /* PROXY_HOST_NAME_MAX */
    size_t label = 0;
    bool digits_only = true;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || h[i] == '.') {
            if (label == 0)
                return "an empty label in the host name";
            if (label > 63)
                return "a host name label longer than 63 bytes";
            if (h[i - 1] == '-')
                return "a host name label ending with '-'";
            if (i < len) {
                label = 0;
                digits_only = true;
            }
            continue;
        }
        if (h[i] == '-') {
            if (label == 0)
                return "a host name label starting with '-'";
        } else if (!proxy_addr_is_alnum(h[i])) {
            return "a host name with a character other than letters, digits, '-' and '.'";
        }
        if (h[i] < '0' || h[i] > '9')
            digits_only = false;
        label++;
    }
    if (digits_only)
        return "not a valid IPv4 address (a host name's last label is not all digits)";
    return NULL;
}

int proxy_addr_parse(const char *text, size_t len, struct proxy_addr_text *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_storage *addr = &out->addr;
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
        out->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
        return 0;
    }
    char *host = out->host;
    const char *colon;
    size_t hlen;
    bool bracket = len > 0 && text[0] == '[';
    if (bracket) {
        const char *close = memchr(text, ']', len);
        if (!close || close + 1 >= text + len || close[1] != ':') {
            snprintf(err, errlen, "expected [IPv6]:PORT");
            return -1;
        }
        hlen = (size_t)(close - text) - 1;
        if (hlen >= INET6_ADDRSTRLEN)
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
        if (hlen >= sizeof out->host) {
            snprintf(err, errlen, "a host name longer than %d bytes", PROXY_HOST_NAME_MAX);
            return -1;
        }
        memcpy(host, text, hlen);
    }
    host[hlen] = '\0';
    uint16_t port;
    if (proxy_addr_port(colon + 1, len - (size_t)(colon + 1 - text), &port) < 0) {
        snprintf(err, errlen, "expected a port 1..65535 after ':'");
        return -1;
    }
    out->port = port;
    if (bracket) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            goto bad;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        out->addr_len = sizeof *a6;
        host[0] = '\0';
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        out->addr_len = sizeof *a4;
        host[0] = '\0';
        return 0;
    }
    const char *why = proxy_addr_host_name_error(host, hlen);
    if (why) {
        snprintf(err, errlen, "'%.*s': %s", (int)(hlen < 80 ? hlen : 80), host, why);
        return -1;
    }
    out->is_name = true;
    return 0;
bad:
    snprintf(err, errlen, "'%.*s' is not IPv4:PORT, [IPv6]:PORT, NAME:PORT or unix:/PATH",
             (int)(len < 80 ? len : 80), text);
    return -1;
}

int proxy_addr_check_list(const char *value, char *err, size_t errlen)
{
    size_t count = 0;
    const char *p = value;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct proxy_addr_text one;
        if (proxy_addr_parse(p, len, &one, err, errlen) < 0)
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

static bool proxy_addr_same(const struct sockaddr *a, const struct proxy_addr *b)
{
    if (a->sa_family != b->addr.ss_family)
        return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)&b->addr;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->addr;
    return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* Add every address of name:port, each once; first is where this name's
 * addresses start in list (duplicates are looked for from there only: the
 * same address written twice in a list stays twice, as it always did). */
static int proxy_addr_resolve_name(const struct proxy_addr_text *t, struct proxy_addr_list *list,
                                   char *err, size_t errlen)
{
    /* As nginx resolves a name without `resolver`: any family, TCP, only
     * the families this host has an address of (AI_ADDRCONFIG), so an
     * IPv4-only host gets no IPv6 upstream it could never reach. */
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_protocol = IPPROTO_TCP, .ai_flags = AI_ADDRCONFIG };
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)t->port);
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(t->host, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve host name '%s': %s", t->host, gai_strerror(rc));
        return -1;
    }
    size_t first = list->count, added = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof list->v[0].addr)
            continue;
        bool dup = false;
        for (size_t k = first; k < list->count && !dup; k++)
            dup = proxy_addr_same(ai->ai_addr, &list->v[k]);
        if (dup)
            continue;
        if (list->count >= PROXY_ADDR_MAX) {
            snprintf(err, errlen, "host name '%s' brings the list past %d upstreams",
                     t->host, PROXY_ADDR_MAX);
            freeaddrinfo(res);
            return -1;
        }
        struct proxy_addr *a = &list->v[list->count++];
        memcpy(&a->addr, ai->ai_addr, ai->ai_addrlen);
        a->addr_len = ai->ai_addrlen;
        char numeric[INET6_ADDRSTRLEN] = "?";
        const void *bytes = ai->ai_family == AF_INET
                                ? (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr
                                : (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        inet_ntop(ai->ai_family, bytes, numeric, sizeof numeric);
        snprintf(a->name, sizeof a->name, ai->ai_family == AF_INET ? "%s(%s:%u)" : "%s([%s]:%u)",
                 t->host, numeric, (unsigned)t->port);
        added++;
    }
    freeaddrinfo(res);
    if (added == 0) {
        snprintf(err, errlen, "host name '%s' has no IPv4 or IPv6 address", t->host);
        return -1;
    }
    return 0;
}

int proxy_addr_resolve_list(const char *value, struct proxy_addr_list **out, char *err,
                            size_t errlen)
{
    struct proxy_addr_list *list = calloc(1, sizeof *list);
    if (!list) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    list->refs = 1;
    for (const char *p = value; p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct proxy_addr_text t;
        if (proxy_addr_parse(p, len, &t, err, errlen) < 0)
            goto fail;
        if (t.is_name) {
            if (proxy_addr_resolve_name(&t, list, err, errlen) < 0)
                goto fail;
        } else {
            if (list->count >= PROXY_ADDR_MAX) {
                snprintf(err, errlen, "more than %d upstreams", PROXY_ADDR_MAX);
                goto fail;
            }
            struct proxy_addr *a = &list->v[list->count++];
            a->addr = t.addr;
            a->addr_len = t.addr_len;
            snprintf(a->name, sizeof a->name, "%.*s", (int)len, p);
        }
        p = end ? end + 1 : NULL;
    }
    *out = list;
    return 0;
fail:
    free(list);
    return -1;
}

void proxy_addr_list_release(struct proxy_addr_list *list)
{
    if (list && --list->refs == 0)
        free(list);
}
