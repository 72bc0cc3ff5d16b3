/* test_proxy_addr — the proxy_pass forms: numeric addresses, unix sockets,
 * host names (RFC 1123 syntax checked before any resolver is asked) and the
 * resolved list (every address of a name, duplicates removed, the limit).
 * Resolution uses only "localhost" (the hosts file) and the reserved
 * .invalid TLD (RFC 6761), so no query needs a network.
 */
#include "proxy_addr.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

static int parse(const char *text, struct proxy_addr_text *out, char *err, size_t errlen)
{
    return proxy_addr_parse(text, strlen(text), out, err, errlen);
}

static void test_numeric_forms_need_no_resolution(void **state)
{
    (void)state;
    struct proxy_addr_text t;
    char err[256];
    assert_int_equal(parse("127.0.0.1:8000", &t, err, sizeof err), 0);
    assert_false(t.is_name);
    assert_int_equal(t.addr.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&t.addr)->sin_port), 8000);
    assert_int_equal(parse("[::1]:9000", &t, err, sizeof err), 0);
    assert_false(t.is_name);
    assert_int_equal(t.addr.ss_family, AF_INET6);
    assert_int_equal(parse("unix:/run/app.sock", &t, err, sizeof err), 0);
    assert_false(t.is_name);
    assert_int_equal(t.addr.ss_family, AF_UNIX);
    assert_string_equal(((struct sockaddr_un *)&t.addr)->sun_path, "/run/app.sock");
}

static void test_host_names_parse_with_their_port(void **state)
{
    (void)state;
    static const struct { const char *text, *host; unsigned port; } ok[] = {
        { "localhost:8000", "localhost", 8000 },
        { "app.internal:80", "app.internal", 80 },
        { "APP-1.Example.COM:65535", "APP-1.Example.COM", 65535 },
        { "app.internal.:1", "app.internal.", 1 },       /* fully qualified */
        { "3com.example:443", "3com.example", 443 },    /* RFC 1123: a digit may lead */
        { "10.0.0.x:80", "10.0.0.x", 80 },              /* last label not all digits */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct proxy_addr_text t;
        char err[256] = "";
        assert_int_equal(parse(ok[i].text, &t, err, sizeof err), 0);
        assert_true(t.is_name);
        assert_string_equal(t.host, ok[i].host);
        assert_int_equal(t.port, ok[i].port);
    }
}

static void test_bad_names_are_refused_before_any_resolver(void **state)
{
    (void)state;
    char label64[80], long_name[300];
    memset(label64, 'a', 64);
    strcpy(label64 + 64, ".example:80");
    /* 255 bytes of name: 127 "a." pairs and "b". */
    for (size_t i = 0; i < 127; i++)
        memcpy(long_name + 2 * i, "a.", 2);
    strcpy(long_name + 254, "b:80");
    static const struct { const char *text, *why; } bad[] = {
        { "my_app:8000", "other than letters" },
        { "-app.example:80", "starting with '-'" },
        { "app-.example:80", "ending with '-'" },
        { "app..example:80", "empty label" },
        { ".app:80", "empty label" },
        { "app.example..:80", "empty label" },
        { "10.1:80", "not a valid IPv4" },
        { "1.2.3.4.5:80", "not a valid IPv4" },
        { "999.0.0.1:80", "not a valid IPv4" },
        { "app example:80", "other than letters" },
        { "ex%61mple:80", "other than letters" },
        { "caf\xc3\xa9.example:80", "other than letters" },
        { ":80", "empty host name" },
        { "app.example", "is not" },
        { "app.example:0", "port" },
        { "app.example:65536", "port" },
        { "app.example:http", "port" },
        { "[app.example]:80", "is not" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct proxy_addr_text t;
        char err[256] = "";
        if (parse(bad[i].text, &t, err, sizeof err) != -1 || !strstr(err, bad[i].why))
            fail_msg("'%s' gave '%s', expected '%s'", bad[i].text, err, bad[i].why);
    }
    struct proxy_addr_text t;
    char err[256] = "";
    assert_int_equal(parse(label64, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than 63"));
    assert_int_equal(parse(long_name, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than 253"));
    strcpy(long_name + 252, "bb:80"); /* 254 bytes */
    assert_int_equal(parse(long_name, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than 253"));
    strcpy(long_name + 252, "b:80"); /* 253 bytes: the most */
    assert_int_equal(parse(long_name, &t, err, sizeof err), 0);
    strcpy(long_name + 252, "b.:80"); /* and a trailing dot */
    assert_int_equal(parse(long_name, &t, err, sizeof err), 0);
}

static void test_check_list_counts_what_is_written(void **state)
{
    (void)state;
    char err[256], list[32 * 20 + 40] = "";
    assert_int_equal(proxy_addr_check_list("localhost:1,127.0.0.1:2,unix:/a", err, sizeof err), 0);
    assert_int_equal(proxy_addr_check_list("localhost:1,my_app:2", err, sizeof err), -1);
    for (int i = 0; i < 33; i++)
        sprintf(list + strlen(list), "%sh%d.example:80", i ? "," : "", i);
    assert_int_equal(proxy_addr_check_list(list, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 32"));
}

static void test_numeric_list_keeps_its_names(void **state)
{
    (void)state;
    struct proxy_addr_list *l = NULL;
    char err[256];
    assert_int_equal(proxy_addr_resolve_list("127.0.0.1:8000,[::1]:9000,unix:/x,127.0.0.1:8000",
                                             &l, err, sizeof err), 0);
    assert_int_equal(l->count, 4); /* an address written twice stays twice */
    assert_string_equal(l->v[0].name, "127.0.0.1:8000");
    assert_string_equal(l->v[1].name, "[::1]:9000");
    assert_string_equal(l->v[2].name, "unix:/x");
    assert_int_equal(l->refs, 1);
    proxy_addr_list_release(l);
}

/* Every address localhost has becomes one upstream, each once, named
 * "localhost(NUMERIC:PORT)", with the port written. */
static void test_localhost_gives_each_address_once(void **state)
{
    (void)state;
    struct proxy_addr_list *l = NULL;
    char err[256];
    assert_int_equal(proxy_addr_resolve_list("localhost:8000,127.0.0.1:7", &l, err, sizeof err),
                     0);
    assert_true(l->count >= 2);
    size_t names = l->count - 1;
    for (size_t i = 0; i < names; i++) {
        const struct proxy_addr *a = &l->v[i];
        char numeric[INET6_ADDRSTRLEN], want[PROXY_ADDR_NAME_MAX];
        if (a->addr.ss_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)&a->addr;
            assert_int_equal(ntohs(in->sin_port), 8000);
            inet_ntop(AF_INET, &in->sin_addr, numeric, sizeof numeric);
            snprintf(want, sizeof want, "localhost(%s:8000)", numeric);
        } else {
            assert_int_equal(a->addr.ss_family, AF_INET6);
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->addr;
            assert_int_equal(ntohs(in6->sin6_port), 8000);
            inet_ntop(AF_INET6, &in6->sin6_addr, numeric, sizeof numeric);
            snprintf(want, sizeof want, "localhost([%s]:8000)", numeric);
        }
        assert_string_equal(a->name, want);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(a->name, l->v[k].name);
    }
    assert_string_equal(l->v[names].name, "127.0.0.1:7");
    proxy_addr_list_release(l);
}

static void test_a_name_that_does_not_resolve_is_an_error(void **state)
{
    (void)state;
    struct proxy_addr_list *l = NULL;
    char err[256] = "";
    assert_int_equal(proxy_addr_resolve_list("127.0.0.1:1,nothing-here.invalid:80", &l, err,
                                             sizeof err), -1);
    assert_null(l);
    assert_non_null(strstr(err, "cannot resolve host name 'nothing-here.invalid': "));
    assert_true(strlen(err) > strlen("cannot resolve host name 'nothing-here.invalid': "));
}

static void test_the_limit_counts_resolved_addresses(void **state)
{
    (void)state;
    char list[32 * 20 + 40] = "", err[256] = "";
    for (int i = 0; i < 32; i++)
        sprintf(list + strlen(list), "%s127.0.0.%d:80", i ? "," : "", i + 1);
    strcat(list, ",localhost:80"); /* 33 written: refused by the check */
    assert_int_equal(proxy_addr_check_list(list, err, sizeof err), -1);
    /* 32 written, 31 numeric and a name: fits only if it has one address. */
    *strrchr(list, ',') = '\0';
    *strrchr(list, ',') = '\0';
    strcat(list, ",localhost:80");
    assert_int_equal(proxy_addr_check_list(list, err, sizeof err), 0);
    struct proxy_addr_list *l = NULL;
    int rc = proxy_addr_resolve_list(list, &l, err, sizeof err);
    if (rc == 0) {
        assert_int_equal(l->count, 32);
        proxy_addr_list_release(l);
    }
    /* 31 numeric and localhost twice (two names, 2+ addresses): past 32. */
    strcat(list, ",localhost:81");
    l = NULL;
    assert_int_equal(proxy_addr_resolve_list(list, &l, err, sizeof err), -1);
    assert_null(l);
    assert_non_null(strstr(err, "past 32 upstreams"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_forms_need_no_resolution),
        cmocka_unit_test(test_host_names_parse_with_their_port),
        cmocka_unit_test(test_bad_names_are_refused_before_any_resolver),
        cmocka_unit_test(test_check_list_counts_what_is_written),
        cmocka_unit_test(test_numeric_list_keeps_its_names),
        cmocka_unit_test(test_localhost_gives_each_address_once),
        cmocka_unit_test(test_a_name_that_does_not_resolve_is_an_error),
        cmocka_unit_test(test_the_limit_counts_resolved_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
