/* fuzz_proxy_protocol — the PROXY protocol header parser (proxy_protocol).
 *
 * Input: the first bytes a balancer (or anyone) sends. Each prefix is parsed
 * from an exact-size copy (ASan catches a read past it). Properties: a
 * verdict, once given, never changes as more bytes come (DONE keeps its
 * length, INVALID stays INVALID), so peeking again is safe; a header never
 * claims more bytes than were given, nor more than its bound (107 for v1,
 * max_bytes for v2); PROXY carries family 4 or 6, LOCAL 0 or 1.
 */
#include <string.h>

#include "fuzz.h"
#include "proxy_protocol.h"

#define FUZZ_PROXY_MAX_BYTES 536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum proxy_rc decided = PROXY_NEED_MORE;
    uint32_t decided_length = 0;
    for (size_t k = 0; k <= size && k <= FUZZ_PROXY_MAX_BYTES + 8; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        FUZZ_CHECK(copy != NULL);
        memcpy(copy, data, k);
        struct proxy_header h;
        enum proxy_rc rc = proxy_protocol_parse(copy, k, FUZZ_PROXY_MAX_BYTES, &h);
        free(copy);
        if (rc == PROXY_DONE) {
            FUZZ_CHECK(h.length > 0 && h.length <= k);
            FUZZ_CHECK(h.version == 1 ? h.length <= PROXY_V1_MAX_BYTES
                                      : h.length <= FUZZ_PROXY_MAX_BYTES);
            FUZZ_CHECK(h.command == PROXY_CMD_PROXY ? (h.family == 4 || h.family == 6)
                                                    : h.family <= 1);
            FUZZ_CHECK(proxy_command_name((enum proxy_command)h.command)[0] != '?');
        }
        if (rc == PROXY_INVALID)
            FUZZ_CHECK(h.reason != NULL);
        if (decided != PROXY_NEED_MORE) {
            FUZZ_CHECK(rc == decided);
            if (rc == PROXY_DONE)
                FUZZ_CHECK(h.length == decided_length);
        } else {
            decided = rc;
            decided_length = rc == PROXY_DONE ? h.length : 0;
        }
    }
    return 0;
}
