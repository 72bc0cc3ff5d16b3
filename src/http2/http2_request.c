/* http2_request — a stream's request: opened on its HEADERS, its fields
 * collected from nghttp2's header callbacks, then built into the same
 * struct http1_request the handlers read for HTTP/1.1, and dispatched.
 *
 * The request is built by writing its head as HTTP/1.1 text (http2_head.c:
 * "GET /p HTTP/1.1", Host from :authority, the fields) into the stream's
 * read buffer and parsing it with the HTTP/1.1 parser: the same byte
 * classes, limits (414, 431) and field handling, one code path for both
 * protocols. nghttp2 checks the HTTP/2 rules first (RFC 9113 §8.2-8.3:
 * lowercase names, pseudo-header fields, connection-specific fields, TE,
 * content-length against DATA) and resets a stream that breaks them with
 * PROTOCOL_ERROR; http2_head.c adds what it leaves to the server: CONNECT,
 * the form of :path, a Host that disagrees with :authority, and the header
 * list's size (431 here, counted as an HPACK bomb).
 *
 * Leaves out: the answer and the body (http2_stream.c), the session
 * (http2_session.c).
 */
#include <stdlib.h>
#include <string.h>

#include "http2_internal.h"
#include "request.h"
#include "server.h"
#include "stats.h"

int http2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    struct http2_session *s = user;
    struct conn *carrier = s->c;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct http2_stream *st = calloc(1, sizeof *st);
    if (!st)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    struct conn *sc = &st->c;
    sc->srv = carrier->srv;
    sc->h2s = st;
    sc->id = carrier->id;
    sc->state = CONN_H2_STREAM;
    sc->keep_alive = true;
    sc->tp = carrier->tp; /* read only: TLS version, cipher and SNI for logs */
    sc->watch.fd = carrier->watch.fd;
    sc->peer_port = carrier->peer_port;
    sc->peer_family = carrier->peer_family;
    memcpy(sc->peer_addr, carrier->peer_addr, sizeof sc->peer_addr);
    sc->via_family = carrier->via_family;
    sc->via_port = carrier->via_port;
    memcpy(sc->via_addr, carrier->via_addr, sizeof sc->via_addr);
    sc->since_ms = sc->progress_ms = conn_now_ms(carrier);
    if (!conn_take_work(sc)) {
        free(st);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    st->s = s;
    st->id = frame->hd.stream_id;
    st->next = s->first;
    if (s->first)
        s->first->prev = st;
    s->first = st;
    s->open_streams++;
    s->streams_total++;
    stats_add(&carrier->srv->stats->h2_streams, 1);
    nghttp2_session_set_stream_user_data(ng, st->id, st);
    /* keepalive_requests counts streams: the graceful end lets this one and
     * those in flight finish. */
    if (s->streams_total >= conn_cfg(carrier)->keepalive_requests)
        http2_session_goaway(s, CONN_CLOSE_MAX_REQUESTS);
    else if (carrier->srv->stopping)
        http2_session_goaway(s, CONN_CLOSE_SHUTDOWN);
    return 0;
}

int http2_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                    void *user)
{
    struct http2_session *s = user;
    (void)flags;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return http2_trailer_on_header(ng, frame, name, namelen, value, valuelen);
    struct http2_stream *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (!st)
        return 0;
    const struct config *cfg = conn_cfg(s->c);
    uint32_t list_max = cfg->http2_max_header_list_size ? cfg->http2_max_header_list_size
                                                        : cfg->header_max_bytes;
    switch (http2_head_add(&st->head, name, namelen, value, valuelen, list_max)) {
    case HTTP2_HEAD_OK:
        return 0;
    case HTTP2_HEAD_TOO_BIG:
        /* answered 431 once the block is decoded */
        stats_add(&s->c->srv->stats->h2_abuse[STATS_H2_HEADER_LIST], 1);
        return 0;
    case HTTP2_HEAD_MALFORMED:
        http2_session_reset(s, st->id, NGHTTP2_PROTOCOL_ERROR);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    case HTTP2_HEAD_NOMEM:
        break;
    }
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM(INTERNAL_ERROR) */
}

/* Prepare the stream's work area for a request as conn.c's conn_on_head
 * does for HTTP/1.1 (has_head: req holds a parsed head). */
static void http2_stream_begin_request(struct http2_stream *st, bool has_head, uint32_t head_len)
{
    struct conn *sc = &st->c;
    struct conn *carrier = st->s->c;
    struct conn_work *w = sc->w;
    const struct config *cfg = conn_cfg(sc);
    w->in_request = true;
    w->responded = false;
    w->discard_after = false;
    w->sink = NULL;
    conn_work_clear_deferred(w);
    w->head_only = has_head && w->req.method == HTTP1_METHOD_HEAD;
    w->body_framing = has_head ? w->req.framing : HTTP1_BODY_NONE;
    w->body_left = has_head && w->req.framing == HTTP1_BODY_LENGTH ? w->req.content_length : 0;
    w->body_done = st->end_stream_recv && st->body_len == 0;
    w->body_bytes = 0;
    w->body_max = UINT64_MAX;
    w->lingering_close = cfg->lingering_close;
    w->loc = NULL;
    w->log_has_head = has_head;
    w->log_head_bytes = head_len;
    w->log_start_ms = sc->since_ms;
    w->real_family = 0;
    carrier->requests++;
    sc->requests = carrier->requests;
    stats_add(&sc->srv->stats->requests, 1);
    stats_add(&sc->srv->stats->requests_h2, 1);
    st->dispatched = true;
    st->body_progress_ms = conn_now_ms(sc);
}

/* Write the head as HTTP/1.1 text into the stream's read buffer. false:
 * out of memory. */
static bool http2_stream_write_head(struct http2_stream *st, size_t *len)
{
    struct conn_work *w = st->c.w;
    size_t need = http2_head_text_len(&st->head);
    if (need > w->in_cap) {
        char *in = malloc(need);
        if (!in)
            return false;
        if (w->in_is_large)
            free(w->in);
        w->in = in;
        w->in_cap = (uint32_t)need;
        w->in_is_large = true;
    }
    *len = http2_head_write(&st->head, w->in);
    return true;
}

/* Answer a stream whose head is refused with status (431, 414, ...). */
static void http2_stream_refuse(struct http2_stream *st, int status)
{
    struct conn *sc = &st->c;
    http2_stream_begin_request(st, false, 0);
    conn_resp_error(sc, status, NULL);
}

void http2_stream_dispatch(struct http2_stream *st)
{
    struct conn *sc = &st->c;
    struct conn_work *w = sc->w;
    if (st->head.too_big) {
        http2_stream_refuse(st, 431);
        return;
    }
    if (!http2_head_pseudo_ok(&st->head)) {
        st->dispatched = true;
        http2_session_reset(st->s, st->id, NGHTTP2_PROTOCOL_ERROR);
        return;
    }
    size_t len;
    if (!http2_stream_write_head(st, &len)) {
        st->dispatched = true;
        http2_session_reset(st->s, st->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    size_t used = 0;
    enum http1_rc rc = http1_parse_head(&w->parser, w->in, len, &w->req, &used);
    if (rc != HTTP1_DONE) {
        int status = rc == HTTP1_ERROR ? w->parser.status : 400;
        conn_log(sc, LOG_INFO, "HTTP/2 stream %d: bad request: %s", (int)st->id,
                 rc == HTTP1_ERROR ? w->parser.reason : "incomplete head");
        if (status == 400) {
            /* a malformed request (RFC 9113 §8.1.1): a stream error */
            st->dispatched = true;
            http2_session_reset(st->s, st->id, NGHTTP2_PROTOCOL_ERROR);
        } else {
            http2_stream_refuse(st, status);
        }
        return;
    }
    w->req.http2 = true;
    if (!st->head.has_length) /* (trailers alone are a body's end: chunked carries them) */
        w->req.framing = st->end_stream_recv && st->body_len == 0 && !st->trailers
                             ? HTTP1_BODY_NONE
                             : HTTP1_BODY_CHUNKED;
    w->head_start = 0;
    w->head_end = w->in_start = w->in_len = (uint32_t)used;
    http2_stream_begin_request(st, true, (uint32_t)used);
    request_dispatch(sc);
    if (!w->responded && !w->sink && !w->deferred && !st->waiting_io) {
        conn_log(sc, LOG_ERROR, "request left unanswered; 500 sent");
        conn_resp_error(sc, 500, NULL);
    }
}

void http2_stream_free(struct http2_stream *st)
{
    struct http2_session *s = st->s;
    if (st->prev)
        st->prev->next = st->next;
    else
        s->first = st->next;
    if (st->next)
        st->next->prev = st->prev;
    if (--s->open_streams == 0)
        s->idle_since_ms = conn_now_ms(s->c);
    conn_drop_work(&st->c); /* the handler is told; the access log line is written */
    http2_head_free(&st->head);
    if (st->trailers)
        http2_trailer_free(st);
    if (st->resp_head != st->resp_inline)
        free(st->resp_head);
    free(st->body);
    free(st);
}
