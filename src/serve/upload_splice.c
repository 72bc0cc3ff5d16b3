/* upload_splice — an upload's body from the socket to its file without
 * passing through the worker: splice(2) moves the socket's pages into a
 * pipe (no copy), and the I/O thread that writes the slot splices the pipe
 * into the file (the one copy, into the page cache, off the loop).
 *
 * Why: read into the connection's buffer, copied into the upload's, then
 * written, a body cost the loop two copies of every byte; with four large
 * uploads on two cores that was most of the loop's time and the GETs of
 * the same worker waited behind it (bench/upload_stall.sh). Measured
 * without a server, splice moved a loopback body into a file a third
 * faster than 1 MiB reads and writes (bench/upload_copy.c).
 *
 * Each of the upload's two slots (upload_internal.h) gets a pipe, made at
 * the first splice and sized like the slot's buffer (upload_buffer_bytes),
 * at most what the kernel lets this user have (fs.pipe-max-size,
 * fs.pipe-user-pages-soft). The loop fills one pipe while a job empties the
 * other: never the same pipe from both sides, since a splice into a file
 * holds the pipe's lock for the whole write, and the loop must not wait
 * for it.
 *
 * A pipe may fill before its nominal size (the socket's pieces can be
 * smaller than a page, and a pipe holds a page count): when a splice finds
 * no room while the socket still has bytes (SIOCINQ, then a second splice
 * that takes none: the bytes may have come just after the first looked),
 * the slot is handed over as it is.
 *
 * Leaves out: TLS (records are decrypted in the worker; kTLS receive would
 * allow it) and chunked bodies (decoded in the worker); conn_body.c offers
 * the splice only for a plain TCP Content-Length body. A pipe that cannot
 * be made, or a small one, makes the body go the buffered way, as does
 * upload_splice off.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "conn.h"
#include "upload_internal.h"

/* Smaller pipes would mean a job per few pages: not worth a splice. */
#define UPLOAD_PIPE_MIN_BYTES (256 * 1024)
/* Bodies this short go through the buffers: two pipes cost more calls than
 * they save. */
#define UPLOAD_SPLICE_MIN_BODY (1024 * 1024)

void upload_close_pipes(struct upload *u)
{
    for (int i = 0; i < 2; i++) {
        if (u->pipe_rd[i] >= 0)
            close(u->pipe_rd[i]);
        if (u->pipe_wr[i] >= 0)
            close(u->pipe_wr[i]);
        u->pipe_rd[i] = u->pipe_wr[i] = -1;
    }
}

/* Make a pipe for each slot, of the buffers' size if the kernel allows it.
 * false: no splice for this upload (out of descriptors, pipes too small). */
static bool upload_open_pipes(struct upload *u)
{
    size_t cap = u->buf_cap;
    for (int i = 0; i < 2; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
            goto fail;
        u->pipe_rd[i] = p[0];
        u->pipe_wr[i] = p[1];
        /* Above fs.pipe-max-size, or this user's pipes over their soft
         * limit: EPERM; halve until it fits or is not worth it. */
        int got = -1;
        for (size_t want = cap; got < 0 && want >= UPLOAD_PIPE_MIN_BYTES; want /= 2)
            got = fcntl(p[1], F_SETPIPE_SZ, (int)want);
        if (got < UPLOAD_PIPE_MIN_BYTES)
            goto fail;
        if ((size_t)got < cap)
            cap = (size_t)got;
    }
    u->pipe_cap = cap;
    return true;
fail:
    upload_close_pipes(u);
    return false;
}

/* Hand the fill slot over now however little it holds, and wait for the
 * write in flight if one runs. true: the fill slot is empty now. */
static bool upload_hand_over_now(struct conn *c, struct upload *u)
{
    u->hand_over_now = true;
    upload_maybe_write(u);
    if (u->buf_len[u->fill] == 0)
        return true;
    upload_pause(c, u);
    return false;
}

ssize_t upload_on_splice(struct conn *c, void *ctx, int sock, size_t max, int *status)
{
    struct upload *u = ctx;
    int failed = upload_after_failed_write(c, u);
    if (failed < 0)
        return CONN_SPLICE_WAIT;
    if (failed) {
        *status = failed;
        return CONN_SPLICE_FAILED;
    }
    if (u->pipe_rd[0] < 0) {
        /* The first call: the rest of the body decides. */
        if (!u->splice || max < UPLOAD_SPLICE_MIN_BODY || !upload_open_pipes(u)) {
            u->splice = false;
            return CONN_SPLICE_NEVER;
        }
    }
    /* Up to three tries: again once the socket says it has bytes (to tell
     * a full pipe from bytes that came just after the splice looked), and
     * after handing over a pipe that filled early. */
    bool socket_has_bytes = false;
    for (int attempt = 0; attempt < 3; attempt++) {
        int f = u->fill;
        if (!u->piped[f] && u->buf_len[f] > 0 && !upload_hand_over_now(c, u))
            return CONN_SPLICE_WAIT; /* bytes buffered before the first splice go first */
        f = u->fill;
        size_t room = u->pipe_cap - u->buf_len[f];
        if (room == 0) {
            if (!upload_hand_over_now(c, u))
                return CONN_SPLICE_WAIT;
            continue;
        }
        ssize_t n;
        do /* a signal must not use up a try (the loop would end on a false -EAGAIN) */
            n = splice(sock, NULL, u->pipe_wr[f], NULL, max < room ? max : room,
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        while (n < 0 && errno == EINTR);
        if (n > 0) {
            u->piped[f] = true;
            u->buf_len[f] += (size_t)n;
            u->bytes += (uint64_t)n;
            upload_maybe_write(u);
            if (upload_must_pause(u))
                upload_pause(c, u); /* the disk is behind: read no more for now */
            return n;
        }
        if (n == 0)
            return 0;
        if (errno != EAGAIN)
            return -errno;
        /* No room in the pipe, or nothing to read: the socket tells. Bytes
         * it has now may have come after the splice looked: only a second
         * splice that takes none of them proves the pipe full (only this
         * loop reads the socket, so they are still there). */
        if (u->buf_len[f] == 0)
            return -EAGAIN;
        if (!socket_has_bytes) {
            int queued = 0;
            if (ioctl(sock, SIOCINQ, &queued) < 0 || queued == 0)
                return -EAGAIN;
            socket_has_bytes = true;
            continue;
        }
        socket_has_bytes = false;
        if (!u->pipes_full_early++ || u->buf_len[f] < u->pipe_full_early_min)
            u->pipe_full_early_min = u->buf_len[f];
        if (!upload_hand_over_now(c, u))
            return CONN_SPLICE_WAIT;
    }
    /* Not reached: a hand-over leaves an empty pipe, and a splice into an
     * empty pipe either takes bytes or proves the socket empty. */
    return -EAGAIN;
}

/* (thread) Move the job's bytes from its pipe into the file. A file system
 * that cannot take a splice (EINVAL) gets them read and written. */
static int upload_write_pipe(struct upload *u)
{
    int f = u->job_slot;
    loff_t off = (loff_t)u->buf_off[f];
    size_t left = u->buf_len[f];
    while (left > 0) {
        ssize_t n = splice(u->pipe_rd[f], NULL, u->tmp_fd, &off, left, SPLICE_F_MOVE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EINVAL)
            break;
        if (n <= 0)
            return n < 0 ? errno : EIO; /* the pipe holds the job's bytes: 0 cannot be */
        left -= (size_t)n;
    }
    if (left == 0)
        return 0;
    if (!u->buf[f] && !(u->buf[f] = malloc(u->buf_cap)))
        return ENOMEM;
    while (left > 0) {
        ssize_t n = read(u->pipe_rd[f], u->buf[f], left < u->buf_cap ? left : u->buf_cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        int err = upload_pwrite(u->tmp_fd, u->buf[f], (size_t)n, (uint64_t)off);
        if (err)
            return err;
        off += n;
        left -= (size_t)n;
    }
    return 0;
}

int upload_write_slot(struct upload *u)
{
    int f = u->job_slot;
    if (!u->piped[f])
        return upload_pwrite(u->tmp_fd, u->buf[f], u->buf_len[f], u->buf_off[f]);
    return upload_write_pipe(u);
}
