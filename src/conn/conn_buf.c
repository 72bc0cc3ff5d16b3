/* conn_buf — a connection's buffers: the work area held while a request is
 * in progress, reading into it and sending its output queue.
 *
 * Leaves out: what the bytes mean (conn.c parses heads, conn_body.c feeds
 * bodies, conn_respond.c formats responses) and when to read or send (the
 * states in conn.c and conn_close.c).
 *
 * Invariants: a work area is held only while a request is read or answered
 * (c->w is NULL while IDLE, LINGER and CLOSED); it comes from the server's
 * free list and goes back to it with its output memory kept if small. The
 * read buffer keeps the current head's bytes in[head_start .. head_end)
 * while a request is answered, since handlers and the access log hold
 * slices into it; compacting moves them together. The buffer grows past the
 * standard size only up to header_max_bytes (a head) or by
 * CONN_BODY_BUFFER_BYTES (a body).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "outq.h"
#include "server.h"
#include "stats.h"
#include "transport.h"

/* The standard read buffer: most request heads fit; bigger ones get a
 * buffer of their own up to header_max_bytes. */
#define CONN_READ_BUFFER_BYTES 8192
/* Read at least this much per recv when there is a choice (compact or grow
 * the buffer first); a body is read into buffers up to the second size. */
#define CONN_READ_MIN_BYTES 2048
#define CONN_BODY_BUFFER_BYTES (256 * 1024)
/* Output memory kept with a pooled work area (a typical response head and
 * small body); larger areas are freed when the connection goes idle. */
#define CONN_OUT_KEEP_BYTES (16 * 1024)

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

bool conn_take_work(struct conn *c)
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
    w->loc = NULL;
    w->sink = NULL;
    conn_work_clear_deferred(w);
    w->real_family = 0; /* a pooled area may hold another client's */
    w->io_cancel = NULL;
    /* w->out is empty here: fresh blocks are zeroed, pooled ones were
     * cleared (their memory kept for the next response). */
    http1_parser_init(&w->parser, &srv->limits, w->fields, srv->cfg->header_fields_max);
    c->w = w;
    return true;
}


void conn_drop_work(struct conn *c)
{
    struct conn_work *w = c->w;
    if (!w)
        return;
    conn_cancel_deferred(c);
    conn_log_access(c); /* a response the connection ended with, not yet logged */
    conn_abort_sink(c);
    conn_cancel_io(c);
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

bool conn_input_resize(struct conn *c, uint32_t cap)
{
    struct conn_work *w = c->w;
    uint32_t have = w->in_len - w->in_start;
    uint32_t standard = c->srv->buf_size - (uint32_t)conn_work_size(c->srv);
    if (w->in_request || have > (cap > standard ? cap : standard))
        return false;
    char *in;
    if (cap > standard) {
        if (w->in_is_large && w->in_cap == cap)
            return true;
        in = malloc(cap);
        if (!in)
            return false;
    } else {
        if (!w->in_is_large)
            return true;
        in = (char *)w + conn_work_size(c->srv);
        cap = standard;
    }
    memmove(in, w->in + w->in_start, have);
    if (w->in_is_large)
        free(w->in);
    w->in = in;
    w->in_cap = cap;
    w->in_is_large = in != (char *)w + conn_work_size(c->srv);
    w->in_start = 0;
    w->in_len = have;
    return true;
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
ssize_t conn_fill(struct conn *c)
{
    struct conn_work *w = c->w;
    if (!c->rd_ready)
        return -EAGAIN;
    if (!c->tp.established) {
        /* TLS: the handshake comes before the first byte of a request;
         * header_timeout bounds it like the head it precedes. */
        int rc = transport_handshake(&c->tp);
        if (rc < 0) {
            if (rc == -EAGAIN)
                c->rd_ready = false;
            return rc;
        }
    }
    if (!conn_make_room(c))
        return -ENOBUFS;
    size_t want = w->in_cap - w->in_len;
    ssize_t n = transport_read(&c->tp, w->in + w->in_len, want);
    if (n < 0) {
        if (n == -EAGAIN)
            c->rd_ready = false;
        return n;
    }
    if (n == 0) {
        c->peer_eof = true;
        return 0;
    }
    /* A TCP recv that returns less than asked has emptied the receive queue;
     * anything arriving later raises a new edge. This saves the recv that
     * would only say EAGAIN. A transport that reads ahead (TLS) may still
     * hold bytes no edge will announce: it says so in read_pending. */
    if ((size_t)n < want && !c->rd_hup && !c->tp.read_pending)
        c->rd_ready = false;
    w->in_len += (uint32_t)n;
    stats_add(&c->srv->stats->bytes_in, (uint64_t)n);
    return n;
}

/* ---- output ---- */

/* Send what the socket takes. 0 when all is out, -EAGAIN, or -errno.
 * fin_follows: only the close path, which shuts down or closes the socket
 * as soon as this returns 0 (see outq_flush). */
int conn_send_queued(struct conn *c, bool fin_follows)
{
    struct conn_work *w = c->w;
    if (!w || outq_is_empty(&w->out))
        return 0;
    uint64_t sent = 0;
    int rc = outq_flush(&w->out, &c->tp, &sent, fin_follows);
    if (sent) {
        c->progress_ms = conn_now_ms(c);
        stats_add(&c->srv->stats->bytes_out, sent);
    }
    return rc;
}
