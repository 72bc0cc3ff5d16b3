/* conn_proxy — the PROXY_HEADER state: a proxy_protocol listener's
 * connections start with a PROXY protocol header (v1 or v2) from a balancer.
 *
 * The header is read by peeking (recv MSG_PEEK) and asking the pure parser
 * (proxy_protocol.c) how long it is; then exactly those bytes are taken
 * from the socket. What follows, a TLS ClientHello or a request, is still
 * in the socket, so the TLS sniffing and handshake and the request parser
 * see it as a connection's first bytes, unchanged. The peek never asks for
 * more than proxy_protocol_max_bytes: the parser refuses a longer header at
 * its 16th byte, so nothing is waited for past that bound.
 *
 * The state has its own deadline, proxy_protocol_timeout, counted from the
 * accept; header_timeout (and tls_handshake_timeout) start once the header
 * is read. Every failure closes at once (what was peeked is dropped first,
 * so the close is a FIN, not a reset), with no answer (the peer speaks
 * the PROXY protocol, not HTTP, and a balancer takes a close as "server
 * down" rather than an answer to relay), and is counted by reason. Who may
 * send a header (proxy_protocol_from) is decided at accept (server.c).
 *
 * A PROXY command carrying TCP4/TCP6 addresses replaces the connection's
 * client address (logs, status_allow, the error-log prefix), and the
 * socket's peer is kept as the balancer's address (via). LOCAL (the
 * balancer's own health check), v1 UNKNOWN and v2 UNSPEC or AF_UNIX keep
 * the socket's address.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "conn_internal.h"
#include "proxy_protocol.h"
#include "stats.h"

/* One worker is one thread, and a peek keeps nothing between two calls:
 * one buffer serves every connection (the directive's largest value). */
static uint8_t conn_proxy_peek[65551];

static void conn_proxy_cut(struct conn *c, enum stats_proxy_failure why, const char *reason)
{
    /* The peeked bytes are still queued: closing over them would reset the
     * connection. Dropped (MSG_TRUNC: not copied), the close is a FIN. */
    ssize_t n;
    do
        n = recv(c->tp.fd, NULL, conn_cfg(c)->proxy_protocol_max_bytes, MSG_TRUNC | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    stats_add(&c->srv->stats->proxy_failures[why], 1);
    conn_log(c, LOG_INFO, "PROXY header %s: %s; closed", stats_proxy_failure_name(why), reason);
    c->close_why = CONN_CLOSE_PROXY_HEADER;
    conn_finish(c, STATS_CLOSE_PLAIN);
}

/* The header is read: take its bytes, note what it says, go on to the
 * request (or the TLS handshake) with the bytes that follow. */
static void conn_proxy_accept(struct conn *c, const struct proxy_header *h)
{
    ssize_t n;
    do
        n = recv(c->tp.fd, conn_proxy_peek, h->length, 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)h->length) { /* the bytes just peeked are gone: a reset */
        conn_proxy_cut(c, STATS_PROXY_FAIL_TRUNCATED, "the header could not be taken");
        return;
    }
    struct stats *st = c->srv->stats;
    stats_add(&st->proxy_headers[h->version == 1 ? 0 : 1], 1);
    stats_add(&st->bytes_in, h->length);
    if (h->command == PROXY_CMD_PROXY) {
        c->via_family = c->peer_family;
        c->via_port = c->peer_port;
        memcpy(c->via_addr, c->peer_addr, sizeof c->via_addr);
        c->peer_family = h->family;
        c->peer_port = h->src_port;
        memset(c->peer_addr, 0, sizeof c->peer_addr);
        memcpy(c->peer_addr, h->src_addr, h->family == 4 ? 4 : 16);
    } else {
        stats_add(&st->proxy_local, 1);
    }
    /* Bytes after the header raise no new edge: read on at once. */
    c->rd_ready = true;
    conn_set_state(c, CONN_READ_HEAD);
}

void conn_on_proxy_header(struct conn *c, bool timeout)
{
    if (timeout) {
        if (conn_deadline_passed(c))
            conn_proxy_cut(c, STATS_PROXY_FAIL_TIMEOUT, "not whole within proxy_protocol_timeout");
        return;
    }
    size_t max = conn_cfg(c)->proxy_protocol_max_bytes;
    ssize_t n;
    do
        n = recv(c->tp.fd, conn_proxy_peek, max, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        conn_proxy_cut(c, STATS_PROXY_FAIL_TRUNCATED, strerror(errno));
        return;
    }
    if (n == 0) {
        conn_proxy_cut(c, STATS_PROXY_FAIL_TRUNCATED, "closed before any byte");
        return;
    }
    struct proxy_header h;
    switch (proxy_protocol_parse(conn_proxy_peek, (size_t)n, max, &h)) {
    case PROXY_NEED_MORE:
        /* A peek leaves the bytes in the socket, so only a FIN tells that
         * no more will come; each new segment raises a new edge. */
        if (c->rd_hup)
            conn_proxy_cut(c, STATS_PROXY_FAIL_TRUNCATED, "the peer ended inside the header");
        return;
    case PROXY_INVALID:
        conn_proxy_cut(c, h.fault == PROXY_FAULT_OVERSIZED ? STATS_PROXY_FAIL_OVERSIZED
                                                           : STATS_PROXY_FAIL_MALFORMED,
                       h.reason);
        return;
    case PROXY_DONE:
        conn_proxy_accept(c, &h);
        return;
    }
}
