/* fuzz_range — the Range field parser (range_parse).
 *
 * Input: a representation size in decimal, a newline, then the field value
 * ("1000\nbytes=0-4,-10"); without a newline the size is 10000. The value is
 * parsed from an exact-size allocation with caps 1, 4 and 16. On RANGE_OK the
 * spans must be inside the representation, sorted, neither overlapping nor
 * touching, at most cap of them; a smaller cap may only turn OK into IGNORE.
 */
#include <string.h>

#include "fuzz.h"
#include "range.h"

static uint64_t fuzz_range_size(const uint8_t *data, size_t size, size_t *skip)
{
    const uint8_t *nl = memchr(data, '\n', size);
    *skip = 0;
    if (!nl)
        return 10000;
    uint64_t v = 0;
    for (const uint8_t *p = data; p < nl && p - data < 20; p++)
        if (*p >= '0' && *p <= '9')
            v = v * 10 + (uint64_t)(*p - '0'); /* may wrap: any size is a fair test */
    *skip = (size_t)(nl - data) + 1;
    return v;
}

static enum range_rc fuzz_range_one(const char *value, size_t len, uint64_t rep, size_t cap)
{
    struct range_span out[16];
    size_t n = 12345;
    enum range_rc rc = range_parse(value, len, rep, out, cap, &n);
    FUZZ_CHECK(rc == RANGE_IGNORE || rc == RANGE_OK || rc == RANGE_UNSATISFIABLE);
    if (rc != RANGE_OK)
        return rc;
    FUZZ_CHECK(n >= 1 && n <= cap);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(out[i].first <= out[i].last);
        FUZZ_CHECK(out[i].last < rep);
        if (i > 0)
            FUZZ_CHECK(out[i - 1].last + 1 < out[i].first);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t skip;
    uint64_t rep = fuzz_range_size(data, size, &skip);
    size_t len = size - skip;
    char *value = malloc(len ? len : 1);
    FUZZ_CHECK(value != NULL);
    memcpy(value, data + skip, len);
    enum range_rc big = fuzz_range_one(value, len, rep, 16);
    enum range_rc mid = fuzz_range_one(value, len, rep, 4);
    enum range_rc one = fuzz_range_one(value, len, rep, 1);
    /* the cap only limits how many spans are served */
    FUZZ_CHECK(mid == big || (big == RANGE_OK && mid == RANGE_IGNORE));
    FUZZ_CHECK(one == mid || (mid == RANGE_OK && one == RANGE_IGNORE));
    /* the empty representation: nothing is satisfiable */
    FUZZ_CHECK(fuzz_range_one(value, len, 0, 16) != RANGE_OK);
    free(value);
    return 0;
}
