/* conn_tunnel — the TUNNEL state: after a 101 (Switching Protocols) the
 * client's connection and an upstream socket carry bytes both ways,
 * uninterpreted (a WebSocket, or any protocol named by Upgrade).
 *
 * Each direction has one buffer of proxy_buffer_bytes: a side is read only
 * while its buffer has room, so a slow reader on one side stops the other
 * side's sender (TCP's own back-pressure) and memory stays bounded. The
 * client side goes through the transport (TCP or TLS), the upstream side is
 * a plain socket with its own watch on the worker's loop.
 *
 * Ends: a side's end of stream (FIN, TLS close_notify) is passed to the
 * other side as a half-close once its buffer is out: shutdown(SHUT_WR) to
 * the upstream, transport_shut_write to the client; the other direction
 * goes on. When both directions have ended, the upstream socket is closed
 * and the client's connection ends through the close path (LINGER). A
 * tunnel that carries no byte for proxy_tunnel_timeout is closed both ways
 * the same way (the upstream's close, the client's lingering close). A
 * reset or a failed write on one side ends the tunnel: the other side still
 * gets an orderly close, never a reset of our making.
 *
 * Not here: the handshake (proxy.c relays the request and the 101 head);
 * what the bytes mean.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_internal.h"

/* Reads and writes per wake-up before yielding (fairness). */
#define TUNNEL_ROUNDS_PER_WAKE 16

struct conn_tunnel_dir {
    char *buf;
    size_t cap, start, len; /* buf[start .. len) waits to be written */
    bool eof;               /* the reading side ended its stream */
    bool shut;              /* the end was passed on (half-close sent) */
};

struct conn_tunnel {
    struct loop_watch uwatch; /* the upstream socket */
    struct conn *c;
    bool u_rd_ready, u_wr_ready;
    bool started;              /* the 101 head went out */
    struct conn_tunnel_dir up;   /* client -> upstream */
    struct conn_tunnel_dir down; /* upstream -> client */
};

static void conn_tunnel_on_io(struct loop_watch *watch, uint32_t events)
{
    struct conn_tunnel *t =
        (struct conn_tunnel *)((char *)watch - offsetof(struct conn_tunnel, uwatch));
    /* Events fetched before the tunnel closed are still delivered. */
    if (t->uwatch.fd < 0 || t->c->state != CONN_TUNNEL)
        return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        t->u_rd_ready = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        t->u_wr_ready = true;
    conn_yield(t->c);
}

static bool conn_tunnel_dir_init(struct conn_tunnel_dir *d, size_t cap, const char *first,
                                 size_t first_len)
{
    if (first_len > cap)
        cap = first_len;
    d->buf = malloc(cap);
    if (!d->buf)
        return false;
    d->cap = cap;
    memcpy(d->buf, first, first_len);
    d->len = first_len;
    return true;
}

bool conn_tunnel(struct conn *c, int fd, const char *pending, size_t pending_len)
{
    struct conn_work *w = c->w;
    if (c->h2s)
        return false; /* HTTP/2 has no 101: the handler answers as usual */
    size_t cap = conn_cfg(c)->proxy_buffer_bytes;
    struct conn_tunnel *t = calloc(1, sizeof *t);
    /* What the client sent after its request head belongs to the tunnel. */
    const char *early = w->in + w->in_start;
    size_t early_len = w->in_len - w->in_start;
    if (!t || !conn_tunnel_dir_init(&t->up, cap, early, early_len) ||
        !conn_tunnel_dir_init(&t->down, cap, pending, pending_len)) {
        if (t) {
            free(t->up.buf);
            free(t);
        }
        close(fd);
        return false;
    }
    t->c = c;
    t->uwatch.fd = fd;
    t->uwatch.on_io = conn_tunnel_on_io;
    /* Whatever the upstream socket holds was announced to its old watch. */
    t->u_rd_ready = t->u_wr_ready = true;
    if (loop_watch(c->srv->loop, &t->uwatch, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
        free(t->up.buf);
        free(t->down.buf);
        free(t);
        close(fd);
        return false;
    }
    c->tunnel = t;
    w->in_start = w->in_len; /* now the tunnel's */
    /* The exchange is over: the connection's own rules take it from here. */
    w->deferred = NULL;
    w->deferred_done = false;
    conn_yield(c);
    return true;
}

/* Close the upstream socket; the record lives until the connection is freed
 * (events already fetched for the socket may still come). */
static void conn_tunnel_close_upstream(struct conn_tunnel *t)
{
    if (t->uwatch.fd < 0)
        return;
    close(t->uwatch.fd);
    t->uwatch.fd = -1;
}

void conn_tunnel_free(struct conn *c)
{
    struct conn_tunnel *t = c->tunnel;
    if (!t)
        return;
    conn_tunnel_close_upstream(t);
    free(t->up.buf);
    free(t->down.buf);
    free(t);
    c->tunnel = NULL;
}

bool conn_tunnel_started(const struct conn *c)
{
    return c->tunnel && c->tunnel->started;
}

void conn_tunnel_end(struct conn *c)
{
    if (c->tunnel)
        conn_tunnel_close_upstream(c->tunnel);
}

/* The tunnel is over (both ends passed on, a timeout, a failure): close the
 * upstream, and the client's side through the close path. */
static void conn_tunnel_finish(struct conn *c, enum conn_close_reason why)
{
    conn_tunnel_close_upstream(c->tunnel);
    conn_start_close(c, why);
}

/* One round each way. Returns whether any byte moved; -1: the tunnel ended
 * (c may have closed). */
static int conn_tunnel_round(struct conn *c)
{
    struct conn_tunnel *t = c->tunnel;
    struct conn_tunnel_dir *up = &t->up, *down = &t->down;
    int fd = t->uwatch.fd;
    bool moved = false;

    /* client -> buffer (an emptied buffer starts again from its front) */
    if (up->start == up->len)
        up->start = up->len = 0;
    if (!up->eof && up->len < up->cap && (c->rd_ready || c->tp.read_pending)) {
        ssize_t n = transport_read(&c->tp, up->buf + up->len, up->cap - up->len);
        if (n > 0) {
            up->len += (size_t)n;
            moved = true;
        } else if (n == 0) {
            up->eof = true;
            c->peer_eof = true;
            moved = true;
        } else if (n == -EAGAIN) {
            c->rd_ready = false;
        } else {
            /* The client reset: nothing can reach it any more. */
            conn_tunnel_close_upstream(t);
            conn_peer_gone(c, true);
            return -1;
        }
    }
    /* buffer -> upstream */
    if (up->start < up->len && t->u_wr_ready) {
        ssize_t n;
        do
            n = send(fd, up->buf + up->start, up->len - up->start, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n > 0) {
            up->start += (size_t)n;
            moved = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            t->u_wr_ready = false;
        } else {
            /* The upstream stopped reading (reset, or closed): what it
             * still sends is relayed below; the client's bytes go nowhere. */
            up->start = up->len = 0;
            up->eof = up->shut = true;
        }
    }
    if (up->eof && !up->shut && up->start == up->len) {
        (void)shutdown(fd, SHUT_WR); /* the client's FIN, passed on */
        up->shut = true;
        moved = true;
    }
    if (up->shut && up->start < up->len)
        up->start = up->len = 0; /* read after a failed write: dropped */

    /* upstream -> buffer */
    if (down->start == down->len)
        down->start = down->len = 0;
    if (!down->eof && down->len < down->cap && t->u_rd_ready) {
        ssize_t n;
        do
            n = recv(fd, down->buf + down->len, down->cap - down->len, MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n > 0) {
            down->len += (size_t)n;
            moved = true;
        } else if (n == 0) {
            down->eof = true;
            moved = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            t->u_rd_ready = false;
        } else {
            /* A reset: what came before it is relayed, then the client
             * gets an orderly end, not the reset. */
            conn_log(c, LOG_INFO, "tunnel: upstream reset; ending the client's side");
            down->eof = true;
            up->eof = up->shut = true;
            up->start = up->len = 0;
            moved = true;
        }
    }
    /* buffer -> client */
    if (down->start < down->len) {
        struct iovec iov = { down->buf + down->start, down->len - down->start };
        ssize_t n = transport_write(&c->tp, &iov, 1, false);
        if (n > 0) {
            down->start += (size_t)n;
            moved = true;
        } else if (n != -EAGAIN) {
            conn_tunnel_close_upstream(t);
            conn_peer_gone(c, true);
            return -1;
        }
    }
    if (down->eof && !down->shut && down->start == down->len) {
        int rc = transport_shut_write(&c->tp); /* the upstream's FIN, passed on */
        if (rc == 0) {
            down->shut = true;
            moved = true;
        } else if (rc != -EAGAIN) {
            conn_tunnel_close_upstream(t);
            conn_peer_gone(c, true);
            return -1;
        }
    }
    if (up->shut && down->shut) {
        /* Without the client's FIN (the upstream stopped reading), the
         * client may still be sending: the close path lingers then. */
        conn_tunnel_finish(c, c->peer_eof ? CONN_CLOSE_PEER : CONN_CLOSE_ERROR);
        return -1;
    }
    return moved;
}

uint64_t conn_tunnel_drain_deadline(const struct conn *c)
{
    return c->srv->drain_start_ms + c->srv->cfg->proxy_tunnel_drain_timeout_ms;
}

void conn_on_tunnel(struct conn *c, bool timeout)
{
    struct conn_tunnel *t = c->tunnel;
    if (timeout) {
        if (!conn_deadline_passed(c))
            return;
        if (!t->started) {
            /* The client did not take the 101 within send_timeout. */
            c->close_why = CONN_CLOSE_SEND_TIMEOUT;
            conn_tunnel_close_upstream(t);
            conn_finish(c, STATS_CLOSE_SEND_TIMEOUT);
            return;
        }
        if (c->srv->stopping && conn_now_ms(c) >= conn_tunnel_drain_deadline(c)) {
            /* A drain ends: both sides get a FIN (the client's through the
             * lingering close), so the old worker can exit. */
            conn_log(c, LOG_INFO, "tunnel: still open proxy_tunnel_drain_timeout after the "
                                  "drain began; closed");
            conn_tunnel_finish(c, CONN_CLOSE_SHUTDOWN);
            return;
        }
        conn_log(c, LOG_INFO, "tunnel: nothing either way for proxy_tunnel_timeout; closed");
        conn_tunnel_finish(c, CONN_CLOSE_TUNNEL_TIMEOUT);
        return;
    }
    if (!t->started) {
        /* The 101 head first, then bytes of the new protocol. */
        int rc = conn_flush(c);
        if (rc == -EAGAIN)
            return;
        if (rc < 0) {
            conn_tunnel_close_upstream(t);
            conn_peer_gone(c, true);
            return;
        }
        t->started = true;
        conn_arm_deadline(c); /* now proxy_tunnel_timeout */
    }
    for (int i = 0; i < TUNNEL_ROUNDS_PER_WAKE; i++) {
        int moved = conn_tunnel_round(c);
        if (moved < 0)
            return;
        if (!moved)
            return;
        c->progress_ms = conn_now_ms(c);
        conn_arm_deadline(c);
    }
    conn_yield(c); /* more may wait that no new edge will announce */
}
