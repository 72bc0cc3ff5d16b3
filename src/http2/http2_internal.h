/* http2_internal — what the HTTP/2 files share; private to http2*.c.
 *
 * http2_session.c drives the nghttp2 session of a connection (bytes in and
 * out, deadlines, GOAWAY, limits); http2_request.c builds a stream's request
 * from its header fields and opens the stream; http2_stream.c answers it
 * (response head, data source) and feeds its body to the handler's sink.
 * They include conn_internal.h: a stream is a struct conn the handlers see,
 * so HTTP/2 is the connection's second protocol, not a layer above it.
 */
#ifndef LINGERD_HTTP2_INTERNAL_H
#define LINGERD_HTTP2_INTERNAL_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn_internal.h"
#include "http2.h"
#include "http2_head.h"

/* The window the abuse limits count over (http2_max_resets, _control_frames). */
#define HTTP2_ABUSE_WINDOW_MS 10000
/* A client stream id this close to the end of the id space: end gracefully
 * (the client must open a new connection anyway). */
#define HTTP2_STREAM_ID_END 0x7fff0000
/* Bytes of frames gathered before they are written in one call. A write
 * per 16 KiB DATA frame, straight from nghttp2's buffer, cost about 1.4x
 * the worker CPU of gathering 256 KiB first, copy included (1 MiB files
 * over TLS, h2load). A DATA frame joins a batch only whole within it, so a
 * batch is one TLS write (transport_tls: up to 256 KiB a call) and, for a
 * file, one read. */
#define HTTP2_SEND_BATCH_BYTES (256 * 1024)
/* Frames of a file body read with the one being written, at most (one
 * preadv for a batch: 15 frames of 16 KiB fill it). */
#define HTTP2_AHEAD_FRAMES 32
/* Output memory a connection with no open stream keeps for its next
 * frames; a batch's larger area is given back. */
#define HTTP2_IDLE_OUT_BYTES (16 * 1024)
/* At most this much is taken at once for the next burst (out_peak): one
 * large file's batches must not make every later small burst allocate (and,
 * past malloc's mmap threshold, map and unmap) a quarter MiB. */
#define HTTP2_OUT_PEAK_MAX (64 * 1024)
/* The carrier's read buffer while streams are open: a few frames (a TLS
 * record is 16 KiB) per read, where an HTTP/1.1 head needs the standard
 * 8 KiB. An idle connection goes back to the standard one. */
#define HTTP2_READ_BUFFER_BYTES (64 * 1024)
/* A response head this long or shorter is kept in the stream itself (a
 * static file's is about 250 bytes); a longer one is allocated. */
#define HTTP2_RESP_HEAD_INLINE 512

struct http2_stream;
struct http2_trailers;

/* The two-step GOAWAY (RFC 9113 §6.8). */
enum http2_goaway_step {
    HTTP2_GOAWAY_NONE,
    HTTP2_GOAWAY_NOTICE, /* GOAWAY(2^31-1) and a PING sent; waiting for its ACK */
    HTTP2_GOAWAY_FINAL,  /* GOAWAY(last stream id) sent: streams below finish */
    HTTP2_GOAWAY_ERROR,  /* GOAWAY(error) sent: close once it is out */
};

struct http2_session {
    nghttp2_session *ng;
    struct conn *c;                /* the carrying connection */
    struct http2_stream *first;    /* open streams (ours: dispatched or not) */
    struct http2_stream *receiving; /* the stream whose HEADERS are being decoded: saves
                                    * nghttp2's lookup per field; NULL once it is freed */
    uint32_t open_streams;
    uint64_t streams_total;
    uint64_t idle_since_ms;        /* the last stream closed (or the start) */
    uint8_t goaway_step;           /* enum http2_goaway_step */
    uint8_t close_why;             /* enum conn_close_reason of the graceful end */
    uint64_t goaway_ms;            /* when the notice went out */
    bool run_wanted;               /* a stream asked to run (conn_wake, io done) */
    bool got_frame;                /* a whole frame came (the preface is over) */
    bool peer_goaway;              /* the client sent GOAWAY */
    bool send_blocked;             /* http2_send_data found the batch full */
    /* The batch area's size when it was last given back at idle (at most
     * HTTP2_OUT_PEAK_MAX): the next burst takes that much at once instead
     * of growing (and copying) it from the smallest size again. */
    size_t out_peak;
    /* A file body read ahead into the batch (http2_send_data): the payloads
     * of the frames after the one written, each already where it goes. Its
     * file and the offset of the next frame's payload are run_fd and
     * run_end: a read-ahead continues the run of the last frame written. */
    int32_t ahead_id;              /* their stream; 0: nothing read ahead */
    size_t ahead_slot;             /* payload bytes of each frame read ahead */
    size_t ahead_bytes;            /* payload bytes read ahead, not yet framed */
    size_t ahead_pos;              /* batch offset of the next frame's header */
    uint64_t ahead_queued;         /* the batch's queued count when it was read */
    /* The last DATA frame written, if its payload came from a file: a
     * read-ahead is made only for the next frame of such a run. */
    int32_t run_id;                /* its stream; 0: none (or not from a file) */
    int run_fd;
    uint64_t run_end;              /* file offset just past its payload */
    /* abuse windows */
    uint64_t resets_window_ms;
    uint32_t resets;
    uint64_t control_window_ms;
    uint32_t control_frames;
    uint64_t credit_pending;       /* DATA on closed streams: give back to the window */
    /* RFC 9113 §5.1, §5.1.1: a HEADERS on an id the client used before is
     * a connection error, unless we reset that stream (its trailers may
     * still be on the way). nghttp2 forgets closed streams (it keeps none
     * once RFC 7540 priorities are off), so the ids are remembered here. */
    int32_t last_client_id;        /* the highest stream id the client opened */
    uint32_t *closed_ids;          /* ring of ids closed lately, HTTP2_ID_RESET_BY_US marked */
    uint32_t closed_cap, closed_next;
    /* SETTINGS_INITIAL_WINDOW_SIZE as it was before the SETTINGS being
     * read, and the widest send window of an open stream then (§6.9.2) */
    int64_t settings_old_window;
    int64_t settings_max_window;
    /* frame boundaries of the input, followed to count discarded DATA */
    uint32_t scan_skip;            /* bytes of the preface or a payload still to pass */
    int32_t data_id;               /* the stream of the DATA frame being received */
    bool data_counted;             /* that frame was counted whole as discarded at its
                                    * header; else its bytes count as a discard only
                                    * once its stream throws them away */
    uint8_t scan_hd[9];            /* a frame header read in part */
    uint8_t scan_hd_len;
};

/* In closed_ids: the stream was closed by our RST_STREAM. */
#define HTTP2_ID_RESET_BY_US 0x80000000u
/* Closed ids remembered per connection, per stream the client may open at
 * once (nghttp2 keeps as many closed streams, when it keeps any). */
#define HTTP2_CLOSED_IDS_PER_STREAM 2

struct http2_stream {
    struct conn c;                 /* what the handlers see */
    struct http2_session *s;
    int32_t id;
    struct http2_stream *next, *prev;
    struct http2_head head;        /* the request head, while it arrives */
    bool headers_done;
    bool end_stream_recv;          /* the client's END_STREAM */
    bool dispatched;
    /* the request body */
    char *body;                    /* received, not yet fed to the sink */
    size_t body_start, body_len, body_cap;
    uint64_t taken_unconsumed;     /* fed to a sink that waits for its disk */
    bool waiting_io;               /* conn_wait_io on this stream */
    bool discarding;               /* nobody wants the body: credit and count it */
    bool ended_sink;               /* on_end was called */
    uint64_t body_progress_ms;
    /* the response */
    /* The answer's field lines, lowercased, and its :status and
     * content-length digits: HEADERS is submitted pointing into them
     * (NGHTTP2_NV_FLAG_NO_COPY_*), so they live as long as the stream. */
    char *resp_head;               /* resp_inline or allocated */
    char resp_inline[HTTP2_RESP_HEAD_INLINE];
    char resp_status[3];
    char resp_length[20];
    bool head_submitted;
    bool data_deferred;            /* the data source said DEFERRED: resume when more comes */
    bool eof_sent;                 /* END_STREAM is out */
    bool rst_sent;
    uint64_t send_progress_ms;     /* last body bytes handed to the session */
    struct http2_trailers *trailers; /* trailer fields either way; NULL: none (http2_trailer.c) */
};

static inline struct http2_stream *http2_stream_of(struct conn *c)
{
    return c->h2s;
}

/* ---- http2_session.c ---- */
/* Ask the carrier to run its streams after this iteration. */
void http2_session_want_run(struct http2_session *s);
/* Count and send RST_STREAM(code) for a stream. */
void http2_session_reset(struct http2_session *s, int32_t id, uint32_t code);
/* Begin the two-step GOAWAY, for why (enum conn_close_reason). */
void http2_session_goaway(struct http2_session *s, enum conn_close_reason why);
/* End at once with GOAWAY(code), counted; the close path follows. */
void http2_session_fail(struct http2_session *s, uint32_t code);

/* ---- http2_request.c ---- */
int http2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user);
int http2_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                    void *user);
/* The head is complete: build the request and hand it to the handlers. */
void http2_stream_dispatch(struct http2_stream *st);
/* The stream is over: tell its handler, free it. */
void http2_stream_free(struct http2_stream *st);

/* ---- http2_stream.c ---- */
/* nghttp2's send_data_callback: a DATA frame's header and payload into
 * the connection's batch (the data source sets NGHTTP2_DATA_FLAG_NO_COPY). */
int http2_send_data(nghttp2_session *ng, nghttp2_frame *frame, const uint8_t *framehd,
                    size_t length, nghttp2_data_source *source, void *user);
/* DATA for the stream (nghttp2's on_data_chunk_recv). */
void http2_stream_on_data(struct http2_stream *st, const uint8_t *data, size_t len);
/* The client's END_STREAM. */
void http2_stream_on_end(struct http2_stream *st);
/* Feed the body, notice the end of the answer; after dispatch and wakes. */
void http2_stream_run(struct http2_stream *st);
/* nghttp2 sent a frame of this stream with END_STREAM. */
void http2_stream_on_eof_sent(struct http2_stream *st);
/* Deadline of the stream (send stall, body wait); UINT64_MAX: none. */
uint64_t http2_stream_deadline(const struct http2_stream *st);
/* The deadline passed: reset the stream. */
void http2_stream_expire(struct http2_stream *st);
/* A connection-specific field name, lowercase (RFC 9113 §8.2.2; te apart). */
bool http2_is_connection_field(const char *name, size_t len);

/* ---- http2_trailer.c ---- */
/* nghttp2's on_header for any block but a request's head: a trailing
 * HEADERS's field (the client's trailers) is kept, any other ignored. 0, or
 * an nghttp2 error after the stream was reset (a malformed field). Cold: so
 * that its call costs nothing on the path of every request head's field. */
__attribute__((cold)) int http2_trailer_on_header(nghttp2_session *ng,
                                                  const nghttp2_frame *frame,
                                                  const uint8_t *name, size_t namelen,
                                                  const uint8_t *value, size_t valuelen);
/* The body is whole: the client's trailer fields to the sink's on_trailer.
 * 0, or the status the body fails with (400: past trailer_max_bytes). */
int http2_trailer_to_sink(struct http2_stream *st);
/* The data source is at the end of the body: submit the answer's trailer
 * fields, if any, and then set NGHTTP2_DATA_FLAG_NO_END_STREAM in *flags.
 * 0, or an nghttp2 error. */
int http2_trailer_submit(struct http2_stream *st, uint32_t *flags);
/* Free the stream's trailer fields. */
void http2_trailer_free(struct http2_stream *st);

#endif
