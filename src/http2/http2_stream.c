/* http2_stream — a stream's answer and its request body: the head the
 * handler wrote becomes HEADERS, its body (memory or a file span) leaves
 * through an nghttp2 data source, and the client's DATA reaches the
 * handler's sink with the window opened only as the sink takes the bytes.
 *
 * The handler writes a stream's head as for HTTP/1.1 ("Name: value" lines
 * in the stream's output queue: conn_respond.c, its site fields and error
 * pages all take that one path); conn_resp_end hands the lines here, where
 * they become the nv list of HEADERS, names lowercased, connection-specific
 * fields dropped (RFC 9113 §8.2.2). The body stays in the stream's output
 * queue until http2_send_data puts it into a frame in the connection's
 * batch: memory by one copy, a file span by pread straight into the batch,
 * the frames that will follow in a run read with it (one preadv a batch),
 * never the whole file.
 *
 * Early answers (RFC 9113 §8.1): a stream answered before its body is in
 * stops wanting it; its DATA is credited back at once and counted, and once
 * the frame carrying END_STREAM is sent the stream is reset with NO_ERROR,
 * queued behind it (never before: curl reads an early NO_ERROR as a cut
 * answer). Other streams and the connection go on.
 *
 * Leaves out: building the request (http2_request.c), the session and
 * its limits (http2_session.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "http1.h"
#include "http2_internal.h"
#include "outq.h"
#include "server.h"
#include "stats.h"

/* Body bytes handed to a sink in one call: about one DATA frame. (It was
 * chosen so when the proxy's spill could stall on a piece larger than its
 * upstream's send buffer; that is fixed in proxy.c, and a larger piece is
 * not measured to help: kept.) */
#define HTTP2_FEED_BYTES (16 * 1024)

/* The handler is done with its answer: once the queue is empty, END_STREAM. */
static bool http2_stream_answered(const struct http2_stream *st)
{
    const struct conn_work *w = st->c.w;
    return w->responded && st->head_submitted && !st->waiting_io &&
           (!w->deferred || w->deferred_done);
}

static void http2_stream_resume(struct http2_stream *st)
{
    if (st->data_deferred && st->head_submitted && !st->rst_sent) {
        st->data_deferred = false;
        nghttp2_session_resume_data(st->s->ng, st->id);
    }
    http2_session_want_run(st->s);
}

/* How much of the body the next DATA frame carries; the bytes themselves
 * are taken at http2_send_data, straight into the connection's batch
 * (NGHTTP2_DATA_FLAG_NO_COPY: a file span is read once, by pread, into the
 * bytes that are then encrypted and written, and never copied again). */
static ssize_t http2_data_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
                               uint32_t *flags, nghttp2_data_source *source, void *user)
{
    (void)ng;
    (void)id;
    (void)buf;
    (void)user;
    struct http2_stream *st = source->ptr;
    struct conn_work *w = st->c.w;
    size_t n = w->out.pending < length ? (size_t)w->out.pending : length;
    if (n > 0)
        *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == w->out.pending && http2_stream_answered(st)) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (st->trailers && http2_trailer_submit(st, flags) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM(INTERNAL_ERROR) */
        return (ssize_t)n;
    }
    if (n == 0) {
        st->data_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

/* Full frames of the stream's file body that can be read now with the one
 * being written, each into its place behind it in the batch: as many as
 * the batch has room for, the windows allow (nghttp2 takes this frame off
 * them only once it is sent) and the file span holds (a frame that would
 * run past the span is read on its own). Only within a run of the stream's
 * frames (its last frame came from just before, in the same file): streams
 * that take turns frame by frame (an RFC 9218 incremental `priority`)
 * would leave every read-ahead unused, and a file read several times over. */
static size_t http2_ahead_frames(const struct http2_session *s, const struct http2_stream *st,
                                 size_t length)
{
    int fd;
    uint64_t off, span;
    if (length == 0 || !outq_front_file(&st->c.w->out, &fd, &off, &span) || span <= length)
        return 0;
    if (s->run_id != st->id || s->run_fd != fd || s->run_end != off)
        return 0;
    size_t frame = 9 + length;
    size_t used = (size_t)s->c->w->out.pending + frame;
    if (used >= HTTP2_SEND_BATCH_BYTES)
        return 0;
    uint64_t n = (HTTP2_SEND_BATCH_BYTES - used) / frame;
    int32_t stream_window = nghttp2_session_get_stream_remote_window_size(s->ng, st->id);
    int32_t conn_window = nghttp2_session_get_remote_window_size(s->ng);
    int64_t window = (stream_window < conn_window ? stream_window : conn_window) - (int64_t)length;
    if (window < (int64_t)length)
        return 0;
    if ((uint64_t)window / length < n)
        n = (uint64_t)window / length;
    if ((span - length) / length < n)
        n = (span - length) / length;
    return n < HTTP2_AHEAD_FRAMES ? (size_t)n : HTTP2_AHEAD_FRAMES;
}

/* This frame's payload into dst and the next `extra` frames' behind it,
 * each after room for its header, in one preadv. The bytes of this frame
 * (fewer than length: the file shrank), or -errno; the rest is noted as
 * read ahead. */
static ssize_t http2_ahead_read(struct http2_session *s, struct http2_stream *st, char *dst,
                                size_t length, size_t extra)
{
    struct outq *q = &st->c.w->out;
    struct iovec iov[1 + HTTP2_AHEAD_FRAMES];
    int fd;
    uint64_t off, span;
    (void)outq_front_file(q, &fd, &off, &span); /* http2_ahead_frames saw it */
    for (size_t i = 0; i <= extra; i++)
        iov[i] = (struct iovec){ dst + i * (9 + length), length };
    ssize_t n;
    do
        n = preadv(fd, iov, (int)extra + 1, (off_t)off);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if ((size_t)n < length) {
        outq_skip_file(q, (size_t)n);
        ssize_t rest = outq_take(q, dst + n, length - (size_t)n);
        return rest < 0 ? rest : n + rest;
    }
    outq_skip_file(q, length);
    s->ahead_id = st->id; /* http2_frame_sent notes fd and off + length as the run's */
    s->ahead_slot = length;
    s->ahead_bytes = (size_t)n - length;
    return (ssize_t)length;
}

/* The stream's next frame was read ahead: its header goes before the
 * payload already in place. false: nothing valid is (the batch or the
 * stream's queue changed since, or the frame is not the one expected),
 * and the read-ahead is forgotten. */
static bool http2_ahead_take(struct http2_session *s, struct http2_stream *st,
                             const uint8_t *framehd, size_t length)
{
    struct outq *batch = &s->c->w->out;
    struct outq *q = &st->c.w->out;
    int fd;
    uint64_t off, span;
    bool valid = s->ahead_id == st->id && length == s->ahead_slot && length <= s->ahead_bytes &&
                 batch->queued == s->ahead_queued && batch->mem_len == s->ahead_pos &&
                 outq_front_file(q, &fd, &off, &span) && fd == s->run_fd &&
                 off == s->run_end && span >= length;
    if (!valid) {
        s->ahead_id = 0;
        return false;
    }
    char *p = outq_reserve(batch, 9 + length); /* reserved when read: nothing moves */
    memcpy(p, framehd, 9);
    outq_commit(batch, 9 + length);
    outq_skip_file(q, length);
    s->ahead_bytes -= length;
    s->ahead_pos = batch->mem_len;
    s->ahead_queued = batch->queued;
    if (s->ahead_bytes < length)
        s->ahead_id = 0;
    return true;
}

/* A frame of the stream was written: note where its payload came from,
 * for the next frame's read-ahead. */
static void http2_frame_sent(struct http2_session *s, struct http2_stream *st, bool from_file,
                             int fd, uint64_t off, size_t length)
{
    s->run_id = from_file ? st->id : 0;
    s->run_fd = fd;
    s->run_end = off + length;
    st->send_progress_ms = conn_now_ms(&st->c);
}

int http2_send_data(nghttp2_session *ng, nghttp2_frame *frame, const uint8_t *framehd,
                    size_t length, nghttp2_data_source *source, void *user)
{
    (void)ng;
    struct http2_session *s = user;
    struct http2_stream *st = source->ptr;
    struct outq *batch = &s->c->w->out;
    size_t pad = frame->data.padlen; /* 0: no padding is asked for */
    size_t total = 9 + pad + length;
    if (batch->pending > 0 && batch->pending + total > HTTP2_SEND_BATCH_BYTES) {
        s->send_blocked = true; /* write the batch first; nghttp2 calls again */
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    int fd = -1;
    uint64_t off = 0, span = 0;
    bool from_file = outq_front_file(&st->c.w->out, &fd, &off, &span) && span >= length;
    if (pad == 0 && http2_ahead_take(s, st, framehd, length)) {
        http2_frame_sent(s, st, from_file, fd, off, length);
        return 0;
    }
    s->ahead_id = 0;
    size_t extra = pad ? 0 : http2_ahead_frames(s, st, length);
    char *p = outq_reserve(batch, total + extra * (9 + length));
    if (!p)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    memcpy(p, framehd, 9);
    if (pad)
        p[9] = (char)(pad - 1);
    ssize_t n = extra ? http2_ahead_read(s, st, p + 9, length, extra)
                      : outq_take(&st->c.w->out, p + 9 + (pad ? 1 : 0), length);
    if (n != (ssize_t)length) {
        s->ahead_id = 0;
        conn_log(&st->c, LOG_ERROR, "HTTP/2 stream %d: the body could not be read (%s)",
                 (int)st->id,
                 n == -EIO || n >= 0 ? "the file shrank" : strerror((int)-n));
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM(INTERNAL_ERROR) */
    }
    if (pad > 1)
        memset(p + 10 + length, 0, pad - 1);
    outq_commit(batch, total);
    s->ahead_pos = batch->mem_len;
    s->ahead_queued = batch->queued;
    http2_frame_sent(s, st, from_file, fd, off, length);
    return 0;
}

/* Give a stream's unread body back to the windows and count it. */
static void http2_stream_discard(struct http2_stream *st)
{
    struct conn_work *w = st->c.w;
    if (st->discarding)
        return;
    st->discarding = true;
    uint64_t held = st->body_len + st->taken_unconsumed;
    if (held)
        nghttp2_session_consume(st->s->ng, st->id, held);
    stats_add(&st->c.srv->stats->h2_discarded_bytes, st->body_len);
    st->body_len = st->body_start = 0;
    st->taken_unconsumed = 0;
    w->body_done = st->end_stream_recv;
}

/* The high bit of each byte of x that is an ASCII capital letter: the
 * bytes' low seven bits plus an offset carry into the high bit from 'A' on
 * and from past 'Z' on (no carry crosses a byte); bytes >= 0x80 are left. */
static uint64_t http2_capitals(uint64_t x)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = ones * 0x80;
    uint64_t low7 = x & ~high;
    return (low7 + ones * (0x80 - 'A')) & ~(low7 + ones * (0x7f - 'Z')) & ~x & high;
}

/* Lowercase the eight bytes at s. */
static void http2_lower_word(char *s)
{
    uint64_t x;
    memcpy(&x, s, sizeof x);
    x |= http2_capitals(x) >> 2; /* 0x80 >> 2: the 0x20 of lower case */
    memcpy(s, &x, sizeof x);
}

/* Lowercase a field name in place, eight bytes at a time (every name of
 * every response comes through here); lowercasing twice changes nothing,
 * so the last word may overlap the one before. */
static void http2_lower(char *s, size_t n)
{
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if (s[i] >= 'A' && s[i] <= 'Z')
                s[i] = (char)(s[i] - 'A' + 'a');
        return;
    }
    for (size_t i = 0; i + 8 < n; i += 8)
        http2_lower_word(s + i);
    http2_lower_word(s + n - 8);
}

/* Connection-specific fields (RFC 9113 §8.2.2), by length first: most
 * names are ruled out without a comparison. */
static inline bool http2_is_hop_field(const char *name, size_t len)
{
    switch (len) {
    case 7:
        return memcmp(name, "upgrade", 7) == 0;
    case 10:
        return memcmp(name, "connection", 10) == 0 || memcmp(name, "keep-alive", 10) == 0;
    case 16:
        return memcmp(name, "proxy-connection", 16) == 0;
    case 17:
        return memcmp(name, "transfer-encoding", 17) == 0;
    default:
        return false;
    }
}

/* The same for the trailers (http2_trailer.c). The one above stays static
 * inline: called from two places, it was no longer inlined into
 * http2_stream_resp_end, 54 instructions more per h2 request (callgrind). */
bool http2_is_connection_field(const char *name, size_t len)
{
    return http2_is_hop_field(name, len);
}

/* Fields in HEADERS built on the stack; past it the array is allocated. */
#define HTTP2_NV_STACK 32

/* The head's field lines become nv entries pointing into the stream's copy
 * of them (names lowercased in place); content-length is its own entry.
 * nghttp2 is told not to copy (nor lowercase again) names and values: they
 * stay in the stream until it is freed, after its HEADERS is sent or
 * dropped. A second head on one stream (never expected) is copied. */
void http2_stream_resp_end(struct conn *c, int64_t content_length)
{
    struct http2_stream *st = http2_stream_of(c);
    struct conn_work *w = c->w;
    struct server *srv = c->srv;
    if (!w->sink && !w->body_done)
        http2_stream_discard(st); /* answered before the body: nobody reads it */
    if (srv->hsts_len && conn_is_tls(c))
        conn_out(c, srv->hsts_line, srv->hsts_len);
    size_t len = (size_t)w->out.pending;
    uint8_t flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
    char *head = st->resp_head;
    if (head) {
        head = NULL; /* pinned by the first HEADERS: this one is copied */
        flags = NGHTTP2_NV_FLAG_NONE;
    } else if (len <= sizeof st->resp_inline) {
        head = st->resp_inline;
    }
    if (!head)
        head = malloc(len ? len : 1);
    nghttp2_nv nv_stack[HTTP2_NV_STACK];
    nghttp2_nv *nv = nv_stack;
    size_t nv_cap = HTTP2_NV_STACK;
    int rv = NGHTTP2_ERR_NOMEM;
    if (!head || outq_take(&w->out, head, len) != (ssize_t)len)
        goto done;
    int code = w->log_status >= 100 && w->log_status <= 999 ? w->log_status : 500;
    st->resp_status[0] = (char)('0' + code / 100);
    st->resp_status[1] = (char)('0' + code / 10 % 10);
    st->resp_status[2] = (char)('0' + code % 10);
    size_t count = 0;
    nv[count++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)st->resp_status, 7, 3,
                                NGHTTP2_NV_FLAG_NONE }; /* small: copied */
    size_t length_len = 0;
    if (content_length >= 0) {
        length_len = http1_format_u64((uint64_t)content_length, st->resp_length);
        nv[count++] = (nghttp2_nv){ (uint8_t *)"content-length", (uint8_t *)st->resp_length,
                                    14, length_len, flags };
    }
    for (size_t at = 0; at < len;) {
        char *eol = memchr(head + at, '\n', len - at);
        size_t end = eol ? (size_t)(eol - head) : len;
        size_t line_end = end > at && head[end - 1] == '\r' ? end - 1 : end;
        char *colon = memchr(head + at, ':', line_end - at);
        if (colon && colon > head + at) {
            size_t nlen = (size_t)(colon - (head + at));
            http2_lower(head + at, nlen);
            size_t v = (size_t)(colon - head) + 1;
            while (v < line_end && (head[v] == ' ' || head[v] == '\t'))
                v++;
            if (!http2_is_hop_field(head + at, nlen)) {
                if (count == nv_cap) {
                    nghttp2_nv *more = malloc(2 * nv_cap * sizeof *more);
                    if (!more)
                        goto done;
                    memcpy(more, nv, count * sizeof *nv);
                    if (nv != nv_stack)
                        free(nv);
                    nv = more;
                    nv_cap *= 2;
                }
                nv[count++] = (nghttp2_nv){ (uint8_t *)head + at, (uint8_t *)head + v, nlen,
                                            line_end - v, flags };
            }
        }
        at = end + 1;
    }
    /* the head's bytes as HTTP/1.1 would have counted its field lines */
    w->log_bytes = len + (content_length >= 0 ? 18 + length_len : 0);
    bool body = !w->head_only && content_length != 0;
    nghttp2_data_provider prd = { .source.ptr = st, .read_callback = http2_data_read };
    rv = nghttp2_submit_response(st->s->ng, st->id, nv, count, body ? &prd : NULL);
done:
    if (nv != nv_stack)
        free(nv);
    if (flags == NGHTTP2_NV_FLAG_NONE) {
        free(head); /* copied by nghttp2 */
    } else if (head && !st->resp_head) {
        st->resp_head = head; /* freed with the stream */
    }
    if (rv != 0) {
        http2_session_reset(st->s, st->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    st->head_submitted = true;
    st->send_progress_ms = conn_now_ms(c);
    http2_session_want_run(st->s);
}

void http2_stream_resp_more(struct conn *c)
{
    http2_stream_resume(http2_stream_of(c));
}

void http2_stream_wake(struct conn *c)
{
    http2_stream_resume(http2_stream_of(c));
}

void http2_stream_cut(struct conn *c)
{
    struct http2_stream *st = http2_stream_of(c);
    /* Only a stream still open: one closed by nghttp2 is being freed, and
     * the connection's close (its session detached) ends them all; asking
     * it to run then would put a closing connection on the ready list. */
    if (st->eof_sent || st->s->c->h2 != st->s ||
        nghttp2_session_get_stream_user_data(st->s->ng, st->id) != st)
        return;
    http2_session_reset(st->s, st->id, NGHTTP2_INTERNAL_ERROR);
}

static void http2_stream_body_failed(struct http2_stream *st, int status);

/* The whole body went to the sink: its trailer fields, then its on_end
 * (which answers, or waits for the disk). */
static void http2_stream_end_sink(struct http2_stream *st)
{
    struct conn *c = &st->c;
    struct conn_work *w = c->w;
    int status = st->trailers ? http2_trailer_to_sink(st) : 0;
    if (status) {
        http2_stream_body_failed(st, status);
        return;
    }
    const struct conn_body_sink *sink = w->sink;
    w->body_done = true;
    w->sink = NULL;
    st->ended_sink = true;
    if (sink->on_end)
        sink->on_end(c, w->sink_ctx);
}

void http2_stream_read_body(struct conn *c)
{
    struct http2_stream *st = http2_stream_of(c);
    struct conn_work *w = c->w;
    st->body_progress_ms = conn_now_ms(c);
    if (st->discarding) {
        /* answered already: the body is gone, and the sink hears so */
        conn_abort_sink(c);
        return;
    }
    if (w->body_done || (st->end_stream_recv && st->body_len == 0)) {
        http2_stream_end_sink(st); /* an empty body: on_end answers at once */
        return;
    }
    http2_session_want_run(st->s);
}

void http2_stream_abandon_body(struct conn *c)
{
    struct http2_stream *st = http2_stream_of(c);
    struct conn_work *w = c->w;
    w->sink = NULL;
    w->body_paused = false;
    if (!w->body_done)
        http2_stream_discard(st);
    http2_session_want_run(st->s);
}

void http2_stream_wait_io(struct conn *c)
{
    struct http2_stream *st = http2_stream_of(c);
    st->waiting_io = true;
    c->since_ms = conn_now_ms(c);
}

void http2_stream_io_done(struct conn *c)
{
    struct http2_stream *st = http2_stream_of(c);
    if (!st->waiting_io)
        return;
    st->waiting_io = false;
    c->w->io_cancel = NULL;
    /* The disk took what the sink was given: open the window for it. */
    if (st->taken_unconsumed && !st->rst_sent) {
        nghttp2_session_consume(st->s->ng, st->id, st->taken_unconsumed);
        st->taken_unconsumed = 0;
    }
    st->body_progress_ms = conn_now_ms(c);
    http2_stream_resume(st);
}

void http2_stream_on_data(struct http2_stream *st, const uint8_t *data, size_t len)
{
    st->body_progress_ms = conn_now_ms(&st->c);
    if (st->discarding || st->rst_sent) {
        nghttp2_session_consume(st->s->ng, st->id, len);
        /* A frame that began before the early answer was not counted at
         * its header (http2_scan_data): what of it is thrown away is. */
        if (!st->s->data_counted)
            stats_add(&st->c.srv->stats->h2_discarded_bytes, len);
        return;
    }
    /* Bounded by the stream's window: nghttp2 refuses DATA past it. */
    if (st->body_start + st->body_len + len > st->body_cap) {
        if (st->body_start) {
            memmove(st->body, st->body + st->body_start, st->body_len);
            st->body_start = 0;
        }
        if (st->body_len + len > st->body_cap) {
            size_t cap = st->body_cap ? st->body_cap : 16384;
            while (cap < st->body_len + len)
                cap *= 2;
            char *p = realloc(st->body, cap);
            if (!p) {
                http2_session_reset(st->s, st->id, NGHTTP2_INTERNAL_ERROR);
                nghttp2_session_consume(st->s->ng, st->id, len);
                return;
            }
            st->body = p;
            st->body_cap = cap;
        }
    }
    memcpy(st->body + st->body_start + st->body_len, data, len);
    st->body_len += len;
}

void http2_stream_on_end(struct http2_stream *st)
{
    st->end_stream_recv = true;
    if (st->discarding)
        st->c.w->body_done = true;
    http2_session_want_run(st->s);
}

/* A body failed (the sink said 413, 500, 507): answer if nothing was. */
static void http2_stream_body_failed(struct http2_stream *st, int status)
{
    struct conn *c = &st->c;
    conn_abort_sink(c);
    conn_cancel_deferred(c);
    http2_stream_discard(st);
    if (!c->w->responded)
        conn_resp_error(c, status, NULL);
}

/* Feed the buffered body to the sink while it takes bytes. */
static void http2_stream_feed(struct http2_stream *st)
{
    struct conn *c = &st->c;
    struct conn_work *w = c->w;
    while (w->sink && !w->body_paused && !st->waiting_io && st->body_len > 0) {
        size_t n = st->body_len < HTTP2_FEED_BYTES ? st->body_len : HTTP2_FEED_BYTES;
        const char *p = st->body + st->body_start;
        const struct conn_body_sink *sink = w->sink;
        w->body_bytes += n;
        if (w->body_framing != HTTP1_BODY_LENGTH && w->body_bytes > w->body_max) {
            http2_stream_body_failed(st, 413);
            return;
        }
        st->body_start += n;
        st->body_len -= n;
        int status = sink->on_data ? sink->on_data(c, w->sink_ctx, p, n) : 0;
        if (status) {
            st->taken_unconsumed += n;
            http2_stream_body_failed(st, status);
            return;
        }
        if (st->waiting_io)
            st->taken_unconsumed += n; /* opened when the disk has them */
        else
            nghttp2_session_consume(st->s->ng, st->id, n);
    }
    if (st->body_len == 0)
        st->body_start = 0;
    if (w->sink && !st->ended_sink && st->end_stream_recv && st->body_len == 0 &&
        !st->waiting_io && !w->body_paused)
        http2_stream_end_sink(st);
}

void http2_stream_run(struct http2_stream *st)
{
    struct conn_work *w = st->c.w;
    if (st->rst_sent)
        return;
    if (!st->dispatched) {
        if (!st->headers_done)
            return;
        http2_stream_dispatch(st);
        if (st->rst_sent)
            return;
    }
    http2_stream_feed(st);
    if (!w->sink && !w->deferred && !w->body_done && !st->discarding && w->responded)
        http2_stream_discard(st);
    if (st->head_submitted && st->data_deferred &&
        (!outq_is_empty(&w->out) || http2_stream_answered(st))) {
        st->data_deferred = false;
        nghttp2_session_resume_data(st->s->ng, st->id);
    }
}

void http2_stream_on_eof_sent(struct http2_stream *st)
{
    st->eof_sent = true;
    /* The whole answer is on its way and the client is still sending: ask
     * it to stop (RFC 9113 §8.1), now that the answer cannot be cut. */
    if (!st->end_stream_recv)
        http2_session_reset(st->s, st->id, NGHTTP2_NO_ERROR);
}

uint64_t http2_stream_deadline(const struct http2_stream *st)
{
    const struct conn *c = &st->c;
    const struct config *cfg = conn_cfg(c);
    const struct conn_work *w = c->w;
    uint64_t d = UINT64_MAX;
    if (st->rst_sent || st->eof_sent || st->s->goaway_step == HTTP2_GOAWAY_ERROR)
        return d;
    if (!st->dispatched)
        d = c->since_ms + cfg->header_timeout_ms;
    else if (st->waiting_io)
        d = c->since_ms + cfg->io_wait_timeout_ms;
    else if (st->head_submitted && (!outq_is_empty(&w->out) || http2_stream_answered(st)))
        d = st->send_progress_ms + cfg->send_timeout_ms; /* a window that stays shut */
    else if (w->sink && !w->body_paused && !st->end_stream_recv)
        d = st->body_progress_ms + cfg->body_timeout_ms;
    return d;
}

void http2_stream_expire(struct http2_stream *st)
{
    struct conn *c = &st->c;
    struct conn_work *w = c->w;
    if (!st->headers_done) {
        /* A header block left open: until it ends nothing but its
         * CONTINUATION may come (RFC 9113 §6.10) and HPACK's state is
         * mid-block, so no stream can use the connection again. */
        conn_log(c, LOG_INFO, "HTTP/2 stream %d: header block open for header_timeout; GOAWAY",
                 (int)st->id);
        http2_session_fail(st->s, NGHTTP2_PROTOCOL_ERROR);
        st->s->close_why = CONN_CLOSE_HEADER_TIMEOUT;
        return;
    }
    if (st->head_submitted && !st->waiting_io) {
        stats_add(&c->srv->stats->h2_abuse[STATS_H2_STALL], 1);
        conn_log(c, LOG_INFO, "HTTP/2 stream %d: nothing sent for send_timeout; reset",
                 (int)st->id);
    } else if (st->dispatched && w->sink && !w->responded && !st->waiting_io) {
        http2_stream_body_failed(st, 408);
        return;
    }
    http2_session_reset(st->s, st->id, NGHTTP2_CANCEL);
}
