/* fuzz_tls_name — matching a certificate name against the SNI name
 * (tls_store_name_matches), which picks the certificate a client gets.
 *
 * Input: "PATTERN\nHOST" (no newline: the whole input is both). Both are
 * NUL-terminated copies of exact size. The verdict must equal a reference
 * written the slow, obvious way from RFC 6125 §6.4.3's rules as lingerd
 * applies them: equal strings match; "*.REST" matches one non-empty label
 * without a dot, then ".REST"; nothing else matches.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "tls_store.h"

static bool fuzz_tls_name_reference(const char *pattern, const char *host)
{
    if (strcmp(pattern, host) == 0)
        return true;
    if (strncmp(pattern, "*.", 2) != 0)
        return false;
    const char *rest = pattern + 1; /* ".example.com" */
    size_t rlen = strlen(rest), hlen = strlen(host);
    if (hlen <= rlen)
        return false;
    size_t label = hlen - rlen;
    if (memcmp(host + label, rest, rlen) != 0)
        return false;
    for (size_t i = 0; i < label; i++)
        if (host[i] == '.')
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    const uint8_t *h = nl ? nl + 1 : data;
    size_t hlen = nl ? size - plen - 1 : size;
    if (memchr(data, '\0', size))
        return 0; /* names come from C strings: no NUL inside */
    char *pattern = malloc(plen + 1), *host = malloc(hlen + 1);
    FUZZ_CHECK(pattern && host);
    memcpy(pattern, data, plen);
    pattern[plen] = '\0';
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    FUZZ_CHECK(tls_store_name_matches(pattern, host) == fuzz_tls_name_reference(pattern, host));
    free(pattern);
    free(host);
    return 0;
}
