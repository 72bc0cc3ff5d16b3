/* transport — the byte stream under a connection: plain TCP today, TLS later.
 *
 * The connection (conn*.c) and its output queue (outq.c) make no socket
 * call of their own: they read, write, send files, end the stream and
 * discard through a struct transport, so the state machine and the
 * lingering close are the same code whatever carries the bytes. A transport
 * is a table of operations (struct transport_ops, one per kind) and a small
 * per-connection record (struct transport, embedded in struct conn) with
 * the kind's own state behind impl (TLS: its SSL *).
 *
 * Every operation is non-blocking and handles EINTR itself. -EAGAIN is not
 * a failure: the operation is armed and wants to be called again when the
 * socket is ready. Which readiness that is usually follows from the call
 * (a read waits to read), but not over TLS, where a read may have to write
 * (a handshake message) and a write may have to read; read-side operations
 * therefore record in read_wants what their last -EAGAIN waits for, and a
 * read says in read_pending whether it left bytes inside the transport.
 * Write-side operations are retried on any readiness of the socket.
 *
 * A call that returned -EAGAIN is repeated with the same bytes in front
 * (outq does not move past unsent bytes), so a transport may keep what it
 * has already encoded for them (TLS: a record SSL_write has begun).
 *
 * Not here: socket options that tune TCP (TCP_NODELAY, TCP_LINGER2,
 * SO_LINGER, TCP_INFO) stay calls on fd: TLS runs over the same TCP socket
 * and wants the same tuning.
 */
#ifndef LINGERD_TRANSPORT_H
#define LINGERD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* The readiness an -EAGAIN waits for. */
enum transport_want {
    TRANSPORT_WANT_READ,
    TRANSPORT_WANT_WRITE,
};

struct transport;

struct transport_ops {
    const char *name; /* "tcp", for logs */

    /* Finish setting up the stream before the first read (TLS: the
     * handshake, then ALPN and SNI are known). 0: done; -EAGAIN (see
     * read_wants); -errno: the stream cannot start. NULL: nothing to do. */
    int (*handshake)(struct transport *t);

    /* Read up to len bytes of the stream into buf. > 0: bytes read; 0: the
     * peer ended its stream (TCP FIN; TLS close_notify or FIN); -EAGAIN;
     * -errno. Sets read_pending (see struct transport). */
    ssize_t (*read)(struct transport *t, void *buf, size_t len);

    /* Write the bytes of iov[0 .. n) in order. more: more bytes, or the end
     * of the stream, follow at once, so these may wait a moment to share
     * packets (TCP: MSG_MORE). > 0: bytes taken (maybe fewer than given);
     * -EAGAIN; -errno. */
    ssize_t (*write)(struct transport *t, const struct iovec *iov, unsigned n, bool more);

    /* Send up to len bytes of the file fd from off (TCP: sendfile; TLS:
     * pread into a bounded buffer, then encrypt). > 0: bytes sent; 0: the
     * file ended before off + len (it shrank); -EAGAIN; -errno. */
    ssize_t (*send_file)(struct transport *t, int fd, uint64_t off, size_t len);

    /* Skip up to len bytes of the stream, as read would return them, without
     * keeping them (a body nobody wants; TCP: recv MSG_TRUNC, nothing
     * copied). Returns as read. */
    ssize_t (*discard)(struct transport *t, size_t len);

    /* End our side of the stream once everything written is out (TCP:
     * shutdown(SHUT_WR), the FIN; TLS: close_notify, flushed, then the FIN).
     * Call again after -EAGAIN until it returns 0; -errno: broken. */
    int (*shut_write)(struct transport *t);

    /* Before a close that does not linger (nothing suggests the peer is
     * still sending), after everything written is out: mark the end of the
     * stream inside it if that can be done at once (TLS: close_notify, so
     * the peer can tell a complete answer from a cut one). Never waits.
     * NULL: nothing to mark (TCP: the close's FIN says it). */
    void (*end)(struct transport *t);

    /* While closing: read and throw away whatever the peer still sends, up
     * to len bytes, without interpreting it (TLS drains the raw records, as
     * nginx and Apache do). > 0: bytes thrown away; 0: the peer's FIN;
     * -EAGAIN; -errno (a reset). */
    ssize_t (*drain)(struct transport *t, size_t len);

    /* Release the transport's state and close the socket. Sends nothing a
     * peer must acknowledge (no TLS alert that could block). */
    void (*close)(struct transport *t);
};

/* One connection's transport; the connection owns it and its socket. */
struct transport {
    const struct transport_ops *ops;
    int fd;                /* the TCP socket */
    uint8_t read_wants;    /* enum transport_want of the last read-side -EAGAIN */
    /* After a read: bytes may wait inside the transport that no readiness of
     * the socket will announce (TLS: SSL_pending, records read ahead), so
     * read again even if this read returned less than asked, which over TCP
     * means the socket is empty. Always false for TCP. */
    bool read_pending;
    bool established;      /* handshake done (always, for TCP) */
    void *impl;            /* the kind's own state; NULL for TCP */
};

/* Plain TCP on the connected, non-blocking socket fd; t owns fd afterwards. */
void transport_tcp_open(struct transport *t, int fd);
/* Whether t is plain TCP: its bytes may be moved in the kernel (splice). */
bool transport_is_tcp(const struct transport *t);

/* The socket's own discard (recv MSG_TRUNC: nothing copied) and half-close
 * (shutdown SHUT_WR): TCP's discard, drain and shut_write, which TLS reuses
 * under its records for the drain and after close_notify. */
ssize_t transport_tcp_discard(struct transport *t, size_t len);
int transport_tcp_shut_write(struct transport *t);

/* The operations, called through the table; see struct transport_ops. */
static inline ssize_t transport_read(struct transport *t, void *buf, size_t len)
{
    return t->ops->read(t, buf, len);
}

/* Marks the transport established once the handshake is done. */
static inline int transport_handshake(struct transport *t)
{
    int rc = t->ops->handshake ? t->ops->handshake(t) : 0;
    if (rc == 0)
        t->established = true;
    return rc;
}

static inline ssize_t transport_write(struct transport *t, const struct iovec *iov, unsigned n,
                                      bool more)
{
    return t->ops->write(t, iov, n, more);
}

static inline ssize_t transport_send_file(struct transport *t, int fd, uint64_t off, size_t len)
{
    return t->ops->send_file(t, fd, off, len);
}

static inline ssize_t transport_discard(struct transport *t, size_t len)
{
    return t->ops->discard(t, len);
}

static inline int transport_shut_write(struct transport *t)
{
    return t->ops->shut_write(t);
}

static inline void transport_end(struct transport *t)
{
    if (t->ops->end)
        t->ops->end(t);
}

static inline ssize_t transport_drain(struct transport *t, size_t len)
{
    return t->ops->drain(t, len);
}

static inline void transport_close(struct transport *t)
{
    t->ops->close(t);
}

#endif
