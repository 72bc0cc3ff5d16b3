/* proxy_response — a strict HTTP/1.1 response-head parser for upstream
 * answers (RFC 9112 §4, §6).
 *
 * Pure: no I/O, no allocation, no clock. It shares the request parser's byte
 * classes (http1_chars.h), so a field an upstream may send is exactly a field
 * a client may send. Whatever would make the relayed framing ambiguous is
 * refused, never repaired: Content-Length with Transfer-Encoding, differing
 * or malformed Content-Length values, a transfer coding other than "chunked",
 * obs-fold, bare CR or LF, space before a colon, a head past its byte or
 * field cap. The proxy answers such a response with 502 and never relays it.
 *
 * Not here: which fields are hop-by-hop (proxy_fields.c) and the body
 * (the chunked decoder in http1_chunked.c, Content-Length counting in
 * upstream.c).
 */
#ifndef LINGERD_PROXY_RESPONSE_H
#define LINGERD_PROXY_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http1.h"

/* How the response body ends (RFC 9112 §6.3). */
enum proxy_body {
    PROXY_BODY_NONE,        /* 1xx, 204, 304, or the answer to HEAD */
    PROXY_BODY_LENGTH,      /* Content-Length bytes */
    PROXY_BODY_CHUNKED,     /* Transfer-Encoding: chunked */
    PROXY_BODY_UNTIL_CLOSE, /* neither: the upstream's close ends it */
};

struct proxy_response {
    int status;
    uint8_t version_minor;
    enum proxy_body body;
    uint64_t content_length;       /* PROXY_BODY_LENGTH, and a HEAD's or 304's value */
    bool has_content_length;
    bool conn_close;               /* "Connection: close", or HTTP/1.0 without keep-alive */
    struct http1_header *fields;   /* every field line, in order */
    uint32_t field_count;
};

struct proxy_response_parser {
    uint32_t head_max_bytes;
    uint32_t fields_max;
    struct http1_header *fields;
    bool head_request;      /* the request was HEAD: no body, whatever the fields say */
    uint32_t scanned;       /* bytes searched for the head's end so far */
    const char *reason;     /* on HTTP1_ERROR: a short static text for the error log */
};

/* Prepare p for one response head; fields has room for fields_max entries. */
void proxy_response_init(struct proxy_response_parser *p, uint32_t head_max_bytes,
                         struct http1_header *fields, uint32_t fields_max, bool head_request);

/* Parse the head at buf[0..len) (all bytes given before, and more).
 * HTTP1_DONE: *r is filled (slices into buf), *used = the head's length.
 * HTTP1_AGAIN: the head is not complete yet. HTTP1_ERROR: p->reason. */
enum http1_rc proxy_response_parse(struct proxy_response_parser *p, const char *buf, size_t len,
                                   struct proxy_response *r, size_t *used);

#endif
