/* conn — the connection lifecycle state machine.
 *
 * A connection is in exactly one state; each state arms exactly one deadline.
 *
 *   state       waits for                      deadline            on expiry
 *   READ_HEAD   a whole request head           header_timeout      408 (if any byte
 *                                              (total, per head)    came), then close
 *   READ_BODY   body bytes for a sink/discard  body_timeout         408 or close
 *                                              (since last read)
 *   WAIT_IO     the handler's file operation   io_wait_timeout     close, no answer (the
 *               on an I/O thread (fsync,       (since entered)      operation finishes
 *               rename, the write the body                          on its own)
 *               got ahead of); no reading
 *   RESPOND     the socket to take the output  send_timeout         close at once
 *                                              (since last write)
 *   AWAIT       a deferred response's handler  send_timeout while   close at once
 *               (the proxy); sends what it     output waits; else
 *               queues as it comes             the handler's own
 *                                              deadlines
 *   IDLE        the next request               keepalive_timeout    close (lingers
 *                                                                   idle_close_linger)
 *   LINGER      flush, end our stream, then    send_timeout, then   outcome counted,
 *               the client's FIN, discarding   min(lingering_timeout close()
 *               its bytes                      since last read,
 *                                              lingering_time total)
 *   CLOSED      nothing: freed after this loop iteration
 *   PROXY_HEADER a PROXY protocol header     proxy_protocol_     close, counted
 *               (proxy_protocol listeners)     timeout (total)     (conn_proxy.c)
 *   H2          an HTTP/2 session's frames     the session's:      two-step GOAWAY,
 *               (src/http2/): ALPN h2, or the  keepalive_timeout   or a stream reset;
 *               preface with http2_cleartext   with no stream,     a socket that takes
 *                                              send_timeout, ...   nothing: close
 *   H2_STREAM   not a socket: a stream shown   none (the session's)
 *               to the handlers as a conn
 *
 * Transitions (conn_may_move checks them):
 *   accept    -> READ_HEAD, or PROXY_HEADER on a proxy_protocol listener
 *   PROXY_HEADER -> READ_HEAD | LINGER | CLOSED
 *   READ_HEAD -> READ_BODY | WAIT_IO | AWAIT | RESPOND | IDLE | LINGER | CLOSED
 *                (and READ_HEAD for the next pipelined request)
 *   READ_BODY -> READ_HEAD | WAIT_IO | AWAIT | RESPOND | IDLE | LINGER | CLOSED
 *   WAIT_IO   -> READ_BODY | READ_HEAD | RESPOND | IDLE | LINGER | CLOSED
 *   AWAIT     -> READ_HEAD | READ_BODY (a body asked for late) | RESPOND | IDLE |
 *                LINGER | CLOSED | TUNNEL
 *   RESPOND   -> READ_HEAD | IDLE | LINGER | CLOSED
 *   IDLE      -> READ_HEAD | LINGER | CLOSED
 *   TUNNEL    -> LINGER | CLOSED (after a 101: AWAIT -> TUNNEL, conn_tunnel.c)
 *   H2        -> LINGER | CLOSED (READ_HEAD -> H2 before the first request)
 *   LINGER    -> CLOSED
 *
 * The close path: every close the client did not start goes through LINGER
 * (conn_start_close): stop parsing, flush every queued response byte (bounded
 * by send_timeout), end our stream (shutdown(SHUT_WR); over TLS close_notify
 * first, also bounded by send_timeout), set TCP_LINGER2 so an orphaned socket
 * cannot sit in FIN_WAIT_2 past fin_wait2_timeout, then read and discard
 * (recv MSG_TRUNC: nothing is copied) until the client's FIN, the per-read
 * timeout, the total time or the byte cap; then close(). These steps are
 * LINGER's sub-steps (enum conn_linger_step) and speak only to the transport
 * (transport.h), so they are the same over TCP and TLS. With lingering_close
 * "on", the half-close and drain happen only if the client may still be
 * sending (unread bytes, an unread body, an error or a timeout, or bytes
 * already waiting in the socket); "always" lingers every time; "off" is a
 * plain close(), kept to show what goes wrong without it.
 *
 * Memory: struct conn is a small record (socket, state, deadline, counters).
 * Everything a request needs (read buffer, parser, output queue) lives in a
 * struct conn_work taken from a per-server free list when the connection
 * leaves IDLE and given back when it goes IDLE or starts LINGER: idle and
 * lingering connections hold no buffers.
 *
 * Input is edge-triggered (EPOLLET, registered once): every state that
 * reads keeps reading until the socket would block or the buffer is full,
 * and every move into a reading state tries a read, because an edge that
 * came while we were not reading will not come again.
 *
 * Files: this one is the lifecycle (states, deadlines, dispatch, the step
 * from one request to the next); conn_head.c reads a request head (or
 * chooses HTTP/2) and starts the request; conn_buf.c holds the work area and reads and sends; conn_respond.c formats
 * responses; conn_body.c reads request bodies; conn_close.c is the close
 * path above; conn_proxy.c is the PROXY_HEADER state; conn_addr.c says who
 * the client is (and logs with it). conn_internal.h is what they share,
 * private to conn*.c.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "conn_internal.h"
#include "http2.h"
#include "request.h"
#include "server.h"
#include "stats.h"
#include "tls_store.h"
#include "transport_tls.h"

static const char *const conn_state_names[] = {
    [CONN_READ_HEAD] = "READ_HEAD", [CONN_READ_BODY] = "READ_BODY",
    [CONN_WAIT_IO] = "WAIT_IO",     [CONN_AWAIT] = "AWAIT",
    [CONN_RESPOND] = "RESPOND",     [CONN_IDLE] = "IDLE",
    [CONN_LINGER] = "LINGER",       [CONN_CLOSED] = "CLOSED",
    [CONN_PROXY_HEADER] = "PROXY_HEADER", [CONN_TUNNEL] = "TUNNEL",
    [CONN_H2] = "H2",               [CONN_H2_STREAM] = "H2_STREAM",
};
static_assert(sizeof conn_state_names / sizeof conn_state_names[0] == CONN_STATE_COUNT,
              "a state without a name");

static const char *const conn_close_reason_names[] = {
    [CONN_CLOSE_NONE] = "-",
    [CONN_CLOSE_REQUESTED] = "requested",
    [CONN_CLOSE_ERROR] = "error",
    [CONN_CLOSE_MAX_REQUESTS] = "max_requests",
    [CONN_CLOSE_NOKEEPALIVE] = "nokeepalive",
    [CONN_CLOSE_IDLE_TIMEOUT] = "idle_timeout",
    [CONN_CLOSE_HEADER_TIMEOUT] = "header_timeout",
    [CONN_CLOSE_BODY_TIMEOUT] = "body_timeout",
    [CONN_CLOSE_SEND_TIMEOUT] = "send_timeout",
    [CONN_CLOSE_UNREAD_BODY] = "unread_body",
    [CONN_CLOSE_SHUTDOWN] = "shutdown",
    [CONN_CLOSE_PEER] = "peer",
    [CONN_CLOSE_TLS_HANDSHAKE] = "tls-handshake",
    [CONN_CLOSE_PROXY_HEADER] = "proxy-header",
    [CONN_CLOSE_TUNNEL_TIMEOUT] = "tunnel-timeout",
};
static_assert(sizeof conn_close_reason_names / sizeof conn_close_reason_names[0] ==
                  CONN_CLOSE_REASON_COUNT,
              "a close reason without a name");

const char *conn_state_name(enum conn_state s)
{
    return s < CONN_STATE_COUNT ? conn_state_names[s] : "?";
}

const char *conn_close_reason_name(enum conn_close_reason r)
{
    return r < CONN_CLOSE_REASON_COUNT ? conn_close_reason_names[r] : "?";
}

static const enum stats_state conn_stats_state[] = {
    [CONN_READ_HEAD] = STATS_READ_HEAD, [CONN_READ_BODY] = STATS_READ_BODY,
    [CONN_WAIT_IO] = STATS_WAIT_IO,     [CONN_AWAIT] = STATS_RESPOND,
    [CONN_RESPOND] = STATS_RESPOND,     [CONN_IDLE] = STATS_IDLE,
    [CONN_LINGER] = STATS_LINGER,       [CONN_CLOSED] = STATS_STATE_COUNT,
    [CONN_PROXY_HEADER] = STATS_PROXY_HEADER, [CONN_TUNNEL] = STATS_RESPOND,
    [CONN_H2] = STATS_RESPOND,      [CONN_H2_STREAM] = STATS_STATE_COUNT,
};

static bool conn_may_move(enum conn_state from, enum conn_state to)
{
    if (to == CONN_CLOSED)
        return from != CONN_CLOSED;
    switch ((enum conn_state)from) {
    case CONN_PROXY_HEADER:
        return to == CONN_READ_HEAD || to == CONN_LINGER;
    case CONN_READ_HEAD:
        return to != CONN_CLOSED && to != CONN_PROXY_HEADER;
    case CONN_READ_BODY:
        return to != CONN_READ_BODY && to != CONN_PROXY_HEADER;
    case CONN_WAIT_IO:
        return to != CONN_WAIT_IO && to != CONN_PROXY_HEADER;
    case CONN_RESPOND:
        return to == CONN_READ_HEAD || to == CONN_IDLE || to == CONN_LINGER;
    case CONN_AWAIT:
        return to == CONN_READ_HEAD || to == CONN_IDLE || to == CONN_LINGER ||
               to == CONN_RESPOND || to == CONN_READ_BODY || to == CONN_TUNNEL;
    case CONN_TUNNEL:
    case CONN_H2:
        return to == CONN_LINGER;
    case CONN_IDLE:
        return to == CONN_READ_HEAD || to == CONN_LINGER;
    case CONN_LINGER:
    case CONN_CLOSED:
    case CONN_H2_STREAM:
    case CONN_STATE_COUNT:
        return false;
    }
    return false;
}

uint64_t conn_now_ms(const struct conn *c)
{
    return loop_now_ms(c->srv->loop);
}

enum conn_state conn_state_of(const struct conn *c)
{
    return (enum conn_state)c->state;
}

struct server *conn_server(const struct conn *c)
{
    return c->srv;
}

const struct http1_request *conn_request(const struct conn *c)
{
    return &c->w->req;
}

const char *conn_request_buf(const struct conn *c)
{
    return c->w->in + c->w->head_start;
}

/* Stop for now with work left (fairness bound reached, or bytes buffered
 * that no new edge will announce): the server resumes us after this
 * iteration, before it sleeps again. */
void conn_yield(struct conn *c)
{
    if (c->ready || c->state == CONN_CLOSED)
        return;
    struct server *srv = c->srv;
    c->ready = true;
    c->ready_next = srv->ready_first;
    srv->ready_first = c;
}

void conn_unready(struct conn *c)
{
    if (!c->ready)
        return;
    for (struct conn **p = &c->srv->ready_first; *p; p = &(*p)->ready_next)
        if (*p == c) {
            *p = c->ready_next;
            break;
        }
    c->ready = false;
}

/* ---- deadlines ---- */

/* During a graceful drain an idle connection keeps its own keep-alive
 * deadline (closing it sooner would add a close that the keep-alive timeout
 * would not have made: a busy client's next request is already on its way),
 * but no later than the drain's idle cap: shutdown_idle_grace after the
 * drain began, and in time for the shortened linger to end before
 * shutdown_timeout. The connections the cap cuts short close spread over its
 * last shutdown_close_spread, each at a fixed point picked from its id, so
 * their clients do not all reconnect in the same millisecond. */
static uint64_t conn_drain_idle_cap(const struct conn *c)
{
    const struct config *cfg = conn_cfg(c);
    uint64_t grace = cfg->shutdown_idle_grace_ms;
    uint64_t room = cfg->shutdown_timeout_ms > cfg->shutdown_linger_ms
                        ? cfg->shutdown_timeout_ms - cfg->shutdown_linger_ms
                        : 0;
    if (grace > room)
        grace = room;
    uint64_t spread = cfg->shutdown_close_spread_ms < grace ? cfg->shutdown_close_spread_ms
                                                             : grace;
    /* Fibonacci hashing spreads consecutive ids evenly over [0, 2^32). */
    uint64_t point = (c->id * UINT64_C(11400714819323198485)) >> 32;
    return c->srv->drain_start_ms + grace - spread * point / (UINT64_C(1) << 32);
}

/* The deadline of the current state, from the times it depends on. */
static uint64_t conn_deadline(const struct conn *c)
{
    const struct config *cfg = conn_cfg(c);
    switch ((enum conn_state)c->state) {
    case CONN_PROXY_HEADER:
        return c->since_ms + cfg->proxy_protocol_timeout_ms;
    case CONN_READ_HEAD:
        /* TLS: the handshake comes first, with its own bound; the head's
         * header_timeout counts from the accept all the same. */
        if (!c->tp.established)
            return c->since_ms + cfg->tls_handshake_timeout_ms;
        return c->since_ms + cfg->header_timeout_ms;
    case CONN_READ_BODY: {
        uint64_t quiet = c->progress_ms + cfg->body_timeout_ms;
        if (cfg->body_min_rate == 0 || !c->w || c->w->body_paused)
            return quiet; /* paused: the handler is the one not taking bytes */
        /* A trickle that beats body_timeout still has to keep an average
         * rate: one body_timeout of grace, plus a second per body_min_rate
         * bytes received. */
        uint64_t earned = c->w->body_bytes * 1000 / cfg->body_min_rate;
        uint64_t slow = c->w->body_clock_ms + cfg->body_timeout_ms + earned;
        return slow < quiet ? slow : quiet;
    }
    case CONN_WAIT_IO:
        return c->since_ms + cfg->io_wait_timeout_ms;
    case CONN_RESPOND:
    case CONN_AWAIT:
        return c->progress_ms + cfg->send_timeout_ms;
    case CONN_TUNNEL: {
        /* The 101 head waits for the client like any answer, first. */
        uint64_t own = c->progress_ms + (conn_tunnel_started(c) ? cfg->proxy_tunnel_timeout_ms
                                                                 : cfg->send_timeout_ms);
        if (!c->srv->stopping)
            return own;
        uint64_t cap = conn_tunnel_drain_deadline(c);
        return cap < own ? cap : own;
    }
    case CONN_IDLE: {
        uint64_t own = c->since_ms + cfg->keepalive_timeout_ms;
        if (!c->srv->stopping)
            return own;
        uint64_t cap = conn_drain_idle_cap(c);
        return cap < own ? cap : own;
    }
    case CONN_LINGER: {
        if (c->linger_step != CONN_LINGER_DRAIN)
            return c->progress_ms + cfg->send_timeout_ms;
        uint64_t quiet = c->progress_ms + cfg->lingering_timeout_ms;
        uint64_t total = c->since_ms + c->linger_total_ms;
        return quiet < total ? quiet : total;
    }
    case CONN_H2:
        return http2_conn_deadline(c);
    case CONN_CLOSED:
    case CONN_H2_STREAM:
    case CONN_STATE_COUNT:
        break;
    }
    return UINT64_MAX;
}

/* Arm the state's deadline. Progress inside a state (a read, a write) only
 * moves progress_ms; the timer fires at the old deadline and is re-armed for
 * the rest (conn_deadline_passed), which saves a heap update per read. */
void conn_arm_deadline(struct conn *c)
{
    loop_arm(c->srv->loop, &c->timer, conn_deadline(c));
}

bool conn_deadline_passed(struct conn *c)
{
    if (conn_now_ms(c) >= conn_deadline(c))
        return true;
    conn_arm_deadline(c);
    return false;
}

void conn_set_state(struct conn *c, enum conn_state to)
{
    assert(conn_may_move((enum conn_state)c->state, to));
    struct stats *st = c->srv->stats;
    stats_sub(&st->conns[conn_stats_state[c->state]], 1);
    if (to != CONN_CLOSED)
        stats_add(&st->conns[conn_stats_state[to]], 1);
    uint64_t now = conn_now_ms(c);
    if (to == CONN_READ_BODY && c->w) {
        struct conn_work *w = c->w;
        if (!w->body_clock_ms)
            w->body_clock_ms = now;
        else if (c->state == CONN_WAIT_IO)
            w->body_clock_ms += now - c->since_ms; /* the server's wait, not the client's */
    }
    c->state = (uint8_t)to;
    c->since_ms = now;
    c->progress_ms = now;
    if (to == CONN_CLOSED)
        loop_disarm(c->srv->loop, &c->timer);
    else
        conn_arm_deadline(c);
}

/* ---- requests ---- */

static void conn_after_drain(struct conn *c);

/* The response to the current request is queued (and its body, if any, is
 * read): move on to the next request, the idle wait, or the close. */
void conn_request_done(struct conn *c)
{
    struct conn_work *w = c->w;
    if (w->deferred && !w->deferred_done) {
        /* The body is settled; the answer is still coming. */
        if (c->state != CONN_AWAIT)
            conn_set_state(c, CONN_AWAIT);
        return;
    }
    w->deferred = NULL;
    conn_log_access(c);
    w->in_request = false;
    w->sink = NULL;
    w->real_family = 0; /* the next request names its own client, or none */
    if (!c->keep_alive) {
        conn_start_close(c, CONN_CLOSE_REQUESTED);
        return;
    }
    http1_parser_init(&w->parser, &c->srv->limits, w->fields, conn_cfg(c)->header_fields_max);
    /* Empty lines after a message are not a new request (RFC 9112 §2.2:
     * some clients send a CRLF after a POST body). */
    while (w->in_start < w->in_len && (w->in[w->in_start] == '\r' || w->in[w->in_start] == '\n'))
        w->in_start++;
    c->ever_read = w->in_start < w->in_len;
    if (conn_output_full(c)) {
        conn_set_state(c, CONN_RESPOND);
        return;
    }
    if (w->in_start < w->in_len) {
        if (c->state != CONN_READ_HEAD) {
            conn_set_state(c, CONN_READ_HEAD);
        } else {
            c->since_ms = c->progress_ms = conn_now_ms(c); /* a new head: a new header_timeout */
            conn_arm_deadline(c);
        }
        return;
    }
    int rc = conn_flush(c);
    if (rc == -EAGAIN) {
        conn_set_state(c, CONN_RESPOND);
        return;
    }
    if (rc < 0) {
        conn_peer_gone(c, true);
        return;
    }
    conn_after_drain(c);
}

static void conn_on_respond(struct conn *c, bool timeout)
{
    if (timeout) {
        if (!conn_deadline_passed(c))
            return;
        c->close_why = CONN_CLOSE_SEND_TIMEOUT;
        conn_finish(c, STATS_CLOSE_SEND_TIMEOUT);
        return;
    }
    int rc = conn_flush(c);
    if (rc == -EAGAIN)
        return;
    if (rc < 0) {
        conn_peer_gone(c, true);
        return;
    }
    conn_after_drain(c);
}

static void conn_on_idle(struct conn *c, bool timeout);

/* Every response is out: read the next request if one is buffered or
 * waiting in the socket, else wait idle with no buffers. */
static void conn_after_drain(struct conn *c)
{
    struct conn_work *w = c->w;
    if (w->in_start < w->in_len) {
        conn_set_state(c, CONN_READ_HEAD);
        return;
    }
    conn_drop_work(c);
    conn_set_state(c, CONN_IDLE);
    conn_on_idle(c, false);
}

static void conn_on_idle(struct conn *c, bool timeout)
{
    if (timeout) {
        bool cut = conn_now_ms(c) < c->since_ms + conn_cfg(c)->keepalive_timeout_ms;
        conn_start_close(c, cut ? CONN_CLOSE_SHUTDOWN : CONN_CLOSE_IDLE_TIMEOUT);
        return;
    }
    if (!conn_take_work(c)) {
        conn_start_close(c, CONN_CLOSE_ERROR);
        return;
    }
    ssize_t n = conn_fill(c);
    if (n > 0) {
        c->ever_read = true;
        conn_set_state(c, CONN_READ_HEAD);
        return;
    }
    conn_drop_work(c);
    if (n == -EAGAIN)
        return;
    conn_peer_gone(c, n != 0);
}

/* One dispatch switch; a handler that moves the connection to another
 * state lets the loop run that state's handler at once. */
static void conn_run(struct conn *c, bool timeout)
{
    int i;
    for (i = 0; i < 8; i++) {
        enum conn_state before = (enum conn_state)c->state;
        switch (before) {
        case CONN_PROXY_HEADER:
            conn_on_proxy_header(c, timeout);
            break;
        case CONN_READ_HEAD:
            conn_on_read_head(c, timeout);
            break;
        case CONN_READ_BODY:
            conn_on_read_body(c, timeout);
            break;
        case CONN_WAIT_IO:
            conn_on_wait_io(c, timeout);
            break;
        case CONN_RESPOND:
            conn_on_respond(c, timeout);
            break;
        case CONN_AWAIT:
            conn_on_await(c, timeout);
            break;
        case CONN_TUNNEL:
            conn_on_tunnel(c, timeout);
            break;
        case CONN_IDLE:
            conn_on_idle(c, timeout);
            break;
        case CONN_LINGER:
            conn_on_linger(c, timeout);
            break;
        case CONN_H2:
            http2_conn_run(c, timeout);
            break;
        case CONN_CLOSED:
        case CONN_H2_STREAM:
        case CONN_STATE_COUNT:
            return;
        }
        timeout = false;
        /* READ_HEAD, READ_BODY and RESPOND have work to do when entered; IDLE
         * and LINGER did theirs on entry; WAIT_IO waits for its operation. */
        if (c->state == before || c->state == CONN_CLOSED || c->state == CONN_LINGER ||
            c->state == CONN_IDLE || c->state == CONN_WAIT_IO)
            break;
    }
    if (i == 8)
        conn_yield(c);
    /* Output queued while reading leaves now, if the socket takes it. */
    if ((c->state == CONN_READ_HEAD || c->state == CONN_READ_BODY) && c->w &&
        !outq_is_empty(&c->w->out)) {
        int rc = conn_flush(c);
        if (rc < 0 && rc != -EAGAIN)
            conn_peer_gone(c, true);
    }
    conn_offer_room(c);
}

static void conn_on_io(struct loop_watch *watch, uint32_t events)
{
    struct conn *c = (struct conn *)((char *)watch - offsetof(struct conn, watch));
    /* A read that waited to write (a TLS handshake message) goes on once the
     * socket takes bytes. */
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ||
        ((events & EPOLLOUT) && c->tp.read_wants == TRANSPORT_WANT_WRITE))
        c->rd_ready = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->rd_hup = true; /* a FIN is queued: a short read will not mean empty */
    if (c->state == CONN_WAIT_IO && (events & (EPOLLHUP | EPOLLERR))) {
        /* Reset (we have not shut our side): no answer can reach the
         * client. Close now; the operation finishes on its own. A FIN alone
         * is a client that sent everything and waits: it keeps its answer. */
        conn_peer_gone(c, true);
        return;
    }
    conn_run(c, false);
}

static void conn_on_timer(struct loop_timer *t)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));
    conn_run(c, true);
}

bool conn_is_tls(const struct conn *c)
{
    return transport_is_tls(&c->tp);
}

const char *conn_tls_version(const struct conn *c)
{
    return transport_tls_version(&c->tp);
}

const char *conn_tls_cipher(const struct conn *c)
{
    return transport_tls_cipher(&c->tp);
}

const char *conn_tls_sni(const struct conn *c)
{
    return transport_tls_sni(&c->tp);
}

struct conn *conn_open(struct server *srv, int fd, const struct sockaddr *peer,
                       socklen_t peer_len, bool tls, bool proxy_protocol)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = srv;
    c->watch.fd = fd;
    if (!tls) {
        transport_tcp_open(&c->tp, fd);
    } else if (transport_tls_open(&c->tp, fd, tls_store_default_ctx(srv->tls), srv->stats) < 0) {
        free(c);
        errno = ENOMEM;
        return NULL;
    }
    c->watch.on_io = conn_on_io;
    loop_timer_init(&c->timer, conn_on_timer);
    c->id = ++srv->next_conn_id;
    c->linger_mode = (uint8_t)srv->cfg->lingering_close;
    /* With defer_accept the kernel hands a connection over when its first
     * bytes are in: read at once instead of waiting for an edge. */
    c->rd_ready = srv->cfg->defer_accept_ms > 0;
    conn_store_peer(c, peer, peer_len);
    if (server_reserve_timers(srv, 1) < 0) {
        free(c);
        errno = ENOMEM;
        return NULL;
    }
    srv->conn_count++;
    c->all_next = srv->all_first;
    if (srv->all_first)
        srv->all_first->all_prev = c;
    srv->all_first = c;
    stats_add(&srv->stats->accepted, 1);
    c->state = proxy_protocol ? CONN_PROXY_HEADER : CONN_READ_HEAD;
    stats_add(&srv->stats->conns[conn_stats_state[c->state]], 1);
    c->since_ms = c->progress_ms = conn_now_ms(c);
    conn_arm_deadline(c);
    if (conn_take_work(c))
        conn_run(c, false); /* with defer_accept the request is usually here */
    else
        conn_start_close(c, CONN_CLOSE_ERROR);
    /* Watched only now: a request answered and closed at once never costs
     * an epoll_ctl. Adding an edge-triggered watch reports what is already
     * ready, so nothing that happened meanwhile is missed. */
    if (c->state == CONN_CLOSED)
        return c;
    int rc = loop_watch(srv->loop, &c->watch, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
    if (rc < 0) {
        conn_log(c, LOG_WARN, "cannot watch the connection: %s", strerror(-rc));
        conn_abort(c);
    }
    return c;
}

void conn_resume_ready(struct server *srv)
{
    struct conn *list = srv->ready_first;
    srv->ready_first = NULL;
    while (list) {
        struct conn *c = list;
        list = c->ready_next;
        c->ready = false;
        conn_run(c, false);
    }
}

struct conn *conn_next(const struct conn *c)
{
    return c->all_next;
}

void conn_free_closed(struct server *srv)
{
    while (srv->closed) {
        struct conn *c = srv->closed;
        srv->closed = c->next;
        conn_tunnel_free(c);
        free(c);
    }
}
