/* fuzz_tls_sniff — the plain-HTTP-or-TLS verdict on a TLS port (tls_sniff).
 *
 * Input: the first bytes a client sends. Each prefix is judged from an
 * exact-size copy (ASan catches a read past it). Properties: once a prefix
 * is decided (TLS or PLAIN_HTTP), every longer prefix gets the same verdict,
 * so looking again when more bytes come never changes a decision; and
 * TLS_SNIFF_BYTES bytes always decide.
 */
#include <string.h>

#include "fuzz.h"
#include "tls_sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum tls_sniff decided = TLS_SNIFF_MORE;
    for (size_t k = 0; k <= size && k <= 2 * TLS_SNIFF_BYTES; k++) {
        unsigned char *copy = malloc(k ? k : 1);
        FUZZ_CHECK(copy != NULL);
        memcpy(copy, data, k);
        enum tls_sniff s = tls_sniff(copy, k);
        free(copy);
        FUZZ_CHECK(s == TLS_SNIFF_MORE || s == TLS_SNIFF_TLS || s == TLS_SNIFF_PLAIN_HTTP);
        FUZZ_CHECK(tls_sniff_name(s) != NULL);
        if (decided != TLS_SNIFF_MORE)
            FUZZ_CHECK(s == decided);
        else
            decided = s;
        if (k >= TLS_SNIFF_BYTES)
            FUZZ_CHECK(s != TLS_SNIFF_MORE);
    }
    return 0;
}
