/* upstream — the upstream connection's state machine and the idle pool; the
 * states and transitions are in upstream.h.
 *
 * Input and output are edge-triggered (EPOLLET, registered once, like client
 * connections): rd_ready and wr_ready remember an edge until a call meets
 * EAGAIN, so a state entered later never waits for an edge that came before.
 *
 * Not here: reading the response (upstream_read.c), the request head and
 * what happens to the response (proxy.c), the head's syntax
 * (proxy_response.c).
 *
 * Memory: a connection has two buffers of proxy_buffer_bytes, allocated when
 * it is made and freed when it closes; a pooled connection keeps them (a
 * pool is at most proxy_keepalive_conns per upstream and worker). Closed
 * connections are freed after the loop iteration, since events already
 * fetched for their fd may still be delivered. A worker has one server, so
 * the closed list is this file's.
 */
#include "upstream.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "server.h"
#include "upstream_internal.h"

static struct upstream *upstream_closed_list;

static const char *const upstream_error_names[] = {
    [UPSTREAM_ERR_CONNECT] = "connect",   [UPSTREAM_ERR_RESET] = "reset",
    [UPSTREAM_ERR_BAD_HEAD] = "bad-head", [UPSTREAM_ERR_BAD_BODY] = "bad-body",
    [UPSTREAM_ERR_TIMEOUT] = "timeout",
};
_Static_assert(sizeof upstream_error_names / sizeof upstream_error_names[0] ==
                   UPSTREAM_ERR_COUNT,
               "an error without a name");

const char *upstream_error_name(enum upstream_error e)
{
    return e < UPSTREAM_ERR_COUNT ? upstream_error_names[e] : "?";
}

uint64_t upstream_now(const struct upstream *u)
{
    return loop_now_ms(u->srv->loop);
}

/* ---- deadlines ---- */

static uint64_t upstream_deadline(const struct upstream *u)
{
    const struct config *cfg = u->srv->cfg;
    switch (u->state) {
    case UPSTREAM_CONNECT:
        return u->since_ms + cfg->proxy_connect_timeout_ms;
    case UPSTREAM_SEND:
        return u->progress_ms + cfg->proxy_send_timeout_ms;
    case UPSTREAM_READ_HEAD:
    case UPSTREAM_READ_BODY:
        return u->progress_ms + cfg->proxy_read_timeout_ms;
    case UPSTREAM_IDLE:
        return u->since_ms + cfg->proxy_keepalive_timeout_ms;
    case UPSTREAM_CLOSED:
    case UPSTREAM_STATE_COUNT:
        break;
    }
    return UINT64_MAX;
}

void upstream_set_state(struct upstream *u, enum upstream_state to)
{
    u->state = to;
    u->since_ms = u->progress_ms = upstream_now(u);
    if (to == UPSTREAM_CLOSED) {
        loop_disarm(u->srv->loop, &u->timer);
        return;
    }
    /* A timer armed no later than the new deadline stays: when it fires,
     * upstream_on_timer arms the real deadline. A request moves through
     * four states, and each move would otherwise cost a heap update. */
    uint64_t deadline = u->run_soon ? u->since_ms : upstream_deadline(u);
    if (!timer_is_armed(&u->timer.node) || u->timer.node.deadline_ms > deadline)
        loop_arm(u->srv->loop, &u->timer, deadline);
}

/* ---- closing ---- */

static void upstream_pool_unlink(struct upstream *u)
{
    struct upstream_peer *peer = u->peer;
    for (struct upstream **p = &peer->idle; *p; p = &(*p)->next)
        if (*p == u) {
            *p = u->next;
            peer->idle_count--;
            stats_sub(&peer->st->idle_conns, 1);
            break;
        }
    u->next = NULL;
}

/* Closed, or its socket handed over (keep_fd): freed after this iteration. */
static void upstream_release(struct upstream *u, bool keep_fd)
{
    if (u->state == UPSTREAM_CLOSED)
        return;
    if (u->state == UPSTREAM_IDLE)
        upstream_pool_unlink(u);
    /* close() takes the fd out of the epoll set; a socket kept open must
     * be taken out by hand. */
    if (keep_fd)
        loop_unwatch(u->srv->loop, &u->watch);
    else
        close(u->watch.fd);
    u->watch.fd = -1;
    upstream_set_state(u, UPSTREAM_CLOSED);
    u->ops = NULL;
    u->next = upstream_closed_list;
    upstream_closed_list = u;
    u->srv->upstream_count--;
}

static void upstream_close(struct upstream *u)
{
    upstream_release(u, false);
}

void upstream_want_upgrade(struct upstream *u)
{
    u->upgrade = true;
}

int upstream_detach(struct upstream *u, const char **pending, size_t *pending_len)
{
    int fd = u->watch.fd;
    *pending = u->in + u->in_start; /* valid until the iteration ends */
    *pending_len = u->in_len - u->in_start;
    upstream_release(u, true);
    return fd;
}

void upstream_free_closed(struct server *srv)
{
    (void)srv;
    while (upstream_closed_list) {
        struct upstream *u = upstream_closed_list;
        upstream_closed_list = u->next;
        free(u->out);
        free(u->in);
        free(u->fields);
        free(u);
    }
}

void upstream_peer_close_idle(struct upstream_peer *peer)
{
    while (peer->idle)
        upstream_close(peer->idle);
}

void upstream_abort(struct upstream *u)
{
    upstream_close(u);
}

/* The exchange failed: tell its user, who no longer owns u. */
void upstream_fail(struct upstream *u, enum upstream_error err, const char *reason)
{
    const struct upstream_ops *ops = u->ops;
    void *ctx = u->ctx;
    bool retry_safe = u->reused && !u->got_bytes && err != UPSTREAM_ERR_TIMEOUT;
    upstream_close(u);
    ops->on_error(ctx, err, reason, retry_safe);
}

/* The response is complete: back to the pool if the connection may carry
 * another exchange, else closed. */
void upstream_finish(struct upstream *u)
{
    const struct config *cfg = u->srv->cfg;
    const struct upstream_ops *ops = u->ops;
    void *ctx = u->ctx;
    bool keep = !u->resp.conn_close && !u->send_failed && u->send_ended &&
                upstream_all_sent(u) && u->in_start == u->in_len && !u->rd_eof &&
                u->peer->idle_count < cfg->proxy_keepalive_conns &&
                cfg->proxy_keepalive_timeout_ms > 0 && !u->srv->stopping;
    if (keep) {
        u->ops = NULL;
        u->ctx = NULL;
        u->out_len = u->out_sent = 0;
        u->in_start = u->in_len = 0;
        u->next = u->peer->idle;
        u->peer->idle = u;
        u->peer->idle_count++;
        stats_add(&u->peer->st->idle_conns, 1);
        upstream_set_state(u, UPSTREAM_IDLE);
    } else {
        upstream_close(u);
    }
    ops->on_end(ctx);
}

/* ---- sending ---- */

static void upstream_run(struct upstream *u);

/* Sending ends (all sent, or a write failed); what was not sent stays in
 * the buffer for a retry elsewhere, never to be sent here. */
void upstream_enter_read_head(struct upstream *u)
{
    upstream_set_state(u, UPSTREAM_READ_HEAD);
}

/* Bytes per sendfile call of a buffered request body. */
#define UPSTREAM_SENDFILE_CHUNK (1u << 20)

/* Send the body file after the buffer (the head). 1: progress, 0: wait,
 * -1: the write failed (the upstream stopped reading). */
static int upstream_send_file_part(struct upstream *u)
{
    uint64_t left = u->file_len - u->file_off;
    off_t off = (off_t)u->file_off;
    ssize_t n = sendfile(u->watch.fd, u->file_fd, &off,
                         left < UPSTREAM_SENDFILE_CHUNK ? (size_t)left : UPSTREAM_SENDFILE_CHUNK);
    if (n > 0) {
        u->file_off += (uint64_t)n;
        u->progress_ms = upstream_now(u);
        return 1;
    }
    if (n < 0 && errno == EINTR)
        return 1;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        u->wr_ready = false;
        return 0;
    }
    return -1; /* 0: the file is shorter than it was; else EPIPE, ECONNRESET */
}

/* Send what is queued. false: u failed or moved on (the caller stops). */
static bool upstream_flush(struct upstream *u)
{
    while (u->out_sent == u->out_len && u->file_off < u->file_len && u->wr_ready) {
        if (upstream_send_file_part(u) < 0) {
            u->send_failed = true;
            upstream_enter_read_head(u);
            return true;
        }
    }
    while (u->out_sent < u->out_len && u->wr_ready) {
        ssize_t n = send(u->watch.fd, u->out + u->out_sent, u->out_len - u->out_sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            u->out_sent += (size_t)n;
            u->progress_ms = upstream_now(u);
            if (u->out_sent == u->out_len && u->file_off < u->file_len)
                return upstream_flush(u); /* the head is out: the file body */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            u->wr_ready = false;
            break;
        }
        /* EPIPE, ECONNRESET: the upstream stopped reading. Its answer, if
         * it sent one, is still to be read. */
        u->send_failed = true;
        upstream_enter_read_head(u);
        return true;
    }
    if (upstream_all_sent(u) && u->send_ended) {
        upstream_enter_read_head(u);
        return true;
    }
    if (!upstream_all_sent(u) && !u->run_soon)
        loop_arm(u->srv->loop, &u->timer, upstream_deadline(u));
    return true;
}

size_t upstream_send_room(struct upstream *u)
{
    if (u->state != UPSTREAM_SEND && u->state != UPSTREAM_CONNECT)
        return 0;
    if (u->out_len == u->cap && u->out_sent > 0 && u->out_sent == u->out_len) {
        u->out_len = u->out_sent = 0;
        u->send_compacted = true;
    }
    if (u->cap - u->out_len < u->cap / 4 && u->out_sent > 0) {
        /* Keep the unsent bytes; the sent ones are gone, and with them the
         * chance to send the request again elsewhere. */
        memmove(u->out, u->out + u->out_sent, u->out_len - u->out_sent);
        u->out_len -= u->out_sent;
        u->out_sent = 0;
        u->send_compacted = true;
    }
    return u->cap - u->out_len;
}

char *upstream_send_space(struct upstream *u, size_t *room)
{
    *room = upstream_send_room(u);
    return u->out + u->out_len;
}

void upstream_send_commit(struct upstream *u, size_t len)
{
    if (u->out_sent == u->out_len)
        u->progress_ms = upstream_now(u); /* bytes start to wait now */
    u->out_len += len;
}

bool upstream_send(struct upstream *u, const void *data, size_t len)
{
    if (u->state != UPSTREAM_SEND && u->state != UPSTREAM_CONNECT)
        return true; /* sending stopped (an early answer): the rest is dropped */
    if (len > upstream_send_room(u))
        return false;
    memcpy(u->out + u->out_len, data, len);
    u->out_len += len;
    if (u->state == UPSTREAM_SEND && u->out_sent == 0 && u->out_len == len)
        u->progress_ms = upstream_now(u); /* bytes start to wait now */
    if (u->state == UPSTREAM_SEND)
        upstream_flush(u);
    return true;
}

/* Run the state after this iteration's dispatch (its timer fires now), so
 * that no callback reaches the user inside the user's own call. */
void upstream_run_soon(struct upstream *u)
{
    if (u->state == UPSTREAM_CLOSED)
        return;
    u->run_soon = true;
    loop_arm(u->srv->loop, &u->timer, upstream_now(u));
}

void upstream_send_end(struct upstream *u)
{
    u->send_ended = true;
    if (u->state == UPSTREAM_SEND)
        upstream_flush(u);
    upstream_run_soon(u);
}

void upstream_send_file(struct upstream *u, int fd, uint64_t len)
{
    u->file_fd = fd;
    u->file_off = 0;
    u->file_len = len;
}

bool upstream_is_replayable(const struct upstream *u)
{
    return !u->send_compacted;
}

bool upstream_replay_into(const struct upstream *from, struct upstream *to)
{
    if (from->send_compacted || from->out_len > to->cap - to->out_len)
        return false;
    memcpy(to->out + to->out_len, from->out, from->out_len);
    to->out_len += from->out_len;
    /* A buffered body is sent again from its file's start. */
    to->file_fd = from->file_fd;
    to->file_off = 0;
    to->file_len = from->file_len;
    return true;
}

bool upstream_request_sent(const struct upstream *u)
{
    return u->send_ended && upstream_all_sent(u) && !u->send_failed;
}

void upstream_kick(struct upstream *u)
{
    upstream_run(u);
}

void upstream_resume(struct upstream *u)
{
    if (u->state != UPSTREAM_READ_BODY || !u->paused)
        return;
    u->paused = false;
    u->progress_ms = upstream_now(u);
    upstream_run_soon(u);
}

/* ---- the state machine ---- */

/* An idle connection is usable while nothing waits in it: no byte, no FIN,
 * no reset (a peek, nothing consumed). */
static bool upstream_is_open(struct upstream *u)
{
    char b;
    ssize_t n = recv(u->watch.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void upstream_on_connected(struct upstream *u)
{
    int err = u->connect_err;
    socklen_t len = sizeof err;
    if (!err && getsockopt(u->watch.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        upstream_fail(u, UPSTREAM_ERR_CONNECT, "connect to upstream failed");
        return;
    }
    upstream_set_state(u, UPSTREAM_SEND);
    u->ops->on_send_room(u->ctx);
}

static void upstream_run(struct upstream *u)
{
    switch (u->state) {
    case UPSTREAM_CONNECT:
        if (!u->wr_ready && !u->rd_eof)
            return;
        upstream_on_connected(u);
        if (u->state != UPSTREAM_SEND)
            return;
        __attribute__((fallthrough));
    case UPSTREAM_SEND: {
        size_t before = u->cap - u->out_len + u->out_sent;
        /* Read first: an answer that came before the request was sent
         * stops the sending. */
        for (int i = 0; i < UPSTREAM_READS_PER_WAKE && u->state == UPSTREAM_SEND && u->rd_ready;
             i++) {
            ssize_t n = upstream_fill(u);
            if (n > 0) {
                if (!upstream_parse_head(u))
                    return;
                continue;
            }
            if (n == -EAGAIN)
                break;
            /* Closed, reset or a head too large while we send: nothing more
             * is sent; READ_HEAD reads what is left and decides. */
            u->send_failed = true;
            upstream_enter_read_head(u);
        }
        if (u->state != UPSTREAM_SEND) {
            upstream_read(u);
            return;
        }
        if (!upstream_flush(u))
            return;
        if (u->state == UPSTREAM_READ_HEAD) {
            upstream_read(u);
            return;
        }
        if (u->state == UPSTREAM_SEND && u->cap - u->out_len + u->out_sent > before)
            u->ops->on_send_room(u->ctx);
        return;
    }
    case UPSTREAM_READ_HEAD:
    case UPSTREAM_READ_BODY:
        upstream_read(u);
        return;
    case UPSTREAM_IDLE:
        /* Bytes or a close on an idle connection: it is no longer usable.
         * An edge may also be a late one for bytes already read. */
        if (u->rd_ready && !upstream_is_open(u))
            upstream_close(u);
        u->rd_ready = false;
        return;
    case UPSTREAM_CLOSED:
    case UPSTREAM_STATE_COUNT:
        return;
    }
}

static void upstream_on_io(struct loop_watch *w, uint32_t events)
{
    struct upstream *u = (struct upstream *)((char *)w - offsetof(struct upstream, watch));
    if (u->state == UPSTREAM_CLOSED)
        return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        u->rd_ready = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        u->rd_hup = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        u->wr_ready = true;
    upstream_run(u);
}

static void upstream_on_timer(struct loop_timer *t)
{
    struct upstream *u = (struct upstream *)((char *)t - offsetof(struct upstream, timer));
    uint64_t now = upstream_now(u);
    if (u->state == UPSTREAM_CLOSED)
        return;
    if (u->run_soon) {
        u->run_soon = false;
        loop_arm(u->srv->loop, &u->timer, upstream_deadline(u));
        upstream_run(u);
        return;
    }
    if (now < upstream_deadline(u)) {
        loop_arm(u->srv->loop, &u->timer, upstream_deadline(u));
        return;
    }
    switch (u->state) {
    case UPSTREAM_IDLE:
        upstream_close(u);
        return;
    case UPSTREAM_SEND:
        if (upstream_all_sent(u)) {
            /* Waiting for the client's body, not for the upstream: the
             * client's body_timeout bounds this. */
            u->progress_ms = now;
            loop_arm(u->srv->loop, &u->timer, upstream_deadline(u));
            return;
        }
        upstream_fail(u, UPSTREAM_ERR_TIMEOUT, "proxy_send_timeout");
        return;
    case UPSTREAM_READ_BODY:
        if (u->paused) {
            /* Waiting for the client to take what we have: its
             * send_timeout bounds this. */
            u->progress_ms = now;
            loop_arm(u->srv->loop, &u->timer, upstream_deadline(u));
            return;
        }
        upstream_fail(u, UPSTREAM_ERR_TIMEOUT, "proxy_read_timeout");
        return;
    case UPSTREAM_CONNECT:
        upstream_fail(u, UPSTREAM_ERR_TIMEOUT, "proxy_connect_timeout");
        return;
    case UPSTREAM_READ_HEAD:
        upstream_fail(u, UPSTREAM_ERR_TIMEOUT, "proxy_read_timeout");
        return;
    case UPSTREAM_CLOSED:
    case UPSTREAM_STATE_COUNT:
        return;
    }
}

/* ---- opening ---- */

/* An idle pooled connection, most recent first, or NULL. check: only one
 * still open (a peek finds no FIN, no bytes): one recv per reuse narrows the
 * keep-alive race, for a request the retry rule would not send again.
 * Without it a connection closed by its upstream is still never reused once
 * its FIN was seen (the IDLE state closes it on that edge). */
static struct upstream *upstream_take_idle(struct upstream_peer *peer, bool check)
{
    while (peer->idle) {
        struct upstream *u = peer->idle;
        if (!check || upstream_is_open(u)) {
            upstream_pool_unlink(u);
            return u;
        }
        upstream_close(u);
    }
    return NULL;
}

static void upstream_start(struct upstream *u, const struct upstream_ops *ops, void *ctx,
                           bool head_request)
{
    const struct config *cfg = u->srv->cfg;
    u->ops = ops;
    u->ctx = ctx;
    u->head_request = head_request;
    u->upgrade = false;
    u->send_ended = u->send_failed = u->send_compacted = u->paused = false;
    u->got_bytes = false;
    u->out_len = u->out_sent = 0;
    u->file_fd = -1;
    u->file_off = u->file_len = 0;
    u->in_start = u->in_len = 0;
    proxy_response_init(&u->parser, cfg->proxy_header_max_bytes, u->fields,
                        cfg->header_fields_max, head_request);
}

struct upstream *upstream_open(struct server *srv, struct upstream_peer *peer,
                               const struct upstream_ops *ops, void *ctx, bool head_request,
                               enum upstream_reuse how)
{
    const struct config *cfg = srv->cfg;
    struct upstream *u =
        how == UPSTREAM_FRESH ? NULL : upstream_take_idle(peer, how == UPSTREAM_REUSE);
    if (u) {
        u->reused = true;
        upstream_start(u, ops, ctx, head_request);
        upstream_set_state(u, UPSTREAM_SEND);
        return u;
    }
    /* One more armed timer: room for it and for every other one (client
     * connections reserve for ours too, see conn_open). */
    if (server_reserve_timers(srv, 1) < 0) {
        errno = ENOMEM;
        return NULL;
    }
    u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    size_t cap = cfg->proxy_buffer_bytes;
    if (cap < cfg->proxy_header_max_bytes)
        cap = cfg->proxy_header_max_bytes;
    u->out = malloc(cap);
    u->in = malloc(cap);
    u->fields = calloc(cfg->header_fields_max, sizeof *u->fields);
    int fd = -1;
    if (!u->out || !u->in || !u->fields)
        goto out_free;
    fd = socket(peer->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && server_retry_open(srv, -errno))
        fd = socket(peer->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto out_free;
    if (peer->addr.ss_family != AF_UNIX) {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    u->cap = cap;
    u->srv = srv;
    u->peer = peer;
    u->watch.fd = fd;
    u->watch.on_io = upstream_on_io;
    loop_timer_init(&u->timer, upstream_on_timer);
    upstream_start(u, ops, ctx, head_request);
    int rc = loop_watch(srv->loop, &u->watch, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
    if (rc < 0) {
        errno = -rc;
        goto out_free;
    }
    srv->upstream_count++;
    if (connect(fd, (const struct sockaddr *)&peer->addr, peer->addr_len) == 0) {
        /* Done at once (unix sockets, loopback): the EPOLLOUT edge is queued. */
        u->wr_ready = true;
        upstream_set_state(u, UPSTREAM_CONNECT);
        return u;
    }
    if (errno != EINPROGRESS && errno != EAGAIN) {
        /* Refused at once: fail in upstream_kick, as after an event, so the
         * user sees one path. */
        u->connect_err = errno;
        u->wr_ready = true;
    }
    upstream_set_state(u, UPSTREAM_CONNECT);
    return u;

out_free:
    if (fd >= 0)
        close(fd);
    free(u->out);
    free(u->in);
    free(u->fields);
    free(u);
    if (errno == 0)
        errno = ENOMEM;
    return NULL;
}
