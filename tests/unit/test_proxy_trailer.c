/* Unit tests for proxy_trailer.c: the bounded copy of a trailer section,
 * which fields are relayed, and the section as it is sent on (bare lines
 * for HTTP/2, HTTP/1.1's last chunk).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy_trailer.h"

/* Pieces of lines, as the chunked decoder hands them out, make one copy;
 * nothing is allocated before the first byte; past the cap nothing is
 * added. */
static void test_proxy_trailer_add_pieces_and_cap(void **state)
{
    (void)state;
    struct proxy_trailer t = { 0 };
    assert_null(t.lines);
    assert_int_equal(proxy_trailer_add(&t, "grpc-sta", 8, 40), 0);
    assert_int_equal(proxy_trailer_add(&t, "tus: 0\r\n", 8, 40), 0);
    assert_int_equal(t.len, 16);
    assert_memory_equal(t.lines, "grpc-status: 0\r\n", 16);
    assert_int_equal(proxy_trailer_add(&t, "x-b: 0123456789012345678901\r\n", 29, 40), -E2BIG);
    assert_int_equal(t.len, 16);
    assert_int_equal(proxy_trailer_add(&t, "x: 123456789012345678\r\n", 24, 40), 0);
    assert_int_equal(t.len, 40);
    assert_int_equal(proxy_trailer_add(&t, "y", 1, 40), -E2BIG);
    proxy_trailer_free(&t);
    assert_null(t.lines);
    assert_int_equal(t.len, 0);
}

static void test_proxy_trailer_is_relayed_by_name(void **state)
{
    (void)state;
    static const char *const dropped[] = {
        "Content-Length", "transfer-encoding", "Trailer", "HOST", "Connection", "Keep-Alive",
        "TE", "Upgrade", "HTTP2-Settings", "Proxy-Connection", "proxy-authorization",
        "Proxy-Authenticate", "Authorization", "WWW-Authenticate", "Cookie", "Set-Cookie",
        "Cache-Control", "Expect", "Max-Forwards", "Pragma", "Range", "If-Match",
        "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range", "Age", "Date",
        "Expires", "Location", "Retry-After", "Vary", "Content-Type", "Content-Encoding",
        "Content-Range",
    };
    static const char *const relayed[] = {
        "grpc-status", "grpc-message", "Grpc-Status-Details-Bin", "X-Checksum", "Content-MD5",
        "Content-Digest", "Server-Timing", "ETag", "Proxy", "Hosts", "Tes", "X-Proxy-Id",
        "Authentication-Info", "Datex",
    };
    for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
        if (proxy_trailer_is_relayed(dropped[i], strlen(dropped[i])))
            fail_msg("%s is relayed, should be dropped", dropped[i]);
    for (size_t i = 0; i < sizeof relayed / sizeof relayed[0]; i++)
        if (!proxy_trailer_is_relayed(relayed[i], strlen(relayed[i])))
            fail_msg("%s is dropped, should be relayed", relayed[i]);
}

static void finished(const char *raw, bool last_chunk, const char *want, int want_drops,
                     const char *want_first)
{
    struct proxy_trailer t = { 0 };
    char dropped[PROXY_TRAILER_NAME_LOG];
    assert_int_equal(proxy_trailer_add(&t, raw, strlen(raw), 1024), 0);
    assert_int_equal(proxy_trailer_finish(&t, last_chunk, dropped), want_drops);
    if (t.len != strlen(want) || (t.len && memcmp(t.lines, want, t.len) != 0))
        fail_msg("\"%s\": got \"%.*s\", want \"%s\"", raw, (int)t.len, t.lines, want);
    assert_string_equal(dropped, want_first);
    proxy_trailer_free(&t);
}

/* Relayed fields keep their order and names, values are trimmed and
 * written after ": "; the others are counted, the first named. */
static void test_proxy_trailer_finish_filters_and_frames(void **state)
{
    (void)state;
    finished("grpc-status:0\r\nContent-Length: 5\r\nX-Sum:  ab c \t\r\nSet-Cookie: a=b\r\n",
             false, "grpc-status: 0\r\nX-Sum: ab c\r\n", 2, "Content-Length");
    finished("grpc-status:0\r\nContent-Length: 5\r\n", true,
             "0\r\ngrpc-status: 0\r\n\r\n", 1, "Content-Length");
    finished("Host: a\r\n", true, "0\r\n\r\n", 1, "Host");
    finished("Host: a\r\n", false, "", 1, "Host");
    finished("X-Empty:\r\n", false, "X-Empty: \r\n", 0, "");
    /* a long name is cut for the log line */
    finished("Proxy-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: 1\r\n", false,
             "", 1, "Proxy-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_trailer_add_pieces_and_cap),
        cmocka_unit_test(test_proxy_trailer_is_relayed_by_name),
        cmocka_unit_test(test_proxy_trailer_finish_filters_and_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
