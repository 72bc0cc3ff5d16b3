/* tls_store — certificates, keys and TLS settings turned into SSL_CTXs.
 *
 * One SSL_CTX per certificate, each with every TLS setting of the
 * configuration. A TLS connection starts on the default context (the first
 * certificate's); the servername callback (SNI) moves it to the context
 * whose certificate names the host the client asked for. A certificate may
 * be added or replaced at run time from PEM in memory, whatever its source
 * (the files of tls_certificate, later an ACME client): a connection keeps
 * the context it started with, since OpenSSL counts references to it.
 *
 * Not here: SSL objects, handshakes and the close (the TLS transport), and
 * when the ticket keys rotate (the master; keys: tls_tickets.h).
 */
#ifndef LINGERD_TLS_STORE_H
#define LINGERD_TLS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <openssl/ssl.h>

struct config;
struct tls_tickets;

/* A certificate this close to its end is worth a warning (lingerd -t). */
#define TLS_STORE_EXPIRY_WARN_DAYS 30

struct tls_store;

/* Build a context for every tls_certificate of cfg, in order, with cfg's TLS
 * settings. tickets: the shared ticket keys (not owned; must outlive the
 * store), or NULL to issue no tickets (lingerd -t, the master's checks).
 * NULL on error with "FILE:LINE: message" (or "tls_ciphers: ...") in err.
 * A cfg without certificates gives an empty store (no default context). */
struct tls_store *tls_store_new(const struct config *cfg, struct tls_tickets *tickets,
                                char *err, size_t err_len);

/* Free the store and drop its references to the contexts; connections
 * still using one keep it until SSL_free. NULL is ignored. */
void tls_store_free(struct tls_store *s);

/* The context new connections start with (the first certificate's; SNI and
 * ALPN callbacks set), or NULL if the store is empty. Borrowed: take
 * SSL_new(ctx), which holds its own reference, before the store changes. */
SSL_CTX *tls_store_default_ctx(const struct tls_store *s);

/* The context SNI picks for host name (any case, no trailing dot): an
 * exact DNS name first, then a one-label wildcard, else the default. */
SSL_CTX *tls_store_ctx_for_name(const struct tls_store *s, const char *name);

/* Add a certificate (PEM: the leaf, then its chain) and its private key
 * (PEM, unencrypted) as the last entry; where names the source in messages
 * ("FILE:LINE", "acme"). 0, or -1 with "where: message" in err (bad PEM,
 * key does not match, store full). */
int tls_store_add_pem(struct tls_store *s, const char *cert_pem, size_t cert_len,
                      const char *key_pem, size_t key_len, const char *where, char *err,
                      size_t err_len);

/* Replace entry i (0 is the default) with a new certificate and key, as
 * tls_store_add_pem builds them. New connections use it at once; those in
 * flight keep the old context. 0, or -1 with the message in err (entry i is
 * then unchanged). */
int tls_store_replace(struct tls_store *s, size_t i, const char *cert_pem, size_t cert_len,
                      const char *key_pem, size_t key_len, const char *where, char *err,
                      size_t err_len);

/* Certificates held. */
size_t tls_store_count(const struct tls_store *s);

/* For lingerd -t and reloads: each key matches its certificate (-1 and a
 * "FILE:LINE: ..." line to out if not); a "FILE:LINE: warning: ..." line
 * for each certificate expired, not yet valid or expiring within
 * TLS_STORE_EXPIRY_WARN_DAYS at now. 0 or -1. */
int tls_store_check(const struct tls_store *s, time_t now, FILE *out);

/* Whether the kernel offers kTLS: "tls" in
 * /proc/sys/net/ipv4/tcp_available_ulp (the module is loaded). */
bool tls_store_ktls_available(void);

/* Whether s's contexts ask OpenSSL for kTLS: ktls on, and the kernel offered
 * it when s was built (tls_store_ktls_available then). */
bool tls_store_uses_ktls(const struct tls_store *s);

/* Whether a tcp_available_ulp text (words separated by blanks) lists tls. */
bool tls_store_ulp_list_has_tls(const char *text);

/* Whether a certificate name matches host (both lower case): equal, or
 * pattern "*.rest" and host one non-empty label followed by ".rest". */
bool tls_store_name_matches(const char *pattern, const char *host);

#endif
