/* tls_store — certificates, keys and TLS settings turned into SSL_CTXs.
 *
 * Every context gets the same settings (configure below); they differ only
 * in their certificate and key. Why each setting:
 *
 * - min/max protocol from tls_protocols; nothing below TLS 1.2 (RFC 8996).
 * - SSL_OP_CIPHER_SERVER_PREFERENCE: our order of tls_ciphers wins over a
 *   client's that lists weaker ciphers first.
 * - SSL_OP_NO_RENEGOTIATION: a client-started renegotiation costs the server
 *   a full handshake each time (a cheap DoS) and HTTP/1.1 needs none.
 * - SSL_OP_NO_COMPRESSION: CRIME (compression leaks secrets in a stream).
 * - SSL_MODE_RELEASE_BUFFERS: an idle keep-alive connection gives its
 *   read/write buffers back (about 34 KiB each, nginx's measure);
 *   ENABLE_PARTIAL_WRITE and ACCEPT_MOVING_WRITE_BUFFER: the transport
 *   writes from an output queue that moves and may take part of a write,
 *   as it does over plain TCP.
 * - Session resumption by tickets only, server cache off: a cache lives in
 *   one worker, while a client's next connection may reach another; the
 *   shared ticket keys (tls_tickets.h) make every worker resume every
 *   ticket, for no memory per session. A session (so a ticket) lives one
 *   rotation period, which OpenSSL enforces; a key opens tickets for two,
 *   so a ticket made just before a rotation still resumes after it.
 *   tls_session_tickets off: no resumption.
 * - SSL_OP_ENABLE_KTLS only when ktls is on and the kernel offers it;
 *   OpenSSL then hands the record keys to the kernel after the handshake.
 * - ALPN: h2 (when the http2 setting is on) before http/1.1, in the server's
 *   order of preference; a client that offers ALPN with neither gets the
 *   fatal no_application_protocol alert (RFC 7301 3.2).
 *
 * Certificates come in as PEM in memory (tls_store_add_pem), so the files
 * of tls_certificate and any later source take one path. SNI picks by the
 * leaf's subjectAltName DNS names (the subject CN only if there is none,
 * as RFC 6125 6.4.4 allows).
 */
#include "tls_store.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "tls_tickets.h"

#define TLS_STORE_PEM_MAX_BYTES (1u << 20) /* a certificate chain is a few KiB */
#define TLS_STORE_NAME_MAX 255             /* a DNS name (RFC 1035 2.3.4), plus NUL */
#define TLS_STORE_ULP_PATH "/proc/sys/net/ipv4/tcp_available_ulp"

/* The one protocol ALPN may choose (RFC 7301 3.1; its registered name). */

struct tls_store_cert {
    SSL_CTX *ctx;
    char **names;  /* lower case: subjectAltName DNS names, or the CN */
    size_t name_count;
    char where[CONFIG_WHERE_MAX];
};

struct tls_store {
    struct tls_store_cert certs[CONFIG_TLS_CERT_MAX]; /* [0]: the default */
    size_t count;
    /* the settings, copied: the store outlives the configuration it came from */
    int min_version, max_version;
    char *ciphers, *ciphersuites;
    long ticket_lifetime_s;
    bool http2; /* ALPN offers h2 */
    bool ktls;
    struct tls_tickets *tickets; /* NULL: no tickets */
    EVP_CIPHER *ticket_cipher;   /* AES-256-CBC, fetched once: OpenSSL 3 would
                                  * look the provider up on every ticket */
};

/* The reason of OpenSSL's last error into buf, and the error queue cleared,
 * so one failure never shows up in the next message. */
static const char *tls_store_ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    snprintf(buf, len, "%s", r ? r : "unknown OpenSSL error");
    ERR_clear_error();
    return buf;
}

/* ---- callbacks ---------------------------------------------------------- */

bool tls_store_name_matches(const char *pattern, const char *host)
{
    size_t plen, hlen;
    const char *label_end;

    if (strcmp(pattern, host) == 0)
        return true;
    if (pattern[0] != '*' || pattern[1] != '.')
        return false;
    plen = strlen(pattern + 1); /* ".example.com" */
    hlen = strlen(host);
    if (hlen <= plen || strcmp(host + hlen - plen, pattern + 1) != 0)
        return false;
    /* exactly one label in place of '*': a.example.com, not a.b.example.com */
    label_end = strchr(host, '.');
    return label_end == host + hlen - plen;
}

SSL_CTX *tls_store_ctx_for_name(const struct tls_store *s, const char *name)
{
    char host[TLS_STORE_NAME_MAX + 1];
    size_t n = strlen(name);

    if (s->count == 0)
        return NULL;
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n > TLS_STORE_NAME_MAX)
        return s->certs[0].ctx;
    for (size_t i = 0; i < n; i++)
        host[i] = (char)tolower((unsigned char)name[i]);
    host[n] = '\0';
    /* an exact name wins over a wildcard, whichever certificate comes first */
    for (size_t i = 0; i < s->count; i++)
        for (size_t k = 0; k < s->certs[i].name_count; k++)
            if (strcmp(s->certs[i].names[k], host) == 0)
                return s->certs[i].ctx;
    for (size_t i = 0; i < s->count; i++)
        for (size_t k = 0; k < s->certs[i].name_count; k++)
            if (s->certs[i].names[k][0] == '*'
                && tls_store_name_matches(s->certs[i].names[k], host))
                return s->certs[i].ctx;
    return s->certs[0].ctx;
}

/* SNI: move the connection to the context of the name asked for. A name
 * nobody serves gets the default certificate, as nginx and Apache do: the
 * client then reports the mismatch, which says more than a failed handshake. */
static int tls_store_on_servername(SSL *ssl, int *alert, void *arg)
{
    const struct tls_store *s = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    SSL_CTX *ctx;

    (void)alert;
    if (!name)
        return SSL_TLSEXT_ERR_OK; /* no SNI: the default context */
    ctx = tls_store_ctx_for_name(s, name);
    if (ctx && ctx != SSL_get_SSL_CTX(ssl) && !SSL_set_SSL_CTX(ssl, ctx))
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    return SSL_TLSEXT_ERR_OK;
}

static int tls_store_on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                             const unsigned char *in, unsigned int inlen, void *arg)
{
    /* OpenSSL's own list matcher walks our list in order: h2 if the client
     * offers it (and http2 is on), else http/1.1, else
     * no_application_protocol (RFC 7301 §3.2). */
    static const unsigned char with_h2[] = "\x02h2\x08http/1.1";
    static const unsigned char h11_only[] = "\x08http/1.1";
    const struct tls_store *s = arg;
    (void)ssl;
    const unsigned char *ours = s && s->http2 ? with_h2 : h11_only;
    unsigned ours_len = s && s->http2 ? sizeof with_h2 - 1 : sizeof h11_only - 1;
    if (SSL_select_next_proto((unsigned char **)out, outlen, ours, ours_len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    return SSL_TLSEXT_ERR_OK;
}

/* Seal a new ticket with the current key, or open one with the key its
 * name points to: 1 go on; 2 go on and issue a fresh ticket (it was sealed
 * with the previous key, which the next rotation wipes); 0 no ticket or
 * unknown key (a full handshake); -1 error. */
static int tls_store_on_ticket(SSL *ssl, unsigned char *name, unsigned char *iv,
                               EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    static char digest[] = "SHA256";
    const struct tls_store *s = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    struct tls_ticket_key key;
    OSSL_PARAM params[3];
    int rc, ok;

    if (!s || !s->tickets || !s->ticket_cipher)
        return 0;
    const EVP_CIPHER *cipher = s->ticket_cipher;
    if (enc) {
        if (!tls_tickets_current(s->tickets, &key))
            return 0;
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1) {
            OPENSSL_cleanse(&key, sizeof key);
            return -1;
        }
        memcpy(name, key.name, TLS_TICKETS_NAME_LEN);
        rc = 1;
    } else {
        rc = tls_tickets_find(s->tickets, name, &key);
        if (rc == 0)
            return 0;
    }
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac_key,
                                                  sizeof key.hmac_key);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[2] = OSSL_PARAM_construct_end();
    ok = enc ? EVP_EncryptInit_ex(cctx, cipher, NULL, key.aes_key, iv)
             : EVP_DecryptInit_ex(cctx, cipher, NULL, key.aes_key, iv);
    if (ok != 1 || EVP_MAC_CTX_set_params(hctx, params) != 1)
        rc = -1;
    OPENSSL_cleanse(&key, sizeof key);
    return rc;
}

/* ---- contexts ----------------------------------------------------------- */

/* Every setting of the store on ctx (see the header comment). 0, or -1
 * with the message in err. */
static int tls_store_configure(struct tls_store *s, SSL_CTX *ctx, char *err, size_t errlen)
{
    static const unsigned char sid_ctx[] = "lingerd";
    uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE
                    | SSL_OP_NO_RENEGOTIATION;
    char why[128];

    if (!s->tickets)
        opts |= SSL_OP_NO_TICKET;
    if (s->ktls)
        opts |= SSL_OP_ENABLE_KTLS;
    SSL_CTX_set_options(ctx, opts);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE
                              | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!SSL_CTX_set_min_proto_version(ctx, s->min_version)
        || !SSL_CTX_set_max_proto_version(ctx, s->max_version)) {
        snprintf(err, errlen, "tls_protocols: %s", tls_store_ssl_reason(why, sizeof why));
        return -1;
    }
    if (!SSL_CTX_set_cipher_list(ctx, s->ciphers)) {
        snprintf(err, errlen, "tls_ciphers '%s': %s", s->ciphers,
                 tls_store_ssl_reason(why, sizeof why));
        return -1;
    }
    if (!SSL_CTX_set_ciphersuites(ctx, s->ciphersuites)) {
        snprintf(err, errlen, "tls_ciphersuites '%s': %s", s->ciphersuites,
                 tls_store_ssl_reason(why, sizeof why));
        return -1;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* the same on every context, so a session survives the SNI switch */
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    if (s->tickets) {
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_store_on_ticket);
        SSL_CTX_set_timeout(ctx, s->ticket_lifetime_s);
    } else {
        SSL_CTX_set_num_tickets(ctx, 0); /* TLS 1.3 would send tickets nobody can open */
    }
    SSL_CTX_set_app_data(ctx, s);
    SSL_CTX_set_tlsext_servername_callback(ctx, tls_store_on_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx, s);
    SSL_CTX_set_alpn_select_cb(ctx, tls_store_on_alpn, s);
    return 0;
}

/* Never prompt on a terminal for a passphrase: keys must be unencrypted. */
static int tls_store_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* The leaf and then the chain, from PEM in memory. 0 or -1 (message in err). */
static int tls_store_use_chain(SSL_CTX *ctx, const char *pem, size_t len, char *err,
                               size_t errlen)
{
    char why[128];
    BIO *bio;
    X509 *x;
    int rc = -1;

    if (len > INT32_MAX || !(bio = BIO_new_mem_buf(pem, (int)len))) {
        snprintf(err, errlen, "certificate: out of memory");
        return -1;
    }
    x = PEM_read_bio_X509_AUX(bio, NULL, tls_store_no_passphrase, NULL);
    if (!x) {
        snprintf(err, errlen, "no PEM certificate (%s)", tls_store_ssl_reason(why, sizeof why));
        goto out_free_bio;
    }
    if (SSL_CTX_use_certificate(ctx, x) != 1) {
        snprintf(err, errlen, "certificate refused: %s", tls_store_ssl_reason(why, sizeof why));
        X509_free(x);
        goto out_free_bio;
    }
    X509_free(x);
    while ((x = PEM_read_bio_X509(bio, NULL, tls_store_no_passphrase, NULL)) != NULL) {
        if (SSL_CTX_add0_chain_cert(ctx, x) != 1) { /* takes x on success */
            X509_free(x);
            snprintf(err, errlen, "chain certificate refused: %s",
                     tls_store_ssl_reason(why, sizeof why));
            goto out_free_bio;
        }
    }
    /* the end of the PEM text is reported as "no start line": not an error */
    unsigned long end = ERR_peek_last_error();
    if (ERR_GET_LIB(end) != ERR_LIB_PEM || ERR_GET_REASON(end) != PEM_R_NO_START_LINE) {
        snprintf(err, errlen, "bad chain certificate: %s", tls_store_ssl_reason(why, sizeof why));
        goto out_free_bio;
    }
    ERR_clear_error();
    rc = 0;
out_free_bio:
    BIO_free(bio);
    return rc;
}

static int tls_store_use_key(SSL_CTX *ctx, const char *pem, size_t len, char *err,
                             size_t errlen)
{
    char why[128];
    BIO *bio;
    EVP_PKEY *key;
    int rc = -1;

    if (len > INT32_MAX || !(bio = BIO_new_mem_buf(pem, (int)len))) {
        snprintf(err, errlen, "key: out of memory");
        return -1;
    }
    key = PEM_read_bio_PrivateKey(bio, NULL, tls_store_no_passphrase, NULL);
    if (!key) {
        snprintf(err, errlen, "no unencrypted PEM private key (%s)",
                 tls_store_ssl_reason(why, sizeof why));
        goto out_free_bio;
    }
    /* checked first: OpenSSL's own check words a mismatch differently per key type */
    if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "the private key does not match the certificate");
        goto out_free_key;
    }
    if (SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        snprintf(err, errlen, "private key refused: %s", tls_store_ssl_reason(why, sizeof why));
        goto out_free_key;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "the private key does not match the certificate");
        goto out_free_key;
    }
    rc = 0;
out_free_key:
    EVP_PKEY_free(key);
out_free_bio:
    BIO_free(bio);
    return rc;
}

static int tls_store_add_name(struct tls_store_cert *c, const unsigned char *data, size_t len)
{
    char **grown, *name;

    if (len == 0 || len > TLS_STORE_NAME_MAX || memchr(data, '\0', len))
        return 0; /* not a name a client can send: skip, never match by accident */
    name = malloc(len + 1);
    grown = realloc(c->names, (c->name_count + 1) * sizeof *c->names);
    if (!name || !grown) {
        free(name);
        if (grown)
            c->names = grown;
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        name[i] = (char)tolower(data[i]);
    name[len] = '\0';
    c->names = grown;
    c->names[c->name_count++] = name;
    return 0;
}

/* The names SNI matches against: subjectAltName DNS entries, else the CN. */
static int tls_store_collect_names(struct tls_store_cert *c, X509 *leaf)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int rc = 0;

    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS && rc == 0)
            rc = tls_store_add_name(c, ASN1_STRING_get0_data(g->d.dNSName),
                                    (size_t)ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(gens);
    if (rc == 0 && c->name_count == 0) {
        X509_NAME *subject = X509_get_subject_name(leaf);
        int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        unsigned char *utf8 = NULL;
        int n = at >= 0 ? ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
                                                          X509_NAME_get_entry(subject, at)))
                        : -1;
        if (n > 0)
            rc = tls_store_add_name(c, utf8, (size_t)n);
        OPENSSL_free(utf8);
    }
    return rc;
}

static void tls_store_cert_fini(struct tls_store_cert *c)
{
    SSL_CTX_free(c->ctx); /* a reference: connections still on it keep it alive */
    for (size_t i = 0; i < c->name_count; i++)
        free(c->names[i]);
    free(c->names);
    memset(c, 0, sizeof *c);
}

/* A complete entry from PEM into *c (zeroed first). 0, or -1 with
 * "where: message" in err and *c left empty. */
static int tls_store_build(struct tls_store *s, struct tls_store_cert *c, const char *cert_pem,
                           size_t cert_len, const char *key_pem, size_t key_len,
                           const char *where, char *err, size_t errlen)
{
    char why[CONFIG_WHERE_MAX];

    memset(c, 0, sizeof *c);
    snprintf(c->where, sizeof c->where, "%s", where);
    c->ctx = SSL_CTX_new(TLS_server_method());
    if (!c->ctx) {
        snprintf(err, errlen, "%s: %s", where, tls_store_ssl_reason(why, sizeof why));
        return -1;
    }
    if (tls_store_configure(s, c->ctx, why, sizeof why) < 0
        || tls_store_use_chain(c->ctx, cert_pem, cert_len, why, sizeof why) < 0
        || tls_store_use_key(c->ctx, key_pem, key_len, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", where, why);
        goto out_fini;
    }
    if (tls_store_collect_names(c, SSL_CTX_get0_certificate(c->ctx)) < 0) {
        snprintf(err, errlen, "%s: out of memory", where);
        goto out_fini;
    }
    return 0;
out_fini:
    tls_store_cert_fini(c);
    return -1;
}

int tls_store_add_pem(struct tls_store *s, const char *cert_pem, size_t cert_len,
                      const char *key_pem, size_t key_len, const char *where, char *err,
                      size_t err_len)
{
    if (s->count == CONFIG_TLS_CERT_MAX) {
        snprintf(err, err_len, "%s: too many certificates (max %d)", where,
                 CONFIG_TLS_CERT_MAX);
        return -1;
    }
    if (tls_store_build(s, &s->certs[s->count], cert_pem, cert_len, key_pem, key_len, where,
                        err, err_len) < 0)
        return -1;
    s->count++;
    return 0;
}

int tls_store_replace(struct tls_store *s, size_t i, const char *cert_pem, size_t cert_len,
                      const char *key_pem, size_t key_len, const char *where, char *err,
                      size_t err_len)
{
    struct tls_store_cert fresh;

    if (i >= s->count) {
        snprintf(err, err_len, "%s: no certificate %zu to replace", where, i);
        return -1;
    }
    if (tls_store_build(s, &fresh, cert_pem, cert_len, key_pem, key_len, where, err,
                        err_len) < 0)
        return -1;
    tls_store_cert_fini(&s->certs[i]);
    s->certs[i] = fresh;
    return 0;
}

/* One tls_certificate line: read both files, then the PEM path. */
static int tls_store_add_files(struct tls_store *s, const struct config_tls_cert *tc,
                               char *err, size_t err_len)
{
    const char *where = tc->where[0] ? tc->where : "tls_certificate";
    char *cert = NULL, *key = NULL, why[128];
    size_t cert_len, key_len;
    int rc;

    if (config_read_file(tc->cert_file, TLS_STORE_PEM_MAX_BYTES, &cert, &cert_len, why,
                         sizeof why) < 0) {
        snprintf(err, err_len, "%s: certificate %s: %s", where, tc->cert_file, why);
        return -1;
    }
    if (config_read_file(tc->key_file, TLS_STORE_PEM_MAX_BYTES, &key, &key_len, why,
                         sizeof why) < 0) {
        snprintf(err, err_len, "%s: key %s: %s", where, tc->key_file, why);
        free(cert);
        return -1;
    }
    rc = tls_store_add_pem(s, cert, cert_len, key, key_len, where, err, err_len);
    OPENSSL_cleanse(key, key_len); /* no copy of the private key left in freed memory */
    free(key);
    free(cert);
    return rc;
}

static int tls_store_version(enum config_tls_protocol p)
{
    return p == CONFIG_TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

struct tls_store *tls_store_new(const struct config *cfg, struct tls_tickets *tickets,
                                char *err, size_t err_len)
{
    struct tls_store *s = calloc(1, sizeof *s);
    SSL_CTX *probe;
    int p;

    if (!s) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    /* the lowest and highest versions set; the two that exist are adjacent */
    for (p = 0; p < CONFIG_TLS_PROTOCOL_COUNT && !(cfg->tls_protocols & (1u << p)); p++)
        ;
    s->min_version = tls_store_version((enum config_tls_protocol)p);
    for (p = CONFIG_TLS_PROTOCOL_COUNT - 1; p > 0 && !(cfg->tls_protocols & (1u << p)); p--)
        ;
    s->max_version = tls_store_version((enum config_tls_protocol)p);
    s->ciphers = strdup(cfg->tls_ciphers ? cfg->tls_ciphers : "");
    s->ciphersuites = strdup(cfg->tls_ciphersuites ? cfg->tls_ciphersuites : "");
    s->ticket_lifetime_s = (long)(cfg->tls_ticket_key_rotation_ms / 1000);
    s->tickets = cfg->tls_session_tickets ? tickets : NULL;
    if (s->tickets)
        s->ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL); /* NULL: no tickets */
    s->ktls = cfg->ktls && tls_store_ktls_available();
    s->http2 = cfg->http2;
    if (!s->ciphers || !s->ciphersuites) {
        snprintf(err, err_len, "out of memory");
        goto out_free;
    }
    /* the settings alone, so a bad cipher list is named even without certificates */
    probe = SSL_CTX_new(TLS_server_method());
    if (!probe || tls_store_configure(s, probe, err, err_len) < 0) {
        if (!probe)
            snprintf(err, err_len, "out of memory");
        SSL_CTX_free(probe);
        goto out_free;
    }
    SSL_CTX_free(probe);
    for (size_t i = 0; i < cfg->tls_certificate_count; i++)
        if (tls_store_add_files(s, &cfg->tls_certificates[i], err, err_len) < 0)
            goto out_free;
    return s;
out_free:
    tls_store_free(s);
    return NULL;
}

void tls_store_free(struct tls_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        tls_store_cert_fini(&s->certs[i]);
    free(s->ciphers);
    free(s->ciphersuites);
    EVP_CIPHER_free(s->ticket_cipher);
    free(s);
}

SSL_CTX *tls_store_default_ctx(const struct tls_store *s)
{
    return s->count ? s->certs[0].ctx : NULL;
}

size_t tls_store_count(const struct tls_store *s)
{
    return s->count;
}

/* ---- checks ------------------------------------------------------------- */

static void tls_store_format_time(const ASN1_TIME *t, char *buf, size_t len)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, len, "?");
}

int tls_store_check(const struct tls_store *s, time_t now, FILE *out)
{
    ASN1_TIME *at_now = ASN1_TIME_set(NULL, now);
    int rc = 0;

    if (!at_now) {
        fprintf(out, "tls: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < s->count; i++) {
        const struct tls_store_cert *c = &s->certs[i];
        X509 *leaf = SSL_CTX_get0_certificate(c->ctx);
        EVP_PKEY *key = SSL_CTX_get0_privatekey(c->ctx);
        const char *name = c->name_count ? c->names[0] : "(no name)";
        char when[64];
        int days, secs;

        if (!leaf || !key || X509_check_private_key(leaf, key) != 1) {
            ERR_clear_error();
            fprintf(out, "%s: the private key does not match the certificate\n", c->where);
            rc = -1;
            continue;
        }
        if (ASN1_TIME_diff(&days, &secs, at_now, X509_get0_notBefore(leaf)) == 1
            && (days > 0 || secs > 0)) {
            tls_store_format_time(X509_get0_notBefore(leaf), when, sizeof when);
            fprintf(out, "%s: warning: certificate for %s is not valid before %s\n", c->where,
                    name, when);
        }
        if (ASN1_TIME_diff(&days, &secs, at_now, X509_get0_notAfter(leaf)) != 1)
            continue;
        tls_store_format_time(X509_get0_notAfter(leaf), when, sizeof when);
        if (days < 0 || secs < 0)
            fprintf(out, "%s: warning: certificate for %s expired on %s\n", c->where, name,
                    when);
        else if (days < TLS_STORE_EXPIRY_WARN_DAYS)
            fprintf(out, "%s: warning: certificate for %s expires in %d days, on %s\n",
                    c->where, name, days, when);
    }
    ASN1_TIME_free(at_now);
    return rc;
}

/* ---- kTLS --------------------------------------------------------------- */

bool tls_store_ulp_list_has_tls(const char *text)
{
    const char *p = text;

    while (*p) {
        size_t n;
        p += strspn(p, " \t\n");
        n = strcspn(p, " \t\n");
        if (n == 3 && memcmp(p, "tls", 3) == 0)
            return true;
        p += n;
    }
    return false;
}

bool tls_store_uses_ktls(const struct tls_store *s)
{
    return s->ktls;
}

bool tls_store_ktls_available(void)
{
    char text[256];
    FILE *f = fopen(TLS_STORE_ULP_PATH, "r");
    size_t n;

    if (!f)
        return false;
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return tls_store_ulp_list_has_tls(text);
}
