/* Unit tests for vhost.c: Host normalisation, server names, selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "vhost.h"

/* vhost_normalize on an exact-length copy, so an over-read trips ASan. */
static size_t vhost_norm(const char *host, char *out, size_t cap)
{
    size_t len = strlen(host);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, host, len);
    size_t n = vhost_normalize(copy, len, out, cap);
    free(copy);
    return n;
}

static void test_vhost_normalize_cases(void **state)
{
    static const struct {
        const char *in, *want; /* want "" for 0 */
    } cases[] = {
        { "a.example", "a.example" },
        { "A.Example", "a.example" },
        { "a.example:8080", "a.example" },
        { "a.example.", "a.example" },
        { "a.example.:443", "a.example" },
        { "a.example..", "a.example." }, /* one trailing dot only */
        { "[::1]:8080", "[::1]" },
        { "[2001:DB8::1]", "[2001:db8::1]" },
        { "127.0.0.1:80", "127.0.0.1" },
        { "", "" },
        { ":80", "" },
        { ".", "." },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[VHOST_NAME_MAX + 1];
        size_t n = vhost_norm(cases[i].in, out, sizeof out);
        if (n != strlen(cases[i].want) || memcmp(out, cases[i].want, n) != 0) {
            print_error("case \"%s\": got \"%.*s\", want \"%s\"\n", cases[i].in, (int)n, out,
                        cases[i].want);
            fail();
        }
    }
}

static void test_vhost_normalize_too_long(void **state)
{
    char host[300], out[VHOST_NAME_MAX + 1];
    (void)state;
    memset(host, 'a', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    assert_int_equal(vhost_norm(host, out, sizeof out), 0);
    host[VHOST_NAME_MAX] = '\0';
    assert_int_equal(vhost_norm(host, out, sizeof out), VHOST_NAME_MAX);
}

static void test_vhost_name_check_cases(void **state)
{
    static const struct {
        const char *name;
        bool ok;
    } cases[] = {
        { "a.example", true },     { "*.example", true },   { "localhost", true },
        { "a-b_c.example", true }, { "a.example.", true },  { "[::1]", true },
        { "127.0.0.1", true },     { "", false },           { "*", false },
        { "*.", false },           { "a*.example", false }, { "a.*.example", false },
        { "a..example", false },   { ".example", false },   { "a example", false },
        { "a/b", false },          { "[::1", false },       { "[g::1]", false },
        { "a:80", false },         { "*example", false },   { "a.example..", false },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[200] = "";
        int rc = vhost_name_check(cases[i].name, err, sizeof err);
        if ((rc == 0) != cases[i].ok) {
            print_error("name \"%s\": rc %d (%s), want %s\n", cases[i].name, rc, err,
                        cases[i].ok ? "ok" : "refused");
            fail();
        }
        if (!cases[i].ok)
            assert_true(err[0] != '\0');
    }
}

/* vhost_select takes the name without its port, as http1.c delimits it. */
static uint32_t vhost_select_host(const struct vhost_table *t, const char *host)
{
    size_t len = strlen(host), n = len;
    const char *end = host[0] == '[' ? memchr(host, ']', len) : memchr(host, ':', len);
    if (end)
        n = (size_t)(end - host) + (host[0] == '[');
    char *copy = malloc(n ? n : 1); /* exact size: an over-read trips ASan */
    assert_non_null(copy);
    memcpy(copy, host, n);
    uint32_t got = vhost_select(t, copy, n);
    free(copy);
    return got;
}

static struct vhost_table *vhost_sample(void)
{
    /* 0: the default; 1: a.example; 2: *.example; 3: *.b.example, exact c.b.example */
    struct vhost_table *t = vhost_table_new(0);
    assert_non_null(t);
    assert_int_equal(vhost_table_add(t, "a.example", 1, NULL), 0);
    assert_int_equal(vhost_table_add(t, "*.example", 2, NULL), 0);
    assert_int_equal(vhost_table_add(t, "*.b.example", 3, NULL), 0);
    assert_int_equal(vhost_table_add(t, "C.B.Example.", 4, NULL), 0);
    assert_int_equal(vhost_table_add(t, "[::1]", 5, NULL), 0);
    assert_int_equal(vhost_table_seal(t), 0);
    return t;
}

static void test_vhost_select_cases(void **state)
{
    static const struct {
        const char *host;
        uint32_t want;
    } cases[] = {
        { "a.example", 1 },          /* exact */
        { "A.EXAMPLE:8080", 1 },     /* case, port */
        { "a.example.", 1 },         /* trailing dot */
        { "x.example", 2 },          /* wildcard */
        { "x.y.example", 2 },        /* a wildcard covers several labels */
        { "example", 0 },            /* but not the bare name */
        { "x.b.example", 3 },        /* the longest wildcard wins */
        { "b.example", 2 },
        { "c.b.example", 4 },        /* exact before any wildcard */
        { "other.test", 0 },         /* unknown: the default */
        { "", 0 },                   /* no Host (HTTP/1.0) */
        { "aexample", 0 },
        { "[::1]:8080", 5 },
        { "[::2]", 0 },
    };
    struct vhost_table *t = vhost_sample();
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t got = vhost_select_host(t, cases[i].host);
        if (got != cases[i].want) {
            print_error("host \"%s\": server %u, want %u\n", cases[i].host, got,
                        cases[i].want);
            fail();
        }
    }
    vhost_table_free(t);
}

static void test_vhost_table_add_duplicates(void **state)
{
    struct vhost_table *t = vhost_table_new(7);
    uint32_t owner = 99;
    (void)state;
    assert_non_null(t);
    assert_int_equal(vhost_table_add(t, "a.example", 1, NULL), 0);
    assert_int_equal(vhost_table_add(t, "A.Example.", 2, &owner), -EEXIST);
    assert_int_equal(owner, 1);
    assert_int_equal(vhost_table_add(t, "*.a.example", 2, NULL), 0); /* another kind */
    assert_int_equal(vhost_table_add(t, "*.A.example", 3, &owner), -EEXIST);
    assert_int_equal(owner, 2);
    assert_int_equal(vhost_table_add(t, "bad name", 3, NULL), -EINVAL);
    assert_int_equal(vhost_table_seal(t), 0);
    assert_int_equal(vhost_select_host(t, "zzz"), 7);
    vhost_table_free(t);
}

/* Enough names that the hash tables probe past collisions: each one, in
 * any case and with a port, finds its own server; near misses do not. */
static void test_vhost_select_many_names(void **state)
{
    struct vhost_table *t = vhost_table_new(9999);
    char name[64], host[80];
    (void)state;
    assert_non_null(t);
    for (uint32_t i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "host%u.example", i);
        assert_int_equal(vhost_table_add(t, name, i, NULL), 0);
        snprintf(name, sizeof name, "*.w%u.example", i);
        assert_int_equal(vhost_table_add(t, name, 1000 + i, NULL), 0);
    }
    assert_int_equal(vhost_table_seal(t), 0);
    for (uint32_t i = 0; i < 500; i++) {
        snprintf(host, sizeof host, "HOST%u.Example:80", i);
        assert_int_equal(vhost_select_host(t, host), i);
        snprintf(host, sizeof host, "a.b.w%u.example", i);
        assert_int_equal(vhost_select_host(t, host), 1000 + i);
        snprintf(host, sizeof host, "host%u.exampl", i);
        assert_int_equal(vhost_select_host(t, host), 9999);
        snprintf(host, sizeof host, "w%u.example", i);
        assert_int_equal(vhost_select_host(t, host), 9999);
    }
    vhost_table_free(t);
}

/* Names past 16 bytes are compared in the middle too; names of every
 * length from 1 to 40 differ from each other by one byte anywhere. */
static void test_vhost_select_long_names_differ_anywhere(void **state)
{
    char name[48], probe[48];
    (void)state;
    for (size_t len = 1; len <= 40; len++) {
        struct vhost_table *t = vhost_table_new(999);
        assert_non_null(t);
        memset(name, 'a', len);
        name[len] = '\0';
        assert_int_equal(vhost_table_add(t, name, 1, NULL), 0);
        assert_int_equal(vhost_table_seal(t), 0);
        for (size_t at = 0; at < len; at++) {
            memcpy(probe, name, len + 1);
            probe[at] = 'b';
            assert_int_equal(vhost_select_host(t, probe), 999);
            probe[at] = 'A'; /* the same name in another case */
            assert_int_equal(vhost_select_host(t, probe), 1);
        }
        vhost_table_free(t);
    }
}

static void test_vhost_select_empty_table(void **state)
{
    struct vhost_table *t = vhost_table_new(3);
    (void)state;
    assert_non_null(t);
    assert_int_equal(vhost_table_seal(t), 0);
    assert_int_equal(vhost_select_host(t, "a.example"), 3);
    vhost_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vhost_normalize_cases),
        cmocka_unit_test(test_vhost_normalize_too_long),
        cmocka_unit_test(test_vhost_name_check_cases),
        cmocka_unit_test(test_vhost_select_cases),
        cmocka_unit_test(test_vhost_table_add_duplicates),
        cmocka_unit_test(test_vhost_select_many_names),
        cmocka_unit_test(test_vhost_select_long_names_differ_anywhere),
        cmocka_unit_test(test_vhost_select_empty_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
