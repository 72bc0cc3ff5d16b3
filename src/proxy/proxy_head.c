/* proxy_head — field classification, hop-by-hop rules and the upstream
 * request head; see the header.
 *
 * The request head: the method and target as received (absolute-form
 * becomes origin-form), HTTP/1.1, the client's Host, every field but the
 * hop-by-hop ones, and not Expect (unless 100-continue goes upstream) nor
 * Trailer (unless the body goes chunked, with its trailers) nor
 * the forwarding fields, which are set again: X-Forwarded-For (the client's
 * value with its address appended), X-Forwarded-Proto, X-Forwarded-Host and
 * Forwarded (RFC 7239; an element appended to the client's), and
 * "TE: trailers" when the client's TE lists trailers. Numbers and
 * addresses are written by hand: snprintf and inet_ntop cost more than the
 * rest of the head together (measured with bench/proxy-ir.sh).
 */
#include "proxy_head.h"

#include <arpa/inet.h>
#include <string.h>

/* Does buf[0..len) equal the lower-case lit[0..len), ignoring ASCII case? */
static bool proxy_head_same(const char *buf, const char *lit, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        if (c != (unsigned char)lit[i])
            return false;
    }
    return true;
}

enum proxy_field proxy_field_of(const char *buf, struct http1_slice name)
{
    const char *s = buf + name.off;
#define PROXY_IS(lit) proxy_head_same(s, lit, sizeof lit - 1)
    switch (name.len) {
    case 2:
        if (PROXY_IS("te"))
            return PROXY_F_TE;
        break;
    case 4:
        if (PROXY_IS("host"))
            return PROXY_F_HOST;
        if (PROXY_IS("date"))
            return PROXY_F_DATE;
        break;
    case 6:
        if (PROXY_IS("expect"))
            return PROXY_F_EXPECT;
        if (PROXY_IS("server"))
            return PROXY_F_SERVER;
        break;
    case 7:
        if (PROXY_IS("upgrade"))
            return PROXY_F_UPGRADE;
        if (PROXY_IS("trailer"))
            return PROXY_F_TRAILER;
        break;
    case 9:
        if (PROXY_IS("forwarded"))
            return PROXY_F_FORWARDED;
        break;
    case 10:
        if (PROXY_IS("connection"))
            return PROXY_F_CONNECTION;
        if (PROXY_IS("keep-alive"))
            return PROXY_F_KEEP_ALIVE;
        break;
    case 14:
        if (PROXY_IS("content-length"))
            return PROXY_F_CONTENT_LENGTH;
        break;
    case 15:
        if (PROXY_IS("x-forwarded-for"))
            return PROXY_F_X_FORWARDED_FOR;
        break;
    case 16:
        if (PROXY_IS("x-forwarded-host"))
            return PROXY_F_X_FORWARDED_HOST;
        break;
    case 17:
        if (PROXY_IS("transfer-encoding"))
            return PROXY_F_TRANSFER_ENCODING;
        if (PROXY_IS("x-forwarded-proto"))
            return PROXY_F_X_FORWARDED_PROTO;
        break;
    default:
        break;
    }
    if (name.len >= 6 && PROXY_IS("proxy-"))
        return PROXY_F_PROXY_ANY;
#undef PROXY_IS
    return PROXY_F_OTHER;
}

bool proxy_head_has_connection(const char *buf, const struct http1_header *f, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (f[i].name.len == 10 && proxy_head_same(buf + f[i].name.off, "connection", 10))
            return true;
    return false;
}

/* Does the comma list v[0..len) hold the token name[0..name_len)? Inline:
 * the Connection test calls it for every field of a head that has a
 * Connection field; out of line it cost 14 instructions per proxied request
 * (bench/proxy-ir.sh). */
static inline bool proxy_head_list_has(const char *v, size_t len, const char *name,
                                       size_t name_len)
{
    size_t k = 0;
    while (k < len) {
        while (k < len && (v[k] == ',' || v[k] == ' ' || v[k] == '\t'))
            k++;
        size_t start = k;
        while (k < len && v[k] != ',' && v[k] != ' ' && v[k] != '\t')
            k++;
        if (k - start != name_len)
            continue;
        size_t j = 0;
        while (j < name_len) {
            unsigned char a = (unsigned char)v[start + j], b = (unsigned char)name[j];
            if (a >= 'A' && a <= 'Z')
                a = (unsigned char)(a + ('a' - 'A'));
            if (b >= 'A' && b <= 'Z')
                b = (unsigned char)(b + ('a' - 'A'));
            if (a != b)
                break;
            j++;
        }
        if (j == name_len)
            return true;
    }
    return false;
}

/* Whether a TE field's value lists trailers. Never inlined: in
 * proxy_head_build's field loop it made the loop cost 30 instructions more
 * per proxied request (bench/proxy-ir.sh), and TE is rare. */
__attribute__((noinline)) static bool proxy_head_te_has_trailers(const char *buf,
                                                                  const struct http1_header *h)
{
    return proxy_head_list_has(buf + h->value.off, h->value.len, "trailers", 8);
}

bool proxy_head_connection_names(const char *buf, const struct http1_header *f, uint32_t n,
                                 const char *name, size_t len)
{
    for (uint32_t i = 0; i < n; i++)
        if (f[i].name.len == 10 && proxy_head_same(buf + f[i].name.off, "connection", 10) &&
            proxy_head_list_has(buf + f[i].value.off, f[i].value.len, name, len))
            return true;
    return false;
}

bool proxy_head_is_hop_by_hop(const char *buf, const struct http1_header *f, uint32_t n,
                              uint32_t i, enum proxy_field k, bool has_connection)
{
    switch (k) {
    case PROXY_F_CONNECTION:
    case PROXY_F_KEEP_ALIVE:
    case PROXY_F_TE:
    case PROXY_F_TRANSFER_ENCODING:
    case PROXY_F_UPGRADE:
    case PROXY_F_TRAILER:
    case PROXY_F_PROXY_ANY:
        return true;
    default:
        break;
    }
    return has_connection &&
           proxy_head_connection_names(buf, f, n, buf + f[i].name.off, f[i].name.len);
}

/* ---- writing the head ---- */

struct proxy_head_out {
    char *p;
    size_t len, cap;
    bool overflow;
};

static void proxy_head_put(struct proxy_head_out *t, const char *s, size_t n)
{
    if (n > t->cap - t->len) {
        t->overflow = true;
        return;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

#define PROXY_PUT_LIT(t, lit) proxy_head_put(t, lit, sizeof lit - 1)

static void proxy_head_put_slice(struct proxy_head_out *t, const char *buf,
                                 struct http1_slice s)
{
    proxy_head_put(t, buf + s.off, s.len);
}

/* The client's address as text (dotted quad by hand; IPv6 by inet_ntop). */
static size_t proxy_head_addr(int family, const uint8_t *addr, char out[INET6_ADDRSTRLEN])
{
    if (family == 6)
        return inet_ntop(AF_INET6, addr, out, INET6_ADDRSTRLEN) ? strlen(out) : 0;
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        if (i)
            out[n++] = '.';
        n += http1_format_u64(addr[i], out + n);
    }
    return n;
}

size_t proxy_head_build(const struct proxy_head_in *in, char *out, size_t cap)
{
    const struct http1_request *req = in->req;
    const char *buf = in->buf;
    struct proxy_head_out o = { out, 0, cap, false }, *t = &o;
    char peer[INET6_ADDRSTRLEN];
    size_t peer_len = proxy_head_addr(in->peer_family, in->peer_addr, peer);
    if (peer_len == 0) {
        memcpy(peer, "unknown", 7);
        peer_len = 7;
    }

    proxy_head_put_slice(t, buf, req->method_token);
    PROXY_PUT_LIT(t, " ");
    if (req->target.len && buf[req->target.off] == '/') {
        proxy_head_put_slice(t, buf, req->target);
    } else {
        /* absolute-form: the origin-form of the same resource */
        proxy_head_put_slice(t, buf, req->path);
        if (req->query.len) {
            PROXY_PUT_LIT(t, "?");
            proxy_head_put_slice(t, buf, req->query);
        }
    }
    /* HTTP/1.1 needs a Host; an HTTP/1.0 client may have sent none, and then
     * it is empty (RFC 9112 §3.2: the authority is undefined). */
    PROXY_PUT_LIT(t, " HTTP/1.1\r\nHost: ");
    proxy_head_put_slice(t, buf, req->host);
    PROXY_PUT_LIT(t, "\r\n");
    struct http1_slice xff = { 0, 0 }, fwd = { 0, 0 };
    bool has_connection = proxy_head_has_connection(buf, req->fields, req->field_count);
    bool te_trailers = false;
    for (uint32_t i = 0; i < req->field_count; i++) {
        const struct http1_header *h = &req->fields[i];
        enum proxy_field k = proxy_field_of(buf, h->name);
        /* First: a field Connection names is this hop's, whatever it is. */
        if (proxy_head_is_hop_by_hop(buf, req->fields, req->field_count, i, k, has_connection)) {
            /* The client takes trailers (RFC 9110 §6.5.1), and lingerd relays
             * them: the upstream may send them. Its other TE codings are
             * this hop's (lingerd decodes none). */
            if (k == PROXY_F_TE)
                te_trailers |= proxy_head_te_has_trailers(buf, h);
            if (k != PROXY_F_TRAILER || !in->chunked)
                continue;
        }
        switch (k) {
        case PROXY_F_HOST:
        case PROXY_F_CONTENT_LENGTH:
        case PROXY_F_X_FORWARDED_PROTO:
        case PROXY_F_X_FORWARDED_HOST:
            continue;
        case PROXY_F_EXPECT:
            if (!in->keep_expect)
                continue;
            break;
        case PROXY_F_X_FORWARDED_FOR:
            if (!xff.len)
                xff = h->value;
            continue;
        case PROXY_F_FORWARDED:
            if (!fwd.len)
                fwd = h->value;
            continue;
        default:
            break;
        }
        /* "Name: value\r\n" from the client's bytes: the name runs to its
         * colon, the value as trimmed. */
        proxy_head_put_slice(t, buf, h->name);
        PROXY_PUT_LIT(t, ": ");
        proxy_head_put_slice(t, buf, h->value);
        PROXY_PUT_LIT(t, "\r\n");
    }
    PROXY_PUT_LIT(t, "X-Forwarded-For: ");
    if (xff.len) {
        proxy_head_put_slice(t, buf, xff);
        PROXY_PUT_LIT(t, ", ");
    }
    proxy_head_put(t, peer, peer_len);
    if (in->tls)
        PROXY_PUT_LIT(t, "\r\nX-Forwarded-Proto: https\r\nForwarded: ");
    else
        PROXY_PUT_LIT(t, "\r\nX-Forwarded-Proto: http\r\nForwarded: ");
    if (fwd.len) {
        proxy_head_put_slice(t, buf, fwd);
        PROXY_PUT_LIT(t, ", ");
    }
    /* RFC 7239 §6: an IPv6 node is quoted and bracketed. */
    if (in->peer_family == 6) {
        PROXY_PUT_LIT(t, "for=\"[");
        proxy_head_put(t, peer, peer_len);
        PROXY_PUT_LIT(t, "]\";proto=");
    } else {
        PROXY_PUT_LIT(t, "for=");
        proxy_head_put(t, peer, peer_len);
        PROXY_PUT_LIT(t, ";proto=");
    }
    if (in->tls)
        PROXY_PUT_LIT(t, "https");
    else
        PROXY_PUT_LIT(t, "http");
    if (req->host.len) {
        /* The host as a quoted-string: the bytes allowed in Host need no
         * escaping but a quoted port is allowed there (RFC 7239 §5.3). */
        PROXY_PUT_LIT(t, ";host=\"");
        proxy_head_put_slice(t, buf, req->host);
        PROXY_PUT_LIT(t, "\"\r\nX-Forwarded-Host: ");
        proxy_head_put_slice(t, buf, req->host);
    }
    PROXY_PUT_LIT(t, "\r\n");
    /* RFC 9110 §10.1.4: TE is this hop's, so Connection names it. */
    if (te_trailers)
        PROXY_PUT_LIT(t, "TE: trailers\r\n");
    if (in->upgrade) {
        /* The one hop-by-hop request passed on: asked of this hop too. */
        PROXY_PUT_LIT(t, "Upgrade: ");
        proxy_head_put_slice(t, buf, in->upgrade_value);
        if (te_trailers)
            PROXY_PUT_LIT(t, "\r\nConnection: upgrade, te\r\n");
        else
            PROXY_PUT_LIT(t, "\r\nConnection: upgrade\r\n");
    } else if (te_trailers) {
        PROXY_PUT_LIT(t, "Connection: te\r\n");
    }
    if (in->has_length) {
        char num[20];
        PROXY_PUT_LIT(t, "Content-Length: ");
        proxy_head_put(t, num, http1_format_u64(in->length, num));
        PROXY_PUT_LIT(t, "\r\n");
    } else if (in->chunked) {
        PROXY_PUT_LIT(t, "Transfer-Encoding: chunked\r\n");
    }
    PROXY_PUT_LIT(t, "\r\n");
    return o.overflow ? 0 : o.len;
}
