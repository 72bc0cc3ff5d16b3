/* fuzz_accept_encoding — the Accept-Encoding parser (accept_encoding.c).
 *
 * Input: the field value, any bytes; a newline splits it into several field
 * lines. The value is read from exact-size allocations. Checked: weights
 * stay in 0..1000; the chosen coding is one offered (or identity) and has a
 * weight above 0 unless it is the identity fallback; never a coding weighed
 * below another offered one; the same verdict whether the lines are given
 * one by one or joined with commas into one line (RFC 9110 §5.3).
 */
#include <string.h>

#include "accept_encoding.h"
#include "fuzz.h"

static void fuzz_ae_check(const struct accept_encoding *ae)
{
    for (unsigned offered = 0; offered < (1u << ACCEPT_CODING_COUNT); offered++) {
        enum accept_coding c = accept_encoding_choose(ae, offered);
        FUZZ_CHECK(c == ACCEPT_IDENTITY || (offered & (1u << c)));
        uint16_t w = accept_encoding_weight(ae, c);
        FUZZ_CHECK(w <= 1000);
        FUZZ_CHECK(c == ACCEPT_IDENTITY || w > 0);
        for (unsigned o = 0; o < ACCEPT_CODING_COUNT; o++)
            if ((offered | (1u << ACCEPT_IDENTITY)) & (1u << o))
                FUZZ_CHECK(accept_encoding_weight(ae, (enum accept_coding)o) <= w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct accept_encoding lines, joined;
    accept_encoding_init(&lines);
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n')
            continue;
        size_t len = i - start;
        char *line = malloc(len ? len : 1);
        FUZZ_CHECK(line != NULL);
        memcpy(line, data + start, len);
        accept_encoding_add(&lines, line, len);
        free(line);
        start = i + 1;
    }
    char *all = malloc(size ? size : 1);
    FUZZ_CHECK(all != NULL);
    for (size_t i = 0; i < size; i++)
        all[i] = data[i] == '\n' ? ',' : (char)data[i];
    accept_encoding_init(&joined);
    accept_encoding_add(&joined, all, size);
    free(all);
    fuzz_ae_check(&lines);
    fuzz_ae_check(&joined);
    for (unsigned c = 0; c < ACCEPT_CODING_COUNT; c++)
        FUZZ_CHECK(accept_encoding_weight(&lines, (enum accept_coding)c) ==
                   accept_encoding_weight(&joined, (enum accept_coding)c));
    return 0;
}
