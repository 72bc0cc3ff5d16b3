/* transport_tcp — the transport over a plain TCP socket: each operation is
 * one syscall (recv, sendmsg, sendfile, shutdown, recv MSG_TRUNC, close).
 *
 * Leaves out: TCP tuning (TCP_NODELAY, TCP_LINGER2, SO_LINGER), which the
 * worker and the close path set on the socket directly.
 *
 * Invariants: no state beyond the fd (impl stays NULL), no handshake, and
 * nothing is ever buffered here, so read_pending stays false: a recv that
 * returns less than asked has emptied the socket, and a new edge announces
 * whatever comes next. EINTR is retried where the call is made; EWOULDBLOCK
 * is reported as -EAGAIN.
 */
#include "transport.h"

#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

static ssize_t transport_tcp_read(struct transport *t, void *buf, size_t len)
{
    ssize_t n;
    do
        n = recv(t->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return n;
}

static ssize_t transport_tcp_write(struct transport *t, const struct iovec *iov, unsigned n,
                                   bool more)
{
    /* MSG_NOSIGNAL: a client that reset gives EPIPE here, not a SIGPIPE. */
    int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
    struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
    ssize_t w;
    do
        w = sendmsg(t->fd, &msg, flags);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return w;
}

static ssize_t transport_tcp_send_file(struct transport *t, int fd, uint64_t off, size_t len)
{
    off_t pos = (off_t)off;
    ssize_t w;
    do
        w = sendfile(t->fd, fd, &pos, len);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return w;
}

/* Both skipping a body and draining at the close: MSG_TRUNC makes the
 * kernel drop the bytes without copying them anywhere. */
ssize_t transport_tcp_discard(struct transport *t, size_t len)
{
    ssize_t n;
    do
        n = recv(t->fd, NULL, len, MSG_TRUNC | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return n;
}

int transport_tcp_shut_write(struct transport *t)
{
    return shutdown(t->fd, SHUT_WR) < 0 ? -errno : 0;
}

static void transport_tcp_close(struct transport *t)
{
    close(t->fd);
    t->fd = -1;
}

static const struct transport_ops transport_tcp_ops = {
    .name = "tcp",
    .handshake = NULL,
    .read = transport_tcp_read,
    .write = transport_tcp_write,
    .send_file = transport_tcp_send_file,
    .discard = transport_tcp_discard,
    .shut_write = transport_tcp_shut_write,
    .end = NULL,
    .drain = transport_tcp_discard,
    .close = transport_tcp_close,
};

bool transport_is_tcp(const struct transport *t)
{
    return t->ops == &transport_tcp_ops;
}

void transport_tcp_open(struct transport *t, int fd)
{
    t->ops = &transport_tcp_ops;
    t->fd = fd;
    t->read_wants = TRANSPORT_WANT_READ;
    t->read_pending = false;
    t->established = true;
    t->impl = NULL;
}
