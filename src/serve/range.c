/* range — Range header arithmetic (RFC 9110 §14.1-14.4).
 *
 * Accepts "bytes=" (unit case-insensitive, §14.1) followed by a list of
 * "first-last", "first-" and "-suffix" specs. Leaves out other units and
 * If-Range (static.c decides whether to call us at all).
 *
 * Invariant while parsing: out[0..*n) is sorted by first, and no two spans
 * overlap or touch (a.last + 1 < b.first). Each satisfiable spec is merged
 * into that set as it is read, so the work is bounded by the cap and no
 * scratch memory is needed. Coalescing is allowed by §14.2 and defeats the
 * "many small overlapping ranges" amplification (CVE-2011-3192).
 *
 * Any syntax error anywhere makes the whole field invalid, and an invalid
 * Range is ignored (§14.2): the caller serves 200.
 */
#include "range.h"

#include <stdbool.h>
#include <string.h>

/* 19 decimal digits always fit in uint64_t (max 18446744073709551615 has 20),
 * so bounding the digit count rules out overflow without a check per digit. */
#define RANGE_DIGITS_MAX 19

static bool range_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool range_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char range_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Read 1*DIGIT at s[*i..len). False if there is none or it is too long. */
static bool range_read_number(const char *s, size_t len, size_t *i, uint64_t *v)
{
    size_t start = *i;
    uint64_t x = 0;

    while (*i < len && range_is_digit(s[*i])) {
        if (*i - start == RANGE_DIGITS_MAX)
            return false;
        x = x * 10 + (uint64_t)(s[*i] - '0');
        (*i)++;
    }
    if (*i == start)
        return false;
    *v = x;
    return true;
}

/* Merge [first, last] into the sorted, disjoint, non-adjacent set out[0..*n).
 * False if the set would need more than cap spans. */
static bool range_merge(struct range_span *out, size_t cap, size_t *n, uint64_t first,
                        uint64_t last)
{
    size_t i = 0, j;

    /* Skip spans that end before first with a gap; last < size <= UINT64_MAX,
     * so last + 1 cannot wrap. */
    while (i < *n && out[i].last + 1 < first)
        i++;
    /* out[i..j) overlap or touch the new span. */
    j = i;
    while (j < *n && out[j].first <= last + 1)
        j++;
    if (j > i) {
        if (out[i].first < first)
            first = out[i].first;
        if (out[j - 1].last > last)
            last = out[j - 1].last;
    } else if (*n == cap) {
        /* A later spec might still bridge two spans, but we have nowhere to
         * keep the extra one; a client that needs more than cap disjoint
         * spans at any point gets the whole representation instead. */
        return false;
    }
    /* Replace out[i..j) by one span. */
    memmove(&out[i + 1], &out[j], (*n - j) * sizeof *out);
    *n = *n - (j - i) + 1;
    out[i].first = first;
    out[i].last = last;
    return true;
}

enum range_rc range_parse(const char *value, size_t len, uint64_t size,
                          struct range_span *out, size_t cap, size_t *n)
{
    static const char unit[] = "bytes=";
    size_t i, specs = 0, count = 0;

    *n = 0; /* stays 0 unless RANGE_OK */
    if (len < sizeof unit - 1)
        return RANGE_IGNORE;
    for (i = 0; i < sizeof unit - 1; i++)
        if (range_lower(value[i]) != unit[i])
            return RANGE_IGNORE;

    /* range-set = 1#range-spec. The list rule (§5.6.1) lets a recipient
     * accept empty elements and OWS around commas; we also accept OWS at the
     * ends, which a field-value has anyway before it is trimmed. */
    for (;;) {
        uint64_t first, last;
        bool satisfiable;

        while (i < len && range_is_ows(value[i]))
            i++;
        if (i == len)
            break;
        if (value[i] == ',') {
            i++;
            continue;
        }

        if (value[i] == '-') {
            /* suffix-range = "-" suffix-length: the last n bytes (§14.1.1). */
            uint64_t suffix;
            i++;
            if (!range_read_number(value, len, &i, &suffix))
                return RANGE_IGNORE;
            satisfiable = suffix > 0 && size > 0;
            first = suffix >= size ? 0 : size - suffix;
            last = size > 0 ? size - 1 : 0;
        } else {
            /* int-range = first-pos "-" [ last-pos ] */
            if (!range_read_number(value, len, &i, &first))
                return RANGE_IGNORE;
            if (i == len || value[i] != '-')
                return RANGE_IGNORE;
            i++;
            last = UINT64_MAX;
            if (i < len && range_is_digit(value[i])) {
                if (!range_read_number(value, len, &i, &last))
                    return RANGE_IGNORE;
                /* §14.1.1: last-pos < first-pos makes the spec invalid. */
                if (last < first)
                    return RANGE_IGNORE;
            }
            satisfiable = first < size;
            if (satisfiable && last > size - 1)
                last = size - 1;
        }
        specs++;

        /* The spec must end here: OWS then ',' or the end of the value. */
        while (i < len && range_is_ows(value[i]))
            i++;
        if (i < len && value[i] != ',')
            return RANGE_IGNORE;

        if (satisfiable && !range_merge(out, cap, &count, first, last))
            return RANGE_IGNORE;
    }

    if (specs == 0)
        return RANGE_IGNORE; /* "bytes=" or "bytes= , ": 1#range-spec needs one */
    if (count == 0)
        return RANGE_UNSATISFIABLE;
    *n = count;
    return RANGE_OK;
}
