/* fuzz_http2 — HTTP/2 request building: client frames into a server
 * session of nghttp2 whose callbacks collect each stream's header fields
 * (http2_head_add), refuse what the server refuses, and build the head the
 * handlers would see (http2_head_write, then the HTTP/1.1 parser), as
 * http2_request.c does.
 *
 * The input is what a client sends after its preface (added here, so the
 * fuzzer starts at the frames); it is fed in pieces whose sizes come from
 * its first byte. Checked: the text written is exactly as long as
 * announced, a head that parses is wholly used, every field slice lies
 * inside it, and a stream's head is freed once whatever happens
 * (LeakSanitizer).
 */
#include <nghttp2/nghttp2.h>
#include <string.h>

#include "fuzz.h"
#include "http1.h"
#include "http2_head.h"

#define FUZZ_H2_LIST_MAX 4096
#define FUZZ_H2_FIELDS 32

/* A stream's head, on the list of those still open. */
struct fuzz_h2_stream {
    struct http2_head head;
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
    st->next = open->first;
    if (open->first)
        open->first->prev = st;
    open->first = st;
    nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, st);
    return 0;
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

/* The head is complete: build it as the server does and parse it. */
static void fuzz_h2_build(const struct http2_head *h)
{
    if (h->too_big || !http2_head_pseudo_ok(h))
        return;
    size_t len = http2_head_text_len(h);
    char *text = malloc(len); /* exact size: an overrun trips ASan */
    FUZZ_CHECK(text != NULL);
    FUZZ_CHECK(http2_head_write(h, text) == len);
    static const struct http1_limits limits = { 1024, 1024, FUZZ_H2_LIST_MAX * 2,
                                                FUZZ_H2_FIELDS };
    struct http1_header fields[FUZZ_H2_FIELDS];
    struct http1_parser p;
    struct http1_request req;
    size_t used = 0;
    http1_parser_init(&p, &limits, fields, FUZZ_H2_FIELDS);
    enum http1_rc rc = http1_parse_head(&p, text, len, &req, &used);
    if (rc == HTTP1_DONE) {
        FUZZ_CHECK(used == len); /* the head written is one whole head */
        FUZZ_CHECK(req.target.off + req.target.len <= used);
        for (uint32_t i = 0; i < req.field_count; i++)
            FUZZ_CHECK(req.fields[i].value.off + req.fields[i].value.len <= used);
    } else {
        FUZZ_CHECK(rc == HTTP1_ERROR && p.reason != NULL);
    }
    free(text);
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
