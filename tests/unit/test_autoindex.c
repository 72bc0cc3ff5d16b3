/* Unit tests for autoindex.c's escapers: names into HTML, hrefs and JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "autoindex.h"

typedef size_t escape_fn(const char *in, size_t len, char *out, size_t cap);

static const struct escape_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *html, *href, *json;
} escape_cases[] = {
    { "plain", "index.txt", 0, "index.txt", "index.txt", "index.txt" },
    { "markup", "<b>&amp;", 0, "&lt;b&gt;&amp;amp;", "%3Cb%3E%26amp%3B", "<b>&amp;" },
    { "quotes", "a\"b'c", 0, "a&quot;b&#39;c", "a%22b%27c", "a\\\"b'c" },
    { "space, colon, percent, hash", "a b:c%d#e?f", 0, "a b:c%d#e?f",
      "a%20b%3Ac%25d%23e%3Ff", "a b:c%d#e?f" },
    { "backslash", "a\\b", 0, "a\\b", "a%5Cb", "a\\\\b" },
    { "UTF-8 kept", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf%C3%A9%20%E2%82%AC%20%F0%9F%98%80",
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
    { "control characters", "a\nb\tc\x1b[31m\x7f", 0,
      "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd[31m\xef\xbf\xbd", "a%0Ab%09c%1B%5B31m%7F",
      "a\\u000ab\\u0009c\\u001b[31m\\u007f" },
    { "C1 control (U+0085)", "a\xc2\x85z", 0, "a\xef\xbf\xbdz", "a%C2%85z", "a\xc2\x85z" },
    { "invalid UTF-8: lone byte", "a\xffz", 0, "a\xef\xbf\xbdz", "a%FFz", "a\\ufffdz" },
    { "invalid UTF-8: overlong slash", "a\xc0\xafz", 0, "a\xef\xbf\xbd\xef\xbf\xbdz",
      "a%C0%AFz", "a\\ufffd\\ufffdz" },
    { "invalid UTF-8: surrogate", "\xed\xa0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
      "%ED%A0%80", "\\ufffd\\ufffd\\ufffd" },
    { "invalid UTF-8: truncated at end", "ab\xe2\x82", 0, "ab\xef\xbf\xbd\xef\xbf\xbd",
      "ab%E2%82", "ab\\ufffd\\ufffd" },
    { "invalid UTF-8: past U+10FFFF", "\xf4\x90\x80\x80", 0,
      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "%F4%90%80%80",
      "\\ufffd\\ufffd\\ufffd\\ufffd" },
    { "NUL byte inside", "a\0b", 3, "a\xef\xbf\xbd" "b", "a%00b", "a\\u0000b" },
    { "empty", "", 0, "", "", "" },
};

/* Escape from an exact-size copy into an exact-size output (the length the
 * escaper says it needs, plus the NUL), then check truncation is safe. */
static void escape_check(const char *case_name, const char *what, escape_fn *fn,
                         const char *in, size_t len, const char *want)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, in, len);
    size_t need = fn(copy, len, NULL, 0);
    assert_true(need <= len * AUTOINDEX_ESCAPE_MAX);
    char *out = malloc(need + 1);
    assert_non_null(out);
    size_t got = fn(copy, len, out, need + 1);
    if (got != need || strcmp(out, want) != 0) {
        print_error("case \"%s\" %s: got \"%s\" (%zu), want \"%s\"\n", case_name, what, out, got,
                    want);
        fail();
    }
    /* every shorter buffer: a prefix, NUL-terminated, the same length reported */
    for (size_t cap = 1; cap <= need; cap++) {
        char *small = malloc(cap);
        assert_non_null(small);
        assert_int_equal(fn(copy, len, small, cap), need);
        assert_int_equal(strlen(small), cap - 1);
        assert_memory_equal(small, want, cap - 1);
        free(small);
    }
    free(out);
    free(copy);
}

static void test_autoindex_escape_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof escape_cases / sizeof escape_cases[0]; i++) {
        const struct escape_case *k = &escape_cases[i];
        size_t len = k->len ? k->len : strlen(k->in);
        escape_check(k->name, "html", autoindex_escape_html, k->in, len, k->html);
        escape_check(k->name, "href", autoindex_escape_href, k->in, len, k->href);
        escape_check(k->name, "json", autoindex_escape_json, k->in, len, k->json);
    }
}

/* Whatever the bytes, the HTML never holds a raw < > & " ' or control byte
 * and the href only unreserved characters and %XX. */
static void test_autoindex_escape_every_byte(void **state)
{
    (void)state;
    char in[2], html[16], href[8], json[16];
    for (unsigned b = 0; b < 256; b++) {
        in[0] = 'x';
        in[1] = (char)b;
        autoindex_escape_html(in, 2, html, sizeof html);
        autoindex_escape_href(in, 2, href, sizeof href);
        autoindex_escape_json(in, 2, json, sizeof json);
        for (const char *p = html; *p; p++) {
            assert_null(strchr("<>\"'", *p));
            assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
            if (*p == '&')
                assert_true(p[1] == 'a' || p[1] == 'l' || p[1] == 'g' || p[1] == 'q' ||
                            p[1] == '#');
        }
        for (const char *p = href; *p; p++)
            assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-._~%", *p));
        for (const char *p = json; *p; p++)
            assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    }
}

static const struct accept_case {
    const char *value; /* NULL: no Accept field */
    bool json;
} accept_cases[] = {
    { NULL, false },
    { "application/json", true },
    { "APPLICATION/JSON", true },
    { "application/json;q=0", false },
    { "application/json;q=0.000", false },
    { "text/html, application/json", false },                 /* a tie: HTML */
    { "text/html;q=0.5, application/json", true },
    { "application/json;q=0.9, text/html;q=0.8", true },
    { "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false },
    { "*/*", false },
    { "*/*;q=0.1, application/json;q=0.2", true },
    { "application/*", true },                                /* html unmatched */
    { "application/*, text/*;q=0.5", true },
    { "text/*", false },
    { "application/json;q=junk", false },                     /* malformed: skipped */
    { "application/json;q=1.5", false },
    { "application/json; charset=utf-8; q=0.7, text/html;q=0.6", true },
    { "application/jsonx, text/json", false },
    { " application/json ", true },
    { "", false },
};

static void test_autoindex_accept_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof accept_cases / sizeof accept_cases[0]; i++) {
        const struct accept_case *k = &accept_cases[i];
        struct autoindex_accept a;
        autoindex_accept_init(&a);
        if (k->value) {
            size_t len = strlen(k->value);
            char *copy = malloc(len ? len : 1);
            assert_non_null(copy);
            memcpy(copy, k->value, len);
            autoindex_accept_add(&a, copy, len);
            free(copy);
        }
        if (autoindex_accept_json(&a) != k->json) {
            print_error("Accept \"%s\": json %d, want %d\n", k->value ? k->value : "(none)",
                        !k->json, k->json);
            fail();
        }
    }
    /* two field lines are one list */
    struct autoindex_accept a;
    autoindex_accept_init(&a);
    autoindex_accept_add(&a, "text/html;q=0.1", 15);
    autoindex_accept_add(&a, "application/json", 16);
    assert_true(autoindex_accept_json(&a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_autoindex_escape_table),
        cmocka_unit_test(test_autoindex_escape_every_byte),
        cmocka_unit_test(test_autoindex_accept_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
