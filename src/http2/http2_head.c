/* http2_head — see http2_head.h. */
#include "http2_head.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Append bytes to a growing buffer. false: out of memory. */
static bool http2_buf_append(struct http2_buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return false;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return true;
}

static bool http2_head_append(struct http2_head *h, const void *data, size_t n)
{
    return http2_buf_append(&h->fields, data, n);
}

/* RFC 9113 §8.2.3: a cookie split into several fields (as browsers do, so
 * that HPACK indexes each crumb) is one field again, joined with "; ",
 * before it reaches an HTTP/1.1 context; RFC 6265 §5.4 wants a single
 * Cookie too, and many applications read only the first. */
static bool http2_head_add_cookie(struct http2_head *h, const uint8_t *value, size_t len)
{
    if (h->has_cookie && !http2_buf_append(&h->cookie, "; ", 2))
        return false;
    h->has_cookie = true;
    return http2_buf_append(&h->cookie, value, len);
}

static int http2_pseudo_index(const uint8_t *name, size_t len)
{
    static const char *const names[HTTP2_PSEUDO_COUNT] = { ":method", ":path", ":authority",
                                                           ":scheme" };
    for (int i = 0; i < HTTP2_PSEUDO_COUNT; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return i;
    return -1;
}

enum http2_head_rc http2_head_add(struct http2_head *h, const uint8_t *name, size_t namelen,
                                  const uint8_t *value, size_t valuelen, uint32_t list_max)
{
    if (h->too_big)
        return HTTP2_HEAD_OK; /* decoded (HPACK's state must follow), not kept */
    /* RFC 9113 §6.5.2: a field counts its name, its value and 32 bytes. */
    uint64_t bytes = (uint64_t)h->list_bytes + namelen + valuelen + 32;
    if (bytes > list_max) {
        h->too_big = true;
        return HTTP2_HEAD_TOO_BIG;
    }
    h->list_bytes = (uint32_t)bytes;
    if (namelen > 0 && name[0] == ':') {
        int i = http2_pseudo_index(name, namelen);
        if (i < 0)
            return HTTP2_HEAD_MALFORMED; /* (nghttp2 refuses unknown ones first) */
        char *copy = malloc(valuelen + 1);
        if (!copy)
            return HTTP2_HEAD_NOMEM;
        memcpy(copy, value, valuelen);
        copy[valuelen] = '\0';
        free(h->pseudo[i]);
        h->pseudo[i] = copy;
        h->pseudo_len[i] = valuelen;
        return HTTP2_HEAD_OK;
    }
    if (namelen == 14 && memcmp(name, "content-length", 14) == 0)
        h->has_length = true;
    if (namelen == 4 && memcmp(name, "host", 4) == 0 && h->pseudo[HTTP2_PSEUDO_AUTHORITY]) {
        /* RFC 9113 §8.3.1: Host and :authority must name the same origin;
         * the Host line is written from :authority. */
        if (valuelen != h->pseudo_len[HTTP2_PSEUDO_AUTHORITY] ||
            strncasecmp((const char *)value, h->pseudo[HTTP2_PSEUDO_AUTHORITY], valuelen) != 0)
            return HTTP2_HEAD_MALFORMED;
        return HTTP2_HEAD_OK;
    }
    if (namelen == 6 && memcmp(name, "cookie", 6) == 0)
        return http2_head_add_cookie(h, value, valuelen) ? HTTP2_HEAD_OK : HTTP2_HEAD_NOMEM;
    if (!http2_head_append(h, name, namelen) || !http2_head_append(h, ": ", 2) ||
        !http2_head_append(h, value, valuelen) || !http2_head_append(h, "\r\n", 2))
        return HTTP2_HEAD_NOMEM;
    return HTTP2_HEAD_OK;
}

bool http2_head_pseudo_ok(const struct http2_head *h)
{
    const char *method = h->pseudo[HTTP2_PSEUDO_METHOD];
    const char *path = h->pseudo[HTTP2_PSEUDO_PATH];
    if (!method || !path || !h->pseudo[HTTP2_PSEUDO_SCHEME])
        return false; /* CONNECT (the only form without them) is not served */
    if (strlen(method) != h->pseudo_len[HTTP2_PSEUDO_METHOD] ||
        strlen(path) != h->pseudo_len[HTTP2_PSEUDO_PATH])
        return false; /* a NUL inside (nghttp2 refuses it first) */
    if (strcmp(method, "CONNECT") == 0)
        return false;
    if (path[0] == '/')
        return true;
    return strcmp(path, "*") == 0 && strcmp(method, "OPTIONS") == 0;
}

size_t http2_head_text_len(const struct http2_head *h)
{
    const char *authority = h->pseudo[HTTP2_PSEUDO_AUTHORITY];
    return h->pseudo_len[HTTP2_PSEUDO_METHOD] + 1 + h->pseudo_len[HTTP2_PSEUDO_PATH] + 11 +
           (authority ? 6 + h->pseudo_len[HTTP2_PSEUDO_AUTHORITY] + 2 : 0) + h->fields.len +
           (h->has_cookie ? 8 + h->cookie.len + 2 : 0) + 2;
}

size_t http2_head_write(const struct http2_head *h, char *out)
{
    char *p = out;
#define HTTP2_PUT(src, n)                                                                      \
    do {                                                                                       \
        memcpy(p, (src), (n));                                                                 \
        p += (n);                                                                              \
    } while (0)
    HTTP2_PUT(h->pseudo[HTTP2_PSEUDO_METHOD], h->pseudo_len[HTTP2_PSEUDO_METHOD]);
    HTTP2_PUT(" ", 1);
    HTTP2_PUT(h->pseudo[HTTP2_PSEUDO_PATH], h->pseudo_len[HTTP2_PSEUDO_PATH]);
    HTTP2_PUT(" HTTP/1.1\r\n", 11);
    if (h->pseudo[HTTP2_PSEUDO_AUTHORITY]) {
        HTTP2_PUT("host: ", 6);
        HTTP2_PUT(h->pseudo[HTTP2_PSEUDO_AUTHORITY], h->pseudo_len[HTTP2_PSEUDO_AUTHORITY]);
        HTTP2_PUT("\r\n", 2);
    }
    if (h->fields.len)
        HTTP2_PUT(h->fields.data, h->fields.len);
    if (h->has_cookie) {
        HTTP2_PUT("cookie: ", 8);
        HTTP2_PUT(h->cookie.data, h->cookie.len);
        HTTP2_PUT("\r\n", 2);
    }
    HTTP2_PUT("\r\n", 2);
#undef HTTP2_PUT
    return (size_t)(p - out);
}

void http2_head_free(struct http2_head *h)
{
    for (int i = 0; i < HTTP2_PSEUDO_COUNT; i++) {
        free(h->pseudo[i]);
        h->pseudo[i] = NULL;
    }
    free(h->fields.data);
    free(h->cookie.data);
    h->fields = (struct http2_buf){ 0 };
    h->cookie = (struct http2_buf){ 0 };
    h->has_cookie = false;
}
