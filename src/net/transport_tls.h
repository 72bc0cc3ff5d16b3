/* transport_tls — the transport over TLS (OpenSSL 3) on a TCP socket.
 *
 * Everything the connection needs from TLS goes through struct
 * transport_ops (transport.h); what is declared here is how a TLS transport
 * is opened and what the access log and status page may ask of it.
 */
#ifndef LINGERD_TRANSPORT_TLS_H
#define LINGERD_TRANSPORT_TLS_H

#include <openssl/ssl.h>

#include "transport.h"

struct stats;

/* Make t a TLS transport on the connected, non-blocking socket fd, starting
 * with ctx (SNI may switch the certificate's context during the handshake).
 * Handshakes are counted in stats (may be NULL). 0, or -ENOMEM (fd is then
 * still the caller's). */
int transport_tls_open(struct transport *t, int fd, SSL_CTX *ctx, struct stats *stats);

/* Returned by the handshake when the client spoke plain HTTP to the TLS
 * port: the transport is plain TCP from then on, so the connection can say
 * so in words the client reads. */
#define TRANSPORT_TLS_PLAIN_HTTP (-EPROTONOSUPPORT)

/* Whether t is a TLS transport (not one that fell back to plain TCP). */
bool transport_is_tls(const struct transport *t);

/* After the handshake, for logs: the protocol ("TLSv1.3"), the cipher, the
 * name the client asked for (SNI) and the ALPN protocol; NULL when unknown
 * or when t is not TLS. Valid until the transport is closed. */
const char *transport_tls_version(const struct transport *t);
const char *transport_tls_cipher(const struct transport *t);
const char *transport_tls_sni(const struct transport *t);

/* After the handshake: ALPN chose h2 (HTTP/2). */
bool transport_tls_alpn_is_h2(const struct transport *t);

#endif
