/* transport_tls — the transport over TLS (OpenSSL 3) on a TCP socket.
 *
 * The connection sees the same operations as over TCP; here they become
 * OpenSSL calls on the connection's SSL object:
 *   handshake   a look at the first bytes (tls_sniff: a client speaking
 *               plain HTTP to this port is told so in plain text, and the
 *               transport becomes plain TCP for that), then SSL_do_handshake;
 *               the outcome is counted (full, resumed, failed by reason)
 *   read        SSL_read_ex; the client's close_notify reads as the end
 *   write       SSL_write_ex; small segments are gathered into one record;
 *               the records of one call leave in one send (see below)
 *   send_file   kTLS: SSL_sendfile; otherwise pread into a bounded buffer,
 *               then SSL_write_ex (user-space TLS cannot use sendfile)
 *   discard     SSL_read_ex into that buffer, thrown away (a body's bytes
 *               must be decrypted to be counted against its framing)
 *   shut_write  close_notify once (SSL_shutdown, never waiting for the
 *               client's), then shutdown(SHUT_WR)
 *   end         close_notify alone, before a close that does not linger
 *   drain       the raw socket, recv MSG_TRUNC: ciphertext is discarded
 *               undecrypted, as nginx and Apache do, so the lingering close
 *               costs no crypto and is the same code as over TCP; the
 *               client's own close_notify is followed by its FIN, which
 *               still counts as "client closed"
 *   close       SSL_free and close: no alert that could block
 *
 * Records out: OpenSSL hands each record (16 KiB at most) to its write BIO,
 * and a socket BIO sends each alone: 64 sends for 1 MiB, each a syscall and
 * a packet through both TCP stacks. Unless the kernel encrypts (kTLS needs
 * the socket BIO), the write BIO here is our own: during a write it gathers
 * the call's records in a buffer the worker shares (up to
 * TRANSPORT_TLS_WRITE_BYTES of plaintext), sent at the end in one call.
 * What the socket does not take is held by the connection (the only
 * per-connection copy, and only while the socket is full), and the write
 * answers -EAGAIN: the caller repeats it with the same bytes in front, as
 * for any -EAGAIN, and once the held ciphertext is out the repeat returns
 * the plaintext it stood for, without encrypting anything again. Anything
 * else OpenSSL writes (handshake, alerts, close_notify) goes straight to the
 * socket, behind what is held: never past it.
 *
 * Invariants: a worker is one thread, so the bounce and gather buffers are
 * shared by all its connections; neither holds bytes between two calls (a
 * write retried after -EAGAIN gathers or re-reads the same bytes again, which
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows). After a fatal TLS error, a
 * timeout or an abort nothing more is sent on the TLS layer: close_notify
 * goes only after the last response byte was handed over (an alert after a
 * cut response would make it look complete).
 */
#include "transport_tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "stats.h"
#include "tls_sniff.h"

/* File bytes read and encrypted per call when the kernel does not encrypt
 * (kTLS): four full TLS records (16 KiB is the protocol's largest
 * plaintext, RFC 8446 §5.1), so a pread serves four records and no tail
 * record is left short. SSL_write takes them whole (no partial writes on
 * this SSL): a call that returns -EAGAIN is repeated with the same bytes,
 * read again from the file at the same offset. */
#define TRANSPORT_TLS_BOUNCE_BYTES (64 * 1024)

struct transport_tls {
    SSL *ssl;
    struct stats *stats;
    int fd;
    /* the write BIO (absent with kTLS: the socket BIO then) */
    bool gather_out;  /* our BIO writes: records are gathered */
    bool gathering;   /* inside a write's SSL_write_ex */
    size_t gathered;  /* bytes in transport_tls_gather */
    unsigned char *held;       /* ciphertext the socket did not take */
    size_t held_off, held_len; /* unsent: held[held_off .. held_len) */
    size_t held_plain;         /* the plaintext of a finished write behind held */
    bool sniffed;     /* the first bytes were looked at */
    bool fatal;       /* an error: send nothing more on the TLS layer */
    bool notified;    /* close_notify is out, or never will be */
    bool ktls_send;   /* the kernel encrypts what we send */
    bool sock_empty;  /* a recv under this SSL_read got less than it asked */
};

/* Plaintext encrypted per SSL_write when our BIO gathers the records: its
 * ciphertext leaves in one send. 1 MiB over h2 (bench (p)) took 68 sends
 * with a send per record, and then about a third of the worker's time went
 * to sends and the loopback packets they made. */
#define TRANSPORT_TLS_WRITE_BYTES (256 * 1024)
/* The gather buffer: that plaintext's records with room for their overhead
 * (22 bytes a record in TLS 1.3; a CBC suite's MAC and padding in TLS 1.2
 * stay well under 512). A record that would not fit sends what is
 * gathered first, so a smaller record size only costs more sends. */
#define TRANSPORT_TLS_GATHER_BYTES                                                             \
    (TRANSPORT_TLS_WRITE_BYTES + (TRANSPORT_TLS_WRITE_BYTES / 16384 + 2) * 512)

static unsigned char transport_tls_bounce[TRANSPORT_TLS_BOUNCE_BYTES];
static unsigned char transport_tls_gather[TRANSPORT_TLS_GATHER_BYTES];
/* Our write BIO's methods, made once per process. */
static BIO_METHOD *transport_tls_out_method;

static const struct transport_ops transport_tls_ops;

static struct transport_tls *transport_tls_of(const struct transport *t)
{
    return t->impl;
}

/* SSL_get_error needs an empty error queue before the call. Every failure
 * here clears it afterwards, so it is empty but for what a callback may have
 * left: look before clearing, as ERR_clear_error costs about 1,000
 * instructions in OpenSSL 3 even when there is nothing to clear. */
static void transport_tls_clear_errors(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

bool transport_is_tls(const struct transport *t)
{
    return t->ops == &transport_tls_ops;
}

static void transport_tls_count_failure(struct transport_tls *tls, enum stats_tls_failure why)
{
    if (tls->stats)
        stats_add(&tls->stats->tls_handshake_failures[why], 1);
}

/* An OpenSSL result in the transport's terms; for a read-side call, note
 * what an -EAGAIN waits for. */
static ssize_t transport_tls_result(struct transport *t, int rc, bool read_side)
{
    struct transport_tls *tls = transport_tls_of(t);
    int saved_errno = errno;
    switch (SSL_get_error(tls->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        if (read_side)
            t->read_wants = TRANSPORT_WANT_READ;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        if (read_side)
            t->read_wants = TRANSPORT_WANT_WRITE;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0; /* the client's close_notify */
    case SSL_ERROR_SYSCALL:
        tls->fatal = true;
        if (saved_errno == EPIPE || saved_errno == ECONNRESET)
            return -saved_errno;
        return saved_errno && ERR_peek_error() == 0 ? -saved_errno : 0;
    case SSL_ERROR_SSL:
        tls->fatal = true;
        /* OpenSSL 3 reports a FIN without close_notify as an error. Between
         * HTTP/1.1 messages it is an ordinary end, and a cut request is
         * told by its framing, as over TCP. */
        if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            return 0;
        return -EPROTO;
    default:
        tls->fatal = true;
        return -EPROTO;
    }
}

/* ---- records out: gathered, then one send ---- */

/* Send buf[0 .. len) until all is out or the socket is full. The bytes
 * sent (fewer than len: the socket is full), or -errno. */
static ssize_t transport_tls_send_raw(int fd, const unsigned char *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return n < 0 ? -errno : -EPIPE;
    }
    return (ssize_t)done;
}

/* Send what the socket did not take before. 0: nothing is held any more;
 * -EAGAIN: the socket is full again; -errno. */
static int transport_tls_send_held(struct transport_tls *tls)
{
    if (tls->held_off == tls->held_len)
        return 0;
    ssize_t n = transport_tls_send_raw(tls->fd, tls->held + tls->held_off,
                                       tls->held_len - tls->held_off);
    if (n < 0)
        return (int)n;
    tls->held_off += (size_t)n;
    if (tls->held_off < tls->held_len)
        return -EAGAIN;
    free(tls->held);
    tls->held = NULL;
    tls->held_off = tls->held_len = 0;
    return 0;
}

/* Send the gathered records (nothing is held: gathering starts only then);
 * the rest is copied out of the shared buffer and held. 0: all out;
 * -EAGAIN: some is held; -errno. */
static int transport_tls_send_gathered(struct transport_tls *tls)
{
    size_t len = tls->gathered;
    tls->gathered = 0;
    ssize_t n = transport_tls_send_raw(tls->fd, transport_tls_gather, len);
    if (n < 0)
        return (int)n;
    if ((size_t)n == len)
        return 0;
    size_t rest = len - (size_t)n;
    tls->held = malloc(rest);
    if (!tls->held)
        return -ENOMEM;
    memcpy(tls->held, transport_tls_gather + n, rest);
    tls->held_off = 0;
    tls->held_len = rest;
    return -EAGAIN;
}

/* The write BIO: a record is gathered while a write encrypts, else sent at
 * once; never ahead of held bytes. Fails with the retry flag where a
 * socket BIO would (the socket is full), so OpenSSL keeps the record and
 * its SSL call says SSL_ERROR_WANT_WRITE. */
static int transport_tls_out_write(BIO *bio, const char *data, size_t len, size_t *written)
{
    struct transport_tls *tls = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    *written = 0;
    int rc = transport_tls_send_held(tls);
    if (rc == 0 && tls->gathering) {
        if (len > sizeof transport_tls_gather - tls->gathered)
            rc = transport_tls_send_gathered(tls);
        if (rc == 0 && len <= sizeof transport_tls_gather - tls->gathered) {
            memcpy(transport_tls_gather + tls->gathered, data, len);
            tls->gathered += len;
            *written = len;
            return 1;
        }
    }
    if (rc == 0) {
        ssize_t n = transport_tls_send_raw(tls->fd, (const unsigned char *)data, len);
        if (n > 0) {
            *written = (size_t)n;
            return 1;
        }
        rc = n == 0 ? -EAGAIN : (int)n;
    }
    if (rc == -EAGAIN)
        BIO_set_retry_write(bio);
    else
        errno = -rc; /* SSL_ERROR_SYSCALL: transport_tls_result reads it */
    return 0;
}

static long transport_tls_out_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    if (cmd != BIO_CTRL_FLUSH)
        return 0;
    BIO_clear_retry_flags(bio);
    int rc = transport_tls_send_held(BIO_get_data(bio));
    if (rc == 0)
        return 1;
    if (rc == -EAGAIN)
        BIO_set_retry_write(bio);
    else
        errno = -rc;
    return 0;
}

static BIO *transport_tls_out_new(struct transport_tls *tls)
{
    if (!transport_tls_out_method) {
        int type = BIO_get_new_index();
        BIO_METHOD *m = type < 0 ? NULL
                                 : BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "lingerd tls out");
        if (!m || !BIO_meth_set_write_ex(m, transport_tls_out_write) ||
            !BIO_meth_set_ctrl(m, transport_tls_out_ctrl)) {
            BIO_meth_free(m);
            return NULL;
        }
        transport_tls_out_method = m;
    }
    BIO *bio = BIO_new(transport_tls_out_method);
    if (!bio)
        return NULL;
    BIO_set_data(bio, tls);
    BIO_set_init(bio, 1);
    return bio;
}

/* Before a write: what an earlier write left held goes first. 0: nothing
 * is held; > 0: the held bytes are out and stood for this much of the
 * plaintext in front (the caller repeats a write after -EAGAIN with the
 * same bytes); -EAGAIN; -errno. */
static ssize_t transport_tls_send_earlier(struct transport_tls *tls)
{
    int rc = transport_tls_send_held(tls);
    if (rc < 0) {
        if (rc != -EAGAIN)
            tls->fatal = true;
        return rc;
    }
    size_t plain = tls->held_plain;
    tls->held_plain = 0;
    return (ssize_t)plain;
}

/* Before the handshake: do the first bytes look like TLS at all? */
static int transport_tls_sniff_first_bytes(struct transport *t)
{
    unsigned char head[TLS_SNIFF_BYTES];
    ssize_t n;
    do
        n = recv(t->fd, head, sizeof head, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        t->read_wants = TRANSPORT_WANT_READ;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    if (n == 0)
        return -ECONNABORTED;
    switch (tls_sniff(head, (size_t)n)) {
    case TLS_SNIFF_MORE:
        t->read_wants = TRANSPORT_WANT_READ;
        return -EAGAIN;
    case TLS_SNIFF_PLAIN_HTTP:
        return TRANSPORT_TLS_PLAIN_HTTP;
    case TLS_SNIFF_TLS:
        break;
    }
    return 0;
}

static void transport_tls_count_handshake(struct transport_tls *tls)
{
    struct stats *st = tls->stats;
    if (!st)
        return;
    stats_add(SSL_session_reused(tls->ssl) ? &st->tls_handshakes_resumed
                                           : &st->tls_handshakes_full, 1);
    int version = SSL_version(tls->ssl);
    if (version == TLS1_3_VERSION)
        stats_add(&st->tls_versions[STATS_TLS_V13], 1);
    else if (version == TLS1_2_VERSION)
        stats_add(&st->tls_versions[STATS_TLS_V12], 1);
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(tls->ssl, &alpn, &alpn_len);
    if (alpn_len == 2 && alpn[0] == 'h' && alpn[1] == '2')
        stats_add(&st->tls_alpn_h2, 1);
    else
        stats_add(alpn_len ? &st->tls_alpn_http11 : &st->tls_alpn_none, 1);
}

static void transport_tls_free_impl(struct transport *t)
{
    struct transport_tls *tls = transport_tls_of(t);
    SSL_free(tls->ssl);
    free(tls->held);
    free(tls);
    t->impl = NULL;
}

static int transport_tls_handshake(struct transport *t)
{
    struct transport_tls *tls = transport_tls_of(t);
    if (!tls->sniffed) {
        int rc = transport_tls_sniff_first_bytes(t);
        if (rc == -EAGAIN)
            return rc;
        if (rc == TRANSPORT_TLS_PLAIN_HTTP) {
            /* Answer in plain text: from here on this is a TCP connection
             * (the bytes are still in the socket, unread). */
            transport_tls_count_failure(tls, STATS_TLS_FAIL_PLAIN_HTTP);
            int fd = t->fd;
            transport_tls_free_impl(t);
            transport_tcp_open(t, fd);
            return rc;
        }
        if (rc < 0) {
            transport_tls_count_failure(tls, STATS_TLS_FAIL_CLOSED);
            tls->fatal = true;
            return rc;
        }
        tls->sniffed = true;
    }
    transport_tls_clear_errors();
    int rc = SSL_do_handshake(tls->ssl);
    if (rc == 1) {
        tls->ktls_send = BIO_get_ktls_send(SSL_get_wbio(tls->ssl)) != 0;
        transport_tls_count_handshake(tls);
        return 0;
    }
    ssize_t r = transport_tls_result(t, rc, true);
    transport_tls_clear_errors();
    if (r == -EAGAIN)
        return -EAGAIN;
    tls->fatal = true;
    bool closed = r == 0 || r == -ECONNRESET || r == -EPIPE;
    transport_tls_count_failure(tls, closed ? STATS_TLS_FAIL_CLOSED : STATS_TLS_FAIL_PROTOCOL);
    return closed ? -ECONNABORTED : -EPROTO;
}

static ssize_t transport_tls_read(struct transport *t, void *buf, size_t len)
{
    struct transport_tls *tls = transport_tls_of(t);
    size_t got = 0;
    transport_tls_clear_errors();
    /* Only a short recv made by this very call says the socket is empty: a
     * read served from OpenSSL's read-ahead says nothing of bytes that came
     * since (their edge may be the one that brought us here). */
    tls->sock_empty = false;
    int rc = SSL_read_ex(tls->ssl, buf, len, &got);
    if (rc == 1) {
        /* SSL_read returns one record's bytes at most, so a short read does
         * not mean the socket is empty as it does over TCP: more records may
         * wait there (and a client blocked on a full window sends no new
         * edge), or in OpenSSL's read-ahead. Read on unless both are
         * surely empty, which saves a failing SSL_read a request. */
        t->read_pending = SSL_has_pending(tls->ssl) || !tls->sock_empty;
        return (ssize_t)got;
    }
    t->read_pending = false;
    ssize_t r = transport_tls_result(t, rc, true);
    transport_tls_clear_errors();
    return r;
}

/* One SSL_write of up to TRANSPORT_TLS_WRITE_BYTES, its records sent
 * together (see the top). */
static ssize_t transport_tls_write_chunk(struct transport *t, const void *buf, size_t len)
{
    struct transport_tls *tls = transport_tls_of(t);
    size_t put = 0;
    transport_tls_clear_errors();
    tls->gathering = tls->gather_out;
    int rc = SSL_write_ex(tls->ssl, buf, len, &put);
    tls->gathering = false;
    ssize_t r = rc == 1 ? (ssize_t)put : transport_tls_result(t, rc, false);
    /* Records encrypted are the stream's now, whatever the call says. */
    int sent = tls->gathered ? transport_tls_send_gathered(tls) : 0;
    transport_tls_clear_errors();
    if (sent < 0 && sent != -EAGAIN) {
        tls->fatal = true;
        return sent;
    }
    if (r > 0 && sent == -EAGAIN) {
        tls->held_plain = (size_t)r;
        return -EAGAIN;
    }
    return r == 0 ? -EPIPE : r;
}

/* buf[0 .. len) in chunks; fewer bytes than len only when the socket is
 * full (the caller then waits for it, as over TCP). */
static ssize_t transport_tls_write_bytes(struct transport *t, const void *buf, size_t len)
{
    struct transport_tls *tls = transport_tls_of(t);
    if (tls->fatal)
        return -EPIPE;
    size_t done = 0;
    while (done < len) {
        size_t n = len - done;
        if (tls->gather_out && n > TRANSPORT_TLS_WRITE_BYTES)
            n = TRANSPORT_TLS_WRITE_BYTES;
        ssize_t w = transport_tls_write_chunk(t, (const char *)buf + done, n);
        if (w < 0)
            return done ? (ssize_t)done : w;
        done += (size_t)w;
    }
    return (ssize_t)done;
}

static ssize_t transport_tls_write(struct transport *t, const struct iovec *iov, unsigned n,
                                   bool more)
{
    (void)more; /* a record leaves whole; there is nothing to cork */
    ssize_t earlier = transport_tls_send_earlier(transport_tls_of(t));
    if (earlier != 0)
        return earlier;
    if (n == 1 || iov[0].iov_len >= TRANSPORT_TLS_BOUNCE_BYTES)
        return transport_tls_write_bytes(t, iov[0].iov_base, iov[0].iov_len);
    /* A pipelined batch of small responses leaves in one record. */
    size_t len = 0;
    for (unsigned i = 0; i < n && len < TRANSPORT_TLS_BOUNCE_BYTES; i++) {
        size_t take = iov[i].iov_len;
        if (take > TRANSPORT_TLS_BOUNCE_BYTES - len)
            take = TRANSPORT_TLS_BOUNCE_BYTES - len;
        memcpy(transport_tls_bounce + len, iov[i].iov_base, take);
        len += take;
    }
    return transport_tls_write_bytes(t, transport_tls_bounce, len);
}

static ssize_t transport_tls_send_file(struct transport *t, int fd, uint64_t off, size_t len)
{
    struct transport_tls *tls = transport_tls_of(t);
    ssize_t earlier = transport_tls_send_earlier(tls);
    if (earlier != 0)
        return earlier;
    if (tls->ktls_send && !tls->fatal) {
        transport_tls_clear_errors();
        ossl_ssize_t w = SSL_sendfile(tls->ssl, fd, (off_t)off, len, 0);
        if (w > 0)
            return (ssize_t)w;
        ssize_t r = transport_tls_result(t, (int)w, false);
        transport_tls_clear_errors();
        return r == 0 ? -EPIPE : r;
    }
    if (len > TRANSPORT_TLS_BOUNCE_BYTES)
        len = TRANSPORT_TLS_BOUNCE_BYTES;
    ssize_t n;
    do
        n = pread(fd, transport_tls_bounce, len, (off_t)off);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n < 0 ? -errno : 0;
    return transport_tls_write_bytes(t, transport_tls_bounce, (size_t)n);
}

static ssize_t transport_tls_discard(struct transport *t, size_t len)
{
    if (len > TRANSPORT_TLS_BOUNCE_BYTES)
        len = TRANSPORT_TLS_BOUNCE_BYTES;
    return transport_tls_read(t, transport_tls_bounce, len);
}

/* Queue close_notify once; -EAGAIN while OpenSSL waits for room to send it. */
static int transport_tls_notify(struct transport_tls *tls)
{
    if (tls->notified || tls->fatal || !SSL_is_init_finished(tls->ssl)) {
        tls->notified = true;
        return 0;
    }
    transport_tls_clear_errors();
    int rc = SSL_shutdown(tls->ssl);
    if (rc < 0) {
        int e = SSL_get_error(tls->ssl, rc);
        transport_tls_clear_errors();
        if (e == SSL_ERROR_WANT_WRITE)
            return -EAGAIN;
        tls->fatal = true;
    }
    /* 0: sent, the client's not read (we never wait for it); 1: both. */
    tls->notified = true;
    return 0;
}

static int transport_tls_shut_write(struct transport *t)
{
    int rc = transport_tls_notify(transport_tls_of(t));
    if (rc < 0)
        return rc;
    return transport_tcp_shut_write(t);
}

/* Before a close that does not linger: close_notify if it can leave now. */
static void transport_tls_end(struct transport *t)
{
    (void)transport_tls_notify(transport_tls_of(t));
}

static void transport_tls_close(struct transport *t)
{
    if (t->impl)
        transport_tls_free_impl(t);
    close(t->fd);
    t->fd = -1;
}

static const struct transport_ops transport_tls_ops = {
    .name = "tls",
    .handshake = transport_tls_handshake,
    .read = transport_tls_read,
    .write = transport_tls_write,
    .send_file = transport_tls_send_file,
    .discard = transport_tls_discard,
    .shut_write = transport_tls_shut_write,
    .end = transport_tls_end,
    .drain = transport_tcp_discard, /* raw records, undecrypted */
    .close = transport_tls_close,
};

/* Watches the recvs OpenSSL makes on the socket: one that returned less
 * than asked left the socket empty (as transport_tcp's reads assume), so a
 * short SSL_read after it needs no second look. */
static long transport_tls_on_bio(BIO *bio, int oper, const char *argp, size_t len, int argi,
                                 long argl, int ret, size_t *processed)
{
    (void)argp;
    (void)argi;
    (void)argl;
    if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
        struct transport_tls *tls = (struct transport_tls *)BIO_get_callback_arg(bio);
        tls->sock_empty = ret <= 0 || (processed && *processed < len);
    }
    return ret;
}

int transport_tls_open(struct transport *t, int fd, SSL_CTX *ctx, struct stats *stats)
{
    struct transport_tls *tls = calloc(1, sizeof *tls);
    if (!tls)
        return -ENOMEM;
    tls->ssl = SSL_new(ctx);
    tls->fd = fd;
    /* kTLS sends through the socket BIO only; else ours gathers records. */
    tls->gather_out = tls->ssl && !(SSL_get_options(tls->ssl) & SSL_OP_ENABLE_KTLS);
    BIO *out = tls->gather_out ? transport_tls_out_new(tls) : NULL;
    /* Two BIOs on the one fd: the read watch below sees reads only. */
    bool ok = tls->ssl && (out || !tls->gather_out) && SSL_set_rfd(tls->ssl, fd) == 1;
    if (ok && out) {
        SSL_set0_wbio(tls->ssl, out); /* the SSL owns it now */
        out = NULL;
    } else if (ok) {
        ok = SSL_set_wfd(tls->ssl, fd) == 1;
    }
    if (!ok) {
        BIO_free(out);
        SSL_free(tls->ssl);
        free(tls);
        transport_tls_clear_errors();
        return -ENOMEM;
    }
    SSL_set_accept_state(tls->ssl);
    SSL_clear_mode(tls->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
    BIO *rbio = SSL_get_rbio(tls->ssl);
    BIO_set_callback_ex(rbio, transport_tls_on_bio);
    BIO_set_callback_arg(rbio, (char *)tls);
    /* Read ahead: one recv takes in what the socket has (a record's header
     * and body, several pipelined records), not a header, then a body. */
    SSL_set_read_ahead(tls->ssl, 1);
    tls->stats = stats;
    t->ops = &transport_tls_ops;
    t->fd = fd;
    t->read_wants = TRANSPORT_WANT_READ;
    t->read_pending = false;
    t->established = false;
    t->impl = tls;
    return 0;
}

const char *transport_tls_version(const struct transport *t)
{
    if (!transport_is_tls(t) || !t->established)
        return NULL;
    return SSL_get_version(transport_tls_of(t)->ssl);
}

const char *transport_tls_cipher(const struct transport *t)
{
    if (!transport_is_tls(t) || !t->established)
        return NULL;
    return SSL_get_cipher_name(transport_tls_of(t)->ssl);
}

const char *transport_tls_sni(const struct transport *t)
{
    if (!transport_is_tls(t))
        return NULL;
    return SSL_get_servername(transport_tls_of(t)->ssl, TLSEXT_NAMETYPE_host_name);
}

bool transport_tls_alpn_is_h2(const struct transport *t)
{
    if (!transport_is_tls(t))
        return false;
    const unsigned char *alpn = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(transport_tls_of(t)->ssl, &alpn, &len);
    return len == 2 && alpn[0] == 'h' && alpn[1] == '2';
}
