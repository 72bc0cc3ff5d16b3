/* http2_trailer — a stream's trailer fields both ways (RFC 9113 §8.1): the
 * client's trailing HEADERS handed to the body's sink, the answer's trailer
 * fields sent as a trailing HEADERS with END_STREAM.
 *
 * The client's: nghttp2 has already refused what RFC 9113 forbids there (a
 * pseudo-header field, uppercase, a connection-specific field, a trailing
 * HEADERS without END_STREAM: stream errors); each field is then checked
 * with the byte rules of an HTTP/1.1 head (a bad one is PROTOCOL_ERROR, as
 * in a head) and kept as "name: value\r\n" lines, at most trailer_max_bytes
 * of them counted so. They reach the sink's on_trailer when the body is
 * whole, just before on_end; a larger section gets 400 there, as the
 * HTTP/1.1 chunked decoder gives.
 *
 * The answer's: the handler's lines (conn_resp_trailers) are kept, names
 * lowercased and connection-specific fields dropped; when the data source
 * reaches the end of the body it ends the DATA without END_STREAM and
 * submits them (nghttp2_submit_trailer), whose HEADERS carries END_STREAM.
 *
 * Memory is taken only for a stream that has trailers.
 *
 * Leaves out: which fields a proxy relays (proxy_trailer.c), the body and
 * the data source (http2_stream.c).
 */
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "http2_internal.h"

struct http2_trailers {
    char *req;               /* the client's, as "name: value\r\n" lines, in
                              * trailer_max_bytes taken at the first */
    size_t req_len;
    bool req_too_big;        /* past trailer_max_bytes: the body fails with 400 */
    char *resp;              /* the answer's, lowercased, to send after the body */
    size_t resp_len;
};

static struct http2_trailers *http2_trailers_of(struct http2_stream *st)
{
    if (!st->trailers)
        st->trailers = calloc(1, sizeof *st->trailers);
    return st->trailers;
}

int http2_trailer_on_header(nghttp2_session *ng, const nghttp2_frame *frame,
                            const uint8_t *name, size_t namelen, const uint8_t *value,
                            size_t valuelen)
{
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_HEADERS)
        return 0;
    struct http2_stream *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (!st)
        return 0; /* reset by us: ignored */
    if (!http1_is_token((const char *)name, namelen) ||
        !http1_is_field_value((const char *)value, valuelen)) {
        conn_log(&st->c, LOG_INFO, "HTTP/2 stream %d: malformed trailer field; reset",
                 (int)st->id);
        http2_session_reset(st->s, st->id, NGHTTP2_PROTOCOL_ERROR);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    if (st->discarding)
        return 0; /* answered early: nobody reads the body's end */
    struct http2_trailers *t = http2_trailers_of(st);
    if (!t)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM(INTERNAL_ERROR) */
    if (t->req_too_big)
        return 0; /* decoded (HPACK's state must follow), not kept */
    size_t line = namelen + 2 + valuelen + 2;
    uint32_t max = conn_cfg(&st->c)->trailer_max_bytes;
    if (t->req_len + line > max) {
        t->req_too_big = true;
        return 0;
    }
    /* The whole bound at once: a stream rarely sends trailers, and this is
     * one allocation with no growing. */
    if (!t->req && !(t->req = malloc(max)))
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM(INTERNAL_ERROR) */
    char *p = t->req + t->req_len;
    memcpy(p, name, namelen);
    memcpy(p + namelen, ": ", 2);
    memcpy(p + namelen + 2, value, valuelen);
    memcpy(p + namelen + 2 + valuelen, "\r\n", 2);
    t->req_len += line;
    return 0;
}

int http2_trailer_to_sink(struct http2_stream *st)
{
    struct http2_trailers *t = st->trailers;
    struct conn_work *w = st->c.w;
    if (!t)
        return 0;
    if (t->req_too_big) {
        conn_log(&st->c, LOG_INFO, "HTTP/2 stream %d: trailer section over "
                 "trailer_max_bytes=%u; 400", (int)st->id, conn_cfg(&st->c)->trailer_max_bytes);
        return 400;
    }
    if (!t->req_len || !w->sink || !w->sink->on_trailer)
        return 0;
    return w->sink->on_trailer(&st->c, w->sink_ctx, t->req, t->req_len);
}

bool http2_stream_resp_trailers(struct conn *c, const char *lines, size_t len)
{
    struct http2_stream *st = http2_stream_of(c);
    if (!len)
        return true;
    struct http2_trailers *t = http2_trailers_of(st);
    char *copy = t ? malloc(len) : NULL;
    if (!copy)
        return false;
    memcpy(copy, lines, len);
    free(t->resp);
    t->resp = copy;
    t->resp_len = len;
    return true;
}

/* The answer's trailer lines as nv entries pointing into t->resp (names
 * lowercased in place); connection-specific fields are left out (RFC 9113
 * §8.2.2). Returns the count; nv has room for one entry per line. */
static size_t http2_trailer_nv(struct http2_trailers *t, nghttp2_nv *nv)
{
    struct http1_slice name, value;
    size_t at = 0, count = 0;
    while (http1_trailer_next(t->resp, t->resp_len, &at, &name, &value)) {
        char *n = t->resp + name.off;
        for (size_t i = 0; i < name.len; i++)
            if (n[i] >= 'A' && n[i] <= 'Z')
                n[i] = (char)(n[i] - 'A' + 'a');
        if (name.len == 0 || http2_is_connection_field(n, name.len) ||
            (name.len == 2 && memcmp(n, "te", 2) == 0))
            continue;
        nv[count++] = (nghttp2_nv){ (uint8_t *)n, (uint8_t *)t->resp + value.off, name.len,
                                    value.len, NGHTTP2_NV_FLAG_NONE };
    }
    return count;
}

int http2_trailer_submit(struct http2_stream *st, uint32_t *flags)
{
    struct http2_trailers *t = st->trailers;
    if (!t || !t->resp_len)
        return 0;
    size_t lines = 0;
    for (size_t i = 0; i < t->resp_len; i++)
        lines += t->resp[i] == '\n';
    nghttp2_nv *nv = malloc((lines + 1) * sizeof *nv);
    if (!nv)
        return NGHTTP2_ERR_NOMEM;
    size_t count = http2_trailer_nv(t, nv);
    int rv = 0;
    if (count) {
        /* copied by nghttp2 (no NO_COPY flag): t->resp may go now */
        rv = nghttp2_submit_trailer(st->s->ng, st->id, nv, count);
        if (rv == 0)
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    free(nv);
    free(t->resp);
    t->resp = NULL;
    t->resp_len = 0;
    return rv;
}

void http2_trailer_free(struct http2_stream *st)
{
    struct http2_trailers *t = st->trailers;
    if (!t)
        return;
    free(t->req);
    free(t->resp);
    free(t);
    st->trailers = NULL;
}
