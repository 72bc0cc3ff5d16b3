/* http2_request — a stream's request: opened on its HEADERS, its fields
 * collected from nghttp2's header callbacks, then built into the same
 * struct http1_request the handlers read for HTTP/1.1, and dispatched.
 *
 * The request is built by writing its head as HTTP/1.1 text ("GET /p
 * HTTP/1.1", Host from :authority, the fields) into the stream's read
 * buffer and parsing it with the HTTP/1.1 parser: the same byte classes,
 * limits (414, 431) and field handling, one code path for both protocols.
 * nghttp2 checks the HTTP/2 rules first (RFC 9113 §8.2-8.3: lowercase
 * names, pseudo-header fields, connection-specific fields, TE, content-length
 * against DATA) and resets a stream that breaks them with PROTOCOL_ERROR;
 * this file adds what it leaves to the server: CONNECT, the form of :path,
 * a Host that disagrees with :authority, and the header list's size (431,
 * counted as an HPACK bomb).
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

enum { HTTP2_PSEUDO_METHOD, HTTP2_PSEUDO_PATH, HTTP2_PSEUDO_AUTHORITY, HTTP2_PSEUDO_SCHEME };

/* Append bytes to a growable buffer. false: out of memory. */
static bool http2_buf_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n)
            c *= 2;
        char *p = realloc(*buf, c);
        if (!p)
            return false;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    return true;
}

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

static int http2_pseudo_index(const uint8_t *name, size_t len)
{
    static const char *const names[] = { ":method", ":path", ":authority", ":scheme" };
    for (int i = 0; i < 4; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return i;
    return -1;
}

int http2_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                    void *user)
{
    struct http2_session *s = user;
    (void)flags;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers: accepted, not used */
    struct http2_stream *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (!st || st->too_big)
        return 0;
    /* RFC 9113 §6.5.2: a field counts its name, value and 32 bytes. */
    const struct config *cfg = conn_cfg(s->c);
    uint32_t list_max = cfg->http2_max_header_list_size ? cfg->http2_max_header_list_size
                                                        : cfg->header_max_bytes;
    st->list_bytes += (uint32_t)(namelen + valuelen + 32);
    if (st->list_bytes > list_max) {
        st->too_big = true; /* answered 431 once the block is decoded */
        stats_add(&s->c->srv->stats->h2_abuse[STATS_H2_HEADER_LIST], 1);
        return 0;
    }
    if (namelen > 0 && name[0] == ':') {
        int i = http2_pseudo_index(name, namelen);
        if (i < 0)
            return 0; /* nghttp2 refused unknown ones before this */
        free(st->pseudo[i]);
        st->pseudo[i] = malloc(valuelen + 1);
        if (!st->pseudo[i])
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        memcpy(st->pseudo[i], value, valuelen + 1);
        st->pseudo_len[i] = valuelen;
        return 0;
    }
    if (namelen == 14 && memcmp(name, "content-length", 14) == 0)
        st->has_length = true;
    if (namelen == 4 && memcmp(name, "host", 4) == 0 && st->pseudo[HTTP2_PSEUDO_AUTHORITY]) {
        /* RFC 9113 §8.3.1: Host and :authority must name the same origin. */
        if (valuelen != st->pseudo_len[HTTP2_PSEUDO_AUTHORITY] ||
            strncasecmp((const char *)value, st->pseudo[HTTP2_PSEUDO_AUTHORITY], valuelen) != 0) {
            http2_session_reset(s, st->id, NGHTTP2_PROTOCOL_ERROR);
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        return 0; /* the Host line is written from :authority */
    }
    if (!http2_buf_append(&st->fields, &st->fields_len, &st->fields_cap, name, namelen) ||
        !http2_buf_append(&st->fields, &st->fields_len, &st->fields_cap, ": ", 2) ||
        !http2_buf_append(&st->fields, &st->fields_len, &st->fields_cap, value, valuelen) ||
        !http2_buf_append(&st->fields, &st->fields_len, &st->fields_cap, "\r\n", 2))
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
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
    const char *method = st->pseudo[HTTP2_PSEUDO_METHOD];
    const char *path = st->pseudo[HTTP2_PSEUDO_PATH];
    const char *authority = st->pseudo[HTTP2_PSEUDO_AUTHORITY];
    size_t need = st->pseudo_len[HTTP2_PSEUDO_METHOD] + st->pseudo_len[HTTP2_PSEUDO_PATH] + 12 +
                  (authority ? st->pseudo_len[HTTP2_PSEUDO_AUTHORITY] + 8 : 0) + st->fields_len + 2;
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
    char *p = w->in;
#define HTTP2_PUT(src, n)                                                                      \
    do {                                                                                       \
        memcpy(p, (src), (n));                                                                 \
        p += (n);                                                                              \
    } while (0)
    HTTP2_PUT(method, st->pseudo_len[HTTP2_PSEUDO_METHOD]);
    HTTP2_PUT(" ", 1);
    HTTP2_PUT(path, st->pseudo_len[HTTP2_PSEUDO_PATH]);
    HTTP2_PUT(" HTTP/1.1\r\n", 11);
    if (authority) {
        HTTP2_PUT("host: ", 6);
        HTTP2_PUT(authority, st->pseudo_len[HTTP2_PSEUDO_AUTHORITY]);
        HTTP2_PUT("\r\n", 2);
    }
    if (st->fields_len)
        HTTP2_PUT(st->fields, st->fields_len);
    HTTP2_PUT("\r\n", 2);
#undef HTTP2_PUT
    *len = (size_t)(p - w->in);
    return true;
}

/* Whether the pseudo-header fields make a request this server takes; else
 * the stream is malformed (RFC 9113 §8.1.1). */
static bool http2_stream_pseudo_ok(const struct http2_stream *st)
{
    const char *method = st->pseudo[HTTP2_PSEUDO_METHOD];
    const char *path = st->pseudo[HTTP2_PSEUDO_PATH];
    if (!method || !path || !st->pseudo[HTTP2_PSEUDO_SCHEME])
        return false; /* CONNECT (the only form without them) is not served */
    if (strcmp(method, "CONNECT") == 0)
        return false;
    if (path[0] == '/')
        return true;
    return strcmp(path, "*") == 0 && strcmp(method, "OPTIONS") == 0;
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
    if (st->too_big) {
        http2_stream_refuse(st, 431);
        return;
    }
    if (!http2_stream_pseudo_ok(st)) {
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
    if (!st->has_length)
        w->req.framing = st->end_stream_recv && st->body_len == 0 ? HTTP1_BODY_NONE
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
    for (int i = 0; i < 4; i++)
        free(st->pseudo[i]);
    free(st->fields);
    free(st->body);
    free(st);
}
