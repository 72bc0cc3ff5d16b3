/* test_tls_sniff — telling a ClientHello from a plain HTTP request. */
#include "tls_sniff.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

static enum tls_sniff sniff(const char *s)
{
    return tls_sniff((const unsigned char *)s, strlen(s));
}

static void test_tls_sniff_a_client_hello_is_tls(void **state)
{
    static const unsigned char hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00 };
    (void)state;
    assert_int_equal(tls_sniff(hello, sizeof hello), TLS_SNIFF_TLS);
    assert_int_equal(tls_sniff(hello, 1), TLS_SNIFF_TLS); /* one byte decides */
}

static void test_tls_sniff_request_lines_are_plain_http(void **state)
{
    (void)state;
    assert_int_equal(sniff("GET / HTTP/1.1\r\n"), TLS_SNIFF_PLAIN_HTTP);
    assert_int_equal(sniff("POST /upload/ HTTP/1.1\r\n"), TLS_SNIFF_PLAIN_HTTP);
    assert_int_equal(sniff("PROPPATCH /x HTTP/1.1\r\n"), TLS_SNIFF_PLAIN_HTTP);
    assert_int_equal(sniff("PRI * HTTP/2.0\r\n"), TLS_SNIFF_PLAIN_HTTP);
}

static void test_tls_sniff_waits_for_the_space_after_a_method(void **state)
{
    (void)state;
    assert_int_equal(tls_sniff(NULL, 0), TLS_SNIFF_MORE);
    assert_int_equal(sniff("G"), TLS_SNIFF_MORE);
    assert_int_equal(sniff("OPTIONS"), TLS_SNIFF_MORE);
    assert_int_equal(sniff("OPTIONS "), TLS_SNIFF_PLAIN_HTTP);
}

static void test_tls_sniff_anything_else_is_left_to_tls(void **state)
{
    (void)state;
    assert_int_equal(sniff("get / HTTP/1.1"), TLS_SNIFF_TLS);   /* not a method we know */
    assert_int_equal(sniff(" GET /"), TLS_SNIFF_TLS);
    assert_int_equal(sniff("\x80\x2e\x01"), TLS_SNIFF_TLS);     /* SSL 2 hello */
    assert_int_equal(sniff("ABCDEFGHIJKLMNOPQRSTUVWX"), TLS_SNIFF_TLS); /* 24: decided */
    assert_int_equal(sniff("ABCDEFGHIJKLMNOPQRSTUVW"), TLS_SNIFF_MORE);
    assert_int_equal(sniff("UPDATEREDIRECTREF / HTTP/1.1"), TLS_SNIFF_PLAIN_HTTP);
    assert_int_equal(sniff("VERSION-CONTROL /x"), TLS_SNIFF_PLAIN_HTTP);
    assert_string_equal(tls_sniff_name(TLS_SNIFF_PLAIN_HTTP), "plain-http");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_sniff_a_client_hello_is_tls),
        cmocka_unit_test(test_tls_sniff_request_lines_are_plain_http),
        cmocka_unit_test(test_tls_sniff_waits_for_the_space_after_a_method),
        cmocka_unit_test(test_tls_sniff_anything_else_is_left_to_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
