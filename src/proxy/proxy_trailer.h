/* proxy_trailer — the trailer fields the proxy relays (RFC 9110 §6.5): a
 * bounded copy of a trailer section as it arrives, and the rule for which of
 * its fields go on.
 *
 * A trailer section arrives in pieces (the chunked decoder's field-line
 * spans, or an HTTP/2 stream's trailing HEADERS as lines); the pieces are
 * copied here, since the buffer they are in moves on. Memory is taken only
 * when a section has a byte: a message without trailers costs nothing.
 *
 * Not relayed (RFC 9110 §6.5.1: fields that cannot be processed after the
 * content, which a recipient that merged them into the head would act on
 * wrongly): framing (Content-Length, Transfer-Encoding, Trailer), routing
 * (Host), hop-by-hop fields (Connection, Keep-Alive, TE, Upgrade,
 * HTTP2-Settings, Proxy-*), authentication and session state
 * (Authorization, WWW-Authenticate, Cookie, Set-Cookie), request modifiers
 * (Cache-Control, Expect, Max-Forwards, Pragma, Range, If-*), response
 * controls (Age, Date, Expires, Location, Retry-After, Vary) and content
 * format (Content-Type, Content-Encoding, Content-Range). Every other
 * field (grpc-status, checksums, Server-Timing...) goes on as it came.
 *
 * The section's end (proxy_trailer_end, proxy_trailer_to_client) logs what
 * was dropped and writes to the client's connection; the rest is pure.
 * proxy.c owns the memory through these functions.
 */
#ifndef LINGERD_PROXY_TRAILER_H
#define LINGERD_PROXY_TRAILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct proxy_trailer {
    char *lines;   /* checked "Name: value\r\n" lines; NULL until the first byte */
    uint32_t len;
    uint32_t cap;
};

/* The longest dropped field name proxy_trailer_finish copies for a log line. */
#define PROXY_TRAILER_NAME_LOG 48

/* Append n bytes of the section (pieces of whole lines, as they come).
 * 0; -E2BIG past max_bytes in all (nothing added); -ENOMEM. */
int proxy_trailer_add(struct proxy_trailer *t, const char *p, size_t n, uint32_t max_bytes);

/* Whether a field of this name (any case) is relayed in a trailer section. */
bool proxy_trailer_is_relayed(const char *name, size_t len);

/* The section is complete: keep only the relayed fields, each written
 * "Name: value\r\n" (its value trimmed), in t->lines[0..t->len); with
 * last_chunk, framed as HTTP/1.1's last chunk: "0\r\n", the fields, "\r\n"
 * (RFC 9112 §7.1.2). Returns the number of fields dropped (the first one's
 * name, cut to fit, into dropped[PROXY_TRAILER_NAME_LOG] as a C string), or
 * -ENOMEM (t unchanged). */
int proxy_trailer_finish(struct proxy_trailer *t, bool last_chunk, char *dropped);

struct conn;

/* The section is complete: proxy_trailer_finish, and one error-log line
 * (info) naming the first field dropped, if any: "proxy <upstream>: N
 * <which> trailer field(s) not relayed". false: no memory (logged). */
bool proxy_trailer_end(struct proxy_trailer *t, struct conn *c, const char *upstream,
                       const char *which, bool last_chunk);

/* The answer is whole and t holds its trailer section: its last chunk
 * with t's relayed fields (chunked: the proxy frames the body, RFC 9112
 * §7.1.2), or the fields handed to a protocol that frames it
 * (conn_resp_trailers). false: no memory (the answer is cut). */
bool proxy_trailer_to_client(struct proxy_trailer *t, struct conn *c, const char *upstream,
                             bool chunked);

/* Free what t holds; t is empty again. Inline: every exchange calls it
 * twice, and nearly always finds nothing. */
static inline void proxy_trailer_free(struct proxy_trailer *t)
{
    if (!t->lines)
        return;
    free(t->lines);
    t->lines = NULL;
    t->len = t->cap = 0;
}

#endif
