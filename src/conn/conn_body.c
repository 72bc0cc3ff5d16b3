/* conn_body — the request body: fed to a handler's sink or discarded, with
 * Content-Length or chunked framing (its trailer field lines to the sink's
 * on_trailer), 100-continue, and the READ_BODY state.
 *
 * Leaves out: what the handler does with the bytes (upload.c), the decision
 * whether an unanswered body is discarded or ends the connection
 * (conn_respond.c, when the response head ends), and the buffers
 * (conn_buf.c).
 *
 * Invariants: body_left (Content-Length) or the chunked decoder says where
 * the body ends, so the next request starts at the right byte or the
 * connection closes; a chunked body is capped at body_max as it arrives. A
 * known-length body that is only discarded is skipped in the socket
 * (MSG_TRUNC), never copied. A sink gets on_end or on_abort exactly once.
 */
#include <errno.h>

#include "conn_internal.h"
#include "http2.h"
#include "stats.h"
#include "transport.h"

const struct conn_body_sink conn_discard_sink = { NULL, NULL, NULL, NULL, NULL };

void conn_read_body(struct conn *c, const struct conn_body_sink *sink, void *ctx,
                    uint64_t max_bytes)
{
    struct conn_work *w = c->w;
    w->sink = sink;
    w->sink_ctx = ctx;
    w->body_max = max_bytes;
    if (c->h2s) {
        /* No 100 Continue: an HTTP/2 client's window says when to send. */
        http2_stream_read_body(c);
        return;
    }
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
    conn_cancel_deferred(c);
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
        if (w->body_paused || w->sink != sink)
            return 0; /* the sink is full, or was given up */
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
            if (c->state == CONN_WAIT_IO)
                return 0; /* the sink waits for the disk: no more for now */
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
        if (w->chunked.fields_len && sink->on_trailer && w->sink == sink) {
            int st = sink->on_trailer(c, w->sink_ctx, in + w->chunked.fields_off,
                                      w->chunked.fields_len);
            if (st)
                return -st;
        }
        if (rc == HTTP1_DONE)
            return 1;
        if (c->state == CONN_WAIT_IO)
            return 0;
        if (used == 0 && data_len == 0)
            break;
    }
    return 0;
}

/* Discard a known-length body straight from the transport, copying nothing
 * where it can (TCP). */
static ssize_t conn_discard_from_socket(struct conn *c)
{
    struct conn_work *w = c->w;
    size_t want = w->body_left < CONN_DISCARD_CHUNK ? (size_t)w->body_left : CONN_DISCARD_CHUNK;
    ssize_t n = transport_discard(&c->tp, want);
    if (n < 0)
        return n;
    if (n == 0) {
        c->peer_eof = true;
        return 0;
    }
    w->body_left -= (uint64_t)n;
    w->body_bytes += (uint64_t)n;
    stats_add(&c->srv->stats->bytes_in, (uint64_t)n);
    return n;
}

/* Hand the socket to a sink that takes the body without copying it
 * (on_splice); as conn_fill otherwise. Not over TLS (the bytes must be
 * decrypted here), nor for chunked framing (it must be decoded here). */
static bool conn_body_can_splice(const struct conn *c)
{
    const struct conn_work *w = c->w;
    return w->sink->on_splice && !w->body_no_splice && w->body_framing == HTTP1_BODY_LENGTH &&
           w->in_start == w->in_len && transport_is_tcp(&c->tp);
}

static ssize_t conn_splice_body(struct conn *c, int *status)
{
    struct conn_work *w = c->w;
    if (!c->rd_ready)
        return -EAGAIN;
    /* The whole rest: the sink takes what its pipe has room for, and knows
     * from this how long the body still is. */
    size_t left = w->body_left > SIZE_MAX ? SIZE_MAX : (size_t)w->body_left;
    ssize_t n = w->sink->on_splice(c, w->sink_ctx, c->tp.fd, left, status);
    if (n == CONN_SPLICE_NEVER) {
        w->body_no_splice = true;
        return conn_fill(c);
    }
    if (n > 0) {
        w->body_left -= (uint64_t)n;
        w->body_bytes += (uint64_t)n;
        stats_add(&c->srv->stats->bytes_in, (uint64_t)n);
    } else if (n == 0) {
        c->peer_eof = true;
    } else if (n == -EAGAIN) {
        c->rd_ready = false;
    }
    return n;
}

void conn_wait_io(struct conn *c, void (*on_cancel)(struct conn *c, void *ctx), void *ctx)
{
    struct conn_work *w = c->w;
    w->io_cancel = on_cancel;
    w->io_ctx = ctx;
    if (c->h2s) {
        http2_stream_wait_io(c);
        return;
    }
    conn_set_state(c, CONN_WAIT_IO);
}

void conn_io_done(struct conn *c)
{
    if (c->h2s) {
        http2_stream_io_done(c);
        return;
    }
    if (c->state != CONN_WAIT_IO)
        return;
    struct conn_work *w = c->w;
    w->io_cancel = NULL;
    /* As after a handler (conn_on_head): the rest of a body a sink reads,
     * or one a handler that answered without reading it leaves behind. */
    if (w->body_done || (!w->sink && !w->discard_after)) {
        conn_request_done(c); /* the response is queued: the next request */
    } else {
        if (!w->sink)
            w->sink = &conn_discard_sink;
        conn_set_state(c, CONN_READ_BODY);
    }
    /* Run the new state after this iteration's dispatch: buffered bytes
     * (the body's rest, a pipelined request) raise no edge of their own. */
    conn_yield(c);
}

void conn_io_done_read_body(struct conn *c, const struct conn_body_sink *sink, void *ctx,
                            uint64_t max_bytes)
{
    if (c->h2s) { /* the stream stops waiting, then its DATA goes to sink */
        http2_stream_io_done(c);
        conn_read_body(c, sink, ctx, max_bytes);
        return;
    }
    if (c->state != CONN_WAIT_IO)
        return;
    struct conn_work *w = c->w;
    w->io_cancel = NULL;
    conn_set_state(c, CONN_READ_BODY);
    conn_read_body(c, sink, ctx, max_bytes);
    /* An empty body's on_end has answered, or waits for its own operation
     * (WAIT_IO again); else the body's bytes come (those buffered already
     * raise no edge of their own). */
    if (c->state != CONN_READ_BODY)
        return;
    if (w->body_done)
        conn_request_done(c);
    else
        conn_yield(c);
}

void conn_on_wait_io(struct conn *c, bool timeout)
{
    if (!timeout || !conn_deadline_passed(c))
        return; /* readiness: nothing is read until the operation is done */
    conn_log(c, LOG_WARN, "file operation still running after io_wait_timeout=%llums; "
             "closing without an answer", (unsigned long long)conn_cfg(c)->io_wait_timeout_ms);
    conn_want_close(c, CONN_CLOSE_ERROR);
    conn_finish(c, STATS_CLOSE_PLAIN);
}

void conn_on_read_body(struct conn *c, bool timeout)
{
    struct conn_work *w = c->w;
    if (timeout) {
        if (!conn_deadline_passed(c))
            return;
        if (w->body_paused) {
            /* The sink's handler is waiting on its side (its own deadline). */
            c->progress_ms = conn_now_ms(c);
            conn_arm_deadline(c);
            return;
        }
        conn_want_close(c, CONN_CLOSE_BODY_TIMEOUT);
        if (w->responded) {
            conn_abort_sink(c);
            conn_start_close(c, CONN_CLOSE_BODY_TIMEOUT);
        } else {
            conn_body_failed(c, 408);
        }
        return;
    }
    if (!w->sink) {
        /* Given up by its handler (conn_body_abandon), not to be discarded:
         * the connection closes after the response. */
        conn_request_done(c);
        return;
    }
    size_t taken = 0;
    for (int i = 0; i < CONN_READS_PER_WAKE && taken < CONN_BODY_BYTES_PER_WAKE; i++) {
        if (w->body_paused)
            return;
        int fed = conn_feed_body(c);
        if (fed < 0) {
            conn_body_failed(c, -fed);
            return;
        }
        if (fed == 0 && (w->body_paused || !w->sink))
            return; /* resumed, or settled, by conn_wake */
        if (fed > 0) {
            /* A sink that paused on the body's last bytes has nothing more
             * to wait for before its end: on_end answers or waits anew. */
            if (c->state == CONN_WAIT_IO)
                conn_set_state(c, CONN_READ_BODY);
            const struct conn_body_sink *sink = w->sink;
            w->body_done = true;
            w->sink = NULL;
            if (sink->on_end)
                sink->on_end(c, w->sink_ctx);
            /* WAIT_IO: the answer comes with the operation (conn_io_done). */
            if (c->state == CONN_READ_BODY)
                conn_request_done(c);
            return;
        }
        if (c->state == CONN_WAIT_IO)
            return; /* the rest of the body waits for the disk */
        ssize_t n;
        int splice_status = 0; /* on_splice's, with CONN_SPLICE_FAILED */
        if (w->sink == &conn_discard_sink && w->body_framing == HTTP1_BODY_LENGTH &&
            w->in_start == w->in_len)
            n = conn_discard_from_socket(c);
        else if (conn_body_can_splice(c))
            n = conn_splice_body(c, &splice_status);
        else
            n = conn_fill(c);
        if (n == CONN_SPLICE_FAILED) {
            conn_body_failed(c, splice_status);
            return;
        }
        if (n == CONN_SPLICE_WAIT)
            return; /* the sink waits for the disk; conn_io_done resumes */
        if (n > 0) {
            c->progress_ms = conn_now_ms(c);
            taken += (size_t)n;
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

void conn_body_abandon(struct conn *c)
{
    struct conn_work *w = c->w;
    if (c->h2s) {
        http2_stream_abandon_body(c);
        return;
    }
    if (w->body_done || w->sink == &conn_discard_sink)
        return; /* (no sink yet: a body never asked for is settled the same way) */
    w->sink = NULL;
    w->body_paused = false;
    conn_settle_unread_body(c);
    if (w->discard_after)
        w->sink = &conn_discard_sink;
    conn_yield(c);
}

void conn_body_pause(struct conn *c, bool paused)
{
    struct conn_work *w = c->w;
    if (w->body_paused == paused)
        return;
    w->body_paused = paused;
    uint64_t now = conn_now_ms(c);
    if (paused) {
        w->body_paused_ms = now;
    } else {
        if (w->body_clock_ms)
            w->body_clock_ms += now - w->body_paused_ms; /* the handler's wait */
        c->progress_ms = now;
        conn_wake(c);
    }
}

bool conn_body_is_done(const struct conn *c)
{
    return c->w->body_done;
}
