/* http1 — HTTP/1.1 request-head parser and chunked-body decoder (RFC 9112).
 *
 * Pure: no I/O, no allocation, no clock, no globals. The parser never copies
 * the request: every string it reports is a slice (offset, length) into the
 * caller's buffer, so the caller may move or grow that buffer between calls
 * as long as the bytes already given keep their offsets.
 */
#ifndef LINGERD_HTTP1_H
#define LINGERD_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http1_rc {
    HTTP1_DONE,  /* a complete head (or body) was consumed */
    HTTP1_AGAIN, /* everything given was consumed; call again with more bytes */
    HTTP1_ERROR, /* the input is refused: see status and reason */
};

/* The methods the server knows. Any other syntactically valid token parses
 * as HTTP1_METHOD_OTHER (the server answers 501). */
enum http1_method {
    HTTP1_METHOD_GET,
    HTTP1_METHOD_HEAD,
    HTTP1_METHOD_POST,
    HTTP1_METHOD_PUT,
    HTTP1_METHOD_DELETE,
    HTTP1_METHOD_OPTIONS,
    HTTP1_METHOD_TRACE,
    HTTP1_METHOD_CONNECT,
    HTTP1_METHOD_PATCH,
    HTTP1_METHOD_OTHER,
    HTTP1_METHOD_COUNT
};

/* Name of a method as sent on the wire ("GET"), "OTHER" for the rest. */
const char *http1_method_name(enum http1_method m);

enum http1_framing {
    HTTP1_BODY_NONE,    /* no Content-Length, no Transfer-Encoding */
    HTTP1_BODY_LENGTH,  /* Content-Length: content_length bytes follow */
    HTTP1_BODY_CHUNKED, /* Transfer-Encoding: chunked */
};

/* A string inside the caller's buffer: buf[off .. off+len). len 0 = absent. */
struct http1_slice {
    uint32_t off;
    uint32_t len;
};

struct http1_header {
    struct http1_slice name;
    struct http1_slice value; /* OWS trimmed on both sides */
};

/* Limits are settings (config.h); the parser only enforces them. */
struct http1_limits {
    uint32_t request_line_max_bytes; /* longer request line: 414 */
    uint32_t field_line_max_bytes;   /* one longer field line: 431 */
    uint32_t head_max_bytes;         /* whole head longer: 431 */
    uint32_t fields_max;             /* more field lines: 431 */
};

/* The parsed head. Slices refer to the buffer given to http1_parse_head. */
struct http1_request {
    enum http1_method method;
    struct http1_slice method_token;
    struct http1_slice target;   /* as sent: "/a%20b?x", "*", "http://h/p" */
    struct http1_slice path;     /* origin-form path of the target, still
                                  * percent-encoded, without the query; for
                                  * absolute-form the path part ("/" if empty);
                                  * len 0 for "*" */
    struct http1_slice query;    /* after '?', without it; len 0 = none */
    bool target_is_asterisk;     /* OPTIONS * */
    uint8_t version_minor;       /* HTTP/1.<minor>; major is always 1 */
    bool http2;                  /* carried by an HTTP/2 stream (set by http2, not by the
                                  * parser, which leaves it false) */

    /* Host: from the absolute-form target when present (it wins, RFC 9112
     * §3.2.2), else the Host field. len 0 = none (allowed in HTTP/1.0). */
    struct http1_slice host;
    uint32_t host_name_len;      /* host[0..host_name_len) is the name, without ":port" */

    enum http1_framing framing;
    uint64_t content_length;     /* valid when framing == HTTP1_BODY_LENGTH */

    /* Connection options, from every Connection field (comma lists). */
    bool conn_close;
    bool conn_keep_alive;
    /* Expect: 100-continue (case-insensitive). expect_unknown: any other
     * expectation, which the server answers with 417. */
    bool expect_continue;
    bool expect_unknown;

    /* Fields the server acts on; len 0 when absent. If a field the server
     * uses occurs twice, the first is kept except where noted in http1_fields.c. */
    struct http1_slice authorization;
    struct http1_slice user_agent;
    struct http1_slice referer;
    struct http1_slice content_type;
    struct http1_slice range;
    struct http1_slice if_range;
    struct http1_slice if_match;
    struct http1_slice if_none_match;
    struct http1_slice if_modified_since;
    struct http1_slice if_unmodified_since;

    /* Every field line, in order, into the array given to http1_parser_init. */
    struct http1_header *fields;
    uint32_t field_count;
};

/* The request line's share of struct http1_request, parsed when its line end
 * arrives and copied out on HTTP1_DONE. Private to http1*.c. */
struct http1_request_line {
    enum http1_method method;
    struct http1_slice method_token, target, path, query, host;
    uint32_t host_name_len;
    bool target_is_asterisk;
    uint8_t version_minor;
};

/* Parser state. Fields are private to http1*.c; the struct is public only so
 * callers can embed it without allocation. */
struct http1_parser {
    const struct http1_limits *limits;
    struct http1_header *fields;
    uint32_t fields_cap;
    /* scan state, resumable */
    uint32_t scanned;       /* bytes of the head examined so far */
    uint32_t line_start;    /* offset of the line being scanned */
    uint32_t lines;         /* complete lines seen (request line included) */
    struct http1_request_line line; /* valid once lines > 0 */
    /* verdict on error */
    int status;             /* HTTP status to send on HTTP1_ERROR */
    const char *reason;     /* short static text for the error log */
};

/* Prepare p to parse one request head. fields/fields_cap: storage for the
 * field lines (fields_cap >= limits->fields_max). Nothing is allocated. */
void http1_parser_init(struct http1_parser *p, const struct http1_limits *limits,
                       struct http1_header *fields, uint32_t fields_cap);

/* Parse as much of a request head as buf[0..len) holds; buf must start at the
 * first byte of this request (leading empty lines allowed, RFC 9112 §2.2) and
 * must contain all bytes given in earlier calls for this head.
 * HTTP1_DONE: *req is filled, *used = length of the head including its final
 * empty line; body bytes, if any, start at buf[*used].
 * HTTP1_AGAIN: need more bytes. HTTP1_ERROR: p->status (400, 414, 431, 501,
 * 505) and p->reason say why; the connection's framing is lost. */
enum http1_rc http1_parse_head(struct http1_parser *p, const char *buf, size_t len,
                               struct http1_request *req, size_t *used);

/* ---- a head given in parts (HTTP/2 decodes its fields one by one) ----
 *
 * The same rules, limits and verdicts as http1_parse_head on the text
 * "method SP target SP HTTP/1.1" CRLF, "name: value" CRLF for each field, CRLF:
 * a request means the same whichever way it came. Call http1_parser_init, then
 * http1_parts_request_line once, http1_parts_field for each field in order, and
 * http1_parts_end. Slices are into buf; the method, the target and each value must
 * be followed in buf by an LF (it stops the scans, as a line end does in text).
 * HTTP1_AGAIN: taken, go on; HTTP1_ERROR: p->status (400, 414, 431, 501) and
 * p->reason, as for text, and every later call says HTTP1_ERROR. Field k (from 0)
 * is recorded in p->fields[k], which may be where its slices were read from. */
enum http1_rc http1_parts_request_line(struct http1_parser *p, const char *buf,
                                       struct http1_slice method, struct http1_slice target);
enum http1_rc http1_parts_field(struct http1_parser *p, const char *buf, struct http1_slice name,
                                struct http1_slice value);
/* HTTP1_DONE: *req is filled; *used is the length the head has as text. */
enum http1_rc http1_parts_end(struct http1_parser *p, const char *buf, struct http1_request *req,
                              size_t *used);

/* True if the request asks to keep the connection open (HTTP/1.1 without
 * "Connection: close", or HTTP/1.0 with "Connection: keep-alive"). */
bool http1_wants_keep_alive(const struct http1_request *req);

/* Case-insensitive comparison of a slice with a NUL-terminated string. */
bool http1_slice_equals(const char *buf, struct http1_slice s, const char *lit);

/* The decimal digits of v into out (room for 20, no NUL), as a
 * Content-Length value is written; returns the count. */
size_t http1_format_u64(uint64_t v, char *out);

/* s[0..n) is a token (RFC 9110 §5.6.2): one or more tchar. */
bool http1_is_token(const char *s, size_t n);
/* s[0..n) is a field-value (RFC 9110 §5.5): field-vchar, SP and HTAB, not
 * starting or ending with whitespace (empty is a valid field-value). */
bool http1_is_field_value(const char *s, size_t n);

/* ---- chunked transfer coding (RFC 9112 §7.1) ---- */

struct http1_chunked {
    int state;                /* private to http1.c */
    uint64_t chunk_left;      /* data bytes left in the current chunk */
    uint32_t line_bytes;      /* bytes of the current size/trailer line */
    uint32_t trailer_bytes;   /* bytes of the trailer section so far */
    uint32_t line_max_bytes;  /* cap on a chunk-size line (with extensions) */
    uint32_t trailer_max_bytes; /* cap on the whole trailer section */
    int status;               /* on HTTP1_ERROR: 400 (or 413 for a size that
                               * overflows 64 bits) */
    const char *reason;
    /* After each http1_chunked_decode call: in[fields_off .. fields_off +
     * fields_len) are the bytes of trailer field lines ("Name: value\r\n",
     * already checked) that this call consumed; 0 when none (a refused byte
     * is never in it). Concatenated
     * over the calls they are the trailer section without its final CRLF,
     * for a caller that relays it (the proxy) to copy before the input
     * buffer moves. */
    size_t fields_off;
    size_t fields_len;
};

/* Prepare d to decode one chunked body with these caps. */
void http1_chunked_init(struct http1_chunked *d, uint32_t line_max_bytes,
                        uint32_t trailer_max_bytes);

/* Decode from in[0..len). Sets *used to the bytes consumed and, when
 * *data_len > 0, in[*data_off .. *data_off + *data_len) is body data (one
 * contiguous span per call; the caller loops while *used < len).
 * HTTP1_DONE: the last chunk and the trailer section are complete; the next
 * request starts at in[*used]. HTTP1_AGAIN: consumed what it could (data may
 * have been returned), call again with the rest and more bytes.
 * HTTP1_ERROR: d->status, d->reason; framing is lost. */
enum http1_rc http1_chunked_decode(struct http1_chunked *d, const char *in, size_t len,
                                   size_t *used, size_t *data_off, size_t *data_len);

/* The next field line of a trailer section gathered from fields_off/len
 * spans (or any block of checked "Name: value\r\n" lines) at buf[*at]:
 * its name and its value with the surrounding whitespace trimmed; *at moves
 * past the line. false at the end of buf[0..len). */
bool http1_trailer_next(const char *buf, size_t len, size_t *at, struct http1_slice *name,
                        struct http1_slice *value);

#endif
