/* Unit tests for accesslog: format compilation, and exact lines for the
 * combined, JSON and custom formats (TLS fields too), with client bytes
 * escaped. */
#include "accesslog.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

struct parsed {
    char *buf;
    struct http1_parser p;
    struct http1_request req;
    struct http1_header fields[32];
};

/* Parse a head into pr (the buffer is an exact-length copy, for ASan). */
static void parse(struct parsed *pr, const char *head)
{
    static const struct http1_limits limits = { 8192, 8192, 32768, 32 };
    size_t len = strlen(head), used = 0;
    pr->buf = malloc(len);
    assert_non_null(pr->buf);
    memcpy(pr->buf, head, len);
    http1_parser_init(&pr->p, &limits, pr->fields, 32);
    assert_int_equal(http1_parse_head(&pr->p, pr->buf, len, &pr->req, &used), HTTP1_DONE);
}

static struct accesslog_entry entry(const struct parsed *pr)
{
    struct accesslog_entry e = {
        .buf = pr ? pr->buf : NULL,
        .req = pr ? &pr->req : NULL,
        .peer_family = 4,
        .peer_addr = { 192, 0, 2, 7 },
        .peer_port = 40000,
        .conn_id = 12,
        .conn_requests = 3,
        .status = 200,
        .bytes_sent = 350,
        .body_bytes_sent = 200,
        .request_length = 90,
        .duration_ms = 17,
        .wall_s = 971185336, /* 2000-10-10T13:42:16Z */
        .close_reason = NULL,
    };
    return e;
}

static char *line(const char *spec, const struct accesslog_entry *e)
{
    static struct accesslog_format f;
    static char out[ACCESSLOG_LINE_MAX];
    char err[128];
    if (accesslog_format_compile(&f, spec, err, sizeof err) < 0)
        fail_msg("format '%s': %s", spec, err);
    size_t n = accesslog_format_line(&f, e, out, sizeof out);
    assert_true(n >= 1 && n < sizeof out);
    assert_int_equal(out[n - 1], '\n');
    out[n] = '\0';
    return out;
}

static void test_accesslog_format_line_combined(void **state)
{
    struct parsed pr;
    (void)state;
    setenv("TZ", "UTC", 1);
    parse(&pr, "GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nReferer: http://r/\r\n"
               "User-Agent: t\"x\\y\r\nAuthorization: Basic dGVzdDp0ZXN0\r\n\r\n");
    struct accesslog_entry e = entry(&pr);
    assert_string_equal(line("combined", &e),
                        "192.0.2.7 - test [10/Oct/2000:13:42:16 +0000] \"GET /a%20b?x=1 HTTP/1.1\" "
                        "200 200 \"http://r/\" \"t\\\"x\\\\y\" 17 -\n");
    e.close_reason = "requested";
    e.req = NULL; /* a 400 before any head parsed */
    e.status = 400;
    assert_string_equal(line("combined", &e),
                        "192.0.2.7 - - [10/Oct/2000:13:42:16 +0000] \"-\" 400 200 \"-\" \"-\" "
                        "17 requested\n");
    free(pr.buf);
}

static void test_accesslog_format_line_json(void **state)
{
    struct parsed pr;
    (void)state;
    setenv("TZ", "UTC", 1);
    parse(&pr, "POST /up HTTP/1.0\r\nUser-Agent: a\"\xe9\r\nContent-Length: 0\r\n\r\n");
    struct accesslog_entry e = entry(&pr);
    e.peer_family = 6;
    memset(e.peer_addr, 0, 16);
    e.peer_addr[15] = 1;
    e.close_reason = "error";
    assert_string_equal(
        line("json", &e),
        "{\"remote_addr\":\"::1\",\"remote_port\":40000,\"remote_user\":null,"
        "\"time_iso8601\":\"2000-10-10T13:42:16+00:00\",\"request\":\"POST /up HTTP/1.0\","
        "\"request_method\":\"POST\",\"request_uri\":\"/up\",\"uri\":\"/up\","
        "\"query_string\":null,\"server_protocol\":\"HTTP/1.0\",\"host\":null,\"status\":200,"
        "\"bytes_sent\":350,\"body_bytes_sent\":200,\"request_length\":90,"
        "\"request_time_ms\":17,\"http_referer\":null,\"http_user_agent\":\"a\\\"\\u00e9\","
        "\"connection\":12,\"connection_requests\":3,\"close_reason\":\"error\","
        "\"scheme\":\"http\",\"tls_version\":null,\"tls_cipher\":null,\"sni\":null,"
        "\"balancer_addr\":null,\"upstream_addr\":null,\"upstream_status\":null,"
        "\"upstream_response_time_ms\":null}\n");
    free(pr.buf);
}

static void test_accesslog_format_line_custom(void **state)
{
    struct parsed pr;
    (void)state;
    parse(&pr, "GET /p?q HTTP/1.1\r\nHost: h.example\r\nUser-Agent: ex\xe9\r\n\r\n");
    struct accesslog_entry e = entry(&pr);
    assert_string_equal(
        line("$$ ${status}x $http_user_agent $host $uri $query_string $connection_requests", &e),
        "$ 200x ex\\xe9 h.example /p q 3\n");
    free(pr.buf);
}

/* Over TLS the names come from the connection; plain, they are "-". The
 * client's SNI bytes are escaped like any client bytes. */
static void test_accesslog_format_line_tls(void **state)
{
    static const char spec[] = "$scheme $tls_version ${tls_cipher} $sni $status";
    struct accesslog_entry e = entry(NULL);
    (void)state;
    assert_string_equal(line(spec, &e), "http - - - 200\n");
    e.tls = true;
    e.tls_version = "TLSv1.3";
    e.tls_cipher = "TLS_AES_256_GCM_SHA384";
    e.sni = "www.example.test";
    assert_string_equal(line(spec, &e), "https TLSv1.3 TLS_AES_256_GCM_SHA384 "
                                        "www.example.test 200\n");
    e.sni = NULL; /* no SNI sent */
    e.tls_cipher = NULL;
    assert_string_equal(line(spec, &e), "https TLSv1.3 - - 200\n");
    e.sni = "a\"b\x1b";
    assert_string_equal(line("$sni", &e), "a\\\"b\\x1b\n");
    const char *json = line("json", &e);
    assert_non_null(strstr(json, ",\"scheme\":\"https\",\"tls_version\":\"TLSv1.3\","
                                 "\"tls_cipher\":null,\"sni\":\"a\\\"b\\u001b\","
                                 "\"balancer_addr\":null,"));
}

/* Behind a balancer, $remote_addr is the client it named and
 * $balancer_addr the balancer; without one, $balancer_addr is "-". */
static void test_accesslog_format_line_balancer(void **state)
{
    static const char spec[] = "$remote_addr $balancer_addr";
    struct accesslog_entry e = entry(NULL);
    (void)state;
    e.peer_family = 4;
    memcpy(e.peer_addr, "\xc0\x00\x02\x07", 4);
    assert_string_equal(line(spec, &e), "192.0.2.7 -\n");
    e.balancer_family = 6;
    memset(e.balancer_addr, 0, 16);
    e.balancer_addr[15] = 1;
    assert_string_equal(line(spec, &e), "192.0.2.7 ::1\n");
    assert_non_null(strstr(line("json", &e), ",\"balancer_addr\":\"::1\","));
}

static void test_accesslog_format_compile_errors(void **state)
{
    static const struct {
        const char *spec, *err;
    } cases[] = {
        { "$nosuch", "unknown field '$nosuch'" },
        { "${status", "'${' without a closing '}'" },
        { "$", "unknown field '$'" },
    };
    struct accesslog_format f;
    char err[128];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (accesslog_format_compile(&f, cases[i].spec, err, sizeof err) != -1)
            fail_msg("'%s' compiled", cases[i].spec);
        assert_string_equal(err, cases[i].err);
    }
    assert_int_equal(accesslog_format_check("$status", err, sizeof err), 0);
}

/* A line longer than the buffer is cut and still ends in '\n'. */
static void test_accesslog_format_line_cut(void **state)
{
    struct accesslog_format f;
    char err[64], out[32];
    (void)state;
    assert_int_equal(accesslog_format_compile(&f, "$status $status $status $status $status "
                                                  "$status $status $status $status $status",
                                              err, sizeof err),
                     0);
    struct accesslog_entry e = entry(NULL);
    size_t n = accesslog_format_line(&f, &e, out, sizeof out);
    assert_int_equal(n, sizeof out);
    assert_memory_equal(out, "200 200 200 200 200 200 200 200\n", sizeof out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accesslog_format_line_combined),
        cmocka_unit_test(test_accesslog_format_line_json),
        cmocka_unit_test(test_accesslog_format_line_custom),
        cmocka_unit_test(test_accesslog_format_line_tls),
        cmocka_unit_test(test_accesslog_format_line_balancer),
        cmocka_unit_test(test_accesslog_format_compile_errors),
        cmocka_unit_test(test_accesslog_format_line_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
