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
    vhost_table_seal(t);
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
        size_t len = strlen(cases[i].host);
        char *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, cases[i].host, len);
        uint32_t got = vhost_select(t, copy, len);
        free(copy);
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
    vhost_table_seal(t);
    assert_int_equal(vhost_select(t, "zzz", 3), 7);
    vhost_table_free(t);
}

static void test_vhost_select_empty_table(void **state)
{
    struct vhost_table *t = vhost_table_new(3);
    (void)state;
    assert_non_null(t);
    vhost_table_seal(t);
    assert_int_equal(vhost_select(t, "a.example", 9), 3);
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
        cmocka_unit_test(test_vhost_select_empty_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
