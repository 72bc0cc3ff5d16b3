/* tls_sniff — see tls_sniff.h.
 *
 * A TLS connection opens with a handshake record, content type 22 (RFC 8446
 * §5.1; SSL 2's ClientHello, which started otherwise, is long gone). An
 * HTTP/1 request opens with a method, in practice upper-case letters and
 * hyphens ("VERSION-CONTROL"), then a space (RFC 9112 §3). The longest
 * registered method, UPDATEREDIRECTREF, has 17; TLS_SNIFF_BYTES (24) bytes
 * decide every case: that many method characters in a row are not HTTP.
 */
#include "tls_sniff.h"

#include <assert.h>
#include <stdbool.h>

#define TLS_SNIFF_HANDSHAKE 0x16

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

static bool tls_sniff_is_method_char(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || ch == '-';
}

enum tls_sniff tls_sniff(const unsigned char *buf, size_t len)
{
    if (len == 0)
        return TLS_SNIFF_MORE;
    if (buf[0] == TLS_SNIFF_HANDSHAKE)
        return TLS_SNIFF_TLS;
    size_t i = 0;
    while (i < len && i < TLS_SNIFF_BYTES && tls_sniff_is_method_char(buf[i]))
        i++;
    if (i == TLS_SNIFF_BYTES)
        return TLS_SNIFF_TLS; /* longer than any method */
    if (i == len)
        return TLS_SNIFF_MORE;
    return i > 0 && buf[i] == ' ' ? TLS_SNIFF_PLAIN_HTTP : TLS_SNIFF_TLS;
}
