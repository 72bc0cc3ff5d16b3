/* http1_internal — what the head parser's files share; private to http1*.c.
 *
 * http1.c reads a head's lines (the request line, field lines, the limits);
 * http1_fields.c says what the fields of a complete head mean (Host,
 * framing, Connection, Expect, the fields the server keeps) and checks
 * authorities. Both the text parser and a head given in parts (HTTP/2,
 * http1_parts_*) end in http1_finish, so a request means the same whichever
 * protocol carried it.
 */
#ifndef LINGERD_HTTP1_INTERNAL_H
#define LINGERD_HTTP1_INTERNAL_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http1.h"

static inline uint64_t http1_load64(const char *s)
{
    uint64_t x;
    memcpy(&x, s, sizeof x);
    return x;
}

static inline uint32_t http1_load32(const char *s)
{
    uint32_t x;
    memcpy(&x, s, sizeof x);
    return x;
}

/* s[0..n) equals lit, ignoring case, where lit is lower case of [a-z0-9-] and s holds
 * field bytes only (a field name's tchars are field bytes too). OR-ing 0x20 into a
 * byte lower-cases a letter and keeps a digit or '-'; the only other bytes it maps
 * into [a-z0-9-] are controls (CR onto '-', 0x10-0x19 onto digits), which no field
 * holds. So whole words compare at once, the last one overlapping: n >= 4. */
static inline bool http1_is_nocase(const char *s, const char *lit, size_t n)
{
    assert(n >= 4);
    if (n < 8) {
        const uint32_t lower = UINT32_C(0x20202020);
        return (http1_load32(s) | lower) == http1_load32(lit) &&
               (http1_load32(s + n - 4) | lower) == http1_load32(lit + n - 4);
    }
    const uint64_t lower = UINT64_C(0x2020202020202020);
    for (size_t i = 0; i + 8 < n; i += 8) {
        if ((http1_load64(s + i) | lower) != http1_load64(lit + i))
            return false;
    }
    return (http1_load64(s + n - 8) | lower) == http1_load64(lit + n - 8);
}

static inline struct http1_slice http1_slice_make(size_t off, size_t len)
{
    return (struct http1_slice){ .off = (uint32_t)off, .len = (uint32_t)len };
}

static inline enum http1_rc http1_fail(struct http1_parser *p, int status, const char *reason)
{
    p->status = status;
    p->reason = reason;
    return HTTP1_ERROR;
}


/* uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2); see http1_fields.c. */
bool http1_is_authority(const char *s, size_t n, bool need_host, bool need_port,
                        uint32_t *name_len);

/* The head is complete in buf[0..end): fill *req from p->line and the
 * recorded fields p->fields[0 .. p->lines - 1), and apply the rules that
 * span several fields. */
enum http1_rc http1_finish(struct http1_parser *p, const char *buf, size_t end,
                           struct http1_request *req, size_t *used);

#endif
