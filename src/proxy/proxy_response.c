/* proxy_response — the upstream response-head parser; see the header.
 *
 * The head is found first (the first CRLF CRLF, searched from where the last
 * call stopped, so a head fed a byte at a time costs no more than one given
 * whole), then parsed in one pass. Lines end in CRLF only: a bare LF or CR is
 * refused, since an upstream that frames lines differently from the client
 * that reads the relayed head is how response splitting starts. The
 * status line may leave out the reason phrase ("HTTP/1.1 200\r\n"), which
 * some application servers send; the proxy writes its own status line anyway.
 */
#include "proxy_response.h"

#include <string.h>
#include <strings.h>

#include "http1_chars.h"

void proxy_response_init(struct proxy_response_parser *p, uint32_t head_max_bytes,
                         struct http1_header *fields, uint32_t fields_max, bool head_request)
{
    memset(p, 0, sizeof *p);
    p->head_max_bytes = head_max_bytes;
    p->fields = fields;
    p->fields_max = fields_max;
    p->head_request = head_request;
}

static enum http1_rc proxy_response_fail(struct proxy_response_parser *p, const char *reason)
{
    p->reason = reason;
    return HTTP1_ERROR;
}

/* A field name is lit (lower case, given with its length; no strlen). */
static bool proxy_response_name_is(const char *buf, struct http1_slice s, const char *lit,
                                   size_t lit_len)
{
    return s.len == lit_len && strncasecmp(buf + s.off, lit, lit_len) == 0;
}

/* A Content-Length value: 1*DIGIT, at most 19 digits (no overflow). */
static bool proxy_response_parse_length(const char *v, uint32_t len, uint64_t *out)
{
    if (len == 0 || len > 19)
        return false;
    uint64_t n = 0;
    for (uint32_t i = 0; i < len; i++) {
        if (!http1_is_digit((unsigned char)v[i]))
            return false;
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    *out = n;
    return true;
}

/* Does a Connection value list the option opt (comma list, OWS)? */
static bool proxy_response_lists(const char *v, uint32_t len, const char *opt)
{
    size_t olen = strlen(opt);
    uint32_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ',' || http1_is_ows((unsigned char)v[i])))
            i++;
        uint32_t start = i;
        while (i < len && v[i] != ',' && !http1_is_ows((unsigned char)v[i]))
            i++;
        if (i - start == olen && strncasecmp(v + start, opt, olen) == 0)
            return true;
    }
    return false;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]" in buf[0..end). */
static enum http1_rc proxy_response_status_line(struct proxy_response_parser *p,
                                                const char *buf, size_t end,
                                                struct proxy_response *r)
{
    if (end < 12 || memcmp(buf, "HTTP/1.", 7) != 0)
        return proxy_response_fail(p, "status line is not HTTP/1.x");
    if (buf[7] != '0' && buf[7] != '1')
        return proxy_response_fail(p, "unsupported HTTP version");
    r->version_minor = (uint8_t)(buf[7] - '0');
    if (buf[8] != ' ' || !http1_is_digit((unsigned char)buf[9]) ||
        !http1_is_digit((unsigned char)buf[10]) || !http1_is_digit((unsigned char)buf[11]))
        return proxy_response_fail(p, "malformed status code");
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (r->status < 100 || r->status > 599)
        return proxy_response_fail(p, "status code out of range");
    if (end > 12 && buf[12] != ' ')
        return proxy_response_fail(p, "malformed status code");
    return HTTP1_DONE; /* the reason phrase's bytes: checked by the line scan */
}

/* One field line buf[start..end) (no CRLF; its bytes are field bytes,
 * checked by the line scan) into r. */
static enum http1_rc proxy_response_field(struct proxy_response_parser *p, const char *buf,
                                          size_t start, size_t end, struct proxy_response *r)
{
    if (http1_is_ows((unsigned char)buf[start]))
        return proxy_response_fail(p, "obs-fold (a line continued with whitespace)");
    size_t i = http1_skip(buf, start, HTTP1_C_TCHAR); /* stops at the CR at the latest */
    if (i == start || i >= end || buf[i] != ':')
        return proxy_response_fail(p, "malformed field name");
    if (r->field_count >= p->fields_max)
        return proxy_response_fail(p, "too many header fields");
    size_t name_end = i++;
    i = http1_skip(buf, i, HTTP1_C_OWS);
    size_t vstart = i < end ? i : end, vend = end;
    while (vend > vstart && http1_is_ows((unsigned char)buf[vend - 1]))
        vend--;
    struct http1_header *h = &p->fields[r->field_count++];
    h->name = (struct http1_slice){ (uint32_t)start, (uint32_t)(name_end - start) };
    h->value = (struct http1_slice){ (uint32_t)vstart, (uint32_t)(vend - vstart) };
    return HTTP1_DONE;
}

/* After the fields: Content-Length, Transfer-Encoding, Connection. */
static enum http1_rc proxy_response_framing(struct proxy_response_parser *p, const char *buf,
                                            struct proxy_response *r)
{
    bool chunked = false, keep_alive = false, has_te = false;
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct http1_header *h = &r->fields[i];
        const char *v = buf + h->value.off;
        if (proxy_response_name_is(buf, h->name, "content-length", 14)) {
            uint64_t n;
            if (!proxy_response_parse_length(v, h->value.len, &n))
                return proxy_response_fail(p, "malformed Content-Length");
            if (r->has_content_length && n != r->content_length)
                return proxy_response_fail(p, "differing Content-Length values");
            r->has_content_length = true;
            r->content_length = n;
        } else if (proxy_response_name_is(buf, h->name, "transfer-encoding", 17)) {
            /* Only "chunked", once: another coding would have to be relayed
             * as it is, and a repeated one is ambiguous. */
            if (has_te || h->value.len != 7 || strncasecmp(v, "chunked", 7) != 0)
                return proxy_response_fail(p, "transfer coding other than chunked");
            has_te = chunked = true;
        } else if (proxy_response_name_is(buf, h->name, "connection", 10)) {
            if (proxy_response_lists(v, h->value.len, "close"))
                r->conn_close = true;
            if (proxy_response_lists(v, h->value.len, "keep-alive"))
                keep_alive = true;
        }
    }
    if (has_te && r->has_content_length)
        return proxy_response_fail(p, "both Content-Length and Transfer-Encoding");
    if (has_te && r->version_minor == 0)
        return proxy_response_fail(p, "Transfer-Encoding in an HTTP/1.0 response");
    if (r->version_minor == 0 && !keep_alive)
        r->conn_close = true;
    if (p->head_request || r->status < 200 || r->status == 204 || r->status == 304)
        r->body = PROXY_BODY_NONE;
    else if (chunked)
        r->body = PROXY_BODY_CHUNKED;
    else if (r->has_content_length)
        r->body = PROXY_BODY_LENGTH;
    else
        r->body = PROXY_BODY_UNTIL_CLOSE;
    return HTTP1_DONE;
}

enum http1_rc proxy_response_parse(struct proxy_response_parser *p, const char *buf, size_t len,
                                   struct proxy_response *r, size_t *used)
{
    /* Find the empty line that ends the head: from LF to LF. */
    size_t i = p->scanned > 3 ? p->scanned - 3 : 0;
    size_t end = 0;
    while (i + 3 < len) {
        const char *lf = memchr(buf + i + 3, '\n', len - i - 3);
        if (!lf)
            break;
        size_t j = (size_t)(lf - buf);
        if (buf[j - 3] == '\r' && buf[j - 2] == '\n' && buf[j - 1] == '\r') {
            end = j + 1;
            break;
        }
        i = j - 2;
    }
    if (end == 0) {
        p->scanned = (uint32_t)(len < UINT32_MAX ? len : UINT32_MAX);
        if (len > p->head_max_bytes)
            return proxy_response_fail(p, "response head too large");
        return HTTP1_AGAIN;
    }
    if (end > p->head_max_bytes)
        return proxy_response_fail(p, "response head too large");

    memset(r, 0, sizeof *r);
    r->fields = p->fields;
    size_t line = 0;
    bool first = true;
    while (line < end - 2) {
        /* The line ends at the first CR; it must be followed by LF, and no
         * LF may come before it. */
        size_t k = http1_skip(buf, line, HTTP1_C_FIELD);
        if (buf[k] != '\r' || buf[k + 1] != '\n')
            return proxy_response_fail(p, buf[k] == '\0'                     ? "NUL in the head"
                                          : buf[k] == '\r' || buf[k] == '\n' ? "bare CR or LF in the head"
                                                                            : "bad byte in the head");
        enum http1_rc rc = first ? proxy_response_status_line(p, buf + line, k - line, r)
                                 : proxy_response_field(p, buf, line, k, r);
        if (rc != HTTP1_DONE)
            return rc;
        first = false;
        line = k + 2;
    }
    if (first)
        return proxy_response_fail(p, "status line is not HTTP/1.x");
    enum http1_rc rc = proxy_response_framing(p, buf, r);
    if (rc != HTTP1_DONE)
        return rc;
    *used = end;
    return HTTP1_DONE;
}
