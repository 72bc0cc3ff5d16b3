/* http1 — HTTP/1.1 request-head parser and chunked-body decoder (RFC 9112, RFC 9110).
 *
 * Head parser. http1_parse_head scans each byte once for line ends and checks the
 * size limits as it goes, so an oversized request line, field line or head is refused
 * as soon as the scan passes the limit, before its line end arrives. A line is
 * validated once, when its LF arrives; a field line is then recorded in p->fields.
 * When the empty line arrives, the request line is parsed again, into *req (it is at
 * most request_line_max_bytes long), and the recorded fields are interpreted: Host,
 * framing, Connection, Expect and the fields the server acts on. So every byte is read
 * a bounded number of times (scan, line check, final pass) however the head is split
 * across calls, and *req is written only on HTTP1_DONE: the caller may pass a
 * different struct on each call.
 *
 * Strictness (we are an origin server, so we refuse the ambiguous rather than guess):
 * obs-fold, whitespace before a colon, a bare CR anywhere, CTLs in values, several
 * Host fields, Content-Length together with Transfer-Encoding, and Transfer-Encoding
 * in HTTP/1.0 are all 400. A bare LF ends a line of the head (RFC 9112 §2.2 MAY) but
 * not a line of the chunked coding, which must end in CRLF.
 *
 * Fields kept in *req: the first occurrence wins (a present but empty value counts as
 * the occurrence). Several Content-Length values must all be equal. Transfer-Encoding
 * and Connection are read from every field line. Expect flags are set as sent, whatever
 * the version: RFC 9110 §10.1.1 says to ignore 100-continue from an HTTP/1.0 client,
 * and that is the caller's decision (it knows version_minor).
 *
 * Chunked decoder. A byte-at-a-time state machine, state in struct http1_chunked;
 * chunk data is returned as one span per call without copying. Errors are 400, except
 * a chunk size that does not fit in 64 bits (413). A size line longer than
 * line_max_bytes, or a trailer section longer than trailer_max_bytes, is 400 too, not
 * 431: by then the head has been accepted, and the header's contract promises only
 * 400 and 413. line_max_bytes counts a size line with its extensions and CRLF;
 * trailer_max_bytes counts every byte after the last chunk's line, the final CRLF
 * included. Trailer fields are validated like head fields and ignored.
 *
 * Limits in the head: request_line_max_bytes counts the request line without its line
 * end, plus any empty lines before it; field_line_max_bytes one field line without its
 * line end; head_max_bytes the whole head, final empty line included (what *used says).
 */
#include "http1.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

/* RFC 9110 §15.5.14 does not bound Content-Length; we cap it at 2^62 so a length
 * plus any offset still fits in 64 bits (and in off_t). */
#define HTTP1_CONTENT_LENGTH_MAX (UINT64_C(1) << 62)

/* ---- methods ---- */

static const char *const http1_method_names[] = {
    [HTTP1_METHOD_GET] = "GET",         [HTTP1_METHOD_HEAD] = "HEAD",
    [HTTP1_METHOD_POST] = "POST",       [HTTP1_METHOD_PUT] = "PUT",
    [HTTP1_METHOD_DELETE] = "DELETE",   [HTTP1_METHOD_OPTIONS] = "OPTIONS",
    [HTTP1_METHOD_TRACE] = "TRACE",     [HTTP1_METHOD_CONNECT] = "CONNECT",
    [HTTP1_METHOD_PATCH] = "PATCH",     [HTTP1_METHOD_OTHER] = "OTHER",
};
static_assert(sizeof http1_method_names / sizeof http1_method_names[0] == HTTP1_METHOD_COUNT,
              "http1_method_names must name every method");

const char *http1_method_name(enum http1_method m)
{
    if ((unsigned)m >= HTTP1_METHOD_OTHER)
        return "OTHER";
    return http1_method_names[m];
}

/* Method names are case-sensitive (RFC 9110 §9.1): "get" is OTHER. */
static enum http1_method http1_method_lookup(const char *s, size_t n)
{
    for (unsigned m = 0; m < HTTP1_METHOD_OTHER; m++) {
        if (strlen(http1_method_names[m]) == n && memcmp(http1_method_names[m], s, n) == 0)
            return (enum http1_method)m;
    }
    return HTTP1_METHOD_OTHER;
}

/* ---- character classes (RFC 9110 §5.6.2, RFC 3986 §2) ---- */

static bool http1_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool http1_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int http1_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool http1_is_tchar(unsigned char c)
{
    return http1_is_alpha(c) || http1_is_digit(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static bool http1_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* field-vchar / SP / HTAB (RFC 9110 §5.5): VCHAR, obs-text, SP, HTAB. */
static bool http1_is_field_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* unreserved / sub-delims (RFC 3986 §2.2, §2.3). */
static bool http1_is_reg_name_char(unsigned char c)
{
    return http1_is_alpha(c) || http1_is_digit(c) || (c != 0 && strchr("-._~!$&'()*+,;=", c));
}

static unsigned char http1_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool http1_bytes_equal_nocase(const char *s, size_t n, const char *lit)
{
    if (strlen(lit) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (http1_lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return false;
    }
    return true;
}

bool http1_slice_equals(const char *buf, struct http1_slice s, const char *lit)
{
    size_t n = strlen(lit);
    if (n != s.len)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (http1_lower((unsigned char)buf[s.off + i]) != http1_lower((unsigned char)lit[i]))
            return false;
    }
    return true;
}

static struct http1_slice http1_slice_make(size_t off, size_t len)
{
    return (struct http1_slice){ .off = (uint32_t)off, .len = (uint32_t)len };
}

/* uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2). need_host: the host part
 * may not be empty (a target's authority); need_port: CONNECT's authority-form. A
 * comma is a reg-name sub-delim in RFC 3986, but Host is a single value, and a list
 * is how request-routing confusion starts: refused. */
static bool http1_is_authority(const char *s, size_t n, bool need_host, bool need_port)
{
    size_t i = 0;

    if (n > 0 && s[0] == '[') {
        /* IP-literal: IPv6address or IPvFuture; their characters are a subset of
         * unreserved / sub-delims / ":" */
        for (i = 1; i < n && s[i] != ']'; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == ',' || (c != ':' && !http1_is_reg_name_char(c)))
                return false;
        }
        if (i == n || i == 1)
            return false;
        i++;
    } else {
        while (i < n && s[i] != ':') {
            unsigned char c = (unsigned char)s[i];
            if (c == '%') {
                if (i + 2 >= n || http1_hex_value((unsigned char)s[i + 1]) < 0 ||
                    http1_hex_value((unsigned char)s[i + 2]) < 0)
                    return false;
                i += 3;
                continue;
            }
            if (c == ',' || !http1_is_reg_name_char(c))
                return false;
            i++;
        }
        if (need_host && i == 0)
            return false;
    }
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

/* ---- head parser ---- */

static enum http1_rc http1_fail(struct http1_parser *p, int status, const char *reason)
{
    p->status = status;
    p->reason = reason;
    return HTTP1_ERROR;
}

void http1_parser_init(struct http1_parser *p, const struct http1_limits *limits,
                       struct http1_header *fields, uint32_t fields_cap)
{
    memset(p, 0, sizeof *p);
    p->limits = limits;
    p->fields = fields;
    p->fields_cap = fields_cap;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3). A major
 * version other than 1 is well-formed but not ours: 505 (RFC 9110 §15.6.6). */
static enum http1_rc http1_parse_version(struct http1_parser *p, const char *s, size_t n,
                                         struct http1_request *req)
{
    if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || !http1_is_digit((unsigned char)s[5]) ||
        s[6] != '.' || !http1_is_digit((unsigned char)s[7]))
        return http1_fail(p, 400, "malformed HTTP version");
    if (s[5] != '1')
        return http1_fail(p, 505, "HTTP major version not supported");
    req->version_minor = (uint8_t)(s[7] - '0');
    return HTTP1_DONE;
}

/* request-target forms (RFC 9112 §3.2). */
static enum http1_rc http1_parse_target(struct http1_parser *p, const char *buf,
                                        struct http1_request *req)
{
    size_t off = req->target.off, n = req->target.len;
    const char *t = buf + off;
    size_t i;

    if (req->method == HTTP1_METHOD_CONNECT) {
        /* authority-form, only for CONNECT; host and port both required (§3.2.3) */
        if (!http1_is_authority(t, n, true, true))
            return http1_fail(p, 400, "CONNECT needs an authority-form target");
        req->host = req->target;
        return HTTP1_DONE;
    }
    if (t[0] == '/') {
        for (i = 0; i < n && t[i] != '?'; i++)
            ;
        req->path = http1_slice_make(off, i);
        if (i < n)
            req->query = http1_slice_make(off + i + 1, n - i - 1);
        return HTTP1_DONE;
    }
    if (n == 1 && t[0] == '*') {
        if (req->method != HTTP1_METHOD_OPTIONS)
            return http1_fail(p, 400, "asterisk-form is only for OPTIONS");
        req->target_is_asterisk = true;
        return HTTP1_DONE;
    }
    size_t scheme;
    if (n >= 7 && http1_bytes_equal_nocase(t, 7, "http://"))
        scheme = 7;
    else if (n >= 8 && http1_bytes_equal_nocase(t, 8, "https://"))
        scheme = 8;
    else
        return http1_fail(p, 400, "invalid request target");

    /* absolute-form: its authority is the host, the Host field is ignored (§3.2.2) */
    for (i = scheme; i < n && t[i] != '/' && t[i] != '?'; i++)
        ;
    if (!http1_is_authority(t + scheme, i - scheme, true, false))
        return http1_fail(p, 400, "invalid authority in request target");
    req->host = http1_slice_make(off + scheme, i - scheme);
    size_t path = i;
    for (; i < n && t[i] != '?'; i++)
        ;
    if (i > path)
        req->path = http1_slice_make(off + path, i - path);
    else
        req->path = http1_slice_make(off + scheme - 1, 1); /* the last '/' of "//": "/" */
    if (i < n)
        req->query = http1_slice_make(off + i + 1, n - i - 1);
    return HTTP1_DONE;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3), in buf[s..e). */
static enum http1_rc http1_parse_request_line(struct http1_parser *p, const char *buf, size_t s,
                                              size_t e, struct http1_request *req)
{
    size_t i = s;
    enum http1_rc rc;

    while (i < e && http1_is_tchar((unsigned char)buf[i]))
        i++;
    if (i == s || i == e || buf[i] != ' ')
        return http1_fail(p, 400, "method is not a token");
    req->method_token = http1_slice_make(s, i - s);
    req->method = http1_method_lookup(buf + s, i - s);

    size_t t = ++i;
    for (; i < e && buf[i] != ' '; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c < 0x21 || c > 0x7e)
            return http1_fail(p, 400, "control or non-ASCII byte in request target");
    }
    if (i == t)
        return http1_fail(p, 400, "empty request target");
    if (i == e)
        return http1_fail(p, 400, "no HTTP version (HTTP/0.9 is not served)");
    req->target = http1_slice_make(t, i - t);

    /* the version first, so the HTTP/2 preface "PRI * HTTP/2.0" gets 505, not 400 */
    rc = http1_parse_version(p, buf + i + 1, e - i - 1, req);
    if (rc != HTTP1_DONE)
        return rc;
    return http1_parse_target(p, buf, req);
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5), in buf[s..e). */
static enum http1_rc http1_parse_field_line(struct http1_parser *p, const char *buf, size_t s,
                                            size_t e, struct http1_header *h)
{
    size_t i = s;

    /* obs-fold, or whitespace between the request line and the first field:
     * both must be refused (RFC 9112 §5.2, §2.2) */
    if (http1_is_ows((unsigned char)buf[s]))
        return http1_fail(p, 400, "obs-fold or whitespace at line start");
    while (i < e && http1_is_tchar((unsigned char)buf[i]))
        i++;
    if (i == e)
        return http1_fail(p, 400, "field line without colon");
    if (buf[i] != ':') {
        if (!http1_is_ows((unsigned char)buf[i]))
            return http1_fail(p, 400, "invalid byte in field name");
        while (i < e && http1_is_ows((unsigned char)buf[i]))
            i++;
        if (i < e && buf[i] == ':')
            return http1_fail(p, 400, "space before colon"); /* RFC 9112 §5.1 MUST */
        if (!memchr(buf + i, ':', e - i))
            return http1_fail(p, 400, "field line without colon");
        return http1_fail(p, 400, "space in field name");
    }
    if (i == s)
        return http1_fail(p, 400, "empty field name");
    h->name = http1_slice_make(s, i - s);

    size_t v = i + 1, ve = e;
    while (v < ve && http1_is_ows((unsigned char)buf[v]))
        v++;
    while (ve > v && http1_is_ows((unsigned char)buf[ve - 1]))
        ve--;
    for (i = v; i < ve; i++) {
        if (!http1_is_field_byte((unsigned char)buf[i]))
            return http1_fail(p, 400, "control byte in field value");
    }
    h->value = http1_slice_make(v, ve - v);
    return HTTP1_DONE;
}

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
        if (http1_bytes_equal_nocase(l.s + off, len, "chunked")) {
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
        if (http1_bytes_equal_nocase(l.s + off, len, "close"))
            req->conn_close = true;
        else if (http1_bytes_equal_nocase(l.s + off, len, "keep-alive"))
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
        if (http1_bytes_equal_nocase(l.s + off, len, "100-continue"))
            req->expect_continue = true;
        else
            req->expect_unknown = true;
    }
}

/* Fields recorded as slices, first occurrence. */
static const struct http1_kept_field {
    const char *name;
    size_t off;
} http1_kept_fields[] = {
    { "authorization", offsetof(struct http1_request, authorization) },
    { "user-agent", offsetof(struct http1_request, user_agent) },
    { "referer", offsetof(struct http1_request, referer) },
    { "content-type", offsetof(struct http1_request, content_type) },
    { "range", offsetof(struct http1_request, range) },
    { "if-range", offsetof(struct http1_request, if_range) },
    { "if-match", offsetof(struct http1_request, if_match) },
    { "if-none-match", offsetof(struct http1_request, if_none_match) },
    { "if-modified-since", offsetof(struct http1_request, if_modified_since) },
    { "if-unmodified-since", offsetof(struct http1_request, if_unmodified_since) },
};

static void http1_keep_field(const char *buf, const struct http1_header *h,
                             struct http1_request *req)
{
    for (size_t k = 0; k < sizeof http1_kept_fields / sizeof http1_kept_fields[0]; k++) {
        if (!http1_slice_equals(buf, h->name, http1_kept_fields[k].name))
            continue;
        struct http1_slice *dst =
            (struct http1_slice *)(void *)((char *)req + http1_kept_fields[k].off);
        /* a value never starts at offset 0 (the request line is there), so off 0
         * means "not seen yet", even for a present but empty value */
        if (dst->off == 0)
            *dst = h->value;
        return;
    }
}

/* The head is complete in buf[0..end): fill *req from the request line and the
 * recorded fields, and apply the rules that span several fields. */
static enum http1_rc http1_finish(struct http1_parser *p, const char *buf, size_t end,
                                  struct http1_request *req, size_t *used)
{
    uint32_t hosts = 0;
    struct http1_slice host_field = { 0, 0 };
    bool cl_seen = false;
    uint64_t cl = 0;
    struct http1_te te = { false, false, 0, 0 };
    enum http1_rc rc;

    memset(req, 0, sizeof *req);
    size_t s = 0;
    while (buf[s] == '\r' || buf[s] == '\n')
        s++;
    size_t e = s;
    while (buf[e] != '\n')
        e++;
    if (e > s && buf[e - 1] == '\r')
        e--;
    rc = http1_parse_request_line(p, buf, s, e, req);
    if (rc != HTTP1_DONE)
        return rc; /* cannot happen: it passed when its line ended */
    bool target_has_host = req->host.len > 0;

    req->fields = p->fields;
    req->field_count = p->lines - 1;
    for (uint32_t k = 0; k < req->field_count; k++) {
        const struct http1_header *h = &p->fields[k];
        if (http1_slice_equals(buf, h->name, "host")) {
            if (++hosts > 1)
                return http1_fail(p, 400, "more than one Host field"); /* RFC 9112 §3.2 */
            host_field = h->value;
        } else if (http1_slice_equals(buf, h->name, "content-length")) {
            rc = http1_parse_content_length(p, buf, h->value, &cl_seen, &cl);
        } else if (http1_slice_equals(buf, h->name, "transfer-encoding")) {
            rc = http1_parse_transfer_encoding(p, buf, h->value, &te);
        } else if (http1_slice_equals(buf, h->name, "connection")) {
            http1_parse_connection(buf, h->value, req);
        } else if (http1_slice_equals(buf, h->name, "expect")) {
            http1_parse_expect(buf, h->value, req);
        } else {
            http1_keep_field(buf, h, req);
        }
        if (rc != HTTP1_DONE)
            return rc;
    }

    if (hosts == 0 && req->version_minor >= 1)
        return http1_fail(p, 400, "HTTP/1.1 request without Host"); /* RFC 9112 §3.2 */
    if (!target_has_host && hosts == 1) {
        /* with a host in the target the Host field is ignored, value and all (§3.2.2) */
        if (!http1_is_authority(buf + host_field.off, host_field.len, false, false))
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

/* Byte i (not LF) was just scanned: refuse it if it passes a limit. A CR may be the
 * first byte of the line end, so it is allowed one byte past a line limit. */
static enum http1_rc http1_check_limits(struct http1_parser *p, size_t i, unsigned char c)
{
    const struct http1_limits *lim = p->limits;
    size_t cr = c == '\r';

    if (p->lines == 0) {
        /* leading empty lines count toward the request line, so they are bounded */
        if (i + 1 > lim->request_line_max_bytes + cr)
            return http1_fail(p, 414, "request line too long");
    } else {
        uint32_t fields_max = lim->fields_max < p->fields_cap ? lim->fields_max : p->fields_cap;
        if (i == p->line_start && c != '\r' && p->lines - 1 >= fields_max)
            return http1_fail(p, 431, "too many header fields");
        if (i + 1 - p->line_start > lim->field_line_max_bytes + cr)
            return http1_fail(p, 431, "field line too long");
    }
    if (i + 1 > lim->head_max_bytes)
        return http1_fail(p, 431, "request head too long");
    return HTTP1_AGAIN;
}

/* The LF at buf[i] ends the line that starts at p->line_start. */
static enum http1_rc http1_end_line(struct http1_parser *p, const char *buf, size_t i,
                                    struct http1_request *req, size_t *used)
{
    size_t s = p->line_start, e = i;
    enum http1_rc rc;

    if (i + 1 > p->limits->head_max_bytes)
        return http1_fail(p, 431, "request head too long");
    if (e > s && buf[e - 1] == '\r')
        e--;
    p->line_start = (uint32_t)(i + 1);
    if (p->lines == 0) {
        if (e == s) {
            /* an empty line before the request line is ignored (RFC 9112 §2.2) */
            if (i + 1 > p->limits->request_line_max_bytes)
                return http1_fail(p, 414, "request line too long");
            p->skipped_crlf++;
            return HTTP1_AGAIN;
        }
        struct http1_request scratch;
        memset(&scratch, 0, sizeof scratch);
        rc = http1_parse_request_line(p, buf, s, e, &scratch);
        if (rc != HTTP1_DONE)
            return rc;
        p->lines = 1;
        return HTTP1_AGAIN;
    }
    if (e == s)
        return http1_finish(p, buf, i + 1, req, used);
    /* http1_check_limits refused this line's first byte if fields_max were reached */
    rc = http1_parse_field_line(p, buf, s, e, &p->fields[p->lines - 1]);
    if (rc != HTTP1_DONE)
        return rc;
    p->lines++;
    return HTTP1_AGAIN;
}

enum http1_rc http1_parse_head(struct http1_parser *p, const char *buf, size_t len,
                               struct http1_request *req, size_t *used)
{
    enum http1_rc rc;

    *used = 0;
    if (p->status != 0)
        return HTTP1_ERROR;
    for (size_t i = p->scanned; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n') {
            rc = http1_end_line(p, buf, i, req, used);
        } else if (i > p->line_start && buf[i - 1] == '\r') {
            /* RFC 9112 §2.2: a bare CR is invalid; we refuse it rather than guess */
            rc = http1_fail(p, 400, "CR not followed by LF");
        } else {
            rc = http1_check_limits(p, i, c);
        }
        if (rc != HTTP1_AGAIN) {
            p->scanned = (uint32_t)(i + 1);
            return rc;
        }
    }
    /* every byte scanned passed head_max_bytes (a uint32_t), so len fits */
    if (len > p->scanned)
        p->scanned = (uint32_t)len;
    return HTTP1_AGAIN;
}

bool http1_wants_keep_alive(const struct http1_request *req)
{
    if (req->conn_close)
        return false;
    if (req->version_minor >= 1)
        return true;
    return req->conn_keep_alive;
}

/* ---- chunked transfer coding (RFC 9112 §7.1) ---- */

enum http1_chunked_state {
    HTTP1_CK_SIZE_START,     /* first HEXDIG of chunk-size */
    HTTP1_CK_SIZE,           /* more HEXDIG, or what follows the size */
    HTTP1_CK_EXT_BWS,        /* whitespace before ";" */
    HTTP1_CK_EXT_NAME_START, /* after ";": BWS, then a token */
    HTTP1_CK_EXT_NAME,       /* in chunk-ext-name */
    HTTP1_CK_EXT_AFTER_NAME, /* whitespace after the name: "=" or ";" follows */
    HTTP1_CK_EXT_VALUE_START, /* after "=": BWS, then token or quoted-string */
    HTTP1_CK_EXT_TOKEN,      /* in a token value */
    HTTP1_CK_EXT_QUOTED,     /* in a quoted-string value */
    HTTP1_CK_EXT_QUOTED_PAIR, /* after a backslash in a quoted-string */
    HTTP1_CK_EXT_AFTER_QUOTED, /* after the closing quote */
    HTTP1_CK_SIZE_LF,        /* CR seen, LF must follow */
    HTTP1_CK_DATA,           /* chunk_left data bytes */
    HTTP1_CK_DATA_CR,        /* CR after the data */
    HTTP1_CK_DATA_LF,        /* LF after the data */
    HTTP1_CK_TRAILER_START,  /* start of a trailer line, or the final CRLF */
    HTTP1_CK_TRAILER_NAME,   /* in a trailer field name */
    HTTP1_CK_TRAILER_VALUE,  /* after the colon */
    HTTP1_CK_TRAILER_LF,     /* CR seen at the end of a trailer line */
    HTTP1_CK_END_LF,         /* CR of the final empty line seen */
    HTTP1_CK_DONE,
    HTTP1_CK_ERROR,
};

void http1_chunked_init(struct http1_chunked *d, uint32_t line_max_bytes,
                        uint32_t trailer_max_bytes)
{
    memset(d, 0, sizeof *d);
    d->state = HTTP1_CK_SIZE_START;
    d->line_max_bytes = line_max_bytes;
    d->trailer_max_bytes = trailer_max_bytes;
}

static enum http1_rc http1_chunked_fail(struct http1_chunked *d, int status, const char *reason)
{
    d->state = HTTP1_CK_ERROR;
    d->status = status;
    d->reason = reason;
    return HTTP1_ERROR;
}

/* qdtext / quoted-pair content (RFC 9110 §5.6.4). */
static bool http1_is_qdtext(unsigned char c)
{
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
           (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

/* Feed one byte that is not chunk data. */
static enum http1_rc http1_chunked_step(struct http1_chunked *d, unsigned char c)
{
    enum http1_chunked_state s = (enum http1_chunked_state)d->state;
    int h;

    if (s <= HTTP1_CK_SIZE_LF && ++d->line_bytes > d->line_max_bytes)
        return http1_chunked_fail(d, 400, "chunk-size line too long");
    if (s >= HTTP1_CK_TRAILER_START && s <= HTTP1_CK_END_LF &&
        ++d->trailer_bytes > d->trailer_max_bytes)
        return http1_chunked_fail(d, 400, "trailer section too long");

    switch (s) {
    case HTTP1_CK_SIZE_START:
        h = http1_hex_value(c);
        if (h < 0)
            return http1_chunked_fail(d, 400, "chunk size is not hex");
        d->chunk_left = (uint64_t)h;
        d->state = HTTP1_CK_SIZE;
        break;
    case HTTP1_CK_SIZE:
        h = http1_hex_value(c);
        if (h >= 0) {
            /* leading zeros are harmless; only significant digits can overflow */
            if (d->chunk_left > UINT64_MAX >> 4)
                return http1_chunked_fail(d, 413, "chunk size overflows 64 bits");
            d->chunk_left = d->chunk_left << 4 | (uint64_t)h;
        } else if (c == '\r') {
            d->state = HTTP1_CK_SIZE_LF;
        } else if (c == ';') {
            d->state = HTTP1_CK_EXT_NAME_START;
        } else if (http1_is_ows(c)) {
            d->state = HTTP1_CK_EXT_BWS;
        } else if (c == '\n') {
            return http1_chunked_fail(d, 400, "bare LF after chunk size");
        } else {
            return http1_chunked_fail(d, 400, "invalid byte after chunk size");
        }
        break;
    case HTTP1_CK_EXT_BWS:
        /* BWS is only allowed before ";": "5 \r\n" is not a chunk-size line */
        if (c == ';')
            d->state = HTTP1_CK_EXT_NAME_START;
        else if (!http1_is_ows(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension");
        break;
    case HTTP1_CK_EXT_NAME_START:
        if (http1_is_tchar(c))
            d->state = HTTP1_CK_EXT_NAME;
        else if (!http1_is_ows(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension name");
        break;
    case HTTP1_CK_EXT_NAME:
        if (c == '\r')
            d->state = HTTP1_CK_SIZE_LF;
        else if (c == ';')
            d->state = HTTP1_CK_EXT_NAME_START;
        else if (c == '=')
            d->state = HTTP1_CK_EXT_VALUE_START;
        else if (http1_is_ows(c))
            d->state = HTTP1_CK_EXT_AFTER_NAME;
        else if (!http1_is_tchar(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension name");
        break;
    case HTTP1_CK_EXT_AFTER_NAME:
        if (c == ';')
            d->state = HTTP1_CK_EXT_NAME_START;
        else if (c == '=')
            d->state = HTTP1_CK_EXT_VALUE_START;
        else if (!http1_is_ows(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension");
        break;
    case HTTP1_CK_EXT_VALUE_START:
        if (c == '"')
            d->state = HTTP1_CK_EXT_QUOTED;
        else if (http1_is_tchar(c))
            d->state = HTTP1_CK_EXT_TOKEN;
        else if (!http1_is_ows(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension value");
        break;
    case HTTP1_CK_EXT_TOKEN:
        if (c == '\r')
            d->state = HTTP1_CK_SIZE_LF;
        else if (c == ';')
            d->state = HTTP1_CK_EXT_NAME_START;
        else if (http1_is_ows(c))
            d->state = HTTP1_CK_EXT_BWS;
        else if (!http1_is_tchar(c))
            return http1_chunked_fail(d, 400, "invalid chunk extension value");
        break;
    case HTTP1_CK_EXT_QUOTED:
        if (c == '"')
            d->state = HTTP1_CK_EXT_AFTER_QUOTED;
        else if (c == '\\')
            d->state = HTTP1_CK_EXT_QUOTED_PAIR;
        else if (!http1_is_qdtext(c))
            return http1_chunked_fail(d, 400, "invalid byte in chunk extension");
        break;
    case HTTP1_CK_EXT_QUOTED_PAIR:
        if (!http1_is_field_byte(c))
            return http1_chunked_fail(d, 400, "invalid byte in chunk extension");
        d->state = HTTP1_CK_EXT_QUOTED;
        break;
    case HTTP1_CK_EXT_AFTER_QUOTED:
        if (c == '\r')
            d->state = HTTP1_CK_SIZE_LF;
        else if (c == ';')
            d->state = HTTP1_CK_EXT_NAME_START;
        else if (http1_is_ows(c))
            d->state = HTTP1_CK_EXT_BWS;
        else
            return http1_chunked_fail(d, 400, "invalid chunk extension");
        break;
    case HTTP1_CK_SIZE_LF:
        if (c != '\n')
            return http1_chunked_fail(d, 400, "CR not followed by LF in chunk-size line");
        d->line_bytes = 0;
        d->state = d->chunk_left == 0 ? HTTP1_CK_TRAILER_START : HTTP1_CK_DATA;
        break;
    case HTTP1_CK_DATA_CR:
        if (c != '\r')
            return http1_chunked_fail(d, 400, "chunk data longer than its size");
        d->state = HTTP1_CK_DATA_LF;
        break;
    case HTTP1_CK_DATA_LF:
        if (c != '\n')
            return http1_chunked_fail(d, 400, "CR not followed by LF after chunk data");
        d->state = HTTP1_CK_SIZE_START;
        break;
    case HTTP1_CK_TRAILER_START:
        if (c == '\r')
            d->state = HTTP1_CK_END_LF;
        else if (http1_is_tchar(c))
            d->state = HTTP1_CK_TRAILER_NAME;
        else if (http1_is_ows(c))
            return http1_chunked_fail(d, 400, "obs-fold in trailer section");
        else
            return http1_chunked_fail(d, 400, "invalid trailer field name");
        break;
    case HTTP1_CK_TRAILER_NAME:
        if (c == ':')
            d->state = HTTP1_CK_TRAILER_VALUE;
        else if (!http1_is_tchar(c))
            return http1_chunked_fail(d, 400, "invalid trailer field name");
        break;
    case HTTP1_CK_TRAILER_VALUE:
        if (c == '\r')
            d->state = HTTP1_CK_TRAILER_LF;
        else if (!http1_is_field_byte(c))
            return http1_chunked_fail(d, 400, "control byte in trailer field value");
        break;
    case HTTP1_CK_TRAILER_LF:
        if (c != '\n')
            return http1_chunked_fail(d, 400, "CR not followed by LF in trailer section");
        d->state = HTTP1_CK_TRAILER_START;
        break;
    case HTTP1_CK_END_LF:
        if (c != '\n')
            return http1_chunked_fail(d, 400, "CR not followed by LF after trailer section");
        d->state = HTTP1_CK_DONE;
        return HTTP1_DONE;
    case HTTP1_CK_DATA:
    case HTTP1_CK_DONE:
    case HTTP1_CK_ERROR:
        assert(s != HTTP1_CK_DATA && s != HTTP1_CK_DONE && s != HTTP1_CK_ERROR);
        return http1_chunked_fail(d, 400, "internal: bad chunked state");
    }
    return HTTP1_AGAIN;
}

enum http1_rc http1_chunked_decode(struct http1_chunked *d, const char *in, size_t len,
                                   size_t *used, size_t *data_off, size_t *data_len)
{
    size_t i = 0;
    enum http1_rc rc = HTTP1_AGAIN;

    *data_off = 0;
    *data_len = 0;
    if (d->state == HTTP1_CK_DONE)
        rc = HTTP1_DONE;
    else if (d->state == HTTP1_CK_ERROR)
        rc = HTTP1_ERROR;
    while (rc == HTTP1_AGAIN && i < len) {
        if (d->state == HTTP1_CK_DATA) {
            /* one span per call; the caller hands it on and calls again */
            size_t n = len - i;
            if (n > d->chunk_left)
                n = (size_t)d->chunk_left;
            *data_off = i;
            *data_len = n;
            d->chunk_left -= n;
            i += n;
            if (d->chunk_left == 0)
                d->state = HTTP1_CK_DATA_CR;
            break;
        }
        rc = http1_chunked_step(d, (unsigned char)in[i++]);
    }
    *used = i;
    return rc;
}
