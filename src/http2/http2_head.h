/* http2_head — a request head from HTTP/2 header fields, as HTTP/1.1 text.
 *
 * Pure: no I/O, no clock, no connection; the HTTP/2 session
 * (http2_request.c) and the fuzz target share it. The fields nghttp2
 * decoded (and checked against RFC 9113 §8.2-8.3) are collected here;
 * http2_head_write turns them into "METHOD PATH HTTP/1.1", a Host line from
 * :authority, the fields and the empty line, for the HTTP/1.1 parser, so
 * both protocols reach the handlers through one parser's byte classes and
 * limits. What nghttp2 leaves to the server is checked here: the header
 * list's size (SETTINGS_MAX_HEADER_LIST_SIZE, RFC 9113 §6.5.2), a Host that
 * names another origin than :authority (§8.3.1), cookie fields joined into
 * one (§8.2.3), and the pseudo-header
 * fields of a request this server takes (no CONNECT; :path origin-form or
 * OPTIONS *).
 */
#ifndef LINGERD_HTTP2_HEAD_H
#define LINGERD_HTTP2_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { HTTP2_PSEUDO_METHOD, HTTP2_PSEUDO_PATH, HTTP2_PSEUDO_AUTHORITY, HTTP2_PSEUDO_SCHEME,
       HTTP2_PSEUDO_COUNT };

struct http2_buf {
    char *data;
    size_t len, cap;
};

struct http2_head {
    struct http2_buf fields;          /* regular fields as "name: value\r\n" */
    struct http2_buf cookie;          /* cookie fields' values joined with "; " */
    bool has_cookie;
    char *pseudo[HTTP2_PSEUDO_COUNT]; /* NUL-terminated copies, or NULL */
    size_t pseudo_len[HTTP2_PSEUDO_COUNT];
    uint32_t list_bytes;              /* as SETTINGS_MAX_HEADER_LIST_SIZE counts */
    bool too_big;                     /* past list_max: answer 431 */
    bool has_length;                  /* content-length was sent */
};

enum http2_head_rc {
    HTTP2_HEAD_OK,
    HTTP2_HEAD_TOO_BIG,   /* this field took the list past list_max (once per head) */
    HTTP2_HEAD_MALFORMED, /* a stream error: PROTOCOL_ERROR */
    HTTP2_HEAD_NOMEM,
};

/* Take one decoded field. Fields past the size limit are dropped. */
enum http2_head_rc http2_head_add(struct http2_head *h, const uint8_t *name, size_t namelen,
                                  const uint8_t *value, size_t valuelen, uint32_t list_max);

/* The pseudo-header fields make a request this server takes. */
bool http2_head_pseudo_ok(const struct http2_head *h);

/* Bytes http2_head_write will write (when http2_head_pseudo_ok). */
size_t http2_head_text_len(const struct http2_head *h);

/* Write the head as HTTP/1.1 text into out (http2_head_text_len bytes);
 * returns its length. */
size_t http2_head_write(const struct http2_head *h, char *out);

/* Free what h holds (h itself is the caller's). */
void http2_head_free(struct http2_head *h);

#endif
