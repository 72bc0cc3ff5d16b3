/* http2_head — see http2_head.h. */
#include "http2_head.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Append bytes to the fields buffer. false: out of memory. */
static bool http2_head_append(struct http2_head *h, const void *data, size_t n)
{
    if (h->fields_len + n > h->fields_cap) {
        size_t cap = h->fields_cap ? h->fields_cap : 256;
        while (cap < h->fields_len + n)
            cap *= 2;
        char *p = realloc(h->fields, cap);
        if (!p)
            return false;
        h->fields = p;
        h->fields_cap = cap;
    }
    memcpy(h->fields + h->fields_len, data, n);
    h->fields_len += n;
    return true;
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
           (authority ? 6 + h->pseudo_len[HTTP2_PSEUDO_AUTHORITY] + 2 : 0) + h->fields_len + 2;
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
    if (h->fields_len)
        HTTP2_PUT(h->fields, h->fields_len);
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
    free(h->fields);
    h->fields = NULL;
    h->fields_len = h->fields_cap = 0;
}
