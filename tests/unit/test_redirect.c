/* Unit tests for redirect.c: return templates, their expansion, and the
 * encoding of a directory redirect's path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redirect.h"

static void test_redirect_check_template_cases(void **state)
{
    static const struct {
        const char *tmpl;
        bool ok;
    } cases[] = {
        { "https://$host$request_uri", true },
        { "$scheme://www.example.com${request_uri}", true },
        { "/new/path?x=1#frag", true },
        { "https://[::1]:8443/", true },
        { "https://$host.example/", true },         /* $host ends at '.' */
        { "/a%20b", true },
        { "/a%2", false },                           /* a short escape */
        { "/a%zz", false },
        { "/a b", false },                           /* space */
        { "/a\"b", false },                          /* outside RFC 3986 */
        { "/a<b>", false },
        { "/a\\b", false },
        { "/a{b}", false },
        { "/a|b", false },
        { "/a^b", false },
        { "/a`b", false },
        { "/\xc3\xa9", false },                      /* raw UTF-8: encode it */
        { "/a\rb", false },
        { "$hostname/", false },                     /* unknown variable */
        { "$uri", false },
        { "${host", false },
        { "$", false },
        { "", false },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[160] = "";
        int rc = redirect_check_template(cases[i].tmpl, err, sizeof err);
        if ((rc == 0) != cases[i].ok) {
            print_error("template \"%s\": rc %d (%s)\n", cases[i].tmpl, rc, err);
            fail();
        }
        if (rc < 0)
            assert_true(err[0] != '\0');
    }
}

static void test_redirect_expand_cases(void **state)
{
    struct redirect_vars v = {
        .scheme = "https", .host = "a.example", .host_len = 9,
        .request_uri = "/p?q=1", .request_uri_len = 6,
    };
    static const struct {
        const char *tmpl, *want;
    } cases[] = {
        { "$scheme://$host$request_uri", "https://a.example/p?q=1" },
        { "${scheme}://x${request_uri}${request_uri}", "https://x/p?q=1/p?q=1" },
        { "/plain", "/plain" },
        { "https://$host.cdn/", "https://a.example.cdn/" },
    };
    char out[128];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = redirect_expand(cases[i].tmpl, &v, out, sizeof out);
        if (n != strlen(cases[i].want) || strcmp(out, cases[i].want) != 0) {
            print_error("template \"%s\": got \"%s\" (%zu), want \"%s\"\n", cases[i].tmpl, out,
                        n, cases[i].want);
            fail();
        }
    }
    /* exactly the room needed, then one byte short */
    size_t need = strlen("https://a.example/p?q=1") + 1;
    char *exact = malloc(need);
    assert_non_null(exact);
    assert_int_equal(redirect_expand("$scheme://$host$request_uri", &v, exact, need), need - 1);
    assert_int_equal(redirect_expand("$scheme://$host$request_uri", &v, exact, need - 1), 0);
    free(exact);
}

static void test_redirect_encode_path_cases(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "/dir", "/dir" },
        { "/a b", "/a%20b" },
        { "/100%", "/100%25" },
        { "/q?x#y", "/q%3Fx%23y" },
        { "/\"<>\\^`{|}", "/%22%3C%3E%5C%5E%60%7B%7C%7D" },
        { "/caf\xc3\xa9", "/caf%C3%A9" },
        { "/a:b@c!$&'()*+,;=-._~", "/a:b@c!$&'()*+,;=-._~" },
        { "/\x7f\x01", "/%7F%01" },
    };
    char out[128];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = redirect_encode_path(cases[i].in, strlen(cases[i].in), out, sizeof out);
        if (n != strlen(cases[i].want) || strcmp(out, cases[i].want) != 0) {
            print_error("path \"%s\": got \"%s\", want \"%s\"\n", cases[i].in, out,
                        cases[i].want);
            fail();
        }
    }
    assert_int_equal(redirect_encode_path("/a b", 4, out, 6), 0); /* "/a%20b" needs 7 */
    assert_int_equal(redirect_encode_path("/a b", 4, out, 7), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirect_check_template_cases),
        cmocka_unit_test(test_redirect_expand_cases),
        cmocka_unit_test(test_redirect_encode_path_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
