/* Unit tests for proxy_response.c: the upstream response-head parser.
 *
 * Each case runs whole, as growing prefixes (one byte more per call, the
 * parser resuming) and split at every offset; each call gets an allocation of
 * exactly the bytes it may read, so an over-read trips ASan.
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

#include "proxy_response.h"

#define FIELDS_MAX 8
#define HEAD_MAX 256

struct resp_case {
    const char *name;
    const char *raw;
    bool head_request;
    enum http1_rc rc;
    int status;
    enum proxy_body body;
    uint64_t content_length;
    bool conn_close;
    uint32_t field_count;
};

static const struct resp_case resp_cases[] = {
    { "length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, HTTP1_DONE, 200,
      PROXY_BODY_LENGTH, 5, false, 1 },
    { "chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, HTTP1_DONE,
      200, PROXY_BODY_CHUNKED, 0, false, 1 },
    { "until close", "HTTP/1.1 200 OK\r\nX-A: b\r\n\r\n", false, HTTP1_DONE, 200,
      PROXY_BODY_UNTIL_CLOSE, 0, false, 1 },
    { "no reason phrase", "HTTP/1.1 204\r\n\r\n", false, HTTP1_DONE, 204, PROXY_BODY_NONE, 0,
      false, 0 },
    { "empty reason phrase", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", false, HTTP1_DONE,
      404, PROXY_BODY_LENGTH, 0, false, 1 },
    { "304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", false,
      HTTP1_DONE, 304, PROXY_BODY_NONE, 9, false, 1 },
    { "HEAD has no body", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true, HTTP1_DONE,
      200, PROXY_BODY_NONE, 9, false, 1 },
    { "100 continue", "HTTP/1.1 100 Continue\r\n\r\n", false, HTTP1_DONE, 100,
      PROXY_BODY_NONE, 0, false, 0 },
    { "1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, HTTP1_DONE, 200,
      PROXY_BODY_LENGTH, 1, true, 1 },
    { "1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n",
      false, HTTP1_DONE, 200, PROXY_BODY_LENGTH, 1, false, 2 },
    { "connection close in a list", "HTTP/1.1 200 OK\r\nConnection: foo, close\r\n"
      "Content-Length: 0\r\n\r\n", false, HTTP1_DONE, 200, PROXY_BODY_LENGTH, 0, true, 2 },
    { "same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
      false, HTTP1_DONE, 200, PROXY_BODY_LENGTH, 3, false, 2 },
    { "value OWS trimmed", "HTTP/1.1 200 OK\r\nContent-Length: \t7 \r\n\r\n", false, HTTP1_DONE,
      200, PROXY_BODY_LENGTH, 7, false, 1 },

    { "CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
      false, HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "differing lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
      false, HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "length list", "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", false, HTTP1_ERROR, 0,
      0, 0, false, 0 },
    { "signed length", "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n", false, HTTP1_ERROR, 0,
      0, 0, false, 0 },
    { "huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", false,
      HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false,
      HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "TE twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
      "Transfer-Encoding: chunked\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "TE in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false,
      HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "obs-fold", "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 0\r\n\r\n", false,
      HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", false,
      HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0,
      false, 0 },
    { "bare CR in value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0,
      false, 0 },
    { "control byte in value", "HTTP/1.1 200 OK\r\nX-A: a\x01" "b\r\n\r\n", false,
      HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "two-digit status", "HTTP/1.1 20 OK\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "status 600", "HTTP/1.1 600 X\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "status then junk", "HTTP/1.1 200OK\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "leading empty line", "\r\nHTTP/1.1 200 OK\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0,
      false, 0 },
    { "empty name", "HTTP/1.1 200 OK\r\n: v\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "too many fields", "HTTP/1.1 200 OK\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\n"
      "G: 1\r\nH: 1\r\nI: 1\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0, false, 0 },
    { "head too large", "HTTP/1.1 200 OK\r\nX-Long: "
      "0123456789012345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789\r\n\r\n", false, HTTP1_ERROR, 0, 0, 0, false,
      0 },
};

/* Feed raw[0..n) as a fresh exact-size allocation. */
static enum http1_rc resp_feed(struct proxy_response_parser *p, const char *raw, size_t n,
                               struct proxy_response *r, size_t *used)
{
    char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    memcpy(buf, raw, n);
    enum http1_rc rc = proxy_response_parse(p, buf, n, r, used);
    /* Slices stay valid for the checks below only as offsets: keep nothing. */
    free(buf);
    return rc;
}

static void resp_check(const struct resp_case *tc, enum http1_rc rc,
                       const struct proxy_response *r, size_t used, const char *how)
{
    if (rc != tc->rc)
        fail_msg("%s (%s): rc %d, expected %d", tc->name, how, rc, tc->rc);
    if (rc != HTTP1_DONE)
        return;
    if (used != strlen(tc->raw) || r->status != tc->status || r->body != tc->body ||
        r->content_length != tc->content_length || r->conn_close != tc->conn_close ||
        r->field_count != tc->field_count)
        fail_msg("%s (%s): status %d body %d length %llu close %d fields %u used %zu", tc->name,
                 how, r->status, r->body, (unsigned long long)r->content_length, r->conn_close,
                 r->field_count, used);
}

static void test_proxy_response_parse_whole(void **state)
{
    (void)state;
    struct http1_header fields[FIELDS_MAX];
    for (size_t i = 0; i < sizeof resp_cases / sizeof resp_cases[0]; i++) {
        const struct resp_case *tc = &resp_cases[i];
        struct proxy_response_parser p;
        struct proxy_response r;
        size_t used = 0;
        proxy_response_init(&p, HEAD_MAX, fields, FIELDS_MAX, tc->head_request);
        enum http1_rc rc = resp_feed(&p, tc->raw, strlen(tc->raw), &r, &used);
        resp_check(tc, rc, &r, used, "whole");
        if (rc == HTTP1_ERROR && p.reason == NULL)
            fail_msg("%s: an error without a reason", tc->name);
    }
}

static void test_proxy_response_parse_bytewise(void **state)
{
    (void)state;
    struct http1_header fields[FIELDS_MAX];
    for (size_t i = 0; i < sizeof resp_cases / sizeof resp_cases[0]; i++) {
        const struct resp_case *tc = &resp_cases[i];
        struct proxy_response_parser p;
        struct proxy_response r;
        size_t used = 0, len = strlen(tc->raw);
        proxy_response_init(&p, HEAD_MAX, fields, FIELDS_MAX, tc->head_request);
        enum http1_rc rc = HTTP1_AGAIN;
        for (size_t n = 1; n <= len && rc == HTTP1_AGAIN; n++)
            rc = resp_feed(&p, tc->raw, n, &r, &used);
        resp_check(tc, rc, &r, used, "bytewise");
    }
}

static void test_proxy_response_parse_split(void **state)
{
    (void)state;
    struct http1_header fields[FIELDS_MAX];
    for (size_t i = 0; i < sizeof resp_cases / sizeof resp_cases[0]; i++) {
        const struct resp_case *tc = &resp_cases[i];
        size_t len = strlen(tc->raw);
        for (size_t at = 1; at < len; at++) {
            struct proxy_response_parser p;
            struct proxy_response r;
            size_t used = 0;
            proxy_response_init(&p, HEAD_MAX, fields, FIELDS_MAX, tc->head_request);
            enum http1_rc rc = resp_feed(&p, tc->raw, at, &r, &used);
            if (rc == HTTP1_AGAIN)
                rc = resp_feed(&p, tc->raw, len, &r, &used);
            resp_check(tc, rc, &r, used, "split");
        }
    }
}

static void test_proxy_response_parse_body_after_head(void **state)
{
    (void)state;
    static const char raw[] = "HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\n\r\nnope";
    struct http1_header fields[FIELDS_MAX];
    struct proxy_response_parser p;
    struct proxy_response r;
    size_t used = 0;
    proxy_response_init(&p, HEAD_MAX, fields, FIELDS_MAX, false);
    assert_int_equal(proxy_response_parse(&p, raw, sizeof raw - 1, &r, &used), HTTP1_DONE);
    assert_int_equal(used, sizeof raw - 1 - 4);
    assert_int_equal(r.status, 413);
    assert_true(http1_slice_equals(raw, r.fields[0].name, "content-length"));
    assert_int_equal(r.fields[0].value.len, 1);
    assert_int_equal(raw[r.fields[0].value.off], '4');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_response_parse_whole),
        cmocka_unit_test(test_proxy_response_parse_bytewise),
        cmocka_unit_test(test_proxy_response_parse_split),
        cmocka_unit_test(test_proxy_response_parse_body_after_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
