/* conn_close — the close path: LINGER (flush, half-close, drain), the plain
 * close, how each close ended, and the list of lingering connections that
 * the server sheds from when descriptors or the lingering_max_conns cap run
 * out.
 *
 * Leaves out: deciding that a connection should close (the states in conn.c,
 * conn_respond.c and conn_body.c ask through conn_want_close or
 * conn_start_close).
 *
 * Invariants: every close the client did not start enters LINGER through
 * conn_start_close, after the last response byte is queued; only conn_close
 * releases the socket and the work area, and frees nothing: the record is
 * queued and freed after this loop iteration. A lingering connection holds
 * no buffers and is on the linger list (oldest first) from its half-close
 * until it closes; TCP_LINGER2 bounds its FIN_WAIT_2 after close().
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "conn_internal.h"
#include "http2.h"
#include "server.h"
#include "stats.h"
#include "transport.h"

static void conn_queue_closed(struct conn *c)
{
    struct server *srv = c->srv;
    c->next = srv->closed;
    srv->closed = c;
}

static void conn_linger_unlink(struct conn *c)
{
    struct server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else if (srv->linger_first == c)
        srv->linger_first = c->next;
    else
        return; /* not on the list */
    if (c->next)
        c->next->prev = c->prev;
    else
        srv->linger_last = c->prev;
    c->prev = c->next = NULL;
    srv->linger_count--;
}

static void conn_linger_link(struct conn *c)
{
    struct server *srv = c->srv;
    c->next = NULL;
    c->prev = srv->linger_last;
    if (srv->linger_last)
        srv->linger_last->next = c;
    else
        srv->linger_first = c;
    srv->linger_last = c;
    srv->linger_count++;
}

/* After our FIN, a client that never sends its own would keep the socket
 * in FIN_WAIT_2 for the kernel-wide tcp_fin_timeout; TCP_LINGER2 bounds it
 * per socket. Every accepted socket inherits fin_wait2_timeout from its
 * listener (worker_tune_listener); lingering_close off is the naive close,
 * kept to show the difference, so it goes back to the kernel's default. */
static void conn_bound_fin_wait2(struct conn *c)
{
    if (c->linger_mode != CONFIG_LINGER_OFF || c->peer_eof ||
        conn_cfg(c)->fin_wait2_timeout_ms == 0)
        return;
    int kernel_default = 0;
    (void)setsockopt(c->watch.fd, IPPROTO_TCP, TCP_LINGER2, &kernel_default,
                     sizeof kernel_default);
}

/* Release everything and queue the record to be freed after this iteration
 * (events already fetched for it must find it, marked CLOSED). */
static void conn_close(struct conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    const struct config *cfg = conn_cfg(c);
    conn_linger_unlink(c);
    conn_tunnel_end(c);
    http2_conn_free(c);
    conn_drop_work(c);
    /* Last of the unlinking: ending a tunnel or aborting HTTP/2 streams may
     * wake this connection (conn_wake puts it on the ready list), and a
     * closed record must not stay there. */
    conn_unready(c);
    /* No epoll_ctl(DEL): the socket is never duplicated, so close() takes
     * it out of the epoll set (a syscall saved on every close). */
    conn_bound_fin_wait2(c);
    if (cfg->so_linger_ms >= 0) {
        /* Apache's USE_SO_LINGER: close() may block up to this long. */
        struct linger l = { .l_onoff = 1, .l_linger = (int)((cfg->so_linger_ms + 999) / 1000) };
        (void)setsockopt(c->watch.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    transport_close(&c->tp);
    c->watch.fd = -1;
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        c->srv->all_first = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    conn_set_state(c, CONN_CLOSED);
    c->srv->conn_count--;
    conn_queue_closed(c);
}

/* Close and count how the close ended. */
void conn_finish(struct conn *c, enum stats_outcome outcome)
{
    struct stats *st = c->srv->stats;
    bool half_closed = c->state == CONN_LINGER && c->linger_step == CONN_LINGER_DRAIN;
    if (half_closed && outcome != STATS_CLOSE_CLIENT_CLOSED && outcome != STATS_CLOSE_RESET) {
        /* Our FIN is out and the client's is not in: after close() the kernel
         * keeps the socket in FIN_WAIT_2, for at most fin_wait2_timeout. */
        struct tcp_info ti;
        socklen_t len = sizeof ti;
        if (getsockopt(c->watch.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
            ti.tcpi_state == TCP_FIN_WAIT2)
            stats_add(&st->fin_wait2_bounded, 1);
    }
    stats_add(&st->closes[outcome], 1);
    if (half_closed)
        stats_add(&st->linger_discarded_bytes, c->linger_bytes);
    conn_log(c, LOG_DEBUG, "closed: reason=%s outcome=%s discarded=%llu",
             conn_close_reason_name((enum conn_close_reason)c->close_why),
             stats_outcome_name(outcome), (unsigned long long)c->linger_bytes);
    conn_close(c);
}

void conn_abort(struct conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    conn_finish(c, c->state == CONN_LINGER && c->linger_step == CONN_LINGER_DRAIN
                       ? STATS_CLOSE_SHED
                       : STATS_CLOSE_PLAIN);
}

/* The client closed or reset first: nothing to linger for. */
void conn_peer_gone(struct conn *c, bool reset)
{
    if (c->close_why == CONN_CLOSE_NONE)
        c->close_why = CONN_CLOSE_PEER;
    stats_add(&c->srv->stats->client_closes, 1);
    conn_log(c, LOG_DEBUG, "client %s", reset ? "reset the connection" : "closed");
    conn_close(c);
}

/* ---- the close path ---- */

void conn_set_lingering(struct conn *c, enum config_linger mode)
{
    c->w->lingering_close = mode;
}

void conn_want_close(struct conn *c, enum conn_close_reason why)
{
    c->keep_alive = false;
    if (c->close_why == CONN_CLOSE_NONE)
        c->close_why = (uint8_t)why;
    /* A stream has no close of its own to say that its answer, begun, is
     * cut short: it says so with a reset. */
    if (c->h2s && why == CONN_CLOSE_ERROR && c->w && c->w->responded)
        http2_stream_cut(c);
}

/* Enter LINGER: every close the client did not start comes through here. */
void conn_start_close(struct conn *c, enum conn_close_reason why)
{
    if (c->state == CONN_CLOSED || c->state == CONN_LINGER)
        return;
    if (c->close_why == CONN_CLOSE_NONE)
        c->close_why = (uint8_t)why;
    c->keep_alive = false;
    http2_conn_free(c); /* its last frames are queued: the streams end here */
    conn_cancel_deferred(c);
    conn_log_access(c);
    conn_abort_sink(c);
    c->linger_mode = (uint8_t)(c->w ? c->w->lingering_close : conn_cfg(c)->lingering_close);
    c->linger_total_ms = c->state == CONN_IDLE ? conn_cfg(c)->idle_close_linger_ms
                                               : conn_cfg(c)->lingering_time_ms;
    if (c->srv->stopping && c->linger_total_ms > conn_cfg(c)->shutdown_linger_ms)
        c->linger_total_ms = conn_cfg(c)->shutdown_linger_ms; /* a draining worker hurries */
    c->linger_step = CONN_LINGER_FLUSH;
    conn_set_state(c, CONN_LINGER);
    conn_on_linger(c, false);
}

void conn_shutdown(struct conn *c, enum conn_close_reason why)
{
    /* A graceful drain adds no close that keep-alive would not have made.
     * An idle connection keeps its keep-alive deadline, capped (see
     * conn_drain_idle_cap); a request that arrives meanwhile, or is in
     * flight now, is answered with "Connection: close" (conn_decide_keep_alive
     * sees the server stopping) and ends through the lingering close. */
    switch ((enum conn_state)c->state) {
    case CONN_IDLE:
        conn_arm_deadline(c); /* the cap may come before keepalive_timeout */
        break;
    case CONN_PROXY_HEADER: /* its request, if one comes, will say close */
    case CONN_READ_HEAD:
    case CONN_READ_BODY:
    case CONN_WAIT_IO: /* the worker waits for it: its answer says close */
    case CONN_AWAIT:
    case CONN_RESPOND:
        /* A response whose head is queued already promised keep-alive: the
         * client may send its next request as soon as it reads it, so the
         * connection goes idle as promised, under the cap. Otherwise the
         * response still to come says close. */
        if (c->w && c->w->in_request && !c->w->responded)
            conn_want_close(c, why);
        break;
    case CONN_H2: /* the two-step GOAWAY; streams in flight finish */
        http2_conn_drain(c);
        break;
    case CONN_TUNNEL: /* ends on its own, or at proxy_tunnel_drain_timeout */
        conn_arm_deadline(c);
        break;
    case CONN_H2_STREAM:
    case CONN_LINGER:
    case CONN_CLOSED:
    case CONN_STATE_COUNT:
        break;
    }
}

/* Might the client still be sending? ("on" lingers only then.) */
static bool conn_may_be_sending(const struct conn *c)
{
    const struct conn_work *w = c->w;
    if (w && (w->in_start < w->in_len || !w->body_done))
        return true;
    /* An HTTP/2 client may send a frame at any time (DATA still in flight,
     * WINDOW_UPDATE, PING, its own GOAWAY). */
    if (c->was_h2)
        return true;
    /* Some clients follow a body with an extra CRLF (RFC 9112 §2.2); one that
     * arrived after a plain close() would reset the connection. */
    if (w && (w->body_framing == HTTP1_BODY_CHUNKED ||
              (w->body_framing == HTTP1_BODY_LENGTH && w->req.content_length > 0)))
        return true;
    switch ((enum conn_close_reason)c->close_why) {
    case CONN_CLOSE_ERROR:
    case CONN_CLOSE_HEADER_TIMEOUT:
    case CONN_CLOSE_BODY_TIMEOUT:
    case CONN_CLOSE_UNREAD_BODY:
    case CONN_CLOSE_IDLE_TIMEOUT:
    case CONN_CLOSE_SHUTDOWN:
    case CONN_CLOSE_MAX_REQUESTS: /* the client did not ask to stop: it may pipeline */
    case CONN_CLOSE_NOKEEPALIVE:
    case CONN_CLOSE_TUNNEL_TIMEOUT:
        return true;
    case CONN_CLOSE_NONE:
    case CONN_CLOSE_REQUESTED:
    case CONN_CLOSE_SEND_TIMEOUT:
    case CONN_CLOSE_PEER:
    case CONN_CLOSE_TLS_HANDSHAKE:
    case CONN_CLOSE_PROXY_HEADER:
    case CONN_CLOSE_REASON_COUNT:
        break;
    }
    return false;
}

/* Will conn_begin_drain surely shut down (SHUT_WR) rather than close? Only
 * then may the last bytes wait for the FIN (MSG_MORE): close() with unread
 * bytes resets the connection and drops what is still queued, while a
 * shutdown pushes it out first. (A close is not always avoidable: the naive
 * lingering_close off, or "on" when nothing suggests more bytes and one
 * turns up anyway.) */
static bool conn_will_half_close(const struct conn *c)
{
    if (c->peer_eof)
        return false;
    return c->linger_mode == CONFIG_LINGER_ALWAYS ||
           (c->linger_mode == CONFIG_LINGER_ON && conn_may_be_sending(c));
}

/* Read and discard what the client sends. Returns true if the connection
 * was closed (the client's FIN, a reset, or the byte cap). */
static bool conn_linger_drain(struct conn *c)
{
    const struct config *cfg = conn_cfg(c);
    for (int i = 0; i < CONN_READS_PER_WAKE; i++) {
        ssize_t n = transport_drain(&c->tp, CONN_DISCARD_CHUNK);
        if (n > 0) {
            c->linger_bytes += (uint64_t)n;
            c->progress_ms = conn_now_ms(c);
            if (c->linger_bytes > cfg->lingering_max_bytes) {
                conn_finish(c, STATS_CLOSE_STILL_SENDING);
                return true;
            }
            continue;
        }
        if (n == 0) {
            conn_finish(c, STATS_CLOSE_CLIENT_CLOSED);
            return true;
        }
        if (n == -EAGAIN)
            return false;
        conn_finish(c, STATS_CLOSE_RESET);
        return true;
    }
    conn_yield(c); /* more may be waiting; no new edge would say so */
    return false;
}

static void conn_shut_write(struct conn *c);

/* Every response byte is out and nothing suggests the client is sending:
 * close without lingering, marking the end inside the stream first (TLS:
 * close_notify) unless the client has ended its own. */
static void conn_close_plainly(struct conn *c)
{
    if (!c->peer_eof)
        transport_end(&c->tp);
    conn_finish(c, STATS_CLOSE_PLAIN);
}

/* The response is out: half-close and start draining, or close at once. */
static void conn_begin_drain(struct conn *c)
{
    bool half_close = conn_will_half_close(c);
    /* "on" with nothing to suggest more bytes, but an edge since the last
     * read: one look at the socket tells whether some are already here. */
    bool look = !half_close && !c->peer_eof && c->linger_mode == CONFIG_LINGER_ON && c->rd_ready;
    conn_drop_work(c); /* a lingering connection holds no buffers */

    if (!half_close && !look) {
        /* The client closed first, lingering_close off, or "on" with the
         * socket empty at the last read and no edge since. */
        conn_close_plainly(c);
        return;
    }
    if (look) {
        ssize_t n = transport_drain(&c->tp, CONN_DISCARD_CHUNK);
        if (n <= 0) { /* its FIN, or nothing there */
            conn_close_plainly(c);
            return;
        }
        c->linger_bytes += (uint64_t)n;
    }
    c->linger_step = CONN_LINGER_SHUT;
    conn_shut_write(c);
}

/* End our side of the stream, then drain. Over TCP the FIN is queued at
 * once; over TLS close_notify goes first and may have to wait for room in
 * the socket (-EAGAIN: the next event calls again, send_timeout bounds it). */
static void conn_shut_write(struct conn *c)
{
    const struct config *cfg = conn_cfg(c);
    struct server *srv = c->srv;
    int rc = transport_shut_write(&c->tp);
    if (rc == -EAGAIN)
        return;
    if (rc < 0) {
        conn_finish(c, STATS_CLOSE_RESET);
        return;
    }
    c->linger_step = CONN_LINGER_DRAIN;
    c->since_ms = c->progress_ms = conn_now_ms(c);
    stats_add(&srv->stats->lingered, 1);
    conn_linger_link(c);
    conn_arm_deadline(c);
    /* Past the cap, the oldest lingering connection makes room. */
    while (srv->linger_count > cfg->lingering_max_conns && srv->linger_first) {
        struct conn *oldest = srv->linger_first;
        conn_finish(oldest, STATS_CLOSE_SHED);
        if (oldest == c)
            return;
    }
    conn_linger_drain(c);
}

void conn_on_linger(struct conn *c, bool timeout)
{
    if (c->linger_step != CONN_LINGER_DRAIN) {
        if (timeout && conn_deadline_passed(c)) {
            conn_finish(c, STATS_CLOSE_SEND_TIMEOUT);
            return;
        }
        if (c->linger_step == CONN_LINGER_SHUT) {
            conn_shut_write(c);
            return;
        }
        int rc = conn_send_queued(c, conn_will_half_close(c));
        if (rc == -EAGAIN)
            return;
        if (rc < 0) {
            conn_finish(c, STATS_CLOSE_RESET);
            return;
        }
        conn_begin_drain(c);
        return;
    }
    if (conn_linger_drain(c))
        return;
    if (timeout && conn_deadline_passed(c)) {
        uint64_t now = conn_now_ms(c);
        bool total_reached = now >= c->since_ms + c->linger_total_ms;
        bool quiet = now >= c->progress_ms + conn_cfg(c)->lingering_timeout_ms;
        /* Still sending: bytes came during the linger and recently. */
        bool sending = c->progress_ms > c->since_ms && !quiet;
        conn_finish(c, total_reached && sending ? STATS_CLOSE_STILL_SENDING
                                                : STATS_CLOSE_WENT_SILENT);
    }
}
