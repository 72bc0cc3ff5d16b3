/* Unit tests for proxy_head.c: field classification, the hop-by-hop rule
 * and the request head sent upstream, byte for byte. Heads are parsed by the
 * request parser first, as the proxy gets them.
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
#include "proxy_head.h"

#define FIELDS_CAP 16

static const struct http1_limits limits = {
    .request_line_max_bytes = 512,
    .field_line_max_bytes = 512,
    .head_max_bytes = 2048,
    .fields_max = FIELDS_CAP,
};

struct parsed {
    struct http1_parser p;
    struct http1_header fields[FIELDS_CAP];
    struct http1_request req;
};

static void parse(struct parsed *x, const char *raw)
{
    size_t used = 0;
    http1_parser_init(&x->p, &limits, x->fields, FIELDS_CAP);
    assert_int_equal(http1_parse_head(&x->p, raw, strlen(raw), &x->req, &used), HTTP1_DONE);
}

/* The head built from in, as a string (out has room for 1024 bytes). */
static const char *built(const struct proxy_head_in *in, char out[1024])
{
    size_t n = proxy_head_build(in, out, 1023);
    assert_true(n > 0);
    out[n] = '\0';
    return out;
}

static struct http1_slice slice_of(const char *buf, const char *part)
{
    const char *at = strstr(buf, part);
    assert_non_null(at);
    return (struct http1_slice){ (uint32_t)(at - buf), (uint32_t)strlen(part) };
}

static void test_proxy_field_of_names_each_kind_in_any_case(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum proxy_field kind;
    } cases[] = {
        { "TE", PROXY_F_TE },
        { "host", PROXY_F_HOST },
        { "Date", PROXY_F_DATE },
        { "EXPECT", PROXY_F_EXPECT },
        { "Server", PROXY_F_SERVER },
        { "Upgrade", PROXY_F_UPGRADE },
        { "trailer", PROXY_F_TRAILER },
        { "Forwarded", PROXY_F_FORWARDED },
        { "Connection", PROXY_F_CONNECTION },
        { "keep-ALIVE", PROXY_F_KEEP_ALIVE },
        { "Content-Length", PROXY_F_CONTENT_LENGTH },
        { "X-Forwarded-For", PROXY_F_X_FORWARDED_FOR },
        { "x-forwarded-host", PROXY_F_X_FORWARDED_HOST },
        { "Transfer-Encoding", PROXY_F_TRANSFER_ENCODING },
        { "X-Forwarded-Proto", PROXY_F_X_FORWARDED_PROTO },
        { "Proxy-Authorization", PROXY_F_PROXY_ANY },
        { "proxy-", PROXY_F_PROXY_ANY },
        /* same lengths as the names above, other bytes */
        { "TF", PROXY_F_OTHER },
        { "hosts", PROXY_F_OTHER },
        { "Datum", PROXY_F_OTHER },
        { "Connectiom", PROXY_F_OTHER },
        { "Content-Lengtx", PROXY_F_OTHER },
        { "X-Forwarded-Fox", PROXY_F_OTHER },
        { "Proxy", PROXY_F_OTHER },
        { "X-Proxy-Id", PROXY_F_OTHER },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *n = cases[i].name;
        struct http1_slice s = { 0, (uint32_t)strlen(n) };
        if (proxy_field_of(n, s) != cases[i].kind)
            fail_msg("%s: kind %d, want %d", n, proxy_field_of(n, s), cases[i].kind);
    }
}

static void test_proxy_head_hop_by_hop_includes_fields_named_by_connection(void **state)
{
    (void)state;
    struct parsed x;
    const char *raw = "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Private\r\n"
                      "X-Private: 1\r\nX-Kept: 2\r\nKeep-Alive: 5\r\n\r\n";
    parse(&x, raw);
    const struct http1_request *r = &x.req;
    assert_true(proxy_head_has_connection(raw, r->fields, r->field_count));
    bool hop[8] = { false };
    for (uint32_t i = 0; i < r->field_count; i++)
        hop[i] = proxy_head_is_hop_by_hop(raw, r->fields, r->field_count, i,
                                          proxy_field_of(raw, r->fields[i].name), true);
    /* Host, Connection, X-Private, X-Kept, Keep-Alive */
    assert_false(hop[0]);
    assert_true(hop[1]);
    assert_true(hop[2]);
    assert_false(hop[3]);
    assert_true(hop[4]);
    assert_true(proxy_head_connection_names(raw, r->fields, r->field_count, "x-private", 9));
    assert_false(proxy_head_connection_names(raw, r->fields, r->field_count, "x-kept", 6));
}

static void test_proxy_head_build_ipv4_plain(void **state)
{
    (void)state;
    struct parsed x;
    const char *raw = "POST /up?x=1 HTTP/1.1\r\nHost: example.test:8080\r\nContent-Length: 5\r\n"
                      "X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: ftp\r\nTE: trailers\r\n"
                      "Expect: 100-continue\r\nUser-Agent: t\r\n\r\n";
    parse(&x, raw);
    static const uint8_t addr[4] = { 192, 0, 2, 10 };
    struct proxy_head_in in = {
        .req = &x.req, .buf = raw, .peer_family = 4, .peer_addr = addr,
        .has_length = true, .length = 12345678901ull,
    };
    char out[1024];
    assert_string_equal(built(&in, out),
                        "POST /up?x=1 HTTP/1.1\r\nHost: example.test:8080\r\n"
                        "User-Agent: t\r\n"
                        "X-Forwarded-For: 10.0.0.9, 192.0.2.10\r\n"
                        "X-Forwarded-Proto: http\r\n"
                        "Forwarded: for=192.0.2.10;proto=http;host=\"example.test:8080\"\r\n"
                        "X-Forwarded-Host: example.test:8080\r\n"
                        "TE: trailers\r\nConnection: te\r\n"
                        "Content-Length: 12345678901\r\n\r\n");
    /* one byte short of the head: nothing */
    assert_int_equal(proxy_head_build(&in, out, strlen(out) - 1), 0);
}

static void test_proxy_head_build_ipv6_tls_upgrade_absolute_form(void **state)
{
    (void)state;
    struct parsed x;
    const char *raw = "GET http://h.test/ws?q HTTP/1.1\r\nHost: h.test\r\n"
                      "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                      "Forwarded: for=198.51.100.1\r\n\r\n";
    parse(&x, raw);
    static const uint8_t addr[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
    struct proxy_head_in in = {
        .req = &x.req, .buf = raw, .peer_family = 6, .peer_addr = addr, .tls = true,
        .upgrade = true, .upgrade_value = slice_of(raw, "websocket"),
    };
    char out[1024];
    assert_string_equal(built(&in, out),
                        "GET /ws?q HTTP/1.1\r\nHost: h.test\r\n"
                        "X-Forwarded-For: 2001:db8::1\r\n"
                        "X-Forwarded-Proto: https\r\n"
                        "Forwarded: for=198.51.100.1, for=\"[2001:db8::1]\";proto=https;"
                        "host=\"h.test\"\r\n"
                        "X-Forwarded-Host: h.test\r\n"
                        "Upgrade: websocket\r\nConnection: upgrade\r\n\r\n");
}

static void test_proxy_head_build_drops_forwarding_fields_named_by_connection(void **state)
{
    (void)state;
    struct parsed x;
    const char *raw = "GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Forwarded-For, Expect\r\n"
                      "X-Forwarded-For: 10.9.9.9\r\nExpect: 100-continue\r\n\r\n";
    parse(&x, raw);
    static const uint8_t addr[4] = { 127, 0, 0, 1 };
    struct proxy_head_in in = {
        .req = &x.req, .buf = raw, .peer_family = 4, .peer_addr = addr, .keep_expect = true,
    };
    char out[1024];
    assert_string_equal(built(&in, out),
                        "GET / HTTP/1.1\r\nHost: a\r\n"
                        "X-Forwarded-For: 127.0.0.1\r\n"
                        "X-Forwarded-Proto: http\r\n"
                        "Forwarded: for=127.0.0.1;proto=http;host=\"a\"\r\n"
                        "X-Forwarded-Host: a\r\n\r\n");
}

/* Trailer goes with a chunked body (its trailers go too), not with a
 * length; TE goes on only as "trailers", named by Connection (RFC 9110
 * §10.1.4), with Upgrade's option when both are asked for. */
static void test_proxy_head_build_trailer_and_te(void **state)
{
    (void)state;
    struct parsed x;
    const char *raw = "POST /rpc HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                      "TE: gzip, trailers\r\nTrailer: grpc-status\r\n\r\n";
    parse(&x, raw);
    static const uint8_t addr[4] = { 127, 0, 0, 1 };
    struct proxy_head_in in = {
        .req = &x.req, .buf = raw, .peer_family = 4, .peer_addr = addr, .chunked = true,
    };
    char out[1024];
    const char *fwd = "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
                      "Forwarded: for=127.0.0.1;proto=http;host=\"a\"\r\nX-Forwarded-Host: a\r\n";
    char want[1024];
    snprintf(want, sizeof want, "POST /rpc HTTP/1.1\r\nHost: a\r\nTrailer: grpc-status\r\n%s"
             "TE: trailers\r\nConnection: te\r\nTransfer-Encoding: chunked\r\n\r\n", fwd);
    assert_string_equal(built(&in, out), want);
    /* the same body sent with its length (buffered): no Trailer */
    in.chunked = false;
    in.has_length = true;
    in.length = 7;
    snprintf(want, sizeof want, "POST /rpc HTTP/1.1\r\nHost: a\r\n%s"
             "TE: trailers\r\nConnection: te\r\nContent-Length: 7\r\n\r\n", fwd);
    assert_string_equal(built(&in, out), want);

    const char *ws = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade, te\r\n"
                     "Upgrade: websocket\r\nTE: trailers\r\n\r\n";
    parse(&x, ws);
    struct proxy_head_in up = {
        .req = &x.req, .buf = ws, .peer_family = 4, .peer_addr = addr, .upgrade = true,
        .upgrade_value = slice_of(ws, "websocket"),
    };
    snprintf(want, sizeof want, "GET /ws HTTP/1.1\r\nHost: a\r\n%s"
             "TE: trailers\r\nUpgrade: websocket\r\nConnection: upgrade, te\r\n\r\n", fwd);
    assert_string_equal(built(&up, out), want);

    const char *gz = "GET / HTTP/1.1\r\nHost: a\r\nTE: gzip\r\n\r\n";
    parse(&x, gz);
    struct proxy_head_in plain = { .req = &x.req, .buf = gz, .peer_family = 4, .peer_addr = addr };
    snprintf(want, sizeof want, "GET / HTTP/1.1\r\nHost: a\r\n%s\r\n", fwd);
    assert_string_equal(built(&plain, out), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_field_of_names_each_kind_in_any_case),
        cmocka_unit_test(test_proxy_head_hop_by_hop_includes_fields_named_by_connection),
        cmocka_unit_test(test_proxy_head_build_ipv4_plain),
        cmocka_unit_test(test_proxy_head_build_ipv6_tls_upgrade_absolute_form),
        cmocka_unit_test(test_proxy_head_build_drops_forwarding_fields_named_by_connection),
        cmocka_unit_test(test_proxy_head_build_trailer_and_te),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
