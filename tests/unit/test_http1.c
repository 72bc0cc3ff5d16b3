/* Unit tests for http1.c, http1_fields.c and http1_chunked.c: request-head
 * parser, a head given in parts, and chunked decoder (RFC 9112).
 *
 * Every case runs three ways: the whole input in one call; growing prefixes one
 * byte longer each call (the parser must resume where it stopped); and split
 * once at every offset. Each call gets a fresh allocation of exactly the bytes
 * it may read, so an over-read trips ASan and a parser that kept a pointer
 * instead of an offset reads freed memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http1.h"
#include "uri.h"

#define FIELDS_CAP 16

static const struct http1_limits head_limits_default = {
    .request_line_max_bytes = 64,
    .field_line_max_bytes = 64,
    .head_max_bytes = 256,
    .fields_max = 8,
};

struct head_case {
    const char *name;
    const char *raw;
    size_t raw_len; /* 0: strlen(raw); set it when raw holds a NUL */
    const struct http1_limits *limits; /* NULL: head_limits_default */
    enum http1_rc rc;
    int status;     /* on HTTP1_ERROR */
    const char *reason; /* on HTTP1_ERROR, if set: p->reason */
    size_t at;      /* on HTTP1_ERROR, if set: the error must come with this byte */
    size_t tail;    /* on HTTP1_DONE: bytes after the head (body, next request) */
    /* on HTTP1_DONE, each checked when set; "" means "must be empty" */
    const char *method, *target, *path, *query, *host;
    int version;            /* 10, 11, 19 */
    const char *framing;    /* "none" "length" "chunked" */
    uint64_t content_length; /* with framing "length" */
    const char *flags;      /* exact set, in this order: close keep-alive continue
                             * unknown asterisk */
    const char *field, *value; /* a kept field by name and its value */
};

struct head_result {
    enum http1_rc rc;
    int status;
    const char *reason;
    size_t used;
    size_t fed; /* bytes given in the call that ended it */
    struct http1_request req;
    struct http1_header fields[FIELDS_CAP];
};

static const char *http1_rc_str(enum http1_rc rc)
{
    switch (rc) {
    case HTTP1_DONE:
        return "DONE";
    case HTTP1_AGAIN:
        return "AGAIN";
    case HTTP1_ERROR:
        return "ERROR";
    }
    return "?";
}

static size_t head_len(const struct head_case *c)
{
    return c->raw_len ? c->raw_len : strlen(c->raw);
}

/* One call on a fresh exact-length copy of raw[0..n). */
static enum http1_rc head_feed(struct http1_parser *p, const char *raw, size_t n,
                               struct head_result *r)
{
    char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    memcpy(buf, raw, n);
    r->rc = http1_parse_head(p, buf, n, &r->req, &r->used);
    r->fed = n;
    free(buf);
    return r->rc;
}

static void head_finish(struct http1_parser *p, struct head_result *r)
{
    r->status = p->status;
    r->reason = p->reason;
    if (r->rc == HTTP1_DONE) {
        assert_ptr_equal(r->req.fields, p->fields);
        assert_true(r->req.field_count <= FIELDS_CAP);
        memcpy(r->fields, p->fields, r->req.field_count * sizeof r->fields[0]);
        r->req.fields = r->fields;
    }
}

/* Feed the prefixes ends[0], ends[1], ... of raw until the parser stops asking. */
static void head_run(const struct head_case *c, const size_t *ends, size_t n_ends,
                     struct head_result *r)
{
    struct http1_header fields[FIELDS_CAP];
    struct http1_parser p;

    memset(r, 0, sizeof *r);
    http1_parser_init(&p, c->limits ? c->limits : &head_limits_default, fields, FIELDS_CAP);
    for (size_t k = 0; k < n_ends; k++) {
        if (head_feed(&p, c->raw, ends[k], r) != HTTP1_AGAIN)
            break;
        /* resumable: everything given has been examined and need not be again */
        assert_int_equal(p.scanned, ends[k]);
    }
    head_finish(&p, r);
}

static void head_expect_slice(const char *name, const char *mode, const char *raw,
                              struct http1_slice s, const char *want, const char *what)
{
    if (!want)
        return;
    if (s.len != strlen(want) || memcmp(raw + s.off, want, s.len) != 0) {
        print_error("case \"%s\" (%s): %s is \"%.*s\", want \"%s\"\n", name, mode, what,
                    (int)s.len, raw + s.off, want);
        fail();
    }
}

static struct http1_slice head_kept(const struct http1_request *req, const char *name)
{
    static const struct {
        const char *name;
        size_t off;
    } kept[] = {
        { "Authorization", offsetof(struct http1_request, authorization) },
        { "User-Agent", offsetof(struct http1_request, user_agent) },
        { "Referer", offsetof(struct http1_request, referer) },
        { "Content-Type", offsetof(struct http1_request, content_type) },
        { "Range", offsetof(struct http1_request, range) },
        { "If-Range", offsetof(struct http1_request, if_range) },
        { "If-Match", offsetof(struct http1_request, if_match) },
        { "If-None-Match", offsetof(struct http1_request, if_none_match) },
        { "If-Modified-Since", offsetof(struct http1_request, if_modified_since) },
        { "If-Unmodified-Since", offsetof(struct http1_request, if_unmodified_since) },
    };
    for (size_t k = 0; k < sizeof kept / sizeof kept[0]; k++) {
        if (strcmp(kept[k].name, name) == 0) {
            struct http1_slice s;
            memcpy(&s, (const char *)req + kept[k].off, sizeof s);
            return s;
        }
    }
    fail_msg("no kept field %s", name);
    return (struct http1_slice){ 0, 0 };
}

static void head_flags_str(const struct http1_request *req, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s%s", req->conn_close ? "close " : "",
             req->conn_keep_alive ? "keep-alive " : "", req->expect_continue ? "continue " : "",
             req->expect_unknown ? "unknown " : "", req->target_is_asterisk ? "asterisk " : "");
    size_t n = strlen(out);
    if (n > 0)
        out[n - 1] = '\0';
}

static void head_check(const struct head_case *c, const char *mode, const struct head_result *r)
{
    size_t len = head_len(c);
    const struct http1_request *req = &r->req;

    if (r->rc != c->rc || (c->rc == HTTP1_ERROR && r->status != c->status)) {
        print_error("case \"%s\" (%s): %s %d (%s), want %s %d\n", c->name, mode,
                    http1_rc_str(r->rc), r->status, r->reason ? r->reason : "-",
                    http1_rc_str(c->rc), c->status);
        fail();
    }
    if (c->rc == HTTP1_ERROR) {
        assert_non_null(r->reason);
        if (c->reason && strcmp(r->reason, c->reason) != 0) {
            print_error("case \"%s\" (%s): reason \"%s\", want \"%s\"\n", c->name, mode,
                        r->reason, c->reason);
            fail();
        }
        if (c->at && r->fed < c->at) {
            print_error("case \"%s\" (%s): error after %zu bytes, before byte %zu\n", c->name,
                        mode, r->fed, c->at);
            fail();
        }
        return;
    }
    if (c->rc != HTTP1_DONE)
        return;
    if (r->used != len - c->tail) {
        print_error("case \"%s\" (%s): used %zu, want %zu\n", c->name, mode, r->used,
                    len - c->tail);
        fail();
    }
    if (c->method && strcmp(http1_method_name(req->method), c->method) != 0) {
        print_error("case \"%s\" (%s): method %s, want %s\n", c->name, mode,
                    http1_method_name(req->method), c->method);
        fail();
    }
    head_expect_slice(c->name, mode, c->raw, req->target, c->target, "target");
    head_expect_slice(c->name, mode, c->raw, req->path, c->path, "path");
    head_expect_slice(c->name, mode, c->raw, req->query, c->query, "query");
    head_expect_slice(c->name, mode, c->raw, req->host, c->host, "host");
    if (c->version && req->version_minor != c->version - 10) {
        print_error("case \"%s\" (%s): HTTP/1.%d, want %d\n", c->name, mode,
                    req->version_minor, c->version);
        fail();
    }
    if (c->framing) {
        static const char *const names[] = { "none", "length", "chunked" };
        if (strcmp(names[req->framing], c->framing) != 0 ||
            (req->framing == HTTP1_BODY_LENGTH && req->content_length != c->content_length)) {
            print_error("case \"%s\" (%s): framing %s %llu, want %s %llu\n", c->name, mode,
                        names[req->framing], (unsigned long long)req->content_length,
                        c->framing, (unsigned long long)c->content_length);
            fail();
        }
    }
    if (c->flags) {
        char got[64];
        head_flags_str(req, got, sizeof got);
        if (strcmp(got, c->flags) != 0) {
            print_error("case \"%s\" (%s): flags \"%s\", want \"%s\"\n", c->name, mode, got,
                        c->flags);
            fail();
        }
    }
    if (c->field)
        head_expect_slice(c->name, mode, c->raw, head_kept(req, c->field), c->value, c->field);
    /* every field slice lies inside the head */
    for (uint32_t k = 0; k < req->field_count; k++) {
        assert_true(req->fields[k].name.off + req->fields[k].name.len <= r->used);
        assert_true(req->fields[k].value.off + req->fields[k].value.len <= r->used);
    }
}

static void head_run_case(const struct head_case *c)
{
    size_t len = head_len(c);
    size_t *ends = malloc((len ? len : 1) * sizeof *ends);
    struct head_result r;
    char mode[48];

    assert_non_null(ends);
    ends[0] = len;
    head_run(c, ends, 1, &r);
    head_check(c, "whole", &r);

    for (size_t k = 0; k < len; k++)
        ends[k] = k + 1;
    head_run(c, ends, len, &r);
    head_check(c, "byte at a time", &r);
    /* the byte-at-a-time run also shows where an error is detected */
    if (c->rc == HTTP1_ERROR && c->at && r.fed != c->at) {
        print_error("case \"%s\": error at byte %zu, want %zu\n", c->name, r.fed, c->at);
        fail();
    }

    for (size_t s = 1; s < len; s++) {
        ends[0] = s;
        ends[1] = len;
        head_run(c, ends, 2, &r);
        snprintf(mode, sizeof mode, "split at %zu", s);
        head_check(c, mode, &r);
    }
    free(ends);
}

static void head_run_table(const struct head_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++)
        head_run_case(&cases[i]);
}

#define RUN_TABLE(t, fn) fn((t), sizeof(t) / sizeof((t)[0]))
/* a literal with NUL bytes in it: its length comes from sizeof, not strlen */
#define BYTES(s) .raw = (s), .raw_len = sizeof(s) - 1
#define CBYTES(s) (s), sizeof(s) - 1

#define H "Host: a\r\n"

/* ---- request line ---- */

static const struct head_case line_cases[] = {
    { .name = "origin form with query", .raw = "GET /a/b?x=1&y HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_DONE, .method = "GET", .target = "/a/b?x=1&y", .path = "/a/b",
      .query = "x=1&y", .host = "a", .version = 11, .framing = "none", .flags = "" },
    { .name = "origin form, empty query", .raw = "GET /a? HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_DONE, .path = "/a", .query = "" },
    { .name = "origin form keeps percent escapes", .raw = "GET /a%20b HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_DONE, .path = "/a%20b" },
    { .name = "leading CRLF skipped", .raw = "\r\nGET / HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_DONE, .method = "GET", .path = "/" },
    { .name = "leading bare LF skipped", .raw = "\nGET / HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_DONE, .path = "/" },
    { .name = "several leading empty lines", .raw = "\r\n\n\r\nGET / HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_DONE, .path = "/" },
    { .name = "leading empty lines count toward the request line limit",
      .raw = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
             "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 414, .at = 66 },
    { .name = "only empty lines so far", .raw = "\r\n\r\n", .rc = HTTP1_AGAIN },
    { .name = "incomplete head", .raw = "GET / HTTP/1.1\r\n" H, .rc = HTTP1_AGAIN },
    { .name = "incomplete request line", .raw = "GET / HT", .rc = HTTP1_AGAIN },
    { .name = "body bytes after the head are not consumed",
      .raw = "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello", .tail = 5,
      .rc = HTTP1_DONE, .method = "POST", .framing = "length", .content_length = 5 },
    { .name = "LFs in the body after the head are not consumed",
      .raw = "POST / HTTP/1.1\r\n" H "Content-Length: 6\r\n\r\nab\n\r\nc", .tail = 6,
      .rc = HTTP1_DONE, .framing = "length", .content_length = 6 },
    { .name = "next pipelined request is not consumed",
      .raw = "GET / HTTP/1.1\r\n" H "\r\nGET /b HTTP/1.1\r\n", .tail = 17, .rc = HTTP1_DONE },

    /* absolute-form (RFC 9112 §3.2.2) */
    { .name = "absolute form, host from target wins",
      .raw = "GET http://example.com/p?q HTTP/1.1\r\nHost: other\r\n\r\n", .rc = HTTP1_DONE,
      .target = "http://example.com/p?q", .host = "example.com", .path = "/p", .query = "q" },
    { .name = "absolute form, https, uppercase scheme, port, empty path",
      .raw = "GET HTTPS://h:8443 HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE, .host = "h:8443",
      .path = "/", .query = "" },
    { .name = "absolute form, empty path before query",
      .raw = "GET http://h?x=1 HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE, .host = "h",
      .path = "/", .query = "x=1" },
    { .name = "absolute form, IPv6 literal", .raw = "GET http://[::1]:80/ HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_DONE, .host = "[::1]:80", .path = "/" },
    { .name = "absolute form, empty host", .raw = "GET http:///p HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "absolute form, userinfo", .raw = "GET http://u@h/ HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "absolute form, other scheme", .raw = "GET ftp://h/ HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "absolute form, scheme without slashes", .raw = "GET http:h/ HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },

    /* asterisk-form and authority-form (§3.2.3, §3.2.4) */
    { .name = "OPTIONS asterisk", .raw = "OPTIONS * HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE,
      .method = "OPTIONS", .target = "*", .path = "", .flags = "asterisk" },
    { .name = "GET asterisk", .raw = "GET * HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "OPTIONS asterisk with more", .raw = "OPTIONS *x HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "CONNECT authority form", .raw = "CONNECT h:443 HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_DONE, .method = "CONNECT", .host = "h:443", .path = "" },
    { .name = "CONNECT without port", .raw = "CONNECT h HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "CONNECT with origin form", .raw = "CONNECT / HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "GET with authority form", .raw = "GET localhost:80 HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "relative target", .raw = "GET index.html HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },

    /* methods (RFC 9110 §9.1): tokens, case-sensitive */
    { .name = "HEAD", .raw = "HEAD / HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE, .method = "HEAD" },
    { .name = "PUT", .raw = "PUT / HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE, .method = "PUT" },
    { .name = "DELETE", .raw = "DELETE / HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE,
      .method = "DELETE" },
    { .name = "TRACE", .raw = "TRACE / HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE,
      .method = "TRACE" },
    { .name = "PATCH", .raw = "PATCH / HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE,
      .method = "PATCH" },
    { .name = "lowercase get is another method", .raw = "get / HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_DONE, .method = "OTHER" },
    { .name = "unknown method", .raw = "FROB / HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE,
      .method = "OTHER" },
    { .name = "prefix of a method", .raw = "GE / HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE,
      .method = "OTHER" },
    { .name = "method not a token", .raw = "G@T / HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "empty method", .raw = " / HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "tab after method", .raw = "GET\t/ HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "two spaces after method", .raw = "GET  / HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "two spaces before version", .raw = "GET /  HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "space after version", .raw = "GET / HTTP/1.1 \r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 400 },

    /* target bytes */
    { .name = "control byte in target", .raw = "GET /a\x01" "b HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "DEL in target", .raw = "GET /a\x7f HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "non-ASCII in target", .raw = "GET /caf\xc3\xa9 HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "NUL in target", BYTES("GET /a\0 HTTP/1.1\r\n" H "\r\n"),
      .rc = HTTP1_ERROR, .status = 400 },

    /* versions (RFC 9112 §2.3, RFC 9110 §6.2) */
    { .name = "HTTP/1.0", .raw = "GET / HTTP/1.0\r\n\r\n", .rc = HTTP1_DONE, .version = 10 },
    { .name = "HTTP/1.9 is HTTP/1.x", .raw = "GET / HTTP/1.9\r\n" H "\r\n", .rc = HTTP1_DONE,
      .version = 19 },
    { .name = "HTTP/2.0", .raw = "GET / HTTP/2.0\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 505, .at = 16 },
    { .name = "HTTP/0.9 spelled as a version", .raw = "GET / HTTP/0.9\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 505 },
    { .name = "HTTP/2 preface", .raw = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 505, .at = 16 },
    { .name = "HTTP/0.9 request line", .raw = "GET /\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400, .at = 7 },
    { .name = "lowercase version", .raw = "GET / http/1.1\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "two-digit minor", .raw = "GET / HTTP/1.10\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "no minor", .raw = "GET / HTTP/1\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "letter minor", .raw = "GET / HTTP/1.x\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "other protocol", .raw = "GET / FTP/1.1\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
};

/* ---- line ends and field syntax (RFC 9112 §2.2, §5) ---- */

static const struct head_case field_cases[] = {
    { .name = "bare LF line ends", .raw = "GET / HTTP/1.1\nHost: a\n\n", .rc = HTTP1_DONE,
      .host = "a" },
    { .name = "mixed CRLF and LF", .raw = "GET / HTTP/1.1\r\nHost: a\n\r\n", .rc = HTTP1_DONE,
      .host = "a" },
    /* a bare CR is refused as such, at the byte after it, even when its line
     * arrives whole and would fail its syntax too */
    { .name = "bare CR ends nothing", .raw = "GET / HTTP/1.1\rHost: a\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400, .at = 16, .reason = "CR not followed by LF" },
    { .name = "bare CR in value", .raw = "GET / HTTP/1.1\r\n" H "X: a\rb\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400, .at = 31, .reason = "CR not followed by LF" },
    { .name = "CR CR LF", .raw = "GET / HTTP/1.1\r\n" H "X: a\r\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "bare CR in empty line", .raw = "GET / HTTP/1.1\r\n" H "\rX\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "bare LF splits a value", .raw = "GET / HTTP/1.1\r\n" H "X-Test: a\nb\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "empty field name", .raw = "GET / HTTP/1.1\r\n" H ": v\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "no colon", .raw = "GET / HTTP/1.1\r\n" H "X-Test one\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400, .reason = "field line without colon" },
    { .name = "name only", .raw = "GET / HTTP/1.1\r\n" H "X-Test\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "space before colon", .raw = "GET / HTTP/1.1\r\n" H "X-Test : one\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400, .reason = "space before colon" },
    { .name = "tab before colon", .raw = "GET / HTTP/1.1\r\n" H "X-Test\t: one\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "space before colon in Host", .raw = "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "space in name", .raw = "GET / HTTP/1.1\r\n" H "X Test: one\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400, .reason = "space in field name" },
    { .name = "non-token byte in name", .raw = "GET / HTTP/1.1\r\n" H "X@Y: one\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "non-ASCII in name", .raw = "GET / HTTP/1.1\r\n" H "X\xc3\xa9: one\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "every tchar in a name",
      .raw = "GET / HTTP/1.1\r\n" H "!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n", .rc = HTTP1_DONE },
    { .name = "obs-fold", .raw = "GET / HTTP/1.1\r\n" H "X-Test: one\r\n two\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400, .reason = "obs-fold or whitespace at line start" },
    { .name = "obs-fold with tab", .raw = "GET / HTTP/1.1\r\n" H "X-Test: one\r\n\ttwo\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400, .reason = "obs-fold or whitespace at line start" },
    { .name = "obs-fold of a colon", .raw = "GET / HTTP/1.1\r\n" H "X-Test: one\r\n :two\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400, .reason = "obs-fold or whitespace at line start" },
    { .name = "whitespace before the first field", .raw = "GET / HTTP/1.1\r\n " H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "NUL in value", BYTES("GET / HTTP/1.1\r\n" H "X-Test: a\0b\r\n\r\n"),
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "NUL in name", BYTES("GET / HTTP/1.1\r\n" H "X\0: b\r\n\r\n"),
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "DEL in value", .raw = "GET / HTTP/1.1\r\n" H "X-Test: a\x7f\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "vertical tab in value", .raw = "GET / HTTP/1.1\r\n" H "X-Test: a\vb\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "ESC in value", .raw = "GET / HTTP/1.1\r\n" H "X-Test: \x1b[2J\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "obs-text in value",
      .raw = "GET / HTTP/1.1\r\n" H "User-Agent: caf\xc3\xa9 \xff\r\n\r\n",
      .rc = HTTP1_DONE, .field = "User-Agent", .value = "caf\xc3\xa9 \xff" },
    { .name = "tab and space inside value",
      .raw = "GET / HTTP/1.1\r\n" H "User-Agent: a \tb\r\n\r\n", .rc = HTTP1_DONE,
      .field = "User-Agent", .value = "a \tb" },
    /* values of 8 bytes or more are checked a word at a time: bytes inside a word */
    { .name = "tabs inside a long value",
      .raw = "GET / HTTP/1.1\r\n" H "User-Agent: abcdefgh\tij\tk\t\tlmnopqrs\tt\r\n\r\n",
      .rc = HTTP1_DONE, .field = "User-Agent", .value = "abcdefgh\tij\tk\t\tlmnopqrs\tt" },
    { .name = "obs-text inside a long value",
      .raw = "GET / HTTP/1.1\r\n" H "User-Agent: \x80\xa0\xc3\xa9\xff\xfe\xdf\x9f x \xe0\r\n\r\n",
      .rc = HTTP1_DONE, .field = "User-Agent",
      .value = "\x80\xa0\xc3\xa9\xff\xfe\xdf\x9f x \xe0" },
    { .name = "DEL inside a long value",
      .raw = "GET / HTTP/1.1\r\n" H "X-Test: abcdefghij\x7fklmnopqrs\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400, .reason = "control byte in field value" },
    { .name = "NUL inside a long value",
      BYTES("GET / HTTP/1.1\r\n" H "X-Test: abcdefghijklmnop\0qrs\r\n\r\n"),
      .rc = HTTP1_ERROR, .status = 400, .reason = "control byte in field value" },
    { .name = "unit separator inside a long value",
      .raw = "GET / HTTP/1.1\r\n" H "X-Test: abcdefghijklmnopqrstuvw\x1f\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400, .reason = "control byte in field value" },
    { .name = "OWS around value trimmed", .raw = "GET / HTTP/1.1\r\nHost:\t a \t\r\n\r\n",
      .rc = HTTP1_DONE, .host = "a" },
    { .name = "no OWS at all", .raw = "GET / HTTP/1.1\r\nHost:a\r\n\r\n", .rc = HTTP1_DONE,
      .host = "a" },
    { .name = "empty value", .raw = "GET / HTTP/1.1\r\n" H "Referer:\r\n\r\n",
      .rc = HTTP1_DONE, .field = "Referer", .value = "" },
    { .name = "field names are case-insensitive",
      .raw = "GET / HTTP/1.1\r\nhOsT: a\r\nCONTENT-length: 3\r\n\r\n", .rc = HTTP1_DONE,
      .host = "a", .framing = "length", .content_length = 3 },
};

/* ---- Host (RFC 9112 §3.2, RFC 9110 §7.2) ---- */

static const struct head_case host_cases[] = {
    { .name = "missing in HTTP/1.1", .raw = "GET / HTTP/1.1\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "missing in HTTP/1.9", .raw = "GET / HTTP/1.9\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "optional in HTTP/1.0", .raw = "GET / HTTP/1.0\r\n\r\n", .rc = HTTP1_DONE,
      .host = "" },
    { .name = "present in HTTP/1.0", .raw = "GET / HTTP/1.0\r\n" H "\r\n", .rc = HTTP1_DONE,
      .host = "a" },
    { .name = "duplicate, same value", .raw = "GET / HTTP/1.1\r\n" H H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "duplicate, different value", .raw = "GET / HTTP/1.1\r\n" H "Host: b\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "duplicate in HTTP/1.0", .raw = "GET / HTTP/1.0\r\n" H H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "duplicate with absolute form",
      .raw = "GET http://h/ HTTP/1.1\r\n" H "Host: b\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "absolute form still needs Host in HTTP/1.1",
      .raw = "GET http://h/ HTTP/1.1\r\n\r\n", .rc = HTTP1_ERROR, .status = 400 },
    { .name = "absolute form ignores the Host value",
      .raw = "GET http://h/ HTTP/1.1\r\nHost: not valid\r\n\r\n", .rc = HTTP1_DONE,
      .host = "h" },
    { .name = "comma list", .raw = "GET / HTTP/1.1\r\nHost: localhost, other\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "space inside", .raw = "GET / HTTP/1.1\r\nHost: local host\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "slash", .raw = "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "userinfo", .raw = "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "with port", .raw = "GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n",
      .rc = HTTP1_DONE, .host = "localhost:8080" },
    { .name = "empty port", .raw = "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", .rc = HTTP1_DONE,
      .host = "a:" },
    { .name = "non-digit port", .raw = "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "two colons", .raw = "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "IPv4", .raw = "GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n", .rc = HTTP1_DONE,
      .host = "127.0.0.1:80" },
    { .name = "IPv6 literal with port", .raw = "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
      .rc = HTTP1_DONE, .host = "[::1]:8080" },
    { .name = "IPv6 literal unterminated", .raw = "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "empty IP literal", .raw = "GET / HTTP/1.1\r\nHost: []\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "junk after IP literal", .raw = "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "reg-name sub-delims and pct-encoded",
      .raw = "GET / HTTP/1.1\r\nHost: a-b.c_d~!$&'()*+;=%41\r\n\r\n", .rc = HTTP1_DONE,
      .host = "a-b.c_d~!$&'()*+;=%41" },
    { .name = "bad pct-encoding", .raw = "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "empty value is allowed", .raw = "GET / HTTP/1.1\r\nHost:\r\n\r\n",
      .rc = HTTP1_DONE, .host = "" },
    { .name = "IPv6 literal, not an address", .raw = "GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "IPv6 literal, sub-delims inside", .raw = "GET / HTTP/1.1\r\nHost: [a!b]\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "IPv6 literal, too many groups",
      .raw = "GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8:9]\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "IPv6 literal with IPv4 tail",
      .raw = "GET / HTTP/1.1\r\nHost: [::ffff:127.0.0.1]\r\n\r\n", .rc = HTTP1_DONE,
      .host = "[::ffff:127.0.0.1]" },
    { .name = "IPvFuture", .raw = "GET / HTTP/1.1\r\nHost: [v1f.a:b!]\r\n\r\n",
      .rc = HTTP1_DONE, .host = "[v1f.a:b!]" },
    { .name = "IPvFuture without hex", .raw = "GET / HTTP/1.1\r\nHost: [v.a]\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "IPvFuture without address", .raw = "GET / HTTP/1.1\r\nHost: [v1.]\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "absolute form with an IPv6 literal",
      .raw = "GET http://[::1]:8080/p?q HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE,
      .host = "[::1]:8080", .path = "/p", .query = "q" },
    { .name = "absolute form, bracket in the path",
      .raw = "GET http://[::1]/p[1] HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_ERROR, .status = 400 },
    { .name = "absolute form, bad IP literal", .raw = "GET http://[zz]/ HTTP/1.1\r\n" H "\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
};

/* ---- framing (RFC 9112 §6, RFC 9110 §8.6) ---- */

#define PUT "PUT /u HTTP/1.1\r\n" H

static const struct head_case frame_cases[] = {
    { .name = "no body", .raw = PUT "\r\n", .rc = HTTP1_DONE, .framing = "none" },
    { .name = "Content-Length", .raw = PUT "Content-Length: 5\r\n\r\nhello", .tail = 5,
      .rc = HTTP1_DONE, .framing = "length", .content_length = 5 },
    { .name = "Content-Length 0", .raw = PUT "Content-Length: 0\r\n\r\n", .rc = HTTP1_DONE,
      .framing = "length", .content_length = 0 },
    { .name = "Content-Length leading zeros", .raw = PUT "Content-Length: 0005\r\n\r\n",
      .rc = HTTP1_DONE, .framing = "length", .content_length = 5 },
    { .name = "Content-Length repeated, equal",
      .raw = PUT "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", .rc = HTTP1_DONE,
      .framing = "length", .content_length = 5 },
    { .name = "Content-Length list, equal", .raw = PUT "Content-Length: 5, 5,5\r\n\r\n",
      .rc = HTTP1_DONE, .framing = "length", .content_length = 5 },
    { .name = "Content-Length equal after leading zeros",
      .raw = PUT "Content-Length: 5\r\nContent-Length: 05\r\n\r\n", .rc = HTTP1_DONE,
      .framing = "length", .content_length = 5 },
    { .name = "Content-Length repeated, different",
      .raw = PUT "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "Content-Length list, different", .raw = PUT "Content-Length: 5, 6\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "Content-Length empty list element", .raw = PUT "Content-Length: 5,\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "Content-Length hex", .raw = PUT "Content-Length: 0x5\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "Content-Length plus sign", .raw = PUT "Content-Length: +5\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "Content-Length negative", .raw = PUT "Content-Length: -1\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "Content-Length space inside", .raw = PUT "Content-Length: 5 5\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "Content-Length empty", .raw = PUT "Content-Length:\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "Content-Length 2^62 accepted",
      .raw = PUT "Content-Length: 4611686018427387904\r\n\r\n", .rc = HTTP1_DONE,
      .framing = "length", .content_length = UINT64_C(4611686018427387904) },
    { .name = "Content-Length 2^62 + 1", .raw = PUT "Content-Length: 4611686018427387905\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "Content-Length 2^64 + 1", .raw = PUT "Content-Length: 18446744073709551617\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "Content-Length 21 digits",
      .raw = PUT "Content-Length: 184467440737095516170\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "Content-Length 10^10", .raw = PUT "Content-Length: 10000000000\r\n\r\n",
      .rc = HTTP1_DONE, .framing = "length", .content_length = UINT64_C(10000000000) },

    { .name = "chunked", .raw = PUT "Transfer-Encoding: chunked\r\n\r\n", .rc = HTTP1_DONE,
      .framing = "chunked" },
    { .name = "chunked, any case", .raw = PUT "Transfer-Encoding: ChUnKeD\r\n\r\n",
      .rc = HTTP1_DONE, .framing = "chunked" },
    { .name = "chunked after an empty list element",
      .raw = PUT "Transfer-Encoding: , chunked\r\n\r\n", .rc = HTTP1_DONE,
      .framing = "chunked" },
    { .name = "chunked not last", .raw = PUT "Transfer-Encoding: chunked, gzip\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "chunked not last across fields",
      .raw = PUT "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "unknown coding alone", .raw = PUT "Transfer-Encoding: frobnicate\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "gzip then chunked", .raw = PUT "Transfer-Encoding: gzip, chunked\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 501 },
    { .name = "gzip then chunked across fields",
      .raw = PUT "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 501 },
    { .name = "chunked twice", .raw = PUT "Transfer-Encoding: chunked, chunked\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "chunked twice across fields",
      .raw = PUT "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "chunked with a parameter", .raw = PUT "Transfer-Encoding: chunked;x=1\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "empty Transfer-Encoding", .raw = PUT "Transfer-Encoding:\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 400 },
    { .name = "Transfer-Encoding in HTTP/1.0",
      .raw = "PUT /u HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "Content-Length then Transfer-Encoding",
      .raw = PUT "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
    { .name = "Transfer-Encoding then Content-Length",
      .raw = PUT "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", .rc = HTTP1_ERROR,
      .status = 400 },
};

/* ---- Connection, Expect, kept fields ---- */

static const struct head_case option_cases[] = {
    { .name = "Connection: close", .raw = "GET / HTTP/1.1\r\n" H "Connection: close\r\n\r\n",
      .rc = HTTP1_DONE, .flags = "close" },
    { .name = "Connection: keep-alive, any case",
      .raw = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", .rc = HTTP1_DONE,
      .flags = "keep-alive" },
    { .name = "Connection list", .raw = "GET / HTTP/1.1\r\n" H "Connection: Upgrade, CLOSE\r\n\r\n",
      .rc = HTTP1_DONE, .flags = "close" },
    { .name = "Connection over two fields",
      .raw = "GET / HTTP/1.1\r\n" H "Connection: keep-alive\r\nConnection: close\r\n\r\n",
      .rc = HTTP1_DONE, .flags = "close keep-alive" },
    { .name = "Connection: closed is not close",
      .raw = "GET / HTTP/1.1\r\n" H "Connection: closed, xclose\r\n\r\n", .rc = HTTP1_DONE,
      .flags = "" },
    { .name = "Expect: 100-continue", .raw = PUT "Expect: 100-continue\r\n\r\n",
      .rc = HTTP1_DONE, .flags = "continue" },
    { .name = "Expect: 100-Continue", .raw = PUT "Expect: 100-Continue\r\n\r\n",
      .rc = HTTP1_DONE, .flags = "continue" },
    { .name = "Expect: unknown", .raw = "GET / HTTP/1.1\r\n" H "Expect: bogus-thing\r\n\r\n",
      .rc = HTTP1_DONE, .flags = "unknown" },
    { .name = "Expect: 100-continue and another",
      .raw = PUT "Expect: 100-continue, foo\r\n\r\n", .rc = HTTP1_DONE,
      .flags = "continue unknown" },
    { .name = "Expect: 100-continue with a parameter",
      .raw = PUT "Expect: 100-continue;x=1\r\n\r\n", .rc = HTTP1_DONE, .flags = "unknown" },
    { .name = "Authorization",
      .raw = "GET / HTTP/1.1\r\n" H "Authorization: Basic dGVzdDp0ZXN0\r\n\r\n",
      .rc = HTTP1_DONE, .field = "Authorization", .value = "Basic dGVzdDp0ZXN0" },
    { .name = "Authorization, first kept",
      .raw = "GET / HTTP/1.1\r\n" H "authorization: A\r\nAuthorization: B\r\n\r\n",
      .rc = HTTP1_DONE, .field = "Authorization", .value = "A" },
    { .name = "empty Referer is the first occurrence",
      .raw = "GET / HTTP/1.1\r\n" H "Referer:\r\nReferer: x\r\n\r\n", .rc = HTTP1_DONE,
      .field = "Referer", .value = "" },
    { .name = "User-Agent", .raw = "GET / HTTP/1.1\r\n" H "User-Agent: curl/8\r\n\r\n",
      .rc = HTTP1_DONE, .field = "User-Agent", .value = "curl/8" },
    { .name = "Content-Type", .raw = PUT "Content-Type: text/plain\r\n\r\n", .rc = HTTP1_DONE,
      .field = "Content-Type", .value = "text/plain" },
    { .name = "Range", .raw = "GET / HTTP/1.1\r\n" H "Range: bytes=0-4\r\n\r\n",
      .rc = HTTP1_DONE, .field = "Range", .value = "bytes=0-4" },
    { .name = "If-Range", .raw = "GET / HTTP/1.1\r\n" H "If-Range: \"e\"\r\n\r\n",
      .rc = HTTP1_DONE, .field = "If-Range", .value = "\"e\"" },
    { .name = "If-Match", .raw = "GET / HTTP/1.1\r\n" H "If-Match: *\r\n\r\n",
      .rc = HTTP1_DONE, .field = "If-Match", .value = "*" },
    { .name = "If-None-Match", .raw = "GET / HTTP/1.1\r\n" H "If-None-Match: \"x\"\r\n\r\n",
      .rc = HTTP1_DONE, .field = "If-None-Match", .value = "\"x\"" },
    { .name = "If-Modified-Since", .raw = "GET / HTTP/1.1\r\n" H "If-Modified-Since: d\r\n\r\n",
      .rc = HTTP1_DONE, .field = "If-Modified-Since", .value = "d" },
    { .name = "If-Unmodified-Since",
      .raw = "GET / HTTP/1.1\r\n" H "If-Unmodified-Since: d\r\n\r\n", .rc = HTTP1_DONE,
      .field = "If-Unmodified-Since", .value = "d" },
    { .name = "absent kept field", .raw = "GET / HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE,
      .field = "Range", .value = "" },
};

/* ---- limits: default 64-byte lines, 256-byte head, 8 fields ---- */

#define A16 "aaaaaaaaaaaaaaaa"
#define V8 "X: 12345\r\n" /* a 10-byte field line */

static const struct http1_limits limits_head_only = {
    .request_line_max_bytes = 1000,
    .field_line_max_bytes = 1000,
    .head_max_bytes = 40,
    .fields_max = 8,
};

static const struct http1_limits limits_fields_cap = {
    .request_line_max_bytes = 64,
    .field_line_max_bytes = 64,
    .head_max_bytes = 4096,
    .fields_max = 100, /* more than FIELDS_CAP: the array caps it */
};

static const struct head_case limit_cases[] = {
    /* request line: 5 + 50 + 9 = 64 bytes */
    { .name = "request line at the limit",
      .raw = "GET /" A16 A16 A16 "aa HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_DONE },
    { .name = "request line at the limit, bare LF",
      .raw = "GET /" A16 A16 A16 "aa HTTP/1.1\n" H "\r\n", .rc = HTTP1_DONE },
    { .name = "request line one past the limit",
      .raw = "GET /" A16 A16 A16 "aaa HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 414, .at = 65 },
    { .name = "414 before the line ends", .raw = "GET /" A16 A16 A16 A16 A16,
      .rc = HTTP1_ERROR, .status = 414, .at = 65 },
    { .name = "414 for a line of junk", .raw = A16 A16 A16 A16 A16, .rc = HTTP1_ERROR,
      .status = 414, .at = 65 },
    { .name = "leading CRLF shortens the request line limit",
      .raw = "\r\nGET /" A16 A16 A16 "aa HTTP/1.1\r\n" H "\r\n", .rc = HTTP1_ERROR,
      .status = 414, .at = 65 },
    /* field line: 4 + 60 = 64 bytes */
    { .name = "field line at the limit",
      .raw = "GET / HTTP/1.1\r\n" H "X: " A16 A16 A16 "aaaaaaaaaaaaa\r\n\r\n", .rc = HTTP1_DONE },
    { .name = "field line one past the limit",
      .raw = "GET / HTTP/1.1\r\n" H "X: " A16 A16 A16 "aaaaaaaaaaaaaa\r\n\r\n",
      .rc = HTTP1_ERROR, .status = 431, .at = 25 + 65 },
    { .name = "431 before the field line ends",
      .raw = "GET / HTTP/1.1\r\n" H "X: " A16 A16 A16 A16 A16, .rc = HTTP1_ERROR,
      .status = 431, .at = 25 + 65 },
    { .name = "eight fields", .raw = "GET / HTTP/1.1\r\n" H V8 V8 V8 V8 V8 V8 V8 "\r\n",
      .rc = HTTP1_DONE },
    { .name = "nine fields",
      .raw = "GET / HTTP/1.1\r\n" H V8 V8 V8 V8 V8 V8 V8 V8 "\r\n", .rc = HTTP1_ERROR,
      .status = 431, .at = 25 + 7 * 10 + 1 },
    { .name = "field count capped by the array",
      .raw = "GET / HTTP/1.1\r\n" H V8 V8 V8 V8 V8 V8 V8 V8 V8 V8 V8 V8 V8 V8 V8 V8 "\r\n",
      .limits = &limits_fields_cap, .rc = HTTP1_ERROR, .status = 431,
      .at = 25 + 15 * 10 + 1 },
    /* head: 16 + 9 + 13 + 2 = 40 */
    { .name = "head at the limit", .raw = "GET / HTTP/1.1\r\n" H "X: 12345678\r\n\r\n",
      .limits = &limits_head_only, .rc = HTTP1_DONE },
    { .name = "head one past the limit", .raw = "GET / HTTP/1.1\r\n" H "X: 123456789\r\n\r\n",
      .limits = &limits_head_only, .rc = HTTP1_ERROR, .status = 431, .at = 41 },
    { .name = "431 before the head ends", .raw = "GET / HTTP/1.1\r\n" H A16 A16,
      .limits = &limits_head_only, .rc = HTTP1_ERROR, .status = 431, .at = 41 },
};

/* ---- request-target bytes by class (RFC 9112 §3.2, RFC 3986) ----
 *
 * Each byte is tried in the path, in the query and in the Host field; what
 * is allowed comes from the RFC's sets written out here, not from the
 * parser's table, so the two are checked against each other. */

static const char rfc3986_unreserved[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
static const char rfc3986_sub_delims[] = "!$&'()*+,;=";

static bool byte_in(unsigned char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

static enum http1_rc parse_raw_req(const char *raw, size_t n, int *status,
                                   struct http1_request *req)
{
    struct http1_parser p;
    struct http1_header fields[FIELDS_CAP];
    struct head_result r;
    static const struct http1_limits limits = {
        .request_line_max_bytes = 256, .field_line_max_bytes = 256, .head_max_bytes = 1024,
        .fields_max = 8,
    };
    http1_parser_init(&p, &limits, fields, FIELDS_CAP);
    enum http1_rc rc = head_feed(&p, raw, n, &r);
    *status = p.status;
    if (req)
        *req = r.req;
    return rc;
}

static enum http1_rc parse_raw(const char *raw, size_t n, int *status)
{
    return parse_raw_req(raw, n, status, NULL);
}

static void check_byte(const char *where, unsigned c, const char *raw, size_t n, bool ok)
{
    int status = 0;
    enum http1_rc rc = parse_raw(raw, n, &status);
    if (ok ? rc != HTTP1_DONE : (rc != HTTP1_ERROR || status != 400)) {
        print_error("byte 0x%02x in the %s: rc %s status %d, want %s\n", c, where,
                    http1_rc_str(rc), status, ok ? "DONE" : "ERROR 400");
        fail();
    }
}

static void test_http1_target_bytes_by_class(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 256; c++) {
        char raw[64];
        unsigned char b = (unsigned char)c;
        bool pchar = byte_in(b, rfc3986_unreserved) || byte_in(b, rfc3986_sub_delims) ||
                     b == ':' || b == '@';
        /* the path: pchar and "/"; a '?' starts the query (fine); '%' is tested below */
        if (b != '%') {
            int n = snprintf(raw, sizeof raw, "GET /a%cb HTTP/1.1\r\nHost: h\r\n\r\n", 'X');
            raw[6] = (char)b;
            check_byte("path", c, raw, (size_t)n, pchar || b == '/' || b == '?');
        }
        /* the query: pchar, "/" and "?" */
        if (b != '%') {
            int n = snprintf(raw, sizeof raw, "GET /a?x%cy HTTP/1.1\r\nHost: h\r\n\r\n", 'X');
            raw[8] = (char)b;
            check_byte("query", c, raw, (size_t)n, pchar || b == '/' || b == '?');
        }
        /* the Host: a reg-name (unreserved, sub-delims but ',', pct-encoded), a
         * ':' before the port; SP and HTAB around the value are OWS */
        if (b != '%' && b != ':' && b != ' ' && b != '\t') {
            int n = snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: a%cb\r\n\r\n", 'X');
            raw[23] = (char)b;
            bool ok = byte_in(b, rfc3986_unreserved) || (byte_in(b, rfc3986_sub_delims) && b != ',');
            check_byte("Host", c, raw, (size_t)n, ok);
        }
    }
}

/* host_name_len: where the host name ends, before any port, for routing. */
static void test_http1_host_name_len(void **state)
{
    static const struct {
        const char *raw;
        uint32_t host_len, name_len;
    } cases[] = {
        { "GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", 14, 9 },
        { "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", 9, 9 },
        { "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 8, 5 },
        { "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", 2, 1 },
        { "GET http://b.example:81/ HTTP/1.1\r\nHost: x\r\n\r\n", 12, 9 },
        { "CONNECT c.example:443 HTTP/1.1\r\nHost: x\r\n\r\n", 13, 9 },
        { "GET / HTTP/1.0\r\n\r\n", 0, 0 },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http1_request req;
        int status = 0;
        assert_int_equal(parse_raw_req(cases[i].raw, strlen(cases[i].raw), &status, &req),
                         HTTP1_DONE);
        assert_int_equal(req.host.len, cases[i].host_len);
        assert_int_equal(req.host_name_len, cases[i].name_len);
    }
}

/* A '%' must start %XX: in the query the parser checks it, in the path the
 * decoder (uri.c) does, before routing; either way the answer is 400. */
static void test_http1_target_percent_escapes(void **state)
{
    static const struct {
        const char *target;
        bool ok;
    } cases[] = {
        { "/a%20b", true },  { "/a%2fb", true },   { "/?q=%41%42", true }, { "/?q=%", false },
        { "/?q=%4", false }, { "/?q=%4g", false }, { "/a%", false },       { "/a%zz", false },
        { "/%%41", false },  { "/?%41%", false },  { "http://h/%41", true }, { "http://h/%4", false },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char raw[128];
        int status = 0;
        int n = snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n",
                         cases[i].target);
        struct http1_request req;
        enum http1_rc rc = parse_raw_req(raw, (size_t)n, &status, &req);
        if (rc == HTTP1_DONE) {
            char path[128];
            size_t path_len;
            status = uri_decode_path(raw + req.path.off, req.path.len, path, sizeof path,
                                     &path_len);
            rc = status ? HTTP1_ERROR : HTTP1_DONE;
        }
        if (cases[i].ok ? rc != HTTP1_DONE : (rc != HTTP1_ERROR || status != 400)) {
            print_error("target \"%s\": rc %s status %d\n", cases[i].target, http1_rc_str(rc),
                        status);
            fail();
        }
    }
}

static void test_http1_parse_head_request_line(void **state)
{
    (void)state;
    RUN_TABLE(line_cases, head_run_table);
}

static void test_http1_parse_head_fields(void **state)
{
    (void)state;
    RUN_TABLE(field_cases, head_run_table);
}

static void test_http1_parse_head_host(void **state)
{
    (void)state;
    RUN_TABLE(host_cases, head_run_table);
}

static void test_http1_parse_head_framing(void **state)
{
    (void)state;
    RUN_TABLE(frame_cases, head_run_table);
}

static void test_http1_parse_head_options(void **state)
{
    (void)state;
    RUN_TABLE(option_cases, head_run_table);
}

static void test_http1_parse_head_limits(void **state)
{
    (void)state;
    RUN_TABLE(limit_cases, head_run_table);
}

/* ---- a head given in parts (http1_parts_*, as HTTP/2 builds requests) ----
 *
 * Every table case whose head is whole and written the one way parts stand for
 * ("METHOD SP target SP HTTP/1.1", CRLF line ends, each field "name: value",
 * nothing after the head) is given again as parts: the verdict, the status and
 * the request must be the same as for the text. */

/* The parts of c's head, in a fresh exact-size buffer: an LF at offset 0 (no
 * slice starts there), then the method, the target and each name and value,
 * every string but a name followed by an LF. NULL if c is not written so. */
static char *parts_of(const struct head_case *c, struct http1_slice *method,
                      struct http1_slice *target, struct http1_header *fields, size_t cap,
                      size_t *count)
{
    size_t n = head_len(c);
    const char *raw = c->raw, *end = raw + n;
    if (c->raw_len || c->tail || n < 4 || memcmp(end - 4, "\r\n\r\n", 4) != 0)
        return NULL;
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    size_t len = 0;
    buf[len++] = '\n';
    const char *line = raw;
    *count = 0;
    for (bool first = true; line < end - 2; first = false) {
        const char *eol = strstr(line, "\r\n");
        if (!eol || memchr(line, '\r', (size_t)(eol - line)) || memchr(line, '\n', (size_t)(eol - line)))
            goto skip;
        size_t ll = (size_t)(eol - line);
        if (first) {
            const char *sp = memchr(line, ' ', ll);
            if (!sp || ll < 9 || memcmp(eol - 9, " HTTP/1.1", 9) != 0 || sp > eol - 9)
                goto skip;
            *method = (struct http1_slice){ (uint32_t)len, (uint32_t)(sp - line) };
            memcpy(buf + len, line, method->len);
            len += method->len;
            buf[len++] = '\n';
            const char *t = sp + 1;
            size_t tl = (size_t)(eol - 9 - t);
            if (memchr(t, ' ', tl))
                goto skip;
            *target = (struct http1_slice){ (uint32_t)len, (uint32_t)tl };
            memcpy(buf + len, t, tl);
            len += tl;
            buf[len++] = '\n';
        } else {
            const char *colon = memchr(line, ':', ll);
            if (!colon || colon + 1 == eol || colon[1] != ' ' || *count == cap)
                goto skip;
            struct http1_header *f = &fields[(*count)++];
            f->name = (struct http1_slice){ (uint32_t)len, (uint32_t)(colon - line) };
            memcpy(buf + len, line, f->name.len);
            len += f->name.len;
            size_t vl = (size_t)(eol - colon - 2);
            f->value = (struct http1_slice){ (uint32_t)len, (uint32_t)vl };
            memcpy(buf + len, colon + 2, vl);
            len += vl;
            buf[len++] = '\n';
        }
        line = eol + 2;
    }
    if (line != end - 2)
        goto skip;
    return buf;
skip:
    free(buf);
    return NULL;
}

static size_t parts_compared;
/* Cases of the tables written as parts stand for: 142 when this test was written. */
#define PARTS_CASES_MIN 140

static void parts_agree_with_text(const struct head_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct head_case *c = &cases[i];
        struct http1_header raw_fields[FIELDS_CAP * 2], fields[FIELDS_CAP];
        struct http1_slice method, target;
        size_t nfields;
        char *buf = parts_of(c, &method, &target, raw_fields, FIELDS_CAP * 2, &nfields);
        if (!buf)
            continue;
        size_t n = head_len(c);
        struct head_result text;
        head_run(c, &n, 1, &text);

        struct http1_parser p;
        struct http1_request req;
        size_t used = 0;
        http1_parser_init(&p, c->limits ? c->limits : &head_limits_default, fields, FIELDS_CAP);
        enum http1_rc rc = http1_parts_request_line(&p, buf, method, target);
        for (size_t k = 0; k < nfields && rc == HTTP1_AGAIN; k++)
            rc = http1_parts_field(&p, buf, raw_fields[k].name, raw_fields[k].value);
        if (rc == HTTP1_AGAIN)
            rc = http1_parts_end(&p, buf, &req, &used);
        if (rc != text.rc || (rc == HTTP1_ERROR && p.status != text.status)) {
            print_error("case \"%s\": parts %s %d (%s), text %s %d (%s)\n", c->name,
                        http1_rc_str(rc), p.status, p.reason ? p.reason : "",
                        http1_rc_str(text.rc), text.status, text.reason ? text.reason : "");
            fail();
        }
        if (rc == HTTP1_DONE) {
            const struct http1_request *t = &text.req;
            assert_int_equal(used, n);
            assert_int_equal(req.method, t->method);
            assert_int_equal(req.target_is_asterisk, t->target_is_asterisk);
            assert_int_equal(req.version_minor, t->version_minor);
            assert_int_equal(req.framing, t->framing);
            assert_true(req.content_length == t->content_length);
            assert_int_equal(req.conn_close, t->conn_close);
            assert_int_equal(req.conn_keep_alive, t->conn_keep_alive);
            assert_int_equal(req.expect_continue, t->expect_continue);
            assert_int_equal(req.expect_unknown, t->expect_unknown);
            assert_int_equal(req.host_name_len, t->host_name_len);
            assert_int_equal(req.field_count, t->field_count);
            struct {
                struct http1_slice a, b;
            } same[] = { { req.method_token, t->method_token }, { req.target, t->target },
                         { req.path, t->path }, { req.query, t->query },
                         { req.host, t->host }, { req.range, t->range },
                         { req.authorization, t->authorization },
                         { req.user_agent, t->user_agent } };
            for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
                assert_int_equal(same[k].a.len, same[k].b.len);
                assert_memory_equal(buf + same[k].a.off, c->raw + same[k].b.off, same[k].a.len);
            }
            for (uint32_t k = 0; k < req.field_count; k++) {
                const struct http1_header *a = &req.fields[k], *b = &text.fields[k];
                assert_int_equal(a->name.len, b->name.len);
                assert_memory_equal(buf + a->name.off, c->raw + b->name.off, a->name.len);
                assert_int_equal(a->value.len, b->value.len);
                assert_memory_equal(buf + a->value.off, c->raw + b->value.off, a->value.len);
            }
        }
        free(buf);
        parts_compared++;
    }
}

static void test_http1_parts_agree_with_text(void **state)
{
    (void)state;
    RUN_TABLE(line_cases, parts_agree_with_text);
    RUN_TABLE(field_cases, parts_agree_with_text);
    RUN_TABLE(host_cases, parts_agree_with_text);
    RUN_TABLE(frame_cases, parts_agree_with_text);
    RUN_TABLE(option_cases, parts_agree_with_text);
    RUN_TABLE(limit_cases, parts_agree_with_text);
    print_message("%zu cases given as parts too\n", parts_compared);
    assert_true(parts_compared >= PARTS_CASES_MIN); /* the tables are not all skipped */
}

/* Every field line is recorded in order, name and value as slices. */
static void test_http1_parse_head_records_fields(void **state)
{
    static const char raw[] = "GET / HTTP/1.1\r\nHost: a\r\nX-One:  1 \r\nx-two:\r\n\r\n";
    struct http1_header fields[FIELDS_CAP];
    struct http1_parser p;
    struct http1_request req;
    size_t used;

    (void)state;
    http1_parser_init(&p, &head_limits_default, fields, FIELDS_CAP);
    assert_int_equal(http1_parse_head(&p, raw, sizeof raw - 1, &req, &used), HTTP1_DONE);
    assert_int_equal(req.field_count, 3);
    assert_ptr_equal(req.fields, fields);
    assert_true(http1_slice_equals(raw, fields[0].name, "Host"));
    assert_true(http1_slice_equals(raw, fields[0].value, "a"));
    assert_true(http1_slice_equals(raw, fields[1].name, "X-One"));
    assert_true(http1_slice_equals(raw, fields[1].value, "1"));
    assert_true(http1_slice_equals(raw, fields[2].name, "x-two"));
    assert_int_equal(fields[2].value.len, 0);
    assert_true(http1_slice_equals(raw, req.method_token, "GET"));
}

/* An error is final: more bytes do not revive the parser. */
static void test_http1_parse_head_error_is_sticky(void **state)
{
    static const char raw[] = "GET / HTTP/1.1\r\nHost : a\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n";
    struct http1_header fields[FIELDS_CAP];
    struct http1_parser p;
    struct http1_request req;
    size_t used = 99;

    (void)state;
    http1_parser_init(&p, &head_limits_default, fields, FIELDS_CAP);
    assert_int_equal(http1_parse_head(&p, raw, 27, &req, &used), HTTP1_ERROR);
    assert_int_equal(p.status, 400);
    assert_string_equal(p.reason, "space before colon");
    assert_int_equal(http1_parse_head(&p, raw, sizeof raw - 1, &req, &used), HTTP1_ERROR);
    assert_int_equal(used, 0);
}

/* The parser keeps offsets, so a long head fed a byte at a time costs each byte a
 * bounded number of looks: p->scanned follows the input and is never reset. */
static void test_http1_parse_head_resumes_after_scanned(void **state)
{
    static const struct http1_limits big = {
        .request_line_max_bytes = 8192,
        .field_line_max_bytes = 8192,
        .head_max_bytes = 65536,
        .fields_max = 8,
    };
    struct http1_header fields[FIELDS_CAP];
    struct http1_parser p;
    struct http1_request req;
    size_t used, len = 0;
    char *raw = malloc(20000);

    (void)state;
    assert_non_null(raw);
    len += (size_t)sprintf(raw, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    memset(raw + len, 'v', 8000);
    len += 8000;
    len += (size_t)sprintf(raw + len, "\r\n\r\n");

    http1_parser_init(&p, &big, fields, FIELDS_CAP);
    for (size_t k = 1; k < len; k++) {
        assert_int_equal(http1_parse_head(&p, raw, k, &req, &used), HTTP1_AGAIN);
        assert_int_equal(p.scanned, k);
    }
    assert_int_equal(http1_parse_head(&p, raw, len, &req, &used), HTTP1_DONE);
    assert_int_equal(used, len);
    assert_int_equal(req.fields[1].value.len, 8000);
    free(raw);
}

static void test_http1_wants_keep_alive_table(void **state)
{
    static const struct {
        uint8_t minor;
        bool close, keep_alive, want;
    } cases[] = {
        { 1, false, false, true },  { 1, true, false, false }, { 1, false, true, true },
        { 1, true, true, false },   { 0, false, false, false }, { 0, false, true, true },
        { 0, true, true, false },   { 9, false, false, true },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http1_request req;
        memset(&req, 0, sizeof req);
        req.version_minor = cases[i].minor;
        req.conn_close = cases[i].close;
        req.conn_keep_alive = cases[i].keep_alive;
        if (http1_wants_keep_alive(&req) != cases[i].want) {
            print_error("case %zu: HTTP/1.%u close=%d keep-alive=%d\n", i, cases[i].minor,
                        cases[i].close, cases[i].keep_alive);
            fail();
        }
    }
}

static void test_http1_method_name_all(void **state)
{
    (void)state;
    assert_string_equal(http1_method_name(HTTP1_METHOD_GET), "GET");
    assert_string_equal(http1_method_name(HTTP1_METHOD_OPTIONS), "OPTIONS");
    assert_string_equal(http1_method_name(HTTP1_METHOD_PATCH), "PATCH");
    assert_string_equal(http1_method_name(HTTP1_METHOD_OTHER), "OTHER");
    assert_string_equal(http1_method_name(HTTP1_METHOD_COUNT), "OTHER");
}

static void test_http1_slice_equals_cases(void **state)
{
    static const char buf[] = "xContent-Lengthy";
    struct http1_slice s = { 1, 14 };
    (void)state;
    assert_true(http1_slice_equals(buf, s, "content-length"));
    assert_true(http1_slice_equals(buf, s, "CONTENT-LENGTH"));
    assert_false(http1_slice_equals(buf, s, "content-lengt"));
    assert_false(http1_slice_equals(buf, s, "content-lengthy"));
    assert_false(http1_slice_equals(buf, s, "content_length"));
    assert_true(http1_slice_equals(buf, (struct http1_slice){ 0, 0 }, ""));
}

/* ---- chunked decoder ---- */

struct chunk_case {
    const char *name;
    const char *raw;
    size_t raw_len;      /* 0: strlen(raw) */
    enum http1_rc rc;
    int status;          /* on HTTP1_ERROR */
    const char *body;    /* decoded data (on DONE or AGAIN: all of it so far) */
    size_t tail;         /* on HTTP1_DONE: bytes after the body */
    const char *reason;  /* on HTTP1_ERROR, if set: d->reason */
};

#define CHUNK_LINE_MAX 24
#define CHUNK_TRAILER_MAX 40

struct chunk_result {
    enum http1_rc rc;
    int status;
    const char *reason;
    size_t consumed;
    char body[256];
    size_t body_len;
    char fields[256];    /* the trailer field-line spans, concatenated */
    size_t fields_len;
};

/* Give the decoder raw[0..ends[k]) piece by piece, each piece (the unconsumed
 * bytes) in a fresh exact-length allocation, looping while it consumes. */
static void chunk_run(const struct chunk_case *c, const size_t *ends, size_t n_ends,
                      struct chunk_result *r)
{
    struct http1_chunked d;
    size_t pos = 0;

    memset(r, 0, sizeof *r);
    r->rc = HTTP1_AGAIN;
    http1_chunked_init(&d, CHUNK_LINE_MAX, CHUNK_TRAILER_MAX);
    for (size_t k = 0; k < n_ends && r->rc == HTTP1_AGAIN; k++) {
        while (r->rc == HTTP1_AGAIN && pos < ends[k]) {
            size_t n = ends[k] - pos, used = 0, off = 0, dlen = 0;
            char *in = malloc(n);
            assert_non_null(in);
            memcpy(in, c->raw + pos, n);
            r->rc = http1_chunked_decode(&d, in, n, &used, &off, &dlen);
            assert_true(used <= n);
            if (dlen > 0) {
                assert_true(off + dlen <= used);
                assert_true(r->body_len + dlen <= sizeof r->body);
                memcpy(r->body + r->body_len, in + off, dlen);
                r->body_len += dlen;
            }
            if (d.fields_len > 0) {
                assert_true(d.fields_off + d.fields_len <= used);
                assert_true(r->fields_len + d.fields_len <= sizeof r->fields);
                memcpy(r->fields + r->fields_len, in + d.fields_off, d.fields_len);
                r->fields_len += d.fields_len;
            }
            free(in);
            /* no progress is only allowed when it has stopped */
            if (r->rc == HTTP1_AGAIN)
                assert_true(used > 0);
            pos += used;
        }
    }
    r->consumed = pos;
    r->status = d.status;
    r->reason = d.reason;
}

static void chunk_check(const struct chunk_case *c, const char *mode,
                        const struct chunk_result *r)
{
    size_t len = c->raw_len ? c->raw_len : strlen(c->raw);

    if (r->rc != c->rc || (c->rc == HTTP1_ERROR && r->status != c->status)) {
        print_error("case \"%s\" (%s): %s %d (%s), want %s %d\n", c->name, mode,
                    http1_rc_str(r->rc), r->status, r->reason ? r->reason : "-",
                    http1_rc_str(c->rc), c->status);
        fail();
    }
    if (c->rc == HTTP1_ERROR) {
        assert_non_null(r->reason);
        if (c->reason && strcmp(r->reason, c->reason) != 0) {
            print_error("case \"%s\" (%s): reason \"%s\", want \"%s\"\n", c->name, mode,
                        r->reason, c->reason);
            fail();
        }
        return;
    }
    if (c->body && (r->body_len != strlen(c->body) || memcmp(r->body, c->body, r->body_len))) {
        print_error("case \"%s\" (%s): body \"%.*s\", want \"%s\"\n", c->name, mode,
                    (int)r->body_len, r->body, c->body);
        fail();
    }
    if (c->rc == HTTP1_DONE && r->consumed != len - c->tail) {
        print_error("case \"%s\" (%s): consumed %zu, want %zu\n", c->name, mode, r->consumed,
                    len - c->tail);
        fail();
    }
}

static void chunk_run_case(const struct chunk_case *c)
{
    size_t len = c->raw_len ? c->raw_len : strlen(c->raw);
    size_t *ends = malloc((len ? len : 1) * sizeof *ends);
    struct chunk_result r;
    char mode[48];

    assert_non_null(ends);
    ends[0] = len;
    chunk_run(c, ends, 1, &r);
    chunk_check(c, "whole", &r);

    for (size_t k = 0; k < len; k++)
        ends[k] = k + 1;
    chunk_run(c, ends, len, &r);
    chunk_check(c, "byte at a time", &r);

    for (size_t s = 1; s < len; s++) {
        ends[0] = s;
        ends[1] = len;
        chunk_run(c, ends, 2, &r);
        snprintf(mode, sizeof mode, "split at %zu", s);
        chunk_check(c, mode, &r);
    }
    free(ends);
}

static void chunk_run_table(const struct chunk_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++)
        chunk_run_case(&cases[i]);
}

#define NEXT "GET /nope HTTP/1.1\r\n"

static const struct chunk_case chunk_cases[] = {
    { "basic", "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n" NEXT, 0, HTTP1_DONE, 0, "helloworld",
      20, NULL },
    { "empty body", "0\r\n\r\n", 0, HTTP1_DONE, 0, "", 0, NULL },
    { "uppercase and lowercase hex", "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", 0,
      HTTP1_DONE, 0, "0123456789abcdefghij", 0, NULL },
    { "leading zeros", "0005\r\nhello\r\n000\r\n\r\n", 0, HTTP1_DONE, 0, "hello", 0, NULL },
    { "20 digits, 16 significant", "0000ffffffffffffffff\r\nab", 0, HTTP1_AGAIN, 0, "ab", 0, NULL },
    { "binary data", CBYTES("3\r\n\r\n\0\r\n0\r\n\r\n"), HTTP1_DONE, 0, NULL, 0, NULL },
    { "extension without value", "5;name\r\nhello\r\n0;done\r\n\r\n", 0, HTTP1_DONE, 0,
      "hello", 0, NULL },
    { "extension with token value", "5;name=value\r\nhello\r\n0\r\n\r\n", 0, HTTP1_DONE, 0,
      "hello", 0, NULL },
    { "extension with quoted value", "5;n=\"a \\\" ;b\"\r\nhello\r\n0\r\n\r\n", 0, HTTP1_DONE,
      0, "hello", 0, NULL },
    { "several extensions, BWS", "5 ; a = 1 ;b;c=\"\"\r\nhello\r\n0\r\n\r\n", 0,
      HTTP1_DONE, 0, "hello", 0, NULL },
    { "trailer fields", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-B:\r\n\r\n" NEXT, 0,
      HTTP1_DONE, 0, "hello", 20, NULL },
    { "missing final CRLF waits", "5\r\nhello\r\n0\r\n", 0, HTTP1_AGAIN, 0, "hello", 0, NULL },
    { "partial chunk data", "a\r\nhello", 0, HTTP1_AGAIN, 0, "hello", 0, NULL },
    { "request line where a trailer is expected", "5\r\nhello\r\n0\r\n" NEXT "\r\n", 0,
      HTTP1_ERROR, 400, NULL, 0, NULL },

    { "bare LF after size", "5\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "CR without LF after size", "5\rhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "empty size", "\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "not hex", "zz\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "sign", "+5\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "space before size", " 5\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "space after size without extension", "5 \r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400,
      NULL, 0, NULL },
    { "17 significant digits overflow", "10000000000000000\r\n", 0, HTTP1_ERROR, 413, NULL,
      0, NULL },
    { "20 digits overflow", "ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 413,
      NULL, 0, NULL },
    { "data longer than size", "5\r\nhelloXX\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0,
      "chunk data longer than its size" },
    { "data shorter than size", "8\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0,
      NULL },
    { "LF only after data", "5\r\nhello\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0,
      "chunk data longer than its size" },
    { "CR without LF after data", "5\r\nhello\rX0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0,
      "CR not followed by LF after chunk data" },
    { "extension without name", "5;\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "extension without value after =", "5;a=\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400,
      NULL, 0, NULL },
    { "extension name not a token", "5;a@b\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL,
      0, NULL },
    { "extension trailing space", "5;a \r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400, NULL,
      0, NULL },
    { "extension unterminated quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400,
      NULL, 0, NULL },
    { "extension junk after quote", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", 0, HTTP1_ERROR, 400,
      NULL, 0, NULL },
    { "size line too long", "5;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nhello\r\n0\r\n\r\n", 0,
      HTTP1_ERROR, 400, NULL, 0, NULL },
    { "trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "trailer space before colon", "0\r\nX : a\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "trailer empty name", "0\r\n: a\r\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "trailer NUL in value", CBYTES("0\r\nX: a\0\r\n\r\n"), HTTP1_ERROR, 400, NULL, 0, NULL },
    { "trailer bare LF", "0\r\nX: a\n\r\n", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
    { "trailer section too long",
      "0\r\nX: aaaaaaaaaaaaaaaaaaaa\r\nY: bbbbbbbbbbbbbbbbbbbb\r\n\r\n", 0, HTTP1_ERROR, 400,
      NULL, 0, NULL },
    { "final CR without LF", "0\r\n\rX", 0, HTTP1_ERROR, 400, NULL, 0, NULL },
};

static void test_http1_chunked_decode_cases(void **state)
{
    (void)state;
    RUN_TABLE(chunk_cases, chunk_run_table);
}

/* One data span per call: the first call stops after "hello". */
static void test_http1_chunked_decode_one_span_per_call(void **state)
{
    static const char raw[] = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\nX";
    struct http1_chunked d;
    size_t used, off, n;

    (void)state;
    http1_chunked_init(&d, CHUNK_LINE_MAX, CHUNK_TRAILER_MAX);
    assert_int_equal(http1_chunked_decode(&d, raw, sizeof raw - 1, &used, &off, &n),
                     HTTP1_AGAIN);
    assert_int_equal(off, 3);
    assert_int_equal(n, 5);
    assert_int_equal(used, 8);
    assert_int_equal(http1_chunked_decode(&d, raw + 8, sizeof raw - 9, &used, &off, &n),
                     HTTP1_AGAIN);
    assert_int_equal(off, 5);
    assert_int_equal(n, 5);
    assert_int_equal(used, 10);
    assert_int_equal(http1_chunked_decode(&d, raw + 18, sizeof raw - 19, &used, &off, &n),
                     HTTP1_DONE);
    assert_int_equal(n, 0);
    assert_int_equal(used, 7);
    /* done is final, and consumes nothing more */
    assert_int_equal(http1_chunked_decode(&d, raw + 25, 1, &used, &off, &n), HTTP1_DONE);
    assert_int_equal(used, 0);
}

/* A chunk larger than what is buffered comes out piece by piece, without
 * overflow at the top of the 64-bit range. */
static void test_http1_chunked_decode_max_size(void **state)
{
    static const char raw[] = "ffffffffffffffff\r\nabc";
    struct http1_chunked d;
    size_t used, off, n;

    (void)state;
    http1_chunked_init(&d, CHUNK_LINE_MAX, CHUNK_TRAILER_MAX);
    assert_int_equal(http1_chunked_decode(&d, raw, sizeof raw - 1, &used, &off, &n),
                     HTTP1_AGAIN);
    assert_int_equal(n, 3);
    assert_int_equal(used, sizeof raw - 1);
    assert_true(d.chunk_left == UINT64_MAX - 3);
}

static void test_http1_chunked_decode_error_is_sticky(void **state)
{
    struct http1_chunked d;
    size_t used, off, n;

    (void)state;
    http1_chunked_init(&d, CHUNK_LINE_MAX, CHUNK_TRAILER_MAX);
    assert_int_equal(http1_chunked_decode(&d, "x", 1, &used, &off, &n), HTTP1_ERROR);
    assert_int_equal(d.status, 400);
    assert_int_equal(http1_chunked_decode(&d, "0\r\n\r\n", 5, &used, &off, &n), HTTP1_ERROR);
    assert_int_equal(used, 0);
}

/* The trailer field lines come out span by span, and concatenated they are
 * the section without its final CRLF, however the input is split. */
static const struct {
    const char *raw, *fields;
} trailer_span_cases[] = {
    { "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-B:\r\n\r\n" NEXT,
      "X-Checksum: abc\r\nX-B:\r\n" },
    { "0\r\ngrpc-status: 0\r\n\r\n", "grpc-status: 0\r\n" },
    { "0;ext=1\r\nA:  spaced value \t\r\n\r\n", "A:  spaced value \t\r\n" },
    { "3\r\nabc\r\n0\r\n\r\n", "" },
};

static void test_http1_chunked_decode_trailer_spans(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof trailer_span_cases / sizeof trailer_span_cases[0]; i++) {
        const char *raw = trailer_span_cases[i].raw, *want = trailer_span_cases[i].fields;
        struct chunk_case c = { .name = raw, .raw = raw };
        size_t len = strlen(raw), ends[2];
        struct chunk_result r;
        for (size_t split = 0; split < len; split++) {
            ends[0] = split ? split : len;
            ends[1] = len;
            chunk_run(&c, ends, split ? 2 : 1, &r);
            assert_int_equal(r.rc, HTTP1_DONE);
            if (r.fields_len != strlen(want) || memcmp(r.fields, want, r.fields_len) != 0) {
                print_error("case %zu split at %zu: fields \"%.*s\", want \"%s\"\n", i, split,
                            (int)r.fields_len, r.fields, want);
                fail();
            }
        }
        size_t *bytes = malloc(len * sizeof *bytes);
        assert_non_null(bytes);
        for (size_t k = 0; k < len; k++)
            bytes[k] = k + 1;
        chunk_run(&c, bytes, len, &r);
        free(bytes);
        assert_int_equal(r.fields_len, strlen(want));
        assert_memory_equal(r.fields, want, r.fields_len);
    }
}

/* http1_trailer_next walks gathered field lines: names as sent, values
 * trimmed, an empty value kept. */
static void test_http1_trailer_next_lines(void **state)
{
    static const char block[] = "X-Checksum: abc\r\nB:\r\nC:\t v w \r\n";
    struct http1_slice name, value;
    size_t at = 0;

    (void)state;
    assert_true(http1_trailer_next(block, sizeof block - 1, &at, &name, &value));
    assert_true(http1_slice_equals(block, name, "x-checksum"));
    assert_int_equal(value.len, 3);
    assert_memory_equal(block + value.off, "abc", 3);
    assert_true(http1_trailer_next(block, sizeof block - 1, &at, &name, &value));
    assert_true(http1_slice_equals(block, name, "b"));
    assert_int_equal(value.len, 0);
    assert_true(http1_trailer_next(block, sizeof block - 1, &at, &name, &value));
    assert_true(http1_slice_equals(block, name, "c"));
    assert_int_equal(value.len, 3);
    assert_memory_equal(block + value.off, "v w", 3);
    assert_false(http1_trailer_next(block, sizeof block - 1, &at, &name, &value));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http1_parse_head_request_line),
        cmocka_unit_test(test_http1_parse_head_fields),
        cmocka_unit_test(test_http1_parse_head_host),
        cmocka_unit_test(test_http1_target_bytes_by_class),
        cmocka_unit_test(test_http1_target_percent_escapes),
        cmocka_unit_test(test_http1_host_name_len),
        cmocka_unit_test(test_http1_parse_head_framing),
        cmocka_unit_test(test_http1_parse_head_options),
        cmocka_unit_test(test_http1_parse_head_limits),
        cmocka_unit_test(test_http1_parse_head_records_fields),
        cmocka_unit_test(test_http1_parts_agree_with_text),
        cmocka_unit_test(test_http1_parse_head_error_is_sticky),
        cmocka_unit_test(test_http1_parse_head_resumes_after_scanned),
        cmocka_unit_test(test_http1_wants_keep_alive_table),
        cmocka_unit_test(test_http1_method_name_all),
        cmocka_unit_test(test_http1_slice_equals_cases),
        cmocka_unit_test(test_http1_chunked_decode_cases),
        cmocka_unit_test(test_http1_chunked_decode_one_span_per_call),
        cmocka_unit_test(test_http1_chunked_decode_max_size),
        cmocka_unit_test(test_http1_chunked_decode_error_is_sticky),
        cmocka_unit_test(test_http1_chunked_decode_trailer_spans),
        cmocka_unit_test(test_http1_trailer_next_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
