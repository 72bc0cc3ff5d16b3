/* fuzz_htpasswd — the htpasswd reader (auth_users_parse) and the Basic
 * credentials decoder (auth_base64_decode, auth_check_basic).
 *
 * The whole input is parsed as an htpasswd file from an exact-size allocation;
 * a parsed file must have at least one user. The input is also decoded as
 * base64 and, for one input in 16 (crypt(3) is slow on purpose: those whose
 * first byte is 0x?0), the rest is checked as an Authorization value against a
 * fixed one-user file; only test:test may pass.
 */
#include <string.h>

#include "auth.h"
#include "fuzz.h"

/* test:test, SHA-512 crypt with the fewest rounds crypt(3) allows (fast). */
static const char fuzz_users_text[] =
    "test:$6$rounds=1000$saltsaltsalt$"
    "M5YXZP2ruRtaqDQINAK43o8XAHZwqG0mc3He6Q/Mn.uhHxINcvz3oafMSGelq5bDiiPFtapiNvbgvXzkztJOu1\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct auth_users *fixed;
    char err[256];
    char *text = malloc(size ? size : 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);

    err[0] = '\0';
    struct auth_users *u = auth_users_parse(text, size, err, sizeof err);
    if (u) {
        FUZZ_CHECK(auth_users_count(u) >= 1);
        auth_users_free(u);
    } else {
        FUZZ_CHECK(err[0] != '\0'); /* a refusal says why */
    }

    unsigned char out[256];
    long n = auth_base64_decode(text, size, out, sizeof out);
    FUZZ_CHECK(n >= -1 && n <= (long)sizeof out);

    if (size > 0 && (data[0] & 15) == 0) {
        if (!fixed)
            fixed = auth_users_parse(fuzz_users_text, sizeof fuzz_users_text - 1, err, sizeof err);
        FUZZ_CHECK(fixed != NULL);
        bool ok = auth_check_basic_at(fixed, text + 1, size - 1, 0);
        /* only test:test passes ("Basic dGVzdDp0ZXN0", any case, 1*SP) */
        FUZZ_CHECK(!ok || (size - 1 >= 18 && memcmp(text + size - 12, "dGVzdDp0ZXN0", 12) == 0));
    }
    free(text);
    return 0;
}
