/* Unit tests for accept_encoding.c: Accept-Encoding (RFC 9110 §12.5.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "accept_encoding.h"

#define BR (1u << ACCEPT_BR)
#define GZ (1u << ACCEPT_GZIP)

static const struct ae_case {
    const char *name, *value; /* value NULL: no field at all */
    uint16_t br, gzip, identity;  /* weights */
    enum accept_coding both;      /* chosen with br and gzip offered */
    enum accept_coding gzip_only; /* chosen with gzip offered */
} ae_cases[] = {
    { "no field", NULL, 0, 0, 1000, ACCEPT_IDENTITY, ACCEPT_IDENTITY },
    { "empty field: identity only", "", 0, 0, 1, ACCEPT_IDENTITY, ACCEPT_IDENTITY },
    { "gzip", "gzip", 0, 1000, 1, ACCEPT_GZIP, ACCEPT_GZIP },
    { "browser list", "gzip, deflate, br, zstd", 1000, 1000, 1, ACCEPT_BR, ACCEPT_GZIP },
    { "tokens are case-insensitive", "GZip, BR", 1000, 1000, 1, ACCEPT_BR, ACCEPT_GZIP },
    { "x-gzip is gzip", "x-gzip", 0, 1000, 1, ACCEPT_GZIP, ACCEPT_GZIP },
    { "q=0 refuses", "gzip;q=0, br", 1000, 0, 1, ACCEPT_BR, ACCEPT_IDENTITY },
    { "q=0.000 refuses; identity stays acceptable", "gzip;q=0.000", 0, 0, 1, ACCEPT_IDENTITY, ACCEPT_IDENTITY },
    { "higher q wins", "br;q=0.5, gzip;q=0.8", 500, 800, 1, ACCEPT_GZIP, ACCEPT_GZIP },
    { "identity preferred by weight", "gzip;q=0.5, identity", 0, 500, 1000, ACCEPT_IDENTITY,
      ACCEPT_IDENTITY },
    { "Q upper case, spaces", "gzip ; Q=0.25 , br\t;\tq=0.2", 200, 250, 1, ACCEPT_GZIP,
      ACCEPT_GZIP },
    { "star covers the rest", "*;q=0.3, br;q=0.1", 100, 300, 300, ACCEPT_GZIP, ACCEPT_GZIP },
    { "star refuses identity", "*;q=0", 0, 0, 0, ACCEPT_IDENTITY, ACCEPT_IDENTITY },
    { "star, identity named", "*;q=0, identity", 0, 0, 1000, ACCEPT_IDENTITY,
      ACCEPT_IDENTITY },
    { "identity refused, gzip ok", "identity;q=0, gzip;q=0.1", 0, 100, 0, ACCEPT_GZIP,
      ACCEPT_GZIP },
    { "tie goes to the server's order", "gzip;q=0.9, br;q=0.9", 900, 900, 1,
      ACCEPT_BR, ACCEPT_GZIP },
    { "tie among codings, identity lower", "gzip;q=1, br;q=1, identity;q=0.5", 1000, 1000,
      500, ACCEPT_BR, ACCEPT_GZIP },
    { "first mention wins", "gzip;q=0, gzip", 0, 0, 1, ACCEPT_IDENTITY, ACCEPT_IDENTITY },
    { "empty members", ",, gzip ,,", 0, 1000, 1, ACCEPT_GZIP, ACCEPT_GZIP },
    { "q above 1 is malformed", "gzip;q=1.5", 0, 0, 1, ACCEPT_IDENTITY, ACCEPT_IDENTITY },
    { "q=1.000 ok, 1.001 not", "br;q=1.001, gzip;q=1.000", 0, 1000, 1, ACCEPT_GZIP,
      ACCEPT_GZIP },
    { "four decimals malformed", "gzip;q=0.1234", 0, 0, 1, ACCEPT_IDENTITY,
      ACCEPT_IDENTITY },
    { "junk q malformed", "gzip;q=junk, br;q=", 0, 0, 1, ACCEPT_IDENTITY, ACCEPT_IDENTITY },
    { "other parameter malformed", "gzip;level=9, br;q=1;x=y", 0, 0, 1, ACCEPT_IDENTITY,
      ACCEPT_IDENTITY },
    { "quoted q malformed", "gzip;q=\"1\"", 0, 0, 1, ACCEPT_IDENTITY, ACCEPT_IDENTITY },
    { "bytes outside tchar", "gz\x01ip, \xffgzip, br", 1000, 0, 1, ACCEPT_BR,
      ACCEPT_IDENTITY },
    { "space inside a token", "g zip", 0, 0, 1, ACCEPT_IDENTITY, ACCEPT_IDENTITY },
    { "prefix of a name is not it", "gzi, b, gzipx", 0, 0, 1, ACCEPT_IDENTITY,
      ACCEPT_IDENTITY },
    { "semicolon alone", "gzip;", 0, 0, 1, ACCEPT_IDENTITY, ACCEPT_IDENTITY },
    { "q with spaces after", "gzip;q=0.5  ", 0, 500, 1, ACCEPT_GZIP, ACCEPT_GZIP },
    { "q=0. (no digits) is 0", "gzip;q=0.", 0, 0, 1, ACCEPT_IDENTITY, ACCEPT_IDENTITY },
};

/* Each case from an exact-size copy, whole and split over two field lines
 * at each comma (two lines are one list, RFC 9110 §5.3). */
static void ae_check(const struct ae_case *k, const struct accept_encoding *ae)
{
    uint16_t br = accept_encoding_weight(ae, ACCEPT_BR);
    uint16_t gz = accept_encoding_weight(ae, ACCEPT_GZIP);
    uint16_t id = accept_encoding_weight(ae, ACCEPT_IDENTITY);
    enum accept_coding both = accept_encoding_choose(ae, BR | GZ);
    enum accept_coding gzo = accept_encoding_choose(ae, GZ);
    if (br != k->br || gz != k->gzip || id != k->identity || both != k->both ||
        gzo != k->gzip_only) {
        print_error("case \"%s\": br %u gzip %u identity %u choose %s/%s; want %u %u %u %s/%s\n",
                    k->name, br, gz, id, accept_coding_name(both), accept_coding_name(gzo),
                    k->br, k->gzip, k->identity, accept_coding_name(k->both),
                    accept_coding_name(k->gzip_only));
        fail();
    }
}

static void test_accept_encoding_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ae_cases / sizeof ae_cases[0]; i++) {
        const struct ae_case *k = &ae_cases[i];
        struct accept_encoding ae;
        accept_encoding_init(&ae);
        if (!k->value) {
            ae_check(k, &ae);
            continue;
        }
        size_t len = strlen(k->value);
        char *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, k->value, len);
        accept_encoding_add(&ae, copy, len);
        ae_check(k, &ae);
        for (size_t cut = 0; cut < len; cut++) {
            if (copy[cut] != ',')
                continue;
            accept_encoding_init(&ae);
            accept_encoding_add(&ae, copy, cut);
            accept_encoding_add(&ae, copy + cut + 1, len - cut - 1);
            ae_check(k, &ae);
        }
        free(copy);
    }
}

static void test_accept_encoding_choose_offered_only(void **state)
{
    (void)state;
    struct accept_encoding ae;
    accept_encoding_init(&ae);
    accept_encoding_add(&ae, "br", 2);
    /* br is accepted but not offered: identity, never a coding not on offer */
    assert_int_equal(accept_encoding_choose(&ae, GZ), ACCEPT_IDENTITY);
    assert_int_equal(accept_encoding_choose(&ae, 0), ACCEPT_IDENTITY);
    assert_int_equal(accept_encoding_choose(&ae, BR), ACCEPT_BR);
}

static void test_accept_encoding_names(void **state)
{
    (void)state;
    assert_string_equal(accept_coding_name(ACCEPT_GZIP), "gzip");
    assert_string_equal(accept_coding_name(ACCEPT_BR), "br");
    assert_string_equal(accept_coding_name(ACCEPT_IDENTITY), "identity");
    assert_string_equal(accept_coding_name(ACCEPT_CODING_COUNT), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_encoding_table),
        cmocka_unit_test(test_accept_encoding_choose_offered_only),
        cmocka_unit_test(test_accept_encoding_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
