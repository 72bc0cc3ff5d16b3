/* fuzz_http2 — HTTP/2 request building: client frames into a server
 * session of nghttp2 whose callbacks collect each stream's header fields
 * (http2_head_add), refuse what the server refuses, and build the request
 * the handlers would see (http2_head_build, the HTTP/1.1 parser's parts
 * interface), as http2_request.c does.
 *
 * The input is what a client sends after its preface (added here, so the
 * fuzzer starts at the frames); it is fed in pieces whose sizes come from
 * its first byte. Each stream's arena starts small (FUZZ_H2_ARENA), so it
 * grows on most heads. Checked: every slice of a built request lies inside
 * the arena; and the request is the same as the one the HTTP/1.1 parser
 * makes of the head written as text ("METHOD PATH HTTP/1.1", a Host line
 * from :authority, the fields, the joined cookie), as the server built it
 * before: the same verdict and status, the same method, target, Host,
 * framing and length, the same fields with the same names and values. And
 * a stream's head is freed once whatever happens (LeakSanitizer).
 */
#include <nghttp2/nghttp2.h>
#include <string.h>

#include "fuzz.h"
#include "http1.h"
#include "http2_head.h"

#define FUZZ_H2_LIST_MAX 4096
#define FUZZ_H2_FIELDS 32
#define FUZZ_H2_ARENA 32

static const struct http1_limits fuzz_h2_limits = { 1024, 1024, FUZZ_H2_LIST_MAX * 2,
                                                    FUZZ_H2_FIELDS };

/* A stream's head, on the list of those still open. */
struct fuzz_h2_stream {
    struct http2_head head;
    char arena[FUZZ_H2_ARENA];
    struct http1_header fields[FUZZ_H2_FIELDS];
    struct fuzz_h2_stream *prev, *next;
};

struct fuzz_h2_open {
    struct fuzz_h2_stream *first;
};

static void fuzz_h2_free_stream(struct fuzz_h2_open *open, struct fuzz_h2_stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else
        open->first = st->next;
    if (st->next)
        st->next->prev = st->prev;
    http2_head_free(&st->head);
    free(st);
}

static int fuzz_h2_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    struct fuzz_h2_open *open = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct fuzz_h2_stream *st = calloc(1, sizeof *st);
    if (!st)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    http2_head_init(&st->head, st->arena, sizeof st->arena, st->fields, FUZZ_H2_FIELDS);
    st->next = open->first;
    if (open->first)
        open->first->prev = st;
    open->first = st;
    nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, st);
    return 0;
}

/* The text the server wrote before: what the head stands for. */
struct fuzz_h2_text {
    char *data;
    size_t len, cap;
};

static void fuzz_h2_put(struct fuzz_h2_text *t, const void *data, size_t n)
{
    if (n == 0)
        return; /* data may be NULL (an empty cookie) */
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2;
        t->data = realloc(t->data, t->cap);
        FUZZ_CHECK(t->data != NULL);
    }
    memcpy(t->data + t->len, data, n);
    t->len += n;
}

static int fuzz_h2_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                          size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                          void *user)
{
    (void)flags;
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct fuzz_h2_stream *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (!st)
        return 0;
    struct http2_head *h = &st->head;
    switch (http2_head_add(h, name, namelen, value, valuelen, FUZZ_H2_LIST_MAX)) {
    case HTTP2_HEAD_OK:
    case HTTP2_HEAD_TOO_BIG:
        FUZZ_CHECK(h->list_bytes <= FUZZ_H2_LIST_MAX);
        FUZZ_CHECK(h->len <= h->cap);
        return 0;
    case HTTP2_HEAD_MALFORMED:
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_PROTOCOL_ERROR);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    case HTTP2_HEAD_NOMEM:
        break;
    }
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

/* The head as text, from the head's own record of it: pseudo values and
 * fields are read back from the arena in the order they were kept. */
static void fuzz_h2_write_text(const struct http2_head *h, struct fuzz_h2_text *t)
{
    const char *b = h->buf;
    const struct http1_slice *ps = h->pseudo;
    fuzz_h2_put(t, b + ps[HTTP2_PSEUDO_METHOD].off, ps[HTTP2_PSEUDO_METHOD].len);
    fuzz_h2_put(t, " ", 1);
    fuzz_h2_put(t, b + ps[HTTP2_PSEUDO_PATH].off, ps[HTTP2_PSEUDO_PATH].len);
    fuzz_h2_put(t, " HTTP/1.1\r\n", 11);
    if (ps[HTTP2_PSEUDO_AUTHORITY].off) {
        fuzz_h2_put(t, "host: ", 6);
        fuzz_h2_put(t, b + ps[HTTP2_PSEUDO_AUTHORITY].off, ps[HTTP2_PSEUDO_AUTHORITY].len);
        fuzz_h2_put(t, "\r\n", 2);
    }
    for (uint32_t i = 0; i < h->field_count + h->fields_over; i++) {
        const struct http1_header *f = i < h->field_count ? &h->fields[i] : &h->over;
        fuzz_h2_put(t, b + f->name.off, f->name.len);
        fuzz_h2_put(t, ": ", 2);
        fuzz_h2_put(t, b + f->value.off, f->value.len);
        fuzz_h2_put(t, "\r\n", 2);
    }
    if (h->has_cookie) {
        fuzz_h2_put(t, "cookie: ", 8);
        fuzz_h2_put(t, h->cookie.data, h->cookie.len);
        fuzz_h2_put(t, "\r\n", 2);
    }
    fuzz_h2_put(t, "\r\n", 2);
}

static bool fuzz_h2_same(const char *a, struct http1_slice sa, const char *b,
                         struct http1_slice sb)
{
    return sa.len == sb.len && memcmp(a + sa.off, b + sb.off, sa.len) == 0;
}

/* The head is complete: build it as the server does, and as text. */
static void fuzz_h2_build(struct http2_head *h)
{
    if (h->too_big || !http2_head_pseudo_ok(h))
        return;
    /* before the build moves the fields: only a head whose fields all fit
     * can be written back (a left-out field after the first is not kept) */
    struct fuzz_h2_text text = { NULL, 0, 0 };
    bool comparable = !h->fields_over;
    if (comparable)
        fuzz_h2_write_text(h, &text);

    struct http1_parser p;
    struct http1_request req;
    size_t used = 0;
    enum http1_rc rc;
    http1_parser_init(&p, &fuzz_h2_limits, h->fields, FUZZ_H2_FIELDS);
    FUZZ_CHECK(http2_head_build(h, &p, &req, &used, &rc)); /* no allocation fails here */
    if (rc == HTTP1_DONE) {
        FUZZ_CHECK(req.target.off + req.target.len <= h->len);
        FUZZ_CHECK(req.host.off + req.host.len <= h->len);
        for (uint32_t i = 0; i < req.field_count; i++) {
            FUZZ_CHECK(req.fields[i].name.off + req.fields[i].name.len <= h->len);
            FUZZ_CHECK(req.fields[i].value.off + req.fields[i].value.len <= h->len);
        }
    } else {
        FUZZ_CHECK(rc == HTTP1_ERROR && p.reason != NULL);
    }
    if (!comparable)
        return;

    struct http1_header fields[FUZZ_H2_FIELDS];
    struct http1_parser tp;
    struct http1_request treq;
    size_t tused = 0;
    http1_parser_init(&tp, &fuzz_h2_limits, fields, FUZZ_H2_FIELDS);
    enum http1_rc trc = http1_parse_head(&tp, text.data, text.len, &treq, &tused);
    FUZZ_CHECK(trc == rc);
    if (rc == HTTP1_ERROR)
        FUZZ_CHECK(tp.status == p.status);
    if (rc == HTTP1_DONE) {
        const char *b = h->buf, *tb = text.data;
        FUZZ_CHECK(tused == text.len && used == text.len);
        FUZZ_CHECK(req.method == treq.method);
        FUZZ_CHECK(fuzz_h2_same(b, req.target, tb, treq.target));
        FUZZ_CHECK(fuzz_h2_same(b, req.path, tb, treq.path));
        FUZZ_CHECK(fuzz_h2_same(b, req.query, tb, treq.query));
        FUZZ_CHECK(fuzz_h2_same(b, req.host, tb, treq.host));
        FUZZ_CHECK(req.host_name_len == treq.host_name_len);
        FUZZ_CHECK(req.framing == treq.framing && req.content_length == treq.content_length);
        FUZZ_CHECK(req.expect_continue == treq.expect_continue);
        FUZZ_CHECK(req.conn_close == treq.conn_close);
        FUZZ_CHECK(fuzz_h2_same(b, req.range, tb, treq.range));
        FUZZ_CHECK(fuzz_h2_same(b, req.authorization, tb, treq.authorization));
        FUZZ_CHECK(req.field_count == treq.field_count);
        for (uint32_t i = 0; i < req.field_count; i++) {
            FUZZ_CHECK(fuzz_h2_same(b, req.fields[i].name, tb, treq.fields[i].name));
            FUZZ_CHECK(fuzz_h2_same(b, req.fields[i].value, tb, treq.fields[i].value));
        }
    }
    free(text.data);
}

static int fuzz_h2_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    (void)user;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        struct fuzz_h2_stream *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
        if (st)
            fuzz_h2_build(&st->head);
    }
    return 0;
}

static int fuzz_h2_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                        size_t len, void *user)
{
    (void)flags;
    (void)data;
    (void)user;
    nghttp2_session_consume(ng, id, len); /* the window opens as a sink takes bytes */
    return 0;
}

static int fuzz_h2_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
    (void)code;
    struct fuzz_h2_stream *st = nghttp2_session_get_stream_user_data(ng, id);
    if (st) {
        nghttp2_session_set_stream_user_data(ng, id, NULL);
        fuzz_h2_free_stream(user, st);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nghttp2_session_callbacks *cbs;
    nghttp2_option *opt;
    nghttp2_session *ng;
    FUZZ_CHECK(nghttp2_session_callbacks_new(&cbs) == 0);
    FUZZ_CHECK(nghttp2_option_new(&opt) == 0);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, fuzz_h2_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, fuzz_h2_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, fuzz_h2_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, fuzz_h2_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, fuzz_h2_stream_close);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_continuations(opt, 16);
    nghttp2_option_set_no_closed_streams(opt, 1);
    struct fuzz_h2_open open = { NULL };
    FUZZ_CHECK(nghttp2_session_server_new2(&ng, cbs, &open, opt) == 0);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_option_del(opt);
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 8 },
        { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, FUZZ_H2_LIST_MAX },
        { NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1 },
    };
    nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]);
    static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    bool ok = nghttp2_session_mem_recv(ng, preface, sizeof preface - 1) ==
              (ssize_t)(sizeof preface - 1);
    size_t piece = size ? (size_t)data[0] % 64 + 1 : 1;
    for (size_t at = 0; ok && at < size; at += piece) {
        size_t n = size - at < piece ? size - at : piece;
        ssize_t rv = nghttp2_session_mem_recv(ng, data + at, n);
        ok = rv >= 0;
        const uint8_t *out;
        while (nghttp2_session_mem_send(ng, &out) > 0)
            ; /* answers (SETTINGS ACK, RST_STREAM, GOAWAY) go nowhere */
    }
    nghttp2_session_del(ng); /* calls no callback: the heads still open are ours */
    while (open.first)
        fuzz_h2_free_stream(&open, open.first);
    return 0;
}
