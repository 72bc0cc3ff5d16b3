/* http2_head — a request head from HTTP/2 header fields, built without text.
 *
 * Pure: no I/O, no clock, no connection; the HTTP/2 session
 * (http2_request.c) and the fuzz target share it. The fields nghttp2
 * decoded (and checked against RFC 9113 §8.2-8.3) are copied, as they come,
 * into one area (the arena): the stream's read buffer, which HTTP/2 does not
 * read into, so a request allocates nothing unless its head outgrows it.
 * Each field is recorded as slices into the arena. http2_head_build then
 * hands the request line (:method, :path), a Host field from :authority, the
 * fields and the joined cookie to the HTTP/1.1 parser's parts interface
 * (http1_parts_*): the same byte rules, limits (414, 431) and field meanings
 * as a head sent as text, without writing that text and scanning it again.
 *
 * What nghttp2 leaves to the server is checked here: the header list's size
 * (SETTINGS_MAX_HEADER_LIST_SIZE, RFC 9113 §6.5.2), a Host that names
 * another origin than :authority (§8.3.1), cookie fields joined into one
 * (§8.2.3), and the pseudo-header fields of a request this server takes (no
 * CONNECT; :path origin-form or OPTIONS *).
 */
#ifndef LINGERD_HTTP2_HEAD_H
#define LINGERD_HTTP2_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http1.h"

enum { HTTP2_PSEUDO_METHOD, HTTP2_PSEUDO_PATH, HTTP2_PSEUDO_AUTHORITY, HTTP2_PSEUDO_SCHEME,
       HTTP2_PSEUDO_COUNT };

struct http2_buf {
    char *data;
    size_t len, cap;
};

struct http2_head {
    /* The arena: a fixed prefix (the names "host" and "cookie", so that no
     * value starts at offset 0), then each pseudo-header value and each
     * field's name and value as they came, every value followed by an LF
     * (the parts interface scans up to it). */
    char *buf;
    uint32_t len, cap;
    bool buf_owned;                   /* allocated here: the caller's was too small */
    struct http1_header *fields;      /* the caller's: regular fields in order */
    uint32_t fields_cap, field_count;
    bool fields_over;                 /* more came than fields_cap; the first left out: */
    struct http1_header over;
    struct http1_slice pseudo[HTTP2_PSEUDO_COUNT]; /* off 0: absent */
    struct http2_buf cookie;          /* cookie fields' values joined with "; " */
    bool has_cookie;
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

/* Start a head in the caller's area buf[0..cap) (cap >= 16; a larger one is
 * allocated when it fills) and its array fields[0..fields_cap), which must
 * be the one the parser given to http2_head_build records into. */
void http2_head_init(struct http2_head *h, char *buf, uint32_t cap, struct http1_header *fields,
                     uint32_t fields_cap);

/* Take one decoded field. Fields past the size limit are dropped. */
enum http2_head_rc http2_head_add(struct http2_head *h, const uint8_t *name, size_t namelen,
                                  const uint8_t *value, size_t valuelen, uint32_t list_max);

/* The pseudo-header fields make a request this server takes. */
bool http2_head_pseudo_ok(const struct http2_head *h);

/* Build the request (after http2_head_pseudo_ok) with p, freshly
 * initialized over h->fields: *rc is what http1_parts_end says, or the
 * first refusal before it (p->status, p->reason), and on HTTP1_DONE *req
 * is filled with slices into h->buf and *text_len is the length the head
 * has as HTTP/1.1 text. false: out of memory. */
bool http2_head_build(struct http2_head *h, struct http1_parser *p, struct http1_request *req,
                      size_t *text_len, enum http1_rc *rc);

/* The arena, if allocated here, becomes the caller's (who frees it), else
 * NULL; h->buf stays readable. */
char *http2_head_take_buf(struct http2_head *h);

/* Free what h holds (h itself is the caller's). */
void http2_head_free(struct http2_head *h);

#endif
