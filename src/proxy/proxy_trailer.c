/* proxy_trailer — a trailer section kept for relaying, which of its fields
 * are relayed (see the header for the list and why), and its way to the
 * client.
 */
#include "proxy_trailer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "http1.h"

/* The first allocation: a gRPC status and message fit. */
#define PROXY_TRAILER_FIRST_CAP 256

int proxy_trailer_add(struct proxy_trailer *t, const char *p, size_t n, uint32_t max_bytes)
{
    if (n > max_bytes || t->len > max_bytes - n)
        return -E2BIG;
    size_t need = t->len + n;
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap : PROXY_TRAILER_FIRST_CAP;
        while (cap < need)
            cap *= 2;
        if (cap > max_bytes)
            cap = max_bytes;
        char *lines = realloc(t->lines, cap);
        if (!lines)
            return -ENOMEM;
        t->lines = lines;
        t->cap = (uint32_t)cap;
    }
    memcpy(t->lines + t->len, p, n);
    t->len = (uint32_t)need;
    return 0;
}

/* By category of RFC 9110 §6.5.1; lower case. */
static const char *const proxy_trailer_dropped[] = {
    /* framing */
    "content-length", "transfer-encoding", "trailer",
    /* routing */
    "host",
    /* hop-by-hop (RFC 9110 §7.6.1; RFC 9113 §8.2.2); Proxy-* below */
    "connection", "keep-alive", "te", "upgrade", "http2-settings",
    /* authentication and session state */
    "authorization", "www-authenticate", "cookie", "set-cookie",
    /* request modifiers */
    "cache-control", "expect", "max-forwards", "pragma", "range", "if-match",
    "if-none-match", "if-modified-since", "if-unmodified-since", "if-range",
    /* response controls */
    "age", "date", "expires", "location", "retry-after", "vary",
    /* content format */
    "content-type", "content-encoding", "content-range",
};

/* (strncasecmp: trailer fields are rare, and names are tokens, ASCII) */
bool proxy_trailer_is_relayed(const char *name, size_t len)
{
    if (len >= 6 && strncasecmp(name, "proxy-", 6) == 0)
        return false;
    for (size_t i = 0; i < sizeof proxy_trailer_dropped / sizeof proxy_trailer_dropped[0]; i++) {
        const char *lit = proxy_trailer_dropped[i];
        if (strlen(lit) == len && strncasecmp(name, lit, len) == 0)
            return false;
    }
    return true;
}

int proxy_trailer_finish(struct proxy_trailer *t, bool last_chunk, char *dropped)
{
    struct http1_slice name, value;
    size_t at = 0, need = last_chunk ? 5 : 0;
    int drops = 0;
    dropped[0] = '\0';
    while (http1_trailer_next(t->lines, t->len, &at, &name, &value)) {
        if (proxy_trailer_is_relayed(t->lines + name.off, name.len)) {
            need += (size_t)name.len + 2 + value.len + 2;
            continue;
        }
        if (drops++ == 0) {
            size_t n = name.len;
            if (n > PROXY_TRAILER_NAME_LOG - 1)
                n = PROXY_TRAILER_NAME_LOG - 1;
            memcpy(dropped, t->lines + name.off, n);
            dropped[n] = '\0';
        }
    }
    char *out = need ? malloc(need) : NULL;
    if (need && !out)
        return -ENOMEM;
    size_t len = 0;
    if (last_chunk) {
        memcpy(out, "0\r\n", 3);
        len = 3;
    }
    for (at = 0; http1_trailer_next(t->lines, t->len, &at, &name, &value);) {
        if (!proxy_trailer_is_relayed(t->lines + name.off, name.len))
            continue;
        memcpy(out + len, t->lines + name.off, name.len);
        len += name.len;
        memcpy(out + len, ": ", 2);
        len += 2;
        memcpy(out + len, t->lines + value.off, value.len);
        len += value.len;
        memcpy(out + len, "\r\n", 2);
        len += 2;
    }
    if (last_chunk) {
        memcpy(out + len, "\r\n", 2);
        len += 2;
    }
    free(t->lines);
    t->lines = out;
    t->len = t->cap = (uint32_t)len;
    return drops;
}

bool proxy_trailer_end(struct proxy_trailer *t, struct conn *c, const char *upstream,
                       const char *which, bool last_chunk)
{
    char dropped[PROXY_TRAILER_NAME_LOG];
    int drops = proxy_trailer_finish(t, last_chunk, dropped);
    if (drops < 0)
        conn_log(c, LOG_WARN, "proxy %s: no memory for the %s trailer section", upstream, which);
    else if (drops > 0)
        conn_log(c, LOG_INFO, "proxy %s: %d %s trailer field(s) not relayed, first %s",
                 upstream, drops, which, dropped);
    return drops >= 0;
}

bool proxy_trailer_to_client(struct proxy_trailer *t, struct conn *c, const char *upstream,
                             bool chunked)
{
    if (!proxy_trailer_end(t, c, upstream, "response", chunked))
        return false;
    if (chunked) {
        conn_resp_body(c, t->lines, t->len);
        return true;
    }
    return !t->len || conn_resp_trailers(c, t->lines, t->len);
}
