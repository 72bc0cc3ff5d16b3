/* Unit tests for range.c: Range header arithmetic (RFC 9110 §14). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "range.h"

#define SPANS_MAX 4
#define CAP_DEFAULT 8

struct range_case {
    const char *name, *value;
    uint64_t size;
    size_t cap; /* 0 means CAP_DEFAULT; cap0 cases use range_cap0_cases */
    enum range_rc rc;
    size_t n;
    struct range_span spans[SPANS_MAX];
};

static const char *range_rc_str(enum range_rc rc)
{
    switch (rc) {
    case RANGE_IGNORE:
        return "IGNORE";
    case RANGE_OK:
        return "OK";
    case RANGE_UNSATISFIABLE:
        return "UNSATISFIABLE";
    }
    return "?";
}

/* Run one case on an exact-length copy of the value and an out array of
 * exactly cap spans, so an over-read or over-write trips ASan. */
static void range_run(const char *name, const char *value, size_t len, uint64_t size, size_t cap,
                      enum range_rc want_rc, size_t want_n, const struct range_span *want)
{
    char *buf = malloc(len);
    struct range_span *out = malloc(cap * sizeof *out);
    size_t n = 12345;

    assert_true(len == 0 || buf != NULL);
    assert_true(cap == 0 || out != NULL);
    if (len)
        memcpy(buf, value, len);

    enum range_rc rc = range_parse(buf, len, size, out, cap, &n);
    if (rc != want_rc || n != want_n) {
        print_error("case \"%s\": rc %s n %zu, want %s n %zu\n", name, range_rc_str(rc), n,
                    range_rc_str(want_rc), want_n);
        fail();
    }
    for (size_t i = 0; i < n; i++) {
        if (out[i].first != want[i].first || out[i].last != want[i].last) {
            print_error("case \"%s\": span %zu is %llu-%llu, want %llu-%llu\n", name, i,
                        (unsigned long long)out[i].first, (unsigned long long)out[i].last,
                        (unsigned long long)want[i].first, (unsigned long long)want[i].last);
            fail();
        }
    }
    free(out);
    free(buf);
}

static void range_run_table(const struct range_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct range_case *c = &cases[i];
        range_run(c->name, c->value, strlen(c->value), c->size, c->cap ? c->cap : CAP_DEFAULT,
                  c->rc, c->n, c->spans);
    }
}

#define RUN_TABLE(t) range_run_table((t), sizeof(t) / sizeof((t)[0]))

static const struct range_case forms_cases[] = {
    { "first-last", "bytes=0-4", 10, 0, RANGE_OK, 1, { { 0, 4 } } },
    { "last is size-1", "bytes=2-9", 10, 0, RANGE_OK, 1, { { 2, 9 } } },
    { "last clamped to size-1", "bytes=5-100", 10, 0, RANGE_OK, 1, { { 5, 9 } } },
    { "open-ended", "bytes=3-", 10, 0, RANGE_OK, 1, { { 3, 9 } } },
    { "open-ended from 0", "bytes=0-", 10, 0, RANGE_OK, 1, { { 0, 9 } } },
    { "suffix", "bytes=-3", 10, 0, RANGE_OK, 1, { { 7, 9 } } },
    { "suffix equal to size", "bytes=-10", 10, 0, RANGE_OK, 1, { { 0, 9 } } },
    { "suffix larger than size", "bytes=-100", 10, 0, RANGE_OK, 1, { { 0, 9 } } },
    { "suffix zero is unsatisfiable", "bytes=-0", 10, 0, RANGE_UNSATISFIABLE, 0, { { 0, 0 } } },
    { "suffix zero dropped, other kept", "bytes=-0,2-3", 10, 0, RANGE_OK, 1, { { 2, 3 } } },
    { "first-pos == last-pos", "bytes=4-4", 10, 0, RANGE_OK, 1, { { 4, 4 } } },
    { "first and last byte of 300", "bytes=0-0,-1", 300, 0, RANGE_OK, 2,
      { { 0, 0 }, { 299, 299 } } },
    { "leading zeros", "bytes=000-0004", 10, 0, RANGE_OK, 1, { { 0, 4 } } },
};

static const struct range_case size_cases[] = {
    { "size 0 open-ended", "bytes=0-", 0, 0, RANGE_UNSATISFIABLE, 0, { { 0, 0 } } },
    { "size 0 first-last", "bytes=0-0", 0, 0, RANGE_UNSATISFIABLE, 0, { { 0, 0 } } },
    { "size 0 suffix", "bytes=-5", 0, 0, RANGE_UNSATISFIABLE, 0, { { 0, 0 } } },
    { "size 0 bad syntax still ignored", "bytes=0-x", 0, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "size 1 first byte", "bytes=0-0", 1, 0, RANGE_OK, 1, { { 0, 0 } } },
    { "size 1 open-ended", "bytes=0-", 1, 0, RANGE_OK, 1, { { 0, 0 } } },
    { "size 1 suffix 1", "bytes=-1", 1, 0, RANGE_OK, 1, { { 0, 0 } } },
    { "size 1 suffix 5", "bytes=-5", 1, 0, RANGE_OK, 1, { { 0, 0 } } },
    { "size 1 first past end", "bytes=1-", 1, 0, RANGE_UNSATISFIABLE, 0, { { 0, 0 } } },
    { "first == size dropped", "bytes=10-", 10, 0, RANGE_UNSATISFIABLE, 0, { { 0, 0 } } },
    { "first > size dropped", "bytes=11-20", 10, 0, RANGE_UNSATISFIABLE, 0, { { 0, 0 } } },
    { "unsatisfiable dropped, rest kept", "bytes=10-20,0-1", 10, 0, RANGE_OK, 1, { { 0, 1 } } },
    { "max size suffix", "bytes=-1", UINT64_MAX, 0, RANGE_OK, 1,
      { { UINT64_MAX - 1, UINT64_MAX - 1 } } },
    { "max size open-ended", "bytes=0-", UINT64_MAX, 0, RANGE_OK, 1, { { 0, UINT64_MAX - 1 } } },
    { "max size adjacent merge at top", "bytes=-1,0-", UINT64_MAX, 0, RANGE_OK, 1,
      { { 0, UINT64_MAX - 1 } } },
};

static const struct range_case unit_cases[] = {
    { "uppercase BYTES", "BYTES=0-1", 10, 0, RANGE_OK, 1, { { 0, 1 } } },
    { "mixed case Bytes", "Bytes=0-1", 10, 0, RANGE_OK, 1, { { 0, 1 } } },
    { "other unit", "items=0-1", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "unit prefix only", "byte=0-1", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "unit with suffix", "bytesx=0-1", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "no equals sign", "bytes", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "empty value", "", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "space before equals", "bytes =0-1", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "empty range-set", "bytes=", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "only empty elements", "bytes=, ,", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
};

static const struct range_case list_cases[] = {
    { "OWS around comma", "bytes=0-1 , 3-4", 10, 0, RANGE_OK, 2, { { 0, 1 }, { 3, 4 } } },
    { "tab after comma", "bytes=0-1,\t3-4", 10, 0, RANGE_OK, 2, { { 0, 1 }, { 3, 4 } } },
    { "OWS at the ends", "bytes= 0-1 ", 10, 0, RANGE_OK, 1, { { 0, 1 } } },
    { "empty elements", "bytes=,0-1,,3-4,", 10, 0, RANGE_OK, 2, { { 0, 1 }, { 3, 4 } } },
    { "empty element with OWS", "bytes=0-1, ,3-4", 10, 0, RANGE_OK, 2, { { 0, 1 }, { 3, 4 } } },
};

static const struct range_case syntax_cases[] = {
    { "letters", "bytes=a-b", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "number without dash", "bytes=1", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "dash alone", "bytes=-", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "two dashes", "bytes=1-2-3", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "double dash suffix", "bytes=--1", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "space before dash", "bytes=1 -2", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "space after dash", "bytes=1- 2", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "space in suffix", "bytes=- 1", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "semicolon separator", "bytes=0-1;3-4", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "missing comma", "bytes=0-1 3-4", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "plus sign", "bytes=+1-2", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "hex", "bytes=0x1-2", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "trailing CR", "bytes=0-1\r", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "last before first", "bytes=5-4", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "last before first, beyond size", "bytes=20-15", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "error after a good spec", "bytes=0-1,5-4", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "garbage after a good spec", "bytes=0-1,x", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "error after unsatisfiable", "bytes=20-,x", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "19 digits is a number", "bytes=9999999999999999999-", 10, 0, RANGE_UNSATISFIABLE, 0,
      { { 0, 0 } } },
    { "19-digit last clamped", "bytes=1-9999999999999999999", 10, 0, RANGE_OK, 1, { { 1, 9 } } },
    { "19-digit suffix", "bytes=-9999999999999999999", 10, 0, RANGE_OK, 1, { { 0, 9 } } },
    { "20-digit first", "bytes=18446744073709551615-", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "20 zeros", "bytes=00000000000000000000-", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "20-digit last", "bytes=0-18446744073709551616", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "20-digit suffix", "bytes=-99999999999999999999", 10, 0, RANGE_IGNORE, 0, { { 0, 0 } } },
};

static const struct range_case merge_cases[] = {
    { "adjacent merged", "bytes=0-4,5-9", 10, 0, RANGE_OK, 1, { { 0, 9 } } },
    { "gap of one kept apart", "bytes=0-4,6-9", 10, 0, RANGE_OK, 2, { { 0, 4 }, { 6, 9 } } },
    { "reverse adjacent merged", "bytes=5-9,0-4", 10, 0, RANGE_OK, 1, { { 0, 9 } } },
    { "overlap merged", "bytes=0-5,3-8", 10, 0, RANGE_OK, 1, { { 0, 8 } } },
    { "contained", "bytes=2-3,0-9", 10, 0, RANGE_OK, 1, { { 0, 9 } } },
    { "containing", "bytes=0-9,2-3", 10, 0, RANGE_OK, 1, { { 0, 9 } } },
    { "duplicates", "bytes=0-0,0-0,0-0", 10, 0, RANGE_OK, 1, { { 0, 0 } } },
    { "sorted", "bytes=8-9,0-1,4-5", 10, 0, RANGE_OK, 3, { { 0, 1 }, { 4, 5 }, { 8, 9 } } },
    { "bridge two", "bytes=0-1,4-5,2-3", 10, 0, RANGE_OK, 1, { { 0, 5 } } },
    { "bridge three", "bytes=1-1,3-3,5-5,0-9", 10, 0, RANGE_OK, 1, { { 0, 9 } } },
    { "bridge middle only", "bytes=0-0,2-2,4-4,8-8,1-3", 10, 0, RANGE_OK, 2,
      { { 0, 4 }, { 8, 8 } } },
    { "suffix and open-ended whole", "bytes=-5,0-", 10, 0, RANGE_OK, 1, { { 0, 9 } } },
    { "clamped spans merged", "bytes=8-100,5-200", 10, 0, RANGE_OK, 1, { { 5, 9 } } },
};

static const struct range_case cap_cases[] = {
    { "at cap", "bytes=0-0,2-2", 10, 2, RANGE_OK, 2, { { 0, 0 }, { 2, 2 } } },
    { "over cap", "bytes=0-0,2-2,4-4", 10, 2, RANGE_IGNORE, 0, { { 0, 0 } } },
    { "over cap before merging, not after", "bytes=0-0,2-2,1-1", 10, 2, RANGE_OK, 1,
      { { 0, 2 } } },
    { "many adjacent, cap 1", "bytes=0-0,1-1,2-2,3-3,4-4,5-5", 10, 1, RANGE_OK, 1, { { 0, 5 } } },
    { "unsatisfiable ones do not count", "bytes=0-0,20-,30-,40-", 10, 1, RANGE_OK, 1,
      { { 0, 0 } } },
    /* Merging happens as specs arrive, so a spec that would bridge spans
     * already past the cap comes too late (see range_merge). */
    { "late bridge after overflow", "bytes=0-0,2-2,4-4,0-9", 10, 2, RANGE_IGNORE, 0,
      { { 0, 0 } } },
    { "early cover absorbs the rest", "bytes=0-9,0-0,2-2,4-4", 10, 2, RANGE_OK, 1, { { 0, 9 } } },
};

static void test_range_parse_forms(void **state)
{
    (void)state;
    RUN_TABLE(forms_cases);
}

static void test_range_parse_sizes(void **state)
{
    (void)state;
    RUN_TABLE(size_cases);
}

static void test_range_parse_unit(void **state)
{
    (void)state;
    RUN_TABLE(unit_cases);
}

static void test_range_parse_list(void **state)
{
    (void)state;
    RUN_TABLE(list_cases);
}

static void test_range_parse_syntax(void **state)
{
    (void)state;
    RUN_TABLE(syntax_cases);
}

static void test_range_parse_merge(void **state)
{
    (void)state;
    RUN_TABLE(merge_cases);
}

static void test_range_parse_cap(void **state)
{
    (void)state;
    RUN_TABLE(cap_cases);
}

/* cap 0: anything satisfiable is over the cap, but unsatisfiable stays 416. */
static void test_range_parse_cap_zero(void **state)
{
    (void)state;
    range_run("cap 0 satisfiable", "bytes=0-0", 9, 10, 0, RANGE_IGNORE, 0, NULL);
    range_run("cap 0 unsatisfiable", "bytes=20-", 9, 10, 0, RANGE_UNSATISFIABLE, 0, NULL);
}

/* The DoS shape from CVE-2011-3192: thousands of overlapping ranges must
 * collapse into one span and stay within a cap of 1. */
static void test_range_parse_many_overlapping(void **state)
{
    static const char head[] = "bytes=";
    static const char spec[] = "0-,";
    enum { SPECS = 2000 };
    size_t len = sizeof head - 1 + SPECS * (sizeof spec - 1);
    char *value = malloc(len + 1);
    struct range_span want = { 0, 999 };

    (void)state;
    assert_non_null(value);
    memcpy(value, head, sizeof head - 1);
    for (size_t i = 0; i < SPECS; i++)
        memcpy(value + sizeof head - 1 + i * (sizeof spec - 1), spec, sizeof spec - 1);
    range_run("2000 x 0-", value, len, 1000, 1, RANGE_OK, 1, &want);
    free(value);
}

/* Compare against a byte map for random spec lists on small sizes. With no
 * more specs than the cap, the result must be the exact union. */
static void test_range_parse_matches_bitmap(void **state)
{
    enum { ROUNDS = 20000, SIZES = 24, SPECS_MAX = 6 };
    uint32_t seed = 12345;
    (void)state;

    for (int round = 0; round < ROUNDS; round++) {
        char value[256];
        bool covered[SIZES] = { false };
        struct range_span want[SIZES];
        size_t pos, want_n = 0;

#define NEXT() (seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff)
        uint64_t size = NEXT() % SIZES;
        size_t specs = 1 + NEXT() % SPECS_MAX;

        pos = (size_t)snprintf(value, sizeof value, "bytes=");
        for (size_t s = 0; s < specs; s++) {
            unsigned a = NEXT() % 30, b = NEXT() % 30, kind = NEXT() % 3;
            uint64_t first, last;
            if (kind == 0) {
                if (b < a) {
                    unsigned t = a;
                    a = b;
                    b = t;
                }
                pos += (size_t)snprintf(value + pos, sizeof value - pos, "%s%u-%u",
                                        s ? "," : "", a, b);
                first = a;
                last = b;
            } else if (kind == 1) {
                pos += (size_t)snprintf(value + pos, sizeof value - pos, "%s%u-", s ? "," : "",
                                        a);
                first = a;
                last = UINT64_MAX;
            } else {
                pos += (size_t)snprintf(value + pos, sizeof value - pos, "%s-%u", s ? "," : "",
                                        a);
                first = a >= size ? 0 : size - a;
                last = a == 0 ? 0 : UINT64_MAX;
                if (a == 0)
                    continue; /* unsatisfiable */
            }
            for (uint64_t x = first; x < size && x <= last; x++)
                covered[x] = true;
        }
#undef NEXT
        for (uint64_t x = 0; x < size; x++) {
            if (!covered[x])
                continue;
            if (want_n > 0 && want[want_n - 1].last + 1 == x)
                want[want_n - 1].last = x;
            else
                want[want_n++] = (struct range_span){ x, x };
        }
        range_run(value, value, pos, size, SPECS_MAX,
                  want_n ? RANGE_OK : RANGE_UNSATISFIABLE, want_n, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_parse_forms),
        cmocka_unit_test(test_range_parse_sizes),
        cmocka_unit_test(test_range_parse_unit),
        cmocka_unit_test(test_range_parse_list),
        cmocka_unit_test(test_range_parse_syntax),
        cmocka_unit_test(test_range_parse_merge),
        cmocka_unit_test(test_range_parse_cap),
        cmocka_unit_test(test_range_parse_cap_zero),
        cmocka_unit_test(test_range_parse_many_overlapping),
        cmocka_unit_test(test_range_parse_matches_bitmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
