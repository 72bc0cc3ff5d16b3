/* proxy_head — the field rules of the proxy's two heads, and the request
 * head it sends upstream.
 *
 * A field name is classified once (by its length, then one case-insensitive
 * compare), not compared against every rule in turn: the proxy looks at
 * every field of every request and response, so this is on the path of
 * every proxied request. Hop-by-hop fields (RFC 9110 §7.6.1) are Connection
 * and every field it names, Keep-Alive, TE, Transfer-Encoding, Upgrade,
 * Trailer and Proxy-*; a head without a Connection field costs no scan for
 * the names it would list. Trailer is not hop-by-hop in RFC 9110 (§6.6.2),
 * but it must not go on alone: it is passed on by name where the trailers
 * it announces go too (a chunked body), which keeps that test off the path
 * of every other field.
 *
 * Pure: no I/O, no malloc, no clock; proxy.c owns the buffers.
 */
#ifndef LINGERD_PROXY_HEAD_H
#define LINGERD_PROXY_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http1.h"

enum proxy_field {
    PROXY_F_OTHER,
    PROXY_F_CONNECTION,
    PROXY_F_KEEP_ALIVE,
    PROXY_F_TE,
    PROXY_F_TRANSFER_ENCODING,
    PROXY_F_UPGRADE,
    PROXY_F_TRAILER,
    PROXY_F_PROXY_ANY, /* Proxy-* */
    PROXY_F_HOST,
    PROXY_F_EXPECT,
    PROXY_F_CONTENT_LENGTH,
    PROXY_F_X_FORWARDED_FOR,
    PROXY_F_X_FORWARDED_PROTO,
    PROXY_F_X_FORWARDED_HOST,
    PROXY_F_FORWARDED,
    PROXY_F_DATE,
    PROXY_F_SERVER,
};

/* Which field buf[name] names (case-insensitive). */
enum proxy_field proxy_field_of(const char *buf, struct http1_slice name);

/* Whether some field of f[0..n) is a Connection field. */
bool proxy_head_has_connection(const char *buf, const struct http1_header *f, uint32_t n);

/* Whether a Connection field of f[0..n) lists the option name[0..len). */
bool proxy_head_connection_names(const char *buf, const struct http1_header *f, uint32_t n,
                                 const char *name, size_t len);

/* Whether field f[i], of kind k, is hop-by-hop; has_connection: what
 * proxy_head_has_connection said of f[0..n). */
bool proxy_head_is_hop_by_hop(const char *buf, const struct http1_header *f, uint32_t n,
                              uint32_t i, enum proxy_field k, bool has_connection);

/* What the request head sent upstream is made of besides the client's. */
struct proxy_head_in {
    const struct http1_request *req;
    const char *buf;            /* the client's head, req's slices are into it */
    int peer_family;            /* 4 or 6: the client's address, for X-Forwarded-For */
    const uint8_t *peer_addr;   /* 4 or 16 bytes */
    bool tls;                   /* X-Forwarded-Proto https */
    bool keep_expect;           /* Expect is passed on (100-continue goes upstream) */
    bool upgrade;               /* pass Upgrade: upgrade_value and Connection: upgrade */
    struct http1_slice upgrade_value;
    bool has_length;            /* Content-Length: length */
    uint64_t length;
    bool chunked;               /* Transfer-Encoding: chunked (and the client's Trailer) */
};

/* Write the request head for the upstream into out[0..cap). Returns its
 * length, or 0 if it does not fit. */
size_t proxy_head_build(const struct proxy_head_in *in, char *out, size_t cap);

#endif
