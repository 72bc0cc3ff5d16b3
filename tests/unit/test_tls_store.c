/* Unit tests for tls_store and tls_tickets: SNI selection (exact, wildcard,
 * CN, default) checked by real handshakes over an in-memory BIO pair, ALPN,
 * key mismatch, protocol bounds and settings, expiry warnings, replacing a
 * certificate while a connection holds the old one, and ticket resumption
 * across key rotations. Certificates and keys are made here at run time
 * with the OpenSSL API; none is stored in the tree. */
#include "tls_store.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "tls_tickets.h"

#define DAY (24 * 3600L)

struct pem {
    char *cert, *key;
    size_t cert_len, key_len;
};

static char *bio_text(BIO *bio, size_t *len)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *copy = malloc((size_t)n + 1);

    assert_non_null(copy);
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    *len = (size_t)n;
    return copy;
}

static EVP_PKEY *make_key(bool rsa)
{
    EVP_PKEY *key = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    assert_non_null(key);
    return key;
}

/* A self-signed certificate: cn as the subject, san (comma-separated
 * "DNS:..." entries, or NULL for none), valid from now+from_s to now+to_s. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *san, long from_s, long to_s)
{
    X509 *x = X509_new();
    X509_NAME *name;
    X509V3_CTX v3;

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(random() & 0x7fffffff));
    X509_time_adj_ex(X509_getm_notBefore(x), 0, from_s, NULL);
    X509_time_adj_ex(X509_getm_notAfter(x), 0, to_s, NULL);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (san) {
        X509_EXTENSION *ext;
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
        assert_non_null(ext);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

static struct pem make_pem_pair(X509 *x, EVP_PKEY *key)
{
    struct pem p;
    BIO *c = BIO_new(BIO_s_mem()), *k = BIO_new(BIO_s_mem());

    assert_true(PEM_write_bio_X509(c, x) == 1);
    assert_true(PEM_write_bio_PrivateKey(k, key, NULL, NULL, 0, NULL, NULL) == 1);
    p.cert = bio_text(c, &p.cert_len);
    p.key = bio_text(k, &p.key_len);
    BIO_free(c);
    BIO_free(k);
    return p;
}

/* A fresh certificate and key as PEM. */
static struct pem make_pem(bool rsa, const char *cn, const char *san, long from_s, long to_s)
{
    EVP_PKEY *key = make_key(rsa);
    X509 *x = make_cert(key, cn, san, from_s, to_s);
    struct pem p = make_pem_pair(x, key);

    X509_free(x);
    EVP_PKEY_free(key);
    return p;
}

static void pem_free(struct pem *p)
{
    free(p->cert);
    free(p->key);
}

/* A configuration with the defaults and no certificate. */
static void config_defaults(struct config *cfg)
{
    char *errs = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&errs, &len);

    assert_int_equal(config_init_defaults(cfg), 0);
    assert_int_equal(config_finish(cfg, f), 0);
    fclose(f);
    free(errs);
}

static struct tls_store *empty_store(struct tls_tickets *tickets)
{
    struct config cfg;
    char err[512];
    struct tls_store *s;

    config_defaults(&cfg);
    s = tls_store_new(&cfg, tickets, err, sizeof err);
    if (!s)
        fail_msg("tls_store_new: %s", err);
    config_fini(&cfg);
    return s;
}

static void add(struct tls_store *s, const struct pem *p, const char *where)
{
    char err[512];

    if (tls_store_add_pem(s, p->cert, p->cert_len, p->key, p->key_len, where, err,
                          sizeof err) < 0)
        fail_msg("add %s: %s", where, err);
}

/* ---- handshakes over a BIO pair ----------------------------------------- */

struct hs {
    SSL_CTX *client_ctx;
    SSL *client, *server;
    bool done;
};

/* Handshake a client (sni may be NULL; alpn in wire form or NULL; session
 * to resume or NULL) with a server SSL from ctx. Bounded: 200 rounds. */
static void handshake(struct hs *h, SSL_CTX *ctx, const char *sni, const unsigned char *alpn,
                      unsigned alpn_len, SSL_SESSION *session, int max_version)
{
    BIO *cb, *sb;

    memset(h, 0, sizeof *h);
    h->client_ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(h->client_ctx);
    SSL_CTX_set_verify(h->client_ctx, SSL_VERIFY_NONE, NULL);
    if (max_version)
        SSL_CTX_set_max_proto_version(h->client_ctx, max_version);
    h->client = SSL_new(h->client_ctx);
    h->server = SSL_new(ctx);
    assert_non_null(h->client);
    assert_non_null(h->server);
    assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
    SSL_set_bio(h->client, cb, cb);
    SSL_set_bio(h->server, sb, sb);
    SSL_set_connect_state(h->client);
    SSL_set_accept_state(h->server);
    if (sni)
        SSL_set_tlsext_host_name(h->client, sni);
    if (alpn)
        assert_int_equal(SSL_set_alpn_protos(h->client, alpn, alpn_len), 0);
    if (session)
        assert_int_equal(SSL_set_session(h->client, session), 1);
    for (int i = 0; i < 200; i++) {
        int c = SSL_do_handshake(h->client), s = SSL_do_handshake(h->server);
        if (c == 1 && s == 1) {
            h->done = true;
            break;
        }
        if ((c <= 0 && SSL_get_error(h->client, c) == SSL_ERROR_SSL)
            || (s <= 0 && SSL_get_error(h->server, s) == SSL_ERROR_SSL))
            break;
    }
    ERR_clear_error();
    if (h->done) {
        /* a byte each way, so a TLS 1.3 client reads its tickets */
        char byte = 'x';
        assert_int_equal(SSL_write(h->server, &byte, 1), 1);
        assert_int_equal(SSL_read(h->client, &byte, 1), 1);
        assert_int_equal(SSL_write(h->client, &byte, 1), 1);
        assert_int_equal(SSL_read(h->server, &byte, 1), 1);
    }
}

/* Closed with close_notify: OpenSSL marks the session of a connection
 * freed without one as not resumable (a truncation attack may have cut it). */
static void hs_free(struct hs *h)
{
    if (h->done) {
        SSL_shutdown(h->client);
        SSL_shutdown(h->server);
    }
    SSL_free(h->client);
    SSL_free(h->server);
    SSL_CTX_free(h->client_ctx);
}

/* The subject CN of the certificate the client got. */
static void peer_cn(const struct hs *h, char *buf, size_t len)
{
    X509 *x = SSL_get1_peer_certificate(h->client);

    assert_non_null(x);
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, (int)len);
    X509_free(x);
}

/* ---- tests -------------------------------------------------------------- */

static const struct match_case {
    const char *pattern, *host;
    bool match;
} match_cases[] = {
    { "example.com", "example.com", true },
    { "example.com", "www.example.com", false },
    { "*.example.com", "www.example.com", true },
    { "*.example.com", "example.com", false },
    { "*.example.com", "a.b.example.com", false },
    { "*.example.com", ".example.com", false },
    { "*.example.com", "wwwexample.com", false },
    { "*.example.com", "www.example.org", false },
    { "w*.example.com", "www.example.com", false }, /* partial wildcards: never */
    { "*", "localhost", false },
};

static void test_tls_store_name_matches_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof match_cases / sizeof *match_cases; i++) {
        const struct match_case *c = &match_cases[i];
        if (tls_store_name_matches(c->pattern, c->host) != c->match)
            fail_msg("'%s' vs '%s': want %s", c->pattern, c->host, c->match ? "match" : "none");
    }
}

static void test_tls_store_ulp_list_has_tls(void **state)
{
    (void)state;
    assert_true(tls_store_ulp_list_has_tls("espintcp mptcp tls\n"));
    assert_true(tls_store_ulp_list_has_tls("tls"));
    assert_false(tls_store_ulp_list_has_tls("mptcp\n"));
    assert_false(tls_store_ulp_list_has_tls("tlsx mytls\n"));
    assert_false(tls_store_ulp_list_has_tls(""));
}

/* Four certificates; each name picks its own, over a real handshake. */
static void test_tls_store_sni_selects_certificate(void **state)
{
    struct pem a = make_pem(false, "a", "DNS:a.example.com,DNS:www.example.com", -DAY, 90 * DAY);
    struct pem b = make_pem(true, "b", "DNS:*.example.org", -DAY, 90 * DAY);
    struct pem c = make_pem(false, "c", "DNS:exact.example.org", -DAY, 90 * DAY);
    struct pem d = make_pem(false, "cn.example.net", NULL, -DAY, 90 * DAY);
    struct tls_store *s = empty_store(NULL);
    static const struct {
        const char *sni, *cn;
    } cases[] = {
        { "a.example.com", "a" },
        { "WWW.Example.COM.", "a" },       /* any case, trailing dot */
        { "x.example.org", "b" },          /* wildcard */
        { "exact.example.org", "c" },      /* exact beats the earlier wildcard */
        { "a.b.example.org", "a" },        /* two labels: the default */
        { "example.org", "a" },
        { "cn.example.net", "cn.example.net" }, /* no SAN: the CN */
        { "unknown.test", "a" },
        { NULL, "a" },                     /* no SNI: the default */
    };
    (void)state;

    add(s, &a, "t:1");
    add(s, &b, "t:2");
    add(s, &c, "t:3");
    add(s, &d, "t:4");
    assert_int_equal(tls_store_count(s), 4);
    assert_ptr_equal(tls_store_ctx_for_name(s, "x.example.org"),
                     tls_store_ctx_for_name(s, "y.example.org"));
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct hs h;
        char cn[64];
        handshake(&h, tls_store_default_ctx(s), cases[i].sni, NULL, 0, NULL, 0);
        if (!h.done)
            fail_msg("SNI %s: no handshake", cases[i].sni ? cases[i].sni : "(none)");
        peer_cn(&h, cn, sizeof cn);
        if (strcmp(cn, cases[i].cn) != 0)
            fail_msg("SNI %s: got certificate %s, want %s", cases[i].sni, cn, cases[i].cn);
        hs_free(&h);
    }
    tls_store_free(s);
    pem_free(&a);
    pem_free(&b);
    pem_free(&c);
    pem_free(&d);
}

/* One handshake offering alpn; the protocol chosen ("" none), or NULL if
 * the handshake failed (no_application_protocol). */
static const char *alpn_chosen(struct tls_store *s, const unsigned char *alpn, unsigned len,
                               char *out)
{
    const unsigned char *got;
    unsigned got_len;
    struct hs h;
    handshake(&h, tls_store_default_ctx(s), "a.test", alpn, len, NULL, 0);
    if (!h.done) {
        hs_free(&h);
        return NULL;
    }
    SSL_get0_alpn_selected(h.client, &got, &got_len);
    memcpy(out, got, got_len);
    out[got_len] = '\0';
    hs_free(&h);
    return out;
}

/* http2 on (the default): h2 first, http/1.1 as the fallback; off: only
 * http/1.1, and a client that offers only h2 is refused. */
static void test_tls_store_alpn_h2_then_http11(void **state)
{
    static const unsigned char both[] = "\x08http/1.1\x02h2", h2[] = "\x02h2",
                               h11[] = "\x08http/1.1";
    struct pem a = make_pem(false, "a", "DNS:a.test", -DAY, 90 * DAY);
    struct config cfg;
    char err[512], got[32];
    (void)state;

    for (int on = 1; on >= 0; on--) {
        config_defaults(&cfg);
        cfg.http2 = on;
        struct tls_store *s = tls_store_new(&cfg, NULL, err, sizeof err);
        config_fini(&cfg);
        if (!s)
            fail_msg("tls_store_new: %s", err);
        add(s, &a, "t:1");
        const char *r = alpn_chosen(s, both, sizeof both - 1, got);
        assert_non_null(r);
        assert_string_equal(r, on ? "h2" : "http/1.1"); /* the server's preference */
        r = alpn_chosen(s, h11, sizeof h11 - 1, got);
        assert_non_null(r);
        assert_string_equal(r, "http/1.1");
        r = alpn_chosen(s, h2, sizeof h2 - 1, got);
        if (on) {
            assert_non_null(r);
            assert_string_equal(r, "h2");
        } else {
            assert_null(r); /* no_application_protocol */
        }
        tls_store_free(s);
    }
    pem_free(&a);
}

static void test_tls_store_key_mismatch_refused(void **state)
{
    struct pem a = make_pem(false, "a", "DNS:a.test", -DAY, 90 * DAY);
    struct pem b = make_pem(true, "b", "DNS:b.test", -DAY, 90 * DAY);
    struct tls_store *s = empty_store(NULL);
    char err[512], dir[] = "/tmp/lingerd-tls-XXXXXX", cert[64], key[64];
    struct config cfg;
    FILE *f;
    (void)state;

    assert_int_equal(tls_store_add_pem(s, a.cert, a.cert_len, b.key, b.key_len, "t.conf:7",
                                       err, sizeof err), -1);
    assert_string_equal(err, "t.conf:7: the private key does not match the certificate");
    assert_int_equal(tls_store_count(s), 0);
    assert_int_equal(tls_store_add_pem(s, a.cert, a.cert_len, "junk", 4, "t.conf:8", err,
                                       sizeof err), -1);
    assert_non_null(strstr(err, "t.conf:8: no unencrypted PEM private key"));
    tls_store_free(s);

    /* from files, as tls_certificate lines: FILE:LINE of the line */
    assert_non_null(mkdtemp(dir));
    snprintf(cert, sizeof cert, "%s/a.pem", dir);
    snprintf(key, sizeof key, "%s/b.key", dir);
    f = fopen(cert, "w");
    fwrite(a.cert, 1, a.cert_len, f);
    fclose(f);
    f = fopen(key, "w");
    fwrite(b.key, 1, b.key_len, f);
    fclose(f);
    config_defaults(&cfg);
    cfg.tls_certificates[0].cert_file = strdup(cert);
    cfg.tls_certificates[0].key_file = strdup(key);
    snprintf(cfg.tls_certificates[0].where, sizeof cfg.tls_certificates[0].where, "site.conf:3");
    cfg.tls_certificate_count = 1;
    assert_null(tls_store_new(&cfg, NULL, err, sizeof err));
    assert_string_equal(err, "site.conf:3: the private key does not match the certificate");
    free(cfg.tls_certificates[0].key_file);
    cfg.tls_certificates[0].key_file = strdup("/nonexistent/k.pem");
    assert_null(tls_store_new(&cfg, NULL, err, sizeof err));
    assert_string_equal(err, "site.conf:3: key /nonexistent/k.pem: No such file or directory");
    config_fini(&cfg);
    unlink(cert);
    unlink(key);
    rmdir(dir);
    pem_free(&a);
    pem_free(&b);
}

static void test_tls_store_protocol_bounds_and_settings(void **state)
{
    static const struct {
        unsigned protocols;
        int min, max;
    } cases[] = {
        { (1u << CONFIG_TLS_1_2) | (1u << CONFIG_TLS_1_3), TLS1_2_VERSION, TLS1_3_VERSION },
        { 1u << CONFIG_TLS_1_3, TLS1_3_VERSION, TLS1_3_VERSION },
        { 1u << CONFIG_TLS_1_2, TLS1_2_VERSION, TLS1_2_VERSION },
    };
    struct pem a = make_pem(false, "a", "DNS:a.test", -DAY, 90 * DAY);
    struct tls_tickets *tickets = tls_tickets_new();
    char err[512];
    struct config cfg;
    (void)state;

    assert_non_null(tickets);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct tls_store *s;
        SSL_CTX *ctx;
        struct hs h;
        config_defaults(&cfg);
        cfg.tls_protocols = cases[i].protocols;
        s = tls_store_new(&cfg, tickets, err, sizeof err);
        assert_non_null(s);
        add(s, &a, "t:1");
        ctx = tls_store_default_ctx(s);
        assert_int_equal(SSL_CTX_get_min_proto_version(ctx), cases[i].min);
        assert_int_equal(SSL_CTX_get_max_proto_version(ctx), cases[i].max);
        assert_true((SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION) != 0);
        assert_true((SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION) != 0);
        assert_true((SSL_CTX_get_options(ctx) & SSL_OP_CIPHER_SERVER_PREFERENCE) != 0);
        assert_true((SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET) == 0);
        assert_true((SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS) != 0);
        assert_true((SSL_CTX_get_mode(ctx) & SSL_MODE_ENABLE_PARTIAL_WRITE) != 0);
        assert_true((SSL_CTX_get_mode(ctx) & SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) != 0);
        assert_int_equal(SSL_CTX_get_session_cache_mode(ctx), SSL_SESS_CACHE_OFF);
        assert_int_equal((SSL_CTX_get_options(ctx) & SSL_OP_ENABLE_KTLS) != 0,
                         cfg.ktls && tls_store_ktls_available());
        handshake(&h, ctx, "a.test", NULL, 0, NULL, 0);
        assert_true(h.done);
        assert_int_equal(SSL_version(h.server), cases[i].max);
        hs_free(&h);
        /* a client that stops below the minimum gets no handshake */
        if (cases[i].min == TLS1_3_VERSION) {
            handshake(&h, ctx, "a.test", NULL, 0, NULL, TLS1_2_VERSION);
            assert_false(h.done);
            hs_free(&h);
        }
        tls_store_free(s);
        config_fini(&cfg);
    }
    /* tickets off, or no key store: no tickets at all */
    config_defaults(&cfg);
    cfg.tls_session_tickets = false;
    {
        struct tls_store *s = tls_store_new(&cfg, tickets, err, sizeof err);
        assert_non_null(s);
        add(s, &a, "t:1");
        assert_true((SSL_CTX_get_options(tls_store_default_ctx(s)) & SSL_OP_NO_TICKET) != 0);
        tls_store_free(s);
    }
    /* a cipher OpenSSL does not know is named */
    free(cfg.tls_ciphers);
    cfg.tls_ciphers = strdup("NO-SUCH-CIPHER");
    assert_null(tls_store_new(&cfg, tickets, err, sizeof err));
    assert_non_null(strstr(err, "tls_ciphers 'NO-SUCH-CIPHER': "));
    config_fini(&cfg);
    tls_tickets_free(tickets);
    pem_free(&a);
}

static void test_tls_store_check_warns_of_expiry(void **state)
{
    struct pem good = make_pem(false, "good", "DNS:good.test", -DAY, 365 * DAY);
    struct pem soon = make_pem(false, "soon", "DNS:soon.test", -DAY, 10 * DAY + 3600);
    struct pem old = make_pem(true, "old", "DNS:old.test", -30 * DAY, -DAY);
    struct tls_store *s = empty_store(NULL);
    char *out = NULL;
    size_t len = 0;
    FILE *f;
    (void)state;

    add(s, &good, "x.conf:1");
    f = open_memstream(&out, &len);
    assert_int_equal(tls_store_check(s, time(NULL), f), 0);
    fclose(f);
    assert_string_equal(out, "");
    free(out);

    add(s, &soon, "x.conf:2");
    add(s, &old, "x.conf:3");
    f = open_memstream(&out, &len);
    assert_int_equal(tls_store_check(s, time(NULL), f), 0);
    fclose(f);
    assert_non_null(strstr(out, "x.conf:2: warning: certificate for soon.test expires in 10 "
                                "days, on "));
    assert_non_null(strstr(out, "x.conf:3: warning: certificate for old.test expired on "));
    assert_null(strstr(out, "x.conf:1"));
    free(out);
    /* 360 days on, the good one is close to its end too */
    f = open_memstream(&out, &len);
    assert_int_equal(tls_store_check(s, time(NULL) + 360 * DAY, f), 0);
    fclose(f);
    assert_non_null(strstr(out, "x.conf:1: warning: certificate for good.test expires in "));
    free(out);
    tls_store_free(s);
    pem_free(&good);
    pem_free(&soon);
    pem_free(&old);
}

/* A new default takes new connections; one begun before keeps the old
 * context (ASan would see a use after free if the store dropped it). */
static void test_tls_store_replace_keeps_connections(void **state)
{
    struct pem a = make_pem(false, "a", "DNS:a.test", -DAY, 90 * DAY);
    struct pem a2 = make_pem(false, "a2", "DNS:a.test", -DAY, 90 * DAY);
    struct tls_store *s = empty_store(NULL);
    SSL_CTX *before;
    SSL *held;
    struct hs h;
    char err[512], cn[64];
    (void)state;

    add(s, &a, "t:1");
    before = tls_store_default_ctx(s);
    held = SSL_new(before);
    assert_int_equal(tls_store_replace(s, 0, a2.cert, a2.cert_len, a.key, a.key_len, "acme",
                                       err, sizeof err), -1);
    assert_string_equal(err, "acme: the private key does not match the certificate");
    assert_ptr_equal(tls_store_default_ctx(s), before);
    assert_int_equal(tls_store_replace(s, 0, a2.cert, a2.cert_len, a2.key, a2.key_len, "acme",
                                       err, sizeof err), 0);
    assert_ptr_not_equal(tls_store_default_ctx(s), before);
    assert_ptr_equal(SSL_get_SSL_CTX(held), before);
    assert_non_null(SSL_CTX_get0_certificate(SSL_get_SSL_CTX(held)));
    SSL_free(held);
    handshake(&h, tls_store_default_ctx(s), "a.test", NULL, 0, NULL, 0);
    assert_true(h.done);
    peer_cn(&h, cn, sizeof cn);
    assert_string_equal(cn, "a2");
    hs_free(&h);
    assert_int_equal(tls_store_replace(s, 3, a2.cert, a2.cert_len, a2.key, a2.key_len, "acme",
                                       err, sizeof err), -1);
    tls_store_free(s);
    pem_free(&a);
    pem_free(&a2);
}

static void test_tls_tickets_rotate_and_find(void **state)
{
    struct tls_tickets *t = tls_tickets_new();
    struct tls_ticket_key k1, k2, got;
    unsigned char stranger[TLS_TICKETS_NAME_LEN] = { 0 };
    (void)state;

    assert_non_null(t);
    assert_true(tls_tickets_current(t, &k1));
    assert_int_equal(tls_tickets_find(t, k1.name, &got), 1);
    assert_memory_equal(&got, &k1, sizeof got);
    assert_int_equal(tls_tickets_find(t, stranger, &got), 0);
    assert_int_equal(tls_tickets_rotate(t), 0);
    assert_int_equal(tls_tickets_rotations(t), 1);
    assert_true(tls_tickets_current(t, &k2));
    assert_memory_not_equal(k1.name, k2.name, TLS_TICKETS_NAME_LEN);
    assert_int_equal(tls_tickets_find(t, k2.name, &got), 1);
    assert_int_equal(tls_tickets_find(t, k1.name, &got), 2);
    assert_memory_equal(&got, &k1, sizeof got);
    assert_int_equal(tls_tickets_rotate(t), 0);
    assert_int_equal(tls_tickets_find(t, k1.name, &got), 0); /* two rotations: gone */
    assert_int_equal(tls_tickets_find(t, k2.name, &got), 2);
    tls_tickets_free(t);
}

/* Resumption through the ticket callback, for both protocol versions: a
 * ticket resumes after one rotation (and is renewed), not after two. */
static void test_tls_store_tickets_resume_across_rotation(void **state)
{
    static const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };
    struct pem a = make_pem(false, "a", "DNS:a.test", -DAY, 90 * DAY);
    (void)state;

    for (size_t v = 0; v < 2; v++) {
        struct tls_tickets *t = tls_tickets_new();
        struct tls_store *s = empty_store(t);
        SSL_SESSION *first, *renewed;
        struct hs h;

        add(s, &a, "t:1");
        handshake(&h, tls_store_default_ctx(s), "a.test", NULL, 0, NULL, versions[v]);
        assert_true(h.done);
        assert_false(SSL_session_reused(h.server));
        first = SSL_get1_session(h.client);
        assert_non_null(first);
        hs_free(&h);

        handshake(&h, tls_store_default_ctx(s), "a.test", NULL, 0, first, versions[v]);
        assert_true(h.done);
        if (!SSL_session_reused(h.server))
            fail_msg("version %x: the ticket did not resume", versions[v]);
        hs_free(&h);

        assert_int_equal(tls_tickets_rotate(t), 0);
        handshake(&h, tls_store_default_ctx(s), "a.test", NULL, 0, first, versions[v]);
        assert_true(h.done);
        if (!SSL_session_reused(h.server))
            fail_msg("version %x: the previous key did not resume", versions[v]);
        renewed = SSL_get1_session(h.client);
        hs_free(&h);

        assert_int_equal(tls_tickets_rotate(t), 0);
        handshake(&h, tls_store_default_ctx(s), "a.test", NULL, 0, first, versions[v]);
        assert_true(h.done);
        assert_false(SSL_session_reused(h.server)); /* its key is gone: full handshake */
        hs_free(&h);
        handshake(&h, tls_store_default_ctx(s), "a.test", NULL, 0, renewed, versions[v]);
        assert_true(h.done);
        if (!SSL_session_reused(h.server))
            fail_msg("version %x: the renewed ticket did not resume", versions[v]);
        hs_free(&h);

        SSL_SESSION_free(first);
        SSL_SESSION_free(renewed);
        tls_store_free(s);
        tls_tickets_free(t);
    }
    pem_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_store_name_matches_table),
        cmocka_unit_test(test_tls_store_ulp_list_has_tls),
        cmocka_unit_test(test_tls_store_sni_selects_certificate),
        cmocka_unit_test(test_tls_store_alpn_h2_then_http11),
        cmocka_unit_test(test_tls_store_key_mismatch_refused),
        cmocka_unit_test(test_tls_store_protocol_bounds_and_settings),
        cmocka_unit_test(test_tls_store_check_warns_of_expiry),
        cmocka_unit_test(test_tls_store_replace_keeps_connections),
        cmocka_unit_test(test_tls_tickets_rotate_and_find),
        cmocka_unit_test(test_tls_store_tickets_resume_across_rotation),
    };
    srandom((unsigned)time(NULL));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
