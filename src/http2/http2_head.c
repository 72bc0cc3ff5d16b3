/* http2_head — see http2_head.h. */
#include "http2_head.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The arena's first bytes: an LF at offset 0 (no value starts there, which
 * is how the parser tells a kept field it has not seen), then the names of
 * the two fields written here rather than received as such. */
#define HTTP2_HEAD_PREFIX "\nhostcookie"
#define HTTP2_HEAD_PREFIX_LEN (sizeof HTTP2_HEAD_PREFIX - 1)
static const struct http1_slice http2_host_name = { 1, 4 };
static const struct http1_slice http2_cookie_name = { 5, 6 };

void http2_head_init(struct http2_head *h, char *buf, uint32_t cap, struct http1_header *fields,
                     uint32_t fields_cap)
{
    *h = (struct http2_head){ .buf = buf, .cap = cap, .fields = fields,
                              .fields_cap = fields_cap };
    memcpy(h->buf, HTTP2_HEAD_PREFIX, HTTP2_HEAD_PREFIX_LEN);
    h->len = HTTP2_HEAD_PREFIX_LEN;
}

/* Append n bytes and, if lf, an LF to the arena, growing it if it must
 * (its size is bounded by the header list's limit, which every field counts
 * against first). *at: where the bytes went. false: out of memory. */
static bool http2_head_put(struct http2_head *h, const void *data, size_t n, bool lf,
                           struct http1_slice *at)
{
    size_t need = (size_t)h->len + n + lf;
    if (need > UINT32_MAX)
        return false;
    if (need > h->cap) {
        size_t cap = (size_t)h->cap * 2;
        if (cap < need)
            cap = need;
        if (cap > UINT32_MAX)
            cap = UINT32_MAX;
        char *p = h->buf_owned ? realloc(h->buf, cap) : malloc(cap);
        if (!p)
            return false;
        if (!h->buf_owned)
            memcpy(p, h->buf, h->len);
        h->buf = p;
        h->cap = (uint32_t)cap;
        h->buf_owned = true;
    }
    *at = (struct http1_slice){ .off = h->len, .len = (uint32_t)n };
    if (n)
        memcpy(h->buf + h->len, data, n);
    h->len += (uint32_t)n;
    if (lf)
        h->buf[h->len++] = '\n';
    return true;
}

/* Append bytes to a growing buffer. false: out of memory. */
static bool http2_buf_append(struct http2_buf *b, const void *data, size_t n)
{
    if (n == 0)
        return true; /* an empty cookie: b->data may still be NULL */
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
    switch (len) {
    case 5:
        return memcmp(name, ":path", 5) == 0 ? HTTP2_PSEUDO_PATH : -1;
    case 7:
        if (memcmp(name, ":method", 7) == 0)
            return HTTP2_PSEUDO_METHOD;
        return memcmp(name, ":scheme", 7) == 0 ? HTTP2_PSEUDO_SCHEME : -1;
    case 10:
        return memcmp(name, ":authority", 10) == 0 ? HTTP2_PSEUDO_AUTHORITY : -1;
    }
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
        /* a repeated one (nghttp2 refuses those too) replaces the first */
        return http2_head_put(h, value, valuelen, true, &h->pseudo[i]) ? HTTP2_HEAD_OK
                                                                        : HTTP2_HEAD_NOMEM;
    }
    if (namelen == 14 && memcmp(name, "content-length", 14) == 0)
        h->has_length = true;
    const struct http1_slice *authority = &h->pseudo[HTTP2_PSEUDO_AUTHORITY];
    if (namelen == 4 && memcmp(name, "host", 4) == 0 && authority->off) {
        /* RFC 9113 §8.3.1: Host and :authority must name the same origin;
         * the Host field is made from :authority. */
        if (valuelen != authority->len ||
            strncasecmp((const char *)value, h->buf + authority->off, valuelen) != 0)
            return HTTP2_HEAD_MALFORMED;
        return HTTP2_HEAD_OK;
    }
    if (namelen == 6 && memcmp(name, "cookie", 6) == 0)
        return http2_head_add_cookie(h, value, valuelen) ? HTTP2_HEAD_OK : HTTP2_HEAD_NOMEM;
    struct http1_header f;
    if (!http2_head_put(h, name, namelen, false, &f.name) ||
        !http2_head_put(h, value, valuelen, true, &f.value))
        return HTTP2_HEAD_NOMEM;
    if (h->field_count < h->fields_cap) {
        h->fields[h->field_count++] = f;
    } else if (!h->fields_over) {
        /* past every limit on the count: kept only to be refused (431) in
         * its place, after the verdicts of the fields before it */
        h->fields_over = true;
        h->over = f;
    }
    return HTTP2_HEAD_OK;
}

/* s[0..n) equals the literal lit, exactly. */
static bool http2_slice_is(const char *buf, struct http1_slice s, const char *lit, size_t n)
{
    return s.len == n && memcmp(buf + s.off, lit, n) == 0;
}

bool http2_head_pseudo_ok(const struct http2_head *h)
{
    struct http1_slice method = h->pseudo[HTTP2_PSEUDO_METHOD];
    struct http1_slice path = h->pseudo[HTTP2_PSEUDO_PATH];
    if (!method.off || !path.off || !h->pseudo[HTTP2_PSEUDO_SCHEME].off)
        return false; /* CONNECT (the only form without them) is not served */
    if (memchr(h->buf + method.off, '\0', method.len) || memchr(h->buf + path.off, '\0', path.len))
        return false; /* (nghttp2 refuses a NUL first) */
    if (http2_slice_is(h->buf, method, "CONNECT", 7))
        return false;
    if (path.len > 0 && h->buf[path.off] == '/')
        return true;
    return http2_slice_is(h->buf, path, "*", 1) && http2_slice_is(h->buf, method, "OPTIONS", 7);
}

bool http2_head_build(struct http2_head *h, struct http1_parser *p, struct http1_request *req,
                      size_t *text_len, enum http1_rc *rc)
{
    /* the joined cookie goes after the fields, as its own field */
    struct http1_slice cookie = { 0, 0 };
    if (h->has_cookie && !http2_head_put(h, h->cookie.data, h->cookie.len, true, &cookie))
        return false;
    /* the Host field from :authority comes first: slot 0 is made free */
    struct http1_slice authority = h->pseudo[HTTP2_PSEUDO_AUTHORITY];
    uint32_t count = h->field_count;
    if (authority.off) {
        struct http1_header host = { http2_host_name, authority };
        if (count == h->fields_cap) {
            /* no room: the last one (or Host itself) is now the first left out */
            h->fields_over = true;
            h->over = count ? h->fields[--count] : host;
        }
        if (count < h->fields_cap) {
            memmove(h->fields + 1, h->fields, count * sizeof *h->fields);
            h->fields[0] = host;
            count++;
        }
    }
    *text_len = 0;
    /* each refusal is sticky: the calls after it say HTTP1_ERROR at once */
    *rc = http1_parts_request_line(p, h->buf, h->pseudo[HTTP2_PSEUDO_METHOD],
                                   h->pseudo[HTTP2_PSEUDO_PATH]);
    for (uint32_t k = 0; k < count && *rc == HTTP1_AGAIN; k++)
        *rc = http1_parts_field(p, h->buf, h->fields[k].name, h->fields[k].value);
    if (h->fields_over && *rc == HTTP1_AGAIN)
        *rc = http1_parts_field(p, h->buf, h->over.name, h->over.value);
    if (h->has_cookie && *rc == HTTP1_AGAIN)
        *rc = http1_parts_field(p, h->buf, http2_cookie_name, cookie);
    if (*rc == HTTP1_AGAIN)
        *rc = http1_parts_end(p, h->buf, req, text_len);
    return true;
}

char *http2_head_take_buf(struct http2_head *h)
{
    if (!h->buf_owned)
        return NULL;
    h->buf_owned = false;
    return h->buf;
}

void http2_head_free(struct http2_head *h)
{
    if (h->buf_owned)
        free(h->buf);
    h->buf_owned = false;
    h->buf = NULL;
    free(h->cookie.data);
    h->cookie = (struct http2_buf){ 0 };
    h->has_cookie = false;
}
