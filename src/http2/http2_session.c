/* http2_session — one connection's HTTP/2 session: nghttp2 fed with the
 * bytes the connection reads, its frames written through the connection's
 * transport, the session's deadlines, the two-step GOAWAY and the abuse
 * limits.
 *
 * Leaves out: a stream's request (http2_request.c) and its answer and body
 * (http2_stream.c); the close itself (conn_close.c: after the last GOAWAY is
 * queued, conn_start_close flushes it, sends close_notify over TLS,
 * half-closes and drains, as for HTTP/1.1).
 *
 * Invariants: nghttp2 is called only from here, outside any handler's call
 * (handlers' conn_* calls only queue bytes, submit and resume), so a stream
 * is never freed under a handler. Request bodies' flow control is the
 * application's (NGHTTP2_OPT_NO_AUTO_WINDOW_UPDATE): a window opens only
 * for bytes a handler took, or that were thrown away (a stream answered
 * early, or closed) and are given back at once. Frames leave in batches:
 * serialized into the connection's queue and written together, up to
 * HTTP2_SEND_BATCH_BYTES a call (cheaper than a write per frame). A DATA
 * frame is written by http2_send_data (NGHTTP2_DATA_FLAG_NO_COPY): its header
 * and its payload straight into the batch, a file's bytes read once (a run
 * of one stream's frames by one preadv a batch).
 * The end: GOAWAY(2^31-1) with a PING, then GOAWAY(last stream) on the
 * PING's ACK or after http2_goaway_timeout, then the streams below it
 * finish, then the close path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http2_internal.h"
#include "outq.h"
#include "stats.h"
#include "transport.h"
#include "transport_tls.h"

/* The PING that times the second GOAWAY carries these bytes. */
static const uint8_t http2_goaway_ping[8] = { 'l', 'i', 'n', 'g', 'e', 'r', 'g', 'o' };

int http2_preface_match(const char *buf, size_t len)
{
    size_t n = len < HTTP2_PREFACE_LEN ? len : HTTP2_PREFACE_LEN;
    if (memcmp(buf, HTTP2_PREFACE, n) != 0)
        return -1;
    return len >= HTTP2_PREFACE_LEN ? 1 : 0;
}

int http2_conn_chosen(struct conn *c)
{
    struct conn_work *w = c->w;
    if (!c->tp.established)
        return 0;
    if (conn_is_tls(c)) {
        c->proto_chosen = true;
        return transport_tls_alpn_is_h2(&c->tp) ? 1 : -1;
    }
    if (!conn_cfg(c)->http2_cleartext || c->requests > 0) {
        c->proto_chosen = true;
        return -1;
    }
    if (w->in_start == w->in_len)
        return 0;
    int m = http2_preface_match(w->in + w->in_start, w->in_len - w->in_start);
    if (m != 0)
        c->proto_chosen = true;
    return m;
}

static uint64_t http2_now(const struct http2_session *s)
{
    return conn_now_ms(s->c);
}

static unsigned http2_code_index(uint32_t code)
{
    return code < STATS_H2_CODES ? code : STATS_H2_CODES - 1;
}

void http2_session_want_run(struct http2_session *s)
{
    s->run_wanted = true;
    conn_yield(s->c);
}

void http2_session_reset(struct http2_session *s, int32_t id, uint32_t code)
{
    struct http2_stream *st = nghttp2_session_get_stream_user_data(s->ng, id);
    if (st) {
        if (st->rst_sent)
            return;
        st->rst_sent = true;
    }
    nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, id, code);
    http2_session_want_run(s);
}

void http2_session_goaway(struct http2_session *s, enum conn_close_reason why)
{
    if (s->goaway_step != HTTP2_GOAWAY_NONE)
        return;
    s->close_why = (uint8_t)why;
    nghttp2_submit_shutdown_notice(s->ng);
    nghttp2_submit_ping(s->ng, NGHTTP2_FLAG_NONE, http2_goaway_ping);
    s->goaway_step = HTTP2_GOAWAY_NOTICE;
    s->goaway_ms = http2_now(s);
    http2_session_want_run(s);
}

/* The second GOAWAY: streams above the last one processed are refused. */
static void http2_session_goaway_final(struct http2_session *s)
{
    if (s->goaway_step != HTTP2_GOAWAY_NOTICE)
        return;
    nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s->ng),
                          NGHTTP2_NO_ERROR, NULL, 0);
    s->goaway_step = HTTP2_GOAWAY_FINAL;
    http2_session_want_run(s);
}

void http2_session_fail(struct http2_session *s, uint32_t code)
{
    if (s->goaway_step == HTTP2_GOAWAY_ERROR)
        return;
    nghttp2_session_terminate_session(s->ng, code);
    s->goaway_step = HTTP2_GOAWAY_ERROR;
    s->close_why = CONN_CLOSE_ERROR;
    http2_session_want_run(s);
}

/* One more event in a window of HTTP2_ABUSE_WINDOW_MS: true past max. */
static bool http2_over_budget(struct http2_session *s, uint64_t *window_ms, uint32_t *count,
                              uint32_t max)
{
    uint64_t now = http2_now(s);
    if (now >= *window_ms + HTTP2_ABUSE_WINDOW_MS) {
        *window_ms = now;
        *count = 0;
    }
    return ++*count > max;
}

static void http2_abuse(struct http2_session *s, enum stats_h2_abuse kind, uint32_t code)
{
    stats_add(&s->c->srv->stats->h2_abuse[kind], 1);
    conn_log(s->c, LOG_INFO, "HTTP/2 %s: GOAWAY(%s)", stats_h2_abuse_name(kind),
             stats_h2_code_name(code));
    http2_session_fail(s, code);
}

/* ---- stream ids (RFC 9113 §5.1, §5.1.1) ---- */

/* Remember a closed stream's id (flag: HTTP2_ID_RESET_BY_US or 0). */
static void http2_remember_closed(struct http2_session *s, int32_t id, uint32_t flag)
{
    if (!s->closed_ids) {
        uint32_t cap = conn_cfg(s->c)->http2_max_concurrent_streams * HTTP2_CLOSED_IDS_PER_STREAM;
        s->closed_ids = calloc(cap, sizeof *s->closed_ids);
        if (!s->closed_ids)
            return; /* then every reused id is PROTOCOL_ERROR (§5.1.1) */
        s->closed_cap = cap;
    }
    uint32_t entry = (uint32_t)id | flag;
    uint32_t prev = s->closed_ids[(s->closed_next + s->closed_cap - 1) % s->closed_cap];
    if ((prev & ~HTTP2_ID_RESET_BY_US) == (uint32_t)id && (prev & HTTP2_ID_RESET_BY_US))
        return; /* our RST_STREAM closed it: already there, marked */
    s->closed_ids[s->closed_next] = entry;
    s->closed_next = (s->closed_next + 1) % s->closed_cap;
}

/* A HEADERS frame may come on this stream id. false: a connection error
 * was submitted. */
static bool http2_headers_id_ok(struct http2_session *s, int32_t id)
{
    if (id <= 0 || !(id & 1))
        return true; /* nghttp2 refuses stream 0 and even ids itself */
    if (id > s->last_client_id) {
        s->last_client_id = id;
        return true;
    }
    if (nghttp2_session_find_stream(s->ng, id))
        return true; /* open: trailers, or nghttp2's own stream-state checks */
    uint32_t code = NGHTTP2_PROTOCOL_ERROR; /* an id never used, or forgotten */
    for (uint32_t i = 0; i < s->closed_cap; i++) {
        uint32_t e = s->closed_ids[i];
        if ((e & ~HTTP2_ID_RESET_BY_US) != (uint32_t)id)
            continue;
        if (e & HTTP2_ID_RESET_BY_US)
            return true; /* §5.1: frames after our RST_STREAM are ignored */
        code = NGHTTP2_STREAM_CLOSED;
    }
    conn_log(s->c, LOG_INFO, "HTTP/2: HEADERS on stream %d, not above %d: GOAWAY(%s)", (int)id,
             (int)s->last_client_id, stats_h2_code_name(code));
    http2_session_fail(s, code);
    return false;
}

/* ---- SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 §6.9.2) ---- */

/* Before a SETTINGS frame is applied: the initial window and the widest
 * stream window it will change. */
static void http2_settings_snapshot(struct http2_session *s)
{
    s->settings_old_window =
        nghttp2_session_get_remote_settings(s->ng, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE);
    s->settings_max_window = 0;
    for (const struct http2_stream *st = s->first; st; st = st->next) {
        int32_t w = nghttp2_session_get_stream_remote_window_size(s->ng, st->id);
        if (w > s->settings_max_window)
            s->settings_max_window = w;
    }
}

/* A change of SETTINGS_INITIAL_WINDOW_SIZE took an open stream's window
 * past 2^31-1: a connection error (nghttp2 resets only the stream). */
static bool http2_settings_overflow(const struct http2_session *s,
                                    const nghttp2_settings *settings)
{
    int64_t initial = s->settings_old_window, widest = s->settings_max_window;
    for (size_t i = 0; i < settings->niv; i++) {
        if (settings->iv[i].settings_id != NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE)
            continue;
        widest += (int64_t)settings->iv[i].value - initial;
        initial = settings->iv[i].value;
        if (s->first && widest > NGHTTP2_MAX_WINDOW_SIZE)
            return true;
    }
    return false;
}

/* ---- nghttp2's callbacks ---- */

static int http2_on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *user)
{
    struct http2_session *s = user;
    const struct config *cfg = conn_cfg(s->c);
    bool control = false;
    switch (hd->type) {
    case NGHTTP2_SETTINGS:
    case NGHTTP2_PING:
    case NGHTTP2_PRIORITY:
        control = !(hd->flags & NGHTTP2_FLAG_ACK) || hd->type != NGHTTP2_PING;
        break;
    case NGHTTP2_DATA:
        control = hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_STREAM);
        break;
    case NGHTTP2_HEADERS:
        control = hd->length == 0;
        break;
    case NGHTTP2_WINDOW_UPDATE:
        control = hd->stream_id != 0 && !nghttp2_session_get_stream_user_data(ng, hd->stream_id);
        break;
    default:
        break;
    }
    if (control && http2_over_budget(s, &s->control_window_ms, &s->control_frames,
                                     cfg->http2_max_control_frames)) {
        http2_abuse(s, STATS_H2_CONTROL_FLOOD, NGHTTP2_ENHANCE_YOUR_CALM);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if (hd->type == NGHTTP2_DATA && hd->stream_id != 0) {
        /* DATA nobody will read (its stream was answered and reset, or is
         * closed): nghttp2 throws it away; its bytes still count against
         * the connection's window, so give them back. */
        struct http2_stream *st = nghttp2_session_get_stream_user_data(ng, hd->stream_id);
        if ((!st || st->end_stream_recv) && hd->length > 0)
            s->credit_pending += hd->length;
    }
    if (hd->type == NGHTTP2_HEADERS && !http2_headers_id_ok(s, hd->stream_id))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (hd->type == NGHTTP2_SETTINGS && !(hd->flags & NGHTTP2_FLAG_ACK))
        http2_settings_snapshot(s);
    if (hd->type == NGHTTP2_HEADERS && hd->stream_id >= HTTP2_STREAM_ID_END &&
        s->goaway_step == HTTP2_GOAWAY_NONE) {
        stats_add(&s->c->srv->stats->h2_abuse[STATS_H2_STREAM_IDS], 1);
        http2_session_goaway(s, CONN_CLOSE_MAX_REQUESTS);
    }
    return 0;
}

static int http2_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    struct http2_session *s = user;
    struct stats *stats = s->c->srv->stats;
    struct http2_stream *st =
        frame->hd.stream_id ? nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id) : NULL;
    s->got_frame = true;
    switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) &&
            http2_settings_overflow(s, &frame->settings)) {
            conn_log(s->c, LOG_INFO, "HTTP/2: SETTINGS_INITIAL_WINDOW_SIZE overflows a stream's "
                                     "window: GOAWAY(FLOW_CONTROL_ERROR)");
            http2_session_fail(s, NGHTTP2_FLOW_CONTROL_ERROR);
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        break;
    case NGHTTP2_HEADERS:
        if (st && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
            st->headers_done = true;
            s->run_wanted = true;
        }
        if (st && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
            http2_stream_on_end(st);
        break;
    case NGHTTP2_DATA:
        if (st && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
            http2_stream_on_end(st);
        break;
    case NGHTTP2_RST_STREAM:
        stats_add(&stats->h2_rst_received[http2_code_index(frame->rst_stream.error_code)], 1);
        if (http2_over_budget(s, &s->resets_window_ms, &s->resets,
                              conn_cfg(s->c)->http2_max_resets)) {
            http2_abuse(s, STATS_H2_RAPID_RESET, NGHTTP2_ENHANCE_YOUR_CALM);
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        break;
    case NGHTTP2_GOAWAY:
        stats_add(&stats->h2_goaway_received[http2_code_index(frame->goaway.error_code)], 1);
        s->peer_goaway = true;
        break;
    case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) &&
            memcmp(frame->ping.opaque_data, http2_goaway_ping, 8) == 0)
            http2_session_goaway_final(s);
        break;
    default:
        break;
    }
    return 0;
}

static int http2_on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                               size_t len, void *user)
{
    struct http2_session *s = user;
    (void)flags;
    struct http2_stream *st = nghttp2_session_get_stream_user_data(ng, id);
    if (!st) {
        nghttp2_session_consume(ng, id, len); /* counted by http2_scan_data */
        return 0;
    }
    http2_stream_on_data(st, data, len);
    s->run_wanted = true;
    return 0;
}

static int http2_on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
    (void)code;
    struct http2_session *s = user;
    http2_remember_closed(s, id, 0);
    if (id == s->data_id && !s->data_counted) {
        /* Closed with a DATA frame half read: nghttp2 drops its rest unseen. */
        stats_add(&s->c->srv->stats->h2_discarded_bytes, s->scan_skip);
        s->data_counted = true;
    }
    struct http2_stream *st = nghttp2_session_get_stream_user_data(ng, id);
    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(ng, id, NULL);
    /* Bytes it held and never gave back: the connection's window wants them. */
    uint64_t held = st->body_len + st->taken_unconsumed;
    if (held)
        nghttp2_session_consume_connection(ng, held);
    http2_stream_free(st);
    return 0;
}

static int http2_on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    struct http2_session *s = user;
    struct stats *stats = s->c->srv->stats;
    switch (frame->hd.type) {
    case NGHTTP2_GOAWAY:
        stats_add(&stats->h2_goaway_sent[http2_code_index(frame->goaway.error_code)], 1);
        break;
    case NGHTTP2_RST_STREAM:
        stats_add(&stats->h2_rst_sent[http2_code_index(frame->rst_stream.error_code)], 1);
        http2_remember_closed(s, frame->hd.stream_id, HTTP2_ID_RESET_BY_US);
        break;
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
            struct http2_stream *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
            if (st)
                http2_stream_on_eof_sent(st);
        }
        break;
    default:
        break;
    }
    return 0;
}

/* ---- bytes in and out ---- */

/* A DATA frame for stream id begins, everything before it processed:
 * count its payload if nobody will read it (the stream was answered
 * early, reset, or closed). nghttp2 drops DATA of a closed stream before
 * any callback, so the count is taken here, from the frame's header. */
static void http2_scan_data(struct http2_session *s, int32_t id, uint32_t length)
{
    s->data_id = id;
    s->data_counted = false;
    if (id <= 0 || id > s->last_client_id || length == 0)
        return; /* stream 0 or idle: a connection error, not a discard */
    const struct http2_stream *st = nghttp2_session_get_stream_user_data(s->ng, id);
    if (!st || st->discarding || st->rst_sent) {
        stats_add(&s->c->srv->stats->h2_discarded_bytes, length);
        s->data_counted = true;
    }
}

/* Feed in[0..len) to nghttp2, stopping before each DATA frame's header
 * completes to count it with the state the frames before it left.
 * Returns what nghttp2_session_mem_recv returned last. */
static ssize_t http2_feed(struct http2_session *s, const uint8_t *in, size_t len)
{
    size_t pos = 0, fed = 0;
    while (pos < len) {
        if (s->scan_skip) {
            size_t n = len - pos < s->scan_skip ? len - pos : s->scan_skip;
            s->scan_skip -= (uint32_t)n;
            pos += n;
            continue;
        }
        size_t n = sizeof s->scan_hd - s->scan_hd_len;
        if (n > len - pos)
            n = len - pos;
        memcpy(s->scan_hd + s->scan_hd_len, in + pos, n);
        s->scan_hd_len = (uint8_t)(s->scan_hd_len + n);
        if (s->scan_hd_len < sizeof s->scan_hd)
            break;
        const uint8_t *hd = s->scan_hd;
        uint32_t length = (uint32_t)hd[0] << 16 | (uint32_t)hd[1] << 8 | hd[2];
        s->scan_hd_len = 0;
        s->scan_skip = length;
        if (hd[3] == NGHTTP2_DATA) {
            int32_t id = (int32_t)(((uint32_t)hd[5] << 24 | (uint32_t)hd[6] << 16 |
                                    (uint32_t)hd[7] << 8 | hd[8]) & 0x7fffffffu);
            if (pos > fed) {
                ssize_t rv = nghttp2_session_mem_recv(s->ng, in + fed, pos - fed);
                if (rv < 0)
                    return rv;
                fed = pos;
            }
            http2_scan_data(s, id, length);
        } else {
            s->data_id = 0; /* the frame in progress is no DATA */
        }
        pos += n;
    }
    return len > fed ? nghttp2_session_mem_recv(s->ng, in + fed, len - fed) : (ssize_t)len;
}

/* Give nghttp2 what was read. false: the session failed (closing). */
static bool http2_recv(struct http2_session *s)
{
    struct conn *c = s->c;
    struct conn_work *w = c->w;
    ssize_t rv = http2_feed(s, (const uint8_t *)w->in + w->in_start, w->in_len - w->in_start);
    w->in_start = w->in_len = 0;
    if (s->credit_pending) {
        nghttp2_session_consume_connection(s->ng, s->credit_pending);
        s->credit_pending = 0;
    }
    if (rv >= 0)
        return true;
    switch (rv) {
    case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
        conn_log(c, LOG_INFO, "HTTP/2: no client preface; closing");
        conn_start_close(c, CONN_CLOSE_ERROR);
        return false;
    case NGHTTP2_ERR_FLOODED:
        stats_add(&c->srv->stats->h2_abuse[STATS_H2_CONTROL_FLOOD], 1);
        http2_session_fail(s, NGHTTP2_ENHANCE_YOUR_CALM);
        break;
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
        http2_abuse(s, STATS_H2_CONTINUATION, NGHTTP2_ENHANCE_YOUR_CALM);
        break;
    case NGHTTP2_ERR_CALLBACK_FAILURE:
        break; /* ours: the GOAWAY is submitted */
    default:
        conn_log(c, LOG_INFO, "HTTP/2: %s", nghttp2_strerror((int)rv));
        http2_session_fail(s, rv == NGHTTP2_ERR_FLOW_CONTROL ? NGHTTP2_FLOW_CONTROL_ERROR
                                                              : NGHTTP2_PROTOCOL_ERROR);
        break;
    }
    s->goaway_step = HTTP2_GOAWAY_ERROR;
    return true;
}

/* Serialize what nghttp2 has to send into the connection's queue, and
 * write it in batches. 0: all out, or the socket is full (the rest waits in
 * the queue and nghttp2 keeps what it has not serialized); -errno: broken. */
static int http2_send(struct http2_session *s)
{
    struct conn *c = s->c;
    struct outq *q = &c->w->out;
    if (q->mem_cap == 0 && s->out_peak && !outq_reserve(q, s->out_peak))
        return -ENOMEM;
    for (;;) {
        if (q->pending >= HTTP2_SEND_BATCH_BYTES) {
            int rc = conn_flush(c);
            if (rc == -EAGAIN)
                return 0;
            if (rc < 0)
                return rc;
        }
        const uint8_t *data;
        s->send_blocked = false;
        ssize_t n = nghttp2_session_mem_send(s->ng, &data);
        if (n < 0)
            return -EPROTO;
        if (n == 0 && s->send_blocked) {
            int rc = conn_flush(c); /* DATA waits for room in the batch */
            if (rc == -EAGAIN)
                return 0;
            if (rc < 0)
                return rc;
            continue;
        }
        if (n == 0)
            break;
        if (outq_append(q, data, (size_t)n) < 0)
            return -ENOMEM;
    }
    int rc = conn_flush(c);
    if (rc == -EAGAIN)
        return 0;
    if (rc == 0 && s->open_streams == 0 && q->mem_cap > HTTP2_IDLE_OUT_BYTES) {
        s->out_peak = q->mem_cap < HTTP2_OUT_PEAK_MAX ? q->mem_cap : HTTP2_OUT_PEAK_MAX;
        outq_fini(q); /* idle: no batch area kept */
    }
    return rc;
}

/* Run the streams that have work: dispatch, bodies, answers, room. */
static void http2_run_streams(struct http2_session *s)
{
    for (int round = 0; round < 4 && s->run_wanted; round++) {
        s->run_wanted = false;
        for (struct http2_stream *st = s->first, *next; st; st = next) {
            next = st->next;
            http2_stream_run(st);
        }
    }
}

/* Everything sent that must be: close when the session is over. */
static void http2_check_end(struct http2_session *s)
{
    struct conn *c = s->c;
    if (nghttp2_session_want_write(s->ng) || !outq_is_empty(&c->w->out))
        return; /* not before the last frames are written (or the socket full) */
    bool over = false;
    switch ((enum http2_goaway_step)s->goaway_step) {
    case HTTP2_GOAWAY_FINAL:
        over = s->open_streams == 0;
        break;
    case HTTP2_GOAWAY_ERROR:
        over = true;
        break;
    case HTTP2_GOAWAY_NONE:
    case HTTP2_GOAWAY_NOTICE:
        /* The client said GOAWAY and has nothing open: nothing more comes. */
        over = !nghttp2_session_want_read(s->ng) ||
               (s->peer_goaway && s->open_streams == 0);
        break;
    }
    if (over)
        conn_start_close(c, s->close_why != CONN_CLOSE_NONE ? (enum conn_close_reason)s->close_why
                                                            : CONN_CLOSE_PEER);
}

uint64_t http2_conn_deadline(const struct conn *c)
{
    const struct http2_session *s = c->h2;
    const struct config *cfg = conn_cfg(c);
    uint64_t d = UINT64_MAX;
#define HTTP2_MIN(x)                                                                           \
    do {                                                                                       \
        uint64_t x_ = (x);                                                                     \
        if (x_ < d)                                                                            \
            d = x_;                                                                            \
    } while (0)
    if (!s)
        return d;
    if (c->w && !outq_is_empty(&c->w->out))
        HTTP2_MIN(c->progress_ms + cfg->send_timeout_ms);
    if (!s->got_frame)
        HTTP2_MIN(c->since_ms + cfg->header_timeout_ms);
    if (s->goaway_step == HTTP2_GOAWAY_NONE && s->open_streams == 0)
        HTTP2_MIN(s->idle_since_ms + cfg->keepalive_timeout_ms);
    if (s->goaway_step == HTTP2_GOAWAY_NOTICE)
        HTTP2_MIN(s->goaway_ms + cfg->http2_goaway_timeout_ms);
    for (const struct http2_stream *st = s->first; st; st = st->next)
        HTTP2_MIN(http2_stream_deadline(st));
#undef HTTP2_MIN
    return d;
}

/* A deadline of the session or of a stream passed. */
static void http2_on_deadline(struct http2_session *s)
{
    struct conn *c = s->c;
    const struct config *cfg = conn_cfg(c);
    uint64_t now = http2_now(s);
    if (!outq_is_empty(&c->w->out) && now >= c->progress_ms + cfg->send_timeout_ms) {
        /* The client reads nothing at all: no frame can reach it. */
        stats_add(&c->srv->stats->h2_abuse[STATS_H2_STALL], 1);
        c->close_why = CONN_CLOSE_SEND_TIMEOUT;
        conn_finish(c, STATS_CLOSE_SEND_TIMEOUT);
        return;
    }
    if (!s->got_frame && now >= c->since_ms + cfg->header_timeout_ms) {
        conn_start_close(c, CONN_CLOSE_HEADER_TIMEOUT);
        return;
    }
    if (s->goaway_step == HTTP2_GOAWAY_NONE && s->open_streams == 0 &&
        now >= s->idle_since_ms + cfg->keepalive_timeout_ms)
        http2_session_goaway(s, CONN_CLOSE_IDLE_TIMEOUT);
    if (s->goaway_step == HTTP2_GOAWAY_NOTICE && now >= s->goaway_ms + cfg->http2_goaway_timeout_ms)
        http2_session_goaway_final(s);
    for (struct http2_stream *st = s->first; st; st = st->next)
        if (now >= http2_stream_deadline(st))
            http2_stream_expire(st);
}

void http2_conn_run(struct conn *c, bool timeout)
{
    struct http2_session *s = c->h2;
    if (timeout) {
        if (!conn_deadline_passed(c))
            return;
        http2_on_deadline(s);
        if (c->state != CONN_H2)
            return;
    }
    /* A few frames per read while streams are open; an idle connection
     * keeps only the standard buffer (the preface's, at the start). */
    if (s->open_streams > 0)
        (void)conn_input_resize(c, HTTP2_READ_BUFFER_BYTES);
    int i;
    for (i = 0; i < CONN_READS_PER_WAKE; i++) {
        struct conn_work *w = c->w;
        if (w->in_start < w->in_len) {
            if (!http2_recv(s))
                return;
            http2_run_streams(s);
            if (c->state != CONN_H2)
                return;
        }
        if (s->goaway_step == HTTP2_GOAWAY_ERROR)
            break; /* read nothing more: the close path drains */
        /* Send before reading more: replies (SETTINGS ACK, answers)
         * should not wait behind a long read. */
        if (http2_send(s) < 0) {
            conn_peer_gone(c, true);
            return;
        }
        ssize_t n = conn_fill(c);
        if (n > 0)
            continue;
        if (n == -EAGAIN)
            break;
        if (n == 0) {
            /* The client ended its side: what is queued still goes. */
            http2_send(s);
            conn_start_close(c, CONN_CLOSE_PEER);
            return;
        }
        conn_peer_gone(c, true);
        return;
    }
    if (i == CONN_READS_PER_WAKE)
        conn_yield(c);
    http2_run_streams(s);
    if (http2_send(s) < 0) {
        conn_peer_gone(c, true);
        return;
    }
    for (struct http2_stream *st = s->first; st; st = st->next)
        conn_offer_room(&st->c);
    if (s->run_wanted)
        conn_yield(c);
    if (s->open_streams == 0)
        (void)conn_input_resize(c, 0); /* idle: the large read buffer goes back */
    http2_check_end(s);
    if (c->state == CONN_H2)
        conn_arm_deadline(c);
}

void http2_conn_drain(struct conn *c)
{
    if (c->h2)
        http2_session_goaway(c->h2, CONN_CLOSE_SHUTDOWN);
}

bool http2_conn_start(struct conn *c)
{
    const struct config *cfg = conn_cfg(c);
    struct http2_session *s = calloc(1, sizeof *s);
    nghttp2_session_callbacks *cbs = NULL;
    nghttp2_option *opt = NULL;
    if (!s || nghttp2_session_callbacks_new(&cbs) != 0 || nghttp2_option_new(&opt) != 0)
        goto fail;
    s->c = c;
    s->scan_skip = HTTP2_PREFACE_LEN; /* the client's preface comes before its frames */
    nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, http2_on_begin_frame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, http2_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, http2_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, http2_on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, http2_on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, http2_on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, http2_on_frame_send);
    nghttp2_session_callbacks_set_send_data_callback(cbs, http2_send_data);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_continuations(opt, cfg->http2_max_continuations);
    /* Resets are counted here (http2_max_resets), with our counter and code. */
    nghttp2_option_set_stream_reset_rate_limit(opt, UINT32_MAX, UINT32_MAX);
    /* Closed streams are not kept for the priority tree (priorities are
     * ignored); the ids the stream-state rules need are kept here. */
    nghttp2_option_set_no_closed_streams(opt, 1);
    /* The worker's lists serve the session's small blocks (http2_mem.c). */
    nghttp2_mem mem = http2_mem_nghttp2(&c->srv->h2_mem);
    if (nghttp2_session_server_new3(&s->ng, cbs, s, opt, &mem) != 0)
        goto fail;
    nghttp2_session_callbacks_del(cbs);
    nghttp2_option_del(opt);
    cbs = NULL;
    opt = NULL;
    uint32_t list_max = cfg->http2_max_header_list_size ? cfg->http2_max_header_list_size
                                                        : cfg->header_max_bytes;
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->http2_max_concurrent_streams },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, cfg->http2_stream_window },
        { NGHTTP2_SETTINGS_MAX_FRAME_SIZE, cfg->http2_max_frame_size },
        { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, list_max },
        { NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1 },
    };
    if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
        nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0,
                                              (int32_t)cfg->http2_connection_window) != 0) {
        nghttp2_session_del(s->ng);
        goto fail;
    }
    struct conn_work *w = c->w;
    c->h2 = s;
    c->was_h2 = true;
    c->proto_chosen = true;
    w->in_request = false;
    s->idle_since_ms = conn_now_ms(c);
    stats_add(&c->srv->stats->h2_connections, 1);
    conn_set_state(c, CONN_H2); /* conn_run goes on with http2_conn_run */
    return true;
fail:
    if (cbs)
        nghttp2_session_callbacks_del(cbs);
    if (opt)
        nghttp2_option_del(opt);
    free(s);
    return false;
}

void http2_conn_free(struct conn *c)
{
    struct http2_session *s = c->h2;
    if (!s)
        return;
    c->h2 = NULL;
    while (s->first)
        http2_stream_free(s->first);
    nghttp2_session_del(s->ng);
    free(s->closed_ids);
    free(s);
}
