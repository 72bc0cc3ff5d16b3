/* Unit tests for uri.c: percent-decoding and dot-segment removal.
 *
 * uri_decode_path is not incremental, so the three runs of each case vary the
 * output buffer instead of the input split: a roomy buffer; a buffer of exactly
 * the decoded length plus the NUL (an over-write trips ASan); and one byte
 * less, which must be 414. The input is always an exact-length copy.
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

#include "uri.h"

struct uri_case {
    const char *name;
    const char *in;
    size_t in_len; /* 0: strlen(in); set it when in holds a NUL */
    int status;    /* 0, 400 or 414 */
    const char *out; /* with status 0 */
};

/* Length of in[0..len) percent-decoded; only for valid input. */
static size_t uri_decoded_len(const char *in, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++, n++) {
        if (in[i] == '%')
            i += 2;
    }
    return n;
}

static void uri_run(const struct uri_case *c, const char *mode, size_t cap, int want_status,
                    const char *want_out)
{
    size_t len = c->in_len ? c->in_len : strlen(c->in);
    char *in = malloc(len ? len : 1);
    char *out = malloc(cap ? cap : 1);
    size_t out_len = 12345;

    assert_non_null(in);
    assert_non_null(out);
    memcpy(in, c->in, len);
    int status = uri_decode_path(in, len, out, cap, &out_len);
    if (status != want_status) {
        print_error("case \"%s\" (%s, cap %zu): status %d, want %d\n", c->name, mode, cap,
                    status, want_status);
        fail();
    }
    if (status == 0 && (out_len != strlen(want_out) || strcmp(out, want_out) != 0)) {
        print_error("case \"%s\" (%s): \"%s\" (%zu), want \"%s\"\n", c->name, mode, out,
                    out_len, want_out);
        fail();
    }
    free(out);
    free(in);
}

static void uri_run_table(const struct uri_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct uri_case *c = &cases[i];
        size_t len = c->in_len ? c->in_len : strlen(c->in);

        uri_run(c, "roomy", len + 64, c->status == 414 ? 0 : c->status, c->out);
        if (c->status != 0)
            continue;
        size_t exact = uri_decoded_len(c->in, len) + 1;
        uri_run(c, "exact", exact, 0, c->out);
        uri_run(c, "one short", exact - 1, 414, NULL);
    }
}

#define RUN_TABLE(t) uri_run_table((t), sizeof(t) / sizeof((t)[0]))

static const struct uri_case plain_cases[] = {
    { "root", "/", 0, 0, "/" },
    { "file", "/index.html", 0, 0, "/index.html" },
    { "nested", "/a/b/c.txt", 0, 0, "/a/b/c.txt" },
    { "trailing slash kept", "/a/b/", 0, 0, "/a/b/" },
    { "double slash collapsed", "/a//b", 0, 0, "/a/b" },
    { "leading slashes collapsed", "///a", 0, 0, "/a" },
    { "trailing slashes collapsed", "/a//", 0, 0, "/a/" },
    { "only slashes", "////", 0, 0, "/" },
    { "empty", "", 0, 400, NULL },
    { "relative", "a/b", 0, 400, NULL },
    { "starts with a dot", "./a", 0, 400, NULL },
};

static const struct uri_case percent_cases[] = {
    { "space", "/a%20b", 0, 0, "/a b" },
    { "lowercase hex", "/%7e", 0, 0, "/~" },
    { "uppercase hex", "/%7E", 0, 0, "/~" },
    { "unreserved dot", "/index%2Ehtml", 0, 0, "/index.html" },
    { "UTF-8 bytes", "/caf%C3%A9", 0, 0, "/caf\xc3\xa9" },
    { "percent itself", "/100%25", 0, 0, "/100%" },
    { "escape is not decoded twice", "/%2541", 0, 0, "/%41" },
    { "encoded slash is a slash", "/a%2Fb", 0, 0, "/a/b" },
    { "plus stays plus", "/a+b", 0, 0, "/a+b" },
    { "bad hex", "/index%zz.html", 0, 400, NULL },
    { "one bad digit", "/%4g", 0, 400, NULL },
    { "truncated at end", "/%4", 0, 400, NULL },
    { "lone percent at end", "/a%", 0, 400, NULL },
    { "NUL", "/a%00b", 0, 400, NULL },
    { "raw NUL", "/a\0b", 4, 400, NULL },
    { "CR", "/a%0d", 0, 400, NULL },
    { "LF", "/a%0A", 0, 400, NULL },
    { "unit separator", "/a%1f", 0, 400, NULL },
    { "DEL", "/a%7F", 0, 400, NULL },
    { "raw DEL", "/a\x7f", 0, 400, NULL },
    { "raw tab", "/a\tb", 0, 400, NULL },
    { "0x80 is allowed", "/%80", 0, 0, "/\x80" },
};

static const struct uri_case dot_cases[] = {
    { "dot segment", "/a/./b", 0, 0, "/a/b" },
    { "dot-dot segment", "/a/b/../c", 0, 0, "/a/c" },
    { "dot-dot to root", "/a/..", 0, 0, "/" },
    { "dot-dot to root with slash", "/a/../", 0, 0, "/" },
    { "final dot is a directory", "/a/.", 0, 0, "/a/" },
    { "final dot-dot is a directory", "/a/b/..", 0, 0, "/a/" },
    { "lone dot", "/.", 0, 0, "/" },
    { "dots in names are names", "/a.b/..c/c../.../x", 0, 0, "/a.b/..c/c../.../x" },
    { "dot-dot after double slash", "/a//../b", 0, 0, "/b" },
    { "several dot-dots", "/a/b/c/../../d", 0, 0, "/a/d" },
    { "dot-dot above root", "/..", 0, 400, NULL },
    { "dot-dot above root with slash", "/../", 0, 400, NULL },
    { "climb out", "/../../../../etc/passwd", 0, 400, NULL },
    { "climb out later", "/a/../../etc/passwd", 0, 400, NULL },
    { "encoded dot-dot", "/%2e%2e/%2e%2e/etc/passwd", 0, 400, NULL },
    { "mixed-case encoded dot-dot", "/a/%2E%2e/b", 0, 0, "/b" },
    { "half-encoded dot-dot", "/a/.%2e/b", 0, 0, "/b" },
    { "encoded dot", "/a/%2e/b", 0, 0, "/a/b" },
    { "encoded slashes and dot-dots climb out", "/a%2F..%2F..%2Fetc", 0, 400, NULL },
    { "encoded slash then dot-dot stays inside", "/a%2Fb%2F..", 0, 0, "/a/" },
};

static void test_uri_decode_path_plain(void **state)
{
    (void)state;
    RUN_TABLE(plain_cases);
}

static void test_uri_decode_path_percent(void **state)
{
    (void)state;
    RUN_TABLE(percent_cases);
}

static void test_uri_decode_path_dot_segments(void **state)
{
    (void)state;
    RUN_TABLE(dot_cases);
}

/* A bad escape past the end of the room is still 400: the input is checked
 * before the size. */
static void test_uri_decode_path_bad_escape_beats_size(void **state)
{
    char out[4];
    size_t n;

    (void)state;
    assert_int_equal(uri_decode_path("/abcdef%zz", 10, out, sizeof out, &n), 400);
    assert_int_equal(uri_decode_path("/abcdef", 7, out, sizeof out, &n), 414);
    assert_int_equal(uri_decode_path("/", 1, out, 0, &n), 414);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_decode_path_plain),
        cmocka_unit_test(test_uri_decode_path_percent),
        cmocka_unit_test(test_uri_decode_path_dot_segments),
        cmocka_unit_test(test_uri_decode_path_bad_escape_beats_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
