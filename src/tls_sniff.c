/* tls_sniff — see tls_sniff.h.
 *
 * A TLS connection opens with a handshake record, content type 22 (RFC 8446
 * §5.1; SSL 2's ClientHello, which started otherwise, is long gone). An
 * HTTP/1 request opens with a method, an upper-case token in practice, then
 * a space (RFC 9112 §3). The longest registered method is 16 letters or
 * fewer ("UPDATEREDIRECTREF" is 17: we stop at 16 and call it TLS, which the
 * handshake then refuses): 16 letters and a space decide every case.
 */
#include "tls_sniff.h"

#include <assert.h>

#define TLS_SNIFF_HANDSHAKE 0x16
#define TLS_SNIFF_METHOD_MAX (TLS_SNIFF_BYTES - 1)

static const char *const tls_sniff_names[] = {
    [TLS_SNIFF_MORE] = "more",
    [TLS_SNIFF_TLS] = "tls",
    [TLS_SNIFF_PLAIN_HTTP] = "plain-http",
};
static_assert(sizeof tls_sniff_names / sizeof tls_sniff_names[0] == TLS_SNIFF_PLAIN_HTTP + 1,
              "a name for every verdict");

const char *tls_sniff_name(enum tls_sniff s)
{
    return tls_sniff_names[s];
}

enum tls_sniff tls_sniff(const unsigned char *buf, size_t len)
{
    if (len == 0)
        return TLS_SNIFF_MORE;
    if (buf[0] == TLS_SNIFF_HANDSHAKE)
        return TLS_SNIFF_TLS;
    size_t i = 0;
    while (i < len && i < TLS_SNIFF_METHOD_MAX && buf[i] >= 'A' && buf[i] <= 'Z')
        i++;
    if (i == len)
        return i < TLS_SNIFF_METHOD_MAX ? TLS_SNIFF_MORE : TLS_SNIFF_TLS;
    if (i > 0 && buf[i] == ' ')
        return TLS_SNIFF_PLAIN_HTTP;
    return TLS_SNIFF_TLS;
}
