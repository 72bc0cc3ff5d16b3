/* Unit tests for httpdate.c: HTTP-date formatting and parsing (RFC 9110 §5.6.7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpdate.h"

/* Parse s[0..len) from an exact-length copy, so an over-read trips ASan. */
static bool httpdate_parse_copy(const char *s, size_t len, time_t *t)
{
    char *buf = malloc(len);
    bool ok;

    assert_true(len == 0 || buf != NULL);
    if (len)
        memcpy(buf, s, len);
    ok = httpdate_parse(buf, len, t);
    free(buf);
    return ok;
}

static const struct format_case {
    const char *name;
    int64_t t;
    const char *want;
} format_cases[] = {
    { "RFC example", 784111777, "Sun, 06 Nov 1994 08:49:37 GMT" },
    { "epoch", 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
    { "one second before epoch", -1, "Wed, 31 Dec 1969 23:59:59 GMT" },
    { "leap day 2000", 951782400, "Tue, 29 Feb 2000 00:00:00 GMT" },
    { "leap day 2024 last second", 1709251199, "Thu, 29 Feb 2024 23:59:59 GMT" },
    { "past 2038", 2147483648, "Tue, 19 Jan 2038 03:14:08 GMT" },
    { "last representable", 253402300799, "Fri, 31 Dec 9999 23:59:59 GMT" },
    { "after 9999 clamped", 253402300800, "Fri, 31 Dec 9999 23:59:59 GMT" },
    { "INT64_MAX clamped", INT64_MAX, "Fri, 31 Dec 9999 23:59:59 GMT" },
    { "first representable", -62135596800, "Mon, 01 Jan 0001 00:00:00 GMT" },
    { "before year 1 clamped", -62135596801, "Mon, 01 Jan 0001 00:00:00 GMT" },
    { "INT64_MIN clamped", INT64_MIN, "Mon, 01 Jan 0001 00:00:00 GMT" },
};

static const struct parse_case {
    const char *name, *s;
    size_t len; /* 0: strlen(s) */
    bool ok;
    int64_t t;
} parse_good_cases[] = {
    { "IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", 0, true, 784111777 },
    { "RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT", 0, true, 784111777 },
    { "asctime", "Sun Nov  6 08:49:37 1994", 0, true, 784111777 },
    { "asctime two-digit day", "Wed Nov 16 08:49:37 1994", 0, true, 784111777 + 10 * 86400 },
    { "asctime zero-padded day", "Sun Nov 06 08:49:37 1994", 0, true, 784111777 },
    { "epoch", "Thu, 01 Jan 1970 00:00:00 GMT", 0, true, 0 },
    { "before epoch is -1, not an error", "Wed, 31 Dec 1969 23:59:59 GMT", 0, true, -1 },
    { "Feb 29 2000 (400-year leap)", "Tue, 29 Feb 2000 00:00:00 GMT", 0, true, 951782400 },
    { "Feb 29 2024", "Thu, 29 Feb 2024 23:59:59 GMT", 0, true, 1709251199 },
    { "asctime Feb 29 2024", "Thu Feb 29 23:59:59 2024", 0, true, 1709251199 },
    { "RFC 850 Feb 29 00 is 2000", "Tuesday, 29-Feb-00 00:00:00 GMT", 0, true, 951782400 },
    { "RFC 850 year 69 is 2069", "Tuesday, 31-Dec-69 23:59:59 GMT", 0, true, 3155759999 },
    { "RFC 850 year 70 is 1970", "Thursday, 01-Jan-70 00:00:00 GMT", 0, true, 0 },
    { "RFC 850 Wednesday (longest name)", "Wednesday, 09-Nov-94 08:49:37 GMT", 0, true,
      784111777 + 3 * 86400 },
    { "leap second rolls over", "Sat, 31 Dec 2016 23:59:60 GMT", 0, true, 1483228800 },
    { "year 9999", "Fri, 31 Dec 9999 23:59:59 GMT", 0, true, 253402300799 },
    /* The day name is not checked against the date (see httpdate.c). */
    { "mismatched day name", "Mon, 06 Nov 1994 08:49:37 GMT", 0, true, 784111777 },
};

static const struct parse_case parse_bad_cases[] = {
    { "empty", "", 0, false, 0 },
    { "day name only", "Sun", 0, false, 0 },
    { "Feb 29 2023", "Wed, 29 Feb 2023 00:00:00 GMT", 0, false, 0 },
    { "Feb 29 1900 (century, not leap)", "Thu, 29 Feb 1900 00:00:00 GMT", 0, false, 0 },
    { "Feb 30 2000", "Wed, 30 Feb 2000 00:00:00 GMT", 0, false, 0 },
    { "31 Nov", "Fri, 31 Nov 1994 08:49:37 GMT", 0, false, 0 },
    { "31 Apr", "Sat, 31 Apr 1994 08:49:37 GMT", 0, false, 0 },
    { "31 Jun", "Sat, 31 Jun 1994 08:49:37 GMT", 0, false, 0 },
    { "31 Sep", "Sat, 31 Sep 1994 08:49:37 GMT", 0, false, 0 },
    { "RFC 850 31 Nov", "Thursday, 31-Nov-94 08:49:37 GMT", 0, false, 0 },
    { "asctime 31 Nov", "Thu Nov 31 08:49:37 1994", 0, false, 0 },
    { "asctime Feb 29 2023", "Wed Feb 29 00:00:00 2023", 0, false, 0 },
    { "day 00", "Sun, 00 Nov 1994 08:49:37 GMT", 0, false, 0 },
    { "day 32", "Sun, 32 Jan 1994 08:49:37 GMT", 0, false, 0 },
    { "asctime day 0", "Sun Nov  0 08:49:37 1994", 0, false, 0 },
    { "hour 24", "Sun, 06 Nov 1994 24:00:00 GMT", 0, false, 0 },
    { "minute 60", "Sun, 06 Nov 1994 08:60:37 GMT", 0, false, 0 },
    { "second 61", "Sun, 06 Nov 1994 08:49:61 GMT", 0, false, 0 },
    { "lowercase month", "Sun, 06 nov 1994 08:49:37 GMT", 0, false, 0 },
    { "uppercase month", "Sun, 06 NOV 1994 08:49:37 GMT", 0, false, 0 },
    { "unknown month", "Sun, 06 Noc 1994 08:49:37 GMT", 0, false, 0 },
    { "lowercase day name", "sun, 06 Nov 1994 08:49:37 GMT", 0, false, 0 },
    { "unknown day name", "Xyz, 06 Nov 1994 08:49:37 GMT", 0, false, 0 },
    { "UTC instead of GMT", "Sun, 06 Nov 1994 08:49:37 UTC", 0, false, 0 },
    { "lowercase gmt", "Sun, 06 Nov 1994 08:49:37 gmt", 0, false, 0 },
    { "trailing space", "Sun, 06 Nov 1994 08:49:37 GMT ", 0, false, 0 },
    { "trailing CR", "Sun, 06 Nov 1994 08:49:37 GMT\r", 0, false, 0 },
    { "trailing NUL", "Sun, 06 Nov 1994 08:49:37 GMT\0", 30, false, 0 },
    { "embedded NUL", "Sun, 06 Nov 1994 08:49:37 G\0T", 29, false, 0 },
    { "leading space", " Sun, 06 Nov 1994 08:49:37 GMT", 0, false, 0 },
    { "one-digit day", "Sun, 6 Nov 1994 08:49:37 GMT", 0, false, 0 },
    { "one-digit day padded", "Sun,  6 Nov 1994 08:49:37 GMT", 0, false, 0 },
    { "two-digit year in IMF", "Sun, 06 Nov 94 08:49:37 GMT", 0, false, 0 },
    { "tab for space", "Sun,\t06 Nov 1994 08:49:37 GMT", 0, false, 0 },
    { "sign in seconds", "Sun, 06 Nov 1994 08:49:+7 GMT", 0, false, 0 },
    { "dot for colon", "Sun, 06 Nov 1994 08.49:37 GMT", 0, false, 0 },
    { "no seconds", "Sun, 06 Nov 1994 08:49 GMT", 0, false, 0 },
    { "RFC 850 four-digit year", "Sunday, 06-Nov-1994 08:49:37 GMT", 0, false, 0 },
    { "RFC 850 short day name", "Sun, 06-Nov-94 08:49:37 GMT", 0, false, 0 },
    { "RFC 850 misspelt day", "Sundays, 06-Nov-94 08:49:37 GMT", 0, false, 0 },
    { "RFC 850 no comma", "Sunday 06-Nov-94 08:49:37 GMT", 0, false, 0 },
    { "RFC 850 spaces for dashes", "Sunday, 06 Nov 94 08:49:37 GMT", 0, false, 0 },
    { "RFC 850 trailing byte", "Sunday, 06-Nov-94 08:49:37 GMTx", 0, false, 0 },
    { "day name then comma only", "Sunday,", 0, false, 0 },
    { "asctime one space before day", "Sun Nov 6 08:49:37 1994", 0, false, 0 },
    { "asctime space and two digits", "Sun Nov  06 08:49:37 1994", 0, false, 0 },
    { "asctime with GMT", "Sun Nov  6 08:49:37 1994 GMT", 0, false, 0 },
    { "asctime two-digit year", "Sun Nov  6 08:49:37 94", 0, false, 0 },
    { "asctime trailing newline", "Sun Nov  6 08:49:37 1994\n", 0, false, 0 },
};

static void httpdate_run_parse(const struct parse_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct parse_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->s);
        time_t t = 42;
        bool ok = httpdate_parse_copy(c->s, len, &t);

        if (ok != c->ok || (ok && (int64_t)t != c->t)) {
            print_error("case \"%s\": ok %d t %lld, want ok %d t %lld\n", c->name, ok,
                        (long long)t, c->ok, (long long)c->t);
            fail();
        }
    }
}

static void test_httpdate_format_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof format_cases / sizeof format_cases[0]; i++) {
        const struct format_case *c = &format_cases[i];
        char *out = malloc(HTTPDATE_LEN + 1); /* exactly the room promised */

        assert_non_null(out);
        memset(out, 'x', HTTPDATE_LEN + 1);
        httpdate_format((time_t)c->t, out);
        if (out[HTTPDATE_LEN] != '\0' || strcmp(out, c->want) != 0) {
            print_error("case \"%s\": got \"%.*s\", want \"%s\"\n", c->name, HTTPDATE_LEN, out,
                        c->want);
            fail();
        }
        free(out);
    }
}

static void test_httpdate_parse_good(void **state)
{
    (void)state;
    httpdate_run_parse(parse_good_cases, sizeof parse_good_cases / sizeof parse_good_cases[0]);
}

static void test_httpdate_parse_bad(void **state)
{
    (void)state;
    httpdate_run_parse(parse_bad_cases, sizeof parse_bad_cases / sizeof parse_bad_cases[0]);
}

/* Every proper prefix of a good date is a truncated date and must fail. */
static void test_httpdate_parse_truncated(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_good_cases / sizeof parse_good_cases[0]; i++) {
        const struct parse_case *c = &parse_good_cases[i];
        for (size_t len = 0; len < strlen(c->s); len++) {
            time_t t;
            if (httpdate_parse_copy(c->s, len, &t)) {
                print_error("case \"%s\": prefix of %zu bytes accepted\n", c->name, len);
                fail();
            }
        }
    }
}

/* Formatting then parsing gives back the same second, across the whole
 * four-digit-year range (a stride that is not a multiple of a day visits
 * every time of day and every day of the year over the run). */
static void test_httpdate_format_round_trip(void **state)
{
    const int64_t stride = 86400 * 37 + 3671;
    (void)state;

    for (int64_t t = -62135596800; t <= 253402300799; t += stride) {
        char out[HTTPDATE_LEN + 1];
        time_t back;

        httpdate_format((time_t)t, out);
        if (!httpdate_parse(out, HTTPDATE_LEN, &back) || (int64_t)back != t) {
            print_error("t %lld formatted as \"%s\" did not parse back\n", (long long)t, out);
            fail();
        }
    }
}

/* Each day of a leap year and its neighbours: every month name and month
 * length, through all three parsers (RFC 850 and asctime are built from the
 * IMF-fixdate we formatted). */
static void test_httpdate_parse_every_day(void **state)
{
    static const char *const long_days[] = {
        "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
    };
    (void)state;

    for (int64_t t = 946684800 + 45296; t < 1009843200; t += 86400) { /* 2000, 2001 */
        char imf[HTTPDATE_LEN + 1], rfc850[40], asc[32];
        time_t back;
        int wday = (int)(((t / 86400) + 4) % 7);

        httpdate_format((time_t)t, imf);
        /* imf: "Sun, 06 Nov 1994 08:49:37 GMT" */
        snprintf(rfc850, sizeof rfc850, "%s, %.2s-%.3s-%.2s %.8s GMT", long_days[wday], imf + 5,
                 imf + 8, imf + 14, imf + 17);
        snprintf(asc, sizeof asc, "%.3s %.3s %c%c %.8s %.4s", imf, imf + 8,
                 imf[5] == '0' ? ' ' : imf[5], imf[6], imf + 17, imf + 12);

        assert_true(httpdate_parse_copy(rfc850, strlen(rfc850), &back));
        assert_int_equal((int64_t)back, t);
        assert_true(httpdate_parse_copy(asc, strlen(asc), &back));
        assert_int_equal((int64_t)back, t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_httpdate_format_table),
        cmocka_unit_test(test_httpdate_parse_good),
        cmocka_unit_test(test_httpdate_parse_bad),
        cmocka_unit_test(test_httpdate_parse_truncated),
        cmocka_unit_test(test_httpdate_format_round_trip),
        cmocka_unit_test(test_httpdate_parse_every_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
