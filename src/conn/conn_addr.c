/* conn_addr — who a connection's client is, and who vouched for it.
 *
 * The client is the socket's peer, unless a balancer named another: a PROXY
 * header for the whole connection (conn_proxy.c moves the socket's peer to
 * via_* and puts the header's source in peer_*), or real_ip_header for one
 * request (balancer.c, held in the work area until the request is done).
 * Everything that shows or decides on the client (the access log, the
 * error-log prefix, status_allow) asks here, so all of them agree.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conn_internal.h"

/* real_ip_header speaks for one request: its address while that request is
 * answered (the work area holds it), the connection's otherwise. */
static bool conn_has_request_client(const struct conn *c)
{
    return c->w && c->w->real_family != 0;
}

int conn_peer_addr(const struct conn *c, uint8_t addr[16])
{
    if (conn_has_request_client(c)) {
        memcpy(addr, c->w->real_addr, 16);
        return c->w->real_family;
    }
    memcpy(addr, c->peer_addr, 16);
    return c->peer_family == 6 ? 6 : 4;
}

const char *conn_peer_text(const struct conn *c)
{
    static char text[INET6_ADDRSTRLEN + 8];
    char addr[INET6_ADDRSTRLEN];
    uint8_t bytes[16];
    int family = conn_peer_addr(c, bytes) == 6 ? AF_INET6 : AF_INET;
    if (!inet_ntop(family, bytes, addr, sizeof addr))
        return "?";
    if (conn_has_request_client(c)) /* a forwarded address carries no port */
        return strcpy(text, addr);
    snprintf(text, sizeof text, family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, c->peer_port);
    return text;
}

int conn_balancer_addr(const struct conn *c, uint8_t addr[16], uint16_t *port)
{
    if (c->via_family) {
        memcpy(addr, c->via_addr, 16);
        *port = c->via_port;
        return c->via_family;
    }
    if (conn_has_request_client(c)) {
        memcpy(addr, c->peer_addr, 16);
        *port = c->peer_port;
        return c->peer_family == 6 ? 6 : 4;
    }
    return 0;
}

void conn_set_request_client(struct conn *c, int family, const uint8_t addr[16])
{
    c->w->real_family = (uint8_t)family;
    memcpy(c->w->real_addr, addr, 16);
}

/* " via=<balancer>" when the client's address came from a balancer. */
static const char *conn_via_text(const struct conn *c)
{
    static char text[INET6_ADDRSTRLEN + 16];
    char addr[INET6_ADDRSTRLEN];
    uint8_t bytes[16];
    uint16_t port;
    int family = conn_balancer_addr(c, bytes, &port);
    if (family == 0 || !inet_ntop(family == 6 ? AF_INET6 : AF_INET, bytes, addr, sizeof addr))
        return "";
    snprintf(text, sizeof text, family == 6 ? " via=[%s]:%u" : " via=%s:%u", addr, port);
    return text;
}

void conn_log(const struct conn *c, enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_write(level, "conn=%llu fd=%d peer=%s%s state=%s %s", (unsigned long long)c->id,
              c->watch.fd, conn_peer_text(c), conn_via_text(c),
              conn_state_name((enum conn_state)c->state), msg);
}

void conn_store_peer(struct conn *c, const struct sockaddr *peer, socklen_t len)
{
    if (peer->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)peer;
        c->peer_family = 6;
        memcpy(c->peer_addr, &a->sin6_addr, 16);
        c->peer_port = ntohs(a->sin6_port);
    } else if (peer->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)peer;
        c->peer_family = 4;
        memcpy(c->peer_addr, &a->sin_addr, 4);
        c->peer_port = ntohs(a->sin_port);
    }
}
