/* conn — the connection lifecycle state machine.
 *
 * A connection is in exactly one state; each state arms exactly one deadline.
 *
 *   state       waits for                      deadline            on expiry
 *   READ_HEAD   a whole request head           header_timeout      408 (if any byte
 *                                              (total, per head)    came), then close
 *   READ_BODY   body bytes for a sink/discard  body_timeout         408 or close
 *                                              (since last read)
 *   RESPOND     the socket to take the output  send_timeout         close at once
 *                                              (since last write)
 *   IDLE        the next request               keepalive_timeout    close (lingers
 *                                                                   idle_close_linger)
 *   LINGER      flush, then the client's FIN   send_timeout, then   outcome counted,
 *               while discarding its bytes     min(lingering_timeout close()
 *                                              since last read,
 *                                              lingering_time total)
 *   CLOSED      nothing: freed after this loop iteration
 *
 * Transitions (conn_may_move checks them):
 *   accept    -> READ_HEAD
 *   READ_HEAD -> READ_BODY | RESPOND | IDLE | LINGER | CLOSED   (and READ_HEAD for
 *                                                                the next pipelined request)
 *   READ_BODY -> READ_HEAD | RESPOND | IDLE | LINGER | CLOSED
 *   RESPOND   -> READ_HEAD | IDLE | LINGER | CLOSED
 *   IDLE      -> READ_HEAD | LINGER | CLOSED
 *   LINGER    -> CLOSED
 *
 * The close path: every close the client did not start goes through LINGER
 * (conn_start_close): stop parsing, flush every queued response byte (bounded
 * by send_timeout), shutdown(SHUT_WR), set TCP_LINGER2 so an orphaned socket
 * cannot sit in FIN_WAIT_2 past fin_wait2_timeout, then read and discard
 * (recv MSG_TRUNC: nothing is copied) until the client's FIN, the per-read
 * timeout, the total time or the byte cap; then close(). With lingering_close
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
 */
#include "conn.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accesslog.h"
#include "outq.h"
#include "request.h"
#include "server.h"
#include "stats.h"

/* Bytes read per recv when discarding a body or lingering; nothing is copied. */
#define CONN_DISCARD_CHUNK (1u << 20)
/* Pipelined requests answered per wake-up before yielding to other clients. */
#define CONN_REQUESTS_PER_WAKE 64
/* The standard read buffer: most request heads fit; bigger ones get a
 * buffer of their own up to header_max_bytes. */
#define CONN_READ_BUFFER_BYTES 8192
/* Read at least this much per recv when there is a choice (compact or grow
 * the buffer first); a body is read into buffers up to the second size. */
#define CONN_READ_MIN_BYTES 2048
#define CONN_BODY_BUFFER_BYTES (64 * 1024)
/* Timers armed besides one per connection (accept retry, grace): room is
 * reserved for them too, so arming one can never find the heap full. */
#define CONN_FIXED_TIMERS 8
/* Output memory kept with a pooled work area (a typical response head and
 * small body); larger areas are freed when the connection goes idle. */
#define CONN_OUT_KEEP_BYTES (16 * 1024)
/* Reads per wake-up in one state before yielding (fairness). */
#define CONN_READS_PER_WAKE 16
/* Room a response needs in the output queue: head, body and file span. */
#define CONN_SEGS_PER_RESPONSE 3

struct conn_work {
    struct conn_work *next_free;
    /* input: unconsumed bytes are in[in_start .. in_len) */
    char *in;
    uint32_t in_cap;
    uint32_t in_start;
    uint32_t in_len;
    bool in_is_large; /* in was malloc'ed past the standard size */
    uint32_t head_start;
    uint32_t head_end;  /* in[head_start .. head_end) is the current head */
    struct http1_parser parser;
    struct http1_request req;
    /* the request being answered */
    bool in_request;
    /* for the access log line of the response being answered */
    bool log_pending;       /* a response began and its line is not written */
    bool log_has_head;      /* req holds a parsed head (not a 400 or 408) */
    int log_status;
    uint32_t log_head_bytes; /* the request head's length */
    uint64_t log_start_ms;  /* the head's first byte, about */
    size_t log_mark;        /* out.pending when the response head began */
    uint64_t log_bytes;     /* response head and body queued */
    uint64_t log_body_bytes;
    bool head_only;
    bool responded;
    bool discard_after; /* the body is to be read and thrown away */
    enum config_linger lingering_close;
    uint64_t body_left;
    uint64_t body_bytes;
    uint64_t body_max;
    enum http1_framing body_framing;
    bool body_done;
    struct http1_chunked chunked;
    const struct conn_body_sink *sink;
    void *sink_ctx;
    struct outq out;
    struct http1_header fields[]; /* header_fields_max entries */
};

struct conn {
    struct loop_watch watch;
    struct loop_timer timer;
    struct server *srv;
    struct conn_work *w;      /* NULL while IDLE, LINGER, CLOSED */
    uint64_t id;
    uint64_t since_ms;        /* entry into the current state */
    uint64_t progress_ms;     /* last read or write that moved bytes */
    uint64_t linger_bytes;
    uint64_t linger_total_ms; /* lingering_time, or idle_close_linger */
    struct conn *prev;        /* linger list, or the closed list (next only) */
    struct conn *next;
    struct conn *all_prev;    /* every open connection of the server */
    struct conn *all_next;    /* kept when unlinked, so a walk survives closes */
    struct conn *ready_next;  /* the server's list of connections to resume */
    bool ready;               /* on that list */
    uint32_t requests;
    uint8_t state;            /* enum conn_state */
    uint8_t close_why;        /* enum conn_close_reason */
    bool keep_alive;          /* the current response keeps the connection */
    bool peer_eof;            /* the client's FIN was read */
    bool half_closed;         /* our FIN was sent (LINGER's drain phase) */
    bool ever_read;           /* any byte of the current head arrived */
    bool rd_ready;            /* the socket may hold unread bytes (see conn_fill) */
    bool rd_hup;              /* the client's FIN (or an error) is queued */
    uint8_t linger_mode;      /* enum config_linger for this close */
    uint16_t peer_port;
    uint8_t peer_family;
    uint8_t peer_addr[16];
};

static const char *const conn_state_names[] = {
    [CONN_READ_HEAD] = "READ_HEAD", [CONN_READ_BODY] = "READ_BODY",
    [CONN_RESPOND] = "RESPOND",     [CONN_IDLE] = "IDLE",
    [CONN_LINGER] = "LINGER",       [CONN_CLOSED] = "CLOSED",
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
    [CONN_RESPOND] = STATS_RESPOND,     [CONN_IDLE] = STATS_IDLE,
    [CONN_LINGER] = STATS_LINGER,       [CONN_CLOSED] = STATS_STATE_COUNT,
};

static bool conn_may_move(enum conn_state from, enum conn_state to)
{
    if (to == CONN_CLOSED)
        return from != CONN_CLOSED;
    switch ((enum conn_state)from) {
    case CONN_READ_HEAD:
        return to != CONN_CLOSED;
    case CONN_READ_BODY:
        return to != CONN_READ_BODY;
    case CONN_RESPOND:
        return to == CONN_READ_HEAD || to == CONN_IDLE || to == CONN_LINGER;
    case CONN_IDLE:
        return to == CONN_READ_HEAD || to == CONN_LINGER;
    case CONN_LINGER:
    case CONN_CLOSED:
    case CONN_STATE_COUNT:
        return false;
    }
    return false;
}

static const struct config *conn_cfg(const struct conn *c)
{
    return c->srv->cfg;
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

int conn_peer_addr(const struct conn *c, uint8_t addr[16])
{
    memcpy(addr, c->peer_addr, 16);
    return c->peer_family == 6 ? 6 : 4;
}

/* The access-log line of the response just completed (queued, with its
 * body read or given up). No syscall: the line is buffered and the clocks
 * are the loop's. */
static void conn_log_access(struct conn *c)
{
    struct conn_work *w = c->w;
    if (!w || !w->log_pending)
        return;
    w->log_pending = false;
    bool has_head = w->log_has_head;
    w->log_has_head = false;
    if (!accesslog_enabled())
        return;
    uint64_t now = conn_now_ms(c);
    struct accesslog_entry e = {
        .buf = w->in + w->head_start,
        .req = has_head ? &w->req : NULL,
        .peer_family = c->peer_family,
        .peer_port = c->peer_port,
        .conn_id = c->id,
        .conn_requests = c->requests,
        .status = w->log_status,
        .bytes_sent = w->log_bytes,
        .body_bytes_sent = w->log_body_bytes,
        .request_length = w->log_head_bytes + w->body_bytes,
        .duration_ms = now > w->log_start_ms ? now - w->log_start_ms : 0,
        .wall_s = loop_wall_s(c->srv->loop),
        .close_reason =
            c->keep_alive ? NULL : conn_close_reason_name((enum conn_close_reason)c->close_why),
    };
    memcpy(e.peer_addr, c->peer_addr, sizeof e.peer_addr);
    accesslog_write(&e);
}

const char *conn_peer_text(const struct conn *c)
{
    static char text[INET6_ADDRSTRLEN + 8];
    char addr[INET6_ADDRSTRLEN];
    int family = c->peer_family == 6 ? AF_INET6 : AF_INET;
    if (!inet_ntop(family, c->peer_addr, addr, sizeof addr))
        return "?";
    snprintf(text, sizeof text, family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, c->peer_port);
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
    log_write(level, "conn=%llu fd=%d peer=%s state=%s %s", (unsigned long long)c->id,
              c->watch.fd, conn_peer_text(c), conn_state_name((enum conn_state)c->state), msg);
}

/* Stop for now with work left (fairness bound reached, or bytes buffered
 * that no new edge will announce): the server resumes us after this
 * iteration, before it sleeps again. */
static void conn_yield(struct conn *c)
{
    if (c->ready || c->state == CONN_CLOSED)
        return;
    struct server *srv = c->srv;
    c->ready = true;
    c->ready_next = srv->ready_first;
    srv->ready_first = c;
}

static void conn_unready(struct conn *c)
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
    case CONN_READ_HEAD:
        return c->since_ms + cfg->header_timeout_ms;
    case CONN_READ_BODY: {
        uint64_t quiet = c->progress_ms + cfg->body_timeout_ms;
        if (cfg->body_min_rate == 0 || !c->w)
            return quiet;
        /* A trickle that beats body_timeout still has to keep an average
         * rate: one body_timeout of grace, plus a second per body_min_rate
         * bytes received. */
        uint64_t earned = c->w->body_bytes * 1000 / cfg->body_min_rate;
        uint64_t slow = c->since_ms + cfg->body_timeout_ms + earned;
        return slow < quiet ? slow : quiet;
    }
    case CONN_RESPOND:
        return c->progress_ms + cfg->send_timeout_ms;
    case CONN_IDLE: {
        uint64_t own = c->since_ms + cfg->keepalive_timeout_ms;
        if (!c->srv->stopping)
            return own;
        uint64_t cap = conn_drain_idle_cap(c);
        return cap < own ? cap : own;
    }
    case CONN_LINGER: {
        if (!c->half_closed)
            return c->progress_ms + cfg->send_timeout_ms;
        uint64_t quiet = c->progress_ms + cfg->lingering_timeout_ms;
        uint64_t total = c->since_ms + c->linger_total_ms;
        return quiet < total ? quiet : total;
    }
    case CONN_CLOSED:
    case CONN_STATE_COUNT:
        break;
    }
    return UINT64_MAX;
}

/* Arm the state's deadline. Progress inside a state (a read, a write) only
 * moves progress_ms; the timer fires at the old deadline and is re-armed for
 * the rest (conn_deadline_passed), which saves a heap update per read. */
static void conn_arm_deadline(struct conn *c)
{
    loop_arm(c->srv->loop, &c->timer, conn_deadline(c));
}

static bool conn_deadline_passed(struct conn *c)
{
    if (conn_now_ms(c) >= conn_deadline(c))
        return true;
    conn_arm_deadline(c);
    return false;
}

static void conn_set_state(struct conn *c, enum conn_state to)
{
    assert(conn_may_move((enum conn_state)c->state, to));
    struct stats *st = c->srv->stats;
    stats_sub(&st->conns[conn_stats_state[c->state]], 1);
    if (to != CONN_CLOSED)
        stats_add(&st->conns[conn_stats_state[to]], 1);
    c->state = (uint8_t)to;
    c->since_ms = conn_now_ms(c);
    c->progress_ms = c->since_ms;
    if (to == CONN_CLOSED)
        loop_disarm(c->srv->loop, &c->timer);
    else
        conn_arm_deadline(c);
}

/* ---- work area: buffers held only while a request is in progress ---- */

static size_t conn_work_size(const struct server *srv)
{
    return sizeof(struct conn_work) +
           srv->cfg->header_fields_max * sizeof(struct http1_header);
}

size_t conn_work_block_size(const struct config *cfg)
{
    return sizeof(struct conn_work) + cfg->header_fields_max * sizeof(struct http1_header) +
           CONN_READ_BUFFER_BYTES;
}

static bool conn_take_work(struct conn *c)
{
    if (c->w)
        return true;
    struct server *srv = c->srv;
    struct conn_work *w = server_buf_get(srv);
    if (!w)
        return false;
    w->next_free = NULL;
    w->in = (char *)w + conn_work_size(srv);
    w->in_cap = srv->buf_size - (uint32_t)conn_work_size(srv);
    w->in_start = 0;
    w->in_len = 0;
    w->in_is_large = false;
    w->in_request = false;
    w->log_pending = false;
    w->log_has_head = false;
    w->body_done = true;
    w->head_only = false;
    w->responded = false;
    w->discard_after = false;
    w->lingering_close = srv->cfg->lingering_close;
    w->sink = NULL;
    /* w->out is empty here: fresh blocks are zeroed, pooled ones were
     * cleared (their memory kept for the next response). */
    http1_parser_init(&w->parser, &srv->limits, w->fields, srv->cfg->header_fields_max);
    c->w = w;
    return true;
}

static void conn_abort_sink(struct conn *c)
{
    struct conn_work *w = c->w;
    if (w && w->sink) {
        const struct conn_body_sink *sink = w->sink;
        w->sink = NULL;
        if (sink->on_abort)
            sink->on_abort(c, w->sink_ctx);
    }
}

static void conn_drop_work(struct conn *c)
{
    struct conn_work *w = c->w;
    if (!w)
        return;
    conn_log_access(c); /* a response the connection ended with, not yet logged */
    conn_abort_sink(c);
    if (w->in_is_large)
        free(w->in);
    c->w = NULL;
    /* Keep a standard-size output area with the block; a grown one, or a
     * block the pool will not keep, gives its memory back. */
    if (w->out.mem_cap > CONN_OUT_KEEP_BYTES)
        outq_fini(&w->out);
    else
        outq_clear(&w->out);
    if (!server_buf_put(c->srv, w)) {
        outq_fini(&w->out);
        free(w);
    }
}

void conn_work_pool_fini(struct server *srv)
{
    for (uint32_t i = 0; i < srv->buf_free_count; i++) {
        struct conn_work *w = srv->buf_free[i];
        outq_fini(&w->out);
        free(w);
    }
    srv->buf_free_count = 0;
}

/* Make room to read: compact consumed bytes away, grow past the standard
 * size only as far as a request head may reach (header_max_bytes). */
static bool conn_make_room(struct conn *c)
{
    struct conn_work *w = c->w;
    uint32_t room = w->in_cap - w->in_len;
    if (room >= CONN_READ_MIN_BYTES || (room > 0 && !w->in_request && w->in_start == 0))
        return true;
    /* Compact: keep the unconsumed bytes and, while a request is answered,
     * its head (handlers and the access log read its slices, which are
     * relative to head_start, until the response is done). */
    if (w->in_request) {
        uint32_t head_len = w->head_end - w->head_start;
        uint32_t rest = w->in_len - w->in_start;
        memmove(w->in, w->in + w->head_start, head_len);
        memmove(w->in + head_len, w->in + w->in_start, rest);
        w->head_start = 0;
        w->head_end = head_len;
        w->in_start = head_len;
        w->in_len = head_len + rest;
    } else if (w->in_start > 0) {
        memmove(w->in, w->in + w->in_start, w->in_len - w->in_start);
        w->in_len -= w->in_start;
        w->in_start = 0;
    }
    room = w->in_cap - w->in_len;
    if (room >= CONN_READ_MIN_BYTES)
        return true;
    /* Grow: a head may reach header_max_bytes; a body is read in buffers
     * up to CONN_BODY_BUFFER_BYTES, so uploads move in large reads. */
    uint32_t limit = conn_cfg(c)->header_max_bytes + 1;
    if (w->in_request)
        limit = w->head_end + CONN_BODY_BUFFER_BYTES;
    if (w->in_cap >= limit)
        return room > 0;
    uint32_t cap = w->in_cap * 2 < limit ? w->in_cap * 2 : limit;
    char *in = malloc(cap);
    if (!in)
        return room > 0;
    memcpy(in, w->in, w->in_len);
    if (w->in_is_large)
        free(w->in);
    w->in = in;
    w->in_cap = cap;
    w->in_is_large = true;
    return true;
}

/* Read what the socket has into the buffer. Returns bytes read (> 0), 0 at
 * the client's FIN, -EAGAIN, -ENOBUFS (buffer full), or -errno. */
static ssize_t conn_fill(struct conn *c)
{
    struct conn_work *w = c->w;
    if (!c->rd_ready)
        return -EAGAIN;
    if (!conn_make_room(c))
        return -ENOBUFS;
    size_t want = w->in_cap - w->in_len;
    ssize_t n;
    do
        n = recv(c->watch.fd, w->in + w->in_len, want, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->rd_ready = false;
            return -EAGAIN;
        }
        return -errno;
    }
    if (n == 0) {
        c->peer_eof = true;
        return 0;
    }
    /* A TCP recv that returns less than asked has emptied the receive queue;
     * anything arriving later raises a new edge. This saves the recv that
     * would only say EAGAIN. */
    if ((size_t)n < want && !c->rd_hup)
        c->rd_ready = false;
    w->in_len += (uint32_t)n;
    stats_add(&c->srv->stats->bytes_in, (uint64_t)n);
    return n;
}

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
    conn_unready(c);
    conn_drop_work(c);
    /* No epoll_ctl(DEL): the socket is never duplicated, so close() takes
     * it out of the epoll set (a syscall saved on every close). */
    conn_bound_fin_wait2(c);
    if (cfg->so_linger_ms >= 0) {
        /* Apache's USE_SO_LINGER: close() may block up to this long. */
        struct linger l = { .l_onoff = 1, .l_linger = (int)((cfg->so_linger_ms + 999) / 1000) };
        (void)setsockopt(c->watch.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(c->watch.fd);
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
static void conn_finish(struct conn *c, enum stats_outcome outcome)
{
    struct stats *st = c->srv->stats;
    if (c->half_closed && outcome != STATS_CLOSE_CLIENT_CLOSED && outcome != STATS_CLOSE_RESET) {
        /* Our FIN is out and the client's is not in: after close() the kernel
         * keeps the socket in FIN_WAIT_2, for at most fin_wait2_timeout. */
        struct tcp_info ti;
        socklen_t len = sizeof ti;
        if (getsockopt(c->watch.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
            ti.tcpi_state == TCP_FIN_WAIT2)
            stats_add(&st->fin_wait2_bounded, 1);
    }
    stats_add(&st->closes[outcome], 1);
    if (c->half_closed)
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
    conn_finish(c, c->state == CONN_LINGER && c->half_closed ? STATS_CLOSE_SHED
                                                              : STATS_CLOSE_PLAIN);
}

/* The client closed or reset first: nothing to linger for. */
static void conn_peer_gone(struct conn *c, bool reset)
{
    if (c->close_why == CONN_CLOSE_NONE)
        c->close_why = CONN_CLOSE_PEER;
    stats_add(&c->srv->stats->client_closes, 1);
    conn_log(c, LOG_DEBUG, "client %s", reset ? "reset the connection" : "closed");
    conn_close(c);
}

/* ---- output ---- */

/* Send what the socket takes. 0 when all is out, -EAGAIN, or -errno.
 * fin_follows: only the close path, which shuts down or closes the socket
 * as soon as this returns 0 (see outq_flush). */
static int conn_send_queued(struct conn *c, bool fin_follows)
{
    struct conn_work *w = c->w;
    if (!w || outq_is_empty(&w->out))
        return 0;
    uint64_t sent = 0;
    int rc = outq_flush(&w->out, c->watch.fd, &sent, fin_follows);
    if (sent) {
        c->progress_ms = conn_now_ms(c);
        stats_add(&c->srv->stats->bytes_out, sent);
    }
    return rc;
}

static int conn_flush(struct conn *c)
{
    return conn_send_queued(c, false);
}

static bool conn_output_full(const struct conn *c)
{
    const struct outq *q = &c->w->out;
    return q->pending >= conn_cfg(c)->pipeline_max_bytes ||
           q->count + CONN_SEGS_PER_RESPONSE > OUTQ_SEGS_MAX;
}

/* ---- the close path ---- */

static void conn_on_linger(struct conn *c, bool timeout);

void conn_set_lingering(struct conn *c, enum config_linger mode)
{
    c->w->lingering_close = mode;
}

void conn_want_close(struct conn *c, enum conn_close_reason why)
{
    c->keep_alive = false;
    if (c->close_why == CONN_CLOSE_NONE)
        c->close_why = (uint8_t)why;
}

/* Enter LINGER: every close the client did not start comes through here. */
static void conn_start_close(struct conn *c, enum conn_close_reason why)
{
    if (c->state == CONN_CLOSED || c->state == CONN_LINGER)
        return;
    if (c->close_why == CONN_CLOSE_NONE)
        c->close_why = (uint8_t)why;
    c->keep_alive = false;
    conn_log_access(c);
    conn_abort_sink(c);
    c->linger_mode = (uint8_t)(c->w ? c->w->lingering_close : conn_cfg(c)->lingering_close);
    c->linger_total_ms = c->state == CONN_IDLE ? conn_cfg(c)->idle_close_linger_ms
                                               : conn_cfg(c)->lingering_time_ms;
    if (c->srv->stopping && c->linger_total_ms > conn_cfg(c)->shutdown_linger_ms)
        c->linger_total_ms = conn_cfg(c)->shutdown_linger_ms; /* a draining worker hurries */
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
    case CONN_READ_HEAD:
    case CONN_READ_BODY:
    case CONN_RESPOND:
        /* A response whose head is queued already promised keep-alive: the
         * client may send its next request as soon as it reads it, so the
         * connection goes idle as promised, under the cap. Otherwise the
         * response still to come says close. */
        if (c->w && c->w->in_request && !c->w->responded)
            conn_want_close(c, why);
        break;
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
        return true;
    case CONN_CLOSE_NONE:
    case CONN_CLOSE_REQUESTED:
    case CONN_CLOSE_SEND_TIMEOUT:
    case CONN_CLOSE_PEER:
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
        ssize_t n = recv(c->watch.fd, NULL, CONN_DISCARD_CHUNK, MSG_TRUNC | MSG_DONTWAIT);
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
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return false;
        conn_finish(c, STATS_CLOSE_RESET);
        return true;
    }
    conn_yield(c); /* more may be waiting; no new edge would say so */
    return false;
}

/* The response is out: half-close and start draining, or close at once. */
static void conn_begin_drain(struct conn *c)
{
    const struct config *cfg = conn_cfg(c);
    struct server *srv = c->srv;
    bool half_close = conn_will_half_close(c);
    /* "on" with nothing to suggest more bytes, but an edge since the last
     * read: one look at the socket tells whether some are already here. */
    bool look = !half_close && !c->peer_eof && c->linger_mode == CONFIG_LINGER_ON && c->rd_ready;
    conn_drop_work(c); /* a lingering connection holds no buffers */

    if (!half_close && !look) {
        /* The client closed first, lingering_close off, or "on" with the
         * socket empty at the last read and no edge since. */
        conn_finish(c, STATS_CLOSE_PLAIN);
        return;
    }
    if (look) {
        ssize_t n = recv(c->watch.fd, NULL, CONN_DISCARD_CHUNK, MSG_TRUNC | MSG_DONTWAIT);
        if (n <= 0) { /* its FIN, or nothing there */
            conn_finish(c, STATS_CLOSE_PLAIN);
            return;
        }
        c->linger_bytes += (uint64_t)n;
    }
    if (shutdown(c->watch.fd, SHUT_WR) < 0) {
        conn_finish(c, STATS_CLOSE_RESET);
        return;
    }
    c->half_closed = true;
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

static void conn_on_linger(struct conn *c, bool timeout)
{
    if (!c->half_closed) {
        if (timeout && conn_deadline_passed(c)) {
            conn_finish(c, STATS_CLOSE_SEND_TIMEOUT);
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

/* ---- responses ---- */

static const char *conn_reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}

/* "HTTP/1.1 200 OK\r\n", formatted once per status and process. */
static const char *conn_status_line(int status, size_t *len)
{
    static char lines[600][56];
    static uint8_t lens[600];
    if (status < 100 || status > 599)
        status = 500;
    if (!lens[status]) {
        int n = snprintf(lines[status], sizeof lines[status], "HTTP/1.1 %d %s\r\n", status,
                         conn_reason_phrase(status));
        lens[status] = (uint8_t)n;
    }
    *len = lens[status];
    return lines[status];
}

/* Decimal digits of v into out (no NUL); returns the count. */
static size_t conn_format_u64(uint64_t v, char *out)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static void conn_out(struct conn *c, const void *data, size_t len)
{
    if (outq_append(&c->w->out, data, len) < 0)
        conn_want_close(c, CONN_CLOSE_ERROR); /* out of memory: end after this */
}

void conn_resp_raw(struct conn *c, const char *bytes, size_t len)
{
    conn_out(c, bytes, len);
}

void conn_resp_field(struct conn *c, const char *name, const char *value, size_t value_len)
{
    size_t nlen = strlen(name);
    char *p = outq_reserve(&c->w->out, nlen + value_len + 4);
    if (!p) {
        conn_want_close(c, CONN_CLOSE_ERROR);
        return;
    }
    memcpy(p, name, nlen);
    memcpy(p + nlen, ": ", 2);
    memcpy(p + nlen + 2, value, value_len);
    memcpy(p + nlen + 2 + value_len, "\r\n", 2);
    outq_commit(&c->w->out, nlen + value_len + 4);
}

void conn_resp_begin(struct conn *c, int status)
{
    struct conn_work *w = c->w;
    w->responded = true;
    w->log_pending = true;
    w->log_status = status;
    w->log_mark = w->out.pending;
    if (!w->log_has_head)
        w->log_start_ms = c->since_ms; /* a 400 or 408: since the head began */
    if (status >= 100 && status < 600)
        stats_add(&c->srv->stats->responses_by_class[status / 100], 1);
    /* Status line, Date and Server in one copy: each is prebuilt. */
    size_t slen, dlen;
    const char *sline = conn_status_line(status, &slen);
    const char *date = server_date_line(c->srv, &dlen);
    size_t total = slen + dlen + c->srv->server_len;
    char *p = outq_reserve(&w->out, total);
    if (!p) {
        conn_want_close(c, CONN_CLOSE_ERROR);
        return;
    }
    memcpy(p, sline, slen);
    memcpy(p + slen, date, dlen);
    memcpy(p + slen + dlen, c->srv->server_line, c->srv->server_len);
    outq_commit(&w->out, total);
}

/* Decide what becomes of a body the response did not wait for: read and
 * discard it if it is small and its length known (the connection stays), or
 * close through the lingering close. A client that asked for 100-continue
 * may never send the body, so reading it could hang or misparse: close. */
static void conn_settle_unread_body(struct conn *c)
{
    struct conn_work *w = c->w;
    if (w->sink || w->body_done || w->body_framing == HTTP1_BODY_NONE)
        return;
    if (w->body_framing == HTTP1_BODY_LENGTH && !w->req.expect_continue &&
        w->body_left <= conn_cfg(c)->discard_body_max_bytes)
        w->discard_after = true;
    else
        conn_want_close(c, CONN_CLOSE_UNREAD_BODY);
}

void conn_resp_end(struct conn *c, int64_t content_length)
{
    struct server *srv = c->srv;
    struct conn_work *w = c->w;
    conn_settle_unread_body(c);
    /* The end of a head in one copy: Content-Length, the connection's
     * fate, the empty line. */
    char end[160];
    size_t n = 0;
    if (content_length >= 0) {
        memcpy(end, "Content-Length: ", 16);
        n = 16 + conn_format_u64((uint64_t)content_length, end + 16);
        end[n++] = '\r';
        end[n++] = '\n';
    }
    if (!c->keep_alive) {
        memcpy(end + n, "Connection: close\r\n", 19);
        n += 19;
    } else {
        if (w->req.version_minor == 0) {
            memcpy(end + n, "Connection: keep-alive\r\n", 24);
            n += 24;
        }
        memcpy(end + n, srv->keep_alive_line, srv->keep_alive_len);
        n += srv->keep_alive_len;
    }
    end[n++] = '\r';
    end[n++] = '\n';
    conn_out(c, end, n);
    w->log_body_bytes = content_length > 0 && !w->head_only ? (uint64_t)content_length : 0;
    w->log_bytes = w->out.pending - w->log_mark + w->log_body_bytes;
}

void conn_resp_body(struct conn *c, const void *data, size_t len)
{
    if (!c->w->head_only && len)
        conn_out(c, data, len);
}

void conn_resp_file(struct conn *c, int fd, uint64_t off, uint64_t len)
{
    if (c->w->head_only || len == 0 || outq_add_file(&c->w->out, fd, off, len) < 0) {
        close(fd);
        return;
    }
}

static bool conn_status_loses_framing(int status)
{
    switch (status) {
    case 400: case 408: case 411: case 413: case 414: case 417: case 431: case 501: case 505:
        return true;
    default:
        return false;
    }
}

void conn_resp_error(struct conn *c, int status, const char *extra)
{
    char body[256];
    const char *phrase = conn_reason_phrase(status);
    int n = snprintf(body, sizeof body,
                     "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
                     "<body><h1>%d %s</h1></body></html>\n",
                     status, phrase, status, phrase);
    if (conn_status_loses_framing(status))
        conn_want_close(c, CONN_CLOSE_ERROR);
    if (status == 503 && !extra)
        extra = "Retry-After: 1\r\n"; /* a passing shortage (descriptors, memory) */
    conn_resp_begin(c, status);
    conn_out(c, "Content-Type: text/html\r\n", 25);
    if (extra)
        conn_out(c, extra, strlen(extra));
    conn_resp_end(c, n);
    conn_resp_body(c, body, (size_t)n);
}

/* ---- requests ---- */

static bool conn_user_agent_refused(const struct conn *c, const struct http1_request *req)
{
    const struct config *cfg = conn_cfg(c);
    if (cfg->nokeepalive_count == 0 || req->user_agent.len == 0)
        return false;
    char ua[512];
    size_t len = req->user_agent.len < sizeof ua - 1 ? req->user_agent.len : sizeof ua - 1;
    memcpy(ua, conn_request_buf(c) + req->user_agent.off, len);
    ua[len] = '\0';
    for (size_t i = 0; i < cfg->nokeepalive_count; i++)
        if (regexec(&cfg->nokeepalive_re[i], ua, 0, NULL, 0) == 0)
            return true;
    return false;
}

/* Do bytes of another request follow the current one in the buffer? A
 * draining server answers every request already received and says close on
 * the last. After a chunked body it cannot tell without decoding, and says
 * close at once (the client resends the rest, as after keepalive_requests). */
static bool conn_more_requests_buffered(const struct conn *c)
{
    const struct conn_work *w = c->w;
    uint64_t after = w->in_len - w->head_end;
    switch (w->req.framing) {
    case HTTP1_BODY_NONE:
        return after > 0;
    case HTTP1_BODY_LENGTH:
        return after > w->req.content_length;
    default:
        return false;
    }
}

static void conn_decide_keep_alive(struct conn *c)
{
    const struct config *cfg = conn_cfg(c);
    const struct http1_request *req = &c->w->req;
    c->keep_alive = true;
    if (!http1_wants_keep_alive(req))
        conn_want_close(c, CONN_CLOSE_REQUESTED);
    else if (!cfg->keepalive || conn_user_agent_refused(c, req))
        conn_want_close(c, CONN_CLOSE_NOKEEPALIVE);
    else if (c->requests >= cfg->keepalive_requests)
        conn_want_close(c, CONN_CLOSE_MAX_REQUESTS);
    else if (c->srv->stopping && !conn_more_requests_buffered(c))
        conn_want_close(c, CONN_CLOSE_SHUTDOWN);
}

static void conn_after_drain(struct conn *c);
static void conn_on_read_body(struct conn *c, bool timeout);

/* The response to the current request is queued (and its body, if any, is
 * read): move on to the next request, the idle wait, or the close. */
static void conn_request_done(struct conn *c)
{
    struct conn_work *w = c->w;
    conn_log_access(c);
    w->in_request = false;
    w->sink = NULL;
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

static const struct conn_body_sink conn_discard_sink = { NULL, NULL, NULL };

/* A complete head was parsed from in[in_start .. in_start+used). */
static void conn_on_head(struct conn *c, size_t used)
{
    struct conn_work *w = c->w;
    const struct config *cfg = conn_cfg(c);
    struct http1_request *req = &w->req;
    w->head_start = w->in_start;
    w->in_start += (uint32_t)used;
    w->head_end = w->in_start;
    w->in_request = true;
    w->responded = false;
    w->discard_after = false;
    w->sink = NULL;
    w->head_only = req->method == HTTP1_METHOD_HEAD;
    w->body_framing = req->framing;
    w->body_left = req->framing == HTTP1_BODY_LENGTH ? req->content_length : 0;
    w->body_done = req->framing == HTTP1_BODY_NONE ||
                   (req->framing == HTTP1_BODY_LENGTH && req->content_length == 0);
    w->body_bytes = 0;
    w->body_max = UINT64_MAX;
    w->lingering_close = cfg->lingering_close;
    if (req->framing == HTTP1_BODY_CHUNKED)
        http1_chunked_init(&w->chunked, cfg->chunk_line_max_bytes, cfg->trailer_max_bytes);
    c->requests++;
    stats_add(&c->srv->stats->requests, 1);
    w->log_has_head = true;
    w->log_head_bytes = (uint32_t)used;
    w->log_start_ms = c->state == CONN_READ_HEAD ? c->since_ms : conn_now_ms(c);
    conn_decide_keep_alive(c);

    request_dispatch(c);
    if (c->state == CONN_CLOSED)
        return;
    if (!w->responded && !w->sink) {
        conn_log(c, LOG_ERROR, "request left unanswered; 500 sent");
        conn_resp_error(c, 500, NULL);
    }
    if (w->body_done || (!w->sink && !w->discard_after)) {
        conn_request_done(c);
        return;
    }
    if (!w->sink)
        w->sink = &conn_discard_sink;
    conn_set_state(c, CONN_READ_BODY);
}

void conn_read_body(struct conn *c, const struct conn_body_sink *sink, void *ctx,
                    uint64_t max_bytes)
{
    struct conn_work *w = c->w;
    w->sink = sink;
    w->sink_ctx = ctx;
    w->body_max = max_bytes;
    if (w->req.expect_continue && w->req.version_minor >= 1 && !w->body_done &&
        w->in_start == w->in_len)
        conn_out(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    if (w->body_done) {
        /* An empty body: the handler's on_end answers at once. */
        w->sink = NULL;
        sink->on_end(c, ctx);
    }
}

/* A body failed (over the limit, bad chunk, disk full): answer if no answer
 * went out yet, and close, since the rest of the body cannot be framed or is
 * not wanted. */
static void conn_body_failed(struct conn *c, int status)
{
    struct conn_work *w = c->w;
    conn_abort_sink(c);
    conn_want_close(c, CONN_CLOSE_ERROR);
    if (!w->responded)
        conn_resp_error(c, status, NULL);
    w->body_done = false;
    conn_request_done(c);
}

/* Feed buffered body bytes to the sink. 1: body complete; 0: need more;
 * < 0: -status to answer. */
static int conn_feed_body(struct conn *c)
{
    struct conn_work *w = c->w;
    const struct conn_body_sink *sink = w->sink;
    while (w->in_start < w->in_len || (w->body_framing == HTTP1_BODY_LENGTH && w->body_left == 0)) {
        const char *in = w->in + w->in_start;
        size_t avail = w->in_len - w->in_start;
        size_t data_off = 0, data_len = 0, used;
        if (w->body_framing == HTTP1_BODY_LENGTH) {
            if (w->body_left == 0)
                return 1;
            used = data_len = avail < w->body_left ? avail : (size_t)w->body_left;
            w->body_left -= data_len;
            w->in_start += (uint32_t)used;
            if (data_len && sink->on_data) {
                int st = sink->on_data(c, w->sink_ctx, in, data_len);
                if (st)
                    return -st;
            }
            w->body_bytes += data_len;
            if (w->body_left == 0)
                return 1;
            continue;
        }
        enum http1_rc rc = http1_chunked_decode(&w->chunked, in, avail, &used, &data_off, &data_len);
        w->in_start += (uint32_t)used;
        if (rc == HTTP1_ERROR)
            return -w->chunked.status;
        if (data_len) {
            w->body_bytes += data_len;
            if (w->body_bytes > w->body_max)
                return -413;
            if (sink->on_data) {
                int st = sink->on_data(c, w->sink_ctx, in + data_off, data_len);
                if (st)
                    return -st;
            }
        }
        if (rc == HTTP1_DONE)
            return 1;
        if (used == 0 && data_len == 0)
            break;
    }
    return 0;
}

/* Discard a known-length body straight from the socket, copying nothing. */
static ssize_t conn_discard_from_socket(struct conn *c)
{
    struct conn_work *w = c->w;
    size_t want = w->body_left < CONN_DISCARD_CHUNK ? (size_t)w->body_left : CONN_DISCARD_CHUNK;
    ssize_t n;
    do
        n = recv(c->watch.fd, NULL, want, MSG_TRUNC | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (n == 0) {
        c->peer_eof = true;
        return 0;
    }
    w->body_left -= (uint64_t)n;
    w->body_bytes += (uint64_t)n;
    stats_add(&c->srv->stats->bytes_in, (uint64_t)n);
    return n;
}

static void conn_on_read_body(struct conn *c, bool timeout)
{
    struct conn_work *w = c->w;
    if (timeout) {
        if (!conn_deadline_passed(c))
            return;
        conn_want_close(c, CONN_CLOSE_BODY_TIMEOUT);
        if (w->responded) {
            conn_abort_sink(c);
            conn_start_close(c, CONN_CLOSE_BODY_TIMEOUT);
        } else {
            conn_body_failed(c, 408);
        }
        return;
    }
    for (int i = 0; i < CONN_READS_PER_WAKE; i++) {
        int fed = conn_feed_body(c);
        if (fed < 0) {
            conn_body_failed(c, -fed);
            return;
        }
        if (fed > 0) {
            const struct conn_body_sink *sink = w->sink;
            w->body_done = true;
            w->sink = NULL;
            if (sink->on_end)
                sink->on_end(c, w->sink_ctx);
            if (c->state != CONN_CLOSED)
                conn_request_done(c);
            return;
        }
        ssize_t n;
        if (w->sink == &conn_discard_sink && w->body_framing == HTTP1_BODY_LENGTH &&
            w->in_start == w->in_len)
            n = conn_discard_from_socket(c);
        else
            n = conn_fill(c);
        if (n > 0) {
            c->progress_ms = conn_now_ms(c);
            continue;
        }
        if (n == -EAGAIN)
            return;
        if (n == 0 || n == -ENOBUFS) {
            /* The client stopped sending mid-body: the upload is incomplete. */
            conn_abort_sink(c);
            if (n == 0) {
                if (w->responded && !outq_is_empty(&w->out)) {
                    conn_want_close(c, CONN_CLOSE_PEER);
                    conn_start_close(c, CONN_CLOSE_PEER);
                } else {
                    conn_peer_gone(c, false);
                }
            } else {
                conn_body_failed(c, 500);
            }
            return;
        }
        conn_peer_gone(c, true);
        return;
    }
    conn_yield(c);
}

/* Answer a head that never became a request (it did not parse, or did not
 * arrive in time) and close: the framing is lost. The response is an
 * HTTP/1.1 error with a body, answering no method in particular. */
static void conn_refuse_head(struct conn *c, int status, enum conn_close_reason why)
{
    struct conn_work *w = c->w;
    w->in_request = true;
    w->head_start = w->head_end = w->in_start;
    w->head_only = false;
    w->req.version_minor = 1;
    w->body_framing = HTTP1_BODY_NONE;
    w->body_done = true;
    conn_want_close(c, why);
    conn_resp_error(c, status, NULL);
    conn_start_close(c, why);
}

static void conn_on_read_head(struct conn *c, bool timeout)
{
    struct conn_work *w = c->w;
    if (timeout) {
        if (!conn_deadline_passed(c))
            return;
        if (!c->ever_read && w->in_start == w->in_len) {
            conn_start_close(c, CONN_CLOSE_HEADER_TIMEOUT);
            return;
        }
        /* RFC 9110 §15.5.9: tell the client why before closing. */
        conn_refuse_head(c, 408, CONN_CLOSE_HEADER_TIMEOUT);
        return;
    }
    int reads = 0;
    for (int served = 0; served < CONN_REQUESTS_PER_WAKE;) {
        if (w->in_start < w->in_len) {
            size_t used = 0;
            enum http1_rc rc = http1_parse_head(&w->parser, w->in + w->in_start,
                                                w->in_len - w->in_start, &w->req, &used);
            if (rc == HTTP1_DONE) {
                conn_on_head(c, used);
                served++;
                if (c->state != CONN_READ_HEAD)
                    return;
                w = c->w;
                continue;
            }
            if (rc == HTTP1_ERROR) {
                conn_log(c, LOG_INFO, "bad request: %s; %d sent", w->parser.reason,
                         w->parser.status);
                conn_refuse_head(c, w->parser.status, CONN_CLOSE_ERROR);
                return;
            }
        }
        if (c->peer_eof) {
            /* The client half-closed: answer what is queued, then close. */
            if (!outq_is_empty(&w->out))
                conn_start_close(c, CONN_CLOSE_PEER);
            else
                conn_peer_gone(c, false);
            return;
        }
        if (reads++ >= CONN_READS_PER_WAKE) {
            conn_yield(c);
            return;
        }
        ssize_t n = conn_fill(c);
        if (n > 0) {
            c->ever_read = true;
            continue;
        }
        if (n == -EAGAIN)
            return;
        if (n == 0)
            continue; /* peer_eof is set: handled above */
        if (n == -ENOBUFS) {
            /* The parser reports 431/414 before the buffer fills; this is
             * memory running out. */
            conn_start_close(c, CONN_CLOSE_ERROR);
            return;
        }
        conn_peer_gone(c, true);
        return;
    }
    conn_yield(c); /* CONN_REQUESTS_PER_WAKE answered; more are buffered */
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
        case CONN_READ_HEAD:
            conn_on_read_head(c, timeout);
            break;
        case CONN_READ_BODY:
            conn_on_read_body(c, timeout);
            break;
        case CONN_RESPOND:
            conn_on_respond(c, timeout);
            break;
        case CONN_IDLE:
            conn_on_idle(c, timeout);
            break;
        case CONN_LINGER:
            conn_on_linger(c, timeout);
            break;
        case CONN_CLOSED:
        case CONN_STATE_COUNT:
            return;
        }
        timeout = false;
        /* READ_HEAD, READ_BODY and RESPOND have work to do when entered; IDLE
         * and LINGER did theirs on entry. */
        if (c->state == before || c->state == CONN_CLOSED || c->state == CONN_LINGER ||
            c->state == CONN_IDLE)
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
}

static void conn_on_io(struct loop_watch *watch, uint32_t events)
{
    struct conn *c = (struct conn *)((char *)watch - offsetof(struct conn, watch));
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->rd_ready = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->rd_hup = true; /* a FIN is queued: a short read will not mean empty */
    conn_run(c, false);
}

static void conn_on_timer(struct loop_timer *t)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));
    conn_run(c, true);
}

static void conn_store_peer(struct conn *c, const struct sockaddr *peer, socklen_t len)
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

struct conn *conn_open(struct server *srv, int fd, const struct sockaddr *peer,
                       socklen_t peer_len)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = srv;
    c->watch.fd = fd;
    c->watch.on_io = conn_on_io;
    loop_timer_init(&c->timer, conn_on_timer);
    c->id = ++srv->next_conn_id;
    c->linger_mode = (uint8_t)srv->cfg->lingering_close;
    /* With defer_accept the kernel hands a connection over when its first
     * bytes are in: read at once instead of waiting for an edge. */
    c->rd_ready = srv->cfg->defer_accept_ms > 0;
    conn_store_peer(c, peer, peer_len);
    if (loop_reserve_timers(srv->loop, (size_t)srv->conn_count + 1 + CONN_FIXED_TIMERS) < 0) {
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
    c->state = CONN_READ_HEAD;
    stats_add(&srv->stats->conns[STATS_READ_HEAD], 1);
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
        free(c);
    }
}
