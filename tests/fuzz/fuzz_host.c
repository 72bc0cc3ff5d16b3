/* fuzz_host — the virtual-host matcher (vhost.c).
 *
 * Input: server names, one a line, then an empty line, then the host to
 * select for ("a.example\n*.example\n\nX.A.Example:80"); without an empty
 * line the whole input is the host, against a fixed table. Names the check
 * refuses are left out. The host is read from an exact-size allocation.
 * The name is the host up to its port. Properties: the selected server is
 * one of the table's or the default;
 * normalising never grows the host, yields lower case only, and is
 * idempotent; a host equal to an added exact name selects its server.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "vhost.h"

#define FUZZ_HOST_DEFAULT 1000u

static void fuzz_host_check_normalize(const char *host, size_t len)
{
    char out[VHOST_NAME_MAX + 1], again[VHOST_NAME_MAX + 1];
    size_t n = vhost_normalize(host, len, out, sizeof out);
    FUZZ_CHECK(n <= len && n <= sizeof out);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(!(out[i] >= 'A' && out[i] <= 'Z'));
    if (n > 0 && out[0] != '[' && memchr(out, ':', n) == NULL) {
        size_t m = vhost_normalize(out, n, again, sizeof again);
        /* a second pass may only drop one more trailing dot */
        FUZZ_CHECK(m == n || (m + 1 == n && out[n - 1] == '.'));
        FUZZ_CHECK(memcmp(out, again, m) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fixed[] = { "a.example", "*.example", "*.b.example", "[::1]" };
    struct vhost_table *t = vhost_table_new(FUZZ_HOST_DEFAULT);
    const uint8_t *sep = NULL;
    uint32_t added = 0;
    char exact[8][VHOST_NAME_MAX + 8]; /* the first accepted exact names */
    uint32_t exact_server[8], exact_count = 0;

    FUZZ_CHECK(t != NULL);
    for (size_t i = 0; i + 1 < size; i++)
        if (data[i] == '\n' && data[i + 1] == '\n') {
            sep = data + i;
            break;
        }
    if (sep) {
        const uint8_t *p = data;
        while (p < sep && added < 64) {
            const uint8_t *nl = memchr(p, '\n', (size_t)(sep - p) + 1);
            char name[VHOST_NAME_MAX + 8], err[160];
            size_t n = (size_t)(nl - p);
            if (n < sizeof name && memchr(p, '\0', n) == NULL) {
                memcpy(name, p, n);
                name[n] = '\0';
                if (vhost_name_check(name, err, sizeof err) == 0) {
                    uint32_t owner = 0;
                    int rc = vhost_table_add(t, name, added, &owner);
                    FUZZ_CHECK(rc == 0 || (rc == -EEXIST && owner < added));
                    if (rc == 0 && name[0] != '*' && exact_count < 8) {
                        memcpy(exact[exact_count], name, n + 1);
                        exact_server[exact_count++] = added;
                    }
                }
            }
            added++;
            p = nl + 1;
        }
    } else {
        for (uint32_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            FUZZ_CHECK(vhost_table_add(t, fixed[i], i, NULL) == 0);
        added = sizeof fixed / sizeof fixed[0];
    }
    FUZZ_CHECK(vhost_table_seal(t) == 0);

    size_t skip = sep ? (size_t)(sep - data) + 2 : 0;
    size_t len = size - skip;
    char *host = malloc(len ? len : 1);
    FUZZ_CHECK(host != NULL);
    memcpy(host, data + skip, len);
    /* the name without its port, as http1.c delimits it */
    const char *end = len && host[0] == '[' ? memchr(host, ']', len) : memchr(host, ':', len);
    size_t name_len = end ? (size_t)(end - host) + (host[0] == '[') : len;
    uint32_t got = vhost_select(t, host, name_len);
    FUZZ_CHECK(got == FUZZ_HOST_DEFAULT || got < added);
    for (uint32_t i = 0; i < exact_count; i++) /* a configured name finds its block */
        FUZZ_CHECK(vhost_select(t, exact[i], strlen(exact[i])) == exact_server[i]);
    fuzz_host_check_normalize(host, len);
    free(host);
    vhost_table_free(t);
    return 0;
}
