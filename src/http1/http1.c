/* http1 — the HTTP/1.1 request-head parser (RFC 9112, RFC 9110).
 *
 * What the fields of a complete head mean (Host, framing, Connection, Expect, the
 * fields kept) is in http1_fields.c; the chunked-body decoder is in http1_chunked.c;
 * the character classes they use are in http1_chars.h.
 *
 * Head parser. http1_parse_head works a line at a time. A line is checked against its
 * size limit by arithmetic and validated by one pass of table lookups (a word at a
 * time for field values); a field line is then recorded in p->fields. The request
 * line is split into p->line when it ends and copied into *req on HTTP1_DONE. When
 * the empty line arrives, the recorded fields are interpreted: Host, framing,
 * Connection, Expect and the fields the server acts on. *req is written only on
 * HTTP1_DONE: the caller may pass a different struct on each call.
 *
 * Two paths take a line. The fast one, http1_take_fields, takes runs of valid field
 * lines that arrived whole, finding each line end by the scan that validates it; it
 * never refuses anything, it stops. The exact one, http1_end_line, takes any other
 * line once memchr has found its LF, and gives every verdict. Errors come as early as
 * they would if the head were fed one byte at a time. A line that has not ended yet
 * is checked byte by byte (http1_check_byte): a bare CR or a byte past a size limit
 * is refused at that byte, before its line end arrives. A whole line skips that loop,
 * because a line that fits its limit and passes its syntax holds no bare CR (no rule
 * below admits a CR inside a line); only a line that fails either test is re-checked
 * byte by byte, so it gets the verdict and reason of its first bad byte. Each byte is
 * so examined a bounded number of times however the head is split.
 *
 * Instructions per request (bench/http1_parse.c under callgrind, parser_init included):
 * the 65-byte GET of the server benchmark 4,947 -> 972; a 516-byte browser request
 * with 11 fields 30,867 -> 3,498. Before, each byte went through a function call and
 * a chain of branches, each line was parsed twice and each field name was compared
 * with strlen against every known name in turn.
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
 * Limits in the head: request_line_max_bytes counts the request line without its line
 * end, plus any empty lines before it; field_line_max_bytes one field line without its
 * line end; head_max_bytes the whole head, final empty line included (what *used says).
 */
#include "ascii.h"
#include "http1.h"
#include "http1_chars.h"
#include "http1_internal.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

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

bool http1_is_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!http1_is_tchar((unsigned char)s[i]))
            return false;
    return n > 0;
}

bool http1_is_field_value(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!http1_is_field_byte((unsigned char)s[i]))
            return false;
    return n == 0 || (!http1_is_ows((unsigned char)s[0]) && !http1_is_ows((unsigned char)s[n - 1]));
}

const char *http1_method_name(enum http1_method m)
{
    if ((unsigned)m >= HTTP1_METHOD_OTHER)
        return "OTHER";
    return http1_method_names[m];
}

/* Method names are case-sensitive (RFC 9110 §9.1): "get" is OTHER. By length first,
 * so a request costs one or two fixed-size compares, not a walk over every name. */
static enum http1_method http1_method_lookup(const char *s, size_t n)
{
    switch (n) {
    case 3:
        if (memcmp(s, "GET", 3) == 0)
            return HTTP1_METHOD_GET;
        if (memcmp(s, "PUT", 3) == 0)
            return HTTP1_METHOD_PUT;
        break;
    case 4:
        if (memcmp(s, "HEAD", 4) == 0)
            return HTTP1_METHOD_HEAD;
        if (memcmp(s, "POST", 4) == 0)
            return HTTP1_METHOD_POST;
        break;
    case 5:
        if (memcmp(s, "TRACE", 5) == 0)
            return HTTP1_METHOD_TRACE;
        if (memcmp(s, "PATCH", 5) == 0)
            return HTTP1_METHOD_PATCH;
        break;
    case 6:
        if (memcmp(s, "DELETE", 6) == 0)
            return HTTP1_METHOD_DELETE;
        break;
    case 7:
        if (memcmp(s, "OPTIONS", 7) == 0)
            return HTTP1_METHOD_OPTIONS;
        if (memcmp(s, "CONNECT", 7) == 0)
            return HTTP1_METHOD_CONNECT;
        break;
    }
    return HTTP1_METHOD_OTHER;
}

static unsigned char http1_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
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

size_t http1_format_u64(uint64_t v, char *out)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* ---- head parser ---- */

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
static enum http1_rc http1_parse_version(struct http1_parser *p, const char *s, size_t n)
{
    if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || !http1_is_digit((unsigned char)s[5]) ||
        s[6] != '.' || !http1_is_digit((unsigned char)s[7]))
        return http1_fail(p, 400, "malformed HTTP version");
    if (s[5] != '1')
        return http1_fail(p, 505, "HTTP major version not supported");
    p->line.version_minor = (uint8_t)(s[7] - '0');
    return HTTP1_DONE;
}

/* A '%' in s[0..n) that does not start pct-encoded (RFC 3986 §2.1). */
__attribute__((noinline)) static bool http1_has_bad_escape(const char *s, size_t n)
{
    const char *end = s + n, *pct = memchr(s, '%', n);

    while (pct) {
        if (end - pct < 3 || ascii_hex_value((unsigned char)pct[1]) < 0 ||
            ascii_hex_value((unsigned char)pct[2]) < 0)
            return true;
        pct = memchr(pct + 3, '%', (size_t)(end - pct - 3));
    }
    return false;
}

/* request-target forms (RFC 9112 §3.2), in buf[off..off+n); the first '?' is at q
 * (q == off + n if none). */
static enum http1_rc http1_parse_target(struct http1_parser *p, const char *buf, size_t off,
                                        size_t n, size_t q)
{
    struct http1_request_line *rl = &p->line;
    const char *t = buf + off;
    size_t i;

    rl->target = http1_slice_make(off, n);
    if (rl->method == HTTP1_METHOD_CONNECT) {
        /* authority-form, only for CONNECT; host and port both required (§3.2.3) */
        if (!http1_is_authority(t, n, true, true, &rl->host_name_len))
            return http1_fail(p, 400, "CONNECT needs an authority-form target");
        rl->host = rl->target;
        return HTTP1_DONE;
    }
    if (t[0] == '/') {
        rl->path = http1_slice_make(off, q - off);
        if (q < off + n)
            rl->query = http1_slice_make(q + 1, off + n - q - 1);
        return HTTP1_DONE;
    }
    if (n == 1 && t[0] == '*') {
        if (rl->method != HTTP1_METHOD_OPTIONS)
            return http1_fail(p, 400, "asterisk-form is only for OPTIONS");
        rl->target_is_asterisk = true;
        return HTTP1_DONE;
    }
    size_t scheme;
    if (n >= 7 && http1_is_nocase(t, "http://", 7))
        scheme = 7;
    else if (n >= 8 && http1_is_nocase(t, "https://", 8))
        scheme = 8;
    else
        return http1_fail(p, 400, "invalid request target");

    /* absolute-form: its authority is the host, the Host field is ignored (§3.2.2) */
    for (i = scheme; i < n && t[i] != '/' && t[i] != '?'; i++)
        ;
    if (!http1_is_authority(t + scheme, i - scheme, true, false, &rl->host_name_len))
        return http1_fail(p, 400, "invalid authority in request target");
    if (memchr(t + i, '[', q - off - i) || memchr(t + i, ']', q - off - i))
        return http1_fail(p, 400, "a byte RFC 3986 does not allow in a request target "
                                  "(percent-encode it)");
    rl->host = http1_slice_make(off + scheme, i - scheme);
    size_t path = i;
    for (; i < n && t[i] != '?'; i++)
        ;
    if (i > path)
        rl->path = http1_slice_make(off + path, i - path);
    else
        rl->path = http1_slice_make(off + scheme - 1, 1); /* the last '/' of "//": "/" */
    if (i < n)
        rl->query = http1_slice_make(off + i + 1, n - i - 1);
    return HTTP1_DONE;
}

/* The request target that starts at buf[t]: where it ends, at the first byte no
 * target holds (SP, CR, LF and any byte RFC 3986 does not allow), and where its
 * path ends (*q: its '?', or the end). One pass finds both. */
static size_t http1_scan_target(const char *buf, size_t t, size_t *q)
{
    size_t i = t;
    while (http1_is((unsigned char)buf[i], HTTP1_C_PATH))
        i++;
    if (buf[t] != '/') {
        /* an absolute-form authority may be an IP literal; http1_parse_target
         * checks that its brackets are the only ones */
        while (http1_is((unsigned char)buf[i], HTTP1_C_PATH) || buf[i] == '[' || buf[i] == ']')
            i++;
    }
    *q = i;
    if (buf[i] == '?') {
        while (http1_is((unsigned char)buf[++i], HTTP1_C_QUERY))
            ;
    }
    return i;
}

/* The target's scan stopped at byte c inside it. */
static enum http1_rc http1_fail_target_byte(struct http1_parser *p, unsigned char c)
{
    return http1_fail(p, 400, c > ' ' && c < 0x7f ? "a byte RFC 3986 does not allow in a "
                                                    "request target (percent-encode it)"
                                                  : "control or non-ASCII byte in request target");
}

/* The target buf[t..e), its path ending at q, is whole: its escapes and its form. */
static enum http1_rc http1_check_target(struct http1_parser *p, const char *buf, size_t t,
                                        size_t e, size_t q)
{
    /* the path's escapes are checked where it is decoded (uri.c), before
     * routing; the query is never decoded, so here */
    if (q < e && http1_has_bad_escape(buf + q + 1, e - q - 1))
        return http1_fail(p, 400, "'%' not followed by two hex digits in request target");
    return http1_parse_target(p, buf, t, e - t, q);
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3), in buf[s..e),
 * into p->line. buf[e] is the line's CR or LF, which is in no byte class: it stops
 * every scan below without a bound check of its own. */
static enum http1_rc http1_parse_request_line(struct http1_parser *p, const char *buf, size_t s,
                                              size_t e)
{
    struct http1_request_line *rl = &p->line;
    size_t i = s;
    enum http1_rc rc;

    i = http1_skip(buf, i, HTTP1_C_TCHAR);
    if (i == s || buf[i] != ' ')
        return http1_fail(p, 400, "method is not a token");
    rl->method_token = http1_slice_make(s, i - s);
    rl->method = http1_method_lookup(buf + s, i - s);

    size_t t = ++i, q;
    i = http1_scan_target(buf, t, &q);
    if (i < e && buf[i] != ' ')
        return http1_fail_target_byte(p, (unsigned char)buf[i]);
    if (i == t)
        return http1_fail(p, 400, "empty request target");
    if (i == e)
        return http1_fail(p, 400, "no HTTP version (HTTP/0.9 is not served)");

    /* the version first, so the HTTP/2 preface "PRI * HTTP/2.0" gets 505, not 400 */
    rc = http1_parse_version(p, buf + i + 1, e - i - 1);
    if (rc != HTTP1_DONE)
        return rc;
    return http1_check_target(p, buf, t, i, q);
}

/* Little-endian load: byte 0 of the word is buf[0] whatever the machine. */
static uint64_t http1_load64_le(const char *s)
{
    uint64_t x = http1_load64(s);
    if (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
        x = __builtin_bswap64(x);
    return x;
}

/* The first byte at or after buf[i] that is not a field byte; buf[i..e) may be read
 * and holds one (e is at or past a CR or LF). Values are most of a head's bytes
 * (User-Agent, Accept, Cookie), so they are checked a word at a time. bad flags each
 * byte below 0x20 or equal to 0x7f; the flag of the first such byte is exact, because
 * the borrows that may flag bytes wrongly only run upward from a byte that is one
 * (Bit Twiddling Hacks, "Determine if a word has a byte less than n"), so its
 * position is the word's first non-field byte, or an HTAB, which is a field byte. */
static inline size_t http1_skip_field_bytes(const char *buf, size_t i, size_t e)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);

    while (e - i >= 8) {
        uint64_t x = http1_load64_le(buf + i), del = x ^ (0x7f * ones);
        uint64_t bad = ((x - 0x20 * ones) & ~x & high) | ((del - ones) & ~del & high);
        if (bad == 0) {
            i += 8;
            continue;
        }
        i += (unsigned)__builtin_ctzll(bad) / 8;
        if (buf[i] != '\t')
            return i;
        i++;
    }
    return http1_skip(buf, i, HTTP1_C_FIELD);
}

/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5), in buf[s..e), with
 * buf[e] the line's CR or LF as in http1_parse_request_line. */
static enum http1_rc http1_parse_field_line(struct http1_parser *p, const char *buf, size_t s,
                                            size_t e, struct http1_header *h)
{
    size_t i = s;

    /* obs-fold, or whitespace between the request line and the first field:
     * both must be refused (RFC 9112 §5.2, §2.2) */
    if (http1_is_ows((unsigned char)buf[s]))
        return http1_fail(p, 400, "obs-fold or whitespace at line start");
    i = http1_skip(buf, i, HTTP1_C_TCHAR);
    if (buf[i] != ':') {
        if (i == e)
            return http1_fail(p, 400, "field line without colon");
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
    while (http1_is_ows((unsigned char)buf[v]))
        v++;
    if (http1_skip_field_bytes(buf, v, e) != e)
        return http1_fail(p, 400, "control byte in field value");
    while (ve > v && http1_is_ows((unsigned char)buf[ve - 1]))
        ve--;
    h->value = http1_slice_make(v, ve - v);
    return HTTP1_DONE;
}

static uint32_t http1_fields_max(const struct http1_parser *p)
{
    return p->limits->fields_max < p->fields_cap ? p->limits->fields_max : p->fields_cap;
}

/* Byte i, not an LF, has just arrived: refuse it if it follows a bare CR or passes a
 * limit. A CR may be the first byte of the line end, so it is allowed one byte past a
 * line limit. */
static enum http1_rc http1_check_byte(struct http1_parser *p, const char *buf, size_t i)
{
    const struct http1_limits *lim = p->limits;
    unsigned char c = (unsigned char)buf[i];
    size_t cr = c == '\r';

    if (i > p->line_start && buf[i - 1] == '\r') {
        /* RFC 9112 §2.2: a bare CR is invalid; we refuse it rather than guess */
        return http1_fail(p, 400, "CR not followed by LF");
    }
    if (p->lines == 0) {
        /* leading empty lines count toward the request line, so they are bounded */
        if (i + 1 > lim->request_line_max_bytes + cr)
            return http1_fail(p, 414, "request line too long");
    } else {
        if (i == p->line_start && c != '\r' && p->lines - 1 >= http1_fields_max(p))
            return http1_fail(p, 431, "too many header fields");
        if (i + 1 - p->line_start > lim->field_line_max_bytes + cr)
            return http1_fail(p, 431, "field line too long");
    }
    if (i + 1 > lim->head_max_bytes)
        return http1_fail(p, 431, "request head too long");
    return HTTP1_AGAIN;
}

/* http1_check_byte for each of buf[from..to); on error p->scanned says where. */
static enum http1_rc http1_check_bytes(struct http1_parser *p, const char *buf, size_t from,
                                       size_t to)
{
    for (size_t i = from; i < to; i++) {
        enum http1_rc rc = http1_check_byte(p, buf, i);
        if (rc != HTTP1_AGAIN) {
            p->scanned = (uint32_t)(i + 1);
            return rc;
        }
    }
    return HTTP1_AGAIN;
}

/* The LF at buf[i] ends the line that starts at p->line_start, of which buf[from..i)
 * arrived in this call. i < head_max_bytes: http1_parse_head looks no further. */
static enum http1_rc http1_end_line(struct http1_parser *p, const char *buf, size_t from,
                                    size_t i, struct http1_request *req, size_t *used)
{
    const struct http1_limits *lim = p->limits;
    size_t s = p->line_start;
    size_t e = i > s && buf[i - 1] == '\r' ? i - 1 : i;
    uint32_t lines = p->lines;
    enum http1_rc rc;

    if (e == s) {
        /* Nothing but the line end, so no byte check can fail but one: the CR of an
         * empty line before the request line, refused with the same 414 as its LF. */
        if (lines > 0)
            return http1_finish(p, buf, i + 1, req, used);
        /* an empty line before the request line is ignored (RFC 9112 §2.2) */
        if (i + 1 > lim->request_line_max_bytes)
            return http1_fail(p, 414, "request line too long");
        p->line_start = (uint32_t)(i + 1);
        return HTTP1_AGAIN;
    }

    /* The limits http1_check_byte would have applied byte by byte, by arithmetic. */
    bool fits = lines == 0 ? e <= lim->request_line_max_bytes
                           : e - s <= lim->field_line_max_bytes && lines - 1 < http1_fields_max(p);
    if (!fits) {
        rc = http1_check_bytes(p, buf, from, i);
        if (rc != HTTP1_AGAIN)
            return rc;
    }
    if (lines == 0)
        rc = http1_parse_request_line(p, buf, s, e);
    else /* fits says fields_max is not reached: the slot exists */
        rc = http1_parse_field_line(p, buf, s, e, &p->fields[lines - 1]);
    if (rc != HTTP1_DONE) {
        /* A bare CR inside the line fails its syntax, but fed byte by byte it would
         * have been refused, with another reason, at the byte after it. */
        if (fits)
            (void)http1_check_bytes(p, buf, from, i);
        return HTTP1_ERROR;
    }
    p->line_start = (uint32_t)(i + 1);
    p->lines = lines + 1;
    return HTTP1_AGAIN;
}

/* How far ahead http1_take_fields looks for an LF to bound its scans: past any
 * ordinary head, short enough that a body without LFs behind a head costs little. */
#define HTTP1_SENTINEL_SEARCH_BYTES 4096

/* The fast path for the bulk of a head: field lines that arrived whole in this call,
 * from p->line_start on, taken while each fits its limits and is a valid field line
 * (what http1_end_line and http1_parse_field_line would accept, with the same slices).
 * It never refuses anything: it stops at the first line it cannot take (the empty
 * line, a line too long, one not yet whole, anything invalid) and leaves that line to
 * http1_end_line, which finds the verdict and the byte it belongs to.
 *
 * Why it is faster: no memchr per line, because the scans that validate a line stop at
 * its CR or LF and so find the line end; and the scan state stays in registers. The
 * scans test no length, so they need an LF ahead of them: buf[last] is one. */
static void http1_take_fields(struct http1_parser *p, const char *buf, size_t window)
{
    size_t s = p->line_start;
    size_t end = window - s > HTTP1_SENTINEL_SEARCH_BYTES ? s + HTTP1_SENTINEL_SEARCH_BYTES
                                                           : window;
    /* a read usually ends with the head, so its last byte is the LF wanted */
    const char *lf = buf[end - 1] == '\n' ? buf + end - 1 : memrchr(buf + s, '\n', end - s);
    if (!lf)
        return;
    size_t last = (size_t)(lf - buf);
    uint32_t lines = p->lines, fields_max = http1_fields_max(p);
    uint32_t line_max = p->limits->field_line_max_bytes;
    struct http1_header *fields = p->fields;

    /* lines - 1 < fields_max: the next field has a slot; s < last: an LF follows */
    while (lines - 1 < fields_max && s < last) {
        size_t i = http1_skip(buf, s, HTTP1_C_TCHAR);
        if (i == s || buf[i] != ':')
            break; /* the empty line, obs-fold, or an invalid name */
        size_t v = i + 1;
        while (http1_is_ows((unsigned char)buf[v]))
            v++;
        size_t e = http1_skip_field_bytes(buf, v, last);
        size_t next;
        if (buf[e] == '\r' && buf[e + 1] == '\n') /* e < last: buf[last] is LF */
            next = e + 2;
        else if (buf[e] == '\n')
            next = e + 1;
        else
            break; /* a bare CR or a control byte in the value */
        if (e - s > line_max)
            break;
        size_t ve = e;
        while (ve > v && http1_is_ows((unsigned char)buf[ve - 1]))
            ve--;
        struct http1_header *h = &fields[lines - 1];
        h->name = http1_slice_make(s, i - s);
        h->value = http1_slice_make(v, ve - v);
        lines++;
        s = next;
    }
    p->lines = lines;
    p->line_start = p->scanned = (uint32_t)s;
}

/* The first LF in buf[from..window), from < window, or NULL. Every head ends with an
 * empty line, which needs no search. */
static const char *http1_find_lf(const char *buf, size_t from, size_t window)
{
    if (window - from >= 2 && buf[from] == '\r' && buf[from + 1] == '\n')
        return buf + from + 1;
    return memchr(buf + from, '\n', window - from);
}

enum http1_rc http1_parse_head(struct http1_parser *p, const char *buf, size_t len,
                               struct http1_request *req, size_t *used)
{
    enum http1_rc rc;

    *used = 0;
    if (p->status != 0)
        return HTTP1_ERROR;
    /* A head ends before byte head_max_bytes, so no line end is looked for past it
     * (and a client cannot make us search a buffer longer than that). */
    size_t window = len < p->limits->head_max_bytes ? len : p->limits->head_max_bytes;
    while (p->scanned < window) {
        /* only where no byte of the line has been seen, so no byte is seen twice */
        if (p->lines > 0 && p->scanned == p->line_start) {
            http1_take_fields(p, buf, window);
            if (p->scanned >= window)
                break;
        }
        size_t from = p->scanned;
        const char *lf = http1_find_lf(buf, from, window);
        if (!lf)
            break;
        size_t i = (size_t)(lf - buf);
        p->scanned = (uint32_t)(i + 1);
        rc = http1_end_line(p, buf, from, i, req, used);
        if (rc != HTTP1_AGAIN)
            return rc;
    }
    /* The line has not ended yet: check its new bytes one by one. */
    rc = http1_check_bytes(p, buf, p->scanned, window);
    if (rc != HTTP1_AGAIN)
        return rc;
    if (len > window) {
        /* byte head_max_bytes is here, and the head did not end before it */
        p->scanned = (uint32_t)window + 1;
        if (buf[window] == '\n')
            return http1_fail(p, 431, "request head too long");
        rc = http1_check_byte(p, buf, window);
        assert(rc == HTTP1_ERROR);
        return rc;
    }
    /* len <= head_max_bytes, a uint32_t */
    p->scanned = (uint32_t)len;
    return HTTP1_AGAIN;
}

/* ---- a head given in parts ---- */

/* The parts stand for the text "method SP target SP HTTP/1.1" CRLF, each field as
 * "name: value" CRLF, and the final CRLF. p->scanned counts that text's bytes, so
 * every limit applies where http1_parse_head would apply it, in the same order: a
 * line's own limit, then the head's, then the line's syntax. The method, the target
 * and each value are followed in buf by a byte none of them holds (the caller writes
 * an LF), which stops the scans as the line end does in a text head; names are
 * checked by length. */

enum http1_rc http1_parts_request_line(struct http1_parser *p, const char *buf,
                                       struct http1_slice method, struct http1_slice target)
{
    const struct http1_limits *lim = p->limits;
    struct http1_request_line *rl = &p->line;
    size_t len = (size_t)method.len + 1 + target.len + 9; /* " HTTP/1.1" */

    assert(p->lines == 0);
    if (p->status != 0)
        return HTTP1_ERROR;
    if (len > lim->request_line_max_bytes)
        return http1_fail(p, 414, "request line too long");
    if (len + 2 > lim->head_max_bytes)
        return http1_fail(p, 431, "request head too long");
    if (!http1_is_token(buf + method.off, method.len))
        return http1_fail(p, 400, "method is not a token");
    rl->method_token = method;
    rl->method = http1_method_lookup(buf + method.off, method.len);
    size_t t = target.off, e = t + target.len, q;
    size_t i = http1_scan_target(buf, t, &q);
    assert(i <= e); /* buf[e] is no target byte */
    if (i < e)
        return http1_fail_target_byte(p, (unsigned char)buf[i]);
    if (i == t)
        return http1_fail(p, 400, "empty request target");
    rl->version_minor = 1;
    enum http1_rc rc = http1_check_target(p, buf, t, e, q);
    if (rc != HTTP1_DONE)
        return rc;
    p->scanned = (uint32_t)(len + 2);
    p->lines = 1;
    return HTTP1_AGAIN;
}

enum http1_rc http1_parts_field(struct http1_parser *p, const char *buf, struct http1_slice name,
                                struct http1_slice value)
{
    const struct http1_limits *lim = p->limits;
    size_t len = (size_t)name.len + 2 + value.len; /* "name: value" */

    assert(p->lines > 0);
    if (p->status != 0)
        return HTTP1_ERROR;
    if (p->lines - 1 >= http1_fields_max(p))
        return http1_fail(p, 431, "too many header fields");
    if (len > lim->field_line_max_bytes)
        return http1_fail(p, 431, "field line too long");
    if (p->scanned + len + 2 > lim->head_max_bytes)
        return http1_fail(p, 431, "request head too long");
    if (name.len == 0)
        return http1_fail(p, 400, "empty field name");
    if (!http1_is_token(buf + name.off, name.len))
        return http1_fail(p, 400, "invalid byte in field name");
    size_t v = value.off, e = v + value.len, ve = e;
    while (v < e && http1_is_ows((unsigned char)buf[v]))
        v++;
    if (http1_skip_field_bytes(buf, v, e) != e)
        return http1_fail(p, 400, "control byte in field value");
    while (ve > v && http1_is_ows((unsigned char)buf[ve - 1]))
        ve--;
    p->fields[p->lines - 1] = (struct http1_header){ name, http1_slice_make(v, ve - v) };
    p->lines++;
    p->scanned += (uint32_t)(len + 2);
    return HTTP1_AGAIN;
}

enum http1_rc http1_parts_end(struct http1_parser *p, const char *buf, struct http1_request *req,
                              size_t *used)
{
    *used = 0;
    assert(p->lines > 0);
    if (p->status != 0)
        return HTTP1_ERROR;
    if ((size_t)p->scanned + 2 > p->limits->head_max_bytes)
        return http1_fail(p, 431, "request head too long");
    return http1_finish(p, buf, (size_t)p->scanned + 2, req, used);
}

bool http1_wants_keep_alive(const struct http1_request *req)
{
    if (req->conn_close)
        return false;
    if (req->version_minor >= 1)
        return true;
    return req->conn_keep_alive;
}
