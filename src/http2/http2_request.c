/* http2_request — a stream's request: opened on its HEADERS, its fields
 * collected from nghttp2's header callbacks, then built into the same
 * struct http1_request the handlers read for HTTP/1.1, and dispatched.
 *
 * The fields are copied as they come into the stream's read buffer, which
 * a stream does not read into, and the request is built from them by the
 * HTTP/1.1 parser's parts interface (http2_head.c, http1_parts_*): the same
 * byte classes, limits (414, 431) and field meanings as a head sent as
 * text, one set of rules for both protocols, with no text written and
 * scanned again. nghttp2 checks the HTTP/2 rules first (RFC 9113 §8.2-8.3:
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
#include "http2_mem.h"
#include "request.h"
#include "server.h"
#include "stats.h"

/* Stream objects a worker keeps for reuse: a calloc and a free per request
 * cost about 400 instructions of (o)'s 25,000 (bench/README.md). More than
 * this many closed at once (about 270 KB) are freed. */
#define HTTP2_STREAM_POOL_MAX 256

/* A pooled stream is poisoned under AddressSanitizer, so a use after its
 * stream ended is still reported as a use after free would be. */
#ifdef HTTP2_ASAN
#include <sanitizer/asan_interface.h>
#define HTTP2_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define HTTP2_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define HTTP2_POISON(p, n) ((void)(p), (void)(n))
#define HTTP2_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A zeroed stream object: a pooled one cleared whole (nothing of the
 * stream before it survives), or a new one. */
static struct http2_stream *http2_stream_alloc(struct server *srv)
{
    if (srv->h2_stream_free_count == 0)
        return calloc(1, sizeof(struct http2_stream));
    struct http2_stream *st = srv->h2_stream_free[--srv->h2_stream_free_count];
    HTTP2_UNPOISON(st, sizeof *st);
    memset(st, 0, sizeof *st);
    return st;
}

/* Keep st for the next stream, or free it when the pool is full. */
static void http2_stream_release(struct server *srv, struct http2_stream *st)
{
    if (!srv->h2_stream_free) {
        srv->h2_stream_free = calloc(HTTP2_STREAM_POOL_MAX, sizeof *srv->h2_stream_free);
        if (!srv->h2_stream_free) {
            free(st);
            return;
        }
    }
    if (srv->h2_stream_free_count == HTTP2_STREAM_POOL_MAX) {
        free(st);
        return;
    }
    HTTP2_POISON(st, sizeof *st);
    srv->h2_stream_free[srv->h2_stream_free_count++] = st;
}

void http2_stream_pool_fini(struct server *srv)
{
    for (uint32_t i = 0; i < srv->h2_stream_free_count; i++) {
        HTTP2_UNPOISON(srv->h2_stream_free[i], sizeof(struct http2_stream));
        free(srv->h2_stream_free[i]);
    }
    free(srv->h2_stream_free);
    srv->h2_stream_free = NULL;
    srv->h2_stream_free_count = 0;
}

int http2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    struct http2_session *s = user;
    struct conn *carrier = s->c;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct http2_stream *st = http2_stream_alloc(carrier->srv);
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
        http2_stream_release(carrier->srv, st);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    http2_head_init(&st->head, sc->w->in, sc->w->in_cap, sc->w->fields,
                    conn_cfg(sc)->header_fields_max);
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
    s->receiving = st;
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
    struct http2_stream *st = s->receiving;
    if (!st || st->id != frame->hd.stream_id)
        st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
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

/* The head's arena is the stream's read buffer; if it outgrew it, the
 * larger one it moved to takes that place (freed with the work area). */
static void http2_stream_keep_head(struct http2_stream *st)
{
    struct conn_work *w = st->c.w;
    char *grown = http2_head_take_buf(&st->head);
    if (grown) {
        if (w->in_is_large)
            free(w->in);
        w->in = grown;
        w->in_cap = st->head.cap;
        w->in_is_large = true;
    }
    w->head_start = 0;
    w->head_end = w->in_start = w->in_len = st->head.len;
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
    size_t used = 0;
    enum http1_rc rc;
    bool built = http2_head_build(&st->head, &w->parser, &w->req, &used, &rc);
    http2_stream_keep_head(st);
    if (!built) {
        st->dispatched = true;
        http2_session_reset(st->s, st->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
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
    if (s->receiving == st)
        s->receiving = NULL;
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
    http2_stream_release(st->c.srv, st);
}
