/* http2 — HTTP/2 (RFC 9113) over a connection, with nghttp2 for the framing
 * and HPACK: what the connection layer (conn*.c) calls.
 *
 * A connection that chose h2 by ALPN, or sent the client preface on a plain
 * listener with http2_cleartext, moves to the CONN_H2 state and carries an
 * HTTP/2 session. Each request stream is presented to the handlers as a
 * connection of its own (state CONN_H2_STREAM): the handlers call the same
 * conn.h functions, which branch once, inside conn/, to the stream
 * functions below. The carrying connection keeps its loop watch, deadline,
 * transport and close path; its end goes through conn_start_close (flush,
 * close_notify, half-close, lingering drain) after the GOAWAYs.
 *
 * Not here: what a request means (the handlers), the close path itself
 * (conn_close.c).
 */
#ifndef LINGERD_HTTP2_H
#define LINGERD_HTTP2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct conn_body_sink;
struct server;

/* The client connection preface (RFC 9113 §3.4), as bytes. */
#define HTTP2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define HTTP2_PREFACE_LEN 24

/* buf[0..len) against the preface: 1 all of it is there, 0 a strict prefix
 * of it (read more before deciding), -1 something else (HTTP/1.1). */
int http2_preface_match(const char *buf, size_t len);

/* ---- the connection that carries a session (state CONN_H2) ---- */

/* Before the first request (READ_HEAD): HTTP/2 (ALPN chose h2, or the
 * client preface on a plain listener with http2_cleartext) or HTTP/1.1?
 * 1: HTTP/2 (then http2_conn_start); -1: HTTP/1.1, decided for good; 0: not
 * known until more bytes come (the handshake, or the preface's start). */
int http2_conn_chosen(struct conn *c);

/* Enter CONN_H2: make the session, send our SETTINGS, and take the bytes
 * already read. false: out of memory (the caller closes). */
bool http2_conn_start(struct conn *c);
/* The CONN_H2 state's handler: readiness or its deadline. */
void http2_conn_run(struct conn *c, bool timeout);
/* The next deadline of the session (idle, send, GOAWAY, stalled streams). */
uint64_t http2_conn_deadline(const struct conn *c);
/* Graceful stop or reload: begin the two-step GOAWAY. */
void http2_conn_drain(struct conn *c);
/* The connection closes: abort every stream (their handlers are told) and
 * free the session. Idempotent. */
void http2_conn_free(struct conn *c);

/* The process ends: free the stream objects kept for reuse (after every
 * connection is closed). */
void http2_stream_pool_fini(struct server *srv);

/* ---- a stream presented as a connection (state CONN_H2_STREAM) ---- */

/* conn_resp_end: the head is complete (Content-Length content_length if
 * >= 0): submit it, with a data source for the body unless it has none. */
void http2_stream_resp_end(struct conn *c, int64_t content_length);
/* Body bytes or a file span were queued: let the data source send them. */
void http2_stream_resp_more(struct conn *c);
/* conn_resp_trailers: keep lines ("Name: value\r\n") to send as a trailing
 * HEADERS with END_STREAM after the body. false: no memory. */
bool http2_stream_resp_trailers(struct conn *c, const char *lines, size_t len);
/* conn_read_body: the handler wants the body in its sink. */
void http2_stream_read_body(struct conn *c);
/* conn_body_abandon: the rest of the body is discarded (and counted). */
void http2_stream_abandon_body(struct conn *c);
/* conn_wait_io / conn_io_done. */
void http2_stream_wait_io(struct conn *c);
void http2_stream_io_done(struct conn *c);
/* conn_wake, conn_resp_done, conn_body_pause(false): run the stream after
 * this iteration's dispatch. */
void http2_stream_wake(struct conn *c);
/* conn_want_close(CONN_CLOSE_ERROR) after the answer began: it is cut
 * short, and the stream is reset (INTERNAL_ERROR) unless its END_STREAM
 * is out already. */
void http2_stream_cut(struct conn *c);

#endif
