/* http1_fields — what the fields of a request head mean (RFC 9110, RFC 9112).
 *
 * http1_finish takes a complete head, its request line split and its field
 * lines recorded as slices, and fills struct http1_request: Host (with the
 * authority check), framing from Content-Length and Transfer-Encoding,
 * Connection and Expect options, and the fields the server keeps. Both
 * ways a head arrives end here: HTTP/1.1 text (http1_parse_head) and a head
 * given in parts, as HTTP/2 decodes it (http1_parts_*, http1.c); so a
 * request means the same whichever protocol carried it.
 *
 * Leaves out: reading lines, their byte rules and the limits (http1.c).
 */
#include <arpa/inet.h>

#include "ascii.h"
#include "http1_chars.h"
#include "http1_internal.h"

/* RFC 9110 §15.5.14 does not bound Content-Length; we cap it at 2^62 so a length
 * plus any offset still fits in 64 bits (and in off_t). */
#define HTTP1_CONTENT_LENGTH_MAX (UINT64_C(1) << 62)

/* The inside of an IP-literal (RFC 3986 §3.2.2): an IPv6address, or
 * IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). Not
 * inlined: its buffer would cost every Host check a stack canary. */
__attribute__((noinline)) static bool http1_is_ip_literal(const char *s, size_t n)
{
    char text[INET6_ADDRSTRLEN];
    unsigned char addr[16];
    size_t i = 1;

    if (n > 1 && (s[0] == 'v' || s[0] == 'V')) {
        while (i < n && ascii_hex_value((unsigned char)s[i]) >= 0)
            i++;
        if (i == 1 || i >= n - 1 || s[i] != '.')
            return false;
        for (i++; i < n; i++)
            if (s[i] == ',' || (s[i] != ':' && !http1_is((unsigned char)s[i], HTTP1_C_REG_NAME)))
                return false; /* a comma is a sub-delim, but never in a Host (below) */
        return true;
    }
    if (n == 0 || n >= sizeof text)
        return false;
    memcpy(text, s, n);
    text[n] = '\0';
    return inet_pton(AF_INET6, text, addr) == 1; /* pure: no I/O, no lookup */
}

/* After the host, at s[i]: nothing, or ":" port (digits; CONNECT needs some). */
static inline bool http1_is_port_part(const char *s, size_t i, size_t n, bool need_port)
{
    if (i == n)
        return !need_port;
    if (s[i] != ':')
        return false;
    i++;
    if (need_port && i == n)
        return false;
    for (; i < n; i++) {
        if (!http1_is_digit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* An authority whose host is an IP literal, "[" ... "]" [ ":" port ]. Its own
 * function, reached by a tail call: the common reg-name check then saves no
 * registers for calls it never makes. */
__attribute__((noinline)) static bool http1_is_literal_authority(const char *s, size_t n,
                                                                 bool need_port,
                                                                 uint32_t *name_len)
{
    const char *close = memchr(s, ']', n);
    if (!close || !http1_is_ip_literal(s + 1, (size_t)(close - s) - 1))
        return false;
    *name_len = (uint32_t)(close - s) + 1;
    return http1_is_port_part(s, *name_len, n, need_port);
}

/* uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2). need_host: the host part
 * may not be empty (a target's authority); need_port: CONNECT's authority-form. A
 * comma is a reg-name sub-delim in RFC 3986, but Host is a single value, and a list
 * is how request-routing confusion starts: refused. *name_len: where the host ends
 * (routing by name needs no second scan for the port). */
bool http1_is_authority(const char *s, size_t n, bool need_host, bool need_port,
                               uint32_t *name_len)
{
    size_t i = 0;

    if (n > 0 && s[0] == '[')
        return http1_is_literal_authority(s, n, need_port, name_len);
    while (i < n && s[i] != ':') {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || ascii_hex_value((unsigned char)s[i + 1]) < 0 ||
                ascii_hex_value((unsigned char)s[i + 2]) < 0)
                return false;
            i += 3;
            continue;
        }
        if (c == ',' || !http1_is(c, HTTP1_C_REG_NAME))
            return false;
        i++;
    }
    if (need_host && i == 0)
        return false;
    *name_len = (uint32_t)i;
    return http1_is_port_part(s, i, n, need_port);
}

/* ---- comma lists (RFC 9110 §5.6.1) ---- */

struct http1_list {
    const char *s;
    size_t n, i;
};

/* The next element of the list, OWS trimmed; empty elements are returned too (the
 * caller decides whether they are allowed). False after the last element. */
static bool http1_list_next(struct http1_list *l, size_t *off, size_t *len)
{
    if (l->i > l->n)
        return false;
    size_t b = l->i, e = b;
    while (e < l->n && l->s[e] != ',')
        e++;
    l->i = e + 1;
    while (b < e && http1_is_ows((unsigned char)l->s[b]))
        b++;
    while (e > b && http1_is_ows((unsigned char)l->s[e - 1]))
        e--;
    *off = b;
    *len = e - b;
    return true;
}

/* A list element is this token: same length, then http1_is_nocase. */
static bool http1_elem_is(const char *s, size_t n, const char *lit, size_t lit_len)
{
    return n == lit_len && http1_is_nocase(s, lit, n);
}

#define HTTP1_ELEM_IS(s, n, lit) http1_elem_is((s), (n), (lit), sizeof(lit) - 1)

/* Content-Length = 1*DIGIT, possibly repeated or as a list of equal values (RFC 9110
 * §8.6, RFC 9112 §6.3 item 5). Anything else, even "5," or "+5", is 400. */
static enum http1_rc http1_parse_content_length(struct http1_parser *p, const char *buf,
                                                struct http1_slice v, bool *seen, uint64_t *cl)
{
    struct http1_list l = { .s = buf + v.off, .n = v.len, .i = 0 };
    size_t off, len;

    while (http1_list_next(&l, &off, &len)) {
        uint64_t x = 0;
        if (len == 0)
            return http1_fail(p, 400, "empty Content-Length");
        for (size_t i = off; i < off + len; i++) {
            unsigned char c = (unsigned char)l.s[i];
            if (!http1_is_digit(c))
                return http1_fail(p, 400, "Content-Length is not decimal digits");
            unsigned d = c - '0';
            if (x > (HTTP1_CONTENT_LENGTH_MAX - d) / 10)
                return http1_fail(p, 400, "Content-Length too large");
            x = x * 10 + d;
        }
        if (*seen && x != *cl)
            return http1_fail(p, 400, "conflicting Content-Length values");
        *seen = true;
        *cl = x;
    }
    return HTTP1_DONE;
}

struct http1_te {
    bool seen;         /* a Transfer-Encoding field was present */
    bool last_chunked; /* the last coding so far is chunked */
    uint32_t chunked;  /* times chunked was listed */
    uint32_t other;    /* codings other than chunked */
};

/* Transfer-Encoding = #transfer-coding (RFC 9112 §6.1), over every TE field. A
 * coding with parameters is refused: none is defined for the codings we know. */
static enum http1_rc http1_parse_transfer_encoding(struct http1_parser *p, const char *buf,
                                                   struct http1_slice v, struct http1_te *te)
{
    struct http1_list l = { .s = buf + v.off, .n = v.len, .i = 0 };
    size_t off, len;

    te->seen = true;
    while (http1_list_next(&l, &off, &len)) {
        if (len == 0)
            continue; /* empty list elements are allowed (RFC 9110 §5.6.1.2) */
        for (size_t i = off; i < off + len; i++) {
            if (!http1_is_tchar((unsigned char)l.s[i]))
                return http1_fail(p, 400, "invalid transfer coding");
        }
        if (HTTP1_ELEM_IS(l.s + off, len, "chunked")) {
            te->chunked++;
            te->last_chunked = true;
        } else {
            te->other++;
            te->last_chunked = false;
        }
    }
    return HTTP1_DONE;
}

static void http1_parse_connection(const char *buf, struct http1_slice v,
                                   struct http1_request *req)
{
    struct http1_list l = { .s = buf + v.off, .n = v.len, .i = 0 };
    size_t off, len;

    while (http1_list_next(&l, &off, &len)) {
        if (HTTP1_ELEM_IS(l.s + off, len, "close"))
            req->conn_close = true;
        else if (HTTP1_ELEM_IS(l.s + off, len, "keep-alive"))
            req->conn_keep_alive = true;
    }
}

static void http1_parse_expect(const char *buf, struct http1_slice v, struct http1_request *req)
{
    struct http1_list l = { .s = buf + v.off, .n = v.len, .i = 0 };
    size_t off, len;

    while (http1_list_next(&l, &off, &len)) {
        if (len == 0)
            continue;
        if (HTTP1_ELEM_IS(l.s + off, len, "100-continue"))
            req->expect_continue = true;
        else
            req->expect_unknown = true;
    }
}

/* The field names the server acts on. HTTP1_K_KEPT and after are recorded as slices,
 * first occurrence, at their offset in struct http1_request. */
enum http1_known {
    HTTP1_K_HOST,
    HTTP1_K_CONTENT_LENGTH,
    HTTP1_K_TRANSFER_ENCODING,
    HTTP1_K_CONNECTION,
    HTTP1_K_EXPECT,
    HTTP1_K_KEPT,
    HTTP1_K_AUTHORIZATION = HTTP1_K_KEPT,
    HTTP1_K_USER_AGENT,
    HTTP1_K_REFERER,
    HTTP1_K_CONTENT_TYPE,
    HTTP1_K_RANGE,
    HTTP1_K_IF_RANGE,
    HTTP1_K_IF_MATCH,
    HTTP1_K_IF_NONE_MATCH,
    HTTP1_K_IF_MODIFIED_SINCE,
    HTTP1_K_IF_UNMODIFIED_SINCE,
    HTTP1_K_COUNT,
    HTTP1_K_NONE = HTTP1_K_COUNT,
};

/* HTTP1_KNOWN: a name; HTTP1_KEPT: a name and the slice it is recorded in. */
#define HTTP1_KNOWN(k, lit) [k] = { lit, sizeof(lit) - 1, 0 }
#define HTTP1_KEPT(k, lit, field)                                                           \
    [k] = { lit, sizeof(lit) - 1, offsetof(struct http1_request, field) }

static const struct http1_known_field {
    const char *name; /* lower case, for http1_is_nocase */
    size_t len;
    size_t off;       /* kept fields: where the slice goes */
} http1_known_fields[] = {
    HTTP1_KNOWN(HTTP1_K_HOST, "host"),
    HTTP1_KNOWN(HTTP1_K_CONTENT_LENGTH, "content-length"),
    HTTP1_KNOWN(HTTP1_K_TRANSFER_ENCODING, "transfer-encoding"),
    HTTP1_KNOWN(HTTP1_K_CONNECTION, "connection"),
    HTTP1_KNOWN(HTTP1_K_EXPECT, "expect"),
    HTTP1_KEPT(HTTP1_K_AUTHORIZATION, "authorization", authorization),
    HTTP1_KEPT(HTTP1_K_USER_AGENT, "user-agent", user_agent),
    HTTP1_KEPT(HTTP1_K_REFERER, "referer", referer),
    HTTP1_KEPT(HTTP1_K_CONTENT_TYPE, "content-type", content_type),
    HTTP1_KEPT(HTTP1_K_RANGE, "range", range),
    HTTP1_KEPT(HTTP1_K_IF_RANGE, "if-range", if_range),
    HTTP1_KEPT(HTTP1_K_IF_MATCH, "if-match", if_match),
    HTTP1_KEPT(HTTP1_K_IF_NONE_MATCH, "if-none-match", if_none_match),
    HTTP1_KEPT(HTTP1_K_IF_MODIFIED_SINCE, "if-modified-since", if_modified_since),
    HTTP1_KEPT(HTTP1_K_IF_UNMODIFIED_SINCE, "if-unmodified-since", if_unmodified_since),
};
static_assert(sizeof http1_known_fields / sizeof http1_known_fields[0] == HTTP1_K_COUNT,
              "http1_known_fields must name every known field");

/* Which known field a name is. Every field line is looked up, and most are not
 * known, so the length picks the one candidate (a byte tells apart the few pairs of
 * equal length) and a single fixed-length compare confirms it. */
static inline enum http1_known http1_known_lookup(const char *s, size_t n)
{
    enum http1_known k;

    switch (n) {
    case 4:
        k = HTTP1_K_HOST;
        break;
    case 5:
        k = HTTP1_K_RANGE;
        break;
    case 6:
        k = HTTP1_K_EXPECT;
        break;
    case 7:
        k = HTTP1_K_REFERER;
        break;
    case 8: /* if-match, if-range */
        k = ((unsigned char)s[3] | 0x20) == 'm' ? HTTP1_K_IF_MATCH : HTTP1_K_IF_RANGE;
        break;
    case 10: /* connection, user-agent */
        k = ((unsigned char)s[0] | 0x20) == 'c' ? HTTP1_K_CONNECTION : HTTP1_K_USER_AGENT;
        break;
    case 12:
        k = HTTP1_K_CONTENT_TYPE;
        break;
    case 13: /* authorization, if-none-match */
        k = ((unsigned char)s[0] | 0x20) == 'a' ? HTTP1_K_AUTHORIZATION : HTTP1_K_IF_NONE_MATCH;
        break;
    case 14:
        k = HTTP1_K_CONTENT_LENGTH;
        break;
    case 17: /* transfer-encoding, if-modified-since */
        k = ((unsigned char)s[0] | 0x20) == 't' ? HTTP1_K_TRANSFER_ENCODING
                                                 : HTTP1_K_IF_MODIFIED_SINCE;
        break;
    case 19:
        k = HTTP1_K_IF_UNMODIFIED_SINCE;
        break;
    default:
        return HTTP1_K_NONE;
    }
    const struct http1_known_field *f = &http1_known_fields[k];
    /* the length test guards against a wrong case above; it costs one compare */
    if (f->len != n || !http1_is_nocase(s, f->name, n))
        return HTTP1_K_NONE;
    return k;
}

static void http1_keep_field(enum http1_known k, struct http1_slice value,
                             struct http1_request *req)
{
    struct http1_slice *dst =
        (struct http1_slice *)(void *)((char *)req + http1_known_fields[k].off);
    /* a value never starts at offset 0 (the request line is there), so off 0
     * means "not seen yet", even for a present but empty value */
    if (dst->off == 0)
        *dst = value;
}

/* See http1_internal.h. */
enum http1_rc http1_finish(struct http1_parser *p, const char *buf, size_t end,
                                  struct http1_request *req, size_t *used)
{
    const struct http1_request_line *rl = &p->line;
    uint32_t hosts = 0;
    struct http1_slice host_field = { 0, 0 };
    bool cl_seen = false;
    uint64_t cl = 0;
    struct http1_te te = { false, false, 0, 0 };
    enum http1_rc rc = HTTP1_DONE;

    *req = (struct http1_request){
        .method = rl->method,
        .method_token = rl->method_token,
        .target = rl->target,
        .path = rl->path,
        .query = rl->query,
        .target_is_asterisk = rl->target_is_asterisk,
        .version_minor = rl->version_minor,
        .host = rl->host,
        .host_name_len = rl->host_name_len,
        .fields = p->fields,
        .field_count = p->lines - 1,
    };
    bool target_has_host = req->host.len > 0;
    for (uint32_t k = 0; k < req->field_count; k++) {
        const struct http1_header *h = &p->fields[k];
        enum http1_known known = http1_known_lookup(buf + h->name.off, h->name.len);
        switch (known) {
        case HTTP1_K_HOST:
            if (++hosts > 1)
                return http1_fail(p, 400, "more than one Host field"); /* RFC 9112 §3.2 */
            host_field = h->value;
            break;
        case HTTP1_K_CONTENT_LENGTH:
            rc = http1_parse_content_length(p, buf, h->value, &cl_seen, &cl);
            break;
        case HTTP1_K_TRANSFER_ENCODING:
            rc = http1_parse_transfer_encoding(p, buf, h->value, &te);
            break;
        case HTTP1_K_CONNECTION:
            http1_parse_connection(buf, h->value, req);
            break;
        case HTTP1_K_EXPECT:
            http1_parse_expect(buf, h->value, req);
            break;
        case HTTP1_K_AUTHORIZATION:
        case HTTP1_K_USER_AGENT:
        case HTTP1_K_REFERER:
        case HTTP1_K_CONTENT_TYPE:
        case HTTP1_K_RANGE:
        case HTTP1_K_IF_RANGE:
        case HTTP1_K_IF_MATCH:
        case HTTP1_K_IF_NONE_MATCH:
        case HTTP1_K_IF_MODIFIED_SINCE:
        case HTTP1_K_IF_UNMODIFIED_SINCE:
            http1_keep_field(known, h->value, req);
            break;
        case HTTP1_K_NONE:
            break;
        }
        if (rc != HTTP1_DONE)
            return rc;
    }

    if (hosts == 0 && req->version_minor >= 1)
        return http1_fail(p, 400, "HTTP/1.1 request without Host"); /* RFC 9112 §3.2 */
    if (!target_has_host && hosts == 1) {
        /* with a host in the target the Host field is ignored, value and all (§3.2.2) */
        if (!http1_is_authority(buf + host_field.off, host_field.len, false, false,
                                &req->host_name_len))
            return http1_fail(p, 400, "invalid Host");
        req->host = host_field;
    }

    if (te.seen) {
        /* RFC 9112 §6.1: TE in HTTP/1.0 means faulty framing; TE with CL is the
         * classic smuggling pair, refused rather than resolved (§6.3 item 3) */
        if (req->version_minor == 0)
            return http1_fail(p, 400, "Transfer-Encoding in an HTTP/1.0 request");
        if (cl_seen)
            return http1_fail(p, 400, "both Content-Length and Transfer-Encoding");
        if (!te.last_chunked)
            return http1_fail(p, 400, "chunked is not the final transfer coding");
        if (te.chunked > 1)
            return http1_fail(p, 400, "chunked applied more than once"); /* §7 MUST NOT */
        if (te.other > 0)
            return http1_fail(p, 501, "transfer coding not implemented");
        req->framing = HTTP1_BODY_CHUNKED;
    } else if (cl_seen) {
        req->framing = HTTP1_BODY_LENGTH;
        req->content_length = cl;
    }
    *used = end;
    return HTTP1_DONE;
}

