/* tls_sniff — tell a TLS ClientHello from a plain HTTP request by its first
 * bytes, so a TLS port can answer a plain-HTTP client in words it reads.
 * Pure: no I/O, no OpenSSL.
 */
#ifndef LINGERD_TLS_SNIFF_H
#define LINGERD_TLS_SNIFF_H

#include <stddef.h>

enum tls_sniff {
    TLS_SNIFF_MORE,       /* too few bytes to tell: look again when more come */
    TLS_SNIFF_TLS,        /* a TLS record, or anything else the TLS layer refuses */
    TLS_SNIFF_PLAIN_HTTP, /* an HTTP request line: a method and a space */
};

/* What buf[0..len) begins with: the first bytes the client sent. At most
 * TLS_SNIFF_BYTES of them are ever needed: that many always decide. */
#define TLS_SNIFF_BYTES 24
enum tls_sniff tls_sniff(const unsigned char *buf, size_t len);

const char *tls_sniff_name(enum tls_sniff s);

#endif
